/* us-translate.c: the hub. Every path is decode (format → IR) then encode
 * (IR → format) through the codec tables of us-format.h; nothing here knows
 * a wire format's shape. */

#include "us-translate.h"
#include "us-format.h"
#include "us-openai-common.h"
#include "us-sse.h"

#include <string.h>

G_DEFINE_QUARK (us-translate-error-quark, us_translate_error)

const UsFormatCodec *
us_format_codec (UsWireFormat fmt)
{
  switch (fmt)
    {
    case US_WIRE_ANTHROPIC:
      return &us_format_anthropic;
    case US_WIRE_OPENAI_CHAT:
      return &us_format_openai_chat;
    case US_WIRE_OPENAI_RESPONSES:
      return &us_format_openai_responses;
    default:
      g_return_val_if_reached (&us_format_anthropic);
    }
}

const char *
us_wire_format_to_string (UsWireFormat fmt)
{
  switch (fmt)
    {
    case US_WIRE_ANTHROPIC:
      return "anthropic";
    case US_WIRE_OPENAI_CHAT:
      return "openai-chat";
    case US_WIRE_OPENAI_RESPONSES:
      return "openai-responses";
    default:
      return "unknown";
    }
}

static gboolean
not_implemented (const UsFormatCodec *codec,
                 const char          *what,
                 GError             **error)
{
  g_set_error (error, US_TRANSLATE_ERROR, US_TRANSLATE_ERROR_UNSUPPORTED,
               "%s for %s: not implemented yet", what, codec->name);
  return FALSE;
}

/* ---- Requests ---- */

JsonNode *
us_translate_parse_json (GBytes  *body,
                         GError **error)
{
  return us_json_parse_bytes (body, error);
}

UsIrRequest *
us_ir_request_decode (UsWireFormat fmt,
                      JsonNode    *body,
                      GError     **error)
{
  const UsFormatCodec *codec = us_format_codec (fmt);
  g_autoptr(UsIrRequest) req = NULL;

  if (body == NULL || !JSON_NODE_HOLDS_OBJECT (body))
    {
      g_set_error (error, US_TRANSLATE_ERROR, US_TRANSLATE_ERROR_INVALID,
                   "The request body must be a JSON object");
      return NULL;
    }
  if (codec->request_decode == NULL)
    {
      not_implemented (codec, "Request decoding", error);
      return NULL;
    }

  req = us_ir_request_new (fmt);
  if (!codec->request_decode (json_node_get_object (body), req, error))
    return NULL;
  return g_steal_pointer (&req);
}

const char *
us_ir_request_get_model (const UsIrRequest *req)
{
  return req->model;
}

gint64
us_ir_request_get_max_tokens (const UsIrRequest *req)
{
  return req->max_tokens;
}

gboolean
us_ir_request_get_stream (const UsIrRequest *req)
{
  return req->stream;
}

static gboolean
parts_have_images (GPtrArray *parts)
{
  for (guint i = 0; parts != NULL && i < parts->len; i++)
    {
      UsIrPart *part = g_ptr_array_index (parts, i);

      if (part->kind == US_IR_PART_IMAGE)
        return TRUE;
      if (part->kind == US_IR_PART_TOOL_RESULT && parts_have_images (part->content))
        return TRUE;
    }
  return FALSE;
}

gboolean
us_ir_request_has_images (const UsIrRequest *req)
{
  for (guint i = 0; i < req->messages->len; i++)
    {
      UsIrMessage *msg = g_ptr_array_index (req->messages, i);

      if (parts_have_images (msg->parts))
        return TRUE;
    }
  return FALSE;
}

gboolean
us_ir_request_has_thinking (const UsIrRequest *req)
{
  return req->thinking;
}

gboolean
us_ir_request_has_tools (const UsIrRequest *req)
{
  return req->tools->len > 0;
}

