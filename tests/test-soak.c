/* test-soak.c: the proxy under injected faults, all on loopback, bounded in
 * rounds (and time): upstreams that reset mid-stream, 429 storms, an
 * upstream that trickles a byte a second, upstreams that send broken JSON
 * and SSE, clients that send broken JSON or 10 MB bodies, clients that
 * vanish mid-stream and slowloris clients. Every client must get a
 * complete answer or a well-formed error in its own format, the proxy
 * must close the slowloris connections, the descriptors must come back to
 * where they were and memory must stay flat; then a normal request must
 * still be served.
 *
 * The short version runs in `meson test`; bench/soak.sh runs it long:
 *   US_SOAK_ROUNDS   rounds to run (default 3; 0 = until US_SOAK_SECONDS)
 *   US_SOAK_SECONDS  stop starting rounds after this long (default 0 = no limit)
 *   US_SOAK_WIDTH    clients per fault in a round (default 4)
 *   US_SOAK_RSS_SLACK_KIB  allowed RSS growth after the first round (default 4096)
 *   US_SOAK_VERBOSE  print every answer's time, and the errors' bodies
 */
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <malloc.h>
#include <sys/socket.h>

#include "us-keepalive.h"
#include "test-util.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

typedef enum {
  FORMAT_ANTHROPIC,   /* /v1/messages */
  FORMAT_CHAT,        /* /v1/chat/completions */
} ClientFormat;

/* The faulty upstreams: each is the primary of its own chain (picked by the
 * model name's prefix) with a healthy OpenAI Chat fallback behind it. */
typedef enum {
  UP_OK,
  UP_RESET,
  UP_STORM,
  UP_TRICKLE,
  UP_MALFORMED,
  UP_SLOW,
  UP_N
} Upstream;

static const char * const upstream_names[UP_N] = { "ok", "reset", "storm", "trickle", "malformed", "slow" };

typedef struct {
  UsFakeProvider *fakes[UP_N];
  UsFakeProvider *fallback;
  UsProxy *proxy;
  char *base;
  SoupSession *session;
  GHashTable *tally;     /* "fault/outcome" → count */
  guint rounds;
  guint width;
  guint requests;
} Soak;

/* One request in flight. */
typedef struct {
  Soak *soak;
  const char *fault;
  ClientFormat format;
  gboolean stream;
  SoupMessage *msg;
  GBytes *reply;
  char *failure;   /* why the client got no answer at all */
  gint64 started;
  gint64 finished;
  guint *pending;
} Call;

static guint
env_uint (const char *name,
          guint       fallback)
{
  const char *value = g_getenv (name);

  return value != NULL && *value != '\0' ? (guint) g_ascii_strtoull (value, NULL, 10) : fallback;
}

/* ---- judging answers --------------------------------------------------- */

static JsonNode *
parse_json (const char *text,
            gsize       len)
{
  g_autoptr(JsonParser) parser = json_parser_new ();

  if (!json_parser_load_from_data (parser, text, (gssize) len, NULL) || json_parser_get_root (parser) == NULL)
    return NULL;
  return json_node_ref (json_parser_get_root (parser));
}

/* An error body in @format: Anthropic {"type":"error","error":{type,message}},
 * OpenAI {"error":{"message":…}}. */
static gboolean
is_error_object (JsonNode     *node,
                 ClientFormat  format)
{
  JsonObject *o, *error;

  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return FALSE;
  o = json_node_get_object (node);
  if (!json_object_has_member (o, "error") || !JSON_NODE_HOLDS_OBJECT (json_object_get_member (o, "error")))
    return FALSE;
  error = json_object_get_object_member (o, "error");
  if (json_object_get_string_member_with_default (error, "message", NULL) == NULL)
    return FALSE;
  if (format == FORMAT_ANTHROPIC)
    return g_strcmp0 (json_object_get_string_member_with_default (o, "type", NULL), "error") == 0
           && json_object_get_string_member_with_default (error, "type", NULL) != NULL;
  return TRUE;
}

/* Whether the data of every SSE event in @body is JSON (or Chat's [DONE]);
 * *@error_event says one is an error in @format, *@done that the stream
 * ended as @format ends it. */
