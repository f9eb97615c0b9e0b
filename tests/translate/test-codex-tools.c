/* test-codex-tools.c: Codex's tools and turns across formats (issue 11,
 * items 4 and 5): namespace tools flattened and mapped back, custom tools
 * as one-string functions coming back as custom_tool_call (whole and
 * streamed), hosted tools dropped and reported, and the items of one
 * assistant turn kept as one message so an Anthropic provider keeps
 * thinking on. */

#include "tr-test-util.h"
#include "us-ir.h"

#include <string.h>

static const char codex_request[] =
  "{\"model\":\"gpt-test\",\"stream\":true,\"reasoning\":{\"effort\":\"medium\"},"
  "\"max_output_tokens\":32000,\"instructions\":\"You are Codex.\","
  "\"input\":["
  "{\"type\":\"message\",\"role\":\"user\",\"content\":[{\"type\":\"input_text\",\"text\":\"fix it\"}]},"
  "{\"type\":\"reasoning\",\"id\":\"rs_1\",\"summary\":[{\"type\":\"summary_text\",\"text\":\"think\"}],"
  "\"encrypted_content\":\"us1:anthropic:SIG\"},"
  "{\"type\":\"message\",\"id\":\"msg_1\",\"role\":\"assistant\",\"content\":[{\"type\":\"output_text\",\"text\":\"Patching.\"}]},"
  "{\"type\":\"message\",\"id\":\"msg_2\",\"role\":\"assistant\",\"content\":[{\"type\":\"output_text\",\"text\":\"And spawning.\"}]},"
  "{\"type\":\"custom_tool_call\",\"id\":\"ctc_1\",\"status\":\"completed\",\"call_id\":\"call_p\","
  "\"name\":\"apply_patch\",\"input\":\"*** Begin Patch\\n*** End Patch\"},"
  "{\"type\":\"function_call\",\"id\":\"fc_2\",\"name\":\"spawn_agent\",\"namespace\":\"multi_agent_v1\","
  "\"arguments\":\"{\\\"task\\\":\\\"x\\\"}\",\"call_id\":\"call_s\"},"
  "{\"type\":\"custom_tool_call_output\",\"call_id\":\"call_p\",\"output\":\"Done\"},"
  "{\"type\":\"function_call_output\",\"call_id\":\"call_s\",\"output\":\"agent 7\"}"
  "],"
  "\"tools\":["
  "{\"type\":\"custom\",\"name\":\"apply_patch\",\"description\":\"Apply a patch\","
  "\"format\":{\"type\":\"grammar\",\"syntax\":\"lark\",\"definition\":\"start: begin_patch\"}},"
  "{\"type\":\"namespace\",\"name\":\"multi_agent_v1\",\"description\":\"agents\",\"tools\":["
  "{\"type\":\"function\",\"name\":\"spawn_agent\",\"description\":\"Spawn\",\"strict\":false,"
  "\"parameters\":{\"type\":\"object\",\"properties\":{\"task\":{\"type\":\"string\"}}}}]},"
  "{\"type\":\"web_search\",\"external_web_access\":false}"
  "],\"store\":false,\"prompt_cache_key\":\"conv-1\"}";

static UsIrRequest *
decode_codex (JsonNode **body)
{
  g_autoptr(GError) error = NULL;
  UsIrRequest *req;

  *body = us_json_parse (codex_request, -1, &error);
  g_assert_no_error (error);
  req = us_ir_request_decode (US_WIRE_OPENAI_RESPONSES, *body, &error);
  g_assert_no_error (error);
  return req;
}

static JsonObject *
encode (const UsIrRequest *req,
        UsWireFormat       fmt,
        JsonNode         **keep)
{
  g_autoptr(GError) error = NULL;

  *keep = us_ir_request_encode (req, fmt, "m", 0, &error);
  g_assert_no_error (error);
  return json_node_get_object (*keep);
}

static const char *
str_at (JsonArray *array, guint i, const char *member)
{
  return us_json_get_string (json_array_get_object_element (array, i), member);
}

/* Item 5: reasoning, message, message, calls of one turn → ONE assistant
 * message, thinking first, and thinking stays on for the tool loop. */
