/* us-eligibility.c: the checks that pass a model over without asking it. */
#include "us-eligibility.h"

#include "us-failover.h"
#include "us-request-entry.h"

static const char * const kind_names[] = {
  [US_SKIP_NONE] = NULL,
  [US_SKIP_CONTEXT_WINDOW] = "context-window",
  [US_SKIP_OVER_BUDGET] = "over-budget",
  [US_SKIP_PLAN_WINDOW] = "plan-window",
  [US_SKIP_COOLING_DOWN] = "cooling-down",
  [US_SKIP_CIRCUIT_OPEN] = "circuit-open",
  [US_SKIP_LOCAL_DOWN] = "local-down",
};

void
us_skip_clear (UsSkip *skip)
{
  g_clear_pointer (&skip->reason, g_free);
  g_clear_pointer (&skip->detail, g_free);
  skip->kind = US_SKIP_NONE;
  skip->until = 0;
  skip->needed_tokens = 0;
  skip->window_tokens = 0;
}

const char *
us_skip_kind_to_string (UsSkipKind kind)
{
  g_return_val_if_fail (kind < G_N_ELEMENTS (kind_names), NULL);
  return kind_names[kind];
}

gboolean
us_skip_kind_from_string (const char *name,
                          UsSkipKind *out_kind)
{
  for (guint i = 1; name != NULL && i < G_N_ELEMENTS (kind_names); i++)
    if (g_str_equal (name, kind_names[i]))
      {
        *out_kind = (UsSkipKind) i;
        return TRUE;
      }
  return FALSE;
}

/* Local clock time for the log; the date too when it is not today. */
static char *
format_until (gint64 until)
{
  g_autoptr(GDateTime) when = g_date_time_new_from_unix_local (until);
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();

  if (g_date_time_get_year (when) == g_date_time_get_year (now) &&
      g_date_time_get_day_of_year (when) == g_date_time_get_day_of_year (now))
    return g_date_time_format (when, "%H:%M:%S");
  return g_date_time_format (when, "%Y-%m-%d %H:%M");
}

/* When a budget's day or week is over: the next local midnight, or the
 * next Monday's (us-spend.h counts weeks from Monday). */
static gint64
budget_period_end (UsBudgetPeriod per)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autoptr(GDateTime) midnight = g_date_time_new_local (g_date_time_get_year (now), g_date_time_get_month (now),
                                                         g_date_time_get_day_of_month (now), 0, 0, 0);
  gint days = per == US_BUDGET_PER_WEEK ? 8 - g_date_time_get_day_of_week (now) : 1;
  g_autoptr(GDateTime) end = g_date_time_add_days (midnight, days);

  return g_date_time_to_unix (end);
}

static gboolean
skip (UsSkip     *out,
      UsSkipKind  kind,
      char       *reason,
      const char *detail,
      gint64      until)
{
  out->kind = kind;
  out->reason = reason;
  out->detail = g_strdup (detail);
  out->until = until;
  return FALSE;
}

static gboolean
check_context_window (const UsChainModel *cm,
                      const UsIrRequest  *ir,
                      UsSkip             *out)
{
  gint64 output = us_ir_request_get_max_tokens (ir);
  gint64 needed;

  if (cm->context_tokens <= 0)
    return TRUE;
  if (cm->max_output_tokens > 0 && (output <= 0 || output > cm->max_output_tokens))
    output = cm->max_output_tokens;
  needed = us_ir_request_estimate_input_tokens (ir) + MAX (output, 0);
  if (needed <= cm->context_tokens)
    return TRUE;
  out->needed_tokens = needed;
  out->window_tokens = cm->context_tokens;
  return skip (out, US_SKIP_CONTEXT_WINDOW,
               g_strdup_printf (US_REASON_CONTEXT_WINDOW ": ~%" G_GINT64_FORMAT " tokens", needed), NULL, 0);
}

/* A model, or its provider, that reached a local budget counts as out of
 * quota until the day or week is over. */
