/* test-request.c: decoding real client requests (the captures) and what
 * the hub reads from them. */

#include "tr-test-util.h"
#include "us-ir.h"

#include <string.h>

typedef struct {
  const char  *file;
  UsWireFormat fmt;
  const char  *model;
  gboolean     stream;
  gboolean     thinking;
  gboolean     tools;
  gint64       min_tokens;
} Capture;

static const Capture captures[] = {
  { "claude-code-turn1-request.json", US_WIRE_ANTHROPIC, "claude-opus-5-5", TRUE, TRUE, TRUE, 8000 },
  { "claude-code-turn2-request.json", US_WIRE_ANTHROPIC, "claude-opus-5-5", TRUE, TRUE, TRUE, 8000 },
  { "codex-turn1-request.json", US_WIRE_OPENAI_RESPONSES, "gpt-test", TRUE, TRUE, TRUE, 8000 },
  { "codex-turn2-request.json", US_WIRE_OPENAI_RESPONSES, "gpt-test", TRUE, TRUE, TRUE, 8000 },
  { "opencode-title-request.json", US_WIRE_OPENAI_CHAT, "fake-model", TRUE, FALSE, FALSE, 100 },
  { "opencode-turn2-request.json", US_WIRE_OPENAI_CHAT, "fake-model", TRUE, FALSE, TRUE, 5000 },
  { "opencode-turn3-request.json", US_WIRE_OPENAI_CHAT, "fake-model", TRUE, FALSE, TRUE, 5000 },
};

static void
test_capture (gconstpointer data)
{
  const Capture *c = data;
  g_autoptr(JsonNode) body = tr_load_capture_body (c->file);
  g_autoptr(GError) error = NULL;
  g_autoptr(UsIrRequest) req = us_ir_request_decode (c->fmt, body, &error);
  gint64 estimate;

  g_assert_no_error (error);
  g_assert_nonnull (req);
  g_assert_cmpstr (us_ir_request_get_model (req), ==, c->model);
  g_assert_cmpint (us_ir_request_get_stream (req), ==, c->stream);
  g_assert_false (us_ir_request_has_images (req));
  g_assert_cmpint (us_ir_request_has_thinking (req), ==, c->thinking);
  g_assert_cmpint (us_ir_request_has_tools (req), ==, c->tools);
  estimate = us_ir_request_estimate_input_tokens (req);
  g_assert_cmpint (estimate, >=, c->min_tokens);
  /* chars / 4 over the body can never be exceeded by the estimate by much */
  g_assert_cmpint (estimate, <=, 60000);
}

/* Same format out as in: the body survives the IR unchanged. */
static void
test_roundtrip (gconstpointer data)
{
  const Capture *c = data;
  g_autoptr(JsonNode) body = tr_load_capture_body (c->file);
  g_autoptr(GError) error = NULL;
  g_autoptr(UsIrRequest) req = us_ir_request_decode (c->fmt, body, &error);
  g_autoptr(JsonNode) out = NULL;

  g_assert_no_error (error);
  out = us_ir_request_encode (req, c->fmt, NULL, 0, &error);
  g_assert_no_error (error);
  tr_assert_json_equal (body, out, c->file);
}

static const char *
short_name (UsWireFormat fmt)
{
  return fmt == US_WIRE_ANTHROPIC ? "anthropic" : fmt == US_WIRE_OPENAI_CHAT ? "chat" : "responses";
}

static char *
pretty (JsonNode *node)
{
  g_autoptr(JsonGenerator) gen = json_generator_new ();

  json_generator_set_pretty (gen, TRUE);
  json_generator_set_indent (gen, 2);
  json_generator_set_root (gen, node);
  return json_generator_to_data (gen, NULL);
}

typedef struct {
  UsWireFormat from;
  UsWireFormat to;
} Pair;

/* Small requests using every feature, encoded for every format (their own
 * included: that drops foreign thinking): exact. */
