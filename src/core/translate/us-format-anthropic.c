/* us-format-anthropic.c: Anthropic Messages ⇄ IR. */

#include "us-format.h"
#include "us-sse.h"

#include <string.h>

#define DEFAULT_MAX_TOKENS 8192
#define MIN_THINKING_BUDGET 1024

/* ---- Content blocks ---- */

static const char * const text_known[] = { "type", "text", NULL };
static const char * const image_known[] = { "type", "source", NULL };
static const char * const tool_use_known[] = { "type", "id", "name", "input", NULL };
static const char * const tool_result_known[] = { "type", "tool_use_id", "content", "is_error", NULL };

static void
keep_extra (UsIrPart           *part,
            JsonObject         *block,
            const char * const *known)
{
  part->extra = us_json_unknown_members (block, known);
  part->extra_fmt = US_WIRE_ANTHROPIC;
}

static UsIrPart *
opaque_part (JsonNode *node)
{
  UsIrPart *part = us_ir_part_new (US_IR_PART_OPAQUE);

  part->raw = json_node_copy (node);
  part->extra_fmt = US_WIRE_ANTHROPIC;
  return part;
}

static UsIrPart *decode_block (JsonNode *node, GError **error);

static gboolean
is_string (JsonNode *node)
{
  return node != NULL && JSON_NODE_HOLDS_VALUE (node)
    && json_node_get_value_type (node) == G_TYPE_STRING;
}

static gboolean
decode_blocks (JsonNode  *content,
               GPtrArray *parts,
               GError   **error)
{
  JsonArray *array;

  if (content == NULL || JSON_NODE_HOLDS_NULL (content))
    return TRUE;
  if (is_string (content))
    {
      g_ptr_array_add (parts, us_ir_part_new_text (json_node_get_string (content)));
      return TRUE;
    }
  if (!JSON_NODE_HOLDS_ARRAY (content))
    {
      g_set_error (error, US_TRANSLATE_ERROR, US_TRANSLATE_ERROR_INVALID,
                   "content must be a string or an array of blocks");
      return FALSE;
    }
  array = json_node_get_array (content);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      UsIrPart *part = decode_block (json_array_get_element (array, i), error);

      if (part == NULL)
        return FALSE;
      g_ptr_array_add (parts, part);
    }
  return TRUE;
}

static gboolean
decode_image_source (UsIrPart   *part,
                     JsonObject *source)
{
  const char *type = us_json_get_string (source, "type");

  if (g_strcmp0 (type, "base64") == 0)
    {
      part->media_type = g_strdup (us_json_get_string (source, "media_type"));
      part->data = g_strdup (us_json_get_string (source, "data"));
      return part->data != NULL;
    }
  if (g_strcmp0 (type, "url") == 0)
    {
      part->url = g_strdup (us_json_get_string (source, "url"));
      return part->url != NULL;
    }
  return FALSE;
}

static UsIrPart *
decode_block (JsonNode *node,
              GError  **error)
{
  JsonObject *block;
  const char *type;
  g_autoptr(UsIrPart) part = NULL;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      g_set_error (error, US_TRANSLATE_ERROR, US_TRANSLATE_ERROR_INVALID,
                   "A content block must be an object");
      return NULL;
    }
  block = json_node_get_object (node);
  type = us_json_get_string (block, "type");
  if (type == NULL)
    {
      g_set_error (error, US_TRANSLATE_ERROR, US_TRANSLATE_ERROR_INVALID,
                   "A content block has no type");
      return NULL;
    }

  if (strcmp (type, "text") == 0)
    {
      part = us_ir_part_new_text (us_json_get_string (block, "text"));
      keep_extra (part, block, text_known);
    }
  else if (strcmp (type, "image") == 0)
    {
      part = us_ir_part_new (US_IR_PART_IMAGE);
      /* Sources other than base64 and url (files) only Anthropic reads. */
      if (!decode_image_source (part, us_json_get_object (block, "source")))
        return opaque_part (node);
      keep_extra (part, block, image_known);
    }
  else if (strcmp (type, "tool_use") == 0)
    {
      JsonNode *input = json_object_get_member (block, "input");

      part = us_ir_part_new (US_IR_PART_TOOL_CALL);
      part->tool_id = g_strdup (us_json_get_string (block, "id"));
      part->tool_name = g_strdup (us_json_get_string (block, "name"));
      part->arguments = input ? us_json_to_string (input) : g_strdup ("{}");
      if (part->tool_id == NULL || part->tool_name == NULL)
        {
          g_set_error (error, US_TRANSLATE_ERROR, US_TRANSLATE_ERROR_INVALID,
                       "tool_use needs an id and a name");
          return NULL;
        }
      keep_extra (part, block, tool_use_known);
    }
  else if (strcmp (type, "tool_result") == 0)
    {
      part = us_ir_part_new (US_IR_PART_TOOL_RESULT);
      part->tool_id = g_strdup (us_json_get_string (block, "tool_use_id"));
      part->is_error = us_json_get_bool (block, "is_error", FALSE);
      part->content = g_ptr_array_new_with_free_func ((GDestroyNotify) us_ir_part_free);
      part->as_string = is_string (json_object_get_member (block, "content"));
      if (part->tool_id == NULL)
        {
          g_set_error (error, US_TRANSLATE_ERROR, US_TRANSLATE_ERROR_INVALID,
                       "tool_result needs a tool_use_id");
          return NULL;
        }
      if (!decode_blocks (json_object_get_member (block, "content"), part->content, error))
        return NULL;
      keep_extra (part, block, tool_result_known);
    }
  else if (strcmp (type, "thinking") == 0)
    {
      const char *native = NULL;

      part = us_ir_part_new (US_IR_PART_THINKING);
      part->text = g_strdup (us_json_get_string (block, "thinking"));
      part->signed_by = us_ir_signature_unwrap (us_json_get_string (block, "signature"),
                                                US_WIRE_ANTHROPIC, &native);
      part->signature = g_strdup (native);
    }
  else if (strcmp (type, "redacted_thinking") == 0)
    {
      part = us_ir_part_new (US_IR_PART_REDACTED_THINKING);
      part->data = g_strdup (us_json_get_string (block, "data"));
      part->signed_by = US_WIRE_ANTHROPIC;
    }
  else
    return opaque_part (node);

  return g_steal_pointer (&part);
}

/* ---- Request decoding ---- */

static const char * const request_known[] = {
  "model", "messages", "system", "stream", "max_tokens", "tools", "tool_choice",
  "temperature", "top_p", "stop_sequences", NULL,
};

