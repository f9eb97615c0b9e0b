/* us-dbusmenu.c: a GMenuModel served as com.canonical.dbusmenu.
 *
 * The model is flattened into one level of items under the root (id 0).
 * Item ids survive layout changes when an item keeps its label and action,
 * so a click sent just before a LayoutUpdated still reaches the right item.
 */
#include "us-dbusmenu.h"

#define DBUSMENU_IFACE "com.canonical.dbusmenu"

static const char dbusmenu_xml[] =
  "<node>"
  "  <interface name='com.canonical.dbusmenu'>"
  "    <property name='Version' type='u' access='read'/>"
  "    <property name='TextDirection' type='s' access='read'/>"
  "    <property name='Status' type='s' access='read'/>"
  "    <property name='IconThemePath' type='as' access='read'/>"
  "    <method name='GetLayout'>"
  "      <arg name='parentId' type='i' direction='in'/>"
  "      <arg name='recursionDepth' type='i' direction='in'/>"
  "      <arg name='propertyNames' type='as' direction='in'/>"
  "      <arg name='revision' type='u' direction='out'/>"
  "      <arg name='layout' type='(ia{sv}av)' direction='out'/>"
  "    </method>"
  "    <method name='GetGroupProperties'>"
  "      <arg name='ids' type='ai' direction='in'/>"
  "      <arg name='propertyNames' type='as' direction='in'/>"
  "      <arg name='properties' type='a(ia{sv})' direction='out'/>"
  "    </method>"
  "    <method name='GetProperty'>"
  "      <arg name='id' type='i' direction='in'/>"
  "      <arg name='name' type='s' direction='in'/>"
  "      <arg name='value' type='v' direction='out'/>"
  "    </method>"
  "    <method name='Event'>"
  "      <arg name='id' type='i' direction='in'/>"
  "      <arg name='eventId' type='s' direction='in'/>"
  "      <arg name='data' type='v' direction='in'/>"
  "      <arg name='timestamp' type='u' direction='in'/>"
  "    </method>"
  "    <method name='EventGroup'>"
  "      <arg name='events' type='a(isvu)' direction='in'/>"
  "      <arg name='idErrors' type='ai' direction='out'/>"
  "    </method>"
  "    <method name='AboutToShow'>"
  "      <arg name='id' type='i' direction='in'/>"
  "      <arg name='needUpdate' type='b' direction='out'/>"
  "    </method>"
  "    <method name='AboutToShowGroup'>"
  "      <arg name='ids' type='ai' direction='in'/>"
  "      <arg name='updatesNeeded' type='ai' direction='out'/>"
  "      <arg name='idErrors' type='ai' direction='out'/>"
  "    </method>"
  "    <signal name='ItemsPropertiesUpdated'>"
  "      <arg name='updatedProps' type='a(ia{sv})'/>"
  "      <arg name='removedProps' type='a(ias)'/>"
  "    </signal>"
  "    <signal name='LayoutUpdated'>"
  "      <arg name='revision' type='u'/>"
  "      <arg name='parent' type='i'/>"
  "    </signal>"
  "    <signal name='ItemActivationRequested'>"
  "      <arg name='id' type='i'/>"
  "      <arg name='timestamp' type='u'/>"
  "    </signal>"
  "  </interface>"
  "</node>";

typedef struct {
  int       id;
  gboolean  separator;
  char     *label;
  char     *action;   /* NULL: a disabled label */
  GVariant *target;   /* NULL: no target */
} UsMenuItem;

struct _UsDbusmenu {
  GObject          parent_instance;

  GMenuModel      *model;
  GActionGroup    *actions;
  GPtrArray       *items;          /* UsMenuItem*, in display order */
  GPtrArray       *watched;        /* GMenuModel*: the model and its sections */
  int              next_id;
  guint            revision;
  guint            rebuild_source;

  GDBusConnection *bus;
  char            *object_path;
  guint            registration;
};

