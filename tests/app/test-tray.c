/* test-tray.c: the tray item as tray hosts see it.
 *
 * Runs inside a private dbus-run-session (run-tray-test.sh) with the real
 * status-notifier-watcher and the real dbusmenu-dumper. The tray is served
 * on one connection and questioned from another, as a host would.
 */
#include <signal.h>
#include <string.h>

#include "us-tray.h"

#define WATCHER_NAME "org.kde.StatusNotifierWatcher"
#define ITEM_IFACE   "org.kde.StatusNotifierItem"
#define MENU_IFACE   "com.canonical.dbusmenu"
#define APP_ID       "io.github.understudy.Understudy"

typedef struct {
  GDBusConnection    *service;   /* the tray's own connection */
  GDBusConnection    *client;    /* the host's */
  const char         *unique;
  GSubprocess        *watcher;
  GSimpleActionGroup *actions;
  UsTray             *tray;
  guint               open_count;
  guint               quit_count;
  GPtrArray          *signals;   /* "Member" or "NewStatus:Status" as received */
  GVariant           *last_changed;      /* PropertiesChanged's changed dict */
  GVariant           *last_items_update; /* ItemsPropertiesUpdated's parameters */
  guint               last_layout_revision;
} Fixture;

static Fixture f;

/* Spins the main loop until @cond holds, failing after 10 s. */
#define WAIT_FOR(cond) G_STMT_START {                                      \
    gint64 wait_end = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;      \
    while (!(cond))                                                        \
      {                                                                    \
        if (g_get_monotonic_time () > wait_end)                           \
          g_error ("Timed out waiting for %s", #cond);                     \
        g_main_context_iteration (NULL, TRUE);                             \
      }                                                                    \
  } G_STMT_END

static gboolean
wake (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

static void
got_result (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

/* A host's call, answered by the tray on this same main loop. */
static GVariant *
call_full (const char          *dest,
           const char          *path,
           const char          *iface,
           const char          *method,
           GVariant            *params,
           const GVariantType  *reply_type,
           GError             **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  g_dbus_connection_call (f.client, dest, path, iface, method, params, reply_type,
                          G_DBUS_CALL_FLAGS_NO_AUTO_START, 5000, NULL, got_result, &result);
  WAIT_FOR (result != NULL);
  return g_dbus_connection_call_finish (f.client, result, error);
}

static GVariant *
call (const char         *path,
      const char         *iface,
      const char         *method,
      GVariant           *params,
      const GVariantType *reply_type)
{
  g_autoptr(GError) error = NULL;
  GVariant *reply = call_full (f.unique, path, iface, method, params, reply_type, &error);

  g_assert_no_error (error);
  return reply;
}

static GVariant *
get_all_item_properties (void)
{
  g_autoptr(GVariant) reply = call ("/StatusNotifierItem", "org.freedesktop.DBus.Properties", "GetAll",
                                    g_variant_new ("(s)", ITEM_IFACE), G_VARIANT_TYPE ("(a{sv})"));

  return g_variant_get_child_value (reply, 0);
}

static char *
item_string_property (const char *name)
{
  g_autoptr(GVariant) props = get_all_item_properties ();
  char *value = NULL;

  g_assert_true (g_variant_lookup (props, name, "s", &value));
  return value;
}

static gboolean
name_has_owner (const char *name)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = call_full ("org.freedesktop.DBus", "/org/freedesktop/DBus",
                                         "org.freedesktop.DBus", "NameHasOwner",
                                         g_variant_new ("(s)", name), G_VARIANT_TYPE ("(b)"), &error);
  gboolean owned;

  g_assert_no_error (error);
  g_variant_get (reply, "(b)", &owned);
  return owned;
}

static void
start_watcher (void)
{
  g_autoptr(GError) error = NULL;

  g_assert_false (name_has_owner (WATCHER_NAME));
  f.watcher = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE, &error,
                                "/usr/bin/status-notifier-watcher", NULL);
  g_assert_no_error (error);
  WAIT_FOR (name_has_owner (WATCHER_NAME));
}

static void
stop_watcher (void)
{
  g_autoptr(GAsyncResult) result = NULL;

  g_subprocess_send_signal (f.watcher, SIGTERM);
  g_subprocess_wait_async (f.watcher, NULL, got_result, &result);
  WAIT_FOR (result != NULL);
  g_clear_object (&f.watcher);
  WAIT_FOR (!name_has_owner (WATCHER_NAME));
}

