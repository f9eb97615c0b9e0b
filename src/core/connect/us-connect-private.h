/* us-connect-private.h: what the connect pieces share, not for the app. */
#pragma once

#include <gio/gio.h>

#include "us-connect.h"

G_BEGIN_DECLS

/* One key Understudy set in a client's file. Values are raw text of the
 * file's own syntax, so putting one back restores it byte for byte. */
typedef struct {
  GStrv path;            /* JSON member path, or TOML key / table path */
  char *previous;        /* NULL: the key was absent */
  char *written;         /* as it reads in the file after our edit */
  guint created_parents; /* JSON objects created to hold it */
} UsConnectEdit;

UsConnectEdit *us_connect_edit_new  (const char * const *path,
                                     const char         *previous,
                                     const char         *written,
                                     guint               created_parents);
void           us_connect_edit_free (UsConnectEdit      *edit);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (UsConnectEdit, us_connect_edit_free)

/* Key-level access to one file syntax, used to undo edits generically.
 * Each call parses @text again: the files are small, and it keeps every
 * edit honest about what is in the file now. */
typedef struct {
  char     *(*get)      (const char *text, const char * const *path, GError **error);
  char     *(*replace)  (const char *text, const char * const *path, const char *raw, GError **error);
  char     *(*remove)   (const char *text, const char * const *path, GError **error);
  /* NULL when the syntax never needs parents created */
  gboolean  (*is_empty) (const char *text, const char * const *path);
} UsDocFormat;

/* What differs from one client to the next. */
typedef struct {
  UsClientId          id;
  const char         *name;          /* "claude-code" */
  const char         *display_name;  /* "Claude Code" */
  const char         *program;       /* looked up on PATH */
  const UsDocFormat  *format;
  char             *(*config_dir)  (void);
  /* the file connect edits (the one the client reads last, if several) */
  char             *(*config_path) (void);
  /* every file whose change can change the client's state */
  GStrv             (*watched_paths) (void);
  /* Returns @text (NULL: no file) with the client pointed at @proxy_url,
   * appending a UsConnectEdit per key to @edits. */
  char             *(*apply)       (const char *text,
                                    const char *proxy_url,
                                    GPtrArray  *edits,
                                    GError    **error);
  /* Returns @text with the client's status line running @command,
   * appending a UsConnectEdit per key to @edits; refuses to replace one
   * of the user's unless @force. NULL when the client has none. */
  char             *(*apply_statusline) (const char *text,
                                         const char *command,
                                         gboolean    force,
                                         GPtrArray  *edits,
                                         GError    **error);
  /* Does @text point the client at Understudy? @proxy_url is the recorded
   * URL, or NULL when nothing is recorded. */
  gboolean          (*is_connected) (const char *text,
                                     const char *proxy_url);
} UsClientConnector;

const UsClientConnector *us_connect_claude_get_connector   (void);
const UsClientConnector *us_connect_codex_get_connector    (void);
const UsClientConnector *us_connect_opencode_get_connector (void);
const UsClientConnector *us_client_connector_get           (UsClientId id);

/* $HOME as it is now: GLib caches g_get_home_dir() for the process. */
const char *us_connect_home_dir        (void);
/* $VAR when set to an absolute path, else $HOME/@fallback. */
char       *us_connect_xdg_dir         (const char *var,
                                        const char *fallback);
/* The user's config directory on the host: inside Flatpak $XDG_CONFIG_HOME
 * is the app's own (~/.var/app/ID/config), while the client configs we
 * edit are the host's, mapped in at the same path by --filesystem. */
char       *us_connect_host_config_dir (void);
/* The name of the provider Understudy adds to Codex and OpenCode. */
#define US_CONNECT_PROVIDER_NAME "understudy"

/* A URL of the shape the proxy hands out: loopback host, "/t/" token path.
 * Lets status recognise our pointer even when the state file is gone. */
gboolean    us_connect_url_is_understudy (const char *url,
                                          const char *recorded_proxy_url);

G_END_DECLS
