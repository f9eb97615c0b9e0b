/* test-bedrock.c: the bedrock provider through a real proxy, against a
 * fake Bedrock that recomputes each SigV4 signature from what it receives
 * and answers in AWS event-stream framing; and the event-stream decoder
 * on its own, cut at every byte. */
#include <libsoup/soup.h>
#include <glib/gstdio.h>
#include <string.h>

#include "us-config.h"
#include "us-event-stream.h"
#include "us-fake-bedrock.h"
#include "us-fake-provider.h"
#include "us-provider-probe.h"
#include "us-proxy.h"
#include "test-util.h"

#define KEY_ID "AKIDBEDROCKTEST"
#define SECRET "bedrock/secret+key0123456789abcdefghijk"
#define MODEL "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
/* As Claude Code sends it: metadata and context_management, which Bedrock refuses. */
#define BODY(stream) "{\"model\":\"claude-test\",\"max_tokens\":64," stream \
                     "\"metadata\":{\"user_id\":\"u1\"},\"context_management\":{\"edits\":[]}," \
                     "\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}"
#define CHAT_BODY(stream) "{\"model\":\"gpt-test\"," stream "\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}"
#define LISTEN "\"listen\": { \"host\": \"127.0.0.1\", \"port\": 0, \"token\": \"" TEST_TOKEN "\" },"

/* ---- Config --------------------------------------------------------------- */


static const UsProviderConfig *
parse_one (const char *provider,
           UsConfig  **out)
{
  g_autofree char *json = g_strdup_printf (
    "{ \"version\": 1, " LISTEN " \"providers\": [ %s ],"
    "  \"chains\": [ { \"id\": \"default\", \"match\": [\"*\"], \"models\": ["
    "    { \"provider\": \"p\", \"model\": \"m\" } ] } ] }", provider);
  g_autoptr(GError) error = NULL;

  *out = us_config_new_from_data (json, -1, &error);
  g_assert_no_error (error);
  return us_config_lookup_provider (*out, "p");
}

static void
test_config (void)
{
  g_autoptr(UsConfig) a = NULL;
  g_autoptr(UsConfig) b = NULL;
  const UsProviderConfig *p;

  p = parse_one ("{ \"id\": \"p\", \"kind\": \"bedrock\", \"region\": \"eu-west-1\" }", &a);
  g_assert_cmpstr (p->base_url, ==, "https://bedrock-runtime.eu-west-1.amazonaws.com");
  g_assert_cmpint (p->auth, ==, US_AUTH_AWS);
  g_assert_cmpstr (p->region, ==, "eu-west-1");
  g_assert_null (p->key_env);
  p = parse_one ("{ \"id\": \"p\", \"kind\": \"bedrock\", \"region\": \"us-east-1\", \"auth\": \"key\","
                 " \"base_url\": \"https://vpce.example.com/\" }", &b);
  g_assert_cmpstr (p->base_url, ==, "https://vpce.example.com");
  g_assert_cmpstr (p->key_env, ==, "AWS_BEARER_TOKEN_BEDROCK");

  test_assert_config_error ("{ \"id\": \"p\", \"kind\": \"bedrock\" }", "$.providers[0].region: expected a non-empty string");
  test_assert_config_error ("{ \"id\": \"p\", \"kind\": \"bedrock\", \"region\": \"us east\" }",
                       "$.providers[0].region: expected an AWS region");
  test_assert_config_error ("{ \"id\": \"p\", \"kind\": \"bedrock\", \"region\": \"us-east-1\", \"aws_profile\": 3 }",
                       "$.providers[0].aws_profile");
  test_assert_config_error ("{ \"id\": \"p\", \"kind\": \"bedrock\", \"region\": \"us-east-1\", \"auth\": \"passthrough\" }",
                       "$.providers[0].auth: expected aws or key for a bedrock provider");
  test_assert_config_error ("{ \"id\": \"p\", \"kind\": \"bedrock\", \"region\": \"us-east-1\", \"key_env\": \"X\" }",
                       "$.providers[0].key_env: auth: aws takes");
  test_assert_config_error ("{ \"id\": \"p\", \"kind\": \"openai-chat\", \"base_url\": \"https://x\", \"auth\": \"aws\" }",
                       "$.providers[0].auth");
  test_assert_config_error ("{ \"id\": \"p\", \"kind\": \"openai-chat\", \"base_url\": \"https://x\", \"aws_profile\": \"d\" }",
                       "$.providers[0].aws_profile: only a bedrock provider takes aws_profile");
}

