/* us-keepalive.c: client connections between and during requests.
 *
 * libsoup 3.2 waits for the next request on a kept-alive connection, and
 * when the client closes it instead, it ends that wait but never closes
 * its own end ("server: do not leak idle connections closed by the
 * client", fixed in 3.4): the socket stays in CLOSE-WAIT for good, one
 * descriptor per connection. So between two requests we watch the socket
 * ourselves: end of file means the client left, and we take the
 * connection from the server and close it; any byte means the next
 * request has come, and libsoup has it. The same watch closes connections
 * idle too long, and a request too slow to arrive (a half-sent header)
 * has its connection closed too.
 */
#include "us-keepalive.h"

#include <errno.h>
#include <sys/socket.h>

/* Shared (GRcBox) by the server and every connection's socket. */
typedef struct
{
  double request_timeout_s;
  double idle_timeout_s;
  gboolean watch_eof;           /* libsoup < 3.4 */
  guint n_connections;          /* sockets that sent a request, still open */
} Guard;

/* One per connection at a time, kept on its GSocket. */
typedef struct
{
  SoupServerMessage *msg;       /* the request being read, or just answered */
  GSocket *socket;
  GSource *source;              /* end-of-file watch, between requests */
  guint timer;
} Watch;

static GQuark
watch_quark (void)
{
  static GQuark quark;

  if (quark == 0)
    quark = g_quark_from_static_string ("us-keepalive-watch");
  return quark;
}

static void
watch_free (Watch *watch)
{
  if (g_object_get_qdata (G_OBJECT (watch->socket), watch_quark ()) == watch)
    g_object_set_qdata (G_OBJECT (watch->socket), watch_quark (), NULL);
  g_signal_handlers_disconnect_by_data (watch->msg, watch);
  if (watch->source != NULL)
    {
      g_source_destroy (watch->source);
      g_source_unref (watch->source);
    }
  g_clear_handle_id (&watch->timer, g_source_remove);
  g_object_unref (watch->socket);
  g_object_unref (watch->msg);
  g_free (watch);
}

static void
end_watch (GSocket *socket)
{
  Watch *watch = socket ? g_object_get_qdata (G_OBJECT (socket), watch_quark ()) : NULL;

  if (watch != NULL)
    watch_free (watch);
}

/* What libsoup 3.4 does on its own when the client has gone. */
static void
close_connection (Watch *watch)
{
  g_autoptr(SoupServerMessage) msg = g_object_ref (watch->msg);
  g_autoptr(GSocket) socket = g_object_ref (watch->socket);
  g_autoptr(GIOStream) stream = NULL;

  watch_free (watch);
  stream = soup_server_message_steal_connection (msg);
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
  gboolean has_data;

  /* Data, or none left because libsoup has already read it: a new
   * request, which libsoup serves ("request-started" then ends the
   * watch). */
  if (!us_keepalive_client_left (socket, &has_data))
    {
      g_clear_pointer (&watch->source, g_source_unref);
      return G_SOURCE_REMOVE;
    }
  g_clear_pointer (&watch->source, g_source_unref);
  close_connection (watch);
  return G_SOURCE_REMOVE;
}

static gboolean
on_timeout (gpointer data)
{
  Watch *watch = data;

  watch->timer = 0;
  close_connection (watch);
  return G_SOURCE_REMOVE;
}

