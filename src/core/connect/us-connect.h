/* us-connect.h: pointing AI coding clients at the proxy, and back.
 *
 * Connecting a client edits only the keys Understudy owns in that client's
 * own configuration file; everything else stays byte for byte. Every write is
 * atomic, the original is kept as a timestamped backup next to the file, and
 * what was changed is recorded in $XDG_STATE_HOME/understudy/connections.json
 * so that disconnecting restores the original bytes (file untouched since our
 * write) or removes just our keys (the user edited it since).
 *
 * Paths follow $HOME, $XDG_CONFIG_HOME, $XDG_STATE_HOME, $CODEX_HOME and
 * $CLAUDE_CONFIG_DIR as they are at each call.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define US_CONNECT_ERROR (us_connect_error_quark ())
GQuark us_connect_error_quark (void);

typedef enum {
  US_CONNECT_ERROR_PARSE,        /* the client's file is not valid; left untouched */
  US_CONNECT_ERROR_UNSUPPORTED,  /* valid, but shaped in a way we do not edit */
  US_CONNECT_ERROR_IO,
  US_CONNECT_ERROR_STATE,        /* connections.json is damaged */
  US_CONNECT_ERROR_NO_RECORD,    /* points at Understudy, nothing recorded to restore */
  US_CONNECT_ERROR_CHANGED,      /* the file changed while we were editing it */
  US_CONNECT_ERROR_INVALID_URL,
  US_CONNECT_ERROR_EXISTS,       /* a setting of the user's is in the way; --force replaces it */
} UsConnectError;

typedef enum {
  US_CLIENT_CLAUDE_CODE,
  US_CLIENT_CODEX,
  US_CLIENT_OPENCODE,
} UsClientId;

#define US_CLIENT_N_CLIENTS 3

#define US_TYPE_CLIENT_ID (us_client_id_get_type ())
GType          us_client_id_get_type          (void);

/* "claude-code", "codex", "opencode": the names the command line takes. */
const char    *us_client_id_to_string         (UsClientId    id);
gboolean       us_client_id_from_string       (const char   *name,
                                               UsClientId   *out_id);
/* "Claude Code", "Codex", "OpenCode" */
const char    *us_client_id_get_display_name  (UsClientId    id);

typedef enum {
  US_CLIENT_STATE_NOT_INSTALLED,
  US_CLIENT_STATE_INSTALLED,   /* program on PATH or its config dir exists */
  US_CLIENT_STATE_CONNECTED,   /* its file points at Understudy right now */
} UsClientState;

/* "not installed", "installed", "connected" */
const char    *us_client_state_to_string      (UsClientState state);

/* The file that connecting edits (it may not exist yet). */
char          *us_client_get_config_path      (UsClientId    id);

UsClientState  us_client_get_state            (UsClientId    id);

/* TRUE when the user asked for the client to be connected: it is connected
 * now, or routing is off and it will be connected again when it comes on. */
gboolean       us_client_is_wanted            (UsClientId    id);

/* @proxy_url: the proxy's client URL with its token path, for example
 * "http://127.0.0.1:7355/t/TOKEN" (no "/v1"). Connecting an already
 * connected client updates the URL; the original stays the one recorded. */
gboolean       us_client_connect              (UsClientId    id,
                                               const char   *proxy_url,
                                               GError      **error);

/* us_client_connect(), and Claude Code's status line runs
 * @statusline_command (statusLine in its settings, set field by field and
 * undone with the rest; routing off and on again keeps the choice). A
 * status line of the user's is replaced only with @force, and
 * disconnecting puts it back; without @force nothing is written and the
 * error is US_CONNECT_ERROR_EXISTS. Other clients have no status line:
 * US_CONNECT_ERROR_UNSUPPORTED. */
gboolean       us_client_connect_statusline   (UsClientId    id,
                                               const char   *proxy_url,
                                               const char   *statusline_command,
                                               gboolean      force,
                                               GError      **error);

/* Restores the original and forgets that the client wanted connecting.
 * A client that is not connected is a no-op. */
gboolean       us_client_disconnect           (UsClientId    id,
                                               GError      **error);

/* Routing off: every connected client is restored but stays wanted.
 * Routing on: every wanted client is connected to @proxy_url again
 * (@proxy_url is ignored, and may be NULL, when @routing is FALSE).
 * Goes through all clients even when one fails; the error names each. */
gboolean       us_clients_apply_routing       (gboolean      routing,
                                               const char   *proxy_url,
                                               GError      **error);

/* $XDG_STATE_HOME/understudy/connections.json */
char          *us_connect_get_state_path      (void);

G_END_DECLS
