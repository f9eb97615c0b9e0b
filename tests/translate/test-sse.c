/* test-sse.c: the SSE parser under every split and line ending. */

#include "us-sse.h"

#include <string.h>

static void
collect (const char *event,
         const char *data,
         gsize       len,
         gpointer    user_data)
{
  GString *log = user_data;

  g_assert_cmpuint (strlen (data), ==, len);
  g_string_append_printf (log, "[%s|%s]", event ? event : "-", data);
}

static char *
parse_split (const char *input,
             gsize       len,
             gsize       split)
{
  GString *log = g_string_new (NULL);
  g_autoptr(UsSseParser) parser = us_sse_parser_new (0, collect, log);

  us_sse_parser_push (parser, input, split);
  us_sse_parser_push (parser, input + split, len - split);
  us_sse_parser_finish (parser);
  return g_string_free (log, FALSE);
}

static void
check_all_splits (const char *input,
                  const char *expected)
{
  gsize len = strlen (input);

  for (gsize split = 0; split <= len; split++)
    {
      g_autofree char *got = parse_split (input, len, split);

      if (g_strcmp0 (got, expected) != 0)
        g_error ("split at %" G_GSIZE_FORMAT ": got %s, expected %s", split, got, expected);
    }
}

static void
check_byte_by_byte (const char *input,
                    const char *expected)
{
  GString *log = g_string_new (NULL);
  g_autoptr(UsSseParser) parser = us_sse_parser_new (0, collect, log);
  g_autofree char *got = NULL;

  for (const char *p = input; *p != '\0'; p++)
    us_sse_parser_push (parser, p, 1);
  us_sse_parser_finish (parser);
  got = g_string_free (log, FALSE);
  g_assert_cmpstr (got, ==, expected);
}

static void
test_line_endings (void)
{
  const char *expected = "[a|1][-|2\n3][b|x]";

  check_all_splits ("event: a\ndata: 1\n\ndata: 2\ndata:3\n\nevent:b\ndata: x\n\n", expected);
  check_all_splits ("event: a\r\ndata: 1\r\n\r\ndata: 2\r\ndata:3\r\n\r\nevent:b\r\ndata: x\r\n\r\n", expected);
  check_all_splits ("event: a\rdata: 1\r\rdata: 2\rdata:3\r\revent:b\rdata: x\r\r", expected);
  check_byte_by_byte ("event: a\r\ndata: 1\r\n\r\ndata: 2\rdata:3\n\nevent:b\ndata: x\r\r", expected);
}

static void
test_comments_and_fields (void)
{
  /* Comments, unknown fields, id and retry are no events; an event without
   * data is dropped; "data" without colon is an empty line of data. */
  check_all_splits (": keep-alive\n\nid: 7\nretry: 10\nfoo: bar\ndata: x\n\n"
                    "event: empty\n\ndata\ndata\n\n",
                    "[-|x][-|\n]");
  /* A BOM at the start is not part of the first field name. */
  check_all_splits ("\xef\xbb\xbf" "data: a\n\n", "[-|a]");
  /* Only one space after the colon is eaten. */
  check_all_splits ("data:  two\n\n", "[-| two]");
}

static void
test_utf8_split (void)
{
  /* A multi-byte character cut by the split comes out whole. */
  check_all_splits ("event: t\ndata: {\"text\":\"h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80\"}\n\n",
                    "[t|{\"text\":\"h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80\"}]");
}

static void
test_finish_flushes (void)
{
  /* Servers that end without the final blank line still deliver. */
  check_all_splits ("data: [DONE]", "[-|[DONE]]");
  check_all_splits ("data: [DONE]\n", "[-|[DONE]]");
}

static void
test_limit (void)
{
  GString *log = g_string_new (NULL);
  g_autoptr(UsSseParser) parser = us_sse_parser_new (16, collect, log);
  g_autofree char *got = NULL;
  const char *big = "event: big\ndata: 0123456789abcdefghijkl";

  /* The over-long line arrives in pieces and is dropped with its event;
   * the next event is untouched. */
  for (const char *p = big; *p != '\0'; p += 3)
    us_sse_parser_push (parser, p, MIN (3, strlen (p)));
  us_sse_parser_push (parser, "mnop\ndata: more\n\nevent: ok\ndata: y\n\n", 36);
  us_sse_parser_finish (parser);
  g_assert_true (us_sse_parser_overflowed (parser));
  got = g_string_free (log, FALSE);
  g_assert_cmpstr (got, ==, "[ok|y]");
}

static void
test_append (void)
{
  g_autoptr(GString) out = g_string_new (NULL);

  us_sse_append (out, "e", "a\nb");
  us_sse_append (out, NULL, "[DONE]");
  g_assert_cmpstr (out->str, ==, "event: e\ndata: a\ndata: b\n\ndata: [DONE]\n\n");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/sse/line-endings", test_line_endings);
  g_test_add_func ("/sse/comments-fields", test_comments_and_fields);
  g_test_add_func ("/sse/utf8-split", test_utf8_split);
  g_test_add_func ("/sse/finish", test_finish_flushes);
  g_test_add_func ("/sse/limit", test_limit);
  g_test_add_func ("/sse/append", test_append);
  return g_test_run ();
}
