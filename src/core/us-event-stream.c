/* us-event-stream.c: AWS event-stream → Anthropic SSE. */
#include "us-event-stream.h"

#include "us-bedrock-converse.h"
#include "us-ir.h"

#include <json-glib/json-glib.h>
#include <stdarg.h>
#include <string.h>
#include <zlib.h>

#define PRELUDE 12
#define TRAILER 4

struct _UsEventStreamDecoder
{
  GObject parent_instance;

  GByteArray *out;  /* decoded SSE not yet handed to the reader */
  gsize out_pos;

  /* Converse streams only. */
  char *model;         /* non-NULL: a Converse stream */
  gboolean started;    /* message_start sent */
  gint64 block;        /* the Converse index of the open block, or -1 */
  guint next_index;    /* the Anthropic index the next block gets */
  char *stop_reason;   /* from messageStop, until metadata ends the message */
  gboolean stopped;    /* message_stop sent */
};

static void us_event_stream_decoder_converter_init (GConverterIface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (UsEventStreamDecoder, us_event_stream_decoder, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_CONVERTER, us_event_stream_decoder_converter_init))

const char *
us_event_stream_error_type (const char *exception_type)
{
  if (exception_type == NULL)
    return "api_error";
  /* Throttling is quota (a 429); unavailable is Anthropic's 529. */
  if (g_ascii_strcasecmp (exception_type, "throttlingException") == 0)
    return "rate_limit_error";
  if (g_ascii_strcasecmp (exception_type, "serviceUnavailableException") == 0)
    return "overloaded_error";
  if (g_ascii_strcasecmp (exception_type, "validationException") == 0)
    return "invalid_request_error";
  if (g_ascii_strcasecmp (exception_type, "accessDeniedException") == 0)
    return "permission_error";
  /* internalServerException, modelStreamErrorException,
   * modelTimeoutException and any newer one. */
  return "api_error";
}

static guint32
read_be32 (const guint8 *p)
{
  return ((guint32) p[0] << 24) | ((guint32) p[1] << 16) | ((guint32) p[2] << 8) | p[3];
}

static guint32
crc (const guint8 *data,
     gsize         length)
{
  return (guint32) crc32 (0, data, (uInt) length);
}

/* The string headers that matter here; others are skipped by their type. */
typedef struct {
  char *message_type;
  char *event_type;
  char *exception_type;
  char *error_message;
} Headers;

static void
headers_clear (Headers *h)
{
  g_free (h->message_type);
  g_free (h->event_type);
  g_free (h->exception_type);
  g_free (h->error_message);
}

static gboolean
parse_headers (const guint8 *p,
               gsize         length,
               Headers      *h,
               GError      **error)
{
  static const gsize fixed[] = { 0, 0, 1, 2, 4, 8, 0, 0, 8, 16 };
  gsize i = 0;

  while (i < length)
    {
      guint8 name_len = p[i++];
      const char *name;
      guint8 type;
      gsize value_len;

      if (name_len == 0 || length - i < (gsize) name_len + 1)
        goto bad;
      name = (const char *) p + i;
      i += name_len;
      type = p[i++];
      if (type > 9)
        goto bad;
      if (type == 6 || type == 7)
        {
          if (length - i < 2)
            goto bad;
          value_len = ((gsize) p[i] << 8) | p[i + 1];
          i += 2;
        }
      else
        value_len = fixed[type];
      if (length - i < value_len)
        goto bad;
      if (type == 7)
        {
          char **slot = NULL;

          if (name_len == 13 && memcmp (name, ":message-type", 13) == 0)
            slot = &h->message_type;
          else if (name_len == 11 && memcmp (name, ":event-type", 11) == 0)
            slot = &h->event_type;
          else if (name_len == 15 && memcmp (name, ":exception-type", 15) == 0)
            slot = &h->exception_type;
          else if (name_len == 14 && memcmp (name, ":error-message", 14) == 0)
            slot = &h->error_message;
          if (slot != NULL)
            {
              g_free (*slot);
              *slot = g_strndup ((const char *) p + i, value_len);
            }
        }
      i += value_len;
    }
  return TRUE;

bad:
  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "event stream: malformed message headers");
  return FALSE;
}

