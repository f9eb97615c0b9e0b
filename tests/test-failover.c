/* test-failover.c: the proxy against fake Anthropic providers, one case per
 * failover rule, asserting what the client received and what the status API
 * recorded. */
#include <glib/gstdio.h>
#include <libsoup/soup.h>

#include "us-fake-provider.h"
#include "us-proxy.h"
#include "test-util.h"

#define STREAM_BODY "{\"model\":\"claude-test\",\"max_tokens\":64,\"stream\":true," \
                    "\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}"
#define WHOLE_BODY "{\"model\":\"claude-test\",\"max_tokens\":64," \
                   "\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}"

typedef struct {
  UsFakeProvider *primary;
  UsFakeProvider *fallback;
  UsProxy *proxy;
  TestClient *client;
  char *json;          /* the proxy's config, to start it again */
  char *state_dir;     /* its own XDG_STATE_HOME, or NULL for the shared one */
  char *saved_state;   /* the XDG_STATE_HOME to put back */
} Fixture;

static void
fixture_set_up_full (Fixture    *f,
                     const char *extra_failover,
                     const char *extra_primary)
{
  g_autofree char *json = NULL;

  f->primary = us_fake_provider_new (US_FAKE_FORMAT_ANTHROPIC);
  f->fallback = us_fake_provider_new (US_FAKE_FORMAT_ANTHROPIC);
  us_fake_provider_set_text (f->primary, "primary says hi");
  us_fake_provider_set_text (f->fallback, "fallback says hi");
  json = g_strdup_printf (
    "{ \"version\": 1,"
    "  \"listen\": { \"host\": \"127.0.0.1\", \"port\": 0, \"token\": \"" TEST_TOKEN "\", \"max_body_bytes\": 65536 },"
    "  \"providers\": ["
    "    { \"id\": \"primary\", \"kind\": \"anthropic\", \"base_url\": \"%s\", \"auth\": \"passthrough\" },"
    "    { \"id\": \"fallback\", \"kind\": \"anthropic\", \"base_url\": \"%s\", \"auth\": \"key\", \"key_env\": \"US_TEST_FALLBACK_KEY\" } ],"
    "  \"chains\": [ { \"id\": \"default\", \"match\": [\"*\"], \"models\": ["
    "    { \"provider\": \"primary\", \"model\": \"*\" %s },"
    "    { \"provider\": \"fallback\", \"model\": \"fallback-model\" } ] } ],"
    "  \"failover\": { \"first_byte_timeout_s\": 0.5, \"idle_timeout_s\": 0.5, \"cooldown_s\": 30 %s } }",
    us_fake_provider_get_base_url (f->primary), us_fake_provider_get_base_url (f->fallback),
    extra_primary ? extra_primary : "", extra_failover ? extra_failover : "");
  g_setenv ("US_TEST_FALLBACK_KEY", TEST_FALLBACK_KEY, TRUE);

  f->proxy = test_proxy_new (json);
  f->client = test_client_new (f->proxy);
  f->json = g_steal_pointer (&json);
}

static void
fixture_set_up_with (Fixture    *f,
                     const char *extra_failover)
{
  fixture_set_up_full (f, extra_failover, NULL);
}

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  fixture_set_up_with (f, NULL);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  test_client_free (f->client);
  g_clear_object (&f->proxy);
  g_clear_object (&f->primary);
  g_clear_object (&f->fallback);
  g_free (f->json);
  if (f->state_dir != NULL)
    {
      g_autofree char *dir = g_build_filename (f->state_dir, "understudy", NULL);
      g_autofree char *spend = g_build_filename (dir, "spend.json", NULL);
      g_autofree char *provenance = g_build_filename (dir, "provenance.json", NULL);

      g_remove (spend);
      g_remove (provenance);
      g_rmdir (dir);
      g_rmdir (f->state_dir);
      g_free (f->state_dir);
      if (f->saved_state != NULL)
        g_setenv ("XDG_STATE_HOME", f->saved_state, TRUE);
      else
        g_unsetenv ("XDG_STATE_HOME");
      g_free (f->saved_state);
    }
}

/* The request's single entry in the status API (the newest). */
static JsonObject *
last_request (Fixture   *f,
              JsonNode **holder)
{
  JsonArray *requests;

  *holder = us_proxy_status_to_json (f->proxy);
  requests = json_object_get_array_member (json_node_get_object (*holder), "requests");
  g_assert_cmpuint (json_array_get_length (requests), >, 0);
  return json_array_get_object_element (requests, 0);
}

/* Asserts the attempts as "provider:status:reason-prefix" strings. */
static void
assert_attempts (Fixture            *f,
                 const char * const *expected)
{
  g_autoptr(JsonNode) holder = NULL;
  JsonObject *request = last_request (f, &holder);
  JsonArray *attempts = json_object_get_array_member (request, "attempts");

  g_assert_cmpuint (json_array_get_length (attempts), ==, g_strv_length ((char **) expected));
  for (guint i = 0; expected[i]; i++)
    {
      JsonObject *a = json_array_get_object_element (attempts, i);
      const char *reason = json_object_get_string_member_with_default (a, "reason", NULL);
      g_autofree char *got = g_strdup_printf ("%s:%" G_GINT64_FORMAT ":%s",
                                              json_object_get_string_member (a, "provider"),
                                              json_object_get_int_member (a, "status"),
                                              reason ? reason : "served");

      if (!g_str_has_prefix (got, expected[i]))
        g_error ("attempt %u: expected \"%s…\", got \"%s\"", i, expected[i], got);
    }
}

