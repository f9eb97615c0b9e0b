/* us-chain-row.c: one model of a chain.
 *
 * Reordering follows gnome-control-center's input source rows: a drag
 * source offering the row itself, a drop target for rows of the same chain
 * with a drop highlight, and row.move-up / row.move-down actions (Alt+Up,
 * Alt+Down and the row menu) so a keyboard or screen reader does the same.
 * The row never edits anything: it emits "move-row" / "remove-row" and the
 * page turns them into config store edits.
 */
#include <glib/gi18n.h>

#include "us-chain-row.h"

struct _UsChainRow
{
  AdwActionRow parent_instance;

  GtkLabel *health_label;
  GtkMenuButton *menu_button;

  char *chain_id;
  guint index;
  guint n_models;
  char *provider;
  char *model;
  UsHealth *health;

  gint64 cooldown_until_us;  /* real time; 0 when no cooldown is shown */
  guint countdown_id;        /* ticks only while mapped and cooling down */

  GtkListBox *drag_list;     /* the drag icon's content */
  double drag_x;
  double drag_y;
};

G_DEFINE_FINAL_TYPE (UsChainRow, us_chain_row, ADW_TYPE_ACTION_ROW)

enum { MOVE_ROW, REMOVE_ROW, N_SIGNALS };
static guint signals[N_SIGNALS];

/* ---- Health ------------------------------------------------------------ */

static void
set_health_style (UsChainRow *self,
                  const char *style)
{
  static const char * const styles[] = { "success", "warning", "error", NULL };

  for (guint i = 0; styles[i]; i++)
    {
      if (g_strcmp0 (style, styles[i]) == 0)
        gtk_widget_add_css_class (GTK_WIDGET (self->health_label), styles[i]);
      else
        gtk_widget_remove_css_class (GTK_WIDGET (self->health_label), styles[i]);
    }
}

static void update_countdown (UsChainRow *self);

static gboolean
on_countdown_tick (gpointer data)
{
  UsChainRow *self = data;

  if (g_get_real_time () >= self->cooldown_until_us)
    {
      /* The cooldown is over: ask the health again, which stops the timer. */
      self->countdown_id = 0;
      us_chain_row_update_health (self);
      return G_SOURCE_REMOVE;
    }
  update_countdown (self);
  return G_SOURCE_CONTINUE;
}

static void
update_countdown (UsChainRow *self)
{
  gint64 left_s = (self->cooldown_until_us - g_get_real_time () + G_USEC_PER_SEC - 1) / G_USEC_PER_SEC;
  g_autofree char *text = NULL;

  if (left_s >= 3600)
    /* Translators: a countdown, hours:minutes:seconds. */
    text = g_strdup_printf (_("Cooling down · %lld:%02d:%02d"), (long long) (left_s / 3600),
                            (int) (left_s / 60 % 60), (int) (left_s % 60));
  else
    /* Translators: a countdown, minutes:seconds. */
    text = g_strdup_printf (_("Cooling down · %d:%02d"), (int) MAX (left_s, 0) / 60, (int) MAX (left_s, 0) % 60);
  gtk_label_set_label (self->health_label, text);
}

/* A timer runs only while a cooldown is shown on a mapped row: an idle
 * window with healthy models never wakes up. */
static void
sync_countdown_timer (UsChainRow *self)
{
  gboolean want = self->cooldown_until_us != 0 && gtk_widget_get_mapped (GTK_WIDGET (self));

  if (want && self->countdown_id == 0)
    {
      update_countdown (self);
      self->countdown_id = g_timeout_add_seconds (1, on_countdown_tick, self);
    }
  else if (!want)
    g_clear_handle_id (&self->countdown_id, g_source_remove);
}