static gboolean
decode_tools (JsonArray   *tools,
              UsIrRequest *req,
              GError     **error)
{
  static const char * const known[] = { "name", "description", "input_schema", "type", NULL };

  for (guint i = 0; tools != NULL && i < json_array_get_length (tools); i++)
    {
      JsonNode *node = json_array_get_element (tools, i);
      JsonObject *def;
      const char *type;
      UsIrTool *tool;

      if (!JSON_NODE_HOLDS_OBJECT (node))
        {
          g_set_error (error, US_TRANSLATE_ERROR, US_TRANSLATE_ERROR_INVALID,
                       "tools[%u] is not an object", i);
          return FALSE;
        }
      def = json_node_get_object (node);
      type = us_json_get_string (def, "type");

      /* Typed tools (web_search_…, bash_…, text_editor_…) run on
       * Anthropic's side: only Anthropic can take them. */
      if (type != NULL && strcmp (type, "custom") != 0)
        {
          tool = us_ir_tool_new (US_IR_TOOL_OPAQUE);
          tool->name = g_strdup (us_json_get_string (def, "name"));
          tool->raw = json_node_copy (node);
          tool->extra_fmt = US_WIRE_ANTHROPIC;
        }
      else
        {
          JsonNode *schema = json_object_get_member (def, "input_schema");

          tool = us_ir_tool_new (US_IR_TOOL_FUNCTION);
          tool->name = g_strdup (us_json_get_string (def, "name"));
          tool->description = g_strdup (us_json_get_string (def, "description"));
          tool->schema = schema ? json_node_copy (schema) : NULL;
          tool->extra = us_json_unknown_members (def, known);
          tool->extra_fmt = US_WIRE_ANTHROPIC;
          if (tool->name == NULL)
            {
              us_ir_tool_free (tool);
              g_set_error (error, US_TRANSLATE_ERROR, US_TRANSLATE_ERROR_INVALID,
                           "tools[%u] has no name", i);
              return FALSE;
            }
        }
      g_ptr_array_add (req->tools, tool);
    }
  return TRUE;
}

static void
decode_tool_choice (JsonObject  *choice,
                    UsIrRequest *req)
{
  const char *type = us_json_get_string (choice, "type");

  if (g_strcmp0 (type, "auto") == 0)
    req->tool_choice = US_IR_TOOL_CHOICE_AUTO;
  else if (g_strcmp0 (type, "any") == 0)
    req->tool_choice = US_IR_TOOL_CHOICE_ANY;
  else if (g_strcmp0 (type, "none") == 0)
    req->tool_choice = US_IR_TOOL_CHOICE_NONE;
  else if (g_strcmp0 (type, "tool") == 0)
    {
      req->tool_choice = US_IR_TOOL_CHOICE_TOOL;
      req->tool_choice_name = g_strdup (us_json_get_string (choice, "name"));
    }
  if (choice != NULL && json_object_has_member (choice, "disable_parallel_tool_use"))
    {
      req->parallel_tool_calls_set = TRUE;
      req->parallel_tool_calls = !us_json_get_bool (choice, "disable_parallel_tool_use", FALSE);
    }
}

static void
decode_thinking (JsonObject  *body,
                 UsIrRequest *req)
{
  JsonObject *thinking = us_json_get_object (body, "thinking");
  JsonObject *output_config = us_json_get_object (body, "output_config");
  const char *type = us_json_get_string (thinking, "type");

  req->thinking = type != NULL && strcmp (type, "disabled") != 0;
  req->thinking_budget = us_json_get_int (thinking, "budget_tokens", 0);
  if (req->thinking)
    req->reasoning_effort = g_strdup (us_json_get_string (output_config, "effort"));
}

static gboolean
anthropic_request_decode (JsonObject  *body,
                          UsIrRequest *req,
                          GError     **error)
{
  JsonArray *messages = us_json_get_array (body, "messages");
  JsonArray *stop = us_json_get_array (body, "stop_sequences");
  JsonObject *tool_choice = us_json_get_object (body, "tool_choice");

  req->model = g_strdup (us_json_get_string (body, "model"));
  if (req->model == NULL)
    {
      g_set_error (error, US_TRANSLATE_ERROR, US_TRANSLATE_ERROR_INVALID,
                   "model: a string is required");
      return FALSE;
    }
  if (messages == NULL)
    {
      g_set_error (error, US_TRANSLATE_ERROR, US_TRANSLATE_ERROR_INVALID,
                   "messages: an array is required");
      return FALSE;
    }

  req->stream = us_json_get_bool (body, "stream", FALSE);
  req->max_tokens = us_json_get_int (body, "max_tokens", 0);
  req->has_temperature = us_json_get_double (body, "temperature", &req->temperature);
  req->has_top_p = us_json_get_double (body, "top_p", &req->top_p);
  for (guint i = 0; stop != NULL && i < json_array_get_length (stop); i++)
    {
      const char *s = json_array_get_string_element (stop, i);

      if (s != NULL)
        g_ptr_array_add (req->stop, g_strdup (s));
    }
  decode_thinking (body, req);
  if (tool_choice != NULL)
    decode_tool_choice (tool_choice, req);
  req->extra = us_json_unknown_members (body, request_known);

  req->system_as_string = is_string (json_object_get_member (body, "system"));
  if (!decode_blocks (json_object_get_member (body, "system"), req->system, error))
    {
      g_prefix_error (error, "system: ");
      return FALSE;
    }

  for (guint i = 0; i < json_array_get_length (messages); i++)
    {
      static const char * const msg_known[] = { "role", "content", NULL };
      JsonNode *node = json_array_get_element (messages, i);
      JsonObject *obj;
      const char *role;
      UsIrMessage *msg;

      if (!JSON_NODE_HOLDS_OBJECT (node))
        {
          g_set_error (error, US_TRANSLATE_ERROR, US_TRANSLATE_ERROR_INVALID,
                       "messages[%u] is not an object", i);
          return FALSE;
        }
      obj = json_node_get_object (node);
      role = us_json_get_string (obj, "role");
      if (g_strcmp0 (role, "user") == 0)
        msg = us_ir_message_new (US_IR_ROLE_USER);
      else if (g_strcmp0 (role, "assistant") == 0)
        msg = us_ir_message_new (US_IR_ROLE_ASSISTANT);
      else if (g_strcmp0 (role, "system") == 0)
        msg = us_ir_message_new (US_IR_ROLE_SYSTEM);
      else
        {
          g_set_error (error, US_TRANSLATE_ERROR, US_TRANSLATE_ERROR_INVALID,
                       "messages[%u].role: unknown role", i);
          return FALSE;
        }
      g_ptr_array_add (req->messages, msg);
      msg->extra = us_json_unknown_members (obj, msg_known);
      msg->extra_fmt = US_WIRE_ANTHROPIC;
      msg->as_string = is_string (json_object_get_member (obj, "content"));
      if (!decode_blocks (json_object_get_member (obj, "content"), msg->parts, error))
        {
          g_prefix_error (error, "messages[%u]: ", i);
          return FALSE;
        }
    }

  return decode_tools (us_json_get_array (body, "tools"), req, error);
}

/* ---- Encoding blocks ---- */

typedef enum {
  TO_PROVIDER,  /* thinking only when Anthropic signed it */
  TO_CLIENT,    /* foreign signatures wrapped, so they come back marked */
} Direction;

