/* test-util.c: a synchronous-looking HTTP client that spins the main context. */
#include "test-util.h"

#include <glib/gstdio.h>

struct _TestClient {
  SoupSession *session;
  char *base;
};

struct _TestStream {
  SoupMessage *msg;
  GInputStream *stream;
  GCancellable *cancellable;
  GString *text;
  gboolean reading;
};

UsProxy *
test_proxy_new (const char *config_json)
{
  g_autoptr(UsConfig) config = NULL;
  g_autoptr(GError) error = NULL;
  UsProxy *proxy;

  config = us_config_new_from_data (config_json, -1, &error);
  g_assert_no_error (error);
  proxy = us_proxy_new (config);
  us_proxy_start (proxy, &error);
  g_assert_no_error (error);
  return proxy;
}

void
test_reply_free (TestReply *reply)
{
  g_clear_pointer (&reply->headers, soup_message_headers_unref);
  g_free (reply->body);
  g_free (reply);
}

TestClient *
test_client_new (UsProxy *proxy)
{
  TestClient *client = g_new0 (TestClient, 1);

  client->session = soup_session_new_with_options ("timeout", 20, NULL);
  client->base = us_proxy_dup_client_url (proxy);
  return client;
}

TestClient *
test_client_new_for_url (const char *base)
{
  TestClient *client = g_new0 (TestClient, 1);

  client->session = soup_session_new_with_options ("timeout", 60, NULL);
  client->base = g_strdup (base);
  return client;
}

void
test_client_free (TestClient *client)
{
  g_object_unref (client->session);
  g_free (client->base);
  g_free (client);
}

char *
test_proxy_url (TestClient *client,
                const char *path)
{
  return g_strconcat (client->base, path, NULL);
}

static void
on_read (GObject      *source,
         GAsyncResult *result,
         gpointer      data)
{
  GBytes **out = data;
  g_autoptr(GError) error = NULL;

  *out = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);
  if (*out == NULL)
    *out = g_bytes_new (NULL, 0);
}

static TestReply *
send_on (SoupSession *session,
         SoupMessage *msg)
{
  GBytes *bytes = NULL;
  TestReply *reply = g_new0 (TestReply, 1);
  gsize len;
  const char *data;

  soup_session_send_and_read_async (session, msg, G_PRIORITY_DEFAULT, NULL, on_read, &bytes);
  while (bytes == NULL)
    g_main_context_iteration (NULL, TRUE);

  data = g_bytes_get_data (bytes, &len);
  reply->status = soup_message_get_status (msg);
  reply->headers = soup_message_headers_ref (soup_message_get_response_headers (msg));
  reply->body = g_strndup (data ? data : "", len);
  reply->length = len;
  g_bytes_unref (bytes);
  return reply;
}

TestReply *
test_send (SoupMessage *msg)
{
  g_autoptr(SoupSession) session = soup_session_new ();

  return send_on (session, msg);
}

static void
add_headers (SoupMessage        *msg,
             const char * const *headers)
{
  for (guint i = 0; headers && headers[i] && headers[i + 1]; i += 2)
    soup_message_headers_replace (soup_message_get_request_headers (msg), headers[i], headers[i + 1]);
}

TestReply *
test_post (TestClient         *client,
           const char         *path,
           const char         *body,
           const char * const *headers)
{
  g_autofree char *url = test_proxy_url (client, path);
  g_autoptr(SoupMessage) msg = soup_message_new ("POST", url);
  g_autoptr(GBytes) bytes = g_bytes_new (body, strlen (body));

  soup_message_set_request_body_from_bytes (msg, "application/json", bytes);
  add_headers (msg, headers);
  return send_on (client->session, msg);
}

static void
on_concurrent_reply (GObject      *source,
                     GAsyncResult *result,
                     gpointer      data)
{
  guint *pending = data;

  g_bytes_unref (soup_session_send_and_read_finish (SOUP_SESSION (source), result, NULL));
  (*pending)--;
}