static GVariant *
watcher_property (const char *name)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = call_full (WATCHER_NAME, "/StatusNotifierWatcher",
                                         "org.freedesktop.DBus.Properties", "Get",
                                         g_variant_new ("(ss)", WATCHER_NAME, name),
                                         G_VARIANT_TYPE ("(v)"), &error);
  GVariant *value;

  g_assert_no_error (error);
  g_variant_get (reply, "(v)", &value);
  return value;
}

/* status-notifier-watcher lists the item by its bus name, and keeps the
 * object path we gave it in RegisteredSNIEntries. */
static gboolean
watcher_lists_tray (void)
{
  g_autoptr(GVariant) items = watcher_property ("RegisteredStatusNotifierItems");
  g_autoptr(GVariant) entries = watcher_property ("RegisteredSNIEntries");
  g_autofree char *printed_items = g_variant_print (items, FALSE);
  g_autofree char *printed_entries = g_variant_print (entries, FALSE);
  g_autofree const char **names = g_variant_get_strv (items, NULL);
  GVariantIter iter;
  const char *name, *path;
  gboolean entry_found = FALSE;

  g_test_message ("watcher lists %s, entries %s", printed_items, printed_entries);
  g_variant_iter_init (&iter, entries);
  while (g_variant_iter_next (&iter, "(&s&s)", &name, &path))
    entry_found |= g_str_equal (name, f.unique) && g_str_equal (path, "/StatusNotifierItem");
  return entry_found && g_strv_contains (names, f.unique);
}

static void
on_signal (GDBusConnection *connection,
           const char      *sender,
           const char      *path,
           const char      *iface,
           const char      *member,
           GVariant        *params,
           gpointer         user_data)
{
  if (g_str_equal (member, "NewStatus"))
    {
      const char *status;

      g_variant_get (params, "(&s)", &status);
      g_ptr_array_add (f.signals, g_strconcat (member, ":", status, NULL));
      return;
    }

  g_ptr_array_add (f.signals, g_strdup (member));
  if (g_str_equal (member, "PropertiesChanged"))
    {
      g_assert_cmpstr (path, ==, "/StatusNotifierItem");
      g_clear_pointer (&f.last_changed, g_variant_unref);
      f.last_changed = g_variant_get_child_value (params, 1);
    }
  else if (g_str_equal (member, "ItemsPropertiesUpdated"))
    {
      g_assert_cmpstr (path, ==, "/MenuBar");
      g_clear_pointer (&f.last_items_update, g_variant_unref);
      f.last_items_update = g_variant_ref (params);
    }
  else if (g_str_equal (member, "LayoutUpdated"))
    g_variant_get (params, "(ui)", &f.last_layout_revision, NULL);
}

static gboolean
received (const char *signal)
{
  for (guint i = 0; i < f.signals->len; i++)
    if (g_str_equal (g_ptr_array_index (f.signals, i), signal))
      return TRUE;
  return FALSE;
}

static void
forget_signals (void)
{
  g_ptr_array_set_size (f.signals, 0);
  g_clear_pointer (&f.last_changed, g_variant_unref);
  g_clear_pointer (&f.last_items_update, g_variant_unref);
}

static gboolean
routing_state (void)
{
  g_autoptr(GVariant) state = g_action_group_get_action_state (G_ACTION_GROUP (f.actions), "routing");

  return g_variant_get_boolean (state);
}

static void
on_activate_count (GSimpleAction *action,
                   GVariant      *parameter,
                   gpointer       user_data)
{
  (*(guint *) user_data)++;
}

/* The menu's children as (id, props) pairs. */
static GVariant *
menu_layout (guint *revision)
{
  g_autoptr(GVariant) reply = call ("/MenuBar", MENU_IFACE, "GetLayout",
                                    g_variant_new_parsed ("(0, -1, @as [])"),
                                    G_VARIANT_TYPE ("(u(ia{sv}av))"));
  GVariant *layout;

  g_variant_get (reply, "(u@(ia{sv}av))", revision, &layout);
  return layout;
}

static int
menu_item_id (const char *label)
{
  guint revision;
  g_autoptr(GVariant) layout = menu_layout (&revision);
  g_autoptr(GVariant) children = g_variant_get_child_value (layout, 2);

  for (gsize i = 0; i < g_variant_n_children (children); i++)
    {
      g_autoptr(GVariant) boxed = g_variant_get_child_value (children, i);
      g_autoptr(GVariant) child = g_variant_get_variant (boxed);
      g_autoptr(GVariant) props = g_variant_get_child_value (child, 1);
      const char *item_label;
      int id;

      g_variant_get_child (child, 0, "i", &id);
      if (g_variant_lookup (props, "label", "&s", &item_label) && g_str_equal (item_label, label))
        return id;
    }
  g_error ("No menu item labelled %s", label);
}

