/* us-state-file.h: a small state file of Understudy's own (provenance,
 * spend), kept current without touching the disk on the request path.
 *
 * Changes are gathered for a moment, serialized on the main loop, and
 * written atomically (mode 0600) by a worker, one write at a time; changes
 * made during a write go in the next one.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* The owner's whole state as the file should hold it. */
typedef GBytes *(*UsStateSerializeFunc) (gpointer owner);

#define US_TYPE_STATE_FILE (us_state_file_get_type ())
G_DECLARE_FINAL_TYPE (UsStateFile, us_state_file, US, STATE_FILE, GObject)

/* @path NULL: nothing is ever written (tests, no state dir). */
UsStateFile *us_state_file_new     (const char           *path,
                                    UsStateSerializeFunc  serialize,
                                    gpointer              owner);
const char  *us_state_file_get_path (UsStateFile         *self);
/* The owner's state changed: a write follows within a second. */
void         us_state_file_changed (UsStateFile          *self);
/* Writes what is pending now, on this thread (shutdown, tests). */
gboolean     us_state_file_flush   (UsStateFile          *self,
                                    GError              **error);
/* Flushes, then forgets the owner: for the owner's finalize. */
void         us_state_file_close   (UsStateFile          *self);

G_END_DECLS
