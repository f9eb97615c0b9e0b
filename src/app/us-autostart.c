/* us-autostart.c: "Start at login".
 *
 * Outside Flatpak the switch is a file: $XDG_CONFIG_HOME/autostart/APP_ID.desktop,
 * a copy of the installed autostart entry (Exec=understudy --background).
 * Its presence is the state, read once when the app starts, before the main
 * loop has any work (one stat of a local file).
 *
 * Inside Flatpak the host's autostart directory is out of reach: the
 * Background portal writes the entry for us (DESKTOP.md, "Autostart"). The
 * portal cannot be asked what it did before, so what it granted is mirrored
 * into the same path in the sandbox's own config directory, which no session
 * reads: the switch starts from there, and asking the portal to let the app
 * run in the background (window closed, tray kept) keeps the user's choice.
 *
 * Changes run one at a time; a change asked for meanwhile runs after.
 */
#include "config.h"

#include <glib/gi18n.h>

#include "us-autostart.h"

#define PORTAL_BUS_NAME "org.freedesktop.portal.Desktop"
#define PORTAL_PATH     "/org/freedesktop/portal/desktop"

struct _UsAutostart
{
  GObject parent_instance;

  GDBusConnection *bus;
  GFile *file;
  GCancellable *cancellable;
  gboolean sandboxed;
  gboolean enabled;
  gboolean wanted;
  gboolean busy;
  gboolean asked_background;
  guint response_id;     /* the portal request's Response subscription */
};

G_DEFINE_FINAL_TYPE (UsAutostart, us_autostart, G_TYPE_OBJECT)

enum { PROP_0, PROP_ENABLED, N_PROPS };
static GParamSpec *properties[N_PROPS];

static void start_change (UsAutostart *self);

static void
finish_change (UsAutostart *self,
               gboolean     enabled,
               GError      *error)
{
  self->busy = FALSE;
  if (error != NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      g_warning ("Cannot change “Start at login”: %s", error->message);
      /* Do not retry what just failed: the switch shows what is. */
      self->wanted = self->enabled;
      return;
    }
  if (enabled != self->enabled)
    {
      self->enabled = enabled;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ENABLED]);
    }
  if (self->wanted != self->enabled)
    start_change (self);
}

/* ---- Outside Flatpak: the autostart file ------------------------------- */

/* Running from the build tree, the installed entry is absent: the same
 * entry, untranslated. */
static char *
generate_entry (gsize *length)
{
  g_autoptr(GKeyFile) entry = g_key_file_new ();

  g_key_file_set_string (entry, G_KEY_FILE_DESKTOP_GROUP, G_KEY_FILE_DESKTOP_KEY_NAME, "Understudy");
  g_key_file_set_string (entry, G_KEY_FILE_DESKTOP_GROUP, G_KEY_FILE_DESKTOP_KEY_COMMENT,
                         "Keep coding assistants working when their model is rate limited or down");
  g_key_file_set_string (entry, G_KEY_FILE_DESKTOP_GROUP, G_KEY_FILE_DESKTOP_KEY_EXEC, "understudy --background");
  g_key_file_set_string (entry, G_KEY_FILE_DESKTOP_GROUP, G_KEY_FILE_DESKTOP_KEY_ICON, APPLICATION_ID);
  g_key_file_set_boolean (entry, G_KEY_FILE_DESKTOP_GROUP, G_KEY_FILE_DESKTOP_KEY_TERMINAL, FALSE);
  g_key_file_set_string (entry, G_KEY_FILE_DESKTOP_GROUP, G_KEY_FILE_DESKTOP_KEY_TYPE,
                         G_KEY_FILE_DESKTOP_TYPE_APPLICATION);
  g_key_file_set_boolean (entry, G_KEY_FILE_DESKTOP_GROUP, G_KEY_FILE_DESKTOP_KEY_NO_DISPLAY, TRUE);
  g_key_file_set_boolean (entry, G_KEY_FILE_DESKTOP_GROUP, "X-GNOME-Autostart-enabled", TRUE);
  return g_key_file_to_data (entry, length, NULL);
}

/* In a worker thread: reading the installed entry and creating
 * ~/.config/autostart have no async GIO calls of their own. */
