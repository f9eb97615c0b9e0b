/* test-keypool.c: a provider with several keys (key_env as an array)
 * behind the proxy, against fake OpenAI-style providers that check the key
 * as the real service does (401 for a key they do not know) and rate-limit
 * or refuse to bill one key and not the other.
 */
#include <libsoup/soup.h>

#include "us-fake-provider.h"
#include "us-proxy.h"
#include "test-util.h"

#define KEY_1 "sk-pool-first-5f0c8e21aa"
#define KEY_2 "sk-pool-second-93b7d4c6bb"
#define KEY_NEXT "sk-next-only-2d41e9f0cc"

#define WHOLE_BODY "{\"model\":\"gpt-test\",\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}"
#define STREAM_BODY "{\"model\":\"gpt-test\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}"

typedef struct {
  UsFakeProvider *pool;   /* takes KEY_1 and KEY_2 */
  UsFakeProvider *next;   /* the next model of the chain; takes KEY_NEXT */
  UsProxy *proxy;
  TestClient *client;
} Fixture;

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  g_autofree char *json = NULL;

  f->pool = us_fake_provider_new (US_FAKE_FORMAT_OPENAI_CHAT);
  f->next = us_fake_provider_new (US_FAKE_FORMAT_OPENAI_CHAT);
  us_fake_provider_set_text (f->pool, "pool says hi");
  us_fake_provider_set_text (f->next, "next says hi");
  us_fake_provider_add_key (f->next, KEY_NEXT, NULL);
  json = g_strdup_printf (
    "{ \"version\": 1,"
    "  \"listen\": { \"host\": \"127.0.0.1\", \"port\": 0, \"token\": \"" TEST_TOKEN "\" },"
    "  \"providers\": ["
    "    { \"id\": \"pool\", \"kind\": \"openai-chat\", \"base_url\": \"%s/v1\", \"auth\": \"key\","
    "      \"key_env\": [\"US_TEST_POOL_KEY_1\", \"US_TEST_POOL_KEY_2\"] },"
    "    { \"id\": \"next\", \"kind\": \"openai-chat\", \"base_url\": \"%s/v1\", \"auth\": \"key\","
    "      \"key_env\": \"US_TEST_NEXT_KEY\" } ],"
    "  \"chains\": [ { \"id\": \"default\", \"match\": [\"*\"], \"models\": ["
    "    { \"provider\": \"pool\", \"model\": \"pool-model\" },"
    "    { \"provider\": \"next\", \"model\": \"next-model\" } ] } ],"
    "  \"failover\": { \"first_byte_timeout_s\": 2, \"idle_timeout_s\": 2, \"cooldown_s\": 30 } }",
    us_fake_provider_get_base_url (f->pool), us_fake_provider_get_base_url (f->next));
  g_setenv ("US_TEST_POOL_KEY_1", KEY_1, TRUE);
  g_setenv ("US_TEST_POOL_KEY_2", KEY_2, TRUE);
  g_setenv ("US_TEST_NEXT_KEY", KEY_NEXT, TRUE);

  f->proxy = test_proxy_new (json);
  f->client = test_client_new (f->proxy);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  test_client_free (f->client);
  g_clear_object (&f->proxy);
  g_clear_object (&f->pool);
  g_clear_object (&f->next);
}

static TestReply *
ask (Fixture    *f,
     const char *body)
{
  return test_post (f->client, "/v1/chat/completions", body, NULL);
}

/* The Bearer token request @index of @fake carried. */
static const char *
bearer (UsFakeProvider *fake,
        guint           index)
{
  const char *auth = us_fake_request_get_header (us_fake_provider_get_request (fake, index), "authorization");

  g_assert_nonnull (auth);
  g_assert_true (g_str_has_prefix (auth, "Bearer "));
  return auth + strlen ("Bearer ");
}

/* The status document as text, checked for key values; also returns it parsed. */
static JsonNode *
status_without_keys (Fixture *f)
{
  JsonNode *status = us_proxy_status_to_json (f->proxy);
  g_autofree char *text = json_to_string (status, TRUE);
  g_autoptr(JsonNode) log = us_request_log_to_json (us_proxy_get_log (f->proxy), 1000);
  g_autofree char *log_text = json_to_string (log, TRUE);

  g_assert_null (strstr (text, KEY_1));
  g_assert_null (strstr (text, KEY_2));
  g_assert_null (strstr (text, KEY_NEXT));
  g_assert_null (strstr (log_text, KEY_1));
  g_assert_null (strstr (log_text, KEY_2));
  g_assert_null (strstr (log_text, "sk-pool"));
  g_assert_nonnull (strstr (log_text, "\"attempts\""));
  return status;
}