G_DEFINE_FINAL_TYPE (UsDbusmenu, us_dbusmenu, G_TYPE_OBJECT)

enum { PROP_0, PROP_MODEL, PROP_ACTIONS, PROP_REVISION, N_PROPS };
static GParamSpec *properties[N_PROPS];

static void
menu_item_free (gpointer data)
{
  UsMenuItem *item = data;

  g_free (item->label);
  g_free (item->action);
  g_clear_pointer (&item->target, g_variant_unref);
  g_free (item);
}

static UsMenuItem *
find_item (UsDbusmenu *self,
           int         id)
{
  for (guint i = 0; i < self->items->len; i++)
    {
      UsMenuItem *item = g_ptr_array_index (self->items, i);

      if (item->id == id)
        return item;
    }
  return NULL;
}

static gboolean
same_item (const UsMenuItem *a,
           const UsMenuItem *b)
{
  return a->separator == b->separator &&
         g_strcmp0 (a->label, b->label) == 0 &&
         g_strcmp0 (a->action, b->action) == 0 &&
         ((a->target == NULL && b->target == NULL) ||
          (a->target != NULL && b->target != NULL && g_variant_equal (a->target, b->target)));
}

/* What the action says about an item: enabled, and the toggle it shows. */
static void
item_action_state (UsDbusmenu       *self,
                   const UsMenuItem *item,
                   gboolean         *enabled,
                   const char      **toggle_type,
                   int              *toggle_state)
{
  const GVariantType *param_type = NULL;
  g_autoptr(GVariant) state = NULL;
  gboolean action_enabled = FALSE;

  *enabled = FALSE;
  *toggle_type = NULL;
  *toggle_state = 0;

  if (item->action == NULL ||
      !g_action_group_query_action (self->actions, item->action, &action_enabled,
                                    &param_type, NULL, NULL, &state))
    return;

  if (item->target == NULL)
    {
      *enabled = action_enabled &&
                 (param_type == NULL ||
                  (state != NULL && g_variant_is_of_type (state, G_VARIANT_TYPE_BOOLEAN)));
      if (state != NULL && g_variant_is_of_type (state, G_VARIANT_TYPE_BOOLEAN))
        {
          *toggle_type = "checkmark";
          *toggle_state = g_variant_get_boolean (state) ? 1 : 0;
        }
    }
  else
    {
      *enabled = action_enabled && param_type != NULL &&
                 g_variant_is_of_type (item->target, param_type);
      if (state != NULL && g_variant_is_of_type (state, g_variant_get_type (item->target)))
        {
          *toggle_type = "radio";
          *toggle_state = g_variant_equal (state, item->target) ? 1 : 0;
        }
    }
}

static gboolean
wanted (const char * const *names,
        const char         *name)
{
  return names == NULL || names[0] == NULL || g_strv_contains (names, name);
}

static GVariant *
item_properties (UsDbusmenu         *self,
                 const UsMenuItem   *item,
                 const char * const *names)
{
  GVariantBuilder props;

  g_variant_builder_init (&props, G_VARIANT_TYPE_VARDICT);

  if (item == NULL)
    {
      if (wanted (names, "children-display"))
        g_variant_builder_add (&props, "{sv}", "children-display", g_variant_new_string ("submenu"));
      return g_variant_builder_end (&props);
    }

  if (wanted (names, "visible"))
    g_variant_builder_add (&props, "{sv}", "visible", g_variant_new_boolean (TRUE));

  if (item->separator)
    {
      if (wanted (names, "type"))
        g_variant_builder_add (&props, "{sv}", "type", g_variant_new_string ("separator"));
    }
  else
    {
      gboolean enabled;
      const char *toggle_type;
      int toggle_state;

      item_action_state (self, item, &enabled, &toggle_type, &toggle_state);
      if (wanted (names, "label"))
        g_variant_builder_add (&props, "{sv}", "label", g_variant_new_string (item->label));
      if (wanted (names, "enabled"))
        g_variant_builder_add (&props, "{sv}", "enabled", g_variant_new_boolean (enabled));
      if (toggle_type != NULL && wanted (names, "toggle-type"))
        g_variant_builder_add (&props, "{sv}", "toggle-type", g_variant_new_string (toggle_type));
      if (toggle_type != NULL && wanted (names, "toggle-state"))
        g_variant_builder_add (&props, "{sv}", "toggle-state", g_variant_new_int32 (toggle_state));
    }

  return g_variant_builder_end (&props);
}

