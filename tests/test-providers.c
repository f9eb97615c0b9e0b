/* test-providers.c: presets (fields, model tables, the Anthropic endpoint
 * some vendors offer) and Azure OpenAI, through a real proxy against fakes
 * that check what they receive as the real services do. */
#include <libsoup/soup.h>

#include "us-config.h"
#include "us-fake-provider.h"
#include "us-presets.h"
#include "us-proxy.h"
#include "us-upstream.h"
#include "test-util.h"

#define AZURE_KEY "azure-resource-key-0123456789"
#define BODY(stream, max) "{\"model\":\"claude-test\",\"max_tokens\":" max "," stream \
                          "\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}"
#define LISTEN "\"listen\": { \"host\": \"127.0.0.1\", \"port\": 0, \"token\": \"" TEST_TOKEN "\" },"

static UsConfig *
config_new (const char *providers,
            const char *models)
{
  g_autofree char *json = g_strdup_printf (
    "{ \"version\": 1, " LISTEN " \"providers\": [ %s ],"
    "  \"chains\": [ { \"id\": \"default\", \"match\": [\"*\"], \"models\": [ %s ] } ] }",
    providers, models);
  g_autoptr(GError) error = NULL;
  UsConfig *config = us_config_new_from_data (json, -1, &error);

  g_assert_no_error (error);
  return config;
}


/* Every preset, as its vendor documents the endpoint (written out here,
 * not read back from the table): the URL an OpenAI client's request goes
 * to, and an Anthropic client's where the vendor has an Anthropic endpoint;
 * the key where the vendor reads it, and nothing of the client's own. */
typedef struct {
  const char *id;
  const char *chat_url;
  const char *anthropic_url;   /* NULL: the vendor has none */
  gboolean    keyed;
} DocumentedEndpoint;

static const DocumentedEndpoint documented[] = {
  { "anthropic", NULL, "https://api.anthropic.com/v1/messages", FALSE },
  { "openai", "https://api.openai.com/v1/chat/completions", NULL, TRUE },
  { "deepseek", "https://api.deepseek.com/v1/chat/completions", "https://api.deepseek.com/anthropic/v1/messages", TRUE },
  { "mistral", "https://api.mistral.ai/v1/chat/completions", NULL, TRUE },
  { "xai", "https://api.x.ai/v1/chat/completions", NULL, TRUE },
  { "openrouter", "https://openrouter.ai/api/v1/chat/completions", NULL, TRUE },
  { "groq", "https://api.groq.com/openai/v1/chat/completions", NULL, TRUE },
  { "gemini", "https://generativelanguage.googleapis.com/v1beta/openai/chat/completions", NULL, TRUE },
  { "moonshot", "https://api.moonshot.ai/v1/chat/completions", "https://api.moonshot.ai/anthropic/v1/messages", TRUE },
  { "zhipu", "https://api.z.ai/api/paas/v4/chat/completions", "https://api.z.ai/api/anthropic/v1/messages", TRUE },
  { "minimax", "https://api.minimax.io/v1/chat/completions", "https://api.minimax.io/anthropic/v1/messages", TRUE },
  { "qwen", "https://dashscope-intl.aliyuncs.com/compatible-mode/v1/chat/completions", NULL, TRUE },
  { "ollama", "http://127.0.0.1:11434/v1/chat/completions", NULL, FALSE },
  { "lmstudio", "http://127.0.0.1:1234/v1/chat/completions", NULL, FALSE },
  { "llamacpp", "http://127.0.0.1:8080/v1/chat/completions", NULL, FALSE },
};

