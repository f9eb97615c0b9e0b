/* us-format-openai-responses-stream.c: Responses stream events ⇄ IR events.
 *
 * Responses streams output items (message, function_call, reasoning), each
 * with its own "done" event repeating the whole item. The decoder maps items
 * to IR blocks; the encoder keeps the text of each open item so that it can
 * write those done events, and the finished items for response.completed. */

#include "us-format-openai-responses.h"
#include "us-openai-common.h"
#include "us-sse.h"

#include <string.h>

#define MAX_ITEMS 4096

/* ---- Decoding ---- */

typedef struct {
  UsIrPartKind kind;
  gint         block;           /* IR index, -1 until started */
  gboolean     stopped;
  gboolean     got_delta;
  gboolean     custom;          /* custom_tool_call: input wrapped as JSON */
  gint64       summary_index;
  char        *id;
  char        *call_id;
  char        *name;
} Item;

typedef struct {
  UsIrEventFunc func;
  gpointer      user_data;
  UsUsage       usage;
  gboolean      started;
  gboolean      stopped;
  gboolean      saw_calls;
  guint         next_index;
  GPtrArray    *items;          /* output_index → Item (or NULL) */
} Decoder;

static void
item_free (gpointer data)
{
  Item *item = data;

  if (item == NULL)
    return;
  g_free (item->id);
  g_free (item->call_id);
  g_free (item->name);
  g_free (item);
}

gpointer
us_responses_decoder_new (UsIrEventFunc func,
                          gpointer      user_data)
{
  Decoder *dec = g_new0 (Decoder, 1);

  dec->func = func;
  dec->user_data = user_data;
  dec->items = g_ptr_array_new_with_free_func (item_free);
  return dec;
}

