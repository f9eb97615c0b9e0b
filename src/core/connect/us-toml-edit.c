/* us-toml-edit.c: a statement scanner for TOML and the splices done with
 * its spans. Values are validated by shape (strings, arrays, inline tables,
 * bare scalars), not by type: enough to refuse a broken file. */
#include "us-toml-edit.h"

#include <string.h>

#define MAX_DEPTH 128
#define NO_TABLE G_MAXUINT

typedef enum {
  STMT_KEYVAL,
  STMT_TABLE,
  STMT_ARRAY_TABLE,
} StmtKind;

typedef struct {
  StmtKind   kind;
  gsize      line_start;
  gsize      end;          /* after the statement's line break */
  gsize      value_start;  /* key/value only */
  gsize      value_end;
  GPtrArray *path;         /* full path: a header's, or its table's + the key */
  guint      table;        /* key/value: index of its header, NO_TABLE at the top */
  guint      line;
} Stmt;

static void
stmt_free (Stmt *stmt)
{
  g_ptr_array_unref (stmt->path);
  g_free (stmt);
}

typedef struct {
  const char *text;
  gsize       len;
  gsize       pos;
  guint       depth;
  GError    **error;
} TParser;

static gboolean G_GNUC_PRINTF (3, 4)
fail (TParser *p, gsize at, const char *format, ...)
{
  g_autofree char *message = NULL;
  guint line = 1;
  va_list args;

  for (gsize i = 0; i < at && i < p->len; i++)
    if (p->text[i] == '\n')
      line++;
  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (p->error, US_CONNECT_ERROR, US_CONNECT_ERROR_PARSE,
               "line %u: %s", line, message);
  return FALSE;
}

static gboolean
at_end (TParser *p)
{
  return p->pos >= p->len;
}

static char
peek (TParser *p, gsize ahead)
{
  return p->pos + ahead < p->len ? p->text[p->pos + ahead] : '\0';
}

static void
skip_blanks (TParser *p)
{
  while (!at_end (p) && (p->text[p->pos] == ' ' || p->text[p->pos] == '\t'))
    p->pos++;
}

static gboolean
at_line_break (TParser *p)
{
  return peek (p, 0) == '\n' || (peek (p, 0) == '\r' && peek (p, 1) == '\n');
}

static gboolean
skip_comment (TParser *p)
{
  while (!at_end (p) && !at_line_break (p))
    {
      guchar c = (guchar) p->text[p->pos];

      if ((c < 0x20 && c != '\t') || c == 0x7f)
        return fail (p, p->pos, "a control character in a comment");
      p->pos++;
    }
  return TRUE;
}

/* Blanks, an optional comment, then the line break (or the end). */
static gboolean
expect_line_end (TParser *p)
{
  skip_blanks (p);
  if (peek (p, 0) == '#')
    {
      p->pos++;
      if (!skip_comment (p))
        return FALSE;
    }
  if (at_end (p))
    return TRUE;
  if (peek (p, 0) == '\n')
    {
      p->pos++;
      return TRUE;
    }
  if (peek (p, 0) == '\r' && peek (p, 1) == '\n')
    {
      p->pos += 2;
      return TRUE;
    }
  return fail (p, p->pos, "unexpected text after a value (a string needs quotes, "
               "one key/value per line)");
}

/* Inside arrays and inline tables: any whitespace, line breaks, comments. */
static gboolean
skip_space_and_comments (TParser *p)
{
  for (;;)
    {
      char c = peek (p, 0);

      if (c == ' ' || c == '\t' || c == '\n' || (c == '\r' && peek (p, 1) == '\n'))
        p->pos++;
      else if (c == '#')
        {
          p->pos++;
          if (!skip_comment (p))
            return FALSE;
        }
      else
        return TRUE;
    }
}

static gboolean
read_hex (TParser *p, guint digits, GString *out)
{
  gunichar ch = 0;

  for (guint i = 0; i < digits; i++)
    {
      char c = peek (p, i);

      if (!g_ascii_isxdigit (c))
        return fail (p, p->pos, "an escape needs %u hex digits", digits);
      ch = ch * 16 + (gunichar) g_ascii_xdigit_value (c);
    }
  if (!g_unichar_validate (ch))
    return fail (p, p->pos, "an escape names an invalid character");
  p->pos += digits;
  if (out != NULL)
    g_string_append_unichar (out, ch);
  return TRUE;
}

