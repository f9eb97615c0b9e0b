/* us-format-openai-chat.c: OpenAI Chat Completions ⇄ IR (requests and whole
 * responses; streams are in us-format-openai-chat-stream.c). */

#include "us-format.h"
#include "us-openai-common.h"
#include "us-format-openai-chat.h"

#include <string.h>

/* ---- Request decoding ---- */

static const char * const request_known[] = {
  "model", "messages", "stream", "stream_options", "max_tokens", "max_completion_tokens",
  "temperature", "top_p", "stop", "tools", "tool_choice", "parallel_tool_calls",
  "reasoning_effort", NULL,
};

/* Content is a string or an array of parts (text, image_url, ...). */
static gboolean
decode_content (JsonNode  *content,
                GPtrArray *parts,
                GError   **error)
{
  JsonArray *array;

  if (!us_json_content (content, parts, "an array of parts", &array, error))
    return FALSE;
  for (guint i = 0; array != NULL && i < json_array_get_length (array); i++)
    {
      JsonNode *node = json_array_get_element (array, i);
      JsonObject *obj = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      const char *type = us_json_get_string (obj, "type");

      if (obj == NULL || type == NULL)
        {
          g_set_error (error, US_TRANSLATE_ERROR, US_TRANSLATE_ERROR_INVALID,
                       "content[%u] is not a typed part", i);
          return FALSE;
        }
      if (strcmp (type, "text") == 0 || strcmp (type, "refusal") == 0)
        {
          const char *text = us_json_get_string (obj, strcmp (type, "text") == 0 ? "text" : "refusal");
          UsIrPart *part = us_ir_part_new_text (text);

          if (strcmp (type, "text") == 0)
            {
              static const char * const known[] = { "type", "text", NULL };

              part->extra = us_json_unknown_members (obj, known);
              part->extra_fmt = US_WIRE_OPENAI_CHAT;
            }
          g_ptr_array_add (parts, part);
        }
      else if (strcmp (type, "image_url") == 0)
        {
          JsonObject *image = us_json_get_object (obj, "image_url");
          const char *url = image ? us_json_get_string (image, "url") : us_json_get_string (obj, "image_url");
          g_autoptr(UsIrPart) part = us_ir_part_new (US_IR_PART_IMAGE);

          if (url == NULL)
            {
              g_set_error (error, US_TRANSLATE_ERROR, US_TRANSLATE_ERROR_INVALID,
                           "content[%u]: image_url needs a url", i);
              return FALSE;
            }
          us_ir_image_parse_data_url (part, url);
          if (image != NULL && json_object_get_size (image) > 1)
            {
              static const char * const known[] = { "url", NULL };

              /* "detail" and friends: Chat's own, kept for Chat. */
              part->extra = us_json_unknown_members (image, known);
              part->extra_fmt = US_WIRE_OPENAI_CHAT;
            }
          g_ptr_array_add (parts, g_steal_pointer (&part));
        }
      else
        g_ptr_array_add (parts, us_ir_part_new_opaque (node, US_WIRE_OPENAI_CHAT));
    }
  return TRUE;
}

static gboolean
decode_tool_calls (JsonArray   *calls,
                   UsIrMessage *msg,
                   GError     **error)
{
  for (guint i = 0; calls != NULL && i < json_array_get_length (calls); i++)
    {
      JsonNode *node = json_array_get_element (calls, i);
      JsonObject *call = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      JsonObject *function = us_json_get_object (call, "function");
      UsIrPart *part;

      if (function == NULL)
        {
          if (call != NULL)
            {
              UsIrPart *part = us_ir_part_new_opaque (node, US_WIRE_OPENAI_CHAT);

              /* A call of another type: the id marks it as a call, not content. */
              part->tool_id = g_strdup (us_json_get_string (call, "id"));
              if (part->tool_id == NULL)
                part->tool_id = g_strdup ("");
              g_ptr_array_add (msg->parts, part);
              continue;
            }
          g_set_error (error, US_TRANSLATE_ERROR, US_TRANSLATE_ERROR_INVALID,
                       "tool_calls[%u] is not a function call", i);
          return FALSE;
        }
      part = us_ir_part_new (US_IR_PART_TOOL_CALL);
      part->tool_id = g_strdup (us_json_get_string (call, "id"));
      part->tool_name = g_strdup (us_json_get_string (function, "name"));
      part->arguments = g_strdup (us_json_get_string (function, "arguments"));
      g_ptr_array_add (msg->parts, part);
      if (part->tool_id == NULL || part->tool_name == NULL)
        {
          g_set_error (error, US_TRANSLATE_ERROR, US_TRANSLATE_ERROR_INVALID,
                       "tool_calls[%u] needs an id and a function name", i);
          return FALSE;
        }
      if (part->arguments == NULL)
        part->arguments = g_strdup ("{}");
    }
  return TRUE;
}

