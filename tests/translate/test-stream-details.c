/* test-stream-details.c: what a client sees when a Chat provider streams:
 * the estimated input count in message_start, and parallel tool calls whose
 * fragments interleave (issue 11, item 6). */

#include "tr-test-util.h"
#include "us-ir.h"

#include <string.h>

/* Call 0's arguments resume after call 1 started: several servers
 * (vLLM, some gateways) stream parallel calls like this. */
static const char interleaved[] =
  "data: {\"id\":\"chatcmpl-IL\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\","
  "\"tool_calls\":[{\"index\":0,\"id\":\"call_A\",\"type\":\"function\",\"function\":{\"name\":\"read\",\"arguments\":\"{\\\"x\\\":\"}}]}}]}\n\n"
  "data: {\"id\":\"chatcmpl-IL\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{"
  "\"tool_calls\":[{\"index\":1,\"id\":\"call_B\",\"type\":\"function\",\"function\":{\"name\":\"bash\",\"arguments\":\"{\\\"cmd\\\":\"}}]}}]}\n\n"
  "data: {\"id\":\"chatcmpl-IL\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{"
  "\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"1}\"}}]}}]}\n\n"
  "data: {\"id\":\"chatcmpl-IL\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{"
  "\"tool_calls\":[{\"index\":1,\"function\":{\"arguments\":\"\\\"ls\\\"}\"}}]}}]}\n\n"
  "data: {\"id\":\"chatcmpl-IL\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}],"
  "\"usage\":{\"prompt_tokens\":321,\"completion_tokens\":9,\"total_tokens\":330}}\n\n"
  "data: [DONE]\n\n";

/* Each "data:" line of @sse as a JSON object, in order. */
static GPtrArray *
events_of (const char *sse)
{
  GPtrArray *events = g_ptr_array_new_with_free_func ((GDestroyNotify) json_node_unref);
  g_auto(GStrv) lines = g_strsplit (sse, "\n", -1);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      JsonNode *node;

      if (!g_str_has_prefix (lines[i], "data: ") || strcmp (lines[i] + 6, "[DONE]") == 0)
        continue;
      node = us_json_parse (lines[i] + 6, -1, NULL);
      g_assert_nonnull (node);
      g_ptr_array_add (events, node);
    }
  return events;
}

static void
assert_arguments (const char *json_text,
                  const char *member,
                  const char *expected)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = us_json_parse (json_text, -1, &error);

  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (node));
  g_assert_cmpstr (us_json_get_string (json_node_get_object (node), member), ==, expected);
}

static void
test_interleaved_to_anthropic (void)
{
  gsize len = strlen (interleaved);

  /* Every split of the upstream bytes must give the same, valid events. */
  for (gsize split = 0; split <= len; split += 7)
    {
      g_autofree char *out = tr_stream_split (US_WIRE_OPENAI_CHAT, US_WIRE_ANTHROPIC,
                                              interleaved, len, split, NULL);
      g_autoptr(GPtrArray) events = events_of (out);
      g_autoptr(GHashTable) stopped = g_hash_table_new (g_direct_hash, g_direct_equal);
      GString *args[2] = { g_string_new (NULL), g_string_new (NULL) };
      const char *names[2] = { NULL, NULL };
      gint open = -1;

      for (guint i = 0; i < events->len; i++)
        {
          JsonObject *ev = json_node_get_object (g_ptr_array_index (events, i));
          const char *type = us_json_get_string (ev, "type");
          gint64 index = us_json_get_int (ev, "index", -1);

          if (g_strcmp0 (type, "content_block_start") == 0)
            {
              JsonObject *block = us_json_get_object (ev, "content_block");

              g_assert_cmpint (open, ==, -1);
              g_assert_cmpint (index, <, 2);
              open = (gint) index;
              names[index] = us_json_get_string (block, "name");
            }
          else if (g_strcmp0 (type, "content_block_delta") == 0)
            {
              /* The bug: a delta for a block already stopped. */
              g_assert_false (g_hash_table_contains (stopped, GINT_TO_POINTER (index)));
              g_assert_cmpint (index, ==, open);
              g_string_append (args[index],
                               us_json_get_string (us_json_get_object (ev, "delta"), "partial_json"));
            }
          else if (g_strcmp0 (type, "content_block_stop") == 0)
            {
              g_assert_cmpint (index, ==, open);
              g_hash_table_add (stopped, GINT_TO_POINTER (index));
              open = -1;
            }
        }
      g_assert_cmpuint (g_hash_table_size (stopped), ==, 2);
      g_assert_cmpstr (names[0], ==, "read");
      g_assert_cmpstr (names[1], ==, "bash");
      assert_arguments (args[0]->str, "x", NULL);
      g_assert_cmpstr (args[0]->str, ==, "{\"x\":1}");
      assert_arguments (args[1]->str, "cmd", "ls");
      g_string_free (args[0], TRUE);
      g_string_free (args[1], TRUE);
    }
}

