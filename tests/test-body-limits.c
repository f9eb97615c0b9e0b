/* test-body-limits.c: a request is refused on its headers alone (token,
 * Host, Origin, Content-Length), and a chunked body is capped as it
 * arrives: a sender streaming a huge body costs no memory. */
#include <libsoup/soup.h>

#include "us-proxy.h"
#include "test-util.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

#ifdef UNDER_ASAN
#define SENT_MB 40
#else
#define SENT_MB 200
#endif

#define CONFIG "{ \"version\": 1," \
  "  \"listen\": { \"host\": \"127.0.0.1\", \"port\": 0, \"token\": \"" TEST_TOKEN "\", \"max_body_bytes\": 1048576 }," \
  "  \"providers\": [ { \"id\": \"p\", \"kind\": \"anthropic\", \"base_url\": \"http://127.0.0.1:9\", \"auth\": \"none\" } ]," \
  "  \"chains\": [ { \"id\": \"default\", \"match\": [\"*\"], \"models\": [ { \"provider\": \"p\", \"model\": \"*\" } ] } ] }"

/* Sends @mb MB of chunked body to @target (a full path) with @extra
 * headers, then the answer; returns it with the RSS growth meanwhile. */
static TestReply *
send_chunked (TestConn   *conn,
              const char *target,
              const char *extra,
              guint       mb,
              gssize     *grew_kib)
{
  g_autofree char *head = g_strdup_printf ("POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s"
                                           "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
                                           target, extra);
  g_autofree char *block = g_strnfill (65536, ' ');
  g_autofree char *chunk = g_strdup_printf ("10000\r\n%s\r\n", block);
  gsize rss_before, rss_peak = 0;

  test_conn_send (conn, head, strlen (head));
  test_conn_send (conn, "1\r\n{\r\n", 6);
  rss_before = test_rss_kib ();
  for (guint i = 0; i < mb * 16; i++)
    {
      test_conn_send (conn, chunk, strlen (chunk));
      if (i % 256 == 0)
        rss_peak = MAX (rss_peak, test_rss_kib ());
    }
  test_conn_send (conn, "1\r\n}\r\n0\r\n\r\n", 11);
  *grew_kib = (gssize) MAX (rss_peak, test_rss_kib ()) - (gssize) rss_before;
  return test_conn_read_reply (conn);
}

static void
assert_flat (gssize grew_kib)
{
#ifndef UNDER_ASAN
  /* libsoup reads 8 KiB at a time: nothing of the body is kept. */
  g_assert_cmpint (grew_kib, <, 4 * 1024);
#endif
}

static void
test_wrong_token_chunked (void)
{
  g_autoptr(UsProxy) proxy = test_proxy_new (CONFIG);
  g_autoptr(TestConn) conn = test_conn_new (proxy);
  g_autoptr(TestReply) reply = NULL;
  gssize grew;

  reply = send_chunked (conn, "/t/wrong-token/v1/messages", "", SENT_MB, &grew);
  g_test_message ("wrong token, %u MB chunked body: RSS grew %zd KiB", SENT_MB, grew);
  g_assert_cmpuint (reply->status, ==, 401);
  g_assert_cmpstr (soup_message_headers_get_one (reply->headers, "Connection"), ==, "close");
  g_assert_nonnull (strstr (reply->body, "\"type\":\"error\""));
  assert_flat (grew);
}

static void
test_foreign_origin_chunked (void)
{
  g_autoptr(UsProxy) proxy = test_proxy_new (CONFIG);
  g_autoptr(TestConn) conn = test_conn_new (proxy);
  g_autoptr(TestReply) reply = NULL;
  gssize grew;

  reply = send_chunked (conn, "/t/" TEST_TOKEN "/v1/messages", "Origin: http://evil.example\r\n", 20, &grew);
  g_assert_cmpuint (reply->status, ==, 403);
  assert_flat (grew);
}

/* The right token but too much body: 413 in the client's own format. */
static void
test_chunked_over_limit (void)
{
  g_autoptr(UsProxy) proxy = test_proxy_new (CONFIG);
  g_autoptr(TestConn) conn = test_conn_new (proxy);
  g_autoptr(TestReply) reply = NULL;
  gssize grew;

  reply = send_chunked (conn, "/t/" TEST_TOKEN "/v1/chat/completions", "", SENT_MB / 4, &grew);
  g_test_message ("right token, %u MB chunked body over a 1 MiB limit: RSS grew %zd KiB", SENT_MB / 4, grew);
  g_assert_cmpuint (reply->status, ==, 413);
  /* OpenAI's envelope: {"error": {"message", "type", ...}} */
  g_assert_nonnull (strstr (reply->body, "\"error\":{"));
  g_assert_nonnull (strstr (reply->body, "max_body_bytes"));
  assert_flat (grew);
}

/* Under the limit, a chunked body is read and served as before. */
static void
test_chunked_under_limit (void)
{
  g_autoptr(UsProxy) proxy = test_proxy_new (CONFIG);
  g_autoptr(TestConn) conn = test_conn_new (proxy);
  g_autoptr(TestReply) reply = NULL;
  static const char head[] = "POST /t/" TEST_TOKEN "/v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                             "Transfer-Encoding: chunked\r\n\r\n";
  static const char body[] = "5\r\n{\"x\":\r\n3\r\n1}\n\r\n0\r\n\r\n";

  test_conn_send (conn, head, strlen (head));
  test_conn_send (conn, body, strlen (body));
  reply = test_conn_read_reply (conn);
  /* Read whole and judged: not JSON a model request can be made of. */
  g_assert_cmpuint (reply->status, ==, 400);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/body-limits/wrong-token-chunked", test_wrong_token_chunked);
  g_test_add_func ("/body-limits/foreign-origin-chunked", test_foreign_origin_chunked);
  g_test_add_func ("/body-limits/chunked-over-limit", test_chunked_over_limit);
  g_test_add_func ("/body-limits/chunked-under-limit", test_chunked_under_limit);
  return g_test_run ();
}
