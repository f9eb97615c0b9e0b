/* us-notifier.h: desktop notifications (libnotify) for failover episodes.
 *
 * One notification when an episode starts, one when the primary serves
 * again, one when a provider rejects its key. Actions: "Open" (app.open)
 * and "Pause routing" (app.routing → false).
 */
#pragma once

#include <gio/gio.h>
#include "us-episodes.h"

G_BEGIN_DECLS

#define US_TYPE_NOTIFIER (us_notifier_get_type ())
G_DECLARE_FINAL_TYPE (UsNotifier, us_notifier, US, NOTIFIER, GObject)

/* "enabled" property (default TRUE): the application binds it to the
 * config store's "notifications" preference. */
UsNotifier *us_notifier_new         (UsEpisodes   *episodes,
                                     GApplication *app);
gboolean    us_notifier_get_enabled (UsNotifier   *self);
void        us_notifier_set_enabled (UsNotifier   *self,
                                     gboolean      enabled);

G_END_DECLS
