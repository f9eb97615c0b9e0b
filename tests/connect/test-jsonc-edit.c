/* test-jsonc-edit.c: the JSON/JSONC editor splices only where it must, in
 * the file's own style, and refuses broken documents with a position. */
#include <string.h>

#include "us-jsonc-edit.h"

typedef struct {
  const char   *name;
  UsJsonDialect dialect;
  const char   *text;
  const char   *path;    /* dotted */
  const char   *value;   /* JSON; NULL: remove */
  const char   *expected;
} EditCase;

static const EditCase edit_cases[] = {
  { "set/into-empty", US_JSON_STRICT, "{}\n", "a.b", "\"x\"",
    "{\n  \"a\": {\n    \"b\": \"x\"\n  }\n}\n" },
  { "set/compact", US_JSON_STRICT, "{\"a\": 1}", "b", "{\"c\": [1, true, null]}",
    "{\"a\": 1, \"b\": {\"c\": [1, true, null]}}" },
  { "set/tabs", US_JSON_STRICT, "{\n\t\"a\": 1\n}\n", "b", "{\"c\": \"d\"}",
    "{\n\t\"a\": 1,\n\t\"b\": {\n\t\t\"c\": \"d\"\n\t}\n}\n" },
  { "set/crlf", US_JSON_STRICT, "{\r\n  \"a\": 1\r\n}\r\n", "b", "{\"c\": \"d\"}",
    "{\r\n  \"a\": 1,\r\n  \"b\": {\r\n    \"c\": \"d\"\r\n  }\r\n}\r\n" },
  { "set/after-line-comment", US_JSON_JSONC, "{\n  \"a\": 1 // one\n}\n", "b", "2",
    "{\n  \"a\": 1, // one\n  \"b\": 2\n}\n" },
  { "set/trailing-comma", US_JSON_JSONC, "{\n  \"a\": 1, /* one */\n}\n", "b", "2",
    "{\n  \"a\": 1, /* one */\n  \"b\": 2,\n}\n" },
  /* A comment that goes on below stays after the new member, and taking
   * the member out gives the line back (found by tests/fuzz/fuzz-connect). */
  { "set/before-multiline-comment", US_JSON_JSONC, "{\n  \"a\": 1, /* one\n  two */\n}\n", "b", "2",
    "{\n  \"a\": 1,\n  \"b\": 2, /* one\n  two */\n}\n" },
  { "remove/before-multiline-comment", US_JSON_JSONC, "{\n  \"a\": 1,\n  \"b\": 2, /* one\n  two */\n}\n", "b",
    NULL, "{\n  \"a\": 1, /* one\n  two */\n}\n" },
  { "set/empty-with-comment", US_JSON_JSONC, "{ // nothing yet\n}", "a", "1",
    "{\n  \"a\": 1 // nothing yet\n}" },
  { "set/replace", US_JSON_STRICT, "{\"a\": {\"b\": 1}, \"c\": 2}", "a.b", "\"x\"",
    "{\"a\": {\"b\": \"x\"}, \"c\": 2}" },
  { "set/replace-later-duplicate", US_JSON_STRICT, "{\"a\": 1, \"a\": 2}", "a", "3",
    "{\"a\": 1, \"a\": 3}" },
  { "set/escapes", US_JSON_STRICT, "{}", "k\"ey", "\"é\\n\\u0001\"",
    "{\n  \"k\\\"ey\": \"é\\n\\u0001\"\n}" },
  { "set/bom", US_JSON_STRICT, "\xEF\xBB\xBF{\"a\": 1}", "b", "2",
    "\xEF\xBB\xBF{\"a\": 1, \"b\": 2}" },
  { "set/nested-indent", US_JSON_STRICT, "{\n    \"a\": {\n        \"x\": 1\n    }\n}", "a.y", "2",
    "{\n    \"a\": {\n        \"x\": 1,\n        \"y\": 2\n    }\n}" },
  { "remove/last", US_JSON_STRICT, "{\n  \"a\": 1,\n  \"b\": 2\n}\n", "b", NULL,
    "{\n  \"a\": 1\n}\n" },
  { "remove/first", US_JSON_STRICT, "{\n  \"a\": 1,\n  \"b\": 2\n}\n", "a", NULL,
    "{\n  \"b\": 2\n}\n" },
  { "remove/compact-last", US_JSON_STRICT, "{\"a\": 1, \"b\": 2}", "b", NULL, "{\"a\": 1}" },
  { "remove/compact-first", US_JSON_STRICT, "{\"a\": 1, \"b\": 2}", "a", NULL, "{\"b\": 2}" },
  { "remove/only", US_JSON_STRICT, "{\"x\": {\n    \"a\": 1\n  }}", "x.a", NULL, "{\"x\": {}}" },
  { "remove/trailing-commas", US_JSON_JSONC, "{\n  \"a\": 1,\n  \"b\": 2,\n}", "b", NULL,
    "{\n  \"a\": 1,\n}" },
  { "remove/keeps-comment-line", US_JSON_JSONC, "{\n  \"a\": 1,\n  // about b\n  \"b\": 2\n}", "b", NULL,
    "{\n  \"a\": 1\n  // about b\n}" },
  { "remove/absent", US_JSON_STRICT, "{\"a\": 1}", "b.c", NULL, "{\"a\": 1}" },
};

