/* us-format-openai-chat-stream.c: Chat Completions chunks ⇄ IR events.
 *
 * Chat has no blocks: a chunk's delta may carry text, reasoning and tool
 * call fragments keyed by a tool index. The decoder opens an IR block when
 * the kind of content changes and closes it when the next one starts.
 *
 * IR blocks never overlap and never reopen, but some servers interleave
 * the fragments of parallel calls (call 0 resumes after call 1 started).
 * A call that starts while another streams closes that one when its
 * arguments are already complete JSON (nothing valid can follow), else it
 * is held, whole, and emitted after the open one when the message ends. */

#include "us-format-openai-chat.h"
#include "us-openai-common.h"
#include "us-sse.h"

#include <string.h>

#define MAX_TOOL_INDEX 1024

/* ---- Decoding ---- */

typedef struct {
  UsIrEventFunc  func;
  gpointer       user_data;
  UsUsage        usage;
  gboolean       started;
  gboolean       finish_seen;
  gboolean       usage_seen;
  gboolean       stopped;
  gboolean       saw_tool_calls;
  UsIrStopReason stop;
  guint          next_index;
  gint           open;          /* IR index of the open block, -1: none */
  UsIrPartKind   open_kind;
  GPtrArray     *calls;         /* Chat tool index → ChatCall (or NULL) */
  gint64         last_call;     /* Chat index of the latest call, -1: none */
} Decoder;

typedef struct {
  char    *id;
  char    *name;
  gint     block;               /* IR index once emitted, -1 while held */
  gboolean closed;
  GString *args;                /* arguments so far */
} ChatCall;

static void
chat_call_free (gpointer data)
{
  ChatCall *call = data;

  if (call == NULL)
    return;
  g_free (call->id);
  g_free (call->name);
  g_string_free (call->args, TRUE);
  g_free (call);
}

gpointer
us_chat_decoder_new (UsIrEventFunc func,
                     gpointer      user_data)
{
  Decoder *dec = g_new0 (Decoder, 1);

  dec->func = func;
  dec->user_data = user_data;
  dec->open = -1;
  dec->last_call = -1;
  dec->calls = g_ptr_array_new_with_free_func (chat_call_free);
  return dec;
}

void
us_chat_decoder_free (gpointer data)
{
  Decoder *dec = data;

  g_ptr_array_unref (dec->calls);
  g_free (dec);
}

static void
emit (Decoder   *dec,
      UsIrEvent *ev)
{
  ev->usage = &dec->usage;
  dec->func (ev, dec->user_data);
}

static void
decoder_start (Decoder    *dec,
               JsonObject *chunk)
{
  UsIrEvent ev = { .kind = US_IR_EV_MESSAGE_START };

  if (dec->started)
    return;
  dec->started = TRUE;
  ev.id = us_json_get_string (chunk, "id");
  ev.model = us_json_get_string (chunk, "model");
  emit (dec, &ev);
}

static void
close_open (Decoder *dec)
{
  UsIrEvent ev = { .kind = US_IR_EV_BLOCK_STOP };

  if (dec->open < 0)
    return;
  for (guint i = 0; dec->open_kind == US_IR_PART_TOOL_CALL && i < dec->calls->len; i++)
    {
      ChatCall *call = g_ptr_array_index (dec->calls, i);

      if (call != NULL && call->block == dec->open)
        call->closed = TRUE;
    }
  ev.index = (guint) dec->open;
  ev.block = dec->open_kind;
  dec->open = -1;
  emit (dec, &ev);
}

static guint
open_block (Decoder         *dec,
            UsIrPartKind     kind,
            const char      *tool_id,
            const char      *tool_name)
{
  UsIrEvent ev = { .kind = US_IR_EV_BLOCK_START, .block = kind };

  close_open (dec);
  ev.index = dec->next_index++;
  ev.tool_id = tool_id;
  ev.tool_name = tool_name;
  dec->open = (gint) ev.index;
  dec->open_kind = kind;
  emit (dec, &ev);
  return ev.index;
}

