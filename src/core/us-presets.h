/* us-presets.h: the providers Understudy knows how to reach out of the box.
 *
 * A plain table: the "Add provider" UI and `understudy providers` list it;
 * `"preset": ID` (or a provider id that names one) fills in a provider's
 * kind, base URL, auth style and key variable, and its model table supplies
 * a chain model's limits and prices when the config gives none.
 */
#pragma once

#include <json-glib/json-glib.h>

#include "us-config.h"

G_BEGIN_DECLS

/* One model as its vendor publishes it; 0 (limits) or a negative price
 * where the vendor's own pages give no figure. Prices in USD per million
 * tokens. */
typedef struct {
  const char *id;
  gint64      context_tokens;
  gint64      max_output_tokens;
  double      input;
  double      output;
  double      cache_read;
  double      cache_write;
} UsPresetModel;

typedef struct {
  const char     *id;           /* also the provider id a new provider gets */
  const char     *display_name; /* for people */
  UsProviderKind  kind;
  const char     *base_url;     /* exactly as the provider documents it */
  UsAuthMode      auth;
  const char     *key_env;      /* NULL when no key is needed */
  const char     *model;        /* a model to suggest and to test with */
  /* The vendor's Anthropic Messages endpoint (stops before /v1), used for
   * Anthropic clients so their bytes pass through; NULL when none. */
  const char     *anthropic_base_url;
  const UsPresetModel *models;  /* ends with { NULL }; never NULL */
} UsPreset;

/* The whole table, in the order the UI shows it. */
const UsPreset *us_presets_get          (guint          *n_presets);
/* NULL when @id names no preset. */
const UsPreset *us_preset_lookup        (const char     *id);
/* Whether @id names a preset for a model server on this machine (Ollama,
 * LM Studio, llama.cpp): no key, and probed before it is asked. */
gboolean        us_preset_is_local      (const char     *id);
/* NULL when @preset's table has no @model. */
const UsPresetModel *us_preset_lookup_model (const UsPreset *preset,
                                             const char     *model);
/* A provider object for us_config_store_set_provider(), with id @provider_id
 * (NULL: the preset's own id). */
JsonObject     *us_preset_to_provider   (const UsPreset *preset,
                                         const char     *provider_id);

G_END_DECLS