static gboolean
stream_events_valid (const char   *body,
                     ClientFormat  format,
                     gboolean     *error_event,
                     gboolean     *done)
{
  g_auto(GStrv) events = g_strsplit (body, "\n\n", -1);

  *error_event = FALSE;
  *done = FALSE;
  for (guint i = 0; events[i] != NULL; i++)
    {
      const char *data = strstr (events[i], "data: ");
      g_autoptr(JsonNode) node = NULL;

      if (events[i][0] == '\0' || data == NULL)
        continue;
      data += strlen ("data: ");
      if (g_str_equal (data, "[DONE]"))
        {
          *done = format == FORMAT_CHAT;
          continue;
        }
      node = parse_json (data, strlen (data));
      if (node == NULL)
        return FALSE;
      if (is_error_object (node, format))
        *error_event = TRUE;
      if (format == FORMAT_ANTHROPIC && JSON_NODE_HOLDS_OBJECT (node)
          && g_strcmp0 (json_object_get_string_member_with_default (json_node_get_object (node), "type", NULL),
                        "message_stop") == 0)
        *done = TRUE;
    }
  return TRUE;
}

/* "complete", "error", or NULL when the answer is neither. */
static const char *
judge (guint         status,
       const char   *body,
       gsize         len,
       ClientFormat  format,
       gboolean      stream)
{
  g_autoptr(JsonNode) node = NULL;
  gboolean error_event, done;

  if (status >= 400)
    {
      node = parse_json (body, len);
      return is_error_object (node, format) ? "error" : NULL;
    }
  if (status != 200)
    return NULL;
  if (stream)
    {
      if (!stream_events_valid (body, format, &error_event, &done))
        return NULL;
      if (done && !error_event)
        return "complete";
      return error_event ? "error" : NULL;
    }
  node = parse_json (body, len);
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return NULL;
  if (format == FORMAT_ANTHROPIC)
    return g_strcmp0 (json_object_get_string_member_with_default (json_node_get_object (node), "type", NULL),
                      "message") == 0 ? "complete" : NULL;
  return json_object_has_member (json_node_get_object (node), "choices") ? "complete" : NULL;
}

static void
tally (Soak       *soak,
       const char *fault,
       const char *outcome)
{
  g_autofree char *key = g_strdup_printf ("%s/%s", fault, outcome);
  guint n = GPOINTER_TO_UINT (g_hash_table_lookup (soak->tally, key));

  g_hash_table_replace (soak->tally, g_steal_pointer (&key), GUINT_TO_POINTER (n + 1));
}

/* ---- clients ------------------------------------------------------------ */

static char *
request_body (ClientFormat  format,
              const char   *model,
              gboolean      stream,
              gsize         pad)
{
  g_autofree char *filler = pad > 0 ? g_strnfill (pad, 'x') : g_strdup ("hello");

  if (format == FORMAT_ANTHROPIC)
    return g_strdup_printf ("{\"model\":\"%s\",\"max_tokens\":64,\"stream\":%s,"
                            "\"messages\":[{\"role\":\"user\",\"content\":\"%s\"}]}",
                            model, stream ? "true" : "false", filler);
  return g_strdup_printf ("{\"model\":\"%s\",\"stream\":%s,\"messages\":[{\"role\":\"user\",\"content\":\"%s\"}]}",
                          model, stream ? "true" : "false", filler);
}

static void
on_call_done (GObject      *source,
              GAsyncResult *result,
              gpointer      data)
{
  Call *call = data;
  g_autoptr(GError) error = NULL;

  call->finished = g_get_monotonic_time ();
  call->reply = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);
  if (call->reply == NULL)
    {
      call->failure = g_strdup (error->message);
      call->reply = g_bytes_new (NULL, 0);
    }
  (*call->pending)--;
}