void
us_responses_decoder_free (gpointer data)
{
  Decoder *dec = data;

  g_ptr_array_unref (dec->items);
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
start_message (Decoder    *dec,
               JsonObject *response)
{
  UsIrEvent ev = { .kind = US_IR_EV_MESSAGE_START };

  if (dec->started)
    return;
  dec->started = TRUE;
  ev.id = us_json_get_string (response, "id");
  ev.model = us_json_get_string (response, "model");
  emit (dec, &ev);
}

static Item *
item_at (Decoder    *dec,
         JsonObject *obj)
{
  gint64 index = us_json_get_int (obj, "output_index", -1);

  if (index < 0 || (guint64) index >= dec->items->len)
    return NULL;
  return g_ptr_array_index (dec->items, index);
}

static Item *
item_new (Decoder      *dec,
          gint64        index,
          UsIrPartKind  kind,
          const char   *id)
{
  Item *item = g_new0 (Item, 1);

  if ((guint64) index >= dec->items->len)
    g_ptr_array_set_size (dec->items, (guint) index + 1);
  item->kind = kind;
  item->block = -1;
  item->summary_index = -1;
  item->id = g_strdup (id);
  g_ptr_array_index (dec->items, index) = item;
  return item;
}

/* Text and reasoning deltas from servers that skip output_item.added. */
static Item *
item_or_implicit (Decoder      *dec,
                  JsonObject   *obj,
                  UsIrPartKind  kind)
{
  Item *item = item_at (dec, obj);
  gint64 index = us_json_get_int (obj, "output_index", -1);

  if (item != NULL || index < 0 || index >= MAX_ITEMS)
    return item;
  return item_new (dec, index, kind, us_json_get_string (obj, "item_id"));
}

static void
start_block (Decoder *dec,
             Item    *item)
{
  UsIrEvent ev = { .kind = US_IR_EV_BLOCK_START, .block = item->kind };

  if (item->block >= 0)
    return;
  item->block = (gint) dec->next_index++;
  ev.index = (guint) item->block;
  ev.tool_id = item->call_id;
  ev.tool_name = item->name;
  emit (dec, &ev);
}

static void
block_delta (Decoder       *dec,
             Item          *item,
             UsIrDeltaKind  kind,
             const char    *text,
             UsWireFormat   signed_by)
{
  UsIrEvent ev = { .kind = US_IR_EV_BLOCK_DELTA, .block = item->kind, .delta = kind };

  if (text == NULL || *text == '\0')
    return;
  start_block (dec, item);
  ev.index = (guint) item->block;
  ev.text = text;
  ev.text_len = strlen (text);
  ev.signed_by = signed_by;
  emit (dec, &ev);
}

static void
stop_block (Decoder *dec,
            Item    *item)
{
  UsIrEvent ev = { .kind = US_IR_EV_BLOCK_STOP, .block = item->kind };

  if (item->block < 0 || item->stopped)
    return;
  item->stopped = TRUE;
  ev.index = (guint) item->block;
  emit (dec, &ev);
}

/* A free-form input as a fragment of the JSON string in {"input": "…"}. */
static char *
json_fragment (const char *text)
{
  g_autoptr(JsonNode) node = json_node_init_string (json_node_alloc (), text);
  g_autofree char *quoted = us_json_to_string (node);

  return g_strndup (quoted + 1, strlen (quoted) - 2);
}

static void
item_added (Decoder    *dec,
            JsonObject *obj)
{
  JsonObject *data = us_json_get_object (obj, "item");
  gint64 index = us_json_get_int (obj, "output_index", -1);
  const char *type = us_json_get_string (data, "type");
  Item *item;

  if (data == NULL || index < 0 || index >= MAX_ITEMS)
    return;
  if ((guint64) index < dec->items->len && g_ptr_array_index (dec->items, index) != NULL)
    return;

  /* web_search_call and the like: nothing to translate (OPAQUE). */
  item = item_new (dec, index, US_IR_PART_OPAQUE, us_json_get_string (data, "id"));
  if (g_strcmp0 (type, "message") == 0)
    item->kind = US_IR_PART_TEXT;
  else if (g_strcmp0 (type, "reasoning") == 0)
    item->kind = US_IR_PART_THINKING;
  else if (g_strcmp0 (type, "function_call") == 0 || g_strcmp0 (type, "custom_tool_call") == 0)
    {
      item->kind = US_IR_PART_TOOL_CALL;
      item->custom = strcmp (type, "custom_tool_call") == 0;
      item->call_id = g_strdup (us_json_get_string (data, "call_id"));
      item->name = g_strdup (us_json_get_string (data, "name"));
      if (item->call_id == NULL)
        item->call_id = us_openai_new_id ("call_");
      dec->saw_calls = TRUE;
      /* A call is content the moment it appears. */
      start_block (dec, item);
      if (item->custom)
        block_delta (dec, item, US_IR_DELTA_ARGUMENTS, "{\"input\":\"", US_WIRE_NONE);
      else if (us_json_get_string (data, "arguments") != NULL)
        {
          item->got_delta = *us_json_get_string (data, "arguments") != '\0';
          block_delta (dec, item, US_IR_DELTA_ARGUMENTS, us_json_get_string (data, "arguments"),
                       US_WIRE_NONE);
        }
    }
}

static void
reasoning_delta (Decoder    *dec,
                 JsonObject *obj)
{
  Item *item = item_or_implicit (dec, obj, US_IR_PART_THINKING);
  gint64 summary = us_json_get_int (obj, "summary_index", 0);

  if (item == NULL || item->kind != US_IR_PART_THINKING)
    return;
  /* Summary parts are paragraphs of one thinking block. */
  if (item->summary_index >= 0 && summary != item->summary_index)
    block_delta (dec, item, US_IR_DELTA_THINKING, "\n\n", US_WIRE_NONE);
  item->summary_index = summary;
  block_delta (dec, item, US_IR_DELTA_THINKING, us_json_get_string (obj, "delta"), US_WIRE_NONE);
}

static void
item_done (Decoder    *dec,
           JsonObject *obj)
{
  JsonObject *data = us_json_get_object (obj, "item");
  Item *item = item_at (dec, obj);
  const char *type = us_json_get_string (data, "type");

  if (item == NULL || data == NULL || item->stopped)
    return;

  /* Servers that send only the finished item get it replayed as deltas. */
  if (g_strcmp0 (type, "message") == 0 && item->block < 0)
    {
      JsonArray *content = us_json_get_array (data, "content");

      for (guint i = 0; content != NULL && i < json_array_get_length (content); i++)
        {
          JsonNode *node = json_array_get_element (content, i);
          JsonObject *part = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;

          block_delta (dec, item, US_IR_DELTA_TEXT, us_json_get_string (part, "text"), US_WIRE_NONE);
        }
    }
  else if (item->kind == US_IR_PART_TOOL_CALL)
    {
      if (item->custom)
        {
          if (!item->got_delta && us_json_get_string (data, "input") != NULL)
            {
              g_autofree char *fragment = json_fragment (us_json_get_string (data, "input"));

              block_delta (dec, item, US_IR_DELTA_ARGUMENTS, fragment, US_WIRE_NONE);
            }
          block_delta (dec, item, US_IR_DELTA_ARGUMENTS, "\"}", US_WIRE_NONE);
        }
      else if (!item->got_delta)
        block_delta (dec, item, US_IR_DELTA_ARGUMENTS, us_json_get_string (data, "arguments"),
                     US_WIRE_NONE);
    }
  else if (g_strcmp0 (type, "reasoning") == 0)
    {
      const char *encrypted = us_json_get_string (data, "encrypted_content");

      if (item->block < 0)
        {
          g_autoptr(UsIrPart) part = us_responses_decode_reasoning (json_object_get_member (obj, "item"));

          block_delta (dec, item, US_IR_DELTA_THINKING, part->text, US_WIRE_NONE);
        }
      if (encrypted != NULL && *encrypted != '\0')
        {
          g_autofree char *signature = us_responses_pack_signature (item->id, encrypted);

          block_delta (dec, item, US_IR_DELTA_SIGNATURE, signature, US_WIRE_OPENAI_RESPONSES);
        }
    }
  stop_block (dec, item);
}

static void
end_message (Decoder    *dec,
             JsonObject *response)
{
  UsIrEvent ev = { .kind = US_IR_EV_MESSAGE_DELTA };

  if (dec->stopped)
    return;
  start_message (dec, response);
  us_openai_usage_decode (us_json_get_object (response, "usage"), TRUE, &dec->usage);
  for (guint i = 0; i < dec->items->len; i++)
    if (g_ptr_array_index (dec->items, i) != NULL)
      stop_block (dec, g_ptr_array_index (dec->items, i));
  dec->stopped = TRUE;
  ev.stop_reason = us_responses_stop_reason (response, dec->saw_calls);
  emit (dec, &ev);
  ev.kind = US_IR_EV_MESSAGE_STOP;
  emit (dec, &ev);
}

static void
decode_error (Decoder    *dec,
              JsonObject *error)
{
  UsIrEvent ev = { .kind = US_IR_EV_ERROR };
  g_autoptr(JsonObject) wrapper = json_object_new ();
  g_autofree char *type = NULL;
  g_autofree char *message = NULL;

  json_object_set_object_member (wrapper, "error", json_object_ref (error));
  if (!us_openai_error_decode (wrapper, 500, &type, &message))
    return;
  ev.error_type = type;
  ev.text = message;
  ev.text_len = strlen (message);
  emit (dec, &ev);
}

void
us_responses_decoder_event (gpointer    data,
                            const char *event,
                            const char *text,
                            gsize       len)
{
  Decoder *dec = data;
  g_autoptr(JsonNode) root = us_json_parse (text, (gssize) len, NULL);
  JsonObject *obj;
  const char *type;

  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root) || dec->stopped)
    return;
  obj = json_node_get_object (root);
  type = us_json_get_string (obj, "type");
  if (type == NULL)
    type = event;
  if (type == NULL)
    return;

  if (strcmp (type, "response.created") == 0 || strcmp (type, "response.in_progress") == 0)
    start_message (dec, us_json_get_object (obj, "response"));
  else if (strcmp (type, "response.output_item.added") == 0)
    item_added (dec, obj);
  else if (strcmp (type, "response.output_text.delta") == 0 || strcmp (type, "response.refusal.delta") == 0)
    {
      Item *item = item_or_implicit (dec, obj, US_IR_PART_TEXT);

      if (item != NULL && item->kind == US_IR_PART_TEXT)
        block_delta (dec, item, US_IR_DELTA_TEXT, us_json_get_string (obj, "delta"), US_WIRE_NONE);
    }
  else if (strcmp (type, "response.reasoning_summary_text.delta") == 0
           || strcmp (type, "response.reasoning_text.delta") == 0)
    reasoning_delta (dec, obj);
  else if (strcmp (type, "response.function_call_arguments.delta") == 0
           || strcmp (type, "response.custom_tool_call_input.delta") == 0)
    {
      Item *item = item_at (dec, obj);
      const char *delta = us_json_get_string (obj, "delta");

      if (item == NULL || item->kind != US_IR_PART_TOOL_CALL || delta == NULL)
        return;
      item->got_delta = TRUE;
      if (item->custom)
        {
          g_autofree char *fragment = json_fragment (delta);

          block_delta (dec, item, US_IR_DELTA_ARGUMENTS, fragment, US_WIRE_NONE);
        }
      else
        block_delta (dec, item, US_IR_DELTA_ARGUMENTS, delta, US_WIRE_NONE);
    }
  else if (strcmp (type, "response.output_item.done") == 0)
    item_done (dec, obj);
  else if (strcmp (type, "response.completed") == 0 || strcmp (type, "response.incomplete") == 0)
    end_message (dec, us_json_get_object (obj, "response"));
  else if (strcmp (type, "response.failed") == 0)
    {
      JsonObject *error = us_json_get_object (us_json_get_object (obj, "response"), "error");
      g_autoptr(JsonObject) fallback = NULL;

      if (error == NULL)
        {
          fallback = json_object_new ();
          json_object_set_string_member (fallback, "message", "The response failed");
          json_object_set_string_member (fallback, "code", "server_error");
          error = fallback;
        }
      decode_error (dec, error);
    }
  else if (strcmp (type, "error") == 0)
    decode_error (dec, us_json_get_object (obj, "error") ? us_json_get_object (obj, "error") : obj);
}

