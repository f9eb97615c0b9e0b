/* us-format-anthropic-stream.c: Anthropic Messages stream events ⇄ IR events.
 *
 * Anthropic's stream is the IR's model (blocks with start, deltas, stop), so
 * both directions are close to a copy; the encoder renumbers blocks to skip
 * what an Anthropic client cannot take and never lets two overlap. */

#include "us-format-anthropic.h"
#include "us-sse.h"

#include <string.h>

/* ---- Stream decoding ---- */

typedef struct {
  UsIrEventFunc func;
  gpointer      user_data;
  UsUsage       usage;
  GArray       *kinds;        /* UsIrPartKind per upstream block index */
} Decoder;

gpointer
us_anthropic_decoder_new (UsIrEventFunc func,
                          gpointer      user_data)
{
  Decoder *dec = g_new0 (Decoder, 1);

  dec->func = func;
  dec->user_data = user_data;
  dec->kinds = g_array_new (FALSE, TRUE, sizeof (UsIrPartKind));
  return dec;
}

void
us_anthropic_decoder_free (gpointer data)
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

void
us_anthropic_decoder_event (gpointer    data,
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

      us_anthropic_usage_decode (us_json_get_object (message, "usage"), &dec->usage);
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

      us_anthropic_usage_decode (us_json_get_object (obj, "usage"), &dec->usage);
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

void
us_anthropic_decoder_finish (gpointer data)
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

gpointer
us_anthropic_encoder_new (const char *model)
{
  Encoder *enc = g_new0 (Encoder, 1);

  enc->model = g_strdup (model);
  enc->map = g_array_new (FALSE, FALSE, sizeof (gint));
  enc->open = -1;
  return enc;
}

void
us_anthropic_encoder_free (gpointer data)
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
  json_object_set_object_member (message, "usage", us_anthropic_usage_encode (&usage));
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
  json_object_set_object_member (obj, "usage", us_anthropic_usage_encode (&enc->usage));
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

void
us_anthropic_encoder_fail (gpointer    data,
                           const char *type,
                           const char *message,
                           GString    *out)
{
  Encoder *enc = data;
  g_autoptr(JsonNode) node = NULL;
  g_autofree char *text = NULL;

  if (enc->stopped)
    return;
  node = us_anthropic_error_encode (0, type, message);
  text = us_json_to_string (node);
  us_sse_append (out, "error", text);
  enc->stopped = TRUE;
}

void
us_anthropic_encoder_event (gpointer         data,
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
      us_anthropic_encoder_fail (enc, ev->error_type ? ev->error_type : "api_error",
                              ev->text ? ev->text : "", out);
      break;
    default:
      break;
    }
}

void
us_anthropic_encoder_finish (gpointer data,
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

