/* us-format-openai-responses.c: OpenAI Responses ⇄ IR (requests and whole
 * responses; streams are in us-format-openai-responses-stream.c). */

#include "us-format-openai-responses.h"
#include "us-openai-common.h"

#include <string.h>

static void
keep_extra (UsIrPart           *part,
            JsonObject         *obj,
            const char * const *known)
{
  part->extra = us_json_unknown_members (obj, known);
  part->extra_fmt = US_WIRE_OPENAI_RESPONSES;
}

/* The last message when it has @role, so that the items of one turn
 * (text, reasoning, calls; or several call outputs) share a message. */
static UsIrMessage *
turn_for (UsIrRequest *req,
          UsIrRole     role)
{
  UsIrMessage *last = req->messages->len > 0
    ? g_ptr_array_index (req->messages, req->messages->len - 1) : NULL;

  if (last != NULL && last->role == role)
    return last;
  last = us_ir_message_new (role);
  g_ptr_array_add (req->messages, last);
  return last;
}

/* ---- Request decoding ---- */

/* @assistant: an assistant message's content, which the API takes only as
 * output_text or refusal; any other part would be sent back out as an
 * item of its own, so it is refused here as the API refuses it. */
static gboolean
decode_content (JsonNode  *content,
                GPtrArray *parts,
                gboolean   assistant,
                GError   **error)
{
  JsonArray *array;

  if (!us_json_content (content, parts, "an array", &array, error))
    return FALSE;
  for (guint i = 0; array != NULL && i < json_array_get_length (array); i++)
    {
      static const char * const text_known[] = { "type", "text", NULL };
      static const char * const image_known[] = { "type", "image_url", NULL };
      JsonNode *node = json_array_get_element (array, i);
      JsonObject *obj = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      const char *type = us_json_get_string (obj, "type");
      const char *url = us_json_get_string (obj, "image_url");
      UsIrPart *part;

      if (type == NULL)
        {
          g_set_error (error, US_TRANSLATE_ERROR, US_TRANSLATE_ERROR_INVALID,
                       "content[%u] is not a typed part", i);
          return FALSE;
        }
      if (strcmp (type, "input_text") == 0 || strcmp (type, "output_text") == 0
          || strcmp (type, "text") == 0)
        {
          part = us_ir_part_new_text (us_json_get_string (obj, "text"));
          keep_extra (part, obj, text_known);
        }
      else if (strcmp (type, "refusal") == 0)
        part = us_ir_part_new_text (us_json_get_string (obj, "refusal"));
      else if (strcmp (type, "input_image") == 0 && url != NULL)
        {
          part = us_ir_part_new (US_IR_PART_IMAGE);
          us_ir_image_parse_data_url (part, url);
          keep_extra (part, obj, image_known);
        }
      else if (assistant)
        {
          g_set_error (error, US_TRANSLATE_ERROR, US_TRANSLATE_ERROR_INVALID,
                       "content[%u]: “%s” is not content of an assistant message (output_text or refusal)",
                       i, type);
          return FALSE;
        }
      else
        part = us_ir_part_new_opaque (node, US_WIRE_OPENAI_RESPONSES);   /* files, images by file_id, audio */
      g_ptr_array_add (parts, part);
    }
  return TRUE;
}

static gboolean
decode_message_item (JsonObject  *item,
                     UsIrRequest *req,
                     GError     **error)
{
  static const char * const known[] = { "type", "role", "content", NULL };
  const char *role = us_json_get_string (item, "role");
  JsonNode *content = json_object_get_member (item, "content");
  UsIrMessage *last = req->messages->len > 0
    ? g_ptr_array_index (req->messages, req->messages->len - 1) : NULL;
  UsIrMessage *msg;

  /* Items of one assistant turn (reasoning, message, function_call, ...)
   * are one IR message, so that its thinking comes first, as Anthropic
   * requires. A second message item in it marks where it starts. */
  if (g_strcmp0 (role, "assistant") == 0 && last != NULL && last->role == US_IR_ROLE_ASSISTANT)
    {
      guint first = last->parts->len;
      gboolean own = last->extra_fmt == US_WIRE_OPENAI_RESPONSES;

      if (!decode_content (content, last->parts, TRUE, error))
        return FALSE;
      if (!own)
        {
          /* The turn's first message item: its fields are the message's. */
          last->as_string = us_json_is_string (content);
          last->extra = us_json_unknown_members (item, known);
          last->extra_fmt = US_WIRE_OPENAI_RESPONSES;
        }
      else if (first < last->parts->len)
        {
          UsIrPart *part = g_ptr_array_index (last->parts, first);

          part->item = us_json_unknown_members (item, known);
          if (part->item == NULL)
            part->item = json_object_new ();
          /* as_string of a text part: its item's content was a string. */
          part->as_string = us_json_is_string (content);
        }
      return TRUE;
    }

  if (g_strcmp0 (role, "user") == 0)
    msg = us_ir_message_new (US_IR_ROLE_USER);
  else if (g_strcmp0 (role, "assistant") == 0)
    msg = us_ir_message_new (US_IR_ROLE_ASSISTANT);
  else if (g_strcmp0 (role, "system") == 0 || g_strcmp0 (role, "developer") == 0)
    msg = us_ir_message_new (US_IR_ROLE_SYSTEM);
  else
    {
      g_set_error (error, US_TRANSLATE_ERROR, US_TRANSLATE_ERROR_INVALID,
                   "role: unknown role “%s”", role ? role : "");
      return FALSE;
    }
  g_ptr_array_add (req->messages, msg);
  msg->as_string = us_json_is_string (content);
  msg->extra = us_json_unknown_members (item, known);
  msg->extra_fmt = US_WIRE_OPENAI_RESPONSES;
  if (g_strcmp0 (role, "system") == 0)
    {
      /* The IR's system role reads as "developer" unless said otherwise. */
      if (msg->extra == NULL)
        msg->extra = json_object_new ();
      json_object_set_string_member (msg->extra, "role", "system");
    }
  return decode_content (content, msg->parts, msg->role == US_IR_ROLE_ASSISTANT, error);
}

/* Free-form calls (custom tools, local shell) become function calls with
 * their input as a JSON argument object, so other formats can replay them. */
