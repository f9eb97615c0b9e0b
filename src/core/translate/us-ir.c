/* us-ir.c: IR lifetimes and helpers every codec shares. */

#include "us-ir.h"
#include "us-sse.h"
#include "us-openai-common.h"

#include <string.h>

UsIrPart *
us_ir_part_new (UsIrPartKind kind)
{
  UsIrPart *part = g_new0 (UsIrPart, 1);

  part->kind = kind;
  part->signed_by = US_WIRE_NONE;
  part->extra_fmt = US_WIRE_NONE;
  return part;
}

UsIrPart *
us_ir_part_new_text (const char *text)
{
  UsIrPart *part = us_ir_part_new (US_IR_PART_TEXT);

  part->text = g_strdup (text ? text : "");
  return part;
}

UsIrPart *
us_ir_part_new_opaque (JsonNode    *raw,
                       UsWireFormat fmt)
{
  UsIrPart *part = us_ir_part_new (US_IR_PART_OPAQUE);

  part->raw = json_node_copy (raw);
  part->extra_fmt = fmt;
  return part;
}

void
us_ir_part_free (UsIrPart *part)
{
  if (part == NULL)
    return;
  g_free (part->text);
  g_free (part->media_type);
  g_free (part->data);
  g_free (part->url);
  g_free (part->tool_id);
  g_free (part->tool_name);
  g_free (part->arguments);
  g_clear_pointer (&part->content, g_ptr_array_unref);
  g_free (part->signature);
  g_free (part->item_id);
  g_free (part->tool_ns);
  g_clear_pointer (&part->item, json_object_unref);
  g_clear_pointer (&part->raw, json_node_unref);
  g_clear_pointer (&part->extra, json_object_unref);
  g_free (part);
}

UsIrMessage *
us_ir_message_new (UsIrRole role)
{
  UsIrMessage *msg = g_new0 (UsIrMessage, 1);

  msg->role = role;
  msg->parts = g_ptr_array_new_with_free_func ((GDestroyNotify) us_ir_part_free);
  msg->extra_fmt = US_WIRE_NONE;
  return msg;
}

void
us_ir_message_free (UsIrMessage *msg)
{
  if (msg == NULL)
    return;
  g_ptr_array_unref (msg->parts);
  g_clear_pointer (&msg->extra, json_object_unref);
  g_free (msg);
}

UsIrTool *
us_ir_tool_new (UsIrToolKind kind)
{
  UsIrTool *tool = g_new0 (UsIrTool, 1);

  tool->kind = kind;
  tool->extra_fmt = US_WIRE_NONE;
  return tool;
}

void
us_ir_tool_free (UsIrTool *tool)
{
  if (tool == NULL)
    return;
  g_free (tool->name);
  g_free (tool->ns);
  g_free (tool->ns_name);
  g_free (tool->description);
  g_clear_pointer (&tool->schema, json_node_unref);
  g_clear_pointer (&tool->raw, json_node_unref);
  g_clear_pointer (&tool->extra, json_object_unref);
  g_free (tool);
}

char *
us_ir_tool_flat_name (const char *ns,
                      const char *name)
{
  g_autofree char *flat = g_strdup_printf ("%s__%s", ns, name);

  /* Anthropic and OpenAI both take at most 64 of [A-Za-z0-9_-]. */
  return us_openai_tool_name (flat);
}

const UsIrTool *
us_ir_request_find_tool (const UsIrRequest *req,
                         const char        *name)
{
  for (guint i = 0; name != NULL && i < req->tools->len; i++)
    {
      UsIrTool *tool = g_ptr_array_index (req->tools, i);

      if (tool->kind == US_IR_TOOL_FUNCTION && g_strcmp0 (tool->name, name) == 0)
        return tool;
    }
  return NULL;
}

static void
append_texts (GChecksum *sum,
              GPtrArray *parts)
{
  for (guint i = 0; parts != NULL && i < parts->len; i++)
    {
      UsIrPart *part = g_ptr_array_index (parts, i);

      if (part->kind == US_IR_PART_TEXT && part->text != NULL)
        g_checksum_update (sum, (const guchar *) part->text, -1);
      g_checksum_update (sum, (const guchar *) "\n", 1);
    }
}

