/* test-probe.c: the providers page's "Test" against fake providers: an
 * answer, a rejected key, a refused connection, a timeout; and presets. */
#include <gio/gio.h>

#include "us-fake-provider.h"
#include "us-presets.h"
#include "us-provider-probe.h"
#include "test-util.h"

#define PROBE_KEY "sk-probe-secret-key-42"

typedef struct {
  UsFakeProvider *anthropic;
  UsFakeProvider *chat;
  UsFakeProvider *responses;
  UsProxy *proxy;
  guint closed_port;
} Fixture;

static guint
closed_port (void)
{
  g_autoptr(GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                            G_SOCKET_PROTOCOL_TCP, NULL);
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GError) error = NULL;

  /* Bound, never listening, then closed: nothing answers on it. */
  g_socket_bind (socket, address, FALSE, &error);
  g_assert_no_error (error);
  bound = g_socket_get_local_address (socket, &error);
  g_assert_no_error (error);
  g_socket_close (socket, NULL);
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  g_autofree char *json = NULL;

  f->anthropic = us_fake_provider_new (US_FAKE_FORMAT_ANTHROPIC);
  f->chat = us_fake_provider_new (US_FAKE_FORMAT_OPENAI_CHAT);
  f->responses = us_fake_provider_new (US_FAKE_FORMAT_OPENAI_RESPONSES);
  f->closed_port = closed_port ();
  us_fake_provider_set_required_key (f->chat, PROBE_KEY);
  json = g_strdup_printf (
    "{ \"version\": 1,"
    "  \"listen\": { \"host\": \"127.0.0.1\", \"port\": 0, \"token\": \"" TEST_TOKEN "\" },"
    "  \"providers\": ["
    "    { \"id\": \"anthropic\", \"kind\": \"anthropic\", \"base_url\": \"%s\", \"auth\": \"passthrough\" },"
    "    { \"id\": \"chat\", \"kind\": \"openai-chat\", \"base_url\": \"%s/v1\", \"auth\": \"key\", \"key_env\": \"US_TEST_PROBE_KEY\" },"
    "    { \"id\": \"nokey\", \"kind\": \"openai-chat\", \"base_url\": \"%s/v1\", \"auth\": \"key\", \"key_env\": \"US_TEST_PROBE_UNSET\" },"
    "    { \"id\": \"responses\", \"kind\": \"openai-responses\", \"base_url\": \"%s/v1\", \"auth\": \"none\" },"
    "    { \"id\": \"closed\", \"kind\": \"openai-chat\", \"base_url\": \"http://127.0.0.1:%u/v1\", \"auth\": \"none\" } ],"
    "  \"chains\": ["
    "    { \"id\": \"default\", \"match\": [\"*\"], \"models\": ["
    "      { \"provider\": \"anthropic\", \"model\": \"*\" }, { \"provider\": \"chat\", \"model\": \"gpt-fake\" } ] } ] }",
    us_fake_provider_get_base_url (f->anthropic), us_fake_provider_get_base_url (f->chat),
    us_fake_provider_get_base_url (f->chat), us_fake_provider_get_base_url (f->responses),
    f->closed_port);
  f->proxy = test_proxy_new (json);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  g_clear_object (&f->proxy);
  g_clear_object (&f->anthropic);
  g_clear_object (&f->chat);
  g_clear_object (&f->responses);
}

typedef struct {
  char *text;
  GError *error;
  gboolean done;
} Outcome;

static void
on_probed (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  Outcome *outcome = user_data;

  outcome->text = us_provider_probe_finish (result, &outcome->error);
  outcome->done = TRUE;
}

static void
probe (Fixture      *f,
       const char   *provider,
       const char   *model,
       guint         timeout_ms,
       GCancellable *cancellable,
       Outcome      *outcome)
{
  us_provider_probe_async (f->proxy, provider, model, timeout_ms, cancellable, on_probed, outcome);
  while (!outcome->done)
    g_main_context_iteration (NULL, TRUE);
}

static void
outcome_clear (Outcome *outcome)
{
  g_clear_pointer (&outcome->text, g_free);
  g_clear_error (&outcome->error);
  outcome->done = FALSE;
}

