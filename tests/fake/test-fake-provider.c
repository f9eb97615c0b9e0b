/* test-fake-provider.c: what a libsoup client sees from each fake behavior.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "us-fake-provider.h"

#include <glib/gstdio.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* A libsoup client that keeps whatever arrived before an error             */

typedef struct {
  guint               status;
  SoupMessageHeaders *headers;
  GByteArray         *body;
  GError             *error;     /* transport error, before or after headers */
  guint               n_reads;
  gint64              start_us, first_byte_us, end_us;
  gboolean            done;
  GInputStream       *stream;
  SoupMessage        *msg;
} Result;

static void
result_clear (Result *r)
{
  g_clear_pointer (&r->headers, soup_message_headers_unref);
  g_clear_pointer (&r->body, g_byte_array_unref);
  g_clear_error (&r->error);
  g_clear_object (&r->stream);
  g_clear_object (&r->msg);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Result, result_clear)

static void read_next (Result *r);

static void
read_cb (GObject      *source,
         GAsyncResult *res,
         gpointer      data)
{
  Result *r = data;
  g_autoptr(GBytes) bytes = g_input_stream_read_bytes_finish (G_INPUT_STREAM (source), res, &r->error);

  if (bytes == NULL || g_bytes_get_size (bytes) == 0)
    {
      r->end_us = g_get_monotonic_time ();
      r->done = TRUE;
      return;
    }
  if (r->n_reads++ == 0)
    r->first_byte_us = g_get_monotonic_time ();
  g_byte_array_append (r->body, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  read_next (r);
}

static void
read_next (Result *r)
{
  g_input_stream_read_bytes_async (r->stream, 65536, G_PRIORITY_DEFAULT, NULL, read_cb, r);
}

static void
send_cb (GObject      *source,
         GAsyncResult *res,
         gpointer      data)
{
  Result *r = data;

  r->stream = soup_session_send_finish (SOUP_SESSION (source), res, &r->error);
  r->status = soup_message_get_status (r->msg);
  r->headers = soup_message_headers_ref (soup_message_get_response_headers (r->msg));
  if (r->stream == NULL)
    {
      r->end_us = g_get_monotonic_time ();
      r->done = TRUE;
      return;
    }
  read_next (r);
}

/* One request on a fresh session, so that a dropped connection is never a
 * reused one (libsoup would silently resend on those). */
static void
fetch_full (UsFakeProvider     *fake,
            const char         *method,
            const char         *path,
            const char         *body,
            const char * const *headers,
            guint               timeout_s,
            Result             *r)
{
  g_autoptr(SoupSession) session = soup_session_new_with_options ("timeout", timeout_s, NULL);
  g_autofree char *url = g_strconcat (us_fake_provider_get_base_url (fake), path, NULL);

  memset (r, 0, sizeof *r);
  r->body = g_byte_array_new ();
  r->msg = soup_message_new (method, url);
  g_assert_nonnull (r->msg);
  if (body != NULL)
    {
      g_autoptr(GBytes) bytes = g_bytes_new (body, strlen (body));

      soup_message_set_request_body_from_bytes (r->msg, "application/json", bytes);
    }
  for (guint i = 0; headers != NULL && headers[i] != NULL; i += 2)
    soup_message_headers_append (soup_message_get_request_headers (r->msg), headers[i], headers[i + 1]);

  r->start_us = g_get_monotonic_time ();
  soup_session_send_async (session, r->msg, G_PRIORITY_DEFAULT, NULL, send_cb, r);
  while (!r->done)
    g_main_context_iteration (NULL, TRUE);
  if (r->error != NULL)
    g_test_message ("%s %s: client error after %u reads: %s (%s %d)", method, path, r->n_reads,
                    r->error->message, g_quark_to_string (r->error->domain), r->error->code);
}

static void
post (UsFakeProvider *fake,
      const char     *path,
      const char     *body,
      Result         *r)
{
  fetch_full (fake, "POST", path, body, NULL, 10, r);
}

static const char *
route (UsFakeProvider *fake)
{
  switch (us_fake_provider_get_format (fake))
    {
    case US_FAKE_FORMAT_ANTHROPIC:
      return "/v1/messages";
    case US_FAKE_FORMAT_OPENAI_CHAT:
      return "/v1/chat/completions";
    case US_FAKE_FORMAT_OPENAI_RESPONSES:
      return "/v1/responses";
    default:
      g_assert_not_reached ();
    }
}

static const char *
simple_body (UsFakeFormat format,
             gboolean     stream)
{
  if (format == US_FAKE_FORMAT_OPENAI_RESPONSES)
    return stream ? "{\"model\":\"gpt-test\",\"stream\":true,\"input\":\"hi\"}"
                  : "{\"model\":\"gpt-test\",\"input\":\"hi\"}";
  if (format == US_FAKE_FORMAT_OPENAI_CHAT)
    return stream ? "{\"model\":\"gpt-test\",\"stream\":true,\"stream_options\":{\"include_usage\":true},"
                    "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"
                  : "{\"model\":\"gpt-test\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
  return stream ? "{\"model\":\"claude-test\",\"max_tokens\":64,\"stream\":true,"
                  "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"
                : "{\"model\":\"claude-test\",\"max_tokens\":64,"
                  "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
}

static char *
body_string (const Result *r)
{
  return g_strndup ((const char *) r->body->data, r->body->len);
}

static JsonObject *
body_json (const Result *r)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;

  json_parser_load_from_data (parser, (const char *) r->body->data, (gssize) r->body->len, &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)));
  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

/* ------------------------------------------------------------------------ */
/* SSE parsing, strict about framing                                        */

typedef struct {
  char       *event; /* NULL when the event had no event: line */
  char       *data;
  JsonObject *json;  /* NULL for [DONE] */
} Event;

static void
event_free (gpointer p)
{
  Event *e = p;

  g_free (e->event);
  g_free (e->data);
  g_clear_pointer (&e->json, json_object_unref);
  g_free (e);
}

static GPtrArray *
parse_sse (const Result *r)
{
  g_autofree char *text = body_string (r);
  g_auto(GStrv) blocks = NULL;
  GPtrArray *events = g_ptr_array_new_with_free_func (event_free);
  guint n;

  g_assert_true (g_utf8_validate (text, -1, NULL));
  g_assert_true (g_str_has_suffix (text, "\n\n") || r->error != NULL);
  blocks = g_strsplit (text, "\n\n", -1);
  n = g_strv_length (blocks);
  for (guint i = 0; i < n; i++)
    {
      g_auto(GStrv) lines = g_strsplit (blocks[i], "\n", -1);
      Event *e;

      if (blocks[i][0] == '\0')
        continue;
      e = g_new0 (Event, 1);
      for (guint j = 0; lines[j] != NULL; j++)
        {
          if (g_str_has_prefix (lines[j], "event: "))
            e->event = g_strdup (lines[j] + 7);
          else if (g_str_has_prefix (lines[j], "data: "))
            e->data = g_strdup (lines[j] + 6);
          else
            g_error ("unexpected SSE line: %s", lines[j]);
        }
      g_assert_nonnull (e->data);
      if (!g_str_equal (e->data, "[DONE]"))
        {
          g_autoptr(JsonParser) parser = json_parser_new ();
          g_autoptr(GError) error = NULL;

          json_parser_load_from_data (parser, e->data, -1, &error);
          g_assert_no_error (error);
          e->json = json_object_ref (json_node_get_object (json_parser_get_root (parser)));
        }
      g_ptr_array_add (events, e);
    }
  return events;
}