static char *
wrap_arguments (JsonObject *item)
{
  JsonObject *args = json_object_new ();
  g_autoptr(JsonNode) node = us_json_node_take_object (args);
  const char *input = us_json_get_string (item, "input");
  JsonNode *action = json_object_get_member (item, "action");

  if (input != NULL)
    json_object_set_string_member (args, "input", input);
  else if (action != NULL)
    json_object_set_member (args, "action", json_node_copy (action));
  return us_json_to_string (node);
}

static char *
reasoning_text (JsonObject *item)
{
  GString *text = g_string_new (NULL);
  JsonArray *summary = us_json_get_array (item, "summary");
  JsonArray *content = us_json_get_array (item, "content");
  JsonArray *from = summary != NULL && json_array_get_length (summary) > 0 ? summary : content;

  for (guint i = 0; from != NULL && i < json_array_get_length (from); i++)
    {
      JsonNode *node = json_array_get_element (from, i);
      const char *t = JSON_NODE_HOLDS_OBJECT (node)
        ? us_json_get_string (json_node_get_object (node), "text") : NULL;

      if (t == NULL)
        continue;
      if (text->len > 0)
        g_string_append (text, "\n\n");
      g_string_append (text, t);
    }
  return g_string_free (text, FALSE);
}

UsIrPart *
us_responses_decode_reasoning (JsonNode *node)
{
  JsonObject *item = json_node_get_object (node);
  UsIrPart *part = us_ir_part_new (US_IR_PART_THINKING);
  const char *native = NULL;

  part->text = reasoning_text (item);
  part->item_id = g_strdup (us_json_get_string (item, "id"));
  part->signed_by = us_ir_signature_unwrap (us_json_get_string (item, "encrypted_content"),
                                            US_WIRE_OPENAI_RESPONSES, &native);
  part->signature = part->signed_by == US_WIRE_OPENAI_RESPONSES
    ? us_responses_pack_signature (part->item_id, native) : g_strdup (native);
  /* The item as the client sent it, for a Responses provider. */
  part->raw = json_node_copy (node);
  part->extra_fmt = US_WIRE_OPENAI_RESPONSES;
  return part;
}

static UsIrPart *
call_part (JsonNode *node)
{
  static const char * const known[] = { "type", "id", "call_id", "name", "arguments", NULL };
  JsonObject *item = json_node_get_object (node);
  const char *type = us_json_get_string (item, "type");
  UsIrPart *part = us_ir_part_new (US_IR_PART_TOOL_CALL);

  part->tool_id = g_strdup (us_json_get_string (item, "call_id"));
  part->item_id = g_strdup (us_json_get_string (item, "id"));
  if (strcmp (type, "function_call") == 0 && us_json_get_string (item, "namespace") != NULL)
    {
      /* A call into a namespace: the flat name other formats know it by. */
      part->tool_name = us_ir_tool_flat_name (us_json_get_string (item, "namespace"),
                                              us_json_get_string (item, "name") ?: "");
      part->arguments = g_strdup (us_json_get_string (item, "arguments"));
      part->raw = json_node_copy (node);
      part->extra_fmt = US_WIRE_OPENAI_RESPONSES;
    }
  else if (strcmp (type, "function_call") == 0)
    {
      part->tool_name = g_strdup (us_json_get_string (item, "name"));
      part->arguments = g_strdup (us_json_get_string (item, "arguments"));
      keep_extra (part, item, known);
    }
  else
    {
      part->tool_name = g_strdup (strcmp (type, "local_shell_call") == 0
                                  ? "local_shell" : us_json_get_string (item, "name"));
      part->arguments = wrap_arguments (item);
      part->raw = json_node_copy (node);
      part->extra_fmt = US_WIRE_OPENAI_RESPONSES;
    }
  if (part->arguments == NULL)
    part->arguments = g_strdup ("{}");
  return part;
}

static UsIrPart *
output_part (JsonNode *node,
             GError  **error)
{
  static const char * const known[] = { "type", "call_id", "output", NULL };
  JsonObject *item = json_node_get_object (node);
  JsonNode *output = json_object_get_member (item, "output");
  const char *type = us_json_get_string (item, "type");
  g_autoptr(UsIrPart) part = us_ir_part_new (US_IR_PART_TOOL_RESULT);

  part->tool_id = g_strdup (us_json_get_string (item, "call_id"));
  part->content = g_ptr_array_new_with_free_func ((GDestroyNotify) us_ir_part_free);
  part->as_string = us_json_is_string (output);
  if (strcmp (type, "function_call_output") == 0)
    keep_extra (part, item, known);
  else
    {
      part->raw = json_node_copy (node);
      part->extra_fmt = US_WIRE_OPENAI_RESPONSES;
    }
  if (!decode_content (output, part->content, FALSE, error))
    return NULL;
  return g_steal_pointer (&part);
}

static gboolean
decode_input_item (JsonNode    *node,
                   UsIrRequest *req,
                   GError     **error)
{
  JsonObject *item;
  const char *type;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      g_set_error (error, US_TRANSLATE_ERROR, US_TRANSLATE_ERROR_INVALID,
                   "not an object");
      return FALSE;
    }
  item = json_node_get_object (node);
  type = us_json_get_string (item, "type");

  if (type == NULL || strcmp (type, "message") == 0)
    return decode_message_item (item, req, error);

  if (strcmp (type, "function_call") == 0 || strcmp (type, "custom_tool_call") == 0
      || strcmp (type, "local_shell_call") == 0)
    {
      if (us_json_get_string (item, "call_id") == NULL)
        {
          g_set_error (error, US_TRANSLATE_ERROR, US_TRANSLATE_ERROR_INVALID,
                       "%s needs a call_id", type);
          return FALSE;
        }
      g_ptr_array_add (turn_for (req, US_IR_ROLE_ASSISTANT)->parts, call_part (node));
      return TRUE;
    }
  if (strcmp (type, "function_call_output") == 0 || strcmp (type, "custom_tool_call_output") == 0
      || strcmp (type, "local_shell_call_output") == 0)
    {
      UsIrPart *part;

      if (us_json_get_string (item, "call_id") == NULL)
        {
          g_set_error (error, US_TRANSLATE_ERROR, US_TRANSLATE_ERROR_INVALID,
                       "%s needs a call_id", type);
          return FALSE;
        }
      part = output_part (node, error);
      if (part == NULL)
        return FALSE;
      g_ptr_array_add (turn_for (req, US_IR_ROLE_USER)->parts, part);
      return TRUE;
    }
  if (strcmp (type, "reasoning") == 0)
    {
      g_ptr_array_add (turn_for (req, US_IR_ROLE_ASSISTANT)->parts,
                       us_responses_decode_reasoning (node));
      return TRUE;
    }

  /* web_search_call, item_reference, ...: only Responses reads them. */
  g_ptr_array_add (turn_for (req, US_IR_ROLE_ASSISTANT)->parts, us_ir_part_new_opaque (node, US_WIRE_OPENAI_RESPONSES));
  return TRUE;
}

