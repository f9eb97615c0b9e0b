/* us-openai-common.c: helpers shared by the Chat and Responses codecs. */

#include "us-openai-common.h"

#include <string.h>

/* ---- Errors ---- */

static const struct {
  const char *anthropic;
  const char *type;
  const char *code;
} error_map[] = {
  { "invalid_request_error", "invalid_request_error", NULL },
  { "authentication_error", "authentication_error", "invalid_api_key" },
  { "permission_error", "permission_error", NULL },
  { "not_found_error", "not_found_error", "model_not_found" },
  { "request_too_large", "invalid_request_error", "request_too_large" },
  { "rate_limit_error", "rate_limit_error", "rate_limit_exceeded" },
  { "billing_error", "insufficient_quota", "insufficient_quota" },
  { "api_error", "server_error", "server_error" },
  { "overloaded_error", "server_error", "server_is_overloaded" },
  { "timeout_error", "server_error", "timeout" },
};

gboolean
us_openai_is_context_overflow (const char *message)
{
  g_autofree char *lower = message ? g_ascii_strdown (message, -1) : NULL;

  return lower != NULL
    && (strstr (lower, "prompt is too long") != NULL
        || strstr (lower, "context length") != NULL
        || strstr (lower, "context window") != NULL
        || strstr (lower, "maximum context") != NULL);
}

const char *
us_openai_error_code_for (const char *anthropic_type,
                          const char *message)
{
  /* Codex compacts its history on this code, whoever ran out of room. */
  if (us_openai_is_context_overflow (message))
    return "context_length_exceeded";
  for (gsize i = 0; i < G_N_ELEMENTS (error_map); i++)
    if (g_strcmp0 (error_map[i].anthropic, anthropic_type) == 0)
      return error_map[i].code;
  return NULL;
}

JsonObject *
us_openai_error_object (const char *type,
                        const char *message,
                        gboolean    with_param)
{
  JsonObject *error = json_object_new ();
  const char *oa_type = "server_error";
  const char *code = us_openai_error_code_for (type, message);

  for (gsize i = 0; i < G_N_ELEMENTS (error_map); i++)
    if (g_strcmp0 (error_map[i].anthropic, type) == 0)
      oa_type = error_map[i].type;

  json_object_set_string_member (error, "message", message ? message : "");
  json_object_set_string_member (error, "type", oa_type);
  if (code != NULL)
    json_object_set_string_member (error, "code", code);
  else
    json_object_set_null_member (error, "code");
  if (with_param)
    json_object_set_null_member (error, "param");
  return error;
}

JsonNode *
us_openai_error_encode (guint       status,
                        const char *type,
                        const char *message)
{
  JsonObject *body = json_object_new ();

  json_object_set_object_member (body, "error", us_openai_error_object (type, message, TRUE));
  return us_json_node_take_object (body);
}

const char *
us_openai_error_type_to_anthropic (const char *type,
                                   const char *code,
                                   guint       status)
{
  static const struct {
    const char *name;
    const char *anthropic;
  } by_name[] = {
    { "context_length_exceeded", "invalid_request_error" },
    { "insufficient_quota", "billing_error" },
    { "rate_limit_exceeded", "rate_limit_error" },
    { "invalid_api_key", "authentication_error" },
    { "model_not_found", "not_found_error" },
    { "server_is_overloaded", "overloaded_error" },
    { "overloaded", "overloaded_error" },
    { "slow_down", "rate_limit_error" },
    { "invalid_request_error", "invalid_request_error" },
    { "authentication_error", "authentication_error" },
    { "permission_error", "permission_error" },
    { "not_found_error", "not_found_error" },
    { "rate_limit_error", "rate_limit_error" },
    { "requests", "rate_limit_error" },
    { "tokens", "rate_limit_error" },
    { "server_error", "api_error" },
    { "api_error", "api_error" },
    { "overloaded_error", "overloaded_error" },
  };

  /* The code is the more specific of the two. */
  for (gsize i = 0; i < G_N_ELEMENTS (by_name); i++)
    if (g_strcmp0 (by_name[i].name, code) == 0)
      return by_name[i].anthropic;
  for (gsize i = 0; i < G_N_ELEMENTS (by_name); i++)
    if (g_strcmp0 (by_name[i].name, type) == 0)
      return by_name[i].anthropic;
  return us_error_type_for_status (status ? status : 500);
}

static char *
error_message_for_anthropic (const char *message,
                             const char *code)
{
  /* Claude Code recognises a full context by this wording. */
  if (g_strcmp0 (code, "context_length_exceeded") == 0
      && (message == NULL || strstr (message, "prompt is too long") == NULL))
    return g_strdup_printf ("prompt is too long: %s", message ? message : "");
  return g_strdup (message);
}