static gsize
json_length (JsonNode *node)
{
  g_autofree char *text = NULL;

  if (node == NULL)
    return 0;
  text = us_json_to_string (node);
  return strlen (text);
}

static gsize
parts_chars (GPtrArray *parts)
{
  gsize n = 0;

  for (guint i = 0; parts != NULL && i < parts->len; i++)
    {
      UsIrPart *part = g_ptr_array_index (parts, i);

      n += part->text ? strlen (part->text) : 0;
      n += part->tool_name ? strlen (part->tool_name) : 0;
      n += part->arguments ? strlen (part->arguments) : 0;
      n += parts_chars (part->content);
      /* Images cost a roughly fixed amount whatever their size. */
      if (part->kind == US_IR_PART_IMAGE)
        n += 1600 * 4;
    }
  return n;
}

gint64
us_ir_request_estimate_input_tokens (const UsIrRequest *req)
{
  gsize chars = parts_chars (req->system);

  for (guint i = 0; i < req->messages->len; i++)
    {
      UsIrMessage *msg = g_ptr_array_index (req->messages, i);

      chars += parts_chars (msg->parts);
    }
  for (guint i = 0; i < req->tools->len; i++)
    {
      UsIrTool *tool = g_ptr_array_index (req->tools, i);

      chars += tool->name ? strlen (tool->name) : 0;
      chars += tool->description ? strlen (tool->description) : 0;
      chars += json_length (tool->schema);
      /* A function's raw definition (custom tool, namespace) repeats it. */
      if (tool->kind == US_IR_TOOL_OPAQUE)
        chars += json_length (tool->raw);
    }
  return (gint64) ((chars + 3) / 4);
}

JsonNode *
us_ir_request_encode (const UsIrRequest *req,
                      UsWireFormat       fmt,
                      const char        *model,
                      gint64             max_output_tokens,
                      GError           **error)
{
  const UsFormatCodec *codec = us_format_codec (fmt);

  if (codec->request_encode == NULL)
    {
      not_implemented (codec, "Request encoding", error);
      return NULL;
    }
  return codec->request_encode (req, model ? model : req->model,
                                max_output_tokens, error);
}

static void
add_note (GPtrArray  *notes,
          const char *kind,
          JsonNode   *raw,
          const char *fallback)
{
  JsonObject *obj = raw && JSON_NODE_HOLDS_OBJECT (raw) ? json_node_get_object (raw) : NULL;
  const char *type = us_json_get_string (obj, "type");
  const char *name = us_json_get_string (obj, "name");
  g_autofree char *note = NULL;

  /* Anthropic server tools have a name and a versioned type: the name
   * says more; OpenAI's hosted tools have only a type. */
  note = g_strdup_printf ("%s %s", kind, name ? name : type ? type : fallback);
  for (guint i = 0; i < notes->len; i++)
    if (strcmp (g_ptr_array_index (notes, i), note) == 0)
      return;
  g_ptr_array_add (notes, g_steal_pointer (&note));
}

GStrv
us_ir_request_dropped_for (const UsIrRequest *req,
                           UsWireFormat       fmt)
{
  g_autoptr(GPtrArray) notes = g_ptr_array_new_with_free_func (g_free);

  if (req->src_fmt == fmt)
    return NULL;
  for (guint i = 0; i < req->tools->len; i++)
    {
      UsIrTool *tool = g_ptr_array_index (req->tools, i);

      if (tool->kind == US_IR_TOOL_OPAQUE && tool->extra_fmt != fmt)
        add_note (notes, "tool", tool->raw, "unknown");
    }
  for (guint i = 0; i < req->messages->len; i++)
    {
      UsIrMessage *msg = g_ptr_array_index (req->messages, i);

      for (guint j = 0; j < msg->parts->len; j++)
        {
          UsIrPart *part = g_ptr_array_index (msg->parts, j);
          JsonObject *obj;

          if (part->kind != US_IR_PART_OPAQUE || part->extra_fmt == fmt || part->raw == NULL
              || !JSON_NODE_HOLDS_OBJECT (part->raw))
            continue;
          /* Server tool calls and their results, by type: the content
           * blocks and files a format alone has are not tool drops. */
          obj = json_node_get_object (part->raw);
          if (g_str_has_suffix (us_json_get_string (obj, "type") ?: "", "_call")
              || g_strcmp0 (us_json_get_string (obj, "type"), "server_tool_use") == 0)
            {
              g_autoptr(JsonNode) type_only = json_node_new (JSON_NODE_OBJECT);
              JsonObject *t = json_object_new ();

              json_object_set_string_member (t, "type", us_json_get_string (obj, "type"));
              json_node_take_object (type_only, t);
              add_note (notes, "history", type_only, "item");
            }
        }
    }
  if (notes->len == 0)
    return NULL;
  g_ptr_array_add (notes, NULL);
  return (GStrv) g_ptr_array_free (g_steal_pointer (&notes), FALSE);
}

