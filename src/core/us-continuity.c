/* us-continuity.c: keeping one conversation valid across providers. */
#include "us-continuity.h"

#include <string.h>
#include "us-format-openai-responses.h"

/* ---- What a response produced ------------------------------------------ */

struct _UsProduced {
  GPtrArray  *natives;          /* char*: what the provider made, as it reads it */
  GHashTable *signatures;       /* block index → GString, signature deltas so far */
};

static void
string_free (gpointer data)
{
  g_string_free (data, TRUE);
}

UsProduced *
us_produced_new (void)
{
  UsProduced *self = g_new0 (UsProduced, 1);

  self->natives = g_ptr_array_new_with_free_func (g_free);
  self->signatures = g_hash_table_new_full (NULL, NULL, NULL, string_free);
  return self;
}

void
us_produced_free (UsProduced *self)
{
  if (self == NULL)
    return;
  g_ptr_array_unref (self->natives);
  g_hash_table_unref (self->signatures);
  g_free (self);
}

/* Responses signatures are "<item id>:<encrypted_content>" in the IR; the
 * provider knows its content by the encrypted part alone. */
static char *
native_of (const char   *signature,
           UsWireFormat  signed_by)
{
  g_autofree char *item_id = NULL;

  if (signature == NULL || *signature == '\0')
    return NULL;
  if (signed_by == US_WIRE_OPENAI_RESPONSES)
    return g_strdup (us_responses_unpack_signature (signature, &item_id));
  return g_strdup (signature);
}

static void
add_native (UsProduced *self,
            char       *native /* owned */)
{
  if (native != NULL && *native != '\0')
    g_ptr_array_add (self->natives, native);
  else
    g_free (native);
}

static void
end_signature (UsProduced      *self,
               const UsIrEvent *ev)
{
  GString *sig = g_hash_table_lookup (self->signatures, GUINT_TO_POINTER (ev->index));

  if (sig == NULL)
    return;
  add_native (self, native_of (sig->str, ev->signed_by != US_WIRE_NONE ? ev->signed_by
                                         : g_str_has_prefix (sig->str, "rs_") ? US_WIRE_OPENAI_RESPONSES
                                         : US_WIRE_ANTHROPIC));
  g_hash_table_remove (self->signatures, GUINT_TO_POINTER (ev->index));
}

void
us_produced_observe (const UsIrEvent *ev,
                     gpointer         data)
{
  UsProduced *self = data;
  GString *sig;

  switch (ev->kind)
    {
    case US_IR_EV_BLOCK_START:
      if (ev->block == US_IR_PART_TOOL_CALL)
        add_native (self, g_strdup (ev->tool_id));
      else if (ev->block == US_IR_PART_REDACTED_THINKING && ev->text != NULL)
        add_native (self, g_strndup (ev->text, ev->text_len));
      else if (ev->block == US_IR_PART_THINKING && ev->signature != NULL && *ev->signature != '\0')
        g_hash_table_insert (self->signatures, GUINT_TO_POINTER (ev->index), g_string_new (ev->signature));
      break;
    case US_IR_EV_BLOCK_DELTA:
      if (ev->delta != US_IR_DELTA_SIGNATURE || ev->text == NULL)
        break;
      sig = g_hash_table_lookup (self->signatures, GUINT_TO_POINTER (ev->index));
      if (sig == NULL)
        g_hash_table_insert (self->signatures, GUINT_TO_POINTER (ev->index),
                             g_string_new_len (ev->text, (gssize) ev->text_len));
      else
        /* Deltas add up (a signature may in principle come in pieces). */
        g_string_append_len (sig, ev->text, (gssize) ev->text_len);
      if (ev->signed_by == US_WIRE_OPENAI_RESPONSES)
        end_signature (self, ev);
      break;
    case US_IR_EV_BLOCK_STOP:
      end_signature (self, ev);
      break;
    case US_IR_EV_MESSAGE_START:
    case US_IR_EV_MESSAGE_DELTA:
    case US_IR_EV_MESSAGE_STOP:
    case US_IR_EV_ERROR:
    default:
      break;
    }
}

void
us_produced_scan (UsProduced   *self,
                  UsWireFormat  fmt,
                  GBytes       *body)
{
  g_autoptr(UsIrResponse) resp = us_ir_response_decode (fmt, body, NULL);

  for (guint i = 0; resp != NULL && i < resp->parts->len; i++)
    {
      UsIrPart *part = g_ptr_array_index (resp->parts, i);

      if (part->kind == US_IR_PART_TOOL_CALL)
        add_native (self, g_strdup (part->tool_id));
      else if (part->kind == US_IR_PART_REDACTED_THINKING)
        add_native (self, g_strdup (part->data));
      else if (part->kind == US_IR_PART_THINKING)
        add_native (self, native_of (part->signature, part->signed_by));
    }
}