static int
toggle_state_in_update (int id)
{
  g_autoptr(GVariant) updated = NULL;
  GVariantIter iter;
  GVariant *props;
  int item_id;

  if (f.last_items_update == NULL)
    return -1;
  updated = g_variant_get_child_value (f.last_items_update, 0);
  g_variant_iter_init (&iter, updated);
  while (g_variant_iter_loop (&iter, "(i@a{sv})", &item_id, &props))
    {
      int state;

      if (item_id == id && g_variant_lookup (props, "toggle-state", "i", &state))
        {
          g_variant_unref (props);
          return state;
        }
    }
  return -1;
}

static void
menu_event (int         id,
            const char *event)
{
  g_variant_unref (call ("/MenuBar", MENU_IFACE, "Event",
                         g_variant_new ("(isvu)", id, event, g_variant_new_int32 (0), 0), NULL));
}

static void
test_registration (void)
{
  f.tray = us_tray_new (f.service, G_ACTION_GROUP (f.actions));
  g_assert_false (us_tray_get_registered (f.tray));

  WAIT_FOR (us_tray_get_registered (f.tray));
  g_assert_true (watcher_lists_tray ());
}

static void
test_properties (void)
{
  g_autoptr(GVariant) props = get_all_item_properties ();
  g_autoptr(GVariant) pixmaps = NULL;
  g_autoptr(GVariant) tooltip = NULL;
  g_autofree char *theme_path = g_build_filename (g_getenv ("US_SOURCE_ROOT"), "icons", NULL);
  const char *text;
  gboolean is_menu;
  GVariantIter iter;
  GVariant *data;
  int width, height;
  guint sizes_seen = 0;

  g_assert_true (g_variant_lookup (props, "Id", "&s", &text));
  g_assert_cmpstr (text, ==, APP_ID);
  g_assert_true (g_variant_lookup (props, "Category", "&s", &text));
  g_assert_cmpstr (text, ==, "ApplicationStatus");
  g_assert_true (g_variant_lookup (props, "Status", "&s", &text));
  g_assert_cmpstr (text, ==, "Active");
  g_assert_true (g_variant_lookup (props, "Title", "&s", &text));
  g_assert_cmpstr (text, ==, "Understudy");
  g_assert_true (g_variant_lookup (props, "IconName", "&s", &text));
  g_assert_cmpstr (text, ==, APP_ID "-routing-symbolic");
  g_assert_true (g_variant_lookup (props, "AttentionIconName", "&s", &text));
  g_assert_cmpstr (text, ==, APP_ID "-routing-symbolic");
  g_assert_true (g_variant_lookup (props, "IconThemePath", "&s", &text));
  g_assert_cmpstr (text, ==, theme_path);
  g_assert_true (g_variant_lookup (props, "Menu", "&o", &text));
  g_assert_cmpstr (text, ==, "/MenuBar");
  g_assert_true (g_variant_lookup (props, "ItemIsMenu", "b", &is_menu));
  g_assert_false (is_menu);

  tooltip = g_variant_lookup_value (props, "ToolTip", G_VARIANT_TYPE ("(sa(iiay)ss)"));
  g_assert_nonnull (tooltip);
  g_variant_get_child (tooltip, 0, "&s", &text);
  g_assert_cmpstr (text, ==, APP_ID "-routing-symbolic");
  g_variant_get_child (tooltip, 2, "&s", &text);
  g_assert_cmpstr (text, ==, "Understudy");
  g_variant_get_child (tooltip, 3, "&s", &text);
  g_assert_cmpstr (text, ==, "Routing on");

  pixmaps = g_variant_lookup_value (props, "IconPixmap", G_VARIANT_TYPE ("a(iiay)"));
  g_assert_nonnull (pixmaps);
  g_assert_cmpuint (g_variant_n_children (pixmaps), ==, 4);
  g_variant_iter_init (&iter, pixmaps);
  while (g_variant_iter_loop (&iter, "(ii@ay)", &width, &height, &data))
    {
      gsize len;
      const guint8 *argb = g_variant_get_fixed_array (data, &len, 1);

      g_assert_cmpint (width, ==, height);
      g_assert_cmpuint (len, ==, 4 * (gsize) width * height);
      switch (width)
        {
        case 16:
          sizes_seen |= 1;
          /* (12, 8) is inside the arrow head: opaque #bebebe, alpha first. */
          g_assert_cmphex (argb[(8 * 16 + 12) * 4 + 0], ==, 0xff);
          g_assert_cmphex (argb[(8 * 16 + 12) * 4 + 1], ==, 0xbe);
          g_assert_cmphex (argb[(8 * 16 + 12) * 4 + 2], ==, 0xbe);
          g_assert_cmphex (argb[(8 * 16 + 12) * 4 + 3], ==, 0xbe);
          /* (0, 0) is outside it: transparent. */
          g_assert_cmphex (argb[0], ==, 0x00);
          break;
        case 22: sizes_seen |= 2; break;
        case 32: sizes_seen |= 4; break;
        case 48: sizes_seen |= 8; break;
        default: g_assert_not_reached ();
        }
    }
  g_assert_cmphex (sizes_seen, ==, 0xf);
}

