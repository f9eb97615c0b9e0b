/* us-notifier.c: failover episodes as desktop notifications.
 *
 * One notification per episode: the "now serving" one is updated in place
 * (same id) while it is open, and becomes the "serving again" one when the
 * episode ends, so a user never finds a stale failover message next to
 * the news that it is over.
 */
#include <glib/gi18n.h>

#include "us-notifier.h"

#include <libnotify/notify.h>

/* Notifications held for their actions at most. */
#define MAX_ALIVE 16

struct _UsNotifier
{
  GObject parent_instance;

  UsEpisodes *episodes;
  GApplication *app;            /* weak: the application owns us */
  gboolean enabled;
  gboolean initted_libnotify;

  GPtrArray *alive;             /* NotifyNotification shown and not yet closed */
  NotifyNotification *episode;  /* in @alive: the current episode's notification */
  GPtrArray *to_show;           /* NotifyNotification waiting for the idle */
  guint show_idle;
};

G_DEFINE_FINAL_TYPE (UsNotifier, us_notifier, G_TYPE_OBJECT)

enum { PROP_0, PROP_EPISODES, PROP_APPLICATION, PROP_ENABLED, N_PROPS };
static GParamSpec *properties[N_PROPS];

/* "anthropic/claude-opus-4-5" → "claude-opus-4-5" */
static const char *
short_name (const char *model)
{
  const char *slash = strchr (model, '/');

  return slash ? slash + 1 : model;
}

/* ---- Actions ------------------------------------------------------------ */

static void
on_open (NotifyNotification *notification,
         char               *action,
         gpointer            data)
{
  UsNotifier *self = data;

  if (self->app != NULL)
    g_action_group_activate_action (G_ACTION_GROUP (self->app), "open", NULL);
}

static void
on_pause (NotifyNotification *notification,
          char               *action,
          gpointer            data)
{
  UsNotifier *self = data;

  /* The same stateful action the switch, tray and command line use. */
  if (self->app != NULL)
    g_action_group_change_action_state (G_ACTION_GROUP (self->app), "routing", g_variant_new_boolean (FALSE));
}

static void
add_actions (UsNotifier         *self,
             NotifyNotification *notification,
             gboolean            with_pause)
{
  notify_notification_clear_actions (notification);
  notify_notification_add_action (notification, "default", _("Open"), on_open, self, NULL);
  notify_notification_add_action (notification, "open", _("Open"), on_open, self, NULL);
  if (with_pause)
    notify_notification_add_action (notification, "pause", _("Pause routing"), on_pause, self, NULL);
}

/* ---- Showing ------------------------------------------------------------ */

static void
on_closed (NotifyNotification *notification,
           UsNotifier         *self)
{
  if (self->episode == notification)
    self->episode = NULL;
  g_ptr_array_remove (self->to_show, notification);
  g_signal_handlers_disconnect_by_func (notification, on_closed, self);
  g_ptr_array_remove (self->alive, notification);
}

/* libnotify 0.8 only shows synchronously (a D-Bus round trip): done from
 * a low-priority idle, after the request that ended or started an episode
 * has been answered. */
static gboolean
show_pending (gpointer data)
{
  UsNotifier *self = data;
  g_autoptr(GPtrArray) batch = g_steal_pointer (&self->to_show);

  self->to_show = g_ptr_array_new_with_free_func (g_object_unref);
  self->show_idle = 0;
  for (guint i = 0; i < batch->len; i++)
    {
      NotifyNotification *notification = g_ptr_array_index (batch, i);
      g_autoptr(GError) error = NULL;

      if (!notify_notification_show (notification, &error))
        {
          /* No notification server (a bare session): not worth more than a message. */
          g_message ("Could not show a notification: %s", error->message);
          on_closed (notification, self);
        }
    }
  return G_SOURCE_REMOVE;
}

static NotifyNotification *
notification_new (UsNotifier *self)
{
  NotifyNotification *notification = notify_notification_new ("", NULL, NULL);
  const char *app_id = self->app ? g_application_get_application_id (self->app) : NULL;

  /* Lets the shell show the app's icon and name and group its notifications. */
  if (app_id != NULL)
    notify_notification_set_hint_string (notification, "desktop-entry", app_id);
  /* Held until the server says it is closed, or its actions would go
   * nowhere; a server that never says so must not make us grow forever. */
  if (self->alive->len >= MAX_ALIVE)
    {
      NotifyNotification *oldest = g_ptr_array_index (self->alive, 0);

      if (oldest == self->episode)
        self->episode = NULL;
      g_signal_handlers_disconnect_by_func (oldest, on_closed, self);
      g_ptr_array_remove_index (self->alive, 0);
    }
  g_ptr_array_add (self->alive, notification);
  g_signal_connect (notification, "closed", G_CALLBACK (on_closed), self);
  return notification;
}