static void
prepare_entry_thread (GTask        *task,
                      gpointer      source,
                      gpointer      data,
                      GCancellable *cancellable)
{
  GFile *file = data;
  g_autoptr(GFile) dir = g_file_get_parent (file);
  g_autoptr(GError) error = NULL;
  char *contents = NULL;
  gsize length = 0;

  if (!g_file_get_contents (AUTOSTART_DESKTOP_FILE, &contents, &length, NULL))
    contents = generate_entry (&length);
  if (!g_file_make_directory_with_parents (dir, cancellable, &error) &&
      !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_EXISTS))
    {
      g_free (contents);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  g_task_return_pointer (task, g_bytes_new_take (contents, length), (GDestroyNotify) g_bytes_unref);
}

static void
on_entry_written (GObject      *source,
                  GAsyncResult *result,
                  gpointer      data)
{
  g_autoptr(UsAutostart) self = data;
  g_autoptr(GError) error = NULL;

  g_file_replace_contents_finish (G_FILE (source), result, NULL, &error);
  finish_change (self, TRUE, error);
}

static void
on_entry_prepared (GObject      *source,
                   GAsyncResult *result,
                   gpointer      data)
{
  g_autoptr(UsAutostart) self = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) contents = g_task_propagate_pointer (G_TASK (result), &error);

  if (contents == NULL)
    {
      finish_change (self, self->enabled, error);
      return;
    }
  /* Written beside, then renamed over: never half an entry. */
  g_file_replace_contents_bytes_async (self->file, contents, NULL, FALSE, G_FILE_CREATE_REPLACE_DESTINATION,
                                       self->cancellable, on_entry_written, g_object_ref (self));
}

static void
on_entry_deleted (GObject      *source,
                  GAsyncResult *result,
                  gpointer      data)
{
  g_autoptr(UsAutostart) self = data;
  g_autoptr(GError) error = NULL;

  if (!g_file_delete_finish (G_FILE (source), result, &error) &&
      g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
    g_clear_error (&error);
  finish_change (self, FALSE, error);
}

static void
change_file (UsAutostart *self,
             gboolean     enabled)
{
  if (enabled)
    {
      g_autoptr(GTask) task = g_task_new (self, self->cancellable, on_entry_prepared, g_object_ref (self));

      g_task_set_task_data (task, g_object_ref (self->file), g_object_unref);
      g_task_run_in_thread (task, prepare_entry_thread);
    }
  else
    g_file_delete_async (self->file, G_PRIORITY_DEFAULT, self->cancellable, on_entry_deleted, g_object_ref (self));
}

/* ---- Inside Flatpak: the Background portal ----------------------------- */

static void
unsubscribe_response (UsAutostart *self)
{
  if (self->response_id != 0)
    g_dbus_connection_signal_unsubscribe (self->bus, self->response_id);
  self->response_id = 0;
}

static void
on_portal_response (GDBusConnection *bus,
                    const char      *sender,
                    const char      *path,
                    const char      *interface,
                    const char      *signal,
                    GVariant        *parameters,
                    gpointer         data)
{
  UsAutostart *self = data;
  g_autoptr(GVariant) results = NULL;
  g_autoptr(GError) error = NULL;
  guint32 response;
  gboolean autostart = FALSE;

  unsubscribe_response (self);
  g_variant_get (parameters, "(u@a{sv})", &response, &results);
  if (response != 0)
    /* 1: the user said no; 2: the portal could not ask. */
    error = g_error_new (G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                         "the Background portal refused (response %u)", response);
  if (error != NULL)
    {
      finish_change (self, self->enabled, error);
      return;
    }
  g_variant_lookup (results, "autostart", "b", &autostart);
  change_file (self, autostart);
}

static void
on_background_requested (GObject      *source,
                         GAsyncResult *result,
                         gpointer      data)
{
  g_autoptr(UsAutostart) self = data;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  if (reply == NULL)
    {
      unsubscribe_response (self);
      finish_change (self, self->enabled, error);
    }
  /* Otherwise the answer comes as the request's Response signal. */
}

static void
request_background (UsAutostart *self)
{
  g_autofree char *token = g_strdup_printf ("understudy%u", g_random_int ());
  g_autofree char *sender = NULL;
  g_autofree char *request_path = NULL;
  const char * const commandline[] = { "understudy", "--background", NULL };
  GVariantBuilder options;

  if (self->bus == NULL)
    {
      g_autoptr(GError) error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED, "no session bus");

      finish_change (self, self->enabled, error);
      return;
    }
  /* The request's path is known before the call: subscribing first cannot
   * miss a fast Response. */
  sender = g_strdup (g_dbus_connection_get_unique_name (self->bus) + 1);
  g_strdelimit (sender, ".", '_');
  request_path = g_strdup_printf ("%s/request/%s/%s", PORTAL_PATH, sender, token);
  self->response_id = g_dbus_connection_signal_subscribe (self->bus, PORTAL_BUS_NAME,
                                                          "org.freedesktop.portal.Request", "Response",
                                                          request_path, NULL, G_DBUS_SIGNAL_FLAGS_NONE,
                                                          on_portal_response, self, NULL);

  g_variant_builder_init (&options, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&options, "{sv}", "handle_token", g_variant_new_string (token));
  g_variant_builder_add (&options, "{sv}", "reason",
                         g_variant_new_string (_("Understudy keeps routing your coding assistants in the background")));
  g_variant_builder_add (&options, "{sv}", "autostart", g_variant_new_boolean (self->wanted));
  g_variant_builder_add (&options, "{sv}", "commandline", g_variant_new_strv (commandline, -1));
  g_dbus_connection_call (self->bus, PORTAL_BUS_NAME, PORTAL_PATH, "org.freedesktop.portal.Background",
                          "RequestBackground", g_variant_new ("(sa{sv})", "", &options), G_VARIANT_TYPE ("(o)"),
                          G_DBUS_CALL_FLAGS_NONE, -1, self->cancellable, on_background_requested,
                          g_object_ref (self));
}