static void
assert_endpoint (const UsProviderConfig *provider,
                 UsWireFormat            client_fmt,
                 const char             *expected_url,
                 gboolean                keyed)
{
  g_autoptr(SoupMessageHeaders) client = soup_message_headers_new (SOUP_MESSAGE_HEADERS_REQUEST);
  g_autoptr(GBytes) body = g_bytes_new_static ("{}", 2);
  g_autoptr(GError) error = NULL;
  g_autoptr(SoupMessage) msg = NULL;
  g_autofree char *url = NULL;
  g_autofree char *key = g_strdup_printf ("sk-%s-test", provider->id);
  g_autofree char *bearer = g_strdup_printf ("Bearer %s", key);
  SoupMessageHeaders *sent;
  const char *value;

  /* What a client logged in elsewhere sends: never for a keyed vendor. */
  soup_message_headers_append (client, "authorization", "Bearer client-own-login");
  soup_message_headers_append (client, "x-api-key", "client-own-key");
  msg = us_upstream_new_message (provider, "some-model", keyed ? key : NULL, client_fmt, TRUE, FALSE, NULL,
                                 client, body, &error);
  g_assert_no_error (error);
  url = g_uri_to_string (soup_message_get_uri (msg));
  if (g_strcmp0 (url, expected_url) != 0)
    g_error ("%s: %s, documented %s", provider->id, url, expected_url);
  g_assert_cmpstr (soup_message_get_method (msg), ==, "POST");
  sent = soup_message_get_request_headers (msg);
  if (!keyed)
    return;
  /* OpenAI-style endpoints read a Bearer token, Anthropic-style ones
   * x-api-key (or, for some vendors, a Bearer token too). */
  if (client_fmt == US_WIRE_OPENAI_CHAT)
    g_assert_cmpstr (soup_message_headers_get_one (sent, "authorization"), ==, bearer);
  else
    g_assert_true (g_strcmp0 (soup_message_headers_get_one (sent, "x-api-key"), key) == 0
                   || g_strcmp0 (soup_message_headers_get_one (sent, "authorization"), bearer) == 0);
  /* Whatever carries a credential carries the provider's key, never the client's. */
  value = soup_message_headers_get_one (sent, "x-api-key");
  g_assert_true (value == NULL || g_str_equal (value, key));
  value = soup_message_headers_get_one (sent, "authorization");
  g_assert_true (value == NULL || g_str_equal (value, bearer));
}

static void
test_preset_endpoints (void)
{
  guint n_presets;

  /* Every preset of the table is here. */
  us_presets_get (&n_presets);
  g_assert_cmpuint (n_presets, ==, G_N_ELEMENTS (documented));
  for (guint i = 0; i < G_N_ELEMENTS (documented); i++)
    {
      const DocumentedEndpoint *d = &documented[i];
      g_autofree char *providers = g_strdup_printf ("{ \"id\": \"%s\" }", d->id);
      g_autofree char *models = g_strdup_printf ("{ \"provider\": \"%s\", \"model\": \"m\" }", d->id);
      g_autoptr(UsConfig) config = config_new (providers, models);
      const UsProviderConfig *provider = us_config_lookup_provider (config, d->id);

      g_assert_nonnull (us_preset_lookup (d->id));
      if (d->chat_url != NULL)
        assert_endpoint (provider, US_WIRE_OPENAI_CHAT, d->chat_url, d->keyed);
      if (d->anthropic_url != NULL)
        assert_endpoint (provider, US_WIRE_ANTHROPIC, d->anthropic_url, d->keyed);
    }
}

/* "preset" fills kind, base URL, auth and key variable; what the config
 * says wins. */
static void
test_preset_fields (void)
{
  g_autoptr(UsConfig) config = config_new (
    "{ \"id\": \"cheap\", \"preset\": \"deepseek\" },"
    "{ \"id\": \"mine\", \"preset\": \"deepseek\", \"base_url\": \"http://127.0.0.1:9/v1\", \"key_env\": \"MY_KEY\" },"
    "{ \"id\": \"moonshot\" }",
    "{ \"provider\": \"cheap\", \"model\": \"deepseek-chat\" }");
  const UsProviderConfig *cheap = us_config_lookup_provider (config, "cheap");
  const UsProviderConfig *mine = us_config_lookup_provider (config, "mine");
  const UsProviderConfig *moonshot = us_config_lookup_provider (config, "moonshot");

  g_assert_cmpint (cheap->kind, ==, US_PROVIDER_KIND_OPENAI_CHAT);
  g_assert_cmpstr (cheap->base_url, ==, "https://api.deepseek.com/v1");
  g_assert_cmpint (cheap->auth, ==, US_AUTH_KEY);
  g_assert_cmpstr (cheap->key_env, ==, "DEEPSEEK_API_KEY");
  g_assert_cmpstr (cheap->preset, ==, "deepseek");
  g_assert_cmpstr (cheap->anthropic_base_url, ==, "https://api.deepseek.com/anthropic");

  /* Another base URL is not the vendor: no Anthropic endpoint assumed. */
  g_assert_cmpstr (mine->base_url, ==, "http://127.0.0.1:9/v1");
  g_assert_cmpstr (mine->key_env, ==, "MY_KEY");
  g_assert_null (mine->anthropic_base_url);

  /* An id that names a preset is one. */
  g_assert_cmpstr (moonshot->preset, ==, "moonshot");
  g_assert_cmpstr (moonshot->anthropic_base_url, ==, "https://api.moonshot.ai/anthropic");
}

