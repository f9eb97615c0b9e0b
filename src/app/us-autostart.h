/* us-autostart.h: "Start at login".
 *
 * Outside Flatpak, an XDG autostart entry in $XDG_CONFIG_HOME/autostart;
 * inside, the Background portal's RequestBackground. Every change is
 * asynchronous: "enabled" follows what was done, not what was asked.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define US_TYPE_AUTOSTART (us_autostart_get_type ())
G_DECLARE_FINAL_TYPE (UsAutostart, us_autostart, US, AUTOSTART, GObject)

/* bus: the session bus, for the portal (may be NULL outside Flatpak).
 * The portal is used inside Flatpak (/.flatpak-info exists). */
UsAutostart *us_autostart_new             (GDBusConnection *bus);
/* The same, told which way to go: tests reach the portal outside Flatpak. */
UsAutostart *us_autostart_new_full        (GDBusConnection *bus,
                                           gboolean         use_portal);
gboolean     us_autostart_get_enabled     (UsAutostart     *self);
/* Asks for a change; "enabled" is notified once it is done (or stays put,
 * with a warning, when it fails). */
void         us_autostart_request_enabled (UsAutostart     *self,
                                           gboolean         enabled);
/* Inside Flatpak, asks once per run to keep running with no window, with
 * "Start at login" as it is; does nothing outside. */
void         us_autostart_request_background (UsAutostart *self);
/* The entry this app writes (inside Flatpak: its record of the portal's
 * answer), for tests. */
GFile       *us_autostart_get_file        (UsAutostart     *self);

G_END_DECLS