/* ---- UsAutostart ------------------------------------------------------- */

static void
start_change (UsAutostart *self)
{
  self->busy = TRUE;
  if (self->sandboxed)
    request_background (self);
  else
    change_file (self, self->wanted);
}

void
us_autostart_request_background (UsAutostart *self)
{
  g_return_if_fail (US_IS_AUTOSTART (self));

  if (!self->sandboxed || self->asked_background)
    return;
  self->asked_background = TRUE;
  /* A change under way is a RequestBackground already. */
  if (!self->busy)
    start_change (self);
}

void
us_autostart_request_enabled (UsAutostart *self,
                              gboolean     enabled)
{
  g_return_if_fail (US_IS_AUTOSTART (self));

  self->wanted = !!enabled;
  if (!self->busy && self->wanted != self->enabled)
    start_change (self);
}

gboolean
us_autostart_get_enabled (UsAutostart *self)
{
  g_return_val_if_fail (US_IS_AUTOSTART (self), FALSE);
  return self->enabled;
}

GFile *
us_autostart_get_file (UsAutostart *self)
{
  g_return_val_if_fail (US_IS_AUTOSTART (self), NULL);
  return self->file;
}

static void
us_autostart_get_property (GObject    *object,
                           guint       prop_id,
                           GValue     *value,
                           GParamSpec *pspec)
{
  UsAutostart *self = US_AUTOSTART (object);

  switch (prop_id)
    {
    case PROP_ENABLED:
      g_value_set_boolean (value, self->enabled);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
us_autostart_dispose (GObject *object)
{
  UsAutostart *self = US_AUTOSTART (object);

  g_cancellable_cancel (self->cancellable);
  unsubscribe_response (self);
  G_OBJECT_CLASS (us_autostart_parent_class)->dispose (object);
}

static void
us_autostart_finalize (GObject *object)
{
  UsAutostart *self = US_AUTOSTART (object);

  g_clear_object (&self->bus);
  g_clear_object (&self->file);
  g_clear_object (&self->cancellable);
  G_OBJECT_CLASS (us_autostart_parent_class)->finalize (object);
}

static void
us_autostart_class_init (UsAutostartClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = us_autostart_get_property;
  object_class->dispose = us_autostart_dispose;
  object_class->finalize = us_autostart_finalize;

  properties[PROP_ENABLED] = g_param_spec_boolean ("enabled", NULL, NULL, FALSE,
                                                   G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY |
                                                   G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
us_autostart_init (UsAutostart *self)
{
  self->cancellable = g_cancellable_new ();
}

UsAutostart *
us_autostart_new (GDBusConnection *bus)
{
  return us_autostart_new_full (bus, g_file_test ("/.flatpak-info", G_FILE_TEST_EXISTS));
}

UsAutostart *
us_autostart_new_full (GDBusConnection *bus,
                       gboolean         use_portal)
{
  g_autofree char *path = g_build_filename (g_get_user_config_dir (), "autostart", APPLICATION_ID ".desktop", NULL);
  UsAutostart *self = g_object_new (US_TYPE_AUTOSTART, NULL);

  self->bus = bus ? g_object_ref (bus) : NULL;
  self->file = g_file_new_for_path (path);
  self->sandboxed = use_portal;
  self->enabled = g_file_query_exists (self->file, NULL);
  self->wanted = self->enabled;
  return self;
}
