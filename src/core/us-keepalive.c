/* us-keepalive.c: closes kept-alive client connections that the client
 * has closed.
 *
 * libsoup 3.2 waits for the next request on a kept-alive connection, and
 * when the client closes it instead, it ends that wait but never closes
 * its own end ("server: do not leak idle connections closed by the
 * client", fixed in 3.4): the socket stays in CLOSE-WAIT for good, one
 * descriptor per connection. So between two requests we watch the socket
 * ourselves: end of file means the client left, and we take the
 * connection from the server and close it; any byte means the next
 * request has come, and libsoup has it.
 */
#include "us-keepalive.h"

#include <errno.h>
#include <sys/socket.h>

typedef struct
{
  SoupServerMessage *msg;       /* the request just answered */
  GSocket *socket;
  GSource *source;
} Watch;

static void
watch_free (Watch *watch)
{
  g_signal_handlers_disconnect_by_data (watch->msg, watch);
  g_source_destroy (watch->source);
  g_source_unref (watch->source);
  g_object_unref (watch->socket);
  g_object_unref (watch->msg);
  g_free (watch);
}

/* The client has gone: what libsoup 3.4 does on its own. */
static void
close_connection (SoupServerMessage *msg,
                  GSocket           *socket)
{
  g_autoptr(GIOStream) stream = soup_server_message_steal_connection (msg);

  if (stream != NULL)
    g_io_stream_close (stream, NULL, NULL);
  /* libsoup 3.2's listener keeps a reference to every accepted socket, so
   * only closing it frees the descriptor. */
  g_socket_close (socket, NULL);
}

gboolean
us_keepalive_client_left (GSocket  *socket,
                          gboolean *has_data)
{
  char byte;
  gssize n;

  do
    n = recv (g_socket_get_fd (socket), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  while (n < 0 && errno == EINTR);

  *has_data = n > 0;
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

static gboolean
on_socket_ready (GSocket      *socket,
                 GIOCondition  condition,
                 gpointer      data)
{
  Watch *watch = data;
  g_autoptr(SoupServerMessage) msg = g_object_ref (watch->msg);
  gboolean has_data;

  /* Data, or none left because libsoup has already read it: a new
   * request, which libsoup serves (and we watch again after it). */
  if (!us_keepalive_client_left (socket, &has_data))
    {
      watch_free (watch);
      return G_SOURCE_REMOVE;
    }

  /* End of file, or the connection broke. */
  g_object_ref (socket);
  watch_free (watch);
  close_connection (msg, socket);
  g_object_unref (socket);
  return G_SOURCE_REMOVE;
}

static void
on_request_done (SoupServer        *server,
                 SoupServerMessage *msg,
                 gpointer           data)
{
  GSocket *socket = soup_server_message_get_socket (msg);
  Watch *watch;

  if (socket == NULL || g_socket_is_closed (socket))
    return;

  watch = g_new0 (Watch, 1);
  watch->msg = g_object_ref (msg);
  watch->socket = g_object_ref (socket);
  watch->source = g_socket_create_source (socket, G_IO_IN | G_IO_HUP | G_IO_ERR, NULL);
  /* Before libsoup's own watch on the same socket: once libsoup has seen
   * the end of file, its connection can no longer be taken over. */
  g_source_set_priority (watch->source, G_PRIORITY_HIGH);
  g_source_set_callback (watch->source, G_SOURCE_FUNC (on_socket_ready), watch, NULL);
  g_source_attach (watch->source, g_main_context_get_thread_default ());
  /* Not kept alive, or the server shuts down: libsoup closes it. */
  g_signal_connect_swapped (msg, "disconnected", G_CALLBACK (watch_free), watch);
}

/* libsoup before 3.4 also keeps one reference too many to every socket
 * it accepts ("soup-listener: Plug a leak"): dropped on the connection's
 * first request, while the connection still holds its own. */
static void
on_request_started (SoupServer        *server,
                    SoupServerMessage *msg,
                    gpointer           data)
{
  static GQuark dropped;
  GSocket *socket = soup_server_message_get_socket (msg);

  if (dropped == 0)
    dropped = g_quark_from_static_string ("us-keepalive-listener-ref-dropped");
  if (socket == NULL || g_object_get_qdata (G_OBJECT (socket), dropped) != NULL)
    return;
  g_object_set_qdata (G_OBJECT (socket), dropped, GINT_TO_POINTER (TRUE));
  g_object_unref (socket);

  /* Taking the connection over (close_connection()) asks for both
   * addresses, and once the client has gone the remote one cannot be had:
   * asked now, while it is there, libsoup keeps them. */
  soup_server_message_get_local_address (msg);
  soup_server_message_get_remote_address (msg);
}

void
us_keepalive_guard (SoupServer *server)
{
  if (soup_get_major_version () > 3 || soup_get_minor_version () >= 4)
    return;
  g_signal_connect (server, "request-started", G_CALLBACK (on_request_started), NULL);
  g_signal_connect (server, "request-finished", G_CALLBACK (on_request_done), NULL);
  /* Mostly closed by libsoup right after (then "disconnected" ends the
   * watch); kept alive when only the status was 500. */
  g_signal_connect (server, "request-aborted", G_CALLBACK (on_request_done), NULL);
}