static void
show (UsNotifier         *self,
      NotifyNotification *notification,
      const char         *summary,
      const char         *body)
{
  notify_notification_update (notification, summary, body,
                              self->app ? g_application_get_application_id (self->app) : NULL);
  if (!g_ptr_array_find (self->to_show, notification, NULL))
    g_ptr_array_add (self->to_show, g_object_ref (notification));
  if (self->show_idle == 0)
    self->show_idle = g_idle_add_full (G_PRIORITY_LOW, show_pending, self, NULL);
}

/* ---- Episodes ----------------------------------------------------------- */

/* One whole sentence per reason, so each language can order its parts:
 * the failed model, the time it rests until (if known), the one serving. */
typedef struct {
  const char *reason;       /* as UsEpisodes reports it */
  const char *until_format; /* failed, clock, serving */
  const char *format;       /* failed, serving */
} EpisodeSummary;

static const EpisodeSummary episode_summaries[] = {
  /* Translators: "claude-opus-4-5 is rate limited until 14:05 — now serving glm-4.6". */
  { "rate limited", N_("%s is rate limited until %s — now serving %s"),
    /* Translators: "claude-opus-4-5 is rate limited — now serving glm-4.6". */
    N_("%s is rate limited — now serving %s") },
  /* Translators: the provider reported it is overloaded; %s are model, clock time, model. */
  { "overloaded", N_("%s is overloaded until %s — now serving %s"),
    N_("%s is overloaded — now serving %s") },
  { "cooling down", N_("%s is cooling down until %s — now serving %s"),
    N_("%s is cooling down — now serving %s") },
  { "timed out", N_("%s timed out and rests until %s — now serving %s"),
    N_("%s timed out — now serving %s") },
  /* Switched away from before the plan's hard limit (us_failover_quota_cooldown). */
  { "quota threshold reached", N_("%s is near its plan limit until %s — now serving %s"),
    N_("%s is near its plan limit — now serving %s") },
};

static char *
episode_summary (const char *failed,
                 const char *reason,
                 const char *clock,
                 const char *serving)
{
  for (guint i = 0; i < G_N_ELEMENTS (episode_summaries); i++)
    {
      const EpisodeSummary *s = &episode_summaries[i];

      if (!g_str_equal (reason, s->reason))
        continue;
      return clock ? g_strdup_printf (_(s->until_format), failed, clock, serving)
                   : g_strdup_printf (_(s->format), failed, serving);
    }
  /* Any other reason ("HTTP 503", "key rejected") is shown as it is. */
  return clock
    /* Translators: "claude-opus-4-5 failed (HTTP 503) until 14:05 — now serving glm-4.6". */
    ? g_strdup_printf (_("%s failed (%s) until %s — now serving %s"), failed, reason, clock, serving)
    /* Translators: "claude-opus-4-5 failed (HTTP 503) — now serving glm-4.6". */
    : g_strdup_printf (_("%s failed (%s) — now serving %s"), failed, reason, serving);
}

static void
on_started (UsEpisodes *episodes,
            const char *failed,
            const char *reason,
            gint64      until,
            const char *serving,
            UsNotifier *self)
{
  g_autofree char *summary = NULL;
  g_autofree char *body = NULL;

  if (!self->enabled)
    return;

  if (until > 0)
    {
      g_autoptr(GDateTime) when = g_date_time_new_from_unix_local (until);
      g_autofree char *clock = g_date_time_format (when, "%H:%M");

      summary = episode_summary (short_name (failed), reason, clock, short_name (serving));
    }
  else
    summary = episode_summary (short_name (failed), reason, NULL, short_name (serving));
  /* Translators: both are "provider/model". */
  body = g_strdup_printf (_("Requests go to %s until %s answers again."), serving, failed);

  if (self->episode == NULL)
    self->episode = notification_new (self);
  add_actions (self, self->episode, TRUE);
  show (self, self->episode, summary, body);
}

static void
on_ended (UsEpisodes *episodes,
          const char *model,
          UsNotifier *self)
{
  g_autofree char *summary = NULL;
  g_autofree char *body = NULL;

  if (!self->enabled)
    return;

  summary = g_strdup_printf (_("%s is serving again"), short_name (model));
  body = g_strdup_printf (_("Requests go to %s again."), model);
  if (self->episode == NULL)
    self->episode = notification_new (self);
  add_actions (self, self->episode, FALSE);
  show (self, self->episode, summary, body);
  /* The episode is over: the next one gets a notification of its own. */
  self->episode = NULL;
}

static void
on_key_rejected (UsEpisodes *episodes,
                 const char *provider,
                 UsNotifier *self)
{
  NotifyNotification *notification;
  g_autofree char *name = NULL;
  g_autofree char *summary = NULL;
  g_autofree char *body = NULL;

  if (!self->enabled)
    return;

  name = g_strdup (provider);
  name[0] = g_ascii_toupper (name[0]);
  /* Translators: %s is a provider, e.g. "Anthropic". */
  summary = g_strdup_printf (_("%s rejected its key"), name);
  /* Translators: keep the command "understudy keys set %s" as it is. */
  body = g_strdup_printf (_("Store a new key with “understudy keys set %s” or on Understudy's Providers page; "
                            "until then its requests go to the next model in the chain."), provider);
  notification = notification_new (self);
  notify_notification_set_urgency (notification, NOTIFY_URGENCY_CRITICAL);
  add_actions (self, notification, FALSE);
  show (self, notification, summary, body);
}

