/* us-application.c: the desktop app.
 *
 * The primary instance owns everything on one main loop: the config store,
 * the proxy serving from it, failover episodes, the tray item and the
 * notifications. Routing is one stateful action, "routing", whose state
 * follows the store: the window's switch, the tray, a notification's
 * "Pause routing" and `understudy routing on|off` (through the proxy's API,
 * which edits the store) all flip and show the same switch.
 */
#include <glib-unix.h>
#include <glib/gi18n.h>

#include "us-application.h"
#include "us-autostart.h"
#include "us-notifier.h"
#include "us-window.h"

struct _UsApplication
{
  AdwApplication parent_instance;

  UsConfig *config;          /* the first snapshot, until startup */
  UsConfigStore *store;
  UsProxy *proxy;
  char *proxy_error;         /* why the proxy cannot serve, NULL if it can */
  UsEpisodes *episodes;
  UsNotifier *notifier;
  UsTray *tray;
  UsAutostart *autostart;
  gboolean held;             /* kept alive without a window: a tray is shown */
  gboolean background;       /* started at login: no window while a tray shows us */
  guint background_id;
  guint signal_ids[2];
};

G_DEFINE_FINAL_TYPE (UsApplication, us_application, ADW_TYPE_APPLICATION)

/* ---- Actions ----------------------------------------------------------- */

static void
on_routing_change_state (GSimpleAction *action,
                         GVariant      *value,
                         UsApplication *self)
{
  /* The store is the switch; the action's state follows its notify. */
  us_config_store_set_routing (self->store, g_variant_get_boolean (value));
}

static void
on_notifications_change_state (GSimpleAction *action,
                               GVariant      *value,
                               UsApplication *self)
{
  us_config_store_set_notifications (self->store, g_variant_get_boolean (value));
}

static void
on_autostart_change_state (GSimpleAction *action,
                           GVariant      *value,
                           UsApplication *self)
{
  /* Written (or asked of the portal) asynchronously: the state follows
   * UsAutostart's "enabled" once that is done. */
  us_autostart_request_enabled (self->autostart, g_variant_get_boolean (value));
}

static void
on_open (GSimpleAction *action,
         GVariant      *parameter,
         UsApplication *self)
{
  g_application_activate (G_APPLICATION (self));
}

static void
on_show_page (GSimpleAction *action,
              GVariant      *parameter,
              UsApplication *self)
{
  g_application_activate (G_APPLICATION (self));
  us_window_set_page (US_WINDOW (gtk_application_get_active_window (GTK_APPLICATION (self))),
                      g_variant_get_string (parameter, NULL));
}

static void
on_quit (GSimpleAction *action,
         GVariant      *parameter,
         UsApplication *self)
{
  g_application_quit (G_APPLICATION (self));
}

static gboolean
on_quit_signal (gpointer data)
{
  g_application_quit (data);
  return G_SOURCE_CONTINUE;
}

/* ---- Following the state ----------------------------------------------- */

static void
update_tray_state (UsApplication *self)
{
  UsTrayState state;

  if (self->tray == NULL)
    return;
  if (self->proxy_error != NULL)
    state = US_TRAY_ERROR;
  else if (!us_config_store_get_routing (self->store))
    state = US_TRAY_PAUSED;
  else if (us_episodes_get_failing_over (self->episodes))
    state = US_TRAY_FAILOVER;
  else
    state = US_TRAY_ACTIVE;
  us_tray_set_state (self->tray, state);
}

static void
on_routing_notify (UsApplication *self)
{
  GAction *action = g_action_map_lookup_action (G_ACTION_MAP (self), "routing");

  g_simple_action_set_state (G_SIMPLE_ACTION (action),
                             g_variant_new_boolean (us_config_store_get_routing (self->store)));
  update_tray_state (self);
}

static void
on_notifications_notify (UsApplication *self)
{
  GAction *action = g_action_map_lookup_action (G_ACTION_MAP (self), "notifications");

  g_simple_action_set_state (G_SIMPLE_ACTION (action),
                             g_variant_new_boolean (us_config_store_get_notifications (self->store)));
}

static void
on_autostart_notify (UsApplication *self)
{
  GAction *action = g_action_map_lookup_action (G_ACTION_MAP (self), "autostart");

  g_simple_action_set_state (G_SIMPLE_ACTION (action),
                             g_variant_new_boolean (us_autostart_get_enabled (self->autostart)));
}

