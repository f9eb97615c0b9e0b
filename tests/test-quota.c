/* test-quota.c: failover verdicts and quota headers, as pure functions. */
#include "us-failover.h"

static const UsFailoverConfig failover = { 60, 120, 45, 0.95 };

static SoupMessageHeaders *
headers_of (const char * const *pairs)
{
  SoupMessageHeaders *headers = soup_message_headers_new (SOUP_MESSAGE_HEADERS_RESPONSE);

  for (guint i = 0; pairs && pairs[i]; i += 2)
    soup_message_headers_append (headers, pairs[i], pairs[i + 1]);
  return headers;
}

typedef struct {
  guint status;
  UsVerdictKind kind;
  const char *problem;
} VerdictCase;

static void
test_verdicts (void)
{
  static const VerdictCase cases[] = {
    { 200, US_VERDICT_SERVED, NULL },
    { 429, US_VERDICT_NEXT, "rate limited" },
    { 529, US_VERDICT_NEXT, "overloaded" },
    { 500, US_VERDICT_NEXT, "server error" },
    { 503, US_VERDICT_NEXT, "server error" },
    { 401, US_VERDICT_NEXT, "key rejected" },
    { 403, US_VERDICT_NEXT, "key rejected" },
    { 402, US_VERDICT_NEXT, "billing" },
    { 404, US_VERDICT_NEXT, "model not found" },
    { 400, US_VERDICT_REQUEST_ERROR, NULL },
    { 413, US_VERDICT_REQUEST_ERROR, NULL },
    { 422, US_VERDICT_REQUEST_ERROR, NULL },
  };
  g_autoptr(SoupMessageHeaders) none = headers_of (NULL);

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      UsVerdict v;

      us_failover_judge (cases[i].status, none, &failover, &v);
      g_assert_cmpint (v.kind, ==, cases[i].kind);
      g_assert_cmpstr (v.problem, ==, cases[i].problem);
      /* Only 429/529 cool a model down; with no header, for cooldown_s. */
      g_assert_cmpfloat (v.cooldown_s, ==, (cases[i].status == 429 || cases[i].status == 529) ? 45 : 0);
    }
}

/* "retry-after: 0" is "retry now": no cooldown, though the problem is told. */
static void
test_retry_after_zero (void)
{
  g_autoptr(SoupMessageHeaders) zero = headers_of ((const char * const[]) { "retry-after", "0", NULL });
  g_autoptr(SoupMessageHeaders) zero_ms = headers_of ((const char * const[]) { "retry-after-ms", "0", NULL });
  UsVerdict v;

  us_failover_judge (429, zero, &failover, &v);
  g_assert_cmpint (v.kind, ==, US_VERDICT_NEXT);
  g_assert_cmpfloat (v.cooldown_s, ==, 0);
  g_assert_cmpstr (v.problem, ==, "rate limited");
  us_failover_judge (529, zero_ms, &failover, &v);
  g_assert_cmpfloat (v.cooldown_s, ==, 0);
  g_assert_cmpstr (v.problem, ==, "overloaded");
}

static void
test_retry_after (void)
{
  g_autoptr(SoupMessageHeaders) secs = headers_of ((const char * const[]) { "retry-after", "7", NULL });
  g_autoptr(SoupMessageHeaders) ms = headers_of ((const char * const[]) { "retry-after-ms", "1500", NULL });
  g_autoptr(SoupMessageHeaders) junk = headers_of ((const char * const[]) { "retry-after", "soon", NULL });
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autoptr(GDateTime) later = g_date_time_add_seconds (now, 120);
  g_autofree char *http_date = soup_date_time_to_string (later, SOUP_DATE_HTTP);
  g_autoptr(SoupMessageHeaders) date = headers_of ((const char * const[]) { "retry-after", http_date, NULL });
  UsVerdict v;

  g_assert_cmpfloat (us_failover_retry_after (secs), ==, 7);
  g_assert_cmpfloat (us_failover_retry_after (ms), ==, 1.5);
  g_assert_cmpfloat (us_failover_retry_after (junk), ==, -1);
  g_assert_cmpfloat_with_epsilon (us_failover_retry_after (date), 120, 2);

  us_failover_judge (429, secs, &failover, &v);
  g_assert_cmpfloat (v.cooldown_s, ==, 7);
}

static void
test_quota_windows (void)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autoptr(GDateTime) reset = g_date_time_add_seconds (now, 300);
  g_autofree char *rfc3339 = g_date_time_format_iso8601 (reset);
  g_autofree char *epoch = g_strdup_printf ("%" G_GINT64_FORMAT, g_date_time_to_unix (reset));
  g_autoptr(SoupMessageHeaders) fresh = headers_of ((const char * const[]) {
    "anthropic-ratelimit-requests-limit", "100", "anthropic-ratelimit-requests-remaining", "50",
    "anthropic-ratelimit-requests-reset", rfc3339, NULL });
  g_autoptr(SoupMessageHeaders) nearly = headers_of ((const char * const[]) {
    "anthropic-ratelimit-tokens-limit", "1000", "anthropic-ratelimit-tokens-remaining", "40",
    "anthropic-ratelimit-tokens-reset", rfc3339, NULL });
  g_autoptr(SoupMessageHeaders) plan = headers_of ((const char * const[]) {
    "anthropic-ratelimit-unified-5h-utilization", "0.97", "anthropic-ratelimit-unified-5h-reset", epoch, NULL });
  g_autoptr(SoupMessageHeaders) rejected = headers_of ((const char * const[]) {
    "anthropic-ratelimit-unified-status", "rejected", NULL });
  g_autoptr(SoupMessageHeaders) openai = headers_of ((const char * const[]) {
    "x-ratelimit-limit-requests", "60", "x-ratelimit-remaining-requests", "1",
    "x-ratelimit-reset-requests", "1m30s", NULL });

  g_assert_cmpfloat (us_failover_quota_cooldown (fresh, 0.95, 45), ==, 0);
  g_assert_cmpfloat_with_epsilon (us_failover_quota_cooldown (nearly, 0.95, 45), 300, 2);
  g_assert_cmpfloat_with_epsilon (us_failover_quota_cooldown (plan, 0.95, 45), 300, 2);
  g_assert_cmpfloat (us_failover_quota_cooldown (plan, 0.99, 45), ==, 0);
  g_assert_cmpfloat (us_failover_quota_cooldown (rejected, 0.95, 45), ==, 45);
  g_assert_cmpfloat (us_failover_quota_cooldown (openai, 0.95, 45), ==, 90);

  g_assert_cmpstr (us_failover_claim_window ("five_hour"), ==, "5h");
  g_assert_cmpstr (us_failover_claim_window ("seven_day"), ==, "7d");
  g_assert_cmpstr (us_failover_claim_window ("seven_day_sonnet"), ==, "7d");
  g_assert_null (us_failover_claim_window ("overage"));
  g_assert_null (us_failover_claim_window (NULL));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/quota/verdicts", test_verdicts);
  g_test_add_func ("/quota/retry-after", test_retry_after);
  g_test_add_func ("/quota/retry-after-zero", test_retry_after_zero);
  g_test_add_func ("/quota/windows", test_quota_windows);
  return g_test_run ();
}