static void
append_event (UsEventStreamDecoder *self,
              const char           *event,
              const char           *data)
{
  g_autofree char *text = g_strdup_printf ("event: %s\ndata: %s\n\n", event, data);

  g_byte_array_append (self->out, (const guint8 *) text, strlen (text));
}

static void
append_error (UsEventStreamDecoder *self,
              const char           *type,
              const char           *message)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) node = NULL;
  g_autofree char *json = NULL;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, "error");
  json_builder_set_member_name (b, "error");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, type);
  json_builder_set_member_name (b, "message");
  json_builder_add_string_value (b, message);
  json_builder_end_object (b);
  json_builder_end_object (b);
  node = json_builder_get_root (b);
  json = json_to_string (node, FALSE);
  append_event (self, "error", json);
}

/* The payload's "message", for an exception. */
static char *
payload_message (const guint8 *payload,
                 gsize         length)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonNode *root;

  if (!json_parser_load_from_data (parser, (const char *) payload, (gssize) length, NULL))
    return NULL;
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return NULL;
  return g_strdup (json_object_get_string_member_with_default (json_node_get_object (root), "message", NULL));
}

static gboolean
decode_chunk (UsEventStreamDecoder *self,
              const guint8         *payload,
              gsize                 length,
              GError              **error)
{
  g_autoptr(JsonParser) outer = json_parser_new ();
  g_autoptr(JsonParser) inner = json_parser_new ();
  g_autofree guchar *event = NULL;
  g_autofree char *text = NULL;
  const char *bytes;
  const char *type;
  JsonNode *root;
  gsize event_len;

  if (!json_parser_load_from_data (outer, (const char *) payload, (gssize) length, NULL)
      || (root = json_parser_get_root (outer)) == NULL || !JSON_NODE_HOLDS_OBJECT (root)
      || (bytes = json_object_get_string_member_with_default (json_node_get_object (root), "bytes", NULL)) == NULL)
    goto bad;
  event = g_base64_decode (bytes, &event_len);
  if (!json_parser_load_from_data (inner, (const char *) event, (gssize) event_len, NULL)
      || (root = json_parser_get_root (inner)) == NULL || !JSON_NODE_HOLDS_OBJECT (root)
      || (type = json_object_get_string_member_with_default (json_node_get_object (root), "type", NULL)) == NULL
      || strpbrk (type, "\r\n") != NULL)
    goto bad;
  /* Re-serialized: one line, whatever the payload's own layout. */
  text = json_to_string (root, FALSE);
  append_event (self, type, text);
  return TRUE;

bad:
  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "event stream: a chunk without an event");
  return FALSE;
}

static void
append_json (UsEventStreamDecoder *self,
             const char           *event,
             JsonNode             *node)
{
  g_autofree char *json = json_to_string (node, FALSE);

  append_event (self, event, json);
}

/* Builds {"type": TYPE, …} from name/value pairs of JsonNode*, taken. */
static JsonNode *
event_node (const char *type,
            ...)
{
  JsonObject *object = json_object_new ();
  const char *name;
  va_list args;

  json_object_set_string_member (object, "type", type);
  va_start (args, type);
  while ((name = va_arg (args, const char *)) != NULL)
    json_object_set_member (object, name, va_arg (args, JsonNode *));
  va_end (args);
  return us_json_node_take_object (object);
}

static JsonNode *
int_node (gint64 value)
{
  return json_node_init_int (json_node_alloc (), value);
}

static JsonNode *
string_node (const char *value)
{
  return value ? json_node_init_string (json_node_alloc (), value) : json_node_init_null (json_node_alloc ());
}