gboolean
us_openai_error_decode (JsonObject *body,
                        guint       status,
                        char      **type,
                        char      **message)
{
  JsonNode *node = json_object_get_member (body, "error");
  JsonObject *error;
  const char *code;

  if (node == NULL)
    return FALSE;

  /* Ollama and others: {"error": "text"}. */
  if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING)
    {
      *type = g_strdup (us_error_type_for_status (status ? status : 500));
      *message = g_strdup (json_node_get_string (node));
      return TRUE;
    }
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return FALSE;

  error = json_node_get_object (node);
  code = us_json_get_string (error, "code");
  *type = g_strdup (us_openai_error_type_to_anthropic (us_json_get_string (error, "type"),
                                                       code, status));
  *message = error_message_for_anthropic (us_json_get_string (error, "message"), code);
  if (*message == NULL)
    *message = g_strdup (*type);
  return TRUE;
}

/* ---- Usage ---- */

void
us_openai_usage_decode (JsonObject *usage,
                        gboolean    responses,
                        UsUsage    *out)
{
  JsonObject *details;
  gint64 input, cached;

  if (usage == NULL)
    return;
  input = us_json_get_int (usage, responses ? "input_tokens" : "prompt_tokens", 0);
  details = us_json_get_object (usage, responses ? "input_tokens_details" : "prompt_tokens_details");
  cached = us_json_get_int (details, "cached_tokens", -1);
  /* DeepSeek reports its cache hits under its own name. */
  if (cached < 0)
    cached = us_json_get_int (usage, "prompt_cache_hit_tokens", 0);
  cached = CLAMP (cached, 0, MAX (input, 0));

  out->input_tokens = MAX (input - cached, 0);
  out->cache_read_tokens = cached;
  out->cache_write_tokens = 0;
  out->output_tokens = us_json_get_int (usage, responses ? "output_tokens" : "completion_tokens", 0);
}

JsonObject *
us_openai_usage_encode (const UsUsage *usage,
                        gboolean       responses)
{
  JsonObject *obj = json_object_new ();
  JsonObject *details = json_object_new ();
  gint64 input = us_usage_total_input (usage);

  json_object_set_int_member (obj, responses ? "input_tokens" : "prompt_tokens", input);
  json_object_set_int_member (obj, responses ? "output_tokens" : "completion_tokens",
                              usage->output_tokens);
  json_object_set_int_member (obj, "total_tokens", input + usage->output_tokens);
  json_object_set_int_member (details, "cached_tokens", usage->cache_read_tokens);
  json_object_set_object_member (obj, responses ? "input_tokens_details" : "prompt_tokens_details",
                                 details);
  if (responses)
    {
      JsonObject *out_details = json_object_new ();

      json_object_set_int_member (out_details, "reasoning_tokens", 0);
      json_object_set_object_member (obj, "output_tokens_details", out_details);
    }
  return obj;
}

/* ---- Tools ---- */

#define MAX_TOOL_NAME 64

char *
us_openai_tool_name (const char *name)
{
  g_autofree char *hash = NULL;
  GString *out;
  gboolean changed = FALSE;

  if (name == NULL)
    return g_strdup ("");

  out = g_string_new (NULL);
  for (const char *p = name; *p != '\0'; p++)
    {
      if (g_ascii_isalnum (*p) || *p == '_' || *p == '-')
        g_string_append_c (out, *p);
      else
        {
          g_string_append_c (out, '_');
          changed = TRUE;
        }
    }
  if (!changed && out->len <= MAX_TOOL_NAME && out->len > 0)
    return g_string_free (out, FALSE);

  /* A prefix keeps it readable for the model, a hash of the whole original
   * keeps it unique and the same on every turn. */
  hash = g_compute_checksum_for_string (G_CHECKSUM_SHA256, name, -1);
  g_string_truncate (out, MIN (out->len, MAX_TOOL_NAME - 9));
  g_string_append_c (out, '_');
  g_string_append_len (out, hash, 8);
  return g_string_free (out, FALSE);
}

char *
us_openai_tool_name_for (const UsIrRequest *req,
                         UsWireFormat       fmt,
                         const char        *name)
{
  if (req->src_fmt == fmt)
    return g_strdup (name ? name : "");
  return us_openai_tool_name (name);
}

JsonNode *
us_openai_schema (JsonNode *schema)
{
  JsonObject *copy;

  if (schema == NULL || !JSON_NODE_HOLDS_OBJECT (schema))
    {
      copy = json_object_new ();
      json_object_set_string_member (copy, "type", "object");
      json_object_set_object_member (copy, "properties", json_object_new ());
    }
  else
    {
      static const char * const drop[] = { "$schema", NULL };

      /* "$schema" is noise to the model, and Gemini and several local
       * servers refuse it; everything else is passed as the client wrote it. */
      copy = json_object_new ();
      us_json_copy_members (copy, json_node_get_object (schema), drop);
    }
  return us_json_node_take_object (copy);
}

char *
us_openai_new_id (const char *prefix)
{
  g_autofree char *uuid = g_uuid_string_random ();
  GString *id = g_string_new (prefix);

  for (const char *p = uuid; *p != '\0'; p++)
    if (*p != '-')
      g_string_append_c (id, *p);
  return g_string_free (id, FALSE);
}