char *
us_ir_request_cache_key (const UsIrRequest *req)
{
  const char *own = us_json_get_string (req->extra, "prompt_cache_key");
  const char *user = us_json_get_string (us_json_get_object (req->extra, "metadata"), "user_id");
  g_autoptr(GChecksum) sum = NULL;

  if (own != NULL)
    return g_strdup (own);
  sum = g_checksum_new (G_CHECKSUM_SHA256);
  if (user != NULL)
    g_checksum_update (sum, (const guchar *) user, -1);
  g_checksum_update (sum, (const guchar *) "\n", 1);
  append_texts (sum, req->system);
  for (guint i = 0; i < req->messages->len; i++)
    {
      UsIrMessage *msg = g_ptr_array_index (req->messages, i);

      append_texts (sum, msg->parts);
      /* System turns, then the first user turn: the conversation's start. */
      if (msg->role == US_IR_ROLE_USER)
        break;
    }
  return g_strdup_printf ("us-%.32s", g_checksum_get_string (sum));
}

UsIrRequest *
us_ir_request_new (UsWireFormat src_fmt)
{
  UsIrRequest *req = g_new0 (UsIrRequest, 1);

  req->src_fmt = src_fmt;
  req->system = g_ptr_array_new_with_free_func ((GDestroyNotify) us_ir_part_free);
  req->messages = g_ptr_array_new_with_free_func ((GDestroyNotify) us_ir_message_free);
  req->tools = g_ptr_array_new_with_free_func ((GDestroyNotify) us_ir_tool_free);
  req->stop = g_ptr_array_new_with_free_func (g_free);
  return req;
}

void
us_ir_request_free (UsIrRequest *req)
{
  if (req == NULL)
    return;
  g_free (req->model);
  g_ptr_array_unref (req->system);
  g_ptr_array_unref (req->messages);
  g_ptr_array_unref (req->tools);
  g_free (req->tool_choice_name);
  g_ptr_array_unref (req->stop);
  g_free (req->reasoning_effort);
  g_free (req->user);
  g_clear_pointer (&req->extra, json_object_unref);
  g_free (req);
}

UsIrMessage *
us_ir_request_message_for (UsIrRequest *req,
                           UsIrRole     role)
{
  UsIrMessage *last = NULL;

  if (req->messages->len > 0)
    last = g_ptr_array_index (req->messages, req->messages->len - 1);
  if (last != NULL && last->role == role && last->extra == NULL)
    return last;

  last = us_ir_message_new (role);
  g_ptr_array_add (req->messages, last);
  return last;
}

UsIrResponse *
us_ir_response_new (void)
{
  UsIrResponse *resp = g_new0 (UsIrResponse, 1);

  resp->parts = g_ptr_array_new_with_free_func ((GDestroyNotify) us_ir_part_free);
  return resp;
}

void
us_ir_response_free (UsIrResponse *resp)
{
  if (resp == NULL)
    return;
  g_free (resp->id);
  g_free (resp->model);
  g_ptr_array_unref (resp->parts);
  g_free (resp->stop_sequence);
  g_free (resp);
}

/* ---- Stop reasons ---- */

static const struct {
  UsIrStopReason reason;
  const char    *name;
} stop_names[] = {
  { US_IR_STOP_END_TURN, "end_turn" },
  { US_IR_STOP_MAX_TOKENS, "max_tokens" },
  { US_IR_STOP_STOP_SEQUENCE, "stop_sequence" },
  { US_IR_STOP_TOOL_USE, "tool_use" },
  { US_IR_STOP_PAUSE_TURN, "pause_turn" },
  { US_IR_STOP_REFUSAL, "refusal" },
  { US_IR_STOP_CONTEXT_WINDOW, "model_context_window_exceeded" },
};