static void
test_turn_to_anthropic (void)
{
  g_autoptr(JsonNode) body = NULL;
  g_autoptr(UsIrRequest) req = decode_codex (&body);
  g_autoptr(JsonNode) keep = NULL;
  JsonObject *out = encode (req, US_WIRE_ANTHROPIC, &keep);
  JsonArray *messages = us_json_get_array (out, "messages");
  JsonArray *content, *tools;
  JsonObject *patch, *spawn, *schema;

  g_assert_nonnull (us_json_get_object (out, "thinking"));
  g_assert_cmpuint (json_array_get_length (messages), ==, 3);
  g_assert_cmpstr (str_at (messages, 1, "role"), ==, "assistant");
  content = us_json_get_array (json_array_get_object_element (messages, 1), "content");
  g_assert_cmpuint (json_array_get_length (content), ==, 5);
  g_assert_cmpstr (str_at (content, 0, "type"), ==, "thinking");
  g_assert_cmpstr (str_at (content, 0, "signature"), ==, "SIG");
  g_assert_cmpstr (str_at (content, 1, "text"), ==, "Patching.");
  g_assert_cmpstr (str_at (content, 2, "text"), ==, "And spawning.");
  patch = json_array_get_object_element (content, 3);
  spawn = json_array_get_object_element (content, 4);
  g_assert_cmpstr (us_json_get_string (patch, "name"), ==, "apply_patch");
  g_assert_cmpstr (us_json_get_string (us_json_get_object (patch, "input"), "input"), ==,
                   "*** Begin Patch\n*** End Patch");
  g_assert_cmpstr (us_json_get_string (spawn, "name"), ==, "multi_agent_v1__spawn_agent");
  g_assert_cmpstr (us_json_get_string (us_json_get_object (spawn, "input"), "task"), ==, "x");

  /* Tools: the custom one is a function of one string, the namespace's
   * are flat, web_search is gone. */
  tools = us_json_get_array (out, "tools");
  g_assert_cmpuint (json_array_get_length (tools), ==, 2);
  g_assert_cmpstr (str_at (tools, 0, "name"), ==, "apply_patch");
  schema = us_json_get_object (json_array_get_object_element (tools, 0), "input_schema");
  g_assert_cmpstr (us_json_get_string (us_json_get_object (us_json_get_object (schema, "properties"), "input"), "type"),
                   ==, "string");
  g_assert_nonnull (strstr (us_json_get_string (us_json_get_object (us_json_get_object (schema, "properties"), "input"),
                                                "description"), "start: begin_patch"));
  g_assert_cmpstr (str_at (tools, 1, "name"), ==, "multi_agent_v1__spawn_agent");
}

static void
test_turn_to_chat (void)
{
  g_autoptr(JsonNode) body = NULL;
  g_autoptr(UsIrRequest) req = decode_codex (&body);
  g_autoptr(JsonNode) keep = NULL;
  JsonObject *out = encode (req, US_WIRE_OPENAI_CHAT, &keep);
  JsonArray *messages = us_json_get_array (out, "messages");
  JsonArray *tools = us_json_get_array (out, "tools");
  JsonObject *assistant = json_array_get_object_element (messages, 2);
  JsonArray *calls = us_json_get_array (assistant, "tool_calls");

  g_assert_cmpstr (us_json_get_string (assistant, "role"), ==, "assistant");
  g_assert_cmpuint (json_array_get_length (calls), ==, 2);
  g_assert_cmpstr (us_json_get_string (us_json_get_object (json_array_get_object_element (calls, 0), "function"), "name"),
                   ==, "apply_patch");
  g_assert_cmpstr (us_json_get_string (us_json_get_object (json_array_get_object_element (calls, 1), "function"), "name"),
                   ==, "multi_agent_v1__spawn_agent");
  g_assert_cmpuint (json_array_get_length (tools), ==, 2);
  g_assert_cmpstr (us_json_get_string (us_json_get_object (json_array_get_object_element (tools, 0), "function"), "name"),
                   ==, "apply_patch");
  g_assert_cmpstr (us_json_get_string (us_json_get_object (json_array_get_object_element (tools, 1), "function"), "name"),
                   ==, "multi_agent_v1__spawn_agent");
}

/* The client's own format gets its request back item for item, less the
 * reasoning another provider signed. */