void
us_produced_commit (UsProduced   *self,
                    UsProvenance *provenance,
                    const char   *provider,
                    const char   *model,
                    const char   *credential)
{
  for (guint i = 0; i < self->natives->len; i++)
    us_provenance_record (provenance, g_ptr_array_index (self->natives, i), provider, model, credential);
  g_ptr_array_set_size (self->natives, 0);
}

guint
us_produced_get_size (UsProduced *self)
{
  return self->natives->len;
}

/* ---- Credentials ------------------------------------------------------- */

char *
us_continuity_credential (const UsProviderConfig *provider,
                          SoupMessageHeaders     *client_headers)
{
  const char *secret = NULL;
  const char *mode;
  g_autofree char *sha = NULL;

  switch (provider->auth)
    {
    case US_AUTH_KEY:
      mode = "key";
      secret = provider->key_env ? g_getenv (provider->key_env) : NULL;
      break;
    case US_AUTH_PASSTHROUGH:
      mode = "passthrough";
      secret = soup_message_headers_get_one (client_headers, "x-api-key");
      if (secret == NULL)
        secret = soup_message_headers_get_one (client_headers, "authorization");
      if (secret == NULL)
        secret = soup_message_headers_get_one (client_headers, "api-key");
      break;
    case US_AUTH_GOOGLE:
      /* The credentials file stands for the identity; tokens come and go. */
      mode = "google";
      secret = provider->credentials_file ? provider->credentials_file : "discovered";
      break;
    case US_AUTH_NONE:
    default:
      return g_strdup ("none");
    }
  if (secret == NULL)
    return g_strdup (mode);
  sha = g_compute_checksum_for_string (G_CHECKSUM_SHA256, secret, -1);
  return g_strdup_printf ("%s:%.8s", mode, sha);
}

/* ---- Stripping foreign content ----------------------------------------- */

static JsonNode *
deep_copy (JsonNode *node)
{
  JsonObjectIter iter;
  const char *name;
  JsonNode *member;

  if (JSON_NODE_HOLDS_OBJECT (node))
    {
      JsonObject *copy = json_object_new ();

      json_object_iter_init (&iter, json_node_get_object (node));
      while (json_object_iter_next (&iter, &name, &member))
        json_object_set_member (copy, name, deep_copy (member));
      return us_json_node_take_object (copy);
    }
  if (JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *array = json_node_get_array (node);
      JsonArray *copy = json_array_sized_new (json_array_get_length (array));

      for (guint i = 0; i < json_array_get_length (array); i++)
        json_array_add_element (copy, deep_copy (json_array_get_element (array, i)));
      return us_json_node_take_array (copy);
    }
  return json_node_copy (node);
}

JsonObject *
us_continuity_copy_body (JsonObject *body)
{
  g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), body);
  g_autoptr(JsonNode) copy = deep_copy (node);

  return json_object_ref (json_node_get_object (copy));
}

/* Whether @own->target produced the content the provider knows as @native.
 * Matching goes by provider: a subscription token rotates every few hours,
 * and the blocks it made stay valid for the same account. */
static gboolean
is_own (const UsOwnership *own,
        const char        *native)
{
  const char *producer = us_provenance_lookup (own->provenance, native, NULL, NULL);

  return g_strcmp0 (producer != NULL ? producer : own->primary, own->target) == 0;
}

/* The provider's own text of a signature as a client of @client_fmt sends
 * it back (foreign ones travel wrapped "us1:<format>:…"). */
static char *
client_native (const char   *signature,
               UsWireFormat  client_fmt)
{
  const char *native = NULL;
  UsWireFormat by = us_ir_signature_unwrap (signature, client_fmt, &native);

  return native_of (native, by);
}

static gboolean
keep_block (JsonObject        *block,
            UsWireFormat       client_fmt,
            const UsOwnership *own)
{
  const char *type = json_object_get_string_member_with_default (block, "type", "");
  g_autofree char *native = NULL;

  if (client_fmt == US_WIRE_ANTHROPIC && g_str_equal (type, "thinking"))
    native = client_native (json_object_get_string_member_with_default (block, "signature", NULL), client_fmt);
  else if (client_fmt == US_WIRE_ANTHROPIC && g_str_equal (type, "redacted_thinking"))
    native = g_strdup (json_object_get_string_member_with_default (block, "data", NULL));
  else if (client_fmt == US_WIRE_OPENAI_RESPONSES && g_str_equal (type, "reasoning"))
    native = client_native (json_object_get_string_member_with_default (block, "encrypted_content", NULL),
                            client_fmt);
  /* Unsigned content (no signature, Chat reasoning) is not anyone's. */
  return native == NULL || is_own (own, native);
}