static Event *
ev (GPtrArray *events,
    guint      i)
{
  g_assert_cmpuint (i, <, events->len);
  return g_ptr_array_index (events, i);
}

static const char *
jstr (JsonObject *o,
      const char *path)
{
  /* "a.b.c" walks objects; "a.0.b" indexes arrays. */
  g_auto(GStrv) parts = g_strsplit (path, ".", -1);
  JsonNode *node = NULL;

  for (guint i = 0; parts[i] != NULL; i++)
    {
      if (i > 0 && JSON_NODE_HOLDS_ARRAY (node))
        {
          JsonArray *a = json_node_get_array (node);
          guint idx = (guint) g_ascii_strtoull (parts[i], NULL, 10);

          if (idx >= json_array_get_length (a))
            return NULL;
          node = json_array_get_element (a, idx);
          continue;
        }
      if (i > 0 && !JSON_NODE_HOLDS_OBJECT (node))
        return NULL;
      node = json_object_get_member (i == 0 ? o : json_node_get_object (node), parts[i]);
      if (node == NULL)
        return NULL;
    }
  return JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING
         ? json_node_get_string (node) : NULL;
}

/* The text a client would assemble from a stream of @format. */
static char *
stream_text (UsFakeFormat  format,
             GPtrArray    *events)
{
  GString *s = g_string_new (NULL);

  for (guint i = 0; i < events->len; i++)
    {
      Event *e = ev (events, i);
      const char *t = NULL;

      if (e->json == NULL)
        continue;
      if (format == US_FAKE_FORMAT_ANTHROPIC && g_strcmp0 (e->event, "content_block_delta") == 0)
        t = jstr (e->json, "delta.text");
      else if (format == US_FAKE_FORMAT_OPENAI_CHAT)
        t = jstr (e->json, "choices.0.delta.content");
      else if (format == US_FAKE_FORMAT_OPENAI_RESPONSES && g_strcmp0 (e->event, "response.output_text.delta") == 0)
        t = jstr (e->json, "delta");
      if (t != NULL)
        g_string_append (s, t);
    }
  return g_string_free (s, FALSE);
}

/* ------------------------------------------------------------------------ */
/* OK answers                                                               */

#define TEXT "Caf\xc3\xa9 na\xc3\xafve \xe2\x80\x94 \xf0\x9f\x99\x82 the quick brown fox."

static void
test_stream_ok (gconstpointer data)
{
  UsFakeFormat format = GPOINTER_TO_INT (data);
  g_autoptr(UsFakeProvider) fake = us_fake_provider_new (format);
  g_auto(Result) r;
  g_autoptr(GPtrArray) events = NULL;
  g_autofree char *text = NULL;
  Event *last;

  us_fake_provider_set_text (fake, TEXT);
  post (fake, route (fake), simple_body (format, TRUE), &r);
  g_assert_no_error (r.error);
  g_assert_cmpuint (r.status, ==, 200);
  g_assert_true (g_str_has_prefix (soup_message_headers_get_content_type (r.headers, NULL), "text/event-stream"));
  g_assert_cmpint (soup_message_headers_get_encoding (r.headers), ==, SOUP_ENCODING_CHUNKED);

  events = parse_sse (&r);
  text = stream_text (format, events);
  g_assert_cmpstr (text, ==, TEXT);
  last = ev (events, events->len - 1);

  switch (format)
    {
    case US_FAKE_FORMAT_ANTHROPIC:
      g_assert_nonnull (soup_message_headers_get_one (r.headers, "request-id"));
      for (guint i = 0; i < events->len; i++)
        {
          /* Every event named, and named as its type. */
          g_assert_nonnull (ev (events, i)->event);
          g_assert_cmpstr (ev (events, i)->event, ==, jstr (ev (events, i)->json, "type"));
        }
      g_assert_cmpstr (ev (events, 0)->event, ==, "message_start");
      g_assert_true (g_str_has_prefix (jstr (ev (events, 0)->json, "message.id"), "msg_"));
      g_assert_cmpstr (jstr (ev (events, 0)->json, "message.model"), ==, "claude-test");
      g_assert_cmpstr (ev (events, 1)->event, ==, "content_block_start");
      g_assert_cmpstr (ev (events, 2)->event, ==, "ping");
      g_assert_cmpstr (ev (events, events->len - 2)->event, ==, "message_delta");
      g_assert_cmpstr (jstr (ev (events, events->len - 2)->json, "delta.stop_reason"), ==, "end_turn");
      g_assert_cmpstr (last->event, ==, "message_stop");
      break;
    case US_FAKE_FORMAT_OPENAI_CHAT:
      g_assert_nonnull (soup_message_headers_get_one (r.headers, "x-request-id"));
      g_assert_cmpstr (last->data, ==, "[DONE]");
      for (guint i = 0; i + 1 < events->len; i++)
        {
          g_assert_null (ev (events, i)->event);
          g_assert_cmpstr (jstr (ev (events, i)->json, "object"), ==, "chat.completion.chunk");
          g_assert_true (g_str_has_prefix (jstr (ev (events, i)->json, "id"), "chatcmpl-"));
        }
      g_assert_cmpstr (jstr (ev (events, 0)->json, "choices.0.delta.role"), ==, "assistant");
      /* include_usage: a final chunk with no choices and the usage. */
      g_assert_cmpuint (json_array_get_length (json_object_get_array_member (ev (events, events->len - 2)->json,
                                                                            "choices")), ==, 0);
      g_assert_true (json_object_has_member (json_object_get_object_member (ev (events, events->len - 2)->json,
                                                                           "usage"), "prompt_tokens"));
      g_assert_cmpstr (jstr (ev (events, events->len - 3)->json, "choices.0.finish_reason"), ==, "stop");
      break;
    case US_FAKE_FORMAT_OPENAI_RESPONSES:
      for (guint i = 0; i < events->len; i++)
        {
          g_assert_cmpstr (ev (events, i)->event, ==, jstr (ev (events, i)->json, "type"));
          g_assert_cmpint (json_object_get_int_member (ev (events, i)->json, "sequence_number"), ==, i);
        }
      g_assert_cmpstr (ev (events, 0)->event, ==, "response.created");
      g_assert_true (g_str_has_prefix (jstr (ev (events, 0)->json, "response.id"), "resp_"));
      g_assert_cmpstr (last->event, ==, "response.completed");
      g_assert_cmpstr (jstr (last->json, "response.output.0.content.0.text"), ==, TEXT);
      g_assert_true (json_object_has_member (json_object_get_object_member (json_object_get_object_member (last->json, "response"),
                                                                           "usage"), "total_tokens"));
      break;
    default:
      g_assert_not_reached ();
    }
}