/* A custom (free-form) tool as a function of one string, "input": other
 * formats have no free-form tools. The grammar, if any, goes into the
 * argument's description so the model still knows the expected shape. */
static JsonNode *
custom_schema (JsonObject *def)
{
  JsonObject *schema = json_object_new ();
  JsonObject *properties = json_object_new ();
  JsonObject *input = json_object_new ();
  JsonArray *required = json_array_new ();
  JsonObject *format = us_json_get_object (def, "format");
  const char *definition = us_json_get_string (format, "definition");

  json_object_set_string_member (input, "type", "string");
  if (definition != NULL)
    {
      g_autofree char *text = g_strdup_printf ("The raw input, in this %s grammar:\n%s",
                                               us_json_get_string (format, "syntax") ?: "",
                                               definition);

      json_object_set_string_member (input, "description", text);
    }
  else
    json_object_set_string_member (input, "description", "The raw input (free-form text)");
  json_object_set_object_member (properties, "input", input);
  json_array_add_string_element (required, "input");
  json_object_set_string_member (schema, "type", "object");
  json_object_set_object_member (schema, "properties", properties);
  json_object_set_array_member (schema, "required", required);
  json_object_set_boolean_member (schema, "additionalProperties", FALSE);
  return us_json_node_take_object (schema);
}

static UsIrTool *
function_tool (JsonObject *def)
{
  static const char * const known[] = { "type", "name", "description", "parameters", NULL };
  UsIrTool *tool = us_ir_tool_new (US_IR_TOOL_FUNCTION);

  tool->name = g_strdup (us_json_get_string (def, "name"));
  tool->description = g_strdup (us_json_get_string (def, "description"));
  if (json_object_get_member (def, "parameters") != NULL)
    tool->schema = json_node_copy (json_object_get_member (def, "parameters"));
  tool->extra = us_json_unknown_members (def, known);
  tool->extra_fmt = US_WIRE_OPENAI_RESPONSES;
  return tool;
}

/* A namespace's function tools become flat function tools named
 * "<namespace>__<name>"; the first keeps the whole definition for a
 * Responses provider. FALSE when it has none (then it stays opaque). */
static gboolean
decode_namespace (JsonNode    *node,
                  UsIrRequest *req)
{
  JsonObject *def = json_node_get_object (node);
  const char *ns = us_json_get_string (def, "name");
  JsonArray *members = us_json_get_array (def, "tools");
  gboolean first = TRUE;

  if (ns == NULL)
    return FALSE;
  for (guint i = 0; members != NULL && i < json_array_get_length (members); i++)
    {
      JsonNode *member = json_array_get_element (members, i);
      JsonObject *obj = JSON_NODE_HOLDS_OBJECT (member) ? json_node_get_object (member) : NULL;
      UsIrTool *tool;

      if (g_strcmp0 (us_json_get_string (obj, "type"), "function") != 0
          || us_json_get_string (obj, "name") == NULL)
        continue;
      tool = function_tool (obj);
      g_free (tool->name);
      tool->name = us_ir_tool_flat_name (ns, us_json_get_string (obj, "name"));
      tool->ns = g_strdup (ns);
      tool->ns_name = g_strdup (us_json_get_string (obj, "name"));
      if (first)
        tool->raw = json_node_copy (node);
      first = FALSE;
      g_ptr_array_add (req->tools, tool);
    }
  return !first;
}

static void
decode_tools (JsonArray   *tools,
              UsIrRequest *req)
{
  for (guint i = 0; tools != NULL && i < json_array_get_length (tools); i++)
    {
      JsonNode *node = json_array_get_element (tools, i);
      JsonObject *def = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      const char *type = us_json_get_string (def, "type");
      UsIrTool *tool;

      if (def == NULL)
        continue;
      if (g_strcmp0 (type, "function") == 0 && us_json_get_string (def, "name") != NULL)
        {
          g_ptr_array_add (req->tools, function_tool (def));
          continue;
        }
      if (g_strcmp0 (type, "custom") == 0 && us_json_get_string (def, "name") != NULL)
        {
          tool = us_ir_tool_new (US_IR_TOOL_FUNCTION);
          tool->name = g_strdup (us_json_get_string (def, "name"));
          tool->description = g_strdup (us_json_get_string (def, "description"));
          tool->schema = custom_schema (def);
          tool->custom = TRUE;
          tool->raw = json_node_copy (node);
          tool->extra_fmt = US_WIRE_OPENAI_RESPONSES;
          g_ptr_array_add (req->tools, tool);
          continue;
        }
      if (g_strcmp0 (type, "namespace") == 0 && decode_namespace (node, req))
        continue;
      /* web_search, local_shell, file_search, mcp, ...: run by OpenAI or
       * parsed by Codex in ways no other format can express. */
      tool = us_ir_tool_new (US_IR_TOOL_OPAQUE);
      tool->name = g_strdup (us_json_get_string (def, "name"));
      tool->raw = json_node_copy (node);
      tool->extra_fmt = US_WIRE_OPENAI_RESPONSES;
      g_ptr_array_add (req->tools, tool);
    }
}

static void
decode_tool_choice (JsonNode    *node,
                    UsIrRequest *req)
{
  if (us_json_is_string (node))
    {
      const char *s = json_node_get_string (node);

      if (strcmp (s, "auto") == 0)
        req->tool_choice = US_IR_TOOL_CHOICE_AUTO;
      else if (strcmp (s, "required") == 0)
        req->tool_choice = US_IR_TOOL_CHOICE_ANY;
      else if (strcmp (s, "none") == 0)
        req->tool_choice = US_IR_TOOL_CHOICE_NONE;
    }
  else if (node != NULL && JSON_NODE_HOLDS_OBJECT (node))
    {
      JsonObject *obj = json_node_get_object (node);

      if (g_strcmp0 (us_json_get_string (obj, "type"), "function") == 0
          && us_json_get_string (obj, "name") != NULL)
        {
          req->tool_choice = US_IR_TOOL_CHOICE_TOOL;
          req->tool_choice_name = g_strdup (us_json_get_string (obj, "name"));
        }
    }
}