static void
assert_served_by (Fixture    *f,
                  TestReply  *reply,
                  const char *served,
                  const char *attempts)
{
  g_autoptr(JsonNode) holder = NULL;
  JsonObject *request = last_request (f, &holder);

  g_assert_cmpstr (soup_message_headers_get_one (reply->headers, "x-understudy-model"), ==, served);
  g_assert_cmpstr (soup_message_headers_get_one (reply->headers, "x-understudy-attempts"), ==, attempts);
  g_assert_cmpstr (strchr (served, '/') + 1, ==, json_object_get_string_member (request, "served_model"));
}

/* The proxy's stream must equal the provider's own stream for the request
 * the proxy sent it (the same, with its model), byte for byte — ids aside,
 * which the fake makes up per response. */
static void
assert_same_as_direct (UsFakeProvider *fake,
                       TestReply      *reply,
                       const char     *model)
{
  g_autoptr(GString) body = g_string_new (STREAM_BODY);
  g_autoptr(TestReply) direct = NULL;
  g_autofree char *a = test_normalize_ids (reply->body);
  g_autofree char *b = NULL;

  g_string_replace (body, "claude-test", model, 1);
  direct = test_post_direct (fake, "/v1/messages", body->str);
  b = test_normalize_ids (direct->body);

  g_assert_cmpstr (a, ==, b);
}


static void
test_passthrough_stream (Fixture       *f,
                         gconstpointer  data)
{
  const char * const headers[] = { "x-api-key", "sk-client-key", "anthropic-beta", "oauth-2025-04-20,x-future",
                                   "anthropic-version", "2023-06-01", NULL };
  g_autoptr(TestReply) reply = test_post (f->client, "/v1/messages?beta=true", STREAM_BODY, headers);
  const UsFakeRequest *seen = us_fake_provider_get_last_request (f->primary);
  g_autofree char *text = test_stream_text (reply->body);

  g_assert_cmpuint (reply->status, ==, 200);
  g_assert_cmpstr (text, ==, "primary says hi");
  assert_served_by (f, reply, "primary/claude-test", "1");
  assert_attempts (f, (const char * const[]) { "primary:200:served", NULL });

  /* Pass-through: the client's auth, betas, query and bytes go along unchanged. */
  g_assert_nonnull (seen);
  g_assert_cmpstr (seen->path, ==, "/v1/messages?beta=true");
  g_assert_cmpstr (us_fake_request_get_header (seen, "x-api-key"), ==, "sk-client-key");
  g_assert_cmpstr (us_fake_request_get_header (seen, "anthropic-beta"), ==, "oauth-2025-04-20,x-future");
  g_assert_cmpmem (g_bytes_get_data (seen->body, NULL), g_bytes_get_size (seen->body),
                   STREAM_BODY, strlen (STREAM_BODY));

  assert_same_as_direct (f->primary, reply, "claude-test");
}

static void
test_passthrough_whole (Fixture       *f,
                        gconstpointer  data)
{
  g_autoptr(TestReply) reply = test_post (f->client, "/v1/messages", WHOLE_BODY, NULL);
  g_autoptr(JsonNode) holder = NULL;
  JsonObject *request;

  g_assert_cmpuint (reply->status, ==, 200);
  g_assert_nonnull (strstr (reply->body, "\"type\":\"message\""));
  /* The provider's own headers reach the client on the same format. */
  g_assert_nonnull (soup_message_headers_get_one (reply->headers, "request-id"));
  g_assert_cmpstr (soup_message_headers_get_one (reply->headers, "content-type"), ==, "application/json");
  g_assert_nonnull (strstr (reply->body, "primary says hi"));
  assert_served_by (f, reply, "primary/claude-test", "1");
  request = last_request (f, &holder);
  g_assert_cmpint (json_object_get_int_member (request, "output_tokens"), >, 0);
  g_assert_cmpint (json_object_get_int_member (request, "input_tokens"), >, 0);
}

/* One primary misbehavior that must end with the fallback serving. */
typedef struct {
  const char *name;
  const char *spec;           /* fake script step */
  guint status;               /* recorded status of the failed attempt */
  const char *reason;         /* prefix of its recorded reason */
  gboolean stream;
} FailoverCase;

static const FailoverCase failover_cases[] = {
  { "429", "429:1", 429, "HTTP 429 rate limited", TRUE },
  { "529", "529", 529, "HTTP 529 overloaded", TRUE },
  { "500", "500", 500, "HTTP 500 server error", TRUE },
  { "503-whole", "503", 503, "HTTP 503 server error", FALSE },
  { "401", "401", 401, "HTTP 401 key rejected", TRUE },
  { "402", "402", 402, "HTTP 402 billing", TRUE },
  { "403", "403", 403, "HTTP 403 key rejected", TRUE },
  { "404", "404", 404, "HTTP 404 model not found", TRUE },
  { "reset-before-first-byte", "reset", 0, "connection failed", TRUE },
  { "first-byte-timeout", "silence", 0, "first-byte timeout", TRUE },
  /* Before content the clock is time to the first content (issue 10). */
  { "silence-before-content", "silence-headers", 200, "first-byte timeout", TRUE },
  { "error-event-before-content", "error-before-content", 200, "stream error before content", TRUE },
};

