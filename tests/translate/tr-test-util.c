/* tr-test-util.c: fixtures and stream drivers shared by the translate tests. */

#include "tr-test-util.h"

#include <string.h>

char *
tr_load (const char *name,
         gsize      *len)
{
  g_autofree char *path = g_build_filename (TR_DATA_DIR, name, NULL);
  g_autoptr(GError) error = NULL;
  char *text = NULL;

  if (!g_file_get_contents (path, &text, len, &error))
    g_error ("%s: %s", path, error->message);
  return text;
}

JsonNode *
tr_load_json (const char *name)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autofree char *path = g_build_filename (TR_DATA_DIR, name, NULL);
  g_autoptr(GError) error = NULL;

  if (!json_parser_load_from_file (parser, path, &error))
    g_error ("%s: %s", path, error->message);
  return json_node_ref (json_parser_get_root (parser));
}

JsonNode *
tr_load_capture_body (const char *name)
{
  g_autoptr(JsonNode) root = tr_load_json (name);

  return json_node_copy (json_object_get_member (json_node_get_object (root), "body"));
}

char *
tr_stream_split (UsWireFormat         from,
                 UsWireFormat         to,
                 const char          *input,
                 gsize                len,
                 gsize                split,
                 UsStreamTranslator **keep)
{
  UsStreamTranslator *tr = us_stream_translator_new (from, to, "client-model");
  GString *out = g_string_new (NULL);

  us_stream_translator_push (tr, input, split, out);
  us_stream_translator_push (tr, input + split, len - split, out);
  us_stream_translator_finish (tr, out);
  if (keep != NULL)
    *keep = tr;
  else
    us_stream_translator_free (tr);
  return g_string_free (out, FALSE);
}

char *
tr_normalise (const char *text)
{
  g_autoptr(GRegex) re = g_regex_new ("(\"(?:created|created_at)\"\\s*:\\s*)[0-9]+", 0, 0, NULL);

  return g_regex_replace (re, text, -1, 0, "\\g<1>0", 0, NULL);
}

char *
tr_stream_all_splits (UsWireFormat from,
                      UsWireFormat to,
                      const char  *input)
{
  gsize len = strlen (input);
  g_autofree char *raw = tr_stream_split (from, to, input, len, len, NULL);
  char *whole = tr_normalise (raw);

  for (gsize split = 0; split < len; split++)
    {
      g_autofree char *got_raw = tr_stream_split (from, to, input, len, split, NULL);
      g_autofree char *got = tr_normalise (got_raw);

      if (strcmp (got, whole) != 0)
        g_error ("%s → %s split at %" G_GSIZE_FORMAT " differs:\n%s\n---- vs whole ----\n%s",
                 us_wire_format_to_string (from), us_wire_format_to_string (to),
                 split, got, whole);
    }
  return whole;
}

char *
tr_json_compact (JsonNode *node)
{
  g_autoptr(JsonGenerator) gen = json_generator_new ();

  json_generator_set_root (gen, node);
  return json_generator_to_data (gen, NULL);
}

void
tr_assert_json_equal (JsonNode   *expected,
                      JsonNode   *got,
                      const char *what)
{
  g_autofree char *a = NULL;
  g_autofree char *b = NULL;

  if (json_node_equal (expected, got))
    return;
  a = tr_json_compact (expected);
  b = tr_json_compact (got);
  g_file_set_contents ("/tmp/tr-in.json", a, -1, NULL);
  g_file_set_contents ("/tmp/tr-out.json", b, -1, NULL);
  g_error ("%s changed (written to /tmp/tr-in.json and /tmp/tr-out.json)", what);
}
