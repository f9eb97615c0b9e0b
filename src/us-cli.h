/* us-cli.h: the subcommands of `understudy`. */
#pragma once

#include "us-config.h"
#include "us-proxy.h"

G_BEGIN_DECLS

/* args[0] is the subcommand. Returns the exit status. */
int  us_cli_run            (UsConfig           *config,
                            const char * const *args,
                            guint               n_args);
/* Saves the routing choice whenever the running proxy's switch flips. */
void us_cli_follow_routing (UsProxy            *proxy);

G_END_DECLS
