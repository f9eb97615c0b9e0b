/* test-cache-prefix.c: translation keeps providers' prompt caches working
 * (issue 11, item 7).
 *
 * Property, over the recorded conversations of every client and for every
 * provider format: the body translated for turn N+1 has the body translated
 * for turn N as its exact prefix, up to where the new messages begin —
 * same tools, same system text, same parameters, and each earlier message
 * byte for byte.
 *
 * What the client itself changes between turns is not translation's doing
 * and is taken out first: Claude Code moves its cache_control breakpoint
 * to the newest message every turn (a block that loses its marker may then
 * be sent as a plain string), and Codex sends per-turn client_metadata.
 * Markers are left out of the comparison too: providers match the content
 * before a marker, not the marker. */

#include "tr-test-util.h"
#include "us-ir.h"

#include <string.h>

typedef struct {
  const char  *client;
  UsWireFormat fmt;
  const char  *turns[2];
} Conversation;

static const Conversation conversations[] = {
  { "claude-code", US_WIRE_ANTHROPIC, { "claude-code-turn1-request.json", "claude-code-turn2-request.json" } },
  { "codex", US_WIRE_OPENAI_RESPONSES, { "codex-turn1-request.json", "codex-turn2-request.json" } },
  { "opencode", US_WIRE_OPENAI_CHAT, { "opencode-turn2-request.json", "opencode-turn3-request.json" } },
};

static const UsWireFormat providers[] = {
  US_WIRE_ANTHROPIC, US_WIRE_OPENAI_CHAT, US_WIRE_OPENAI_RESPONSES,
};

typedef struct {
  const Conversation *conv;
  UsWireFormat        provider;
} Case;

static void
strip_cache_control (JsonNode *node)
{
  if (JSON_NODE_HOLDS_OBJECT (node))
    {
      JsonObject *obj = json_node_get_object (node);
      g_autoptr(GList) members = NULL;

      json_object_remove_member (obj, "cache_control");
      members = json_object_get_values (obj);
      for (GList *l = members; l != NULL; l = l->next)
        strip_cache_control (l->data);
    }
  else if (JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *array = json_node_get_array (node);

      for (guint i = 0; i < json_array_get_length (array); i++)
        strip_cache_control (json_array_get_element (array, i));
    }
}

static gboolean
single_text (JsonNode *content)
{
  JsonArray *array = content && JSON_NODE_HOLDS_ARRAY (content) ? json_node_get_array (content) : NULL;
  JsonObject *block = array && json_array_get_length (array) == 1
    ? json_array_get_object_element (array, 0) : NULL;

  return block != NULL && json_object_get_size (block) == 2
    && g_strcmp0 (us_json_get_string (block, "type"), "text") == 0
    && us_json_get_string (block, "text") != NULL;
}

/* One text block with nothing else is the same message (or system
 * prompt) as a string. */
static void
plain_strings (JsonNode *body)
{
  JsonObject *obj = json_node_get_object (body);
  JsonArray *messages = us_json_get_array (obj, "messages");
  JsonNode *system = json_object_get_member (obj, "system");

  if (single_text (system))
    json_object_set_string_member (obj, "system",
                                   us_json_get_string (json_array_get_object_element (json_node_get_array (system), 0),
                                                       "text"));

  for (guint i = 0; messages != NULL && i < json_array_get_length (messages); i++)
    {
      JsonObject *msg = json_array_get_object_element (messages, i);
      JsonArray *content = us_json_get_array (msg, "content");

      if (single_text (json_object_get_member (msg, "content")))
        json_object_set_string_member (msg, "content",
                                       us_json_get_string (json_array_get_object_element (content, 0), "text"));
    }
}

/* The recorded Codex turn 1 was answered without reasoning. Served by an
 * Anthropic provider with thinking on, Codex gets that provider's signed
 * thinking as a reasoning item and sends it back first in the turn; only
 * then may thinking stay on (a foreign tool loop must turn it off, see
 * docs/translation.md), so that is the history to check. */