static guint
strip_array (JsonArray         *array,
             UsWireFormat       client_fmt,
             const UsOwnership *own,
             gboolean           dry_run,
             guint             *kept)
{
  guint removed = 0;

  for (guint i = json_array_get_length (array); i > 0; i--)
    {
      JsonNode *node = json_array_get_element (array, i - 1);
      JsonObject *block = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      const char *type = block ? json_object_get_string_member_with_default (block, "type", "") : "";

      if (!g_str_equal (type, "thinking") && !g_str_equal (type, "redacted_thinking")
          && !g_str_equal (type, "reasoning"))
        continue;
      if (keep_block (block, client_fmt, own))
        {
          (*kept)++;
          continue;
        }
      removed++;
      if (!dry_run)
        json_array_remove_element (array, i - 1);
    }
  return removed;
}

guint
us_continuity_strip (JsonObject        *body,
                     UsWireFormat       client_fmt,
                     const UsOwnership *own,
                     gboolean           dry_run,
                     guint             *kept)
{
  guint removed = 0;
  guint scratch = 0;
  JsonNode *list;

  if (kept == NULL)
    kept = &scratch;
  *kept = 0;
  if (client_fmt == US_WIRE_OPENAI_RESPONSES)
    {
      list = json_object_get_member (body, "input");
      return list != NULL && JSON_NODE_HOLDS_ARRAY (list)
             ? strip_array (json_node_get_array (list), client_fmt, own, dry_run, kept) : 0;
    }
  if (client_fmt != US_WIRE_ANTHROPIC)
    return 0;

  list = json_object_get_member (body, "messages");
  if (list == NULL || !JSON_NODE_HOLDS_ARRAY (list))
    return 0;
  for (guint i = 0; i < json_array_get_length (json_node_get_array (list)); i++)
    {
      JsonNode *node = json_array_get_element (json_node_get_array (list), i);
      JsonObject *msg = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      JsonNode *content = msg ? json_object_get_member (msg, "content") : NULL;

      guint n;

      if (content == NULL || !JSON_NODE_HOLDS_ARRAY (content)
          || g_strcmp0 (json_object_get_string_member_with_default (msg, "role", NULL), "assistant") != 0)
        continue;
      n = strip_array (json_node_get_array (content), client_fmt, own, dry_run, kept);
      removed += n;
      /* A message that held only foreign thinking goes as a whole: Anthropic
       * refuses an empty one, and takes two user turns in a row. */
      if (n > 0 && !dry_run && json_array_get_length (json_node_get_array (content)) == 0)
        json_array_remove_element (json_node_get_array (list), i--);
    }
  return removed;
}

/* ---- Thinking in tool loops -------------------------------------------- */

static gboolean
has_block (JsonObject *msg,
           const char *type)
{
  JsonNode *content = json_object_get_member (msg, "content");
  JsonArray *blocks;

  if (content == NULL || !JSON_NODE_HOLDS_ARRAY (content))
    return FALSE;
  blocks = json_node_get_array (content);
  for (guint i = 0; i < json_array_get_length (blocks); i++)
    {
      JsonNode *b = json_array_get_element (blocks, i);

      if (JSON_NODE_HOLDS_OBJECT (b)
          && g_strcmp0 (json_object_get_string_member_with_default (json_node_get_object (b), "type", NULL),
                        type) == 0)
        return TRUE;
    }
  return FALSE;
}

static const char *
first_block_type (JsonObject *msg)
{
  JsonNode *content = json_object_get_member (msg, "content");
  JsonNode *first;

  if (content == NULL || !JSON_NODE_HOLDS_ARRAY (content) || json_array_get_length (json_node_get_array (content)) == 0)
    return "text";
  first = json_array_get_element (json_node_get_array (content), 0);
  if (!JSON_NODE_HOLDS_OBJECT (first))
    return "text";
  return json_object_get_string_member_with_default (json_node_get_object (first), "type", "text");
}

/* Whether the tool calls of an assistant message came from another
 * provider than @own->target (unknown ones count as the primary's). */
static gboolean
calls_are_foreign (JsonObject        *msg,
                   const UsOwnership *own)
{
  JsonNode *content = json_object_get_member (msg, "content");
  JsonArray *blocks;

  if (content == NULL || !JSON_NODE_HOLDS_ARRAY (content))
    return FALSE;
  blocks = json_node_get_array (content);
  for (guint i = 0; i < json_array_get_length (blocks); i++)
    {
      JsonNode *b = json_array_get_element (blocks, i);
      JsonObject *block = JSON_NODE_HOLDS_OBJECT (b) ? json_node_get_object (b) : NULL;
      const char *id = block ? json_object_get_string_member_with_default (block, "id", NULL) : NULL;

      if (id != NULL && g_strcmp0 (json_object_get_string_member_with_default (block, "type", NULL), "tool_use") == 0
          && !is_own (own, id))
        return TRUE;
    }
  return FALSE;
}