static void
test_preset_errors (void)
{
  test_assert_config_error ("{ \"id\": \"p\", \"preset\": \"nosuch\" }",
                       "$.providers[0].preset: expected one of: anthropic, openai, deepseek");
  test_assert_config_error ("{ \"id\": \"p\", \"preset\": 3 }", "$.providers[0].preset");
  test_assert_config_error ("{ \"id\": \"p\", \"preset\": \"deepseek\", \"kind\": \"anthropic\" }",
                       "$.providers[0].kind: preset deepseek is of kind openai-chat");
  test_assert_config_error ("{ \"id\": \"p\", \"preset\": \"deepseek\", \"anthropic_base_url\": \"ftp://x\" }",
                       "$.providers[0].anthropic_base_url");
  test_assert_config_error ("{ \"id\": \"p\", \"preset\": \"openai\", \"api_version\": \"2024-10-21\" }",
                       "$.providers[0].api_version: only an azure-openai provider takes api_version");
  test_assert_config_error ("{ \"id\": \"p\", \"kind\": \"azure-openai\", \"base_url\": \"https://r.openai.azure.com\","
                       " \"api\": \"completions\" }",
                       "$.providers[0].api: expected one of: chat, responses");
  test_assert_config_error ("{ \"id\": \"p\", \"kind\": \"azure-openai\", \"base_url\": \"https://r.openai.azure.com\","
                       " \"api_version\": \"2024&x=1\" }",
                       "$.providers[0].api_version");
}

/* Every table row is well formed, and the limits reach the chain model
 * unless the config has its own. */
static void
test_preset_models (void)
{
  guint n_presets;
  const UsPreset *presets = us_presets_get (&n_presets);
  g_autoptr(UsConfig) config = config_new (
    "{ \"id\": \"deepseek\" }",
    "{ \"provider\": \"deepseek\", \"model\": \"deepseek-chat\" },"
    "{ \"provider\": \"deepseek\", \"model\": \"deepseek-reasoner\", \"max_output_tokens\": 1000 },"
    "{ \"provider\": \"deepseek\", \"model\": \"not-in-table\" }");
  GPtrArray *models = us_config_lookup_chain (config, "default")->models;
  const UsChainModel *chat = g_ptr_array_index (models, 0);
  const UsChainModel *reasoner = g_ptr_array_index (models, 1);
  const UsChainModel *other = g_ptr_array_index (models, 2);

  g_assert_cmpuint (n_presets, ==, 15);
  for (guint i = 0; i < n_presets; i++)
    for (const UsPresetModel *m = presets[i].models; m->id != NULL; m++)
      {
        g_assert_true (us_preset_lookup_model (&presets[i], m->id) == m);
        g_assert_cmpint (m->context_tokens, >=, m->max_output_tokens);
        g_assert_true (m->input >= 0 && m->output >= m->input);
      }

  g_assert_cmpint (chat->max_output_tokens, ==, 8192);
  g_assert_cmpint (chat->context_tokens, ==, 128000);
  g_assert_nonnull (chat->price);
  g_assert_cmpfloat (chat->price->input, ==, 0.56);
  g_assert_cmpfloat (chat->price->cache_read, ==, 0.07);
  g_assert_cmpint (reasoner->max_output_tokens, ==, 1000);
  g_assert_cmpint (reasoner->context_tokens, ==, 128000);
  g_assert_cmpint (other->max_output_tokens, ==, 0);
  g_assert_null (other->price);
}