static JsonObject *
last_request (JsonNode *status)
{
  JsonArray *requests = json_object_get_array_member (json_node_get_object (status), "requests");

  g_assert_cmpuint (json_array_get_length (requests), >, 0);
  return json_array_get_object_element (requests, 0);
}

/* Asserts the attempts as "provider:key:status:reason-prefix" strings
 * (key 0: none named). */
static void
assert_attempts (JsonObject         *request,
                 const char * const *expected)
{
  JsonArray *attempts = json_object_get_array_member (request, "attempts");

  g_assert_cmpuint (json_array_get_length (attempts), ==, g_strv_length ((char **) expected));
  for (guint i = 0; expected[i]; i++)
    {
      JsonObject *a = json_array_get_object_element (attempts, i);
      const char *reason = json_object_get_string_member_with_default (a, "reason", NULL);
      g_autofree char *got = g_strdup_printf ("%s:%" G_GINT64_FORMAT ":%" G_GINT64_FORMAT ":%s",
                                              json_object_get_string_member (a, "provider"),
                                              json_object_get_int_member_with_default (a, "key", 0),
                                              json_object_get_int_member (a, "status"),
                                              reason ? reason : "served");

      g_test_message ("attempt %u: %s", i, got);
      g_assert_true (g_str_has_prefix (got, expected[i]));
    }
}

/* The health of chain model @index, from the status document. */
static JsonObject *
health_of (JsonNode *status,
           guint     index)
{
  JsonArray *chains = json_object_get_array_member (json_node_get_object (status), "chains");
  JsonArray *models = json_object_get_array_member (json_array_get_object_element (chains, 0), "models");

  return json_object_get_object_member (json_array_get_object_element (models, index), "health");
}

/* Key 1 answers 429: key 2 of the same provider serves, before any other
 * model; key 1 then cools down on its own and the next request goes
 * straight to key 2. */
static void
test_429_next_key (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(TestReply) reply = NULL;
  g_autoptr(TestReply) again = NULL;
  g_autoptr(JsonNode) status = NULL;
  g_autoptr(JsonNode) status2 = NULL;
  JsonObject *request, *health, *key_health;
  JsonArray *keys;
  JsonArray *chains;

  us_fake_provider_add_key (f->pool, KEY_1, &(UsFakeStep) { .behavior = US_FAKE_STATUS, .status = 429,
                                                              .retry_after = "30" });
  us_fake_provider_add_key (f->pool, KEY_2, NULL);

  reply = ask (f, WHOLE_BODY);
  g_assert_cmpuint (reply->status, ==, 200);
  g_assert_nonnull (strstr (reply->body, "pool says hi"));
  g_assert_cmpstr (soup_message_headers_get_one (reply->headers, "x-understudy-model"), ==, "pool/pool-model");
  g_assert_cmpstr (soup_message_headers_get_one (reply->headers, "x-understudy-attempts"), ==, "2");
  g_assert_cmpuint (us_fake_provider_get_n_requests (f->pool), ==, 2);
  g_assert_cmpstr (bearer (f->pool, 0), ==, KEY_1);
  g_assert_cmpstr (bearer (f->pool, 1), ==, KEY_2);
  g_assert_cmpuint (us_fake_provider_get_n_requests (f->next), ==, 0);

  status = status_without_keys (f);
  request = last_request (status);
  assert_attempts (request, (const char * const[]) { "pool:1:429:HTTP 429 rate limited", "pool:2:200:served", NULL });
  g_assert_cmpint (json_object_get_int_member (request, "served_key"), ==, 2);
  g_test_message ("key 1's 429 and key 2's answer took %" G_GINT64_FORMAT " ms in all",
                  json_object_get_int_member_with_default (request, "total_ms", -1));
  health = health_of (status, 0);
  /* The model serves: only its key 1 cools down. */
  g_assert_cmpstr (json_object_get_string_member (health, "state"), ==, "ok");
  keys = json_object_get_array_member (health, "keys");
  g_assert_cmpuint (json_array_get_length (keys), ==, 1);
  key_health = json_array_get_object_element (keys, 0);
  g_assert_cmpint (json_object_get_int_member (key_health, "key"), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (key_health, "state"), ==, "cooldown");
  g_assert_cmpstr (json_object_get_string_member (key_health, "reason"), ==, "rate limited");
  g_assert_false (json_node_is_null (json_object_get_member (key_health, "cooldown_until")));
  chains = json_object_get_array_member (json_node_get_object (status), "chains");
  g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (
                     json_object_get_array_member (json_array_get_object_element (chains, 0), "models"), 0), "keys"),
                   ==, 2);

  /* Streamed this time: key 1 is skipped while it cools down. */
  again = ask (f, STREAM_BODY);
  g_assert_cmpuint (again->status, ==, 200);
  g_assert_cmpstr (soup_message_headers_get_one (again->headers, "x-understudy-model"), ==, "pool/pool-model");
  g_assert_nonnull (strstr (again->body, "data: [DONE]"));
  g_assert_cmpstr (soup_message_headers_get_one (again->headers, "x-understudy-attempts"), ==, "1");
  g_assert_cmpuint (us_fake_provider_get_n_requests (f->pool), ==, 3);
  g_assert_cmpstr (bearer (f->pool, 2), ==, KEY_2);
  status2 = status_without_keys (f);
  assert_attempts (last_request (status2), (const char * const[]) { "pool:2:200:served", NULL });
}