static const char * const chain[] = {
  "anthropic/claude-opus-4-5 — rate limited until 14:05",
  "zai/glm_4.6 — healthy",
  NULL,
};

static void
test_menu_dumper (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) dumper = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autofree char *out = NULL;
  guint revision = f.last_layout_revision;
  /* The dumper prints labels raw (mnemonic underscores doubled) and props sorted by name. */
  const char *order[] = { "'Route requests'", "\"toggle-state\": 1", "\"toggle-type\": 'checkmark'",
                          "'Serving: zai/glm__4.6'", "'separator'", "'anthropic/claude-opus-4-5 ",
                          "'zai/glm__4.6 ", "'separator'", "'Open Understudy'", "'Quit'", NULL };
  const char *at;

  forget_signals ();
  us_tray_set_serving (f.tray, "zai/glm_4.6");
  us_tray_set_chain (f.tray, chain);
  WAIT_FOR (received ("LayoutUpdated"));
  g_assert_cmpuint (f.last_layout_revision, >, revision);
  g_assert_true (received ("NewToolTip"));

  dumper = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error, "/usr/libexec/dbusmenu-dumper",
                             "-d", f.unique, "-o", "/MenuBar", NULL);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8_async (dumper, NULL, NULL, got_result, &result);
  WAIT_FOR (result != NULL);
  g_subprocess_communicate_utf8_finish (dumper, result, &out, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_exited (dumper));
  g_assert_cmpint (g_subprocess_get_exit_status (dumper), ==, 0);
  g_test_message ("dbusmenu-dumper:\n%s", out);

  /* The items in order, the toggle checked, the labels that do nothing disabled. */
  at = out;
  for (guint i = 0; order[i] != NULL; i++)
    {
      const char *next = strstr (at, order[i]);

      if (next == NULL)
        g_error ("dbusmenu-dumper does not show %s after the items before it", order[i]);
      at = next + strlen (order[i]);
    }
  g_assert_nonnull (strstr (out, "\"enabled\": false,\n        \"label\": 'Serving: "));
  g_assert_null (strstr (out, "\"enabled\": false,\n        \"label\": 'Quit'"));
}