static void
assert_header (const UsFakeRequest *request,
               const char          *name,
               const char          *value)
{
  g_assert_cmpstr (us_fake_request_get_header (request, name), ==, value);
}

/* Claude Code asks for 128,000 tokens; DeepSeek's table says 8K. Through
 * the OpenAI endpoint (a translated body) the request is clamped. */
static void
test_preset_clamp (void)
{
  g_autoptr(UsFakeProvider) chat = us_fake_provider_new (US_FAKE_FORMAT_OPENAI_CHAT);
  g_autofree char *providers = g_strdup_printf (
    "{ \"id\": \"deepseek\", \"base_url\": \"%s/v1\" }", us_fake_provider_get_base_url (chat));
  g_autofree char *json = g_strdup_printf (
    "{ \"version\": 1, " LISTEN " \"providers\": [ %s ],"
    "  \"chains\": [ { \"id\": \"default\", \"match\": [\"*\"], \"models\": ["
    "    { \"provider\": \"deepseek\", \"model\": \"deepseek-chat\" } ] } ] }", providers);
  g_autoptr(UsProxy) proxy = NULL;
  g_autoptr(TestClient) client = NULL;
  g_autoptr(TestReply) reply = NULL;
  const UsFakeRequest *request;

  g_setenv ("DEEPSEEK_API_KEY", "sk-deepseek-test", TRUE);
  proxy = test_proxy_new (json);
  client = test_client_new (proxy);
  reply = test_post (client, "/v1/messages", BODY ("", "128000"), NULL);
  g_assert_cmpuint (reply->status, ==, 200);
  request = us_fake_provider_get_last_request (chat);
  g_assert_cmpstr (request->path, ==, "/v1/chat/completions");
  assert_header (request, "authorization", "Bearer sk-deepseek-test");
  g_assert_cmpint (json_object_get_int_member (json_node_get_object (request->json), "max_tokens"), ==, 8192);
}

/* A preset with an Anthropic endpoint takes Anthropic clients there, in
 * their own format (x-api-key, /v1/messages); OpenAI clients still go to
 * the OpenAI endpoint. */
static void
test_preset_anthropic_endpoint (void)
{
  g_autoptr(UsFakeProvider) chat = us_fake_provider_new (US_FAKE_FORMAT_OPENAI_CHAT);
  g_autoptr(UsFakeProvider) messages = us_fake_provider_new (US_FAKE_FORMAT_ANTHROPIC);
  g_autofree char *json = g_strdup_printf (
    "{ \"version\": 1, " LISTEN " \"providers\": ["
    "    { \"id\": \"ds\", \"preset\": \"deepseek\", \"base_url\": \"%s/v1\", \"anthropic_base_url\": \"%s\" } ],"
    "  \"chains\": [ { \"id\": \"default\", \"match\": [\"*\"], \"models\": ["
    "    { \"provider\": \"ds\", \"model\": \"deepseek-chat\" } ] } ] }",
    us_fake_provider_get_base_url (chat), us_fake_provider_get_base_url (messages));
  g_autoptr(UsProxy) proxy = NULL;
  g_autoptr(TestClient) client = NULL;
  g_autoptr(TestReply) reply = NULL;
  g_autoptr(TestReply) openai_reply = NULL;
  const UsFakeRequest *request;
  JsonObject *body;

  g_setenv ("DEEPSEEK_API_KEY", "sk-deepseek-test", TRUE);
  us_fake_provider_set_required_key (messages, "sk-deepseek-test");
  proxy = test_proxy_new (json);
  client = test_client_new (proxy);

  reply = test_post (client, "/v1/messages", BODY ("\"stream\":true,", "128000"), NULL);
  g_assert_cmpuint (reply->status, ==, 200);
  g_assert_nonnull (strstr (reply->body, "event: message_stop"));
  g_assert_cmpuint (us_fake_provider_get_n_requests (chat), ==, 0);
  request = us_fake_provider_get_last_request (messages);
  g_assert_cmpstr (request->path, ==, "/v1/messages");
  assert_header (request, "x-api-key", "sk-deepseek-test");
  g_assert_null (us_fake_request_get_header (request, "authorization"));
  body = json_node_get_object (request->json);
  g_assert_cmpstr (json_object_get_string_member (body, "model"), ==, "deepseek-chat");
  g_assert_cmpint (json_object_get_int_member (body, "max_tokens"), ==, 8192);

  openai_reply = test_post (client, "/v1/chat/completions",
                            "{\"model\":\"gpt-x\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", NULL);
  g_assert_cmpuint (openai_reply->status, ==, 200);
  g_assert_cmpuint (us_fake_provider_get_n_requests (chat), ==, 1);
  g_assert_cmpstr (us_fake_provider_get_last_request (chat)->path, ==, "/v1/chat/completions");
}