static const char * const request_known[] = {
  "model", "input", "instructions", "stream", "max_output_tokens", "temperature", "top_p",
  "tools", "tool_choice", "parallel_tool_calls", NULL,
};

static gboolean
responses_request_decode (JsonObject  *body,
                          UsIrRequest *req,
                          GError     **error)
{
  JsonNode *input = json_object_get_member (body, "input");
  JsonObject *reasoning = us_json_get_object (body, "reasoning");
  const char *instructions = us_json_get_string (body, "instructions");
  const char *effort = us_json_get_string (reasoning, "effort");

  req->model = g_strdup (us_json_get_string (body, "model"));
  if (req->model == NULL)
    {
      g_set_error (error, US_TRANSLATE_ERROR, US_TRANSLATE_ERROR_INVALID,
                   "model: a string is required");
      return FALSE;
    }
  if (input == NULL || (!us_json_is_string (input) && !JSON_NODE_HOLDS_ARRAY (input)))
    {
      g_set_error (error, US_TRANSLATE_ERROR, US_TRANSLATE_ERROR_INVALID,
                   "input: a string or an array is required");
      return FALSE;
    }

  req->stream = us_json_get_bool (body, "stream", FALSE);
  req->max_tokens = us_json_get_int (body, "max_output_tokens", 0);
  req->has_temperature = us_json_get_double (body, "temperature", &req->temperature);
  req->has_top_p = us_json_get_double (body, "top_p", &req->top_p);
  if (json_object_has_member (body, "parallel_tool_calls"))
    {
      req->parallel_tool_calls_set = TRUE;
      req->parallel_tool_calls = us_json_get_bool (body, "parallel_tool_calls", TRUE);
    }
  req->thinking = reasoning != NULL && g_strcmp0 (effort, "none") != 0;
  req->reasoning_effort = g_strdup (effort);
  decode_tool_choice (json_object_get_member (body, "tool_choice"), req);
  req->extra = us_json_unknown_members (body, request_known);

  if (instructions != NULL)
    {
      g_ptr_array_add (req->system, us_ir_part_new_text (instructions));
      req->system_as_string = TRUE;
    }

  if (us_json_is_string (input))
    {
      UsIrMessage *msg = us_ir_message_new (US_IR_ROLE_USER);

      msg->as_string = TRUE;
      g_ptr_array_add (msg->parts, us_ir_part_new_text (json_node_get_string (input)));
      g_ptr_array_add (req->messages, msg);
      req->input_as_string = TRUE;
    }
  else
    {
      JsonArray *items = json_node_get_array (input);

      for (guint i = 0; i < json_array_get_length (items); i++)
        if (!decode_input_item (json_array_get_element (items, i), req, error))
          {
            g_prefix_error (error, "input[%u]: ", i);
            return FALSE;
          }
    }
  decode_tools (us_json_get_array (body, "tools"), req);
  return TRUE;
}

/* ---- Request encoding ---- */

static JsonObject *
text_part (const char *type,
           const UsIrPart *part,
           gboolean    same)
{
  JsonObject *obj = json_object_new ();

  json_object_set_string_member (obj, "type", type);
  json_object_set_string_member (obj, "text", part->text ? part->text : "");
  if (same && part->extra_fmt == US_WIRE_OPENAI_RESPONSES)
    us_json_copy_members (obj, part->extra, NULL);
  return obj;
}

/* Parts as Responses content; NULL when nothing is left. */
static JsonNode *
encode_content (GPtrArray  *parts,
                const char *text_type,
                gboolean    as_string,
                gboolean    same)
{
  g_autoptr(JsonArray) array = json_array_new ();

  for (guint i = 0; parts != NULL && i < parts->len; i++)
    {
      UsIrPart *part = g_ptr_array_index (parts, i);

      if (part->kind == US_IR_PART_TEXT)
        json_array_add_object_element (array, text_part (text_type, part, same));
      else if (part->kind == US_IR_PART_IMAGE)
        {
          JsonObject *obj = json_object_new ();
          g_autofree char *url = us_ir_image_data_url (part);

          json_object_set_string_member (obj, "type", "input_image");
          json_object_set_string_member (obj, "image_url", url);
          if (same && part->extra_fmt == US_WIRE_OPENAI_RESPONSES)
            us_json_copy_members (obj, part->extra, NULL);
          else
            json_object_set_string_member (obj, "detail", "auto");
          json_array_add_object_element (array, obj);
        }
      else if (part->kind == US_IR_PART_OPAQUE && part->extra_fmt == US_WIRE_OPENAI_RESPONSES)
        json_array_add_element (array, json_node_copy (part->raw));
    }

  if (json_array_get_length (array) == 0)
    return NULL;
  if (as_string && json_array_get_length (array) == 1
      && g_strcmp0 (us_json_get_string (json_array_get_object_element (array, 0), "type"), text_type) == 0)
    return json_node_copy (json_object_get_member (json_array_get_object_element (array, 0), "text"));
  return us_json_node_take_array (g_steal_pointer (&array));
}

/* @extra: the item's own fields (same format only); @as_string: its
 * content was a plain string. */
static void
add_item (JsonArray         *input,
          const char        *role,
          GPtrArray         *parts,
          JsonObject        *extra,
          gboolean           as_string,
          gboolean           same)
{
  const char *text_type = strcmp (role, "assistant") == 0 ? "output_text" : "input_text";
  JsonNode *content = encode_content (parts, text_type, as_string && same, same);
  JsonObject *item;

  if (content == NULL)
    return;
  item = json_object_new ();
  json_object_set_string_member (item, "type", "message");
  json_object_set_string_member (item, "role", role);
  json_object_set_member (item, "content", content);
  if (same)
    us_json_copy_members (item, extra, NULL);
  json_array_add_object_element (input, item);
}

