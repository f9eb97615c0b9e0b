/* us-cli.h: the subcommands of `understudy`. */
#pragma once

#include "us-config.h"

G_BEGIN_DECLS

/* args[0] is the subcommand. Returns the exit status. */
int  us_cli_run            (UsConfig           *config,
                            const char * const *args,
                            guint               n_args);

G_END_DECLS
