/* test-errors.c: error envelopes in every client's own shape. */

#include "tr-test-util.h"

#include <string.h>

static char *
bytes_str (GBytes *bytes)
{
  gsize len = 0;
  const char *data = g_bytes_get_data (bytes, &len);

  return g_strndup (data, len);
}

static void
check_body (UsWireFormat fmt,
            guint        status,
            const char  *type,
            const char  *message,
            const char  *expected)
{
  g_autoptr(GBytes) body = us_error_body (fmt, status, type, message);
  g_autofree char *got = bytes_str (body);

  g_assert_cmpstr (got, ==, expected);
}

static void
test_error_body (void)
{
  check_body (US_WIRE_ANTHROPIC, 429, "rate_limit_error", "Slow down",
              "{\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\",\"message\":\"Slow down\"}}");
  check_body (US_WIRE_ANTHROPIC, 529, NULL, "busy",
              "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"busy\"}}");
  check_body (US_WIRE_OPENAI_CHAT, 429, "rate_limit_error", "Slow down",
              "{\"error\":{\"message\":\"Slow down\",\"type\":\"rate_limit_error\",\"code\":\"rate_limit_exceeded\",\"param\":null}}");
  check_body (US_WIRE_OPENAI_RESPONSES, 400, "invalid_request_error", "bad",
              "{\"error\":{\"message\":\"bad\",\"type\":\"invalid_request_error\",\"code\":null,\"param\":null}}");
  check_body (US_WIRE_OPENAI_RESPONSES, 400, "invalid_request_error",
              "prompt is too long: 210000 tokens > 200000 maximum",
              "{\"error\":{\"message\":\"prompt is too long: 210000 tokens > 200000 maximum\","
              "\"type\":\"invalid_request_error\",\"code\":\"context_length_exceeded\",\"param\":null}}");
}

static void
test_type_for_status (void)
{
  g_assert_cmpstr (us_error_type_for_status (400), ==, "invalid_request_error");
  g_assert_cmpstr (us_error_type_for_status (401), ==, "authentication_error");
  g_assert_cmpstr (us_error_type_for_status (403), ==, "permission_error");
  g_assert_cmpstr (us_error_type_for_status (404), ==, "not_found_error");
  g_assert_cmpstr (us_error_type_for_status (413), ==, "request_too_large");
  g_assert_cmpstr (us_error_type_for_status (429), ==, "rate_limit_error");
  g_assert_cmpstr (us_error_type_for_status (500), ==, "api_error");
  g_assert_cmpstr (us_error_type_for_status (529), ==, "overloaded_error");
  g_assert_cmpstr (us_error_type_for_status (418), ==, "invalid_request_error");
  g_assert_cmpstr (us_error_type_for_status (599), ==, "api_error");
  g_assert_cmpuint (us_error_status_for_type ("overloaded_error"), ==, 529);
  g_assert_cmpuint (us_error_status_for_type ("rate_limit_error"), ==, 429);
  g_assert_cmpuint (us_error_status_for_type ("nonsense"), ==, 500);
}

static void
check_translate (UsWireFormat from,
                 UsWireFormat to,
                 guint        status,
                 const char  *body,
                 const char  *expected)
{
  g_autoptr(GBytes) in = g_bytes_new (body, strlen (body));
  g_autoptr(GBytes) out = us_translate_error (from, to, status, in);
  g_autofree char *got = bytes_str (out);

  g_assert_cmpstr (got, ==, expected);
}