/* After a backslash in a basic string. */
static gboolean
parse_escape (TParser *p, GString *out, gboolean multiline)
{
  char c = peek (p, 0);
  const char *simple = strchr ("btnfre\"\\", c);

  if (c != '\0' && simple != NULL)
    {
      static const char decoded[] = "\b\t\n\f\r\x1b\"\\";

      p->pos++;
      if (out != NULL)
        g_string_append_c (out, decoded[simple - "btnfre\"\\"]);
      return TRUE;
    }
  if (c == 'u' || c == 'U')
    {
      p->pos++;
      return read_hex (p, c == 'u' ? 4 : 8, out);
    }
  if (multiline)
    {
      /* A line-ending backslash eats the break and the next line's indent. */
      gsize save = p->pos;

      skip_blanks (p);
      if (at_line_break (p))
        {
          while (!at_end (p) && g_ascii_isspace (p->text[p->pos]))
            p->pos++;
          return TRUE;
        }
      p->pos = save;
    }
  return fail (p, p->pos, "an unknown escape in a string");
}

static gboolean
check_string_char (TParser *p, guchar c)
{
  if ((c < 0x20 && c != '\t') || c == 0x7f)
    return fail (p, p->pos, "a control character inside a string");
  return TRUE;
}

/* At the opening quote of a one-line basic ("...") or literal ('...')
 * string. */
static gboolean
parse_line_string (TParser *p, GString *out)
{
  char quote = p->text[p->pos];
  gsize start = p->pos;

  p->pos++;
  for (;;)
    {
      guchar c;

      if (at_end (p) || at_line_break (p))
        return fail (p, start, "a string is not closed on its line");
      c = (guchar) p->text[p->pos];
      if (c == (guchar) quote)
        {
          p->pos++;
          return TRUE;
        }
      if (c == '\\' && quote == '"')
        {
          p->pos++;
          if (!parse_escape (p, out, FALSE))
            return FALSE;
          continue;
        }
      if (!check_string_char (p, c))
        return FALSE;
      if (out != NULL)
        g_string_append_c (out, (char) c);
      p->pos++;
    }
}

/* At the first of three quotes. */
static gboolean
parse_multiline_string (TParser *p)
{
  char quote = p->text[p->pos];
  gsize start = p->pos;

  p->pos += 3;
  for (;;)
    {
      guchar c;

      if (at_end (p))
        return fail (p, start, "a multi-line string is never closed");
      c = (guchar) p->text[p->pos];
      if (c == (guchar) quote && peek (p, 1) == quote && peek (p, 2) == quote)
        {
          p->pos += 3;
          /* Up to two quotes may sit just inside the closing delimiter. */
          for (guint i = 0; i < 2 && peek (p, 0) == quote; i++)
            p->pos++;
          return TRUE;
        }
      if (c == '\\' && quote == '"')
        {
          p->pos++;
          if (!parse_escape (p, NULL, TRUE))
            return FALSE;
          continue;
        }
      if (c == '\n' || (c == '\r' && peek (p, 1) == '\n'))
        {
          p->pos += c == '\r' ? 2 : 1;
          continue;
        }
      if (!check_string_char (p, c))
        return FALSE;
      p->pos++;
    }
}

static gboolean
is_bare_key_char (char c)
{
  return g_ascii_isalnum (c) || c == '_' || c == '-';
}

/* A dotted key, each part decoded into @segments. */
static gboolean
parse_key (TParser *p, GPtrArray *segments)
{
  for (;;)
    {
      char c;

      skip_blanks (p);
      c = peek (p, 0);
      if (c == '"' || c == '\'')
        {
          GString *part = g_string_new (NULL);

          if (!parse_line_string (p, part))
            {
              g_string_free (part, TRUE);
              return FALSE;
            }
          g_ptr_array_add (segments, g_string_free (part, FALSE));
        }
      else
        {
          gsize start = p->pos;

          while (!at_end (p) && is_bare_key_char (p->text[p->pos]))
            p->pos++;
          if (p->pos == start)
            return fail (p, p->pos, "expected a key");
          g_ptr_array_add (segments, g_strndup (p->text + start, p->pos - start));
        }
      skip_blanks (p);
      if (peek (p, 0) != '.')
        return TRUE;
      p->pos++;
    }
}

static gboolean parse_value (TParser *p);