static void
add_extra (JsonObject     *obj,
           const UsIrPart *part)
{
  if (part->extra_fmt == US_WIRE_ANTHROPIC)
    us_json_copy_members (obj, part->extra, NULL);
}

static JsonObject *
encode_image (const UsIrPart *part)
{
  JsonObject *obj = json_object_new ();
  JsonObject *source = json_object_new ();

  json_object_set_string_member (obj, "type", "image");
  if (part->url != NULL)
    {
      json_object_set_string_member (source, "type", "url");
      json_object_set_string_member (source, "url", part->url);
    }
  else
    {
      json_object_set_string_member (source, "type", "base64");
      json_object_set_string_member (source, "media_type",
                                     part->media_type ? part->media_type : "image/png");
      json_object_set_string_member (source, "data", part->data ? part->data : "");
    }
  json_object_set_object_member (obj, "source", source);
  add_extra (obj, part);
  return obj;
}

/* Anthropic wants tool input as an object; a model's broken JSON is kept
 * readable rather than silently lost. */
static JsonNode *
arguments_to_input (const char *arguments)
{
  g_autoptr(JsonNode) node = NULL;
  JsonObject *wrapper;
  JsonNode *result;

  if (arguments == NULL || *arguments == '\0')
    return json_node_init_object (json_node_alloc (), json_object_new ());
  node = us_json_parse (arguments, -1, NULL);
  if (node != NULL && JSON_NODE_HOLDS_OBJECT (node))
    return g_steal_pointer (&node);

  wrapper = json_object_new ();
  json_object_set_string_member (wrapper, "_arguments", arguments);
  result = json_node_init_object (json_node_alloc (), wrapper);
  json_object_unref (wrapper);
  return result;
}

static JsonObject *encode_block (const UsIrPart *part, Direction dir);

static JsonNode *
encode_tool_result_content (const UsIrPart *part)
{
  JsonArray *array;
  JsonNode *node;

  if (part->content == NULL || part->content->len == 0)
    return json_node_init_string (json_node_alloc (), "");
  if (part->content->len == 1 && (part->as_string || part->extra_fmt != US_WIRE_ANTHROPIC))
    {
      UsIrPart *only = g_ptr_array_index (part->content, 0);

      if (only->kind == US_IR_PART_TEXT && only->extra == NULL)
        return json_node_init_string (json_node_alloc (), only->text);
    }

  array = json_array_new ();
  for (guint i = 0; i < part->content->len; i++)
    {
      JsonObject *block = encode_block (g_ptr_array_index (part->content, i), TO_PROVIDER);

      if (block != NULL)
        json_array_add_object_element (array, block);
    }
  node = json_node_init_array (json_node_alloc (), array);
  json_array_unref (array);
  return node;
}

/* NULL: the block has no place in Anthropic (or is empty, which the API
 * rejects). */
static JsonObject *
encode_block (const UsIrPart *part,
              Direction       dir)
{
  JsonObject *obj;

  switch (part->kind)
    {
    case US_IR_PART_TEXT:
      if (part->text == NULL || *part->text == '\0')
        return NULL;
      obj = json_object_new ();
      json_object_set_string_member (obj, "type", "text");
      json_object_set_string_member (obj, "text", part->text);
      add_extra (obj, part);
      return obj;

    case US_IR_PART_IMAGE:
      return encode_image (part);

    case US_IR_PART_TOOL_CALL:
      obj = json_object_new ();
      json_object_set_string_member (obj, "type", "tool_use");
      json_object_set_string_member (obj, "id", part->tool_id ? part->tool_id : "");
      json_object_set_string_member (obj, "name", part->tool_name ? part->tool_name : "");
      json_object_set_member (obj, "input", arguments_to_input (part->arguments));
      add_extra (obj, part);
      return obj;

    case US_IR_PART_TOOL_RESULT:
      obj = json_object_new ();
      json_object_set_string_member (obj, "type", "tool_result");
      json_object_set_string_member (obj, "tool_use_id", part->tool_id ? part->tool_id : "");
      json_object_set_member (obj, "content", encode_tool_result_content (part));
      if (part->is_error)
        json_object_set_boolean_member (obj, "is_error", TRUE);
      add_extra (obj, part);
      return obj;

    case US_IR_PART_THINKING:
      {
        g_autofree char *signature = NULL;

        if (dir == TO_PROVIDER && part->signed_by != US_WIRE_ANTHROPIC)
          return NULL;
        signature = part->signed_by == US_WIRE_ANTHROPIC
          ? g_strdup (part->signature)
          : us_ir_signature_wrap (part->signed_by, part->signature);
        obj = json_object_new ();
        json_object_set_string_member (obj, "type", "thinking");
        json_object_set_string_member (obj, "thinking", part->text ? part->text : "");
        json_object_set_string_member (obj, "signature", signature ? signature : "");
        return obj;
      }

    case US_IR_PART_REDACTED_THINKING:
      if (part->signed_by != US_WIRE_ANTHROPIC)
        return NULL;
      obj = json_object_new ();
      json_object_set_string_member (obj, "type", "redacted_thinking");
      json_object_set_string_member (obj, "data", part->data ? part->data : "");
      return obj;

    case US_IR_PART_OPAQUE:
    default:
      if (part->extra_fmt != US_WIRE_ANTHROPIC || part->raw == NULL
          || !JSON_NODE_HOLDS_OBJECT (part->raw))
        return NULL;
      return json_object_ref (json_node_get_object (part->raw));
    }
}

/* Tool results first: Anthropic wants them right after the tool_use turn. */
static void
encode_parts (JsonArray *array,
              GPtrArray *parts,
              Direction  dir,
              gboolean   results)
{
  for (guint i = 0; i < parts->len; i++)
    {
      UsIrPart *part = g_ptr_array_index (parts, i);
      JsonObject *block;

      if ((part->kind == US_IR_PART_TOOL_RESULT) != results)
        continue;
      block = encode_block (part, dir);
      if (block != NULL)
        json_array_add_object_element (array, block);
    }
}

/* ---- Request encoding ---- */

static const char *
role_name (UsIrRole role)
{
  switch (role)
    {
    case US_IR_ROLE_SYSTEM:
      return "system";
    case US_IR_ROLE_ASSISTANT:
      return "assistant";
    case US_IR_ROLE_USER:
    default:
      return "user";
    }
}

static gboolean
single_plain_text (JsonArray *content)
{
  JsonObject *block;

  if (json_array_get_length (content) != 1)
    return FALSE;
  block = json_array_get_object_element (content, 0);
  return json_object_get_size (block) == 2
    && g_strcmp0 (us_json_get_string (block, "type"), "text") == 0;
}

/* A finished turn goes back to a plain string if the client sent one; that
 * keeps same-format requests faithful. */