/* ------------------------------------------------------------------------ */
/* Azure OpenAI                                                             */

static TestReply *
azure_post (UsFakeProvider *fake,
            const char     *path,
            const char     *key,
            const char     *body)
{
  g_autofree char *url = g_strconcat (us_fake_provider_get_base_url (fake), path, NULL);
  g_autoptr(SoupMessage) msg = soup_message_new ("POST", url);
  g_autoptr(GBytes) bytes = g_bytes_new (body, strlen (body));

  if (key != NULL)
    soup_message_headers_replace (soup_message_get_request_headers (msg), "api-key", key);
  soup_message_set_request_body_from_bytes (msg, "application/json", bytes);
  return test_send (msg);
}

static void
assert_azure_error (TestReply  *reply,
                    guint       status,
                    const char *code)
{
  g_autoptr(JsonNode) node = json_from_string (reply->body, NULL);

  g_assert_cmpuint (reply->status, ==, status);
  g_assert_nonnull (node);
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (json_node_get_object (node), "error"),
                                                  "code"), ==, code);
}

/* The fake itself refuses what Azure refuses, so the proxy tests below
 * cannot pass with a wrong path, version or header. */
static void
test_azure_fake (void)
{
  static const char * const deployments[] = { "gpt-deploy", NULL };
  g_autoptr(UsFakeProvider) chat = us_fake_provider_new (US_FAKE_FORMAT_OPENAI_CHAT);
  g_autoptr(UsFakeProvider) responses = us_fake_provider_new (US_FAKE_FORMAT_OPENAI_RESPONSES);
  const char *chat_body = "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
  const char *good = "/openai/deployments/gpt-deploy/chat/completions?api-version=2024-10-21";
  struct {
    const char *path;
    const char *key;
    guint status;
    const char *code;
  } cases[] = {
    { good, NULL, 401, "401" },
    { good, "wrong", 401, "401" },
    { "/openai/deployments/other/chat/completions?api-version=2024-10-21", AZURE_KEY, 404, "DeploymentNotFound" },
    { "/openai/deployments/gpt-deploy/chat/completions?api-version=2023-01-01", AZURE_KEY, 404, "404" },
    { "/openai/deployments/gpt-deploy/chat/completions", AZURE_KEY, 404, "404" },
    { "/v1/chat/completions", AZURE_KEY, 404, "404" },
  };

  us_fake_provider_set_azure (chat, "2024-10-21", deployments);
  us_fake_provider_set_required_key (chat, AZURE_KEY);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(TestReply) reply = azure_post (chat, cases[i].path, cases[i].key, chat_body);

      assert_azure_error (reply, cases[i].status, cases[i].code);
    }
  {
    g_autoptr(TestReply) reply = azure_post (chat, good, AZURE_KEY, chat_body);

    g_assert_cmpuint (reply->status, ==, 200);
    g_assert_nonnull (strstr (reply->body, "chat.completion"));
  }

  us_fake_provider_set_azure (responses, "2024-10-21", deployments);
  us_fake_provider_set_required_key (responses, AZURE_KEY);
  {
    g_autoptr(TestReply) unknown = azure_post (responses, "/openai/v1/responses", AZURE_KEY,
                                               "{\"model\":\"other\",\"input\":\"hi\"}");
    g_autoptr(TestReply) ok = azure_post (responses, "/openai/v1/responses", AZURE_KEY,
                                          "{\"model\":\"gpt-deploy\",\"input\":\"hi\"}");

    assert_azure_error (unknown, 404, "DeploymentNotFound");
    g_assert_cmpuint (ok->status, ==, 200);
  }
}