static void
test_menu_protocol (void)
{
  guint revision;
  g_autoptr(GVariant) layout = menu_layout (&revision);
  g_autoptr(GVariant) root_props = g_variant_get_child_value (layout, 1);
  g_autoptr(GVariant) children = g_variant_get_child_value (layout, 2);
  g_autoptr(GVariant) group = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) value = NULL;
  g_autoptr(GError) error = NULL;
  const char *expected[] = { "Route requests", "Serving: zai/glm__4.6", "-",
                             chain[0], "zai/glm__4.6 — healthy", "-", "Open Understudy", "Quit" };
  int root_id, toggle_id, serving_id;
  const char *text;
  gboolean need_update;

  g_assert_cmpuint (revision, ==, f.last_layout_revision);
  g_variant_get_child (layout, 0, "i", &root_id);
  g_assert_cmpint (root_id, ==, 0);
  g_assert_true (g_variant_lookup (root_props, "children-display", "&s", &text));
  g_assert_cmpstr (text, ==, "submenu");

  /* Underscores are doubled: labels read "_" as a mnemonic. */
  g_assert_cmpuint (g_variant_n_children (children), ==, G_N_ELEMENTS (expected));
  for (gsize i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      g_autoptr(GVariant) boxed = g_variant_get_child_value (children, i);
      g_autoptr(GVariant) child = g_variant_get_variant (boxed);
      g_autoptr(GVariant) props = g_variant_get_child_value (child, 1);
      gboolean enabled;

      if (g_str_equal (expected[i], "-"))
        {
          g_assert_true (g_variant_lookup (props, "type", "&s", &text));
          g_assert_cmpstr (text, ==, "separator");
          continue;
        }
      g_assert_true (g_variant_lookup (props, "label", "&s", &text));
      g_assert_cmpstr (text, ==, expected[i]);
      g_assert_true (g_variant_lookup (props, "enabled", "b", &enabled));
      /* Only the toggle, Open and Quit do something. */
      g_assert_cmpint (enabled, ==, i == 0 || i >= 6);
    }

  toggle_id = menu_item_id ("Route requests");
  serving_id = menu_item_id ("Serving: zai/glm__4.6");

  /* The root always answers, even when not asked for; a filter keeps only the named property. */
  group = call ("/MenuBar", MENU_IFACE, "GetGroupProperties",
                g_variant_new_parsed ("([%i], ['label'])", toggle_id), G_VARIANT_TYPE ("(a(ia{sv}))"));
  {
    g_autofree char *printed = g_variant_print (group, FALSE);
    g_autofree char *want = g_strdup_printf ("([(0, {}), (%d, {'label': <'Route requests'>})],)", toggle_id);

    g_assert_cmpstr (printed, ==, want);
  }
  g_clear_pointer (&group, g_variant_unref);
  group = call ("/MenuBar", MENU_IFACE, "GetGroupProperties",
                g_variant_new_parsed ("(@ai [], @as [])"), G_VARIANT_TYPE ("(a(ia{sv}))"));
  {
    g_autoptr(GVariant) items = g_variant_get_child_value (group, 0);
    int first_id;

    g_assert_cmpuint (g_variant_n_children (items), ==, G_N_ELEMENTS (expected) + 1);
    g_variant_get_child (items, 0, "(i@a{sv})", &first_id, NULL);
    g_assert_cmpint (first_id, ==, 0);
  }

  reply = call ("/MenuBar", MENU_IFACE, "GetProperty",
                g_variant_new ("(is)", serving_id, "enabled"), G_VARIANT_TYPE ("(v)"));
  g_variant_get (reply, "(v)", &value);
  g_assert_false (g_variant_get_boolean (value));
  g_clear_pointer (&reply, g_variant_unref);

  reply = call ("/MenuBar", MENU_IFACE, "AboutToShow", g_variant_new ("(i)", 0), G_VARIANT_TYPE ("(b)"));
  g_variant_get (reply, "(b)", &need_update);
  g_assert_false (need_update);
  g_clear_pointer (&reply, g_variant_unref);

  reply = call ("/MenuBar", MENU_IFACE, "AboutToShowGroup",
                g_variant_new_parsed ("([0, %i, 9999],)", toggle_id), G_VARIANT_TYPE ("(aiai)"));
  {
    g_autofree char *printed = g_variant_print (reply, FALSE);

    g_assert_cmpstr (printed, ==, "([], [9999])");
  }
  g_clear_pointer (&reply, g_variant_unref);

  reply = call_full (f.unique, "/MenuBar", MENU_IFACE, "Event",
                     g_variant_new ("(isvu)", 9999, "clicked", g_variant_new_int32 (0), 0), NULL, &error);
  g_assert_null (reply);
  g_assert_error (error, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS);
  g_clear_error (&error);

  reply = call_full (f.unique, "/MenuBar", "org.freedesktop.DBus.Properties", "Get",
                     g_variant_new ("(ss)", MENU_IFACE, "Version"), G_VARIANT_TYPE ("(v)"), &error);
  g_assert_no_error (error);
  g_clear_pointer (&value, g_variant_unref);
  g_variant_get (reply, "(v)", &value);
  g_assert_cmpuint (g_variant_get_uint32 (value), ==, 3);
}

static void
test_activate (void)
{
  int toggle_id = menu_item_id ("Route requests");
  g_autoptr(GVariant) reply = NULL;
  g_autofree char *icon = NULL;
  g_autofree char *status = NULL;
  const char *changed_icon;

  g_assert_true (routing_state ());
  forget_signals ();
  reply = call ("/StatusNotifierItem", ITEM_IFACE, "Activate", g_variant_new ("(ii)", 0, 0), NULL);

  g_assert_false (routing_state ());
  g_assert_cmpint (us_tray_get_state (f.tray), ==, US_TRAY_PAUSED);
  WAIT_FOR (received ("NewToolTip") && toggle_state_in_update (toggle_id) == 0);
  g_assert_true (received ("NewIcon"));
  g_assert_true (received ("PropertiesChanged"));
  g_assert_true (g_variant_lookup (f.last_changed, "IconName", "&s", &changed_icon));
  g_assert_cmpstr (changed_icon, ==, APP_ID "-paused-symbolic");
  /* Paused is still Active: Passive would hide the item. NewStatus comes before NewIcon. */
  g_assert_false (received ("NewStatus:Active"));

  icon = item_string_property ("IconName");
  g_assert_cmpstr (icon, ==, APP_ID "-paused-symbolic");
  status = item_string_property ("Status");
  g_assert_cmpstr (status, ==, "Active");

  /* Activate again: back on. */
  forget_signals ();
  g_clear_pointer (&reply, g_variant_unref);
  reply = call ("/StatusNotifierItem", ITEM_IFACE, "Activate", g_variant_new ("(ii)", 0, 0), NULL);
  g_assert_true (routing_state ());
  WAIT_FOR (received ("NewIcon") && toggle_state_in_update (toggle_id) == 1);
  g_assert_cmpint (us_tray_get_state (f.tray), ==, US_TRAY_ACTIVE);
}