gboolean
us_continuity_thinking_off (JsonObject        *body,
                            const UsOwnership *own,
                            gboolean           dry_run)
{
  JsonObject *thinking = json_object_has_member (body, "thinking")
                         && JSON_NODE_HOLDS_OBJECT (json_object_get_member (body, "thinking"))
                         ? json_object_get_object_member (body, "thinking") : NULL;
  JsonNode *list = json_object_get_member (body, "messages");
  JsonArray *messages;
  JsonObject *last = NULL;
  const char *first;

  if (thinking == NULL
      || g_strcmp0 (json_object_get_string_member_with_default (thinking, "type", NULL), "disabled") == 0
      || list == NULL || !JSON_NODE_HOLDS_ARRAY (list))
    return FALSE;
  messages = json_node_get_array (list);
  if (json_array_get_length (messages) < 2)
    return FALSE;
  for (guint i = json_array_get_length (messages); i > 0; i--)
    {
      JsonNode *node = json_array_get_element (messages, i - 1);
      JsonObject *msg = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      const char *role = msg ? json_object_get_string_member_with_default (msg, "role", NULL) : NULL;

      if (i == json_array_get_length (messages))
        {
          /* Only a continuation (tool results going back) has the rule. */
          if (g_strcmp0 (role, "user") != 0 || !has_block (msg, "tool_result"))
            return FALSE;
          continue;
        }
      if (g_strcmp0 (role, "assistant") == 0)
        {
          last = msg;
          break;
        }
    }
  if (last == NULL)
    return FALSE;
  first = first_block_type (last);
  if (g_str_equal (first, "thinking") || g_str_equal (first, "redacted_thinking"))
    return FALSE;
  /* The target's own turn without thinking (adaptive thinking may skip
   * it) is left as the client sent it. */
  if (!calls_are_foreign (last, own))
    return FALSE;
  if (!dry_run)
    {
      json_object_remove_member (body, "thinking");
      json_object_remove_member (body, "context_management");
    }
  return TRUE;
}

/* ---- Tool loops -------------------------------------------------------- */

static gboolean
has_part (const UsIrMessage *msg,
          UsIrPartKind       kind)
{
  for (guint i = 0; i < msg->parts->len; i++)
    if (((UsIrPart *) g_ptr_array_index (msg->parts, i))->kind == kind)
      return TRUE;
  return FALSE;
}

static gint
chain_position (const UsChainConfig *chain,
                const char          *provider,
                const char          *model)
{
  gint by_provider = -1;

  for (guint i = 0; i < chain->models->len; i++)
    {
      const UsChainModel *cm = g_ptr_array_index (chain->models, i);

      if (g_strcmp0 (cm->provider, provider) != 0)
        continue;
      if (g_strcmp0 (cm->model, model) == 0)
        return (gint) i;
      if (by_provider < 0)
        by_provider = (gint) i;
    }
  return by_provider;
}

gint
us_continuity_loop_starter (const UsIrRequest   *ir,
                            UsProvenance        *provenance,
                            const UsChainConfig *chain)
{
  GPtrArray *messages = ir->messages;
  const UsIrMessage *last;
  guint start = 0;

  if (messages->len == 0)
    return -1;
  last = g_ptr_array_index (messages, messages->len - 1);
  if (last->role != US_IR_ROLE_USER || !has_part (last, US_IR_PART_TOOL_RESULT))
    return -1;

  /* The turn began with the last user message that carries no tool result. */
  for (guint i = messages->len - 1; i > 0; i--)
    {
      const UsIrMessage *msg = g_ptr_array_index (messages, i - 1);

      if (msg->role == US_IR_ROLE_USER && !has_part (msg, US_IR_PART_TOOL_RESULT))
        {
          start = i;
          break;
        }
    }

  /* The first tool call of the turn whose producer is known started it. */
  for (guint i = start; i < messages->len; i++)
    {
      const UsIrMessage *msg = g_ptr_array_index (messages, i);

      if (msg->role != US_IR_ROLE_ASSISTANT)
        continue;
      for (guint j = 0; j < msg->parts->len; j++)
        {
          const UsIrPart *part = g_ptr_array_index (msg->parts, j);
          const char *model = NULL;
          const char *provider;

          if (part->kind != US_IR_PART_TOOL_CALL)
            continue;
          provider = us_provenance_lookup (provenance, part->tool_id, &model, NULL);
          if (provider != NULL)
            return chain_position (chain, provider, model);
        }
    }
  return -1;
}