static void
test_failover_case (Fixture       *f,
                    gconstpointer  data)
{
  const FailoverCase *c = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(TestReply) reply = NULL;
  g_autofree char *first = NULL;
  const char *body = c->stream ? STREAM_BODY : WHOLE_BODY;
  const UsFakeRequest *seen;

  us_fake_provider_push_spec (f->primary, c->spec, &error);
  g_assert_no_error (error);

  reply = test_post (f->client, "/v1/messages", body, NULL);
  g_assert_cmpuint (reply->status, ==, 200);
  assert_served_by (f, reply, "fallback/fallback-model", "2");
  first = g_strdup_printf ("primary:%u:%s", c->status, c->reason);
  assert_attempts (f, (const char * const[]) { first, "fallback:200:served", NULL });

  /* No trace of the primary in what the client got. */
  g_assert_null (strstr (reply->body, "primar"));
  if (c->stream)
    assert_same_as_direct (f->fallback, reply, "fallback-model");

  /* The fallback got the same conversation, its own model name and key. */
  seen = us_fake_provider_get_request (f->fallback, 0);
  g_assert_cmpstr (us_fake_request_get_model (seen), ==, "fallback-model");
  g_assert_cmpstr (us_fake_request_get_header (seen, "x-api-key"), ==, TEST_FALLBACK_KEY);
}

static void
test_reset_after_content (Fixture       *f,
                          gconstpointer  data)
{
  g_autoptr(TestReply) reply = NULL;
  const char *error_event;

  us_fake_provider_push_behavior (f->primary, US_FAKE_RESET_MID_STREAM);
  reply = test_post (f->client, "/v1/messages", STREAM_BODY, NULL);

  /* Committed to the primary: the client gets its content, then a proper
   * Anthropic error event, and the fallback is never asked. */
  g_assert_cmpuint (reply->status, ==, 200);
  g_assert_cmpuint (us_fake_provider_get_n_requests (f->fallback), ==, 0);
  g_assert_nonnull (strstr (reply->body, "event: content_block_delta"));
  error_event = strstr (reply->body, "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\"");
  g_assert_nonnull (error_event);
  g_assert_true (g_str_has_suffix (reply->body, "\n\n"));
  assert_attempts (f, (const char * const[]) { "primary:200:served", NULL });
}

static void
assert_same_ignoring_ids (const char *got,
                          const char *expected)
{
  g_autofree char *a = test_normalize_ids (got);
  g_autofree char *b = test_normalize_ids (expected);

  g_assert_cmpstr (a, ==, b);
}

/* A stream that arrives in one piece is taken as it is (many events in
 * one read): the client still gets it all, byte for byte; and a reset
 * that comes in the same piece as the content still ends in an error
 * event, once. */
static void
test_stream_in_one_piece (Fixture       *f,
                          gconstpointer  data)
{
  g_autoptr(TestReply) reply = NULL;
  g_autoptr(TestReply) direct = NULL;
  g_autoptr(TestReply) broken = NULL;
  const char *error_event;

  us_fake_provider_set_chunking (f->primary, US_FAKE_CHUNKS_WHOLE, 0);
  reply = test_post (f->client, "/v1/messages", STREAM_BODY, NULL);
  direct = test_post_direct (f->primary, "/v1/messages", STREAM_BODY);
  g_assert_cmpuint (reply->status, ==, 200);
  assert_same_ignoring_ids (reply->body, direct->body);
  g_assert_true (g_str_has_suffix (reply->body, "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"));

  us_fake_provider_set_reset_style (f->primary, US_FAKE_RESET_FIN);
  us_fake_provider_push_behavior (f->primary, US_FAKE_RESET_MID_STREAM);
  broken = test_post (f->client, "/v1/messages", STREAM_BODY, NULL);
  g_assert_cmpuint (broken->status, ==, 200);
  g_assert_nonnull (strstr (broken->body, "event: content_block_delta"));
  error_event = strstr (broken->body, "event: error\n");
  g_assert_nonnull (error_event);
  g_assert_null (strstr (error_event + 1, "event: error\n"));
  g_assert_true (g_str_has_suffix (broken->body, "\n\n"));
  g_assert_cmpuint (us_fake_provider_get_n_requests (f->fallback), ==, 0);
}

static void
test_bad_request_first_model (Fixture       *f,
                              gconstpointer  data)
{
  g_autoptr(TestReply) reply = NULL;
  g_autoptr(TestReply) direct = NULL;

  us_fake_provider_push_status (f->primary, 400, NULL);
  reply = test_post (f->client, "/v1/messages", STREAM_BODY, NULL);

  /* A bad request is bad everywhere: unchanged, and no fallback asked. */
  us_fake_provider_push_status (f->primary, 400, NULL);
  direct = test_post_direct (f->primary, "/v1/messages", STREAM_BODY);
  g_assert_cmpuint (reply->status, ==, 400);
  assert_same_ignoring_ids (reply->body, direct->body);
  g_assert_cmpuint (us_fake_provider_get_n_requests (f->fallback), ==, 0);
  assert_attempts (f, (const char * const[]) { "primary:400:request rejected", NULL });
}

static void
test_bad_request_later_model (Fixture       *f,
                              gconstpointer  data)
{
  g_autoptr(TestReply) reply = NULL;
  g_autoptr(TestReply) direct = NULL;

  /* After an earlier failure a 400 means "this model can't take it"; with
   * the chain exhausted the client gets the first model's error. */
  us_fake_provider_push_status (f->primary, 500, NULL);
  us_fake_provider_push_status (f->fallback, 400, NULL);
  reply = test_post (f->client, "/v1/messages", STREAM_BODY, NULL);

  us_fake_provider_push_status (f->primary, 500, NULL);
  direct = test_post_direct (f->primary, "/v1/messages", STREAM_BODY);
  g_assert_cmpuint (reply->status, ==, 500);
  assert_same_ignoring_ids (reply->body, direct->body);
  assert_attempts (f, (const char * const[]) { "primary:500:HTTP 500", "fallback:400:HTTP 400", NULL });
}