static void
test_answer (Fixture       *f,
             gconstpointer  data)
{
  Outcome outcome = { 0 };
  const UsFakeRequest *request;
  JsonObject *body;

  /* Anthropic's own format, no translation. */
  us_fake_provider_set_text (f->anthropic, "OK from the fake");
  probe (f, "anthropic", "claude-fake", 5000, NULL, &outcome);
  g_assert_no_error (outcome.error);
  g_assert_cmpstr (outcome.text, ==, "OK from the fake");
  request = us_fake_provider_get_last_request (f->anthropic);
  g_assert_cmpstr (request->path, ==, "/v1/messages");
  g_assert_cmpstr (us_fake_request_get_model (request), ==, "claude-fake");
  g_assert_false (us_fake_request_get_stream (request));
  body = json_node_get_object (request->json);
  g_assert_cmpint (json_object_get_int_member (body, "max_tokens"), <=, 16);
  outcome_clear (&outcome);

  /* Chat Completions with its key from key_env, as a Bearer token. */
  us_fake_provider_set_text (f->chat, "OK");
  {
    gint64 start = g_get_monotonic_time ();

    probe (f, "chat", "gpt-fake", 5000, NULL, &outcome);
    g_test_message ("probe round trip through the core to a loopback fake: %.1f ms",
                    (g_get_monotonic_time () - start) / 1000.0);
  }
  g_assert_no_error (outcome.error);
  g_assert_cmpstr (outcome.text, ==, "OK");
  request = us_fake_provider_get_last_request (f->chat);
  g_assert_cmpstr (request->path, ==, "/v1/chat/completions");
  g_assert_cmpstr (us_fake_request_get_header (request, "Authorization"), ==, "Bearer " PROBE_KEY);
  outcome_clear (&outcome);

  /* Responses. */
  us_fake_provider_set_text (f->responses, "OK, responses");
  probe (f, "responses", "gpt-fake", 5000, NULL, &outcome);
  g_assert_no_error (outcome.error);
  g_assert_cmpstr (outcome.text, ==, "OK, responses");
  g_assert_cmpstr (us_fake_provider_get_last_request (f->responses)->path, ==, "/v1/responses");
  outcome_clear (&outcome);
}

static void
test_key_rejected (Fixture       *f,
                   gconstpointer  data)
{
  Outcome outcome = { 0 };

  /* The provider echoes the key back in its message: it must not reach us. */
  us_fake_provider_push (f->chat, &(UsFakeStep) { .behavior = US_FAKE_STATUS, .status = 401,
                                                  .error_message = "Incorrect API key provided: " PROBE_KEY });
  probe (f, "chat", "gpt-fake", 5000, NULL, &outcome);
  g_assert_error (outcome.error, US_PROVIDER_PROBE_ERROR, US_PROVIDER_PROBE_ERROR_KEY_REJECTED);
  g_assert_true (g_str_has_prefix (outcome.error->message, "Key rejected (HTTP 401): Incorrect API key provided"));
  g_assert_null (strstr (outcome.error->message, PROBE_KEY));
  outcome_clear (&outcome);

  us_fake_provider_push (f->chat, &(UsFakeStep) { .behavior = US_FAKE_STATUS, .status = 404,
                                                  .error_message = "The model gpt-nope does not exist" });
  probe (f, "chat", "gpt-nope", 5000, NULL, &outcome);
  g_assert_error (outcome.error, US_PROVIDER_PROBE_ERROR, US_PROVIDER_PROBE_ERROR_HTTP);
  g_assert_cmpstr (outcome.error->message, ==, "HTTP 404: The model gpt-nope does not exist");
  outcome_clear (&outcome);

  /* Pass-through has no key of its own: a 401 says so, not "key rejected". */
  us_fake_provider_push (f->anthropic, &(UsFakeStep) { .behavior = US_FAKE_STATUS, .status = 401,
                                                       .error_message = "x-api-key header is required" });
  probe (f, "anthropic", "claude-fake", 5000, NULL, &outcome);
  g_assert_error (outcome.error, US_PROVIDER_PROBE_ERROR, US_PROVIDER_PROBE_ERROR_KEY_REJECTED);
  g_assert_true (g_str_has_prefix (outcome.error->message, "Reachable, but HTTP 401: x-api-key header is required."));
  g_assert_nonnull (strstr (outcome.error->message, "passthrough"));
  outcome_clear (&outcome);

  /* No key at all: said before anything is sent. */
  us_fake_provider_clear_requests (f->chat);
  probe (f, "nokey", "gpt-fake", 5000, NULL, &outcome);
  g_assert_error (outcome.error, US_PROVIDER_PROBE_ERROR, US_PROVIDER_PROBE_ERROR_NO_KEY);
  g_assert_nonnull (strstr (outcome.error->message, "US_TEST_PROBE_UNSET"));
  g_assert_cmpuint (us_fake_provider_get_n_requests (f->chat), ==, 0);
  outcome_clear (&outcome);
}

static void
test_connection_refused (Fixture       *f,
                         gconstpointer  data)
{
  Outcome outcome = { 0 };

  probe (f, "closed", "gpt-fake", 5000, NULL, &outcome);
  g_assert_error (outcome.error, US_PROVIDER_PROBE_ERROR, US_PROVIDER_PROBE_ERROR_CONNECTION);
  g_assert_true (g_str_has_prefix (outcome.error->message, "Could not reach the provider: "));
  outcome_clear (&outcome);

  probe (f, "missing", "gpt-fake", 5000, NULL, &outcome);
  g_assert_error (outcome.error, US_PROVIDER_PROBE_ERROR, US_PROVIDER_PROBE_ERROR_NO_PROVIDER);
  outcome_clear (&outcome);
}