void
us_chain_row_update_health (UsChainRow *self)
{
  g_autoptr(JsonNode) node = NULL;
  JsonObject *health;
  const char *state;
  const char *reason;
  const char *until;
  const char *circuit;
  g_autofree char *description = NULL;

  g_return_if_fail (US_IS_CHAIN_ROW (self));

  self->cooldown_until_us = 0;
  if (self->health == NULL)
    {
      gtk_widget_set_visible (GTK_WIDGET (self->health_label), FALSE);
      sync_countdown_timer (self);
      return;
    }

  node = us_health_to_json (self->health, self->provider, self->model);
  health = json_node_get_object (node);
  state = json_object_get_string_member_with_default (health, "state", "ok");
  reason = json_object_get_string_member_with_default (health, "reason", NULL);
  until = json_object_get_string_member_with_default (health, "cooldown_until", NULL);
  circuit = json_object_get_string_member_with_default (health, "circuit", "closed");

  gtk_widget_set_visible (GTK_WIDGET (self->health_label), TRUE);
  /* An open circuit skips the model whatever else is known of it. */
  if (g_str_equal (circuit, "open"))
    {
      set_health_style (self, "error");
      /* Translators: a model's health: it failed too often and is skipped for a while. */
      gtk_label_set_label (self->health_label, _("Circuit open"));
      description = g_strdup_printf (_("Skipped after repeated failures: %s"), reason ? reason : _("unknown"));
    }
  else if (g_str_equal (circuit, "half-open"))
    {
      set_health_style (self, "warning");
      /* Translators: a model's health: one trial request is testing whether it works again. */
      gtk_label_set_label (self->health_label, _("Half-open"));
      description = g_strdup (_("A trial request is testing whether it works again"));
    }
  else if (g_str_equal (state, "cooldown") && until != NULL)
    {
      g_autoptr(GDateTime) dt = g_date_time_new_from_iso8601 (until, NULL);

      self->cooldown_until_us = dt ? g_date_time_to_unix (dt) * G_USEC_PER_SEC + g_date_time_get_microsecond (dt)
                                  : g_get_real_time ();
      set_health_style (self, "warning");
      update_countdown (self);
      description = reason ? g_strdup_printf (_("Cooling down: %s"), reason) : g_strdup (_("Cooling down"));
    }
  else if (g_str_equal (state, "problem"))
    {
      set_health_style (self, "error");
      gtk_label_set_label (self->health_label, reason ? reason : _("Problem"));
      description = g_strdup_printf (_("Problem: %s"), reason ? reason : _("unknown"));
    }
  else
    {
      set_health_style (self, "success");
      /* Translators: a model's health, shown beside it. */
      gtk_label_set_label (self->health_label, _("OK"));
      description = g_strdup (_("Healthy"));
    }
  /* Health changes with every request served: touch only what differs. */
  if (g_strcmp0 (gtk_widget_get_tooltip_text (GTK_WIDGET (self->health_label)), description) != 0)
    {
      gtk_widget_set_tooltip_text (GTK_WIDGET (self->health_label), description);
      gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION,
                                      description, -1);
    }
  sync_countdown_timer (self);
}

/* ---- Moving ------------------------------------------------------------ */

static UsChainRow *
sibling_row (UsChainRow *self,
             int         offset)
{
  GtkWidget *list = gtk_widget_get_parent (GTK_WIDGET (self));
  GtkListBoxRow *row;
  int index;

  if (!GTK_IS_LIST_BOX (list))
    return NULL;
  index = gtk_list_box_row_get_index (GTK_LIST_BOX_ROW (self)) + offset;
  if (index < 0)
    return NULL;
  row = gtk_list_box_get_row_at_index (GTK_LIST_BOX (list), index);
  return US_IS_CHAIN_ROW (row) ? US_CHAIN_ROW (row) : NULL;
}

static void
move_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  UsChainRow *self = US_CHAIN_ROW (widget);
  UsChainRow *destination = sibling_row (self, g_str_equal (action_name, "row.move-up") ? -1 : 1);

  if (destination != NULL)
    g_signal_emit (self, signals[MOVE_ROW], 0, destination);
}

static void
remove_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  g_signal_emit (widget, signals[REMOVE_ROW], 0);
}

static void
update_actions (UsChainRow *self)
{
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "row.move-up", self->index > 0);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "row.move-down", self->index + 1 < self->n_models);
  /* A chain keeps at least one model. */
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "row.remove", self->n_models > 1);
}

/* ---- Drag and drop ----------------------------------------------------- */

static GdkContentProvider *
on_drag_prepare (GtkDragSource *source,
                 double         x,
                 double         y,
                 UsChainRow    *self)
{
  self->drag_x = x;
  self->drag_y = y;
  return gdk_content_provider_new_typed (US_TYPE_CHAIN_ROW, self);
}