static void
test_all_fail (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(TestReply) reply = NULL;

  us_fake_provider_push_behavior (f->primary, US_FAKE_RESET_BEFORE_FIRST_BYTE);
  us_fake_provider_push_behavior (f->fallback, US_FAKE_SILENCE_BEFORE_HEADERS);
  reply = test_post (f->client, "/v1/messages", STREAM_BODY, NULL);

  /* No HTTP error to hand on: Understudy's own, in Anthropic's envelope. */
  g_assert_cmpuint (reply->status, ==, 502);
  g_assert_true (g_str_has_prefix (reply->body, "{\"type\":\"error\",\"error\":{\"type\":\"api_error\""));
  assert_attempts (f, (const char * const[]) { "primary:0:connection failed", "fallback:0:first-byte timeout", NULL });
}

static void
test_connection_refused (Fixture       *f,
                         gconstpointer  data)
{
  g_autoptr(TestReply) reply = NULL;

  /* The primary's port closes: connection refused. */
  g_clear_object (&f->primary);
  reply = test_post (f->client, "/v1/messages", STREAM_BODY, NULL);
  g_assert_cmpuint (reply->status, ==, 200);
  assert_served_by (f, reply, "fallback/fallback-model", "2");
  assert_attempts (f, (const char * const[]) { "primary:0:connection failed", "fallback:200:served", NULL });
}

static gboolean
quit_loop (gpointer data)
{
  g_main_loop_quit (data);
  return G_SOURCE_REMOVE;
}

static void
count_recovered (UsHealth   *health,
                 const char *provider,
                 const char *model,
                 guint      *count)
{
  g_assert_cmpstr (provider, ==, "primary");
  (*count)++;
}

static void
test_cooldown_and_recovery (Fixture       *f,
                            gconstpointer  data)
{
  guint recovered = 0;
  g_autoptr(TestReply) first = NULL;
  g_autoptr(TestReply) second = NULL;
  g_autoptr(TestReply) third = NULL;
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);

  g_signal_connect (us_proxy_get_health (f->proxy), "recovered", G_CALLBACK (count_recovered), &recovered);
  us_fake_provider_push_status (f->primary, 429, "1");
  first = test_post (f->client, "/v1/messages", STREAM_BODY, NULL);
  assert_served_by (f, first, "fallback/fallback-model", "2");

  /* Cooling down: skipped without a request. */
  second = test_post (f->client, "/v1/messages", STREAM_BODY, NULL);
  assert_served_by (f, second, "fallback/fallback-model", "1");
  assert_attempts (f, (const char * const[]) { "primary:0:cooling down", "fallback:200:served", NULL });
  g_assert_cmpuint (us_fake_provider_get_n_requests (f->primary), ==, 1);

  g_timeout_add (1200, quit_loop, loop);
  g_main_loop_run (loop);

  third = test_post (f->client, "/v1/messages", STREAM_BODY, NULL);
  assert_served_by (f, third, "primary/claude-test", "1");
  /* The episode's end is told once. */
  g_assert_cmpuint (recovered, ==, 1);
}

/* An overloaded_error event before any content is a 529 in a stream's
 * clothes: the model cools down as for a 529. */
static void
test_stream_overloaded_cools_down (Fixture       *f,
                                   gconstpointer  data)
{
  g_autoptr(TestReply) first = NULL;
  g_autoptr(TestReply) second = NULL;

  us_fake_provider_push (f->primary, &(UsFakeStep) { .behavior = US_FAKE_STREAM_ERROR_BEFORE_CONTENT,
                                                      .error_type = "overloaded_error" });
  first = test_post (f->client, "/v1/messages", STREAM_BODY, NULL);
  assert_served_by (f, first, "fallback/fallback-model", "2");
  second = test_post (f->client, "/v1/messages", STREAM_BODY, NULL);
  assert_served_by (f, second, "fallback/fallback-model", "1");
  assert_attempts (f, (const char * const[]) { "primary:0:cooling down", "fallback:200:served", NULL });
  g_assert_cmpuint (us_fake_provider_get_n_requests (f->primary), ==, 1);
}

/* The provider drops a kept-alive connection just as it is reused: the
 * request failed before any byte, so it is sent once more, to the same
 * model, on a new connection, and nothing fails over. */
static void
test_stale_connection_retried (Fixture       *f,
                               gconstpointer  data)
{
  g_autoptr(TestReply) first = NULL;
  g_autoptr(TestReply) second = NULL;

  first = test_post (f->client, "/v1/messages", STREAM_BODY, NULL);
  assert_served_by (f, first, "primary/claude-test", "1");
  /* On the connection the first answer left open: read, close, nothing sent. */
  us_fake_provider_push_behavior (f->primary, US_FAKE_RESET_BEFORE_FIRST_BYTE);
  second = test_post (f->client, "/v1/messages", STREAM_BODY, NULL);
  assert_served_by (f, second, "primary/claude-test", "1");
  assert_attempts (f, (const char * const[]) { "primary:200:served", NULL });
  g_assert_cmpuint (us_fake_provider_get_n_requests (f->primary), ==, 3);
  g_assert_cmpuint (us_fake_provider_get_n_requests (f->fallback), ==, 0);
}

/* "retry-after: 0": retry now, so the next request asks the primary again. */
static void
test_retry_after_zero (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(TestReply) first = NULL;
  g_autoptr(TestReply) second = NULL;

  us_fake_provider_push_status (f->primary, 429, "0");
  first = test_post (f->client, "/v1/messages", STREAM_BODY, NULL);
  assert_served_by (f, first, "fallback/fallback-model", "2");
  second = test_post (f->client, "/v1/messages", STREAM_BODY, NULL);
  assert_served_by (f, second, "primary/claude-test", "1");
}

