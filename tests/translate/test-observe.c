/* test-observe.c: same format in and out: bytes pass unchanged while the
 * stream is watched for the commit point, completion, errors and usage. */

#include "tr-test-util.h"
#include "us-format.h"

#include <string.h>

/* Feeds @input one byte at a time and returns the offset after which
 * has_content first became TRUE (or -1). */
static gssize
commit_offset (UsWireFormat fmt,
               const char  *input,
               GString     *out,
               UsStreamTranslator **keep)
{
  UsStreamTranslator *tr = us_stream_translator_new (fmt, fmt, "client-model");
  gssize commit = -1;
  gsize len = strlen (input);

  for (gsize i = 0; i < len; i++)
    {
      us_stream_translator_push (tr, input + i, 1, out);
      if (commit < 0 && us_stream_translator_has_content (tr))
        commit = (gssize) i + 1;
    }
  us_stream_translator_finish (tr, out);
  *keep = tr;
  return commit;
}

static void
check_observe (UsWireFormat fmt,
               const char  *file,
               const char  *commit_marker,
               gboolean     complete,
               const UsUsage *usage)
{
  g_autofree char *input = tr_load (file, NULL);
  g_autoptr(GString) out = g_string_new (NULL);
  g_autoptr(UsStreamTranslator) tr = NULL;
  gssize commit = commit_offset (fmt, input, out, &tr);
  const char *marker = strstr (input, commit_marker);
  const char *event_end;
  const UsUsage *got;

  /* Unchanged bytes, whatever the split. */
  g_assert_cmpstr (out->str, ==, input);
  g_free (tr_stream_all_splits (fmt, fmt, input));

  /* The commit point is the end of the event holding the marker. */
  g_assert_nonnull (marker);
  event_end = strstr (marker, "\n\n");
  g_assert_nonnull (event_end);
  g_assert_cmpint (commit, ==, (event_end - input) + 2);

  g_assert_cmpint (us_stream_translator_is_complete (tr), ==, complete);
  got = us_stream_translator_get_usage (tr);
  g_assert_cmpint (got->input_tokens, ==, usage->input_tokens);
  g_assert_cmpint (got->output_tokens, ==, usage->output_tokens);
  g_assert_cmpint (got->cache_read_tokens, ==, usage->cache_read_tokens);
  g_assert_cmpint (got->cache_write_tokens, ==, usage->cache_write_tokens);
}

static void
test_anthropic_text (void)
{
  UsUsage usage = { 25, 12, 100, 3 };

  check_observe (US_WIRE_ANTHROPIC, "anthropic-text.sse", "content_block_start",
                 TRUE, &usage);
}

static void
test_anthropic_error (void)
{
  g_autofree char *input = tr_load ("anthropic-error.sse", NULL);
  g_autoptr(UsStreamTranslator) tr = NULL;
  g_autofree char *out = tr_stream_split (US_WIRE_ANTHROPIC, US_WIRE_ANTHROPIC,
                                          input, strlen (input), 7, &tr);
  const char *type = NULL, *message = NULL;

  g_assert_cmpstr (out, ==, input);
  g_assert_true (us_stream_translator_has_content (tr));
  g_assert_false (us_stream_translator_is_complete (tr));
  g_assert_true (us_stream_translator_get_error (tr, &type, &message));
  g_assert_cmpstr (type, ==, "overloaded_error");
  g_assert_cmpstr (message, ==, "Overloaded");
}

static void
test_anthropic_no_content (void)
{
  const char *input =
    "event: message_start\n"
    "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"usage\":{\"input_tokens\":5}}}\n\n"
    "event: ping\ndata: {\"type\":\"ping\"}\n\n";
  g_autoptr(UsStreamTranslator) tr = NULL;
  g_autofree char *out = tr_stream_split (US_WIRE_ANTHROPIC, US_WIRE_ANTHROPIC,
                                          input, strlen (input), 3, &tr);
  const char *type = NULL;

  g_assert_cmpstr (out, ==, input);
  g_assert_false (us_stream_translator_has_content (tr));
  g_assert_false (us_stream_translator_is_complete (tr));
  g_assert_false (us_stream_translator_get_error (tr, &type, NULL));
  g_assert_cmpint (us_stream_translator_get_usage (tr)->input_tokens, ==, 5);
}

static void
test_anthropic_fail (void)
{
  g_autofree char *input = tr_load ("anthropic-error.sse", NULL);
  g_autoptr(UsStreamTranslator) tr = us_stream_translator_new (US_WIRE_ANTHROPIC, US_WIRE_ANTHROPIC, "m");
  g_autoptr(GString) out = g_string_new (NULL);
  const char *cut = strstr (input, "event: error");

  us_stream_translator_push (tr, input, (gsize) (cut - input), out);
  g_string_truncate (out, 0);
  us_stream_translator_fail (tr, "api_error", "Upstream \"reset\"", out);
  g_assert_cmpstr (out->str, ==,
                   "event: error\n"
                   "data: {\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"Upstream \\\"reset\\\"\"}}\n\n");
}

