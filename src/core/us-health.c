/* us-health.c: what the proxy knows about each model's recent failures. */
#include "us-health.h"

#include "us-circuit.h"

typedef struct {
  guint key;                  /* its place in the provider's key pool, from 1 */
  gint64 cooldown_until_us;   /* real time; 0 = none */
  char *problem;
} KeyHealth;

typedef struct {
  gint64 cooldown_until_us;   /* real time; 0 = none */
  char *problem;
  UsCircuit *circuit;
  gboolean pool_cooldown;     /* the cooldown is its key pool's: every key is cooling */
  GArray *keys;               /* KeyHealth, by key; at most one per key of the pool */
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
  g_array_unref (h->keys);
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

static void
key_health_clear (gpointer data)
{
  g_free (((KeyHealth *) data)->problem);
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
      h->keys = g_array_new (FALSE, TRUE, sizeof (KeyHealth));
      g_array_set_clear_func (h->keys, key_health_clear);
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
  h->pool_cooldown = FALSE;
  g_free (h->problem);
  h->problem = g_strdup (reason);
  g_signal_emit (self, signals[CHANGED], 0, provider, model);
}

void
us_health_cool_down_pool (UsHealth   *self,
                          const char *provider,
                          const char *model,
                          double      seconds,
                          const char *reason)
{
  us_health_cool_down (self, provider, model, seconds, reason);
  lookup (self, provider, model, FALSE)->pool_cooldown = TRUE;
}

void
us_health_forget_keys (UsHealth   *self,
                       const char *provider)
{
  g_autofree char *prefix = g_strconcat (provider, "\n", NULL);
  g_autoptr(GPtrArray) changed = g_ptr_array_new_with_free_func (g_free);
  GHashTableIter iter;
  const char *name;
  ModelHealth *h;

  g_hash_table_iter_init (&iter, self->models);
  while (g_hash_table_iter_next (&iter, (gpointer *) &name, (gpointer *) &h))
    {
      if (!g_str_has_prefix (name, prefix) || (h->keys->len == 0 && !h->pool_cooldown))
        continue;
      g_array_set_size (h->keys, 0);
      if (h->pool_cooldown)
        {
          h->cooldown_until_us = 0;
          g_clear_pointer (&h->problem, g_free);
          h->pool_cooldown = FALSE;
        }
      g_ptr_array_add (changed, g_strdup (name + strlen (prefix)));
    }
  /* After the walk: a handler may look the models up again. */
  for (guint i = 0; i < changed->len; i++)
    g_signal_emit (self, signals[CHANGED], 0, provider, (const char *) g_ptr_array_index (changed, i));
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
  h->pool_cooldown = FALSE;
  g_signal_emit (self, signals[CHANGED], 0, provider, model);
  g_signal_emit (self, signals[RECOVERED], 0, provider, model);
  return TRUE;
}

/* ---- Key pools ---------------------------------------------------------- */

static KeyHealth *
lookup_key (UsHealth   *self,
            const char *provider,
            const char *model,
            guint       key,
            gboolean    create)
{
  ModelHealth *h = lookup (self, provider, model, create);
  KeyHealth fresh = { key, 0, NULL };
  guint i;

  if (h == NULL)
    return NULL;
  for (i = 0; i < h->keys->len; i++)
    {
      KeyHealth *k = &g_array_index (h->keys, KeyHealth, i);

      if (k->key == key)
        return k;
      if (k->key > key)
        break;
    }
  if (!create)
    return NULL;
  g_array_insert_val (h->keys, i, fresh);
  return &g_array_index (h->keys, KeyHealth, i);
}

void
us_health_cool_down_key (UsHealth   *self,
                         const char *provider,
                         const char *model,
                         guint       key,
                         double      seconds,
                         const char *reason)
{
  KeyHealth *k = lookup_key (self, provider, model, key, TRUE);

  k->cooldown_until_us = g_get_real_time () + (gint64) (seconds * G_USEC_PER_SEC);
  g_free (k->problem);
  k->problem = g_strdup (reason);
  g_signal_emit (self, signals[CHANGED], 0, provider, model);
}

gboolean
us_health_is_key_cooling (UsHealth   *self,
                          const char *provider,
                          const char *model,
                          guint       key)
{
  KeyHealth *k = lookup_key (self, provider, model, key, FALSE);

  return k != NULL && k->cooldown_until_us > g_get_real_time ();
}

gint64
us_health_get_key_cooldown_until_us (UsHealth   *self,
                                     const char *provider,
                                     const char *model,
                                     guint       key)
{
  KeyHealth *k = lookup_key (self, provider, model, key, FALSE);

  return k != NULL && k->cooldown_until_us > g_get_real_time () ? k->cooldown_until_us : 0;
}

void
us_health_mark_key_ok (UsHealth   *self,
                       const char *provider,
                       const char *model,
                       guint       key)
{
  KeyHealth *k = lookup_key (self, provider, model, key, FALSE);

  if (k == NULL || (k->problem == NULL && k->cooldown_until_us == 0))
    return;
  g_clear_pointer (&k->problem, g_free);
  k->cooldown_until_us = 0;
  g_signal_emit (self, signals[CHANGED], 0, provider, model);
}

static void
add_time_or_null (JsonBuilder *b,
                  gint64       real_us)
{
  g_autoptr(GDateTime) secs = NULL;
  g_autoptr(GDateTime) at = NULL;
  g_autofree char *text = NULL;

  if (real_us <= 0)
    {
      json_builder_add_null_value (b);
      return;
    }
  secs = g_date_time_new_from_unix_utc (real_us / G_USEC_PER_SEC);
  at = g_date_time_add (secs, real_us % G_USEC_PER_SEC);
  text = g_date_time_format_iso8601 (at);
  json_builder_add_string_value (b, text);
}

/* The keys with something to say, by number only. */
static void
add_keys (JsonBuilder *b,
          ModelHealth *h)
{
  gint64 now = g_get_real_time ();

  json_builder_set_member_name (b, "keys");
  json_builder_begin_array (b);
  for (guint i = 0; h != NULL && i < h->keys->len; i++)
    {
      const KeyHealth *k = &g_array_index (h->keys, KeyHealth, i);
      gboolean cooling = k->cooldown_until_us > now;

      if (k->problem == NULL && !cooling)
        continue;
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "key");
      json_builder_add_int_value (b, k->key);
      json_builder_set_member_name (b, "state");
      json_builder_add_string_value (b, cooling ? "cooldown" : "problem");
      json_builder_set_member_name (b, "reason");
      json_builder_add_string_value (b, k->problem);
      json_builder_set_member_name (b, "cooldown_until");
      add_time_or_null (b, cooling ? k->cooldown_until_us : 0);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
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
  add_time_or_null (b, cooling ? h->cooldown_until_us : 0);
  add_keys (b, h);
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
