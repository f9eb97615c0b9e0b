/* us-tray.c: the tray item, org.kde.StatusNotifierItem over GDBus.
 *
 * The item lives at /StatusNotifierItem and its menu (UsDbusmenu) at
 * /MenuBar on the connection's unique name; the watcher is given the
 * object path, which every host reads as "sender + path". The item
 * follows the "routing" action itself, so the icon and the checkmark stay
 * right whoever flips the switch.
 */
#include <glib/gi18n.h>
#include <gdk-pixbuf/gdk-pixbuf.h>

#include "us-tray.h"
#include "us-dbusmenu.h"
#include "understudy-resources.h"

#define APP_ID        "io.github.understudy.Understudy"
#define ITEM_PATH     "/StatusNotifierItem"
#define MENU_PATH     "/MenuBar"
#define ITEM_IFACE    "org.kde.StatusNotifierItem"
#define WATCHER_NAME  "org.kde.StatusNotifierWatcher"
#define WATCHER_PATH  "/StatusNotifierWatcher"
#define ICON_RESOURCE "/io/github/understudy/Understudy/icons/scalable/apps/"

static const char item_xml[] =
  "<node>"
  "  <interface name='org.kde.StatusNotifierItem'>"
  "    <property name='Category' type='s' access='read'/>"
  "    <property name='Id' type='s' access='read'/>"
  "    <property name='Title' type='s' access='read'/>"
  "    <property name='Status' type='s' access='read'/>"
  "    <property name='WindowId' type='i' access='read'/>"
  "    <property name='IconThemePath' type='s' access='read'/>"
  "    <property name='IconName' type='s' access='read'/>"
  "    <property name='IconPixmap' type='a(iiay)' access='read'/>"
  "    <property name='OverlayIconName' type='s' access='read'/>"
  "    <property name='OverlayIconPixmap' type='a(iiay)' access='read'/>"
  "    <property name='AttentionIconName' type='s' access='read'/>"
  "    <property name='AttentionIconPixmap' type='a(iiay)' access='read'/>"
  "    <property name='AttentionMovieName' type='s' access='read'/>"
  "    <property name='ToolTip' type='(sa(iiay)ss)' access='read'/>"
  "    <property name='ItemIsMenu' type='b' access='read'/>"
  "    <property name='Menu' type='o' access='read'/>"
  "    <method name='ContextMenu'>"
  "      <arg name='x' type='i' direction='in'/>"
  "      <arg name='y' type='i' direction='in'/>"
  "    </method>"
  "    <method name='Activate'>"
  "      <arg name='x' type='i' direction='in'/>"
  "      <arg name='y' type='i' direction='in'/>"
  "    </method>"
  "    <method name='SecondaryActivate'>"
  "      <arg name='x' type='i' direction='in'/>"
  "      <arg name='y' type='i' direction='in'/>"
  "    </method>"
  "    <method name='Scroll'>"
  "      <arg name='delta' type='i' direction='in'/>"
  "      <arg name='orientation' type='s' direction='in'/>"
  "    </method>"
  "    <method name='ProvideXdgActivationToken'>"
  "      <arg name='token' type='s' direction='in'/>"
  "    </method>"
  "    <signal name='NewTitle'/>"
  "    <signal name='NewIcon'/>"
  "    <signal name='NewAttentionIcon'/>"
  "    <signal name='NewOverlayIcon'/>"
  "    <signal name='NewToolTip'/>"
  "    <signal name='NewStatus'>"
  "      <arg name='status' type='s'/>"
  "    </signal>"
  "  </interface>"
  "</node>";

/* 50 ms doubling: about 6 s in all. */
#define MAX_REGISTER_ATTEMPTS 7

/* Indexed by UsTrayState. */
static const char * const icon_names[] = {
  APP_ID "-routing-symbolic",
  APP_ID "-failover-symbolic",
  APP_ID "-paused-symbolic",
  APP_ID "-error-symbolic",
};

/* Hosts pick the size nearest their panel; these cover 1× and 2× panels. */
static const int pixmap_sizes[] = { 16, 22, 32, 48 };

struct _UsTray {
  GObject          parent_instance;

