/* us-health.c: what the proxy knows about each model's recent failures. */
#include "us-health.h"

#include "us-circuit.h"

typedef struct {
  gint64 cooldown_until_us;   /* real time; 0 = none */
  char *problem;
  UsCircuit *circuit;
} ModelHealth;

struct _UsHealth
{
  GObject parent_instance;

  GHashTable *models;   /* "provider\nmodel" → ModelHealth */
};

G_DEFINE_FINAL_TYPE (UsHealth, us_health, G_TYPE_OBJECT)

enum { CHANGED, RECOVERED, N_SIGNALS };
static guint signals[N_SIGNALS];

static void
model_health_free (gpointer data)
{
  ModelHealth *h = data;

  g_free (h->problem);
  us_circuit_free (h->circuit);
  g_free (h);
}

static void
us_health_finalize (GObject *object)
{
  g_hash_table_unref (US_HEALTH (object)->models);
  G_OBJECT_CLASS (us_health_parent_class)->finalize (object);
}

static void
us_health_class_init (UsHealthClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = us_health_finalize;

  /* (provider, model) whose health changed. */
  signals[CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                   0, NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);
  /* (provider, model) served again after a failure: the end of a failover
   * episode, told to the user once. */
  signals[RECOVERED] = g_signal_new ("recovered", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                     0, NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);
}

static void
us_health_init (UsHealth *self)
{
  self->models = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, model_health_free);
}

UsHealth *
us_health_new (void)
{
  return g_object_new (US_TYPE_HEALTH, NULL);
}

static ModelHealth *
lookup (UsHealth   *self,
        const char *provider,
        const char *model,
        gboolean    create)
{
  g_autofree char *key = g_strconcat (provider, "\n", model, NULL);
  ModelHealth *h = g_hash_table_lookup (self->models, key);

  if (h == NULL && create)
    {
      h = g_new0 (ModelHealth, 1);
      h->circuit = us_circuit_new ();
      g_hash_table_insert (self->models, g_steal_pointer (&key), h);
    }
  return h;
}

void
us_health_cool_down (UsHealth   *self,
                     const char *provider,
                     const char *model,
                     double      seconds,
                     const char *reason)
{
  ModelHealth *h = lookup (self, provider, model, TRUE);

  h->cooldown_until_us = g_get_real_time () + (gint64) (seconds * G_USEC_PER_SEC);
  g_free (h->problem);
  h->problem = g_strdup (reason);
  g_signal_emit (self, signals[CHANGED], 0, provider, model);
}

gboolean
us_health_is_cooling (UsHealth   *self,
                      const char *provider,
                      const char *model)
{
  ModelHealth *h = lookup (self, provider, model, FALSE);

  return h != NULL && h->cooldown_until_us > g_get_real_time ();
}

gint64
us_health_get_cooldown_until (UsHealth   *self,
                              const char *provider,
                              const char *model)
{
  ModelHealth *h = lookup (self, provider, model, FALSE);

  if (h == NULL || h->cooldown_until_us <= g_get_real_time ())
    return 0;
  return (h->cooldown_until_us + G_USEC_PER_SEC - 1) / G_USEC_PER_SEC;
}

const char *
us_health_get_problem (UsHealth   *self,
                       const char *provider,
                       const char *model)
{
  ModelHealth *h = lookup (self, provider, model, FALSE);

  return h ? h->problem : NULL;
}

void
us_health_mark (UsHealth   *self,
                const char *provider,
                const char *model,
                const char *problem)
{
  ModelHealth *h = lookup (self, provider, model, TRUE);

  g_free (h->problem);
  h->problem = g_strdup (problem);
  g_signal_emit (self, signals[CHANGED], 0, provider, model);
}