/* ---- Whole responses ---- */

static UsIrResponse *
response_decode (UsWireFormat fmt,
                 GBytes      *body,
                 GError     **error)
{
  const UsFormatCodec *codec = us_format_codec (fmt);
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(UsIrResponse) resp = NULL;

  if (codec->response_decode == NULL)
    {
      not_implemented (codec, "Response decoding", error);
      return NULL;
    }
  root = us_json_parse_bytes (body, error);
  if (root == NULL)
    return NULL;
  if (!JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, US_TRANSLATE_ERROR, US_TRANSLATE_ERROR_INVALID,
                   "The response body is not a JSON object");
      return NULL;
    }
  resp = us_ir_response_new ();
  if (!codec->response_decode (json_node_get_object (root), resp, error))
    return NULL;
  return g_steal_pointer (&resp);
}

/* What the client knows a tool by, when that is not what its provider
 * calls it: a name shortened for OpenAI, a tool of a Responses namespace,
 * a custom (free-form) tool sent as a function. */
typedef struct {
  char     *name;             /* the client's name (inside its namespace) */
  char     *ns;
  gboolean  custom;
} ClientTool;

static void
client_tool_free (gpointer data)
{
  ClientTool *ct = data;

  g_free (ct->name);
  g_free (ct->ns);
  g_free (ct);
}

/* Provider-side tool name → ClientTool, for tools encoding changed. */
static GHashTable *
client_tool_map (const UsIrRequest *req,
                 UsWireFormat       provider_fmt)
{
  const UsFormatCodec *codec = us_format_codec (provider_fmt);
  GHashTable *map = NULL;

  if (req == NULL || req->src_fmt == provider_fmt)
    return NULL;
  for (guint i = 0; i < req->tools->len; i++)
    {
      UsIrTool *tool = g_ptr_array_index (req->tools, i);
      g_autofree char *name = NULL;
      ClientTool *ct;

      if (tool->name == NULL || tool->kind != US_IR_TOOL_FUNCTION)
        continue;
      name = codec->tool_name ? codec->tool_name (tool->name) : g_strdup (tool->name);
      if (strcmp (name, tool->name) == 0 && tool->ns == NULL && !tool->custom)
        continue;
      ct = g_new0 (ClientTool, 1);
      ct->name = g_strdup (tool->ns ? tool->ns_name : tool->name);
      ct->ns = g_strdup (tool->ns);
      ct->custom = tool->custom;
      if (map == NULL)
        map = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, client_tool_free);
      g_hash_table_replace (map, g_steal_pointer (&name), ct);
    }
  return map;
}

GBytes *
us_translate_response (UsWireFormat from,
                       UsWireFormat to,
                       GBytes      *body,
                       const char  *client_model,
                       UsUsage     *usage,
                       GError     **error)
{
  return us_translate_response_for_request (from, to, body, client_model, NULL, usage, error);
}

