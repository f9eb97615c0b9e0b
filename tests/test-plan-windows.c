/* test-plan-windows.c: a subscription's plan windows as the failover signal.
 *
 * The primary (anthropic/claude-opus-4-5, the client's own login) answers
 * with anthropic-ratelimit-unified-* headers as Claude subscriptions do;
 * the fallback (zai/glm-4.6) stands in. The switch must come before any
 * 429, the primary must come back by itself at the window's reset, and a
 * 429 naming a spent window must wait for that window, not cooldown_s.
 */
#include "test-pair.h"

static JsonObject *
chain_model (JsonNode   *status,
             const char *provider)
{
  JsonArray *chains = json_object_get_array_member (json_node_get_object (status), "chains");
  JsonArray *models = json_object_get_array_member (json_array_get_object_element (chains, 0), "models");

  for (guint i = 0; i < json_array_get_length (models); i++)
    {
      JsonObject *m = json_array_get_object_element (models, i);

      if (g_str_equal (json_object_get_string_member (m, "provider"), provider))
        return m;
    }
  g_assert_not_reached ();
}

static JsonNode *
get_status (TestPair *pair)
{
  g_autoptr(TestReply) reply = test_get (pair->client, "/understudy/status", NULL);
  g_autoptr(GError) error = NULL;
  JsonNode *node;

  g_assert_cmpuint (reply->status, ==, 200);
  node = json_from_string (reply->body, &error);
  g_assert_no_error (error);
  return node;
}

static void
push_utilization (TestPair   *pair,
                  const char *utilization,
                  gint64      reset)
{
  g_autofree char *util = g_strconcat ("anthropic-ratelimit-unified-5h-utilization: ", utilization, NULL);
  g_autofree char *reset_header = g_strdup_printf ("anthropic-ratelimit-unified-5h-reset: %" G_GINT64_FORMAT, reset);
  const char * const headers[] = {
    "anthropic-ratelimit-unified-status: allowed", util, reset_header,
    "anthropic-ratelimit-unified-7d-utilization: 0.41", "anthropic-ratelimit-unified-7d-reset: 1999999999",
    "anthropic-ratelimit-unified-representative-claim: five_hour", NULL };

  /* The fake copies the headers when the step is pushed. */
  us_fake_provider_push (pair->primary, &(UsFakeStep) { .behavior = US_FAKE_OK, .headers = headers });
}

/* Rising 5-hour use: served up to the threshold (0.95), then the next
 * model, with no 429 ever sent. */
static void
test_threshold (void)
{
  TestPair *pair = test_pair_new (NULL, NULL);
  gint64 reset = g_get_real_time () / G_USEC_PER_SEC + 3600;
  g_autoptr(JsonNode) status = NULL;
  JsonObject *plan, *window;
  JsonArray *windows;
  g_autoptr(GDateTime) resets_at = NULL;

  push_utilization (pair, "0.50", reset);
  push_utilization (pair, "0.80", reset);
  push_utilization (pair, "0.96", reset);
  for (guint i = 0; i < 3; i++)
    test_pair_request (pair, "anthropic/claude-opus-4-5");
  test_pair_request (pair, "zai/glm-4.6");
  test_pair_request (pair, "zai/glm-4.6");
  g_assert_cmpuint (us_fake_provider_get_n_requests (pair->primary), ==, 3);
  g_assert_true (us_episodes_get_failing_over (pair->episodes));

  /* The status API shows the window's use and its reset. */
  status = get_status (pair);
  plan = json_object_get_object_member (chain_model (status, "anthropic"), "plan");
  g_assert_nonnull (plan);
  g_assert_cmpstr (json_object_get_string_member (plan, "status"), ==, "allowed");
  g_assert_cmpstr (json_object_get_string_member (plan, "representative_claim"), ==, "five_hour");
  windows = json_object_get_array_member (plan, "windows");
  g_assert_cmpuint (json_array_get_length (windows), ==, 2);
  window = json_array_get_object_element (windows, 0);
  g_assert_cmpstr (json_object_get_string_member (window, "name"), ==, "5h");
  g_assert_cmpfloat (json_object_get_double_member (window, "utilization"), ==, 0.96);
  resets_at = g_date_time_new_from_iso8601 (json_object_get_string_member (window, "resets_at"), NULL);
  g_assert_nonnull (resets_at);
  g_assert_cmpint (g_date_time_to_unix (resets_at), >=, reset - 1);
  g_assert_cmpint (g_date_time_to_unix (resets_at), <=, reset);
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (chain_model (status, "anthropic"),
                                                                                 "health"), "state"),
                   ==, "cooldown");
  /* The fallback reported no plan. */
  g_assert_false (json_object_has_member (chain_model (status, "zai"), "plan"));
  test_pair_free (pair);
}

