/* test-keepalive.c: client connections kept alive across requests, and
 * closed once the client has gone, with no descriptor or memory left
 * behind. */
#include <libsoup/soup.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "us-fake-provider.h"
#include "us-keepalive.h"
#include "us-proxy.h"
#include "test-util.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

#define STREAM_BODY "{\"model\":\"claude-test\",\"max_tokens\":64,\"stream\":true," \
                    "\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}"

typedef struct {
  UsFakeProvider *fake;
  UsProxy *proxy;
} Fixture;

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  g_autofree char *json = NULL;

  f->fake = us_fake_provider_new (US_FAKE_FORMAT_ANTHROPIC);
  us_fake_provider_set_text (f->fake, "kept alive");
  json = g_strdup_printf (
    "{ \"version\": 1,"
    "  \"listen\": { \"host\": \"127.0.0.1\", \"port\": 0, \"token\": \"" TEST_TOKEN "\" %s },"
    "  \"providers\": [ { \"id\": \"p\", \"kind\": \"anthropic\", \"base_url\": \"%s\", \"auth\": \"passthrough\" } ],"
    "  \"chains\": [ { \"id\": \"default\", \"match\": [\"*\"], \"models\": [ { \"provider\": \"p\", \"model\": \"*\" } ] } ] }",
    data ? (const char *) data : "", us_fake_provider_get_base_url (f->fake));
  f->proxy = test_proxy_new (json);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  g_clear_object (&f->proxy);
  g_clear_object (&f->fake);
}

static void
assert_models_reply (TestConn *conn)
{
  g_autoptr(TestReply) reply = NULL;

  test_conn_request (conn, "GET", "/v1/models", NULL);
  reply = test_conn_read_reply (conn);
  g_assert_cmpuint (reply->status, ==, 200);
  g_assert_null (soup_message_headers_get_one (reply->headers, "Connection"));
  g_assert_nonnull (strstr (reply->body, "\"data\""));
}

/* One connection carries many requests, streamed answers included. */
static void
test_reused (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(TestConn) conn = test_conn_new (f->proxy);

  for (guint i = 0; i < 100; i++)
    assert_models_reply (conn);
  for (guint i = 0; i < 20; i++)
    {
      g_autoptr(TestReply) reply = NULL;
      g_autofree char *text = NULL;

      test_conn_request (conn, "POST", "/v1/messages", STREAM_BODY);
      reply = test_conn_read_reply (conn);
      g_assert_cmpuint (reply->status, ==, 200);
      text = test_stream_text (reply->body);
      g_assert_cmpstr (text, ==, "kept alive");
      g_assert_nonnull (strstr (reply->body, "message_stop"));
    }
  assert_models_reply (conn);
}

/* Clients that close between requests, gently or with a reset, leave no
 * descriptor open in the proxy. */
static void
test_closed_connections_freed (Fixture       *f,
                               gconstpointer  data)
{
  guint baseline = test_count_fds ();
  GPtrArray *conns = g_ptr_array_new_with_free_func ((GDestroyNotify) test_conn_free);
  guint open_fds, after;

  for (guint i = 0; i < 50; i++)
    {
      TestConn *conn = test_conn_new (f->proxy);

      for (guint j = 0; j < 3; j++)
        assert_models_reply (conn);
      if (i % 5 == 0)
        {
          /* SO_LINGER 0: the proxy sees ECONNRESET, not an end of file. */
          struct linger lg = { 1, 0 };
          g_assert_cmpint (setsockopt (g_socket_get_fd (test_conn_get_socket (conn)), SOL_SOCKET, SO_LINGER,
                                       &lg, sizeof lg), ==, 0);
        }
      g_ptr_array_add (conns, conn);
    }
  open_fds = test_count_fds ();
  g_ptr_array_unref (conns);

  after = test_wait_for_fds (baseline);
  g_test_message ("descriptors: %u before, %u with 50 clients, %u after they left", baseline, open_fds, after);
  g_assert_cmpuint (open_fds, >=, baseline + 100);
  g_assert_cmpuint (after, ==, baseline);

  /* And the proxy still serves. */
  {
    g_autoptr(TestConn) conn = test_conn_new (f->proxy);
    assert_models_reply (conn);
  }
}

/* Many requests on few connections, clients coming and going: the
 * descriptors come back to where they were and memory stays flat. */
