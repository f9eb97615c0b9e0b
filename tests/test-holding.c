/* test-holding.c: what happens while the proxy holds a stream before its
 * commit point (the first content): an upstream that sends only comments
 * and pings is timed out by time to first content, and a client that
 * leaves is noticed at once, with no fallback asked. */
#include <libsoup/soup.h>

#include "us-fake-provider.h"
#include "us-keepalive.h"
#include "us-proxy.h"
#include "test-util.h"

#define STREAM_BODY "{\"model\":\"claude-test\",\"max_tokens\":64,\"stream\":true," \
                    "\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}"

typedef struct {
  SoupServer *pinger;       /* 200 at once, then only keep-alives */
  guint pinger_port;
  UsFakeProvider *primary;
  UsFakeProvider *fallback;
  UsProxy *proxy;
} Fixture;

/* ---- An upstream that keeps the stream open and says nothing ----------- */

typedef struct {
  SoupServerMessage *msg;   /* owns this */
  guint ticks;
  guint source;
} Pinging;

static gboolean
ping (gpointer data)
{
  Pinging *p = data;
  SoupMessageBody *body = soup_server_message_get_response_body (p->msg);
  static const char tick[] = ": keep-alive\n\nevent: ping\ndata: {\"type\":\"ping\"}\n\n";

  /* What OpenRouter sends while a request is queued; ends after 10 s. */
  if (++p->ticks > 20)
    {
      p->source = 0;
      soup_message_body_complete (body);
      soup_server_message_unpause (p->msg);
      return G_SOURCE_REMOVE;
    }
  soup_message_body_append (body, SOUP_MEMORY_STATIC, tick, strlen (tick));
  soup_server_message_unpause (p->msg);
  return G_SOURCE_CONTINUE;
}

static void
stop_pinging (SoupServerMessage *msg,
              Pinging           *p)
{
  g_clear_handle_id (&p->source, g_source_remove);
}

/* A server that disconnects frees its messages without "finished". */
static void
pinging_free (gpointer data)
{
  Pinging *p = data;

  g_clear_handle_id (&p->source, g_source_remove);
  g_free (p);
}

static void
pinger_handler (SoupServer        *server,
                SoupServerMessage *msg,
                const char        *path,
                GHashTable        *query,
                gpointer           data)
{
  static const char start[] =
    "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\","
    "\"role\":\"assistant\",\"model\":\"m\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,"
    "\"usage\":{\"input_tokens\":1,\"output_tokens\":1}}}\n\n";
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);
  Pinging *p = g_new0 (Pinging, 1);

  p->msg = msg;
  g_object_set_data_full (G_OBJECT (msg), "pinging", p, pinging_free);
  soup_server_message_set_status (msg, 200, NULL);
  soup_message_headers_set_content_type (headers, "text/event-stream", NULL);
  soup_message_headers_set_encoding (headers, SOUP_ENCODING_CHUNKED);
  soup_message_body_append (soup_server_message_get_response_body (msg), SOUP_MEMORY_STATIC, start, strlen (start));
  p->source = g_timeout_add (500, ping, p);
  g_signal_connect (msg, "finished", G_CALLBACK (stop_pinging), p);
}

/* ---- Fixture ----------------------------------------------------------- */

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *json = NULL;
  GSList *uris;

  f->pinger = soup_server_new (NULL, NULL);
  soup_server_add_handler (f->pinger, NULL, pinger_handler, NULL, NULL);
  us_keepalive_guard (f->pinger, 0, 0);
  soup_server_listen_local (f->pinger, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error);
  g_assert_no_error (error);
  uris = soup_server_get_uris (f->pinger);
  f->pinger_port = g_uri_get_port (uris->data);
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);

  f->primary = us_fake_provider_new (US_FAKE_FORMAT_ANTHROPIC);
  f->fallback = us_fake_provider_new (US_FAKE_FORMAT_ANTHROPIC);
  us_fake_provider_set_text (f->fallback, "fallback says hi");
  us_fake_provider_set_default_spec (f->primary, "silence", &error);
  g_assert_no_error (error);
  json = g_strdup_printf (
    "{ \"version\": 1,"
    "  \"listen\": { \"host\": \"127.0.0.1\", \"port\": 0, \"token\": \"" TEST_TOKEN "\" },"
    "  \"providers\": ["
    "    { \"id\": \"pinger\", \"kind\": \"anthropic\", \"base_url\": \"http://127.0.0.1:%u\", \"auth\": \"none\" },"
    "    { \"id\": \"primary\", \"kind\": \"anthropic\", \"base_url\": \"%s\", \"auth\": \"none\" },"
    "    { \"id\": \"fallback\", \"kind\": \"anthropic\", \"base_url\": \"%s\", \"auth\": \"none\" } ],"
    "  \"chains\": ["
    "    { \"id\": \"pings\", \"match\": [\"pings-*\"], \"models\": ["
    "      { \"provider\": \"pinger\", \"model\": \"*\" }, { \"provider\": \"fallback\", \"model\": \"f\" } ] },"
    "    { \"id\": \"default\", \"match\": [\"*\"], \"models\": ["
    "      { \"provider\": \"primary\", \"model\": \"*\" }, { \"provider\": \"fallback\", \"model\": \"f\" } ] } ],"
    "  \"rules\": [ { \"when\": { \"model\": \"pings-*\" }, \"chain\": \"pings\" } ],"
    "  \"failover\": { \"first_byte_timeout_s\": 2, \"idle_timeout_s\": 1, \"cooldown_s\": 30 } }",
    f->pinger_port, us_fake_provider_get_base_url (f->primary), us_fake_provider_get_base_url (f->fallback));
  f->proxy = test_proxy_new (json);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  g_clear_object (&f->proxy);
  g_clear_object (&f->primary);
  g_clear_object (&f->fallback);
  soup_server_disconnect (f->pinger);
  g_clear_object (&f->pinger);
}