static gboolean
decode_message (JsonObject  *obj,
                UsIrRequest *req,
                GError     **error)
{
  static const char * const msg_known[] = { "role", "content", NULL };
  static const char * const assistant_known[] = {
    "role", "content", "tool_calls", "reasoning_content", "reasoning", NULL,
  };
  const char *role = us_json_get_string (obj, "role");
  JsonNode *content = json_object_get_member (obj, "content");
  UsIrMessage *msg;

  if (g_strcmp0 (role, "tool") == 0 || g_strcmp0 (role, "function") == 0)
    {
      /* Tool results live in the user turn, as in Anthropic. */
      UsIrPart *part = us_ir_part_new (US_IR_PART_TOOL_RESULT);

      msg = us_ir_request_message_for (req, US_IR_ROLE_USER);
      g_ptr_array_add (msg->parts, part);
      part->tool_id = g_strdup (us_json_get_string (obj, g_strcmp0 (role, "tool") == 0 ? "tool_call_id" : "name"));
      part->content = g_ptr_array_new_with_free_func ((GDestroyNotify) us_ir_part_free);
      part->as_string = us_json_is_string (content);
      if (part->tool_id == NULL)
        {
          g_set_error (error, US_TRANSLATE_ERROR, US_TRANSLATE_ERROR_INVALID,
                       "a tool message needs a tool_call_id");
          return FALSE;
        }
      return decode_content (content, part->content, error);
    }

  if (g_strcmp0 (role, "system") == 0 || g_strcmp0 (role, "developer") == 0)
    msg = us_ir_message_new (US_IR_ROLE_SYSTEM);
  else if (g_strcmp0 (role, "user") == 0)
    msg = us_ir_message_new (US_IR_ROLE_USER);
  else if (g_strcmp0 (role, "assistant") == 0)
    msg = us_ir_message_new (US_IR_ROLE_ASSISTANT);
  else
    {
      g_set_error (error, US_TRANSLATE_ERROR, US_TRANSLATE_ERROR_INVALID,
                   "role: unknown role “%s”", role ? role : "");
      return FALSE;
    }
  g_ptr_array_add (req->messages, msg);
  msg->as_string = us_json_is_string (content);
  msg->extra = us_json_unknown_members (obj, msg->role == US_IR_ROLE_ASSISTANT
                                        ? assistant_known : msg_known);
  msg->extra_fmt = US_WIRE_OPENAI_CHAT;
  if (g_strcmp0 (role, "developer") == 0)
    {
      if (msg->extra == NULL)
        msg->extra = json_object_new ();
      json_object_set_string_member (msg->extra, "role", "developer");
    }

  if (msg->role == US_IR_ROLE_ASSISTANT)
    {
      const char *reasoning = us_json_get_string (obj, "reasoning_content");

      if (reasoning == NULL)
        reasoning = us_json_get_string (obj, "reasoning");
      if (reasoning != NULL && *reasoning != '\0')
        {
          UsIrPart *part = us_ir_part_new (US_IR_PART_THINKING);

          part->text = g_strdup (reasoning);
          g_ptr_array_add (msg->parts, part);
        }
    }
  if (!decode_content (content, msg->parts, error))
    return FALSE;
  if (msg->role != US_IR_ROLE_ASSISTANT)
    return TRUE;   /* anything else is in @extra, for Chat only */
  return decode_tool_calls (us_json_get_array (obj, "tool_calls"), msg, error);
}