static void
add_message_item (JsonArray         *input,
                  const char        *role,
                  GPtrArray         *parts,
                  const UsIrMessage *msg,
                  gboolean           same)
{
  gboolean own = msg != NULL && msg->extra_fmt == US_WIRE_OPENAI_RESPONSES;

  add_item (input, role, parts, own ? msg->extra : NULL, msg != NULL && msg->as_string, same);
}

static gboolean
has_images (GPtrArray *parts)
{
  for (guint i = 0; parts != NULL && i < parts->len; i++)
    if (((UsIrPart *) g_ptr_array_index (parts, i))->kind == US_IR_PART_IMAGE)
      return TRUE;
  return FALSE;
}

static char *join_text (GPtrArray *parts);

static void
add_tool_result (JsonArray      *input,
                 const UsIrPart *part,
                 gboolean        same)
{
  JsonObject *item;
  JsonNode *output = NULL;

  if (same && part->raw != NULL)
    {
      json_array_add_element (input, json_node_copy (part->raw));
      return;
    }
  item = json_object_new ();
  json_object_set_string_member (item, "type", "function_call_output");
  json_object_set_string_member (item, "call_id", part->tool_id);
  if (same || has_images (part->content))
    output = encode_content (part->content, "input_text", part->as_string || !same, same);
  if (output == NULL)
    {
      /* Text only: one string, which every Responses server takes. */
      g_autofree char *text = part->content ? join_text (part->content) : g_strdup ("");
      g_autofree char *marked = part->is_error && !same ? g_strdup_printf ("Error: %s", text) : NULL;

      output = json_node_init_string (json_node_alloc (), marked ? marked : text);
    }
  json_object_set_member (item, "output", output);
  if (same && part->extra_fmt == US_WIRE_OPENAI_RESPONSES)
    us_json_copy_members (item, part->extra, NULL);
  json_array_add_object_element (input, item);
}

static void
add_tool_call (JsonArray         *input,
               const UsIrRequest *req,
               const UsIrPart    *part,
               gboolean           same)
{
  JsonObject *item;
  g_autofree char *name = NULL;

  if (same && part->raw != NULL)
    {
      json_array_add_element (input, json_node_copy (part->raw));
      return;
    }
  name = us_openai_tool_name_for (req, US_WIRE_OPENAI_RESPONSES, part->tool_name);
  item = json_object_new ();
  json_object_set_string_member (item, "type", "function_call");
  if (same && part->item_id != NULL)
    json_object_set_string_member (item, "id", part->item_id);
  json_object_set_string_member (item, "call_id", part->tool_id);
  json_object_set_string_member (item, "name", name);
  json_object_set_string_member (item, "arguments", part->arguments ? part->arguments : "{}");
  if (same && part->extra_fmt == US_WIRE_OPENAI_RESPONSES)
    us_json_copy_members (item, part->extra, NULL);
  json_array_add_object_element (input, item);
}

static void
add_reasoning (JsonArray      *input,
               const UsIrPart *part,
               gboolean        same)
{
  JsonObject *item;
  JsonArray *summary;

  /* Only what OpenAI signed goes back, and only with its encrypted content:
   * without storage a bare reasoning id cannot be resolved. */
  if (part->signed_by != US_WIRE_OPENAI_RESPONSES)
    {
      if (same && part->raw != NULL && part->signed_by == US_WIRE_NONE)
        json_array_add_element (input, json_node_copy (part->raw));
      return;
    }
  if (same && part->raw != NULL)
    {
      json_array_add_element (input, json_node_copy (part->raw));
      return;
    }
  item = json_object_new ();
  summary = json_array_new ();
  json_object_set_string_member (item, "type", "reasoning");
  {
    g_autofree char *id = NULL;
    const char *enc = us_responses_unpack_signature (part->signature, &id);

    if (id != NULL)
      json_object_set_string_member (item, "id", id);
    json_object_set_string_member (item, "encrypted_content", enc);
  }
  if (part->text != NULL && *part->text != '\0')
    {
      JsonObject *s = json_object_new ();

      json_object_set_string_member (s, "type", "summary_text");
      json_object_set_string_member (s, "text", part->text);
      json_array_add_object_element (summary, s);
    }
  json_object_set_array_member (item, "summary", summary);
  json_array_add_object_element (input, item);
}

static void
encode_assistant (JsonArray         *input,
                  const UsIrRequest *req,
                  const UsIrMessage *msg,
                  gboolean           same)
{
  g_autoptr(GPtrArray) texts = g_ptr_array_new ();
  gboolean first_text = TRUE;

  for (guint i = 0; i <= msg->parts->len; i++)
    {
      UsIrPart *part = i < msg->parts->len ? g_ptr_array_index (msg->parts, i) : NULL;
      gboolean new_item = part != NULL && part->kind == US_IR_PART_TEXT && part->item != NULL && same;

      if (part != NULL && part->kind == US_IR_PART_TEXT && !new_item)
        {
          g_ptr_array_add (texts, part);
          continue;
        }
      /* A run of text is one message item; the client's own items keep
       * their boundaries. */
      if (texts->len > 0)
        {
          UsIrPart *head = g_ptr_array_index (texts, 0);

          if (head->item != NULL && same)
            add_item (input, "assistant", texts, head->item, head->as_string, same);
          else
            add_message_item (input, "assistant", texts, first_text ? msg : NULL, same);
          first_text = FALSE;
          g_ptr_array_set_size (texts, 0);
        }
      if (new_item)
        {
          g_ptr_array_add (texts, part);
          continue;
        }
      if (part == NULL)
        break;
      if (part->kind == US_IR_PART_TOOL_CALL)
        add_tool_call (input, req, part, same);
      else if (part->kind == US_IR_PART_THINKING)
        add_reasoning (input, part, same);
      else if (part->kind == US_IR_PART_OPAQUE && part->extra_fmt == US_WIRE_OPENAI_RESPONSES)
        json_array_add_element (input, json_node_copy (part->raw));
    }
}

static void
encode_user (JsonArray         *input,
             const UsIrMessage *msg,
             gboolean           same)
{
  g_autoptr(GPtrArray) rest = g_ptr_array_new ();

  for (guint i = 0; i < msg->parts->len; i++)
    {
      UsIrPart *part = g_ptr_array_index (msg->parts, i);

      if (part->kind == US_IR_PART_TOOL_RESULT)
        add_tool_result (input, part, same);
      else
        g_ptr_array_add (rest, part);
    }
  add_message_item (input, "user", rest, msg, same);
}