/* ---- Through the proxy ---------------------------------------------------- */

typedef struct {
  UsFakeProvider *primary;
  UsFakeBedrock *bedrock;
  UsFakeProvider *last;     /* after bedrock: OpenAI chat */
  UsProxy *proxy;
  TestClient *client;
} Fixture;

/* Anthropic (429 once) → Bedrock's @model (@bedrock_fields) → an OpenAI
 * fallback. */
static void
fixture_set_up_model (Fixture    *f,
                      const char *model,
                      const char *bedrock_fields,
                      const char *region_served,
                      const char *session_token)
{
  g_autofree char *json = NULL;

  f->primary = us_fake_provider_new (US_FAKE_FORMAT_ANTHROPIC);
  f->bedrock = us_fake_bedrock_new (region_served, KEY_ID, SECRET, session_token);
  f->last = us_fake_provider_new (US_FAKE_FORMAT_OPENAI_CHAT);
  us_fake_provider_set_text (f->last, "fallback says hi");
  us_fake_provider_push_status (f->primary, 429, NULL);
  json = g_strdup_printf (
    "{ \"version\": 1, " LISTEN
    "  \"providers\": ["
    "    { \"id\": \"primary\", \"kind\": \"anthropic\", \"base_url\": \"%s\", \"auth\": \"passthrough\" },"
    "    { \"id\": \"bedrock\", \"kind\": \"bedrock\", \"base_url\": \"%s\" %s },"
    "    { \"id\": \"last\", \"kind\": \"openai-chat\", \"base_url\": \"%s/v1\", \"auth\": \"none\" } ],"
    "  \"chains\": [ { \"id\": \"default\", \"match\": [\"*\"], \"models\": ["
    "    { \"provider\": \"primary\", \"model\": \"*\" },"
    "    { \"provider\": \"bedrock\", \"model\": \"%s\" },"
    "    { \"provider\": \"last\", \"model\": \"gpt-x\" } ] } ] }",
    us_fake_provider_get_base_url (f->primary), us_fake_bedrock_get_base_url (f->bedrock), bedrock_fields,
    us_fake_provider_get_base_url (f->last), model);
  f->proxy = test_proxy_new (json);
  f->client = test_client_new (f->proxy);
}

static void
fixture_set_up (Fixture    *f,
                const char *bedrock_fields,
                const char *region_served,
                const char *session_token)
{
  fixture_set_up_model (f, MODEL, bedrock_fields, region_served, session_token);
}

static void
fixture_tear_down (Fixture *f)
{
  test_client_free (f->client);
  g_clear_object (&f->proxy);
  g_clear_object (&f->primary);
  g_clear_object (&f->bedrock);
  g_clear_object (&f->last);
  g_unsetenv ("AWS_ACCESS_KEY_ID");
  g_unsetenv ("AWS_SECRET_ACCESS_KEY");
  g_unsetenv ("AWS_SESSION_TOKEN");
  g_unsetenv ("AWS_SHARED_CREDENTIALS_FILE");
  g_unsetenv ("AWS_BEARER_TOKEN_BEDROCK");
}

static void
set_env_keys (void)
{
  g_setenv ("AWS_ACCESS_KEY_ID", KEY_ID, TRUE);
  g_setenv ("AWS_SECRET_ACCESS_KEY", SECRET, TRUE);
}

static void
assert_served_by (TestReply  *reply,
                  const char *model,
                  const char *text,
                  gboolean    stream)
{
  g_autofree char *got = stream ? test_stream_text (reply->body) : NULL;

  g_assert_cmpuint (reply->status, ==, 200);
  g_assert_cmpstr (soup_message_headers_get_one (reply->headers, "x-understudy-model"), ==, model);
  if (stream)
    g_assert_cmpstr (got, ==, text);
  else
    g_assert_nonnull (strstr (reply->body, text));
}