GBytes *
us_translate_response_for_request (UsWireFormat       from,
                                   UsWireFormat       to,
                                   GBytes            *body,
                                   const char        *client_model,
                                   const UsIrRequest *req,
                                   UsUsage           *usage,
                                   GError           **error)
{
  const UsFormatCodec *codec = us_format_codec (to);
  g_autoptr(GHashTable) names = NULL;
  g_autoptr(UsIrResponse) resp = NULL;
  g_autoptr(JsonNode) out = NULL;

  /* Same format: the body is the client's answer as it is. */
  if (from == to)
    {
      if (usage != NULL && !us_response_read_usage (from, body, usage))
        memset (usage, 0, sizeof *usage);
      return g_bytes_ref (body);
    }

  resp = response_decode (from, body, error);
  if (resp == NULL)
    return NULL;
  if (usage != NULL)
    *usage = resp->usage;
  names = client_tool_map (req, from);
  for (guint i = 0; names != NULL && i < resp->parts->len; i++)
    {
      UsIrPart *part = g_ptr_array_index (resp->parts, i);
      ClientTool *ct = part->tool_name ? g_hash_table_lookup (names, part->tool_name) : NULL;

      if (ct != NULL && part->kind == US_IR_PART_TOOL_CALL)
        {
          g_free (part->tool_name);
          part->tool_name = g_strdup (ct->name);
          part->tool_ns = g_strdup (ct->ns);
          part->tool_custom = ct->custom;
        }
    }
  if (codec->response_encode == NULL)
    {
      not_implemented (codec, "Response encoding", error);
      return NULL;
    }
  out = codec->response_encode (resp, client_model ? client_model : resp->model);
  return us_json_to_bytes (out);
}

UsIrResponse *
us_ir_response_decode (UsWireFormat fmt,
                       GBytes      *body,
                       GError     **error)
{
  return response_decode (fmt, body, error);
}

gboolean
us_response_read_usage (UsWireFormat fmt,
                        GBytes      *body,
                        UsUsage     *usage)
{
  g_autoptr(UsIrResponse) resp = response_decode (fmt, body, NULL);

  memset (usage, 0, sizeof *usage);
  if (resp == NULL)
    return FALSE;
  *usage = resp->usage;
  return TRUE;
}

/* ---- Streams ---- */

struct _UsStreamTranslator {
  const UsFormatCodec *dec_codec;
  const UsFormatCodec *enc_codec;
  char        *client_model;
  gboolean     observe;
  UsSseParser *parser;
  gpointer     dec;
  gpointer     enc;
  GString     *out;           /* the caller's buffer during a push */
  gboolean     has_content;
  gboolean     complete;
  gboolean     has_error;
  gboolean     failed;
  char        *error_type;
  char        *error_message;
  char        *message_id;
  UsUsage      usage;
  UsIrEventFunc observer;     /* sees every decoded event, or NULL */
  gpointer     observer_data;
  GHashTable  *tool_names;    /* provider name → ClientTool, or NULL */
  gint64       input_estimate; /* of the request, 0: unknown */
};

