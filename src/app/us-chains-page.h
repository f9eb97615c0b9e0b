/* us-chains-page.h: every chain's models, in order, to reorder, add and remove. */
#pragma once

#include <adwaita.h>
#include "us-proxy.h"

G_BEGIN_DECLS

#define US_TYPE_CHAINS_PAGE (us_chains_page_get_type ())
G_DECLARE_FINAL_TYPE (UsChainsPage, us_chains_page, US, CHAINS_PAGE, AdwBin)

/* "proxy" property (construct-only): its config store holds the chains. */
UsProxy *us_chains_page_get_proxy (UsChainsPage *self);

G_END_DECLS