static void
assert_bedrock_request (Fixture  *f,
                        gboolean  stream)
{
  JsonObject *body = us_fake_bedrock_get_last_body (f->bedrock);

  /* Encoded once on the wire; the fake checked the signature over it
   * encoded twice. */
  g_assert_cmpstr (us_fake_bedrock_get_last_path (f->bedrock), ==,
                   stream ? "/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/invoke-with-response-stream"
                          : "/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/invoke");
  g_assert_null (us_fake_bedrock_get_last_refusal (f->bedrock));
  g_assert_cmpstr (json_object_get_string_member (body, "anthropic_version"), ==, "bedrock-2023-05-31");
  g_assert_false (json_object_has_member (body, "model"));
  g_assert_false (json_object_has_member (body, "stream"));
  g_assert_cmpint (json_object_get_int_member (body, "max_tokens"), >, 0);
  g_assert_nonnull (json_object_get_array_member (body, "messages"));
}

/* Anthropic 429 → Bedrock serves an Anthropic client, streamed or not. */
static void
test_failover_anthropic (gconstpointer data)
{
  gboolean stream = GPOINTER_TO_INT (data);
  Fixture f = { 0 };
  g_autoptr(TestReply) reply = NULL;

  set_env_keys ();
  fixture_set_up (&f, ", \"region\": \"eu-central-1\"", "eu-central-1", NULL);
  reply = test_post (f.client, "/v1/messages", stream ? BODY ("\"stream\":true,") : BODY (""), NULL);
  assert_served_by (reply, "bedrock/" MODEL, "bedrock says hi", stream);
  if (stream)
    {
      g_assert_nonnull (strstr (reply->body, "event: message_stop"));
      g_assert_null (strstr (reply->body, "\"p\":"));
    }
  g_assert_cmpuint (us_fake_bedrock_get_n_requests (f.bedrock), ==, 1);
  assert_bedrock_request (&f, stream);
  fixture_tear_down (&f);
}

/* The same for an OpenAI Chat client, through the translation hub. */
static void
test_failover_openai (gconstpointer data)
{
  gboolean stream = GPOINTER_TO_INT (data);
  Fixture f = { 0 };
  g_autoptr(TestReply) reply = NULL;

  set_env_keys ();
  fixture_set_up (&f, ", \"region\": \"eu-central-1\"", "eu-central-1", NULL);
  reply = test_post (f.client, "/v1/chat/completions", stream ? CHAT_BODY ("\"stream\":true,") : CHAT_BODY (""), NULL);
  g_assert_cmpuint (reply->status, ==, 200);
  g_assert_cmpstr (soup_message_headers_get_one (reply->headers, "x-understudy-model"), ==, "bedrock/" MODEL);
  if (stream)
    {
      g_assert_nonnull (strstr (reply->body, "\"content\":\"bedrock"));
      g_assert_nonnull (strstr (reply->body, "data: [DONE]"));
    }
  else
    g_assert_nonnull (strstr (reply->body, "\"content\":\"bedrock says hi\""));
  assert_bedrock_request (&f, stream);
  fixture_tear_down (&f);
}

/* Signed for another region: AWS's 403, and the chain goes on. */
static void
test_wrong_region (void)
{
  Fixture f = { 0 };
  g_autoptr(TestReply) reply = NULL;

  set_env_keys ();
  fixture_set_up (&f, ", \"region\": \"us-west-2\"", "eu-central-1", NULL);
  reply = test_post (f.client, "/v1/messages", BODY (""), NULL);
  g_assert_cmpuint (us_fake_bedrock_get_n_requests (f.bedrock), ==, 1);
  g_assert_cmpstr (us_fake_bedrock_get_last_refusal (f.bedrock), ==, "signed for region us-west-2, this is eu-central-1");
  assert_served_by (reply, "last/gpt-x", "fallback says hi", FALSE);
  fixture_tear_down (&f);
}

/* A wrong secret: the recomputed signature differs. */
static void
test_wrong_secret (void)
{
  Fixture f = { 0 };
  g_autoptr(TestReply) reply = NULL;

  g_setenv ("AWS_ACCESS_KEY_ID", KEY_ID, TRUE);
  g_setenv ("AWS_SECRET_ACCESS_KEY", "not-the-secret", TRUE);
  fixture_set_up (&f, ", \"region\": \"eu-central-1\"", "eu-central-1", NULL);
  reply = test_post (f.client, "/v1/messages", BODY ("\"stream\":true,"), NULL);
  g_assert_nonnull (strstr (us_fake_bedrock_get_last_refusal (f.bedrock), "does not match"));
  assert_served_by (reply, "last/gpt-x", "fallback says hi", TRUE);
  fixture_tear_down (&f);
}