static void
test_chat (void)
{
  UsUsage text = { 25, 12, 100, 0 };
  UsUsage thinking = { 30, 20, 0, 0 };
  UsUsage tool = { 410, 57, 0, 0 };

  /* The role chunk with content "" (and reasoning_content "") is no commit. */
  check_observe (US_WIRE_OPENAI_CHAT, "chat-text.sse", "H\xc3\xa9llo", TRUE, &text);
  check_observe (US_WIRE_OPENAI_CHAT, "chat-thinking.sse", "The user wants", TRUE, &thinking);
  check_observe (US_WIRE_OPENAI_CHAT, "chat-tool.sse", "Reading it.", TRUE, &tool);
}

static void
test_responses (void)
{
  UsUsage text = { 25, 12, 100, 0 };
  UsUsage tool = { 410, 57, 0, 0 };
  UsUsage parallel = { 500, 80, 0, 0 };
  UsUsage thinking = { 30, 20, 0, 0 };

  check_observe (US_WIRE_OPENAI_RESPONSES, "responses-text.sse", "response.output_text.delta", TRUE, &text);
  check_observe (US_WIRE_OPENAI_RESPONSES, "responses-tool.sse", "response.output_text.delta", TRUE, &tool);
  /* A function call commits as soon as its item is added. */
  check_observe (US_WIRE_OPENAI_RESPONSES, "responses-parallel.sse", "response.output_item.added", TRUE, &parallel);
  check_observe (US_WIRE_OPENAI_RESPONSES, "responses-thinking.sse", "response.reasoning_summary_text.delta", TRUE, &thinking);
}

/* Chat completes on finish_reason + usage, before [DONE]. */
static void
test_chat_complete_without_done (void)
{
  const char *input =
    "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"},\"finish_reason\":null}]}\n\n"
    "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n";
  const char *usage = "data: {\"id\":\"c\",\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1}}\n\n";
  g_autoptr(UsStreamTranslator) tr = us_stream_translator_new (US_WIRE_OPENAI_CHAT, US_WIRE_OPENAI_CHAT, "m");
  g_autoptr(GString) out = g_string_new (NULL);

  us_stream_translator_push (tr, input, strlen (input), out);
  g_assert_true (us_stream_translator_has_content (tr));
  g_assert_false (us_stream_translator_is_complete (tr));
  us_stream_translator_push (tr, usage, strlen (usage), out);
  g_assert_true (us_stream_translator_is_complete (tr));
  g_assert_cmpint (us_stream_translator_get_usage (tr)->input_tokens, ==, 3);
}

