/* test-continuity.c: multi-turn conversations that cross providers, through
 * the real proxy, against fakes that check signed content as the real APIs
 * do (a 400 for thinking or encrypted reasoning they did not sign, and for
 * a tool-loop continuation without their own thinking first). Every turn
 * must answer, served by the model the rules say.
 */
#include <glib/gstdio.h>
#include <libsoup/soup.h>

#include "us-fake-provider.h"
#include "us-fake-signing.h"
#include "us-proxy.h"
#include "test-util.h"

#define PRIMARY "primary/claude-test"
#define FALLBACK "fallback/fallback-model"

typedef struct {
  UsFakeProvider *primary;
  UsFakeProvider *fallback;
  UsFakeProvider *chat;
  UsProxy *proxy;
  TestClient *client;
  char *state_dir;
  char *config;
  JsonArray *messages;      /* the conversation so far (Anthropic or Responses items) */
  gboolean responses;
} Fixture;

static void
start_proxy (Fixture *f)
{
  f->proxy = test_proxy_new (f->config);
  f->client = test_client_new (f->proxy);
}

static void
stop_proxy (Fixture *f)
{
  g_clear_pointer (&f->client, test_client_free);
  g_clear_object (&f->proxy);
}

static void
set_up (Fixture     *f,
        UsFakeFormat format,
        UsFakeFormat fallback_format)
{
  const char *kind = format == US_FAKE_FORMAT_ANTHROPIC ? "anthropic" : "openai-responses";
  const char *v1 = format == US_FAKE_FORMAT_ANTHROPIC ? "" : "/v1";
  const char *fallback_kind = fallback_format == US_FAKE_FORMAT_ANTHROPIC ? "anthropic" : "openai-responses";
  const char *fallback_v1 = fallback_format == US_FAKE_FORMAT_ANTHROPIC ? "" : "/v1";

  f->state_dir = g_dir_make_tmp ("us-continuity-XXXXXX", NULL);
  g_assert_nonnull (f->state_dir);
  g_setenv ("XDG_STATE_HOME", f->state_dir, TRUE);
  g_setenv ("US_TEST_FALLBACK_KEY", TEST_FALLBACK_KEY, TRUE);
  g_setenv ("US_TEST_CHAT_KEY", "sk-chat", TRUE);

  f->responses = format == US_FAKE_FORMAT_OPENAI_RESPONSES;
  f->primary = us_fake_provider_new (format);
  f->fallback = us_fake_provider_new (fallback_format);
  f->chat = us_fake_provider_new (US_FAKE_FORMAT_OPENAI_CHAT);
  us_fake_provider_set_text (f->primary, "primary says hi");
  us_fake_provider_set_text (f->fallback, "fallback says hi");
  us_fake_provider_set_signing_key (f->primary, "primary-secret");
  us_fake_provider_set_signing_key (f->fallback, "fallback-secret");
  us_fake_provider_set_chunking (f->primary, US_FAKE_CHUNKS_PER_EVENT, 0);
  us_fake_provider_set_chunking (f->fallback, US_FAKE_CHUNKS_PER_EVENT, 0);

  /* 500s mark a model without cooling it down: the next request finds the
   * primary back, as after a short outage. */
  f->config = g_strdup_printf (
    "{ \"version\": 1,"
    "  \"listen\": { \"host\": \"127.0.0.1\", \"port\": 0, \"token\": \"" TEST_TOKEN "\" },"
    "  \"providers\": ["
    "    { \"id\": \"primary\", \"kind\": \"%s\", \"base_url\": \"%s%s\", \"auth\": \"passthrough\" },"
    "    { \"id\": \"fallback\", \"kind\": \"%s\", \"base_url\": \"%s%s\", \"auth\": \"key\", \"key_env\": \"US_TEST_FALLBACK_KEY\" },"
    "    { \"id\": \"chat\", \"kind\": \"openai-chat\", \"base_url\": \"%s/v1\", \"auth\": \"key\", \"key_env\": \"US_TEST_CHAT_KEY\" } ],"
    "  \"chains\": ["
    "    { \"id\": \"chat\", \"match\": [\"chat-*\"], \"models\": [ { \"provider\": \"chat\", \"model\": \"gpt-fake\" } ] },"
    "    { \"id\": \"default\", \"match\": [\"*\"], \"models\": ["
    "      { \"provider\": \"primary\", \"model\": \"*\" },"
    "      { \"provider\": \"fallback\", \"model\": \"fallback-model\" } ] } ],"
    "  \"failover\": { \"first_byte_timeout_s\": 2, \"idle_timeout_s\": 2, \"cooldown_s\": 30 } }",
    kind, us_fake_provider_get_base_url (f->primary), v1,
    fallback_kind, us_fake_provider_get_base_url (f->fallback), fallback_v1,
    us_fake_provider_get_base_url (f->chat));
  f->messages = json_array_new ();
  start_proxy (f);
}

static void
set_up_anthropic (Fixture       *f,
                  gconstpointer  data)
{
  set_up (f, US_FAKE_FORMAT_ANTHROPIC, US_FAKE_FORMAT_ANTHROPIC);
}

