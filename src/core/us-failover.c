/* us-failover.c: which responses fail over, cool a model down, or go back to the client. */
#include "us-failover.h"

#include <stdlib.h>

double
us_failover_retry_after (SoupMessageHeaders *headers)
{
  const char *ms = soup_message_headers_get_one (headers, "retry-after-ms");
  const char *value = soup_message_headers_get_one (headers, "retry-after");
  char *end = NULL;
  double secs;

  if (ms != NULL)
    {
      secs = g_ascii_strtod (ms, &end);
      if (end != ms && *end == '\0' && secs >= 0)
        return secs / 1000.0;
    }
  if (value == NULL)
    return -1;
  secs = g_ascii_strtod (value, &end);
  if (end != value && *end == '\0' && secs >= 0)
    return secs;
  else
    {
      /* The HTTP-date form. */
      g_autoptr(GDateTime) when = soup_date_time_new_from_http_string (value);
      g_autoptr(GDateTime) now = g_date_time_new_now_utc ();

      if (when == NULL)
        return -1;
      return MAX (0, g_date_time_difference (when, now) / (double) G_USEC_PER_SEC);
    }
}

double
us_failover_seconds_until (const char *value)
{
  g_autoptr(GDateTime) when = NULL;
  char *end = NULL;
  double number, total = 0;
  const char *p;

  if (value == NULL)
    return -1;

  when = g_date_time_new_from_iso8601 (value, NULL);
  if (when != NULL)
    {
      g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
      return MAX (0, g_date_time_difference (when, now) / (double) G_USEC_PER_SEC);
    }

  number = g_ascii_strtod (value, &end);
  if (end != value && *end == '\0')
    {
      /* Epoch seconds are far larger than any window length. */
      if (number > 1e9)
        return MAX (0, number - g_get_real_time () / (double) G_USEC_PER_SEC);
      return number;
    }

  for (p = value; *p != '\0';)
    {
      number = g_ascii_strtod (p, &end);
      if (end == p)
        return -1;
      if (g_str_has_prefix (end, "ms"))
        total += number / 1000.0, end += 2;
      else if (*end == 'h')
        total += number * 3600, end++;
      else if (*end == 'm')
        total += number * 60, end++;
      else if (*end == 's')
        total += number, end++;
      else
        return -1;
      p = end;
    }
  return total;
}

static double
header_number (SoupMessageHeaders *headers,
               const char         *name)
{
  const char *value = soup_message_headers_get_one (headers, name);
  char *end = NULL;
  double number;

  if (value == NULL)
    return -1;
  number = g_ascii_strtod (value, &end);
  return (end != value && *end == '\0') ? number : -1;
}

const char *
us_failover_claim_window (const char *claim)
{
  if (claim == NULL)
    return NULL;
  if (g_str_equal (claim, "five_hour"))
    return "5h";
  /* seven_day, seven_day_opus, seven_day_sonnet, …: the weekly window. */
  if (g_str_has_prefix (claim, "seven_day"))
    return "7d";
  return NULL;
}

/* A plan that refused: seconds until the window its claim names resets
 * (hours away, when the plan serves again), else until the overall reset;
 * -1 when the plan did not refuse or no reset is given. */
static double
plan_rejected_for (SoupMessageHeaders *headers)
{
  const char *status = soup_message_headers_get_one (headers, "anthropic-ratelimit-unified-status");
  const char *claim = soup_message_headers_get_one (headers, "anthropic-ratelimit-unified-representative-claim");
  const char *window = us_failover_claim_window (claim);
  g_autofree char *window_reset = window ? g_strdup_printf ("anthropic-ratelimit-unified-%s-reset", window) : NULL;
  double s = -1;

  if (status == NULL || !g_str_equal (status, "rejected"))
    return -1;
  if (window_reset != NULL)
    s = us_failover_seconds_until (soup_message_headers_get_one (headers, window_reset));
  if (s <= 0)
    s = us_failover_seconds_until (soup_message_headers_get_one (headers, "anthropic-ratelimit-unified-reset"));
  return s > 0 ? s : -1;
}