const char *
us_ir_stop_reason_to_anthropic (UsIrStopReason reason)
{
  for (gsize i = 0; i < G_N_ELEMENTS (stop_names); i++)
    if (stop_names[i].reason == reason)
      return stop_names[i].name;
  return "end_turn";
}

UsIrStopReason
us_ir_stop_reason_from_anthropic (const char *s)
{
  if (s == NULL)
    return US_IR_STOP_NONE;
  for (gsize i = 0; i < G_N_ELEMENTS (stop_names); i++)
    if (strcmp (stop_names[i].name, s) == 0)
      return stop_names[i].reason;
  /* An open list: unknown reasons still ended the turn. */
  return US_IR_STOP_END_TURN;
}

/* ---- JSON helpers ---- */

gboolean
us_json_is_string (JsonNode *node)
{
  return node != NULL && JSON_NODE_HOLDS_VALUE (node)
    && json_node_get_value_type (node) == G_TYPE_STRING;
}

gboolean
us_json_content (JsonNode   *content,
                 GPtrArray  *parts,
                 const char *what,
                 JsonArray **array,
                 GError    **error)
{
  *array = NULL;
  if (content == NULL || JSON_NODE_HOLDS_NULL (content))
    return TRUE;
  if (us_json_is_string (content))
    {
      g_ptr_array_add (parts, us_ir_part_new_text (json_node_get_string (content)));
      return TRUE;
    }
  if (!JSON_NODE_HOLDS_ARRAY (content))
    {
      g_set_error (error, US_TRANSLATE_ERROR, US_TRANSLATE_ERROR_INVALID,
                   "content must be a string or %s", what);
      return FALSE;
    }
  *array = json_node_get_array (content);
  return TRUE;
}

const char *
us_json_get_string (JsonObject *obj,
                    const char *member)
{
  JsonNode *node;

  if (obj == NULL)
    return NULL;
  node = json_object_get_member (obj, member);
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node)
      || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

gint64
us_json_get_int (JsonObject *obj,
                 const char *member,
                 gint64      def)
{
  JsonNode *node;
  GType type;

  if (obj == NULL)
    return def;
  node = json_object_get_member (obj, member);
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    return def;
  type = json_node_get_value_type (node);
  if (type == G_TYPE_INT64)
    return json_node_get_int (node);
  if (type == G_TYPE_DOUBLE)
    {
      double d = json_node_get_double (node);

      /* Guard the cast: out-of-range doubles are undefined behaviour. */
      if (d > -9.2e18 && d < 9.2e18)
        return (gint64) d;
    }
  return def;
}

gboolean
us_json_get_double (JsonObject *obj,
                    const char *member,
                    double     *out)
{
  JsonNode *node;
  GType type;

  if (obj == NULL)
    return FALSE;
  node = json_object_get_member (obj, member);
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    return FALSE;
  type = json_node_get_value_type (node);
  if (type != G_TYPE_INT64 && type != G_TYPE_DOUBLE)
    return FALSE;
  *out = json_node_get_double (node);
  return TRUE;
}

gboolean
us_json_get_bool (JsonObject *obj,
                  const char *member,
                  gboolean    def)
{
  JsonNode *node;

  if (obj == NULL)
    return def;
  node = json_object_get_member (obj, member);
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node)
      || json_node_get_value_type (node) != G_TYPE_BOOLEAN)
    return def;
  return json_node_get_boolean (node);
}

JsonObject *
us_json_get_object (JsonObject *obj,
                    const char *member)
{
  JsonNode *node;

  if (obj == NULL)
    return NULL;
  node = json_object_get_member (obj, member);
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return NULL;
  return json_node_get_object (node);
}

JsonArray *
us_json_get_array (JsonObject *obj,
                   const char *member)
{
  JsonNode *node;

  if (obj == NULL)
    return NULL;
  node = json_object_get_member (obj, member);
  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    return NULL;
  return json_node_get_array (node);
}

JsonNode *
us_json_node_take_object (JsonObject *obj)
{
  JsonNode *node = json_node_new (JSON_NODE_OBJECT);

  json_node_take_object (node, obj);
  return node;
}