static void
converse_start (UsEventStreamDecoder *self)
{
  g_autofree char *uuid = NULL;
  g_autofree char *id = NULL;
  g_autoptr(JsonNode) node = NULL;

  if (self->started)
    return;
  self->started = TRUE;
  uuid = g_uuid_string_random ();
  id = g_strconcat ("msg_bdrk_", uuid, NULL);
  node = event_node ("message_start", "message",
                     event_node ("message", "id", string_node (id), "role", string_node ("assistant"),
                                 "model", string_node (self->model),
                                 "content", us_json_node_take_array (json_array_new ()),
                                 "stop_reason", string_node (NULL), "stop_sequence", string_node (NULL),
                                 "usage", event_node ("usage", "input_tokens", int_node (0),
                                                      "output_tokens", int_node (0), NULL),
                                 NULL),
                     NULL);
  /* "type" of the nested usage object is not Anthropic's: drop it. */
  json_object_remove_member (json_object_get_object_member (json_object_get_object_member (
                               json_node_get_object (node), "message"), "usage"), "type");
  append_json (self, "message_start", node);
}

static void
converse_close_block (UsEventStreamDecoder *self)
{
  g_autoptr(JsonNode) node = NULL;

  if (self->block < 0)
    return;
  node = event_node ("content_block_stop", "index", int_node (self->next_index - 1), NULL);
  append_json (self, "content_block_stop", node);
  self->block = -1;
}

/* Opens block @index as @content_block (taken), closing an open one. */
static void
converse_open_block (UsEventStreamDecoder *self,
                     gint64                index,
                     JsonNode             *content_block)
{
  g_autoptr(JsonNode) node = NULL;

  converse_close_block (self);
  node = event_node ("content_block_start", "index", int_node (self->next_index), "content_block", content_block,
                     NULL);
  append_json (self, "content_block_start", node);
  self->block = index;
  self->next_index++;
}

static void
converse_finish (UsEventStreamDecoder *self,
                 JsonObject           *usage)
{
  g_autoptr(JsonNode) delta = NULL;
  g_autoptr(JsonNode) stop = NULL;

  if (self->stopped || self->stop_reason == NULL)
    return;
  converse_start (self);
  converse_close_block (self);
  delta = event_node ("message_delta",
                      "delta", event_node ("delta", "stop_reason", string_node (self->stop_reason),
                                           "stop_sequence", string_node (NULL), NULL),
                      "usage", event_node ("usage",
                                           "input_tokens", int_node (usage ? us_json_get_int (usage, "inputTokens", 0) : 0),
                                           "output_tokens", int_node (usage ? us_json_get_int (usage, "outputTokens", 0) : 0),
                                           NULL),
                      NULL);
  json_object_remove_member (json_object_get_object_member (json_node_get_object (delta), "delta"), "type");
  json_object_remove_member (json_object_get_object_member (json_node_get_object (delta), "usage"), "type");
  append_json (self, "message_delta", delta);
  stop = event_node ("message_stop", NULL);
  append_json (self, "message_stop", stop);
  self->stopped = TRUE;
}