static GVariant *
item_layout (UsDbusmenu         *self,
             const UsMenuItem   *item,
             int                 depth,
             const char * const *names)
{
  GVariantBuilder children;

  g_variant_builder_init (&children, G_VARIANT_TYPE ("av"));
  /* Only the root has children: the menu is flat. */
  if (item == NULL && depth != 0)
    for (guint i = 0; i < self->items->len; i++)
      g_variant_builder_add (&children, "v",
                             item_layout (self, g_ptr_array_index (self->items, i), depth - 1, names));

  return g_variant_new ("(i@a{sv}av)", item ? item->id : 0,
                        item_properties (self, item, names), &children);
}

static void emit_layout_updated (UsDbusmenu *self);
static void schedule_rebuild (UsDbusmenu *self);

static void
on_model_items_changed (GMenuModel *model,
                        int         position,
                        int         removed,
                        int         added,
                        UsDbusmenu *self)
{
  schedule_rebuild (self);
}

static void
unwatch_models (UsDbusmenu *self)
{
  for (guint i = 0; i < self->watched->len; i++)
    g_signal_handlers_disconnect_by_func (g_ptr_array_index (self->watched, i),
                                          on_model_items_changed, self);
  g_ptr_array_set_size (self->watched, 0);
}

/* Sections are set apart by separators, never two in a row nor at either end. */
static void
flatten (UsDbusmenu *self,
         GMenuModel *model,
         GPtrArray  *items,
         gboolean   *separator_pending)
{
  int n = g_menu_model_get_n_items (model);

  g_ptr_array_add (self->watched, g_object_ref (model));
  g_signal_connect_object (model, "items-changed", G_CALLBACK (on_model_items_changed), self, 0);

  for (int i = 0; i < n; i++)
    {
      g_autoptr(GMenuModel) section = g_menu_model_get_item_link (model, i, G_MENU_LINK_SECTION);
      UsMenuItem *item;

      if (section != NULL)
        {
          *separator_pending = TRUE;
          flatten (self, section, items, separator_pending);
          *separator_pending = TRUE;
          continue;
        }

      if (*separator_pending && items->len > 0)
        {
          item = g_new0 (UsMenuItem, 1);
          item->separator = TRUE;
          g_ptr_array_add (items, item);
        }
      *separator_pending = FALSE;

      item = g_new0 (UsMenuItem, 1);
      if (!g_menu_model_get_item_attribute (model, i, G_MENU_ATTRIBUTE_LABEL, "s", &item->label))
        item->label = g_strdup ("");
      g_menu_model_get_item_attribute (model, i, G_MENU_ATTRIBUTE_ACTION, "s", &item->action);
      item->target = g_menu_model_get_item_attribute_value (model, i, G_MENU_ATTRIBUTE_TARGET, NULL);
      g_ptr_array_add (items, item);
    }
}

static void
rebuild (UsDbusmenu *self)
{
  g_autoptr(GPtrArray) old = g_steal_pointer (&self->items);
  gboolean separator_pending = FALSE;

  self->items = g_ptr_array_new_with_free_func (menu_item_free);
  unwatch_models (self);
  flatten (self, self->model, self->items, &separator_pending);

  /* Keep the id of an unchanged item; a new item gets a new id. */
  for (guint i = 0; i < self->items->len; i++)
    {
      UsMenuItem *item = g_ptr_array_index (self->items, i);

      for (guint j = 0; old != NULL && j < old->len; j++)
        {
          UsMenuItem *was = g_ptr_array_index (old, j);

          if (was->id != 0 && same_item (was, item))
            {
              item->id = was->id;
              was->id = 0;
              break;
            }
        }
      if (item->id == 0)
        item->id = self->next_id++;
    }
}

