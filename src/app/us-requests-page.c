/* us-requests-page.c: the request log in a GtkColumnView, live.
 *
 * The view is bound to a copy of the log (a GListStore), not to the log
 * itself: log insertions and entry changes only mark the page dirty, and a
 * short timeout applies them in one go. A burst of requests then costs one
 * view update per batch instead of one per request and per attempt.
 *
 * GTK 4.8 keeps up to 200 rows around the scroll position bound, and a burst
 * that lands at the top replaced every one of them, with new cell widgets:
 * 1600 cells a batch at 200 requests a second. The copy holds only the
 * newest SHOWN_MAX entries, the view's rows are slots (UsRequestSlot) that
 * stay put while requests move through them, and a cell sets only the text
 * and style that differ, so an update relays out only what changed.
 */
#include <glib/gi18n.h>

#include "us-request-slot.h"
#include "us-requests-page.h"
#include "us-spend-bar.h"

#define BATCH_MS 1000
#define SHOWN_MAX 50

typedef enum {
  COLUMN_TIME,
  COLUMN_CLIENT,
  COLUMN_REQUESTED,
  COLUMN_SERVED,
  COLUMN_ATTEMPTS,
  COLUMN_STATUS,
  COLUMN_TTFT,
  COLUMN_TOKENS,
  COLUMN_COST,
  N_COLUMNS
} Column;

struct _UsRequestsPage
{
  AdwBin parent_instance;

  GtkStack *stack;
  GtkColumnView *view;
  GtkColumnViewColumn *columns[N_COLUMNS];
  UsSpendBar *spend_bar;

  UsRequestLog *log;
  GListStore *shown;        /* UsRequestEntry*, what the view shows */
  GListStore *slots;        /* UsRequestSlot*, one per shown entry */
  GHashTable *changed;      /* UsRequestEntry* changed since the last batch */
  GHashTable *bound;        /* GtkListItem* currently showing an entry */
  gboolean log_dirty;
  gboolean stale;           /* changes came while hidden: redraw all on map */
  guint batch_id;
  guint serial;             /* of the batch being applied */
};

G_DEFINE_FINAL_TYPE (UsRequestsPage, us_requests_page, ADW_TYPE_BIN)

enum { PROP_0, PROP_LOG, PROP_SPEND, N_PROPS };
static GParamSpec *properties[N_PROPS];

/* ---- Cells ------------------------------------------------------------- */

static char *
format_attempts (UsRequestEntry *entry)
{
  GString *text = g_string_new (NULL);

  for (guint i = 0; i < us_request_entry_get_n_attempts (entry); i++)
    {
      const UsAttempt *a = us_request_entry_get_attempt (entry, i);

      if (i > 0)
        g_string_append_c (text, '\n');
      g_string_append_printf (text, "%u. %s/%s", i + 1, a->provider, a->model);
      /* Translators: which key of a provider's key pool, by its number. */
      if (a->key > 0)
        g_string_append_printf (text, _(" (key %u)"), a->key);
      g_string_append (text, " — ");
      if (a->status != 0)
        g_string_append_printf (text, "%u ", a->status);
      g_string_append (text, a->reason ? a->reason : _("served"));
      if (a->latency_ms > 0)
        g_string_append_printf (text, _(" (%lld ms)"), (long long) a->latency_ms);
    }
  return g_string_free (text, FALSE);
}

/* Each change of class restyles the cell: only touch what differs. */
static void
set_style (GtkWidget  *widget,
           const char *style)
{
  static const char * const styles[] = { "error", "warning", "dim-label" };

  for (guint i = 0; i < G_N_ELEMENTS (styles); i++)
    if (g_strcmp0 (style, styles[i]) != 0 && gtk_widget_has_css_class (widget, styles[i]))
      gtk_widget_remove_css_class (widget, styles[i]);
  if (style != NULL && !gtk_widget_has_css_class (widget, style))
    gtk_widget_add_css_class (widget, style);
}