gboolean
us_health_mark_ok (UsHealth   *self,
                   const char *provider,
                   const char *model)
{
  ModelHealth *h = lookup (self, provider, model, FALSE);

  /* The circuit stays: it has its own way back (us_health_circuit_record). */
  if (h == NULL || (h->problem == NULL && h->cooldown_until_us == 0))
    return FALSE;
  g_clear_pointer (&h->problem, g_free);
  h->cooldown_until_us = 0;
  g_signal_emit (self, signals[CHANGED], 0, provider, model);
  g_signal_emit (self, signals[RECOVERED], 0, provider, model);
  return TRUE;
}

JsonNode *
us_health_to_json (UsHealth   *self,
                   const char *provider,
                   const char *model)
{
  ModelHealth *h = lookup (self, provider, model, FALSE);
  g_autoptr(JsonBuilder) b = json_builder_new ();
  gboolean cooling = h != NULL && h->cooldown_until_us > g_get_real_time ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "state");
  json_builder_add_string_value (b, cooling ? "cooldown" : (h && h->problem) ? "problem" : "ok");
  json_builder_set_member_name (b, "reason");
  json_builder_add_string_value (b, h ? h->problem : NULL);
  json_builder_set_member_name (b, "circuit");
  json_builder_add_string_value (b, us_circuit_state_to_string (h ? us_circuit_get_state (h->circuit)
                                                                  : US_CIRCUIT_CLOSED));
  json_builder_set_member_name (b, "circuit_probe_at");
  if (h != NULL && us_circuit_get_probe_at (h->circuit) > 0)
    {
      g_autoptr(GDateTime) at = g_date_time_new_from_unix_utc (us_circuit_get_probe_at (h->circuit) / G_USEC_PER_SEC);
      g_autofree char *text = g_date_time_format_iso8601 (at);

      json_builder_add_string_value (b, text);
    }
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "cooldown_until");
  if (cooling)
    {
      g_autoptr(GDateTime) secs = g_date_time_new_from_unix_utc (h->cooldown_until_us / G_USEC_PER_SEC);
      g_autoptr(GDateTime) until = g_date_time_add (secs, h->cooldown_until_us % G_USEC_PER_SEC);
      g_autofree char *text = g_date_time_format_iso8601 (until);

      json_builder_add_string_value (b, text);
    }
  else
    json_builder_add_null_value (b);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

gboolean
us_health_circuit_admit (UsHealth               *self,
                         const char             *provider,
                         const char             *model,
                         const UsFailoverConfig *config,
                         gboolean               *probe)
{
  ModelHealth *h = lookup (self, provider, model, FALSE);
  gboolean admitted;

  *probe = FALSE;
  if (h == NULL)
    return TRUE;
  admitted = us_circuit_admit (h->circuit, config, g_get_real_time (), probe);
  if (*probe)
    g_signal_emit (self, signals[CHANGED], 0, provider, model);
  return admitted;
}

gboolean
us_health_circuit_peek (UsHealth   *self,
                        const char *provider,
                        const char *model,
                        gint64     *probe_at)
{
  ModelHealth *h = lookup (self, provider, model, FALSE);
  gint64 at = h != NULL && us_circuit_get_state (h->circuit) == US_CIRCUIT_OPEN
              ? us_circuit_get_probe_at (h->circuit) : 0;

  if (probe_at != NULL)
    *probe_at = (at + G_USEC_PER_SEC - 1) / G_USEC_PER_SEC;
  return h == NULL || us_circuit_would_admit (h->circuit, g_get_real_time ());
}

void
us_health_circuit_record (UsHealth               *self,
                          const char             *provider,
                          const char             *model,
                          const UsFailoverConfig *config,
                          gboolean                ok)
{
  ModelHealth *h = lookup (self, provider, model, !ok);

  if (h != NULL && us_circuit_record (h->circuit, config, g_get_real_time (), ok))
    g_signal_emit (self, signals[CHANGED], 0, provider, model);
}

void
us_health_circuit_release (UsHealth   *self,
                           const char *provider,
                           const char *model)
{
  ModelHealth *h = lookup (self, provider, model, FALSE);

  if (h != NULL)
    us_circuit_release (h->circuit);
}