static gboolean
parse_array (TParser *p)
{
  p->pos++;
  for (;;)
    {
      if (!skip_space_and_comments (p))
        return FALSE;
      if (peek (p, 0) == ']')
        {
          p->pos++;
          return TRUE;
        }
      if (!parse_value (p) || !skip_space_and_comments (p))
        return FALSE;
      if (peek (p, 0) == ',')
        p->pos++;
      else if (peek (p, 0) != ']')
        return fail (p, p->pos, "expected ',' or ']' in an array");
    }
}

static gboolean
parse_inline_table (TParser *p)
{
  p->pos++;
  for (;;)
    {
      g_autoptr(GPtrArray) key = g_ptr_array_new_with_free_func (g_free);

      /* Line breaks here are TOML 1.1; Codex's parser takes them. */
      if (!skip_space_and_comments (p))
        return FALSE;
      if (peek (p, 0) == '}')
        {
          p->pos++;
          return TRUE;
        }
      if (!parse_key (p, key))
        return FALSE;
      if (peek (p, 0) != '=')
        return fail (p, p->pos, "expected '=' after a key");
      p->pos++;
      skip_blanks (p);
      if (!parse_value (p) || !skip_space_and_comments (p))
        return FALSE;
      if (peek (p, 0) == ',')
        p->pos++;
      else if (peek (p, 0) != '}')
        return fail (p, p->pos, "expected ',' or '}' in an inline table");
    }
}

static gboolean
is_bare_value_char (char c)
{
  return g_ascii_isalnum (c) || c == '_' || c == '+' || c == '-' || c == '.' || c == ':';
}

/* Numbers, booleans, dates: checked for shape, loosely. */
static gboolean
parse_bare_value (TParser *p)
{
  gsize start = p->pos;
  g_autofree char *token = NULL;
  const char *word;

  while (!at_end (p) && is_bare_value_char (p->text[p->pos]))
    p->pos++;
  /* A date and a time may be separated by one space. */
  if (p->pos - start == 10 && peek (p, 0) == ' ' && g_ascii_isdigit (peek (p, 1))
      && p->text[start + 4] == '-')
    {
      p->pos++;
      while (!at_end (p) && is_bare_value_char (p->text[p->pos]))
        p->pos++;
    }
  token = g_strndup (p->text + start, p->pos - start);
  word = token[0] == '+' || token[0] == '-' ? token + 1 : token;

  if (g_ascii_isdigit (word[0]) || g_str_equal (word, "inf") || g_str_equal (word, "nan")
      || (word == token && (g_str_equal (token, "true") || g_str_equal (token, "false"))))
    return TRUE;
  if (token[0] == '\0')
    return fail (p, start, "expected a value");
  return fail (p, start, "“%s” is not a TOML value (a string needs quotes)", token);
}

static gboolean
parse_value (TParser *p)
{
  char c = peek (p, 0);
  gboolean ok;

  if (++p->depth > MAX_DEPTH)
    return fail (p, p->pos, "nested too deeply");
  if ((c == '"' || c == '\'') && peek (p, 1) == c && peek (p, 2) == c)
    ok = parse_multiline_string (p);
  else if (c == '"' || c == '\'')
    ok = parse_line_string (p, NULL);
  else if (c == '[')
    ok = parse_array (p);
  else if (c == '{')
    ok = parse_inline_table (p);
  else
    ok = parse_bare_value (p);
  p->depth--;
  return ok;
}

static guint
line_of (const char *text, gsize pos)
{
  guint line = 1;

  for (gsize i = 0; i < pos; i++)
    if (text[i] == '\n')
      line++;
  return line;
}

static GPtrArray *
copy_path (GPtrArray *path)
{
  GPtrArray *copy = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; path != NULL && i < path->len; i++)
    g_ptr_array_add (copy, g_strdup (g_ptr_array_index (path, i)));
  return copy;
}

