/* test-stream.c: golden tests for every (provider format → client format)
 * stream pair: each fixture is pushed split at every byte (SSE lines and
 * UTF-8 characters cut across reads) and must give the golden output.
 * TR_UPDATE_GOLDEN=1 rewrites the goldens (review the diff!). */

#include "tr-test-util.h"

#include <string.h>

static const UsWireFormat formats[] = {
  US_WIRE_ANTHROPIC, US_WIRE_OPENAI_CHAT, US_WIRE_OPENAI_RESPONSES,
};

static const char *
prefix_for (UsWireFormat fmt)
{
  switch (fmt)
    {
    case US_WIRE_ANTHROPIC: return "anthropic";
    case US_WIRE_OPENAI_CHAT: return "chat";
    case US_WIRE_OPENAI_RESPONSES:
    default: return "responses";
    }
}

typedef struct {
  const char *scenario;
  gboolean    complete;
  gboolean    error;
  UsUsage     usage;
} Scenario;

/* Usage is the same in every format's fixture of a scenario. */
static const Scenario scenarios[] = {
  { "text", TRUE, FALSE, { 25, 12, 100, 0 } },
  { "tool", TRUE, FALSE, { 410, 57, 0, 0 } },
  { "parallel", TRUE, FALSE, { 500, 80, 0, 0 } },
  { "thinking", TRUE, FALSE, { 30, 20, 0, 0 } },
  { "error", FALSE, TRUE, { 0, 0, 0, 0 } },
};

typedef struct {
  const Scenario *scenario;
  UsWireFormat    from;
  UsWireFormat    to;
} Case;

static void
test_case (gconstpointer data)
{
  const Case *c = data;
  g_autofree char *fixture = g_strdup_printf ("%s-%s.sse", prefix_for (c->from), c->scenario->scenario);
  g_autofree char *golden_name = g_strdup_printf ("golden/%s-%s.to-%s.sse", prefix_for (c->from),
                                                  c->scenario->scenario, prefix_for (c->to));
  g_autofree char *golden_path = g_build_filename (TR_DATA_DIR, golden_name, NULL);
  g_autofree char *input = tr_load (fixture, NULL);
  g_autofree char *got = tr_stream_all_splits (c->from, c->to, input);
  g_autofree char *expected = NULL;
  g_autoptr(UsStreamTranslator) tr = NULL;
  g_autofree char *again = tr_stream_split (c->from, c->to, input, strlen (input), 0, &tr);
  const UsUsage *usage = us_stream_translator_get_usage (tr);

  if (c->from == c->to)
    g_assert_cmpstr (again, ==, input);
  else if (g_getenv ("TR_UPDATE_GOLDEN") != NULL)
    g_assert_true (g_file_set_contents (golden_path, got, -1, NULL));
  else
    {
      expected = tr_load (golden_name, NULL);
      g_assert_cmpstr (got, ==, expected);
    }

  g_assert_true (us_stream_translator_has_content (tr));
  g_assert_cmpint (us_stream_translator_is_complete (tr), ==, c->scenario->complete);
  g_assert_cmpint (us_stream_translator_get_error (tr, NULL, NULL), ==, c->scenario->error);
  if (c->scenario->complete)
    {
      g_assert_cmpint (usage->input_tokens, ==, c->scenario->usage.input_tokens);
      g_assert_cmpint (usage->output_tokens, ==, c->scenario->usage.output_tokens);
      g_assert_cmpint (usage->cache_read_tokens, ==, c->scenario->usage.cache_read_tokens);
    }
}

/* A long stream fed in odd-sized chunks gives what one push gives. */
static void
test_long_stream (gconstpointer data)
{
  const Case *c = data;
  g_autofree char *fixture = g_strdup_printf ("%s-text.sse", prefix_for (c->from));
  g_autofree char *base = tr_load (fixture, NULL);
  g_autoptr(GString) input = g_string_new (NULL);
  static const gsize sizes[] = { 1, 2, 3, 5, 7, 11, 13, 64, 4096 };
  g_autoptr(UsStreamTranslator) tr = us_stream_translator_new (c->from, c->to, "client-model");
  g_autoptr(GString) out = g_string_new (NULL);
  g_autofree char *one_push = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *got = NULL;
  const char *hit = strstr (base, "H\xc3\xa9llo");
  const char *start, *end;
  gsize pos = 0;

  /* The fixture with its first text delta event repeated 500 times. */
  g_assert_nonnull (hit);
  start = g_strrstr_len (base, hit - base, "\n\n") + 2;
  end = strstr (hit, "\n\n") + 2;
  g_string_append_len (input, base, start - base);
  for (guint i = 0; i < 500; i++)
    g_string_append_len (input, start, end - start);
  g_string_append (input, end);

  for (guint i = 0; pos < input->len; i++)
    {
      gsize n = MIN (sizes[i % G_N_ELEMENTS (sizes)], input->len - pos);

      us_stream_translator_push (tr, input->str + pos, n, out);
      pos += n;
    }
  us_stream_translator_finish (tr, out);
  one_push = tr_stream_split (c->from, c->to, input->str, input->len, input->len, NULL);
  expected = tr_normalise (one_push);
  got = tr_normalise (out->str);
  g_assert_cmpstr (got, ==, expected);
  g_assert_true (us_stream_translator_is_complete (tr));
  if (c->from == c->to)
    g_assert_cmpstr (out->str, ==, input->str);
}

int
main (int argc, char **argv)
{
  g_autoptr(GPtrArray) cases = g_ptr_array_new_with_free_func (g_free);

  g_test_init (&argc, &argv, NULL);
  for (gsize s = 0; s < G_N_ELEMENTS (scenarios); s++)
    for (gsize f = 0; f < G_N_ELEMENTS (formats); f++)
      for (gsize t = 0; t < G_N_ELEMENTS (formats); t++)
        {
          Case *c = g_new0 (Case, 1);
          g_autofree char *path = NULL;

          c->scenario = &scenarios[s];
          c->from = formats[f];
          c->to = formats[t];
          g_ptr_array_add (cases, c);
          path = g_strdup_printf ("/stream/%s/%s-to-%s", scenarios[s].scenario,
                                  prefix_for (c->from), prefix_for (c->to));
          g_test_add_data_func (path, c, test_case);
          if (s == 0)
            {
              g_autofree char *long_path = g_strdup_printf ("/stream/long/%s-to-%s",
                                                            prefix_for (c->from), prefix_for (c->to));

              g_test_add_data_func (long_path, c, test_long_stream);
            }
        }
  return g_test_run ();
}
