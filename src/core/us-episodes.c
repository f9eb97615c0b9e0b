/* us-episodes.c: failover episodes read off finished requests.
 *
 * Each finished request is evidence about the models and providers it
 * touched. Requests overlap and finish out of order, so evidence from a
 * request older than the newest already seen for a model (or provider) is
 * stale and ignored: a long stream that began before the primary came back
 * must not start a second episode.
 */
#include "us-episodes.h"

typedef struct {
  guint64 newest_id;   /* request id of the newest evidence */
  gboolean bad;        /* failing (model) or key rejected (provider) */
} Track;

struct _UsEpisodes
{
  GObject parent_instance;

  UsRequestLog *log;
  UsHealth *health;
  GHashTable *models;     /* "provider/model" → Track */
  GHashTable *providers;  /* provider id → Track */
  guint n_failing;
  char *serving;
  guint64 serving_id;     /* the request that set it */
};

G_DEFINE_FINAL_TYPE (UsEpisodes, us_episodes, G_TYPE_OBJECT)

enum { PROP_0, PROP_LOG, PROP_HEALTH, PROP_FAILING_OVER, PROP_SERVING, N_PROPS };
static GParamSpec *properties[N_PROPS];

enum { STARTED, ENDED, KEY_REJECTED, N_SIGNALS };
static guint signals[N_SIGNALS];

/* The track for @key if @id is not older than its newest evidence; NULL
 * when the evidence is stale. */
static Track *
track_for (GHashTable *table,
           const char *key,
           guint64     id)
{
  Track *t = g_hash_table_lookup (table, key);

  if (t == NULL)
    {
      t = g_new0 (Track, 1);
      g_hash_table_insert (table, g_strdup (key), t);
    }
  else if (id < t->newest_id)
    return NULL;
  t->newest_id = id;
  return t;
}

/* Health is kept per chain entry, and a "*" entry records the model the
 * client asked for in its attempts. */
static const char *
health_model (UsEpisodes      *self,
              const UsAttempt *a)
{
  if (us_health_get_problem (self->health, a->provider, a->model) == NULL &&
      us_health_get_problem (self->health, a->provider, "*") != NULL)
    return "*";
  return a->model;
}

/* A few words for a notification: "rate limited", "HTTP 503",
 * "connection refused"… */
static char *
describe_failure (UsEpisodes      *self,
                  const UsAttempt *a)
{
  const char *model = health_model (self, a);
  const char *problem = us_health_get_problem (self->health, a->provider, model);
  const char *reason = a->reason ? a->reason : "";

  /* Skipped while cooling down, or failed with a cooldown: health says why. */
  if (problem != NULL && (a->skipped || us_health_get_cooldown_until (self->health, a->provider, model) > 0))
    return g_strdup (problem);
  if (a->status >= 500 && a->status != 529)
    return g_strdup_printf ("HTTP %u", a->status);
  if (g_str_has_prefix (reason, "HTTP "))
    {
      /* "HTTP 429 rate limited": the failover verdict's own words. */
      const char *words = strchr (reason + 5, ' ');
      return words ? g_strdup (words + 1) : g_strdup (reason);
    }
  if (g_str_has_prefix (reason, "connection failed"))
    return g_strdup (strstr (reason, "refused") ? "connection refused" : "connection failed");
  return g_strdup (a->reason ? a->reason : "failed");
}

static void
set_n_failing (UsEpisodes *self,
               guint       n_failing)
{
  gboolean was = self->n_failing > 0;

  self->n_failing = n_failing;
  if (was != (n_failing > 0))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FAILING_OVER]);
}

static void
note_served (UsEpisodes     *self,
             UsRequestEntry *entry)
{
  guint64 id = us_request_entry_get_id (entry);
  guint n = us_request_entry_get_n_attempts (entry);
  g_autofree char *served = g_strconcat (us_request_entry_get_served_provider (entry), "/",
                                         us_request_entry_get_served_model (entry), NULL);
  const UsAttempt *first;
  g_autofree char *failed = NULL;
  Track *t;

  if (id >= self->serving_id && g_strcmp0 (self->serving, served) != 0)
    {
      g_free (self->serving);
      self->serving = g_strdup (served);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SERVING]);
    }
  self->serving_id = MAX (self->serving_id, id);

  t = track_for (self->models, served, id);
  if (t != NULL && t->bad)
    {
      t->bad = FALSE;
      set_n_failing (self, self->n_failing - 1);
      g_signal_emit (self, signals[ENDED], 0, served);
    }

  /* Served by the first model the chain offered: no failover here. Models
   * passed over because this request was too long for them are not
   * failing either. */
  for (guint i = 0; i < n; i++)
    {
      first = us_request_entry_get_attempt (entry, i);
      if (first->reason == NULL || strstr (first->reason, US_REASON_CONTEXT_WINDOW) == NULL)
        break;
    }
  if (n < 2 || first->reason == NULL)
    return;
  failed = g_strconcat (first->provider, "/", first->model, NULL);
  if (g_str_equal (failed, served))
    return;

  t = track_for (self->models, failed, id);
  if (t != NULL && !t->bad)
    {
      g_autofree char *reason = describe_failure (self, first);
      gint64 until = us_health_get_cooldown_until (self->health, first->provider, health_model (self, first));

      t->bad = TRUE;
      set_n_failing (self, self->n_failing + 1);
      g_signal_emit (self, signals[STARTED], 0, failed, reason, until, served);
    }
}