static void
on_ir_event (const UsIrEvent *ev,
             gpointer         user_data)
{
  UsStreamTranslator *self = user_data;

  switch (ev->kind)
    {
    case US_IR_EV_MESSAGE_START:
      if (self->message_id == NULL && ev->id != NULL)
        self->message_id = g_strdup (ev->id);
      break;
    case US_IR_EV_BLOCK_START:
    case US_IR_EV_BLOCK_DELTA:
      self->has_content = TRUE;
      break;
    case US_IR_EV_MESSAGE_STOP:
      self->complete = TRUE;
      break;
    case US_IR_EV_ERROR:
      if (!self->has_error)
        {
          self->has_error = TRUE;
          self->error_type = g_strdup (ev->error_type ? ev->error_type : "api_error");
          self->error_message = g_strndup (ev->text ? ev->text : "", ev->text ? ev->text_len : 0);
        }
      break;
    case US_IR_EV_BLOCK_STOP:
    case US_IR_EV_MESSAGE_DELTA:
    default:
      break;
    }
  if (ev->usage != NULL)
    self->usage = *ev->usage;
  if (self->observer != NULL)
    self->observer (ev, self->observer_data);

  if (self->observe || self->enc == NULL || self->out == NULL || self->failed)
    return;
  /* Chat (and Responses) say nothing of input at the start; clients such as
   * Claude Code read context use from message_start, so the request's
   * estimate stands in there. message_delta carries the real count. */
  if (ev->kind == US_IR_EV_MESSAGE_START && self->input_estimate > 0 && ev->usage != NULL
      && ev->usage->input_tokens == 0 && ev->usage->cache_read_tokens == 0
      && ev->usage->cache_write_tokens == 0)
    {
      UsIrEvent estimated = *ev;
      UsUsage usage = *ev->usage;

      usage.input_tokens = self->input_estimate;
      estimated.usage = &usage;
      self->enc_codec->encoder_event (self->enc, &estimated, self->out);
      return;
    }
  if (ev->kind == US_IR_EV_BLOCK_START && ev->tool_name != NULL && self->tool_names != NULL
      && g_hash_table_contains (self->tool_names, ev->tool_name))
    {
      ClientTool *ct = g_hash_table_lookup (self->tool_names, ev->tool_name);
      UsIrEvent renamed = *ev;

      renamed.tool_name = ct->name;
      renamed.tool_ns = ct->ns;
      renamed.tool_custom = ct->custom;
      self->enc_codec->encoder_event (self->enc, &renamed, self->out);
      return;
    }
  self->enc_codec->encoder_event (self->enc, ev, self->out);
}

/* Observing a stream in its own format, past its first content, the bytes
 * go through unchanged and only the events that carry usage, a stop
 * reason, an error, a tool call's start or a signature still need
 * decoding. The bulk of a stream, its text and argument deltas, is told by
 * the event line alone and skipped without parsing its JSON. */
static gboolean
is_plain_delta (UsWireFormat  fmt,
                const char   *event,
                const char   *data,
                gsize         len)
{
  if (event == NULL)
    return FALSE;
  switch (fmt)
    {
    case US_WIRE_ANTHROPIC:
      /* Thinking signatures come as deltas too, and are watched. */
      return strcmp (event, "content_block_delta") == 0
             && g_strstr_len (data, (gssize) len, "signature_delta") == NULL;
    case US_WIRE_OPENAI_RESPONSES:
      /* Signatures come whole in output_item.done; tool calls start in
       * output_item.added. */
      return strcmp (event, "response.output_text.delta") == 0
             || strcmp (event, "response.function_call_arguments.delta") == 0;
    case US_WIRE_OPENAI_CHAT:
    default:
      /* Chat chunks have no event line; their usage, finish reason and
       * tool calls ride in the same chunks as content. */
      return FALSE;
    }
}

static void
on_sse_event (const char *event,
              const char *data,
              gsize       len,
              gpointer    user_data)
{
  UsStreamTranslator *self = user_data;

  if (self->dec == NULL)
    return;
  if (self->observe && self->has_content && is_plain_delta (self->dec_codec->fmt, event, data, len))
    return;
  self->dec_codec->decoder_event (self->dec, event, data, len);
}

UsStreamTranslator *
us_stream_translator_new (UsWireFormat from,
                          UsWireFormat to,
                          const char  *client_model)
{
  UsStreamTranslator *self = g_new0 (UsStreamTranslator, 1);

  self->dec_codec = us_format_codec (from);
  self->enc_codec = us_format_codec (to);
  self->client_model = g_strdup (client_model);
  self->observe = from == to;
  self->parser = us_sse_parser_new (0, on_sse_event, self);
  if (self->dec_codec->decoder_new != NULL)
    self->dec = self->dec_codec->decoder_new (on_ir_event, self);
  if (!self->observe && self->enc_codec->encoder_new != NULL)
    self->enc = self->enc_codec->encoder_new (client_model);
  return self;
}