static void
add_provider_reasoning (JsonNode *body)
{
  JsonArray *input = us_json_get_array (json_node_get_object (body), "input");
  g_autoptr(JsonArray) copy = json_array_new ();

  for (guint i = 0; i < json_array_get_length (input); i++)
    {
      JsonNode *item = json_array_get_element (input, i);

      if (g_strcmp0 (us_json_get_string (json_node_get_object (item), "type"), "function_call") == 0
          && json_array_get_length (copy) > 0
          && g_strcmp0 (us_json_get_string (json_array_get_object_element (copy, json_array_get_length (copy) - 1),
                                            "type"), "message") == 0)
        {
          JsonObject *reasoning = json_object_new ();

          json_object_set_string_member (reasoning, "type", "reasoning");
          json_object_set_string_member (reasoning, "id", "rs_1");
          json_object_set_array_member (reasoning, "summary", json_array_new ());
          json_object_set_string_member (reasoning, "encrypted_content", "us1:anthropic:SIG");
          json_array_add_object_element (copy, reasoning);
        }
      json_array_add_element (copy, json_node_copy (item));
    }
  json_object_set_array_member (json_node_get_object (body), "input", json_array_ref (copy));
}

/* @as_sent: the client's body as recorded, else without what the client
 * itself changes between turns. */
static JsonNode *
translate_turn (const char  *file,
                UsWireFormat from,
                UsWireFormat to,
                gboolean     as_sent)
{
  g_autoptr(JsonNode) body = tr_load_capture_body (file);
  g_autoptr(GError) error = NULL;
  g_autoptr(UsIrRequest) req = NULL;
  JsonNode *out;

  if (!as_sent)
    {
      strip_cache_control (body);
      plain_strings (body);
      json_object_remove_member (json_node_get_object (body), "client_metadata");
    }
  if (from == US_WIRE_OPENAI_RESPONSES && to == US_WIRE_ANTHROPIC)
    add_provider_reasoning (body);
  req = us_ir_request_decode (from, body, &error);
  g_assert_no_error (error);
  out = us_ir_request_encode (req, to, "m", 0, &error);
  g_assert_no_error (error);
  return out;
}

static char *
text_of (JsonNode *node)
{
  return node ? us_json_to_string (node) : g_strdup ("(absent)");
}

static guint
count_markers (JsonNode *node)
{
  guint n = 0;

  if (JSON_NODE_HOLDS_OBJECT (node))
    {
      JsonObject *obj = json_node_get_object (node);
      g_autoptr(GList) members = json_object_get_values (obj);

      n += json_object_has_member (obj, "cache_control");
      for (GList *l = members; l != NULL; l = l->next)
        n += count_markers (l->data);
    }
  else if (JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *array = json_node_get_array (node);

      for (guint i = 0; i < json_array_get_length (array); i++)
        n += count_markers (json_array_get_element (array, i));
    }
  return n;
}

static gboolean
has_marker (JsonObject *block)
{
  return block != NULL && json_object_has_member (block, "cache_control");
}

/* Anthropic caches only at cache_control breakpoints; Responses routes by
 * prompt_cache_key. Every provider of those formats gets them. */
static void
check_cache_hints (const Case *c,
                   JsonNode   *body)
{
  JsonObject *obj = json_node_get_object (body);

  if (c->provider == US_WIRE_ANTHROPIC && c->conv->fmt == US_WIRE_ANTHROPIC)
    {
      g_autoptr(JsonNode) client = tr_load_capture_body (c->conv->turns[1]);
      guint sent = count_markers (client);

      /* The client's own breakpoints, all of them. */
      g_assert_cmpuint (sent, >, 0);
      g_assert_cmpuint (count_markers (body), ==, sent);
    }
  else if (c->provider == US_WIRE_ANTHROPIC)
    {
      JsonArray *messages = us_json_get_array (obj, "messages");
      JsonArray *tools = us_json_get_array (obj, "tools");
      JsonArray *system = us_json_get_array (obj, "system");
      JsonArray *last = us_json_get_array (json_array_get_object_element (messages, json_array_get_length (messages) - 1),
                                           "content");
      gboolean marked = FALSE;

      g_assert_nonnull (system);
      g_assert_true (has_marker (json_array_get_object_element (system, json_array_get_length (system) - 1)));
      g_assert_true (has_marker (json_array_get_object_element (tools, json_array_get_length (tools) - 1)));
      for (guint i = 0; last != NULL && i < json_array_get_length (last); i++)
        marked |= has_marker (json_array_get_object_element (last, i));
      g_assert_true (marked);
    }
  else if (c->provider == US_WIRE_OPENAI_RESPONSES)
    g_assert_nonnull (us_json_get_string (obj, "prompt_cache_key"));
}