static void
test_timeout (Fixture       *f,
              gconstpointer  data)
{
  Outcome outcome = { 0 };
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  gint64 start = g_get_monotonic_time ();
  gint64 elapsed_ms;

  us_fake_provider_push_behavior (f->chat, US_FAKE_SILENCE_BEFORE_HEADERS);
  probe (f, "chat", "gpt-fake", 300, NULL, &outcome);
  elapsed_ms = (g_get_monotonic_time () - start) / 1000;
  g_assert_error (outcome.error, US_PROVIDER_PROBE_ERROR, US_PROVIDER_PROBE_ERROR_TIMEOUT);
  g_assert_cmpstr (outcome.error->message, ==, "No answer within 1 s");
  g_assert_cmpint (elapsed_ms, >=, 300);
  g_assert_cmpint (elapsed_ms, <, 3000);
  outcome_clear (&outcome);

  /* Silence after the headers times out too; the caller can cancel. */
  us_fake_provider_push_behavior (f->chat, US_FAKE_SILENCE_AFTER_HEADERS);
  probe (f, "chat", "gpt-fake", 300, NULL, &outcome);
  g_assert_error (outcome.error, US_PROVIDER_PROBE_ERROR, US_PROVIDER_PROBE_ERROR_TIMEOUT);
  outcome_clear (&outcome);

  us_fake_provider_push_behavior (f->chat, US_FAKE_SILENCE_BEFORE_HEADERS);
  g_cancellable_cancel (cancellable);
  probe (f, "chat", "gpt-fake", 5000, cancellable, &outcome);
  g_assert_error (outcome.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  outcome_clear (&outcome);
}

static void
test_pick_model (Fixture       *f,
                 gconstpointer  data)
{
  g_autofree char *chained = us_provider_probe_pick_model (us_proxy_get_config (f->proxy), "chat");
  g_autofree char *preset = us_provider_probe_pick_model (us_proxy_get_config (f->proxy), "anthropic");
  g_autofree char *none = us_provider_probe_pick_model (us_proxy_get_config (f->proxy), "closed");

  /* "*" is the client's model, not one to test with: the preset's instead. */
  g_assert_cmpstr (chained, ==, "gpt-fake");
  g_assert_cmpstr (preset, ==, us_preset_lookup ("anthropic")->model);
  g_assert_null (none);
}

static void
test_presets (void)
{
  guint n;
  const UsPreset *presets = us_presets_get (&n);

  g_assert_cmpuint (n, >=, 13);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(JsonObject) provider = us_preset_to_provider (&presets[i], NULL);
      g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), provider);
      g_autofree char *provider_json = json_to_string (node, FALSE);
      g_autofree char *json = NULL;
      g_autoptr(UsConfig) config = NULL;
      g_autoptr(GError) error = NULL;
      const UsProviderConfig *parsed;

      g_assert_true (us_preset_lookup (presets[i].id) == &presets[i]);
      g_assert_false (g_str_has_suffix (presets[i].base_url, "/"));
      g_assert_true (presets[i].auth == US_AUTH_KEY ? presets[i].key_env != NULL : presets[i].key_env == NULL);
      /* Each preset's provider is one the config accepts as it is. */
      json = g_strdup_printf ("{ \"version\": 1, \"providers\": [ %s ], \"chains\": [ { \"id\": \"c\", "
                              "\"models\": [ { \"provider\": \"%s\", \"model\": \"%s\" } ] } ] }",
                              provider_json, presets[i].id, presets[i].model);
      config = us_config_new_from_data (json, -1, &error);
      g_assert_no_error (error);
      parsed = us_config_lookup_provider (config, presets[i].id);
      g_assert_cmpstr (parsed->base_url, ==, presets[i].base_url);
      g_assert_cmpint (parsed->kind, ==, presets[i].kind);
      g_assert_cmpint (parsed->auth, ==, presets[i].auth);
    }
  g_assert_cmpstr (us_preset_lookup ("gemini")->base_url, ==, "https://generativelanguage.googleapis.com/v1beta/openai");
  g_assert_cmpstr (us_preset_lookup ("ollama")->base_url, ==, "http://127.0.0.1:11434/v1");
  g_assert_cmpint (us_preset_lookup ("ollama")->auth, ==, US_AUTH_NONE);
  g_assert_null (us_preset_lookup ("nope"));
}

int
main (int   argc,
      char *argv[])
{
  /* Before any thread exists (setenv is not thread-safe). */
  g_setenv ("US_TEST_PROBE_KEY", PROBE_KEY, TRUE);
  g_unsetenv ("US_TEST_PROBE_UNSET");
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/presets/table", test_presets);
  g_test_add ("/probe/answer", Fixture, NULL, fixture_set_up, test_answer, fixture_tear_down);
  g_test_add ("/probe/key-rejected", Fixture, NULL, fixture_set_up, test_key_rejected, fixture_tear_down);
  g_test_add ("/probe/connection-refused", Fixture, NULL, fixture_set_up, test_connection_refused, fixture_tear_down);
  g_test_add ("/probe/timeout", Fixture, NULL, fixture_set_up, test_timeout, fixture_tear_down);
  g_test_add ("/probe/pick-model", Fixture, NULL, fixture_set_up, test_pick_model, fixture_tear_down);
  return g_test_run ();
}