static void
on_drag_begin (GtkDragSource *source,
               GdkDrag       *drag,
               UsChainRow    *self)
{
  GtkWidget *icon = gtk_drag_icon_get_for_drag (drag);
  UsChainRow *copy;
  UsChainModel model = { .provider = self->provider, .model = self->model };

  /* The icon is a copy of the row in a list of its own, like
   * gnome-control-center's, so it looks like the row being carried. */
  self->drag_list = GTK_LIST_BOX (gtk_list_box_new ());
  gtk_widget_add_css_class (GTK_WIDGET (self->drag_list), "boxed-list");
  gtk_widget_set_size_request (GTK_WIDGET (self->drag_list),
                               gtk_widget_get_width (GTK_WIDGET (self)),
                               gtk_widget_get_height (GTK_WIDGET (self)));
  copy = us_chain_row_new (self->chain_id, self->index, self->n_models, &model, self->health);
  gtk_list_box_append (self->drag_list, GTK_WIDGET (copy));
  gtk_list_box_drag_highlight_row (self->drag_list, GTK_LIST_BOX_ROW (copy));
  gtk_drag_icon_set_child (GTK_DRAG_ICON (icon), GTK_WIDGET (self->drag_list));
  gdk_drag_set_hotspot (drag, (int) self->drag_x, (int) self->drag_y);
}

static void
on_drag_end (GtkDragSource *source,
             GdkDrag       *drag,
             gboolean       delete_data,
             UsChainRow    *self)
{
  self->drag_list = NULL;  /* owned by the drag icon */
}

static GdkDragAction
on_drop_enter (GtkDropTarget *target,
               double         x,
               double         y,
               UsChainRow    *self)
{
  GtkWidget *list = gtk_widget_get_parent (GTK_WIDGET (self));

  if (GTK_IS_LIST_BOX (list))
    gtk_list_box_drag_highlight_row (GTK_LIST_BOX (list), GTK_LIST_BOX_ROW (self));
  return GDK_ACTION_MOVE;
}

static void
on_drop_leave (GtkDropTarget *target,
               UsChainRow    *self)
{
  GtkWidget *list = gtk_widget_get_parent (GTK_WIDGET (self));

  if (GTK_IS_LIST_BOX (list))
    gtk_list_box_drag_unhighlight_row (GTK_LIST_BOX (list));
}

static gboolean
on_drop (GtkDropTarget *target,
         const GValue  *value,
         double         x,
         double         y,
         UsChainRow    *self)
{
  UsChainRow *source;

  if (!G_VALUE_HOLDS (value, US_TYPE_CHAIN_ROW))
    return FALSE;
  source = g_value_get_object (value);
  /* Models move within their chain only. */
  if (source == NULL || source == self || g_strcmp0 (source->chain_id, self->chain_id) != 0)
    return FALSE;
  g_signal_emit (source, signals[MOVE_ROW], 0, self);
  return TRUE;
}

/* ---- GObject ----------------------------------------------------------- */

static void
us_chain_row_map (GtkWidget *widget)
{
  GTK_WIDGET_CLASS (us_chain_row_parent_class)->map (widget);
  sync_countdown_timer (US_CHAIN_ROW (widget));
}

static void
us_chain_row_unmap (GtkWidget *widget)
{
  GTK_WIDGET_CLASS (us_chain_row_parent_class)->unmap (widget);
  sync_countdown_timer (US_CHAIN_ROW (widget));
}

static void
us_chain_row_dispose (GObject *object)
{
  UsChainRow *self = US_CHAIN_ROW (object);

  g_clear_handle_id (&self->countdown_id, g_source_remove);
  gtk_widget_dispose_template (GTK_WIDGET (self), US_TYPE_CHAIN_ROW);
  G_OBJECT_CLASS (us_chain_row_parent_class)->dispose (object);
}

static void
us_chain_row_finalize (GObject *object)
{
  UsChainRow *self = US_CHAIN_ROW (object);

  g_free (self->chain_id);
  g_free (self->provider);
  g_free (self->model);
  g_clear_object (&self->health);
  G_OBJECT_CLASS (us_chain_row_parent_class)->finalize (object);
}

