/* fuzz-common.c: shared setup for the libFuzzer targets. */

#include "fuzz-common.h"

#include <string.h>

static void
quiet (const char     *domain,
       GLogLevelFlags  level,
       const char     *message,
       gpointer        user_data)
{
}

/* Runs every path once before libFuzzer starts counting allocations, so
 * that GLib's and json-glib's one-time setup (types, quarks, caches) is not
 * mistaken for a leak of the first input. */
static void
warm_up (void)
{
  static const UsWireFormat all[] = { US_WIRE_ANTHROPIC, US_WIRE_OPENAI_CHAT, US_WIRE_OPENAI_RESPONSES };
  static const char *requests[] = {
    "{\"model\":\"m\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
    "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
    "{\"model\":\"m\",\"input\":\"hi\"}",
  };
  const char *stream = "data: {\"type\":\"x\"}\n\n";

  for (gsize i = 0; i < G_N_ELEMENTS (all); i++)
    {
      g_autoptr(JsonNode) node = json_from_string (requests[i], NULL);
      g_autoptr(UsIrRequest) req = us_ir_request_decode (all[i], node, NULL);
      g_autoptr(GBytes) body = g_bytes_new_static (requests[i], strlen (requests[i]));

      for (gsize j = 0; j < G_N_ELEMENTS (all); j++)
        {
          g_autoptr(JsonNode) out = us_ir_request_encode (req, all[j], "m", 0, NULL);
          g_autoptr(UsStreamTranslator) tr = us_stream_translator_new (all[i], all[j], "m");
          g_autoptr(GString) sse = g_string_new (NULL);
          g_autoptr(GBytes) error = us_translate_error (all[i], all[j], 500, body);
          g_autoptr(GBytes) resp = us_translate_response (all[i], all[j], body, "m", NULL, NULL);

          g_assert (error != NULL);
          (void) out;
          (void) resp;
          us_stream_translator_push (tr, stream, strlen (stream), sse);
          us_stream_translator_fail (tr, "api_error", "x", sse);
          us_stream_translator_finish (tr, sse);
        }
    }
}

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_ERROR);
  g_log_set_handler (NULL, G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO | G_LOG_LEVEL_DEBUG, quiet, NULL);
  warm_up ();
  return 0;
}