static void
test_whole_ok (gconstpointer data)
{
  UsFakeFormat format = GPOINTER_TO_INT (data);
  g_autoptr(UsFakeProvider) fake = us_fake_provider_new (format);
  g_auto(Result) r;
  g_autoptr(JsonObject) o = NULL;
  const char *path = format == US_FAKE_FORMAT_ANTHROPIC ? "content.0.text"
                     : format == US_FAKE_FORMAT_OPENAI_CHAT ? "choices.0.message.content"
                     : "output.0.content.0.text";

  us_fake_provider_set_text (fake, TEXT);
  post (fake, route (fake), simple_body (format, FALSE), &r);
  g_assert_no_error (r.error);
  g_assert_cmpuint (r.status, ==, 200);
  g_assert_cmpstr (soup_message_headers_get_content_type (r.headers, NULL), ==, "application/json");
  g_assert_cmpint (soup_message_headers_get_content_length (r.headers), ==, r.body->len);
  o = body_json (&r);
  g_assert_cmpstr (jstr (o, path), ==, TEXT);
}

/* tool / tools2, whole and streamed: names and arguments come through. */
static void
test_tool_calls (gconstpointer data)
{
  UsFakeFormat format = GPOINTER_TO_INT (data);
  g_autoptr(UsFakeProvider) fake = us_fake_provider_new (format);
  const char *name_path = format == US_FAKE_FORMAT_ANTHROPIC ? "content.%u.name"
                          : format == US_FAKE_FORMAT_OPENAI_CHAT ? "choices.0.message.tool_calls.%u.function.name"
                          : "output.%u.name";
  const char *args_path = format == US_FAKE_FORMAT_OPENAI_CHAT ? "choices.0.message.tool_calls.%u.function.arguments"
                          : "output.%u.arguments";
  const char * const names[] = { "Read", "Grep" };

  us_fake_provider_push (fake, &(UsFakeStep) { .behavior = US_FAKE_OK_TWO_TOOL_CALLS,
                                               .tool_name = "Read", .tool_args = "{\"file_path\":\"/a\"}",
                                               .tool_name2 = "Grep", .tool_args2 = "{\"pattern\":\"x\"}" });
  us_fake_provider_push_behavior (fake, US_FAKE_OK_TWO_TOOL_CALLS);

  {
    g_auto(Result) r;
    g_autoptr(JsonObject) o = NULL;

    post (fake, route (fake), simple_body (format, FALSE), &r);
    g_assert_cmpuint (r.status, ==, 200);
    o = body_json (&r);
    for (guint i = 0; i < 2; i++)
      {
        g_autofree char *np = g_strdup_printf (name_path, i);

        g_assert_cmpstr (jstr (o, np), ==, names[i]);
        if (format != US_FAKE_FORMAT_ANTHROPIC)
          {
            g_autofree char *ap = g_strdup_printf (args_path, i);

            g_assert_cmpstr (jstr (o, ap), ==, i == 0 ? "{\"file_path\":\"/a\"}" : "{\"pattern\":\"x\"}");
          }
      }
    if (format == US_FAKE_FORMAT_ANTHROPIC)
      {
        g_assert_cmpstr (jstr (o, "stop_reason"), ==, "tool_use");
        g_assert_cmpstr (jstr (o, "content.0.input.file_path"), ==, "/a");
      }
  }

  {
    g_auto(Result) r;
    g_autoptr(GPtrArray) events = NULL;
    g_autoptr(GString) args0 = g_string_new (NULL);
    g_autoptr(GString) args1 = g_string_new (NULL);

    post (fake, route (fake), simple_body (format, TRUE), &r);
    g_assert_cmpuint (r.status, ==, 200);
    events = parse_sse (&r);
    for (guint i = 0; i < events->len; i++)
      {
        Event *e = ev (events, i);
        const char *frag = NULL;
        gint64 index = 0;

        if (e->json == NULL)
          continue;
        if (format == US_FAKE_FORMAT_ANTHROPIC && g_strcmp0 (e->event, "content_block_delta") == 0)
          frag = jstr (e->json, "delta.partial_json"), index = json_object_get_int_member (e->json, "index");
        else if (format == US_FAKE_FORMAT_OPENAI_CHAT && jstr (e->json, "choices.0.delta.tool_calls.0.function.arguments"))
          {
            frag = jstr (e->json, "choices.0.delta.tool_calls.0.function.arguments");
            index = json_object_get_int_member (json_array_get_object_element (json_object_get_array_member (
              json_object_get_object_member (json_array_get_object_element (json_object_get_array_member (e->json, "choices"), 0),
                                             "delta"), "tool_calls"), 0), "index");
          }
        else if (format == US_FAKE_FORMAT_OPENAI_RESPONSES
                 && g_strcmp0 (e->event, "response.function_call_arguments.delta") == 0)
          frag = jstr (e->json, "delta"), index = json_object_get_int_member (e->json, "output_index");
        if (frag != NULL)
          g_string_append (index == 0 ? args0 : args1, frag);
      }
    g_assert_cmpstr (args0->str, ==, "{\"location\":\"Paris\",\"unit\":\"celsius\"}");
    g_assert_cmpstr (args1->str, ==, "{\"timezone\":\"Europe/Paris\"}");
  }
  g_assert_cmpuint (us_fake_provider_get_n_pending (fake), ==, 0);
}

/* ------------------------------------------------------------------------ */
/* Errors                                                                   */

static const struct {
  guint       status;
  const char *anthropic_type;
  const char *openai_type;
} error_cases[] = {
  { 400, "invalid_request_error", "invalid_request_error" },
  { 401, "authentication_error", "invalid_request_error" },
  { 402, "billing_error", "insufficient_quota" },
  { 403, "permission_error", "request_forbidden" },
  { 404, "not_found_error", "invalid_request_error" },
  { 429, "rate_limit_error", "requests" },
  { 500, "api_error", "server_error" },
  { 503, "api_error", "server_error" },
  { 529, "overloaded_error", "server_error" },
};

