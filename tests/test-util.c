/* test-util.c: a synchronous-looking HTTP client that spins the main context. */
#include "test-util.h"

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
  g_autoptr(GBytes) bytes = soup_session_send_and_read_finish (SOUP_SESSION (source), result, NULL);

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
