/* us-router.h: which chain serves a request (rules first, then chain globs). */
#pragma once

#include "us-config.h"
#include "us-translate.h"

G_BEGIN_DECLS

/* How a request found its chain, for the request log and `explain`. */
typedef struct {
  const UsChainConfig *chain;
  gint rule;              /* index into the config's rules; -1 when none matched */
  const char *glob;       /* the chain's match glob that matched, or NULL */
} UsRoute;

/* claude-code, codex, opencode or other, from the User-Agent. */
const char          *us_router_client_from_user_agent (const char        *user_agent);
/* @out's pointers belong to @config. */
void                 us_router_route                  (UsConfig          *config,
                                                       const char        *client,
                                                       const UsIrRequest *ir,
                                                       UsRoute           *out);
/* For a person: "rules[1] (client claude-code, model *haiku*)",
 * "chain default's match \"claude-*\"", "no rule or match: the first chain". */
char                *us_route_describe                (UsConfig          *config,
                                                       const UsRoute     *route);

G_END_DECLS
