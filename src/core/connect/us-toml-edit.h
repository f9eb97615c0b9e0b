/* us-toml-edit.h: minimal, line-based edits of a TOML document.
 *
 * Enough TOML is parsed to refuse broken files (with a line number) and to
 * know where each statement starts and ends; edits replace, insert or drop
 * whole statements, so comments and every other table stay byte for byte.
 *
 * A path names either a table (when a [header] with exactly that path
 * exists: its value is the body text under the header) or a key (its value
 * is the raw value text). Only root keys and whole tables are edited.
 */
#pragma once

#include <glib.h>

#include "us-connect-private.h"

G_BEGIN_DECLS

gboolean  us_toml_validate        (const char         *text,
                                   GError            **error);

char     *us_toml_get             (const char         *text,
                                   const char * const *path,
                                   GError            **error);
char     *us_toml_replace         (const char         *text,
                                   const char * const *path,
                                   const char         *raw,
                                   GError            **error);
/* A table goes with its sub-tables and the blank line that set it apart. */
char     *us_toml_remove          (const char         *text,
                                   const char * const *path,
                                   GError            **error);

/* Sets a top-level key; a new one goes after the last top-level key
 * (top-level keys must come before the first table header). */
char     *us_toml_set_root_key    (const char         *text,
                                   const char         *key,
                                   const char         *raw_value,
                                   GError            **error);

/* Replaces the body of table @path, or appends the table at the end. Fails
 * (US_CONNECT_ERROR_UNSUPPORTED) when the table is also defined some other
 * way (dotted keys, an inline table, twice), where a header would clash. */
char     *us_toml_set_table       (const char         *text,
                                   const char * const *path,
                                   const char         *body,
                                   GError            **error);

/* A TOML basic string holding @value. */
char     *us_toml_quote           (const char         *value);

/* The decoded value of a string key, NULL if absent or not a string. */
char     *us_toml_get_string      (const char         *text,
                                   const char * const *path);

extern const UsDocFormat us_toml_format;

G_END_DECLS