/* Both keys answer 429: the next model serves, the pool's model cools
 * down as a whole, and the next request does not ask it at all. */
static void
test_all_keys_cooling (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(TestReply) reply = NULL;
  g_autoptr(TestReply) again = NULL;
  g_autoptr(JsonNode) status = NULL;
  g_autoptr(JsonNode) status2 = NULL;
  JsonObject *health;

  us_fake_provider_add_key (f->pool, KEY_1, &(UsFakeStep) { .behavior = US_FAKE_STATUS, .status = 429,
                                                              .retry_after = "20" });
  us_fake_provider_add_key (f->pool, KEY_2, &(UsFakeStep) { .behavior = US_FAKE_STATUS, .status = 429,
                                                              .retry_after = "40" });

  reply = ask (f, STREAM_BODY);
  g_assert_cmpuint (reply->status, ==, 200);
  g_assert_nonnull (strstr (reply->body, "data: [DONE]"));
  g_assert_cmpstr (soup_message_headers_get_one (reply->headers, "x-understudy-model"), ==, "next/next-model");
  g_assert_cmpstr (soup_message_headers_get_one (reply->headers, "x-understudy-attempts"), ==, "3");
  g_assert_cmpuint (us_fake_provider_get_n_requests (f->pool), ==, 2);
  g_assert_cmpstr (bearer (f->pool, 0), ==, KEY_1);
  g_assert_cmpstr (bearer (f->pool, 1), ==, KEY_2);
  g_assert_cmpstr (bearer (f->next, 0), ==, KEY_NEXT);

  status = status_without_keys (f);
  assert_attempts (last_request (status), (const char * const[]) {
    "pool:1:429:HTTP 429 rate limited", "pool:2:429:HTTP 429 rate limited", "next:1:200:served", NULL });
  health = health_of (status, 0);
  g_assert_cmpstr (json_object_get_string_member (health, "state"), ==, "cooldown");
  g_assert_cmpstr (json_object_get_string_member (health, "reason"), ==, "rate limited (every key)");
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (health, "keys")), ==, 2);
  /* Until the first key is back (20 s), not the last (40 s). */
  g_assert_cmpint (us_health_get_cooldown_until (us_proxy_get_health (f->proxy), "pool", "pool-model"), <=,
                   g_get_real_time () / G_USEC_PER_SEC + 21);

  again = ask (f, WHOLE_BODY);
  g_assert_cmpuint (again->status, ==, 200);
  g_assert_cmpstr (soup_message_headers_get_one (again->headers, "x-understudy-model"), ==, "next/next-model");
  g_assert_cmpuint (us_fake_provider_get_n_requests (f->pool), ==, 2);
  status2 = status_without_keys (f);
  assert_attempts (last_request (status2), (const char * const[]) { "pool:0:0:cooling down", "next:1:200:served", NULL });
}

/* The provider does not know key 1 (401, as the real one answers), or
 * will not bill it (402): key 2 serves. */