static void
test_same_format_unchanged (void)
{
  g_autoptr(JsonNode) body = NULL;
  g_autoptr(UsIrRequest) req = decode_codex (&body);
  g_autoptr(JsonNode) keep = NULL;
  JsonObject *out = encode (req, US_WIRE_OPENAI_RESPONSES, &keep);

  json_array_remove_element (us_json_get_array (json_node_get_object (body), "input"), 1);
  json_object_set_string_member (out, "model", "gpt-test");
  tr_assert_json_equal (body, keep, "codex request re-encoded for Responses");
}

static void
test_dropped (void)
{
  g_autoptr(JsonNode) body = NULL;
  g_autoptr(UsIrRequest) req = decode_codex (&body);
  g_auto(GStrv) to_anthropic = us_ir_request_dropped_for (req, US_WIRE_ANTHROPIC);
  g_auto(GStrv) to_chat = us_ir_request_dropped_for (req, US_WIRE_OPENAI_CHAT);
  g_auto(GStrv) to_responses = us_ir_request_dropped_for (req, US_WIRE_OPENAI_RESPONSES);
  g_autoptr(JsonNode) cc_body = tr_load_capture_body ("claude-code-turn1-request.json");
  g_autoptr(UsIrRequest) cc = us_ir_request_decode (US_WIRE_ANTHROPIC, cc_body, NULL);
  g_auto(GStrv) cc_to_chat = us_ir_request_dropped_for (cc, US_WIRE_OPENAI_CHAT);

  g_assert_nonnull (to_anthropic);
  g_assert_cmpstr (to_anthropic[0], ==, "tool web_search");
  g_assert_null (to_anthropic[1]);
  g_assert_cmpstrv (to_chat, to_anthropic);
  g_assert_null (to_responses);
  /* Claude Code's tools are all client-run functions: nothing dropped. */
  g_assert_null (cc_to_chat);
}

static const char chat_response[] =
  "{\"id\":\"chatcmpl-X\",\"object\":\"chat.completion\",\"model\":\"m\",\"choices\":[{\"index\":0,"
  "\"message\":{\"role\":\"assistant\",\"content\":null,\"tool_calls\":["
  "{\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"apply_patch\","
  "\"arguments\":\"{\\\"input\\\":\\\"*** Begin Patch\\\\n*** End Patch\\\"}\"}},"
  "{\"id\":\"call_2\",\"type\":\"function\",\"function\":{\"name\":\"multi_agent_v1__spawn_agent\","
  "\"arguments\":\"{\\\"task\\\":\\\"y\\\"}\"}}]},\"finish_reason\":\"tool_calls\"}],"
  "\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":5,\"total_tokens\":15}}";

static const char anthropic_response[] =
  "{\"id\":\"msg_X\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"m\",\"content\":["
  "{\"type\":\"tool_use\",\"id\":\"call_1\",\"name\":\"apply_patch\",\"input\":{\"input\":\"*** Begin Patch\\n*** End Patch\"}},"
  "{\"type\":\"tool_use\",\"id\":\"call_2\",\"name\":\"multi_agent_v1__spawn_agent\",\"input\":{\"task\":\"y\"}}],"
  "\"stop_reason\":\"tool_use\",\"usage\":{\"input_tokens\":10,\"output_tokens\":5}}";

static void
assert_codex_calls (JsonArray *output)
{
  JsonObject *patch = NULL, *spawn = NULL;

  for (guint i = 0; i < json_array_get_length (output); i++)
    {
      JsonObject *item = json_array_get_object_element (output, i);

      if (g_strcmp0 (us_json_get_string (item, "call_id"), "call_1") == 0)
        patch = item;
      else if (g_strcmp0 (us_json_get_string (item, "call_id"), "call_2") == 0)
        spawn = item;
    }
  g_assert_nonnull (patch);
  g_assert_nonnull (spawn);
  g_assert_cmpstr (us_json_get_string (patch, "type"), ==, "custom_tool_call");
  g_assert_cmpstr (us_json_get_string (patch, "name"), ==, "apply_patch");
  g_assert_cmpstr (us_json_get_string (patch, "input"), ==, "*** Begin Patch\n*** End Patch");
  g_assert_false (json_object_has_member (patch, "arguments"));
  g_assert_cmpstr (us_json_get_string (spawn, "type"), ==, "function_call");
  g_assert_cmpstr (us_json_get_string (spawn, "name"), ==, "spawn_agent");
  g_assert_cmpstr (us_json_get_string (spawn, "namespace"), ==, "multi_agent_v1");
  g_assert_cmpstr (us_json_get_string (spawn, "arguments"), ==, "{\"task\":\"y\"}");
}