/* Profile credentials with a session token, from the shared file. */
static void
test_profile (void)
{
  Fixture f = { 0 };
  g_autoptr(TestReply) reply = NULL;
  g_autofree char *dir = g_dir_make_tmp ("us-bedrock-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "credentials", NULL);

  g_assert_true (g_file_set_contents (path,
    "[default]\naws_access_key_id = AKIDOTHER\naws_secret_access_key = other\n\n"
    "[work]\naws_access_key_id = " KEY_ID "\naws_secret_access_key = " SECRET "\n"
    "aws_session_token = session-token-123\n", -1, NULL));
  g_setenv ("AWS_SHARED_CREDENTIALS_FILE", path, TRUE);
  fixture_set_up (&f, ", \"region\": \"ap-northeast-1\", \"aws_profile\": \"work\"", "ap-northeast-1",
                  "session-token-123");
  reply = test_post (f.client, "/v1/messages", BODY ("\"stream\":true,"), NULL);
  assert_served_by (reply, "bedrock/" MODEL, "bedrock says hi", TRUE);
  assert_bedrock_request (&f, TRUE);
  fixture_tear_down (&f);
  g_unlink (path);
  g_rmdir (dir);
}

/* auth: key: a Bedrock API key as a Bearer token, from its variable. */
static void
test_api_key (void)
{
  Fixture f = { 0 };
  g_autoptr(TestReply) reply = NULL;

  g_setenv ("AWS_BEARER_TOKEN_BEDROCK", "bedrock-api-key-abc", TRUE);
  fixture_set_up (&f, ", \"region\": \"us-east-1\", \"auth\": \"key\"", "us-east-1", NULL);
  us_fake_bedrock_set_api_key (f.bedrock, "bedrock-api-key-abc");
  reply = test_post (f.client, "/v1/messages", BODY (""), NULL);
  assert_served_by (reply, "bedrock/" MODEL, "bedrock says hi", FALSE);
  fixture_tear_down (&f);
}

/* Throttled (HTTP 429), an exception in the stream, a broken CRC before
 * any content: each moves on to the next model. */
static void
test_failover_from_bedrock (gconstpointer data)
{
  UsFakeBedrockBehavior behavior = GPOINTER_TO_INT (data);
  Fixture f = { 0 };
  g_autoptr(TestReply) reply = NULL;

  set_env_keys ();
  fixture_set_up (&f, ", \"region\": \"eu-central-1\"", "eu-central-1", NULL);
  us_fake_bedrock_push (f.bedrock, &(UsFakeBedrockStep) { .behavior = behavior, .status = 429,
                                                          .error_type = behavior == US_FAKE_BEDROCK_STATUS
                                                                        ? "ThrottlingException" : NULL,
                                                          .message = "Too many requests, please wait." });
  reply = test_post (f.client, "/v1/messages", BODY ("\"stream\":true,"), NULL);
  g_assert_cmpuint (us_fake_bedrock_get_n_requests (f.bedrock), ==, 1);
  assert_served_by (reply, "last/gpt-x", "fallback says hi", TRUE);
  fixture_tear_down (&f);
}

/* A broken message after content: the client's stream ends with a
 * well-formed error event instead. */
static void
test_bad_crc_after_commit (void)
{
  Fixture f = { 0 };
  g_autoptr(TestReply) reply = NULL;

  set_env_keys ();
  fixture_set_up (&f, ", \"region\": \"eu-central-1\"", "eu-central-1", NULL);
  us_fake_bedrock_push (f.bedrock, &(UsFakeBedrockStep) { .behavior = US_FAKE_BEDROCK_BAD_CRC_MID });
  reply = test_post (f.client, "/v1/messages", BODY ("\"stream\":true,"), NULL);
  g_assert_cmpuint (reply->status, ==, 200);
  g_assert_cmpstr (soup_message_headers_get_one (reply->headers, "x-understudy-model"), ==, "bedrock/" MODEL);
  g_assert_nonnull (strstr (reply->body, "event: error"));
  g_assert_nonnull (strstr (reply->body, "CRC"));
  g_assert_null (strstr (reply->body, "event: message_stop"));
  g_assert_cmpuint (us_fake_provider_get_n_requests (f.last), ==, 0);
  fixture_tear_down (&f);
}

/* ---- The provider test (the window's "Test" button) ----------------------- */

typedef struct {
  char *text;
  GError *error;
  gboolean done;
} Outcome;

static void
on_probed (GObject      *source,
           GAsyncResult *result,
           gpointer      data)
{
  Outcome *outcome = data;

  outcome->text = us_provider_probe_finish (result, &outcome->error);
  outcome->done = TRUE;
}

static void
probe (Fixture    *f,
       const char *model,
       Outcome    *outcome)
{
  us_provider_probe_async (f->proxy, "bedrock", model, 5000, NULL, on_probed, outcome);
  while (!outcome->done)
    g_main_context_iteration (NULL, TRUE);
}

static void
test_probe (void)
{
  Fixture f = { 0 };
  Outcome claude = { 0 }, converse = { 0 }, refused = { 0 };

  set_env_keys ();
  fixture_set_up (&f, ", \"region\": \"eu-central-1\"", "eu-central-1", NULL);
  probe (&f, MODEL, &claude);
  g_assert_no_error (claude.error);
  g_assert_cmpstr (claude.text, ==, "bedrock says hi");
  g_assert_true (g_str_has_suffix (us_fake_bedrock_get_last_path (f.bedrock), "/invoke"));
  probe (&f, "amazon.nova-pro-v1:0", &converse);
  g_assert_no_error (converse.error);
  g_assert_cmpstr (converse.text, ==, "bedrock says hi");
  g_assert_true (g_str_has_suffix (us_fake_bedrock_get_last_path (f.bedrock), "/converse"));
  /* A wrong signature is a rejected key, as the window says it. */
  g_setenv ("AWS_SECRET_ACCESS_KEY", "wrong", TRUE);
  probe (&f, MODEL, &refused);
  g_assert_error (refused.error, US_PROVIDER_PROBE_ERROR, US_PROVIDER_PROBE_ERROR_KEY_REJECTED);
  g_assert_null (strstr (refused.error->message, "wrong"));

  g_free (claude.text);
  g_free (converse.text);
  g_clear_error (&refused.error);
  fixture_tear_down (&f);
}

/* ---- Converse (models other than Claude) ---------------------------------- */

#define CONVERSE_MODEL "mistral.mistral-large-2407-v1:0"

static void
test_converse (gconstpointer data)
{
  int mode = GPOINTER_TO_INT (data);   /* 0 Anthropic, 1 Anthropic streamed, 2 OpenAI streamed */
  Fixture f = { 0 };
  g_autoptr(TestReply) reply = NULL;
  JsonObject *body;
  JsonArray *content;

  set_env_keys ();
  fixture_set_up_model (&f, CONVERSE_MODEL, ", \"region\": \"eu-central-1\"", "eu-central-1", NULL);
  if (mode == 2)
    reply = test_post (f.client, "/v1/chat/completions", CHAT_BODY ("\"stream\":true,"), NULL);
  else
    reply = test_post (f.client, "/v1/messages", mode == 1 ? BODY ("\"stream\":true,") : BODY (""), NULL);
  g_assert_cmpuint (reply->status, ==, 200);
  g_assert_cmpstr (soup_message_headers_get_one (reply->headers, "x-understudy-model"), ==, "bedrock/" CONVERSE_MODEL);
  if (mode == 1)
    {
      g_autofree char *text = test_stream_text (reply->body);

      g_assert_cmpstr (text, ==, "bedrock says hi");
      g_assert_nonnull (strstr (reply->body, "\"stop_reason\":\"end_turn\""));
      g_assert_nonnull (strstr (reply->body, "\"output_tokens\":4"));
      g_assert_nonnull (strstr (reply->body, "event: message_stop"));
    }
  else if (mode == 2)
    {
      g_assert_nonnull (strstr (reply->body, "\"content\":\"bedrock"));
      g_assert_nonnull (strstr (reply->body, "data: [DONE]"));
    }
  else
    g_assert_nonnull (strstr (reply->body, "\"text\":\"bedrock says hi\""));

  g_assert_null (us_fake_bedrock_get_last_refusal (f.bedrock));
  g_assert_cmpstr (us_fake_bedrock_get_last_path (f.bedrock), ==,
                   mode ? "/model/mistral.mistral-large-2407-v1%3A0/converse-stream"
                        : "/model/mistral.mistral-large-2407-v1%3A0/converse");
  body = us_fake_bedrock_get_last_body (f.bedrock);
  g_assert_false (json_object_has_member (body, "anthropic_version"));
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (body, "inferenceConfig"), "maxTokens"),
                   >, 0);
  content = json_object_get_array_member (json_array_get_object_element (json_object_get_array_member (body, "messages"),
                                                                          0), "content");
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (content, 0), "text"), ==, "hello");
  fixture_tear_down (&f);
}