static gboolean
decode_tools (JsonArray   *tools,
              UsIrRequest *req,
              GError     **error)
{
  for (guint i = 0; tools != NULL && i < json_array_get_length (tools); i++)
    {
      static const char * const fn_known[] = { "name", "description", "parameters", NULL };
      JsonNode *node = json_array_get_element (tools, i);
      JsonObject *def = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      JsonObject *function = us_json_get_object (def, "function");
      UsIrTool *tool;

      if (def == NULL)
        {
          g_set_error (error, US_TRANSLATE_ERROR, US_TRANSLATE_ERROR_INVALID,
                       "tools[%u] is not an object", i);
          return FALSE;
        }
      if (function == NULL || g_strcmp0 (us_json_get_string (def, "type"), "function") != 0)
        {
          tool = us_ir_tool_new (US_IR_TOOL_OPAQUE);
          tool->raw = json_node_copy (node);
          tool->extra_fmt = US_WIRE_OPENAI_CHAT;
          g_ptr_array_add (req->tools, tool);
          continue;
        }
      tool = us_ir_tool_new (US_IR_TOOL_FUNCTION);
      g_ptr_array_add (req->tools, tool);
      tool->name = g_strdup (us_json_get_string (function, "name"));
      tool->description = g_strdup (us_json_get_string (function, "description"));
      if (json_object_get_member (function, "parameters") != NULL)
        tool->schema = json_node_copy (json_object_get_member (function, "parameters"));
      tool->extra = us_json_unknown_members (function, fn_known);
      tool->extra_fmt = US_WIRE_OPENAI_CHAT;
      if (tool->name == NULL)
        {
          g_set_error (error, US_TRANSLATE_ERROR, US_TRANSLATE_ERROR_INVALID,
                       "tools[%u] has no function name", i);
          return FALSE;
        }
    }
  return TRUE;
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
      JsonObject *function = us_json_get_object (json_node_get_object (node), "function");
      const char *name = us_json_get_string (function, "name");

      if (name != NULL)
        {
          req->tool_choice = US_IR_TOOL_CHOICE_TOOL;
          req->tool_choice_name = g_strdup (name);
        }
    }
}

static gboolean
chat_request_decode (JsonObject  *body,
                     UsIrRequest *req,
                     GError     **error)
{
  JsonArray *messages = us_json_get_array (body, "messages");
  JsonNode *stop = json_object_get_member (body, "stop");
  const char *effort = us_json_get_string (body, "reasoning_effort");

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
  req->max_tokens = us_json_get_int (body, "max_completion_tokens",
                                     us_json_get_int (body, "max_tokens", 0));
  req->max_completion_tokens = json_object_has_member (body, "max_completion_tokens");
  req->has_temperature = us_json_get_double (body, "temperature", &req->temperature);
  req->has_top_p = us_json_get_double (body, "top_p", &req->top_p);
  if (json_object_has_member (body, "parallel_tool_calls"))
    {
      req->parallel_tool_calls_set = TRUE;
      req->parallel_tool_calls = us_json_get_bool (body, "parallel_tool_calls", TRUE);
    }
  if (us_json_is_string (stop))
    g_ptr_array_add (req->stop, g_strdup (json_node_get_string (stop)));
  else if (stop != NULL && JSON_NODE_HOLDS_ARRAY (stop))
    for (guint i = 0; i < json_array_get_length (json_node_get_array (stop)); i++)
      {
        const char *s = json_array_get_string_element (json_node_get_array (stop), i);

        if (s != NULL)
          g_ptr_array_add (req->stop, g_strdup (s));
      }
  if (effort != NULL && strcmp (effort, "none") != 0)
    {
      req->thinking = TRUE;
      req->reasoning_effort = g_strdup (effort);
    }
  decode_tool_choice (json_object_get_member (body, "tool_choice"), req);
  req->extra = us_json_unknown_members (body, request_known);

  for (guint i = 0; i < json_array_get_length (messages); i++)
    {
      JsonNode *node = json_array_get_element (messages, i);

      if (!JSON_NODE_HOLDS_OBJECT (node))
        {
          g_set_error (error, US_TRANSLATE_ERROR, US_TRANSLATE_ERROR_INVALID,
                       "messages[%u] is not an object", i);
          return FALSE;
        }
      if (!decode_message (json_node_get_object (node), req, error))
        {
          g_prefix_error (error, "messages[%u]: ", i);
          return FALSE;
        }
    }
  return decode_tools (us_json_get_array (body, "tools"), req, error);
}

/* ---- Request encoding ---- */

static JsonObject *
encode_image (const UsIrPart *part)
{
  JsonObject *obj = json_object_new ();
  JsonObject *image = json_object_new ();
  g_autofree char *url = us_ir_image_data_url (part);

  json_object_set_string_member (obj, "type", "image_url");
  json_object_set_string_member (image, "url", url);
  if (part->extra_fmt == US_WIRE_OPENAI_CHAT)
    us_json_copy_members (image, part->extra, NULL);
  json_object_set_object_member (obj, "image_url", image);
  return obj;
}

static JsonObject *
encode_text_part (const UsIrPart *part)
{
  JsonObject *obj = json_object_new ();

  json_object_set_string_member (obj, "type", "text");
  json_object_set_string_member (obj, "text", part->text ? part->text : "");
  if (part->extra_fmt == US_WIRE_OPENAI_CHAT)
    us_json_copy_members (obj, part->extra, NULL);
  return obj;
}

