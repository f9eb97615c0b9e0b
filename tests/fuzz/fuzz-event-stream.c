/* fuzz-event-stream.c: the AWS event-stream decoder (Bedrock's streams).
 *
 * Byte 0 sets the cut size N (1-32). Byte 1 is the mode: bit 7 takes the
 * rest as it is, bit 6 decodes it as a Converse stream. Otherwise, since
 * random bytes almost never carry two right CRC32s, the rest is read as
 * messages to frame, [flags][headers length:2][body length:2][body]…,
 * each framed with right lengths and CRCs unless flags bit 0 (prelude) or
 * bit 1 (message) says to break one. The stream is decoded whole and cut
 * every N bytes: both must give the same output or the same error. */

#include "fuzz-common.h"
#include "us-event-stream.h"

#include <string.h>
#include <zlib.h>

static void
put_be32 (GByteArray *out,
          guint32     value)
{
  guint8 b[4] = { value >> 24, value >> 16, value >> 8, value };

  g_byte_array_append (out, b, 4);
}

static GByteArray *
frame (const uint8_t *data,
       size_t         size)
{
  GByteArray *out = g_byte_array_new ();

  while (size >= 5)
    {
      guint8 flags = data[0];
      gsize headers_len = ((gsize) data[1] << 8) | data[2];
      gsize body_len = ((gsize) data[3] << 8) | data[4];
      guint start = out->len;
      guint32 check;

      data += 5;
      size -= 5;
      body_len = MIN (body_len, size);
      headers_len = MIN (headers_len, body_len);
      put_be32 (out, 12 + body_len + 4);
      put_be32 (out, headers_len);
      check = crc32 (0, out->data + start, 8);
      put_be32 (out, (flags & 1) ? ~check : check);
      g_byte_array_append (out, data, body_len);
      check = crc32 (0, out->data + start, out->len - start);
      put_be32 (out, (flags & 2) ? ~check : check);
      data += body_len;
      size -= body_len;
    }
  return out;
}

static char *
decode (const guint8  *data,
        gsize          length,
        gsize          step,
        gboolean       converse,
        char         **error_message)
{
  GInputStream *base = g_memory_input_stream_new ();
  UsEventStreamDecoder *decoder = converse ? us_event_stream_decoder_new_converse ("model")
                                           : us_event_stream_decoder_new ();
  GInputStream *stream;
  GString *out = g_string_new (NULL);
  GError *error = NULL;
  char buffer[64];
  gssize n;

  for (gsize pos = 0; pos < length; pos += step)
    g_memory_input_stream_add_data (G_MEMORY_INPUT_STREAM (base), g_memdup2 (data + pos, MIN (step, length - pos)),
                                    MIN (step, length - pos), g_free);
  stream = g_converter_input_stream_new (base, G_CONVERTER (decoder));
  while ((n = g_input_stream_read (stream, buffer, sizeof buffer, NULL, &error)) > 0)
    g_string_append_len (out, buffer, n);
  *error_message = error ? g_strdup (error->message) : NULL;
  g_clear_error (&error);
  g_object_unref (stream);
  g_object_unref (decoder);
  g_object_unref (base);
  return g_string_free (out, FALSE);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  GByteArray *input;
  char *whole, *cut, *whole_error, *cut_error;
  gsize step;
  gboolean converse;
  GRegex *ids;

  if (size < 2)
    return 0;
  step = data[0] % 32 + 1;
  converse = (data[1] & 0x40) != 0;
  if (data[1] & 0x80)
    {
      input = g_byte_array_new ();
      g_byte_array_append (input, data + 2, size - 2);
    }
  else
    input = frame (data + 2, size - 2);

  whole = decode (input->data, input->len, input->len ? input->len : 1, converse, &whole_error);
  cut = decode (input->data, input->len, step, converse, &cut_error);
  /* Converse messages get a fresh id each time. */
  ids = g_regex_new ("msg_bdrk_[0-9a-f-]+", 0, 0, NULL);
  {
    char *a = g_regex_replace_literal (ids, whole, -1, 0, "ID", 0, NULL);
    char *b = g_regex_replace_literal (ids, cut, -1, 0, "ID", 0, NULL);

    g_assert_cmpstr (a, ==, b);
    g_free (a);
    g_free (b);
  }
  g_regex_unref (ids);
  g_assert_cmpstr (whole_error, ==, cut_error);

  g_free (whole);
  g_free (cut);
  g_free (whole_error);
  g_free (cut_error);
  g_byte_array_unref (input);
  return 0;
}
