/* us-jsonc-edit.c: a span-recording JSON/JSONC parser and the splices done
 * with it. Only objects keep their members; everything else is validated
 * and remembered as a start and an end. */
#include "us-jsonc-edit.h"

#include <string.h>

#define MAX_DEPTH 256

typedef struct _JValue JValue;

typedef struct {
  char   *key;        /* decoded */
  gsize   key_start;  /* the opening quote */
  gssize  comma;      /* the comma after the value, -1 if none */
  JValue *value;
} JMember;

struct _JValue {
  gsize      start;
  gsize      end;      /* exclusive */
  GPtrArray *members;  /* of JMember*, objects only */
};

static void
jvalue_free (JValue *value)
{
  if (value == NULL)
    return;
  g_clear_pointer (&value->members, g_ptr_array_unref);
  g_free (value);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (JValue, jvalue_free)

static void
jmember_free (JMember *member)
{
  g_free (member->key);
  jvalue_free (member->value);
  g_free (member);
}

typedef struct {
  const char    *text;
  gsize          len;
  gsize          pos;
  UsJsonDialect  dialect;
  guint          depth;
  GError       **error;
} JParser;

static gboolean G_GNUC_PRINTF (3, 4)
fail (JParser *p, gsize at, const char *format, ...)
{
  g_autofree char *message = NULL;
  gsize line_start = 0;
  guint line = 1;
  guint column;
  va_list args;

  for (gsize i = 0; i < at && i < p->len; i++)
    if (p->text[i] == '\n')
      {
        line++;
        line_start = i + 1;
      }

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  /* The text may not be valid UTF-8 before @at; count bytes then. */
  if (g_utf8_validate (p->text + line_start, (gssize) (at - line_start), NULL))
    column = (guint) g_utf8_strlen (p->text + line_start, (gssize) (at - line_start)) + 1;
  else
    column = (guint) (at - line_start) + 1;
  g_set_error (p->error, US_CONNECT_ERROR, US_CONNECT_ERROR_PARSE,
               "line %u, column %u: %s", line, column, message);
  return FALSE;
}

static gboolean
at_end (JParser *p)
{
  return p->pos >= p->len;
}

static gboolean
skip_ws (JParser *p)
{
  while (!at_end (p))
    {
      char c = p->text[p->pos];

      if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
        {
          p->pos++;
          continue;
        }
      if (c == '/' && p->dialect == US_JSON_JSONC && p->pos + 1 < p->len)
        {
          if (p->text[p->pos + 1] == '/')
            {
              /* Up to a line break, CR alone included, as OpenCode's
               * parser (jsonc-parser) reads it. */
              while (!at_end (p) && p->text[p->pos] != '\n' && p->text[p->pos] != '\r')
                p->pos++;
              continue;
            }
          if (p->text[p->pos + 1] == '*')
            {
              const char *close = g_strstr_len (p->text + p->pos + 2,
                                                p->len - p->pos - 2, "*/");

              if (close == NULL)
                return fail (p, p->pos, "a /* comment is never closed");
              p->pos = (gsize) (close - p->text) + 2;
              continue;
            }
        }
      break;
    }
  return TRUE;
}

static int
hex_value (char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

static gboolean
read_hex4 (JParser *p, gunichar *out)
{
  gunichar value = 0;

  if (p->pos + 4 > p->len)
    return fail (p, p->pos, "a \\u escape needs four hex digits");
  for (guint i = 0; i < 4; i++)
    {
      int digit = hex_value (p->text[p->pos + i]);

      if (digit < 0)
        return fail (p, p->pos, "a \\u escape needs four hex digits");
      value = value * 16 + (gunichar) digit;
    }
  p->pos += 4;
  *out = value;
  return TRUE;
}

/* At the opening quote. Appends the decoded string to @out if given. */
static gboolean
parse_string (JParser *p, GString *out)
{
  gsize start = p->pos;

  p->pos++;
  for (;;)
    {
      guchar c;

      if (at_end (p))
        return fail (p, start, "a string is never closed");
      c = (guchar) p->text[p->pos];
      if (c == '"')
        {
          p->pos++;
          return TRUE;
        }
      if (c < 0x20)
        return fail (p, p->pos, "a control character inside a string (escape it)");
      if (c != '\\')
        {
          if (out != NULL)
            g_string_append_c (out, (char) c);
          p->pos++;
          continue;
        }

      p->pos++;
      if (at_end (p))
        return fail (p, start, "a string is never closed");
      c = (guchar) p->text[p->pos++];
      switch (c)
        {
        case '"': case '\\': case '/':
          if (out != NULL)
            g_string_append_c (out, (char) c);
          break;
        case 'b': if (out != NULL) g_string_append_c (out, '\b'); break;
        case 'f': if (out != NULL) g_string_append_c (out, '\f'); break;
        case 'n': if (out != NULL) g_string_append_c (out, '\n'); break;
        case 'r': if (out != NULL) g_string_append_c (out, '\r'); break;
        case 't': if (out != NULL) g_string_append_c (out, '\t'); break;
        case 'u':
          {
            gunichar ch;

            if (!read_hex4 (p, &ch))
              return FALSE;
            if (ch >= 0xD800 && ch <= 0xDBFF && p->pos + 1 < p->len
                && p->text[p->pos] == '\\' && p->text[p->pos + 1] == 'u')
              {
                gunichar low;

                p->pos += 2;
                if (!read_hex4 (p, &low))
                  return FALSE;
                if (low >= 0xDC00 && low <= 0xDFFF)
                  ch = 0x10000 + ((ch - 0xD800) << 10) + (low - 0xDC00);
                else
                  ch = 0xFFFD;
              }
            else if (ch >= 0xD800 && ch <= 0xDFFF)
              ch = 0xFFFD;
            if (out != NULL)
              g_string_append_unichar (out, ch);
          }
          break;
        default:
          return fail (p, p->pos - 2, "an unknown escape \\%c in a string", c);
        }
    }
}

static gboolean
skip_digits (JParser *p)
{
  gsize start = p->pos;

  while (!at_end (p) && g_ascii_isdigit (p->text[p->pos]))
    p->pos++;
  return p->pos > start;
}

static gboolean
parse_number (JParser *p)
{
  gsize start = p->pos;

  if (p->text[p->pos] == '-')
    p->pos++;
  if (!at_end (p) && p->text[p->pos] == '0')
    p->pos++;
  else if (!skip_digits (p))
    return fail (p, start, "a malformed number");
  if (!at_end (p) && p->text[p->pos] == '.')
    {
      p->pos++;
      if (!skip_digits (p))
        return fail (p, start, "a malformed number");
    }
  if (!at_end (p) && (p->text[p->pos] == 'e' || p->text[p->pos] == 'E'))
    {
      p->pos++;
      if (!at_end (p) && (p->text[p->pos] == '+' || p->text[p->pos] == '-'))
        p->pos++;
      if (!skip_digits (p))
        return fail (p, start, "a malformed number");
    }
  return TRUE;
}

static JValue *parse_value (JParser *p);

/* After a value inside an object or array: the comma, or the closer. */
static gboolean
parse_separator (JParser *p, char closer, gssize *comma, gboolean *done)
{
  if (!skip_ws (p))
    return FALSE;
  if (at_end (p))
    return fail (p, p->pos, "the file ends before a closing '%c'", closer);
  if (p->text[p->pos] == closer)
    {
      p->pos++;
      *done = TRUE;
      return TRUE;
    }
  if (p->text[p->pos] != ',')
    return fail (p, p->pos, "expected ',' or '%c'", closer);

  *comma = (gssize) p->pos++;
  if (!skip_ws (p))
    return FALSE;
  if (!at_end (p) && p->text[p->pos] == closer)
    {
      if (p->dialect == US_JSON_STRICT)
        return fail (p, (gsize) *comma, "a trailing comma before '%c'", closer);
      p->pos++;
      *done = TRUE;
    }
  return TRUE;
}

static JValue *
parse_object (JParser *p, JValue *value)
{
  gboolean done = FALSE;

  value->members = g_ptr_array_new_with_free_func ((GDestroyNotify) jmember_free);
  p->pos++;
  if (!skip_ws (p))
    return NULL;
  if (!at_end (p) && p->text[p->pos] == '}')
    {
      p->pos++;
      return value;
    }

  while (!done)
    {
      JMember *member;
      g_autoptr(GString) key = g_string_new (NULL);

      if (at_end (p) || p->text[p->pos] != '"')
        {
          fail (p, p->pos, "expected a member name in double quotes");
          return NULL;
        }
      member = g_new0 (JMember, 1);
      member->key_start = p->pos;
      member->comma = -1;
      g_ptr_array_add (value->members, member);

      if (!parse_string (p, key) || !skip_ws (p))
        return NULL;
      member->key = g_string_free (g_steal_pointer (&key), FALSE);
      if (at_end (p) || p->text[p->pos] != ':')
        {
          fail (p, p->pos, "expected ':' after the member name");
          return NULL;
        }
      p->pos++;
      if (!skip_ws (p))
        return NULL;
      member->value = parse_value (p);
      if (member->value == NULL
          || !parse_separator (p, '}', &member->comma, &done))
        return NULL;
    }
  return value;
}

static JValue *
parse_array (JParser *p, JValue *value)
{
  gboolean done = FALSE;

  p->pos++;
  if (!skip_ws (p))
    return NULL;
  if (!at_end (p) && p->text[p->pos] == ']')
    {
      p->pos++;
      return value;
    }

  while (!done)
    {
      g_autoptr(JValue) element = parse_value (p);
      gssize comma = -1;

      if (element == NULL || !parse_separator (p, ']', &comma, &done))
        return NULL;
    }
  return value;
}

static gboolean
parse_literal (JParser *p, const char *word)
{
  gsize n = strlen (word);

  if (p->len - p->pos < n || memcmp (p->text + p->pos, word, n) != 0)
    return fail (p, p->pos, "unexpected text (a string needs double quotes)");
  p->pos += n;
  return TRUE;
}

/* At the first character of a value; returns it with its span. */
static JValue *
parse_value (JParser *p)
{
  g_autoptr(JValue) value = g_new0 (JValue, 1);
  gboolean ok;

  if (at_end (p))
    {
      fail (p, p->pos, "the file ends where a value should be");
      return NULL;
    }
  value->start = p->pos;

  switch (p->text[p->pos])
    {
    case '{':
    case '[':
      if (++p->depth > MAX_DEPTH)
        {
          fail (p, p->pos, "nested too deeply");
          return NULL;
        }
      ok = (p->text[p->pos] == '{' ? parse_object (p, value) : parse_array (p, value)) != NULL;
      p->depth--;
      break;
    case '"':
      ok = parse_string (p, NULL);
      break;
    case 't':
      ok = parse_literal (p, "true");
      break;
    case 'f':
      ok = parse_literal (p, "false");
      break;
    case 'n':
      ok = parse_literal (p, "null");
      break;
    default:
      if (p->text[p->pos] == '-' || g_ascii_isdigit (p->text[p->pos]))
        ok = parse_number (p);
      else
        ok = fail (p, p->pos, "unexpected character '%c'", p->text[p->pos]);
      break;
    }
  if (!ok)
    return NULL;
  value->end = p->pos;
  return g_steal_pointer (&value);
}

/* The whole document, whose top level must be an object. */
static JValue *
parse_document (const char *text, UsJsonDialect dialect, GError **error)
{
  JParser p = { text, strlen (text), 0, dialect, 0, error };
  g_autoptr(JValue) root = NULL;
  const char *bad_utf8;

  if (!g_utf8_validate (text, p.len, &bad_utf8))
    {
      fail (&p, (gsize) (bad_utf8 - text), "the file is not valid UTF-8");
      return NULL;
    }
  if (p.len >= 3 && memcmp (text, "\xEF\xBB\xBF", 3) == 0)
    p.pos = 3;
  if (!skip_ws (&p))
    return NULL;
  if (!at_end (&p) && text[p.pos] != '{')
    {
      fail (&p, p.pos, "the top level is not a JSON object");
      return NULL;
    }
  root = parse_value (&p);
  if (root == NULL || !skip_ws (&p))
    return NULL;
  if (!at_end (&p))
    {
      fail (&p, p.pos, "unexpected text after the end of the top-level object");
      return NULL;
    }
  return g_steal_pointer (&root);
}

static JMember *
find_member (JValue *object, const char *key)
{
  /* Later duplicates win, as in JSON.parse. */
  for (guint i = object->members->len; i > 0; i--)
    {
      JMember *member = g_ptr_array_index (object->members, i - 1);

      if (strcmp (member->key, key) == 0)
        return member;
    }
  return NULL;
}

/* The object that holds the last path element, or NULL if a parent is
 * missing or not an object. */
static JValue *
find_parent (JValue *root, const char * const *path)
{
  JValue *object = root;

  for (guint i = 0; path[i + 1] != NULL; i++)
    {
      JMember *member = find_member (object, path[i]);

      if (member == NULL || member->value->members == NULL)
        return NULL;
      object = member->value;
    }
  return object;
}

static guint
path_length (const char * const *path)
{
  return g_strv_length ((char **) path);
}

/* ---- layout helpers ---------------------------------------------------- */

static gsize
line_start_of (const char *text, gsize pos)
{
  while (pos > 0 && text[pos - 1] != '\n')
    pos--;
  return pos;
}

static gboolean
only_blanks (const char *text, gsize from, gsize to)
{
  for (gsize i = from; i < to; i++)
    if (text[i] != ' ' && text[i] != '\t')
      return FALSE;
  return TRUE;
}

static gboolean
only_whitespace (const char *text, gsize from, gsize to)
{
  for (gsize i = from; i < to; i++)
    if (!g_ascii_isspace (text[i]))
      return FALSE;
  return TRUE;
}

/* The leading blanks of the line holding @pos. */
static char *
line_indent (const char *text, gsize pos)
{
  gsize start = line_start_of (text, pos);
  gsize end = start;

  while (text[end] == ' ' || text[end] == '\t')
    end++;
  return g_strndup (text + start, end - start);
}

static const char *
detect_eol (const char *text)
{
  const char *nl = strchr (text, '\n');

  return nl != NULL && nl > text && nl[-1] == '\r' ? "\r\n" : "\n";
}

/* The file's indentation step, from its first indented line. */
static char *
detect_indent_unit (const char *text)
{
  for (const char *line = text; line != NULL && *line != '\0';)
    {
      const char *p = line;
      const char *nl;

      while (*p == ' ' || *p == '\t')
        p++;
      if (p > line && *p != '\0' && *p != '\n' && *p != '\r')
        return *line == '\t' ? g_strdup ("\t") : g_strndup (line, MIN (p - line, 8));
      nl = strchr (line, '\n');
      line = nl != NULL ? nl + 1 : NULL;
    }
  return g_strdup ("  ");
}

/* At @pos, after blanks, a block comment that runs onto a later line? */
static gboolean
multiline_comment_at (const char *text, gsize pos)
{
  const char *close;

  while (text[pos] == ' ' || text[pos] == '\t')
    pos++;
  if (text[pos] != '/' || text[pos + 1] != '*')
    return FALSE;
  close = strstr (text + pos + 2, "*/");
  return close == NULL || memchr (text + pos, '\n', (gsize) (close - text) - pos) != NULL;
}

/* After @pos on the same line, only blanks and comments? Then the end of
 * that line (before its line break); otherwise @pos itself. */
static gsize
end_of_line_after (const char *text, gsize pos)
{
  gsize q = pos;

  for (;;)
    {
      while (text[q] == ' ' || text[q] == '\t')
        q++;
      if (text[q] == '/' && text[q + 1] == '/')
        {
          while (text[q] != '\0' && text[q] != '\n' && text[q] != '\r')
            q++;
          return q;
        }
      /* A comment that runs onto later lines stays where it is, after the
       * new member (us_jsonc_remove() then gives the line back as it was). */
      if (multiline_comment_at (text, q))
        return pos;
      if (text[q] == '/' && text[q + 1] == '*')
        {
          q = (gsize) (strstr (text + q + 2, "*/") - text) + 2;
          continue;
        }
      if (text[q] == '\0' || text[q] == '\n' || (text[q] == '\r' && text[q + 1] == '\n'))
        return q;
      return pos;
    }
}

/* Whether an object spreads its members over lines. */
static gboolean
object_is_multiline (const char *text, JValue *object)
{
  gsize until = object->members->len > 0
    ? ((JMember *) g_ptr_array_index (object->members, 0))->key_start
    : object->end;

  return memchr (text + object->start, '\n', until - object->start) != NULL;
}

/* ---- serialising new values -------------------------------------------- */

static void
append_escaped (GString *out, const char *s)
{
  g_string_append_c (out, '"');
  for (; *s != '\0'; s++)
    {
      guchar c = (guchar) *s;

      switch (c)
        {
        case '"':  g_string_append (out, "\\\""); break;
        case '\\': g_string_append (out, "\\\\"); break;
        case '\n': g_string_append (out, "\\n"); break;
        case '\r': g_string_append (out, "\\r"); break;
        case '\t': g_string_append (out, "\\t"); break;
        default:
          if (c < 0x20)
            g_string_append_printf (out, "\\u%04x", c);
          else
            g_string_append_c (out, (char) c);
        }
    }
  g_string_append_c (out, '"');
}

typedef struct {
  const char *unit;
  const char *eol;
  gboolean    multiline;
} Layout;

static void serialize (GString *out, JsonNode *node, const char *indent, const Layout *layout);

static void
serialize_object (GString *out, JsonObject *object, const char *indent, const Layout *layout)
{
  g_autoptr(GList) names = json_object_get_members (object);
  g_autofree char *inner = g_strconcat (indent, layout->unit, NULL);

  if (names == NULL)
    {
      g_string_append (out, "{}");
      return;
    }
  g_string_append_c (out, '{');
  for (GList *l = names; l != NULL; l = l->next)
    {
      if (layout->multiline)
        g_string_append_printf (out, "%s%s", layout->eol, inner);
      append_escaped (out, l->data);
      g_string_append (out, ": ");
      serialize (out, json_object_get_member (object, l->data), inner, layout);
      if (l->next != NULL)
        g_string_append (out, layout->multiline ? "," : ", ");
    }
  if (layout->multiline)
    g_string_append_printf (out, "%s%s", layout->eol, indent);
  g_string_append_c (out, '}');
}

static void
serialize_array (GString *out, JsonArray *array, const char *indent, const Layout *layout)
{
  g_autofree char *inner = g_strconcat (indent, layout->unit, NULL);
  guint n = json_array_get_length (array);

  g_string_append_c (out, '[');
  for (guint i = 0; i < n; i++)
    {
      if (layout->multiline)
        g_string_append_printf (out, "%s%s", layout->eol, inner);
      serialize (out, json_array_get_element (array, i), inner, layout);
      if (i + 1 < n)
        g_string_append (out, layout->multiline ? "," : ", ");
    }
  if (layout->multiline && n > 0)
    g_string_append_printf (out, "%s%s", layout->eol, indent);
  g_string_append_c (out, ']');
}

static void
serialize (GString *out, JsonNode *node, const char *indent, const Layout *layout)
{
  switch (JSON_NODE_TYPE (node))
    {
    case JSON_NODE_OBJECT:
      serialize_object (out, json_node_get_object (node), indent, layout);
      break;
    case JSON_NODE_ARRAY:
      serialize_array (out, json_node_get_array (node), indent, layout);
      break;
    case JSON_NODE_VALUE:
      if (json_node_get_value_type (node) == G_TYPE_STRING)
        {
          append_escaped (out, json_node_get_string (node));
          break;
        }
      G_GNUC_FALLTHROUGH;
    case JSON_NODE_NULL:
    default:
      {
        g_autofree char *text = json_to_string (node, FALSE);

        g_string_append (out, text);
      }
      break;
    }
}

static char *
member_text (const char *key, JsonNode *value, const char *indent, const Layout *layout)
{
  GString *out = g_string_new (NULL);

  append_escaped (out, key);
  g_string_append (out, ": ");
  serialize (out, value, indent, layout);
  return g_string_free (out, FALSE);
}

/* ---- splicing ---------------------------------------------------------- */

typedef struct {
  gsize start;
  gsize end;
  char *text;   /* NULL: delete */
  guint order;  /* insertions at one place land in the order added */
} Splice;

static void
splice_clear (gpointer data)
{
  g_free (((Splice *) data)->text);
}

static void
add_splice (GArray *splices, gsize start, gsize end, const char *text)
{
  Splice s = { start, end, g_strdup (text), splices->len };

  g_array_append_val (splices, s);
}

static int
compare_splices (gconstpointer a, gconstpointer b)
{
  const Splice *x = a, *y = b;

  /* Last first, so that earlier positions hold while splicing. */
  if (x->start != y->start)
    return x->start < y->start ? 1 : -1;
  return x->order < y->order ? 1 : x->order > y->order ? -1 : 0;
}

/* Applies non-overlapping splices. */
static char *
apply_splices (const char *text, GArray *splices)
{
  GString *out = g_string_new (text);

  g_array_sort (splices, compare_splices);
  for (guint i = 0; i < splices->len; i++)
    {
      Splice *s = &g_array_index (splices, Splice, i);

      g_string_erase (out, (gssize) s->start, (gssize) (s->end - s->start));
      if (s->text != NULL)
        g_string_insert (out, (gssize) s->start, s->text);
    }
  return g_string_free (out, FALSE);
}

static GArray *
new_splices (void)
{
  GArray *splices = g_array_new (FALSE, FALSE, sizeof (Splice));

  g_array_set_clear_func (splices, splice_clear);
  return splices;
}

/* The indentation members of @object have, or would have. */
static char *
member_indent (const char *text, JValue *object, const char *unit)
{
  if (object->members->len > 0)
    {
      JMember *first = g_ptr_array_index (object->members, 0);
      gsize start = line_start_of (text, first->key_start);

      if (only_blanks (text, start, first->key_start))
        return g_strndup (text + start, first->key_start - start);
    }
  {
    g_autofree char *outer = line_indent (text, object->start);

    return g_strconcat (outer, unit, NULL);
  }
}

static void
insert_member (const char *text, JValue *object, const char *key, JsonNode *value, GArray *splices)
{
  g_autofree char *unit = detect_indent_unit (text);
  g_autofree char *indent = member_indent (text, object, unit);
  Layout layout = { unit, detect_eol (text), object_is_multiline (text, object) };
  JMember *last;
  g_autofree char *member = NULL;

  if (object->members->len == 0)
    {
      gsize inner_start = object->start + 1, inner_end = object->end - 1;
      g_autofree char *outer = line_indent (text, object->start);
      g_autofree char *insertion = NULL;

      /* An empty object opens up in the file's own style. */
      layout.multiline = TRUE;
      member = member_text (key, value, indent, &layout);
      if (only_whitespace (text, inner_start, inner_end))
        {
          insertion = g_strconcat (layout.eol, indent, member, layout.eol, outer, NULL);
          add_splice (splices, inner_start, inner_end, insertion);
        }
      else
        {
          insertion = g_strconcat (layout.eol, indent, member, NULL);
          add_splice (splices, inner_start, inner_start, insertion);
        }
      return;
    }

  last = g_ptr_array_index (object->members, object->members->len - 1);
  member = member_text (key, value, indent, &layout);

  if (!layout.multiline)
    {
      g_autofree char *insertion = NULL;

      if (last->comma >= 0)
        {
          insertion = g_strconcat (" ", member, ",", NULL);
          add_splice (splices, (gsize) last->comma + 1, (gsize) last->comma + 1, insertion);
        }
      else
        {
          insertion = g_strconcat (", ", member, NULL);
          add_splice (splices, last->value->end, last->value->end, insertion);
        }
      return;
    }

  {
    /* Keep the user's trailing-comma habit, and their end-of-line comment
     * on the line it was on. */
    gboolean trailing = last->comma >= 0;
    gsize after = trailing ? (gsize) last->comma + 1 : last->value->end;
    gsize at = end_of_line_after (text, after);
    g_autofree char *insertion = g_strconcat (layout.eol, indent, member,
                                              trailing ? "," : "", NULL);

    if (!trailing)
      add_splice (splices, last->value->end, last->value->end, ",");
    add_splice (splices, at, at, insertion);
  }
}

static char *
path_to_string (const char * const *path)
{
  return g_strjoinv (".", (char **) path);
}

/* Wraps @value in objects for the path elements from @from on. */
static JsonNode *
nest_value (const char * const *path, guint from, JsonNode *value)
{
  JsonNode *node = json_node_copy (value);
  guint n = path_length (path);

  for (guint i = n - 1; i > from; i--)
    {
      JsonObject *object = json_object_new ();
      JsonNode *wrapper = json_node_new (JSON_NODE_OBJECT);

      json_object_set_member (object, path[i], node);
      json_node_take_object (wrapper, object);
      node = wrapper;
    }
  return node;
}

char *
us_jsonc_set (const char         *text,
              UsJsonDialect       dialect,
              const char * const *path,
              JsonNode           *value,
              guint              *created_parents,
              GError            **error)
{
  g_autoptr(JValue) root = parse_document (text, dialect, error);
  g_autoptr(GArray) splices = NULL;
  JValue *object;
  guint n = path_length (path);
  guint i;

  g_return_val_if_fail (n > 0, NULL);
  if (root == NULL)
    return NULL;

  *created_parents = 0;
  splices = new_splices ();
  object = root;
  for (i = 0; i + 1 < n; i++)
    {
      JMember *member = find_member (object, path[i]);

      if (member == NULL)
        break;
      if (member->value->members == NULL)
        {
          g_autofree char *where = g_strjoinv (".", (char **) path);

          g_set_error (error, US_CONNECT_ERROR, US_CONNECT_ERROR_UNSUPPORTED,
                       "“%s” is not an object, so “%s” cannot be set", path[i], where);
          return NULL;
        }
      object = member->value;
    }

  if (i + 1 < n)
    {
      g_autoptr(JsonNode) nested = nest_value (path, i, value);

      *created_parents = n - 1 - i;
      insert_member (text, object, path[i], nested, splices);
    }
  else
    {
      JMember *member = find_member (object, path[i]);

      if (member == NULL)
        insert_member (text, object, path[i], value, splices);
      else
        {
          g_autofree char *unit = detect_indent_unit (text);
          g_autofree char *indent = line_indent (text, member->key_start);
          Layout layout = { unit, detect_eol (text), object_is_multiline (text, object) };
          g_autoptr(GString) replacement = g_string_new (NULL);

          serialize (replacement, value, indent, &layout);
          add_splice (splices, member->value->start, member->value->end, replacement->str);
        }
    }
  return apply_splices (text, splices);
}

char *
us_jsonc_replace_raw (const char         *text,
                      UsJsonDialect       dialect,
                      const char * const *path,
                      const char         *raw,
                      GError            **error)
{
  g_autoptr(JValue) root = parse_document (text, dialect, error);
  g_autoptr(GArray) splices = NULL;
  JValue *object;
  JMember *member;

  if (root == NULL)
    return NULL;
  object = find_parent (root, path);
  member = object != NULL ? find_member (object, path[path_length (path) - 1]) : NULL;
  if (member == NULL)
    {
      g_autofree char *where = path_to_string (path);

      g_set_error (error, US_CONNECT_ERROR, US_CONNECT_ERROR_UNSUPPORTED,
                   "“%s” is not in the file", where);
      return NULL;
    }
  splices = new_splices ();
  add_splice (splices, member->value->start, member->value->end, raw);
  return apply_splices (text, splices);
}

char *
us_jsonc_remove (const char         *text,
                 UsJsonDialect       dialect,
                 const char * const *path,
                 GError            **error)
{
  g_autoptr(JValue) root = parse_document (text, dialect, error);
  g_autoptr(GArray) splices = NULL;
  JValue *object;
  JMember *member = NULL, *previous = NULL;
  gsize start, end;

  if (root == NULL)
    return NULL;
  object = find_parent (root, path);
  if (object != NULL)
    member = find_member (object, path[path_length (path) - 1]);
  if (member == NULL)
    return g_strdup (text);

  for (guint i = 0; i < object->members->len; i++)
    if (g_ptr_array_index (object->members, i) == member && i > 0)
      previous = g_ptr_array_index (object->members, i - 1);

  splices = new_splices ();
  start = member->key_start;
  end = member->comma >= 0 ? (gsize) member->comma + 1 : member->value->end;

  /* The only member: back to an empty object, when nothing else (a
   * comment) is inside. */
  if (object->members->len == 1
      && only_whitespace (text, object->start + 1, start)
      && only_whitespace (text, end, object->end - 1))
    {
      add_splice (splices, object->start + 1, object->end - 1, NULL);
      return apply_splices (text, splices);
    }

  {
    gsize line_start = line_start_of (text, start);
    gsize line_end = end;
    gboolean own_line;

    while (text[line_end] == ' ' || text[line_end] == '\t')
      line_end++;
    if (text[line_end] == '\r' && text[line_end + 1] == '\n')
      line_end++;
    own_line = only_blanks (text, line_start, start)
               && (text[line_end] == '\n' || text[line_end] == '\0');

    if (own_line)
      {
        start = line_start;
        end = text[line_end] == '\n' ? line_end + 1 : line_end;
      }
    else if (member->comma >= 0 && line_start > 0 && previous != NULL
             && only_blanks (text, line_start, start) && multiline_comment_at (text, end))
      {
        /* Alone on its line but for a comment that goes on below: the line
         * break before it goes, the comment stays (what insert_member()
         * does, undone). */
        start = line_start - 1;
        if (start > 0 && text[start - 1] == '\r')
          start--;
      }
    else if (member->comma >= 0)
      {
        while (text[end] == ' ' || text[end] == '\t')
          end++;
      }

    /* The last member: the comma before it goes too, as the member that
     * now ends the object must not keep one (strict JSON). */
    if (member->comma < 0 && previous != NULL && previous->comma >= 0)
      {
        gsize comma = (gsize) previous->comma;

        if (!own_line && memchr (text + comma, '\n', start - comma) == NULL)
          start = comma;
        else
          add_splice (splices, comma, comma + 1, NULL);
      }
  }
  add_splice (splices, start, end, NULL);
  return apply_splices (text, splices);
}

gboolean
us_jsonc_validate (const char *text, UsJsonDialect dialect, GError **error)
{
  g_autoptr(JValue) root = parse_document (text, dialect, error);

  return root != NULL;
}

static JMember *
lookup (JValue *root, const char * const *path)
{
  JValue *object = find_parent (root, path);

  return object != NULL ? find_member (object, path[path_length (path) - 1]) : NULL;
}

char *
us_jsonc_get (const char         *text,
              UsJsonDialect       dialect,
              const char * const *path,
              GError            **error)
{
  g_autoptr(JValue) root = parse_document (text, dialect, error);
  JMember *member;

  if (root == NULL)
    return NULL;
  member = lookup (root, path);
  if (member == NULL)
    return NULL;
  return g_strndup (text + member->value->start, member->value->end - member->value->start);
}

char *
us_jsonc_get_string (const char         *text,
                     UsJsonDialect       dialect,
                     const char * const *path)
{
  g_autofree char *raw = us_jsonc_get (text, dialect, path, NULL);
  g_autoptr(GString) decoded = NULL;
  JParser p = { 0 };

  if (raw == NULL || raw[0] != '"')
    return NULL;
  p.text = raw;
  p.len = strlen (raw);
  decoded = g_string_new (NULL);
  if (!parse_string (&p, decoded))
    return NULL;
  return g_string_free (g_steal_pointer (&decoded), FALSE);
}

gboolean
us_jsonc_is_empty_object (const char         *text,
                          UsJsonDialect       dialect,
                          const char * const *path)
{
  g_autoptr(JValue) root = parse_document (text, dialect, NULL);
  JMember *member;

  if (root == NULL)
    return FALSE;
  member = lookup (root, path);
  return member != NULL && member->value->members != NULL && member->value->members->len == 0;
}

char *
us_jsonc_set_recorded (const char         *text,
                       UsJsonDialect       dialect,
                       const char * const *path,
                       JsonNode           *value,
                       GPtrArray          *edits,
                       GError            **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autofree char *previous = us_jsonc_get (text, dialect, path, &local_error);
  g_autofree char *written = NULL;
  char *result;
  guint created_parents = 0;

  if (local_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  result = us_jsonc_set (text, dialect, path, value, &created_parents, error);
  if (result == NULL)
    return NULL;
  written = us_jsonc_get (result, dialect, path, NULL);
  g_ptr_array_add (edits, us_connect_edit_new (path, previous, written, created_parents));
  return result;
}

/* ---- the UsDocFormat face, one per dialect ------------------------------- */

#define DEFINE_FORMAT(prefix, dialect)                                                  \
  static char *prefix##_get (const char *text, const char * const *path, GError **error) \
  { return us_jsonc_get (text, dialect, path, error); }                                  \
  static char *prefix##_replace (const char *text, const char * const *path,            \
                                 const char *raw, GError **error)                       \
  { return us_jsonc_replace_raw (text, dialect, path, raw, error); }                     \
  static char *prefix##_remove (const char *text, const char * const *path, GError **error) \
  { return us_jsonc_remove (text, dialect, path, error); }                               \
  static gboolean prefix##_is_empty (const char *text, const char * const *path)        \
  { return us_jsonc_is_empty_object (text, dialect, path); }                             \
  const UsDocFormat us_##prefix##_format = {                                              \
    prefix##_get, prefix##_replace, prefix##_remove, prefix##_is_empty                   \
  };

DEFINE_FORMAT (json_strict, US_JSON_STRICT)
DEFINE_FORMAT (jsonc, US_JSON_JSONC)