static void
test_encode_golden (gconstpointer data)
{
  const Pair *p = data;
  g_autofree char *input = g_strdup_printf ("%s-req.json", short_name (p->from));
  g_autofree char *golden = g_strdup_printf ("golden/%s-req.to-%s.json", short_name (p->from), short_name (p->to));
  g_autofree char *golden_path = g_build_filename (TR_DATA_DIR, golden, NULL);
  g_autoptr(JsonNode) body = tr_load_json (input);
  g_autoptr(GError) error = NULL;
  g_autoptr(UsIrRequest) req = us_ir_request_decode (p->from, body, &error);
  g_autoptr(JsonNode) out = NULL;
  g_autofree char *got = NULL;

  g_assert_no_error (error);
  out = us_ir_request_encode (req, p->to, "target-model", 0, &error);
  g_assert_no_error (error);
  got = pretty (out);
  if (g_getenv ("TR_UPDATE_GOLDEN") != NULL)
    g_assert_true (g_file_set_contents (golden_path, got, -1, NULL));
  else
    {
      g_autofree char *expected = tr_load (golden, NULL);

      g_assert_cmpstr (got, ==, expected);
    }
}

/* Every real capture encodes for every format. */
static void
test_capture_cross (gconstpointer data)
{
  const Capture *c = data;
  static const UsWireFormat all[] = { US_WIRE_ANTHROPIC, US_WIRE_OPENAI_CHAT, US_WIRE_OPENAI_RESPONSES };
  g_autoptr(JsonNode) body = tr_load_capture_body (c->file);
  g_autoptr(UsIrRequest) req = us_ir_request_decode (c->fmt, body, NULL);

  g_assert_nonnull (req);
  for (gsize i = 0; i < G_N_ELEMENTS (all); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(JsonNode) out = us_ir_request_encode (req, all[i], "m", 0, &error);
      g_autoptr(UsIrRequest) back = NULL;

      g_assert_no_error (error);
      g_assert_cmpstr (json_object_get_string_member (json_node_get_object (out), "model"), ==, "m");
      /* What we send is something we would accept ourselves. */
      back = us_ir_request_decode (all[i], out, &error);
      g_assert_no_error (error);
      g_assert_cmpint (us_ir_request_get_stream (back), ==, c->stream);
    }
}

static JsonObject *
encode_capture (const char   *file,
                UsWireFormat  from,
                UsWireFormat  to,
                gint64        max_tokens,
                JsonNode    **keep)
{
  g_autoptr(JsonNode) body = tr_load_capture_body (file);
  g_autoptr(UsIrRequest) req = us_ir_request_decode (from, body, NULL);
  g_autoptr(GError) error = NULL;

  *keep = us_ir_request_encode (req, to, "m", max_tokens, &error);
  g_assert_no_error (error);
  return json_node_get_object (*keep);
}

static void
test_claude_code_to_chat (void)
{
  g_autoptr(JsonNode) keep = NULL;
  JsonObject *body = encode_capture ("claude-code-turn2-request.json", US_WIRE_ANTHROPIC,
                                     US_WIRE_OPENAI_CHAT, 32000, &keep);
  JsonArray *messages = json_object_get_array_member (body, "messages");
  JsonObject *first = json_array_get_object_element (messages, 0);
  JsonObject *last = json_array_get_object_element (messages, json_array_get_length (messages) - 1);
  JsonObject *assistant = json_array_get_object_element (messages, json_array_get_length (messages) - 2);
  JsonObject *call = json_array_get_object_element (json_object_get_array_member (assistant, "tool_calls"), 0);

  /* Anthropic-only fields are gone; system text is one leading message. */
  g_assert_false (json_object_has_member (body, "thinking"));
  g_assert_false (json_object_has_member (body, "context_management"));
  g_assert_false (json_object_has_member (body, "output_config"));
  g_assert_false (json_object_has_member (body, "metadata"));
  g_assert_cmpint (json_object_get_int_member (body, "max_tokens"), ==, 32000);
  g_assert_true (json_object_get_boolean_member (json_object_get_object_member (body, "stream_options"), "include_usage"));
  g_assert_cmpstr (json_object_get_string_member (first, "role"), ==, "system");
  g_assert_nonnull (strstr (json_object_get_string_member (first, "content"), "# Environment"));
  for (guint i = 1; i < json_array_get_length (messages); i++)
    g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (messages, i), "role"), !=, "system");
  g_assert_cmpstr (json_object_get_string_member (last, "role"), ==, "tool");
  g_assert_cmpstr (json_object_get_string_member (last, "tool_call_id"), ==, "toolu_bar01");
  g_assert_cmpstr (json_object_get_string_member (call, "id"), ==, "toolu_bar01");
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (body, "tools")), ==, 12);
}

