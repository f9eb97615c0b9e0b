/* us-fake-signing.c: signing and checking thinking like the real APIs.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "us-fake-signing.h"

#include <string.h>

static char *
hmac_b64 (const char *key,
          const char *text)
{
  g_autofree char *hex = g_compute_hmac_for_string (G_CHECKSUM_SHA256, (const guchar *) key, strlen (key),
                                                    text, -1);

  /* Real signatures are long base64; this one is still opaque. */
  return g_base64_encode ((const guchar *) hex, strlen (hex));
}

char *
us_fake_sign_thinking (const char *key,
                       const char *thinking)
{
  return hmac_b64 (key, thinking);
}

char *
us_fake_sign_reasoning (const char *key,
                        const char *item_id)
{
  g_autofree char *mac = hmac_b64 (key, item_id);

  return g_strconcat ("gAAAAA", mac, NULL);
}

static const char *
member_string (JsonObject *o,
               const char *name)
{
  JsonNode *n = o != NULL ? json_object_get_member (o, name) : NULL;

  return n != NULL && JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_STRING
         ? json_node_get_string (n) : NULL;
}

static JsonArray *
member_array (JsonObject *o,
              const char *name)
{
  JsonNode *n = o != NULL ? json_object_get_member (o, name) : NULL;

  return n != NULL && JSON_NODE_HOLDS_ARRAY (n) ? json_node_get_array (n) : NULL;
}

static JsonObject *
element_object (JsonArray *a,
                guint      i)
{
  JsonNode *n = json_array_get_element (a, i);

  return JSON_NODE_HOLDS_OBJECT (n) ? json_node_get_object (n) : NULL;
}

gboolean
us_fake_wants_thinking (UsFakeFormat format,
                        JsonObject  *body)
{
  JsonArray *include;

  if (format == US_FAKE_FORMAT_ANTHROPIC)
    {
      JsonNode *t = json_object_get_member (body, "thinking");
      const char *type = t != NULL && JSON_NODE_HOLDS_OBJECT (t) ? member_string (json_node_get_object (t), "type") : NULL;

      return g_strcmp0 (type, "enabled") == 0 || g_strcmp0 (type, "adaptive") == 0;
    }
  if (format != US_FAKE_FORMAT_OPENAI_RESPONSES)
    return FALSE;
  include = member_array (body, "include");
  for (guint i = 0; include != NULL && i < json_array_get_length (include); i++)
    if (g_strcmp0 (json_array_get_string_element (include, i), "reasoning.encrypted_content") == 0)
      return TRUE;
  return FALSE;
}

guint
us_fake_count_signed (UsFakeFormat format,
                      JsonObject  *body)
{
  JsonArray *list = member_array (body, format == US_FAKE_FORMAT_OPENAI_RESPONSES ? "input" : "messages");
  guint n = 0;

  for (guint i = 0; list != NULL && i < json_array_get_length (list); i++)
    {
      JsonObject *item = element_object (list, i);
      JsonArray *content = member_array (item, "content");

      if (format == US_FAKE_FORMAT_OPENAI_RESPONSES)
        {
          n += g_strcmp0 (member_string (item, "type"), "reasoning") == 0 && member_string (item, "encrypted_content") != NULL;
          continue;
        }
      for (guint j = 0; content != NULL && j < json_array_get_length (content); j++)
        {
          const char *type = member_string (element_object (content, j), "type");

          n += g_strcmp0 (type, "thinking") == 0 || g_strcmp0 (type, "redacted_thinking") == 0;
        }
    }
  return n;
}

static gboolean
has_tool_result (JsonObject *msg)
{
  JsonArray *content = member_array (msg, "content");

  for (guint i = 0; content != NULL && i < json_array_get_length (content); i++)
    if (g_strcmp0 (member_string (element_object (content, i), "type"), "tool_result") == 0)
      return TRUE;
  return FALSE;
}