void
test_post_concurrently (TestClient         *client,
                        const char         *path,
                        const char * const *bodies,
                        guint              *statuses)
{
  g_autoptr(SoupSession) session = soup_session_new_with_options ("max-conns-per-host", 64, NULL);
  g_autofree char *url = test_proxy_url (client, path);
  g_autoptr(GPtrArray) messages = g_ptr_array_new_with_free_func (g_object_unref);
  guint pending = g_strv_length ((char **) bodies);

  for (guint i = 0; bodies[i]; i++)
    {
      g_autoptr(GBytes) bytes = g_bytes_new (bodies[i], strlen (bodies[i]));
      SoupMessage *msg = soup_message_new ("POST", url);

      soup_message_set_request_body_from_bytes (msg, "application/json", bytes);
      g_ptr_array_add (messages, msg);
      soup_session_send_and_read_async (session, msg, G_PRIORITY_DEFAULT, NULL, on_concurrent_reply, &pending);
    }
  while (pending > 0)
    g_main_context_iteration (NULL, TRUE);
  for (guint i = 0; i < messages->len; i++)
    statuses[i] = soup_message_get_status (g_ptr_array_index (messages, i));
}

static gboolean
on_tick (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

void
test_spin_ms (guint ms)
{
  gint64 end = g_get_monotonic_time () + (gint64) ms * 1000;
  guint tick = g_timeout_add (10, on_tick, NULL);

  while (g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (tick);
}

TestReply *
test_get (TestClient         *client,
          const char         *path,
          const char * const *headers)
{
  g_autofree char *url = test_proxy_url (client, path);
  g_autoptr(SoupMessage) msg = soup_message_new ("GET", url);

  add_headers (msg, headers);
  return send_on (client->session, msg);
}

TestReply *
test_post_direct (UsFakeProvider *fake,
                  const char     *path,
                  const char     *body)
{
  g_autofree char *url = g_strconcat (us_fake_provider_get_base_url (fake), path, NULL);
  g_autoptr(SoupMessage) msg = soup_message_new ("POST", url);
  g_autoptr(GBytes) bytes = g_bytes_new (body, strlen (body));

  soup_message_set_request_body_from_bytes (msg, "application/json", bytes);
  return test_send (msg);
}

char *
test_normalize_ids (const char *text)
{
  g_autoptr(GRegex) regex = g_regex_new ("\\b(msg|toolu|req|chatcmpl|resp|call|fc|rs)_[A-Za-z0-9]+", 0, 0, NULL);

  return g_regex_replace (regex, text, -1, 0, "\\1_ID", 0, NULL);
}

static void
on_stream_read (GObject      *source,
                GAsyncResult *result,
                gpointer      data)
{
  TestStream *stream = data;
  g_autoptr(GBytes) bytes = g_input_stream_read_bytes_finish (G_INPUT_STREAM (source), result, NULL);

  stream->reading = FALSE;
  if (bytes != NULL && g_bytes_get_size (bytes) > 0)
    g_string_append_len (stream->text, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
}

static void
on_stream_sent (GObject      *source,
                GAsyncResult *result,
                gpointer      data)
{
  TestStream *stream = data;
  g_autoptr(GError) error = NULL;

  stream->stream = soup_session_send_finish (SOUP_SESSION (source), result, &error);
  g_assert_no_error (error);
}

TestStream *
test_stream_open (TestClient *client,
                  const char *path)
{
  TestStream *stream = g_new0 (TestStream, 1);
  g_autofree char *url = test_proxy_url (client, path);

  stream->msg = soup_message_new ("GET", url);
  stream->text = g_string_new (NULL);
  stream->cancellable = g_cancellable_new ();
  soup_session_send_async (client->session, stream->msg, G_PRIORITY_DEFAULT, NULL, on_stream_sent, stream);
  while (stream->stream == NULL)
    g_main_context_iteration (NULL, TRUE);
  return stream;
}

void
test_stream_wait_for (TestStream *stream,
                      const char *needle)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  while (strstr (stream->text->str, needle) == NULL)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      if (!stream->reading)
        {
          stream->reading = TRUE;
          g_input_stream_read_bytes_async (stream->stream, 4096, G_PRIORITY_DEFAULT, stream->cancellable,
                                           on_stream_read, stream);
        }
      g_main_context_iteration (NULL, TRUE);
    }
}

const char *
test_stream_get_text (TestStream *stream)
{
  return stream->text->str;
}

void
test_stream_free (TestStream *stream)
{
  g_cancellable_cancel (stream->cancellable);
  while (stream->reading)
    g_main_context_iteration (NULL, TRUE);
  g_object_unref (stream->cancellable);
  g_object_unref (stream->stream);
  g_object_unref (stream->msg);
  g_string_free (stream->text, TRUE);
  g_free (stream);
}

char *
test_stream_text (const char *sse)
{
  g_autoptr(GRegex) regex = g_regex_new ("\"text_delta\",\"text\":\"((?:[^\"\\\\]|\\\\.)*)\"", 0, 0, NULL);
  g_autoptr(GMatchInfo) match = NULL;
  GString *text = g_string_new (NULL);

  g_regex_match (regex, sse, 0, &match);
  while (g_match_info_matches (match))
    {
      g_autofree char *part = g_match_info_fetch (match, 1);
      g_string_append (text, part);
      g_match_info_next (match, NULL);
    }
  return g_string_free (text, FALSE);
}

struct _TestConn {
  GSocket *socket;
  guint port;
  GString *in;              /* received, not yet returned */
};

TestConn *
test_conn_new (UsProxy *proxy)
{
  TestConn *conn = g_new0 (TestConn, 1);
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, us_proxy_get_port (proxy));
  g_autoptr(GError) error = NULL;

  conn->port = us_proxy_get_port (proxy);
  conn->in = g_string_new (NULL);
  conn->socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_no_error (error);
  /* The listening socket's backlog completes the handshake. */
  g_socket_connect (conn->socket, address, NULL, &error);
  g_assert_no_error (error);
  g_socket_set_blocking (conn->socket, FALSE);
  return conn;
}