static void
finish_turn (JsonObject *turn,
             gboolean    as_string)
{
  JsonArray *blocks;

  if (turn == NULL || !as_string)
    return;
  blocks = json_object_get_array_member (turn, "content");
  if (single_plain_text (blocks))
    json_object_set_member (turn, "content",
                            json_node_copy (json_object_get_member (json_array_get_object_element (blocks, 0), "text")));
}

/* System turns ahead of the conversation (Chat, Responses) belong in
 * Anthropic's top-level system; later ones stay where they are, as Claude
 * Code itself sends them. */
static guint
leading_system (const UsIrRequest *req)
{
  guint n = 0;

  if (req->src_fmt == US_WIRE_ANTHROPIC)
    return 0;
  while (n < req->messages->len
         && ((UsIrMessage *) g_ptr_array_index (req->messages, n))->role == US_IR_ROLE_SYSTEM)
    n++;
  return n;
}

static JsonArray *
encode_messages (const UsIrRequest *req)
{
  JsonArray *messages = json_array_new ();
  JsonObject *current = NULL;
  UsIrRole current_role = US_IR_ROLE_USER;
  gboolean current_string = FALSE;

  for (guint i = leading_system (req); i < req->messages->len; i++)
    {
      UsIrMessage *msg = g_ptr_array_index (req->messages, i);
      g_autoptr(JsonArray) content = json_array_new ();
      gboolean own_extra = msg->extra_fmt == US_WIRE_ANTHROPIC && msg->extra != NULL;

      encode_parts (content, msg->parts, TO_PROVIDER, TRUE);
      encode_parts (content, msg->parts, TO_PROVIDER, FALSE);
      if (json_array_get_length (content) == 0)
        continue;

      /* Providers differ on consecutive same-role turns: merge them. */
      if (current != NULL && current_role == msg->role && msg->role != US_IR_ROLE_SYSTEM
          && !own_extra)
        {
          JsonArray *prev = json_object_get_array_member (current, "content");

          for (guint j = 0; j < json_array_get_length (content); j++)
            json_array_add_element (prev, json_node_copy (json_array_get_element (content, j)));
          current_string = FALSE;
          continue;
        }

      finish_turn (current, current_string);
      current = json_object_new ();
      current_role = msg->role;
      current_string = msg->as_string;
      json_object_set_string_member (current, "role", role_name (msg->role));
      json_object_set_array_member (current, "content", json_array_ref (content));
      if (own_extra)
        us_json_copy_members (current, msg->extra, NULL);
      json_array_add_object_element (messages, current);
    }
  finish_turn (current, current_string);
  return messages;
}

/* With thinking on, Anthropic insists that an assistant turn in the middle
 * of a tool loop starts with a thinking block it signed. History served by
 * another provider has none, so thinking must stay off for that request. */
static gboolean
thinking_possible (const UsIrRequest *req,
                   gboolean           strict)
{
  for (guint i = req->messages->len; i > 0; i--)
    {
      UsIrMessage *msg = g_ptr_array_index (req->messages, i - 1);
      gboolean has_call = FALSE;
      UsIrPart *first = NULL;

      if (msg->role == US_IR_ROLE_USER)
        {
          gboolean has_result = FALSE;

          for (guint j = 0; j < msg->parts->len; j++)
            has_result |= ((UsIrPart *) g_ptr_array_index (msg->parts, j))->kind == US_IR_PART_TOOL_RESULT;
          if (!has_result)
            return TRUE;
          continue;
        }
      if (msg->role != US_IR_ROLE_ASSISTANT)
        continue;

      for (guint j = 0; j < msg->parts->len; j++)
        {
          UsIrPart *part = g_ptr_array_index (msg->parts, j);

          if (first == NULL && (part->kind != US_IR_PART_TEXT || *part->text != '\0'))
            first = part;
          has_call |= part->kind == US_IR_PART_TOOL_CALL;
        }
      if (!has_call)
        return TRUE;
      /* The client's own Anthropic history is its business; only a
       * thinking block we drop (foreign signature) breaks it. */
      if (first != NULL
          && (first->kind == US_IR_PART_THINKING || first->kind == US_IR_PART_REDACTED_THINKING))
        return first->signed_by == US_WIRE_ANTHROPIC;
      if (strict)
        return FALSE;
    }
  return TRUE;
}

static gint64
thinking_budget (const UsIrRequest *req,
                 gint64             max_tokens)
{
  gint64 budget = req->thinking_budget;

  if (budget <= 0)
    {
      if (g_strcmp0 (req->reasoning_effort, "low") == 0 || g_strcmp0 (req->reasoning_effort, "minimal") == 0)
        budget = 2048;
      else if (g_strcmp0 (req->reasoning_effort, "high") == 0 || g_strcmp0 (req->reasoning_effort, "xhigh") == 0)
        budget = 16384;
      else
        budget = 8192;
    }
  /* The budget has to leave room for the answer. */
  budget = MIN (budget, max_tokens / 2);
  return budget >= MIN_THINKING_BUDGET ? budget : 0;
}

static void
encode_tools (JsonObject        *body,
              const UsIrRequest *req)
{
  JsonArray *tools = json_array_new ();

  for (guint i = 0; i < req->tools->len; i++)
    {
      UsIrTool *tool = g_ptr_array_index (req->tools, i);
      JsonObject *def;

      if (tool->kind == US_IR_TOOL_OPAQUE)
        {
          if (tool->extra_fmt == US_WIRE_ANTHROPIC && tool->raw != NULL
              && JSON_NODE_HOLDS_OBJECT (tool->raw))
            json_array_add_object_element (tools, json_object_ref (json_node_get_object (tool->raw)));
          continue;
        }
      def = json_object_new ();
      json_object_set_string_member (def, "name", tool->name);
      if (tool->description != NULL)
        json_object_set_string_member (def, "description", tool->description);
      if (tool->schema != NULL && JSON_NODE_HOLDS_OBJECT (tool->schema))
        json_object_set_member (def, "input_schema", json_node_copy (tool->schema));
      else
        {
          JsonObject *schema = json_object_new ();

          json_object_set_string_member (schema, "type", "object");
          json_object_set_object_member (schema, "properties", json_object_new ());
          json_object_set_object_member (def, "input_schema", schema);
        }
      if (tool->extra_fmt == US_WIRE_ANTHROPIC)
        us_json_copy_members (def, tool->extra, NULL);
      json_array_add_object_element (tools, def);
    }

  if (json_array_get_length (tools) > 0)
    json_object_set_array_member (body, "tools", tools);
  else
    json_array_unref (tools);
}