static void
test_edit (gconstpointer data)
{
  const EditCase *c = data;
  g_auto(GStrv) path = g_strsplit (c->path, ".", -1);
  g_autoptr(GError) error = NULL;
  g_autofree char *result = NULL;

  if (c->value != NULL)
    {
      g_autoptr(JsonNode) value = json_from_string (c->value, &error);
      guint created = 0;

      g_assert_no_error (error);
      result = us_jsonc_set (c->text, c->dialect, (const char * const *) path, value, &created, &error);
    }
  else
    result = us_jsonc_remove (c->text, c->dialect, (const char * const *) path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (result, ==, c->expected);
  /* Whatever we write must read back. */
  g_assert_true (us_jsonc_validate (result, c->dialect, NULL));
}

typedef struct {
  UsJsonDialect dialect;
  const char   *text;
  const char   *message;  /* NULL: valid */
} ParseCase;

static const ParseCase parse_cases[] = {
  { US_JSON_STRICT, "{\"a\": 1,}", "line 1, column 8: a trailing comma before '}'" },
  { US_JSON_JSONC, "{\"a\": [1,],}", NULL },
  { US_JSON_STRICT, "// c\n{}", "line 1, column 1: the top level is not a JSON object" },
  { US_JSON_JSONC, "// c\n/* d\n */ {} // e", NULL },
  /* A line comment ends at a lone CR too, as in OpenCode's parser
   * (found by tests/fuzz/fuzz-connect). */
  { US_JSON_JSONC, "{ // c\r#\n}", "line 1, column 8: expected a member name" },
  { US_JSON_JSONC, "{ // c\r\n}", NULL },
  { US_JSON_STRICT, "{\n  \"a\": tru\n}", "line 2, column 8: unexpected text" },
  { US_JSON_STRICT, "{\"a\": \"x}", "line 1, column 7: a string is never closed" },
  { US_JSON_STRICT, "[1]", "the top level is not a JSON object" },
  { US_JSON_STRICT, "{} x", "line 1, column 4: unexpected text after the end" },
  { US_JSON_STRICT, "{\"a\": 01}", "expected ',' or '}'" },
  { US_JSON_STRICT, "{\"a\": -1.5e+3, \"b\": [], \"c\": {}, \"d\": \"\\u00e9\"}", NULL },
  { US_JSON_STRICT, "{\"a\": 1.}", "a malformed number" },
  { US_JSON_STRICT, "{\"a\": \"\x01\"}", "a control character inside a string" },
  { US_JSON_STRICT, "{\"a\": \"\\x\"}", "an unknown escape" },
  { US_JSON_JSONC, "{ /* never closed", "a /* comment is never closed" },
  { US_JSON_STRICT, "{\"é\": \"\xff\"}", "line 1, column 8: the file is not valid UTF-8" },
  { US_JSON_STRICT, "{\"a\" 1}", "expected ':' after the member name" },
  { US_JSON_STRICT, "{\"a\": 1", "the file ends before a closing '}'" },
  { US_JSON_STRICT, "", "the file ends where a value should be" },
};

static void
test_parse (gconstpointer data)
{
  const ParseCase *c = data;
  g_autoptr(GError) error = NULL;
  gboolean ok = us_jsonc_validate (c->text, c->dialect, &error);

  if (c->message == NULL)
    {
      g_assert_no_error (error);
      g_assert_true (ok);
      return;
    }
  g_assert_false (ok);
  g_assert_error (error, US_CONNECT_ERROR, US_CONNECT_ERROR_PARSE);
  if (strstr (error->message, c->message) == NULL)
    g_error ("“%s” does not say “%s”", error->message, c->message);
}

static void
test_deep_nesting (void)
{
  g_autoptr(GString) text = g_string_new ("{\"a\": ");
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < 100000; i++)
    g_string_append_c (text, '[');
  g_assert_false (us_jsonc_validate (text->str, US_JSON_STRICT, &error));
  g_assert_nonnull (strstr (error->message, "nested too deeply"));
}

static void
test_get (void)
{
  const char *text = "{\"a\": {\"b\": \"\\u00e9\\ud83d\\ude00\\/\"}, \"n\": [1, 2]}";
  const char *ab[] = { "a", "b", NULL };
  const char *n[] = { "n", NULL };
  const char *nx[] = { "n", "x", NULL };
  g_autofree char *decoded = us_jsonc_get_string (text, US_JSON_STRICT, ab);
  g_autofree char *raw = us_jsonc_get (text, US_JSON_STRICT, n, NULL);
  g_autofree char *missing = us_jsonc_get (text, US_JSON_STRICT, nx, NULL);
  g_autofree char *not_string = us_jsonc_get_string (text, US_JSON_STRICT, n);

  g_assert_cmpstr (decoded, ==, "é😀/");
  g_assert_cmpstr (raw, ==, "[1, 2]");
  g_assert_null (missing);
  g_assert_null (not_string);
}

/* A parent that is not an object is not ours to replace. */
static void
test_parent_not_object (void)
{
  const char *path[] = { "env", "X", NULL };
  g_autoptr(JsonNode) value = json_from_string ("1", NULL);
  g_autoptr(GError) error = NULL;
  guint created;
  g_autofree char *result = us_jsonc_set ("{\"env\": []}", US_JSON_STRICT, path, value, &created, &error);

  g_assert_null (result);
  g_assert_error (error, US_CONNECT_ERROR, US_CONNECT_ERROR_UNSUPPORTED);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (edit_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/jsonc-edit/%s", edit_cases[i].name);

      g_test_add_data_func (path, &edit_cases[i], test_edit);
    }
  for (guint i = 0; i < G_N_ELEMENTS (parse_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/jsonc-edit/parse/%u", i);

      g_test_add_data_func (path, &parse_cases[i], test_parse);
    }
  g_test_add_func ("/jsonc-edit/deep-nesting", test_deep_nesting);
  g_test_add_func ("/jsonc-edit/get", test_get);
  g_test_add_func ("/jsonc-edit/parent-not-object", test_parent_not_object);

  return g_test_run ();
}