  GDBusConnection *bus;
  GActionGroup    *actions;
  UsTrayState      state;
  char            *serving;
  char            *activation_token;
  char            *icon_theme_path;
  GVariant        *pixmaps[G_N_ELEMENTS (icon_names)];

  GMenu           *menu;
  GMenu           *status_section;   /* the routing toggle, "Serving: …" */
  GMenu           *chain_section;
  char           **chain;            /* the labels it shows */
  UsDbusmenu      *dbusmenu;

  guint            registration;
  guint            watch;
  GCancellable    *register_cancellable;
  guint            retry_source;
  guint            register_attempts;
  gboolean         registered;
};

G_DEFINE_FINAL_TYPE (UsTray, us_tray, G_TYPE_OBJECT)
G_DEFINE_ENUM_TYPE (UsTrayState, us_tray_state,
  G_DEFINE_ENUM_VALUE (US_TRAY_ACTIVE, "active"),
  G_DEFINE_ENUM_VALUE (US_TRAY_FAILOVER, "failover"),
  G_DEFINE_ENUM_VALUE (US_TRAY_PAUSED, "paused"),
  G_DEFINE_ENUM_VALUE (US_TRAY_ERROR, "error"))

enum { PROP_0, PROP_BUS, PROP_ACTIONS, PROP_STATE, PROP_SERVING, PROP_REGISTERED, N_PROPS };
static GParamSpec *properties[N_PROPS];

/* Menu labels read "_" as a mnemonic: a model name shows its underscores. */
static char *
escape_mnemonic (const char *text)
{
  GString *escaped = g_string_new (text);

  g_string_replace (escaped, "_", "__", 0);
  return g_string_free (escaped, FALSE);
}

static const char *
status_for_state (UsTrayState state)
{
  /* Passive would hide the item on GNOME and waybar. */
  return state == US_TRAY_FAILOVER || state == US_TRAY_ERROR ? "NeedsAttention" : "Active";
}

static char *
tooltip_text (UsTray *self)
{
  switch (self->state)
    {
    case US_TRAY_ACTIVE:
      return self->serving ? g_strdup_printf (_("Routing on, serving %s"), self->serving)
                           : g_strdup (_("Routing on"));
    case US_TRAY_FAILOVER:
      return self->serving ? g_strdup_printf (_("Failing over, serving %s"), self->serving)
                           : g_strdup (_("Failing over"));
    case US_TRAY_PAUSED:
      return g_strdup (_("Routing paused"));
    case US_TRAY_ERROR:
    default:
      return g_strdup (_("The proxy cannot serve requests: open Understudy to see why"));
    }
}

static GVariant *
tooltip_variant (UsTray *self)
{
  g_autofree char *text = tooltip_text (self);

  return g_variant_new ("(s@a(iiay)ss)", icon_names[self->state],
                        g_variant_new_array (G_VARIANT_TYPE ("(iiay)"), NULL, 0),
                        "Understudy", text);
}

/* One size of an icon as (width, height, ARGB32 big-endian, straight alpha). */
static GVariant *
render_pixmap (const char *icon_name,
               int         size,
               GError    **error)
{
  g_autofree char *path = g_strconcat (ICON_RESOURCE, icon_name, ".svg", NULL);
  g_autoptr(GInputStream) stream = NULL;
  g_autoptr(GdkPixbuf) loaded = NULL;
  g_autoptr(GdkPixbuf) pixbuf = NULL;
  const guint8 *pixels;
  guint8 *argb;
  int width, height, stride;

  stream = g_resource_open_stream (us_get_resource (), path, G_RESOURCE_LOOKUP_FLAGS_NONE, error);
  if (stream == NULL)
    return NULL;
  loaded = gdk_pixbuf_new_from_stream_at_scale (stream, size, size, TRUE, NULL, error);
  if (loaded == NULL)
    return NULL;
  pixbuf = gdk_pixbuf_add_alpha (loaded, FALSE, 0, 0, 0);

  width = gdk_pixbuf_get_width (pixbuf);
  height = gdk_pixbuf_get_height (pixbuf);
  stride = gdk_pixbuf_get_rowstride (pixbuf);
  pixels = gdk_pixbuf_read_pixels (pixbuf);
  argb = g_malloc ((gsize) width * height * 4);

  /* GdkPixbuf holds R,G,B,A with straight alpha: only the order changes. */
  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++)
      {
        const guint8 *src = pixels + y * stride + x * 4;
        guint8 *dst = argb + ((gsize) y * width + x) * 4;

        dst[0] = src[3];
        dst[1] = src[0];
        dst[2] = src[1];
        dst[3] = src[2];
      }

  return g_variant_new ("(ii@ay)", width, height,
                        g_variant_new_from_data (G_VARIANT_TYPE_BYTESTRING, argb,
                                                 (gsize) width * height * 4, TRUE, g_free, argb));
}