static void
test_quota_threshold (Fixture       *f,
                      gconstpointer  data)
{
  const char * const nearly_spent[] = {
    "anthropic-ratelimit-tokens-limit: 100000", "anthropic-ratelimit-tokens-remaining: 1000",
    "anthropic-ratelimit-tokens-reset: 2099-01-01T00:00:00Z", NULL };
  g_autoptr(TestReply) first = NULL;
  g_autoptr(TestReply) second = NULL;

  /* 99 % of the window used, past the 95 % threshold: this answer is
   * served, and the next request goes to the fallback before a 429. */
  us_fake_provider_push (f->primary, &(UsFakeStep) { .behavior = US_FAKE_OK, .headers = nearly_spent });
  first = test_post (f->client, "/v1/messages", STREAM_BODY, NULL);
  assert_served_by (f, first, "primary/claude-test", "1");
  second = test_post (f->client, "/v1/messages", STREAM_BODY, NULL);
  assert_served_by (f, second, "fallback/fallback-model", "1");
  assert_attempts (f, (const char * const[]) { "primary:0:plan window spent until", "fallback:200:served", NULL });
}

static void
test_routing_off (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(TestReply) reply = NULL;

  us_proxy_set_routing (f->proxy, FALSE);
  us_fake_provider_push_status (f->primary, 529, NULL);
  reply = test_post (f->client, "/v1/messages", STREAM_BODY, NULL);

  /* Straight to the primary, no failover. */
  g_assert_cmpuint (reply->status, ==, 529);
  g_assert_cmpuint (us_fake_provider_get_n_requests (f->fallback), ==, 0);
}

static void
on_raw_read (GObject      *source,
             GAsyncResult *result,
             gpointer      data)
{
  GBytes **out = data;

  *out = g_input_stream_read_bytes_finish (G_INPUT_STREAM (source), result, NULL);
}

static void
test_client_leaves_mid_stream (Fixture       *f,
                               gconstpointer  data)
{
  g_autoptr(GSocketClient) socket_client = g_socket_client_new ();
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(GString) received = g_string_new (NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *request = g_strdup_printf ("POST /t/" TEST_TOKEN "/v1/messages HTTP/1.1\r\n"
                                              "Host: 127.0.0.1\r\nContent-Type: application/json\r\n"
                                              "Content-Length: %zu\r\n\r\n%s", strlen (STREAM_BODY), STREAM_BODY);
  g_autoptr(JsonNode) holder = NULL;
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  JsonObject *entry;

  /* A slow stream, so the client can leave in the middle of it. */
  us_fake_provider_set_chunking (f->primary, US_FAKE_CHUNKS_PER_EVENT, 200);
  connection = g_socket_client_connect_to_host (socket_client, "127.0.0.1", us_proxy_get_port (f->proxy), NULL, &error);
  g_assert_no_error (error);
  g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (connection)), request, strlen (request),
                             NULL, NULL, &error);
  g_assert_no_error (error);

  while (strstr (received->str, "content_block_delta") == NULL)
    {
      GBytes *bytes = NULL;

      g_input_stream_read_bytes_async (g_io_stream_get_input_stream (G_IO_STREAM (connection)), 4096,
                                       G_PRIORITY_DEFAULT, NULL, on_raw_read, &bytes);
      while (bytes == NULL)
        g_main_context_iteration (NULL, TRUE);
      g_assert_cmpuint (g_bytes_get_size (bytes), >, 0);
      g_string_append_len (received, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
      g_bytes_unref (bytes);
    }
  g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);

  /* The proxy notices, stops the upstream and records why. */
  do
    {
      g_clear_pointer (&holder, json_node_unref);
      g_main_context_iteration (NULL, TRUE);
      entry = last_request (f, &holder);
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
    }
  while (g_strcmp0 (json_object_get_string_member (entry, "state"), "failed") != 0);
  g_assert_cmpint (json_object_get_int_member (entry, "status"), ==, 499);
  assert_attempts (f, (const char * const[]) { "primary:200:served", NULL });
}

static void
test_status_api (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(TestReply) served = NULL;
  g_autoptr(TestReply) status = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  JsonObject *root, *request, *health;
  JsonArray *models;

  us_fake_provider_push_status (f->primary, 429, "30");
  served = test_post (f->client, "/v1/messages", STREAM_BODY, NULL);
  status = test_get (f->client, "/understudy/status", NULL);
  g_assert_cmpuint (status->status, ==, 200);
  json_parser_load_from_data (parser, status->body, -1, &error);
  g_assert_no_error (error);

  root = json_node_get_object (json_parser_get_root (parser));
  g_assert_true (json_object_get_boolean_member (root, "routing"));
  models = json_object_get_array_member (json_array_get_object_element (json_object_get_array_member (root, "chains"), 0),
                                         "models");
  health = json_object_get_object_member (json_array_get_object_element (models, 0), "health");
  g_assert_cmpstr (json_object_get_string_member (health, "state"), ==, "cooldown");
  g_assert_nonnull (json_object_get_string_member (health, "cooldown_until"));

  request = json_array_get_object_element (json_object_get_array_member (root, "requests"), 0);
  g_assert_cmpstr (json_object_get_string_member (request, "client"), ==, "other");
  g_assert_cmpstr (json_object_get_string_member (request, "requested_model"), ==, "claude-test");
  g_assert_cmpstr (json_object_get_string_member (request, "served_model"), ==, "fallback-model");
  g_assert_cmpstr (json_object_get_string_member (request, "state"), ==, "done");
  g_assert_cmpint (json_object_get_int_member (request, "first_byte_ms"), >=, 0);
  g_assert_cmpint (json_object_get_int_member (request, "total_ms"), >=, 0);
  g_assert_cmpint (json_object_get_int_member (request, "output_tokens"), >, 0);
}

