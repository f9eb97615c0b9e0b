/* us-jsonc-edit.h: minimal textual edits of JSON and JSONC documents.
 *
 * The document is parsed only to find where members start and end; edits
 * splice text at those places, so every byte outside the edited member
 * (formatting, comments, key order, unknown keys) stays as the user wrote it.
 * Inserted members follow the file's indentation and line endings.
 *
 * A path is a NULL-terminated list of member names from the top-level
 * object. Functions that return text return a new document, or NULL with
 * @error set (US_CONNECT_ERROR_PARSE naming line and column).
 */
#pragma once

#include <json-glib/json-glib.h>

#include "us-connect-private.h"

G_BEGIN_DECLS

typedef enum {
  US_JSON_STRICT,  /* RFC 8259: what JSON.parse takes (Claude Code) */
  US_JSON_JSONC,   /* plus comments and trailing commas (OpenCode) */
} UsJsonDialect;

gboolean  us_jsonc_validate         (const char         *text,
                                     UsJsonDialect       dialect,
                                     GError            **error);

/* The raw text of the member's value, NULL (no error) when absent. */
char     *us_jsonc_get              (const char         *text,
                                     UsJsonDialect       dialect,
                                     const char * const *path,
                                     GError            **error);

/* The member's value when it is a string, else NULL. */
char     *us_jsonc_get_string       (const char         *text,
                                     UsJsonDialect       dialect,
                                     const char * const *path);

/* Sets the member to @value, creating missing parent objects; the number
 * of parents it had to create goes to @created_parents. */
char     *us_jsonc_set              (const char         *text,
                                     UsJsonDialect       dialect,
                                     const char * const *path,
                                     JsonNode           *value,
                                     guint              *created_parents,
                                     GError            **error);

/* Puts @raw back, verbatim, as the existing member's value. */
char     *us_jsonc_replace_raw      (const char         *text,
                                     UsJsonDialect       dialect,
                                     const char * const *path,
                                     const char         *raw,
                                     GError            **error);

/* Removes the member (its line, when it has one to itself). */
char     *us_jsonc_remove           (const char         *text,
                                     UsJsonDialect       dialect,
                                     const char * const *path,
                                     GError            **error);

gboolean  us_jsonc_is_empty_object  (const char         *text,
                                     UsJsonDialect       dialect,
                                     const char * const *path);

/* us_jsonc_set(), appending to @edits (of UsConnectEdit*) what it did. */
char     *us_jsonc_set_recorded     (const char         *text,
                                     UsJsonDialect       dialect,
                                     const char * const *path,
                                     JsonNode           *value,
                                     GPtrArray          *edits,
                                     GError            **error);

extern const UsDocFormat us_json_strict_format;
extern const UsDocFormat us_jsonc_format;

G_END_DECLS