/* Text and images as Chat content: a plain string when that is all it is
 * (many compatible servers, DeepSeek among them, take nothing else), an
 * array of parts for images or when a Chat client sent one itself. */
static JsonNode *
encode_content (GPtrArray *parts,
                gboolean   keep_array,
                gboolean   allow_images)
{
  g_autoptr(JsonArray) array = json_array_new ();
  g_autoptr(GString) joined = g_string_new (NULL);
  gboolean plain = !keep_array;
  guint n_text = 0;

  for (guint i = 0; i < parts->len; i++)
    {
      UsIrPart *part = g_ptr_array_index (parts, i);

      if (part->kind == US_IR_PART_TEXT)
        {
          if (n_text++ > 0)
            g_string_append (joined, "\n\n");
          g_string_append (joined, part->text);
          json_array_add_object_element (array, encode_text_part (part));
        }
      else if (part->kind == US_IR_PART_IMAGE && allow_images)
        {
          plain = FALSE;
          json_array_add_object_element (array, encode_image (part));
        }
      else if (part->kind == US_IR_PART_OPAQUE && part->extra_fmt == US_WIRE_OPENAI_CHAT
               && part->tool_id == NULL)
        {
          plain = FALSE;
          json_array_add_element (array, json_node_copy (part->raw));
        }
    }

  if (plain)
    return json_node_init_string (json_node_alloc (), joined->str);
  return us_json_node_take_array (g_steal_pointer (&array));
}

static char *
tool_result_text (const UsIrPart *part)
{
  GString *text = g_string_new (NULL);

  for (guint i = 0; part->content != NULL && i < part->content->len; i++)
    {
      UsIrPart *item = g_ptr_array_index (part->content, i);

      if (item->kind != US_IR_PART_TEXT)
        continue;
      if (text->len > 0)
        g_string_append (text, "\n\n");
      g_string_append (text, item->text);
    }
  return g_string_free (text, FALSE);
}

static JsonObject *
message_object (const char *role)
{
  JsonObject *obj = json_object_new ();

  json_object_set_string_member (obj, "role", role);
  return obj;
}

/* A user turn: tool results first as role "tool" messages (Chat wants them
 * right after the assistant's calls), then the rest. Images inside tool
 * results cannot ride on a tool message, so they join the user message. */
static void
encode_user (JsonArray         *messages,
             const UsIrMessage *msg,
             gboolean           same)
{
  g_autoptr(GPtrArray) rest = g_ptr_array_new ();

  for (guint i = 0; i < msg->parts->len; i++)
    {
      UsIrPart *part = g_ptr_array_index (msg->parts, i);
      JsonObject *tool;
      g_autofree char *text = NULL;

      if (part->kind != US_IR_PART_TOOL_RESULT)
        {
          g_ptr_array_add (rest, part);
          continue;
        }
      tool = message_object ("tool");
      json_object_set_string_member (tool, "tool_call_id", part->tool_id);
      text = tool_result_text (part);
      if (part->is_error && !same)
        {
          g_autofree char *marked = g_strdup_printf ("Error: %s", text);

          json_object_set_string_member (tool, "content", marked);
        }
      else if (same && !part->as_string)
        json_object_set_member (tool, "content", encode_content (part->content, TRUE, FALSE));
      else
        json_object_set_string_member (tool, "content", text);
      json_array_add_object_element (messages, tool);

      for (guint j = 0; part->content != NULL && j < part->content->len; j++)
        {
          UsIrPart *item = g_ptr_array_index (part->content, j);

          if (item->kind == US_IR_PART_IMAGE)
            g_ptr_array_add (rest, item);
        }
    }

  if (rest->len > 0)
    {
      JsonObject *user = message_object ("user");

      json_object_set_member (user, "content", encode_content (rest, same && !msg->as_string, TRUE));
      if (same)
        us_json_copy_members (user, msg->extra, NULL);
      json_array_add_object_element (messages, user);
    }
}

/* From another format one assistant turn may arrive as several messages
 * (Responses items) or as none worth sending (only dropped thinking):
 * Chat servers want one assistant message per turn, never an empty one. */
