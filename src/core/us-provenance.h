/* us-provenance.h: which provider produced each piece of signed content.
 *
 * Thinking signatures, redacted-thinking data and encrypted reasoning can
 * only be read by the provider that made them; tool call ids tell which
 * model started a tool loop. The store keeps, for a short hash of each
 * (never the content itself), the provider, model and credential identity
 * that produced it. It is bounded (least recently used entries go first)
 * and persisted in $XDG_STATE_HOME/understudy/provenance.json: loaded when
 * created (before serving), written asynchronously and atomically a moment
 * after it changes.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define US_PROVENANCE_DEFAULT_CAPACITY 8192

#define US_TYPE_PROVENANCE (us_provenance_get_type ())
G_DECLARE_FINAL_TYPE (UsProvenance, us_provenance, US, PROVENANCE, GObject)

/* $XDG_STATE_HOME/understudy/provenance.json, read from the environment now. */
char         *us_provenance_default_path (void);

/* Loads @path when it exists (NULL: memory only). A file that cannot be
 * read is left alone and the store starts empty (logged once). */
UsProvenance *us_provenance_new          (const char   *path,
                                          guint         capacity);

/* The store's key for signed content or a tool call id: 32 hex digits of
 * its SHA-256. */
char         *us_provenance_key          (const char   *native);

/* Remembers that @provider / @model with @credential produced @native. */
void          us_provenance_record       (UsProvenance *self,
                                          const char   *native,
                                          const char   *provider,
                                          const char   *model,
                                          const char   *credential);
/* The provider that produced @native, or NULL when unknown; @model and
 * @credential (borrowed, may be NULL) are filled when known. */
const char   *us_provenance_lookup       (UsProvenance *self,
                                          const char   *native,
                                          const char  **model,
                                          const char  **credential);
guint         us_provenance_get_size     (UsProvenance *self);

/* Writes pending changes now, atomically (shutdown, tests). */
gboolean      us_provenance_flush        (UsProvenance *self,
                                          GError      **error);

G_END_DECLS