static void
test_flat_under_load (Fixture       *f,
                      gconstpointer  data)
{
#ifdef UNDER_ASAN
  const guint n = 2000;
#else
  const guint n = 20000;
#endif
  const guint warmup = n / 10, per_conn = 100, width = 8;
  guint baseline = test_count_fds ();
  TestConn *conns[8] = { NULL };
  gsize rss_warm = 0, rss_end;
  guint after;

  for (guint i = 0; i < n; i++)
    {
      guint slot = i % width, round = i / width;

      /* Each connection carries per_conn requests, then its client leaves. */
      if (round > 0 && round % per_conn == 0)
        g_clear_pointer (&conns[slot], test_conn_free);
      if (conns[slot] == NULL)
        conns[slot] = test_conn_new (f->proxy);
      assert_models_reply (conns[slot]);
      if (i + 1 == warmup)
        rss_warm = test_rss_kib ();
    }
  for (guint i = 0; i < width; i++)
    g_clear_pointer (&conns[i], test_conn_free);
  after = test_wait_for_fds (baseline);
  rss_end = test_rss_kib ();

  g_test_message ("%u requests on %u connections: RSS %zu KiB after %u, %zu KiB after all (%+zd bytes a request); "
                  "descriptors %u before, %u after",
                  n, n / per_conn, rss_warm, warmup, rss_end,
                  (gssize) ((gssize) rss_end - (gssize) rss_warm) * 1024 / (gssize) (n - warmup), baseline, after);
  g_assert_cmpuint (after, ==, baseline);
#ifndef UNDER_ASAN
  /* 600 bytes a request (the leak this guards against) would be 10 MiB. */
  g_assert_cmpint ((gssize) rss_end - (gssize) rss_warm, <, 3 * 1024);
#endif
}