static void
on_serving_notify (UsApplication *self)
{
  if (self->tray != NULL)
    us_tray_set_serving (self->tray, us_episodes_get_serving (self->episodes));
}

static char *
describe_model (UsHealth           *health,
                const UsChainModel *model)
{
  g_autoptr(JsonNode) node = us_health_to_json (health, model->provider, model->model);
  JsonObject *object = json_node_get_object (node);
  const char *state = json_object_get_string_member_with_default (object, "state", "ok");
  const char *reason = json_object_get_string_member_with_default (object, "reason", NULL);
  const char *until = json_object_get_string_member_with_default (object, "cooldown_until", NULL);

  if (g_str_equal (state, "cooldown") && until != NULL)
    {
      g_autoptr(GDateTime) utc = g_date_time_new_from_iso8601 (until, NULL);
      g_autoptr(GDateTime) local = utc ? g_date_time_to_local (utc) : NULL;
      g_autofree char *time = local ? g_date_time_format (local, "%H:%M") : g_strdup ("?");

      /* Translators: a tray menu line: provider/model — cooling down until 14:05. */
      return g_strdup_printf (_("%s/%s — cooling down until %s"), model->provider, model->model, time);
    }
  if (g_str_equal (state, "problem"))
    return g_strdup_printf ("%s/%s — %s", model->provider, model->model, reason ? reason : _("problem"));
  /* Translators: a tray menu line: provider/model — OK (healthy). */
  return g_strdup_printf (_("%s/%s — OK"), model->provider, model->model);
}

/* The tray lists the first chain, the one most requests take. */
static void
update_tray_chain (UsApplication *self)
{
  GPtrArray *chains;
  const UsChainConfig *chain;
  g_autoptr(GStrvBuilder) builder = NULL;
  g_auto(GStrv) labels = NULL;

  if (self->tray == NULL)
    return;
  chains = us_config_get_chains (us_config_store_get_config (self->store));
  builder = g_strv_builder_new ();
  chain = chains->len ? g_ptr_array_index (chains, 0) : NULL;
  for (guint i = 0; chain != NULL && i < chain->models->len; i++)
    {
      g_autofree char *label = describe_model (us_proxy_get_health (self->proxy),
                                               g_ptr_array_index (chain->models, i));

      g_strv_builder_add (builder, label);
    }
  labels = g_strv_builder_end (builder);
  us_tray_set_chain (self->tray, (const char * const *) labels);
}

/* Without a tray host, closing the window must quit: nothing else would
 * let the user back in or out. While a watcher has the item, a hold keeps
 * the app (and the proxy) running with no window. */
static void
on_tray_registered (UsApplication *self)
{
  gboolean registered = us_tray_get_registered (self->tray);

  if (registered && !self->held)
    {
      g_application_hold (G_APPLICATION (self));
      /* Inside Flatpak, running with no window needs the Background
       * portal's leave, or the desktop may offer to stop the app. */
      us_autostart_request_background (self->autostart);
    }
  else if (!registered && self->held)
    g_application_release (G_APPLICATION (self));
  self->held = registered;
}

/* ---- GApplication ------------------------------------------------------ */

