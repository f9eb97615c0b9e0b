/* test-security.c: access token, DNS rebinding, browser origins, body limits,
 * malformed input, and secrets kept out of the logs. */
#include <libsoup/soup.h>

#include "us-fake-provider.h"
#include "us-proxy.h"
#include "test-util.h"

typedef struct {
  UsFakeProvider *fake;
  UsProxy *proxy;
  TestClient *client;
} Fixture;

static GString *captured_logs;

static GLogWriterOutput
capture_writer (GLogLevelFlags   level,
                const GLogField *fields,
                gsize            n_fields,
                gpointer         data)
{
  for (gsize i = 0; i < n_fields; i++)
    if (g_str_equal (fields[i].key, "MESSAGE"))
      {
        g_string_append_len (captured_logs, fields[i].value, fields[i].length);
        g_string_append_c (captured_logs, '\n');
      }
  /* Warnings and criticals still fail the test as usual. */
  return g_log_writer_default (level, fields, n_fields, data);
}

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  g_autofree char *json = NULL;

  f->fake = us_fake_provider_new (US_FAKE_FORMAT_ANTHROPIC);
  us_fake_provider_set_required_key (f->fake, TEST_FALLBACK_KEY);
  json = g_strdup_printf (
    "{ \"version\": 1,"
    "  \"listen\": { \"host\": \"127.0.0.1\", \"port\": 0, \"token\": \"" TEST_TOKEN "\", \"max_body_bytes\": 4096 },"
    "  \"providers\": [ { \"id\": \"p\", \"kind\": \"anthropic\", \"base_url\": \"%s\", \"auth\": \"key\","
    "                     \"key_env\": \"US_TEST_FALLBACK_KEY\" } ],"
    "  \"chains\": [ { \"id\": \"default\", \"models\": [ { \"provider\": \"p\", \"model\": \"*\" } ] } ] }",
    us_fake_provider_get_base_url (f->fake));
  g_setenv ("US_TEST_FALLBACK_KEY", TEST_FALLBACK_KEY, TRUE);
  f->proxy = test_proxy_new (json);
  f->client = test_client_new (f->proxy);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  test_client_free (f->client);
  g_clear_object (&f->proxy);
  g_clear_object (&f->fake);
}

#define BODY "{\"model\":\"claude-test\",\"max_tokens\":16,\"stream\":true," \
             "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"

static TestReply *
post_url (const char         *url,
          const char         *body,
          const char * const *headers)
{
  g_autoptr(SoupMessage) msg = soup_message_new ("POST", url);
  g_autoptr(GBytes) bytes = g_bytes_new (body, strlen (body));

  soup_message_set_request_body_from_bytes (msg, "application/json", bytes);
  for (guint i = 0; headers && headers[i]; i += 2)
    soup_message_headers_replace (soup_message_get_request_headers (msg), headers[i], headers[i + 1]);
  return test_send (msg);
}

static void
test_wrong_token (Fixture       *f,
                  gconstpointer  data)
{
  g_autofree char *url = g_strdup_printf ("http://127.0.0.1:%u/t/wrong-token/v1/messages",
                                          us_proxy_get_port (f->proxy));
  g_autofree char *chat_url = g_strdup_printf ("http://127.0.0.1:%u/t/wrong-token/v1/chat/completions",
                                               us_proxy_get_port (f->proxy));
  g_autofree char *bare_url = g_strdup_printf ("http://127.0.0.1:%u/v1/messages", us_proxy_get_port (f->proxy));
  g_autoptr(TestReply) reply = post_url (url, BODY, NULL);
  g_autoptr(TestReply) chat = post_url (chat_url, BODY, NULL);
  g_autoptr(TestReply) bare = post_url (bare_url, BODY, NULL);

  g_assert_cmpuint (reply->status, ==, 401);
  g_assert_true (g_str_has_prefix (reply->body, "{\"type\":\"error\",\"error\":{\"type\":\"authentication_error\""));
  g_assert_cmpuint (bare->status, ==, 401);
  /* OpenAI clients get OpenAI's envelope. */
  g_assert_cmpuint (chat->status, ==, 401);
  g_assert_true (g_str_has_prefix (chat->body, "{\"error\":{"));
  g_assert_cmpuint (us_fake_provider_get_n_requests (f->fake), ==, 0);
}

static void
test_foreign_host (Fixture       *f,
                   gconstpointer  data)
{
  g_autofree char *url = test_proxy_url (f->client, "/v1/messages");
  g_autoptr(TestReply) reply = post_url (url, BODY, (const char * const[]) { "Host", "evil.example.com", NULL });
  g_autoptr(TestReply) ok = post_url (url, BODY, (const char * const[]) { "Host", "localhost:7355", NULL });

  g_assert_cmpuint (reply->status, ==, 403);
  g_assert_nonnull (strstr (reply->body, "permission_error"));
  g_assert_cmpuint (ok->status, ==, 200);
  g_assert_cmpuint (us_fake_provider_get_n_requests (f->fake), ==, 1);
}