static void
call_start (Soak         *soak,
            GPtrArray    *calls,
            guint        *pending,
            const char   *fault,
            ClientFormat  format,
            gboolean      stream,
            char         *body)   /* taken */
{
  g_autofree char *url = g_strconcat (soak->base, format == FORMAT_ANTHROPIC ? "/v1/messages" : "/v1/chat/completions",
                                      NULL);
  g_autoptr(GBytes) bytes = g_bytes_new_take (body, strlen (body));
  Call *call = g_new0 (Call, 1);

  call->soak = soak;
  call->fault = fault;
  call->format = format;
  call->stream = stream;
  call->pending = pending;
  call->msg = soup_message_new ("POST", url);
  soup_message_set_request_body_from_bytes (call->msg, "application/json", bytes);
  if (format == FORMAT_ANTHROPIC)
    soup_message_headers_replace (soup_message_get_request_headers (call->msg), "anthropic-version", "2023-06-01");
  g_ptr_array_add (calls, call);
  call->started = g_get_monotonic_time ();
  (*pending)++;
  soup_session_send_and_read_async (soak->session, call->msg, G_PRIORITY_DEFAULT, NULL, on_call_done, call);
  soak->requests++;
}

static void
call_free (Call *call)
{
  g_clear_object (&call->msg);
  g_clear_pointer (&call->reply, g_bytes_unref);
  g_free (call->failure);
  g_free (call);
}

static void
call_judge (Call *call)
{
  gsize len;
  const char *data = g_bytes_get_data (call->reply, &len);
  g_autofree char *body = g_strndup (data ? data : "", len);
  guint status = soup_message_get_status (call->msg);
  const char *outcome = judge (status, body, len, call->format, call->stream);

  if (outcome == NULL)
    g_error ("%s: %s %s client got neither a complete answer nor a well-formed error: %u %s, %.*s",
             call->fault, call->format == FORMAT_ANTHROPIC ? "Anthropic" : "OpenAI Chat",
             call->stream ? "streaming" : "whole", status, call->failure ? call->failure : "",
             (int) MIN (len, 600), body);
  tally (call->soak, call->fault, outcome);
  /* US_SOAK_VERBOSE: each answer's time, and what each error said. */
  if (g_getenv ("US_SOAK_VERBOSE"))
    g_test_message ("%s %s: %.2f s%s%.*s", call->fault, outcome, (call->finished - call->started) / 1e6,
                    g_str_equal (outcome, "error") ? ": " : "",
                    g_str_equal (outcome, "error") ? (int) MIN (len, 300) : 0, body);
}

/* A raw connection that starts a stream, takes its first bytes and
 * leaves, with a reset when @rst. */