static void
encode_tool_choice (JsonObject        *body,
                    const UsIrRequest *req)
{
  JsonObject *choice;
  const char *type = NULL;

  if (!json_object_has_member (body, "tools"))
    return;
  switch (req->tool_choice)
    {
    case US_IR_TOOL_CHOICE_AUTO: type = "auto"; break;
    case US_IR_TOOL_CHOICE_ANY: type = "any"; break;
    case US_IR_TOOL_CHOICE_NONE: type = "none"; break;
    case US_IR_TOOL_CHOICE_TOOL: type = "tool"; break;
    case US_IR_TOOL_CHOICE_UNSET:
    default:
      if (req->parallel_tool_calls_set && !req->parallel_tool_calls)
        type = "auto";
      break;
    }
  if (type == NULL)
    return;

  choice = json_object_new ();
  json_object_set_string_member (choice, "type", type);
  if (req->tool_choice == US_IR_TOOL_CHOICE_TOOL)
    json_object_set_string_member (choice, "name", req->tool_choice_name ? req->tool_choice_name : "");
  if (req->parallel_tool_calls_set && req->tool_choice != US_IR_TOOL_CHOICE_NONE)
    json_object_set_boolean_member (choice, "disable_parallel_tool_use", !req->parallel_tool_calls);
  json_object_set_object_member (body, "tool_choice", choice);
}

static JsonNode *
anthropic_request_encode (const UsIrRequest *req,
                          const char        *model,
                          gint64             max_output_tokens,
                          GError           **error)
{
  JsonObject *body = json_object_new ();
  JsonNode *root = json_node_init_object (json_node_alloc (), body);
  gboolean same = req->src_fmt == US_WIRE_ANTHROPIC;
  gboolean thinking = req->thinking && thinking_possible (req, !same);
  gint64 max_tokens = req->max_tokens > 0 ? req->max_tokens : DEFAULT_MAX_TOKENS;
  g_autoptr(JsonArray) system = json_array_new ();

  if (max_output_tokens > 0)
    max_tokens = req->max_tokens > 0 ? MIN (max_tokens, max_output_tokens) : max_output_tokens;

  json_object_set_string_member (body, "model", model);
  json_object_set_int_member (body, "max_tokens", max_tokens);
  json_object_unref (body);

  encode_parts (system, req->system, TO_PROVIDER, FALSE);
  for (guint i = 0; i < leading_system (req); i++)
    encode_parts (system, ((UsIrMessage *) g_ptr_array_index (req->messages, i))->parts,
                  TO_PROVIDER, FALSE);
  if (req->system_as_string && single_plain_text (system))
    json_object_set_member (body, "system",
                            json_node_copy (json_object_get_member (json_array_get_object_element (system, 0), "text")));
  else if (json_array_get_length (system) > 0)
    json_object_set_array_member (body, "system", json_array_ref (system));
  json_object_set_array_member (body, "messages", encode_messages (req));

  encode_tools (body, req);
  encode_tool_choice (body, req);

  if (req->stop->len > 0)
    {
      JsonArray *stop = json_array_new ();

      for (guint i = 0; i < req->stop->len; i++)
        json_array_add_string_element (stop, g_ptr_array_index (req->stop, i));
      json_object_set_array_member (body, "stop_sequences", stop);
    }

  if (thinking && same)
    ; /* the client's own thinking object comes back with the extras */
  else if (thinking)
    {
      gint64 budget = thinking_budget (req, max_tokens);

      if (budget > 0)
        {
          JsonObject *t = json_object_new ();

          json_object_set_string_member (t, "type", "enabled");
          json_object_set_int_member (t, "budget_tokens", budget);
          json_object_set_object_member (body, "thinking", t);
        }
      else
        thinking = FALSE;
    }

  /* Anthropic refuses sampling settings next to thinking, and newer models
   * refuse temperature together with top_p: temperature wins. An Anthropic
   * client's own choice is its own. */
  if (same)
    {
      if (req->has_temperature)
        json_object_set_double_member (body, "temperature", req->temperature);
      if (req->has_top_p)
        json_object_set_double_member (body, "top_p", req->top_p);
    }
  else if (!thinking)
    {
      if (req->has_temperature)
        json_object_set_double_member (body, "temperature", CLAMP (req->temperature, 0.0, 1.0));
      else if (req->has_top_p)
        json_object_set_double_member (body, "top_p", req->top_p);
    }

  if (req->stream)
    json_object_set_boolean_member (body, "stream", TRUE);

  if (same)
    {
      /* Thinking-only settings go when thinking had to be turned off. */
      static const char * const no_thinking[] = { "thinking", "context_management", NULL };

      us_json_copy_members (body, req->extra,
                            req->thinking && !thinking ? no_thinking : NULL);
    }
  return root;
}

/* ---- Whole responses ---- */

static void
decode_usage (JsonObject *usage,
              UsUsage    *out)
{
  if (usage == NULL)
    return;
  out->input_tokens = us_json_get_int (usage, "input_tokens", out->input_tokens);
  out->output_tokens = us_json_get_int (usage, "output_tokens", out->output_tokens);
  out->cache_read_tokens = us_json_get_int (usage, "cache_read_input_tokens", out->cache_read_tokens);
  out->cache_write_tokens = us_json_get_int (usage, "cache_creation_input_tokens", out->cache_write_tokens);
}

static JsonObject *
encode_usage (const UsUsage *usage)
{
  JsonObject *obj = json_object_new ();

  json_object_set_int_member (obj, "input_tokens", usage->input_tokens);
  json_object_set_int_member (obj, "cache_creation_input_tokens", usage->cache_write_tokens);
  json_object_set_int_member (obj, "cache_read_input_tokens", usage->cache_read_tokens);
  json_object_set_int_member (obj, "output_tokens", usage->output_tokens);
  return obj;
}

static gboolean
anthropic_response_decode (JsonObject   *body,
                           UsIrResponse *resp,
                           GError      **error)
{
  if (g_strcmp0 (us_json_get_string (body, "type"), "message") != 0
      && us_json_get_array (body, "content") == NULL)
    {
      g_set_error (error, US_TRANSLATE_ERROR, US_TRANSLATE_ERROR_INVALID,
                   "Not an Anthropic message");
      return FALSE;
    }
  resp->id = g_strdup (us_json_get_string (body, "id"));
  resp->model = g_strdup (us_json_get_string (body, "model"));
  resp->stop_reason = us_ir_stop_reason_from_anthropic (us_json_get_string (body, "stop_reason"));
  resp->stop_sequence = g_strdup (us_json_get_string (body, "stop_sequence"));
  decode_usage (us_json_get_object (body, "usage"), &resp->usage);
  return decode_blocks (json_object_get_member (body, "content"), resp->parts, error);
}

static JsonNode *
anthropic_response_encode (const UsIrResponse *resp,
                           const char         *model)
{
  JsonObject *body = json_object_new ();
  JsonArray *content = json_array_new ();
  g_autofree char *id = us_ir_derive_id ("msg_", resp->id);

  json_object_set_string_member (body, "id", id);
  json_object_set_string_member (body, "type", "message");
  json_object_set_string_member (body, "role", "assistant");
  json_object_set_string_member (body, "model", model ? model : "");
  encode_parts (content, resp->parts, TO_CLIENT, FALSE);
  json_object_set_array_member (body, "content", content);
  json_object_set_string_member (body, "stop_reason",
                                 us_ir_stop_reason_to_anthropic (resp->stop_reason));
  if (resp->stop_sequence != NULL)
    json_object_set_string_member (body, "stop_sequence", resp->stop_sequence);
  else
    json_object_set_null_member (body, "stop_sequence");
  json_object_set_object_member (body, "usage", encode_usage (&resp->usage));
  return json_node_init_object (json_node_alloc (), body);
}

