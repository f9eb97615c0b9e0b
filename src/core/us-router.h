/* us-router.h: which chain serves a request (rules first, then chain globs). */
#pragma once

#include "us-config.h"
#include "us-translate.h"

G_BEGIN_DECLS

/* claude-code, codex, opencode or other, from the User-Agent. */
const char          *us_router_client_from_user_agent (const char        *user_agent);
const UsChainConfig *us_router_pick                   (UsConfig          *config,
                                                       const char        *client,
                                                       const UsIrRequest *ir);

G_END_DECLS