static void
test_codex_to_anthropic (void)
{
  g_autoptr(JsonNode) keep = NULL;
  JsonObject *body = encode_capture ("codex-turn2-request.json", US_WIRE_OPENAI_RESPONSES,
                                     US_WIRE_ANTHROPIC, 0, &keep);
  JsonArray *messages = json_object_get_array_member (body, "messages");
  JsonArray *system = json_object_get_array_member (body, "system");
  JsonArray *tools = json_object_get_array_member (body, "tools");
  JsonObject *last = json_array_get_object_element (messages, json_array_get_length (messages) - 1);
  JsonObject *result = json_array_get_object_element (json_object_get_array_member (last, "content"), 0);

  /* Developer messages became the system prompt; web_search has no
   * Anthropic equivalent; the namespace's 5 tools are flat functions. */
  g_assert_cmpuint (json_array_get_length (system), ==, 3);
  g_assert_cmpuint (json_array_get_length (tools), ==, 12);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (tools, 4), "name"),
                   ==, "multi_agent_v1__close_agent");
  for (guint i = 0; i < json_array_get_length (tools); i++)
    g_assert_true (json_object_has_member (json_array_get_object_element (tools, i), "input_schema"));
  g_assert_cmpint (json_object_get_int_member (body, "max_tokens"), ==, 8192);
  g_assert_false (json_object_has_member (body, "store"));
  g_assert_false (json_object_has_member (body, "include"));
  g_assert_cmpstr (json_object_get_string_member (result, "type"), ==, "tool_result");
  g_assert_cmpstr (json_object_get_string_member (result, "tool_use_id"), ==, "call_bar01");
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (messages, 0), "role"), ==, "user");
}

static void
test_max_tokens_clamp (void)
{
  g_autoptr(JsonNode) a = NULL;
  g_autoptr(JsonNode) b = NULL;
  g_autoptr(JsonNode) c = NULL;

  g_assert_cmpint (json_object_get_int_member (encode_capture ("claude-code-turn1-request.json", US_WIRE_ANTHROPIC,
                                                               US_WIRE_ANTHROPIC, 8000, &a), "max_tokens"), ==, 8000);
  g_assert_cmpint (json_object_get_int_member (encode_capture ("codex-turn1-request.json", US_WIRE_OPENAI_RESPONSES,
                                                               US_WIRE_OPENAI_RESPONSES, 9000, &b), "max_output_tokens"), ==, 9000);
  g_assert_false (json_object_has_member (encode_capture ("codex-turn1-request.json", US_WIRE_OPENAI_RESPONSES,
                                                          US_WIRE_OPENAI_CHAT, 0, &c), "max_tokens"));
}

