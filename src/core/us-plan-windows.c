/* us-plan-windows.c: the last plan-window report per chain model.
 *
 * One entry per provider and model of the config's chains (the chain
 * entry's model, never the client's), so the table is bounded by the
 * config, not by the requests.
 */
#include <string.h>

#include "us-failover.h"
#include "us-plan-windows.h"

#define PREFIX "anthropic-ratelimit-unified-"

static const char * const window_names[] = { "5h", "7d" };
#define N_WINDOWS G_N_ELEMENTS (window_names)

typedef struct {
  char *status;
  char *claim;
  char *overage_status;
  gint64 updated;               /* real time, µs */
  double utilization[N_WINDOWS]; /* 0–1; < 0: not reported */
  gint64 resets_at[N_WINDOWS];   /* real time, µs; 0: not reported */
} Plan;

struct _UsPlanWindows
{
  GObject parent_instance;

  GHashTable *plans;  /* "provider\nmodel", or "provider\nmodel\nN" for key N ≥ 2 of a pool → Plan */
};

G_DEFINE_FINAL_TYPE (UsPlanWindows, us_plan_windows, G_TYPE_OBJECT)

static void
plan_free (Plan *plan)
{
  g_free (plan->status);
  g_free (plan->claim);
  g_free (plan->overage_status);
  g_free (plan);
}

static gboolean
has_unified_headers (SoupMessageHeaders *headers)
{
  SoupMessageHeadersIter iter;
  const char *name, *value;

  soup_message_headers_iter_init (&iter, headers);
  while (soup_message_headers_iter_next (&iter, &name, &value))
    {
      if (g_ascii_strncasecmp (name, PREFIX, strlen (PREFIX)) == 0)
        return TRUE;
    }
  return FALSE;
}

static void
set_string (char      **field,
            const char *value)
{
  if (value == NULL)
    return;
  g_free (*field);
  *field = g_strdup (value);
}

/* Key 1 of a pool (or no key) is the model's own entry. */
static char *
plan_key (const char *provider,
          const char *model,
          guint       key)
{
  return key <= 1 ? g_strconcat (provider, "\n", model, NULL)
                  : g_strdup_printf ("%s\n%s\n%u", provider, model, key);
}

void
us_plan_windows_note (UsPlanWindows      *self,
                      const char         *provider,
                      const char         *model,
                      SoupMessageHeaders *headers)
{
  us_plan_windows_note_key (self, provider, model, 0, headers);
}

void
us_plan_windows_note_key (UsPlanWindows      *self,
                          const char         *provider,
                          const char         *model,
                          guint               pool_key,
                          SoupMessageHeaders *headers)
{
  g_autofree char *key = NULL;
  Plan *plan;

  g_return_if_fail (US_IS_PLAN_WINDOWS (self));

  if (headers == NULL || !has_unified_headers (headers))
    return;
  key = plan_key (provider, model, pool_key);
  plan = g_hash_table_lookup (self->plans, key);
  if (plan == NULL)
    {
      plan = g_new0 (Plan, 1);
      for (guint i = 0; i < N_WINDOWS; i++)
        plan->utilization[i] = -1;
      g_hash_table_insert (self->plans, g_steal_pointer (&key), plan);
    }

  plan->updated = g_get_real_time ();
  set_string (&plan->status, soup_message_headers_get_one (headers, PREFIX "status"));
  set_string (&plan->claim, soup_message_headers_get_one (headers, PREFIX "representative-claim"));
  set_string (&plan->overage_status, soup_message_headers_get_one (headers, PREFIX "overage-status"));
  for (guint i = 0; i < N_WINDOWS; i++)
    {
      g_autofree char *util_name = g_strdup_printf (PREFIX "%s-utilization", window_names[i]);
      g_autofree char *reset_name = g_strdup_printf (PREFIX "%s-reset", window_names[i]);
      const char *util = soup_message_headers_get_one (headers, util_name);
      double reset = us_failover_seconds_until (soup_message_headers_get_one (headers, reset_name));
      char *end = NULL;
      double used;

      if (util != NULL)
        {
          used = g_ascii_strtod (util, &end);
          if (end != util && *end == '\0' && used >= 0)
            plan->utilization[i] = used;
        }
      if (reset >= 0)
        plan->resets_at[i] = plan->updated + (gint64) (reset * G_USEC_PER_SEC);
    }
}

static void
add_time (JsonBuilder *b,
          const char  *name,
          gint64       real_us)
{
  g_autoptr(GDateTime) when = g_date_time_new_from_unix_utc (real_us / G_USEC_PER_SEC);
  g_autofree char *text = g_date_time_format_iso8601 (when);

  json_builder_set_member_name (b, name);
  json_builder_add_string_value (b, text);
}

static void
add_string (JsonBuilder *b,
            const char  *name,
            const char  *value)
{
  if (value == NULL)
    return;
  json_builder_set_member_name (b, name);
  json_builder_add_string_value (b, value);
}

JsonNode *
us_plan_windows_to_json (UsPlanWindows *self,
                         const char    *provider,
                         const char    *model)
{
  return us_plan_windows_key_to_json (self, provider, model, 0);
}

JsonNode *
us_plan_windows_key_to_json (UsPlanWindows *self,
                             const char    *provider,
                             const char    *model,
                             guint          pool_key)
{
  g_autoptr(JsonBuilder) b = NULL;
  g_autofree char *key = NULL;
  gint64 now = g_get_real_time ();
  Plan *plan;

  g_return_val_if_fail (US_IS_PLAN_WINDOWS (self), NULL);

  key = plan_key (provider, model, pool_key);
  plan = g_hash_table_lookup (self->plans, key);
  if (plan == NULL)
    return NULL;

  b = json_builder_new ();
  json_builder_begin_object (b);
  add_string (b, "status", plan->status);
  add_string (b, "representative_claim", plan->claim);
  add_string (b, "overage_status", plan->overage_status);
  add_time (b, "updated", plan->updated);
  json_builder_set_member_name (b, "windows");
  json_builder_begin_array (b);
  for (guint i = 0; i < N_WINDOWS; i++)
    {
      /* A window past its reset has started again: what we knew is void. */
      if (plan->resets_at[i] != 0 && plan->resets_at[i] <= now)
        continue;
      if (plan->utilization[i] < 0 && plan->resets_at[i] == 0)
        continue;
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "name");
      json_builder_add_string_value (b, window_names[i]);
      if (plan->utilization[i] >= 0)
        {
          json_builder_set_member_name (b, "utilization");
          json_builder_add_double_value (b, plan->utilization[i]);
        }
      if (plan->resets_at[i] != 0)
        add_time (b, "resets_at", plan->resets_at[i]);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

static void
us_plan_windows_finalize (GObject *object)
{
  UsPlanWindows *self = US_PLAN_WINDOWS (object);

  g_clear_pointer (&self->plans, g_hash_table_unref);
  G_OBJECT_CLASS (us_plan_windows_parent_class)->finalize (object);
}

static void
us_plan_windows_class_init (UsPlanWindowsClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = us_plan_windows_finalize;
}

static void
us_plan_windows_init (UsPlanWindows *self)
{
  self->plans = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) plan_free);
}

UsPlanWindows *
us_plan_windows_new (void)
{
  return g_object_new (US_TYPE_PLAN_WINDOWS, NULL);
}
