/* test-cross.c: failover to a provider of another wire format, through the
 * proxy: the client keeps its own format, tools and ids survive. */
#include <libsoup/soup.h>

#include "us-fake-provider.h"
#include "us-proxy.h"
#include "test-util.h"

typedef struct {
  UsFakeProvider *anthropic;
  UsFakeProvider *chat;
  UsFakeProvider *responses;
  UsProxy *proxy;
  TestClient *client;
} Fixture;

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  g_autofree char *json = NULL;

  f->anthropic = us_fake_provider_new (US_FAKE_FORMAT_ANTHROPIC);
  f->chat = us_fake_provider_new (US_FAKE_FORMAT_OPENAI_CHAT);
  f->responses = us_fake_provider_new (US_FAKE_FORMAT_OPENAI_RESPONSES);
  us_fake_provider_set_text (f->chat, "chat fallback — naïve ✓");
  us_fake_provider_set_text (f->anthropic, "anthropic fallback");
  /* Every client's chain: its own format's primary would be the Anthropic
   * fake, failing; the Chat fake serves. */
  json = g_strdup_printf (
    "{ \"version\": 1,"
    "  \"listen\": { \"host\": \"127.0.0.1\", \"port\": 0, \"token\": \"" TEST_TOKEN "\" },"
    "  \"providers\": ["
    "    { \"id\": \"anthropic\", \"kind\": \"anthropic\", \"base_url\": \"%s\", \"auth\": \"passthrough\" },"
    "    { \"id\": \"chat\", \"kind\": \"openai-chat\", \"base_url\": \"%s/v1\", \"auth\": \"none\" },"
    "    { \"id\": \"responses\", \"kind\": \"openai-responses\", \"base_url\": \"%s/v1\", \"auth\": \"none\" } ],"
    "  \"chains\": ["
    "    { \"id\": \"to-anthropic\", \"match\": [\"via-anthropic\"], \"models\": ["
    "      { \"provider\": \"anthropic\", \"model\": \"claude-fake\" } ] },"
    "    { \"id\": \"default\", \"match\": [\"*\"], \"models\": ["
    "      { \"provider\": \"anthropic\", \"model\": \"claude-fake\" },"
    "      { \"provider\": \"chat\", \"model\": \"gpt-fake\" } ] } ] }",
    us_fake_provider_get_base_url (f->anthropic), us_fake_provider_get_base_url (f->chat),
    us_fake_provider_get_base_url (f->responses));
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
  g_clear_object (&f->chat);
  g_clear_object (&f->responses);
}

static char *
body_text (const UsFakeRequest *request)
{
  gsize len;
  const char *data = g_bytes_get_data (request->body, &len);

  return g_strndup (data, len);
}

#define TOOLS_ANTHROPIC "\"tools\":[{\"name\":\"Read\",\"description\":\"Read a file\"," \
  "\"input_schema\":{\"type\":\"object\",\"properties\":{\"file_path\":{\"type\":\"string\"}},\"required\":[\"file_path\"]}}]"

static void
test_anthropic_client_chat_fallback_tool (Fixture       *f,
                                          gconstpointer  data)
{
  g_autoptr(TestReply) reply = NULL;
  const UsFakeRequest *seen;
  JsonObject *body;

  us_fake_provider_push_status (f->anthropic, 529, NULL);
  us_fake_provider_push (f->chat, &(UsFakeStep) { .behavior = US_FAKE_OK_TOOL_CALL, .tool_name = "Read",
                                                  .tool_args = "{\"file_path\":\"/tmp/x.txt\"}" });
  reply = test_post (f->client, "/v1/messages",
                     "{\"model\":\"claude-sonnet\",\"max_tokens\":256,\"stream\":true,"
                     "\"system\":\"You are terse.\"," TOOLS_ANTHROPIC ","
                     "\"messages\":[{\"role\":\"user\",\"content\":\"read /tmp/x.txt\"}]}", NULL);

  g_assert_cmpuint (reply->status, ==, 200);
  g_assert_cmpstr (soup_message_headers_get_one (reply->headers, "x-understudy-model"), ==, "chat/gpt-fake");
  /* An Anthropic stream with a tool_use block, the id the provider gave. */
  g_assert_nonnull (strstr (reply->body, "event: message_start\n"));
  g_assert_nonnull (strstr (reply->body, "\"type\":\"tool_use\",\"id\":\"call_"));
  g_assert_nonnull (strstr (reply->body, "\"name\":\"Read\""));
  g_assert_nonnull (strstr (reply->body, "\"type\":\"input_json_delta\""));
  g_assert_nonnull (strstr (reply->body, "\"stop_reason\":\"tool_use\""));
  g_assert_true (g_str_has_suffix (reply->body, "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"));

  /* The Chat provider got a Chat request: system first, tools as functions. */
  seen = us_fake_provider_get_last_request (f->chat);
  body = json_node_get_object (seen->json);
  g_assert_cmpstr (json_object_get_string_member (body, "model"), ==, "gpt-fake");
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (
                     json_object_get_array_member (body, "messages"), 0), "role"), ==, "system");
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (
                     json_object_get_array_member (body, "tools"), 0), "type"), ==, "function");
}