/* System, tools, a tool call and its result in Converse's shapes. */
static void
test_converse_tools (void)
{
  Fixture f = { 0 };
  g_autoptr(TestReply) reply = NULL;
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autofree char *sent = NULL;
  g_autoptr(JsonNode) root = NULL;

  set_env_keys ();
  fixture_set_up_model (&f, CONVERSE_MODEL, ", \"region\": \"eu-central-1\"", "eu-central-1", NULL);
  reply = test_post (f.client, "/v1/messages",
    "{\"model\":\"claude-test\",\"max_tokens\":100,\"system\":\"be brief\",\"temperature\":0.5,"
    "\"tools\":[{\"name\":\"read\",\"description\":\"reads\",\"input_schema\":{\"type\":\"object\"}},"
    "{\"type\":\"web_search_20250305\",\"name\":\"web_search\"}],\"tool_choice\":{\"type\":\"auto\"},"
    "\"messages\":[{\"role\":\"user\",\"content\":\"read a\"},"
    "{\"role\":\"assistant\",\"content\":[{\"type\":\"thinking\",\"thinking\":\"hm\",\"signature\":\"x\"},"
    "{\"type\":\"tool_use\",\"id\":\"t1\",\"name\":\"read\",\"input\":{\"p\":\"a\"}}]},"
    "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"t1\",\"content\":\"A\"}]}]}", NULL);
  g_assert_cmpuint (reply->status, ==, 200);
  root = json_node_init_object (json_node_alloc (), us_fake_bedrock_get_last_body (f.bedrock));
  json_generator_set_root (generator, root);
  sent = json_generator_to_data (generator, NULL);
  g_assert_cmpstr (sent, ==,
    "{\"messages\":[{\"role\":\"user\",\"content\":[{\"text\":\"read a\"}]},"
    "{\"role\":\"assistant\",\"content\":[{\"toolUse\":{\"toolUseId\":\"t1\",\"name\":\"read\",\"input\":{\"p\":\"a\"}}}]},"
    "{\"role\":\"user\",\"content\":[{\"toolResult\":{\"toolUseId\":\"t1\",\"content\":[{\"text\":\"A\"}],"
    "\"status\":\"success\"}}]}],"
    "\"system\":[{\"text\":\"be brief\"}],\"inferenceConfig\":{\"maxTokens\":100,\"temperature\":0.5},"
    "\"toolConfig\":{\"tools\":[{\"toolSpec\":{\"name\":\"read\",\"description\":\"reads\","
    "\"inputSchema\":{\"json\":{\"type\":\"object\"}}}}],\"toolChoice\":{\"auto\":{}}}}");
  fixture_tear_down (&f);
}

