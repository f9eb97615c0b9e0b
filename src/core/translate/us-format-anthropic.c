/* us-format-anthropic.c: Anthropic Messages ⇄ IR. */

#include "us-format-anthropic.h"

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

static UsIrPart *decode_block (JsonNode *node, GError **error);

static gboolean
decode_blocks (JsonNode  *content,
               GPtrArray *parts,
               GError   **error)
{
  JsonArray *array;

  if (!us_json_content (content, parts, "an array of blocks", &array, error))
    return FALSE;
  for (guint i = 0; array != NULL && i < json_array_get_length (array); i++)
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
        return us_ir_part_new_opaque (node, US_WIRE_ANTHROPIC);
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
      part->as_string = us_json_is_string (json_object_get_member (block, "content"));
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
    return us_ir_part_new_opaque (node, US_WIRE_ANTHROPIC);

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

  req->system_as_string = us_json_is_string (json_object_get_member (body, "system"));
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
      msg->as_string = us_json_is_string (json_object_get_member (obj, "content"));
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

  if (arguments == NULL || *arguments == '\0')
    return us_json_node_take_object (json_object_new ());
  node = us_json_parse (arguments, -1, NULL);
  if (node != NULL && JSON_NODE_HOLDS_OBJECT (node))
    return g_steal_pointer (&node);

  wrapper = json_object_new ();
  json_object_set_string_member (wrapper, "_arguments", arguments);
  return us_json_node_take_object (wrapper);
}

static JsonObject *encode_block (const UsIrPart *part, Direction dir);

static JsonNode *
encode_tool_result_content (const UsIrPart *part)
{
  JsonArray *array;

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
  return us_json_node_take_array (array);
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

/* Marks @block (a content block object) as a cache breakpoint. */
static void
mark_block (JsonObject *block)
{
  JsonObject *cc = json_object_new ();

  json_object_set_string_member (cc, "type", "ephemeral");
  json_object_set_object_member (block, "cache_control", cc);
}

/* @member of @obj as an array of blocks (a plain string becomes one text
 * block, which Anthropic reads the same), its last markable block marked. */
static void
mark_last_block (JsonObject *obj,
                 const char *member)
{
  JsonNode *node = json_object_get_member (obj, member);
  JsonArray *blocks;

  if (node == NULL)
    return;
  if (us_json_is_string (node))
    {
      JsonObject *text = json_object_new ();

      json_object_set_string_member (text, "type", "text");
      json_object_set_string_member (text, "text", json_node_get_string (node));
      blocks = json_array_new ();
      json_array_add_object_element (blocks, text);
      json_object_set_array_member (obj, member, blocks);
    }
  blocks = us_json_get_array (obj, member);
  for (guint i = blocks ? json_array_get_length (blocks) : 0; i > 0; i--)
    {
      JsonObject *block = json_array_get_object_element (blocks, i - 1);
      const char *type = us_json_get_string (block, "type");

      /* Thinking blocks cannot carry a breakpoint; the one before can. */
      if (g_strcmp0 (type, "thinking") == 0 || g_strcmp0 (type, "redacted_thinking") == 0)
        continue;
      mark_block (block);
      return;
    }
}

/* Anthropic caches only up to cache_control breakpoints, which only its
 * own clients send. For the others: the tools, the system prompt and the
 * conversation so far (its newest block; the breakpoint moves with each
 * turn, the content before it stays the same), 3 of the 4 allowed. */
static void
add_cache_breakpoints (JsonObject *body)
{
  JsonArray *tools = us_json_get_array (body, "tools");
  JsonArray *messages = us_json_get_array (body, "messages");

  if (tools != NULL && json_array_get_length (tools) > 0)
    mark_block (json_array_get_object_element (tools, json_array_get_length (tools) - 1));
  mark_last_block (body, "system");
  if (messages != NULL && json_array_get_length (messages) > 0)
    mark_last_block (json_array_get_object_element (messages, json_array_get_length (messages) - 1),
                     "content");
}

static JsonNode *
anthropic_request_encode (const UsIrRequest *req,
                          const char        *model,
                          gint64             max_output_tokens,
                          GError           **error)
{
  JsonObject *body = json_object_new ();
  JsonNode *root = us_json_node_take_object (body);
  gboolean same = req->src_fmt == US_WIRE_ANTHROPIC;
  gboolean thinking = req->thinking && thinking_possible (req, !same);
  gint64 max_tokens = req->max_tokens > 0 ? req->max_tokens : DEFAULT_MAX_TOKENS;
  g_autoptr(JsonArray) system = json_array_new ();

  if (max_output_tokens > 0)
    max_tokens = req->max_tokens > 0 ? MIN (max_tokens, max_output_tokens) : max_output_tokens;

  json_object_set_string_member (body, "model", model);
  json_object_set_int_member (body, "max_tokens", max_tokens);

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
  else
    add_cache_breakpoints (body);
  return root;
}

/* ---- Whole responses ---- */

void
us_anthropic_usage_decode (JsonObject *usage,
                           UsUsage    *out)
{
  if (usage == NULL)
    return;
  out->input_tokens = us_json_get_int (usage, "input_tokens", out->input_tokens);
  out->output_tokens = us_json_get_int (usage, "output_tokens", out->output_tokens);
  out->cache_read_tokens = us_json_get_int (usage, "cache_read_input_tokens", out->cache_read_tokens);
  out->cache_write_tokens = us_json_get_int (usage, "cache_creation_input_tokens", out->cache_write_tokens);
}

JsonObject *
us_anthropic_usage_encode (const UsUsage *usage)
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
  us_anthropic_usage_decode (us_json_get_object (body, "usage"), &resp->usage);
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
  json_object_set_object_member (body, "usage", us_anthropic_usage_encode (&resp->usage));
  return us_json_node_take_object (body);
}

/* ---- Errors ---- */

JsonNode *
us_anthropic_error_encode (guint       status,
                           const char *type,
                           const char *message)
{
  JsonObject *body = json_object_new ();
  JsonObject *error = json_object_new ();

  json_object_set_string_member (body, "type", "error");
  json_object_set_string_member (error, "type", type);
  json_object_set_string_member (error, "message", message);
  json_object_set_object_member (body, "error", error);
  return us_json_node_take_object (body);
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

const UsFormatCodec us_format_anthropic = {
  .fmt = US_WIRE_ANTHROPIC,
  .name = "Anthropic Messages",
  .request_decode = anthropic_request_decode,
  .request_encode = anthropic_request_encode,
  .response_decode = anthropic_response_decode,
  .response_encode = anthropic_response_encode,
  .error_encode = us_anthropic_error_encode,
  .error_decode = anthropic_error_decode,
  .decoder_new = us_anthropic_decoder_new,
  .decoder_event = us_anthropic_decoder_event,
  .decoder_finish = us_anthropic_decoder_finish,
  .decoder_free = us_anthropic_decoder_free,
  .encoder_new = us_anthropic_encoder_new,
  .encoder_event = us_anthropic_encoder_event,
  .encoder_finish = us_anthropic_encoder_finish,
  .encoder_fail = us_anthropic_encoder_fail,
  .encoder_free = us_anthropic_encoder_free,
};
