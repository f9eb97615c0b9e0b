/* us-application.h: the desktop app: proxy, config store, tray, notifications, window. */
#pragma once

#include <adwaita.h>
#include "us-config-store.h"
#include "us-episodes.h"
#include "us-proxy.h"
#include "us-autostart.h"
#include "us-tray.h"

G_BEGIN_DECLS

#define US_APPLICATION_ID "io.github.understudy.Understudy"

#define US_TYPE_APPLICATION (us_application_get_type ())
G_DECLARE_FINAL_TYPE (UsApplication, us_application, US, APPLICATION, AdwApplication)

/* Runs the proxy for @config inside the primary instance; a second
 * instance only asks the first to present its window. @background (start
 * at login): the first activation opens no window while a tray shows the
 * item. */
UsApplication *us_application_new          (UsConfig      *config,
                                            gboolean       background);
/* NULL before startup. */
UsConfigStore *us_application_get_store    (UsApplication *self);
UsProxy       *us_application_get_proxy    (UsApplication *self);
UsEpisodes    *us_application_get_episodes (UsApplication *self);
UsAutostart   *us_application_get_autostart (UsApplication *self);
/* NULL without a session bus. */
UsTray        *us_application_get_tray     (UsApplication *self);

/* Actions: "routing" (stateful boolean, follows the store), "notifications"
 * (stateful boolean), "open", "show-page" (s: "chains", "providers",
 * "requests", "clients"; presents the window on that page), "quit". */

G_END_DECLS