void
us_responses_decoder_finish (gpointer data)
{
  /* Without response.completed a Responses stream did not finish. */
}

/* ---- Encoding ---- */

typedef struct {
  UsIrPartKind kind;
  guint        output_index;
  gboolean     closed;
  char        *item_id;
  char        *call_id;
  char        *name;
  char        *ns;            /* tool call into a namespace */
  gboolean     custom;        /* custom tool: input sent whole at the end */
  GString     *text;
  GString     *signature;
} Block;

typedef struct {
  char          *model;
  char          *id;
  gint64         created_at;
  gint64         seq;
  gboolean       started;
  gboolean       done;
  GPtrArray     *blocks;        /* IR index → Block (or NULL) */
  guint          next_output;
  JsonArray     *output;        /* finished items, for response.completed */
  UsUsage        usage;
  UsIrStopReason stop;
} Encoder;

static void
block_free (gpointer data)
{
  Block *block = data;

  if (block == NULL)
    return;
  g_free (block->item_id);
  g_free (block->call_id);
  g_free (block->name);
  g_free (block->ns);
  g_string_free (block->text, TRUE);
  g_string_free (block->signature, TRUE);
  g_free (block);
}

gpointer
us_responses_encoder_new (const char *model)
{
  Encoder *enc = g_new0 (Encoder, 1);

  enc->model = g_strdup (model ? model : "");
  enc->created_at = g_get_real_time () / G_USEC_PER_SEC;
  enc->blocks = g_ptr_array_new_with_free_func (block_free);
  enc->output = json_array_new ();
  return enc;
}