static void
set_up_responses (Fixture       *f,
                  gconstpointer  data)
{
  set_up (f, US_FAKE_FORMAT_OPENAI_RESPONSES, US_FAKE_FORMAT_OPENAI_RESPONSES);
}

/* Codex with a Responses primary and an Anthropic fallback. */
static void
set_up_mixed (Fixture       *f,
              gconstpointer  data)
{
  set_up (f, US_FAKE_FORMAT_OPENAI_RESPONSES, US_FAKE_FORMAT_ANTHROPIC);
}


static void
tear_down (Fixture       *f,
           gconstpointer  data)
{
  stop_proxy (f);
  g_clear_object (&f->primary);
  g_clear_object (&f->fallback);
  g_clear_object (&f->chat);
  g_clear_pointer (&f->messages, json_array_unref);
  test_remove_tree (f->state_dir);
  g_free (f->state_dir);
  g_free (f->config);
  g_unsetenv ("XDG_STATE_HOME");
}

/* ---- Building the conversation ----------------------------------------- */

static JsonObject *
parse_object (const char *text)
{
  g_autoptr(JsonNode) node = json_from_string (text, NULL);

  g_assert_nonnull (node);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (node));
  return json_object_ref (json_node_get_object (node));
}

static void
add_user_text (Fixture    *f,
               const char *text)
{
  JsonObject *msg = json_object_new ();

  if (f->responses)
    json_object_set_string_member (msg, "type", "message");
  json_object_set_string_member (msg, "role", "user");
  json_object_set_string_member (msg, "content", text);
  json_array_add_object_element (f->messages, msg);
}

/* The tool results for every call of the last assistant turn. */
static void
add_tool_results (Fixture *f)
{
  JsonObject *msg = json_object_new ();
  JsonArray *content = json_array_new ();
  guint n = json_array_get_length (f->messages);

  for (guint i = 0; i < n; i++)
    {
      JsonObject *item = json_array_get_object_element (f->messages, i);

      if (f->responses)
        {
          if (g_strcmp0 (json_object_get_string_member_with_default (item, "type", ""), "function_call") == 0
              && i + 1 == n)
            {
              JsonObject *out = json_object_new ();

              json_object_set_string_member (out, "type", "function_call_output");
              json_object_set_string_member (out, "call_id", json_object_get_string_member (item, "call_id"));
              json_object_set_string_member (out, "output", "the file contents");
              json_array_add_object_element (f->messages, out);
            }
          continue;
        }
      if (i + 1 != n)
        continue;
      for (guint j = 0; j < json_array_get_length (json_object_get_array_member (item, "content")); j++)
        {
          JsonObject *block = json_array_get_object_element (json_object_get_array_member (item, "content"), j);
          JsonObject *result;

          if (g_strcmp0 (json_object_get_string_member (block, "type"), "tool_use") != 0)
            continue;
          result = json_object_new ();
          json_object_set_string_member (result, "type", "tool_result");
          json_object_set_string_member (result, "tool_use_id", json_object_get_string_member (block, "id"));
          json_object_set_string_member (result, "content", "the file contents");
          json_array_add_object_element (content, result);
        }
    }
  if (f->responses)
    {
      json_array_unref (content);
      json_object_unref (msg);
      return;
    }
  g_assert_cmpuint (json_array_get_length (content), >, 0);
  json_object_set_string_member (msg, "role", "user");
  json_object_set_array_member (msg, "content", content);
  json_array_add_object_element (f->messages, msg);
}

static char *
request_body (Fixture    *f,
              const char *model,
              gboolean    stream)
{
  g_autoptr(JsonObject) body = json_object_new ();
  g_autoptr(JsonNode) node = NULL;
  JsonObject *tool = json_object_new ();
  JsonArray *tools = json_array_new ();

  json_object_set_string_member (body, "model", model);
  json_object_set_boolean_member (body, "stream", stream);
  if (f->responses)
    {
      JsonArray *include = json_array_new ();

      json_array_add_string_element (include, "reasoning.encrypted_content");
      json_object_set_array_member (body, "include", include);
      json_object_set_boolean_member (body, "store", FALSE);
      /* What makes an Anthropic fallback think for Codex. */
      json_object_set_object_member (body, "reasoning", parse_object ("{\"effort\":\"medium\"}"));
      json_object_set_string_member (tool, "type", "function");
      json_object_set_string_member (tool, "name", "read_file");
      json_object_set_object_member (tool, "parameters", parse_object ("{\"type\":\"object\",\"properties\":{\"path\":{\"type\":\"string\"}}}"));
      json_object_set_array_member (body, "input", json_array_ref (f->messages));
    }
  else
    {
      json_object_set_int_member (body, "max_tokens", 4096);
      json_object_set_object_member (body, "thinking", parse_object ("{\"type\":\"adaptive\"}"));
      json_object_set_object_member (body, "context_management",
                                     parse_object ("{\"edits\":[{\"type\":\"clear_thinking_20251015\",\"keep\":\"all\"}]}"));
      json_object_set_string_member (tool, "name", "Read");
      json_object_set_object_member (tool, "input_schema", parse_object ("{\"type\":\"object\",\"properties\":{\"file_path\":{\"type\":\"string\"}}}"));
      json_object_set_array_member (body, "messages", json_array_ref (f->messages));
    }
  json_array_add_object_element (tools, tool);
  json_object_set_array_member (body, "tools", tools);
  node = json_node_init_object (json_node_alloc (), body);
  return json_to_string (node, FALSE);
}

