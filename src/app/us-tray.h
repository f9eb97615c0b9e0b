/* us-tray.h: the tray item: org.kde.StatusNotifierItem + com.canonical.dbusmenu over GDBus.
 *
 * Exports both objects on the session bus under the connection's unique
 * name, registers with org.kde.StatusNotifierWatcher, and registers again
 * whenever the watcher appears. Clicks and menu items activate the
 * application's actions: "routing" (stateful boolean), "open", "quit".
 * Icon names (icons/hicolor/symbolic/apps/):
 * io.github.understudy.Understudy-{routing,failover,paused,error}-symbolic.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef enum {
  US_TRAY_ACTIVE,     /* routing on, primary serving */
  US_TRAY_FAILOVER,   /* routing on, a fallback serving */
  US_TRAY_PAUSED,     /* routing off */
  US_TRAY_ERROR,      /* the proxy cannot serve (e.g. port in use) */
} UsTrayState;

#define US_TYPE_TRAY_STATE (us_tray_state_get_type ())
GType us_tray_state_get_type (void);

#define US_TYPE_TRAY (us_tray_get_type ())
G_DECLARE_FINAL_TYPE (UsTray, us_tray, US, TRAY, GObject)

/* @actions is usually the GApplication. */
UsTray     *us_tray_new               (GDBusConnection     *bus,
                                       GActionGroup        *actions);
/* "state" property (icon, status, tooltip follow it). The tray also follows
 * the "routing" action: turned off shows PAUSED, turned on again ACTIVE;
 * ERROR stays until set otherwise. */
void        us_tray_set_state         (UsTray              *self,
                                       UsTrayState          state);
UsTrayState us_tray_get_state         (UsTray              *self);
/* "serving" property: shown as "Serving: …"; NULL = nothing yet. */
void        us_tray_set_serving       (UsTray              *self,
                                       const char          *model);
/* The chain in order, one label per model ("deepseek/deepseek-chat — cooling down until 14:05"). */
void        us_tray_set_chain         (UsTray              *self,
                                       const char * const  *labels);
/* "registered" property: a watcher accepted the item (a host may show it). */
gboolean    us_tray_get_registered    (UsTray              *self);
/* The token a host passed in ProvideXdgActivationToken, taken once. */
char       *us_tray_take_activation_token (UsTray          *self);

G_END_DECLS