static void
test_anthropic_client_tool_result_turn (Fixture       *f,
                                        gconstpointer  data)
{
  g_autoptr(TestReply) reply = NULL;
  g_autofree char *text = NULL;
  const UsFakeRequest *seen;
  JsonArray *messages;
  JsonObject *tool_msg;

  us_fake_provider_push_status (f->anthropic, 429, "0");
  reply = test_post (f->client, "/v1/messages",
                     "{\"model\":\"claude-sonnet\",\"max_tokens\":256,\"stream\":true," TOOLS_ANTHROPIC ","
                     "\"messages\":[{\"role\":\"user\",\"content\":\"read /tmp/x.txt\"},"
                     "{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\",\"id\":\"toolu_01ABC\",\"name\":\"Read\","
                     "\"input\":{\"file_path\":\"/tmp/x.txt\"}}]},"
                     "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"toolu_01ABC\","
                     "\"content\":\"hello from the file\"}]}]}", NULL);

  g_assert_cmpuint (reply->status, ==, 200);
  text = test_stream_text (reply->body);
  g_assert_cmpstr (text, ==, "chat fallback — naïve ✓");

  /* The tool call and its result reached Chat with the same id. */
  seen = us_fake_provider_get_last_request (f->chat);
  messages = json_object_get_array_member (json_node_get_object (seen->json), "messages");
  g_assert_cmpuint (json_array_get_length (messages), ==, 3);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (
                     json_object_get_array_member (json_array_get_object_element (messages, 1), "tool_calls"), 0),
                     "id"), ==, "toolu_01ABC");
  tool_msg = json_array_get_object_element (messages, 2);
  g_assert_cmpstr (json_object_get_string_member (tool_msg, "role"), ==, "tool");
  g_assert_cmpstr (json_object_get_string_member (tool_msg, "tool_call_id"), ==, "toolu_01ABC");
}

static void
test_chat_client_anthropic_provider (Fixture       *f,
                                     gconstpointer  data)
{
  g_autoptr(TestReply) reply = test_post (f->client, "/v1/chat/completions",
                                          "{\"model\":\"via-anthropic\",\"stream\":true,"
                                          "\"stream_options\":{\"include_usage\":true},"
                                          "\"messages\":[{\"role\":\"system\",\"content\":\"be brief\"},"
                                          "{\"role\":\"user\",\"content\":\"hi\"}]}",
                                          (const char * const[]) { "Authorization", "Bearer sk-openai-key", NULL });
  const UsFakeRequest *seen = us_fake_provider_get_last_request (f->anthropic);
  g_autofree char *sent = body_text (seen);

  g_assert_cmpuint (reply->status, ==, 200);
  g_assert_nonnull (strstr (reply->body, "\"object\":\"chat.completion.chunk\""));
  g_assert_nonnull (strstr (reply->body, "\"finish_reason\":\"stop\""));
  g_assert_nonnull (strstr (reply->body, "\"prompt_tokens\":"));
  g_assert_true (g_str_has_suffix (reply->body, "data: [DONE]\n\n"));
  /* The system message became Anthropic's system field (a string or blocks). */
  g_assert_true (json_object_has_member (json_node_get_object (seen->json), "system"));
  g_assert_nonnull (strstr (sent, "be brief"));
  g_assert_null (strstr (sent, "\"role\":\"system\""));
  g_assert_cmpint (json_object_get_int_member (json_node_get_object (seen->json), "max_tokens"), >, 0);
  /* An OpenAI client's key is not passed through to Anthropic. */
  g_assert_null (us_fake_request_get_header (seen, "Authorization"));
  g_assert_null (us_fake_request_get_header (seen, "x-api-key"));
}

