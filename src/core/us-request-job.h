/* us-request-job.h: one client request walking down its chain of models. */
#pragma once

#include <libsoup/soup.h>
#include "us-proxy.h"
#include "us-translate.h"

G_BEGIN_DECLS

#define US_TYPE_REQUEST_JOB (us_request_job_get_type ())
G_DECLARE_FINAL_TYPE (UsRequestJob, us_request_job, US, REQUEST_JOB, GObject)

/* Takes @ir and @body; @chain belongs to @config, the snapshot the request
 * started with, which the job keeps. The job keeps itself alive until the client has its
 * answer (or is gone); @msg must be paused by the caller. */
void us_request_job_run (UsProxy             *proxy,
                         UsConfig            *config,
                         SoupServerMessage   *msg,
                         UsWireFormat         client_fmt,
                         gboolean             count_tokens,
                         UsIrRequest         *ir,
                         JsonNode            *body,
                         GBytes              *body_bytes,
                         const UsChainConfig *chain,
                         gboolean             failover,
                         UsRequestEntry      *entry);

G_END_DECLS