static void
test_menu_toggle (void)
{
  int toggle_id = menu_item_id ("Route requests");

  forget_signals ();
  menu_event (toggle_id, "clicked");
  g_assert_false (routing_state ());
  WAIT_FOR (toggle_state_in_update (toggle_id) == 0 && received ("NewIcon"));

  /* Only a click acts. */
  menu_event (toggle_id, "hovered");
  g_assert_false (routing_state ());

  forget_signals ();
  menu_event (toggle_id, "clicked");
  g_assert_true (routing_state ());
  WAIT_FOR (toggle_state_in_update (toggle_id) == 1);
}

static void
test_follow_routing (void)
{
  int toggle_id = menu_item_id ("Route requests");

  /* The switch flipped elsewhere (window, notification, command line). */
  forget_signals ();
  g_action_group_change_action_state (G_ACTION_GROUP (f.actions), "routing", g_variant_new_boolean (FALSE));
  g_assert_cmpint (us_tray_get_state (f.tray), ==, US_TRAY_PAUSED);
  WAIT_FOR (toggle_state_in_update (toggle_id) == 0 && received ("NewIcon"));

  forget_signals ();
  g_action_group_change_action_state (G_ACTION_GROUP (f.actions), "routing", g_variant_new_boolean (TRUE));
  g_assert_cmpint (us_tray_get_state (f.tray), ==, US_TRAY_ACTIVE);
  WAIT_FOR (toggle_state_in_update (toggle_id) == 1 && received ("NewIcon"));
}

static void
test_states (void)
{
  g_autoptr(GVariant) props = NULL;
  g_autoptr(GVariant) tooltip = NULL;
  g_autoptr(GVariant) pixmaps = NULL;
  g_autoptr(GVariant) routing_pixmaps = NULL;
  const char *text;

  props = get_all_item_properties ();
  routing_pixmaps = g_variant_lookup_value (props, "IconPixmap", NULL);
  g_clear_pointer (&props, g_variant_unref);

  forget_signals ();
  us_tray_set_state (f.tray, US_TRAY_FAILOVER);
  WAIT_FOR (received ("NewToolTip"));
  g_assert_true (received ("NewStatus:NeedsAttention"));
  g_assert_true (received ("NewIcon"));

  props = get_all_item_properties ();
  g_assert_true (g_variant_lookup (props, "Status", "&s", &text));
  g_assert_cmpstr (text, ==, "NeedsAttention");
  g_assert_true (g_variant_lookup (props, "IconName", "&s", &text));
  g_assert_cmpstr (text, ==, APP_ID "-failover-symbolic");
  g_assert_true (g_variant_lookup (props, "AttentionIconName", "&s", &text));
  g_assert_cmpstr (text, ==, APP_ID "-failover-symbolic");
  tooltip = g_variant_lookup_value (props, "ToolTip", NULL);
  g_variant_get_child (tooltip, 3, "&s", &text);
  g_assert_cmpstr (text, ==, "Failing over, serving zai/glm_4.6");
  pixmaps = g_variant_lookup_value (props, "IconPixmap", NULL);
  g_assert_cmpuint (g_variant_n_children (pixmaps), ==, 4);
  g_assert_false (g_variant_equal (pixmaps, routing_pixmaps));

  /* Error to error keeps the status: no NewStatus. Routing off does not hide an error. */
  forget_signals ();
  us_tray_set_state (f.tray, US_TRAY_ERROR);
  WAIT_FOR (received ("NewToolTip"));
  g_assert_false (received ("NewStatus:NeedsAttention"));
  g_action_group_change_action_state (G_ACTION_GROUP (f.actions), "routing", g_variant_new_boolean (FALSE));
  g_assert_cmpint (us_tray_get_state (f.tray), ==, US_TRAY_ERROR);
  g_action_group_change_action_state (G_ACTION_GROUP (f.actions), "routing", g_variant_new_boolean (TRUE));

  forget_signals ();
  us_tray_set_state (f.tray, US_TRAY_ACTIVE);
  WAIT_FOR (received ("NewStatus:Active"));
  WAIT_FOR (received ("NewToolTip"));
}