static void
test_events_stream (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(TestStream) events = test_stream_open (f->client, "/understudy/events");
  g_autoptr(TestReply) reply = NULL;

  test_stream_wait_for (events, "event: status\n");
  reply = test_post (f->client, "/v1/messages", STREAM_BODY, NULL);
  test_stream_wait_for (events, "\"state\":\"done\"");
  g_assert_nonnull (strstr (test_stream_get_text (events), "event: request\ndata: {\"id\":"));
}

/* @data: the circuit settings under test. */
static void
circuit_set_up (Fixture       *f,
                gconstpointer  data)
{
  fixture_set_up_with (f, data);
}

/* Five in a row open it; a rate over the (default) minimum of 10 never does here. */
/* open_s long enough that a loaded machine (ASan, 2 cores) still asks
 * again within it: the test checks the circuit is open there. */
#define CIRCUIT_IN_ROW ", \"circuit_failures\": 5, \"circuit_open_s\": 2"
/* Half of at least four answers open it; failures in a row never do here. */
#define CIRCUIT_RATE ", \"circuit_failures\": 100, \"circuit_error_rate\": 0.5, \"circuit_min_requests\": 4"

/* The primary's circuit as the status API shows it. */
static char *
primary_circuit (Fixture *f)
{
  g_autoptr(JsonNode) root = us_proxy_status_to_json (f->proxy);
  JsonArray *chains = json_object_get_array_member (json_node_get_object (root), "chains");
  JsonArray *models = json_object_get_array_member (json_array_get_object_element (chains, 0), "models");
  JsonObject *health = json_object_get_object_member (json_array_get_object_element (models, 0), "health");

  return g_strdup (json_object_get_string_member (health, "circuit"));
}

static void
post_served_by (Fixture    *f,
                const char *served,
                const char *attempts)
{
  g_autoptr(TestReply) reply = test_post (f->client, "/v1/messages", STREAM_BODY, NULL);

  g_assert_cmpuint (reply->status, ==, 200);
  assert_served_by (f, reply, served, attempts);
}

static void
test_circuit_failures_in_row (Fixture       *f,
                              gconstpointer  data)
{
  g_autofree char *open = NULL, *reopened = NULL, *healed = NULL;

  /* Five failures in a row (no cooldown: server errors) open it. */
  for (guint i = 0; i < 5; i++)
    {
      us_fake_provider_push_status (f->primary, 500, NULL);
      post_served_by (f, "fallback/fallback-model", "2");
    }
  post_served_by (f, "fallback/fallback-model", "1");
  assert_attempts (f, (const char * const[]) { "primary:0:circuit open", "fallback:200:served", NULL });
  g_assert_cmpuint (us_fake_provider_get_n_requests (f->primary), ==, 5);
  open = primary_circuit (f);
  g_assert_cmpstr (open, ==, "open");

  /* After the interval one probe goes; its failure opens it again. */
  test_spin_ms (2100);
  us_fake_provider_push_status (f->primary, 500, NULL);
  post_served_by (f, "fallback/fallback-model", "2");
  g_assert_cmpuint (us_fake_provider_get_n_requests (f->primary), ==, 6);
  post_served_by (f, "fallback/fallback-model", "1");
  assert_attempts (f, (const char * const[]) { "primary:0:circuit open", "fallback:200:served", NULL });
  reopened = primary_circuit (f);
  g_assert_cmpstr (reopened, ==, "open");

  /* The next probe succeeds: closed, and the primary serves again. */
  test_spin_ms (2100);
  post_served_by (f, "primary/claude-test", "1");
  healed = primary_circuit (f);
  g_assert_cmpstr (healed, ==, "closed");
  post_served_by (f, "primary/claude-test", "1");
  g_assert_cmpuint (us_fake_provider_get_n_requests (f->primary), ==, 8);
}

/* Failures that never come five in a row still open it by their rate. */
static void
test_circuit_error_rate (Fixture       *f,
                         gconstpointer  data)
{
  g_autofree char *circuit = NULL;

  us_fake_provider_push_status (f->primary, 500, NULL);
  post_served_by (f, "fallback/fallback-model", "2");
  post_served_by (f, "primary/claude-test", "1");
  us_fake_provider_push_status (f->primary, 500, NULL);
  post_served_by (f, "fallback/fallback-model", "2");
  circuit = primary_circuit (f);
  g_assert_cmpstr (circuit, ==, "closed");
  /* The fourth answer reaches the minimum: 3 failures of 4. */
  us_fake_provider_push_status (f->primary, 500, NULL);
  post_served_by (f, "fallback/fallback-model", "2");
  post_served_by (f, "fallback/fallback-model", "1");
  assert_attempts (f, (const char * const[]) { "primary:0:circuit open", "fallback:200:served", NULL });
  g_assert_cmpuint (us_fake_provider_get_n_requests (f->primary), ==, 4);
}

/* A bad request says nothing of the model: the probe is given up, and
 * the next request probes instead of finding the circuit stuck. */