/* The assistant message an Anthropic client rebuilds from a stream. */
static JsonObject *
anthropic_from_stream (const char *sse)
{
  g_auto(GStrv) lines = g_strsplit (sse, "\n", -1);
  JsonObject *msg = json_object_new ();
  JsonArray *content = json_array_new ();
  g_autoptr(GString) json = g_string_new (NULL);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_autoptr(JsonObject) ev = NULL;
      const char *type;
      JsonObject *block;

      if (!g_str_has_prefix (lines[i], "data: "))
        continue;
      ev = parse_object (lines[i] + 6);
      type = json_object_get_string_member (ev, "type");
      if (g_str_equal (type, "content_block_start"))
        {
          json_array_add_object_element (content, json_object_ref (json_object_get_object_member (ev, "content_block")));
          g_string_truncate (json, 0);
        }
      else if (g_str_equal (type, "content_block_delta"))
        {
          JsonObject *delta = json_object_get_object_member (ev, "delta");
          const char *dtype = json_object_get_string_member (delta, "type");
          const char *field = g_str_equal (dtype, "text_delta") ? "text"
                              : g_str_equal (dtype, "thinking_delta") ? "thinking" : NULL;

          block = json_array_get_object_element (content, json_array_get_length (content) - 1);
          if (field != NULL)
            {
              g_autofree char *joined = g_strconcat (json_object_get_string_member (block, field),
                                                     json_object_get_string_member (delta, field), NULL);

              json_object_set_string_member (block, field, joined);
            }
          else if (g_str_equal (dtype, "signature_delta"))
            json_object_set_string_member (block, "signature", json_object_get_string_member (delta, "signature"));
          else if (g_str_equal (dtype, "input_json_delta"))
            g_string_append (json, json_object_get_string_member (delta, "partial_json"));
        }
      else if (g_str_equal (type, "content_block_stop"))
        {
          block = json_array_get_object_element (content, json_array_get_length (content) - 1);
          if (g_str_equal (json_object_get_string_member (block, "type"), "tool_use"))
            json_object_set_object_member (block, "input", parse_object (json->len ? json->str : "{}"));
        }
    }
  json_object_set_string_member (msg, "role", "assistant");
  json_object_set_array_member (msg, "content", content);
  return msg;
}

/* The output items of a Responses answer, whole or streamed. */
static JsonArray *
responses_output (const char *body,
                  gboolean    stream)
{
  g_autoptr(JsonObject) response = NULL;

  if (!stream)
    response = parse_object (body);
  else
    {
      const char *done = strstr (body, "data: {\"type\":\"response.completed\"");
      g_autofree char *line = NULL;
      g_autoptr(JsonObject) ev = NULL;

      g_assert_nonnull (done);
      line = g_strndup (done + 6, strcspn (done + 6, "\n"));
      ev = parse_object (line);
      response = json_object_ref (json_object_get_object_member (ev, "response"));
    }
  return json_array_ref (json_object_get_array_member (response, "output"));
}

/* Sends the conversation, checks the answer and who served it, and adds
 * the answer to the conversation. */
static void
turn (Fixture    *f,
      gboolean    stream,
      const char *expect_served,
      const char * const *headers)
{
  g_autofree char *body = request_body (f, "claude-test", stream);
  g_autoptr(TestReply) reply = test_post (f->client, f->responses ? "/v1/responses" : "/v1/messages", body, headers);
  gboolean answered = FALSE;

  if (reply->status != 200)
    g_error ("turn %u: HTTP %u: %s", json_array_get_length (f->messages), reply->status, reply->body);
  g_assert_cmpstr (soup_message_headers_get_one (reply->headers, "x-understudy-model"), ==, expect_served);

  if (f->responses)
    {
      g_autoptr(JsonArray) output = responses_output (reply->body, stream);

      for (guint i = 0; i < json_array_get_length (output); i++)
        {
          JsonObject *item = json_array_get_object_element (output, i);
          const char *type = json_object_get_string_member (item, "type");

          answered |= g_str_equal (type, "message") || g_str_equal (type, "function_call");
          /* Codex sends its items back without status. */
          if (json_object_has_member (item, "status"))
            json_object_remove_member (item, "status");
          json_array_add_object_element (f->messages, json_object_ref (item));
        }
    }
  else
    {
      g_autoptr(JsonObject) whole = stream ? NULL : parse_object (reply->body);
      JsonObject *msg = stream ? anthropic_from_stream (reply->body) : json_object_new ();
      JsonArray *content;

      if (!stream)
        {
          json_object_set_string_member (msg, "role", "assistant");
          json_object_set_array_member (msg, "content", json_array_ref (json_object_get_array_member (whole, "content")));
        }
      content = json_object_get_array_member (msg, "content");
      for (guint i = 0; i < json_array_get_length (content); i++)
        {
          const char *type = json_object_get_string_member (json_array_get_object_element (content, i), "type");

          answered |= g_str_equal (type, "text") || g_str_equal (type, "tool_use");
        }
      json_array_add_object_element (f->messages, msg);
    }
  g_assert_true (answered);
}