static JsonArray *
encode_input (const UsIrRequest *req)
{
  JsonArray *input = json_array_new ();
  gboolean same = req->src_fmt == US_WIRE_OPENAI_RESPONSES;

  for (guint i = 0; i < req->messages->len; i++)
    {
      UsIrMessage *msg = g_ptr_array_index (req->messages, i);

      switch (msg->role)
        {
        case US_IR_ROLE_SYSTEM:
          {
            const char *role = msg->extra ? us_json_get_string (msg->extra, "role") : NULL;

            add_message_item (input, role ? role : "developer", msg->parts, msg, same);
          }
          break;
        case US_IR_ROLE_ASSISTANT:
          encode_assistant (input, req, msg, same);
          break;
        case US_IR_ROLE_USER:
        default:
          encode_user (input, msg, same);
          break;
        }
    }
  return input;
}

static void
encode_tools (JsonObject        *body,
              const UsIrRequest *req,
              gboolean           same)
{
  JsonArray *tools = json_array_new ();

  for (guint i = 0; i < req->tools->len; i++)
    {
      UsIrTool *tool = g_ptr_array_index (req->tools, i);
      JsonObject *def;
      g_autofree char *name = NULL;

      if (tool->kind == US_IR_TOOL_OPAQUE || (same && (tool->ns != NULL || tool->custom)))
        {
          /* A namespace goes back whole, with its first tool. */
          if (tool->extra_fmt == US_WIRE_OPENAI_RESPONSES && tool->raw != NULL)
            json_array_add_element (tools, json_node_copy (tool->raw));
          continue;
        }
      name = us_openai_tool_name_for (req, US_WIRE_OPENAI_RESPONSES, tool->name);
      def = json_object_new ();
      json_object_set_string_member (def, "type", "function");
      json_object_set_string_member (def, "name", name);
      if (tool->description != NULL)
        json_object_set_string_member (def, "description", tool->description);
      if (tool->extra_fmt == US_WIRE_OPENAI_RESPONSES)
        {
          if (tool->schema != NULL)
            json_object_set_member (def, "parameters", json_node_copy (tool->schema));
          us_json_copy_members (def, tool->extra, NULL);
        }
      else
        {
          json_object_set_member (def, "parameters", us_openai_schema (tool->schema));
          /* Responses defaults to strict schemas, which arbitrary client
           * schemas rarely satisfy. */
          json_object_set_boolean_member (def, "strict", FALSE);
        }
      json_array_add_object_element (tools, def);
    }

  if (json_array_get_length (tools) == 0 && !same)
    {
      json_array_unref (tools);
      return;
    }
  json_object_set_array_member (body, "tools", tools);

  switch (req->tool_choice)
    {
    case US_IR_TOOL_CHOICE_AUTO:
      json_object_set_string_member (body, "tool_choice", "auto");
      break;
    case US_IR_TOOL_CHOICE_ANY:
      json_object_set_string_member (body, "tool_choice", "required");
      break;
    case US_IR_TOOL_CHOICE_NONE:
      json_object_set_string_member (body, "tool_choice", "none");
      break;
    case US_IR_TOOL_CHOICE_TOOL:
      {
        JsonObject *choice = json_object_new ();
        g_autofree char *name = us_openai_tool_name_for (req, US_WIRE_OPENAI_RESPONSES, req->tool_choice_name);

        json_object_set_string_member (choice, "type", "function");
        json_object_set_string_member (choice, "name", name);
        json_object_set_object_member (body, "tool_choice", choice);
      }
      break;
    case US_IR_TOOL_CHOICE_UNSET:
    default:
      break;
    }
  if (req->parallel_tool_calls_set)
    json_object_set_boolean_member (body, "parallel_tool_calls", req->parallel_tool_calls);
}

static char *
join_text (GPtrArray *parts)
{
  GString *text = g_string_new (NULL);

  for (guint i = 0; i < parts->len; i++)
    {
      UsIrPart *part = g_ptr_array_index (parts, i);

      if (part->kind != US_IR_PART_TEXT || part->text == NULL)
        continue;
      if (text->len > 0)
        g_string_append (text, "\n\n");
      g_string_append (text, part->text);
    }
  return g_string_free (text, FALSE);
}

static JsonNode *
responses_request_encode (const UsIrRequest *req,
                          const char        *model,
                          gint64             max_output_tokens,
                          GError           **error)
{
  JsonObject *body = json_object_new ();
  JsonNode *root = us_json_node_take_object (body);
  gboolean same = req->src_fmt == US_WIRE_OPENAI_RESPONSES;
  gint64 max_tokens = req->max_tokens;
  g_autofree char *instructions = join_text (req->system);

  if (max_output_tokens > 0)
    max_tokens = max_tokens > 0 ? MIN (max_tokens, max_output_tokens) : max_output_tokens;

  json_object_set_string_member (body, "model", model);
  if (req->system->len > 0)
    json_object_set_string_member (body, "instructions", instructions);
  if (same && req->input_as_string && req->messages->len == 1)
    json_object_set_string_member (body, "input",
                                   ((UsIrPart *) g_ptr_array_index (((UsIrMessage *) g_ptr_array_index (req->messages, 0))->parts, 0))->text);
  else
    json_object_set_array_member (body, "input", encode_input (req));
  encode_tools (body, req, same);
  if (max_tokens > 0)
    json_object_set_int_member (body, "max_output_tokens", MAX (max_tokens, 16));
  if (req->has_temperature)
    json_object_set_double_member (body, "temperature", req->temperature);
  if (req->has_top_p)
    json_object_set_double_member (body, "top_p", req->top_p);
  if (req->stream)
    json_object_set_boolean_member (body, "stream", TRUE);

  if (same)
    us_json_copy_members (body, req->extra, NULL);
  else
    {
      g_autofree char *cache_key = us_ir_request_cache_key (req);

      /* Stateless like the clients: nothing kept on the provider's side. */
      json_object_set_boolean_member (body, "store", FALSE);
      /* The same key on every turn keeps a conversation on the machine
       * that has its prefix cached. */
      json_object_set_string_member (body, "prompt_cache_key", cache_key);
    }
  return root;
}

/* ---- Reasoning signatures ---- */

