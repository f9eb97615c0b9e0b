/* test-toml-edit.c: the TOML editor inserts, replaces and drops whole
 * statements, and refuses broken documents with a line number. */
#include <string.h>

#include "us-toml-edit.h"

static const char * const table_path[] = { "p", "u", NULL };
static const char * const key_path[] = { "k", NULL };

typedef enum { SET_KEY, SET_TABLE, REMOVE_KEY, REMOVE_TABLE } Op;

typedef struct {
  const char *name;
  Op          op;
  const char *text;
  const char *expected;
} EditCase;

static const EditCase edit_cases[] = {
  { "key/empty", SET_KEY, "", "k = \"v\"\n" },
  { "key/after-root-keys", SET_KEY, "a = 1\n\n[t]\nx = 1\n", "a = 1\nk = \"v\"\n\n[t]\nx = 1\n" },
  { "key/no-final-newline", SET_KEY, "a = 1", "a = 1\nk = \"v\"\n" },
  { "key/before-comment", SET_KEY, "# c\n[t]\nx = 1\n", "k = \"v\"\n# c\n[t]\nx = 1\n" },
  { "key/before-header", SET_KEY, "[t]\nx = 1\n", "k = \"v\"\n\n[t]\nx = 1\n" },
  { "key/replace-keeps-comment", SET_KEY, "k   =  'old' # why\n", "k   =  \"v\" # why\n" },
  { "key/not-in-table", SET_KEY, "[t]\nk = 1\n", "k = \"v\"\n\n[t]\nk = 1\n" },
  { "key/after-multiline", SET_KEY, "a = \"\"\"\nx\n\"\"\"\n[t]\n", "a = \"\"\"\nx\n\"\"\"\nk = \"v\"\n[t]\n" },
  { "key/crlf", SET_KEY, "a = 1\r\n[t]\r\n", "a = 1\r\nk = \"v\"\r\n[t]\r\n" },
  { "key/remove", REMOVE_KEY, "a = 1\nk = \"v\" # x\nb = 2\n", "a = 1\nb = 2\n" },
  { "table/append", SET_TABLE, "a = 1\n", "a = 1\n\n[p.u]\nx = 1\n" },
  { "table/append-after-blank", SET_TABLE, "a = 1\n\n", "a = 1\n\n[p.u]\nx = 1\n" },
  { "table/append-no-newline", SET_TABLE, "a = 1", "a = 1\n\n[p.u]\nx = 1\n" },
  { "table/append-crlf", SET_TABLE, "a = 1\r\n", "a = 1\r\n\r\n[p.u]\r\nx = 1\r\n" },
  { "table/replace-body", SET_TABLE, "[p.u]\nold = 1\n# about q\n[q]\n", "[p.u]\nx = 1\n# about q\n[q]\n" },
  { "table/replace-quoted-header", SET_TABLE, "[ p . \"u\" ] # mine\nold = 1\n", "[ p . \"u\" ] # mine\nx = 1\n" },
  { "table/remove-with-subtables", REMOVE_TABLE,
    "a = 1\n\n[p.u]\nx = 1\n\n[p.u.h]\ny = 2\n\n[q]\nz = 3\n", "a = 1\n\n[q]\nz = 3\n" },
  { "table/remove-keeps-next-comment", REMOVE_TABLE,
    "a = 1\n\n[p.u]\nx = 1\n# about q\n[q]\n", "a = 1\n# about q\n[q]\n" },
};

static void
test_edit (gconstpointer data)
{
  const EditCase *c = data;
  g_autoptr(GError) error = NULL;
  g_autofree char *result = NULL;

  switch (c->op)
    {
    case SET_KEY:
      result = us_toml_set_root_key (c->text, "k", "\"v\"", &error);
      break;
    case SET_TABLE:
      result = us_toml_set_table (c->text, table_path, "x = 1\n", &error);
      break;
    case REMOVE_KEY:
      result = us_toml_remove (c->text, key_path, &error);
      break;
    case REMOVE_TABLE:
      result = us_toml_remove (c->text, table_path, &error);
      break;
    default:
      g_assert_not_reached ();
    }
  g_assert_no_error (error);
  g_assert_cmpstr (result, ==, c->expected);
  g_assert_true (us_toml_validate (result, NULL));
}

/* Where a [p.u] header would clash with how the file defines p.u. */
static const char *clash_cases[] = {
  "p = { u = { x = 1 } }\n",
  "p.u.x = 1\n",
  "[p]\nu = { x = 1 }\n",
  "[p]\nu.x = 1\n",
  "[[p.u]]\nx = 1\n",
  "[[p]]\nx = 1\n",
  "[p.u]\nx = 1\n[p.u]\ny = 2\n",
};