static void
vanish_mid_stream (Soak     *soak,
                   gboolean  rst)
{
  g_autofree char *body = request_body (FORMAT_ANTHROPIC, "slow-vanish", TRUE, 0);
  TestConn *conn = test_conn_new (soak->proxy);
  GSocket *socket = test_conn_get_socket (conn);
  gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  gboolean has_data = FALSE;

  test_conn_request (conn, "POST", "/v1/messages", body);
  while (!has_data && g_get_monotonic_time () < deadline)
    {
      g_assert_false (us_keepalive_client_left (socket, &has_data));
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
  g_assert_true (has_data);
  if (rst)
    {
      struct linger lg = { 1, 0 };

      g_assert_cmpint (setsockopt (g_socket_get_fd (socket), SOL_SOCKET, SO_LINGER, &lg, sizeof lg), ==, 0);
    }
  test_conn_free (conn);
  tally (soak, "vanish", "left");
  soak->requests++;
}

/* Half a request header, then nothing: the proxy must close it within
 * listen.request_timeout_s (6 s: other clients' requests must get in
 * while the process is busy, under ASan too). */
static TestConn *
slowloris_start (Soak *soak)
{
  static const char half[] = "POST /t/" TEST_TOKEN "/v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le";
  TestConn *conn = test_conn_new (soak->proxy);

  test_conn_send (conn, half, strlen (half));
  return conn;
}

static void
slowloris_check (Soak     *soak,
                 TestConn *conn)
{
  gint64 deadline = g_get_monotonic_time () + 8 * G_USEC_PER_SEC;
  GSocket *socket = test_conn_get_socket (conn);
  gboolean has_data, left = FALSE;

  while (!(left = us_keepalive_client_left (socket, &has_data)) && !has_data
         && g_get_monotonic_time () < deadline)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
  /* Closed, with or without a 408 first. */
  g_assert_true (left || has_data);
  tally (soak, "slowloris", "closed");
  soak->requests++;
}

/* ---- one round ------------------------------------------------------------ */

static gboolean
on_tick (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

/* Waits (at most 90 s) for every call, then judges each answer. */
static void
wait_for_calls (GPtrArray *calls,
                guint     *pending)
{
  gint64 deadline = g_get_monotonic_time () + 90 * G_USEC_PER_SEC;
  guint tick = g_timeout_add (100, on_tick, NULL);

  while (*pending > 0 && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (tick);
  for (guint i = 0; i < calls->len; i++)
    {
      Call *call = g_ptr_array_index (calls, i);

      if (call->reply == NULL)
        g_error ("%s: a %s %s client had no answer after 90 s", call->fault,
                 call->format == FORMAT_ANTHROPIC ? "Anthropic" : "OpenAI Chat", call->stream ? "streaming" : "whole");
    }
  for (guint i = 0; i < calls->len; i++)
    call_judge (g_ptr_array_index (calls, i));
}

static void
soak_round (Soak *soak)
{
  g_autoptr(GPtrArray) calls = g_ptr_array_new_with_free_func ((GDestroyNotify) call_free);
  g_autoptr(GPtrArray) lorises = g_ptr_array_new_with_free_func ((GDestroyNotify) test_conn_free);
  guint pending = 0;
  guint w = soak->width;

  for (guint i = 0; i < w; i++)
    {
      ClientFormat f = i % 2 ? FORMAT_CHAT : FORMAT_ANTHROPIC;

      call_start (soak, calls, &pending, "reset", f, TRUE, request_body (f, "reset-a", TRUE, 0));
      call_start (soak, calls, &pending, "storm", f, i % 3 != 0, request_body (f, "storm-a", i % 3 != 0, 0));
      call_start (soak, calls, &pending, "storm", f, TRUE, request_body (f, "storm-b", TRUE, 0));
      call_start (soak, calls, &pending, "malformed-upstream", f, i % 2 == 0,
                  request_body (f, "malformed-a", i % 2 == 0, 0));
      call_start (soak, calls, &pending, "malformed-client", f, FALSE,
                  g_strdup (i % 2 ? "{\"model\": \"x\", \"messages\": [" : "data: {not json}\n\n"));
    }
  for (guint i = 0; i < MAX (w / 2, 1); i++)
    call_start (soak, calls, &pending, "trickle", i % 2 ? FORMAT_CHAT : FORMAT_ANTHROPIC, TRUE,
                request_body (i % 2 ? FORMAT_CHAT : FORMAT_ANTHROPIC, "trickle-a", TRUE, 0));
  /* While those are in flight: slowloris and vanishing clients. */
  for (guint i = 0; i < w; i++)
    g_ptr_array_add (lorises, slowloris_start (soak));
  for (guint i = 0; i < w; i++)
    vanish_mid_stream (soak, i % 2 == 1);

  wait_for_calls (calls, &pending);
  /* A 10 MB body, in each format by turns, on its own: json-glib takes
   * seconds over one (3.4 s straight to a fake, 7 s through the proxy,
   * measured; 17 s under ASan), the whole process waits meanwhile, and
   * the other clients' requests would time out behind it (the slowloris
   * ones are only idle connections). */
  g_ptr_array_set_size (calls, 0);
  if (soak->rounds % 2 == 0)
    call_start (soak, calls, &pending, "10mb-body", FORMAT_ANTHROPIC, TRUE,
                request_body (FORMAT_ANTHROPIC, "claude-big", TRUE, 10 * 1024 * 1024));
  else
    call_start (soak, calls, &pending, "10mb-body", FORMAT_CHAT, FALSE,
                request_body (FORMAT_CHAT, "gpt-big", FALSE, 10 * 1024 * 1024));
  wait_for_calls (calls, &pending);
  /* The slowloris clients' time ran meanwhile. */
  for (guint i = 0; i < lorises->len; i++)
    slowloris_check (soak, g_ptr_array_index (lorises, i));
  /* The fakes keep every request for assertions: not the proxy's memory. */
  for (guint i = 0; i < UP_N; i++)
    us_fake_provider_clear_requests (soak->fakes[i]);
  us_fake_provider_clear_requests (soak->fallback);
  soak->rounds++;
}

/* ---- set-up --------------------------------------------------------------- */

static void
soak_init (Soak *soak)
{
  g_autoptr(GString) providers = g_string_new (NULL);
  g_autoptr(GString) chains = g_string_new (NULL);
  g_autofree char *config = NULL;

  for (guint i = 0; i < UP_N; i++)
    {
      soak->fakes[i] = us_fake_provider_new (US_FAKE_FORMAT_ANTHROPIC);
      g_string_append_printf (providers, "{ \"id\": \"%s\", \"kind\": \"anthropic\", \"base_url\": \"%s\", "
                              "\"auth\": \"passthrough\" }, ",
                              upstream_names[i], us_fake_provider_get_base_url (soak->fakes[i]));
      if (i != UP_OK)
        g_string_append_printf (chains, "{ \"id\": \"%s\", \"match\": [\"%s-*\"], \"models\": [ "
                                "{ \"provider\": \"%s\", \"model\": \"*\" }, "
                                "{ \"provider\": \"fallback\", \"model\": \"glm-4.6\" } ] }, ",
                                upstream_names[i], upstream_names[i], upstream_names[i]);
    }
  soak->fallback = us_fake_provider_new (US_FAKE_FORMAT_OPENAI_CHAT);
  us_fake_provider_set_default (soak->fakes[UP_RESET], &(UsFakeStep) { .behavior = US_FAKE_RESET_MID_STREAM });
  us_fake_provider_set_default (soak->fakes[UP_STORM], &(UsFakeStep) { .behavior = US_FAKE_STATUS, .status = 429,
                                                                       .retry_after = "0" });
  us_fake_provider_set_default (soak->fakes[UP_MALFORMED], &(UsFakeStep) { .behavior = US_FAKE_MALFORMED });
  /* A byte a second: the first content would take minutes. */
  us_fake_provider_set_chunking (soak->fakes[UP_TRICKLE], US_FAKE_CHUNKS_BYTES, 1000);
  /* Slow enough for a client to leave in the middle. */
  us_fake_provider_set_chunking (soak->fakes[UP_SLOW], US_FAKE_CHUNKS_PER_EVENT, 40);

  config = g_strdup_printf (
    "{ \"version\": 1,"
    "  \"listen\": { \"host\": \"127.0.0.1\", \"port\": 0, \"token\": \"" TEST_TOKEN "\","
    "               \"max_body_bytes\": 16777216, \"request_timeout_s\": 6, \"keepalive_timeout_s\": 30 },"
    "  \"providers\": [ %s { \"id\": \"fallback\", \"kind\": \"openai-chat\", \"base_url\": \"%s/v1\", \"auth\": \"none\" } ],"
    "  \"chains\": [ %s { \"id\": \"default\", \"match\": [\"*\"], \"models\": [ { \"provider\": \"ok\", \"model\": \"*\" },"
    "               { \"provider\": \"fallback\", \"model\": \"glm-4.6\" } ] } ],"
    "  \"failover\": { \"first_byte_timeout_s\": 3, \"idle_timeout_s\": 4, \"cooldown_s\": 0.05 } }",
    providers->str, us_fake_provider_get_base_url (soak->fallback), chains->str);
  soak->proxy = test_proxy_new (config);
  soak->base = us_proxy_dup_client_url (soak->proxy);
  soak->session = soup_session_new_with_options ("max-conns", 256, "max-conns-per-host", 128, "timeout", 60, NULL);
  soak->tally = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  soak->width = MAX (env_uint ("US_SOAK_WIDTH", 4), 2);
}

static void
soak_clear (Soak *soak)
{
  g_clear_object (&soak->session);
  g_clear_object (&soak->proxy);
  for (guint i = 0; i < UP_N; i++)
    g_clear_object (&soak->fakes[i]);
  g_clear_object (&soak->fallback);
  g_clear_pointer (&soak->base, g_free);
  g_clear_pointer (&soak->tally, g_hash_table_unref);
}

static void
assert_normal_service (Soak *soak)
{
  g_autoptr(TestClient) client = test_client_new (soak->proxy);
  g_autofree char *body = request_body (FORMAT_ANTHROPIC, "claude-after", TRUE, 0);
  g_autoptr(TestReply) reply = test_post (client, "/v1/messages", body, NULL);

  g_assert_cmpstr (judge (reply->status, reply->body, reply->length, FORMAT_ANTHROPIC, TRUE), ==, "complete");
  g_assert_cmpstr (soup_message_headers_get_one (reply->headers, "x-understudy-attempts"), ==, "1");
}

/* Closes our client's connections and the proxy's idle upstream ones
 * (kept on purpose for reuse, each closed after 60 s idle): what stays
 * open then is what the proxy holds for no one. */
static guint
settled_fds (Soak  *soak,
             guint  expected)
{
  g_clear_object (&soak->session);
  soak->session = soup_session_new_with_options ("max-conns", 256, "max-conns-per-host", 128, "timeout", 60, NULL);
  soup_session_abort (us_proxy_get_session (soak->proxy));
  return test_wait_for_fds (expected);
}

/* Resident memory with what malloc holds free given back first: a 10 MB
 * body raises glibc's mmap threshold, after which such buffers come from
 * the heap and stay resident after they are freed. What is left is memory
 * in use. */
static gsize
rss_in_use_kib (void)
{
  malloc_trim (0);
  return test_rss_kib ();
}

static void
test_soak (void)
{
  Soak soak = { 0 };
  guint max_rounds = env_uint ("US_SOAK_ROUNDS", 3);
  guint seconds = env_uint ("US_SOAK_SECONDS", 0);
  gint64 start, stop;
  guint fds_before, fds_warm, fds_after;
  gsize rss_before, rss_warm, rss_after, rss_warm_raw, rss_after_raw;
  g_autoptr(GList) keys = NULL;

  soak_init (&soak);
  g_assert_true (max_rounds > 0 || seconds > 0);
  start = g_get_monotonic_time ();
  stop = seconds > 0 ? start + (gint64) seconds * G_USEC_PER_SEC : G_MAXINT64;
  fds_before = test_count_fds ();
  rss_before = test_rss_kib ();

  /* The first round warms every path (types, caches, pools): memory is
   * measured from there. */
  soak_round (&soak);
  /* GLib makes one eventfd once, on the first round (a worker context's
   * wakeup): counted from there. */
  fds_warm = settled_fds (&soak, fds_before);
  g_assert_cmpuint (fds_warm, <=, fds_before + 1);
  rss_warm_raw = test_rss_kib ();
  rss_warm = rss_in_use_kib ();

  while ((max_rounds == 0 || soak.rounds < max_rounds) && g_get_monotonic_time () < stop)
    soak_round (&soak);

  fds_after = settled_fds (&soak, fds_warm);
  rss_after_raw = test_rss_kib ();
  rss_after = rss_in_use_kib ();

  keys = g_list_sort (g_hash_table_get_keys (soak.tally), (GCompareFunc) g_strcmp0);
  for (GList *l = keys; l != NULL; l = l->next)
    g_test_message ("%-28s %u", (const char *) l->data, GPOINTER_TO_UINT (g_hash_table_lookup (soak.tally, l->data)));
  g_test_message ("%u rounds of %u clients per fault, %u requests in %.1f s; descriptors %u before, "
                  "%u after the first round, %u after all; RSS %zu KiB before, after the first round %zu KiB "
                  "(%zu KiB with malloc's free memory trimmed), after all %zu KiB (%zu KiB trimmed, %+zd KiB)",
                  soak.rounds, soak.width, soak.requests, (g_get_monotonic_time () - start) / 1e6,
                  fds_before, fds_warm, fds_after, rss_before, rss_warm_raw, rss_warm, rss_after_raw, rss_after,
                  (gssize) rss_after - (gssize) rss_warm);

  g_assert_cmpuint (fds_after, ==, fds_warm);
#ifndef UNDER_ASAN
  /* ASan's allocator keeps freed memory in quarantine: RSS says nothing. */
  g_assert_cmpint ((gssize) rss_after - (gssize) rss_warm, <=, (gssize) env_uint ("US_SOAK_RSS_SLACK_KIB", 4096));
#endif
#ifndef UNDER_ASAN
  /* A 429 storm is survived by failing over: every one of them served.
   * (Under ASan on a busy machine the fallback's first byte can miss
   * first_byte_timeout_s: a well-formed error, but not this.) */
  g_assert_null (g_hash_table_lookup (soak.tally, "storm/error"));
#endif
  assert_normal_service (&soak);
  soak_clear (&soak);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/soak/faults", test_soak);
  return g_test_run ();
}
