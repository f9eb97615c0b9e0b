/* us-presets.h: the providers Understudy knows how to reach out of the box.
 *
 * A plain table: the "Add provider" UI lists it, and a preset fills in a new
 * provider's kind, base URL, auth style and key variable. Model tables
 * (context window, prices) come later as more columns of the same table.
 */
#pragma once

#include <json-glib/json-glib.h>

#include "us-config.h"

G_BEGIN_DECLS

typedef struct {
  const char     *id;           /* also the provider id a new provider gets */
  const char     *display_name; /* for people */
  UsProviderKind  kind;
  const char     *base_url;     /* exactly as the provider documents it */
  UsAuthMode      auth;
  const char     *key_env;      /* NULL when no key is needed */
  const char     *model;        /* a model to suggest and to test with */
} UsPreset;

/* The whole table, in the order the UI shows it. */
const UsPreset *us_presets_get          (guint          *n_presets);
/* NULL when @id names no preset. */
const UsPreset *us_preset_lookup        (const char     *id);
/* A provider object for us_config_store_set_provider(), with id @provider_id
 * (NULL: the preset's own id). */
JsonObject     *us_preset_to_provider   (const UsPreset *preset,
                                         const char     *provider_id);

G_END_DECLS