static void
refresh_cell (GtkListItem *item)
{
  Column column = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (item), "us-column"));
  UsRequestEntry *entry = us_request_slot_get_entry (gtk_list_item_get_item (item));
  GtkWidget *child = gtk_list_item_get_child (item);
  UsRequestState state = us_request_entry_get_state (entry);
  g_autofree char *text = NULL;
  const char *style = NULL;

  /* What the cell shows now, to tell when its slot moves to another entry. */
  g_object_set_data_full (G_OBJECT (item), "us-entry", g_object_ref (entry), g_object_unref);
  switch (column)
    {
    case COLUMN_TIME:
      {
        g_autoptr(GDateTime) local = g_date_time_to_local (us_request_entry_get_started (entry));
        text = g_date_time_format (local, "%H:%M:%S");
      }
      break;
    case COLUMN_CLIENT:
      text = g_strdup (us_request_entry_get_client (entry));
      break;
    case COLUMN_REQUESTED:
      text = g_strdup (us_request_entry_get_requested_model (entry));
      break;
    case COLUMN_SERVED:
      if (us_request_entry_get_served_model (entry) != NULL)
        text = g_strdup_printf ("%s/%s", us_request_entry_get_served_provider (entry),
                                us_request_entry_get_served_model (entry));
      else
        {
          /* Translators: served by no model. */
          text = g_strdup (state == US_REQUEST_FAILED ? _("none") : "…");
          style = "dim-label";
        }
      break;
    case COLUMN_ATTEMPTS:
      {
        guint n = us_request_entry_get_n_attempts (entry);
        GtkPopover *popover = gtk_menu_button_get_popover (GTK_MENU_BUTTON (child));
        g_autofree char *name = g_strdup_printf (ngettext ("%u attempt", "%u attempts", n), n);

        /* The details exist only once someone opened them. */
        if (popover != NULL)
          {
            g_autofree char *details = format_attempts (entry);

            gtk_label_set_label (GTK_LABEL (gtk_popover_get_child (popover)), n ? details : _("No attempt yet"));
          }
        /* Setting a menu button's label replaces its child: only on a change. */
        if (g_strcmp0 (gtk_menu_button_get_label (GTK_MENU_BUTTON (child)), name) != 0)
          {
            gtk_menu_button_set_label (GTK_MENU_BUTTON (child), name);
            gtk_accessible_update_property (GTK_ACCESSIBLE (child), GTK_ACCESSIBLE_PROPERTY_LABEL, name, -1);
          }
        set_style (child, n > 1 ? "warning" : NULL);
      }
      return;
    case COLUMN_STATUS:
      switch (state)
        {
        case US_REQUEST_PENDING:
          /* Translators: a request's status while it waits for a model. */
          text = g_strdup (_("trying"));
          style = "dim-label";
          break;
        case US_REQUEST_STREAMING:
          text = g_strdup (_("streaming"));
          break;
        case US_REQUEST_DONE:
          text = g_strdup_printf ("%u", us_request_entry_get_status (entry));
          break;
        case US_REQUEST_FAILED:
          text = us_request_entry_get_error (entry)
                   ? g_strdup_printf ("%u %s", us_request_entry_get_status (entry), us_request_entry_get_error (entry))
                   : g_strdup_printf ("%u", us_request_entry_get_status (entry));
          style = "error";
          break;
        default:
          g_assert_not_reached ();
        }
      break;
    case COLUMN_TTFT:
      if (us_request_entry_get_first_byte_ms (entry) >= 0)
        text = g_strdup_printf (_("%lld ms"), (long long) us_request_entry_get_first_byte_ms (entry));
      else
        {
          text = g_strdup ("—");
          style = "dim-label";
        }
      break;
    case COLUMN_TOKENS:
      if (us_request_entry_get_input_tokens (entry) || us_request_entry_get_output_tokens (entry))
        /* Translators: input and output tokens of a request. */
        text = g_strdup_printf (_("%lld in · %lld out"), (long long) us_request_entry_get_input_tokens (entry),
                                (long long) us_request_entry_get_output_tokens (entry));
      else
        {
          text = g_strdup ("—");
          style = "dim-label";
        }
      break;
    case COLUMN_COST:
      /* Negative: no price known for the model. */
      if (us_request_entry_get_cost (entry) > 0 && us_request_entry_get_cost (entry) < 0.00005)
        /* Would show as $0.0000, which reads as free. */
        text = g_strdup ("< $0.0001");
      else if (us_request_entry_get_cost (entry) >= 0)
        text = g_strdup_printf ("$%.4f", us_request_entry_get_cost (entry));
      else
        {
          text = g_strdup ("—");
          style = "dim-label";
        }
      break;
    default:
      g_assert_not_reached ();
    }

  /* Setting a label, even to the same text, re-measures the whole column. */
  if (g_strcmp0 (gtk_label_get_label (GTK_LABEL (child)), text) != 0)
    gtk_label_set_label (GTK_LABEL (child), text);
  set_style (child, style);
}