static void
test_foreign_origin (Fixture       *f,
                     gconstpointer  data)
{
  g_autofree char *url = test_proxy_url (f->client, "/v1/messages");
  g_autofree char *own = g_strdup_printf ("http://127.0.0.1:%u", us_proxy_get_port (f->proxy));
  g_autoptr(TestReply) reply = post_url (url, BODY, (const char * const[]) { "Origin", "https://evil.example.com", NULL });
  g_autoptr(TestReply) other_port = post_url (url, BODY, (const char * const[]) { "Origin", "http://127.0.0.1:1", NULL });
  g_autoptr(TestReply) ok = post_url (url, BODY, (const char * const[]) { "Origin", own, NULL });

  g_assert_cmpuint (reply->status, ==, 403);
  g_assert_cmpuint (other_port->status, ==, 403);
  g_assert_cmpuint (ok->status, ==, 200);
}

static void
test_oversized_body (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(GString) big = g_string_new ("{\"model\":\"claude-test\",\"max_tokens\":16,\"messages\":[{\"role\":\"user\",\"content\":\"");
  g_autoptr(TestReply) reply = NULL;

  for (guint i = 0; i < 5000; i++)
    g_string_append_c (big, 'x');
  g_string_append (big, "\"}]}");
  reply = test_post (f->client, "/v1/messages", big->str, NULL);

  g_assert_cmpuint (reply->status, ==, 413);
  g_assert_nonnull (strstr (reply->body, "request_too_large"));
  g_assert_cmpuint (us_fake_provider_get_n_requests (f->fake), ==, 0);
}

static void
test_malformed_json (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(TestReply) anthropic = test_post (f->client, "/v1/messages", "{\"model\": ", NULL);
  g_autoptr(TestReply) chat = test_post (f->client, "/v1/chat/completions", "[1,2", NULL);
  g_autoptr(TestReply) not_object = test_post (f->client, "/v1/messages", "[]", NULL);

  g_assert_cmpuint (anthropic->status, ==, 400);
  g_assert_true (g_str_has_prefix (anthropic->body, "{\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\""));
  g_assert_cmpuint (chat->status, ==, 400);
  g_assert_true (g_str_has_prefix (chat->body, "{\"error\":{"));
  g_assert_cmpuint (not_object->status, ==, 400);
  g_assert_cmpuint (us_fake_provider_get_n_requests (f->fake), ==, 0);
}

static void
test_probe_and_unknown (Fixture       *f,
                        gconstpointer  data)
{
  g_autofree char *root = g_strdup_printf ("http://127.0.0.1:%u/", us_proxy_get_port (f->proxy));
  g_autofree char *base = test_proxy_url (f->client, "");
  g_autoptr(SoupMessage) head_root = soup_message_new ("HEAD", root);
  g_autoptr(SoupMessage) head_base = soup_message_new ("HEAD", base);
  g_autoptr(TestReply) r1 = test_send (head_root);
  g_autoptr(TestReply) r2 = test_send (head_base);
  g_autoptr(TestReply) unknown = test_get (f->client, "/v2/nothing", NULL);

  g_assert_cmpuint (r1->status, ==, 200);
  g_assert_cmpuint (r2->status, ==, 200);
  g_assert_cmpuint (unknown->status, ==, 404);
}

static void
test_no_secrets_in_logs (Fixture       *f,
                         gconstpointer  data)
{
  g_autoptr(TestReply) served = NULL;
  g_autoptr(TestReply) rejected = NULL;
  g_autoptr(TestReply) status = NULL;
  const char * const client_auth[] = { "Authorization", "Bearer sk-client-bearer-secret", NULL };

  us_fake_provider_push_status (f->fake, 401, NULL);
  rejected = test_post (f->client, "/v1/messages", BODY, client_auth);
  served = test_post (f->client, "/v1/messages", BODY, client_auth);
  status = test_get (f->client, "/understudy/status", NULL);
  g_assert_cmpuint (served->status, ==, 200);

  /* Neither the logs nor the status document hold a credential. */
  g_assert_cmpuint (captured_logs->len, >, 0);
  g_assert_null (strstr (captured_logs->str, TEST_TOKEN));
  g_assert_null (strstr (captured_logs->str, TEST_FALLBACK_KEY));
  g_assert_null (strstr (captured_logs->str, "sk-client-bearer-secret"));
  g_assert_null (strstr (status->body, TEST_TOKEN));
  g_assert_null (strstr (status->body, TEST_FALLBACK_KEY));
  g_assert_null (strstr (status->body, "sk-client-bearer-secret"));
}

int
main (int   argc,
      char *argv[])
{
  captured_logs = g_string_new (NULL);
  g_setenv ("G_MESSAGES_DEBUG", "all", TRUE);
  g_log_set_writer_func (capture_writer, NULL, NULL);
  g_test_init (&argc, &argv, NULL);

#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_set_up, fn, fixture_tear_down)
  ADD ("/security/wrong-token", test_wrong_token);
  ADD ("/security/foreign-host", test_foreign_host);
  ADD ("/security/foreign-origin", test_foreign_origin);
  ADD ("/security/oversized-body", test_oversized_body);
  ADD ("/security/malformed-json", test_malformed_json);
  ADD ("/security/probe-and-unknown", test_probe_and_unknown);
  ADD ("/security/no-secrets-in-logs", test_no_secrets_in_logs);
#undef ADD

  return g_test_run ();
}