static void
add_actions (UsApplication *self)
{
  g_autoptr(GSimpleAction) routing =
    g_simple_action_new_stateful ("routing", NULL, g_variant_new_boolean (us_config_store_get_routing (self->store)));
  g_autoptr(GSimpleAction) notifications =
    g_simple_action_new_stateful ("notifications", NULL,
                                  g_variant_new_boolean (us_config_store_get_notifications (self->store)));
  g_autoptr(GSimpleAction) autostart =
    g_simple_action_new_stateful ("autostart", NULL, g_variant_new_boolean (us_autostart_get_enabled (self->autostart)));
  g_autoptr(GSimpleAction) open = g_simple_action_new ("open", NULL);
  g_autoptr(GSimpleAction) quit = g_simple_action_new ("quit", NULL);
  g_autoptr(GSimpleAction) show_page = g_simple_action_new ("show-page", G_VARIANT_TYPE_STRING);
  static const char * const quit_accels[] = { "<Control>q", NULL };

  g_signal_connect (routing, "change-state", G_CALLBACK (on_routing_change_state), self);
  g_signal_connect (notifications, "change-state", G_CALLBACK (on_notifications_change_state), self);
  g_signal_connect (autostart, "change-state", G_CALLBACK (on_autostart_change_state), self);
  g_signal_connect (open, "activate", G_CALLBACK (on_open), self);
  g_signal_connect (quit, "activate", G_CALLBACK (on_quit), self);
  g_signal_connect (show_page, "activate", G_CALLBACK (on_show_page), self);
  g_action_map_add_action (G_ACTION_MAP (self), G_ACTION (routing));
  g_action_map_add_action (G_ACTION_MAP (self), G_ACTION (notifications));
  g_action_map_add_action (G_ACTION_MAP (self), G_ACTION (autostart));
  g_action_map_add_action (G_ACTION_MAP (self), G_ACTION (open));
  g_action_map_add_action (G_ACTION_MAP (self), G_ACTION (quit));
  g_action_map_add_action (G_ACTION_MAP (self), G_ACTION (show_page));
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "app.quit", quit_accels);
}

static void
us_application_startup (GApplication *app)
{
  UsApplication *self = US_APPLICATION (app);
  g_autoptr(GError) error = NULL;
  GDBusConnection *bus;

  G_APPLICATION_CLASS (us_application_parent_class)->startup (app);

  self->store = us_config_store_new (self->config);
  g_clear_object (&self->config);
  self->proxy = us_proxy_new_for_store (self->store);
  if (!us_proxy_start (self->proxy, &error))
    {
      UsConfig *config = us_config_store_get_config (self->store);

      self->proxy_error = g_strdup_printf (_("Cannot listen on %s:%u: %s"), us_config_get_host (config),
                                           us_config_get_port (config), error->message);
      g_printerr ("understudy: %s\n", self->proxy_error);
    }
  else
    {
      g_autofree char *url = us_proxy_dup_client_url (self->proxy);

      us_config_store_set_client_url (self->store, url);
      g_message ("Understudy is listening on http://%s:%u",
               us_config_get_host (us_config_store_get_config (self->store)), us_proxy_get_port (self->proxy));
    }
  self->episodes = us_episodes_new (us_proxy_get_log (self->proxy), us_proxy_get_health (self->proxy));

  self->autostart = us_autostart_new (g_application_get_dbus_connection (app));
  add_actions (self);
  g_signal_connect_object (self->autostart, "notify::enabled", G_CALLBACK (on_autostart_notify), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->store, "notify::routing", G_CALLBACK (on_routing_notify), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->store, "notify::notifications", G_CALLBACK (on_notifications_notify), self,
                           G_CONNECT_SWAPPED);

  self->notifier = us_notifier_new (self->episodes, app);
  g_object_bind_property (self->store, "notifications", self->notifier, "enabled", G_BINDING_SYNC_CREATE);

  bus = g_application_get_dbus_connection (app);
  if (bus != NULL)
    {
      self->tray = us_tray_new (bus, G_ACTION_GROUP (self));
      g_signal_connect_object (self->tray, "notify::registered", G_CALLBACK (on_tray_registered), self,
                               G_CONNECT_SWAPPED);
      g_signal_connect_object (self->episodes, "notify::serving", G_CALLBACK (on_serving_notify), self,
                               G_CONNECT_SWAPPED);
      g_signal_connect_object (self->episodes, "notify::failing-over", G_CALLBACK (update_tray_state), self,
                               G_CONNECT_SWAPPED);
      g_signal_connect_object (self->store, "notify::config", G_CALLBACK (update_tray_chain), self,
                               G_CONNECT_SWAPPED);
      g_signal_connect_object (us_proxy_get_health (self->proxy), "changed", G_CALLBACK (update_tray_chain), self,
                               G_CONNECT_SWAPPED);
      update_tray_state (self);
      update_tray_chain (self);
      on_serving_notify (self);
    }

  /* Ctrl+C or a service manager: quit as the Quit item does, so pending
   * saves are written. */
  self->signal_ids[0] = g_unix_signal_add (SIGINT, on_quit_signal, self);
  self->signal_ids[1] = g_unix_signal_add (SIGTERM, on_quit_signal, self);
}