static void
test_responses_client_chat_fallback (Fixture       *f,
                                     gconstpointer  data)
{
  g_autoptr(TestReply) reply = NULL;

  us_fake_provider_push_status (f->anthropic, 500, NULL);
  reply = test_post (f->client, "/v1/responses",
                     "{\"model\":\"gpt-test\",\"stream\":true,\"store\":false,\"instructions\":\"be brief\","
                     "\"input\":[{\"type\":\"message\",\"role\":\"user\",\"content\":[{\"type\":\"input_text\",\"text\":\"hi\"}]}]}",
                     NULL);

  g_assert_cmpuint (reply->status, ==, 200);
  g_assert_nonnull (strstr (reply->body, "event: response.created\n"));
  g_assert_nonnull (strstr (reply->body, "event: response.output_text.delta\n"));
  g_assert_nonnull (strstr (reply->body, "event: response.completed\n"));
  g_assert_nonnull (strstr (reply->body, "\"total_tokens\":"));
}

static void
test_errors_in_client_format (Fixture       *f,
                              gconstpointer  data)
{
  g_autoptr(TestReply) chat = NULL;
  g_autoptr(TestReply) responses = NULL;

  /* Both models fail with request-shaped / server errors: the first model's
   * (Anthropic) error arrives in each client's own envelope and status. */
  us_fake_provider_push_status (f->anthropic, 400, NULL);
  chat = test_post (f->client, "/v1/chat/completions",
                    "{\"model\":\"x\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", NULL);
  g_assert_cmpuint (chat->status, ==, 400);
  g_assert_true (g_str_has_prefix (chat->body, "{\"error\":{"));
  g_assert_nonnull (strstr (chat->body, "\"type\":\"invalid_request_error\""));

  us_fake_provider_push_status (f->anthropic, 529, NULL);
  us_fake_provider_push_status (f->chat, 503, NULL);
  responses = test_post (f->client, "/v1/responses",
                         "{\"model\":\"x\",\"input\":\"hi\"}", NULL);
  g_assert_cmpuint (responses->status, ==, 529);
  g_assert_true (g_str_has_prefix (responses->body, "{\"error\":{"));
}

static void
test_image_chat_to_anthropic (Fixture       *f,
                                gconstpointer  data)
{
  g_autoptr(TestReply) reply = NULL;
  g_autofree char *sent = NULL;

  /* A Chat client's image goes to Anthropic as a base64 image block. */
  reply = test_post (f->client, "/v1/chat/completions",
                     "{\"model\":\"via-anthropic\",\"messages\":[{\"role\":\"user\",\"content\":["
                     "{\"type\":\"text\",\"text\":\"what is this\"},"
                     "{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png;base64,iVBORw0KGgo=\"}}]}]}", NULL);

  g_assert_cmpuint (reply->status, ==, 200);
  sent = body_text (us_fake_provider_get_last_request (f->anthropic));
  g_assert_nonnull (strstr (sent, "\"media_type\":\"image/png\""));
}

/* Codex's custom tool (apply_patch) and namespace tool (multi_agent_v1)
 * through Chat and Anthropic providers and back, streamed and whole. */
