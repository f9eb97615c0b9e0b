/* us-circuit.h: one model's circuit breaker.
 *
 * Closed: requests go through, and failures are counted (in a row, and as
 * a rate over a sliding window). Too many open it: the model is skipped.
 * After failover.circuit_open_s one request goes through as a probe
 * (half-open); its success closes the circuit, its failure opens it again.
 * A plain struct owned by UsHealth; times are g_get_real_time() values.
 */
#pragma once

#include "us-config.h"

G_BEGIN_DECLS

typedef enum {
  US_CIRCUIT_CLOSED,
  US_CIRCUIT_OPEN,
  US_CIRCUIT_HALF_OPEN,
} UsCircuitState;

typedef struct _UsCircuit UsCircuit;

UsCircuit      *us_circuit_new            (void);
void            us_circuit_free           (UsCircuit              *self);
/* May a request go to the model at @now_us? A TRUE that turned an open
 * circuit half-open sets @probe: the caller must report that request's
 * outcome (us_circuit_record) or give the probe up (us_circuit_release). */
gboolean        us_circuit_admit          (UsCircuit              *self,
                                           const UsFailoverConfig *config,
                                           gint64                  now_us,
                                           gboolean               *probe);
/* Would us_circuit_admit() let a request through at @now_us? Changes nothing. */
gboolean        us_circuit_would_admit    (UsCircuit              *self,
                                           gint64                  now_us);
/* One answer from the model; TRUE if the state changed. */
gboolean        us_circuit_record         (UsCircuit              *self,
                                           const UsFailoverConfig *config,
                                           gint64                  now_us,
                                           gboolean                ok);
/* The probe ended without saying anything of the model (the client left,
 * the request was bad): the next request probes instead. */
void            us_circuit_release        (UsCircuit              *self);
UsCircuitState  us_circuit_get_state      (UsCircuit              *self);
/* When an open circuit lets a probe through; 0 unless open. */
gint64          us_circuit_get_probe_at   (UsCircuit              *self);
/* "closed", "open", "half-open" */
const char     *us_circuit_state_to_string (UsCircuitState         state);

G_END_DECLS
