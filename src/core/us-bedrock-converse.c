/* us-bedrock-converse.c: Anthropic Messages ⇄ Bedrock Converse. */
#include "us-bedrock-converse.h"

#include <string.h>

#include "us-ir.h"
#include "us-translate.h"

static GBytes *
to_bytes (JsonNode *node)
{
  char *text = json_to_string (node, FALSE);

  return g_bytes_new_take (text, strlen (text));
}

static JsonObject *
text_block (const char *text)
{
  JsonObject *block = json_object_new ();

  json_object_set_string_member (block, "text", text);
  return block;
}

/* An Anthropic base64 image as Converse's; NULL for other sources. */
static JsonObject *
image_block (JsonObject *block)
{
  JsonObject *source = us_json_get_object (block, "source");
  const char *media = source ? us_json_get_string (source, "media_type") : NULL;
  const char *data = source ? us_json_get_string (source, "data") : NULL;
  JsonObject *image, *bytes, *out;

  if (g_strcmp0 (us_json_get_string (source, "type"), "base64") != 0 || media == NULL || data == NULL
      || !g_str_has_prefix (media, "image/"))
    return NULL;
  bytes = json_object_new ();
  json_object_set_string_member (bytes, "bytes", data);
  image = json_object_new ();
  json_object_set_string_member (image, "format", media + strlen ("image/"));
  json_object_set_object_member (image, "source", bytes);
  out = json_object_new ();
  json_object_set_object_member (out, "image", image);
  return out;
}

/* Anthropic content (a string or blocks) as Converse content blocks. */
static JsonArray *
convert_content (JsonNode *content)
{
  JsonArray *out = json_array_new ();
  JsonArray *blocks;

  if (content != NULL && us_json_is_string (content))
    {
      if (*json_node_get_string (content) != '\0')
        json_array_add_object_element (out, text_block (json_node_get_string (content)));
      return out;
    }
  if (content == NULL || !JSON_NODE_HOLDS_ARRAY (content))
    return out;
  blocks = json_node_get_array (content);
  for (guint i = 0; i < json_array_get_length (blocks); i++)
    {
      JsonNode *node = json_array_get_element (blocks, i);
      JsonObject *block = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      const char *type = block ? us_json_get_string (block, "type") : NULL;

      if (g_strcmp0 (type, "text") == 0)
        {
          const char *text = us_json_get_string (block, "text");

          /* Converse refuses empty text blocks. */
          if (text != NULL && *text != '\0')
            json_array_add_object_element (out, text_block (text));
        }
      else if (g_strcmp0 (type, "image") == 0)
        {
          JsonObject *image = image_block (block);

          if (image != NULL)
            json_array_add_object_element (out, image);
        }
      else if (g_strcmp0 (type, "tool_use") == 0)
        {
          JsonObject *use = json_object_new ();
          JsonObject *wrap = json_object_new ();
          JsonNode *input = json_object_get_member (block, "input");

          json_object_set_string_member (use, "toolUseId", us_json_get_string (block, "id"));
          json_object_set_string_member (use, "name", us_json_get_string (block, "name"));
          json_object_set_member (use, "input", input ? json_node_copy (input)
                                                      : us_json_node_take_object (json_object_new ()));
          json_object_set_object_member (wrap, "toolUse", use);
          json_array_add_object_element (out, wrap);
        }
      else if (g_strcmp0 (type, "tool_result") == 0)
        {
          JsonObject *result = json_object_new ();
          JsonObject *wrap = json_object_new ();
          JsonArray *inner = convert_content (json_object_get_member (block, "content"));

          if (json_array_get_length (inner) == 0)
            json_array_add_object_element (inner, text_block ("(empty)"));
          json_object_set_string_member (result, "toolUseId", us_json_get_string (block, "tool_use_id"));
          json_object_set_array_member (result, "content", inner);
          json_object_set_string_member (result, "status",
                                         us_json_get_bool (block, "is_error", FALSE) ? "error" : "success");
          json_object_set_object_member (wrap, "toolResult", result);
          json_array_add_object_element (out, wrap);
        }
      /* thinking, redacted_thinking, documents, server tool blocks: none. */
    }
  return out;
}