static GVariant *
pixmaps_for_state (UsTray *self)
{
  GVariantBuilder pixmaps;

  if (self->pixmaps[self->state] != NULL)
    return self->pixmaps[self->state];

  g_variant_builder_init (&pixmaps, G_VARIANT_TYPE ("a(iiay)"));
  for (guint i = 0; i < G_N_ELEMENTS (pixmap_sizes); i++)
    {
      g_autoptr(GError) error = NULL;
      GVariant *pixmap = render_pixmap (icon_names[self->state], pixmap_sizes[i], &error);

      if (pixmap == NULL)
        g_warning ("Cannot render the tray icon %s at %d px: %s",
                   icon_names[self->state], pixmap_sizes[i], error->message);
      else
        g_variant_builder_add_value (&pixmaps, pixmap);
    }

  self->pixmaps[self->state] = g_variant_ref_sink (g_variant_builder_end (&pixmaps));
  return self->pixmaps[self->state];
}

/* Hosts that do not search our install prefix find the icons here. */
static char *
find_icon_theme_path (void)
{
  const char * const *system_dirs = g_get_system_data_dirs ();
  g_autofree char *icon_file = g_strconcat (icon_names[US_TRAY_ACTIVE], ".svg", NULL);
  g_autofree char *user_icons = g_build_filename (g_get_user_data_dir (), "icons", NULL);
  g_autofree char *user_file = g_build_filename (user_icons, "hicolor", "symbolic", "apps", icon_file, NULL);

  if (g_file_test (user_file, G_FILE_TEST_EXISTS))
    return g_steal_pointer (&user_icons);

  for (guint i = 0; system_dirs[i] != NULL; i++)
    {
      g_autofree char *icons = g_build_filename (system_dirs[i], "icons", NULL);
      g_autofree char *file = g_build_filename (icons, "hicolor", "symbolic", "apps", icon_file, NULL);

      if (g_file_test (file, G_FILE_TEST_EXISTS))
        return g_steal_pointer (&icons);
    }
  return g_strdup ("");
}

static void
emit_item_signal (UsTray     *self,
                  const char *name,
                  GVariant   *parameters)
{
  if (self->registration != 0)
    g_dbus_connection_emit_signal (self->bus, NULL, ITEM_PATH, ITEM_IFACE, name, parameters, NULL);
  else if (parameters != NULL)
    g_variant_unref (g_variant_ref_sink (parameters));
}

/* Large pixmaps are invalidated, not sent: hosts fetch them when they need them. */
static void
emit_properties_changed (UsTray             *self,
                         GVariant           *changed,
                         const char * const *invalidated)
{
  emit_item_signal (self, "PropertiesChanged",
                    g_variant_new ("(s@a{sv}^as)", ITEM_IFACE, changed, invalidated));
}

static void
toggle_routing (UsTray *self)
{
  g_autoptr(GVariant) state = g_action_group_get_action_state (self->actions, "routing");

  if (state != NULL && g_variant_is_of_type (state, G_VARIANT_TYPE_BOOLEAN))
    g_action_group_change_action_state (self->actions, "routing",
                                        g_variant_new_boolean (!g_variant_get_boolean (state)));
}

static void
activate_if_enabled (UsTray     *self,
                     const char *action)
{
  if (g_action_group_get_action_enabled (self->actions, action))
    g_action_group_activate_action (self->actions, action, NULL);
}