static void
test_errors_other_formats (void)
{
  static const struct {
    UsWireFormat fmt;
    const char  *file;
    const char  *type;
    const char  *message;
  } cases[] = {
    { US_WIRE_OPENAI_CHAT, "chat-error.sse", "api_error", "The server had an error while processing your request." },
    { US_WIRE_OPENAI_RESPONSES, "responses-error.sse", "rate_limit_error", "Rate limit reached for gpt-5" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *input = tr_load (cases[i].file, NULL);
      g_autoptr(UsStreamTranslator) tr = NULL;
      g_autofree char *out = tr_stream_split (cases[i].fmt, cases[i].fmt, input, strlen (input), 5, &tr);
      const char *type = NULL, *message = NULL;

      g_assert_cmpstr (out, ==, input);
      g_assert_true (us_stream_translator_get_error (tr, &type, &message));
      g_assert_cmpstr (type, ==, cases[i].type);
      g_assert_cmpstr (message, ==, cases[i].message);
      g_assert_false (us_stream_translator_is_complete (tr));
    }
}

/* After the commit point a failure is an error in the client's own shape. */
static void
test_fail_other_formats (void)
{
  g_autofree char *chat = tr_load ("chat-text.sse", NULL);
  g_autofree char *responses = tr_load ("responses-text.sse", NULL);
  g_autoptr(UsStreamTranslator) a = us_stream_translator_new (US_WIRE_OPENAI_CHAT, US_WIRE_OPENAI_CHAT, "m");
  g_autoptr(UsStreamTranslator) b = us_stream_translator_new (US_WIRE_OPENAI_RESPONSES, US_WIRE_OPENAI_RESPONSES, "m");
  g_autoptr(GString) out = g_string_new (NULL);
  g_autofree char *normal = NULL;

  us_stream_translator_push (a, chat, strstr (chat, "w\xc3\xb6rld") - chat, out);
  g_string_truncate (out, 0);
  us_stream_translator_fail (a, "overloaded_error", "Overloaded", out);
  g_assert_cmpstr (out->str, ==,
                   "data: {\"error\":{\"message\":\"Overloaded\",\"type\":\"server_error\","
                   "\"code\":\"server_is_overloaded\",\"param\":null}}\n\n");

  us_stream_translator_push (b, responses, strstr (responses, "w\xc3\xb6rld") - responses, out);
  g_string_truncate (out, 0);
  us_stream_translator_fail (b, "rate_limit_error", "Slow down", out);
  normal = tr_normalise (out->str);
  g_assert_cmpstr (normal, ==,
                   "event: response.failed\n"
                   "data: {\"type\":\"response.failed\",\"response\":{\"id\":\"resp_RID\",\"object\":\"response\","
                   "\"created_at\":0,\"status\":\"failed\",\"error\":{\"code\":\"rate_limit_exceeded\","
                   "\"message\":\"Slow down\"},\"incomplete_details\":null,\"model\":\"m\",\"output\":[],"
                   "\"parallel_tool_calls\":true,\"text\":{\"format\":{\"type\":\"text\"}},\"tool_choice\":\"auto\","
                   "\"tools\":[],\"usage\":null},\"sequence_number\":2}\n\n");
}


typedef struct {
  guint content_deltas;   /* text, thinking and argument deltas */
  guint signatures;
  guint block_starts;
  guint block_stops;
} Seen;

static void
count_event (const UsIrEvent *ev,
             gpointer         data)
{
  Seen *seen = data;

  if (ev->kind == US_IR_EV_BLOCK_DELTA && ev->delta == US_IR_DELTA_SIGNATURE)
    seen->signatures++;
  else if (ev->kind == US_IR_EV_BLOCK_DELTA)
    seen->content_deltas++;
  else if (ev->kind == US_IR_EV_BLOCK_START)
    seen->block_starts++;
  else if (ev->kind == US_IR_EV_BLOCK_STOP)
    seen->block_stops++;
}

static void
observe_whole (UsWireFormat  fmt,
               const char   *file,
               Seen         *seen,
               UsStreamTranslator **keep)
{
  g_autofree char *input = tr_load (file, NULL);
  g_autoptr(GString) out = g_string_new (NULL);
  UsStreamTranslator *tr = us_stream_translator_new (fmt, fmt, "m");

  us_stream_translator_set_observer (tr, count_event, seen);
  us_stream_translator_push (tr, input, strlen (input), out);
  us_stream_translator_finish (tr, out);
  g_assert_cmpstr (out->str, ==, input);
  *keep = tr;
}

/* Past the first content, an observed stream's content deltas are not
 * decoded (their JSON is never parsed), but what the proxy still needs
 * is: signatures, block starts and stops, usage, the end. */
static void
test_skips_content_deltas (void)
{
  g_autoptr(UsStreamTranslator) a = NULL;
  g_autoptr(UsStreamTranslator) r = NULL;
  Seen seen = { 0 };

  /* thinking_delta ×2 and text_delta ×1 come after content_block_start. */
  observe_whole (US_WIRE_ANTHROPIC, "anthropic-thinking.sse", &seen, &a);
  g_assert_cmpuint (seen.content_deltas, ==, 0);
  g_assert_cmpuint (seen.signatures, ==, 1);
  g_assert_cmpuint (seen.block_starts, ==, 2);
  g_assert_cmpuint (seen.block_stops, ==, 2);
  g_assert_true (us_stream_translator_is_complete (a));
  g_assert_cmpint (us_stream_translator_get_usage (a)->output_tokens, ==, 20);

  /* Responses: the output_text delta goes unparsed; the reasoning item's
   * signature (in output_item.done) is still seen. */
  memset (&seen, 0, sizeof seen);
  observe_whole (US_WIRE_OPENAI_RESPONSES, "responses-thinking.sse", &seen, &r);
  g_assert_cmpuint (seen.signatures, ==, 1);
  g_assert_true (us_stream_translator_is_complete (r));
  g_assert_cmpint (us_stream_translator_get_usage (r)->output_tokens, ==, 20);
}

/* A delta that is not plain content is still decoded after the commit
 * point: an error event, even one named like a delta by its data. */
static void
test_error_after_content (void)
{
  const char *input =
    "event: content_block_start\n"
    "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\n\n"
    "event: error\n"
    "data: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n";
  g_autoptr(UsStreamTranslator) tr = us_stream_translator_new (US_WIRE_ANTHROPIC, US_WIRE_ANTHROPIC, "m");
  g_autoptr(GString) out = g_string_new (NULL);
  const char *type = NULL;

  us_stream_translator_push (tr, input, strlen (input), out);
  g_assert_true (us_stream_translator_get_error (tr, &type, NULL));
  g_assert_cmpstr (type, ==, "overloaded_error");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/observe/anthropic/text", test_anthropic_text);
  g_test_add_func ("/observe/anthropic/error", test_anthropic_error);
  g_test_add_func ("/observe/anthropic/no-content", test_anthropic_no_content);
  g_test_add_func ("/observe/anthropic/fail", test_anthropic_fail);
  g_test_add_func ("/observe/chat", test_chat);
  g_test_add_func ("/observe/chat/complete-without-done", test_chat_complete_without_done);
  g_test_add_func ("/observe/responses", test_responses);
  g_test_add_func ("/observe/errors", test_errors_other_formats);
  g_test_add_func ("/observe/fail", test_fail_other_formats);
  g_test_add_func ("/observe/skips-content-deltas", test_skips_content_deltas);
  g_test_add_func ("/observe/error-after-content", test_error_after_content);
  return g_test_run ();
}