static void
test_interleaved_to_responses (void)
{
  gsize len = strlen (interleaved);
  g_autofree char *out = tr_stream_split (US_WIRE_OPENAI_CHAT, US_WIRE_OPENAI_RESPONSES,
                                          interleaved, len, len, NULL);
  g_autoptr(GPtrArray) events = events_of (out);
  guint calls = 0;

  for (guint i = 0; i < events->len; i++)
    {
      JsonObject *ev = json_node_get_object (g_ptr_array_index (events, i));
      const char *type = us_json_get_string (ev, "type");

      if (g_strcmp0 (type, "response.output_item.done") == 0)
        {
          JsonObject *item = us_json_get_object (ev, "item");
          const char *name = us_json_get_string (item, "name");

          g_assert_cmpstr (us_json_get_string (item, "type"), ==, "function_call");
          if (g_strcmp0 (name, "read") == 0)
            g_assert_cmpstr (us_json_get_string (item, "arguments"), ==, "{\"x\":1}");
          else
            assert_arguments (us_json_get_string (item, "arguments"), "cmd", "ls");
          calls++;
        }
      else if (g_strcmp0 (type, "response.completed") == 0)
        {
          JsonArray *output = us_json_get_array (us_json_get_object (ev, "response"), "output");

          g_assert_cmpuint (json_array_get_length (output), ==, 2);
          for (guint j = 0; j < 2; j++)
            {
              const char *args = us_json_get_string (json_array_get_object_element (output, j), "arguments");
              g_autoptr(JsonNode) parsed = us_json_parse (args, -1, NULL);

              g_assert_nonnull (parsed);
            }
        }
    }
  g_assert_cmpuint (calls, ==, 2);
}

static const char text_stream[] =
  "data: {\"id\":\"chatcmpl-T\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Hi\"}}]}\n\n"
  "data: {\"id\":\"chatcmpl-T\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],"
  "\"usage\":{\"prompt_tokens\":777,\"completion_tokens\":2,\"total_tokens\":779}}\n\n"
  "data: [DONE]\n\n";

/* Claude Code shows context use from message_start: a Chat provider only
 * tells at the end, so the request's estimate stands in until then. */
static void
test_message_start_estimate (void)
{
  g_autoptr(JsonNode) body = tr_load_capture_body ("claude-code-turn2-request.json");
  g_autoptr(UsIrRequest) req = us_ir_request_decode (US_WIRE_ANTHROPIC, body, NULL);
  g_autoptr(UsStreamTranslator) tr = us_stream_translator_new (US_WIRE_OPENAI_CHAT, US_WIRE_ANTHROPIC, "client-model");
  g_autoptr(GString) out = g_string_new (NULL);
  g_autoptr(GPtrArray) events = NULL;
  gint64 estimate = us_ir_request_estimate_input_tokens (req);
  gboolean saw_start = FALSE, saw_delta = FALSE;

  g_assert_cmpint (estimate, >, 1000);
  us_stream_translator_set_request (tr, req);
  us_stream_translator_push (tr, text_stream, strlen (text_stream), out);
  us_stream_translator_finish (tr, out);
  events = events_of (out->str);
  for (guint i = 0; i < events->len; i++)
    {
      JsonObject *ev = json_node_get_object (g_ptr_array_index (events, i));
      const char *type = us_json_get_string (ev, "type");

      if (g_strcmp0 (type, "message_start") == 0)
        {
          JsonObject *usage = us_json_get_object (us_json_get_object (ev, "message"), "usage");

          g_assert_cmpint (us_json_get_int (usage, "input_tokens", -1), ==, estimate);
          saw_start = TRUE;
        }
      else if (g_strcmp0 (type, "message_delta") == 0)
        {
          g_assert_cmpint (us_json_get_int (us_json_get_object (ev, "usage"), "input_tokens", -1), ==, 777);
          saw_delta = TRUE;
        }
    }
  g_assert_true (saw_start && saw_delta);
  /* The proxy's own accounting gets the real count, not the estimate. */
  g_assert_cmpint (us_stream_translator_get_usage (tr)->input_tokens, ==, 777);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/stream-details/interleaved-to-anthropic", test_interleaved_to_anthropic);
  g_test_add_func ("/stream-details/interleaved-to-responses", test_interleaved_to_responses);
  g_test_add_func ("/stream-details/message-start-estimate", test_message_start_estimate);
  return g_test_run ();
}