static void
delta (Decoder       *dec,
       guint          index,
       UsIrPartKind   kind,
       UsIrDeltaKind  delta_kind,
       const char    *text)
{
  UsIrEvent ev = { .kind = US_IR_EV_BLOCK_DELTA, .index = index, .block = kind,
                   .delta = delta_kind, .text = text, .text_len = strlen (text) };

  emit (dec, &ev);
}

static void
text_delta (Decoder      *dec,
            UsIrPartKind  kind,
            const char   *text)
{
  if (text == NULL || *text == '\0')
    return;
  if (dec->open < 0 || dec->open_kind != kind)
    open_block (dec, kind, NULL, NULL);
  delta (dec, (guint) dec->open, kind,
         kind == US_IR_PART_THINKING ? US_IR_DELTA_THINKING : US_IR_DELTA_TEXT, text);
}

static ChatCall *
call_at (Decoder *dec,
         gint64   tool_index)
{
  if (tool_index < 0 || (guint64) tool_index >= dec->calls->len)
    return NULL;
  return g_ptr_array_index (dec->calls, tool_index);
}

/* TRUE while a tool call streams whose arguments are not yet complete JSON:
 * more fragments of it may still come. */
static gboolean
open_call_unfinished (Decoder *dec)
{
  g_autoptr(JsonNode) parsed = NULL;

  if (dec->open < 0 || dec->open_kind != US_IR_PART_TOOL_CALL)
    return FALSE;
  for (guint i = 0; i < dec->calls->len; i++)
    {
      ChatCall *call = g_ptr_array_index (dec->calls, i);

      if (call != NULL && call->block == dec->open)
        {
          parsed = us_json_parse (call->args->str, (gssize) call->args->len, NULL);
          return parsed == NULL;
        }
    }
  return FALSE;
}

static void
tool_call_delta (Decoder    *dec,
                 JsonObject *obj)
{
  JsonObject *function = us_json_get_object (obj, "function");
  const char *id = us_json_get_string (obj, "id");
  const char *arguments = us_json_get_string (function, "arguments");
  gint64 tool_index = us_json_get_int (obj, "index", -1);
  ChatCall *call;

  /* Servers that leave out "index" (Gemini) start a call with a new id. */
  if (tool_index < 0)
    {
      ChatCall *last = call_at (dec, dec->last_call);

      if (last != NULL && (id == NULL || g_strcmp0 (id, last->id) == 0))
        tool_index = dec->last_call;
      else
        tool_index = dec->calls->len;
    }
  if (tool_index >= MAX_TOOL_INDEX)
    return;

  call = call_at (dec, tool_index);
  if (call == NULL)
    {
      if ((guint64) tool_index >= dec->calls->len)
        g_ptr_array_set_size (dec->calls, (guint) tool_index + 1);
      call = g_new0 (ChatCall, 1);
      call->id = id ? g_strdup (id) : us_openai_new_id ("call_");
      call->name = g_strdup (us_json_get_string (function, "name"));
      call->args = g_string_new (NULL);
      call->block = -1;
      g_ptr_array_index (dec->calls, tool_index) = call;
      dec->last_call = tool_index;
      dec->saw_tool_calls = TRUE;
      if (!open_call_unfinished (dec))
        call->block = (gint) open_block (dec, US_IR_PART_TOOL_CALL, call->id, call->name);
    }
  if (arguments == NULL || *arguments == '\0')
    return;
  /* A call closes when its arguments are complete JSON (only whitespace
   * could validly follow), when text follows it or when the message ends;
   * an Anthropic block cannot reopen, so later fragments are not sent. */
  if (call->closed)
    return;
  g_string_append (call->args, arguments);
  if (call->block >= 0)
    delta (dec, (guint) call->block, US_IR_PART_TOOL_CALL, US_IR_DELTA_ARGUMENTS, arguments);
}

/* Closes the open block, then emits the held calls whole, in order. */
static void
close_all (Decoder *dec)
{
  close_open (dec);
  for (guint i = 0; i < dec->calls->len; i++)
    {
      ChatCall *call = g_ptr_array_index (dec->calls, i);

      if (call == NULL || call->block >= 0)
        continue;
      call->block = (gint) open_block (dec, US_IR_PART_TOOL_CALL, call->id, call->name);
      if (call->args->len > 0)
        delta (dec, (guint) call->block, US_IR_PART_TOOL_CALL, US_IR_DELTA_ARGUMENTS, call->args->str);
      close_open (dec);
    }
}