/* ---- Errors ---- */

static JsonNode *
anthropic_error_encode (guint       status,
                        const char *type,
                        const char *message)
{
  JsonObject *body = json_object_new ();
  JsonObject *error = json_object_new ();
  JsonNode *root;

  json_object_set_string_member (body, "type", "error");
  json_object_set_string_member (error, "type", type);
  json_object_set_string_member (error, "message", message);
  json_object_set_object_member (body, "error", error);
  root = json_node_init_object (json_node_alloc (), body);
  json_object_unref (body);
  return root;
}

static gboolean
anthropic_error_decode (JsonObject *body,
                        guint       status,
                        char      **type,
                        char      **message)
{
  JsonObject *error = us_json_get_object (body, "error");
  const char *t = us_json_get_string (error, "type");

  if (g_strcmp0 (us_json_get_string (body, "type"), "error") != 0 || t == NULL)
    return FALSE;
  *type = g_strdup (t);
  *message = g_strdup (us_json_get_string (error, "message"));
  if (*message == NULL)
    *message = g_strdup (t);
  return TRUE;
}

/* ---- Stream decoding ---- */

typedef struct {
  UsIrEventFunc func;
  gpointer      user_data;
  UsUsage       usage;
  GArray       *kinds;        /* UsIrPartKind per upstream block index */
} Decoder;

static gpointer
anthropic_decoder_new (UsIrEventFunc func,
                       gpointer      user_data)
{
  Decoder *dec = g_new0 (Decoder, 1);

  dec->func = func;
  dec->user_data = user_data;
  dec->kinds = g_array_new (FALSE, TRUE, sizeof (UsIrPartKind));
  return dec;
}

static void
anthropic_decoder_free (gpointer data)
{
  Decoder *dec = data;

  g_array_unref (dec->kinds);
  g_free (dec);
}

static void
emit (Decoder   *dec,
      UsIrEvent *ev)
{
  ev->usage = &dec->usage;
  dec->func (ev, dec->user_data);
}

static UsIrPartKind
block_kind (const char *type)
{
  if (g_strcmp0 (type, "text") == 0)
    return US_IR_PART_TEXT;
  if (g_strcmp0 (type, "tool_use") == 0)
    return US_IR_PART_TOOL_CALL;
  if (g_strcmp0 (type, "thinking") == 0)
    return US_IR_PART_THINKING;
  if (g_strcmp0 (type, "redacted_thinking") == 0)
    return US_IR_PART_REDACTED_THINKING;
  /* server_tool_use, web_search_tool_result, ...: content, but only an
   * Anthropic client can read it. */
  return US_IR_PART_OPAQUE;
}

static void
decode_block_start (Decoder    *dec,
                    JsonObject *obj)
{
  JsonObject *block = us_json_get_object (obj, "content_block");
  gint64 index = us_json_get_int (obj, "index", -1);
  UsIrEvent ev = { .kind = US_IR_EV_BLOCK_START };
  const char *text;
  g_autofree char *input = NULL;
  const char *native = NULL;

  /* Indexes bound the kinds table: refuse absurd ones. */
  if (block == NULL || index < 0 || index > 4096)
    return;
  ev.index = (guint) index;
  ev.block = block_kind (us_json_get_string (block, "type"));
  if (dec->kinds->len <= ev.index)
    g_array_set_size (dec->kinds, ev.index + 1);
  g_array_index (dec->kinds, UsIrPartKind, ev.index) = ev.block;

  ev.tool_id = us_json_get_string (block, "id");
  ev.tool_name = us_json_get_string (block, "name");
  if (ev.block == US_IR_PART_REDACTED_THINKING)
    {
      ev.text = us_json_get_string (block, "data");
      ev.text_len = ev.text ? strlen (ev.text) : 0;
      ev.signed_by = US_WIRE_ANTHROPIC;
    }
  if (ev.block == US_IR_PART_THINKING)
    ev.signed_by = us_ir_signature_unwrap (us_json_get_string (block, "signature"),
                                           US_WIRE_ANTHROPIC, &native);
  ev.signature = native;
  emit (dec, &ev);

  /* Some servers put the first content in the start event itself. */
  ev.kind = US_IR_EV_BLOCK_DELTA;
  ev.signature = NULL;
  text = NULL;
  if (ev.block == US_IR_PART_TEXT)
    {
      text = us_json_get_string (block, "text");
      ev.delta = US_IR_DELTA_TEXT;
    }
  else if (ev.block == US_IR_PART_THINKING)
    {
      text = us_json_get_string (block, "thinking");
      ev.delta = US_IR_DELTA_THINKING;
    }
  else if (ev.block == US_IR_PART_TOOL_CALL)
    {
      JsonObject *in = us_json_get_object (block, "input");

      if (in != NULL && json_object_get_size (in) > 0)
        text = input = us_json_to_string (json_object_get_member (block, "input"));
      ev.delta = US_IR_DELTA_ARGUMENTS;
    }
  if (text != NULL && *text != '\0')
    {
      ev.text = text;
      ev.text_len = strlen (text);
      emit (dec, &ev);
    }
}

static void
decode_block_delta (Decoder    *dec,
                    JsonObject *obj)
{
  JsonObject *delta = us_json_get_object (obj, "delta");
  const char *type = us_json_get_string (delta, "type");
  gint64 index = us_json_get_int (obj, "index", -1);
  UsIrEvent ev = { .kind = US_IR_EV_BLOCK_DELTA };
  const char *native = NULL;

  if (delta == NULL || index < 0 || index > G_MAXUINT)
    return;
  ev.index = (guint) index;
  ev.block = ev.index < dec->kinds->len
    ? g_array_index (dec->kinds, UsIrPartKind, ev.index) : US_IR_PART_OPAQUE;

  if (g_strcmp0 (type, "text_delta") == 0)
    {
      ev.delta = US_IR_DELTA_TEXT;
      ev.text = us_json_get_string (delta, "text");
    }
  else if (g_strcmp0 (type, "input_json_delta") == 0)
    {
      ev.delta = US_IR_DELTA_ARGUMENTS;
      ev.text = us_json_get_string (delta, "partial_json");
    }
  else if (g_strcmp0 (type, "thinking_delta") == 0)
    {
      ev.delta = US_IR_DELTA_THINKING;
      ev.text = us_json_get_string (delta, "thinking");
    }
  else if (g_strcmp0 (type, "signature_delta") == 0)
    {
      ev.delta = US_IR_DELTA_SIGNATURE;
      ev.signed_by = us_ir_signature_unwrap (us_json_get_string (delta, "signature"),
                                             US_WIRE_ANTHROPIC, &native);
      ev.text = native;
    }
  else
    {
      /* citations_delta and future kinds: content, nothing to translate. */
      ev.block = US_IR_PART_OPAQUE;
      ev.text = NULL;
    }
  ev.text_len = ev.text ? strlen (ev.text) : 0;
  emit (dec, &ev);
}