static void
test_open_quit (void)
{
  g_autoptr(GVariant) reply = NULL;

  menu_event (menu_item_id ("Open Understudy"), "clicked");
  g_assert_cmpuint (f.open_count, ==, 1);
  g_assert_cmpuint (f.quit_count, ==, 0);

  menu_event (menu_item_id ("Quit"), "clicked");
  g_assert_cmpuint (f.quit_count, ==, 1);

  /* A disabled label does nothing. */
  menu_event (menu_item_id ("Serving: zai/glm__4.6"), "clicked");
  g_assert_cmpuint (f.open_count + f.quit_count, ==, 2);
  g_assert_true (routing_state ());

  reply = call ("/MenuBar", MENU_IFACE, "EventGroup",
                g_variant_new_parsed ("([(%i, 'clicked', <0>, @u 0), (4242, 'clicked', <0>, 0)],)",
                                      menu_item_id ("Open Understudy")),
                G_VARIANT_TYPE ("(ai)"));
  {
    g_autofree char *printed = g_variant_print (reply, FALSE);

    g_assert_cmpstr (printed, ==, "([4242],)");
  }
  g_assert_cmpuint (f.open_count, ==, 2);
  g_clear_pointer (&reply, g_variant_unref);

  /* Middle click opens the window, and so does a host that cannot show the menu. */
  reply = call ("/StatusNotifierItem", ITEM_IFACE, "SecondaryActivate", g_variant_new ("(ii)", 0, 0), NULL);
  g_assert_cmpuint (f.open_count, ==, 3);
  g_clear_pointer (&reply, g_variant_unref);
  reply = call ("/StatusNotifierItem", ITEM_IFACE, "ContextMenu", g_variant_new ("(ii)", 0, 0), NULL);
  g_assert_cmpuint (f.open_count, ==, 4);
  g_clear_pointer (&reply, g_variant_unref);

  /* Scrolling changes nothing. */
  reply = call ("/StatusNotifierItem", ITEM_IFACE, "Scroll", g_variant_new ("(is)", 120, "vertical"), NULL);
  g_assert_cmpuint (f.open_count + f.quit_count, ==, 5);
  g_assert_true (routing_state ());
}

static void
test_chain_update (void)
{
  const char * const shorter[] = { "zai/glm_4.6 — healthy", NULL };
  int open_id = menu_item_id ("Open Understudy");
  guint revision = f.last_layout_revision;
  guint new_revision;
  g_autoptr(GVariant) layout = NULL;
  g_autoptr(GVariant) children = NULL;

  forget_signals ();
  us_tray_set_chain (f.tray, shorter);
  us_tray_set_serving (f.tray, NULL);
  WAIT_FOR (received ("LayoutUpdated"));
  g_assert_cmpuint (f.last_layout_revision, >, revision);

  /* The same chain again is no layout change: a round trip later, nothing was sent. */
  forget_signals ();
  us_tray_set_chain (f.tray, shorter);
  g_clear_pointer (&layout, g_variant_unref);
  layout = menu_layout (&new_revision);
  g_assert_cmpuint (new_revision, ==, f.last_layout_revision);
  g_assert_false (received ("LayoutUpdated"));

  g_clear_pointer (&layout, g_variant_unref);
  layout = menu_layout (&new_revision);
  g_assert_cmpuint (new_revision, ==, f.last_layout_revision);
  children = g_variant_get_child_value (layout, 2);
  g_assert_cmpuint (g_variant_n_children (children), ==, 7);
  /* An unchanged item keeps its id across a layout change. */
  g_assert_cmpint (menu_item_id ("Open Understudy"), ==, open_id);
  menu_item_id ("Serving: nothing yet");
}

static void
test_activation_token (void)
{
  g_autoptr(GVariant) reply = NULL;
  g_autofree char *token = NULL;
  g_autofree char *again = NULL;

  reply = call ("/StatusNotifierItem", ITEM_IFACE, "ProvideXdgActivationToken",
                g_variant_new ("(s)", "token-42"), NULL);
  token = us_tray_take_activation_token (f.tray);
  g_assert_cmpstr (token, ==, "token-42");
  again = us_tray_take_activation_token (f.tray);
  g_assert_null (again);
}