static void
end_message (Decoder *dec)
{
  UsIrEvent ev = { .kind = US_IR_EV_MESSAGE_DELTA };

  if (dec->stopped || !dec->started)
    return;
  close_all (dec);
  dec->stopped = TRUE;
  ev.stop_reason = dec->finish_seen ? dec->stop
    : dec->saw_tool_calls ? US_IR_STOP_TOOL_USE : US_IR_STOP_END_TURN;
  emit (dec, &ev);
  ev.kind = US_IR_EV_MESSAGE_STOP;
  emit (dec, &ev);
}

static void
decode_error (Decoder  *dec,
              JsonNode *error)
{
  UsIrEvent ev = { .kind = US_IR_EV_ERROR };
  g_autoptr(JsonObject) wrapper = json_object_new ();
  g_autofree char *type = NULL;
  g_autofree char *message = NULL;

  json_object_set_member (wrapper, "error", json_node_copy (error));
  if (!us_openai_error_decode (wrapper, 500, &type, &message))
    return;
  ev.error_type = type;
  ev.text = message;
  ev.text_len = strlen (message);
  emit (dec, &ev);
}

void
us_chat_decoder_event (gpointer    data,
                       const char *event,
                       const char *text,
                       gsize       len)
{
  Decoder *dec = data;
  g_autoptr(JsonNode) root = NULL;
  JsonObject *chunk, *choice, *delta_obj;
  JsonArray *choices, *calls;
  JsonNode *error;
  const char *finish;

  if (len == 6 && memcmp (text, "[DONE]", 6) == 0)
    {
      end_message (dec);
      return;
    }
  root = us_json_parse (text, (gssize) len, NULL);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root) || dec->stopped)
    return;
  chunk = json_node_get_object (root);

  error = json_object_get_member (chunk, "error");
  if (error != NULL && !JSON_NODE_HOLDS_NULL (error))
    {
      decode_error (dec, error);
      return;
    }

  decoder_start (dec, chunk);
  if (us_json_get_object (chunk, "usage") != NULL)
    {
      us_openai_usage_decode (us_json_get_object (chunk, "usage"), FALSE, &dec->usage);
      dec->usage_seen = TRUE;
    }

  choices = us_json_get_array (chunk, "choices");
  if (choices != NULL && json_array_get_length (choices) > 0
      && JSON_NODE_HOLDS_OBJECT (json_array_get_element (choices, 0)))
    {
      choice = json_array_get_object_element (choices, 0);
      delta_obj = us_json_get_object (choice, "delta");
      text_delta (dec, US_IR_PART_THINKING, us_json_get_string (delta_obj, "reasoning_content"));
      text_delta (dec, US_IR_PART_THINKING, us_json_get_string (delta_obj, "reasoning"));
      text_delta (dec, US_IR_PART_TEXT, us_json_get_string (delta_obj, "content"));
      text_delta (dec, US_IR_PART_TEXT, us_json_get_string (delta_obj, "refusal"));
      calls = us_json_get_array (delta_obj, "tool_calls");
      for (guint i = 0; calls != NULL && i < json_array_get_length (calls); i++)
        if (JSON_NODE_HOLDS_OBJECT (json_array_get_element (calls, i)))
          tool_call_delta (dec, json_array_get_object_element (calls, i));

      finish = us_json_get_string (choice, "finish_reason");
      if (finish != NULL && !dec->finish_seen)
        {
          close_all (dec);
          dec->finish_seen = TRUE;
          dec->stop = us_chat_finish_reason_decode (finish, dec->saw_tool_calls);
        }
    }

  /* Usage comes with the finish chunk or in one after it. */
  if (dec->finish_seen && dec->usage_seen)
    end_message (dec);
}

void
us_chat_decoder_finish (gpointer data)
{
  Decoder *dec = data;

  /* No [DONE], but the model had finished: that is a clean end. */
  if (dec->finish_seen)
    end_message (dec);
}

/* ---- Encoding ---- */

