/* test-episodes.c: failover episodes from real requests through the proxy
 * to fake providers: one "started" and one "ended" per episode, however
 * many requests, and one "key-rejected" until the provider serves again. */
#include "test-pair.h"

#define BODY "{\"model\":\"claude-opus-4-5\",\"max_tokens\":64,\"stream\":%s," \
             "\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}"

typedef struct {
  TestPair *pair;
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

static Harness *
harness_new (const char *primary_url,
             const char *primary_auth)
{
  Harness *h = g_new0 (Harness, 1);

  h->pair = test_pair_new (primary_url, primary_auth);
  g_signal_connect (h->pair->episodes, "started", G_CALLBACK (on_started), h);
  g_signal_connect (h->pair->episodes, "ended", G_CALLBACK (on_ended), h);
  g_signal_connect (h->pair->episodes, "key-rejected", G_CALLBACK (on_key_rejected), h);
  g_signal_connect (h->pair->episodes, "notify::failing-over", G_CALLBACK (on_failing_over), h);
  return h;
}

static void
harness_free (Harness *h)
{
  test_pair_free (h->pair);
  g_free (h->failed);
  g_free (h->reason);
  g_free (h->serving_at_start);
  g_free (h->ended);
  g_free (h->rejected);
  g_free (h);
}

static void
test_storm (void)
{
  Harness *h = harness_new (NULL, NULL);
  gint64 before = g_get_real_time () / G_USEC_PER_SEC;

  /* Slow to refuse, so the whole first batch reaches it before any 429. */
  us_fake_provider_set_default (h->pair->primary, &(UsFakeStep) { .behavior = US_FAKE_STATUS, .status = 429,
                                                                  .retry_after = "2", .delay_ms = 300 });
  g_assert_false (us_episodes_get_failing_over (h->pair->episodes));
  g_assert_null (us_episodes_get_serving (h->pair->episodes));

  /* 20 requests while the primary is rate limited: the first five all
   * reach it at once, the rest find it cooling down (or rate limited
   * again when the cooldown ran out meanwhile). */
  test_pair_request_batch (h->pair, 5);
  g_assert_cmpuint (us_fake_provider_get_n_requests (h->pair->primary), ==, 5);
  for (guint i = 0; i < 10; i++)
    test_pair_request (h->pair, "zai/glm-4.6");
  test_pair_request_batch (h->pair, 5);

  g_assert_cmpuint (h->n_started, ==, 1);
  g_assert_cmpuint (h->n_ended, ==, 0);
  g_assert_cmpstr (h->failed, ==, "anthropic/claude-opus-4-5");
  g_assert_cmpstr (h->reason, ==, "rate limited");
  g_assert_cmpstr (h->serving_at_start, ==, "zai/glm-4.6");
  /* retry-after: 2, rounded up to the second. */
  g_assert_cmpint (h->until, >=, before + 2);
  g_assert_cmpint (h->until, <=, before + 4);
  g_assert_true (us_episodes_get_failing_over (h->pair->episodes));
  g_assert_cmpstr (us_episodes_get_serving (h->pair->episodes), ==, "zai/glm-4.6");
  g_assert_cmpuint (h->n_failing_notify, ==, 1);

  /* The primary is healthy again and, once its cooldown ran out, serves. */
  us_fake_provider_set_default (h->pair->primary, &(UsFakeStep) { .behavior = US_FAKE_OK });
  test_pair_wait_until_cooled (h->pair);
  test_pair_request (h->pair, "anthropic/claude-opus-4-5");
  g_assert_cmpuint (h->n_ended, ==, 1);
  g_assert_cmpstr (h->ended, ==, "anthropic/claude-opus-4-5");
  g_assert_false (us_episodes_get_failing_over (h->pair->episodes));
  g_assert_cmpstr (us_episodes_get_serving (h->pair->episodes), ==, "anthropic/claude-opus-4-5");
  g_assert_cmpuint (h->n_failing_notify, ==, 2);

  test_pair_request_batch (h->pair, 4);
  test_pair_request (h->pair, "anthropic/claude-opus-4-5");
  g_assert_cmpuint (h->n_started, ==, 1);
  g_assert_cmpuint (h->n_ended, ==, 1);
  g_assert_cmpuint (h->n_key_rejected, ==, 0);

  /* A new failure is a new episode. */
  us_fake_provider_push_status (h->pair->primary, 529, "60");
  test_pair_request (h->pair, "zai/glm-4.6");
  g_assert_cmpuint (h->n_started, ==, 2);
  g_assert_cmpstr (h->reason, ==, "overloaded");
  harness_free (h);
}

static void
on_slow_reply (GObject      *source,
               GAsyncResult *result,
               gpointer      data)
{
  guint *pending = data;
  g_autoptr(GBytes) bytes = soup_session_send_and_read_finish (SOUP_SESSION (source), result, NULL);

  g_assert_nonnull (bytes);
  (*pending)--;
}

/* A request that began while the primary failed and finishes after the
 * primary served again is old news: no second episode. */
static void
test_late_finisher (void)
{
  Harness *h = harness_new (NULL, NULL);
  const char * const short_retry[] = { "retry-after-ms: 100", NULL };
  g_autofree char *body = g_strdup_printf (BODY, "true");
  g_autofree char *url = test_proxy_url (h->pair->client, "/v1/messages");
  g_autoptr(SoupSession) session = soup_session_new ();
  g_autoptr(SoupMessage) slow = soup_message_new ("POST", url);
  g_autoptr(GBytes) bytes = g_bytes_new (body, strlen (body));
  guint pending = 1;

  us_fake_provider_push (h->pair->primary, &(UsFakeStep) { .behavior = US_FAKE_STATUS, .status = 429,
                                                     .headers = short_retry });
  us_fake_provider_push (h->pair->fallback, &(UsFakeStep) { .behavior = US_FAKE_OK, .delay_ms = 1500 });
  soup_message_set_request_body_from_bytes (slow, "application/json", bytes);
  soup_session_send_and_read_async (session, slow, G_PRIORITY_DEFAULT, NULL, on_slow_reply, &pending);

  /* The slow one is at the fallback; the primary's 100 ms cooldown ends. */
  while (us_fake_provider_get_n_requests (h->pair->fallback) == 0)
    g_main_context_iteration (NULL, TRUE);
  test_spin_ms (200);
  test_pair_request (h->pair, "anthropic/claude-opus-4-5");
  while (pending > 0)
    g_main_context_iteration (NULL, TRUE);

  g_assert_cmpstr (soup_message_headers_get_one (soup_message_get_response_headers (slow), "x-understudy-model"),
                   ==, "zai/glm-4.6");
  g_assert_cmpuint (h->n_started, ==, 0);
  g_assert_cmpuint (h->n_ended, ==, 0);
  g_assert_false (us_episodes_get_failing_over (h->pair->episodes));
  /* "serving" follows the newest request, not the last to finish. */
  g_assert_cmpstr (us_episodes_get_serving (h->pair->episodes), ==, "anthropic/claude-opus-4-5");
  harness_free (h);
}

static void
test_key_rejected (void)
{
  Harness *h = harness_new (NULL, "\"auth\": \"key\", \"key_env\": \"US_TEST_EPISODES_KEY\"");

  us_fake_provider_set_required_key (h->pair->primary, "sk-the-right-one");
  for (guint i = 0; i < 4; i++)
    test_pair_request (h->pair, "zai/glm-4.6");
  test_pair_request_batch (h->pair, 4);
  g_assert_cmpuint (h->n_key_rejected, ==, 1);
  g_assert_cmpstr (h->rejected, ==, "anthropic");
  /* A rejected key also fails over, without a cooldown. */
  g_assert_cmpuint (h->n_started, ==, 1);
  g_assert_cmpstr (h->reason, ==, "key rejected");
  g_assert_cmpint (h->until, ==, 0);

  /* The key is fixed: the provider serves, and a later rejection is news. */
  us_fake_provider_set_required_key (h->pair->primary, NULL);
  test_pair_request (h->pair, "anthropic/claude-opus-4-5");
  g_assert_cmpuint (h->n_ended, ==, 1);
  g_assert_cmpuint (h->n_key_rejected, ==, 1);
  us_fake_provider_set_required_key (h->pair->primary, "sk-rotated");
  test_pair_request (h->pair, "zai/glm-4.6");
  test_pair_request (h->pair, "zai/glm-4.6");
  g_assert_cmpuint (h->n_key_rejected, ==, 2);
  g_assert_cmpuint (h->n_started, ==, 2);
  harness_free (h);
}

/* Switched away before the plan's limit: the next request skips the
 * primary, and the episode says why and until when from health. */
static void
test_reason_quota (void)
{
  Harness *h = harness_new (NULL, NULL);
  gint64 reset = g_get_real_time () / G_USEC_PER_SEC + 120;
  g_autofree char *epoch = g_strdup_printf ("%" G_GINT64_FORMAT, reset);
  g_autofree char *reset_header = g_strconcat ("anthropic-ratelimit-unified-5h-reset: ", epoch, NULL);
  const char * const headers[] = { "anthropic-ratelimit-unified-5h-utilization: 0.97", reset_header, NULL };

  us_fake_provider_push (h->pair->primary, &(UsFakeStep) { .behavior = US_FAKE_OK, .headers = headers });
  test_pair_request (h->pair, "anthropic/claude-opus-4-5");
  g_assert_cmpuint (h->n_started, ==, 0);
  test_pair_request (h->pair, "zai/glm-4.6");
  test_pair_request (h->pair, "zai/glm-4.6");
  g_assert_cmpuint (us_fake_provider_get_n_requests (h->pair->primary), ==, 1);
  g_assert_cmpuint (h->n_started, ==, 1);
  g_assert_cmpstr (h->reason, ==, "quota threshold reached");
  g_assert_cmpint (h->until, >=, reset);
  g_assert_cmpint (h->until, <=, reset + 1);
  harness_free (h);
}

/* A request too long for the primary is that request's trait, not a
 * failing model: no episode, and the primary keeps serving the rest. */
static void
test_context_overflow_no_episode (void)
{
  Harness *h = harness_new (NULL, NULL);

  us_fake_provider_push (h->pair->primary, &(UsFakeStep) { .behavior = US_FAKE_STATUS, .status = 400,
                                                           .error_message = "prompt is too long: 210000 tokens > 200000 maximum" });
  test_pair_request (h->pair, "zai/glm-4.6");
  g_assert_cmpuint (h->n_started, ==, 0);
  g_assert_false (us_episodes_get_failing_over (h->pair->episodes));
  test_pair_request (h->pair, "anthropic/claude-opus-4-5");
  g_assert_cmpuint (h->n_ended, ==, 0);
  harness_free (h);
}

static void
test_reason_server_error (void)
{
  Harness *h = harness_new (NULL, NULL);

  us_fake_provider_set_default (h->pair->primary, &(UsFakeStep) { .behavior = US_FAKE_STATUS, .status = 503 });
  test_pair_request (h->pair, "zai/glm-4.6");
  test_pair_request (h->pair, "zai/glm-4.6");
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
  test_pair_request (h->pair, "zai/glm-4.6");
  test_pair_request (h->pair, "zai/glm-4.6");
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
  g_test_add_func ("/episodes/reason/quota", test_reason_quota);
  g_test_add_func ("/episodes/reason/server-error", test_reason_server_error);
  g_test_add_func ("/episodes/context-overflow", test_context_overflow_no_episode);
  g_test_add_func ("/episodes/reason/refused", test_reason_refused);
  return g_test_run ();
}