typedef struct {
  UsFakeProvider *primary;
  UsFakeProvider *azure;
  UsProxy *proxy;
  TestClient *client;
} Fixture;

/* An Anthropic primary that is overloaded, then Azure with @azure_fields. */
static void
fixture_set_up_with (Fixture         *f,
                     UsFakeFormat     azure_format,
                     const char      *azure_fields,
                     const char      *deployment)
{
  static const char * const deployments[] = { "gpt-deploy", NULL };
  g_autofree char *json = NULL;

  f->primary = us_fake_provider_new (US_FAKE_FORMAT_ANTHROPIC);
  f->azure = us_fake_provider_new (azure_format);
  us_fake_provider_set_text (f->azure, "azure says hi");
  us_fake_provider_set_azure (f->azure, "2024-10-21", deployments);
  us_fake_provider_set_required_key (f->azure, AZURE_KEY);
  us_fake_provider_push_status (f->primary, 529, NULL);
  json = g_strdup_printf (
    "{ \"version\": 1, " LISTEN
    "  \"providers\": ["
    "    { \"id\": \"primary\", \"kind\": \"anthropic\", \"base_url\": \"%s\", \"auth\": \"passthrough\" },"
    "    { \"id\": \"azure\", \"kind\": \"azure-openai\", \"base_url\": \"%s\", \"auth\": \"key\","
    "      \"key_env\": \"US_TEST_AZURE_KEY\" %s } ],"
    "  \"chains\": [ { \"id\": \"default\", \"match\": [\"*\"], \"models\": ["
    "    { \"provider\": \"primary\", \"model\": \"*\" },"
    "    { \"provider\": \"azure\", \"model\": \"%s\" } ] } ] }",
    us_fake_provider_get_base_url (f->primary), us_fake_provider_get_base_url (f->azure),
    azure_fields, deployment);
  g_setenv ("US_TEST_AZURE_KEY", AZURE_KEY, TRUE);
  f->proxy = test_proxy_new (json);
  f->client = test_client_new (f->proxy);
}

static void
fixture_tear_down (Fixture *f)
{
  test_client_free (f->client);
  g_clear_object (&f->proxy);
  g_clear_object (&f->primary);
  g_clear_object (&f->azure);
}

static void
assert_served_by_azure (Fixture   *f,
                        TestReply *reply,
                        gboolean   stream)
{
  g_autofree char *text = stream ? test_stream_text (reply->body) : NULL;

  g_assert_cmpuint (reply->status, ==, 200);
  g_assert_cmpstr (soup_message_headers_get_one (reply->headers, "x-understudy-model"), ==, "azure/gpt-deploy");
  if (stream)
    g_assert_cmpstr (text, ==, "azure says hi");
  else
    g_assert_nonnull (strstr (reply->body, "\"text\":\"azure says hi\""));
}

static void
test_azure_chat_failover (gconstpointer data)
{
  gboolean stream = GPOINTER_TO_INT (data);
  Fixture f = { 0 };
  g_autoptr(TestReply) reply = NULL;
  const UsFakeRequest *request;

  fixture_set_up_with (&f, US_FAKE_FORMAT_OPENAI_CHAT, "", "gpt-deploy");
  reply = test_post (f.client, "/v1/messages",
                     stream ? BODY ("\"stream\":true,", "64") : BODY ("", "64"), NULL);
  assert_served_by_azure (&f, reply, stream);
  request = us_fake_provider_get_last_request (f.azure);
  g_assert_cmpstr (request->path, ==, "/openai/deployments/gpt-deploy/chat/completions?api-version=2024-10-21");
  assert_header (request, "api-key", AZURE_KEY);
  g_assert_null (us_fake_request_get_header (request, "authorization"));
  g_assert_cmpint (us_fake_request_get_stream (request), ==, stream);
  fixture_tear_down (&f);
}

static void
test_azure_api_version (void)
{
  Fixture f = { 0 };
  g_autoptr(TestReply) reply = NULL;

  /* The fake wants 2024-10-21: another configured version gets Azure's 404. */
  fixture_set_up_with (&f, US_FAKE_FORMAT_OPENAI_CHAT, ", \"api_version\": \"2025-04-01-preview\"", "gpt-deploy");
  reply = test_post (f.client, "/v1/messages", BODY ("", "64"), NULL);
  g_assert_cmpuint (reply->status, !=, 200);
  g_assert_cmpuint (us_fake_provider_get_n_requests (f.azure), ==, 1);
  g_assert_cmpstr (us_fake_provider_get_last_request (f.azure)->path, ==,
                   "/openai/deployments/gpt-deploy/chat/completions?api-version=2025-04-01-preview");
  fixture_tear_down (&f);
}

