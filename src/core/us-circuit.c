/* us-circuit.c: consecutive failures and a bucketed sliding error rate. */
#include "us-circuit.h"

/* The window is kept as this many buckets of counts: fixed memory however
 * many requests pass, at the price of a window that slides in steps. */
#define N_BUCKETS 10

typedef struct {
  gint64 epoch;   /* which bucket-length period of time it counts */
  guint ok;
  guint failed;
} Bucket;

struct _UsCircuit
{
  UsCircuitState state;
  guint failures_in_row;
  gint64 probe_at_us;    /* when an open circuit lets a probe through */
  gboolean probing;
  Bucket buckets[N_BUCKETS];
};

UsCircuit *
us_circuit_new (void)
{
  return g_new0 (UsCircuit, 1);
}

void
us_circuit_free (UsCircuit *self)
{
  g_free (self);
}

static gint64
bucket_len_us (const UsFailoverConfig *config)
{
  return MAX (1, (gint64) (config->circuit_window_s * G_USEC_PER_SEC) / N_BUCKETS);
}

static void
count (UsCircuit              *self,
       const UsFailoverConfig *config,
       gint64                  now_us,
       gboolean                ok)
{
  gint64 epoch = now_us / bucket_len_us (config);
  Bucket *bucket = &self->buckets[epoch % N_BUCKETS];

  if (bucket->epoch != epoch)
    *bucket = (Bucket) { .epoch = epoch };
  if (ok)
    bucket->ok++;
  else
    bucket->failed++;
}

static gboolean
error_rate_exceeded (UsCircuit              *self,
                     const UsFailoverConfig *config,
                     gint64                  now_us)
{
  gint64 epoch = now_us / bucket_len_us (config);
  guint total = 0, failed = 0;

  for (guint i = 0; i < N_BUCKETS; i++)
    if (self->buckets[i].epoch > epoch - N_BUCKETS && self->buckets[i].epoch <= epoch)
      {
        total += self->buckets[i].ok + self->buckets[i].failed;
        failed += self->buckets[i].failed;
      }
  return total > 0 && total >= config->circuit_min_requests &&
         failed >= config->circuit_error_rate * total;
}

static void
open_circuit (UsCircuit              *self,
              const UsFailoverConfig *config,
              gint64                  now_us)
{
  self->state = US_CIRCUIT_OPEN;
  self->probe_at_us = now_us + (gint64) (config->circuit_open_s * G_USEC_PER_SEC);
  self->probing = FALSE;
}

static void
close_circuit (UsCircuit *self)
{
  /* A fresh start: the failures that opened it are not held against it. */
  *self = (UsCircuit) { .state = US_CIRCUIT_CLOSED };
}

gboolean
us_circuit_admit (UsCircuit              *self,
                  const UsFailoverConfig *config,
                  gint64                  now_us,
                  gboolean               *probe)
{
  *probe = FALSE;
  switch (self->state)
    {
    case US_CIRCUIT_CLOSED:
      return TRUE;
    case US_CIRCUIT_OPEN:
      if (now_us < us_circuit_get_probe_at (self))
        return FALSE;
      self->state = US_CIRCUIT_HALF_OPEN;
      self->probing = TRUE;
      *probe = TRUE;
      return TRUE;
    case US_CIRCUIT_HALF_OPEN:
      /* One probe at a time; a released probe lets the next one go. */
      if (self->probing)
        return FALSE;
      self->probing = TRUE;
      *probe = TRUE;
      return TRUE;
    default:
      g_return_val_if_reached (TRUE);
    }
}

gboolean
us_circuit_would_admit (UsCircuit *self,
                        gint64     now_us)
{
  switch (self->state)
    {
    case US_CIRCUIT_OPEN:
      return now_us >= us_circuit_get_probe_at (self);
    case US_CIRCUIT_HALF_OPEN:
      return !self->probing;
    case US_CIRCUIT_CLOSED:
    default:
      return TRUE;
    }
}

gboolean
us_circuit_record (UsCircuit              *self,
                   const UsFailoverConfig *config,
                   gint64                  now_us,
                   gboolean                ok)
{
  UsCircuitState before = self->state;

  switch (self->state)
    {
    case US_CIRCUIT_CLOSED:
      count (self, config, now_us, ok);
      self->failures_in_row = ok ? 0 : self->failures_in_row + 1;
      if (!ok && (self->failures_in_row >= config->circuit_failures ||
                  error_rate_exceeded (self, config, now_us)))
        open_circuit (self, config, now_us);
      break;
    case US_CIRCUIT_HALF_OPEN:
      if (ok)
        close_circuit (self);
      else
        open_circuit (self, config, now_us);
      break;
    case US_CIRCUIT_OPEN:
      /* A request sent before it opened: already accounted for. */
      break;
    default:
      g_assert_not_reached ();
    }
  return self->state != before;
}

void
us_circuit_release (UsCircuit *self)
{
  if (self->state == US_CIRCUIT_HALF_OPEN)
    self->probing = FALSE;
}

UsCircuitState
us_circuit_get_state (UsCircuit *self)
{
  return self->state;
}

gint64
us_circuit_get_probe_at (UsCircuit *self)
{
  return self->state == US_CIRCUIT_OPEN ? self->probe_at_us : 0;
}

const char *
us_circuit_state_to_string (UsCircuitState state)
{
  static const char * const names[] = { "closed", "open", "half-open" };

  return names[state];
}
