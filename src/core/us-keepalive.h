/* us-keepalive.h: closes kept-alive client connections that the client
 * has closed, which libsoup before 3.4 never does. */
#pragma once

#include <libsoup/soup.h>

G_BEGIN_DECLS

/* Watches every connection of @server between two requests; does nothing
 * on a libsoup that closes them itself (3.4 and later). */
void us_keepalive_guard (SoupServer *server);

/* Peeks at @socket without blocking: TRUE when the peer has closed it (end
 * of file) or it broke; @has_data says a byte is waiting. */
gboolean us_keepalive_client_left (GSocket  *socket,
                                   gboolean *has_data);

G_END_DECLS