void
us_responses_encoder_free (gpointer data)
{
  Encoder *enc = data;

  g_free (enc->model);
  g_free (enc->id);
  g_ptr_array_unref (enc->blocks);
  json_array_unref (enc->output);
  g_free (enc);
}

static JsonObject *
event_new (const char *type)
{
  JsonObject *obj = json_object_new ();

  json_object_set_string_member (obj, "type", type);
  return obj;
}

static void
write_event (Encoder    *enc,
             JsonObject *obj,
             GString    *out)
{
  const char *type = us_json_get_string (obj, "type");
  g_autofree char *name = g_strdup (type);

  json_object_set_int_member (obj, "sequence_number", enc->seq++);
  us_ir_append_event (out, name, obj);
}

static JsonObject *
item_event (const char  *type,
            const Block *block)
{
  JsonObject *obj = event_new (type);

  json_object_set_string_member (obj, "item_id", block->item_id);
  json_object_set_int_member (obj, "output_index", block->output_index);
  return obj;
}

static void
write_response_event (Encoder    *enc,
                      const char *type,
                      const char *status,
                      GString    *out)
{
  JsonObject *obj = event_new (type);
  JsonObject *response;
  gboolean final = strcmp (status, "in_progress") != 0;

  response = us_responses_object (enc->id, enc->model, enc->created_at, status,
                                  final ? json_array_ref (enc->output) : NULL,
                                  final ? &enc->usage : NULL);
  if (strcmp (status, "completed") == 0)
    us_responses_set_stop (response, enc->stop);
  json_object_set_object_member (obj, "response", response);
  write_event (enc, obj, out);
}

