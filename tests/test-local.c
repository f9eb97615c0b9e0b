/* test-local.c: local model servers (Ollama, LM Studio, llama.cpp presets)
 * as the offline last resort.
 *
 * The chain is a primary that is overloaded (529), a local server, and a
 * last fallback. A local server that is not running, or hangs, is passed
 * over after its probe (GET /v1/models, 1 s at most), not after the
 * first-byte timeout (10 s here); one that runs serves, and requests that
 * come together share one probe.
 */
#include "test-util.h"

#define BODY "{\"model\":\"claude-test\",\"max_tokens\":64,\"stream\":true," \
             "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"

typedef struct {
  UsFakeProvider *primary;
  UsFakeProvider *local;
  UsFakeProvider *last;
  UsProxy *proxy;
  TestClient *client;
} Fixture;

static void
fixture_set_up_with (Fixture    *f,
                     const char *local_url)
{
  g_autofree char *json = NULL;

  f->primary = us_fake_provider_new (US_FAKE_FORMAT_ANTHROPIC);
  f->last = us_fake_provider_new (US_FAKE_FORMAT_ANTHROPIC);
  us_fake_provider_set_default (f->primary, &(UsFakeStep) { .behavior = US_FAKE_STATUS, .status = 529,
                                                            .retry_after = "0" });
  json = g_strdup_printf (
    "{ \"version\": 1,"
    "  \"listen\": { \"host\": \"127.0.0.1\", \"port\": 0, \"token\": \"" TEST_TOKEN "\" },"
    "  \"providers\": ["
    "    { \"id\": \"primary\", \"kind\": \"anthropic\", \"base_url\": \"%s\", \"auth\": \"none\" },"
    "    { \"id\": \"ollama\", \"base_url\": \"%s\" },"
    "    { \"id\": \"last\", \"kind\": \"anthropic\", \"base_url\": \"%s\", \"auth\": \"none\" } ],"
    "  \"chains\": [ { \"id\": \"default\", \"match\": [\"*\"], \"models\": ["
    "    { \"provider\": \"primary\", \"model\": \"*\" },"
    "    { \"provider\": \"ollama\", \"model\": \"qwen3-coder:30b\" },"
    "    { \"provider\": \"last\", \"model\": \"last-model\" } ] } ],"
    "  \"failover\": { \"first_byte_timeout_s\": 10, \"idle_timeout_s\": 10, \"cooldown_s\": 0.001 } }",
    us_fake_provider_get_base_url (f->primary), local_url, us_fake_provider_get_base_url (f->last));
  f->proxy = test_proxy_new (json);
  f->client = test_client_new (f->proxy);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  g_clear_pointer (&f->client, test_client_free);
  g_clear_object (&f->proxy);
  g_clear_object (&f->primary);
  g_clear_object (&f->local);
  g_clear_object (&f->last);
}

static const char *
served_by (TestReply *reply)
{
  g_assert_cmpuint (reply->status, ==, 200);
  return soup_message_headers_get_one (reply->headers, "x-understudy-model");
}

static JsonObject *
newest_request (Fixture   *f,
                JsonNode **holder)
{
  *holder = us_proxy_status_to_json (f->proxy);
  return json_array_get_object_element (json_object_get_array_member (json_node_get_object (*holder), "requests"), 0);
}

/* The newest request's attempt at the local server: its reason. */
static const char *
local_reason (JsonObject *request)
{
  JsonArray *attempts = json_object_get_array_member (request, "attempts");

  for (guint i = 0; i < json_array_get_length (attempts); i++)
    {
      JsonObject *a = json_array_get_object_element (attempts, i);

      if (g_str_equal (json_object_get_string_member (a, "provider"), "ollama"))
        return json_object_get_string_member_with_default (a, "reason", "served");
    }
  return NULL;
}

static guint
count_model_lists (UsFakeProvider *fake)
{
  guint n = 0;

  for (guint i = 0; i < us_fake_provider_get_n_requests (fake); i++)
    {
      const UsFakeRequest *r = us_fake_provider_get_request (fake, i);

      n += g_str_equal (r->method, "GET") && g_str_equal (r->path, "/v1/models");
    }
  return n;
}

