/* us-failover.h: DESIGN.md's failover rules as pure functions of a response. */
#pragma once

#include <libsoup/soup.h>
#include "us-config.h"

G_BEGIN_DECLS

/* The problem of a model that served, but whose rate or plan window is
 * used past failover.quota_threshold: it rests until the window resets. */
#define US_PROBLEM_QUOTA_THRESHOLD "quota threshold reached"

typedef enum {
  US_VERDICT_SERVED,        /* 2xx */
  US_VERDICT_NEXT,          /* fail over to the next model */
  US_VERDICT_REQUEST_ERROR, /* the request itself is bad (400, 413, 422, other 4xx) */
} UsVerdictKind;

typedef struct {
  UsVerdictKind kind;
  double cooldown_s;        /* > 0: skip this model for that long */
  const char *problem;      /* for the UI: "rate limited", "key rejected", … (static) */
} UsVerdict;

/* Judges an upstream response by status and headers. */
void     us_failover_judge           (guint                   status,
                                      SoupMessageHeaders     *headers,
                                      const UsFailoverConfig *failover,
                                      UsVerdict              *verdict);

/* Seconds until the limits the headers name reset, if any limit is at or past
 * @threshold of its window (or rejected outright); 0 if none is. */
double   us_failover_quota_cooldown  (SoupMessageHeaders     *headers,
                                      double                  threshold,
                                      double                  default_s);

/* Seconds until @value, which is RFC 3339, epoch seconds or an OpenAI
 * duration such as "1m30s" / "250ms"; -1 if unreadable. */
double      us_failover_seconds_until (const char *value);
/* The plan window ("5h", "7d") an anthropic-ratelimit-unified-representative-claim
 * names ("five_hour", "seven_day…"), or NULL. */
const char *us_failover_claim_window  (const char *claim);

/* retry-after / retry-after-ms in seconds; -1 if absent or unreadable. */
double   us_failover_retry_after     (SoupMessageHeaders     *headers);

G_END_DECLS
