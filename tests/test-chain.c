/* test-chain.c: one chain across every kind of provider, failing over one
 * hop at a time, each hop authenticated the way that provider requires:
 *
 *   Anthropic, the client's own login (passthrough)
 *   → Bedrock, SigV4 from the AWS variables (the fake recomputes it)
 *   → Vertex AI, a Google token from authorized-user credentials (the fake
 *     model endpoint takes only the token the fake token endpoint issued)
 *   → OpenAI Chat, an API key from key_env
 *   → Ollama, no key (a local preset, probed first).
 *
 * Each provider in turn answers 429, and the next one serves the same
 * Claude Code request.
 */
#include <glib/gstdio.h>

#include "us-fake-bedrock.h"
#include "us-fake-google-token.h"
#include "test-util.h"

#define SUBSCRIPTION "sk-ant-oat01-chain-subscription"
#define KEY_ID "AKIDCHAINTEST"
#define SECRET "chain/secret+key0123456789abcdefghijk"
#define OPENAI_KEY "sk-openai-chain-key"
#define BODY "{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":64,\"stream\":true," \
             "\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}"

typedef struct {
  UsFakeProvider *anthropic;
  UsFakeBedrock *bedrock;
  UsFakeGoogleToken *token;
  UsFakeProvider *vertex;
  UsFakeProvider *openai;
  UsFakeProvider *ollama;
  char *dir;
  UsProxy *proxy;
  TestClient *client;
} Fixture;

static void
on_token_issued (UsFakeGoogleToken *token,
                 const char        *issued,
                 UsFakeProvider    *vertex)
{
  us_fake_provider_set_required_key (vertex, issued);
}

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *credentials = NULL;
  g_autofree char *credentials_json = NULL;
  g_autofree char *json = NULL;

  f->anthropic = us_fake_provider_new (US_FAKE_FORMAT_ANTHROPIC);
  us_fake_provider_set_required_key (f->anthropic, SUBSCRIPTION);

  g_setenv ("AWS_ACCESS_KEY_ID", KEY_ID, TRUE);
  g_setenv ("AWS_SECRET_ACCESS_KEY", SECRET, TRUE);
  g_unsetenv ("AWS_SESSION_TOKEN");
  f->bedrock = us_fake_bedrock_new ("us-east-1", KEY_ID, SECRET, NULL);

  f->token = us_fake_google_token_new ();
  us_fake_google_token_add_authorized_user (f->token, "cid.apps.googleusercontent.com", "csecret", "refresh-chain");
  f->vertex = us_fake_provider_new (US_FAKE_FORMAT_ANTHROPIC);
  us_fake_provider_set_vertex (f->vertex, "chain-project", "us-east5");
  /* Nothing is taken before a token is issued, then only that token. */
  us_fake_provider_set_required_key (f->vertex, "no-token-issued-yet");
  g_signal_connect (f->token, "token-issued", G_CALLBACK (on_token_issued), f->vertex);
  f->dir = g_dir_make_tmp ("understudy-chain-XXXXXX", &error);
  g_assert_no_error (error);
  credentials = g_build_filename (f->dir, "adc.json", NULL);
  credentials_json = g_strdup_printf ("{ \"type\": \"authorized_user\", \"client_id\": \"cid.apps.googleusercontent.com\","
                                      " \"client_secret\": \"csecret\", \"refresh_token\": \"refresh-chain\","
                                      " \"token_uri\": \"%s\" }", us_fake_google_token_get_uri (f->token));
  g_file_set_contents (credentials, credentials_json, -1, &error);
  g_assert_no_error (error);

  f->openai = us_fake_provider_new (US_FAKE_FORMAT_OPENAI_CHAT);
  us_fake_provider_set_required_key (f->openai, OPENAI_KEY);
  g_setenv ("US_TEST_CHAIN_OPENAI_KEY", OPENAI_KEY, TRUE);
  f->ollama = us_fake_provider_new (US_FAKE_FORMAT_OPENAI_CHAT);
  us_fake_provider_set_text (f->ollama, "the local model says hi");

  json = g_strdup_printf (
    "{ \"version\": 1,"
    "  \"listen\": { \"host\": \"127.0.0.1\", \"port\": 0, \"token\": \"" TEST_TOKEN "\" },"
    "  \"providers\": ["
    "    { \"id\": \"anthropic\", \"kind\": \"anthropic\", \"base_url\": \"%s\", \"auth\": \"passthrough\" },"
    "    { \"id\": \"bedrock\", \"kind\": \"bedrock\", \"region\": \"us-east-1\", \"base_url\": \"%s\" },"
    "    { \"id\": \"vertex\", \"kind\": \"vertex-anthropic\", \"project\": \"chain-project\", \"region\": \"us-east5\","
    "      \"base_url\": \"%s\", \"credentials_file\": \"%s\" },"
    "    { \"id\": \"openai\", \"kind\": \"openai-chat\", \"base_url\": \"%s/v1\", \"key_env\": \"US_TEST_CHAIN_OPENAI_KEY\" },"
    "    { \"id\": \"ollama\", \"base_url\": \"%s/v1\" } ],"
    "  \"chains\": [ { \"id\": \"default\", \"match\": [\"*\"], \"models\": ["
    "    { \"provider\": \"anthropic\", \"model\": \"*\" },"
    "    { \"provider\": \"bedrock\", \"model\": \"us.anthropic.claude-sonnet-4-5-20250929-v1:0\" },"
    "    { \"provider\": \"vertex\", \"model\": \"claude-sonnet-4-5@20250929\" },"
    "    { \"provider\": \"openai\", \"model\": \"gpt-test\" },"
    "    { \"provider\": \"ollama\", \"model\": \"qwen3-coder:30b\" } ] } ],"
    "  \"failover\": { \"cooldown_s\": 600 } }",
    us_fake_provider_get_base_url (f->anthropic), us_fake_bedrock_get_base_url (f->bedrock),
    us_fake_provider_get_base_url (f->vertex), credentials, us_fake_provider_get_base_url (f->openai),
    us_fake_provider_get_base_url (f->ollama));
  f->proxy = test_proxy_new (json);
  f->client = test_client_new (f->proxy);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  test_client_free (f->client);
  g_clear_object (&f->proxy);
  g_clear_object (&f->anthropic);
  g_clear_object (&f->bedrock);
  g_clear_object (&f->token);
  g_clear_object (&f->vertex);
  g_clear_object (&f->openai);
  g_clear_object (&f->ollama);
  test_remove_tree (f->dir);
  g_free (f->dir);
  g_unsetenv ("AWS_ACCESS_KEY_ID");
  g_unsetenv ("AWS_SECRET_ACCESS_KEY");
}