static void
test_status (gconstpointer data)
{
  UsFakeFormat format = GPOINTER_TO_INT (data);
  g_autoptr(UsFakeProvider) fake = us_fake_provider_new (format);
  const char * const extra[] = { "anthropic-ratelimit-unified-status: rejected", NULL };

  for (guint i = 0; i < G_N_ELEMENTS (error_cases); i++)
    us_fake_provider_push (fake, &(UsFakeStep) { .behavior = US_FAKE_STATUS, .status = error_cases[i].status,
                                                 .retry_after = error_cases[i].status == 429 ? "7" : NULL,
                                                 .headers = extra });

  for (guint i = 0; i < G_N_ELEMENTS (error_cases); i++)
    {
      g_auto(Result) r;
      g_autoptr(JsonObject) o = NULL;
      guint status = error_cases[i].status;

      post (fake, route (fake), simple_body (format, TRUE), &r);
      g_assert_no_error (r.error);
      g_assert_cmpuint (r.status, ==, status);
      g_assert_cmpstr (soup_message_headers_get_content_type (r.headers, NULL), ==, "application/json");
      g_assert_cmpstr (soup_message_headers_get_one (r.headers, "retry-after"), ==, status == 429 ? "7" : NULL);
      g_assert_cmpstr (soup_message_headers_get_one (r.headers, "anthropic-ratelimit-unified-status"), ==, "rejected");
      g_assert_cmpstr (soup_message_headers_get_one (r.headers, "x-should-retry"), ==,
                       status == 429 || status >= 500 ? "true" : "false");
      o = body_json (&r);
      if (format == US_FAKE_FORMAT_ANTHROPIC)
        {
          g_assert_cmpstr (jstr (o, "type"), ==, "error");
          g_assert_cmpstr (jstr (o, "error.type"), ==, error_cases[i].anthropic_type);
          g_assert_nonnull (jstr (o, "error.message"));
          g_assert_cmpstr (jstr (o, "request_id"), ==, soup_message_headers_get_one (r.headers, "request-id"));
          if (status == 429)
            g_assert_cmpstr (soup_message_headers_get_one (r.headers, "anthropic-ratelimit-requests-remaining"), ==, "0");
        }
      else
        {
          JsonObject *inner = json_object_get_object_member (o, "error");

          g_assert_cmpstr (jstr (o, "error.type"), ==, error_cases[i].openai_type);
          g_assert_nonnull (jstr (o, "error.message"));
          g_assert_true (json_object_has_member (inner, "param"));
          g_assert_true (json_object_has_member (inner, "code"));
          if (status == 429)
            g_assert_cmpstr (jstr (o, "error.code"), ==, "rate_limit_exceeded");
        }
    }
}

static void
test_error_overrides (void)
{
  g_autoptr(UsFakeProvider) fake = us_fake_provider_new (US_FAKE_FORMAT_ANTHROPIC);
  g_auto(Result) r;
  g_autoptr(JsonObject) o = NULL;

  us_fake_provider_push (fake, &(UsFakeStep) { .behavior = US_FAKE_STATUS, .status = 429,
                                               .error_message = "spend cap",
                                               .error_code = "enforced_spend_limit_reached" });
  post (fake, route (fake), simple_body (US_FAKE_FORMAT_ANTHROPIC, FALSE), &r);
  o = body_json (&r);
  g_assert_cmpstr (jstr (o, "error.message"), ==, "spend cap");
  g_assert_cmpstr (jstr (o, "error.details.error_code"), ==, "enforced_spend_limit_reached");
}

static void
test_error_before_content (gconstpointer data)
{
  UsFakeFormat format = GPOINTER_TO_INT (data);
  g_autoptr(UsFakeProvider) fake = us_fake_provider_new (format);
  g_auto(Result) r;
  g_autoptr(GPtrArray) events = NULL;
  g_autofree char *text = NULL;
  Event *last;

  us_fake_provider_push_behavior (fake, US_FAKE_STREAM_ERROR_BEFORE_CONTENT);
  post (fake, route (fake), simple_body (format, TRUE), &r);
  g_assert_no_error (r.error);
  g_assert_cmpuint (r.status, ==, 200);
  events = parse_sse (&r);
  text = stream_text (format, events);
  g_assert_cmpstr (text, ==, "");
  last = ev (events, events->len - 1);
  switch (format)
    {
    case US_FAKE_FORMAT_ANTHROPIC:
      g_assert_cmpuint (events->len, ==, 2);
      g_assert_cmpstr (ev (events, 0)->event, ==, "message_start");
      g_assert_cmpstr (last->event, ==, "error");
      g_assert_cmpstr (jstr (last->json, "error.type"), ==, "overloaded_error");
      break;
    case US_FAKE_FORMAT_OPENAI_CHAT:
      g_assert_cmpuint (events->len, ==, 2);
      g_assert_cmpstr (jstr (last->json, "error.type"), ==, "server_error");
      break;
    case US_FAKE_FORMAT_OPENAI_RESPONSES:
      g_assert_cmpuint (events->len, ==, 3);
      g_assert_cmpstr (last->event, ==, "response.failed");
      g_assert_cmpstr (jstr (last->json, "response.status"), ==, "failed");
      break;
    default:
      g_assert_not_reached ();
    }

  /* Without a stream it is the provider's overloaded status. */
  {
    g_auto(Result) whole;

    us_fake_provider_push_behavior (fake, US_FAKE_STREAM_ERROR_BEFORE_CONTENT);
    post (fake, route (fake), simple_body (format, FALSE), &whole);
    g_assert_cmpuint (whole.status, ==, format == US_FAKE_FORMAT_ANTHROPIC ? 529 : 503);
  }
}

/* ------------------------------------------------------------------------ */
/* Broken connections                                                       */

static void
test_reset_before_first_byte (gconstpointer data)
{
  UsFakeResetStyle style = GPOINTER_TO_INT (data);
  g_autoptr(UsFakeProvider) fake = us_fake_provider_new (US_FAKE_FORMAT_ANTHROPIC);
  g_auto(Result) r;

  us_fake_provider_set_reset_style (fake, style);
  us_fake_provider_push_behavior (fake, US_FAKE_RESET_BEFORE_FIRST_BYTE);
  post (fake, route (fake), simple_body (US_FAKE_FORMAT_ANTHROPIC, TRUE), &r);
  g_assert_nonnull (r.error);
  g_assert_false (g_error_matches (r.error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT));
  g_assert_cmpuint (r.status, ==, 0);
  g_assert_cmpuint (r.body->len, ==, 0);
  /* Seen once, not silently resent. */
  g_assert_cmpuint (us_fake_provider_get_n_requests (fake), ==, 1);
}

static void
test_reset_mid_stream (gconstpointer data)
{
  UsFakeResetStyle style = GPOINTER_TO_INT (data) & 1;
  UsFakeFormat format = GPOINTER_TO_INT (data) >> 1;
  g_autoptr(UsFakeProvider) fake = us_fake_provider_new (format);
  g_auto(Result) r;
  g_autoptr(GPtrArray) events = NULL;
  g_autofree char *text = NULL;

  us_fake_provider_set_text (fake, TEXT);
  us_fake_provider_set_reset_style (fake, style);
  us_fake_provider_push_behavior (fake, US_FAKE_RESET_MID_STREAM);
  post (fake, route (fake), simple_body (format, TRUE), &r);
  g_assert_cmpuint (r.status, ==, 200);
  g_assert_false (g_error_matches (r.error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT));
  if (style == US_FAKE_RESET_RST)
    g_assert_error (r.error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED);
  /* With a FIN the cut falls between two chunks, and libsoup (3.2) takes
   * EOF there for a clean end: only the stream's own framing (no final
   * event) tells a libsoup client that it was truncated. */

  /* The stream start and some content arrived intact, then nothing. */
  events = parse_sse (&r);
  text = stream_text (format, events);
  {
    Event *last = ev (events, events->len - 1);

    g_assert_cmpstr (last->event, !=, "message_stop");
    g_assert_cmpstr (last->event, !=, "response.completed");
    g_assert_cmpstr (last->data, !=, "[DONE]");
  }
  g_assert_cmpuint (strlen (text), >, 0);
  g_assert_cmpuint (strlen (text), <, strlen (TEXT));
  g_assert_true (g_str_has_prefix (TEXT, text));
  if (format == US_FAKE_FORMAT_ANTHROPIC)
    g_assert_cmpstr (ev (events, 0)->event, ==, "message_start");
}