static void
merge_assistant (JsonArray  *messages,
                 JsonObject *obj,
                 GPtrArray  *texts,
                 JsonArray  *calls)
{
  guint n = json_array_get_length (messages);
  JsonObject *prev = n > 0 ? json_array_get_object_element (messages, n - 1) : NULL;
  g_autoptr(JsonNode) content = encode_content (texts, FALSE, FALSE);
  const char *text = json_node_get_string (content);

  if (*text == '\0' && json_array_get_length (calls) == 0)
    {
      json_object_unref (obj);
      json_array_unref (calls);
      return;
    }
  if (prev != NULL && g_strcmp0 (us_json_get_string (prev, "role"), "assistant") == 0)
    {
      const char *before = us_json_get_string (prev, "content");
      JsonArray *prev_calls = us_json_get_array (prev, "tool_calls");

      json_object_unref (obj);
      if (*text != '\0')
        {
          g_autofree char *joined = before && *before ? g_strconcat (before, "\n\n", text, NULL) : g_strdup (text);

          json_object_set_string_member (prev, "content", joined);
        }
      if (json_array_get_length (calls) > 0 && prev_calls == NULL)
        json_object_set_array_member (prev, "tool_calls", json_array_ref (calls));
      else
        for (guint i = 0; i < json_array_get_length (calls); i++)
          json_array_add_element (prev_calls, json_node_copy (json_array_get_element (calls, i)));
      json_array_unref (calls);
      return;
    }

  /* "" rather than null with tool calls: some servers refuse null. */
  json_object_set_member (obj, "content", g_steal_pointer (&content));
  if (json_array_get_length (calls) > 0)
    json_object_set_array_member (obj, "tool_calls", calls);
  else
    json_array_unref (calls);
  json_array_add_object_element (messages, obj);
}

static void
encode_assistant (JsonArray         *messages,
                  const UsIrRequest *req,
                  const UsIrMessage *msg,
                  gboolean           same)
{
  JsonObject *obj = message_object ("assistant");
  JsonArray *calls = json_array_new ();
  g_autoptr(GPtrArray) texts = g_ptr_array_new ();

  for (guint i = 0; i < msg->parts->len; i++)
    {
      UsIrPart *part = g_ptr_array_index (msg->parts, i);

      if (part->kind == US_IR_PART_TEXT)
        g_ptr_array_add (texts, part);
      else if (part->kind == US_IR_PART_TOOL_CALL)
        {
          JsonObject *call = json_object_new ();
          JsonObject *function = json_object_new ();
          g_autofree char *name = us_openai_tool_name_for (req, US_WIRE_OPENAI_CHAT, part->tool_name);

          json_object_set_string_member (call, "id", part->tool_id);
          json_object_set_string_member (call, "type", "function");
          json_object_set_string_member (function, "name", name);
          json_object_set_string_member (function, "arguments", part->arguments ? part->arguments : "{}");
          json_object_set_object_member (call, "function", function);
          json_array_add_object_element (calls, call);
        }
      else if (part->kind == US_IR_PART_THINKING && same && part->signed_by == US_WIRE_NONE)
        json_object_set_string_member (obj, "reasoning_content", part->text ? part->text : "");
      else if (part->kind == US_IR_PART_OPAQUE && part->extra_fmt == US_WIRE_OPENAI_CHAT && same
               && part->tool_id != NULL)
        json_array_add_element (calls, json_node_copy (part->raw));
    }

  if (!same)
    {
      merge_assistant (messages, obj, texts, calls);
      return;
    }
  if (texts->len == 0 && !msg->as_string)
    json_object_set_null_member (obj, "content");
  else
    json_object_set_member (obj, "content", encode_content (texts, !msg->as_string, FALSE));
  if (json_array_get_length (calls) > 0)
    json_object_set_array_member (obj, "tool_calls", calls);
  else
    json_array_unref (calls);
  us_json_copy_members (obj, msg->extra, NULL);
  json_array_add_object_element (messages, obj);
}

static void
encode_system_parts (JsonArray *messages,
                     GPtrArray *parts)
{
  JsonObject *obj;

  if (parts->len == 0)
    return;
  obj = message_object ("system");
  json_object_set_member (obj, "content", encode_content (parts, FALSE, FALSE));
  json_array_add_object_element (messages, obj);
}

