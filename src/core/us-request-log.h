/* us-request-log.h: the recent requests, newest first, as a GListModel. */
#pragma once

#include <gio/gio.h>
#include "us-request-entry.h"

G_BEGIN_DECLS

#define US_TYPE_REQUEST_LOG (us_request_log_get_type ())
G_DECLARE_FINAL_TYPE (UsRequestLog, us_request_log, US, REQUEST_LOG, GObject)

UsRequestLog   *us_request_log_new        (guint           capacity);
/* Takes a new entry at position 0; the oldest beyond capacity drops off. */
UsRequestEntry *us_request_log_add        (UsRequestLog   *self,
                                           const char     *client,
                                           const char     *session,
                                           const char     *endpoint,
                                           const char     *requested_model);
/* The newest @max entries as a JSON array, newest first. */
JsonNode       *us_request_log_to_json    (UsRequestLog   *self,
                                           guint           max);

G_END_DECLS
