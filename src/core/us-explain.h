/* us-explain.h: what the proxy would do with a request, without sending it.
 *
 * The same route (us-router.h) and the same checks (us-eligibility.h) a
 * request job makes, over the health and spend given: the running proxy's
 * own for POST /understudy/explain, or fresh ones when none runs.
 */
#pragma once

#include "us-config.h"
#include "us-health.h"
#include "us-local-probe.h"
#include "us-spend.h"

G_BEGIN_DECLS

/* @client: claude-code, codex, opencode, other (NULL: other). @request: the
 * body the client would send; its wire format is the client's (codex:
 * Responses) or read from its shape. Returns
 * {"client", "format", "model", "input_tokens", "routing",
 *  "route": {"chain", "rule": N|null, "match"},
 *  "models": [{"provider", "model", "tried": bool, "skip": KIND|null, "reason",
 *              "detail", "until": RFC 3339|null, "needed_tokens", "window_tokens"}]}
 * or NULL with @error when the request cannot be read. */
JsonNode *us_explain_request (UsConfig    *config,
                              gboolean     routing,
                              UsHealth    *health,
                              UsSpend     *spend,
                              UsLocalProbe *local_probe,
                              const char  *client,
                              JsonNode    *request,
                              GError     **error);

G_END_DECLS