static gboolean
decode_converse (UsEventStreamDecoder *self,
                 const char           *event_type,
                 const guint8         *payload,
                 gsize                 length,
                 GError              **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *object, *start, *delta, *use;
  JsonNode *root;
  gint64 index;

  if (!json_parser_load_from_data (parser, (const char *) payload, (gssize) length, NULL)
      || (root = json_parser_get_root (parser)) == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "event stream: a %s event that is not JSON", event_type);
      return FALSE;
    }
  object = json_node_get_object (root);
  index = us_json_get_int (object, "contentBlockIndex", 0);

  if (strcmp (event_type, "messageStart") == 0)
    converse_start (self);
  else if (strcmp (event_type, "contentBlockStart") == 0)
    {
      converse_start (self);
      start = us_json_get_object (object, "start");
      use = start ? us_json_get_object (start, "toolUse") : NULL;
      if (use != NULL)
        converse_open_block (self, index,
                             event_node ("tool_use", "id", string_node (us_json_get_string (use, "toolUseId")),
                                         "name", string_node (us_json_get_string (use, "name")),
                                         "input", us_json_node_take_object (json_object_new ()),
                                         NULL));
    }
  else if (strcmp (event_type, "contentBlockDelta") == 0)
    {
      g_autoptr(JsonNode) node = NULL;

      converse_start (self);
      delta = us_json_get_object (object, "delta");
      use = delta ? us_json_get_object (delta, "toolUse") : NULL;
      if (delta != NULL && us_json_get_string (delta, "text") != NULL)
        {
          if (self->block != index)
            converse_open_block (self, index, event_node ("text", "text", string_node (""), NULL));
          node = event_node ("content_block_delta", "index", int_node (self->next_index - 1),
                             "delta", event_node ("text_delta", "text", string_node (us_json_get_string (delta, "text")),
                                                  NULL),
                             NULL);
        }
      else if (use != NULL && us_json_get_string (use, "input") != NULL && self->block == index)
        node = event_node ("content_block_delta", "index", int_node (self->next_index - 1),
                           "delta", event_node ("input_json_delta",
                                                "partial_json", string_node (us_json_get_string (use, "input")),
                                                NULL),
                           NULL);
      /* reasoningContent: Converse's thinking has no Anthropic signature. */
      if (node != NULL)
        append_json (self, "content_block_delta", node);
    }
  else if (strcmp (event_type, "contentBlockStop") == 0)
    {
      if (self->block == index)
        converse_close_block (self);
    }
  else if (strcmp (event_type, "messageStop") == 0)
    {
      g_free (self->stop_reason);
      self->stop_reason = g_strdup (us_bedrock_converse_stop_reason (us_json_get_string (object, "stopReason")));
    }
  else if (strcmp (event_type, "metadata") == 0)
    converse_finish (self, us_json_get_object (object, "usage"));
  return TRUE;
}

/* Decodes the whole message at @p (its length already checked). */
static gboolean
decode_message (UsEventStreamDecoder *self,
                const guint8         *p,
                gsize                 total,
                GError              **error)
{
  guint32 headers_len = read_be32 (p + 4);
  const guint8 *payload = p + PRELUDE + headers_len;
  gsize payload_len = total - PRELUDE - headers_len - TRAILER;
  Headers h = { 0 };
  gboolean ok = TRUE;

  if (crc (p, total - TRAILER) != read_be32 (p + total - TRAILER))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "event stream: message CRC mismatch");
      return FALSE;
    }
  if (!parse_headers (p + PRELUDE, headers_len, &h, error))
    {
      headers_clear (&h);
      return FALSE;
    }

  if (g_strcmp0 (h.message_type, "exception") == 0)
    {
      g_autofree char *message = payload_message (payload, payload_len);

      append_error (self, us_event_stream_error_type (h.exception_type),
                    message ? message : h.exception_type ? h.exception_type : "exception");
    }
  else if (g_strcmp0 (h.message_type, "error") == 0)
    append_error (self, "api_error", h.error_message ? h.error_message : "error");
  else if (self->model != NULL && h.event_type != NULL && g_strcmp0 (h.message_type, "event") == 0)
    ok = decode_converse (self, h.event_type, payload, payload_len, error);
  else if (g_strcmp0 (h.event_type, "chunk") == 0)
    ok = decode_chunk (self, payload, payload_len, error);
  /* Other events (initial-response, …) carry nothing for the client. */

  headers_clear (&h);
  return ok;
}

static gsize
drain (UsEventStreamDecoder *self,
       guint8               *outbuf,
       gsize                 outbuf_size)
{
  gsize n = MIN (outbuf_size, self->out->len - self->out_pos);

  if (n == 0)
    return 0;
  memcpy (outbuf, self->out->data + self->out_pos, n);
  self->out_pos += n;
  if (self->out_pos == self->out->len)
    {
      g_byte_array_set_size (self->out, 0);
      self->out_pos = 0;
    }
  return n;
}