static JsonObject *
tool_config (JsonObject *anthropic)
{
  JsonArray *tools = us_json_get_array (anthropic, "tools");
  JsonObject *choice = us_json_get_object (anthropic, "tool_choice");
  const char *choice_type = choice ? us_json_get_string (choice, "type") : NULL;
  JsonArray *specs;
  JsonObject *config;

  if (tools == NULL || g_strcmp0 (choice_type, "none") == 0)
    return NULL;
  specs = json_array_new ();
  for (guint i = 0; i < json_array_get_length (tools); i++)
    {
      JsonNode *node = json_array_get_element (tools, i);
      JsonObject *tool = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      const char *type = tool ? us_json_get_string (tool, "type") : NULL;
      JsonNode *schema = tool ? json_object_get_member (tool, "input_schema") : NULL;
      JsonObject *spec, *wrap, *input;

      /* Anthropic's server tools (web search, …) run at Anthropic only. */
      if (tool == NULL || (type != NULL && strcmp (type, "custom") != 0) || us_json_get_string (tool, "name") == NULL
          || schema == NULL)
        continue;
      input = json_object_new ();
      json_object_set_member (input, "json", json_node_copy (schema));
      spec = json_object_new ();
      json_object_set_string_member (spec, "name", us_json_get_string (tool, "name"));
      if (us_json_get_string (tool, "description") != NULL)
        json_object_set_string_member (spec, "description", us_json_get_string (tool, "description"));
      json_object_set_object_member (spec, "inputSchema", input);
      wrap = json_object_new ();
      json_object_set_object_member (wrap, "toolSpec", spec);
      json_array_add_object_element (specs, wrap);
    }
  if (json_array_get_length (specs) == 0)
    {
      json_array_unref (specs);
      return NULL;
    }
  config = json_object_new ();
  json_object_set_array_member (config, "tools", specs);
  if (g_strcmp0 (choice_type, "any") == 0 || g_strcmp0 (choice_type, "auto") == 0)
    {
      JsonObject *wrap = json_object_new ();

      json_object_set_object_member (wrap, choice_type, json_object_new ());
      json_object_set_object_member (config, "toolChoice", wrap);
    }
  else if (g_strcmp0 (choice_type, "tool") == 0 && us_json_get_string (choice, "name") != NULL)
    {
      JsonObject *wrap = json_object_new ();
      JsonObject *named = json_object_new ();

      json_object_set_string_member (named, "name", us_json_get_string (choice, "name"));
      json_object_set_object_member (wrap, "tool", named);
      json_object_set_object_member (config, "toolChoice", wrap);
    }
  return config;
}

GBytes *
us_bedrock_converse_request (JsonObject *anthropic)
{
  g_autoptr(JsonNode) root = us_json_node_take_object (json_object_new ());
  JsonObject *out = json_node_get_object (root);
  JsonObject *inference = json_object_new ();
  JsonArray *messages = json_array_new ();
  JsonArray *source = us_json_get_array (anthropic, "messages");
  JsonNode *system = json_object_get_member (anthropic, "system");
  JsonArray *stops = us_json_get_array (anthropic, "stop_sequences");
  JsonObject *tools;
  double number;

  for (guint i = 0; source != NULL && i < json_array_get_length (source); i++)
    {
      JsonNode *node = json_array_get_element (source, i);
      JsonObject *message = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      JsonObject *converted;
      JsonArray *content;

      if (message == NULL)
        continue;
      content = convert_content (json_object_get_member (message, "content"));
      /* A message left empty (only thinking) would be refused whole. */
      if (json_array_get_length (content) == 0)
        {
          json_array_unref (content);
          continue;
        }
      converted = json_object_new ();
      json_object_set_string_member (converted, "role",
                                     g_strcmp0 (us_json_get_string (message, "role"), "assistant") == 0
                                     ? "assistant" : "user");
      json_object_set_array_member (converted, "content", content);
      json_array_add_object_element (messages, converted);
    }
  json_object_set_array_member (out, "messages", messages);
  if (system != NULL)
    {
      JsonArray *blocks = convert_content (system);

      if (json_array_get_length (blocks) > 0)
        json_object_set_array_member (out, "system", blocks);
      else
        json_array_unref (blocks);
    }
  if (us_json_get_int (anthropic, "max_tokens", 0) > 0)
    json_object_set_int_member (inference, "maxTokens", us_json_get_int (anthropic, "max_tokens", 0));
  if (us_json_get_double (anthropic, "temperature", &number))
    json_object_set_double_member (inference, "temperature", number);
  if (us_json_get_double (anthropic, "top_p", &number))
    json_object_set_double_member (inference, "topP", number);
  if (stops != NULL)
    json_object_set_array_member (inference, "stopSequences", json_array_ref (stops));
  json_object_set_object_member (out, "inferenceConfig", inference);
  tools = tool_config (anthropic);
  if (tools != NULL)
    json_object_set_object_member (out, "toolConfig", tools);
  return to_bytes (root);
}