/* Nothing listens on the local port: passed over at once, never asked. */
static void
test_not_running (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(GSocketListener) listener = g_socket_listener_new ();
  guint16 port = g_socket_listener_add_any_inet_port (listener, NULL, NULL);
  g_autofree char *url = g_strdup_printf ("http://127.0.0.1:%u/v1", port);
  g_autoptr(TestReply) reply = NULL;
  g_autoptr(JsonNode) holder = NULL;
  const char *reason;

  /* A port that was just free: nobody listens there now. */
  g_socket_listener_close (listener);
  fixture_set_up_with (f, url);
  reply = test_post (f->client, "/v1/messages", BODY, NULL);
  g_assert_cmpstr (served_by (reply), ==, "last/last-model");
  reason = local_reason (newest_request (f, &holder));
  g_test_message ("local: %s", reason);
  g_assert_true (g_str_has_prefix (reason, "local server not running: "));
}

static gboolean
on_hung_accept (GSocketService     *service,
                GSocketConnection  *connection,
                GObject            *source,
                gpointer            data)
{
  /* Kept open and never answered, like a server still loading its model. */
  g_ptr_array_add (data, g_object_ref (connection));
  return TRUE;
}

/* The server takes the connection and never answers: passed over after the
 * probe's second, not the 10 s first-byte timeout. */
static void
test_hung (Fixture       *f,
           gconstpointer  data)
{
  g_autoptr(GSocketService) service = g_socket_service_new ();
  g_autoptr(GPtrArray) held = g_ptr_array_new_with_free_func (g_object_unref);
  guint16 port = g_socket_listener_add_any_inet_port (G_SOCKET_LISTENER (service), NULL, NULL);
  g_autofree char *url = g_strdup_printf ("http://127.0.0.1:%u/v1", port);
  g_autoptr(TestReply) reply = NULL;
  g_autoptr(JsonNode) holder = NULL;
  gint64 start;
  double seconds;

  g_signal_connect (service, "incoming", G_CALLBACK (on_hung_accept), held);
  fixture_set_up_with (f, url);
  start = g_get_monotonic_time ();
  reply = test_post (f->client, "/v1/messages", BODY, NULL);
  seconds = (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC;
  g_test_message ("served after %.2f s", seconds);
  g_assert_cmpstr (served_by (reply), ==, "last/last-model");
  g_assert_cmpfloat (seconds, <, 5);
  g_assert_cmpstr (local_reason (newest_request (f, &holder)), ==, "local server not running: no answer within 1000 ms");
  g_socket_service_stop (service);
}

/* Running: it serves, and requests that arrive together share one probe. */
static void
test_running (Fixture       *f,
              gconstpointer  data)
{
  g_autofree char *url = NULL;
  const char *bodies[] = { BODY, BODY, BODY, BODY, NULL };
  guint statuses[4];
  g_autoptr(TestReply) reply = NULL;

  f->local = us_fake_provider_new (US_FAKE_FORMAT_OPENAI_CHAT);
  url = g_strdup_printf ("%s/v1", us_fake_provider_get_base_url (f->local));
  fixture_set_up_with (f, url);

  test_post_concurrently (f->client, "/v1/messages", bodies, statuses);
  for (guint i = 0; i < 4; i++)
    g_assert_cmpuint (statuses[i], ==, 200);
  g_assert_cmpuint (count_model_lists (f->local), ==, 1);
  g_assert_cmpuint (us_fake_provider_get_n_requests (f->last), ==, 0);

  /* Within the answer's lifetime, no new probe. */
  reply = test_post (f->client, "/v1/messages", BODY, NULL);
  g_assert_cmpstr (served_by (reply), ==, "ollama/qwen3-coder:30b");
  g_assert_cmpuint (count_model_lists (f->local), ==, 1);
}

static void
on_listed (GObject      *source,
           GAsyncResult *result,
           gpointer      data)
{
  GError *error = NULL;

  *(GStrv *) data = us_local_list_models_finish (result, &error);
  g_assert_no_error (error);
}

/* The models the server has, as `understudy providers` shows them. */
static void
test_list_models (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(UsFakeProvider) local = us_fake_provider_new (US_FAKE_FORMAT_OPENAI_CHAT);
  g_autoptr(SoupSession) session = soup_session_new ();
  g_autofree char *url = g_strdup_printf ("%s/v1", us_fake_provider_get_base_url (local));
  const char * const ids[] = { "qwen3-coder:30b", "llama3.2:3b", NULL };
  g_auto(GStrv) listed = NULL;

  us_fake_provider_set_models (local, ids);
  us_local_list_models_async (session, url, 1000, NULL, on_listed, &listed);
  while (listed == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpstrv (listed, ids);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, fn) g_test_add (path, Fixture, NULL, NULL, fn, fixture_tear_down)
  ADD ("/local/not-running", test_not_running);
  ADD ("/local/hung", test_hung);
  ADD ("/local/running", test_running);
  ADD ("/local/list-models", test_list_models);
  return g_test_run ();
}