static void
test_response_whole (void)
{
  static const struct { UsWireFormat fmt; const char *body; } cases[] = {
    { US_WIRE_OPENAI_CHAT, chat_response },
    { US_WIRE_ANTHROPIC, anthropic_response },
  };
  g_autoptr(JsonNode) body = NULL;
  g_autoptr(UsIrRequest) req = decode_codex (&body);

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GBytes) in = g_bytes_new_static (cases[i].body, strlen (cases[i].body));
      g_autoptr(GError) error = NULL;
      g_autoptr(GBytes) out = us_translate_response_for_request (cases[i].fmt, US_WIRE_OPENAI_RESPONSES,
                                                                 in, "gpt-test", req, NULL, &error);
      g_autoptr(JsonNode) root = NULL;

      g_assert_no_error (error);
      root = us_json_parse_bytes (out, &error);
      g_assert_no_error (error);
      assert_codex_calls (us_json_get_array (json_node_get_object (root), "output"));
    }
}

static const char chat_stream[] =
  "data: {\"id\":\"chatcmpl-S\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\","
  "\"tool_calls\":[{\"index\":0,\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"apply_patch\",\"arguments\":\"{\\\"input\\\":\\\"*** Begin\"}}]}}]}\n\n"
  "data: {\"id\":\"chatcmpl-S\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{"
  "\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\" Patch\\\\n*** End Patch\\\"}\"}}]}}]}\n\n"
  "data: {\"id\":\"chatcmpl-S\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{"
  "\"tool_calls\":[{\"index\":1,\"id\":\"call_2\",\"type\":\"function\",\"function\":{\"name\":\"multi_agent_v1__spawn_agent\",\"arguments\":\"{\\\"task\\\":\\\"y\\\"}\"}}]}}]}\n\n"
  "data: {\"id\":\"chatcmpl-S\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}],"
  "\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":5,\"total_tokens\":15}}\n\n"
  "data: [DONE]\n\n";

static const char anthropic_stream[] =
  "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_S\",\"type\":\"message\",\"role\":\"assistant\","
  "\"model\":\"m\",\"content\":[],\"usage\":{\"input_tokens\":10,\"output_tokens\":1}}}\n\n"
  "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\","
  "\"id\":\"call_1\",\"name\":\"apply_patch\",\"input\":{}}}\n\n"
  "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\","
  "\"partial_json\":\"{\\\"input\\\":\\\"*** Begin\"}}\n\n"
  "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\","
  "\"partial_json\":\" Patch\\\\n*** End Patch\\\"}\"}}\n\n"
  "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
  "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\","
  "\"id\":\"call_2\",\"name\":\"multi_agent_v1__spawn_agent\",\"input\":{}}}\n\n"
  "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\","
  "\"partial_json\":\"{\\\"task\\\":\\\"y\\\"}\"}}\n\n"
  "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n"
  "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\"},\"usage\":{\"output_tokens\":5}}\n\n"
  "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";