/* Started at login: the tray item is the way in. If no tray host took the
 * item by now, the window is the only way, so it opens. */
static gboolean
on_background_timeout (gpointer data)
{
  UsApplication *self = data;

  self->background_id = 0;
  if (!self->held)
    g_application_activate (G_APPLICATION (self));
  g_application_release (G_APPLICATION (self));
  return G_SOURCE_REMOVE;
}

static void
us_application_activate (GApplication *app)
{
  UsApplication *self = US_APPLICATION (app);
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (app));
  g_autofree char *token = NULL;

  if (self->background)
    {
      self->background = FALSE;
      g_application_hold (app);
      self->background_id = g_timeout_add_seconds (5, on_background_timeout, self);
      return;
    }
  token = self->tray ? us_tray_take_activation_token (self->tray) : NULL;
  if (window == NULL)
    {
      window = GTK_WINDOW (us_window_new (GTK_APPLICATION (app), self->proxy, self->episodes));
      if (self->proxy_error != NULL)
        us_window_show_error (US_WINDOW (window), self->proxy_error);
    }
  /* A tray host's activation token lets the window take focus on Wayland. */
  if (token != NULL)
    gtk_window_set_startup_id (window, token);
  gtk_window_present (window);
}

static void
us_application_shutdown (GApplication *app)
{
  UsApplication *self = US_APPLICATION (app);
  GList *windows;

  while ((windows = gtk_application_get_windows (GTK_APPLICATION (app))) != NULL)
    gtk_window_destroy (windows->data);
  for (guint i = 0; i < G_N_ELEMENTS (self->signal_ids); i++)
    g_clear_handle_id (&self->signal_ids[i], g_source_remove);
  if (self->background_id != 0)
    {
      g_clear_handle_id (&self->background_id, g_source_remove);
      g_application_release (app);
    }

  g_clear_object (&self->tray);
  g_clear_object (&self->autostart);
  g_clear_object (&self->notifier);
  g_clear_object (&self->episodes);
  /* Stop serving, then let every queued save reach the disk. */
  if (self->proxy != NULL)
    g_object_run_dispose (G_OBJECT (self->proxy));
  g_clear_object (&self->proxy);
  if (self->store != NULL)
    us_config_store_sync (self->store);

  G_APPLICATION_CLASS (us_application_parent_class)->shutdown (app);
}

static void
us_application_finalize (GObject *object)
{
  UsApplication *self = US_APPLICATION (object);

  g_clear_object (&self->config);
  g_clear_object (&self->store);
  g_clear_object (&self->proxy);
  g_free (self->proxy_error);
  G_OBJECT_CLASS (us_application_parent_class)->finalize (object);
}

static void
us_application_class_init (UsApplicationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  object_class->finalize = us_application_finalize;
  app_class->startup = us_application_startup;
  app_class->activate = us_application_activate;
  app_class->shutdown = us_application_shutdown;
}

static void
us_application_init (UsApplication *self)
{
}

UsApplication *
us_application_new (UsConfig *config,
                    gboolean  background)
{
  UsApplication *self;

  g_return_val_if_fail (US_IS_CONFIG (config), NULL);

  self = g_object_new (US_TYPE_APPLICATION,
                       "application-id", US_APPLICATION_ID,
                       "flags", G_APPLICATION_DEFAULT_FLAGS,
                       NULL);
  self->config = g_object_ref (config);
  self->background = background;
  return self;
}

UsConfigStore *
us_application_get_store (UsApplication *self)
{
  g_return_val_if_fail (US_IS_APPLICATION (self), NULL);
  return self->store;
}

UsProxy *
us_application_get_proxy (UsApplication *self)
{
  g_return_val_if_fail (US_IS_APPLICATION (self), NULL);
  return self->proxy;
}

UsEpisodes *
us_application_get_episodes (UsApplication *self)
{
  g_return_val_if_fail (US_IS_APPLICATION (self), NULL);
  return self->episodes;
}

UsAutostart *
us_application_get_autostart (UsApplication *self)
{
  g_return_val_if_fail (US_IS_APPLICATION (self), NULL);
  return self->autostart;
}

UsTray *
us_application_get_tray (UsApplication *self)
{
  g_return_val_if_fail (US_IS_APPLICATION (self), NULL);
  return self->tray;
}