/* Waits up to 3 s for the proxy to close @conn; TRUE if it did. */
static gboolean
closed_by_proxy (TestConn *conn)
{
  gint64 deadline = g_get_monotonic_time () + 3 * G_USEC_PER_SEC;
  GSocket *socket = test_conn_get_socket (conn);

  while (g_get_monotonic_time () < deadline)
    {
      gboolean has_data;

      if (us_keepalive_client_left (socket, &has_data))
        return TRUE;
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
  return FALSE;
}

#define SHORT_LIMITS ", \"request_timeout_s\": 0.5, \"keepalive_timeout_s\": 0.5"

/* Half a request header, then nothing (a slowloris client). */
static void
test_request_timeout (Fixture       *f,
                      gconstpointer  data)
{
  static const char half[] = "POST /t/" TEST_TOKEN "/v1/messages HTTP/1.1\r\nHost: 127";
  guint baseline = test_count_fds ();
  TestConn *conn = test_conn_new (f->proxy);

  test_conn_send (conn, half, strlen (half));
  g_assert_true (closed_by_proxy (conn));
  test_conn_free (conn);
  g_assert_cmpuint (test_wait_for_fds (baseline), ==, baseline);
}

/* A client that connects and never sends a byte is closed too, and does
 * not count against listen.max_connections meanwhile. */
static void
test_silent_client (Fixture       *f,
                    gconstpointer  data)
{
  guint baseline = test_count_fds ();
  TestConn *conns[4];

  for (guint i = 0; i < G_N_ELEMENTS (conns); i++)
    conns[i] = test_conn_new (f->proxy);
  for (guint i = 0; i < G_N_ELEMENTS (conns); i++)
    g_assert_true (closed_by_proxy (conns[i]));
  for (guint i = 0; i < G_N_ELEMENTS (conns); i++)
    test_conn_free (conns[i]);
  g_assert_cmpuint (test_wait_for_fds (baseline), ==, baseline);
}

/* A kept-alive connection left idle is closed; one in use is not. */
static void
test_idle_timeout (Fixture       *f,
                   gconstpointer  data)
{
  guint baseline = test_count_fds ();
  TestConn *conn = test_conn_new (f->proxy);

  for (guint i = 0; i < 5; i++)
    {
      assert_models_reply (conn);
      g_usleep (200 * 1000);
    }
  g_assert_true (closed_by_proxy (conn));
  test_conn_free (conn);
  g_assert_cmpuint (test_wait_for_fds (baseline), ==, baseline);
}

/* Above listen.max_connections a client gets 503 in its own format. */
static void
test_max_connections (Fixture       *f,
                      gconstpointer  data)
{
  TestConn *conns[3];
  g_autoptr(TestConn) extra = NULL;
  g_autoptr(TestConn) later = NULL;
  g_autoptr(TestReply) reply = NULL;
  guint fds;

  for (guint i = 0; i < 3; i++)
    {
      conns[i] = test_conn_new (f->proxy);
      assert_models_reply (conns[i]);
    }
  fds = test_count_fds ();
  extra = test_conn_new (f->proxy);
  test_conn_request (extra, "POST", "/v1/chat/completions", "{}");
  reply = test_conn_read_reply (extra);
  g_assert_cmpuint (reply->status, ==, 503);
  g_assert_cmpstr (soup_message_headers_get_one (reply->headers, "Connection"), ==, "close");
  g_assert_nonnull (strstr (reply->body, "listen.max_connections"));
  g_assert_nonnull (strstr (reply->body, "\"error\":{"));
  g_clear_pointer (&extra, test_conn_free);

  /* One leaves: there is room again. */
  test_conn_free (conns[0]);
  g_assert_cmpuint (test_wait_for_fds (fds - 2), ==, fds - 2);
  later = test_conn_new (f->proxy);
  assert_models_reply (later);
  test_conn_free (conns[1]);
  test_conn_free (conns[2]);
}

/* Starting the proxy raises the soft descriptor limit to the hard one. */
static void
test_nofile_raised (void)
{
  struct rlimit limit;
  g_autoptr(UsProxy) proxy = NULL;

  g_assert_cmpint (getrlimit (RLIMIT_NOFILE, &limit), ==, 0);
  if (limit.rlim_max < 128)
    {
      g_test_skip ("hard descriptor limit below 128");
      return;
    }
  limit.rlim_cur = 64;
  g_assert_cmpint (setrlimit (RLIMIT_NOFILE, &limit), ==, 0);
  proxy = test_proxy_new ("{ \"version\": 1, \"listen\": { \"host\": \"127.0.0.1\", \"port\": 0, "
                          "\"token\": \"" TEST_TOKEN "\" }, \"providers\": [ { \"id\": \"p\", \"kind\": \"anthropic\", "
                          "\"base_url\": \"http://127.0.0.1:9\", \"auth\": \"none\" } ], \"chains\": [ { \"id\": "
                          "\"default\", \"match\": [\"*\"], \"models\": [ { \"provider\": \"p\", \"model\": \"*\" } ] } ] }");
  g_assert_cmpint (getrlimit (RLIMIT_NOFILE, &limit), ==, 0);
  g_assert_cmpuint (limit.rlim_cur, ==, limit.rlim_max);
}

/* Many clients connecting at once are all taken by the kernel at once,
 * before the proxy gets round to accepting them: its listen backlog is not
 * GSocketListener's 10, past which SYNs are dropped and a client waits a
 * second or more for the retry. The main loop does not run here, so only
 * the backlog can hold these connections. */
#define BURST 100
static void
test_connect_burst (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, us_proxy_get_port (f->proxy));
  GSocket *sockets[BURST];
  guint connected = 0;
  gint64 deadline = g_get_monotonic_time () + 500 * G_TIME_SPAN_MILLISECOND;

  for (guint i = 0; i < BURST; i++)
    {
      g_autoptr(GError) error = NULL;

      sockets[i] = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
      g_assert_no_error (error);
      g_socket_set_blocking (sockets[i], FALSE);
      if (!g_socket_connect (sockets[i], address, NULL, &error))
        g_assert_error (error, G_IO_ERROR, G_IO_ERROR_PENDING);
    }
  /* A handshake on loopback takes microseconds; a dropped SYN, 1 s. */
  for (guint i = 0; i < BURST; i++)
    {
      gint64 left = MAX (deadline - g_get_monotonic_time (), 0);

      if (g_socket_condition_timed_wait (sockets[i], G_IO_OUT, left, NULL, NULL)
          && g_socket_check_connect_result (sockets[i], NULL))
        connected++;
    }
  for (guint i = 0; i < BURST; i++)
    g_object_unref (sockets[i]);
  g_assert_cmpuint (connected, ==, BURST);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/keepalive/reused", Fixture, NULL, fixture_set_up, test_reused, fixture_tear_down);
  g_test_add ("/keepalive/closed-connections-freed", Fixture, NULL, fixture_set_up,
              test_closed_connections_freed, fixture_tear_down);
  g_test_add ("/keepalive/flat-under-load", Fixture, NULL, fixture_set_up, test_flat_under_load, fixture_tear_down);
  g_test_add_func ("/keepalive/nofile-raised", test_nofile_raised);
  g_test_add ("/keepalive/connect-burst", Fixture, NULL, fixture_set_up, test_connect_burst, fixture_tear_down);
  g_test_add ("/keepalive/request-timeout", Fixture, SHORT_LIMITS, fixture_set_up, test_request_timeout,
              fixture_tear_down);
  g_test_add ("/keepalive/silent-client", Fixture, SHORT_LIMITS, fixture_set_up, test_silent_client,
              fixture_tear_down);
  g_test_add ("/keepalive/max-connections", Fixture, ", \"max_connections\": 3", fixture_set_up,
              test_max_connections, fixture_tear_down);
  g_test_add ("/keepalive/idle-timeout", Fixture, SHORT_LIMITS, fixture_set_up, test_idle_timeout,
              fixture_tear_down);
  return g_test_run ();
}
