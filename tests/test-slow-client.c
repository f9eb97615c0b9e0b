/* test-slow-client.c: a long streamed answer to a client that stops
 * reading costs the proxy a bounded amount of memory, and reaches the
 * client whole once it reads again. The provider is bench/sse-source,
 * which writes only as fast as it is read, so whatever is buffered is the
 * proxy's. */
#include <libsoup/soup.h>
#include <signal.h>
#include <sys/prctl.h>

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
#define ANSWER_BYTES 10000000
#else
#define ANSWER_BYTES 50000000
#endif

#define STREAM_BODY "{\"model\":\"claude-test\",\"max_tokens\":64,\"stream\":true," \
                    "\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}"

/* The source goes when the test does, whatever ends it. */
static void
die_with_parent (gpointer data)
{
  prctl (PR_SET_PDEATHSIG, SIGTERM);
}

static GSubprocess *
start_source (guint *port)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_autoptr(GError) error = NULL;
  g_autofree char *bytes = g_strdup_printf ("%d", ANSWER_BYTES);
  g_autoptr(GDataInputStream) out = NULL;
  g_autofree char *line = NULL;
  GSubprocess *source;

  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  source = g_subprocess_launcher_spawn (launcher, &error, g_getenv ("US_SSE_SOURCE"), "--bytes", bytes, NULL);
  g_assert_no_error (error);
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (source));
  line = g_data_input_stream_read_line (out, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (line, "PORT="));
  *port = atoi (line + 5);
  return source;
}

/* The text bytes of an Anthropic stream whose deltas are all "xxx…". */
static gsize
count_text (const char *sse,
            gsize       len)
{
  static const char key[] = "\"text_delta\",\"text\":\"";
  const char *end = sse + len, *p = sse;
  gsize total = 0;

  while ((p = g_strstr_len (p, end - p, key)) != NULL)
    {
      p += strlen (key);
      while (p < end && *p == 'x')
        total++, p++;
    }
  return total;
}

static gboolean
set_true (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

static void
spin_for (guint ms)
{
  gboolean done = FALSE;

  g_timeout_add (ms, set_true, &done);
  while (!done)
    g_main_context_iteration (NULL, TRUE);
}

static void
test_stopped_client (void)
{
  g_autoptr(GSubprocess) source = NULL;
  g_autoptr(UsProxy) proxy = NULL;
  g_autoptr(TestConn) conn = NULL;
  g_autoptr(TestReply) reply = NULL;
  g_autofree char *json = NULL;
  gsize rss_before, rss_stopped;
  guint port;

  source = start_source (&port);
  /* An idle timeout shorter than the pause: the upstream is not the one
   * idling while the client reads nothing. */
  json = g_strdup_printf (
    "{ \"version\": 1,"
    "  \"listen\": { \"host\": \"127.0.0.1\", \"port\": 0, \"token\": \"" TEST_TOKEN "\" },"
    "  \"providers\": [ { \"id\": \"s\", \"kind\": \"anthropic\", \"base_url\": \"http://127.0.0.1:%u\", \"auth\": \"none\" } ],"
    "  \"chains\": [ { \"id\": \"default\", \"match\": [\"*\"], \"models\": [ { \"provider\": \"s\", \"model\": \"*\" } ] } ],"
    "  \"failover\": { \"first_byte_timeout_s\": 5, \"idle_timeout_s\": 0.5 } }", port);
  proxy = test_proxy_new (json);
  conn = test_conn_new (proxy);

  rss_before = test_rss_kib ();
  test_conn_request (conn, "POST", "/v1/messages", STREAM_BODY);
  /* The client reads nothing for 1.5 s: an unthrottled proxy reads the
   * whole answer from upstream in that time. */
  spin_for (1500);
  rss_stopped = test_rss_kib ();
  g_test_message ("RSS %zu KiB before, %zu KiB after 1.5 s with a stopped client (+%zd KiB) for a %d MB answer",
                  rss_before, rss_stopped, (gssize) rss_stopped - (gssize) rss_before, ANSWER_BYTES / 1000000);
#ifndef UNDER_ASAN
  /* High water (256 KiB) plus libsoup's buffers; the socket buffers are
   * the kernel's. Unthrottled, this was the whole answer. */
  g_assert_cmpint ((gssize) rss_stopped - (gssize) rss_before, <, 8 * 1024);
#endif

  /* The client reads again: the stream goes on, byte for byte. */
  reply = test_conn_read_reply (conn);
  g_assert_cmpuint (reply->status, ==, 200);
  g_assert_cmpuint (count_text (reply->body, reply->length), ==, ANSWER_BYTES);
  g_assert_nonnull (g_strstr_len (reply->body + reply->length - 200, 200, "message_stop"));
  {
    g_autoptr(JsonNode) status = us_proxy_status_to_json (proxy);
    JsonObject *entry = json_array_get_object_element (
      json_object_get_array_member (json_node_get_object (status), "requests"), 0);

    g_assert_cmpint (json_object_get_int_member (entry, "status"), ==, 200);
  }

  g_subprocess_force_exit (source);
  g_subprocess_wait (source, NULL, NULL);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/slow-client/stopped-then-resumed", test_stopped_client);
  return g_test_run ();
}