static void
test_refused_next_key (Fixture       *f,
                       gconstpointer  data)
{
  guint status_code = GPOINTER_TO_UINT (data);
  g_autoptr(TestReply) reply = NULL;
  g_autoptr(JsonNode) status = NULL;
  g_autofree char *first = g_strdup_printf ("pool:1:%u:HTTP %u %s", status_code, status_code,
                                            status_code == 401 ? "key rejected" : "billing");
  JsonObject *key_health;

  if (status_code == 402)
    us_fake_provider_add_key (f->pool, KEY_1, &(UsFakeStep) { .behavior = US_FAKE_STATUS, .status = 402 });
  us_fake_provider_add_key (f->pool, KEY_2, NULL);

  reply = ask (f, WHOLE_BODY);
  g_assert_cmpuint (reply->status, ==, 200);
  g_assert_cmpstr (soup_message_headers_get_one (reply->headers, "x-understudy-model"), ==, "pool/pool-model");
  g_assert_cmpstr (bearer (f->pool, 0), ==, KEY_1);
  g_assert_cmpstr (bearer (f->pool, 1), ==, KEY_2);
  g_assert_cmpuint (us_fake_provider_get_n_requests (f->next), ==, 0);

  status = status_without_keys (f);
  assert_attempts (last_request (status), (const char * const[]) { first, "pool:2:200:served", NULL });
  key_health = json_array_get_object_element (json_object_get_array_member (health_of (status, 0), "keys"), 0);
  g_assert_cmpint (json_object_get_int_member (key_health, "key"), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (key_health, "reason"), ==,
                   status_code == 401 ? "key rejected" : "billing");
}

/* A pool variable that is not set is a gap: key 2 serves, named as key 2. */
static void
test_unset_variable (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(TestReply) reply = NULL;
  g_autoptr(JsonNode) status = NULL;

  us_fake_provider_add_key (f->pool, KEY_2, NULL);
  g_unsetenv ("US_TEST_POOL_KEY_1");

  reply = ask (f, WHOLE_BODY);
  g_assert_cmpuint (reply->status, ==, 200);
  g_assert_cmpuint (us_fake_provider_get_n_requests (f->pool), ==, 1);
  g_assert_cmpstr (bearer (f->pool, 0), ==, KEY_2);
  status = status_without_keys (f);
  assert_attempts (last_request (status), (const char * const[]) { "pool:2:200:served", NULL });
}

/* Key 1 is near its plan window's end (the quota threshold): it serves
 * this request, then cools down alone and key 2 takes the next. */
static void
test_quota_per_key (Fixture       *f,
                    gconstpointer  data)
{
  static const char * const near_limit[] = {
    "x-ratelimit-limit-requests: 100", "x-ratelimit-remaining-requests: 1",
    "x-ratelimit-reset-requests: 30s", NULL };
  g_autoptr(TestReply) reply = NULL;
  g_autoptr(TestReply) again = NULL;
  g_autoptr(JsonNode) status = NULL;
  JsonObject *health, *key_health;

  us_fake_provider_add_key (f->pool, KEY_1, &(UsFakeStep) { .behavior = US_FAKE_OK, .headers = near_limit });
  us_fake_provider_add_key (f->pool, KEY_2, NULL);

  reply = ask (f, WHOLE_BODY);
  g_assert_cmpuint (reply->status, ==, 200);
  again = ask (f, WHOLE_BODY);
  g_assert_cmpuint (again->status, ==, 200);
  g_assert_cmpstr (soup_message_headers_get_one (again->headers, "x-understudy-model"), ==, "pool/pool-model");
  g_assert_cmpuint (us_fake_provider_get_n_requests (f->pool), ==, 2);
  g_assert_cmpstr (bearer (f->pool, 0), ==, KEY_1);
  g_assert_cmpstr (bearer (f->pool, 1), ==, KEY_2);

  status = status_without_keys (f);
  assert_attempts (last_request (status), (const char * const[]) { "pool:2:200:served", NULL });
  health = health_of (status, 0);
  g_assert_cmpstr (json_object_get_string_member (health, "state"), ==, "ok");
  key_health = json_array_get_object_element (json_object_get_array_member (health, "keys"), 0);
  g_assert_cmpint (json_object_get_int_member (key_health, "key"), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (key_health, "reason"), ==, "quota threshold reached");
}

/* Key 1 is rate limited and key 2 says the request is bad: the model is
 * still the first one asked, so a bad request goes back to the client
 * unchanged and no other model is tried. */
static void
test_bad_request_after_key (Fixture       *f,
                            gconstpointer  data)
{
  g_autoptr(TestReply) reply = NULL;
  g_autoptr(JsonNode) status = NULL;

  us_fake_provider_add_key (f->pool, KEY_1, &(UsFakeStep) { .behavior = US_FAKE_STATUS, .status = 429,
                                                              .retry_after = "30" });
  us_fake_provider_add_key (f->pool, KEY_2, &(UsFakeStep) { .behavior = US_FAKE_STATUS, .status = 400 });

  reply = ask (f, WHOLE_BODY);
  g_assert_cmpuint (reply->status, ==, 400);
  g_assert_cmpuint (us_fake_provider_get_n_requests (f->pool), ==, 2);
  g_assert_cmpuint (us_fake_provider_get_n_requests (f->next), ==, 0);
  status = status_without_keys (f);
  assert_attempts (last_request (status), (const char * const[]) {
    "pool:1:429:HTTP 429 rate limited", "pool:2:400:request rejected", NULL });
}

