/* fuzz-stream.c: a stream decoder (FUZZ_FORMAT) feeding every encoder, the
 * input cut where the first byte says; also whole responses and errors. */

#include "fuzz-common.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  static const UsWireFormat all[] = { US_WIRE_ANTHROPIC, US_WIRE_OPENAI_CHAT, US_WIRE_OPENAI_RESPONSES };
  g_autoptr(GBytes) bytes = NULL;
  gsize step;
  guint8 flags;

  if (size < 2)
    return 0;
  step = 1 + data[0] % 31;
  flags = data[1];
  data += 2, size -= 2;
  bytes = g_bytes_new_static (data, size);

  for (gsize i = 0; i < G_N_ELEMENTS (all); i++)
    {
      g_autoptr(UsStreamTranslator) tr = us_stream_translator_new (FUZZ_FORMAT, all[i], "m");
      g_autoptr(GString) out = g_string_new (NULL);
      g_autoptr(GBytes) body = NULL;
      g_autoptr(GBytes) error = NULL;
      UsUsage usage;

      for (gsize pos = 0; pos < size; pos += step)
        us_stream_translator_push (tr, (const char *) data + pos, MIN (step, size - pos), out);
      (void) us_stream_translator_has_content (tr);
      (void) us_stream_translator_is_complete (tr);
      (void) us_stream_translator_get_error (tr, NULL, NULL);
      (void) us_stream_translator_get_usage (tr);
      if (flags & 1)
        us_stream_translator_fail (tr, "api_error", "fuzz", out);
      us_stream_translator_finish (tr, out);
      /* The client gets text: never a broken UTF-8 sequence we made. */
      if (FUZZ_FORMAT != all[i] && g_utf8_validate ((const char *) data, (gssize) size, NULL))
        g_assert (g_utf8_validate (out->str, out->len, NULL));

      body = us_translate_response (FUZZ_FORMAT, all[i], bytes, "m", &usage, NULL);
      error = us_translate_error (FUZZ_FORMAT, all[i], 400 + flags, bytes);
      g_assert (error != NULL);
    }
  return 0;
}