JsonNode *
us_json_node_take_array (JsonArray *array)
{
  JsonNode *node = json_node_new (JSON_NODE_ARRAY);

  json_node_take_array (node, array);
  return node;
}

char *
us_json_to_string (JsonNode *node)
{
  g_autoptr(JsonGenerator) gen = json_generator_new ();

  json_generator_set_root (gen, node);
  return json_generator_to_data (gen, NULL);
}

/* json-glib (1.6) accepts "{}{}" or "5{}" and leaks every value before the
 * last, so an upstream repeating itself in one event could grow the proxy
 * without bound. Everything we read is an object or an array: anything
 * else, and anything after the first one, is refused up front. */
gsize
us_json_container_end (const char *text,
                       gsize       len)
{
  gsize i = 0;
  guint depth = 0;
  gboolean in_string = FALSE;

  while (i < len && g_ascii_isspace (text[i]))
    i++;
  if (i == len || (text[i] != '{' && text[i] != '['))
    return 0;

  for (; i < len; i++)
    {
      char c = text[i];

      if (in_string)
        {
          if (c == '\\')
            i++;
          else if (c == '"')
            in_string = FALSE;
          continue;
        }
      if (c == '"')
        in_string = TRUE;
      else if (c == '{' || c == '[')
        depth++;
      else if ((c == '}' || c == ']') && depth > 0 && --depth == 0)
        return i + 1;
    }
  return len;
}

gsize
us_json_trailing_start (const char *text,
                        gsize       len)
{
  gsize end = us_json_container_end (text, len);

  for (gsize i = end; end > 0 && i < len; i++)
    if (!g_ascii_isspace (text[i]) && text[i] != '\0')
      return i;
  return 0;
}

static gboolean
not_one_container (const char *text,
                   gsize       len)
{
  return us_json_container_end (text, len) == 0 || us_json_trailing_start (text, len) != 0;
}

JsonNode *
us_json_parse (const char *text,
               gssize      len,
               GError    **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonNode *root;

  if (not_one_container (text, len < 0 ? strlen (text) : (gsize) len))
    {
      g_set_error (error, US_TRANSLATE_ERROR, US_TRANSLATE_ERROR_INVALID,
                   "Not a single JSON object or array");
      return NULL;
    }
  if (!json_parser_load_from_data (parser, text, len, error))
    return NULL;
  root = json_parser_get_root (parser);
  if (root == NULL)
    {
      g_set_error (error, US_TRANSLATE_ERROR, US_TRANSLATE_ERROR_INVALID,
                   "Empty JSON document");
      return NULL;
    }
  return json_node_ref (root);
}

JsonNode *
us_json_parse_bytes (GBytes  *bytes,
                     GError **error)
{
  gsize len = 0;
  const char *data = bytes ? g_bytes_get_data (bytes, &len) : NULL;

  if (data == NULL || len == 0)
    {
      g_set_error (error, US_TRANSLATE_ERROR, US_TRANSLATE_ERROR_INVALID,
                   "Empty body");
      return NULL;
    }
  if (len > G_MAXSSIZE)
    {
      g_set_error (error, US_TRANSLATE_ERROR, US_TRANSLATE_ERROR_INVALID,
                   "Body too large");
      return NULL;
    }
  return us_json_parse (data, (gssize) len, error);
}

GBytes *
us_json_to_bytes (JsonNode *node)
{
  gsize len = 0;
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  char *text;

  json_generator_set_root (gen, node);
  text = json_generator_to_data (gen, &len);
  return g_bytes_new_take (text, len);
}

/* ---- Editing JSON text in place ---------------------------------------- */

static const char *
skip_space (const char *p,
            const char *end)
{
  while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
    p++;
  return p;
}

/* @p is at a string's opening quote; returns the byte after its closing
 * one, or NULL. */
static const char *
skip_string (const char *p,
             const char *end)
{
  for (p++; p < end; p++)
    {
      if (*p == '\\')
        p++;
      else if (*p == '"')
        return p + 1;
    }
  return NULL;
}

