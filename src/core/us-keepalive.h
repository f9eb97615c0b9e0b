/* us-keepalive.h: client connections between and during requests: closed
 * when the client has gone (libsoup before 3.4 never does), when it takes
 * too long to send a request, or when it stays idle too long. */
#pragma once

#include <libsoup/soup.h>

G_BEGIN_DECLS

/* Watches every connection of @server. A client gets @request_timeout_s
 * from its request's first byte to its last (libsoup starts a connection's
 * first request when it accepts it, so a client that never sends a byte
 * is timed out too), and a kept-alive connection
 * @idle_timeout_s between requests; 0 = no limit. */
void     us_keepalive_guard       (SoupServer *server,
                                   double      request_timeout_s,
                                   double      idle_timeout_s);

/* Open client connections that have sent a request. */
guint    us_keepalive_get_n_connections (SoupServer *server);

/* Peeks at @socket without blocking: TRUE when the peer has closed it (end
 * of file) or it broke; @has_data says a byte is waiting. */
gboolean us_keepalive_client_left (GSocket    *socket,
                                   gboolean   *has_data);

G_END_DECLS