static void
us_chain_row_class_init (UsChainRowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = us_chain_row_dispose;
  object_class->finalize = us_chain_row_finalize;
  widget_class->map = us_chain_row_map;
  widget_class->unmap = us_chain_row_unmap;

  signals[MOVE_ROW] = g_signal_new ("move-row", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                    0, NULL, NULL, NULL, G_TYPE_NONE, 1, US_TYPE_CHAIN_ROW);
  signals[REMOVE_ROW] = g_signal_new ("remove-row", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                      0, NULL, NULL, NULL, G_TYPE_NONE, 0);

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/understudy/Understudy/us-chain-row.ui");
  gtk_widget_class_bind_template_child (widget_class, UsChainRow, health_label);
  gtk_widget_class_bind_template_child (widget_class, UsChainRow, menu_button);

  gtk_widget_class_install_action (widget_class, "row.move-up", NULL, move_action);
  gtk_widget_class_install_action (widget_class, "row.move-down", NULL, move_action);
  gtk_widget_class_install_action (widget_class, "row.remove", NULL, remove_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Up, GDK_ALT_MASK, "row.move-up", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_Up, GDK_ALT_MASK, "row.move-up", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Down, GDK_ALT_MASK, "row.move-down", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_Down, GDK_ALT_MASK, "row.move-down", NULL);
}

static void
us_chain_row_init (UsChainRow *self)
{
  GtkDragSource *source;
  GtkDropTarget *target;

  gtk_widget_init_template (GTK_WIDGET (self));

  source = gtk_drag_source_new ();
  gtk_drag_source_set_actions (source, GDK_ACTION_MOVE);
  g_signal_connect (source, "prepare", G_CALLBACK (on_drag_prepare), self);
  g_signal_connect (source, "drag-begin", G_CALLBACK (on_drag_begin), self);
  g_signal_connect (source, "drag-end", G_CALLBACK (on_drag_end), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (source));

  target = gtk_drop_target_new (US_TYPE_CHAIN_ROW, GDK_ACTION_MOVE);
  gtk_drop_target_set_preload (target, TRUE);
  g_signal_connect (target, "enter", G_CALLBACK (on_drop_enter), self);
  g_signal_connect (target, "leave", G_CALLBACK (on_drop_leave), self);
  g_signal_connect (target, "drop", G_CALLBACK (on_drop), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (target));
}

UsChainRow *
us_chain_row_new (const char         *chain_id,
                  guint               index,
                  guint               n_models,
                  const UsChainModel *model,
                  UsHealth           *health)
{
  UsChainRow *self = g_object_new (US_TYPE_CHAIN_ROW, NULL);
  gboolean as_requested = g_str_equal (model->model, "*");
  g_autofree char *label = NULL;

  self->chain_id = g_strdup (chain_id);
  self->index = index;
  self->n_models = n_models;
  self->provider = g_strdup (model->provider);
  self->model = g_strdup (model->model);
  self->health = health ? g_object_ref (health) : NULL;

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self),
                                 as_requested ? _("The model the client asks for") : model->model);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (self), model->provider);
  /* Translators: an accessible label: "2. glm-4.6 from zai" (position, model, provider). */
  label = g_strdup_printf (_("%u. %s from %s"), index + 1, as_requested ? _("The model the client asks for") : model->model,
                           model->provider);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL, label, -1);

  update_actions (self);
  us_chain_row_update_health (self);
  return self;
}

const char *
us_chain_row_get_chain_id (UsChainRow *self)
{
  g_return_val_if_fail (US_IS_CHAIN_ROW (self), NULL);
  return self->chain_id;
}

guint
us_chain_row_get_index (UsChainRow *self)
{
  g_return_val_if_fail (US_IS_CHAIN_ROW (self), 0);
  return self->index;
}

const char *
us_chain_row_get_provider (UsChainRow *self)
{
  g_return_val_if_fail (US_IS_CHAIN_ROW (self), NULL);
  return self->provider;
}

const char *
us_chain_row_get_model (UsChainRow *self)
{
  g_return_val_if_fail (US_IS_CHAIN_ROW (self), NULL);
  return self->model;
}