static void
create_attempts_popover (GtkMenuButton *button,
                         gpointer       data)
{
  GtkListItem *item = data;
  UsRequestSlot *slot = gtk_list_item_get_item (item);
  UsRequestEntry *entry = slot ? us_request_slot_get_entry (slot) : NULL;
  GtkWidget *popover = gtk_popover_new ();
  GtkWidget *details = gtk_label_new (NULL);
  g_autofree char *text = entry ? format_attempts (entry) : NULL;

  gtk_label_set_xalign (GTK_LABEL (details), 0);
  gtk_label_set_selectable (GTK_LABEL (details), TRUE);
  gtk_label_set_label (GTK_LABEL (details), text && *text ? text : _("No attempt yet"));
  gtk_popover_set_child (GTK_POPOVER (popover), details);
  gtk_menu_button_set_popover (button, popover);
}

static void
on_setup (GtkSignalListItemFactory *factory,
          GtkListItem              *item,
          gpointer                  data)
{
  Column column = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (factory), "us-column"));
  GtkWidget *child;

  g_object_set_data (G_OBJECT (item), "us-column", GINT_TO_POINTER (column));
  if (column == COLUMN_ATTEMPTS)
    {
      /* Rows come and go as requests stream in: the popover is made on
       * first use rather than for every row. */
      child = gtk_menu_button_new ();
      gtk_menu_button_set_create_popup_func (GTK_MENU_BUTTON (child), create_attempts_popover, item, NULL);
      gtk_widget_set_halign (child, GTK_ALIGN_START);
      gtk_widget_add_css_class (child, "flat");
      /* No tooltip: setting one per recycled cell costs an X round trip. */
      gtk_accessible_update_property (GTK_ACCESSIBLE (child), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION,
                                      _("Each model tried, and why it did not serve"), -1);
    }
  else
    {
      child = gtk_label_new (NULL);
      gtk_label_set_xalign (GTK_LABEL (child), 0);
      gtk_label_set_ellipsize (GTK_LABEL (child), PANGO_ELLIPSIZE_END);
      if (column == COLUMN_TIME || column == COLUMN_TTFT || column == COLUMN_TOKENS)
        gtk_widget_add_css_class (child, "numeric");
    }
  gtk_list_item_set_child (item, child);
}

static void
on_bind (GtkSignalListItemFactory *factory,
         GtkListItem              *item,
         UsRequestsPage           *self)
{
  g_hash_table_add (self->bound, item);
  /* Fresh for this batch: the loop over changed entries can skip it. */
  g_object_set_data (G_OBJECT (item), "us-serial", GUINT_TO_POINTER (self->serial));
  refresh_cell (item);
}

