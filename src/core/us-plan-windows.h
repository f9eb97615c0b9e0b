/* us-plan-windows.h: what a subscription plan's windows look like, as the
 * provider last reported them.
 *
 * Claude subscriptions answer with anthropic-ratelimit-unified-* headers:
 * an overall status, the 5-hour and 7-day windows' utilization and reset,
 * the claim that represents the limit, and the overage status. They are
 * kept per chain model (provider and model: the credential that model
 * uses), so that the status API and `understudy status` can show each
 * model's window use and when it resets. Failover itself decides from the
 * headers (us-failover.c); this is what a person reads.
 */
#pragma once

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

G_BEGIN_DECLS

#define US_TYPE_PLAN_WINDOWS (us_plan_windows_get_type ())
G_DECLARE_FINAL_TYPE (UsPlanWindows, us_plan_windows, US, PLAN_WINDOWS, GObject)

UsPlanWindows *us_plan_windows_new     (void);
/* Records what @headers say of @provider / @model's plan; headers without
 * any anthropic-ratelimit-unified-* leave it as it was. */
void           us_plan_windows_note    (UsPlanWindows      *self,
                                        const char         *provider,
                                        const char         *model,
                                        SoupMessageHeaders *headers);
/* The same for key @pool_key of the provider's key pool (each key has
 * its own plan): key 0 or 1 is the model's own entry. */
void           us_plan_windows_note_key (UsPlanWindows     *self,
                                        const char         *provider,
                                        const char         *model,
                                        guint               pool_key,
                                        SoupMessageHeaders *headers);
/* {"status", "representative_claim", "overage_status", "updated",
 *  "windows": [{"name": "5h", "utilization": 0.97, "resets_at": RFC 3339}]},
 * leaving out what was not reported and windows whose reset has passed;
 * NULL when nothing is known. */
JsonNode      *us_plan_windows_to_json (UsPlanWindows      *self,
                                        const char         *provider,
                                        const char         *model);
JsonNode      *us_plan_windows_key_to_json (UsPlanWindows  *self,
                                        const char         *provider,
                                        const char         *model,
                                        guint               pool_key);

G_END_DECLS