static void
item_method_call (GDBusConnection       *connection,
                  const char            *sender,
                  const char            *object_path,
                  const char            *interface_name,
                  const char            *method_name,
                  GVariant              *parameters,
                  GDBusMethodInvocation *invocation,
                  gpointer               user_data)
{
  UsTray *self = user_data;

  if (g_str_equal (method_name, "Activate"))
    toggle_routing (self);
  else if (g_str_equal (method_name, "SecondaryActivate") || g_str_equal (method_name, "ContextMenu"))
    /* Middle click, or a host that cannot show the Menu: the window has everything. */
    activate_if_enabled (self, "open");
  else if (g_str_equal (method_name, "ProvideXdgActivationToken"))
    {
      g_free (self->activation_token);
      g_variant_get (parameters, "(s)", &self->activation_token);
    }
  /* Scroll: there is nothing to scroll through. */
  g_dbus_method_invocation_return_value (invocation, NULL);
}

static GVariant *
item_get_property (GDBusConnection  *connection,
                   const char       *sender,
                   const char       *object_path,
                   const char       *interface_name,
                   const char       *name,
                   GError          **error,
                   gpointer          user_data)
{
  UsTray *self = user_data;

  if (g_str_equal (name, "Category"))
    return g_variant_new_string ("ApplicationStatus");
  if (g_str_equal (name, "Id"))
    return g_variant_new_string (APP_ID);
  if (g_str_equal (name, "Title"))
    return g_variant_new_string ("Understudy");
  if (g_str_equal (name, "Status"))
    return g_variant_new_string (status_for_state (self->state));
  if (g_str_equal (name, "WindowId"))
    return g_variant_new_int32 (0);
  if (g_str_equal (name, "IconThemePath"))
    return g_variant_new_string (self->icon_theme_path);
  if (g_str_equal (name, "IconName") || g_str_equal (name, "AttentionIconName"))
    return g_variant_new_string (icon_names[self->state]);
  if (g_str_equal (name, "IconPixmap") || g_str_equal (name, "AttentionIconPixmap"))
    return g_variant_ref (pixmaps_for_state (self));
  if (g_str_equal (name, "OverlayIconName") || g_str_equal (name, "AttentionMovieName"))
    return g_variant_new_string ("");
  if (g_str_equal (name, "OverlayIconPixmap"))
    return g_variant_new_array (G_VARIANT_TYPE ("(iiay)"), NULL, 0);
  if (g_str_equal (name, "ToolTip"))
    return tooltip_variant (self);
  if (g_str_equal (name, "ItemIsMenu"))
    return g_variant_new_boolean (FALSE);
  if (g_str_equal (name, "Menu"))
    return g_variant_new_object_path (MENU_PATH);

  g_set_error (error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_PROPERTY, "No property %s", name);
  return NULL;
}

static const GDBusInterfaceVTable item_vtable = {
  item_method_call,
  item_get_property,
  NULL,
};

static void
set_registered (UsTray   *self,
                gboolean  registered)
{
  if (self->registered == registered)
    return;
  self->registered = registered;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_REGISTERED]);
}

static void register_item (UsTray *self);

static gboolean
retry_register (gpointer user_data)
{
  UsTray *self = user_data;

  self->retry_source = 0;
  register_item (self);
  return G_SOURCE_REMOVE;
}

static void
register_done (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  UsTray *self;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;   /* the tray may be gone */

  self = US_TRAY (user_data);
  g_clear_object (&self->register_cancellable);
  if (reply != NULL)
    {
      set_registered (self, TRUE);
      return;
    }

  /* A watcher may own its name a moment before it exports its object
   * (status-notifier-watcher does): try again shortly. */
  if ((g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_OBJECT) ||
       g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_METHOD)) &&
      self->register_attempts < MAX_REGISTER_ATTEMPTS)
    {
      g_debug ("The status notifier watcher is not ready (%s): registering again in %d ms",
               error->message, 50 << self->register_attempts);
      self->retry_source = g_timeout_add (50 << self->register_attempts, retry_register, self);
      return;
    }

  g_warning ("The status notifier watcher refused the tray item: %s", error->message);
  set_registered (self, FALSE);
}

