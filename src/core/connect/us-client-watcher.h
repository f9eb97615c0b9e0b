/* us-client-watcher.h: tells when a client's configuration file changes,
 * whoever changed it, so that what is shown is read again rather than
 * overwritten with what we believed. */
#pragma once

#include <gio/gio.h>

#include "us-connect.h"

G_BEGIN_DECLS

#define US_TYPE_CLIENT_WATCHER (us_client_watcher_get_type ())
G_DECLARE_FINAL_TYPE (UsClientWatcher, us_client_watcher, US, CLIENT_WATCHER, GObject)

/* Watches the files as the environment names them now. Emits
 * "changed" (UsClientId) in the thread-default main context of the caller,
 * at most once per burst of events for a client. */
UsClientWatcher *us_client_watcher_new (void);

G_END_DECLS
