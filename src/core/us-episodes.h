/* us-episodes.h: failover episodes, as the tray, header and notifications see them.
 *
 * Watches the request log and health. An episode starts when a request is
 * served by a model other than its chain's first because the first failed
 * or is cooling down, and ends when a request is served by the chain's
 * first model again. One "started" and one "ended" per episode, never one
 * per request.
 */
#pragma once

#include "us-health.h"
#include "us-request-log.h"

G_BEGIN_DECLS

#define US_TYPE_EPISODES (us_episodes_get_type ())
G_DECLARE_FINAL_TYPE (UsEpisodes, us_episodes, US, EPISODES, GObject)

UsEpisodes *us_episodes_new             (UsRequestLog *log,
                                         UsHealth     *health);
/* "failing-over" property. */
gboolean    us_episodes_get_failing_over (UsEpisodes  *self);
/* "serving" property: "provider/model" that served the newest finished
 * request, NULL before the first. */
const char *us_episodes_get_serving     (UsEpisodes   *self);

/* Signals:
 *   "started" (const char *failed_model, const char *reason,
 *              gint64 until_unix  (0 when unknown), const char *serving_model)
 *   "ended"   (const char *model)            the primary serves again
 *   "key-rejected" (const char *provider)    once, until it serves again
 * Model names are "provider/model".
 */

G_END_DECLS