static gboolean
rebuild_idle (gpointer data)
{
  UsDbusmenu *self = data;

  self->rebuild_source = 0;
  rebuild (self);
  emit_layout_updated (self);
  return G_SOURCE_REMOVE;
}

/* A GMenu edit is often several items-changed in a row: one layout change for all. */
static void
schedule_rebuild (UsDbusmenu *self)
{
  if (self->rebuild_source == 0)
    self->rebuild_source = g_idle_add (rebuild_idle, self);
}

static void
emit_layout_updated (UsDbusmenu *self)
{
  self->revision++;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_REVISION]);

  if (self->registration != 0)
    g_dbus_connection_emit_signal (self->bus, NULL, self->object_path, DBUSMENU_IFACE,
                                   "LayoutUpdated", g_variant_new ("(ui)", self->revision, 0), NULL);
}

static void
emit_action_items_updated (UsDbusmenu *self,
                           const char *action_name)
{
  GVariantBuilder updated;
  gboolean any = FALSE;

  if (self->registration == 0)
    return;

  g_variant_builder_init (&updated, G_VARIANT_TYPE ("a(ia{sv})"));
  for (guint i = 0; i < self->items->len; i++)
    {
      UsMenuItem *item = g_ptr_array_index (self->items, i);

      if (g_strcmp0 (item->action, action_name) != 0)
        continue;
      g_variant_builder_add (&updated, "(i@a{sv})", item->id, item_properties (self, item, NULL));
      any = TRUE;
    }

  if (any)
    g_dbus_connection_emit_signal (self->bus, NULL, self->object_path, DBUSMENU_IFACE,
                                   "ItemsPropertiesUpdated",
                                   g_variant_new ("(a(ia{sv})a(ias))", &updated, NULL), NULL);
  else
    g_variant_builder_clear (&updated);
}

static void
on_action_state_changed (GActionGroup *actions,
                         const char   *action_name,
                         GVariant     *state,
                         UsDbusmenu   *self)
{
  emit_action_items_updated (self, action_name);
}

static void
on_action_enabled_changed (GActionGroup *actions,
                           const char   *action_name,
                           gboolean      enabled,
                           UsDbusmenu   *self)
{
  emit_action_items_updated (self, action_name);
}

/* An action appearing or going away can add or drop a toggle: send the whole layout again. */
static void
on_action_added_or_removed (GActionGroup *actions,
                            const char   *action_name,
                            UsDbusmenu   *self)
{
  for (guint i = 0; i < self->items->len; i++)
    {
      UsMenuItem *item = g_ptr_array_index (self->items, i);

      if (g_strcmp0 (item->action, action_name) == 0)
        {
          schedule_rebuild (self);
          return;
        }
    }
}

static void
activate_item (UsDbusmenu       *self,
               const UsMenuItem *item)
{
  gboolean enabled;
  const char *toggle_type;
  int toggle_state;

  item_action_state (self, item, &enabled, &toggle_type, &toggle_state);
  if (!enabled)
    return;

  if (item->target != NULL)
    g_action_group_activate_action (self->actions, item->action, item->target);
  else if (g_strcmp0 (toggle_type, "checkmark") == 0)
    /* Setting the state works whatever the action's parameter type. */
    g_action_group_change_action_state (self->actions, item->action,
                                        g_variant_new_boolean (!toggle_state));
  else
    g_action_group_activate_action (self->actions, item->action, NULL);
}

static void
handle_event (UsDbusmenu *self,
              int         id,
              const char *event_id)
{
  UsMenuItem *item = find_item (self, id);

  /* "hovered", "opened" and "closed" only inform: nothing to do. */
  if (item != NULL && g_strcmp0 (event_id, "clicked") == 0)
    activate_item (self, item);
}