/* ---- What the providers received --------------------------------------- */

static JsonObject *
last_body (UsFakeProvider *fake)
{
  const UsFakeRequest *req = us_fake_provider_get_last_request (fake);

  g_assert_nonnull (req);
  g_assert_nonnull (req->json);
  return json_node_get_object (req->json);
}

/* Signed blocks (thinking signatures / encrypted reasoning) in a body. */
static GPtrArray *
signed_in (JsonObject *body,
           gboolean    responses)
{
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);
  JsonArray *list = json_object_get_array_member (body, responses ? "input" : "messages");

  for (guint i = 0; i < json_array_get_length (list); i++)
    {
      JsonObject *item = json_array_get_object_element (list, i);

      if (responses)
        {
          if (json_object_has_member (item, "encrypted_content"))
            g_ptr_array_add (out, g_strdup (json_object_get_string_member (item, "encrypted_content")));
          continue;
        }
      if (!JSON_NODE_HOLDS_ARRAY (json_object_get_member (item, "content")))
        continue;
      for (guint j = 0; j < json_array_get_length (json_object_get_array_member (item, "content")); j++)
        {
          JsonObject *block = json_array_get_object_element (json_object_get_array_member (item, "content"), j);

          if (g_str_equal (json_object_get_string_member (block, "type"), "thinking"))
            g_ptr_array_add (out, g_strdup (json_object_get_string_member (block, "signature")));
        }
    }
  return out;
}

/* The signature or encrypted content the answer at conversation index
 * @i carried (its first signed block). */
static const char *
signature_at (Fixture *f,
              guint    i)
{
  JsonObject *item = json_array_get_object_element (f->messages, i);

  if (f->responses)
    return json_object_get_string_member (item, "encrypted_content");
  return json_object_get_string_member (json_array_get_object_element (json_object_get_array_member (item, "content"), 0),
                                        "signature");
}

static gboolean
carries (GPtrArray  *sigs,
         const char *sig)
{
  for (guint i = 0; i < sigs->len; i++)
    if (g_strcmp0 (g_ptr_array_index (sigs, i), sig) == 0)
      return TRUE;
  return FALSE;
}

/* The Responses answer of one turn is several items; its reasoning item's
 * index in the conversation. */
static guint
last_signed_index (Fixture *f)
{
  for (guint i = json_array_get_length (f->messages); i > 0; i--)
    {
      JsonObject *item = json_array_get_object_element (f->messages, i - 1);

      if (f->responses ? json_object_has_member (item, "encrypted_content")
          : g_strcmp0 (json_object_get_string_member_with_default (item, "role", ""), "assistant") == 0)
        return i - 1;
    }
  g_assert_not_reached ();
}

/* The request log's note on the attempt that served the last request. */
static char *
served_note (Fixture *f)
{
  g_autoptr(JsonNode) status = us_proxy_status_to_json (f->proxy);
  JsonArray *requests = json_object_get_array_member (json_node_get_object (status), "requests");
  JsonArray *attempts = json_object_get_array_member (json_array_get_object_element (requests, 0), "attempts");
  JsonObject *last = json_array_get_object_element (attempts, json_array_get_length (attempts) - 1);

  return g_strdup (json_object_get_string_member_with_default (last, "note", ""));
}

/* ---- The fakes check like the real APIs -------------------------------- */

static void
test_fakes_refuse (Fixture       *f,
                   gconstpointer  data)
{
  const char *foreign =
    "{\"model\":\"m\",\"max_tokens\":100,\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":1024},"
    "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},"
    "{\"role\":\"assistant\",\"content\":[{\"type\":\"thinking\",\"thinking\":\"x\",\"signature\":\"bogus\"},"
    "{\"type\":\"text\",\"text\":\"hello\"}]},{\"role\":\"user\",\"content\":\"again\"}]}";
  const char *no_thinking =
    "{\"model\":\"m\",\"max_tokens\":100,\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":1024},"
    "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},"
    "{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"Read\",\"input\":{}}]},"
    "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"toolu_1\",\"content\":\"x\"}]}]}";
  g_autoptr(TestReply) a = test_post_direct (f->primary, "/v1/messages", foreign);
  g_autoptr(TestReply) b = test_post_direct (f->primary, "/v1/messages", no_thinking);
  g_autoptr(UsFakeProvider) responses = us_fake_provider_new (US_FAKE_FORMAT_OPENAI_RESPONSES);
  g_autoptr(TestReply) c = NULL;

  g_assert_cmpuint (a->status, ==, 400);
  g_assert_nonnull (strstr (a->body, "Invalid `signature` in `thinking` block"));
  g_assert_cmpuint (b->status, ==, 400);
  g_assert_nonnull (strstr (b->body, "a final `assistant` message must start with a thinking block"));

  us_fake_provider_set_signing_key (responses, "r-secret");
  c = test_post_direct (responses, "/v1/responses",
                        "{\"model\":\"m\",\"input\":[{\"type\":\"reasoning\",\"id\":\"rs_1\",\"summary\":[],"
                        "\"encrypted_content\":\"gAAAAAforeign\"},{\"role\":\"user\",\"content\":\"hi\"}]}");
  g_assert_cmpuint (c->status, ==, 400);
  g_assert_nonnull (strstr (c->body, "invalid_encrypted_content"));
}