/* The window resets: the primary serves again by itself, and the episode
 * (one notification) is over. */
static void
test_reset (void)
{
  TestPair *pair = test_pair_new (NULL, NULL);
  gint64 reset = g_get_real_time () / G_USEC_PER_SEC + 2;
  g_autoptr(JsonNode) status = NULL;
  JsonObject *plan;
  JsonArray *windows;

  push_utilization (pair, "0.97", reset);
  test_pair_request (pair, "anthropic/claude-opus-4-5");
  /* Unless this machine took the whole window to answer. */
  if (g_get_real_time () / G_USEC_PER_SEC < reset - 1)
    {
      g_assert_true (us_health_is_cooling (us_proxy_get_health (pair->proxy), "anthropic", "claude-opus-4-5"));
      test_pair_request (pair, "zai/glm-4.6");
      g_assert_true (us_episodes_get_failing_over (pair->episodes));
    }
  test_pair_wait_until_cooled (pair);
  g_assert_cmpint (g_get_real_time () / G_USEC_PER_SEC, >=, reset - 1);
  test_pair_request (pair, "anthropic/claude-opus-4-5");
  g_assert_false (us_episodes_get_failing_over (pair->episodes));
  /* A window past its reset is not shown as spent. */
  status = get_status (pair);
  plan = json_object_get_object_member (chain_model (status, "anthropic"), "plan");
  windows = json_object_get_array_member (plan, "windows");
  for (guint i = 0; i < json_array_get_length (windows); i++)
    g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (windows, i), "name"), !=, "5h");
  test_pair_free (pair);
}

/* A 429 whose claim names the spent weekly window: cooled down until that
 * window's reset (days), not for retry-after or cooldown_s. */
static void
test_rejected_claim (void)
{
  TestPair *pair = test_pair_new (NULL, NULL);
  gint64 weekly = g_get_real_time () / G_USEC_PER_SEC + 3 * 24 * 3600;
  g_autofree char *reset_header = g_strdup_printf ("anthropic-ratelimit-unified-7d-reset: %" G_GINT64_FORMAT, weekly);
  const char * const headers[] = {
    "retry-after: 20", "anthropic-ratelimit-unified-status: rejected",
    "anthropic-ratelimit-unified-representative-claim: seven_day_opus",
    "anthropic-ratelimit-unified-7d-utilization: 1.0", reset_header,
    "anthropic-ratelimit-unified-5h-utilization: 0.2",
    "anthropic-ratelimit-unified-5h-reset: 1999999999", NULL };
  g_autoptr(JsonNode) status = NULL;
  g_autoptr(GDateTime) until = NULL;
  JsonObject *health;

  us_fake_provider_push (pair->primary, &(UsFakeStep) { .behavior = US_FAKE_STATUS, .status = 429,
                                                        .headers = headers });
  test_pair_request (pair, "zai/glm-4.6");
  status = get_status (pair);
  health = json_object_get_object_member (chain_model (status, "anthropic"), "health");
  g_assert_cmpstr (json_object_get_string_member (health, "state"), ==, "cooldown");
  until = g_date_time_new_from_iso8601 (json_object_get_string_member (health, "cooldown_until"), NULL);
  g_assert_nonnull (until);
  g_assert_cmpint (g_date_time_to_unix (until), >=, weekly - 2);
  g_assert_cmpint (g_date_time_to_unix (until), <=, weekly + 1);
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (chain_model (status, "anthropic"),
                                                                                 "plan"), "status"),
                   ==, "rejected");
  test_pair_free (pair);
}

/* The most asked-for chain: Claude through the client's own subscription
 * login first, then the same model on an API key. When the plan's 5-hour
 * window passes the threshold, the session goes on with the same model on
 * API billing, and only the API key (no subscription token or OAuth beta)
 * is sent. */