static void
test_response_stream (void)
{
  static const struct { UsWireFormat fmt; const char *sse; } cases[] = {
    { US_WIRE_OPENAI_CHAT, chat_stream },
    { US_WIRE_ANTHROPIC, anthropic_stream },
  };
  g_autoptr(JsonNode) body = NULL;
  g_autoptr(UsIrRequest) req = decode_codex (&body);

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(UsStreamTranslator) tr = us_stream_translator_new (cases[i].fmt, US_WIRE_OPENAI_RESPONSES, "gpt-test");
      g_autoptr(GString) out = g_string_new (NULL);
      g_autoptr(JsonArray) done_items = json_array_new ();
      g_auto(GStrv) lines = NULL;
      gboolean completed = FALSE, input_done = FALSE;

      us_stream_translator_set_request (tr, req);
      us_stream_translator_push (tr, cases[i].sse, strlen (cases[i].sse), out);
      us_stream_translator_finish (tr, out);
      lines = g_strsplit (out->str, "\n", -1);
      for (guint j = 0; lines[j] != NULL; j++)
        {
          g_autoptr(JsonNode) node = NULL;
          JsonObject *ev;
          const char *type;

          if (!g_str_has_prefix (lines[j], "data: "))
            continue;
          node = us_json_parse (lines[j] + 6, -1, NULL);
          ev = json_node_get_object (node);
          type = us_json_get_string (ev, "type");
          /* Codex parses these: a custom call never gets argument deltas. */
          if (g_strcmp0 (type, "response.function_call_arguments.delta") == 0)
            g_assert_cmpstr (us_json_get_string (ev, "delta"), ==, "{\"task\":\"y\"}");
          if (g_strcmp0 (type, "response.custom_tool_call_input.done") == 0)
            {
              g_assert_cmpstr (us_json_get_string (ev, "input"), ==, "*** Begin Patch\n*** End Patch");
              input_done = TRUE;
            }
          if (g_strcmp0 (type, "response.output_item.done") == 0)
            json_array_add_object_element (done_items, json_object_ref (us_json_get_object (ev, "item")));
          if (g_strcmp0 (type, "response.completed") == 0)
            {
              assert_codex_calls (us_json_get_array (us_json_get_object (ev, "response"), "output"));
              completed = TRUE;
            }
        }
      assert_codex_calls (done_items);
      g_assert_true (completed);
      g_assert_true (input_done);
    }
}

/* Flat names stay within the 64 characters both formats allow, the same
 * on every turn, and still map back to the namespace and name. */
static void
test_long_namespace_name (void)
{
  static const char body_text[] =
    "{\"model\":\"m\",\"input\":\"hi\",\"tools\":[{\"type\":\"namespace\","
    "\"name\":\"mcp__a_rather_long_server_name_for_tools\",\"tools\":[{\"type\":\"function\","
    "\"name\":\"fetch_the_issue_comments_of_a_repository\",\"parameters\":{\"type\":\"object\"}}]}]}";
  g_autoptr(JsonNode) body = us_json_parse (body_text, -1, NULL);
  g_autoptr(UsIrRequest) req = us_ir_request_decode (US_WIRE_OPENAI_RESPONSES, body, NULL);
  g_autoptr(JsonNode) keep = NULL;
  JsonObject *out = encode (req, US_WIRE_ANTHROPIC, &keep);
  const char *name = str_at (us_json_get_array (out, "tools"), 0, "name");
  g_autofree char *answer = g_strdup_printf ("{\"id\":\"msg_L\",\"type\":\"message\",\"role\":\"assistant\","
                                             "\"model\":\"m\",\"content\":[{\"type\":\"tool_use\",\"id\":\"call_1\","
                                             "\"name\":\"%s\",\"input\":{}}],\"stop_reason\":\"tool_use\","
                                             "\"usage\":{\"input_tokens\":1,\"output_tokens\":1}}", name);
  g_autoptr(GBytes) in = g_bytes_new (answer, strlen (answer));
  g_autoptr(GBytes) back = us_translate_response_for_request (US_WIRE_ANTHROPIC, US_WIRE_OPENAI_RESPONSES, in,
                                                              "m", req, NULL, NULL);
  g_autoptr(JsonNode) root = us_json_parse_bytes (back, NULL);
  JsonObject *call = json_array_get_object_element (us_json_get_array (json_node_get_object (root), "output"), 0);

  g_assert_cmpuint (strlen (name), <=, 64);
  g_assert_true (g_str_has_prefix (name, "mcp__a_rather_long_server_name_for_tools__fetch"));
  g_assert_cmpstr (us_json_get_string (call, "name"), ==, "fetch_the_issue_comments_of_a_repository");
  g_assert_cmpstr (us_json_get_string (call, "namespace"), ==, "mcp__a_rather_long_server_name_for_tools");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/codex-tools/turn-to-anthropic", test_turn_to_anthropic);
  g_test_add_func ("/codex-tools/turn-to-chat", test_turn_to_chat);
  g_test_add_func ("/codex-tools/same-format-unchanged", test_same_format_unchanged);
  g_test_add_func ("/codex-tools/dropped", test_dropped);
  g_test_add_func ("/codex-tools/response-whole", test_response_whole);
  g_test_add_func ("/codex-tools/response-stream", test_response_stream);
  g_test_add_func ("/codex-tools/long-namespace-name", test_long_namespace_name);
  return g_test_run ();
}
