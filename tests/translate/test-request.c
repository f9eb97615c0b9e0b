/* test-request.c: decoding real client requests (the captures) and what
 * the hub reads from them. */

#include "tr-test-util.h"

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
  if (!json_node_equal (body, out))
    {
      g_autofree char *a = tr_json_compact (body);
      g_autofree char *b = tr_json_compact (out);

      if (g_getenv ("TR_DUMP") != NULL)
        {
          g_file_set_contents ("/tmp/tr-in.json", a, -1, NULL);
          g_file_set_contents ("/tmp/tr-out.json", b, -1, NULL);
        }
      g_error ("%s changed (TR_DUMP=1 writes /tmp/tr-{in,out}.json)", c->file);
    }
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
  g_test_add_func ("/request/invalid", test_invalid);
  return g_test_run ();
}
