/* us-connect-state.h: connections.json, what Understudy changed in each
 * client's file, so that it can be undone. */
#pragma once

#include "us-connect-private.h"

G_BEGIN_DECLS

typedef struct {
  gboolean   wanted;          /* the user asked for it; survives routing off */
  gboolean   connected;       /* our edit is (as far as we know) in the file */
  char      *path;            /* the client's file, as connect named it */
  gboolean   existed;         /* there was a file before we connected */
  guint      mode;            /* the original's permission bits */
  char      *backup_path;     /* the original bytes, when there were any */
  char      *original_sha256;
  char      *written_sha256;  /* of the bytes our last write left */
  char      *proxy_url;
  char      *connected_at;
  char      *statusline;      /* the status line command asked for, or NULL */
  gboolean   statusline_force; /* it may replace a status line of the user's */
  GPtrArray *edits;           /* of UsConnectEdit*, in the order made */
} UsConnection;

UsConnection   *us_connection_new      (void);
void            us_connection_free     (UsConnection *connection);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (UsConnection, us_connection_free)

typedef struct {
  UsConnection *clients[US_CLIENT_N_CLIENTS];  /* NULL: nothing recorded */
} UsConnectState;

/* A missing file is an empty state; a damaged one is an error, never
 * silently replaced, since it holds the way back. */
UsConnectState *us_connect_state_load  (GError        **error);
/* Atomic, mode 0600 (the proxy URL carries the access token). */
gboolean        us_connect_state_save  (UsConnectState *state,
                                        GError        **error);
void            us_connect_state_free  (UsConnectState *state);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (UsConnectState, us_connect_state_free)

/* Held across read-edit-write so the app and the command line cannot
 * interleave their edits of the same files. */
typedef struct _UsConnectLock UsConnectLock;
UsConnectLock  *us_connect_lock        (GError        **error);
void            us_connect_unlock      (UsConnectLock  *lock);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (UsConnectLock, us_connect_unlock)

G_END_DECLS