static void
dbusmenu_method_call (GDBusConnection       *connection,
                      const char            *sender,
                      const char            *object_path,
                      const char            *interface_name,
                      const char            *method_name,
                      GVariant              *parameters,
                      GDBusMethodInvocation *invocation,
                      gpointer               user_data)
{
  UsDbusmenu *self = user_data;

  if (g_str_equal (method_name, "GetLayout"))
    {
      int parent, depth;
      g_autofree const char **names = NULL;
      UsMenuItem *item = NULL;

      g_variant_get (parameters, "(ii^a&s)", &parent, &depth, &names);
      if (parent != 0 && (item = find_item (self, parent)) == NULL)
        {
          g_dbus_method_invocation_return_error (invocation, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS,
                                                 "No menu item with id %d", parent);
          return;
        }
      g_dbus_method_invocation_return_value (invocation,
                                             g_variant_new ("(u@(ia{sv}av))", self->revision,
                                                            item_layout (self, item, depth, names)));
    }
  else if (g_str_equal (method_name, "GetGroupProperties"))
    {
      g_autoptr(GVariant) ids = NULL;
      g_autofree const char **names = NULL;
      GVariantBuilder result;
      const gint32 *id_list;
      gsize n_ids;

      g_variant_get (parameters, "(@ai^a&s)", &ids, &names);
      id_list = g_variant_get_fixed_array (ids, &n_ids, sizeof (gint32));
      g_variant_builder_init (&result, G_VARIANT_TYPE ("a(ia{sv})"));
      /* libdbusmenu clients expect the root in every reply. */
      g_variant_builder_add (&result, "(i@a{sv})", 0, item_properties (self, NULL, names));
      for (guint i = 0; i < self->items->len; i++)
        {
          UsMenuItem *item = g_ptr_array_index (self->items, i);
          gboolean asked = n_ids == 0;

          for (gsize j = 0; j < n_ids && !asked; j++)
            asked = id_list[j] == item->id;
          if (asked)
            g_variant_builder_add (&result, "(i@a{sv})", item->id, item_properties (self, item, names));
        }
      g_dbus_method_invocation_return_value (invocation, g_variant_new ("(a(ia{sv}))", &result));
    }
  else if (g_str_equal (method_name, "GetProperty"))
    {
      int id;
      const char *name;
      const char *names[2] = { NULL, NULL };
      UsMenuItem *item;
      g_autoptr(GVariant) props = NULL;
      g_autoptr(GVariant) value = NULL;

      g_variant_get (parameters, "(i&s)", &id, &name);
      item = find_item (self, id);
      names[0] = name;
      if (id == 0 || item != NULL)
        {
          props = g_variant_ref_sink (item_properties (self, item, names));
          value = g_variant_lookup_value (props, name, NULL);
        }
      if (value == NULL)
        {
          g_dbus_method_invocation_return_error (invocation, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS,
                                                 "Menu item %d has no property %s", id, name);
          return;
        }
      g_dbus_method_invocation_return_value (invocation, g_variant_new ("(v)", value));
    }
  else if (g_str_equal (method_name, "Event"))
    {
      int id;
      const char *event_id;

      g_variant_get (parameters, "(i&svu)", &id, &event_id, NULL, NULL);
      if (id != 0 && find_item (self, id) == NULL)
        {
          g_dbus_method_invocation_return_error (invocation, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS,
                                                 "No menu item with id %d", id);
          return;
        }
      handle_event (self, id, event_id);
      g_dbus_method_invocation_return_value (invocation, NULL);
    }
  else if (g_str_equal (method_name, "EventGroup"))
    {
      g_autoptr(GVariantIter) events = NULL;
      GVariantBuilder errors;
      const char *event_id;
      int id;

      g_variant_get (parameters, "(a(isvu))", &events);
      g_variant_builder_init (&errors, G_VARIANT_TYPE ("ai"));
      while (g_variant_iter_loop (events, "(i&svu)", &id, &event_id, NULL, NULL))
        {
          if (id != 0 && find_item (self, id) == NULL)
            g_variant_builder_add (&errors, "i", id);
          else
            handle_event (self, id, event_id);
        }
      g_dbus_method_invocation_return_value (invocation, g_variant_new ("(ai)", &errors));
    }
  else if (g_str_equal (method_name, "AboutToShow"))
    {
      /* The layout is always current: nothing to refresh before showing. */
      g_dbus_method_invocation_return_value (invocation, g_variant_new ("(b)", FALSE));
    }
  else if (g_str_equal (method_name, "AboutToShowGroup"))
    {
      g_autoptr(GVariantIter) ids = NULL;
      GVariantBuilder errors;
      int id;

      g_variant_get (parameters, "(ai)", &ids);
      g_variant_builder_init (&errors, G_VARIANT_TYPE ("ai"));
      while (g_variant_iter_next (ids, "i", &id))
        if (id != 0 && find_item (self, id) == NULL)
          g_variant_builder_add (&errors, "i", id);
      g_dbus_method_invocation_return_value (invocation, g_variant_new ("(@aiai)",
                                                                        g_variant_new_array (G_VARIANT_TYPE_INT32, NULL, 0),
                                                                        &errors));
    }
  else
    g_dbus_method_invocation_return_error (invocation, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_METHOD,
                                           "Unknown method %s", method_name);
}

