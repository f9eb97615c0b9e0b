/* us-providers-page.h: the window's Providers page — the providers of the
 * running configuration, adding one from a preset, keys and Test. */
#pragma once

#include <adwaita.h>

#include "us-proxy.h"

G_BEGIN_DECLS

#define US_TYPE_PROVIDERS_PAGE (us_providers_page_get_type ())
G_DECLARE_FINAL_TYPE (UsProvidersPage, us_providers_page, US, PROVIDERS_PAGE, AdwBin)

GtkWidget *us_providers_page_new (UsProxy *proxy);

G_END_DECLS