static void
register_item (UsTray *self)
{
  self->register_attempts++;
  self->register_cancellable = g_cancellable_new ();
  g_dbus_connection_call (self->bus, WATCHER_NAME, WATCHER_PATH, WATCHER_NAME,
                          "RegisterStatusNotifierItem", g_variant_new ("(s)", ITEM_PATH),
                          NULL, G_DBUS_CALL_FLAGS_NO_AUTO_START, -1,
                          self->register_cancellable, register_done, self);
}

static void
stop_registering (UsTray *self)
{
  g_cancellable_cancel (self->register_cancellable);
  g_clear_object (&self->register_cancellable);
  g_clear_handle_id (&self->retry_source, g_source_remove);
}

/* Every appearance of a watcher (first start or restart) gets a new registration. */
static void
on_watcher_appeared (GDBusConnection *bus,
                     const char      *name,
                     const char      *owner,
                     gpointer         user_data)
{
  UsTray *self = user_data;

  stop_registering (self);
  self->register_attempts = 0;
  register_item (self);
}

static void
on_watcher_vanished (GDBusConnection *bus,
                     const char      *name,
                     gpointer         user_data)
{
  UsTray *self = user_data;

  stop_registering (self);
  set_registered (self, FALSE);
}

/* Routing off always shows paused; routing on leaves the app's own state
 * unless that was paused. An error stays until the app clears it. */
static void
follow_routing (UsTray *self)
{
  g_autoptr(GVariant) routing = g_action_group_get_action_state (self->actions, "routing");

  if (routing == NULL || !g_variant_is_of_type (routing, G_VARIANT_TYPE_BOOLEAN) ||
      self->state == US_TRAY_ERROR)
    return;

  if (!g_variant_get_boolean (routing))
    us_tray_set_state (self, US_TRAY_PAUSED);
  else if (self->state == US_TRAY_PAUSED)
    us_tray_set_state (self, US_TRAY_ACTIVE);
}

static void
on_action_state_changed (GActionGroup *actions,
                         const char   *action_name,
                         GVariant     *state,
                         UsTray       *self)
{
  if (g_str_equal (action_name, "routing"))
    follow_routing (self);
}

static void
on_action_added (GActionGroup *actions,
                 const char   *action_name,
                 UsTray       *self)
{
  if (g_str_equal (action_name, "routing"))
    follow_routing (self);
}

static void
update_serving_item (UsTray *self)
{
  g_autofree char *escaped = escape_mnemonic (self->serving ? self->serving : _("nothing yet"));
  g_autofree char *label = g_strdup_printf (_("Serving: %s"), escaped);

  if (g_menu_model_get_n_items (G_MENU_MODEL (self->status_section)) > 1)
    g_menu_remove (self->status_section, 1);
  g_menu_insert (self->status_section, 1, label, NULL);
}

static void
build_menu (UsTray *self)
{
  g_autoptr(GMenu) actions_section = g_menu_new ();

  self->menu = g_menu_new ();
  self->status_section = g_menu_new ();
  self->chain_section = g_menu_new ();

  /* First: GNOME's AppIndicator extension opens the menu on a left click. */
  g_menu_append (self->status_section, _("Route requests"), "routing");
  update_serving_item (self);
  g_menu_append (actions_section, _("Open Understudy"), "open");
  g_menu_append (actions_section, _("Quit"), "quit");

  g_menu_append_section (self->menu, NULL, G_MENU_MODEL (self->status_section));
  g_menu_append_section (self->menu, NULL, G_MENU_MODEL (self->chain_section));
  g_menu_append_section (self->menu, NULL, G_MENU_MODEL (actions_section));
}