static void
anthropic_decoder_event (gpointer    data,
                         const char *event,
                         const char *text,
                         gsize       len)
{
  Decoder *dec = data;
  g_autoptr(JsonNode) root = us_json_parse (text, (gssize) len, NULL);
  JsonObject *obj;
  const char *type;
  UsIrEvent ev = { 0 };

  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return;
  obj = json_node_get_object (root);
  /* The data's own type is authoritative; the event line is a copy. */
  type = us_json_get_string (obj, "type");
  if (type == NULL)
    type = event;
  if (type == NULL)
    return;

  if (strcmp (type, "message_start") == 0)
    {
      JsonObject *message = us_json_get_object (obj, "message");

      decode_usage (us_json_get_object (message, "usage"), &dec->usage);
      ev.kind = US_IR_EV_MESSAGE_START;
      ev.id = us_json_get_string (message, "id");
      ev.model = us_json_get_string (message, "model");
      emit (dec, &ev);
    }
  else if (strcmp (type, "content_block_start") == 0)
    decode_block_start (dec, obj);
  else if (strcmp (type, "content_block_delta") == 0)
    decode_block_delta (dec, obj);
  else if (strcmp (type, "content_block_stop") == 0)
    {
      gint64 index = us_json_get_int (obj, "index", -1);

      if (index < 0 || index > G_MAXUINT)
        return;
      ev.kind = US_IR_EV_BLOCK_STOP;
      ev.index = (guint) index;
      ev.block = ev.index < dec->kinds->len
        ? g_array_index (dec->kinds, UsIrPartKind, ev.index) : US_IR_PART_OPAQUE;
      emit (dec, &ev);
    }
  else if (strcmp (type, "message_delta") == 0)
    {
      JsonObject *delta = us_json_get_object (obj, "delta");

      decode_usage (us_json_get_object (obj, "usage"), &dec->usage);
      ev.kind = US_IR_EV_MESSAGE_DELTA;
      ev.stop_reason = us_ir_stop_reason_from_anthropic (us_json_get_string (delta, "stop_reason"));
      ev.stop_sequence = us_json_get_string (delta, "stop_sequence");
      emit (dec, &ev);
    }
  else if (strcmp (type, "message_stop") == 0)
    {
      ev.kind = US_IR_EV_MESSAGE_STOP;
      emit (dec, &ev);
    }
  else if (strcmp (type, "error") == 0)
    {
      JsonObject *error = us_json_get_object (obj, "error");

      ev.kind = US_IR_EV_ERROR;
      ev.error_type = us_json_get_string (error, "type");
      ev.text = us_json_get_string (error, "message");
      ev.text_len = ev.text ? strlen (ev.text) : 0;
      emit (dec, &ev);
    }
  /* ping and unknown events carry nothing to translate. */
}

static void
anthropic_decoder_finish (gpointer data)
{
}

/* ---- Stream encoding ---- */

typedef struct {
  char     *model;
  gboolean  started;
  gboolean  delta_sent;
  gboolean  stopped;
  GArray   *map;              /* IR index → client index, -1 if skipped */
  guint     next_index;
  gint      open;             /* client index of the open block, or -1 */
  UsUsage   usage;
} Encoder;

static gpointer
anthropic_encoder_new (const char *model)
{
  Encoder *enc = g_new0 (Encoder, 1);

  enc->model = g_strdup (model);
  enc->map = g_array_new (FALSE, FALSE, sizeof (gint));
  enc->open = -1;
  return enc;
}

static void
anthropic_encoder_free (gpointer data)
{
  Encoder *enc = data;

  g_free (enc->model);
  g_array_unref (enc->map);
  g_free (enc);
}

static JsonObject *
event_object (const char *type)
{
  JsonObject *obj = json_object_new ();

  json_object_set_string_member (obj, "type", type);
  return obj;
}

static void
write_message_start (Encoder    *enc,
                     const char *id,
                     GString    *out)
{
  JsonObject *obj = event_object ("message_start");
  JsonObject *message = json_object_new ();
  g_autofree char *msg_id = us_ir_derive_id ("msg_", id);
  UsUsage usage = enc->usage;

  json_object_set_string_member (message, "id", msg_id);
  json_object_set_string_member (message, "type", "message");
  json_object_set_string_member (message, "role", "assistant");
  json_object_set_string_member (message, "model", enc->model ? enc->model : "");
  json_object_set_array_member (message, "content", json_array_new ());
  json_object_set_null_member (message, "stop_reason");
  json_object_set_null_member (message, "stop_sequence");
  usage.output_tokens = MAX (usage.output_tokens, 1);
  json_object_set_object_member (message, "usage", encode_usage (&usage));
  json_object_set_object_member (obj, "message", message);
  us_ir_append_event (out, "message_start", obj);
  enc->started = TRUE;
}

static void
ensure_started (Encoder *enc,
                GString *out)
{
  if (!enc->started)
    write_message_start (enc, NULL, out);
}

static void
close_open_block (Encoder *enc,
                  GString *out)
{
  JsonObject *obj;

  if (enc->open < 0)
    return;
  obj = event_object ("content_block_stop");
  json_object_set_int_member (obj, "index", enc->open);
  us_ir_append_event (out, "content_block_stop", obj);
  enc->open = -1;
}

static gint
client_index (Encoder *enc,
              guint    ir_index)
{
  return ir_index < enc->map->len ? g_array_index (enc->map, gint, ir_index) : -1;
}