static GVariant *
dbusmenu_get_property (GDBusConnection  *connection,
                       const char       *sender,
                       const char       *object_path,
                       const char       *interface_name,
                       const char       *property_name,
                       GError          **error,
                       gpointer          user_data)
{
  if (g_str_equal (property_name, "Version"))
    return g_variant_new_uint32 (3);
  /* Hosts lay the menu out in their own locale's direction; ours is not known without GTK. */
  if (g_str_equal (property_name, "TextDirection"))
    return g_variant_new_string ("ltr");
  if (g_str_equal (property_name, "Status"))
    return g_variant_new_string ("normal");
  if (g_str_equal (property_name, "IconThemePath"))
    return g_variant_new_strv (NULL, 0);

  g_set_error (error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_PROPERTY, "No property %s", property_name);
  return NULL;
}

static const GDBusInterfaceVTable dbusmenu_vtable = {
  dbusmenu_method_call,
  dbusmenu_get_property,
  NULL,
};

gboolean
us_dbusmenu_export (UsDbusmenu      *self,
                    GDBusConnection *bus,
                    const char      *object_path,
                    GError         **error)
{
  static GDBusNodeInfo *node_info;

  g_return_val_if_fail (US_IS_DBUSMENU (self), FALSE);
  g_return_val_if_fail (G_IS_DBUS_CONNECTION (bus), FALSE);
  g_return_val_if_fail (self->registration == 0, FALSE);

  /* Parsed once and kept for the life of the process. */
  if (g_once_init_enter (&node_info))
    g_once_init_leave (&node_info, g_dbus_node_info_new_for_xml (dbusmenu_xml, NULL));

  self->registration = g_dbus_connection_register_object (bus, object_path, node_info->interfaces[0],
                                                          &dbusmenu_vtable, self, NULL, error);
  if (self->registration == 0)
    return FALSE;

  self->bus = g_object_ref (bus);
  self->object_path = g_strdup (object_path);
  return TRUE;
}

void
us_dbusmenu_unexport (UsDbusmenu *self)
{
  g_return_if_fail (US_IS_DBUSMENU (self));

  if (self->registration != 0)
    g_dbus_connection_unregister_object (self->bus, self->registration);
  self->registration = 0;
  g_clear_object (&self->bus);
  g_clear_pointer (&self->object_path, g_free);
}

guint
us_dbusmenu_get_revision (UsDbusmenu *self)
{
  g_return_val_if_fail (US_IS_DBUSMENU (self), 0);

  return self->revision;
}

