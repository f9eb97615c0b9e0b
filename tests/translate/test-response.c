/* test-response.c: whole (non-streamed) responses between every pair of
 * formats, goldens reviewed by hand (TR_UPDATE_GOLDEN=1 rewrites them), and
 * long tool names restored on the way back. */

#include "tr-test-util.h"

#include <string.h>

static const UsWireFormat formats[] = {
  US_WIRE_ANTHROPIC, US_WIRE_OPENAI_CHAT, US_WIRE_OPENAI_RESPONSES,
};

static const char *
short_name (UsWireFormat fmt)
{
  return fmt == US_WIRE_ANTHROPIC ? "anthropic" : fmt == US_WIRE_OPENAI_CHAT ? "chat" : "responses";
}

typedef struct {
  const char  *scenario;
  UsWireFormat from;
  UsWireFormat to;
  UsUsage      usage;
} Case;

static GBytes *
load_bytes (const char *name)
{
  gsize len = 0;
  char *text = tr_load (name, &len);

  return g_bytes_new_take (text, len);
}

static char *
pretty_bytes (GBytes *bytes)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  gsize len = 0;
  const char *data = g_bytes_get_data (bytes, &len);
  g_autofree char *text = NULL;

  g_assert_true (json_parser_load_from_data (parser, data, (gssize) len, NULL));
  json_generator_set_pretty (gen, TRUE);
  json_generator_set_indent (gen, 2);
  json_generator_set_root (gen, json_parser_get_root (parser));
  text = json_generator_to_data (gen, NULL);
  return tr_normalise (text);
}

static void
test_case (gconstpointer data)
{
  const Case *c = data;
  g_autofree char *input = g_strdup_printf ("%s-%s.json", short_name (c->from), c->scenario);
  g_autofree char *golden = g_strdup_printf ("golden/%s-%s.to-%s.json", short_name (c->from),
                                             c->scenario, short_name (c->to));
  g_autofree char *golden_path = g_build_filename (TR_DATA_DIR, golden, NULL);
  g_autoptr(GBytes) body = load_bytes (input);
  g_autoptr(GError) error = NULL;
  UsUsage usage = { -1, -1, -1, -1 };
  UsUsage read_usage;
  g_autoptr(GBytes) out = us_translate_response (c->from, c->to, body, "client-model", &usage, &error);
  g_autofree char *got = NULL;

  g_assert_no_error (error);
  g_assert_cmpint (usage.input_tokens, ==, c->usage.input_tokens);
  g_assert_cmpint (usage.output_tokens, ==, c->usage.output_tokens);
  g_assert_cmpint (usage.cache_read_tokens, ==, c->usage.cache_read_tokens);
  g_assert_true (us_response_read_usage (c->from, body, &read_usage));
  g_assert_cmpint (read_usage.input_tokens, ==, c->usage.input_tokens);

  if (c->from == c->to)
    {
      g_assert_true (g_bytes_equal (out, body));
      return;
    }
  /* What we give a client, we can read back. */
  g_assert_true (us_response_read_usage (c->to, out, &read_usage));
  g_assert_cmpint (read_usage.output_tokens, ==, c->usage.output_tokens);

  got = pretty_bytes (out);
  if (g_getenv ("TR_UPDATE_GOLDEN") != NULL)
    g_assert_true (g_file_set_contents (golden_path, got, -1, NULL));
  else
    {
      g_autofree char *expected = tr_load (golden, NULL);

      g_assert_cmpstr (got, ==, expected);
    }
}

static void
test_not_a_response (void)
{
  g_autoptr(GBytes) junk = g_bytes_new_static ("[1,2]", 5);
  g_autoptr(GBytes) empty = g_bytes_new_static ("{}", 2);

  for (gsize f = 0; f < G_N_ELEMENTS (formats); f++)
    for (gsize t = 0; t < G_N_ELEMENTS (formats); t++)
      {
        g_autoptr(GError) error = NULL;
        g_autoptr(GError) error2 = NULL;
        g_autoptr(GBytes) out = NULL;
        g_autoptr(GBytes) out2 = NULL;

        if (f == t)
          continue;
        out = us_translate_response (formats[f], formats[t], junk, "m", NULL, &error);
        g_assert_null (out);
        g_assert_error (error, US_TRANSLATE_ERROR, US_TRANSLATE_ERROR_INVALID);
        out2 = us_translate_response (formats[f], formats[t], empty, "m", NULL, &error2);
        g_assert_null (out2);
        g_assert_error (error2, US_TRANSLATE_ERROR, US_TRANSLATE_ERROR_INVALID);
      }
}

