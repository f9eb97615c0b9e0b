/* us-requests-page.h: the request log, live, newest first. */
#pragma once

#include <adwaita.h>
#include "us-request-log.h"

G_BEGIN_DECLS

#define US_TYPE_REQUESTS_PAGE (us_requests_page_get_type ())
G_DECLARE_FINAL_TYPE (UsRequestsPage, us_requests_page, US, REQUESTS_PAGE, AdwBin)

/* "log" property (construct-only). */
UsRequestLog *us_requests_page_get_log (UsRequestsPage *self);
/* What the view shows: the log as of the last batched update. */
GListModel   *us_requests_page_get_shown (UsRequestsPage *self);
/* Applies pending updates now instead of at the next batch (tests). */
void          us_requests_page_flush    (UsRequestsPage *self);

G_END_DECLS