static void
test_prefix (gconstpointer data)
{
  const Case *c = data;
  const char *key = c->provider == US_WIRE_OPENAI_RESPONSES ? "input" : "messages";
  g_autoptr(JsonNode) first = translate_turn (c->conv->turns[0], c->conv->fmt, c->provider, FALSE);
  g_autoptr(JsonNode) second = translate_turn (c->conv->turns[1], c->conv->fmt, c->provider, FALSE);
  g_autoptr(JsonNode) sent = translate_turn (c->conv->turns[1], c->conv->fmt, c->provider, TRUE);
  JsonObject *a, *b;
  JsonArray *ma, *mb;
  g_autoptr(GList) names = NULL;

  check_cache_hints (c, sent);
  strip_cache_control (first);
  strip_cache_control (second);
  plain_strings (first);
  plain_strings (second);
  a = json_node_get_object (first);
  b = json_node_get_object (second);

  /* Everything but the conversation is the same on both turns... */
  names = json_object_get_members (a);
  for (GList *l = json_object_get_members (b); l != NULL; l = g_list_delete_link (l, l))
    if (!json_object_has_member (a, l->data))
      names = g_list_append (names, l->data);
  for (GList *l = names; l != NULL; l = l->next)
    {
      g_autofree char *ta = NULL;
      g_autofree char *tb = NULL;

      if (strcmp (l->data, key) == 0)
        continue;
      ta = text_of (json_object_get_member (a, l->data));
      tb = text_of (json_object_get_member (b, l->data));
      if (strcmp (ta, tb) != 0)
        g_error ("%s -> %s: \"%s\" changed between turns:\n%.300s\n%.300s",
                 c->conv->client, us_wire_format_to_string (c->provider), (char *) l->data, ta, tb);
    }

  /* ...and the earlier messages are its prefix, byte for byte. */
  ma = us_json_get_array (a, key);
  mb = us_json_get_array (b, key);
  g_assert_nonnull (ma);
  g_assert_nonnull (mb);
  g_assert_cmpuint (json_array_get_length (ma), <, json_array_get_length (mb));
  for (guint i = 0; i < json_array_get_length (ma); i++)
    {
      g_autofree char *ta = text_of (json_array_get_element (ma, i));
      g_autofree char *tb = text_of (json_array_get_element (mb, i));

      if (strcmp (ta, tb) != 0)
        g_error ("%s -> %s: %s[%u] changed between turns:\n%.300s\n%.300s",
                 c->conv->client, us_wire_format_to_string (c->provider), key, i, ta, tb);
    }
}

/* A Chat client's own prompt_cache_key is the one a Responses provider
 * gets; without one, the derived key is the same on every turn. */
static void
test_chat_cache_key (void)
{
  static const char * const bodies[] = {
    "{\"model\":\"m\",\"prompt_cache_key\":\"k1\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
    "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
    ("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},"
     "{\"role\":\"assistant\",\"content\":\"hello\"},{\"role\":\"user\",\"content\":\"more\"}]}"),
    "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"another conversation\"}]}",
  };
  char *keys[G_N_ELEMENTS (bodies)] = { NULL, };

  for (gsize i = 0; i < G_N_ELEMENTS (bodies); i++)
    {
      g_autoptr(JsonNode) body = us_json_parse (bodies[i], -1, NULL);
      g_autoptr(UsIrRequest) req = us_ir_request_decode (US_WIRE_OPENAI_CHAT, body, NULL);
      g_autoptr(JsonNode) out = us_ir_request_encode (req, US_WIRE_OPENAI_RESPONSES, "m", 0, NULL);

      keys[i] = g_strdup (us_json_get_string (json_node_get_object (out), "prompt_cache_key"));
      g_assert_nonnull (keys[i]);
    }
  g_assert_cmpstr (keys[0], ==, "k1");
  g_assert_cmpstr (keys[1], ==, keys[2]);
  g_assert_cmpstr (keys[1], !=, keys[3]);
  for (gsize i = 0; i < G_N_ELEMENTS (keys); i++)
    g_free (keys[i]);
}

int
main (int argc, char **argv)
{
  static Case cases[G_N_ELEMENTS (conversations) * G_N_ELEMENTS (providers)];
  guint n = 0;

  g_test_init (&argc, &argv, NULL);
  for (gsize i = 0; i < G_N_ELEMENTS (conversations); i++)
    for (gsize j = 0; j < G_N_ELEMENTS (providers); j++)
      {
        g_autofree char *path = g_strdup_printf ("/cache-prefix/%s/to-%s", conversations[i].client,
                                                 us_wire_format_to_string (providers[j]));

        cases[n] = (Case) { &conversations[i], providers[j] };
        g_test_add_data_func (path, &cases[n++], test_prefix);
      }
  g_test_add_func ("/cache-prefix/chat-cache-key", test_chat_cache_key);
  return g_test_run ();
}