static gboolean
is_key_rejection (guint status)
{
  return status == 401 || status == 403;
}

static void
note_keys (UsEpisodes     *self,
           UsRequestEntry *entry)
{
  guint64 id = us_request_entry_get_id (entry);
  const char *served = us_request_entry_get_state (entry) == US_REQUEST_DONE
                       ? us_request_entry_get_served_provider (entry) : NULL;
  guint n = us_request_entry_get_n_attempts (entry);
  Track *t;

  if (served != NULL && (t = track_for (self->providers, served, id)) != NULL)
    t->bad = FALSE;

  for (guint i = 0; i < n; i++)
    {
      const UsAttempt *a = us_request_entry_get_attempt (entry, i);

      /* A provider that served this very request has a working key. */
      if (!is_key_rejection (a->status) || g_strcmp0 (a->provider, served) == 0)
        continue;
      t = track_for (self->providers, a->provider, id);
      if (t != NULL && !t->bad)
        {
          t->bad = TRUE;
          g_signal_emit (self, signals[KEY_REJECTED], 0, a->provider);
        }
    }
}

static void
on_entry_changed (UsRequestLog   *log,
                  UsRequestEntry *entry,
                  UsEpisodes     *self)
{
  UsRequestState state = us_request_entry_get_state (entry);

  /* Only finished requests count; a request finishes once. */
  if (state != US_REQUEST_DONE && state != US_REQUEST_FAILED)
    return;
  note_keys (self, entry);
  if (state == US_REQUEST_DONE && us_request_entry_get_served_model (entry) != NULL)
    note_served (self, entry);
}

static void
us_episodes_constructed (GObject *object)
{
  UsEpisodes *self = US_EPISODES (object);

  G_OBJECT_CLASS (us_episodes_parent_class)->constructed (object);
  g_signal_connect_object (self->log, "entry-changed", G_CALLBACK (on_entry_changed), self, 0);
}

static void
us_episodes_finalize (GObject *object)
{
  UsEpisodes *self = US_EPISODES (object);

  g_clear_object (&self->log);
  g_clear_object (&self->health);
  g_hash_table_unref (self->models);
  g_hash_table_unref (self->providers);
  g_free (self->serving);

  G_OBJECT_CLASS (us_episodes_parent_class)->finalize (object);
}

static void
us_episodes_get_property (GObject    *object,
                          guint       prop_id,
                          GValue     *value,
                          GParamSpec *pspec)
{
  UsEpisodes *self = US_EPISODES (object);

  switch (prop_id)
    {
    case PROP_LOG:
      g_value_set_object (value, self->log);
      break;
    case PROP_HEALTH:
      g_value_set_object (value, self->health);
      break;
    case PROP_FAILING_OVER:
      g_value_set_boolean (value, us_episodes_get_failing_over (self));
      break;
    case PROP_SERVING:
      g_value_set_string (value, self->serving);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
us_episodes_set_property (GObject      *object,
                          guint         prop_id,
                          const GValue *value,
                          GParamSpec   *pspec)
{
  UsEpisodes *self = US_EPISODES (object);

  switch (prop_id)
    {
    case PROP_LOG:
      self->log = g_value_dup_object (value);
      break;
    case PROP_HEALTH:
      self->health = g_value_dup_object (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
us_episodes_class_init (UsEpisodesClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = us_episodes_constructed;
  object_class->finalize = us_episodes_finalize;
  object_class->get_property = us_episodes_get_property;
  object_class->set_property = us_episodes_set_property;

  properties[PROP_LOG] =
    g_param_spec_object ("log", NULL, NULL, US_TYPE_REQUEST_LOG,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_HEALTH] =
    g_param_spec_object ("health", NULL, NULL, US_TYPE_HEALTH,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_FAILING_OVER] =
    g_param_spec_boolean ("failing-over", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_SERVING] =
    g_param_spec_string ("serving", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[STARTED] = g_signal_new ("started", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                   0, NULL, NULL, NULL, G_TYPE_NONE, 4,
                                   G_TYPE_STRING, G_TYPE_STRING, G_TYPE_INT64, G_TYPE_STRING);
  signals[ENDED] = g_signal_new ("ended", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                 0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
  signals[KEY_REJECTED] = g_signal_new ("key-rejected", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                        0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
us_episodes_init (UsEpisodes *self)
{
  self->models = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->providers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
}

UsEpisodes *
us_episodes_new (UsRequestLog *log,
                 UsHealth     *health)
{
  g_return_val_if_fail (US_IS_REQUEST_LOG (log), NULL);
  g_return_val_if_fail (US_IS_HEALTH (health), NULL);

  return g_object_new (US_TYPE_EPISODES, "log", log, "health", health, NULL);
}

gboolean
us_episodes_get_failing_over (UsEpisodes *self)
{
  g_return_val_if_fail (US_IS_EPISODES (self), FALSE);
  return self->n_failing > 0;
}

const char *
us_episodes_get_serving (UsEpisodes *self)
{
  g_return_val_if_fail (US_IS_EPISODES (self), NULL);
  return self->serving;
}