const char *
us_bedrock_converse_stop_reason (const char *reason)
{
  if (g_strcmp0 (reason, "tool_use") == 0 || g_strcmp0 (reason, "max_tokens") == 0
      || g_strcmp0 (reason, "stop_sequence") == 0)
    return reason;
  if (g_strcmp0 (reason, "guardrail_intervened") == 0 || g_strcmp0 (reason, "content_filtered") == 0)
    return "refusal";
  return "end_turn";
}

GBytes *
us_bedrock_converse_response (GBytes      *body,
                              const char  *model,
                              GError     **error)
{
  g_autoptr(JsonNode) root = us_translate_parse_json (body, error);
  g_autoptr(JsonNode) out_root = NULL;
  g_autofree char *uuid = g_uuid_string_random ();
  g_autofree char *id = NULL;
  JsonObject *object, *output, *message, *usage, *out, *out_usage;
  JsonArray *content, *blocks;

  if (root == NULL)
    return NULL;
  object = JSON_NODE_HOLDS_OBJECT (root) ? json_node_get_object (root) : NULL;
  output = object ? us_json_get_object (object, "output") : NULL;
  message = output ? us_json_get_object (output, "message") : NULL;
  content = message ? us_json_get_array (message, "content") : NULL;
  if (content == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "not a Converse response");
      return NULL;
    }
  usage = us_json_get_object (object, "usage");

  blocks = json_array_new ();
  for (guint i = 0; i < json_array_get_length (content); i++)
    {
      JsonNode *node = json_array_get_element (content, i);
      JsonObject *block = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      JsonObject *use = block ? us_json_get_object (block, "toolUse") : NULL;
      JsonObject *converted;

      if (block != NULL && us_json_get_string (block, "text") != NULL)
        {
          converted = json_object_new ();
          json_object_set_string_member (converted, "type", "text");
          json_object_set_string_member (converted, "text", us_json_get_string (block, "text"));
          json_array_add_object_element (blocks, converted);
        }
      else if (use != NULL)
        {
          JsonNode *input = json_object_get_member (use, "input");

          converted = json_object_new ();
          json_object_set_string_member (converted, "type", "tool_use");
          json_object_set_string_member (converted, "id", us_json_get_string (use, "toolUseId"));
          json_object_set_string_member (converted, "name", us_json_get_string (use, "name"));
          json_object_set_member (converted, "input", input ? json_node_copy (input)
                                                            : us_json_node_take_object (json_object_new ()));
          json_array_add_object_element (blocks, converted);
        }
    }

  id = g_strconcat ("msg_bdrk_", uuid, NULL);
  out_root = us_json_node_take_object (json_object_new ());
  out = json_node_get_object (out_root);
  json_object_set_string_member (out, "id", id);
  json_object_set_string_member (out, "type", "message");
  json_object_set_string_member (out, "role", "assistant");
  json_object_set_string_member (out, "model", model);
  json_object_set_array_member (out, "content", blocks);
  json_object_set_string_member (out, "stop_reason",
                                 us_bedrock_converse_stop_reason (us_json_get_string (object, "stopReason")));
  json_object_set_null_member (out, "stop_sequence");
  out_usage = json_object_new ();
  json_object_set_int_member (out_usage, "input_tokens", usage ? us_json_get_int (usage, "inputTokens", 0) : 0);
  json_object_set_int_member (out_usage, "output_tokens", usage ? us_json_get_int (usage, "outputTokens", 0) : 0);
  json_object_set_object_member (out, "usage", out_usage);
  return to_bytes (out_root);
}