/* Returns the byte after the value at @p, or NULL. The text was parsed
 * already, so only strings (which may hold brackets) need care. */
static const char *
skip_value (const char *p,
            const char *end)
{
  int depth = 0;

  if (p >= end)
    return NULL;
  if (*p == '"')
    return skip_string (p, end);
  if (*p != '{' && *p != '[')
    {
      while (p < end && !strchr (",}] \t\n\r", *p))
        p++;
      return p;
    }
  while (p < end)
    {
      if (*p == '"')
        {
          if ((p = skip_string (p, end)) == NULL)
            return NULL;
          continue;
        }
      if (*p == '{' || *p == '[')
        depth++;
      else if ((*p == '}' || *p == ']') && --depth == 0)
        return p + 1;
      p++;
    }
  return NULL;
}

GBytes *
us_json_replace_string_member (GBytes     *json,
                               const char *member,
                               const char *value)
{
  gsize len, member_len = strlen (member);
  const char *start = g_bytes_get_data (json, &len);
  const char *end = start + len, *p;
  const char *found = NULL, *found_end = NULL;
  g_autoptr(JsonNode) node = NULL;
  g_autofree char *quoted = NULL;
  GByteArray *out;

  if (start == NULL)
    return NULL;
  p = skip_space (start, end);
  if (p >= end || *p != '{')
    return NULL;
  p = skip_space (p + 1, end);
  while (p < end && *p != '}')
    {
      const char *name = p, *name_end, *value_start;

      if (*p != '"' || (name_end = skip_string (p, end)) == NULL
          || memchr (name, '\\', (gsize) (name_end - name)) != NULL)
        return NULL;
      p = skip_space (name_end, end);
      if (p >= end || *p != ':')
        return NULL;
      value_start = p = skip_space (p + 1, end);
      if ((p = skip_value (p, end)) == NULL)
        return NULL;
      if ((gsize) (name_end - name) == member_len + 2 && memcmp (name + 1, member, member_len) == 0)
        {
          /* A duplicate would leave which one counts to the parser. */
          if (found != NULL || *value_start != '"')
            return NULL;
          found = value_start;
          found_end = p;
        }
      p = skip_space (p, end);
      if (p < end && *p == ',')
        p = skip_space (p + 1, end);
      else if (p >= end || *p != '}')
        return NULL;
    }
  if (found == NULL)
    return NULL;

  node = json_node_init_string (json_node_alloc (), value);
  quoted = json_to_string (node, FALSE);
  out = g_byte_array_sized_new (len + strlen (quoted));
  g_byte_array_append (out, (const guint8 *) start, (guint) (found - start));
  g_byte_array_append (out, (const guint8 *) quoted, (guint) strlen (quoted));
  g_byte_array_append (out, (const guint8 *) found_end, (guint) (end - found_end));
  return g_byte_array_free_to_bytes (out);
}

static gboolean
strv_has (const char * const *strv,
          const char         *s)
{
  for (; strv != NULL && *strv != NULL; strv++)
    if (strcmp (*strv, s) == 0)
      return TRUE;
  return FALSE;
}

/* Members in document order (JsonObjectIter walks a hash table), so that
 * what we write keeps the order the client wrote. */
void
us_json_copy_members (JsonObject         *to,
                      JsonObject         *from,
                      const char * const *skip)
{
  g_autoptr(GList) names = NULL;

  if (from == NULL)
    return;
  names = json_object_get_members (from);
  for (GList *l = names; l != NULL; l = l->next)
    {
      const char *name = l->data;

      if (!strv_has (skip, name) && !json_object_has_member (to, name))
        json_object_set_member (to, name, json_node_copy (json_object_get_member (from, name)));
    }
}

JsonObject *
us_json_unknown_members (JsonObject         *obj,
                         const char * const *known)
{
  JsonObject *extra = NULL;
  g_autoptr(GList) names = json_object_get_members (obj);

  for (GList *l = names; l != NULL; l = l->next)
    {
      const char *name = l->data;

      if (strv_has (known, name))
        continue;
      if (extra == NULL)
        extra = json_object_new ();
      json_object_set_member (extra, name, json_node_copy (json_object_get_member (obj, name)));
    }
  return extra;
}

