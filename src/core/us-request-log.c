/* us-request-log.c: a bounded, newest-first list of UsRequestEntry. */
#include "us-request-log.h"

struct _UsRequestLog
{
  GObject parent_instance;

  GPtrArray *entries;  /* newest first */
  guint capacity;
  guint64 next_id;
};

static void list_model_iface_init (GListModelInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (UsRequestLog, us_request_log, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_LIST_MODEL, list_model_iface_init))

enum { ENTRY_CHANGED, N_SIGNALS };
static guint signals[N_SIGNALS];

static GType
us_request_log_get_item_type (GListModel *model)
{
  return US_TYPE_REQUEST_ENTRY;
}

static guint
us_request_log_get_n_items (GListModel *model)
{
  return US_REQUEST_LOG (model)->entries->len;
}

static gpointer
us_request_log_get_item (GListModel *model,
                         guint       position)
{
  UsRequestLog *self = US_REQUEST_LOG (model);

  if (position >= self->entries->len)
    return NULL;
  return g_object_ref (g_ptr_array_index (self->entries, position));
}

static void
list_model_iface_init (GListModelInterface *iface)
{
  iface->get_item_type = us_request_log_get_item_type;
  iface->get_n_items = us_request_log_get_n_items;
  iface->get_item = us_request_log_get_item;
}

static void
us_request_log_finalize (GObject *object)
{
  UsRequestLog *self = US_REQUEST_LOG (object);

  g_ptr_array_unref (self->entries);
  G_OBJECT_CLASS (us_request_log_parent_class)->finalize (object);
}

static void
us_request_log_class_init (UsRequestLogClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = us_request_log_finalize;

  /* One signal for every change of any entry, so the status event stream,
   * tray and notifications need not track entries themselves. */
  signals[ENTRY_CHANGED] = g_signal_new ("entry-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                         0, NULL, NULL, NULL, G_TYPE_NONE, 1, US_TYPE_REQUEST_ENTRY);
}

static void
us_request_log_init (UsRequestLog *self)
{
  self->entries = g_ptr_array_new_with_free_func (g_object_unref);
  self->next_id = 1;
}

UsRequestLog *
us_request_log_new (guint capacity)
{
  UsRequestLog *self = g_object_new (US_TYPE_REQUEST_LOG, NULL);

  self->capacity = MAX (capacity, 1);
  return self;
}

static void
on_entry_changed (UsRequestEntry *entry,
                  UsRequestLog   *self)
{
  g_signal_emit (self, signals[ENTRY_CHANGED], 0, entry);
}

UsRequestEntry *
us_request_log_add (UsRequestLog *self,
                    const char   *client,
                    const char   *session,
                    const char   *endpoint,
                    const char   *requested_model)
{
  UsRequestEntry *entry = us_request_entry_new (self->next_id++, client, session, endpoint, requested_model);

  g_signal_connect_object (entry, "changed", G_CALLBACK (on_entry_changed), self, 0);
  g_ptr_array_insert (self->entries, 0, entry);
  g_list_model_items_changed (G_LIST_MODEL (self), 0, 0, 1);
  if (self->entries->len > self->capacity)
    {
      UsRequestEntry *oldest = g_ptr_array_index (self->entries, self->entries->len - 1);

      /* It may live on in a view; it no longer speaks for this log. */
      g_signal_handlers_disconnect_by_func (oldest, on_entry_changed, self);
      g_ptr_array_remove_index (self->entries, self->entries->len - 1);
      g_list_model_items_changed (G_LIST_MODEL (self), self->entries->len, 1, 0);
    }
  g_signal_emit (self, signals[ENTRY_CHANGED], 0, entry);
  return entry;
}

JsonNode *
us_request_log_to_json (UsRequestLog *self,
                        guint         max)
{
  JsonArray *array = json_array_new ();
  JsonNode *node = json_node_new (JSON_NODE_ARRAY);

  for (guint i = 0; i < self->entries->len && i < max; i++)
    json_array_add_element (array, us_request_entry_to_json (g_ptr_array_index (self->entries, i)));
  json_node_take_array (node, array);
  return node;
}