static void
us_tray_constructed (GObject *object)
{
  UsTray *self = US_TRAY (object);
  static GDBusNodeInfo *node_info;
  g_autoptr(GError) error = NULL;

  G_OBJECT_CLASS (us_tray_parent_class)->constructed (object);

  /* Parsed once and kept for the life of the process. */
  if (g_once_init_enter (&node_info))
    g_once_init_leave (&node_info, g_dbus_node_info_new_for_xml (item_xml, NULL));

  self->icon_theme_path = find_icon_theme_path ();
  build_menu (self);
  self->dbusmenu = us_dbusmenu_new (G_MENU_MODEL (self->menu), self->actions);

  g_signal_connect_object (self->actions, "action-state-changed",
                           G_CALLBACK (on_action_state_changed), self, 0);
  g_signal_connect_object (self->actions, "action-added",
                           G_CALLBACK (on_action_added), self, 0);
  follow_routing (self);

  /* Both objects exist before any watcher hears of them: Plasma checks at once. */
  if (!us_dbusmenu_export (self->dbusmenu, self->bus, MENU_PATH, &error))
    {
      g_warning ("Cannot export the tray menu: %s", error->message);
      return;
    }
  self->registration = g_dbus_connection_register_object (self->bus, ITEM_PATH, node_info->interfaces[0],
                                                          &item_vtable, self, NULL, &error);
  if (self->registration == 0)
    {
      g_warning ("Cannot export the tray item: %s", error->message);
      return;
    }

  self->watch = g_bus_watch_name_on_connection (self->bus, WATCHER_NAME, G_BUS_NAME_WATCHER_FLAGS_NONE,
                                                on_watcher_appeared, on_watcher_vanished, self, NULL);
}

static void
us_tray_dispose (GObject *object)
{
  UsTray *self = US_TRAY (object);

  g_clear_handle_id (&self->watch, g_bus_unwatch_name);
  stop_registering (self);
  if (self->registration != 0)
    g_dbus_connection_unregister_object (self->bus, self->registration);
  self->registration = 0;
  if (self->dbusmenu != NULL)
    us_dbusmenu_unexport (self->dbusmenu);
  g_clear_object (&self->dbusmenu);
  g_clear_object (&self->menu);
  g_clear_object (&self->status_section);
  g_clear_object (&self->chain_section);
  g_clear_object (&self->actions);
  g_clear_object (&self->bus);

  G_OBJECT_CLASS (us_tray_parent_class)->dispose (object);
}

static void
us_tray_finalize (GObject *object)
{
  UsTray *self = US_TRAY (object);

  g_free (self->serving);
  g_free (self->activation_token);
  g_free (self->icon_theme_path);
  g_strfreev (self->chain);
  for (guint i = 0; i < G_N_ELEMENTS (self->pixmaps); i++)
    g_clear_pointer (&self->pixmaps[i], g_variant_unref);

  G_OBJECT_CLASS (us_tray_parent_class)->finalize (object);
}