static void
on_unbind (GtkSignalListItemFactory *factory,
           GtkListItem              *item,
           UsRequestsPage           *self)
{
  g_hash_table_remove (self->bound, item);
  g_object_set_data (G_OBJECT (item), "us-entry", NULL);
}

/* ---- Batching ---------------------------------------------------------- */

/* Brings the shown copy level with the newest SHOWN_MAX entries of the
 * log: the log only ever gains entries at the front and drops them at the
 * back. */
static void
sync_shown (UsRequestsPage *self)
{
  GListModel *log = G_LIST_MODEL (self->log);
  guint n_log = MIN (g_list_model_get_n_items (log), SHOWN_MAX);
  guint n_shown = g_list_model_get_n_items (G_LIST_MODEL (self->shown));
  g_autoptr(GObject) first = n_shown ? g_list_model_get_item (G_LIST_MODEL (self->shown), 0) : NULL;
  g_autoptr(GPtrArray) fresh = g_ptr_array_new_with_free_func (g_object_unref);
  guint n_new;

  for (n_new = 0; n_new < n_log; n_new++)
    {
      GObject *item = g_list_model_get_item (log, n_new);

      if (item == first)
        {
          g_object_unref (item);
          break;
        }
      g_ptr_array_add (fresh, item);
    }

  if (n_new == n_log)
    g_list_store_splice (self->shown, 0, n_shown, fresh->pdata, fresh->len);
  else
    {
      g_list_store_splice (self->shown, 0, 0, fresh->pdata, fresh->len);
      n_shown += n_new;
      if (n_shown > n_log)
        g_list_store_splice (self->shown, n_log, n_shown - n_log, NULL, 0);
    }

  gtk_stack_set_visible_child_name (self->stack, n_log ? "list" : "empty");
}

/* Moves the shown entries through the slots; only the count of slots
 * changes the view's model. */
static void
sync_slots (UsRequestsPage *self)
{
  GListModel *shown = G_LIST_MODEL (self->shown);
  GListModel *slots = G_LIST_MODEL (self->slots);
  guint n_shown = g_list_model_get_n_items (shown);
  guint n_slots = g_list_model_get_n_items (slots);
  guint i;

  for (i = 0; i < n_shown; i++)
    {
      g_autoptr(UsRequestEntry) entry = g_list_model_get_item (shown, i);

      if (i < n_slots)
        {
          g_autoptr(UsRequestSlot) slot = g_list_model_get_item (slots, i);

          us_request_slot_set_entry (slot, entry);
        }
      else
        {
          g_autoptr(UsRequestSlot) slot = us_request_slot_new (entry);

          g_list_store_append (self->slots, slot);
        }
    }
  if (n_slots > n_shown)
    g_list_store_splice (self->slots, n_shown, n_slots - n_shown, NULL, 0);
}

void
us_requests_page_flush (UsRequestsPage *self)
{
  GHashTableIter iter;
  gpointer item;

  g_return_if_fail (US_IS_REQUESTS_PAGE (self));

  g_clear_handle_id (&self->batch_id, g_source_remove);
  self->serial++;
  if (self->log_dirty)
    {
      sync_shown (self);
      sync_slots (self);
    }
  self->log_dirty = FALSE;

  g_hash_table_iter_init (&iter, self->bound);
  while (g_hash_table_iter_next (&iter, &item, NULL))
    {
      UsRequestEntry *entry = us_request_slot_get_entry (gtk_list_item_get_item (item));

      if (GPOINTER_TO_UINT (g_object_get_data (item, "us-serial")) == self->serial)
        continue;
      if (self->stale || g_object_get_data (item, "us-entry") != entry
          || g_hash_table_contains (self->changed, entry))
        refresh_cell (item);
    }
  g_hash_table_remove_all (self->changed);
  self->stale = FALSE;
  us_spend_bar_refresh (self->spend_bar);
}