static void
start_watch (SoupServerMessage *msg,
             double             timeout_s,
             gboolean           watch_eof)
{
  GSocket *socket = soup_server_message_get_socket (msg);
  Watch *watch;

  end_watch (socket);
  if (socket == NULL || g_socket_is_closed (socket) || (timeout_s <= 0 && !watch_eof))
    return;

  watch = g_new0 (Watch, 1);
  watch->msg = g_object_ref (msg);
  watch->socket = g_object_ref (socket);
  g_object_set_qdata (G_OBJECT (socket), watch_quark (), watch);
  if (watch_eof)
    {
      watch->source = g_socket_create_source (socket, G_IO_IN | G_IO_HUP | G_IO_ERR, NULL);
      /* Before libsoup's own watch on the same socket: once libsoup has
       * seen the end of file, its connection can no longer be taken over. */
      g_source_set_priority (watch->source, G_PRIORITY_HIGH);
      g_source_set_callback (watch->source, G_SOURCE_FUNC (on_socket_ready), watch, NULL);
      g_source_attach (watch->source, g_main_context_get_thread_default ());
    }
  if (timeout_s > 0)
    watch->timer = g_timeout_add ((guint) (timeout_s * 1000), on_timeout, watch);
  /* Not kept alive, or the server shuts down: libsoup closes it. */
  g_signal_connect_swapped (msg, "disconnected", G_CALLBACK (watch_free), watch);
}

static void
on_socket_finalized (gpointer  data,
                     GObject  *socket)
{
  Guard *guard = data;

  guard->n_connections--;
  g_rc_box_release (guard);
}

/* A request's first bytes: the idle wait is over, the request clock runs. */
static void
on_request_started (SoupServer        *server,
                    SoupServerMessage *msg,
                    Guard             *guard)
{
  static GQuark dropped;
  GSocket *socket = soup_server_message_get_socket (msg);

  if (socket == NULL)
    return;
  if (dropped == 0)
    dropped = g_quark_from_static_string ("us-keepalive-listener-ref-dropped");
  if (g_object_get_qdata (G_OBJECT (socket), dropped) == NULL)
    {
      g_object_set_qdata (G_OBJECT (socket), dropped, GINT_TO_POINTER (TRUE));
      /* libsoup before 3.4 also keeps one reference too many to every
       * socket it accepts ("soup-listener: Plug a leak"): dropped on the
       * connection's first request, while the connection holds its own. */
      if (guard->watch_eof)
        g_object_unref (socket);
      /* Taking the connection over (close_connection()) asks for both
       * addresses, and once the client has gone the remote one cannot be
       * had: asked now, while it is there, libsoup keeps them. */
      soup_server_message_get_local_address (msg);
      soup_server_message_get_remote_address (msg);
      guard->n_connections++;
      g_object_weak_ref (G_OBJECT (socket), on_socket_finalized, g_rc_box_acquire (guard));
    }
  start_watch (msg, guard->request_timeout_s, FALSE);
}

/* The whole request is in: from here on the answer is the proxy's. */
static void
on_request_read (SoupServer        *server,
                 SoupServerMessage *msg,
                 Guard             *guard)
{
  end_watch (soup_server_message_get_socket (msg));
}

static void
on_request_done (SoupServer        *server,
                 SoupServerMessage *msg,
                 Guard             *guard)
{
  start_watch (msg, guard->idle_timeout_s, guard->watch_eof);
}

void
us_keepalive_guard (SoupServer *server,
                    double      request_timeout_s,
                    double      idle_timeout_s)
{
  Guard *guard = g_rc_box_new0 (Guard);

  guard->request_timeout_s = request_timeout_s;
  guard->idle_timeout_s = idle_timeout_s;
  guard->watch_eof = soup_get_major_version () == 3 && soup_get_minor_version () < 4;
  g_object_set_data_full (G_OBJECT (server), "us-keepalive-guard", guard, g_rc_box_release);
  g_signal_connect (server, "request-started", G_CALLBACK (on_request_started), guard);
  g_signal_connect (server, "request-read", G_CALLBACK (on_request_read), guard);
  g_signal_connect (server, "request-finished", G_CALLBACK (on_request_done), guard);
  /* Mostly closed by libsoup right after (then "disconnected" ends the
   * watch); kept alive when only the status was 500. */
  g_signal_connect (server, "request-aborted", G_CALLBACK (on_request_done), guard);
}

guint
us_keepalive_get_n_connections (SoupServer *server)
{
  Guard *guard = g_object_get_data (G_OBJECT (server), "us-keepalive-guard");

  return guard ? guard->n_connections : 0;
}