#define LONG_NAME "mcp__very_long_server_name_for_testing__and_an_even_longer_tool_name_here"

static UsIrRequest *
long_name_request (void)
{
  g_autoptr(JsonNode) body = json_from_string (
    "{\"model\":\"m\",\"max_tokens\":100,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
    "\"tools\":[{\"name\":\"" LONG_NAME "\",\"input_schema\":{\"type\":\"object\"}}]}", NULL);

  return us_ir_request_decode (US_WIRE_ANTHROPIC, body, NULL);
}

static char *
provider_name (UsIrRequest *req)
{
  g_autoptr(JsonNode) out = us_ir_request_encode (req, US_WIRE_OPENAI_CHAT, "m", 0, NULL);
  JsonArray *tools = json_object_get_array_member (json_node_get_object (out), "tools");
  JsonObject *fn = json_object_get_object_member (json_array_get_object_element (tools, 0), "function");

  return g_strdup (json_object_get_string_member (fn, "name"));
}

static void
test_long_tool_name (void)
{
  g_autoptr(UsIrRequest) req = long_name_request ();
  g_autofree char *name = provider_name (req);
  g_autofree char *name2 = provider_name (req);
  g_autofree char *body_text = NULL;
  g_autofree char *stream_text = NULL;
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GBytes) out = NULL;
  g_autoptr(GString) sse = g_string_new (NULL);
  g_autoptr(UsStreamTranslator) tr = us_stream_translator_new (US_WIRE_OPENAI_CHAT, US_WIRE_ANTHROPIC, "m");
  g_autoptr(GError) error = NULL;

  /* Short, valid for OpenAI, and the same on every turn. */
  g_assert_cmpuint (strlen (name), <=, 64);
  g_assert_cmpstr (name, ==, name2);
  g_assert_true (g_str_has_prefix (name, "mcp__very_long_server_name"));

  body_text = g_strdup_printf ("{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"model\":\"m\","
                               "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":null,"
                               "\"tool_calls\":[{\"id\":\"call_1\",\"type\":\"function\",\"function\":"
                               "{\"name\":\"%s\",\"arguments\":\"{}\"}}]},\"finish_reason\":\"tool_calls\"}],"
                               "\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":1}}", name);
  body = g_bytes_new (body_text, strlen (body_text));
  out = us_translate_response_for_request (US_WIRE_OPENAI_CHAT, US_WIRE_ANTHROPIC, body, "m", req, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (g_bytes_get_data (out, NULL), "\"name\":\"" LONG_NAME "\""));

  stream_text = g_strdup_printf ("data: {\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":"
                                 "[{\"index\":0,\"id\":\"call_1\",\"type\":\"function\",\"function\":"
                                 "{\"name\":\"%s\",\"arguments\":\"{}\"}}]},\"finish_reason\":\"tool_calls\"}],"
                                 "\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":1}}\n\ndata: [DONE]\n\n", name);
  us_stream_translator_set_request (tr, req);
  us_stream_translator_push (tr, stream_text, strlen (stream_text), sse);
  us_stream_translator_finish (tr, sse);
  g_assert_nonnull (strstr (sse->str, "\"name\":\"" LONG_NAME "\""));
  g_assert_true (us_stream_translator_is_complete (tr));
}

int
main (int argc, char **argv)
{
  static const struct {
    const char *scenario;
    UsUsage     usage;
  } scenarios[] = {
    { "text", { 25, 12, 100, 0 } },
    { "tool", { 410, 57, 20, 0 } },
  };
  g_autoptr(GPtrArray) cases = g_ptr_array_new_with_free_func (g_free);

  g_test_init (&argc, &argv, NULL);
  for (gsize s = 0; s < G_N_ELEMENTS (scenarios); s++)
    for (gsize f = 0; f < G_N_ELEMENTS (formats); f++)
      for (gsize t = 0; t < G_N_ELEMENTS (formats); t++)
        {
          Case *c = g_new0 (Case, 1);
          g_autofree char *path = NULL;

          c->scenario = scenarios[s].scenario;
          c->usage = scenarios[s].usage;
          c->from = formats[f];
          c->to = formats[t];
          g_ptr_array_add (cases, c);
          path = g_strdup_printf ("/response/%s/%s-to-%s", c->scenario, short_name (c->from), short_name (c->to));
          g_test_add_data_func (path, c, test_case);
        }
  g_test_add_func ("/response/not-a-response", test_not_a_response);
  g_test_add_func ("/response/long-tool-name", test_long_tool_name);
  return g_test_run ();
}