/* ---- Scenarios ---------------------------------------------------------- */

/* primary → fallback → primary → fallback: each provider only ever sees
 * its own signed content, the primary's kept byte for byte. */
static void
test_alternating (Fixture       *f,
                  gconstpointer  data)
{
  gboolean stream = GPOINTER_TO_INT (data);
  g_autoptr(GPtrArray) seen = NULL;
  guint a1, a2, a3;

  add_user_text (f, "turn one");
  turn (f, stream, PRIMARY, NULL);
  a1 = last_signed_index (f);

  add_user_text (f, "turn two");
  us_fake_provider_push_status (f->primary, 500, NULL);
  turn (f, stream, FALLBACK, NULL);
  a2 = last_signed_index (f);
  seen = signed_in (last_body (f->fallback), f->responses);
  g_assert_cmpuint (seen->len, ==, 0);
  g_clear_pointer (&seen, g_ptr_array_unref);

  add_user_text (f, "turn three");
  turn (f, stream, PRIMARY, NULL);
  a3 = last_signed_index (f);
  seen = signed_in (last_body (f->primary), f->responses);
  g_assert_cmpuint (seen->len, ==, 1);
  g_assert_true (carries (seen, signature_at (f, a1)));
  g_assert_false (carries (seen, signature_at (f, a2)));
  g_clear_pointer (&seen, g_ptr_array_unref);

  add_user_text (f, "turn four");
  us_fake_provider_push_status (f->primary, 500, NULL);
  turn (f, stream, FALLBACK, NULL);
  seen = signed_in (last_body (f->fallback), f->responses);
  g_assert_cmpuint (seen->len, ==, 1);
  g_assert_true (carries (seen, signature_at (f, a2)));
  g_assert_false (carries (seen, signature_at (f, a3)));

  if (!f->responses)
    {
      /* The primary's own block went back exactly as it made it. */
      JsonArray *sent = json_object_get_array_member (last_body (f->primary), "messages");
      JsonNode *mine = json_array_get_element (json_object_get_array_member (json_array_get_object_element (f->messages, a1),
                                                                             "content"), 0);
      JsonNode *got = json_array_get_element (json_object_get_array_member (json_array_get_object_element (sent, a1),
                                                                            "content"), 0);

      g_assert_true (json_node_equal (mine, got));
    }
}

/* The primary starts a tool loop and fails before the tool result goes
 * out: the fallback takes it without the primary's thinking, with thinking
 * off for that request (it could not sign the turn's first block). */
static void
test_loop_crosses_failover (Fixture       *f,
                            gconstpointer  data)
{
  gboolean stream = GPOINTER_TO_INT (data);
  g_autoptr(GPtrArray) seen = NULL;

  add_user_text (f, "read the file");
  us_fake_provider_push (f->primary, &(UsFakeStep) { .behavior = US_FAKE_OK_TOOL_CALL, .tool_name = "Read",
                                                     .tool_args = "{\"file_path\":\"/tmp/x\"}" });
  turn (f, stream, PRIMARY, NULL);

  add_tool_results (f);
  us_fake_provider_push_status (f->primary, 500, NULL);
  turn (f, stream, FALLBACK, NULL);
  seen = signed_in (last_body (f->fallback), f->responses);
  g_assert_cmpuint (seen->len, ==, 0);
  if (!f->responses)
    {
      g_autofree char *note = served_note (f);

      g_assert_false (json_object_has_member (last_body (f->fallback), "thinking"));
      g_assert_false (json_object_has_member (last_body (f->fallback), "context_management"));
      g_assert_cmpstr (note, ==, "tool loop started by primary/*; signed content: 1 dropped, 0 kept; "
                                 "thinking off (no own thinking block opens the loop)");
    }
  g_clear_pointer (&seen, g_ptr_array_unref);

  /* The next user turn is the primary's again, its own thinking intact. */
  add_user_text (f, "thanks");
  turn (f, stream, PRIMARY, NULL);
  seen = signed_in (last_body (f->primary), f->responses);
  g_assert_cmpuint (seen->len, ==, 1);
  if (!f->responses)
    g_assert_true (json_object_has_member (last_body (f->primary), "thinking"));
}

/* The fallback starts a tool loop while the primary is out; the primary
 * is back before the tool result goes out: the loop stays with the
 * fallback, which gets its own thinking back. The next turn is the
 * primary's, without the fallback's thinking. */
static void
test_loop_crosses_recovery (Fixture       *f,
                            gconstpointer  data)
{
  gboolean stream = GPOINTER_TO_INT (data);
  g_autoptr(GPtrArray) seen = NULL;
  guint primary_requests;

  add_user_text (f, "read the file");
  us_fake_provider_push_status (f->primary, 500, NULL);
  us_fake_provider_push (f->fallback, &(UsFakeStep) { .behavior = US_FAKE_OK_TOOL_CALL, .tool_name = "Read",
                                                      .tool_args = "{\"file_path\":\"/tmp/x\"}" });
  turn (f, stream, FALLBACK, NULL);

  add_tool_results (f);
  primary_requests = us_fake_provider_get_n_requests (f->primary);
  turn (f, stream, FALLBACK, NULL);
  g_assert_cmpuint (us_fake_provider_get_n_requests (f->primary), ==, primary_requests);
  seen = signed_in (last_body (f->fallback), f->responses);
  g_assert_cmpuint (seen->len, ==, 1);
  if (!f->responses)
    g_assert_true (json_object_has_member (last_body (f->fallback), "thinking"));
  g_clear_pointer (&seen, g_ptr_array_unref);

  add_user_text (f, "thanks");
  turn (f, stream, PRIMARY, NULL);
  seen = signed_in (last_body (f->primary), f->responses);
  g_assert_cmpuint (seen->len, ==, 0);
}