char *
us_responses_pack_signature (const char *item_id,
                             const char *encrypted)
{
  if (encrypted == NULL || *encrypted == '\0')
    return g_strdup ("");
  if (item_id == NULL || *item_id == '\0' || strchr (item_id, ':') != NULL)
    return g_strdup (encrypted);
  return g_strdup_printf ("%s:%s", item_id, encrypted);
}

const char *
us_responses_unpack_signature (const char *signature,
                               char      **item_id)
{
  const char *colon = signature ? strchr (signature, ':') : NULL;

  *item_id = NULL;
  if (signature == NULL)
    return "";
  if (colon == NULL || !g_str_has_prefix (signature, "rs_"))
    return signature;
  *item_id = g_strndup (signature, (gsize) (colon - signature));
  return colon + 1;
}

/* ---- Response objects and items (shared with the stream encoder) ---- */

static char *
strip_id_prefix (const char *id)
{
  static const char * const prefixes[] = { "resp_", "msg_", "chatcmpl-", NULL };

  for (guint i = 0; prefixes[i] != NULL; i++)
    if (g_str_has_prefix (id, prefixes[i]))
      return g_strdup (id + strlen (prefixes[i]));
  return g_strdup (id);
}

char *
us_responses_id (const char *upstream_id)
{
  return us_ir_derive_id ("resp_", upstream_id);
}

char *
us_responses_item_id (const char *response_id,
                      const char *prefix,
                      guint       n)
{
  g_autofree char *base = strip_id_prefix (response_id);

  return g_strdup_printf ("%s_%s_%u", prefix, base, n);
}

JsonObject *
us_responses_object (const char    *id,
                     const char    *model,
                     gint64         created_at,
                     const char    *status,
                     JsonArray     *output,
                     const UsUsage *usage)
{
  JsonObject *obj = json_object_new ();
  JsonObject *text = json_object_new ();
  JsonObject *format = json_object_new ();

  json_object_set_string_member (obj, "id", id);
  json_object_set_string_member (obj, "object", "response");
  json_object_set_int_member (obj, "created_at", created_at);
  json_object_set_string_member (obj, "status", status);
  json_object_set_null_member (obj, "error");
  json_object_set_null_member (obj, "incomplete_details");
  json_object_set_string_member (obj, "model", model ? model : "");
  json_object_set_array_member (obj, "output", output ? output : json_array_new ());
  json_object_set_boolean_member (obj, "parallel_tool_calls", TRUE);
  json_object_set_string_member (format, "type", "text");
  json_object_set_object_member (text, "format", format);
  json_object_set_object_member (obj, "text", text);
  json_object_set_string_member (obj, "tool_choice", "auto");
  json_object_set_array_member (obj, "tools", json_array_new ());
  if (usage != NULL)
    json_object_set_object_member (obj, "usage", us_openai_usage_encode (usage, TRUE));
  else
    json_object_set_null_member (obj, "usage");
  return obj;
}

void
us_responses_set_stop (JsonObject    *response,
                       UsIrStopReason reason)
{
  const char *incomplete = NULL;

  if (reason == US_IR_STOP_MAX_TOKENS || reason == US_IR_STOP_CONTEXT_WINDOW)
    incomplete = "max_output_tokens";
  else if (reason == US_IR_STOP_REFUSAL)
    incomplete = "content_filter";
  if (incomplete != NULL)
    {
      JsonObject *details = json_object_new ();

      json_object_set_string_member (details, "reason", incomplete);
      json_object_set_string_member (response, "status", "incomplete");
      json_object_set_object_member (response, "incomplete_details", details);
    }
}

static JsonObject *
output_text (const char *text)
{
  JsonObject *part = json_object_new ();

  json_object_set_string_member (part, "type", "output_text");
  json_object_set_array_member (part, "annotations", json_array_new ());
  json_object_set_string_member (part, "text", text);
  return part;
}

JsonObject *
us_responses_message_item (const char *id,
                           const char *status,
                           const char *text)
{
  JsonObject *item = json_object_new ();
  JsonArray *content = json_array_new ();

  json_object_set_string_member (item, "id", id);
  json_object_set_string_member (item, "type", "message");
  json_object_set_string_member (item, "status", status);
  json_object_set_string_member (item, "role", "assistant");
  if (text != NULL)
    json_array_add_object_element (content, output_text (text));
  json_object_set_array_member (item, "content", content);
  return item;
}

JsonObject *
us_responses_function_item (const char *id,
                            const char *status,
                            const char *call_id,
                            const char *name,
                            const char *arguments)
{
  JsonObject *item = json_object_new ();

  json_object_set_string_member (item, "id", id);
  json_object_set_string_member (item, "type", "function_call");
  json_object_set_string_member (item, "status", status);
  json_object_set_string_member (item, "call_id", call_id ? call_id : "");
  json_object_set_string_member (item, "name", name ? name : "");
  json_object_set_string_member (item, "arguments", arguments ? arguments : "");
  return item;
}

/* A custom tool's input from the function arguments we asked for; text
 * that is not our one-member object is taken as the input itself. */
static char *
custom_input (const char *arguments)
{
  g_autoptr(JsonNode) node = arguments ? us_json_parse (arguments, -1, NULL) : NULL;
  const char *input = node && JSON_NODE_HOLDS_OBJECT (node)
    ? us_json_get_string (json_node_get_object (node), "input") : NULL;

  return g_strdup (input ? input : arguments ? arguments : "");
}

JsonObject *
us_responses_call_item (const char *id,
                        const char *status,
                        const char *call_id,
                        const char *name,
                        const char *ns,
                        gboolean    custom,
                        const char *arguments)
{
  JsonObject *item;
  g_autofree char *input = NULL;

  if (!custom)
    {
      item = us_responses_function_item (id, status, call_id, name, arguments);
      if (ns != NULL)
        json_object_set_string_member (item, "namespace", ns);
      return item;
    }
  input = custom_input (arguments);
  item = json_object_new ();
  json_object_set_string_member (item, "id", id);
  json_object_set_string_member (item, "type", "custom_tool_call");
  json_object_set_string_member (item, "status", status);
  json_object_set_string_member (item, "call_id", call_id ? call_id : "");
  json_object_set_string_member (item, "name", name ? name : "");
  json_object_set_string_member (item, "input", input);
  return item;
}