double
us_failover_quota_cooldown (SoupMessageHeaders *headers,
                            double              threshold,
                            double              default_s)
{
  static const char * const windows[] = {
    "anthropic-ratelimit-requests", "anthropic-ratelimit-tokens",
    "anthropic-ratelimit-input-tokens", "anthropic-ratelimit-output-tokens", NULL
  };
  static const char * const openai_windows[] = { "requests", "tokens", NULL };
  static const char * const plan_windows[] = { "5h", "7d", NULL };
  double longest = 0;
  const char *status;

  /* Subscription plans: an outright rejection, or a window used past the
   * user's threshold. Header names drift, so only the stable prefix is used. */
  status = soup_message_headers_get_one (headers, "anthropic-ratelimit-unified-status");
  if (status != NULL && g_str_equal (status, "rejected"))
    {
      double s = plan_rejected_for (headers);

      longest = MAX (longest, s > 0 ? s : default_s);
    }
  for (guint i = 0; plan_windows[i]; i++)
    {
      g_autofree char *util = g_strdup_printf ("anthropic-ratelimit-unified-%s-utilization", plan_windows[i]);
      g_autofree char *reset = g_strdup_printf ("anthropic-ratelimit-unified-%s-reset", plan_windows[i]);
      double used = header_number (headers, util);

      if (used >= 0 && used >= threshold)
        {
          double s = us_failover_seconds_until (soup_message_headers_get_one (headers, reset));
          longest = MAX (longest, s > 0 ? s : default_s);
        }
    }

  for (guint i = 0; windows[i]; i++)
    {
      g_autofree char *limit = g_strconcat (windows[i], "-limit", NULL);
      g_autofree char *remaining = g_strconcat (windows[i], "-remaining", NULL);
      g_autofree char *reset = g_strconcat (windows[i], "-reset", NULL);
      double l = header_number (headers, limit), r = header_number (headers, remaining);

      if (l > 0 && r >= 0 && 1.0 - r / l >= threshold)
        {
          double s = us_failover_seconds_until (soup_message_headers_get_one (headers, reset));
          longest = MAX (longest, s > 0 ? s : default_s);
        }
    }
  for (guint i = 0; openai_windows[i]; i++)
    {
      g_autofree char *limit = g_strconcat ("x-ratelimit-limit-", openai_windows[i], NULL);
      g_autofree char *remaining = g_strconcat ("x-ratelimit-remaining-", openai_windows[i], NULL);
      g_autofree char *reset = g_strconcat ("x-ratelimit-reset-", openai_windows[i], NULL);
      double l = header_number (headers, limit), r = header_number (headers, remaining);

      if (l > 0 && r >= 0 && 1.0 - r / l >= threshold)
        {
          double s = us_failover_seconds_until (soup_message_headers_get_one (headers, reset));
          longest = MAX (longest, s > 0 ? s : default_s);
        }
    }
  return longest;
}

void
us_failover_judge (guint                   status,
                   SoupMessageHeaders     *headers,
                   const UsFailoverConfig *failover,
                   UsVerdict              *verdict)
{
  double retry_after;

  verdict->cooldown_s = 0;
  verdict->problem = NULL;

  if (status >= 200 && status < 300)
    {
      verdict->kind = US_VERDICT_SERVED;
      return;
    }

  verdict->kind = US_VERDICT_NEXT;
  switch (status)
    {
    case 429:
    case 529:
      /* "retry-after: 0" means retry now: no cooldown at all. But a spent
       * plan window outlasts any retry-after: it serves again at its reset. */
      retry_after = MAX (us_failover_retry_after (headers), plan_rejected_for (headers));
      if (retry_after < 0)
        {
          double quota = us_failover_quota_cooldown (headers, 1.0, 0);
          retry_after = quota > 0 ? quota : failover->cooldown_s;
        }
      verdict->cooldown_s = retry_after;
      verdict->problem = status == 429 ? "rate limited" : "overloaded";
      return;
    case 401:
    case 403:
      verdict->problem = "key rejected";
      return;
    case 402:
      verdict->problem = "billing";
      return;
    case 404:
      verdict->problem = "model not found";
      return;
    case 408:
      verdict->problem = "timed out";
      return;
    default:
      break;
    }

  if (status >= 500 && status <= 599)
    {
      verdict->problem = "server error";
      return;
    }
  verdict->kind = US_VERDICT_REQUEST_ERROR;
}
