/* us-spend-bar.h: what today has cost, above the request list, with the
 * totals per model and per day in a popover. */
#pragma once

#include <adwaita.h>

#include "us-spend.h"

G_BEGIN_DECLS

#define US_TYPE_SPEND_BAR (us_spend_bar_get_type ())
G_DECLARE_FINAL_TYPE (UsSpendBar, us_spend_bar, US, SPEND_BAR, GtkBox)

/* "spend" property: the totals shown (NULL: nothing to show). */
void     us_spend_bar_set_spend (UsSpendBar *self,
                                 UsSpend    *spend);
/* Reads the totals again; the owner calls it when requests have ended. */
void     us_spend_bar_refresh   (UsSpendBar *self);
/* The summary line as shown, for tests. */
const char *us_spend_bar_get_summary (UsSpendBar *self);

G_END_DECLS