typedef struct {
  char     *model;
  char     *id;
  gint64    created;
  gboolean  started;
  gboolean  finished;
  gboolean  done;
  gboolean  saw_tool;
  GArray   *tool_index;         /* IR index → Chat tool index, -1: none */
  gint      next_tool;
  UsUsage   usage;
} Encoder;

gpointer
us_chat_encoder_new (const char *model)
{
  Encoder *enc = g_new0 (Encoder, 1);

  enc->model = g_strdup (model ? model : "");
  enc->created = g_get_real_time () / G_USEC_PER_SEC;
  enc->tool_index = g_array_new (FALSE, FALSE, sizeof (gint));
  return enc;
}

void
us_chat_encoder_free (gpointer data)
{
  Encoder *enc = data;

  g_free (enc->model);
  g_free (enc->id);
  g_array_unref (enc->tool_index);
  g_free (enc);
}

static JsonObject *
chunk_object (Encoder *enc)
{
  JsonObject *obj = json_object_new ();

  json_object_set_string_member (obj, "id", enc->id);
  json_object_set_string_member (obj, "object", "chat.completion.chunk");
  json_object_set_int_member (obj, "created", enc->created);
  json_object_set_string_member (obj, "model", enc->model);
  return obj;
}

static void
write_chunk (Encoder    *enc,
             JsonObject *delta_obj,
             const char *finish_reason,
             GString    *out)
{
  JsonObject *obj = chunk_object (enc);
  JsonArray *choices = json_array_new ();
  JsonObject *choice = json_object_new ();

  json_object_set_int_member (choice, "index", 0);
  json_object_set_object_member (choice, "delta", delta_obj);
  json_object_set_null_member (choice, "logprobs");
  if (finish_reason != NULL)
    json_object_set_string_member (choice, "finish_reason", finish_reason);
  else
    json_object_set_null_member (choice, "finish_reason");
  json_array_add_object_element (choices, choice);
  json_object_set_array_member (obj, "choices", choices);
  us_ir_append_event (out, NULL, obj);
}

static void
ensure_started (Encoder    *enc,
                const char *upstream_id,
                GString    *out)
{
  JsonObject *delta_obj;

  if (enc->started)
    return;
  enc->started = TRUE;
  enc->id = us_chat_completion_id (upstream_id);
  delta_obj = json_object_new ();
  json_object_set_string_member (delta_obj, "role", "assistant");
  json_object_set_string_member (delta_obj, "content", "");
  write_chunk (enc, delta_obj, NULL, out);
}

static JsonObject *
tool_delta_object (gint        index,
                   const char *id,
                   const char *name,
                   const char *arguments)
{
  JsonObject *delta_obj = json_object_new ();
  JsonArray *calls = json_array_new ();
  JsonObject *call = json_object_new ();
  JsonObject *function = json_object_new ();

  json_object_set_int_member (call, "index", index);
  if (id != NULL)
    {
      json_object_set_string_member (call, "id", id);
      json_object_set_string_member (call, "type", "function");
      json_object_set_string_member (function, "name", name ? name : "");
    }
  json_object_set_string_member (function, "arguments", arguments);
  json_object_set_object_member (call, "function", function);
  json_array_add_object_element (calls, call);
  json_object_set_array_member (delta_obj, "tool_calls", calls);
  return delta_obj;
}

static gint
tool_index_for (Encoder *enc,
                guint    ir_index)
{
  return ir_index < enc->tool_index->len ? g_array_index (enc->tool_index, gint, ir_index) : -1;
}

static void
write_block_start (Encoder         *enc,
                   const UsIrEvent *ev,
                   GString         *out)
{
  gint index;

  if (ev->block != US_IR_PART_TOOL_CALL || ev->index >= 4096)
    return;
  if (enc->tool_index->len <= ev->index)
    {
      guint old = enc->tool_index->len;

      g_array_set_size (enc->tool_index, ev->index + 1);
      for (guint i = old; i < enc->tool_index->len; i++)
        g_array_index (enc->tool_index, gint, i) = -1;
    }
  index = enc->next_tool++;
  g_array_index (enc->tool_index, gint, ev->index) = index;
  enc->saw_tool = TRUE;
  write_chunk (enc, tool_delta_object (index, ev->tool_id ? ev->tool_id : "", ev->tool_name, ""),
               NULL, out);
}