static void
test_watcher_restart (void)
{
  for (guint round = 0; round < 2; round++)
    {
      stop_watcher ();
      WAIT_FOR (!us_tray_get_registered (f.tray));

      start_watcher ();
      WAIT_FOR (us_tray_get_registered (f.tray));
      g_assert_true (watcher_lists_tray ());
    }
}

/* A disposed tray leaves nothing behind on the bus. */
static void
test_dispose (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;

  g_clear_object (&f.tray);
  reply = call_full (f.unique, "/StatusNotifierItem", "org.freedesktop.DBus.Properties", "GetAll",
                     g_variant_new ("(s)", ITEM_IFACE), NULL, &error);
  g_assert_null (reply);
  g_assert_true (g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_METHOD) ||
                 g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_OBJECT));
  g_clear_error (&error);
  reply = call_full (f.unique, "/MenuBar", MENU_IFACE, "AboutToShow", g_variant_new ("(i)", 0), NULL, &error);
  g_assert_null (reply);
  g_assert_true (g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_METHOD) ||
                 g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_OBJECT));
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *data_dirs = NULL;
  GSimpleAction *routing, *open, *quit;
  int status;

  g_test_init (&argc, &argv, NULL);

  /* The tray looks for its icons in the XDG data dirs: the source tree has them. */
  g_assert_nonnull (g_getenv ("US_SOURCE_ROOT"));
  data_dirs = g_strconcat (g_getenv ("US_SOURCE_ROOT"), ":",
                           g_getenv ("XDG_DATA_DIRS") ? g_getenv ("XDG_DATA_DIRS") : "/usr/local/share:/usr/share",
                           NULL);
  g_setenv ("XDG_DATA_DIRS", data_dirs, TRUE);
  g_setenv ("XDG_DATA_HOME", "/nonexistent/understudy-test", TRUE);

  f.service = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, &error);
  g_assert_no_error (error);
  f.unique = g_dbus_connection_get_unique_name (f.service);
  f.client = g_dbus_connection_new_for_address_sync (g_getenv ("DBUS_SESSION_BUS_ADDRESS"),
                                                     G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                                     G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                                     NULL, NULL, &error);
  g_assert_no_error (error);
  f.signals = g_ptr_array_new_with_free_func (g_free);
  g_dbus_connection_signal_subscribe (f.client, f.unique, NULL, NULL, NULL, NULL,
                                      G_DBUS_SIGNAL_FLAGS_NONE, on_signal, NULL, NULL);
  g_timeout_add (50, wake, NULL);

  f.actions = g_simple_action_group_new ();
  routing = g_simple_action_new_stateful ("routing", NULL, g_variant_new_boolean (TRUE));
  open = g_simple_action_new ("open", NULL);
  quit = g_simple_action_new ("quit", NULL);
  g_signal_connect (open, "activate", G_CALLBACK (on_activate_count), &f.open_count);
  g_signal_connect (quit, "activate", G_CALLBACK (on_activate_count), &f.quit_count);
  g_action_map_add_action (G_ACTION_MAP (f.actions), G_ACTION (routing));
  g_action_map_add_action (G_ACTION_MAP (f.actions), G_ACTION (open));
  g_action_map_add_action (G_ACTION_MAP (f.actions), G_ACTION (quit));
  g_object_unref (routing);
  g_object_unref (open);
  g_object_unref (quit);

  start_watcher ();

  /* In order: each test goes on from the state the one before left. */
  g_test_add_func ("/tray/registration", test_registration);
  g_test_add_func ("/tray/properties", test_properties);
  g_test_add_func ("/tray/menu-dumper", test_menu_dumper);
  g_test_add_func ("/tray/menu-protocol", test_menu_protocol);
  g_test_add_func ("/tray/activate", test_activate);
  g_test_add_func ("/tray/menu-toggle", test_menu_toggle);
  g_test_add_func ("/tray/follow-routing", test_follow_routing);
  g_test_add_func ("/tray/states", test_states);
  g_test_add_func ("/tray/open-quit", test_open_quit);
  g_test_add_func ("/tray/chain-update", test_chain_update);
  g_test_add_func ("/tray/activation-token", test_activation_token);
  g_test_add_func ("/tray/watcher-restart", test_watcher_restart);
  g_test_add_func ("/tray/dispose", test_dispose);
  status = g_test_run ();

  g_clear_object (&f.tray);
  stop_watcher ();
  forget_signals ();
  g_ptr_array_unref (f.signals);
  g_object_unref (f.actions);
  g_dbus_connection_close_sync (f.client, NULL, NULL);
  g_object_unref (f.client);
  g_object_unref (f.service);
  return status;
}
