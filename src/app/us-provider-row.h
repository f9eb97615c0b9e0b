/* us-provider-row.h: one provider in the Providers page — its kind, base
 * URL, key (into the keyring, never shown), Test and Remove. */
#pragma once

#include <adwaita.h>

#include "us-proxy.h"

G_BEGIN_DECLS

#define US_TYPE_PROVIDER_ROW (us_provider_row_get_type ())
G_DECLARE_FINAL_TYPE (UsProviderRow, us_provider_row, US, PROVIDER_ROW, AdwExpanderRow)

UsProviderRow *us_provider_row_new             (UsProxy       *proxy,
                                                const char    *provider_id);
const char    *us_provider_row_get_provider_id (UsProviderRow *self);
/* Reads the provider again from the proxy's newest configuration. */
void           us_provider_row_update          (UsProviderRow *self);

/* Signals: "error" (const char *message): an edit was refused or failed. */

G_END_DECLS