/* One Claude Code request; the model that served it, and its text. */
static char *
request (Fixture  *f,
         char    **text)
{
  const char * const headers[] = { "authorization", "Bearer " SUBSCRIPTION,
                                   "anthropic-version", "2023-06-01", NULL };
  g_autoptr(TestReply) reply = test_post (f->client, "/v1/messages", BODY, headers);

  g_assert_cmpuint (reply->status, ==, 200);
  *text = test_stream_text (reply->body);
  return g_strdup (soup_message_headers_get_one (reply->headers, "x-understudy-model"));
}

static void
test_step_by_step (Fixture       *f,
                   gconstpointer  data)
{
  const UsFakeStep limited = { .behavior = US_FAKE_STATUS, .status = 429, .retry_after = "600" };
  g_autofree char *served = NULL;
  g_autofree char *text = NULL;
  g_autofree char *bearer = NULL;
  const UsFakeRequest *seen;

  /* The subscription is rate limited: Bedrock, signed, serves. */
  us_fake_provider_push (f->anthropic, &limited);
  served = request (f, &text);
  g_assert_cmpstr (served, ==, "bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0");
  g_assert_cmpuint (us_fake_provider_get_n_requests (f->anthropic), ==, 1);
  seen = us_fake_provider_get_last_request (f->anthropic);
  g_assert_cmpstr (us_fake_request_get_header (seen, "authorization"), ==, "Bearer " SUBSCRIPTION);
  g_assert_cmpuint (us_fake_bedrock_get_n_requests (f->bedrock), ==, 1);
  g_assert_null (us_fake_bedrock_get_last_refusal (f->bedrock));
  g_assert_cmpuint (us_fake_google_token_get_n_requests (f->token), ==, 0);
  g_clear_pointer (&served, g_free);
  g_clear_pointer (&text, g_free);

  /* Bedrock throttles: Vertex, with the token the endpoint issued. */
  us_fake_bedrock_push (f->bedrock, &(UsFakeBedrockStep) { .behavior = US_FAKE_BEDROCK_STATUS, .status = 429,
                                                          .error_type = "ThrottlingException",
                                                          .message = "Too many requests, please wait before trying again." });
  served = request (f, &text);
  g_assert_cmpstr (served, ==, "vertex/claude-sonnet-4-5@20250929");
  g_assert_cmpuint (us_fake_provider_get_n_requests (f->anthropic), ==, 1);
  g_assert_cmpuint (us_fake_bedrock_get_n_requests (f->bedrock), ==, 2);
  g_assert_cmpuint (us_fake_google_token_get_n_requests (f->token), ==, 1);
  seen = us_fake_provider_get_last_request (f->vertex);
  bearer = g_strconcat ("Bearer ", us_fake_google_token_get_last_token (f->token), NULL);
  g_assert_cmpstr (us_fake_request_get_header (seen, "authorization"), ==, bearer);
  g_clear_pointer (&served, g_free);
  g_clear_pointer (&text, g_free);

  /* Vertex is rate limited: OpenAI, with its API key and no client login. */
  us_fake_provider_push (f->vertex, &limited);
  served = request (f, &text);
  g_assert_cmpstr (served, ==, "openai/gpt-test");
  seen = us_fake_provider_get_last_request (f->openai);
  g_assert_cmpstr (us_fake_request_get_header (seen, "authorization"), ==, "Bearer " OPENAI_KEY);
  g_assert_null (us_fake_request_get_header (seen, "anthropic-version"));
  g_clear_pointer (&served, g_free);
  g_clear_pointer (&text, g_free);

  /* OpenAI is rate limited: the local model, no key at all. */
  us_fake_provider_push (f->openai, &limited);
  served = request (f, &text);
  g_assert_cmpstr (served, ==, "ollama/qwen3-coder:30b");
  g_assert_cmpstr (text, ==, "the local model says hi");
  seen = us_fake_provider_get_last_request (f->ollama);
  g_assert_null (us_fake_request_get_header (seen, "authorization"));
  /* Every hop was asked once per request it served or refused. */
  g_assert_cmpuint (us_fake_provider_get_n_requests (f->anthropic), ==, 1);
  g_assert_cmpuint (us_fake_bedrock_get_n_requests (f->bedrock), ==, 2);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/chain/step-by-step", Fixture, NULL, fixture_set_up, test_step_by_step, fixture_tear_down);
  return g_test_run ();
}