static void
ensure_started (Encoder    *enc,
                const char *upstream_id,
                GString    *out)
{
  if (enc->started)
    return;
  enc->started = TRUE;
  enc->id = us_responses_id (upstream_id);
  write_response_event (enc, "response.created", "in_progress", out);
  write_response_event (enc, "response.in_progress", "in_progress", out);
}

static JsonObject *
finished_item (const Block *block)
{
  switch (block->kind)
    {
    case US_IR_PART_TOOL_CALL:
      return us_responses_call_item (block->item_id, "completed", block->call_id,
                                     block->name, block->ns, block->custom, block->text->str);
    case US_IR_PART_THINKING:
      return us_responses_reasoning_item (block->item_id, block->text->str, block->signature->str);
    case US_IR_PART_TEXT:
    default:
      return us_responses_message_item (block->item_id, "completed", block->text->str);
    }
}

static JsonObject *
summary_part (const char *text)
{
  JsonObject *part = json_object_new ();

  json_object_set_string_member (part, "type", "summary_text");
  json_object_set_string_member (part, "text", text);
  return part;
}

static JsonObject *
text_part (const char *text)
{
  JsonObject *part = json_object_new ();

  json_object_set_string_member (part, "type", "output_text");
  json_object_set_array_member (part, "annotations", json_array_new ());
  json_object_set_string_member (part, "text", text);
  return part;
}

static void
write_block_start (Encoder         *enc,
                   const UsIrEvent *ev,
                   GString         *out)
{
  Block *block;
  JsonObject *obj;
  const char *prefix;

  if (ev->index >= MAX_ITEMS)
    return;
  switch (ev->block)
    {
    case US_IR_PART_TEXT: prefix = "msg"; break;
    case US_IR_PART_TOOL_CALL: prefix = "fc"; break;
    case US_IR_PART_THINKING: prefix = "rs"; break;
    case US_IR_PART_IMAGE:
    case US_IR_PART_TOOL_RESULT:
    case US_IR_PART_REDACTED_THINKING:
    case US_IR_PART_OPAQUE:
    default:
      return;   /* nothing a Responses client could use */
    }
  if (enc->blocks->len <= ev->index)
    g_ptr_array_set_size (enc->blocks, ev->index + 1);
  if (g_ptr_array_index (enc->blocks, ev->index) != NULL)
    return;

  block = g_new0 (Block, 1);
  block->kind = ev->block;
  block->output_index = enc->next_output++;
  block->item_id = us_responses_item_id (enc->id, prefix, block->output_index);
  block->call_id = g_strdup (ev->tool_id);
  block->name = g_strdup (ev->tool_name);
  block->ns = g_strdup (ev->tool_ns);
  block->custom = ev->tool_custom;
  block->text = g_string_new (NULL);
  block->signature = g_string_new (NULL);
  g_ptr_array_index (enc->blocks, ev->index) = block;

  obj = event_new ("response.output_item.added");
  json_object_set_int_member (obj, "output_index", block->output_index);
  switch (block->kind)
    {
    case US_IR_PART_TEXT:
      json_object_set_object_member (obj, "item", us_responses_message_item (block->item_id, "in_progress", NULL));
      write_event (enc, obj, out);
      obj = item_event ("response.content_part.added", block);
      json_object_set_int_member (obj, "content_index", 0);
      json_object_set_object_member (obj, "part", text_part (""));
      break;
    case US_IR_PART_TOOL_CALL:
      json_object_set_object_member (obj, "item",
                                     us_responses_call_item (block->item_id, "in_progress", block->call_id,
                                                             block->name, block->ns, block->custom, ""));
      break;
    case US_IR_PART_THINKING:
    default:
      json_object_set_object_member (obj, "item", us_responses_reasoning_item (block->item_id, NULL, NULL));
      write_event (enc, obj, out);
      obj = item_event ("response.reasoning_summary_part.added", block);
      json_object_set_int_member (obj, "summary_index", 0);
      json_object_set_object_member (obj, "part", summary_part (""));
      break;
    }
  write_event (enc, obj, out);
}

