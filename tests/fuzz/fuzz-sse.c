/* fuzz-sse.c: the SSE parser, with the input cut at every place the first
 * byte points to; a one-push parse must agree with the cut one. */

#include "fuzz-common.h"
#include "us-sse.h"

#include <string.h>

static void
collect (const char *event,
         const char *data,
         gsize       len,
         gpointer    user_data)
{
  GString *log = user_data;

  /* NUL bytes are data too: only the length counts. */
  g_assert (data[len] == '\0');
  g_string_append_printf (log, "%s|", event ? event : "-");
  g_string_append_len (log, data, (gssize) len);
  g_string_append_c (log, ';');
}

static GString *
parse (const uint8_t *data,
       size_t         size,
       gsize          step,
       gsize          limit)
{
  GString *log = g_string_new (NULL);
  UsSseParser *parser = us_sse_parser_new (limit, collect, log);

  for (gsize pos = 0; pos < size; pos += step)
    us_sse_parser_push (parser, (const char *) data + pos, MIN (step, size - pos));
  us_sse_parser_finish (parser);
  us_sse_parser_free (parser);
  return log;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(GString) whole = NULL;
  g_autoptr(GString) cut = NULL;
  g_autoptr(GString) small = NULL;
  gsize step;

  if (size < 1)
    return 0;
  step = 1 + data[0] % 17;
  data++, size--;

  whole = parse (data, size, MAX (size, 1), 0);
  cut = parse (data, size, step, 0);
  g_assert (g_string_equal (whole, cut));
  /* A tiny limit must drop events, never crash. */
  small = parse (data, size, step, 8);
  g_assert (small->len <= whole->len);
  return 0;
}