/* Every key/value and header of the document, in order. */
static GPtrArray *
scan (const char *text, GError **error)
{
  TParser p = { text, strlen (text), 0, 0, error };
  g_autoptr(GPtrArray) stmts = g_ptr_array_new_with_free_func ((GDestroyNotify) stmt_free);
  guint table = NO_TABLE;
  const char *bad_utf8;

  if (!g_utf8_validate (text, p.len, &bad_utf8))
    {
      fail (&p, (gsize) (bad_utf8 - text), "the file is not valid UTF-8");
      return NULL;
    }
  if (p.len >= 3 && memcmp (text, "\xEF\xBB\xBF", 3) == 0)
    p.pos = 3;

  while (!at_end (&p))
    {
      gsize line_start = p.pos;
      Stmt *stmt;

      skip_blanks (&p);
      if (at_end (&p) || peek (&p, 0) == '#' || at_line_break (&p))
        {
          if (!expect_line_end (&p))
            return NULL;
          continue;
        }

      stmt = g_new0 (Stmt, 1);
      stmt->line_start = line_start;
      stmt->line = line_of (text, p.pos);
      g_ptr_array_add (stmts, stmt);

      if (peek (&p, 0) == '[')
        {
          gboolean array = peek (&p, 1) == '[';

          stmt->kind = array ? STMT_ARRAY_TABLE : STMT_TABLE;
          stmt->path = g_ptr_array_new_with_free_func (g_free);
          stmt->table = NO_TABLE;
          p.pos += array ? 2 : 1;
          if (!parse_key (&p, stmt->path))
            return NULL;
          if (peek (&p, 0) != ']' || (array && peek (&p, 1) != ']'))
            {
              fail (&p, p.pos, "a table header is not closed with '%s'", array ? "]]" : "]");
              return NULL;
            }
          p.pos += array ? 2 : 1;
          table = stmts->len - 1;
        }
      else
        {
          stmt->kind = STMT_KEYVAL;
          stmt->table = table;
          stmt->path = copy_path (table == NO_TABLE ? NULL
                                  : ((Stmt *) g_ptr_array_index (stmts, table))->path);
          if (!parse_key (&p, stmt->path))
            return NULL;
          if (peek (&p, 0) != '=')
            {
              fail (&p, p.pos, "expected '=' after a key");
              return NULL;
            }
          p.pos++;
          skip_blanks (&p);
          stmt->value_start = p.pos;
          if (!parse_value (&p))
            return NULL;
          stmt->value_end = p.pos;
        }
      if (!expect_line_end (&p))
        return NULL;
      stmt->end = p.pos;
    }
  return g_steal_pointer (&stmts);
}

/* ---- lookups ----------------------------------------------------------- */

static gboolean
path_has_prefix (GPtrArray *path, const char * const *prefix)
{
  guint i;

  for (i = 0; prefix[i] != NULL; i++)
    if (i >= path->len || strcmp (g_ptr_array_index (path, i), prefix[i]) != 0)
      return FALSE;
  return TRUE;
}

static gboolean
path_equals (GPtrArray *path, const char * const *other)
{
  return path_has_prefix (path, other) && path->len == g_strv_length ((char **) other);
}

static Stmt *
stmt_at (GPtrArray *stmts, guint i)
{
  return g_ptr_array_index (stmts, i);
}

static guint
find_stmt (GPtrArray *stmts, StmtKind kind, const char * const *path)
{
  for (guint i = 0; i < stmts->len; i++)
    if (stmt_at (stmts, i)->kind == kind && path_equals (stmt_at (stmts, i)->path, path))
      return i;
  return G_MAXUINT;
}

/* From after the header line to the end of its last key/value: comments
 * and blank lines after that belong to whatever comes next. */
static void
table_body (GPtrArray *stmts, guint table, gsize *start, gsize *end)
{
  *start = *end = stmt_at (stmts, table)->end;
  for (guint i = table + 1; i < stmts->len && stmt_at (stmts, i)->kind == STMT_KEYVAL; i++)
    *end = stmt_at (stmts, i)->end;
}

static char *
splice (const char *text, gsize start, gsize end, const char *insert)
{
  GString *out = g_string_new_len (text, (gssize) start);

  g_string_append (out, insert);
  g_string_append (out, text + end);
  return g_string_free (out, FALSE);
}

static const char *
detect_eol (const char *text)
{
  const char *nl = strchr (text, '\n');

  return nl != NULL && nl > text && nl[-1] == '\r' ? "\r\n" : "\n";
}

/* ---- public ------------------------------------------------------------ */

gboolean
us_toml_validate (const char *text, GError **error)
{
  g_autoptr(GPtrArray) stmts = scan (text, error);

  return stmts != NULL;
}

char *
us_toml_get (const char *text, const char * const *path, GError **error)
{
  g_autoptr(GPtrArray) stmts = scan (text, error);
  guint i;

  if (stmts == NULL)
    return NULL;
  i = find_stmt (stmts, STMT_TABLE, path);
  if (i != G_MAXUINT)
    {
      gsize start, end;

      table_body (stmts, i, &start, &end);
      return g_strndup (text + start, end - start);
    }
  i = find_stmt (stmts, STMT_KEYVAL, path);
  if (i != G_MAXUINT)
    return g_strndup (text + stmt_at (stmts, i)->value_start,
                      stmt_at (stmts, i)->value_end - stmt_at (stmts, i)->value_start);
  return NULL;
}