/* Across formats: the fallback's thinking reaches Codex wrapped in an
 * encrypted_content; the Responses primary never gets it, the Anthropic
 * fallback gets it back as its own thinking block. */
static void
test_mixed (Fixture       *f,
            gconstpointer  data)
{
  gboolean stream = GPOINTER_TO_INT (data);
  g_autoptr(GPtrArray) seen = NULL;
  const char *a2_sig;
  guint a1, a2, a3;

  add_user_text (f, "turn one");
  turn (f, stream, PRIMARY, NULL);
  a1 = last_signed_index (f);

  add_user_text (f, "turn two");
  us_fake_provider_push_status (f->primary, 500, NULL);
  turn (f, stream, FALLBACK, NULL);
  a2 = last_signed_index (f);
  g_assert_cmpuint (a2, >, a1);
  a2_sig = signature_at (f, a2);
  g_assert_true (g_str_has_prefix (a2_sig, "us1:anthropic:"));

  add_user_text (f, "turn three");
  turn (f, stream, PRIMARY, NULL);
  a3 = last_signed_index (f);
  seen = signed_in (last_body (f->primary), TRUE);
  g_assert_cmpuint (seen->len, ==, 1);
  g_assert_true (carries (seen, signature_at (f, a1)));
  g_clear_pointer (&seen, g_ptr_array_unref);

  add_user_text (f, "turn four");
  us_fake_provider_push_status (f->primary, 500, NULL);
  turn (f, stream, FALLBACK, NULL);
  seen = signed_in (last_body (f->fallback), FALSE);
  g_assert_cmpuint (seen->len, ==, 1);
  g_assert_true (carries (seen, a2_sig + strlen ("us1:anthropic:")));
  g_assert_false (carries (seen, signature_at (f, a3)));
}

/* The loop's starter fails in the middle: the next model finishes it. */
static void
test_loop_starter_fails (Fixture       *f,
                         gconstpointer  data)
{
  gboolean stream = GPOINTER_TO_INT (data);
  g_autoptr(GPtrArray) seen = NULL;

  add_user_text (f, "read the file");
  us_fake_provider_push_status (f->primary, 500, NULL);
  us_fake_provider_push (f->fallback, &(UsFakeStep) { .behavior = US_FAKE_OK_TOOL_CALL, .tool_name = "Read",
                                                      .tool_args = "{\"file_path\":\"/tmp/x\"}" });
  turn (f, stream, FALLBACK, NULL);

  add_tool_results (f);
  us_fake_provider_push_status (f->fallback, 500, NULL);
  turn (f, stream, PRIMARY, NULL);
  seen = signed_in (last_body (f->primary), f->responses);
  g_assert_cmpuint (seen->len, ==, 0);
  if (!f->responses)
    g_assert_false (json_object_has_member (last_body (f->primary), "thinking"));
}

static gboolean
file_has_entries (const char *path,
                  guint       n)
{
  g_autofree char *text = NULL;
  g_autoptr(JsonObject) obj = NULL;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return FALSE;
  obj = parse_object (text);
  return json_array_get_length (json_object_get_array_member (obj, "entries")) >= n;
}

/* What the proxy learnt survives a restart: a tool loop started by the
 * fallback before it still goes back there, and the next turn's primary
 * still does not get the fallback's thinking. */
static void
test_restart (Fixture       *f,
              gconstpointer  data)
{
  g_autofree char *path = g_build_filename (f->state_dir, "understudy", "provenance.json", NULL);
  g_autoptr(GPtrArray) seen = NULL;
  guint primary_requests;
  gint64 deadline;

  add_user_text (f, "read the file");
  us_fake_provider_push_status (f->primary, 500, NULL);
  us_fake_provider_push (f->fallback, &(UsFakeStep) { .behavior = US_FAKE_OK_TOOL_CALL, .tool_name = "Read",
                                                      .tool_args = "{\"file_path\":\"/tmp/x\"}" });
  turn (f, TRUE, FALLBACK, NULL);

  /* Written in the background shortly after: thinking + tool call. */
  deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  while (!file_has_entries (path, 2) && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, FALSE), g_usleep (10000);
  g_assert_true (file_has_entries (path, 2));

  stop_proxy (f);
  start_proxy (f);

  add_tool_results (f);
  primary_requests = us_fake_provider_get_n_requests (f->primary);
  turn (f, TRUE, FALLBACK, NULL);
  g_assert_cmpuint (us_fake_provider_get_n_requests (f->primary), ==, primary_requests);

  add_user_text (f, "thanks");
  turn (f, TRUE, PRIMARY, NULL);
  seen = signed_in (last_body (f->primary), f->responses);
  g_assert_cmpuint (seen->len, ==, 0);
}