static void
test_azure_unknown_deployment (void)
{
  Fixture f = { 0 };
  g_autoptr(TestReply) reply = NULL;

  fixture_set_up_with (&f, US_FAKE_FORMAT_OPENAI_CHAT, "", "no-such-deploy");
  reply = test_post (f.client, "/v1/messages", BODY ("", "64"), NULL);
  g_assert_cmpuint (reply->status, !=, 200);
  g_assert_cmpuint (us_fake_provider_get_n_requests (f.azure), ==, 1);
  g_assert_cmpstr (us_fake_provider_get_last_request (f.azure)->path, ==,
                   "/openai/deployments/no-such-deploy/chat/completions?api-version=2024-10-21");
  fixture_tear_down (&f);
}

static void
test_azure_wrong_key (void)
{
  Fixture f = { 0 };
  g_autoptr(TestReply) reply = NULL;

  fixture_set_up_with (&f, US_FAKE_FORMAT_OPENAI_CHAT, "", "gpt-deploy");
  g_setenv ("US_TEST_AZURE_KEY", "not-the-key", TRUE);
  reply = test_post (f.client, "/v1/messages", BODY ("", "64"), NULL);
  g_assert_cmpuint (reply->status, !=, 200);
  g_assert_cmpuint (us_fake_provider_get_n_requests (f.azure), ==, 1);
  assert_header (us_fake_provider_get_last_request (f.azure), "api-key", "not-the-key");
  fixture_tear_down (&f);
}

static void
test_azure_responses_failover (gconstpointer data)
{
  gboolean stream = GPOINTER_TO_INT (data);
  Fixture f = { 0 };
  g_autoptr(TestReply) reply = NULL;
  const UsFakeRequest *request;

  fixture_set_up_with (&f, US_FAKE_FORMAT_OPENAI_RESPONSES, ", \"api\": \"responses\"", "gpt-deploy");
  reply = test_post (f.client, "/v1/messages",
                     stream ? BODY ("\"stream\":true,", "64") : BODY ("", "64"), NULL);
  assert_served_by_azure (&f, reply, stream);
  request = us_fake_provider_get_last_request (f.azure);
  g_assert_cmpstr (request->path, ==, "/openai/v1/responses");
  g_assert_cmpstr (us_fake_request_get_model (request), ==, "gpt-deploy");
  assert_header (request, "api-key", AZURE_KEY);
  fixture_tear_down (&f);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/providers/preset/fields", test_preset_fields);
  g_test_add_func ("/providers/preset/errors", test_preset_errors);
  g_test_add_func ("/providers/preset/models", test_preset_models);
  g_test_add_func ("/providers/preset/endpoints", test_preset_endpoints);
  g_test_add_func ("/providers/preset/clamp", test_preset_clamp);
  g_test_add_func ("/providers/preset/anthropic-endpoint", test_preset_anthropic_endpoint);
  g_test_add_func ("/providers/azure/fake", test_azure_fake);
  g_test_add_data_func ("/providers/azure/chat/streamed", GINT_TO_POINTER (TRUE), test_azure_chat_failover);
  g_test_add_data_func ("/providers/azure/chat/whole", GINT_TO_POINTER (FALSE), test_azure_chat_failover);
  g_test_add_func ("/providers/azure/api-version", test_azure_api_version);
  g_test_add_func ("/providers/azure/unknown-deployment", test_azure_unknown_deployment);
  g_test_add_func ("/providers/azure/wrong-key", test_azure_wrong_key);
  g_test_add_data_func ("/providers/azure/responses/streamed", GINT_TO_POINTER (TRUE), test_azure_responses_failover);
  g_test_add_data_func ("/providers/azure/responses/whole", GINT_TO_POINTER (FALSE), test_azure_responses_failover);
  return g_test_run ();
}
