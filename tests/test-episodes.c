/* test-episodes.c: failover episodes from real requests through the proxy
 * to fake providers: one "started" and one "ended" per episode, however
 * many requests, and one "key-rejected" until the provider serves again. */
#include "us-episodes.h"
#include "test-util.h"

#define BODY "{\"model\":\"claude-opus-4-5\",\"max_tokens\":64,\"stream\":%s," \
             "\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}"

typedef struct {
  UsFakeProvider *primary;
  UsFakeProvider *fallback;
  UsProxy *proxy;
  TestClient *client;
  UsEpisodes *episodes;

  guint n_started, n_ended, n_key_rejected, n_failing_notify;
  char *failed, *reason, *serving_at_start, *ended, *rejected;
  gint64 until;
} Harness;

static void
on_started (UsEpisodes *episodes,
            const char *failed,
            const char *reason,
            gint64      until,
            const char *serving,
            Harness    *h)
{
  h->n_started++;
  g_free (h->failed);
  h->failed = g_strdup (failed);
  g_free (h->reason);
  h->reason = g_strdup (reason);
  h->until = until;
  g_free (h->serving_at_start);
  h->serving_at_start = g_strdup (serving);
}

static void
on_ended (UsEpisodes *episodes,
          const char *model,
          Harness    *h)
{
  h->n_ended++;
  g_free (h->ended);
  h->ended = g_strdup (model);
}

static void
on_key_rejected (UsEpisodes *episodes,
                 const char *provider,
                 Harness    *h)
{
  h->n_key_rejected++;
  g_free (h->rejected);
  h->rejected = g_strdup (provider);
}

static void
on_failing_over (UsEpisodes *episodes,
                 GParamSpec *pspec,
                 Harness    *h)
{
  h->n_failing_notify++;
}

/* @primary_url: NULL for the primary fake. */
static Harness *
harness_new (const char *primary_url,
             const char *primary_auth)
{
  Harness *h = g_new0 (Harness, 1);
  g_autofree char *json = NULL;

  h->primary = us_fake_provider_new (US_FAKE_FORMAT_ANTHROPIC);
  h->fallback = us_fake_provider_new (US_FAKE_FORMAT_ANTHROPIC);
  json = g_strdup_printf (
    "{ \"version\": 1,"
    "  \"listen\": { \"host\": \"127.0.0.1\", \"port\": 0, \"token\": \"" TEST_TOKEN "\" },"
    "  \"providers\": ["
    "    { \"id\": \"anthropic\", \"kind\": \"anthropic\", \"base_url\": \"%s\", %s },"
    "    { \"id\": \"zai\", \"kind\": \"anthropic\", \"base_url\": \"%s\", \"auth\": \"none\" } ],"
    "  \"chains\": [ { \"id\": \"default\", \"match\": [\"*\"], \"models\": ["
    "    { \"provider\": \"anthropic\", \"model\": \"claude-opus-4-5\" },"
    "    { \"provider\": \"zai\", \"model\": \"glm-4.6\" } ] } ],"
    "  \"failover\": { \"first_byte_timeout_s\": 5, \"idle_timeout_s\": 5, \"cooldown_s\": 30 } }",
    primary_url ? primary_url : us_fake_provider_get_base_url (h->primary),
    primary_auth ? primary_auth : "\"auth\": \"none\"",
    us_fake_provider_get_base_url (h->fallback));

  h->proxy = test_proxy_new (json);
  h->client = test_client_new (h->proxy);
  h->episodes = us_episodes_new (us_proxy_get_log (h->proxy), us_proxy_get_health (h->proxy));
  g_signal_connect (h->episodes, "started", G_CALLBACK (on_started), h);
  g_signal_connect (h->episodes, "ended", G_CALLBACK (on_ended), h);
  g_signal_connect (h->episodes, "key-rejected", G_CALLBACK (on_key_rejected), h);
  g_signal_connect (h->episodes, "notify::failing-over", G_CALLBACK (on_failing_over), h);
  return h;
}

static void
harness_free (Harness *h)
{
  g_clear_object (&h->episodes);
  test_client_free (h->client);
  g_clear_object (&h->proxy);
  g_clear_object (&h->primary);
  g_clear_object (&h->fallback);
  g_free (h->failed);
  g_free (h->reason);
  g_free (h->serving_at_start);
  g_free (h->ended);
  g_free (h->rejected);
  g_free (h);
}

static void
request (Harness    *h,
         const char *expected_served)
{
  g_autofree char *body = g_strdup_printf (BODY, "true");
  g_autoptr(TestReply) reply = test_post (h->client, "/v1/messages", body, NULL);

  g_assert_cmpuint (reply->status, ==, 200);
  g_assert_cmpstr (soup_message_headers_get_one (reply->headers, "x-understudy-model"), ==, expected_served);
}

static void
on_batch_reply (GObject      *source,
                GAsyncResult *result,
                gpointer      data)
{
  guint *pending = data;
  g_autoptr(GBytes) bytes = soup_session_send_and_read_finish (SOUP_SESSION (source), result, NULL);

  g_assert_nonnull (bytes);
  (*pending)--;
}

