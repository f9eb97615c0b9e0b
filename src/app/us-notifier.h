/* us-notifier.h: desktop notifications (libnotify) for failover episodes.
 *
 * One notification when an episode starts, one when the primary serves
 * again, one when a provider rejects its key. Actions: "Open" (app.open)
 * and "Pause routing" (app.routing → false).
 */
#pragma once

#include <gio/gio.h>
#include "us-config-store.h"
#include "us-episodes.h"

G_BEGIN_DECLS

#define US_TYPE_NOTIFIER (us_notifier_get_type ())
G_DECLARE_FINAL_TYPE (UsNotifier, us_notifier, US, NOTIFIER, GObject)

/* Follows the store's "notifications" preference. */
UsNotifier *us_notifier_new (UsEpisodes    *episodes,
                             UsConfigStore *store,
                             GApplication  *app);

G_END_DECLS