/* The primary's own tool-loop turn without thinking (adaptive thinking may
 * skip it; unknown tool ids count as the primary's): the request goes
 * through untouched, thinking on. */
static void
test_own_turn_untouched (Fixture       *f,
                         gconstpointer  data)
{
  const char *body =
    "{\"model\":\"claude-test\",\"max_tokens\":2048,\"thinking\":{\"type\":\"adaptive\"},"
    "\"messages\":[{\"role\":\"user\",\"content\":\"read it\"},"
    "{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\",\"id\":\"toolu_01Unknown\",\"name\":\"Read\",\"input\":{}}]},"
    "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"toolu_01Unknown\",\"content\":\"x\"}]}]}";
  g_autoptr(TestReply) reply = NULL;
  const UsFakeRequest *seen;

  /* A fake that does not insist on thinking, as adaptive thinking allows. */
  us_fake_provider_set_signing_key (f->primary, NULL);
  reply = test_post (f->client, "/v1/messages", body, NULL);
  g_assert_cmpuint (reply->status, ==, 200);
  g_assert_cmpstr (soup_message_headers_get_one (reply->headers, "x-understudy-model"), ==, PRIMARY);
  seen = us_fake_provider_get_last_request (f->primary);
  g_assert_cmpmem (g_bytes_get_data (seen->body, NULL), g_bytes_get_size (seen->body), body, strlen (body));
}

/* Redacted thinking from before Understudy (no known producer) is the
 * primary's: kept for it, dropped for the fallback. */
static void
test_redacted (Fixture       *f,
               gconstpointer  data)
{
  g_autofree char *redacted = us_fake_sign_thinking ("primary-secret", "redacted");
  g_autofree char *body = g_strdup_printf (
    "{\"model\":\"claude-test\",\"max_tokens\":2048,\"thinking\":{\"type\":\"adaptive\"},"
    "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},"
    "{\"role\":\"assistant\",\"content\":[{\"type\":\"redacted_thinking\",\"data\":\"%s\"},{\"type\":\"text\",\"text\":\"hello\"}]},"
    "{\"role\":\"user\",\"content\":\"again\"}]}", redacted);
  g_autoptr(TestReply) first = test_post (f->client, "/v1/messages", body, NULL);
  g_autoptr(TestReply) second = NULL;
  const UsFakeRequest *seen = us_fake_provider_get_last_request (f->primary);

  g_assert_cmpuint (first->status, ==, 200);
  g_assert_cmpstr (soup_message_headers_get_one (first->headers, "x-understudy-model"), ==, PRIMARY);
  g_assert_cmpmem (g_bytes_get_data (seen->body, NULL), g_bytes_get_size (seen->body), body, strlen (body));

  us_fake_provider_push_status (f->primary, 500, NULL);
  second = test_post (f->client, "/v1/messages", body, NULL);
  g_assert_cmpuint (second->status, ==, 200);
  g_assert_cmpstr (soup_message_headers_get_one (second->headers, "x-understudy-model"), ==, FALLBACK);
  seen = us_fake_provider_get_last_request (f->fallback);
  g_assert_null (g_strstr_len (g_bytes_get_data (seen->body, NULL), (gssize) g_bytes_get_size (seen->body),
                               "redacted_thinking"));
}

/* ---- Headers ------------------------------------------------------------ */

static guint
count_header (SoupMessageHeaders *headers,
              const char         *wanted)
{
  SoupMessageHeadersIter iter;
  const char *name, *value;
  guint n = 0;

  soup_message_headers_iter_init (&iter, headers);
  while (soup_message_headers_iter_next (&iter, &name, &value))
    n += g_ascii_strcasecmp (name, wanted) == 0;
  return n;
}