void
us_stream_translator_free (UsStreamTranslator *self)
{
  if (self == NULL)
    return;
  us_sse_parser_free (self->parser);
  if (self->dec != NULL)
    self->dec_codec->decoder_free (self->dec);
  if (self->enc != NULL)
    self->enc_codec->encoder_free (self->enc);
  g_free (self->client_model);
  g_free (self->error_type);
  g_free (self->error_message);
  g_free (self->message_id);
  g_clear_pointer (&self->tool_names, g_hash_table_unref);
  g_free (self);
}

void
us_stream_translator_set_request (UsStreamTranslator *self,
                                  const UsIrRequest  *req)
{
  g_clear_pointer (&self->tool_names, g_hash_table_unref);
  self->input_estimate = 0;
  if (!self->observe && req != NULL)
    {
      self->tool_names = client_tool_map (req, self->dec_codec->fmt);
      self->input_estimate = us_ir_request_estimate_input_tokens (req);
    }
}

void
us_stream_translator_set_observer (UsStreamTranslator *self,
                                   UsIrEventFunc       func,
                                   gpointer            user_data)
{
  self->observer = func;
  self->observer_data = user_data;
}

void
us_stream_translator_push (UsStreamTranslator *self,
                           const char         *data,
                           gsize               len,
                           GString            *out)
{
  if (self->observe)
    g_string_append_len (out, data, len);
  self->out = out;
  us_sse_parser_push (self->parser, data, len);
  self->out = NULL;
}

gboolean
us_stream_translator_has_content (UsStreamTranslator *self)
{
  return self->has_content;
}

gboolean
us_stream_translator_is_complete (UsStreamTranslator *self)
{
  return self->complete;
}

gboolean
us_stream_translator_get_error (UsStreamTranslator *self,
                                const char        **type,
                                const char        **message)
{
  if (type != NULL)
    *type = self->error_type;
  if (message != NULL)
    *message = self->error_message;
  return self->has_error;
}

const UsUsage *
us_stream_translator_get_usage (UsStreamTranslator *self)
{
  return &self->usage;
}

void
us_stream_translator_finish (UsStreamTranslator *self,
                             GString            *out)
{
  self->out = out;
  us_sse_parser_finish (self->parser);
  if (self->dec != NULL)
    self->dec_codec->decoder_finish (self->dec);
  if (!self->observe && self->enc != NULL && !self->failed)
    self->enc_codec->encoder_finish (self->enc, out);
  self->out = NULL;
}

void
us_stream_translator_fail (UsStreamTranslator *self,
                           const char         *type,
                           const char         *message,
                           GString            *out)
{
  /* Once the stream ended, or the upstream's own error went through,
   * another terminal event would only confuse the client. */
  if (self->failed || self->complete || self->has_error)
    return;
  self->failed = TRUE;
  if (type == NULL)
    type = "api_error";
  if (message == NULL)
    message = "The upstream model failed";

  /* Observing, no encoder has followed the stream: a fresh one that has
   * silently "seen" the start is enough to write an error. */
  if (self->enc == NULL && self->enc_codec->encoder_new != NULL)
    {
      UsIrEvent start = { .kind = US_IR_EV_MESSAGE_START, .id = self->message_id,
                          .model = self->client_model, .usage = &self->usage };
      g_autoptr(GString) scratch = g_string_new (NULL);

      self->enc = self->enc_codec->encoder_new (self->client_model);
      self->enc_codec->encoder_event (self->enc, &start, scratch);
    }
  if (self->enc != NULL)
    self->enc_codec->encoder_fail (self->enc, type, message, out);
}

/* ---- Errors ---- */