static void
write_block_start (Encoder         *enc,
                   const UsIrEvent *ev,
                   GString         *out)
{
  JsonObject *obj;
  JsonObject *block = json_object_new ();
  gint index;
  gint skipped = -1;

  switch (ev->block)
    {
    case US_IR_PART_TEXT:
      json_object_set_string_member (block, "type", "text");
      json_object_set_string_member (block, "text", "");
      break;
    case US_IR_PART_TOOL_CALL:
      json_object_set_string_member (block, "type", "tool_use");
      json_object_set_string_member (block, "id", ev->tool_id ? ev->tool_id : "");
      json_object_set_string_member (block, "name", ev->tool_name ? ev->tool_name : "");
      json_object_set_object_member (block, "input", json_object_new ());
      break;
    case US_IR_PART_THINKING:
      json_object_set_string_member (block, "type", "thinking");
      json_object_set_string_member (block, "thinking", "");
      json_object_set_string_member (block, "signature", "");
      break;
    case US_IR_PART_REDACTED_THINKING:
      if (ev->signed_by == US_WIRE_ANTHROPIC)
        {
          json_object_set_string_member (block, "type", "redacted_thinking");
          json_object_set_string_member (block, "data", ev->text ? ev->text : "");
          break;
        }
      G_GNUC_FALLTHROUGH;
    case US_IR_PART_IMAGE:
    case US_IR_PART_TOOL_RESULT:
    case US_IR_PART_OPAQUE:
    default:
      json_object_unref (block);
      if (ev->index < 4096)
        {
          if (enc->map->len <= ev->index)
            g_array_set_size (enc->map, ev->index + 1);
          g_array_index (enc->map, gint, ev->index) = skipped;
        }
      return;
    }

  /* Anthropic blocks never overlap; a source that interleaves gets its
   * earlier block closed. */
  close_open_block (enc, out);
  if (ev->index >= 4096)
    {
      json_object_unref (block);
      return;
    }
  index = (gint) enc->next_index++;
  if (enc->map->len <= ev->index)
    {
      guint old = enc->map->len;

      g_array_set_size (enc->map, ev->index + 1);
      for (guint i = old; i < enc->map->len; i++)
        g_array_index (enc->map, gint, i) = -1;
    }
  g_array_index (enc->map, gint, ev->index) = index;
  enc->open = index;

  obj = event_object ("content_block_start");
  json_object_set_int_member (obj, "index", index);
  json_object_set_object_member (obj, "content_block", block);
  us_ir_append_event (out, "content_block_start", obj);
}

static void
write_block_delta (Encoder         *enc,
                   const UsIrEvent *ev,
                   GString         *out)
{
  gint index = client_index (enc, ev->index);
  JsonObject *obj;
  JsonObject *delta;
  g_autofree char *text = NULL;

  if (index < 0 || ev->text == NULL)
    return;
  text = g_strndup (ev->text, ev->text_len);
  delta = json_object_new ();
  switch (ev->delta)
    {
    case US_IR_DELTA_TEXT:
      json_object_set_string_member (delta, "type", "text_delta");
      json_object_set_string_member (delta, "text", text);
      break;
    case US_IR_DELTA_ARGUMENTS:
      json_object_set_string_member (delta, "type", "input_json_delta");
      json_object_set_string_member (delta, "partial_json", text);
      break;
    case US_IR_DELTA_THINKING:
      json_object_set_string_member (delta, "type", "thinking_delta");
      json_object_set_string_member (delta, "thinking", text);
      break;
    case US_IR_DELTA_SIGNATURE:
    default:
      {
        g_autofree char *signature = ev->signed_by == US_WIRE_ANTHROPIC
          ? g_strdup (text) : us_ir_signature_wrap (ev->signed_by, text);

        json_object_set_string_member (delta, "type", "signature_delta");
        json_object_set_string_member (delta, "signature", signature);
      }
      break;
    }
  obj = event_object ("content_block_delta");
  json_object_set_int_member (obj, "index", index);
  json_object_set_object_member (obj, "delta", delta);
  us_ir_append_event (out, "content_block_delta", obj);
}

static void
write_message_delta (Encoder       *enc,
                     UsIrStopReason reason,
                     const char    *stop_sequence,
                     GString       *out)
{
  JsonObject *obj = event_object ("message_delta");
  JsonObject *delta = json_object_new ();

  close_open_block (enc, out);
  json_object_set_string_member (delta, "stop_reason", us_ir_stop_reason_to_anthropic (reason));
  if (stop_sequence != NULL)
    json_object_set_string_member (delta, "stop_sequence", stop_sequence);
  else
    json_object_set_null_member (delta, "stop_sequence");
  json_object_set_object_member (obj, "delta", delta);
  json_object_set_object_member (obj, "usage", encode_usage (&enc->usage));
  us_ir_append_event (out, "message_delta", obj);
  enc->delta_sent = TRUE;
}

static void
write_message_stop (Encoder *enc,
                    GString *out)
{
  us_ir_append_event (out, "message_stop", event_object ("message_stop"));
  enc->stopped = TRUE;
}

static void
anthropic_encoder_fail (gpointer    data,
                        const char *type,
                        const char *message,
                        GString    *out)
{
  Encoder *enc = data;
  g_autoptr(JsonNode) node = anthropic_error_encode (0, type, message);
  g_autofree char *text = us_json_to_string (node);

  us_sse_append (out, "error", text);
  enc->stopped = TRUE;
}

static void
anthropic_encoder_event (gpointer         data,
                         const UsIrEvent *ev,
                         GString         *out)
{
  Encoder *enc = data;

  if (enc->stopped)
    return;
  if (ev->usage != NULL)
    enc->usage = *ev->usage;

  switch (ev->kind)
    {
    case US_IR_EV_MESSAGE_START:
      if (!enc->started)
        write_message_start (enc, ev->id, out);
      break;
    case US_IR_EV_BLOCK_START:
      ensure_started (enc, out);
      write_block_start (enc, ev, out);
      break;
    case US_IR_EV_BLOCK_DELTA:
      ensure_started (enc, out);
      write_block_delta (enc, ev, out);
      break;
    case US_IR_EV_BLOCK_STOP:
      if (client_index (enc, ev->index) >= 0 && client_index (enc, ev->index) == enc->open)
        close_open_block (enc, out);
      break;
    case US_IR_EV_MESSAGE_DELTA:
      ensure_started (enc, out);
      write_message_delta (enc, ev->stop_reason, ev->stop_sequence, out);
      break;
    case US_IR_EV_MESSAGE_STOP:
      ensure_started (enc, out);
      if (!enc->delta_sent)
        write_message_delta (enc, US_IR_STOP_END_TURN, NULL, out);
      write_message_stop (enc, out);
      break;
    case US_IR_EV_ERROR:
      anthropic_encoder_fail (enc, ev->error_type ? ev->error_type : "api_error",
                              ev->text ? ev->text : "", out);
      break;
    default:
      break;
    }
}

static void
anthropic_encoder_finish (gpointer data,
                          GString *out)
{
  Encoder *enc = data;

  if (enc->stopped)
    return;
  ensure_started (enc, out);
  if (!enc->delta_sent)
    write_message_delta (enc, US_IR_STOP_END_TURN, NULL, out);
  write_message_stop (enc, out);
}

const UsFormatCodec us_format_anthropic = {
  .fmt = US_WIRE_ANTHROPIC,
  .name = "Anthropic Messages",
  .request_decode = anthropic_request_decode,
  .request_encode = anthropic_request_encode,
  .response_decode = anthropic_response_decode,
  .response_encode = anthropic_response_encode,
  .error_encode = anthropic_error_encode,
  .error_decode = anthropic_error_decode,
  .decoder_new = anthropic_decoder_new,
  .decoder_event = anthropic_decoder_event,
  .decoder_finish = anthropic_decoder_finish,
  .decoder_free = anthropic_decoder_free,
  .encoder_new = anthropic_encoder_new,
  .encoder_event = anthropic_encoder_event,
  .encoder_finish = anthropic_encoder_finish,
  .encoder_fail = anthropic_encoder_fail,
  .encoder_free = anthropic_encoder_free,
};