static JsonArray *
encode_messages (const UsIrRequest *req)
{
  JsonArray *messages = json_array_new ();
  gboolean same = req->src_fmt == US_WIRE_OPENAI_CHAT;
  g_autoptr(GPtrArray) system = g_ptr_array_new ();

  /* From another format all system text becomes one leading message: many
   * Chat servers' templates refuse a system message anywhere else. */
  g_ptr_array_extend (system, req->system, NULL, NULL);
  if (!same)
    for (guint i = 0; i < req->messages->len; i++)
      {
        UsIrMessage *msg = g_ptr_array_index (req->messages, i);

        if (msg->role == US_IR_ROLE_SYSTEM)
          g_ptr_array_extend (system, msg->parts, NULL, NULL);
      }
  encode_system_parts (messages, system);

  for (guint i = 0; i < req->messages->len; i++)
    {
      UsIrMessage *msg = g_ptr_array_index (req->messages, i);

      switch (msg->role)
        {
        case US_IR_ROLE_SYSTEM:
          if (same)
            {
              const char *role = us_json_get_string (msg->extra, "role");
              JsonObject *obj = message_object (role ? role : "system");

              json_object_set_member (obj, "content", encode_content (msg->parts, !msg->as_string, FALSE));
              us_json_copy_members (obj, msg->extra, NULL);
              json_array_add_object_element (messages, obj);
            }
          break;
        case US_IR_ROLE_ASSISTANT:
          encode_assistant (messages, req, msg, same);
          break;
        case US_IR_ROLE_USER:
        default:
          encode_user (messages, msg, same);
          break;
        }
    }
  return messages;
}