static void
write_block_delta (Encoder         *enc,
                   const UsIrEvent *ev,
                   GString         *out)
{
  g_autofree char *text = NULL;
  JsonObject *delta_obj;

  if (ev->text == NULL || ev->text_len == 0)
    return;
  text = g_strndup (ev->text, ev->text_len);
  switch (ev->delta)
    {
    case US_IR_DELTA_TEXT:
      if (ev->block != US_IR_PART_TEXT)
        return;
      delta_obj = json_object_new ();
      json_object_set_string_member (delta_obj, "content", text);
      break;
    case US_IR_DELTA_THINKING:
      /* DeepSeek's field, which OpenCode and most Chat clients read. */
      delta_obj = json_object_new ();
      json_object_set_string_member (delta_obj, "reasoning_content", text);
      break;
    case US_IR_DELTA_ARGUMENTS:
      if (tool_index_for (enc, ev->index) < 0)
        return;
      delta_obj = tool_delta_object (tool_index_for (enc, ev->index), NULL, NULL, text);
      break;
    case US_IR_DELTA_SIGNATURE:
    default:
      return;
    }
  write_chunk (enc, delta_obj, NULL, out);
}

static void
write_finish (Encoder       *enc,
              UsIrStopReason reason,
              GString       *out)
{
  JsonObject *obj;

  if (enc->finished)
    return;
  enc->finished = TRUE;
  if (reason == US_IR_STOP_NONE)
    reason = enc->saw_tool ? US_IR_STOP_TOOL_USE : US_IR_STOP_END_TURN;
  write_chunk (enc, json_object_new (), us_chat_finish_reason_encode (reason), out);

  /* The include_usage chunk: no choices, the whole usage. */
  obj = chunk_object (enc);
  json_object_set_array_member (obj, "choices", json_array_new ());
  json_object_set_object_member (obj, "usage", us_openai_usage_encode (&enc->usage, FALSE));
  us_ir_append_event (out, NULL, obj);
}

static void
write_done (Encoder *enc,
            GString *out)
{
  g_string_append (out, "data: [DONE]\n\n");
  enc->done = TRUE;
}

void
us_chat_encoder_fail (gpointer    data,
                      const char *type,
                      const char *message,
                      GString    *out)
{
  Encoder *enc = data;
  JsonObject *obj;

  if (enc->done)
    return;
  obj = json_object_new ();
  json_object_set_object_member (obj, "error", us_openai_error_object (type, message, TRUE));
  us_ir_append_event (out, NULL, obj);
  enc->done = TRUE;
}

void
us_chat_encoder_event (gpointer         data,
                       const UsIrEvent *ev,
                       GString         *out)
{
  Encoder *enc = data;

  if (enc->done)
    return;
  if (ev->usage != NULL)
    enc->usage = *ev->usage;

  switch (ev->kind)
    {
    case US_IR_EV_MESSAGE_START:
      ensure_started (enc, ev->id, out);
      break;
    case US_IR_EV_BLOCK_START:
      ensure_started (enc, NULL, out);
      write_block_start (enc, ev, out);
      break;
    case US_IR_EV_BLOCK_DELTA:
      ensure_started (enc, NULL, out);
      write_block_delta (enc, ev, out);
      break;
    case US_IR_EV_MESSAGE_DELTA:
      ensure_started (enc, NULL, out);
      write_finish (enc, ev->stop_reason, out);
      break;
    case US_IR_EV_MESSAGE_STOP:
      ensure_started (enc, NULL, out);
      write_finish (enc, US_IR_STOP_NONE, out);
      write_done (enc, out);
      break;
    case US_IR_EV_ERROR:
      us_chat_encoder_fail (enc, ev->error_type, ev->text, out);
      break;
    case US_IR_EV_BLOCK_STOP:
    default:
      break;
    }
}

void
us_chat_encoder_finish (gpointer data,
                        GString *out)
{
  Encoder *enc = data;

  if (enc->done)
    return;
  ensure_started (enc, NULL, out);
  write_finish (enc, US_IR_STOP_NONE, out);
  write_done (enc, out);
}