static void
test_translate_error (void)
{
  /* Same format: untouched. */
  check_translate (US_WIRE_ANTHROPIC, US_WIRE_ANTHROPIC, 429, "not json at all", "not json at all");
  /* OpenAI → Anthropic, by code. */
  check_translate (US_WIRE_OPENAI_CHAT, US_WIRE_ANTHROPIC, 429,
                   "{\"error\":{\"message\":\"You exceeded your current quota\",\"type\":\"insufficient_quota\",\"param\":null,\"code\":\"insufficient_quota\"}}",
                   "{\"type\":\"error\",\"error\":{\"type\":\"billing_error\",\"message\":\"You exceeded your current quota\"}}");
  check_translate (US_WIRE_OPENAI_RESPONSES, US_WIRE_ANTHROPIC, 400,
                   "{\"error\":{\"message\":\"Your input exceeds the context window\",\"type\":\"invalid_request_error\",\"code\":\"context_length_exceeded\"}}",
                   "{\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\",\"message\":\"prompt is too long: Your input exceeds the context window\"}}");
  /* Anthropic → OpenAI. */
  check_translate (US_WIRE_ANTHROPIC, US_WIRE_OPENAI_RESPONSES, 529,
                   "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}",
                   "{\"error\":{\"message\":\"Overloaded\",\"type\":\"server_error\",\"code\":\"server_is_overloaded\",\"param\":null}}");
  /* A shape other than the declared one is still read. */
  check_translate (US_WIRE_OPENAI_CHAT, US_WIRE_OPENAI_RESPONSES, 401,
                   "{\"type\":\"error\",\"error\":{\"type\":\"authentication_error\",\"message\":\"invalid x-api-key\"}}",
                   "{\"error\":{\"message\":\"invalid x-api-key\",\"type\":\"authentication_error\",\"code\":\"invalid_api_key\",\"param\":null}}");
  /* Ollama's string error. */
  check_translate (US_WIRE_OPENAI_CHAT, US_WIRE_ANTHROPIC, 404,
                   "{\"error\":\"model 'qwen' not found\"}",
                   "{\"type\":\"error\",\"error\":{\"type\":\"not_found_error\",\"message\":\"model 'qwen' not found\"}}");
  /* Not JSON: the status gives the type, the text the message. */
  check_translate (US_WIRE_OPENAI_CHAT, US_WIRE_ANTHROPIC, 502,
                   "<html>Bad Gateway</html>\n",
                   "{\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"<html>Bad Gateway</html>\"}}");
  check_translate (US_WIRE_ANTHROPIC, US_WIRE_OPENAI_CHAT, 503, "",
                   "{\"error\":{\"message\":\"Upstream returned HTTP 503\",\"type\":\"server_error\",\"code\":\"server_is_overloaded\",\"param\":null}}");
}

static void
test_read_usage (void)
{
  const char *body =
    "{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"m\","
    "\"content\":[{\"type\":\"text\",\"text\":\"hi\"}],\"stop_reason\":\"end_turn\","
    "\"usage\":{\"input_tokens\":11,\"cache_creation_input_tokens\":2,"
    "\"cache_read_input_tokens\":30,\"output_tokens\":4}}";
  g_autoptr(GBytes) bytes = g_bytes_new (body, strlen (body));
  g_autoptr(GBytes) junk = g_bytes_new ("{", 1);
  UsUsage usage;

  g_assert_true (us_response_read_usage (US_WIRE_ANTHROPIC, bytes, &usage));
  g_assert_cmpint (usage.input_tokens, ==, 11);
  g_assert_cmpint (usage.output_tokens, ==, 4);
  g_assert_cmpint (usage.cache_read_tokens, ==, 30);
  g_assert_cmpint (usage.cache_write_tokens, ==, 2);
  g_assert_false (us_response_read_usage (US_WIRE_ANTHROPIC, junk, &usage));
  g_assert_cmpint (usage.input_tokens, ==, 0);
}

static void
test_parse_json (void)
{
  static const char *bad[] = { "{}{}", "5{}", "[1] [2]", "\"s\"", "", "{\"a\":" };
  const char *ok = " {\"a\":\"}{\"} \n";
  g_autoptr(GBytes) good = g_bytes_new_static (ok, strlen (ok));
  g_autoptr(JsonNode) node = us_translate_parse_json (good, NULL);

  g_assert_nonnull (node);
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GBytes) bytes = g_bytes_new_static (bad[i], strlen (bad[i]));
      g_autoptr(GError) error = NULL;
      g_autoptr(JsonNode) none = us_translate_parse_json (bytes, &error);

      g_assert_null (none);
      g_assert_nonnull (error);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/errors/body", test_error_body);
  g_test_add_func ("/errors/type-for-status", test_type_for_status);
  g_test_add_func ("/errors/translate", test_translate_error);
  g_test_add_func ("/errors/read-usage", test_read_usage);
  g_test_add_func ("/errors/parse-json", test_parse_json);
  return g_test_run ();
}