static gboolean
on_batch_timeout (gpointer data)
{
  UsRequestsPage *self = data;

  self->batch_id = 0;
  us_requests_page_flush (self);
  return G_SOURCE_REMOVE;
}

static void
schedule_batch (UsRequestsPage *self)
{
  /* A hidden page does nothing per request; it catches up when shown. */
  if (!gtk_widget_get_mapped (GTK_WIDGET (self)))
    return;
  if (self->batch_id == 0)
    self->batch_id = g_timeout_add (BATCH_MS, on_batch_timeout, self);
}

static void
on_log_items_changed (GListModel     *log,
                      guint           position,
                      guint           removed,
                      guint           added,
                      UsRequestsPage *self)
{
  self->log_dirty = TRUE;
  schedule_batch (self);
}

static void
on_entry_changed (UsRequestLog   *log,
                  UsRequestEntry *entry,
                  UsRequestsPage *self)
{
  if (!gtk_widget_get_mapped (GTK_WIDGET (self)))
    {
      self->stale = TRUE;
      return;
    }
  g_hash_table_add (self->changed, g_object_ref (entry));
  schedule_batch (self);
}

/* ---- GObject ----------------------------------------------------------- */

static void
us_requests_page_map (GtkWidget *widget)
{
  GTK_WIDGET_CLASS (us_requests_page_parent_class)->map (widget);
  us_requests_page_flush (US_REQUESTS_PAGE (widget));
}

static void
us_requests_page_constructed (GObject *object)
{
  UsRequestsPage *self = US_REQUESTS_PAGE (object);
  g_autoptr(GtkNoSelection) selection = NULL;

  G_OBJECT_CLASS (us_requests_page_parent_class)->constructed (object);
  g_return_if_fail (self->log != NULL);

  for (Column c = 0; c < N_COLUMNS; c++)
    {
      g_autoptr(GtkListItemFactory) factory = gtk_signal_list_item_factory_new ();

      g_object_set_data (G_OBJECT (factory), "us-column", GINT_TO_POINTER (c));
      g_signal_connect (factory, "setup", G_CALLBACK (on_setup), self);
      g_signal_connect (factory, "bind", G_CALLBACK (on_bind), self);
      g_signal_connect (factory, "unbind", G_CALLBACK (on_unbind), self);
      gtk_column_view_column_set_factory (self->columns[c], factory);
    }

  selection = gtk_no_selection_new (G_LIST_MODEL (g_object_ref (self->slots)));
  gtk_column_view_set_model (self->view, GTK_SELECTION_MODEL (selection));

  g_signal_connect_object (self->log, "items-changed", G_CALLBACK (on_log_items_changed), self, 0);
  g_signal_connect_object (self->log, "entry-changed", G_CALLBACK (on_entry_changed), self, 0);
  self->log_dirty = TRUE;
  us_requests_page_flush (self);
}

static void
us_requests_page_dispose (GObject *object)
{
  UsRequestsPage *self = US_REQUESTS_PAGE (object);

  g_clear_handle_id (&self->batch_id, g_source_remove);
  g_clear_object (&self->log);
  g_clear_object (&self->shown);
  g_clear_object (&self->slots);
  g_clear_pointer (&self->changed, g_hash_table_unref);
  g_clear_pointer (&self->bound, g_hash_table_unref);
  G_OBJECT_CLASS (us_requests_page_parent_class)->dispose (object);
}