static void
test_clash (gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *result = us_toml_set_table (data, table_path, "x = 1\n", &error);

  g_assert_null (result);
  g_assert_error (error, US_CONNECT_ERROR, US_CONNECT_ERROR_UNSUPPORTED);
  g_assert_true (g_str_has_prefix (error->message, "line "));
}

typedef struct {
  const char *text;
  const char *message;  /* NULL: valid */
} ParseCase;

static const ParseCase parse_cases[] = {
  { "a = 'x'\n"
    "b = \"\"\"\nmulti \\\n  line \"\" \"\"\"\"\"\n"
    "c = 1979-05-27 07:32:00Z\n"
    "d = { x = 1, y = [1, 2], \"z w\" = 'q' }\n"
    "e = -inf\nf = 0x1F\ng = true\nh = 1_000.5e-3\n"
    "i = [\n  1, # one\n  2,\n]\n"
    "'lit key'.\"q\" . bare = '''\nraw \\ text\n'''\n"
    "[a.\"b c\"]   # comment\n[[arr]]\nx = \"\\u00e9\\U0001F600\"\n", NULL },
  { "\xEF\xBB\xBF" "a = 1\r\n[t]\r\nb = 2\r\n", NULL },
  { "a = \n", "line 1: expected a value" },
  { "ok = 1\n[t\n", "line 2: a table header is not closed with ']'" },
  { "a = \"x\n", "line 1: a string is not closed on its line" },
  { "a = [1, 2\n", "expected ',' or ']' in an array" },
  { "a = 1 b = 2\n", "line 1: unexpected text after a value" },
  { "a = yes\n", "line 1: “yes” is not a TOML value" },
  { "= 1\n", "line 1: expected a key" },
  { "a 1\n", "line 1: expected '=' after a key" },
  { "a = \"\\q\"\n", "an unknown escape" },
  { "a = \"\"\"\nnever closed\n", "line 1: a multi-line string is never closed" },
  { "a = { b = 1\n", "expected ',' or '}' in an inline table" },
  { "# bad \x01 comment\n", "a control character in a comment" },
  { "a = \"\xff\"\n", "the file is not valid UTF-8" },
};

static void
test_parse (gconstpointer data)
{
  const ParseCase *c = data;
  g_autoptr(GError) error = NULL;
  gboolean ok = us_toml_validate (c->text, &error);

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
  g_autoptr(GString) text = g_string_new ("a = ");
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < 100000; i++)
    g_string_append_c (text, '[');
  g_assert_false (us_toml_validate (text->str, &error));
  g_assert_nonnull (strstr (error->message, "nested too deeply"));
}

static void
test_get (void)
{
  const char *text = "k = \"a\\tb\" # c\nl = 'lit'\nm = 3\n[p.u]\nx = 1\n\n[q]\n";
  const char *l[] = { "l", NULL };
  const char *m[] = { "m", NULL };
  const char *ux[] = { "p", "u", "x", NULL };
  g_autofree char *k_value = us_toml_get_string (text, key_path);
  g_autofree char *l_value = us_toml_get_string (text, l);
  g_autofree char *m_value = us_toml_get_string (text, m);
  g_autofree char *m_raw = us_toml_get (text, m, NULL);
  g_autofree char *body = us_toml_get (text, table_path, NULL);
  g_autofree char *x = us_toml_get (text, ux, NULL);
  g_autofree char *quoted = us_toml_quote ("a\"b\\c\n");

  g_assert_cmpstr (k_value, ==, "a\tb");
  g_assert_cmpstr (l_value, ==, "lit");
  g_assert_null (m_value);
  g_assert_cmpstr (m_raw, ==, "3");
  g_assert_cmpstr (body, ==, "x = 1\n");
  g_assert_cmpstr (x, ==, "1");
  g_assert_cmpstr (quoted, ==, "\"a\\\"b\\\\c\\u000A\"");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (edit_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/toml-edit/%s", edit_cases[i].name);

      g_test_add_data_func (path, &edit_cases[i], test_edit);
    }
  for (guint i = 0; i < G_N_ELEMENTS (clash_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/toml-edit/clash/%u", i);

      g_test_add_data_func (path, clash_cases[i], test_clash);
    }
  for (guint i = 0; i < G_N_ELEMENTS (parse_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/toml-edit/parse/%u", i);

      g_test_add_data_func (path, &parse_cases[i], test_parse);
    }
  g_test_add_func ("/toml-edit/deep-nesting", test_deep_nesting);
  g_test_add_func ("/toml-edit/get", test_get);

  return g_test_run ();
}