#define CODEX_TOOLS "\"tools\":[" \
  "{\"type\":\"custom\",\"name\":\"apply_patch\",\"description\":\"Apply a patch\"," \
  "\"format\":{\"type\":\"grammar\",\"syntax\":\"lark\",\"definition\":\"start: begin_patch\"}}," \
  "{\"type\":\"namespace\",\"name\":\"multi_agent_v1\",\"description\":\"agents\",\"tools\":[" \
  "{\"type\":\"function\",\"name\":\"spawn_agent\",\"description\":\"Spawn\",\"strict\":false," \
  "\"parameters\":{\"type\":\"object\",\"properties\":{\"task\":{\"type\":\"string\"}}}}]}," \
  "{\"type\":\"web_search\"}]"

static JsonObject *
find_item (JsonArray  *items,
           const char *type)
{
  for (guint i = 0; items != NULL && i < json_array_get_length (items); i++)
    {
      JsonObject *item = json_array_get_object_element (items, i);

      if (g_strcmp0 (json_object_get_string_member_with_default (item, "type", NULL), type) == 0)
        return item;
    }
  return NULL;
}

/* The answer's output items: from response.completed when streamed. */
static JsonNode *
codex_output (TestReply *reply,
              gboolean   stream)
{
  const char *json = reply->body;
  const char *completed = stream ? strstr (reply->body, "event: response.completed\ndata: ") : NULL;
  g_autofree char *line = NULL;
  g_autoptr(JsonNode) root = NULL;
  JsonObject *response;

  if (stream)
    {
      g_assert_nonnull (completed);
      json = completed + strlen ("event: response.completed\ndata: ");
      line = g_strndup (json, strcspn (json, "\n"));
      json = line;
    }
  root = json_from_string (json, NULL);
  g_assert_nonnull (root);
  response = json_node_get_object (root);
  if (stream)
    response = json_object_get_object_member (response, "response");
  return json_node_copy (json_object_get_member (response, "output"));
}

/* The request log says what the serving attempt left out. */
static void
assert_dropped (Fixture    *f,
                const char *note)
{
  g_autoptr(JsonNode) status = us_proxy_status_to_json (f->proxy);
  JsonArray *requests = json_object_get_array_member (json_node_get_object (status), "requests");
  JsonArray *attempts = json_object_get_array_member (json_array_get_object_element (requests, 0), "attempts");
  JsonObject *served = json_array_get_object_element (attempts, json_array_get_length (attempts) - 1);
  JsonArray *dropped = json_object_get_array_member (served, "dropped");

  g_assert_nonnull (dropped);
  g_assert_cmpuint (json_array_get_length (dropped), ==, 1);
  g_assert_cmpstr (json_array_get_string_element (dropped, 0), ==, note);
}