static void
test_headers (Fixture       *f,
              gconstpointer  data)
{
  const char * const client[] = { "authorization", "Bearer sk-ant-oat01-subscription",
                                  "anthropic-beta", "oauth-2025-04-20,claude-code-20250219",
                                  "anthropic-version", "2023-06-01", NULL };
  const char *stream = "{\"model\":\"claude-test\",\"max_tokens\":64,\"stream\":true,"
                       "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
  const char *chat = "{\"model\":\"chat-x\",\"max_tokens\":64,\"stream\":true,"
                     "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
  g_autoptr(TestReply) passthrough = test_post (f->client, "/v1/messages", stream, client);
  g_autoptr(TestReply) whole = NULL;
  g_autoptr(TestReply) failed_over = NULL;
  g_autoptr(TestReply) cross = NULL;
  const UsFakeRequest *seen;

  /* One Server, one Date: the proxy's own; the provider's limits unchanged. */
  g_assert_cmpuint (passthrough->status, ==, 200);
  g_assert_cmpuint (count_header (passthrough->headers, "server"), ==, 1);
  g_assert_cmpuint (count_header (passthrough->headers, "date"), ==, 1);
  g_assert_cmpstr (soup_message_headers_get_one (passthrough->headers, "anthropic-ratelimit-requests-limit"), ==, "4000");
  g_assert_cmpstr (soup_message_headers_get_one (passthrough->headers, "anthropic-ratelimit-tokens-remaining"), ==, "1999000");
  seen = us_fake_provider_get_last_request (f->primary);
  g_assert_cmpstr (us_fake_request_get_header (seen, "anthropic-beta"), ==, "oauth-2025-04-20,claude-code-20250219");
  g_assert_cmpstr (us_fake_request_get_header (seen, "authorization"), ==, "Bearer sk-ant-oat01-subscription");

  whole = test_post (f->client, "/v1/messages", "{\"model\":\"claude-test\",\"max_tokens\":64,"
                     "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", client);
  g_assert_cmpuint (count_header (whole->headers, "server"), ==, 1);
  g_assert_cmpuint (count_header (whole->headers, "date"), ==, 1);

  /* Subscription-only values stay behind when an API key takes over. */
  us_fake_provider_push_status (f->primary, 500, NULL);
  failed_over = test_post (f->client, "/v1/messages", stream, client);
  g_assert_cmpuint (failed_over->status, ==, 200);
  g_assert_cmpstr (soup_message_headers_get_one (failed_over->headers, "x-understudy-model"), ==, FALLBACK);
  seen = us_fake_provider_get_last_request (f->fallback);
  g_assert_cmpstr (us_fake_request_get_header (seen, "anthropic-beta"), ==, "claude-code-20250219");
  g_assert_null (us_fake_request_get_header (seen, "authorization"));
  g_assert_cmpstr (us_fake_request_get_header (seen, "x-api-key"), ==, TEST_FALLBACK_KEY);

  /* Another format: its rate limits reach the client, its other headers do not. */
  cross = test_post (f->client, "/v1/messages", chat, NULL);
  g_assert_cmpuint (cross->status, ==, 200);
  g_assert_cmpstr (soup_message_headers_get_one (cross->headers, "x-understudy-model"), ==, "chat/gpt-fake");
  g_assert_cmpstr (soup_message_headers_get_one (cross->headers, "x-ratelimit-limit-requests"), ==, "10000");
  g_assert_null (soup_message_headers_get_one (cross->headers, "openai-organization"));
  g_assert_cmpuint (count_header (cross->headers, "server"), ==, 1);
}

/* A rate-limited answer passed back keeps its retry-after. */
static void
test_headers_error (Fixture       *f,
                    gconstpointer  data)
{
  const char *body = "{\"model\":\"claude-test\",\"max_tokens\":64,"
                     "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
  g_autoptr(TestReply) reply = NULL;

  us_fake_provider_push_status (f->primary, 429, "7");
  us_fake_provider_push_status (f->fallback, 500, NULL);
  reply = test_post (f->client, "/v1/messages", body, NULL);
  g_assert_cmpuint (reply->status, ==, 429);
  g_assert_cmpstr (soup_message_headers_get_one (reply->headers, "retry-after"), ==, "7");
  g_assert_cmpstr (soup_message_headers_get_one (reply->headers, "anthropic-ratelimit-requests-remaining"), ==, "0");
  g_assert_cmpuint (count_header (reply->headers, "date"), ==, 1);
}

int
main (int   argc,
      char *argv[])
{
  static const struct {
    const char *name;
    void (*func) (Fixture *, gconstpointer);
  } scenarios[] = {
    { "alternating", test_alternating },
    { "loop-crosses-failover", test_loop_crosses_failover },
    { "loop-crosses-recovery", test_loop_crosses_recovery },
    { "loop-starter-fails", test_loop_starter_fails },
  };

  g_test_init (&argc, &argv, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (scenarios); i++)
    for (guint s = 0; s < 2; s++)
      {
        g_autofree char *a = g_strdup_printf ("/continuity/anthropic/%s/%s", scenarios[i].name, s ? "stream" : "whole");
        g_autofree char *r = g_strdup_printf ("/continuity/responses/%s/%s", scenarios[i].name, s ? "stream" : "whole");

        g_test_add (a, Fixture, GINT_TO_POINTER (s), set_up_anthropic, scenarios[i].func, tear_down);
        g_test_add (r, Fixture, GINT_TO_POINTER (s), set_up_responses, scenarios[i].func, tear_down);
      }
  g_test_add ("/continuity/mixed/whole", Fixture, GINT_TO_POINTER (FALSE), set_up_mixed, test_mixed, tear_down);
  g_test_add ("/continuity/mixed/stream", Fixture, GINT_TO_POINTER (TRUE), set_up_mixed, test_mixed, tear_down);
  g_test_add ("/continuity/own-turn-untouched", Fixture, NULL, set_up_anthropic, test_own_turn_untouched, tear_down);
  g_test_add ("/continuity/redacted", Fixture, NULL, set_up_anthropic, test_redacted, tear_down);
  g_test_add ("/continuity/fakes-refuse", Fixture, NULL, set_up_anthropic, test_fakes_refuse, tear_down);
  g_test_add ("/continuity/anthropic/restart", Fixture, NULL, set_up_anthropic, test_restart, tear_down);
  g_test_add ("/continuity/responses/restart", Fixture, NULL, set_up_responses, test_restart, tear_down);
  g_test_add ("/continuity/headers", Fixture, NULL, set_up_anthropic, test_headers, tear_down);
  g_test_add ("/continuity/headers-error", Fixture, NULL, set_up_anthropic, test_headers_error, tear_down);

  return g_test_run ();
}