static char *
check_anthropic (const char *key,
                 JsonObject *body)
{
  JsonArray *messages = member_array (body, "messages");
  guint n = messages != NULL ? json_array_get_length (messages) : 0;
  gint last_assistant = -1;

  for (guint i = 0; i < n; i++)
    {
      JsonObject *msg = element_object (messages, i);
      JsonArray *content = member_array (msg, "content");

      if (g_strcmp0 (member_string (msg, "role"), "assistant") != 0)
        continue;
      last_assistant = (gint) i;
      for (guint j = 0; content != NULL && j < json_array_get_length (content); j++)
        {
          JsonObject *block = element_object (content, j);
          const char *type = member_string (block, "type");

          if (g_strcmp0 (type, "thinking") == 0)
            {
              g_autofree char *expected = us_fake_sign_thinking (key, member_string (block, "thinking") ?: "");

              if (g_strcmp0 (member_string (block, "signature"), expected) != 0)
                return g_strdup_printf ("messages.%u.content.%u: Invalid `signature` in `thinking` block", i, j);
            }
          else if (g_strcmp0 (type, "redacted_thinking") == 0)
            {
              g_autofree char *expected = us_fake_sign_thinking (key, "redacted");

              if (g_strcmp0 (member_string (block, "data"), expected) != 0)
                return g_strdup_printf ("messages.%u.content.%u: Invalid `data` in `redacted_thinking` block", i, j);
            }
        }
    }

  /* With thinking on, a tool loop's final assistant turn must open with
   * the thinking that led to its tool calls. */
  if (us_fake_wants_thinking (US_FAKE_FORMAT_ANTHROPIC, body) && n > 0 && last_assistant >= 0
      && g_strcmp0 (member_string (element_object (messages, n - 1), "role"), "user") == 0
      && has_tool_result (element_object (messages, n - 1)))
    {
      JsonArray *content = member_array (element_object (messages, (guint) last_assistant), "content");
      const char *first = content != NULL && json_array_get_length (content) > 0
                          ? member_string (element_object (content, 0), "type") : "text";

      if (g_strcmp0 (first, "thinking") != 0 && g_strcmp0 (first, "redacted_thinking") != 0)
        return g_strdup_printf ("messages.%d.content.0.type: Expected `thinking` or `redacted_thinking`, but found "
                                "`%s`. When `thinking` is enabled, a final `assistant` message must start with a "
                                "thinking block (preceeding the lastmost set of `tool_use` and `tool_result` "
                                "blocks). We recommend you include thinking blocks from previous turns. To avoid "
                                "this requirement, disable `thinking`. Please consult our documentation at "
                                "https://docs.claude.com/en/docs/build-with-claude/extended-thinking",
                                last_assistant, first ? first : "text");
    }
  return NULL;
}

static char *
check_responses (const char  *key,
                 JsonObject  *body,
                 const char **code)
{
  JsonArray *input = member_array (body, "input");

  for (guint i = 0; input != NULL && i < json_array_get_length (input); i++)
    {
      JsonObject *item = element_object (input, i);
      const char *enc = member_string (item, "encrypted_content");
      const char *id = member_string (item, "id");
      g_autofree char *expected = NULL;

      if (g_strcmp0 (member_string (item, "type"), "reasoning") != 0 || enc == NULL)
        continue;
      expected = us_fake_sign_reasoning (key, id ?: "");
      if (g_strcmp0 (enc, expected) != 0)
        {
          *code = "invalid_encrypted_content";
          return g_strdup_printf ("The encrypted content for item %s could not be verified.", id ? id : "(no id)");
        }
    }
  return NULL;
}

char *
us_fake_check_signed (UsFakeFormat format,
                      const char  *key,
                      JsonObject  *body,
                      const char **code)
{
  *code = NULL;
  if (body == NULL)
    return NULL;
  switch (format)
    {
    case US_FAKE_FORMAT_ANTHROPIC:
      return check_anthropic (key, body);
    case US_FAKE_FORMAT_OPENAI_RESPONSES:
      return check_responses (key, body, code);
    case US_FAKE_FORMAT_OPENAI_CHAT:
    default:
      return NULL;
    }
}