static Block *
block_for (Encoder *enc,
           guint    index)
{
  return index < enc->blocks->len ? g_ptr_array_index (enc->blocks, index) : NULL;
}

static void
write_block_delta (Encoder         *enc,
                   const UsIrEvent *ev,
                   GString         *out)
{
  Block *block = block_for (enc, ev->index);
  g_autofree char *text = NULL;
  JsonObject *obj;

  if (block == NULL || block->closed || ev->text == NULL || ev->text_len == 0)
    return;
  text = g_strndup (ev->text, ev->text_len);

  if (ev->delta == US_IR_DELTA_SIGNATURE)
    {
      g_autofree char *id = NULL;

      /* Another format's signature travels wrapped, so that it comes back
       * recognisable; our own loses the item id packed into it. */
      if (ev->signed_by == US_WIRE_OPENAI_RESPONSES)
        g_string_append (block->signature, us_responses_unpack_signature (text, &id));
      else
        {
          g_autofree char *wrapped = us_ir_signature_wrap (ev->signed_by, text);

          g_string_append (block->signature, wrapped);
        }
      return;
    }

  switch (block->kind)
    {
    case US_IR_PART_TEXT:
      if (ev->delta != US_IR_DELTA_TEXT)
        return;
      obj = item_event ("response.output_text.delta", block);
      json_object_set_int_member (obj, "content_index", 0);
      json_object_set_string_member (obj, "delta", text);
      json_object_set_array_member (obj, "logprobs", json_array_new ());
      break;
    case US_IR_PART_TOOL_CALL:
      if (ev->delta != US_IR_DELTA_ARGUMENTS)
        return;
      /* Fragments of {"input": "..."} are no fragments of the input:
       * a custom call's input goes out whole when it ends. */
      if (block->custom)
        {
          g_string_append_len (block->text, ev->text, (gssize) ev->text_len);
          return;
        }
      obj = item_event ("response.function_call_arguments.delta", block);
      json_object_set_string_member (obj, "delta", text);
      break;
    case US_IR_PART_THINKING:
    default:
      if (ev->delta != US_IR_DELTA_THINKING)
        return;
      obj = item_event ("response.reasoning_summary_text.delta", block);
      json_object_set_int_member (obj, "summary_index", 0);
      json_object_set_string_member (obj, "delta", text);
      break;
    }
  g_string_append_len (block->text, ev->text, (gssize) ev->text_len);
  write_event (enc, obj, out);
}