char *
us_toml_replace (const char *text, const char * const *path, const char *raw, GError **error)
{
  g_autoptr(GPtrArray) stmts = scan (text, error);
  guint i;

  if (stmts == NULL)
    return NULL;
  i = find_stmt (stmts, STMT_TABLE, path);
  if (i != G_MAXUINT)
    {
      gsize start, end;

      table_body (stmts, i, &start, &end);
      return splice (text, start, end, raw);
    }
  i = find_stmt (stmts, STMT_KEYVAL, path);
  if (i == G_MAXUINT)
    {
      g_autofree char *where = g_strjoinv (".", (char **) path);

      g_set_error (error, US_CONNECT_ERROR, US_CONNECT_ERROR_UNSUPPORTED,
                   "“%s” is not in the file", where);
      return NULL;
    }
  return splice (text, stmt_at (stmts, i)->value_start, stmt_at (stmts, i)->value_end, raw);
}

/* A blank line just before @start, if any, so that removing a table also
 * removes the gap that was made for it. */
static gsize
take_blank_line_before (const char *text, gsize start)
{
  gsize prev;

  if (start == 0 || text[start - 1] != '\n')
    return start;
  prev = start - 1;
  if (prev > 0 && text[prev - 1] == '\r')
    prev--;
  if (prev == 0 || text[prev - 1] != '\n')
    return start;
  return prev;
}

char *
us_toml_remove (const char *text, const char * const *path, GError **error)
{
  g_autoptr(GPtrArray) stmts = scan (text, error);
  g_autofree char *result = NULL;
  guint i;

  if (stmts == NULL)
    return NULL;

  i = find_stmt (stmts, STMT_KEYVAL, path);
  if (i != G_MAXUINT && stmt_at (stmts, i)->table == NO_TABLE)
    return splice (text, stmt_at (stmts, i)->line_start, stmt_at (stmts, i)->end, "");

  /* The table and its sub-tables, last first so earlier spans hold. */
  result = g_strdup (text);
  for (i = stmts->len; i > 0; i--)
    {
      Stmt *stmt = stmt_at (stmts, i - 1);
      gsize start, end;
      char *next;

      if (stmt->kind != STMT_TABLE || !path_has_prefix (stmt->path, path))
        continue;
      table_body (stmts, i - 1, &start, &end);
      next = splice (result, take_blank_line_before (text, stmt->line_start), end, "");
      g_free (result);
      result = next;
    }
  return g_steal_pointer (&result);
}

char *
us_toml_set_root_key (const char *text, const char *key, const char *raw_value, GError **error)
{
  g_autoptr(GPtrArray) stmts = scan (text, error);
  const char *path[] = { key, NULL };
  const char *eol = detect_eol (text);
  g_autofree char *line = NULL;
  gsize at = 0;
  guint i;

  if (stmts == NULL)
    return NULL;
  i = find_stmt (stmts, STMT_KEYVAL, path);
  if (i != G_MAXUINT && stmt_at (stmts, i)->table == NO_TABLE)
    return splice (text, stmt_at (stmts, i)->value_start, stmt_at (stmts, i)->value_end, raw_value);

  if (strlen (text) >= 3 && memcmp (text, "\xEF\xBB\xBF", 3) == 0)
    at = 3;
  for (i = 0; i < stmts->len && stmt_at (stmts, i)->kind == STMT_KEYVAL; i++)
    at = stmt_at (stmts, i)->end;

  /* Set apart from a table header that would follow it directly. */
  line = g_strdup_printf ("%s%s = %s%s%s",
                          at > 0 && text[at] == '\0' && text[at - 1] != '\n' ? eol : "",
                          key, raw_value, eol,
                          i == 0 && stmts->len > 0 && stmt_at (stmts, 0)->line_start == at ? eol : "");
  return splice (text, at, at, line);
}

static char *
format_header_path (const char * const *path)
{
  GString *out = g_string_new (NULL);

  for (guint i = 0; path[i] != NULL; i++)
    {
      gboolean bare = path[i][0] != '\0';

      for (const char *c = path[i]; *c != '\0'; c++)
        bare = bare && is_bare_key_char (*c);
      if (i > 0)
        g_string_append_c (out, '.');
      if (bare)
        g_string_append (out, path[i]);
      else
        {
          g_autofree char *quoted = us_toml_quote (path[i]);

          g_string_append (out, quoted);
        }
    }
  return g_string_free (out, FALSE);
}