/* ---- Images ---- */

char *
us_ir_image_data_url (const UsIrPart *image)
{
  if (image->url != NULL)
    return g_strdup (image->url);
  return g_strdup_printf ("data:%s;base64,%s",
                          image->media_type ? image->media_type : "image/png",
                          image->data ? image->data : "");
}

void
us_ir_image_parse_data_url (UsIrPart   *image,
                            const char *url)
{
  const char *comma = strchr (url, ',');
  const char *b64 = comma ? g_strstr_len (url, comma - url + 1, ";base64,") : NULL;
  const char *semi = comma ? memchr (url, ';', (gsize) (comma - url)) : NULL;

  /* Anything but a base64 data URL stays a URL, as given. */
  if (!g_str_has_prefix (url, "data:") || b64 == NULL)
    {
      image->url = g_strdup (url);
      return;
    }
  /* Parameters before ";base64" (charset, name) are dropped. */
  image->media_type = g_strndup (url + 5, (gsize) (semi - url - 5));
  image->data = g_strdup (comma + 1);
}

/* ---- Signatures ---- */

char *
us_ir_signature_wrap (UsWireFormat signed_by,
                      const char  *signature)
{
  if (signature == NULL || *signature == '\0' || signed_by == US_WIRE_NONE)
    return g_strdup ("");
  return g_strdup_printf ("us1:%s:%s", us_wire_format_to_string (signed_by), signature);
}

UsWireFormat
us_ir_signature_unwrap (const char  *signature,
                        UsWireFormat default_fmt,
                        const char **native)
{
  static const UsWireFormat fmts[] = {
    US_WIRE_ANTHROPIC, US_WIRE_OPENAI_CHAT, US_WIRE_OPENAI_RESPONSES,
  };

  *native = signature;
  if (signature == NULL || *signature == '\0')
    return US_WIRE_NONE;
  if (!g_str_has_prefix (signature, "us1:"))
    return default_fmt;

  for (gsize i = 0; i < G_N_ELEMENTS (fmts); i++)
    {
      const char *name = us_wire_format_to_string (fmts[i]);
      gsize len = strlen (name);

      if (strncmp (signature + 4, name, len) == 0 && signature[4 + len] == ':')
        {
          *native = signature + 4 + len + 1;
          return fmts[i];
        }
    }
  /* A wrapper we do not know: nobody we can send it to signed it. */
  return US_WIRE_NONE;
}

void
us_ir_append_event (GString    *out,
                    const char *event,
                    JsonObject *obj)
{
  g_autoptr(JsonNode) node = us_json_node_take_object (obj);
  g_autofree char *text = NULL;

  if (out == NULL)
    return;
  text = us_json_to_string (node);
  us_sse_append (out, event, text);
}

gint64
us_usage_total_input (const UsUsage *usage)
{
  return usage->input_tokens + usage->cache_read_tokens + usage->cache_write_tokens;
}

char *
us_ir_derive_id (const char *prefix,
                 const char *upstream_id)
{
  static const char * const known[] = { "msg_", "chatcmpl-", "resp_", NULL };
  g_autofree char *uuid = NULL;
  GString *id;

  if (upstream_id == NULL || *upstream_id == '\0')
    {
      uuid = g_uuid_string_random ();
      id = g_string_new (prefix);
      for (const char *p = uuid; *p != '\0'; p++)
        if (*p != '-')
          g_string_append_c (id, *p);
      return g_string_free (id, FALSE);
    }
  if (g_str_has_prefix (upstream_id, prefix))
    return g_strdup (upstream_id);
  for (guint i = 0; known[i] != NULL; i++)
    if (g_str_has_prefix (upstream_id, known[i]))
      {
        upstream_id += strlen (known[i]);
        break;
      }
  return g_strconcat (prefix, upstream_id, NULL);
}