/* Each key has its own plan: key 1's 5-hour window is spent (a 429 that
 * names its reset), key 2's is not; the status shows both, by number. */
static void
test_plan_per_key (Fixture       *f,
                   gconstpointer  data)
{
  g_autofree char *reset = g_strdup_printf ("anthropic-ratelimit-unified-5h-reset: %" G_GINT64_FORMAT,
                                            g_get_real_time () / G_USEC_PER_SEC + 3600);
  const char * const spent[] = { "anthropic-ratelimit-unified-status: rejected",
                                 "anthropic-ratelimit-unified-5h-utilization: 1.0", reset, NULL };
  const char * const fresh[] = { "anthropic-ratelimit-unified-status: allowed",
                                 "anthropic-ratelimit-unified-5h-utilization: 0.25", reset, NULL };
  g_autoptr(TestReply) reply = NULL;
  g_autoptr(JsonNode) status = NULL;
  JsonObject *model, *plan, *key_plan;
  JsonArray *key_plans;

  us_fake_provider_add_key (f->pool, KEY_1, &(UsFakeStep) { .behavior = US_FAKE_STATUS, .status = 429,
                                                              .headers = spent });
  us_fake_provider_add_key (f->pool, KEY_2, &(UsFakeStep) { .behavior = US_FAKE_OK, .headers = fresh });

  reply = ask (f, WHOLE_BODY);
  g_assert_cmpuint (reply->status, ==, 200);
  g_assert_cmpstr (soup_message_headers_get_one (reply->headers, "x-understudy-model"), ==, "pool/pool-model");

  status = status_without_keys (f);
  model = json_array_get_object_element (json_object_get_array_member (json_array_get_object_element (
            json_object_get_array_member (json_node_get_object (status), "chains"), 0), "models"), 0);
  plan = json_object_get_object_member (model, "plan");
  g_assert_cmpstr (json_object_get_string_member (plan, "status"), ==, "rejected");
  g_assert_cmpfloat (json_object_get_double_member (json_array_get_object_element (
                       json_object_get_array_member (plan, "windows"), 0), "utilization"), ==, 1.0);
  key_plans = json_object_get_array_member (model, "key_plans");
  g_assert_cmpuint (json_array_get_length (key_plans), ==, 1);
  key_plan = json_array_get_object_element (key_plans, 0);
  g_assert_cmpint (json_object_get_int_member (key_plan, "key"), ==, 2);
  plan = json_object_get_object_member (key_plan, "plan");
  g_assert_cmpstr (json_object_get_string_member (plan, "status"), ==, "allowed");
  g_assert_cmpfloat (json_object_get_double_member (json_array_get_object_element (
                       json_object_get_array_member (plan, "windows"), 0), "utilization"), ==, 0.25);
  /* Key 1 waits for its window's reset, an hour away; the model does not. */
  g_assert_true (us_health_is_key_cooling (us_proxy_get_health (f->proxy), "pool", "pool-model", 1));
  g_assert_cmpint (us_health_get_key_cooldown_until_us (us_proxy_get_health (f->proxy), "pool", "pool-model", 1),
                   >, g_get_real_time () + (gint64) 3500 * G_USEC_PER_SEC);
  g_assert_false (us_health_is_cooling (us_proxy_get_health (f->proxy), "pool", "pool-model"));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/keypool/429-next-key", Fixture, NULL, fixture_set_up, test_429_next_key, fixture_tear_down);
  g_test_add ("/keypool/all-keys-cooling", Fixture, NULL, fixture_set_up, test_all_keys_cooling, fixture_tear_down);
  g_test_add ("/keypool/401-next-key", Fixture, GUINT_TO_POINTER (401), fixture_set_up, test_refused_next_key,
              fixture_tear_down);
  g_test_add ("/keypool/402-next-key", Fixture, GUINT_TO_POINTER (402), fixture_set_up, test_refused_next_key,
              fixture_tear_down);
  g_test_add ("/keypool/unset-variable", Fixture, NULL, fixture_set_up, test_unset_variable, fixture_tear_down);
  g_test_add ("/keypool/quota-per-key", Fixture, NULL, fixture_set_up, test_quota_per_key, fixture_tear_down);
  g_test_add ("/keypool/bad-request-after-key", Fixture, NULL, fixture_set_up, test_bad_request_after_key,
              fixture_tear_down);
  g_test_add ("/keypool/plan-per-key", Fixture, NULL, fixture_set_up, test_plan_per_key, fixture_tear_down);
  return g_test_run ();
}