JsonObject *
us_responses_reasoning_item (const char *id,
                             const char *text,
                             const char *signature)
{
  JsonObject *item = json_object_new ();
  JsonArray *summary = json_array_new ();

  json_object_set_string_member (item, "id", id);
  json_object_set_string_member (item, "type", "reasoning");
  if (text != NULL)
    {
      JsonObject *s = json_object_new ();

      json_object_set_string_member (s, "type", "summary_text");
      json_object_set_string_member (s, "text", text);
      json_array_add_object_element (summary, s);
    }
  json_object_set_array_member (item, "summary", summary);
  if (signature != NULL && *signature != '\0')
    json_object_set_string_member (item, "encrypted_content", signature);
  return item;
}

/* ---- Whole responses ---- */

static char *
message_text (JsonObject *item)
{
  GString *text = g_string_new (NULL);
  JsonArray *content = us_json_get_array (item, "content");

  for (guint i = 0; content != NULL && i < json_array_get_length (content); i++)
    {
      JsonNode *node = json_array_get_element (content, i);
      JsonObject *part = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      const char *t = us_json_get_string (part, "text");

      if (t == NULL)
        t = us_json_get_string (part, "refusal");
      if (t != NULL)
        g_string_append (text, t);
    }
  return g_string_free (text, FALSE);
}

UsIrStopReason
us_responses_stop_reason (JsonObject *response,
                          gboolean    has_calls)
{
  JsonObject *details = us_json_get_object (response, "incomplete_details");
  const char *reason = us_json_get_string (details, "reason");

  if (g_strcmp0 (us_json_get_string (response, "status"), "incomplete") == 0 || reason != NULL)
    return g_strcmp0 (reason, "content_filter") == 0 ? US_IR_STOP_REFUSAL : US_IR_STOP_MAX_TOKENS;
  return has_calls ? US_IR_STOP_TOOL_USE : US_IR_STOP_END_TURN;
}

static gboolean
responses_response_decode (JsonObject   *body,
                           UsIrResponse *resp,
                           GError      **error)
{
  JsonArray *output = us_json_get_array (body, "output");
  gboolean has_calls = FALSE;

  if (output == NULL)
    {
      g_set_error (error, US_TRANSLATE_ERROR, US_TRANSLATE_ERROR_INVALID,
                   "Not a response: no output");
      return FALSE;
    }
  resp->id = g_strdup (us_json_get_string (body, "id"));
  resp->model = g_strdup (us_json_get_string (body, "model"));
  us_openai_usage_decode (us_json_get_object (body, "usage"), TRUE, &resp->usage);

  for (guint i = 0; i < json_array_get_length (output); i++)
    {
      JsonNode *node = json_array_get_element (output, i);
      JsonObject *item = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      const char *type = us_json_get_string (item, "type");

      if (g_strcmp0 (type, "message") == 0)
        {
          g_autofree char *text = message_text (item);

          if (*text != '\0')
            g_ptr_array_add (resp->parts, us_ir_part_new_text (text));
        }
      else if (g_strcmp0 (type, "function_call") == 0 || g_strcmp0 (type, "custom_tool_call") == 0
               || g_strcmp0 (type, "local_shell_call") == 0)
        {
          if (us_json_get_string (item, "call_id") == NULL)
            continue;
          g_ptr_array_add (resp->parts, call_part (node));
          has_calls = TRUE;
        }
      else if (g_strcmp0 (type, "reasoning") == 0)
        g_ptr_array_add (resp->parts, us_responses_decode_reasoning (node));
    }
  resp->stop_reason = us_responses_stop_reason (body, has_calls);
  return TRUE;
}

static JsonNode *
responses_response_encode (const UsIrResponse *resp,
                           const char         *model)
{
  g_autofree char *id = us_responses_id (resp->id);
  JsonArray *output = json_array_new ();
  JsonObject *obj;

  for (guint i = 0; i < resp->parts->len; i++)
    {
      UsIrPart *part = g_ptr_array_index (resp->parts, i);
      g_autofree char *item_id = NULL;
      g_autofree char *signature = NULL;

      switch (part->kind)
        {
        case US_IR_PART_TEXT:
          item_id = us_responses_item_id (id, "msg", i);
          json_array_add_object_element (output, us_responses_message_item (item_id, "completed", part->text));
          break;
        case US_IR_PART_TOOL_CALL:
          item_id = us_responses_item_id (id, "fc", i);
          json_array_add_object_element (output,
                                         us_responses_call_item (item_id, "completed", part->tool_id,
                                                                 part->tool_name, part->tool_ns,
                                                                 part->tool_custom, part->arguments));
          break;
        case US_IR_PART_THINKING:
          item_id = us_responses_item_id (id, "rs", i);
          signature = part->signed_by == US_WIRE_OPENAI_RESPONSES
            ? g_strdup (part->signature) : us_ir_signature_wrap (part->signed_by, part->signature);
          json_array_add_object_element (output, us_responses_reasoning_item (item_id, part->text, signature));
          break;
        case US_IR_PART_IMAGE:
        case US_IR_PART_TOOL_RESULT:
        case US_IR_PART_REDACTED_THINKING:
        case US_IR_PART_OPAQUE:
        default:
          break;
        }
    }

  obj = us_responses_object (id, model, g_get_real_time () / G_USEC_PER_SEC, "completed",
                             output, &resp->usage);
  us_responses_set_stop (obj, resp->stop_reason);
  return us_json_node_take_object (obj);
}

const UsFormatCodec us_format_openai_responses = {
  .fmt = US_WIRE_OPENAI_RESPONSES,
  .name = "OpenAI Responses",
  .request_decode = responses_request_decode,
  .request_encode = responses_request_encode,
  .tool_name = us_openai_tool_name,
  .response_decode = responses_response_decode,
  .response_encode = responses_response_encode,
  .error_encode = us_openai_error_encode,
  .error_decode = us_openai_error_decode,
  .decoder_new = us_responses_decoder_new,
  .decoder_event = us_responses_decoder_event,
  .decoder_finish = us_responses_decoder_finish,
  .decoder_free = us_responses_decoder_free,
  .encoder_new = us_responses_encoder_new,
  .encoder_event = us_responses_encoder_event,
  .encoder_finish = us_responses_encoder_finish,
  .encoder_fail = us_responses_encoder_fail,
  .encoder_free = us_responses_encoder_free,
};