static void
test_circuit_probe_released (Fixture       *f,
                             gconstpointer  data)
{
  g_autoptr(TestReply) bad = NULL;

  for (guint i = 0; i < 5; i++)
    {
      us_fake_provider_push_status (f->primary, 500, NULL);
      post_served_by (f, "fallback/fallback-model", "2");
    }
  test_spin_ms (2100);
  us_fake_provider_push_status (f->primary, 400, NULL);
  bad = test_post (f->client, "/v1/messages", STREAM_BODY, NULL);
  g_assert_cmpuint (bad->status, ==, 400);
  post_served_by (f, "primary/claude-test", "1");
}

/* The primary has room for 1000 tokens, the fallback for any request. */
static void
context_set_up (Fixture       *f,
                gconstpointer  data)
{
  fixture_set_up_full (f, NULL, ", \"context_tokens\": 1000");
}

static char *
long_body (guint chars,
           guint max_tokens)
{
  g_autofree char *text = g_strnfill (chars, 'a');

  return g_strdup_printf ("{\"model\":\"claude-test\",\"max_tokens\":%u,\"stream\":true,"
                          "\"messages\":[{\"role\":\"user\",\"content\":\"%s\"}]}", max_tokens, text);
}

static void
test_context_window_skip (Fixture       *f,
                          gconstpointer  data)
{
  g_autofree char *fits = long_body (2000, 64);
  g_autofree char *input_too_long = long_body (8000, 64);
  g_autofree char *output_too_long = long_body (2000, 900);
  g_autoptr(TestReply) a = NULL, b = NULL, c = NULL;

  a = test_post (f->client, "/v1/messages", fits, NULL);
  assert_served_by (f, a, "primary/claude-test", "1");

  b = test_post (f->client, "/v1/messages", input_too_long, NULL);
  assert_served_by (f, b, "fallback/fallback-model", "1");
  assert_attempts (f, (const char * const[]) { "primary:0:over its context window: ~20", "fallback:200:served", NULL });

  /* The output it may get counts too: ~500 in + 900 out > 1000. */
  c = test_post (f->client, "/v1/messages", output_too_long, NULL);
  assert_served_by (f, c, "fallback/fallback-model", "1");
  assert_attempts (f, (const char * const[]) { "primary:0:over its context window: ~1", "fallback:200:served", NULL });
  g_assert_cmpuint (us_fake_provider_get_n_requests (f->primary), ==, 1);
}

/* A context-length error is the model's limit, not a bad request: the
 * chain goes on even from the first model, and the model is not marked. */
static void
test_context_error_first_model (Fixture       *f,
                                gconstpointer  data)
{
  g_autoptr(TestReply) reply = NULL;
  g_autoptr(JsonNode) root = NULL;
  JsonObject *health;

  us_fake_provider_push (f->primary, &(UsFakeStep) { .behavior = US_FAKE_STATUS, .status = 400,
                                                     .error_message = "prompt is too long: 210000 tokens > 200000 maximum" });
  reply = test_post (f->client, "/v1/messages", STREAM_BODY, NULL);
  assert_served_by (f, reply, "fallback/fallback-model", "2");
  assert_attempts (f, (const char * const[]) { "primary:400:HTTP 400 over its context window", "fallback:200:served", NULL });

  root = us_proxy_status_to_json (f->proxy);
  health = json_object_get_object_member (
    json_array_get_object_element (json_object_get_array_member (json_array_get_object_element (
      json_object_get_array_member (json_node_get_object (root), "chains"), 0), "models"), 0), "health");
  g_assert_cmpstr (json_object_get_string_member (health, "state"), ==, "ok");
}

#define PRICE ", \"price\": { \"input\": 3, \"output\": 15, \"cache_read\": 0.3, \"cache_write\": 3.75 }"

/* A state directory of its own: spend persists, and must start at zero. */
static void
spend_set_up (Fixture       *f,
              gconstpointer  data)
{
  g_autofree char *primary = g_strconcat (PRICE, data, NULL);

  f->saved_state = g_strdup (g_getenv ("XDG_STATE_HOME"));
  f->state_dir = g_dir_make_tmp ("understudy-spend-XXXXXX", NULL);
  g_setenv ("XDG_STATE_HOME", f->state_dir, TRUE);
  fixture_set_up_full (f, NULL, primary);
}

static JsonObject *
spend_of (JsonObject *status,
          const char *provider)
{
  JsonArray *models = json_object_get_array_member (json_object_get_object_member (status, "spend"), "models");

  for (guint i = 0; i < json_array_get_length (models); i++)
    {
      JsonObject *m = json_array_get_object_element (models, i);

      if (g_str_equal (json_object_get_string_member (m, "provider"), provider))
        return m;
    }
  return NULL;
}

/* The recorded cost is the tokens the provider reported times the price. */
static void
test_cost (Fixture       *f,
           gconstpointer  data)
{
  g_autoptr(TestReply) stream = NULL, whole = NULL;
  g_autoptr(JsonNode) holder = NULL;
  JsonObject *request, *today, *model;
  double total = 0;

  stream = test_post (f->client, "/v1/messages", STREAM_BODY, NULL);
  whole = test_post (f->client, "/v1/messages", WHOLE_BODY, NULL);
  holder = us_proxy_status_to_json (f->proxy);
  for (guint i = 0; i < 2; i++)
    {
      const UsFakeRequest *sent = us_fake_provider_get_request (f->primary, 1 - i);
      gint64 in, out;

      request = json_array_get_object_element (json_object_get_array_member (json_node_get_object (holder), "requests"), i);
      in = json_object_get_int_member (request, "input_tokens");
      out = json_object_get_int_member (request, "output_tokens");
      /* The fake counts a quarter of the body it got as input tokens. */
      g_assert_cmpint (in, ==, (gint64) g_bytes_get_size (sent->body) / 4);
      g_assert_cmpint (out, >, 0);
      g_assert_cmpfloat_with_epsilon (json_object_get_double_member (request, "cost_usd"),
                                      (in * 3.0 + out * 15.0) / 1e6, 1e-12);
      total += json_object_get_double_member (request, "cost_usd");
    }

  today = json_object_get_object_member (json_object_get_object_member (json_node_get_object (holder), "spend"), "today");
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (today, "usd"), total, 1e-12);
  g_assert_cmpint (json_object_get_int_member (today, "requests"), ==, 2);
  model = spend_of (json_node_get_object (holder), "primary");
  g_assert_nonnull (model);
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (model, "today"), "requests"), ==, 2);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (json_object_get_object_member (model, "week"), "usd"),
                                  total, 1e-12);
  /* The fallback has no price: its requests cost nothing known. */
  g_assert_null (spend_of (json_node_get_object (holder), "fallback"));
}