static void
us_tray_get_property (GObject    *object,
                      guint       prop_id,
                      GValue     *value,
                      GParamSpec *pspec)
{
  UsTray *self = US_TRAY (object);

  switch (prop_id)
    {
    case PROP_BUS:
      g_value_set_object (value, self->bus);
      break;
    case PROP_ACTIONS:
      g_value_set_object (value, self->actions);
      break;
    case PROP_STATE:
      g_value_set_enum (value, self->state);
      break;
    case PROP_SERVING:
      g_value_set_string (value, self->serving);
      break;
    case PROP_REGISTERED:
      g_value_set_boolean (value, self->registered);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
us_tray_set_property (GObject      *object,
                      guint         prop_id,
                      const GValue *value,
                      GParamSpec   *pspec)
{
  UsTray *self = US_TRAY (object);

  switch (prop_id)
    {
    case PROP_BUS:
      self->bus = g_value_dup_object (value);
      break;
    case PROP_ACTIONS:
      self->actions = g_value_dup_object (value);
      break;
    case PROP_STATE:
      us_tray_set_state (self, g_value_get_enum (value));
      break;
    case PROP_SERVING:
      us_tray_set_serving (self, g_value_get_string (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
us_tray_class_init (UsTrayClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = us_tray_constructed;
  object_class->dispose = us_tray_dispose;
  object_class->finalize = us_tray_finalize;
  object_class->get_property = us_tray_get_property;
  object_class->set_property = us_tray_set_property;

  properties[PROP_BUS] =
    g_param_spec_object ("bus", NULL, NULL, G_TYPE_DBUS_CONNECTION,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_ACTIONS] =
    g_param_spec_object ("actions", NULL, NULL, G_TYPE_ACTION_GROUP,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_STATE] =
    g_param_spec_enum ("state", NULL, NULL, US_TYPE_TRAY_STATE, US_TRAY_ACTIVE,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SERVING] =
    g_param_spec_string ("serving", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_REGISTERED] =
    g_param_spec_boolean ("registered", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
us_tray_init (UsTray *self)
{
  self->state = US_TRAY_ACTIVE;
}

UsTray *
us_tray_new (GDBusConnection *bus,
             GActionGroup    *actions)
{
  g_return_val_if_fail (G_IS_DBUS_CONNECTION (bus), NULL);
  g_return_val_if_fail (G_IS_ACTION_GROUP (actions), NULL);

  return g_object_new (US_TYPE_TRAY, "bus", bus, "actions", actions, NULL);
}

void
us_tray_set_state (UsTray      *self,
                   UsTrayState  state)
{
  const char *old_status;
  const char *invalidated[] = { "IconPixmap", "AttentionIconPixmap", NULL };
  GVariantBuilder changed;

  g_return_if_fail (US_IS_TRAY (self));
  g_return_if_fail (state <= US_TRAY_ERROR);

  if (self->state == state)
    return;

  old_status = status_for_state (self->state);
  self->state = state;

  g_variant_builder_init (&changed, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&changed, "{sv}", "IconName", g_variant_new_string (icon_names[state]));
  g_variant_builder_add (&changed, "{sv}", "AttentionIconName", g_variant_new_string (icon_names[state]));
  g_variant_builder_add (&changed, "{sv}", "Status", g_variant_new_string (status_for_state (state)));
  g_variant_builder_add (&changed, "{sv}", "ToolTip", tooltip_variant (self));
  emit_properties_changed (self, g_variant_builder_end (&changed), invalidated);

  if (!g_str_equal (old_status, status_for_state (state)))
    emit_item_signal (self, "NewStatus", g_variant_new ("(s)", status_for_state (state)));
  emit_item_signal (self, "NewIcon", NULL);
  emit_item_signal (self, "NewAttentionIcon", NULL);
  emit_item_signal (self, "NewToolTip", NULL);

  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
}

UsTrayState
us_tray_get_state (UsTray *self)
{
  g_return_val_if_fail (US_IS_TRAY (self), US_TRAY_ACTIVE);

  return self->state;
}

void
us_tray_set_serving (UsTray     *self,
                     const char *model)
{
  const char *no_invalidated[] = { NULL };
  GVariantBuilder changed;

  g_return_if_fail (US_IS_TRAY (self));

  if (g_strcmp0 (self->serving, model) == 0)
    return;

  g_free (self->serving);
  self->serving = g_strdup (model);
  update_serving_item (self);

  g_variant_builder_init (&changed, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&changed, "{sv}", "ToolTip", tooltip_variant (self));
  emit_properties_changed (self, g_variant_builder_end (&changed), no_invalidated);
  emit_item_signal (self, "NewToolTip", NULL);

  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SERVING]);
}

void
us_tray_set_chain (UsTray             *self,
                   const char * const *labels)
{
  const char * const no_labels[] = { NULL };

  g_return_if_fail (US_IS_TRAY (self));

  /* Callers may repeat the same chain on every health tick: no layout change then. */
  if (labels == NULL)
    labels = no_labels;
  if (self->chain != NULL && g_strv_equal ((const char * const *) self->chain, labels))
    return;
  g_strfreev (self->chain);
  self->chain = g_strdupv ((char **) labels);

  g_menu_remove_all (self->chain_section);
  for (guint i = 0; labels != NULL && labels[i] != NULL; i++)
    {
      g_autofree char *escaped = escape_mnemonic (labels[i]);

      g_menu_append (self->chain_section, escaped, NULL);
    }
}

gboolean
us_tray_get_registered (UsTray *self)
{
  g_return_val_if_fail (US_IS_TRAY (self), FALSE);

  return self->registered;
}

char *
us_tray_take_activation_token (UsTray *self)
{
  g_return_val_if_fail (US_IS_TRAY (self), NULL);

  return g_steal_pointer (&self->activation_token);
}