/* @n requests in flight at once, half streamed, half whole. */
static void
request_batch (Harness *h,
               guint    n)
{
  g_autoptr(SoupSession) session = soup_session_new_with_options ("max-conns-per-host", 32, NULL);
  g_autofree char *url = test_proxy_url (h->client, "/v1/messages");
  g_autoptr(GPtrArray) messages = g_ptr_array_new_with_free_func (g_object_unref);
  guint pending = n;

  for (guint i = 0; i < n; i++)
    {
      g_autofree char *body = g_strdup_printf (BODY, i % 2 ? "true" : "false");
      g_autoptr(GBytes) bytes = g_bytes_new (body, strlen (body));
      SoupMessage *msg = soup_message_new ("POST", url);

      soup_message_set_request_body_from_bytes (msg, "application/json", bytes);
      g_ptr_array_add (messages, msg);
      soup_session_send_and_read_async (session, msg, G_PRIORITY_DEFAULT, NULL, on_batch_reply, &pending);
    }
  while (pending > 0)
    g_main_context_iteration (NULL, TRUE);
  for (guint i = 0; i < n; i++)
    g_assert_cmpuint (soup_message_get_status (g_ptr_array_index (messages, i)), ==, 200);
}

static gboolean
on_tick (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

static void
wait_until_cooled (Harness *h)
{
  guint tick = g_timeout_add (50, on_tick, NULL);

  while (us_health_is_cooling (us_proxy_get_health (h->proxy), "anthropic", "claude-opus-4-5"))
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (tick);
}

static void
wait_ms (guint ms)
{
  gint64 end = g_get_monotonic_time () + ms * 1000;
  guint tick = g_timeout_add (10, on_tick, NULL);

  while (g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (tick);
}

static void
test_storm (void)
{
  Harness *h = harness_new (NULL, NULL);
  gint64 before = g_get_real_time () / G_USEC_PER_SEC;

  us_fake_provider_set_default (h->primary, &(UsFakeStep) { .behavior = US_FAKE_STATUS, .status = 429,
                                                            .retry_after = "2" });
  g_assert_false (us_episodes_get_failing_over (h->episodes));
  g_assert_null (us_episodes_get_serving (h->episodes));

  /* 20 requests while the primary is rate limited: the first five all
   * reach it at once, the rest find it cooling down (or rate limited
   * again when the cooldown ran out meanwhile). */
  request_batch (h, 5);
  g_assert_cmpuint (us_fake_provider_get_n_requests (h->primary), ==, 5);
  for (guint i = 0; i < 10; i++)
    request (h, "zai/glm-4.6");
  request_batch (h, 5);

  g_assert_cmpuint (h->n_started, ==, 1);
  g_assert_cmpuint (h->n_ended, ==, 0);
  g_assert_cmpstr (h->failed, ==, "anthropic/claude-opus-4-5");
  g_assert_cmpstr (h->reason, ==, "rate limited");
  g_assert_cmpstr (h->serving_at_start, ==, "zai/glm-4.6");
  /* retry-after: 2, rounded up to the second. */
  g_assert_cmpint (h->until, >=, before + 2);
  g_assert_cmpint (h->until, <=, before + 4);
  g_assert_true (us_episodes_get_failing_over (h->episodes));
  g_assert_cmpstr (us_episodes_get_serving (h->episodes), ==, "zai/glm-4.6");
  g_assert_cmpuint (h->n_failing_notify, ==, 1);

  /* The primary is healthy again and, once its cooldown ran out, serves. */
  us_fake_provider_set_default (h->primary, &(UsFakeStep) { .behavior = US_FAKE_OK });
  wait_until_cooled (h);
  request (h, "anthropic/claude-opus-4-5");
  g_assert_cmpuint (h->n_ended, ==, 1);
  g_assert_cmpstr (h->ended, ==, "anthropic/claude-opus-4-5");
  g_assert_false (us_episodes_get_failing_over (h->episodes));
  g_assert_cmpstr (us_episodes_get_serving (h->episodes), ==, "anthropic/claude-opus-4-5");
  g_assert_cmpuint (h->n_failing_notify, ==, 2);

  request_batch (h, 4);
  request (h, "anthropic/claude-opus-4-5");
  g_assert_cmpuint (h->n_started, ==, 1);
  g_assert_cmpuint (h->n_ended, ==, 1);
  g_assert_cmpuint (h->n_key_rejected, ==, 0);

  /* A new failure is a new episode. */
  us_fake_provider_push_status (h->primary, 529, "60");
  request (h, "zai/glm-4.6");
  g_assert_cmpuint (h->n_started, ==, 2);
  g_assert_cmpstr (h->reason, ==, "overloaded");
  harness_free (h);
}

/* A request that began while the primary failed and finishes after the
 * primary served again is old news: no second episode. */
static void
test_late_finisher (void)
{
  Harness *h = harness_new (NULL, NULL);
  const char * const short_retry[] = { "retry-after-ms: 100", NULL };
  g_autofree char *body = g_strdup_printf (BODY, "true");
  g_autofree char *url = test_proxy_url (h->client, "/v1/messages");
  g_autoptr(SoupSession) session = soup_session_new ();
  g_autoptr(SoupMessage) slow = soup_message_new ("POST", url);
  g_autoptr(GBytes) bytes = g_bytes_new (body, strlen (body));
  guint pending = 1;

  us_fake_provider_push (h->primary, &(UsFakeStep) { .behavior = US_FAKE_STATUS, .status = 429,
                                                     .headers = short_retry });
  us_fake_provider_push (h->fallback, &(UsFakeStep) { .behavior = US_FAKE_OK, .delay_ms = 1500 });
  soup_message_set_request_body_from_bytes (slow, "application/json", bytes);
  soup_session_send_and_read_async (session, slow, G_PRIORITY_DEFAULT, NULL, on_batch_reply, &pending);

  /* The slow one is at the fallback; the primary's 100 ms cooldown ends. */
  while (us_fake_provider_get_n_requests (h->fallback) == 0)
    g_main_context_iteration (NULL, TRUE);
  wait_ms (200);
  request (h, "anthropic/claude-opus-4-5");
  while (pending > 0)
    g_main_context_iteration (NULL, TRUE);

  g_assert_cmpstr (soup_message_headers_get_one (soup_message_get_response_headers (slow), "x-understudy-model"),
                   ==, "zai/glm-4.6");
  g_assert_cmpuint (h->n_started, ==, 0);
  g_assert_cmpuint (h->n_ended, ==, 0);
  g_assert_false (us_episodes_get_failing_over (h->episodes));
  /* "serving" follows the newest request, not the last to finish. */
  g_assert_cmpstr (us_episodes_get_serving (h->episodes), ==, "anthropic/claude-opus-4-5");
  harness_free (h);
}

static void
test_key_rejected (void)
{
  Harness *h = harness_new (NULL, "\"auth\": \"key\", \"key_env\": \"US_TEST_EPISODES_KEY\"");

  us_fake_provider_set_required_key (h->primary, "sk-the-right-one");
  for (guint i = 0; i < 4; i++)
    request (h, "zai/glm-4.6");
  request_batch (h, 4);
  g_assert_cmpuint (h->n_key_rejected, ==, 1);
  g_assert_cmpstr (h->rejected, ==, "anthropic");
  /* A rejected key also fails over, without a cooldown. */
  g_assert_cmpuint (h->n_started, ==, 1);
  g_assert_cmpstr (h->reason, ==, "key rejected");
  g_assert_cmpint (h->until, ==, 0);

  /* The key is fixed: the provider serves, and a later rejection is news. */
  us_fake_provider_set_required_key (h->primary, NULL);
  request (h, "anthropic/claude-opus-4-5");
  g_assert_cmpuint (h->n_ended, ==, 1);
  g_assert_cmpuint (h->n_key_rejected, ==, 1);
  us_fake_provider_set_required_key (h->primary, "sk-rotated");
  request (h, "zai/glm-4.6");
  request (h, "zai/glm-4.6");
  g_assert_cmpuint (h->n_key_rejected, ==, 2);
  g_assert_cmpuint (h->n_started, ==, 2);
  harness_free (h);
}

static void
test_reason_server_error (void)
{
  Harness *h = harness_new (NULL, NULL);

  us_fake_provider_set_default (h->primary, &(UsFakeStep) { .behavior = US_FAKE_STATUS, .status = 503 });
  request (h, "zai/glm-4.6");
  request (h, "zai/glm-4.6");
  g_assert_cmpuint (h->n_started, ==, 1);
  g_assert_cmpstr (h->reason, ==, "HTTP 503");
  g_assert_cmpint (h->until, ==, 0);
  harness_free (h);
}

static void
test_reason_refused (void)
{
  g_autoptr(GSocketListener) listener = g_socket_listener_new ();
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *url = NULL;
  Harness *h;

  /* A port that was just free: nobody listens there. */
  g_socket_listener_add_address (listener, any, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL,
                                 &bound, &error);
  g_assert_no_error (error);
  url = g_strdup_printf ("http://127.0.0.1:%u", g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)));
  g_socket_listener_close (listener);

  h = harness_new (url, NULL);
  request (h, "zai/glm-4.6");
  request (h, "zai/glm-4.6");
  g_assert_cmpuint (h->n_started, ==, 1);
  g_assert_cmpstr (h->reason, ==, "connection refused");
  harness_free (h);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_setenv ("US_TEST_EPISODES_KEY", "sk-not-the-right-one", TRUE);

  g_test_add_func ("/episodes/storm", test_storm);
  g_test_add_func ("/episodes/late-finisher", test_late_finisher);
  g_test_add_func ("/episodes/key-rejected", test_key_rejected);
  g_test_add_func ("/episodes/reason/server-error", test_reason_server_error);
  g_test_add_func ("/episodes/reason/refused", test_reason_refused);
  return g_test_run ();
}