static void
us_dbusmenu_constructed (GObject *object)
{
  UsDbusmenu *self = US_DBUSMENU (object);

  G_OBJECT_CLASS (us_dbusmenu_parent_class)->constructed (object);

  g_signal_connect_object (self->actions, "action-state-changed",
                           G_CALLBACK (on_action_state_changed), self, 0);
  g_signal_connect_object (self->actions, "action-enabled-changed",
                           G_CALLBACK (on_action_enabled_changed), self, 0);
  g_signal_connect_object (self->actions, "action-added",
                           G_CALLBACK (on_action_added_or_removed), self, 0);
  g_signal_connect_object (self->actions, "action-removed",
                           G_CALLBACK (on_action_added_or_removed), self, 0);
  rebuild (self);
}

static void
us_dbusmenu_dispose (GObject *object)
{
  UsDbusmenu *self = US_DBUSMENU (object);

  us_dbusmenu_unexport (self);
  g_clear_handle_id (&self->rebuild_source, g_source_remove);
  if (self->watched != NULL)
    unwatch_models (self);
  g_clear_object (&self->model);
  g_clear_object (&self->actions);

  G_OBJECT_CLASS (us_dbusmenu_parent_class)->dispose (object);
}

static void
us_dbusmenu_finalize (GObject *object)
{
  UsDbusmenu *self = US_DBUSMENU (object);

  g_clear_pointer (&self->items, g_ptr_array_unref);
  g_clear_pointer (&self->watched, g_ptr_array_unref);

  G_OBJECT_CLASS (us_dbusmenu_parent_class)->finalize (object);
}

static void
us_dbusmenu_get_property (GObject    *object,
                          guint       prop_id,
                          GValue     *value,
                          GParamSpec *pspec)
{
  UsDbusmenu *self = US_DBUSMENU (object);

  switch (prop_id)
    {
    case PROP_MODEL:
      g_value_set_object (value, self->model);
      break;
    case PROP_ACTIONS:
      g_value_set_object (value, self->actions);
      break;
    case PROP_REVISION:
      g_value_set_uint (value, self->revision);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
us_dbusmenu_set_property (GObject      *object,
                          guint         prop_id,
                          const GValue *value,
                          GParamSpec   *pspec)
{
  UsDbusmenu *self = US_DBUSMENU (object);

  switch (prop_id)
    {
    case PROP_MODEL:
      self->model = g_value_dup_object (value);
      break;
    case PROP_ACTIONS:
      self->actions = g_value_dup_object (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
us_dbusmenu_class_init (UsDbusmenuClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = us_dbusmenu_constructed;
  object_class->dispose = us_dbusmenu_dispose;
  object_class->finalize = us_dbusmenu_finalize;
  object_class->get_property = us_dbusmenu_get_property;
  object_class->set_property = us_dbusmenu_set_property;

  properties[PROP_MODEL] =
    g_param_spec_object ("model", NULL, NULL, G_TYPE_MENU_MODEL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_ACTIONS] =
    g_param_spec_object ("actions", NULL, NULL, G_TYPE_ACTION_GROUP,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_REVISION] =
    g_param_spec_uint ("revision", NULL, NULL, 0, G_MAXUINT, 1,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
us_dbusmenu_init (UsDbusmenu *self)
{
  self->items = g_ptr_array_new_with_free_func (menu_item_free);
  self->watched = g_ptr_array_new_with_free_func (g_object_unref);
  self->next_id = 1;
  self->revision = 1;
}

UsDbusmenu *
us_dbusmenu_new (GMenuModel   *model,
                 GActionGroup *actions)
{
  g_return_val_if_fail (G_IS_MENU_MODEL (model), NULL);
  g_return_val_if_fail (G_IS_ACTION_GROUP (actions), NULL);

  return g_object_new (US_TYPE_DBUSMENU, "model", model, "actions", actions, NULL);
}