/* ---- GObject ------------------------------------------------------------ */

static void
us_notifier_constructed (GObject *object)
{
  UsNotifier *self = US_NOTIFIER (object);

  G_OBJECT_CLASS (us_notifier_parent_class)->constructed (object);

  if (!notify_is_initted ())
    self->initted_libnotify = notify_init ("Understudy");
  g_signal_connect_object (self->episodes, "started", G_CALLBACK (on_started), self, 0);
  g_signal_connect_object (self->episodes, "ended", G_CALLBACK (on_ended), self, 0);
  g_signal_connect_object (self->episodes, "key-rejected", G_CALLBACK (on_key_rejected), self, 0);
}

static void
us_notifier_dispose (GObject *object)
{
  UsNotifier *self = US_NOTIFIER (object);

  g_clear_handle_id (&self->show_idle, g_source_remove);
  if (self->to_show != NULL)
    g_ptr_array_set_size (self->to_show, 0);
  if (self->alive != NULL)
    {
      for (guint i = 0; i < self->alive->len; i++)
        g_signal_handlers_disconnect_by_func (g_ptr_array_index (self->alive, i), on_closed, self);
      g_ptr_array_set_size (self->alive, 0);
    }
  self->episode = NULL;
  g_clear_object (&self->episodes);
  g_clear_weak_pointer (&self->app);

  G_OBJECT_CLASS (us_notifier_parent_class)->dispose (object);
}

static void
us_notifier_finalize (GObject *object)
{
  UsNotifier *self = US_NOTIFIER (object);

  g_ptr_array_unref (self->alive);
  g_ptr_array_unref (self->to_show);
  if (self->initted_libnotify)
    notify_uninit ();

  G_OBJECT_CLASS (us_notifier_parent_class)->finalize (object);
}

static void
us_notifier_get_property (GObject    *object,
                          guint       prop_id,
                          GValue     *value,
                          GParamSpec *pspec)
{
  UsNotifier *self = US_NOTIFIER (object);

  switch (prop_id)
    {
    case PROP_EPISODES:
      g_value_set_object (value, self->episodes);
      break;
    case PROP_APPLICATION:
      g_value_set_object (value, self->app);
      break;
    case PROP_ENABLED:
      g_value_set_boolean (value, self->enabled);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
us_notifier_set_property (GObject      *object,
                          guint         prop_id,
                          const GValue *value,
                          GParamSpec   *pspec)
{
  UsNotifier *self = US_NOTIFIER (object);

  switch (prop_id)
    {
    case PROP_EPISODES:
      self->episodes = g_value_dup_object (value);
      break;
    case PROP_APPLICATION:
      g_set_weak_pointer (&self->app, g_value_get_object (value));
      break;
    case PROP_ENABLED:
      us_notifier_set_enabled (self, g_value_get_boolean (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
us_notifier_class_init (UsNotifierClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = us_notifier_constructed;
  object_class->dispose = us_notifier_dispose;
  object_class->finalize = us_notifier_finalize;
  object_class->get_property = us_notifier_get_property;
  object_class->set_property = us_notifier_set_property;

  properties[PROP_EPISODES] =
    g_param_spec_object ("episodes", NULL, NULL, US_TYPE_EPISODES,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_APPLICATION] =
    g_param_spec_object ("application", NULL, NULL, G_TYPE_APPLICATION,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_ENABLED] =
    g_param_spec_boolean ("enabled", NULL, NULL, TRUE,
                          G_PARAM_READWRITE | G_PARAM_CONSTRUCT | G_PARAM_STATIC_STRINGS |
                          G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
us_notifier_init (UsNotifier *self)
{
  self->alive = g_ptr_array_new_with_free_func (g_object_unref);
  self->to_show = g_ptr_array_new_with_free_func (g_object_unref);
}

UsNotifier *
us_notifier_new (UsEpisodes   *episodes,
                 GApplication *app)
{
  g_return_val_if_fail (US_IS_EPISODES (episodes), NULL);
  g_return_val_if_fail (app == NULL || G_IS_APPLICATION (app), NULL);

  return g_object_new (US_TYPE_NOTIFIER, "episodes", episodes, "application", app, NULL);
}

gboolean
us_notifier_get_enabled (UsNotifier *self)
{
  g_return_val_if_fail (US_IS_NOTIFIER (self), FALSE);
  return self->enabled;
}

void
us_notifier_set_enabled (UsNotifier *self,
                         gboolean    enabled)
{
  g_return_if_fail (US_IS_NOTIFIER (self));

  enabled = !!enabled;
  if (self->enabled == enabled)
    return;
  self->enabled = enabled;
  /* Turned off: what was queued is not shown either. */
  if (!enabled)
    {
      g_clear_handle_id (&self->show_idle, g_source_remove);
      g_ptr_array_set_size (self->to_show, 0);
    }
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ENABLED]);
}