static void
check_codex_tools (Fixture        *f,
                   UsFakeProvider *provider,
                   const char     *model,
                   gboolean        stream)
{
  g_autoptr(TestReply) reply = NULL;
  g_autoptr(TestReply) turn2 = NULL;
  g_autoptr(JsonNode) output = NULL;
  g_autofree char *body = NULL;
  g_autofree char *sent = NULL;
  JsonObject *patch, *spawn;

  us_fake_provider_push (provider, &(UsFakeStep) {
    .behavior = US_FAKE_OK_TWO_TOOL_CALLS,
    .tool_name = "apply_patch", .tool_args = "{\"input\":\"*** Begin Patch\\n*** End Patch\"}",
    .tool_name2 = "multi_agent_v1__spawn_agent", .tool_args2 = "{\"task\":\"y\"}" });
  body = g_strdup_printf ("{\"model\":\"%s\",\"stream\":%s,\"store\":false," CODEX_TOOLS ","
                          "\"input\":[{\"type\":\"message\",\"role\":\"user\","
                          "\"content\":[{\"type\":\"input_text\",\"text\":\"patch it\"}]}]}",
                          model, stream ? "true" : "false");
  reply = test_post (f->client, "/v1/responses", body, NULL);
  g_assert_cmpuint (reply->status, ==, 200);

  /* The provider saw functions only: no custom, namespace or web_search. */
  sent = body_text (us_fake_provider_get_last_request (provider));
  g_assert_nonnull (strstr (sent, "\"apply_patch\""));
  g_assert_nonnull (strstr (sent, "\"multi_agent_v1__spawn_agent\""));
  g_assert_null (strstr (sent, "web_search"));
  g_assert_null (strstr (sent, "\"namespace\""));

  /* Codex got its own kinds of calls back. */
  output = codex_output (reply, stream);
  patch = find_item (json_node_get_array (output), "custom_tool_call");
  spawn = find_item (json_node_get_array (output), "function_call");
  g_assert_nonnull (patch);
  g_assert_cmpstr (json_object_get_string_member (patch, "name"), ==, "apply_patch");
  g_assert_cmpstr (json_object_get_string_member (patch, "input"), ==, "*** Begin Patch\n*** End Patch");
  g_assert_nonnull (spawn);
  g_assert_cmpstr (json_object_get_string_member (spawn, "name"), ==, "spawn_agent");
  g_assert_cmpstr (json_object_get_string_member (spawn, "namespace"), ==, "multi_agent_v1");
  if (stream)
    g_assert_nonnull (strstr (reply->body, "event: response.custom_tool_call_input.done\n"));
  assert_dropped (f, "tool web_search");

  /* Turn 2 sends both calls and their outputs back: the provider gets
   * ordinary calls under the names it knows. */
  g_free (body);
  body = g_strdup_printf ("{\"model\":\"%s\",\"stream\":%s,\"store\":false," CODEX_TOOLS ","
                          "\"input\":[{\"type\":\"message\",\"role\":\"user\","
                          "\"content\":[{\"type\":\"input_text\",\"text\":\"patch it\"}]},"
                          "{\"type\":\"custom_tool_call\",\"call_id\":\"%s\",\"name\":\"apply_patch\",\"input\":\"*** Begin Patch\"},"
                          "{\"type\":\"function_call\",\"call_id\":\"%s\",\"name\":\"spawn_agent\","
                          "\"namespace\":\"multi_agent_v1\",\"arguments\":\"{}\"},"
                          "{\"type\":\"custom_tool_call_output\",\"call_id\":\"%s\",\"output\":\"Done\"},"
                          "{\"type\":\"function_call_output\",\"call_id\":\"%s\",\"output\":\"agent 7\"}]}",
                          model, stream ? "true" : "false",
                          json_object_get_string_member (patch, "call_id"), json_object_get_string_member (spawn, "call_id"),
                          json_object_get_string_member (patch, "call_id"), json_object_get_string_member (spawn, "call_id"));
  turn2 = test_post (f->client, "/v1/responses", body, NULL);
  g_assert_cmpuint (turn2->status, ==, 200);
  g_free (sent);
  sent = body_text (us_fake_provider_get_last_request (provider));
  g_assert_nonnull (strstr (sent, "Begin Patch"));
  g_assert_nonnull (strstr (sent, "agent 7"));
  g_assert_null (strstr (sent, "custom_tool_call"));
}

static void
test_codex_tools_chat (Fixture       *f,
                       gconstpointer  data)
{
  us_fake_provider_set_default_spec (f->anthropic, "529", NULL);
  check_codex_tools (f, f->chat, "gpt-test", FALSE);
  check_codex_tools (f, f->chat, "gpt-test", TRUE);
}

static void
test_codex_tools_anthropic (Fixture       *f,
                            gconstpointer  data)
{
  check_codex_tools (f, f->anthropic, "via-anthropic", FALSE);
  check_codex_tools (f, f->anthropic, "via-anthropic", TRUE);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_set_up, fn, fixture_tear_down)
  ADD ("/cross/anthropic-client-chat-fallback-tool", test_anthropic_client_chat_fallback_tool);
  ADD ("/cross/anthropic-client-tool-result-turn", test_anthropic_client_tool_result_turn);
  ADD ("/cross/chat-client-anthropic-provider", test_chat_client_anthropic_provider);
  ADD ("/cross/responses-client-chat-fallback", test_responses_client_chat_fallback);
  ADD ("/cross/errors-in-client-format", test_errors_in_client_format);
  ADD ("/cross/image-chat-to-anthropic", test_image_chat_to_anthropic);
  ADD ("/cross/codex-tools-chat", test_codex_tools_chat);
  ADD ("/cross/codex-tools-anthropic", test_codex_tools_anthropic);
#undef ADD

  return g_test_run ();
}
