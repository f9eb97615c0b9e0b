/* us-keepalive.h: closes kept-alive client connections that the client
 * has closed, which libsoup before 3.4 never does. */
#pragma once

#include <libsoup/soup.h>

G_BEGIN_DECLS

/* Watches every connection of @server between two requests; does nothing
 * on a libsoup that closes them itself (3.4 and later). */
void us_keepalive_guard (SoupServer *server);

G_END_DECLS