static JsonObject *
last_request (Fixture   *f,
              JsonNode **holder)
{
  *holder = us_proxy_status_to_json (f->proxy);
  return json_array_get_object_element (json_object_get_array_member (json_node_get_object (*holder), "requests"), 0);
}

static void
spin_for (guint ms)
{
  gint64 until = g_get_monotonic_time () + ms * 1000;

  while (g_get_monotonic_time () < until)
    g_main_context_iteration (NULL, FALSE), g_usleep (2000);
}

/* ---- Cases ------------------------------------------------------------- */

/* Pings every 0.5 s under a 1 s idle timeout: only the 2 s first-byte
 * timeout can end the wait, and the fallback serves. */
static void
test_pings_before_content (Fixture       *f,
                           gconstpointer  data)
{
  g_autoptr(TestClient) client = test_client_new (f->proxy);
  g_autoptr(TestReply) reply = NULL;
  g_autoptr(JsonNode) holder = NULL;
  JsonObject *request, *attempt;
  gint64 start = g_get_monotonic_time ();

  reply = test_post (client, "/v1/messages",
                     "{\"model\":\"pings-model\",\"max_tokens\":64,\"stream\":true,"
                     "\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}", NULL);
  g_test_message ("served after %.1f s (first_byte_timeout_s 2, a ping every 0.5 s)",
                  (g_get_monotonic_time () - start) / 1e6);
  g_assert_cmpuint (reply->status, ==, 200);
  g_assert_cmpstr (soup_message_headers_get_one (reply->headers, "x-understudy-model"), ==, "fallback/f");
  request = last_request (f, &holder);
  attempt = json_array_get_object_element (json_object_get_array_member (request, "attempts"), 0);
  g_assert_cmpstr (json_object_get_string_member (attempt, "provider"), ==, "pinger");
  g_assert_cmpstr (json_object_get_string_member (attempt, "reason"), ==, "first-byte timeout");
}

/* The client leaves at 0.3 s while the primary is silent (its first-byte
 * timeout would fire at 2 s): recorded as 499 at once, the attempt
 * cancelled, no fallback asked, nobody served. */
static void
test_client_leaves_while_held (Fixture       *f,
                               gconstpointer  data)
{
  g_autoptr(JsonNode) holder = NULL;
  JsonObject *request, *attempt;
  TestConn *conn = test_conn_new (f->proxy);
  guint baseline;

  test_conn_request (conn, "POST", "/v1/messages", STREAM_BODY);
  spin_for (300);
  g_assert_cmpuint (us_fake_provider_get_n_requests (f->primary), ==, 1);
  baseline = test_count_fds ();
  test_conn_free (conn);
  /* Past the primary's first-byte timeout. */
  spin_for (2500);

  request = last_request (f, &holder);
  g_assert_cmpint (json_object_get_int_member (request, "status"), ==, 499);
  g_assert_true (json_object_get_null_member (request, "served_provider"));
  g_assert_cmpuint (us_fake_provider_get_n_requests (f->fallback), ==, 0);
  attempt = json_array_get_object_element (json_object_get_array_member (request, "attempts"), 0);
  g_assert_cmpstr (json_object_get_string_member (attempt, "reason"), ==, "client closed the connection");
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (request, "attempts")), ==, 1);
  /* Its connection is closed too: the client's end and the proxy's. */
  g_assert_cmpuint (test_count_fds (), <, baseline - 1);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/holding/pings-before-content", Fixture, NULL, fixture_set_up, test_pings_before_content,
              fixture_tear_down);
  g_test_add ("/holding/client-leaves-while-held", Fixture, NULL, fixture_set_up, test_client_leaves_while_held,
              fixture_tear_down);
  return g_test_run ();
}