static const struct {
  guint       status;
  const char *type;
} status_types[] = {
  { 400, "invalid_request_error" },
  { 401, "authentication_error" },
  { 402, "billing_error" },
  { 403, "permission_error" },
  { 404, "not_found_error" },
  { 408, "timeout_error" },
  { 413, "request_too_large" },
  { 429, "rate_limit_error" },
  { 500, "api_error" },
  { 502, "api_error" },
  { 503, "overloaded_error" },
  { 504, "timeout_error" },
  { 529, "overloaded_error" },
};

const char *
us_error_type_for_status (guint status)
{
  for (gsize i = 0; i < G_N_ELEMENTS (status_types); i++)
    if (status_types[i].status == status)
      return status_types[i].type;
  if (status >= 500)
    return "api_error";
  return "invalid_request_error";
}

guint
us_error_status_for_type (const char *type)
{
  if (type == NULL)
    return 500;
  /* 503 and 504 share their types with 529 and 408: prefer the canonical. */
  if (strcmp (type, "overloaded_error") == 0)
    return 529;
  if (strcmp (type, "timeout_error") == 0)
    return 504;
  for (gsize i = 0; i < G_N_ELEMENTS (status_types); i++)
    if (strcmp (status_types[i].type, type) == 0)
      return status_types[i].status;
  return 500;
}

GBytes *
us_error_body (UsWireFormat fmt,
               guint        status,
               const char  *type,
               const char  *message)
{
  const UsFormatCodec *codec = us_format_codec (fmt);
  g_autoptr(JsonNode) node = NULL;

  if (type == NULL)
    type = us_error_type_for_status (status);
  if (message == NULL)
    message = "";
  node = codec->error_encode (status, type, message);
  return us_json_to_bytes (node);
}

/* A readable message from a body that is no known envelope. */
static char *
message_from_text (guint   status,
                   GBytes *body)
{
  gsize len = 0;
  const char *data = body ? g_bytes_get_data (body, &len) : NULL;
  g_autofree char *text = NULL;

  if (data == NULL || len == 0)
    return g_strdup_printf ("Upstream returned HTTP %u", status);
  text = g_utf8_make_valid (data, (gssize) MIN (len, 2048));
  return g_strstrip (g_steal_pointer (&text));
}

gboolean
us_error_is_context_overflow (UsWireFormat  fmt,
                              guint         status,
                              GBytes       *body)
{
  g_autofree char *type = NULL;
  g_autofree char *message = NULL;

  /* OpenAI's context_length_exceeded code is read into such a message. */
  us_error_read (fmt, status, body, &type, &message);
  return us_openai_is_context_overflow (message);
}

gboolean
us_error_read (UsWireFormat fmt,
               guint        status,
               GBytes      *body,
               char       **type,
               char       **message)
{
  static const UsWireFormat order[] = {
    US_WIRE_ANTHROPIC, US_WIRE_OPENAI_CHAT, US_WIRE_OPENAI_RESPONSES,
  };
  g_autoptr(JsonNode) root = us_json_parse_bytes (body, NULL);

  if (root != NULL && JSON_NODE_HOLDS_OBJECT (root))
    {
      JsonObject *obj = json_node_get_object (root);

      /* The declared format first, then any other shape we know. */
      if (us_format_codec (fmt)->error_decode (obj, status, type, message))
        return TRUE;
      for (gsize i = 0; i < G_N_ELEMENTS (order); i++)
        if (order[i] != fmt
            && us_format_codec (order[i])->error_decode (obj, status, type, message))
          return TRUE;
    }

  *type = g_strdup (us_error_type_for_status (status));
  *message = message_from_text (status, body);
  return FALSE;
}

GBytes *
us_translate_error (UsWireFormat from,
                    UsWireFormat to,
                    guint        status,
                    GBytes      *body)
{
  g_autofree char *type = NULL;
  g_autofree char *message = NULL;

  if (from == to && body != NULL && g_bytes_get_size (body) > 0)
    return g_bytes_ref (body);

  us_error_read (from, status, body, &type, &message);
  return us_error_body (to, status, type, message);
}