static void
test_reset_mid_whole (void)
{
  g_autoptr(UsFakeProvider) fake = us_fake_provider_new (US_FAKE_FORMAT_OPENAI_CHAT);
  g_auto(Result) r;

  us_fake_provider_push_behavior (fake, US_FAKE_RESET_MID_STREAM);
  post (fake, route (fake), simple_body (US_FAKE_FORMAT_OPENAI_CHAT, FALSE), &r);
  g_assert_cmpuint (r.status, ==, 200);
  g_assert_nonnull (r.error);
  g_assert_cmpuint (r.body->len, >, 0);
  g_assert_cmpint (r.body->len, <, soup_message_headers_get_content_length (r.headers));
}

static void
test_silence_before_headers (void)
{
  g_autoptr(UsFakeProvider) fake = us_fake_provider_new (US_FAKE_FORMAT_OPENAI_RESPONSES);
  g_auto(Result) r;

  us_fake_provider_push_behavior (fake, US_FAKE_SILENCE_BEFORE_HEADERS);
  fetch_full (fake, "POST", route (fake), simple_body (US_FAKE_FORMAT_OPENAI_RESPONSES, TRUE), NULL, 1, &r);
  g_assert_error (r.error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_assert_cmpuint (r.status, ==, 0);
  g_assert_cmpint (r.end_us - r.start_us, >=, 900 * 1000);
  /* The fake still answers the next request (on another connection). */
  {
    g_auto(Result) next;

    post (fake, route (fake), simple_body (US_FAKE_FORMAT_OPENAI_RESPONSES, FALSE), &next);
    g_assert_cmpuint (next.status, ==, 200);
  }
}

static void
test_silence_after_headers (gconstpointer data)
{
  gboolean stream = GPOINTER_TO_INT (data);
  g_autoptr(UsFakeProvider) fake = us_fake_provider_new (US_FAKE_FORMAT_ANTHROPIC);
  g_auto(Result) r;

  us_fake_provider_push_behavior (fake, US_FAKE_SILENCE_AFTER_HEADERS);
  fetch_full (fake, "POST", route (fake), simple_body (US_FAKE_FORMAT_ANTHROPIC, stream), NULL, 1, &r);
  g_assert_cmpuint (r.status, ==, 200);
  g_assert_error (r.error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_assert_cmpuint (r.body->len, ==, 0);
}

static void
test_delay (void)
{
  g_autoptr(UsFakeProvider) fake = us_fake_provider_new (US_FAKE_FORMAT_OPENAI_CHAT);
  g_auto(Result) r;

  us_fake_provider_push (fake, &(UsFakeStep) { .behavior = US_FAKE_OK, .delay_ms = 300 });
  post (fake, route (fake), simple_body (US_FAKE_FORMAT_OPENAI_CHAT, TRUE), &r);
  g_assert_no_error (r.error);
  g_assert_cmpuint (r.status, ==, 200);
  g_assert_cmpint (r.first_byte_us - r.start_us, >=, 290 * 1000);
}

/* The fake outlives no client: disposing it mid-silence drops them all. */
static void
test_dispose_while_busy (void)
{
  UsFakeProvider *fake = us_fake_provider_new (US_FAKE_FORMAT_ANTHROPIC);
  g_autoptr(SoupSession) session = soup_session_new ();
  g_autofree char *url = g_strconcat (us_fake_provider_get_base_url (fake), "/v1/messages", NULL);
  g_autoptr(GBytes) body = g_bytes_new_static ("{\"stream\":true}", 15);
  Result r = { 0 };

  us_fake_provider_push_behavior (fake, US_FAKE_SILENCE_BEFORE_HEADERS);
  r.body = g_byte_array_new ();
  r.msg = soup_message_new ("POST", url);
  soup_message_set_request_body_from_bytes (r.msg, "application/json", body);
  soup_session_send_async (session, r.msg, G_PRIORITY_DEFAULT, NULL, send_cb, &r);
  while (us_fake_provider_get_n_requests (fake) == 0)
    g_main_context_iteration (NULL, TRUE);
  g_object_unref (fake);
  while (!r.done)
    g_main_context_iteration (NULL, TRUE);
  g_assert_nonnull (r.error);
  result_clear (&r);
}

/* ------------------------------------------------------------------------ */
/* Chunking: streams arrive in many writes, with the first byte early        */

static void
test_chunking (void)
{
  g_autoptr(UsFakeProvider) fake = us_fake_provider_new (US_FAKE_FORMAT_ANTHROPIC);
  g_auto(Result) r;
  g_auto(Result) whole;
  g_autoptr(GPtrArray) events = NULL;

  us_fake_provider_set_text (fake, TEXT);
  us_fake_provider_set_chunking (fake, US_FAKE_CHUNKS_AWKWARD, 5);
  post (fake, route (fake), simple_body (US_FAKE_FORMAT_ANTHROPIC, TRUE), &r);
  events = parse_sse (&r);
  g_test_message ("%u events arrived in %u reads", events->len, r.n_reads);
  /* Awkward cutting writes about three pieces per event, 5 ms apart; even
   * on a busy machine the client must see more reads than events. */
  g_assert_cmpuint (r.n_reads, >, events->len);
  g_assert_cmpint (r.first_byte_us - r.start_us, <, (r.end_us - r.start_us) / 2);

  us_fake_provider_set_chunking (fake, US_FAKE_CHUNKS_WHOLE, 0);
  post (fake, route (fake), simple_body (US_FAKE_FORMAT_ANTHROPIC, TRUE), &whole);
  g_assert_cmpuint (whole.n_reads, <=, 2);
  g_assert_cmpuint (whole.body->len, ==, r.body->len);
}

/* A trickle: one byte a write, a whole stream in the end. */
static void
test_chunking_bytes (void)
{
  g_autoptr(UsFakeProvider) fake = us_fake_provider_new (US_FAKE_FORMAT_OPENAI_CHAT);
  g_auto(Result) r;

  us_fake_provider_set_text (fake, "hi");
  us_fake_provider_set_chunking (fake, US_FAKE_CHUNKS_BYTES, 1);
  post (fake, route (fake), simple_body (US_FAKE_FORMAT_OPENAI_CHAT, TRUE), &r);
  g_test_message ("%u bytes arrived in %u reads", r.body->len, r.n_reads);
  g_assert_no_error (r.error);
  g_assert_true (r.body->len > 14 && memcmp (r.body->data + r.body->len - 14, "data: [DONE]\n\n", 14) == 0);
  /* 1 ms apart, the reads cannot all have merged. */
  g_assert_cmpuint (r.n_reads, >, r.body->len / 4);
}

/* Malformed: a 200 whose JSON or SSE no decoder takes. */
static void
test_malformed (void)
{
  g_autoptr(UsFakeProvider) fake = us_fake_provider_new (US_FAKE_FORMAT_ANTHROPIC);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_auto(Result) stream;
  g_auto(Result) whole;

  g_assert_true (us_fake_provider_push_spec (fake, "malformed,malformed", &error));
  post (fake, route (fake), simple_body (US_FAKE_FORMAT_ANTHROPIC, FALSE), &whole);
  g_assert_cmpuint (whole.status, ==, 200);
  g_assert_no_error (whole.error);
  g_assert_false (json_parser_load_from_data (parser, (const char *) whole.body->data, whole.body->len, NULL));

  post (fake, route (fake), simple_body (US_FAKE_FORMAT_ANTHROPIC, TRUE), &stream);
  g_assert_cmpuint (stream.status, ==, 200);
  g_assert_no_error (stream.error);
  g_assert_nonnull (g_strstr_len ((const char *) stream.body->data, stream.body->len, "this line is not SSE"));
  g_assert_null (g_strstr_len ((const char *) stream.body->data, stream.body->len, "message_stop"));
}

/* ------------------------------------------------------------------------ */
/* Script, recording and other routes                                       */

static void
test_script_and_record (void)
{
  g_autoptr(UsFakeProvider) fake = us_fake_provider_new (US_FAKE_FORMAT_ANTHROPIC);
  g_autoptr(GError) error = NULL;
  const char * const headers[] = { "x-api-key", "sk-test", "anthropic-beta", "oauth-2025-04-20,foo", NULL };
  const guint expected[] = { 429, 500, 200, 401, 401 };
  const UsFakeRequest *req;

  g_assert_true (us_fake_provider_push_spec (fake, "429:5, 500,ok", &error));
  g_assert_no_error (error);
  g_assert_false (us_fake_provider_push_spec (fake, "ok,bogus", &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_cmpuint (us_fake_provider_get_n_pending (fake), ==, 3);
  g_assert_true (us_fake_provider_set_default_spec (fake, "401", &error));

  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      g_auto(Result) r;

      fetch_full (fake, "POST", "/v1/messages?beta=true", simple_body (US_FAKE_FORMAT_ANTHROPIC, FALSE),
                  headers, 10, &r);
      g_assert_cmpuint (r.status, ==, expected[i]);
    }
  g_assert_cmpuint (us_fake_provider_get_n_pending (fake), ==, 0);
  g_assert_cmpuint (us_fake_provider_get_n_requests (fake), ==, 5);
  req = us_fake_provider_get_request (fake, 0);
  g_assert_cmpstr (req->method, ==, "POST");
  g_assert_cmpstr (req->path, ==, "/v1/messages?beta=true");
  g_assert_cmpstr (us_fake_request_get_header (req, "x-api-key"), ==, "sk-test");
  g_assert_cmpstr (us_fake_request_get_header (req, "anthropic-beta"), ==, "oauth-2025-04-20,foo");
  g_assert_cmpstr (us_fake_request_get_model (req), ==, "claude-test");
  g_assert_false (us_fake_request_get_stream (req));
  g_assert_true (req->scripted);
  g_assert_cmpint (req->behavior, ==, US_FAKE_STATUS);
  g_assert_cmpuint (g_bytes_get_size (req->body), ==, strlen (simple_body (US_FAKE_FORMAT_ANTHROPIC, FALSE)));
  g_assert_true (us_fake_provider_get_last_request (fake) == us_fake_provider_get_request (fake, 4));
  us_fake_provider_clear_requests (fake);
  g_assert_null (us_fake_provider_get_last_request (fake));
}

static void
test_other_routes (void)
{
  g_autoptr(UsFakeProvider) anthropic = us_fake_provider_new (US_FAKE_FORMAT_ANTHROPIC);
  g_autoptr(UsFakeProvider) chat = us_fake_provider_new (US_FAKE_FORMAT_OPENAI_CHAT);
  const char * const models[] = { "m-one", "m-two", NULL };

  us_fake_provider_push_status (anthropic, 500, NULL);
  {
    g_auto(Result) r;
    g_autoptr(JsonObject) o = NULL;

    /* count_tokens and models never consume the script. */
    post (anthropic, "/v1/messages/count_tokens", simple_body (US_FAKE_FORMAT_ANTHROPIC, FALSE), &r);
    g_assert_cmpuint (r.status, ==, 200);
    o = body_json (&r);
    g_assert_cmpint (json_object_get_int_member (o, "input_tokens"), >, 0);
  }
  {
    g_auto(Result) r;
    g_autoptr(JsonObject) o = NULL;

    fetch_full (anthropic, "GET", "/v1/models", NULL, NULL, 10, &r);
    o = body_json (&r);
    g_assert_cmpstr (jstr (o, "data.0.type"), ==, "model");
    g_assert_false (json_object_get_boolean_member (o, "has_more"));
  }
  g_assert_cmpuint (us_fake_provider_get_n_pending (anthropic), ==, 1);
  {
    g_auto(Result) r;
    g_autoptr(JsonObject) o = NULL;

    us_fake_provider_set_models (chat, models);
    fetch_full (chat, "GET", "/v1/models", NULL, NULL, 10, &r);
    o = body_json (&r);
    g_assert_cmpstr (jstr (o, "object"), ==, "list");
    g_assert_cmpstr (jstr (o, "data.1.id"), ==, "m-two");
  }
  {
    g_auto(Result) r;
    g_autoptr(JsonObject) o = NULL;

    /* A chat fake does not speak Anthropic. */
    post (chat, "/v1/messages", simple_body (US_FAKE_FORMAT_ANTHROPIC, FALSE), &r);
    g_assert_cmpuint (r.status, ==, 404);
    o = body_json (&r);
    g_assert_cmpstr (jstr (o, "error.type"), ==, "invalid_request_error");
    g_assert_null (jstr (o, "error.code"));
  }
  {
    g_auto(Result) r;

    post (chat, "/v1/chat/completions", "{not json", &r);
    g_assert_cmpuint (r.status, ==, 400);
  }
}

static void
test_required_key (void)
{
  g_autoptr(UsFakeProvider) fake = us_fake_provider_new (US_FAKE_FORMAT_OPENAI_RESPONSES);
  const char * const good[] = { "Authorization", "Bearer sk-right", NULL };
  const char * const bad[] = { "Authorization", "Bearer sk-wrong", NULL };
  g_auto(Result) r1;
  g_auto(Result) r2;

  us_fake_provider_set_required_key (fake, "sk-right");
  fetch_full (fake, "POST", "/v1/responses", simple_body (US_FAKE_FORMAT_OPENAI_RESPONSES, FALSE), bad, 10, &r1);
  g_assert_cmpuint (r1.status, ==, 401);
  fetch_full (fake, "POST", "/v1/responses", simple_body (US_FAKE_FORMAT_OPENAI_RESPONSES, FALSE), good, 10, &r2);
  g_assert_cmpuint (r2.status, ==, 200);
}

static void
test_log_file (void)
{
  g_autoptr(UsFakeProvider) fake = us_fake_provider_new (US_FAKE_FORMAT_ANTHROPIC);
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("us-fake-XXXXXX", &error);
  g_autofree char *path = g_build_filename (dir, "log.jsonl", NULL);
  g_autofree char *contents = NULL;
  const char * const headers[] = { "x-api-key", "sk-secret-value", "x-app", "cli", NULL };
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *line;

  g_assert_no_error (error);
  g_assert_true (us_fake_provider_set_log_file (fake, path, &error));
  {
    g_auto(Result) r;

    fetch_full (fake, "POST", "/v1/messages", simple_body (US_FAKE_FORMAT_ANTHROPIC, TRUE), headers, 10, &r);
  }
  g_assert_true (g_file_get_contents (path, &contents, NULL, &error));
  g_assert_null (strstr (contents, "sk-secret-value"));
  g_assert_true (json_parser_load_from_data (parser, contents, -1, &error));
  line = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpstr (jstr (line, "auth"), ==, "x-api-key");
  g_assert_cmpstr (jstr (line, "headers.x-app"), ==, "cli");
  g_assert_cmpstr (jstr (line, "model"), ==, "claude-test");
  g_assert_cmpstr (jstr (line, "behavior"), ==, "ok");
  g_assert_cmpstr (jstr (line, "summary.last_user_text"), ==, "hi");
  g_unlink (path);
  g_rmdir (dir);
}

/* ------------------------------------------------------------------------ */
/* Tool task                                                                */

typedef struct {
  UsFakeFormat format;
  const char  *turn1;
  const char  *turn2;
  const char  *tool;
  const char  *args;
} ToolTaskCase;

static const ToolTaskCase tool_task_cases[] = {
  { US_FAKE_FORMAT_ANTHROPIC,
    "{\"model\":\"m\",\"max_tokens\":9,\"tools\":[{\"name\":\"Bash\",\"input_schema\":{\"properties\":{\"command\":{}}}},"
    "{\"name\":\"Read\",\"input_schema\":{\"properties\":{\"file_path\":{}}}}],"
    "\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"read it\"}]}]}",
    "{\"model\":\"m\",\"max_tokens\":9,\"tools\":[{\"name\":\"Read\",\"input_schema\":{}}],\"messages\":["
    "{\"role\":\"user\",\"content\":\"read it\"},"
    "{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\",\"id\":\"t1\",\"name\":\"Read\",\"input\":{}}]},"
    "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"t1\",\"content\":\"  secret-word-1\\n\"}]}]}",
    "Read", "{\"file_path\":\"/tmp/x y.txt\"}" },
  { US_FAKE_FORMAT_OPENAI_RESPONSES,
    "{\"model\":\"m\",\"tools\":[{\"type\":\"function\",\"name\":\"exec_command\",\"parameters\":{\"properties\":{\"cmd\":{}}}},"
    "{\"type\":\"web_search\"}],\"input\":[{\"type\":\"message\",\"role\":\"user\",\"content\":[{\"type\":\"input_text\",\"text\":\"go\"}]}]}",
    "{\"model\":\"m\",\"input\":[{\"type\":\"message\",\"role\":\"user\",\"content\":[{\"type\":\"input_text\",\"text\":\"go\"}]},"
    "{\"type\":\"function_call\",\"name\":\"exec_command\",\"arguments\":\"{}\",\"call_id\":\"c1\"},"
    "{\"type\":\"function_call_output\",\"call_id\":\"c1\",\"output\":\"secret-word-1\\n\"}]}",
    "exec_command", "{\"cmd\":\"cat '/tmp/x y.txt'\"}" },
  { US_FAKE_FORMAT_OPENAI_CHAT,
    "{\"model\":\"m\",\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"bash\",\"parameters\":{\"properties\":{\"command\":{}}}}},"
    "{\"type\":\"function\",\"function\":{\"name\":\"read\",\"parameters\":{\"properties\":{\"filePath\":{}}}}}],"
    "\"messages\":[{\"role\":\"user\",\"content\":\"go\"}]}",
    /* A tool result followed by more of the user's turn still counts. */
    "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"go\"},"
    "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"c1\",\"type\":\"function\",\"function\":{\"name\":\"read\",\"arguments\":\"{}\"}}]},"
    "{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":[{\"type\":\"text\",\"text\":\"secret-word-1\"}]},"
    "{\"role\":\"user\",\"content\":\"reminder\"}]}",
    "read", "{\"filePath\":\"/tmp/x y.txt\"}" },
};

static void
assert_tool_call (UsFakeFormat  format,
                  JsonObject   *o,
                  const char   *tool,
                  const char   *args)
{
  if (format == US_FAKE_FORMAT_ANTHROPIC)
    {
      g_autoptr(JsonNode) input = json_node_copy (json_object_get_member (json_array_get_object_element (
        json_object_get_array_member (o, "content"), 0), "input"));
      g_autofree char *input_s = json_to_string (input, FALSE);

      g_assert_cmpstr (jstr (o, "content.0.type"), ==, "tool_use");
      g_assert_cmpstr (jstr (o, "content.0.name"), ==, tool);
      g_assert_cmpstr (input_s, ==, args);
    }
  else if (format == US_FAKE_FORMAT_OPENAI_CHAT)
    {
      g_assert_cmpstr (jstr (o, "choices.0.message.tool_calls.0.function.name"), ==, tool);
      g_assert_cmpstr (jstr (o, "choices.0.message.tool_calls.0.function.arguments"), ==, args);
    }
  else
    {
      g_assert_cmpstr (jstr (o, "output.0.type"), ==, "function_call");
      g_assert_cmpstr (jstr (o, "output.0.name"), ==, tool);
      g_assert_cmpstr (jstr (o, "output.0.arguments"), ==, args);
    }
}

static const char *
answer_text (UsFakeFormat  format,
             JsonObject   *o)
{
  return jstr (o, format == US_FAKE_FORMAT_ANTHROPIC ? "content.0.text"
                  : format == US_FAKE_FORMAT_OPENAI_CHAT ? "choices.0.message.content"
                  : "output.0.content.0.text");
}

static void
test_tool_task (gconstpointer data)
{
  const ToolTaskCase *c = data;
  g_autoptr(UsFakeProvider) fake = us_fake_provider_new (c->format);
  g_auto(Result) r1;
  g_auto(Result) r2;
  g_autoptr(JsonObject) o1 = NULL;
  g_autoptr(JsonObject) o2 = NULL;
  g_autoptr(GError) error = NULL;

  us_fake_provider_set_tool_task_path (fake, "/tmp/x y.txt");
  g_assert_true (us_fake_provider_set_default_spec (fake, "tool-task", &error));
  post (fake, route (fake), c->turn1, &r1);
  g_assert_cmpuint (r1.status, ==, 200);
  o1 = body_json (&r1);
  assert_tool_call (c->format, o1, c->tool, c->args);

  post (fake, route (fake), c->turn2, &r2);
  g_assert_cmpuint (r2.status, ==, 200);
  o2 = body_json (&r2);
  g_assert_cmpstr (answer_text (c->format, o2), ==, "The file says: secret-word-1");
}

/* The real clients' captured turns (shared/captures, when present). */
static JsonObject *
load_capture (const char *dir,
              const char *name)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  JsonObject *body;

  json_parser_load_from_file (parser, path, &error);
  g_assert_no_error (error);
  body = json_object_get_object_member (json_node_get_object (json_parser_get_root (parser)), "body");
  /* Whole answers are simpler to assert; streaming is covered above. */
  json_object_set_boolean_member (body, "stream", FALSE);
  return json_object_ref (body);
}

static void
test_tool_task_captures (void)
{
  const char *dir = g_getenv ("US_CAPTURES_DIR");
  const struct {
    UsFakeFormat format;
    const char  *turn1, *turn2;
    const char  *tool, *args;
  } cases[] = {
    { US_FAKE_FORMAT_ANTHROPIC, "claude-code-turn1-request.json", "claude-code-turn2-request.json",
      "Read", "{\"file_path\":\"/home/user/project/notes.txt\"}" },
    { US_FAKE_FORMAT_OPENAI_RESPONSES, "codex-turn1-request.json", "codex-turn2-request.json",
      "exec_command", "{\"cmd\":\"cat /home/user/project/notes.txt\"}" },
    { US_FAKE_FORMAT_OPENAI_CHAT, "opencode-turn2-request.json", "opencode-turn3-request.json",
      "read", "{\"filePath\":\"/home/user/project/notes.txt\"}" },
    { US_FAKE_FORMAT_OPENAI_CHAT, "opencode-title-request.json", NULL, NULL, NULL },
  };

  if (dir == NULL || !g_file_test (dir, G_FILE_TEST_IS_DIR))
    {
      g_test_skip ("US_CAPTURES_DIR not set or missing");
      return;
    }
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(UsFakeProvider) fake = us_fake_provider_new (cases[i].format);
      g_autoptr(JsonObject) turn1 = load_capture (dir, cases[i].turn1);
      g_autofree char *body1 = NULL;
      g_auto(Result) r1;
      g_autoptr(JsonObject) o1 = NULL;

      us_fake_provider_set_default (fake, &(UsFakeStep) { .behavior = US_FAKE_TOOL_TASK });
      us_fake_provider_set_tool_task_path (fake, "/home/user/project/notes.txt");
      us_fake_provider_set_text (fake, "A title");
      {
        g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), turn1);

        body1 = json_to_string (node, FALSE);
      }
      post (fake, route (fake), body1, &r1);
      g_assert_cmpuint (r1.status, ==, 200);
      o1 = body_json (&r1);
      if (cases[i].turn2 == NULL)
        {
          /* No tools on offer: a plain answer. */
          g_assert_cmpstr (answer_text (cases[i].format, o1), ==, "A title");
          continue;
        }
      assert_tool_call (cases[i].format, o1, cases[i].tool, cases[i].args);

      {
        g_autoptr(JsonObject) turn2 = load_capture (dir, cases[i].turn2);
        g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), turn2);
        g_autofree char *body2 = json_to_string (node, FALSE);
        g_auto(Result) r2;
        g_autoptr(JsonObject) o2 = NULL;

        post (fake, route (fake), body2, &r2);
        o2 = body_json (&r2);
        g_assert_true (g_str_has_prefix (answer_text (cases[i].format, o2), "The file says: "));
        g_assert_nonnull (strstr (answer_text (cases[i].format, o2), "secret-word-28234"));
      }
    }
}