static void
close_block (Encoder *enc,
             Block   *block,
             GString *out)
{
  JsonObject *obj;
  JsonObject *item;

  if (block == NULL || block->closed)
    return;
  block->closed = TRUE;

  switch (block->kind)
    {
    case US_IR_PART_TEXT:
      obj = item_event ("response.output_text.done", block);
      json_object_set_int_member (obj, "content_index", 0);
      json_object_set_string_member (obj, "text", block->text->str);
      json_object_set_array_member (obj, "logprobs", json_array_new ());
      write_event (enc, obj, out);
      obj = item_event ("response.content_part.done", block);
      json_object_set_int_member (obj, "content_index", 0);
      json_object_set_object_member (obj, "part", text_part (block->text->str));
      write_event (enc, obj, out);
      break;
    case US_IR_PART_TOOL_CALL:
      if (block->custom)
        {
          JsonObject *item = us_responses_call_item (block->item_id, "completed", block->call_id,
                                                     block->name, NULL, TRUE, block->text->str);
          const char *input = us_json_get_string (item, "input");

          obj = item_event ("response.custom_tool_call_input.delta", block);
          json_object_set_string_member (obj, "delta", input);
          write_event (enc, obj, out);
          obj = item_event ("response.custom_tool_call_input.done", block);
          json_object_set_string_member (obj, "input", input);
          write_event (enc, obj, out);
          json_object_unref (item);
          break;
        }
      obj = item_event ("response.function_call_arguments.done", block);
      json_object_set_string_member (obj, "arguments", block->text->str);
      write_event (enc, obj, out);
      break;
    case US_IR_PART_THINKING:
    default:
      obj = item_event ("response.reasoning_summary_text.done", block);
      json_object_set_int_member (obj, "summary_index", 0);
      json_object_set_string_member (obj, "text", block->text->str);
      write_event (enc, obj, out);
      obj = item_event ("response.reasoning_summary_part.done", block);
      json_object_set_int_member (obj, "summary_index", 0);
      json_object_set_object_member (obj, "part", summary_part (block->text->str));
      write_event (enc, obj, out);
      break;
    }

  item = finished_item (block);
  json_array_add_object_element (enc->output, json_object_ref (item));
  obj = event_new ("response.output_item.done");
  json_object_set_int_member (obj, "output_index", block->output_index);
  json_object_set_object_member (obj, "item", item);
  write_event (enc, obj, out);

  /* Only the finished item is needed from now on. */
  g_string_free (block->text, TRUE);
  block->text = g_string_new (NULL);
}

static void
write_completed (Encoder *enc,
                 GString *out)
{
  for (guint i = 0; i < enc->blocks->len; i++)
    close_block (enc, g_ptr_array_index (enc->blocks, i), out);
  /* Codex needs this event, with usage, to consider the turn done. */
  write_response_event (enc, "response.completed", "completed", out);
  enc->done = TRUE;
}

void
us_responses_encoder_fail (gpointer    data,
                           const char *type,
                           const char *message,
                           GString    *out)
{
  Encoder *enc = data;
  JsonObject *obj;
  JsonObject *response;
  JsonObject *error;
  const char *code = us_openai_error_code_for (type, message);

  if (enc->done)
    return;
  ensure_started (enc, NULL, out);
  error = json_object_new ();
  json_object_set_string_member (error, "code", code ? code : "server_error");
  json_object_set_string_member (error, "message", message ? message : "");
  response = us_responses_object (enc->id, enc->model, enc->created_at, "failed",
                                  json_array_ref (enc->output), NULL);
  json_object_set_object_member (response, "error", error);
  obj = event_new ("response.failed");
  json_object_set_object_member (obj, "response", response);
  write_event (enc, obj, out);
  enc->done = TRUE;
}

void
us_responses_encoder_event (gpointer         data,
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
    case US_IR_EV_BLOCK_STOP:
      close_block (enc, block_for (enc, ev->index), out);
      break;
    case US_IR_EV_MESSAGE_DELTA:
      enc->stop = ev->stop_reason;
      break;
    case US_IR_EV_MESSAGE_STOP:
      ensure_started (enc, NULL, out);
      write_completed (enc, out);
      break;
    case US_IR_EV_ERROR:
      us_responses_encoder_fail (enc, ev->error_type, ev->text, out);
      break;
    default:
      break;
    }
}

void
us_responses_encoder_finish (gpointer data,
                             GString *out)
{
  Encoder *enc = data;

  if (enc->done)
    return;
  ensure_started (enc, NULL, out);
  write_completed (enc, out);
}
