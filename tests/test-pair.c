/* test-pair.c: a primary and a fallback fake behind a real proxy. */
#include "test-pair.h"

#define BODY "{\"model\":\"claude-opus-4-5\",\"max_tokens\":64,\"stream\":%s," \
             "\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}"

TestPair *
test_pair_new (const char *primary_url,
               const char *primary_auth)
{
  TestPair *pair = g_new0 (TestPair, 1);
  g_autofree char *json = NULL;

  pair->primary = us_fake_provider_new (US_FAKE_FORMAT_ANTHROPIC);
  pair->fallback = us_fake_provider_new (US_FAKE_FORMAT_ANTHROPIC);
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
    primary_url ? primary_url : us_fake_provider_get_base_url (pair->primary),
    primary_auth ? primary_auth : "\"auth\": \"none\"",
    us_fake_provider_get_base_url (pair->fallback));

  pair->proxy = test_proxy_new (json);
  pair->client = test_client_new (pair->proxy);
  pair->episodes = us_episodes_new (us_proxy_get_log (pair->proxy), us_proxy_get_health (pair->proxy));
  return pair;
}

void
test_pair_free (TestPair *pair)
{
  g_clear_object (&pair->episodes);
  test_client_free (pair->client);
  g_clear_object (&pair->proxy);
  g_clear_object (&pair->primary);
  g_clear_object (&pair->fallback);
  g_free (pair);
}

void
test_pair_request (TestPair   *pair,
                   const char *served)
{
  g_autofree char *body = g_strdup_printf (BODY, "true");
  g_autoptr(TestReply) reply = test_post (pair->client, "/v1/messages", body, NULL);

  g_assert_cmpuint (reply->status, ==, 200);
  g_assert_cmpstr (soup_message_headers_get_one (reply->headers, "x-understudy-model"), ==, served);
}

void
test_pair_request_batch (TestPair *pair,
                         guint     n)
{
  g_autoptr(GPtrArray) bodies = g_ptr_array_new_with_free_func (g_free);
  g_autofree guint *statuses = g_new0 (guint, n);

  for (guint i = 0; i < n; i++)
    g_ptr_array_add (bodies, g_strdup_printf (BODY, i % 2 ? "true" : "false"));
  g_ptr_array_add (bodies, NULL);
  test_post_concurrently (pair->client, "/v1/messages", (const char * const *) bodies->pdata, statuses);
  for (guint i = 0; i < n; i++)
    g_assert_cmpuint (statuses[i], ==, 200);
}

void
test_pair_wait_until_cooled (TestPair *pair)
{
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;

  while (us_health_is_cooling (us_proxy_get_health (pair->proxy), "anthropic", "claude-opus-4-5"))
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      test_spin_ms (50);
    }
}