static void
us_requests_page_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  switch (prop_id)
    {
    case PROP_LOG:
      g_value_set_object (value, US_REQUESTS_PAGE (object)->log);
      break;
    case PROP_SPEND:
      g_object_get_property (G_OBJECT (US_REQUESTS_PAGE (object)->spend_bar), "spend", value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
us_requests_page_set_property (GObject      *object,
                               guint         prop_id,
                               const GValue *value,
                               GParamSpec   *pspec)
{
  switch (prop_id)
    {
    case PROP_LOG:
      US_REQUESTS_PAGE (object)->log = g_value_dup_object (value);
      break;
    case PROP_SPEND:
      us_spend_bar_set_spend (US_REQUESTS_PAGE (object)->spend_bar, g_value_get_object (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
us_requests_page_class_init (UsRequestsPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = us_requests_page_constructed;
  object_class->dispose = us_requests_page_dispose;
  object_class->get_property = us_requests_page_get_property;
  object_class->set_property = us_requests_page_set_property;
  widget_class->map = us_requests_page_map;

  properties[PROP_LOG] =
    g_param_spec_object ("log", NULL, NULL, US_TYPE_REQUEST_LOG,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  /* Where today's spend comes from (NULL: no spend line). */
  properties[PROP_SPEND] =
    g_param_spec_object ("spend", NULL, NULL, US_TYPE_SPEND,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  g_type_ensure (US_TYPE_SPEND_BAR);
  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/understudy/Understudy/us-requests-page.ui");
  gtk_widget_class_bind_template_child (widget_class, UsRequestsPage, spend_bar);
  gtk_widget_class_bind_template_child (widget_class, UsRequestsPage, stack);
  gtk_widget_class_bind_template_child (widget_class, UsRequestsPage, view);
  gtk_widget_class_bind_template_child_full (widget_class, "time_column", FALSE,
                                             G_STRUCT_OFFSET (UsRequestsPage, columns[COLUMN_TIME]));
  gtk_widget_class_bind_template_child_full (widget_class, "client_column", FALSE,
                                             G_STRUCT_OFFSET (UsRequestsPage, columns[COLUMN_CLIENT]));
  gtk_widget_class_bind_template_child_full (widget_class, "requested_column", FALSE,
                                             G_STRUCT_OFFSET (UsRequestsPage, columns[COLUMN_REQUESTED]));
  gtk_widget_class_bind_template_child_full (widget_class, "served_column", FALSE,
                                             G_STRUCT_OFFSET (UsRequestsPage, columns[COLUMN_SERVED]));
  gtk_widget_class_bind_template_child_full (widget_class, "attempts_column", FALSE,
                                             G_STRUCT_OFFSET (UsRequestsPage, columns[COLUMN_ATTEMPTS]));
  gtk_widget_class_bind_template_child_full (widget_class, "status_column", FALSE,
                                             G_STRUCT_OFFSET (UsRequestsPage, columns[COLUMN_STATUS]));
  gtk_widget_class_bind_template_child_full (widget_class, "ttft_column", FALSE,
                                             G_STRUCT_OFFSET (UsRequestsPage, columns[COLUMN_TTFT]));
  gtk_widget_class_bind_template_child_full (widget_class, "tokens_column", FALSE,
                                             G_STRUCT_OFFSET (UsRequestsPage, columns[COLUMN_TOKENS]));
  gtk_widget_class_bind_template_child_full (widget_class, "cost_column", FALSE,
                                             G_STRUCT_OFFSET (UsRequestsPage, columns[COLUMN_COST]));
}

static void
us_requests_page_init (UsRequestsPage *self)
{
  self->shown = g_list_store_new (US_TYPE_REQUEST_ENTRY);
  self->slots = g_list_store_new (US_TYPE_REQUEST_SLOT);
  self->changed = g_hash_table_new_full (NULL, NULL, g_object_unref, NULL);
  self->bound = g_hash_table_new (NULL, NULL);
  gtk_widget_init_template (GTK_WIDGET (self));
}

UsRequestLog *
us_requests_page_get_log (UsRequestsPage *self)
{
  g_return_val_if_fail (US_IS_REQUESTS_PAGE (self), NULL);
  return self->log;
}

GListModel *
us_requests_page_get_shown (UsRequestsPage *self)
{
  g_return_val_if_fail (US_IS_REQUESTS_PAGE (self), NULL);
  return G_LIST_MODEL (self->shown);
}