/* ------------------------------------------------------------------------ */

static void
add_per_format (const char     *name,
                GTestDataFunc   func)
{
  for (UsFakeFormat f = US_FAKE_FORMAT_ANTHROPIC; f <= US_FAKE_FORMAT_OPENAI_RESPONSES; f++)
    {
      g_autofree char *path = g_strdup_printf ("/fake/%s/%s", us_fake_format_to_string (f), name);

      g_test_add_data_func (path, GINT_TO_POINTER (f), func);
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  add_per_format ("stream-ok", test_stream_ok);
  add_per_format ("whole-ok", test_whole_ok);
  add_per_format ("tool-calls", test_tool_calls);
  add_per_format ("status", test_status);
  add_per_format ("error-before-content", test_error_before_content);
  for (UsFakeFormat f = US_FAKE_FORMAT_ANTHROPIC; f <= US_FAKE_FORMAT_OPENAI_RESPONSES; f++)
    for (int style = 0; style < 2; style++)
      {
        g_autofree char *path = g_strdup_printf ("/fake/%s/reset-mid-stream/%s", us_fake_format_to_string (f),
                                                 style == US_FAKE_RESET_RST ? "rst" : "fin");

        g_test_add_data_func (path, GINT_TO_POINTER ((f << 1) | style), test_reset_mid_stream);
      }
  for (guint i = 0; i < G_N_ELEMENTS (tool_task_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/fake/%s/tool-task",
                                               us_fake_format_to_string (tool_task_cases[i].format));

      g_test_add_data_func (path, &tool_task_cases[i], test_tool_task);
    }
  g_test_add_data_func ("/fake/reset-before-first-byte/rst", GINT_TO_POINTER (US_FAKE_RESET_RST),
                        test_reset_before_first_byte);
  g_test_add_data_func ("/fake/reset-before-first-byte/fin", GINT_TO_POINTER (US_FAKE_RESET_FIN),
                        test_reset_before_first_byte);
  g_test_add_func ("/fake/reset-mid-whole", test_reset_mid_whole);
  g_test_add_func ("/fake/silence/before-headers", test_silence_before_headers);
  g_test_add_data_func ("/fake/silence/after-headers/stream", GINT_TO_POINTER (TRUE), test_silence_after_headers);
  g_test_add_data_func ("/fake/silence/after-headers/whole", GINT_TO_POINTER (FALSE), test_silence_after_headers);
  g_test_add_func ("/fake/delay", test_delay);
  g_test_add_func ("/fake/dispose-while-busy", test_dispose_while_busy);
  g_test_add_func ("/fake/chunking", test_chunking);
  g_test_add_func ("/fake/chunking-bytes", test_chunking_bytes);
  g_test_add_func ("/fake/malformed", test_malformed);
  g_test_add_func ("/fake/error-overrides", test_error_overrides);
  g_test_add_func ("/fake/script-and-record", test_script_and_record);
  g_test_add_func ("/fake/other-routes", test_other_routes);
  g_test_add_func ("/fake/required-key", test_required_key);
  g_test_add_func ("/fake/log-file", test_log_file);
  g_test_add_func ("/fake/tool-task-captures", test_tool_task_captures);

  return g_test_run ();
}