/* ---- The decoder alone ---------------------------------------------------- */

static GByteArray *
sample_stream (void)
{
  GByteArray *out = g_byte_array_new ();
  const char * const exception[] = { ":exception-type", "serviceUnavailableException",
                                     ":message-type", "exception", NULL };

  us_fake_event_stream_append_chunk (out, "{\"type\":\"message_start\",\"message\":{\"id\":\"m\"}}");
  us_fake_event_stream_append_chunk (out, "{\"type\":\"content_block_delta\",\"index\":0,"
                                          "\"delta\":{\"type\":\"text_delta\",\"text\":\"h\\u00e9\"}}");
  us_fake_event_stream_append (out, exception, "{\"message\":\"busy\"}", 18);
  return out;
}

#define SAMPLE_SSE "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\"}}\n\n" \
  "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0," \
  "\"delta\":{\"type\":\"text_delta\",\"text\":\"h\xc3\xa9\"}}\n\n" \
  "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"busy\"}}\n\n"

/* Reads @data, delivered @cut bytes at a time, through a converter stream. */
static char *
decode (const guint8  *data,
        gsize          length,
        gsize          cut,
        GError       **error)
{
  g_autoptr(GInputStream) base = g_memory_input_stream_new ();
  g_autoptr(UsEventStreamDecoder) decoder = us_event_stream_decoder_new ();
  g_autoptr(GInputStream) stream = NULL;
  g_autoptr(GString) out = g_string_new (NULL);
  char buffer[7];
  gssize n;

  for (gsize i = 0; i < length; i += cut)
    g_memory_input_stream_add_data (G_MEMORY_INPUT_STREAM (base), g_memdup2 (data + i, MIN (cut, length - i)),
                                    MIN (cut, length - i), g_free);
  stream = g_converter_input_stream_new (base, G_CONVERTER (decoder));
  while ((n = g_input_stream_read (stream, buffer, sizeof buffer, NULL, error)) > 0)
    g_string_append_len (out, buffer, n);
  if (n < 0)
    return NULL;
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static void
test_decoder (void)
{
  g_autoptr(GByteArray) sample = sample_stream ();

  for (gsize cut = 1; cut <= sample->len; cut++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *sse = decode (sample->data, sample->len, cut, &error);

      g_assert_no_error (error);
      g_assert_cmpstr (sse, ==, SAMPLE_SSE);
    }
}

static void
append_converse (GByteArray *out,
                 const char *type,
                 const char *json)
{
  const char * const headers[] = { ":event-type", type, ":message-type", "event", NULL };

  us_fake_event_stream_append (out, headers, json, strlen (json));
}

/* Converse's events as Anthropic's: a text block, a tool call, the stop
 * reason from messageStop and the usage from metadata. */
static void
test_decoder_converse (void)
{
  g_autoptr(GByteArray) sample = g_byte_array_new ();
  g_autoptr(GRegex) ids = g_regex_new ("msg_bdrk_[0-9a-f-]+", 0, 0, NULL);

  append_converse (sample, "messageStart", "{\"role\":\"assistant\"}");
  append_converse (sample, "contentBlockDelta", "{\"contentBlockIndex\":0,\"delta\":{\"text\":\"hi\"}}");
  append_converse (sample, "contentBlockStop", "{\"contentBlockIndex\":0}");
  append_converse (sample, "contentBlockStart",
                   "{\"contentBlockIndex\":1,\"start\":{\"toolUse\":{\"toolUseId\":\"t1\",\"name\":\"read\"}}}");
  append_converse (sample, "contentBlockDelta", "{\"contentBlockIndex\":1,\"delta\":{\"toolUse\":{\"input\":\"{\\\"p\\\":1}\"}}}");
  append_converse (sample, "contentBlockStop", "{\"contentBlockIndex\":1}");
  append_converse (sample, "messageStop", "{\"stopReason\":\"tool_use\"}");
  append_converse (sample, "metadata", "{\"usage\":{\"inputTokens\":7,\"outputTokens\":3}}");

  for (gsize cut = 1; cut <= sample->len; cut += 3)
    {
      g_autoptr(GInputStream) base = g_memory_input_stream_new ();
      g_autoptr(UsEventStreamDecoder) decoder = us_event_stream_decoder_new_converse ("mistral.x");
      g_autoptr(GInputStream) stream = NULL;
      g_autoptr(GString) out = g_string_new (NULL);
      g_autoptr(GError) error = NULL;
      g_autofree char *normal = NULL;
      char buffer[11];
      gssize n;

      for (gsize i = 0; i < sample->len; i += cut)
        g_memory_input_stream_add_data (G_MEMORY_INPUT_STREAM (base),
                                        g_memdup2 (sample->data + i, MIN (cut, sample->len - i)),
                                        MIN (cut, sample->len - i), g_free);
      stream = g_converter_input_stream_new (base, G_CONVERTER (decoder));
      while ((n = g_input_stream_read (stream, buffer, sizeof buffer, NULL, &error)) > 0)
        g_string_append_len (out, buffer, n);
      g_assert_no_error (error);
      normal = g_regex_replace_literal (ids, out->str, -1, 0, "msg_ID", 0, NULL);
      g_assert_cmpstr (normal, ==,
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"type\":\"message\",\"id\":\"msg_ID\","
        "\"role\":\"assistant\",\"model\":\"mistral.x\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,"
        "\"usage\":{\"input_tokens\":0,\"output_tokens\":0}}}\n\n"
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,"
        "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
        "\"delta\":{\"type\":\"text_delta\",\"text\":\"hi\"}}\n\n"
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,"
        "\"content_block\":{\"type\":\"tool_use\",\"id\":\"t1\",\"name\":\"read\",\"input\":{}}}\n\n"
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,"
        "\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"p\\\":1}\"}}\n\n"
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n"
        "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\","
        "\"stop_sequence\":null},\"usage\":{\"input_tokens\":7,\"output_tokens\":3}}\n\n"
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
    }
}

static void
test_decoder_errors (void)
{
  g_autoptr(GByteArray) sample = sample_stream ();

  /* Every single flipped bit is caught by one CRC or the other (or is
   * a length the checks refuse). */
  for (gsize i = 0; i < sample->len; i++)
    {
      g_autoptr(GByteArray) broken = g_byte_array_new ();
      g_autoptr(GError) error = NULL;
      g_autofree char *sse = NULL;

      g_byte_array_append (broken, sample->data, sample->len);
      broken->data[i] ^= 0x10;
      sse = decode (broken->data, broken->len, 5, &error);
      g_assert_null (sse);
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
    }
  /* Cut short: not a silent end. */
  {
    g_autoptr(GError) error = NULL;
    g_autofree char *sse = decode (sample->data, sample->len - 3, 4, &error);

    g_assert_null (sse);
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/bedrock/config", test_config);
  g_test_add_data_func ("/bedrock/failover/anthropic", GINT_TO_POINTER (FALSE), test_failover_anthropic);
  g_test_add_data_func ("/bedrock/failover/anthropic-stream", GINT_TO_POINTER (TRUE), test_failover_anthropic);
  g_test_add_data_func ("/bedrock/failover/openai", GINT_TO_POINTER (FALSE), test_failover_openai);
  g_test_add_data_func ("/bedrock/failover/openai-stream", GINT_TO_POINTER (TRUE), test_failover_openai);
  g_test_add_func ("/bedrock/sigv4/wrong-region", test_wrong_region);
  g_test_add_func ("/bedrock/sigv4/wrong-secret", test_wrong_secret);
  g_test_add_func ("/bedrock/sigv4/profile", test_profile);
  g_test_add_func ("/bedrock/api-key", test_api_key);
  g_test_add_data_func ("/bedrock/next/throttled", GINT_TO_POINTER (US_FAKE_BEDROCK_STATUS), test_failover_from_bedrock);
  g_test_add_data_func ("/bedrock/next/exception", GINT_TO_POINTER (US_FAKE_BEDROCK_EXCEPTION), test_failover_from_bedrock);
  g_test_add_data_func ("/bedrock/next/bad-crc", GINT_TO_POINTER (US_FAKE_BEDROCK_BAD_CRC_FIRST), test_failover_from_bedrock);
  g_test_add_func ("/bedrock/bad-crc-after-commit", test_bad_crc_after_commit);
  g_test_add_func ("/bedrock/decoder", test_decoder);
  g_test_add_func ("/bedrock/decoder/errors", test_decoder_errors);
  g_test_add_func ("/bedrock/decoder/converse", test_decoder_converse);
  g_test_add_data_func ("/bedrock/converse/anthropic", GINT_TO_POINTER (0), test_converse);
  g_test_add_data_func ("/bedrock/converse/anthropic-stream", GINT_TO_POINTER (1), test_converse);
  g_test_add_data_func ("/bedrock/converse/openai-stream", GINT_TO_POINTER (2), test_converse);
  g_test_add_func ("/bedrock/converse/tools", test_converse_tools);
  g_test_add_func ("/bedrock/probe", test_probe);
  return g_test_run ();
}