static gboolean
check_budget (UsSpend                *spend,
              const UsProviderConfig *provider,
              const UsChainModel     *cm,
              UsSkip                 *out)
{
  const UsBudget *budget = cm->budget;
  g_autofree char *reason = NULL;

  if (spend == NULL)
    return TRUE;
  if (budget != NULL)
    reason = us_spend_check_budget (spend, provider->id, cm->model, budget);
  if (reason == NULL && provider->budget != NULL)
    {
      budget = provider->budget;
      reason = us_spend_check_budget (spend, provider->id, NULL, budget);
    }
  if (reason == NULL)
    return TRUE;
  return skip (out, US_SKIP_OVER_BUDGET, g_strdup (reason), reason, budget_period_end (budget->per));
}

static gboolean
check_cooldown (UsHealth               *health,
                const UsProviderConfig *provider,
                const UsChainModel     *cm,
                UsSkip                 *out)
{
  gint64 until = us_health_get_cooldown_until (health, provider->id, cm->model);
  const char *problem;
  g_autofree char *clock = NULL;

  if (until == 0)
    return TRUE;
  problem = us_health_get_problem (health, provider->id, cm->model);
  clock = format_until (until);
  /* Served, but its rate or plan window is used past the threshold. */
  if (g_strcmp0 (problem, US_PROBLEM_QUOTA_THRESHOLD) == 0)
    return skip (out, US_SKIP_PLAN_WINDOW,
                 g_strdup_printf ("plan window spent until %s (%s)", clock, problem), problem, until);
  return skip (out, US_SKIP_COOLING_DOWN,
               problem ? g_strdup_printf ("cooling down until %s (%s)", clock, problem)
                       : g_strdup_printf ("cooling down until %s", clock),
               problem, until);
}

static gboolean
check_circuit (UsHealth               *health,
               const UsFailoverConfig *failover,
               const UsProviderConfig *provider,
               const UsChainModel     *cm,
               gboolean               *probe,
               UsSkip                 *out)
{
  gint64 probe_at = 0;
  gboolean admitted;

  if (probe != NULL)
    admitted = us_health_circuit_admit (health, provider->id, cm->model, failover, probe);
  else
    admitted = us_health_circuit_peek (health, provider->id, cm->model, NULL);
  if (admitted)
    return TRUE;
  us_health_circuit_peek (health, provider->id, cm->model, &probe_at);
  if (probe_at > 0)
    {
      g_autofree char *clock = format_until (probe_at);
      return skip (out, US_SKIP_CIRCUIT_OPEN, g_strdup_printf ("circuit open until %s", clock), NULL, probe_at);
    }
  /* Half-open: another request is the probe. */
  return skip (out, US_SKIP_CIRCUIT_OPEN, g_strdup ("circuit open (a probe is testing it)"), NULL, 0);
}

/* Asking a local server that is not running would cost a first-byte
 * timeout (us-local-probe.h). */
static gboolean
check_local_server (UsLocalProbe           *local_probe,
                    const UsProviderConfig *provider,
                    UsSkip                 *out)
{
  const char *problem = local_probe ? us_local_probe_get_problem (local_probe, provider) : NULL;

  if (problem == NULL)
    return TRUE;
  return skip (out, US_SKIP_LOCAL_DOWN, g_strdup_printf ("local server not running: %s", problem), problem, 0);
}

gboolean
us_eligibility_check (UsHealth               *health,
                      UsSpend                *spend,
                      UsLocalProbe           *local_probe,
                      const UsFailoverConfig *failover,
                      const UsProviderConfig *provider,
                      const UsChainModel     *cm,
                      const UsIrRequest      *ir,
                      gboolean               *probe,
                      UsSkip                 *out)
{
  g_return_val_if_fail (out != NULL && out->reason == NULL, FALSE);

  if (probe != NULL)
    *probe = FALSE;
  /* The circuit comes last: admitting may take its one probe. */
  return check_context_window (cm, ir, out) &&
         check_budget (spend, provider, cm, out) &&
         check_cooldown (health, provider, cm, out) &&
         check_local_server (local_probe, provider, out) &&
         check_circuit (health, failover, provider, cm, probe, out);
}
