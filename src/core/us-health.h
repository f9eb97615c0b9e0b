/* us-health.h: per-model cooldowns and marks (key rejected, model not found…). */
#pragma once

#include <glib-object.h>
#include <json-glib/json-glib.h>

#include "us-config.h"

G_BEGIN_DECLS

#define US_TYPE_HEALTH (us_health_get_type ())
G_DECLARE_FINAL_TYPE (UsHealth, us_health, US, HEALTH, GObject)

UsHealth   *us_health_new            (void);
/* The model is skipped until @seconds from now. */
void        us_health_cool_down      (UsHealth   *self,
                                      const char *provider,
                                      const char *model,
                                      double      seconds,
                                      const char *reason);
gboolean    us_health_is_cooling     (UsHealth   *self,
                                      const char *provider,
                                      const char *model);
/* When the model's cooldown ends, in unix seconds (rounded up); 0 if it
 * is not cooling down. */
gint64      us_health_get_cooldown_until (UsHealth   *self,
                                      const char *provider,
                                      const char *model);
/* Why it is cooling down or marked ("rate limited", "key rejected"…), or NULL. */
const char *us_health_get_problem    (UsHealth   *self,
                                      const char *provider,
                                      const char *model);
/* A problem shown in the UI that does not by itself skip the model. */
void        us_health_mark           (UsHealth   *self,
                                      const char *provider,
                                      const char *model,
                                      const char *problem);
/* The model served: clears its problem. TRUE if it had one (it is back). */
gboolean    us_health_mark_ok        (UsHealth   *self,
                                      const char *provider,
                                      const char *model);
/* The circuit breaker (us-circuit.h), per model. May a request go to it?
 * @probe: it goes as the half-open probe, whose outcome must be recorded
 * or released. */
gboolean    us_health_circuit_admit  (UsHealth               *self,
                                      const char             *provider,
                                      const char             *model,
                                      const UsFailoverConfig *config,
                                      gboolean               *probe);
/* Would us_health_circuit_admit() let a request through now? Changes
 * nothing. @probe_at (may be NULL): when an open circuit lets its probe
 * through, in unix seconds (rounded up); 0 unless open. */
gboolean    us_health_circuit_peek   (UsHealth               *self,
                                      const char             *provider,
                                      const char             *model,
                                      gint64                 *probe_at);
/* An answer from the model that says whether it works (@ok) or not. */
void        us_health_circuit_record (UsHealth               *self,
                                      const char             *provider,
                                      const char             *model,
                                      const UsFailoverConfig *config,
                                      gboolean                ok);
/* A probe that ended without saying anything of the model. */
void        us_health_circuit_release (UsHealth              *self,
                                      const char             *provider,
                                      const char             *model);
/* Key pools: each key of an auth: key provider (@key: its number in the
 * pool, from 1) has its own cooldown and problem for the model. The model
 * as a whole cools down only when no key of its pool is left; the request
 * job, which knows the pool, says so with us_health_cool_down(). */
void        us_health_cool_down_key  (UsHealth   *self,
                                      const char *provider,
                                      const char *model,
                                      guint       key,
                                      double      seconds,
                                      const char *reason);
gboolean    us_health_is_key_cooling (UsHealth   *self,
                                      const char *provider,
                                      const char *model,
                                      guint       key);
/* When the key's cooldown ends, real time in µs; 0 if it is not cooling. */
gint64      us_health_get_key_cooldown_until_us (UsHealth   *self,
                                      const char *provider,
                                      const char *model,
                                      guint       key);
/* The model cools down because every key of its pool does. */
void        us_health_cool_down_pool (UsHealth   *self,
                                      const char *provider,
                                      const char *model,
                                      double      seconds,
                                      const char *reason);
/* The provider's pool changed (a key added or deleted): its numbers may
 * name other keys now, so every key's state, and a cooldown of the whole
 * pool, is forgotten. */
void        us_health_forget_keys    (UsHealth   *self,
                                      const char *provider);
/* The key served: its cooldown and problem are over. */
void        us_health_mark_key_ok    (UsHealth   *self,
                                      const char *provider,
                                      const char *model,
                                      guint       key);
/* {"state": "ok"|"cooldown"|"problem", "reason": …, "cooldown_until": RFC 3339|null,
 *  "circuit": "closed"|"open"|"half-open", "circuit_probe_at": RFC 3339|null,
 *  "keys": [{"key": N, "state": "cooldown"|"problem", "reason": …, "cooldown_until": …}]}
 * (keys by number, never by value; only those with something to say) */
JsonNode   *us_health_to_json        (UsHealth   *self,
                                      const char *provider,
                                      const char *model);

G_END_DECLS