static void
test_invalid (void)
{
  static const struct {
    UsWireFormat fmt;
    const char  *json;
  } cases[] = {
    { US_WIRE_ANTHROPIC, "[]" },
    { US_WIRE_ANTHROPIC, "{\"messages\":[]}" },
    { US_WIRE_ANTHROPIC, "{\"model\":\"m\"}" },
    { US_WIRE_ANTHROPIC, "{\"model\":\"m\",\"messages\":[{\"role\":\"bot\",\"content\":\"x\"}]}" },
    { US_WIRE_ANTHROPIC, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":5}]}" },
    { US_WIRE_ANTHROPIC, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"tool_use\"}]}]}" },
    /* Found by fuzz-request-responses: an item inside an assistant
     * message's content was sent back out as an item of its own (a
     * role-less message, a call without call_id), which the decoder then
     * refused; the API refuses such content too. */
    { US_WIRE_OPENAI_RESPONSES, "{\"model\":\"m\",\"input\":[{\"type\":\"message\",\"role\":\"assistant\","
                                "\"content\":[{\"type\":\"output_text\",\"text\":\"a\"},{\"type\":\"message\",\"id\":\"x\"}]}]}" },
    { US_WIRE_OPENAI_RESPONSES, "{\"model\":\"m\",\"input\":[{\"role\":\"user\",\"content\":\"hi\"},"
                                "{\"type\":\"message\",\"role\":\"assistant\",\"content\":[{\"type\":\"function_call\",\"name\":\"f\"}]}]}" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(JsonNode) node = json_from_string (cases[i].json, NULL);
      g_autoptr(GError) error = NULL;
      g_autoptr(UsIrRequest) req = us_ir_request_decode (cases[i].fmt, node, &error);

      g_assert_null (req);
      g_assert_error (error, US_TRANSLATE_ERROR, US_TRANSLATE_ERROR_INVALID);
    }
}

/* Renaming the model edits the client's bytes in place: everything else
 * (spacing, member order, a "model" inside a message) stays as it was. */
static void
test_replace_model (void)
{
  static const struct {
    const char *in;
    const char *out;   /* NULL: cannot be done in place */
  } cases[] = {
    { "{\"model\":\"a\",\"max_tokens\":8}", "{\"model\":\"b \\\"q\\\"\",\"max_tokens\":8}" },
    { " { \"messages\" : [ {\"role\":\"user\",\"content\":\"\\\"model\\\": \\\"x\\\" }]\"} ],\n"
      "   \"model\" : \"a\\u00e9\" , \"n\": -1.5e3, \"t\": true, \"o\": {\"model\": \"inner\"} } ",
      " { \"messages\" : [ {\"role\":\"user\",\"content\":\"\\\"model\\\": \\\"x\\\" }]\"} ],\n"
      "   \"model\" : \"b \\\"q\\\"\" , \"n\": -1.5e3, \"t\": true, \"o\": {\"model\": \"inner\"} } " },
    { "{\"max_tokens\":8}", NULL },                           /* no model */
    { "{\"model\":\"a\",\"model\":\"c\"}", NULL },             /* which one counts is the parser's */
    { "{\"mod\\u0065l\":\"a\"}", NULL },                    /* an escaped name */
    { "{\"model\":7}", NULL },                                /* not a string */
    { "[\"model\"]", NULL },
    { "{\"o\":{\"model\":\"inner\"}}", NULL },                 /* only nested */
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GBytes) in = g_bytes_new_static (cases[i].in, strlen (cases[i].in));
      g_autoptr(GBytes) out = us_json_replace_string_member (in, "model", "b \"q\"");

      if (cases[i].out == NULL)
        {
          g_assert_null (out);
          continue;
        }
      g_assert_nonnull (out);
      g_assert_cmpmem (g_bytes_get_data (out, NULL), g_bytes_get_size (out), cases[i].out, strlen (cases[i].out));
      /* And a parser reads the new name. */
      {
        g_autoptr(JsonNode) root = us_json_parse_bytes (out, NULL);

        g_assert_nonnull (root);
        g_assert_cmpstr (json_object_get_string_member (json_node_get_object (root), "model"), ==, "b \"q\"");
      }
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  for (gsize i = 0; i < G_N_ELEMENTS (captures); i++)
    {
      g_autofree char *path = g_strdup_printf ("/request/decode/%s", captures[i].file);
      g_autofree char *rt = g_strdup_printf ("/request/roundtrip/%s", captures[i].file);

      g_test_add_data_func (path, &captures[i], test_capture);
      g_test_add_data_func (rt, &captures[i], test_roundtrip);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (captures); i++)
    {
      g_autofree char *path = g_strdup_printf ("/request/cross/%s", captures[i].file);

      g_test_add_data_func (path, &captures[i], test_capture_cross);
    }
  {
    static Pair pairs[9];
    static const UsWireFormat all[] = { US_WIRE_ANTHROPIC, US_WIRE_OPENAI_CHAT, US_WIRE_OPENAI_RESPONSES };

    for (guint i = 0; i < 9; i++)
      {
        g_autofree char *path = NULL;

        pairs[i].from = all[i / 3];
        pairs[i].to = all[i % 3];
        path = g_strdup_printf ("/request/encode/%s-to-%s", short_name (pairs[i].from), short_name (pairs[i].to));
        g_test_add_data_func (path, &pairs[i], test_encode_golden);
      }
  }
  g_test_add_func ("/request/claude-code-to-chat", test_claude_code_to_chat);
  g_test_add_func ("/request/codex-to-anthropic", test_codex_to_anthropic);
  g_test_add_func ("/request/max-tokens-clamp", test_max_tokens_clamp);
  g_test_add_func ("/request/invalid", test_invalid);
  g_test_add_func ("/request/replace-model", test_replace_model);
  return g_test_run ();
}
