/* us-dbusmenu.h: a GMenuModel exported as com.canonical.dbusmenu.
 *
 * Tray hosts read com.canonical.dbusmenu, not GIO's org.gtk.Menus, so this
 * serves a GMenuModel over that protocol. Items call actions of @actions
 * (names without a prefix, e.g. "routing"); an item without an action is a
 * disabled label; sections become separators; a boolean-stated action
 * without a target is a checkmark, an action whose state matches the
 * item's target is a radio item. Submenu links are not followed: the tray
 * menu is flat.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define US_TYPE_DBUSMENU (us_dbusmenu_get_type ())
G_DECLARE_FINAL_TYPE (UsDbusmenu, us_dbusmenu, US, DBUSMENU, GObject)

UsDbusmenu *us_dbusmenu_new          (GMenuModel      *model,
                                      GActionGroup    *actions);
/* Exports the menu at @object_path until us_dbusmenu_unexport() or disposal. */
gboolean    us_dbusmenu_export       (UsDbusmenu      *self,
                                      GDBusConnection *bus,
                                      const char      *object_path,
                                      GError         **error);
void        us_dbusmenu_unexport     (UsDbusmenu      *self);
/* "revision" property: bumped (and LayoutUpdated emitted) on every layout change. */
guint       us_dbusmenu_get_revision (UsDbusmenu      *self);

G_END_DECLS