/* A money budget switches models once reached, and still does after a restart. */
static void
test_money_budget (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(TestReply) first = NULL, second = NULL, third = NULL;
  g_autofree char *spend_path = g_build_filename (f->state_dir, "understudy", "spend.json", NULL);

  first = test_post (f->client, "/v1/messages", STREAM_BODY, NULL);
  assert_served_by (f, first, "primary/claude-test", "1");
  second = test_post (f->client, "/v1/messages", STREAM_BODY, NULL);
  assert_served_by (f, second, "fallback/fallback-model", "1");
  assert_attempts (f, (const char * const[]) { "primary:0:over budget: $", "fallback:200:served", NULL });

  /* Written off the main loop a moment later. */
  for (guint i = 0; i < 50 && !g_file_test (spend_path, G_FILE_TEST_EXISTS); i++)
    test_spin_ms (100);
  g_assert_true (g_file_test (spend_path, G_FILE_TEST_EXISTS));

  test_client_free (f->client);
  g_clear_object (&f->proxy);
  f->proxy = test_proxy_new (f->json);
  f->client = test_client_new (f->proxy);
  third = test_post (f->client, "/v1/messages", STREAM_BODY, NULL);
  assert_served_by (f, third, "fallback/fallback-model", "1");
  assert_attempts (f, (const char * const[]) { "primary:0:over budget: $", "fallback:200:served", NULL });
  g_assert_cmpuint (us_fake_provider_get_n_requests (f->primary), ==, 1);
}

/* Request and token budgets count the same way. */
static void
test_request_budget (Fixture       *f,
                     gconstpointer  data)
{
  for (guint i = 0; i < 2; i++)
    post_served_by (f, "primary/claude-test", "1");
  post_served_by (f, "fallback/fallback-model", "1");
  assert_attempts (f, (const char * const[]) { "primary:0:over budget: 2 of 2 requests a week", "fallback:200:served", NULL });
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_set_up, fn, fixture_tear_down)
  ADD ("/failover/passthrough-stream", test_passthrough_stream);
  ADD ("/failover/passthrough-whole", test_passthrough_whole);
  for (guint i = 0; i < G_N_ELEMENTS (failover_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/failover/primary-%s", failover_cases[i].name);
      g_test_add (path, Fixture, &failover_cases[i], fixture_set_up, test_failover_case, fixture_tear_down);
    }
  ADD ("/failover/reset-after-content", test_reset_after_content);
  ADD ("/failover/bad-request-first-model", test_bad_request_first_model);
  ADD ("/failover/bad-request-later-model", test_bad_request_later_model);
  ADD ("/failover/all-fail", test_all_fail);
  ADD ("/failover/connection-refused", test_connection_refused);
  ADD ("/failover/cooldown-and-recovery", test_cooldown_and_recovery);
  ADD ("/failover/stream-overloaded-cools-down", test_stream_overloaded_cools_down);
  ADD ("/failover/retry-after-zero", test_retry_after_zero);
  ADD ("/failover/stale-connection-retried", test_stale_connection_retried);
  ADD ("/failover/routing-off", test_routing_off);
  ADD ("/failover/quota-threshold", test_quota_threshold);
  ADD ("/failover/client-leaves-mid-stream", test_client_leaves_mid_stream);
  ADD ("/failover/stream-in-one-piece", test_stream_in_one_piece);
  ADD ("/status/api", test_status_api);
  g_test_add ("/failover/context-window-skip", Fixture, NULL, context_set_up, test_context_window_skip, fixture_tear_down);
  g_test_add ("/failover/context-error-first-model", Fixture, NULL, context_set_up, test_context_error_first_model, fixture_tear_down);
  g_test_add ("/spend/cost", Fixture, "", spend_set_up, test_cost, fixture_tear_down);
  g_test_add ("/spend/money-budget", Fixture, ", \"budget\": { \"usd\": 0.000001, \"per\": \"day\" }",
              spend_set_up, test_money_budget, fixture_tear_down);
  g_test_add ("/spend/request-budget", Fixture, ", \"budget\": { \"requests\": 2, \"per\": \"week\" }",
              spend_set_up, test_request_budget, fixture_tear_down);
  g_test_add ("/failover/circuit-failures-in-row", Fixture, CIRCUIT_IN_ROW, circuit_set_up, test_circuit_failures_in_row, fixture_tear_down);
  g_test_add ("/failover/circuit-error-rate", Fixture, CIRCUIT_RATE, circuit_set_up, test_circuit_error_rate, fixture_tear_down);
  g_test_add ("/failover/circuit-probe-released", Fixture, CIRCUIT_IN_ROW, circuit_set_up, test_circuit_probe_released, fixture_tear_down);
  ADD ("/status/events", test_events_stream);
#undef ADD

  return g_test_run ();
}
