/* us-eligibility.h: may a model of a chain be asked for a request now?
 *
 * One set of checks, in one order, for the request job (which then asks
 * the model or records why it did not) and for `understudy explain` (which
 * only reports): the request too long for the model's window, a local
 * budget reached, a plan window spent past the quota threshold, a
 * cooldown, an open circuit, a local model server found not running.
 */
#pragma once

#include "us-config.h"
#include "us-health.h"
#include "us-local-probe.h"
#include "us-spend.h"
#include "us-translate.h"

G_BEGIN_DECLS

typedef enum {
  US_SKIP_NONE,
  US_SKIP_CONTEXT_WINDOW,  /* the request would not fit its window */
  US_SKIP_OVER_BUDGET,     /* a local budget (requests, tokens, USD) is reached */
  US_SKIP_PLAN_WINDOW,     /* its plan window is used past the quota threshold */
  US_SKIP_COOLING_DOWN,    /* rate limited, overloaded, failing: resting */
  US_SKIP_CIRCUIT_OPEN,    /* failed too often; skipped until its probe */
  US_SKIP_LOCAL_DOWN,      /* a local server (Ollama…) a recent probe found not running */
} UsSkipKind;

typedef struct {
  UsSkipKind kind;
  char *reason;         /* for the request log, e.g. "cooling down until 14:05:09 (rate limited)" */
  char *detail;         /* the health problem or the budget text, or NULL */
  gint64 until;         /* unix seconds the skip lasts until; 0 = not timed */
  gint64 needed_tokens; /* US_SKIP_CONTEXT_WINDOW: estimated input + output */
  gint64 window_tokens; /* US_SKIP_CONTEXT_WINDOW: the model's window */
} UsSkip;

void        us_skip_clear        (UsSkip     *skip);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (UsSkip, us_skip_clear)

/* "context-window", "over-budget", "plan-window", "cooling-down",
 * "circuit-open", "local-down"; NULL for US_SKIP_NONE. */
const char *us_skip_kind_to_string   (UsSkipKind  kind);
gboolean    us_skip_kind_from_string (const char *name,
                                      UsSkipKind *out_kind);

/* TRUE when @cm of @provider may be asked for @ir; else FALSE with @skip
 * filled. @spend and @local_probe may be NULL (no budgets known, local
 * servers not probed). @probe NULL only looks (an open circuit whose probe is due
 * counts as askable); non-NULL admits the request through the circuit for
 * real and sets *@probe when it goes as the half-open probe, whose outcome
 * must then be recorded or released (us-health.h). */
gboolean    us_eligibility_check (UsHealth               *health,
                                  UsSpend                *spend,
                                  UsLocalProbe           *local_probe,
                                  const UsFailoverConfig *failover,
                                  const UsProviderConfig *provider,
                                  const UsChainModel     *cm,
                                  const UsIrRequest      *ir,
                                  gboolean               *probe,
                                  UsSkip                 *skip);

G_END_DECLS
