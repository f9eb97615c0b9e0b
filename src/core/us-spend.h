/* us-spend.h: what each model served, per day: requests, tokens and money.
 *
 * The totals behind money, token and request budgets and the status API's
 * spend; kept in $XDG_STATE_HOME/understudy/spend.json so that a budget
 * holds across restarts. Loaded once at start-up, written off the main
 * loop a moment after a change. Days are local days; weeks start on Monday.
 */
#pragma once

#include <json-glib/json-glib.h>

#include "us-config.h"

G_BEGIN_DECLS

typedef struct {
  gint64 requests;
  gint64 tokens;
  double usd;
} UsSpendTotals;

#define US_TYPE_SPEND (us_spend_get_type ())
G_DECLARE_FINAL_TYPE (UsSpend, us_spend, US, SPEND, GObject)

/* $XDG_STATE_HOME/understudy/spend.json, read from the environment now. */
char      *us_spend_default_path (void);
/* Loads @path when it exists (NULL: memory only); a file that cannot be
 * read is left alone and the totals start at zero (logged once). */
UsSpend   *us_spend_new          (const char     *path);
/* One request served by @provider / @model (the chain entry's model). */
void       us_spend_record       (UsSpend        *self,
                                  const char     *provider,
                                  const char     *model,
                                  gint64          tokens,
                                  double          usd);
/* The totals of this day or week; @model NULL: all of @provider's models. */
void       us_spend_get          (UsSpend        *self,
                                  const char     *provider,
                                  const char     *model,
                                  UsBudgetPeriod  per,
                                  UsSpendTotals  *out);
/* NULL when @budget is not reached; else why, e.g. "over budget: $1.02 of $1 a day". */
char      *us_spend_check_budget (UsSpend        *self,
                                  const char     *provider,
                                  const char     *model,
                                  const UsBudget *budget);
/* {"today": {date, requests, tokens, usd}, "days": [… newest first],
 *  "models": [{provider, model, today: {…}, week: {…}}]} */
JsonNode  *us_spend_to_json      (UsSpend        *self);
/* Writes pending changes now (shutdown, tests). */
gboolean   us_spend_flush        (UsSpend        *self,
                                  GError        **error);

/* USD for @price (per million tokens) and these token counts. */
double     us_price_cost         (const UsPrice  *price,
                                  gint64          input_tokens,
                                  gint64          output_tokens,
                                  gint64          cache_read_tokens,
                                  gint64          cache_write_tokens);

G_END_DECLS