static GConverterResult
us_event_stream_decoder_convert (GConverter      *converter,
                                 const void      *inbuf,
                                 gsize            inbuf_size,
                                 void            *outbuf,
                                 gsize            outbuf_size,
                                 GConverterFlags  flags,
                                 gsize           *bytes_read,
                                 gsize           *bytes_written,
                                 GError         **error)
{
  UsEventStreamDecoder *self = US_EVENT_STREAM_DECODER (converter);
  const guint8 *in = inbuf;
  gsize read = 0;

  *bytes_read = 0;
  *bytes_written = 0;
  if (outbuf_size == 0)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE, "no room");
      return G_CONVERTER_ERROR;
    }

  /* Whole messages only: the stream gives the same unread input again. */
  while (self->out->len == 0 && inbuf_size - read >= PRELUDE)
    {
      const guint8 *p = in + read;
      guint32 total = read_be32 (p);
      guint32 headers_len = read_be32 (p + 4);

      if (crc (p, 8) != read_be32 (p + 8))
        {
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "event stream: prelude CRC mismatch");
          return G_CONVERTER_ERROR;
        }
      if (total < PRELUDE + TRAILER || total > US_EVENT_STREAM_MAX_MESSAGE
          || headers_len > total - PRELUDE - TRAILER)
        {
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "event stream: bad message length");
          return G_CONVERTER_ERROR;
        }
      if (inbuf_size - read < total)
        break;
      if (!decode_message (self, p, total, error))
        return G_CONVERTER_ERROR;
      read += total;
    }
  *bytes_read = read;
  *bytes_written = drain (self, outbuf, outbuf_size);

  if (*bytes_read > 0 || *bytes_written > 0)
    return G_CONVERTER_CONVERTED;
  if (inbuf_size == 0 && (flags & G_CONVERTER_INPUT_AT_END))
    {
      /* A Converse stream whose metadata never came still ends its message. */
      if (self->model != NULL && !self->stopped && self->stop_reason != NULL)
        {
          converse_finish (self, NULL);
          *bytes_written = drain (self, outbuf, outbuf_size);
          return G_CONVERTER_CONVERTED;
        }
      return G_CONVERTER_FINISHED;
    }
  if (flags & G_CONVERTER_INPUT_AT_END)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "event stream: ended inside a message");
      return G_CONVERTER_ERROR;
    }
  if (flags & G_CONVERTER_FLUSH)
    return G_CONVERTER_FLUSHED;
  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_PARTIAL_INPUT, "need more input");
  return G_CONVERTER_ERROR;
}

static void
us_event_stream_decoder_reset (GConverter *converter)
{
  UsEventStreamDecoder *self = US_EVENT_STREAM_DECODER (converter);

  g_byte_array_set_size (self->out, 0);
  self->out_pos = 0;
}

static void
us_event_stream_decoder_converter_init (GConverterIface *iface)
{
  iface->convert = us_event_stream_decoder_convert;
  iface->reset = us_event_stream_decoder_reset;
}

static void
us_event_stream_decoder_finalize (GObject *object)
{
  UsEventStreamDecoder *self = US_EVENT_STREAM_DECODER (object);

  g_byte_array_unref (self->out);
  g_free (self->model);
  g_free (self->stop_reason);
  G_OBJECT_CLASS (us_event_stream_decoder_parent_class)->finalize (object);
}

static void
us_event_stream_decoder_class_init (UsEventStreamDecoderClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = us_event_stream_decoder_finalize;
}

static void
us_event_stream_decoder_init (UsEventStreamDecoder *self)
{
  self->out = g_byte_array_new ();
  self->block = -1;
}

UsEventStreamDecoder *
us_event_stream_decoder_new (void)
{
  return g_object_new (US_TYPE_EVENT_STREAM_DECODER, NULL);
}

UsEventStreamDecoder *
us_event_stream_decoder_new_converse (const char *model)
{
  UsEventStreamDecoder *self = g_object_new (US_TYPE_EVENT_STREAM_DECODER, NULL);

  self->model = g_strdup (model ? model : "");
  return self;
}
