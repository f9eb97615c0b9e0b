/* us-proxy.h: the local proxy server (libsoup), shared by the app and headless mode. */
#pragma once

#include <libsoup/soup.h>
#include "us-config.h"
#include "us-health.h"
#include "us-provenance.h"
#include "us-request-log.h"

G_BEGIN_DECLS

#define US_TYPE_PROXY (us_proxy_get_type ())
G_DECLARE_FINAL_TYPE (UsProxy, us_proxy, US, PROXY, GObject)

UsProxy      *us_proxy_new          (UsConfig     *config);
/* Binds listen.host:listen.port (0 = any free port) and serves. */
gboolean      us_proxy_start        (UsProxy      *self,
                                     GError      **error);
guint         us_proxy_get_port     (UsProxy      *self);
/* http://HOST:PORT/t/TOKEN — what clients are pointed at. */
char         *us_proxy_dup_client_url (UsProxy    *self);
UsConfig     *us_proxy_get_config   (UsProxy      *self);
UsRequestLog *us_proxy_get_log      (UsProxy      *self);
UsHealth     *us_proxy_get_health   (UsProxy      *self);
UsProvenance *us_proxy_get_provenance (UsProxy    *self);
SoupSession  *us_proxy_get_session  (UsProxy      *self);
gboolean      us_proxy_get_routing  (UsProxy      *self);
void          us_proxy_set_routing  (UsProxy      *self,
                                     gboolean      routing);
/* The status document served at /understudy/status. */
JsonNode     *us_proxy_status_to_json (UsProxy    *self);

G_END_DECLS