void
test_conn_free (TestConn *conn)
{
  g_socket_close (conn->socket, NULL);
  g_object_unref (conn->socket);
  g_string_free (conn->in, TRUE);
  g_free (conn);
}

GSocket *
test_conn_get_socket (TestConn *conn)
{
  return conn->socket;
}

void
test_conn_send (TestConn   *conn,
                const char *data,
                gsize       len)
{
  while (len > 0)
    {
      g_autoptr(GError) error = NULL;
      gssize n = g_socket_send (conn->socket, data, len, NULL, &error);

      if (n < 0)
        {
          g_assert_error (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK);
          g_main_context_iteration (NULL, TRUE);
          continue;
        }
      data += n;
      len -= n;
    }
}

void
test_conn_request (TestConn   *conn,
                   const char *method,
                   const char *path,
                   const char *body)
{
  g_autofree char *head = g_strdup_printf ("%s /t/" TEST_TOKEN "%s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n"
                                           "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                                           method, path, conn->port, body ? strlen (body) : 0);

  test_conn_send (conn, head, strlen (head));
  if (body != NULL)
    test_conn_send (conn, body, strlen (body));
}

/* Receives more bytes into conn->in; FALSE at end of file. */
static gboolean
conn_fill (TestConn *conn)
{
  char buf[16384];

  for (;;)
    {
      g_autoptr(GError) error = NULL;
      gssize n = g_socket_receive (conn->socket, buf, sizeof buf, NULL, &error);

      if (n > 0)
        {
          g_string_append_len (conn->in, buf, n);
          return TRUE;
        }
      if (n == 0)
        return FALSE;
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        return FALSE;
      g_main_context_iteration (NULL, TRUE);
    }
}

/* The position just after the first "\r\n" at or after @from, filling as needed. */
static gsize
conn_line_end (TestConn *conn,
               gsize     from)
{
  for (;;)
    {
      const char *nl = conn->in->len > from ? g_strstr_len (conn->in->str + from, conn->in->len - from, "\r\n") : NULL;

      if (nl != NULL)
        return nl - conn->in->str + 2;
      g_assert_true (conn_fill (conn));
    }
}

static void
conn_need (TestConn *conn,
           gsize     len)
{
  while (conn->in->len < len)
    g_assert_true (conn_fill (conn));
}

TestReply *
test_conn_read_reply (TestConn *conn)
{
  TestReply *reply = g_new0 (TestReply, 1);
  g_autoptr(GString) body = g_string_new (NULL);
  gsize end = 0, pos;
  const char *blank;

  while ((blank = g_strstr_len (conn->in->str, conn->in->len, "\r\n\r\n")) == NULL)
    g_assert_true (conn_fill (conn));
  end = blank - conn->in->str + 4;
  reply->headers = soup_message_headers_new (SOUP_MESSAGE_HEADERS_RESPONSE);
  g_assert_true (soup_headers_parse_response (conn->in->str, end, reply->headers, NULL, &reply->status, NULL));
  g_string_erase (conn->in, 0, end);

  if (soup_message_headers_get_encoding (reply->headers) == SOUP_ENCODING_CHUNKED)
    {
      pos = 0;
      for (;;)
        {
          gsize line = conn_line_end (conn, pos);
          gsize size = g_ascii_strtoull (conn->in->str + pos, NULL, 16);

          if (size == 0)
            {
              conn_need (conn, line + 2);
              g_string_erase (conn->in, 0, line + 2);
              break;
            }
          conn_need (conn, line + size + 2);
          g_string_append_len (body, conn->in->str + line, size);
          pos = line + size + 2;
          /* Keep the buffer small on long bodies. */
          g_string_erase (conn->in, 0, pos);
          pos = 0;
        }
    }
  else
    {
      gsize length = soup_message_headers_get_content_length (reply->headers);

      conn_need (conn, length);
      g_string_append_len (body, conn->in->str, length);
      g_string_erase (conn->in, 0, length);
    }
  reply->length = body->len;
  reply->body = g_string_free (g_steal_pointer (&body), FALSE);
  return reply;
}

guint
test_count_fds (void)
{
  g_autoptr(GDir) dir = g_dir_open ("/proc/self/fd", 0, NULL);
  guint n = 0;

  g_assert_nonnull (dir);
  while (g_dir_read_name (dir) != NULL)
    n++;
  return n - 1;   /* the directory's own */
}

gsize
test_rss_kib (void)
{
  g_autofree char *status = NULL;
  const char *line;

  g_assert_true (g_file_get_contents ("/proc/self/status", &status, NULL, NULL));
  line = strstr (status, "\nVmRSS:");
  g_assert_nonnull (line);
  return g_ascii_strtoull (line + strlen ("\nVmRSS:"), NULL, 10);
}

guint
test_wait_for_fds (guint fds)
{
  gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  guint n;

  while ((n = test_count_fds ()) != fds && g_get_monotonic_time () < deadline)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
  return n;
}

void
test_remove_tree (const char *path)
{
  GDir *dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        test_remove_tree (child);
      else
        g_assert_cmpint (g_unlink (child), ==, 0);
    }
  g_clear_pointer (&dir, g_dir_close);
  g_assert_cmpint (g_rmdir (path), ==, 0);
}

void
test_assert_config_error (const char *providers,
                          const char *message_part)
{
  g_autofree char *json = g_strdup_printf (
    "{ \"version\": 1,"
    "  \"listen\": { \"host\": \"127.0.0.1\", \"port\": 0, \"token\": \"" TEST_TOKEN "\" },"
    "  \"providers\": [ %s ],"
    "  \"chains\": [ { \"id\": \"default\", \"match\": [\"*\"], \"models\": ["
    "    { \"provider\": \"p\", \"model\": \"m\" } ] } ] }", providers);
  g_autoptr(GError) error = NULL;
  g_autoptr(UsConfig) config = us_config_new_from_data (json, -1, &error);

  g_assert_null (config);
  g_assert_error (error, US_CONFIG_ERROR, US_CONFIG_ERROR_INVALID);
  if (strstr (error->message, message_part) == NULL)
    g_error ("expected \"%s\" in \"%s\"", message_part, error->message);
}
