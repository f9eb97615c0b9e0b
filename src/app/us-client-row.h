/* us-client-row.h: one AI coding client in the Clients page, with its
 * state and a Connect / Disconnect button. */
#pragma once

#include <adwaita.h>

#include "us-connect.h"
#include "us-proxy.h"

G_BEGIN_DECLS

#define US_TYPE_CLIENT_ROW (us_client_row_get_type ())
G_DECLARE_FINAL_TYPE (UsClientRow, us_client_row, US, CLIENT_ROW, AdwActionRow)

UsClientRow   *us_client_row_new       (UsProxy     *proxy,
                                        UsClientId   client);
UsClientId     us_client_row_get_client (UsClientRow *self);
/* "state" property: as last read from the client's files. */
UsClientState  us_client_row_get_state (UsClientRow *self);
/* "busy" property: a read, connect or disconnect is running. */
gboolean       us_client_row_get_busy  (UsClientRow *self);
/* Reads the state again (in a worker thread: it is file I/O). */
void           us_client_row_refresh   (UsClientRow *self);

/* Signals: "error" (const char *message): connecting or disconnecting failed. */

G_END_DECLS
