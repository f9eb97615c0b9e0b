/* us-cli-private.h: what the files of the command line share. */
#pragma once

#include <json-glib/json-glib.h>

#include "us-config.h"

G_BEGIN_DECLS

/* The running proxy's URL for @path, with the access token. */
char     *us_cli_admin_url     (UsConfig           *config,
                                const char         *path);
/* Asks the running instance, waiting at most @timeout_s seconds. NULL with
 * @error set if none answers (G_IO_ERROR_CONNECTION_REFUSED when it has
 * never run), or when it refuses: G_IO_ERROR_INVALID_DATA with its own
 * message for a 400, G_IO_ERROR_FAILED for another status. */
JsonNode *us_cli_ask_running   (UsConfig           *config,
                                const char         *method,
                                const char         *path,
                                const char         *body,
                                guint               timeout_s,
                                GError            **error);
/* "HH:MM:SS" local, with the date when not today, from RFC 3339. */
char     *us_cli_local_time    (const char         *iso);

int       us_cli_explain       (UsConfig           *config,
                                const char * const *args,
                                guint               n_args);
int       us_cli_statusline    (UsConfig           *config,
                                const char * const *args,
                                guint               n_args);

G_END_DECLS