static void
encode_tools (JsonObject        *body,
              const UsIrRequest *req)
{
  JsonArray *tools = json_array_new ();

  for (guint i = 0; i < req->tools->len; i++)
    {
      UsIrTool *tool = g_ptr_array_index (req->tools, i);
      JsonObject *def, *function;
      g_autofree char *name = NULL;

      if (tool->kind == US_IR_TOOL_OPAQUE)
        {
          /* Server-side tools (web search, ...) exist only where defined. */
          if (tool->extra_fmt == US_WIRE_OPENAI_CHAT && tool->raw != NULL)
            json_array_add_element (tools, json_node_copy (tool->raw));
          continue;
        }
      name = us_openai_tool_name_for (req, US_WIRE_OPENAI_CHAT, tool->name);
      def = json_object_new ();
      function = json_object_new ();
      json_object_set_string_member (def, "type", "function");
      json_object_set_string_member (function, "name", name);
      if (tool->description != NULL)
        json_object_set_string_member (function, "description", tool->description);
      json_object_set_member (function, "parameters",
                              tool->extra_fmt == US_WIRE_OPENAI_CHAT && tool->schema != NULL
                              ? json_node_copy (tool->schema) : us_openai_schema (tool->schema));
      if (tool->extra_fmt == US_WIRE_OPENAI_CHAT)
        us_json_copy_members (function, tool->extra, NULL);
      json_object_set_object_member (def, "function", function);
      json_array_add_object_element (tools, def);
    }

  if (json_array_get_length (tools) == 0)
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
        JsonObject *function = json_object_new ();
        g_autofree char *name = us_openai_tool_name_for (req, US_WIRE_OPENAI_CHAT, req->tool_choice_name);

        json_object_set_string_member (choice, "type", "function");
        json_object_set_string_member (function, "name", name);
        json_object_set_object_member (choice, "function", function);
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

static JsonNode *
chat_request_encode (const UsIrRequest *req,
                     const char        *model,
                     gint64             max_output_tokens,
                     GError           **error)
{
  JsonObject *body = json_object_new ();
  JsonNode *root = us_json_node_take_object (body);
  gboolean same = req->src_fmt == US_WIRE_OPENAI_CHAT;
  gint64 max_tokens = req->max_tokens;

  if (max_output_tokens > 0)
    max_tokens = max_tokens > 0 ? MIN (max_tokens, max_output_tokens) : max_output_tokens;

  json_object_set_string_member (body, "model", model);
  /* max_tokens, not max_completion_tokens: DeepSeek, Ollama and most
   * compatible servers only know the older name (a Chat client's own
   * choice is kept: OpenAI's reasoning models want the newer one). */
  if (max_tokens > 0)
    json_object_set_int_member (body, same && req->max_completion_tokens
                                ? "max_completion_tokens" : "max_tokens", max_tokens);
  json_object_set_array_member (body, "messages", encode_messages (req));
  encode_tools (body, req);
  if (req->has_temperature)
    json_object_set_double_member (body, "temperature", req->temperature);
  if (req->has_top_p)
    json_object_set_double_member (body, "top_p", req->top_p);
  if (req->stop->len > 0)
    {
      JsonArray *stop = json_array_new ();

      for (guint i = 0; i < req->stop->len; i++)
        json_array_add_string_element (stop, g_ptr_array_index (req->stop, i));
      json_object_set_array_member (body, "stop", stop);
    }
  if (same && req->reasoning_effort != NULL)
    json_object_set_string_member (body, "reasoning_effort", req->reasoning_effort);
  if (req->stream)
    {
      JsonObject *options = json_object_new ();

      json_object_set_boolean_member (body, "stream", TRUE);
      /* Without it most servers send no usage at all when streaming. */
      json_object_set_boolean_member (options, "include_usage", TRUE);
      json_object_set_object_member (body, "stream_options", options);
    }
  if (same)
    us_json_copy_members (body, req->extra, NULL);
  return root;
}

/* ---- Whole responses ---- */

UsIrStopReason
us_chat_finish_reason_decode (const char *reason,
                              gboolean    has_tool_calls)
{
  if (reason == NULL)
    return US_IR_STOP_NONE;
  /* Several servers say "stop" after tool calls. */
  if (has_tool_calls || strcmp (reason, "tool_calls") == 0 || strcmp (reason, "function_call") == 0)
    return US_IR_STOP_TOOL_USE;
  if (strcmp (reason, "length") == 0)
    return US_IR_STOP_MAX_TOKENS;
  if (strcmp (reason, "content_filter") == 0)
    return US_IR_STOP_REFUSAL;
  return US_IR_STOP_END_TURN;
}

const char *
us_chat_finish_reason_encode (UsIrStopReason reason)
{
  switch (reason)
    {
    case US_IR_STOP_TOOL_USE:
      return "tool_calls";
    case US_IR_STOP_MAX_TOKENS:
    case US_IR_STOP_CONTEXT_WINDOW:
      return "length";
    case US_IR_STOP_REFUSAL:
      return "content_filter";
    case US_IR_STOP_NONE:
    case US_IR_STOP_END_TURN:
    case US_IR_STOP_STOP_SEQUENCE:
    case US_IR_STOP_PAUSE_TURN:
    default:
      return "stop";
    }
}

static gboolean
chat_response_decode (JsonObject   *body,
                      UsIrResponse *resp,
                      GError      **error)
{
  JsonArray *choices = us_json_get_array (body, "choices");
  JsonObject *choice;
  JsonObject *message;
  const char *reasoning;
  JsonArray *calls;
  JsonNode *content;

  if (choices == NULL)
    {
      g_set_error (error, US_TRANSLATE_ERROR, US_TRANSLATE_ERROR_INVALID,
                   "Not a chat completion: no choices");
      return FALSE;
    }
  resp->id = g_strdup (us_json_get_string (body, "id"));
  resp->model = g_strdup (us_json_get_string (body, "model"));
  us_openai_usage_decode (us_json_get_object (body, "usage"), FALSE, &resp->usage);
  if (json_array_get_length (choices) == 0)
    {
      resp->stop_reason = US_IR_STOP_END_TURN;
      return TRUE;
    }

  choice = json_array_get_object_element (choices, 0);
  message = us_json_get_object (choice, "message");
  reasoning = us_json_get_string (message, "reasoning_content");
  if (reasoning == NULL)
    reasoning = us_json_get_string (message, "reasoning");
  if (reasoning != NULL && *reasoning != '\0')
    {
      UsIrPart *part = us_ir_part_new (US_IR_PART_THINKING);

      part->text = g_strdup (reasoning);
      g_ptr_array_add (resp->parts, part);
    }
  content = message ? json_object_get_member (message, "content") : NULL;
  if (us_json_is_string (content) && *json_node_get_string (content) != '\0')
    g_ptr_array_add (resp->parts, us_ir_part_new_text (json_node_get_string (content)));
  else if (content != NULL && JSON_NODE_HOLDS_ARRAY (content))
    {
      g_autoptr(GPtrArray) parts = g_ptr_array_new_with_free_func ((GDestroyNotify) us_ir_part_free);

      if (decode_content (content, parts, NULL))
        for (guint i = 0; i < parts->len; i++)
          if (((UsIrPart *) g_ptr_array_index (parts, i))->kind == US_IR_PART_TEXT)
            g_ptr_array_add (resp->parts, g_steal_pointer (&g_ptr_array_index (parts, i)));
    }
  else if (us_json_get_string (message, "refusal") != NULL)
    g_ptr_array_add (resp->parts, us_ir_part_new_text (us_json_get_string (message, "refusal")));

  calls = us_json_get_array (message, "tool_calls");
  for (guint i = 0; calls != NULL && i < json_array_get_length (calls); i++)
    {
      JsonObject *call = json_array_get_object_element (calls, i);
      JsonObject *function = us_json_get_object (call, "function");
      UsIrPart *part;

      if (function == NULL)
        continue;
      part = us_ir_part_new (US_IR_PART_TOOL_CALL);
      part->tool_id = us_json_get_string (call, "id")
        ? g_strdup (us_json_get_string (call, "id")) : us_openai_new_id ("call_");
      part->tool_name = g_strdup (us_json_get_string (function, "name"));
      part->arguments = g_strdup (us_json_get_string (function, "arguments"));
      g_ptr_array_add (resp->parts, part);
    }
  resp->stop_reason = us_chat_finish_reason_decode (us_json_get_string (choice, "finish_reason"),
                                                    calls != NULL && json_array_get_length (calls) > 0);
  return TRUE;
}

char *
us_chat_completion_id (const char *upstream_id)
{
  return us_ir_derive_id ("chatcmpl-", upstream_id);
}

static JsonNode *
chat_response_encode (const UsIrResponse *resp,
                      const char         *model)
{
  JsonObject *body = json_object_new ();
  JsonArray *choices = json_array_new ();
  JsonObject *choice = json_object_new ();
  JsonObject *message = json_object_new ();
  JsonArray *calls = json_array_new ();
  g_autofree char *id = us_chat_completion_id (resp->id);
  GString *text = g_string_new (NULL);
  GString *reasoning = g_string_new (NULL);

  for (guint i = 0; i < resp->parts->len; i++)
    {
      UsIrPart *part = g_ptr_array_index (resp->parts, i);

      if (part->kind == US_IR_PART_TEXT)
        g_string_append (text, part->text);
      else if (part->kind == US_IR_PART_THINKING)
        g_string_append (reasoning, part->text ? part->text : "");
      else if (part->kind == US_IR_PART_TOOL_CALL)
        {
          JsonObject *call = json_object_new ();
          JsonObject *function = json_object_new ();

          json_object_set_string_member (call, "id", part->tool_id);
          json_object_set_string_member (call, "type", "function");
          json_object_set_string_member (function, "name", part->tool_name);
          json_object_set_string_member (function, "arguments", part->arguments ? part->arguments : "{}");
          json_object_set_object_member (call, "function", function);
          json_array_add_object_element (calls, call);
        }
    }

  json_object_set_string_member (body, "id", id);
  json_object_set_string_member (body, "object", "chat.completion");
  json_object_set_int_member (body, "created", g_get_real_time () / G_USEC_PER_SEC);
  json_object_set_string_member (body, "model", model ? model : "");

  json_object_set_string_member (message, "role", "assistant");
  if (text->len > 0 || json_array_get_length (calls) == 0)
    json_object_set_string_member (message, "content", text->str);
  else
    json_object_set_null_member (message, "content");
  if (reasoning->len > 0)
    json_object_set_string_member (message, "reasoning_content", reasoning->str);
  if (json_array_get_length (calls) > 0)
    json_object_set_array_member (message, "tool_calls", calls);
  else
    json_array_unref (calls);
  g_string_free (text, TRUE);
  g_string_free (reasoning, TRUE);

  json_object_set_int_member (choice, "index", 0);
  json_object_set_object_member (choice, "message", message);
  json_object_set_null_member (choice, "logprobs");
  json_object_set_string_member (choice, "finish_reason", us_chat_finish_reason_encode (resp->stop_reason));
  json_array_add_object_element (choices, choice);
  json_object_set_array_member (body, "choices", choices);
  json_object_set_object_member (body, "usage", us_openai_usage_encode (&resp->usage, FALSE));

  return us_json_node_take_object (body);
}

const UsFormatCodec us_format_openai_chat = {
  .fmt = US_WIRE_OPENAI_CHAT,
  .name = "OpenAI Chat Completions",
  .request_decode = chat_request_decode,
  .request_encode = chat_request_encode,
  .tool_name = us_openai_tool_name,
  .response_decode = chat_response_decode,
  .response_encode = chat_response_encode,
  .error_encode = us_openai_error_encode,
  .error_decode = us_openai_error_decode,
  .decoder_new = us_chat_decoder_new,
  .decoder_event = us_chat_decoder_event,
  .decoder_finish = us_chat_decoder_finish,
  .decoder_free = us_chat_decoder_free,
  .encoder_new = us_chat_encoder_new,
  .encoder_event = us_chat_encoder_event,
  .encoder_finish = us_chat_encoder_finish,
  .encoder_fail = us_chat_encoder_fail,
  .encoder_free = us_chat_encoder_free,
};