/* Is one path a prefix of the other? */
static gboolean
paths_overlap (GPtrArray *a, const char * const *b)
{
  for (guint i = 0; i < a->len && b[i] != NULL; i++)
    if (strcmp (g_ptr_array_index (a, i), b[i]) != 0)
      return FALSE;
  return TRUE;
}

/* The table may only be given a header if nothing else defines it: not a
 * dotted key, an inline table (`model_providers = {…}`), an array of
 * tables, or a second header. */
static gboolean
check_table_editable (GPtrArray *stmts, const char * const *path, GError **error)
{
  guint headers = 0;

  for (guint i = 0; i < stmts->len; i++)
    {
      Stmt *stmt = stmt_at (stmts, i);
      gboolean clash = FALSE;

      switch (stmt->kind)
        {
        case STMT_KEYVAL:
          clash = paths_overlap (stmt->path, path)
                  && !(stmt->table != NO_TABLE
                       && path_has_prefix (stmt_at (stmts, stmt->table)->path, path));
          break;
        case STMT_ARRAY_TABLE:
          clash = paths_overlap (stmt->path, path);
          break;
        case STMT_TABLE:
          clash = path_equals (stmt->path, path) && ++headers > 1;
          break;
        default:
          g_assert_not_reached ();
        }

      if (clash)
        {
          g_autofree char *where = g_strjoinv (".", (char **) path);

          g_set_error (error, US_CONNECT_ERROR, US_CONNECT_ERROR_UNSUPPORTED,
                       "line %u defines %s in a way Understudy does not edit; "
                       "rename or remove it, then connect again", stmt->line, where);
          return FALSE;
        }
    }
  return TRUE;
}

char *
us_toml_set_table (const char *text, const char * const *path, const char *body, GError **error)
{
  g_autoptr(GPtrArray) stmts = scan (text, error);
  g_autofree char *header = NULL;
  const char *eol = detect_eol (text);
  gsize len = strlen (text);
  g_auto(GStrv) lines = NULL;
  g_autofree char *body_eol = NULL;
  GString *out;
  guint i;

  if (stmts == NULL || !check_table_editable (stmts, path, error))
    return NULL;

  /* @body comes with "\n"; the file keeps its own line ends. */
  lines = g_strsplit (body, "\n", -1);
  body_eol = g_strjoinv (eol, lines);

  i = find_stmt (stmts, STMT_TABLE, path);
  if (i != G_MAXUINT)
    {
      gsize start, end;

      table_body (stmts, i, &start, &end);
      return splice (text, start, end, body_eol);
    }

  header = format_header_path (path);
  out = g_string_new (text);
  if (len > 0 && text[len - 1] != '\n')
    g_string_append (out, eol);
  if (len > 0 && !g_str_has_suffix (out->str, "\n\n") && !g_str_has_suffix (out->str, "\n\r\n"))
    g_string_append (out, eol);
  g_string_append_printf (out, "[%s]%s%s", header, eol, body_eol);
  return g_string_free (out, FALSE);
}

char *
us_toml_quote (const char *value)
{
  GString *out = g_string_new ("\"");

  for (const char *c = value; *c != '\0'; c++)
    {
      guchar ch = (guchar) *c;

      if (ch == '"' || ch == '\\')
        g_string_append_printf (out, "\\%c", ch);
      else if (ch < 0x20 || ch == 0x7f)
        g_string_append_printf (out, "\\u%04X", ch);
      else
        g_string_append_c (out, (char) ch);
    }
  g_string_append_c (out, '"');
  return g_string_free (out, FALSE);
}

char *
us_toml_get_string (const char *text, const char * const *path)
{
  g_autofree char *raw = us_toml_get (text, path, NULL);
  g_autoptr(GString) out = NULL;
  TParser p = { 0 };

  /* One-line strings only: the keys we read are never multi-line. */
  if (raw == NULL || (raw[0] != '"' && raw[0] != '\'')
      || g_str_has_prefix (raw, "\"\"\"") || g_str_has_prefix (raw, "\'\'\'"))
    return NULL;
  p.text = raw;
  p.len = strlen (raw);
  out = g_string_new (NULL);
  if (!parse_line_string (&p, out))
    return NULL;
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static gboolean
toml_is_empty (const char *text, const char * const *path)
{
  return FALSE;
}

const UsDocFormat us_toml_format = {
  us_toml_get, us_toml_replace, us_toml_remove, toml_is_empty,
};