static void
test_subscription_then_key (void)
{
  g_autoptr(UsFakeProvider) plan = us_fake_provider_new (US_FAKE_FORMAT_ANTHROPIC);
  g_autoptr(UsFakeProvider) api = us_fake_provider_new (US_FAKE_FORMAT_ANTHROPIC);
  g_autofree char *json = NULL;
  g_autofree char *reset_header = g_strdup_printf ("anthropic-ratelimit-unified-5h-reset: %" G_GINT64_FORMAT,
                                                   g_get_real_time () / G_USEC_PER_SEC + 3600);
  const char * const headers[] = { "anthropic-ratelimit-unified-status: allowed_warning",
                                   "anthropic-ratelimit-unified-5h-utilization: 0.96", reset_header, NULL };
  const char * const client_headers[] = { "authorization", "Bearer sk-ant-oat01-subscription",
                                          "anthropic-beta", "oauth-2025-04-20,claude-code-20250219",
                                          "anthropic-version", "2023-06-01", NULL };
  const char *body = "{\"model\":\"claude-opus-4-5\",\"max_tokens\":64,\"stream\":true,"
                     "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
  g_autoptr(UsProxy) proxy = NULL;
  TestClient *client;
  const UsFakeRequest *seen;

  g_setenv ("US_TEST_API_KEY", TEST_FALLBACK_KEY, TRUE);
  us_fake_provider_set_required_key (plan, "sk-ant-oat01-subscription");
  us_fake_provider_set_required_key (api, TEST_FALLBACK_KEY);
  json = g_strdup_printf (
    "{ \"version\": 1,"
    "  \"listen\": { \"host\": \"127.0.0.1\", \"port\": 0, \"token\": \"" TEST_TOKEN "\" },"
    "  \"providers\": ["
    "    { \"id\": \"claude-plan\", \"kind\": \"anthropic\", \"base_url\": \"%s\", \"auth\": \"passthrough\" },"
    "    { \"id\": \"claude-api\", \"kind\": \"anthropic\", \"base_url\": \"%s\", \"auth\": \"key\","
    "      \"key_env\": \"US_TEST_API_KEY\" } ],"
    "  \"chains\": [ { \"id\": \"default\", \"match\": [\"*\"], \"models\": ["
    "    { \"provider\": \"claude-plan\", \"model\": \"*\" },"
    "    { \"provider\": \"claude-api\", \"model\": \"*\" } ] } ] }",
    us_fake_provider_get_base_url (plan), us_fake_provider_get_base_url (api));
  proxy = test_proxy_new (json);
  client = test_client_new (proxy);

  us_fake_provider_push (plan, &(UsFakeStep) { .behavior = US_FAKE_OK, .headers = headers });
  for (guint i = 0; i < 3; i++)
    {
      g_autoptr(TestReply) reply = test_post (client, "/v1/messages", body, client_headers);

      g_assert_cmpuint (reply->status, ==, 200);
      g_assert_cmpstr (soup_message_headers_get_one (reply->headers, "x-understudy-model"), ==,
                       i == 0 ? "claude-plan/claude-opus-4-5" : "claude-api/claude-opus-4-5");
    }
  g_assert_cmpuint (us_fake_provider_get_n_requests (plan), ==, 1);
  g_assert_cmpuint (us_fake_provider_get_n_requests (api), ==, 2);
  seen = us_fake_provider_get_last_request (api);
  g_assert_cmpstr (us_fake_request_get_model (seen), ==, "claude-opus-4-5");
  g_assert_cmpstr (us_fake_request_get_header (seen, "x-api-key"), ==, TEST_FALLBACK_KEY);
  g_assert_null (us_fake_request_get_header (seen, "authorization"));
  g_assert_cmpstr (us_fake_request_get_header (seen, "anthropic-beta"), ==, "claude-code-20250219");
  test_client_free (client);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/plan-windows/threshold", test_threshold);
  g_test_add_func ("/plan-windows/reset", test_reset);
  g_test_add_func ("/plan-windows/subscription-then-key", test_subscription_then_key);
  g_test_add_func ("/plan-windows/rejected-claim", test_rejected_claim);
  return g_test_run ();
}
