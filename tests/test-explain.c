/* test-explain.c: issue 12 items 5, 6 and 7 against a running proxy.
 *
 * One proxy whose chain has a model for every reason to pass one over: too
 * small a window, a budget reached, a plan window spent, a cooldown, an
 * open circuit, then one that serves. The request log must record the
 * route and each reason; `understudy explain` (the real binary, asking the
 * proxy over HTTP) must report each; `understudy statusline` must read
 * Claude Code's JSON on stdin and name what serves the session.
 */
#include <glib/gstdio.h>
#include <gio/gio.h>

#include "us-failover.h"
#include "us-fake-provider.h"
#include "us-proxy.h"
#include "test-util.h"

#define SESSION "5f3a9c1e-session"
#define CLAUDE_UA "claude-cli/2.0.14 (external, cli)"

typedef struct {
  char *dir;              /* HOME, XDG dirs, the CLI's config, the request */
  char *saved_state;
  UsFakeProvider *fake;
  UsProxy *proxy;
  TestClient *client;
  char *config_path;      /* for the CLI: the proxy's port and token */
  char *request_path;     /* a request too long for the first model */
} Fixture;

static char *
config_json (UsFakeProvider *fake,
             guint           port)
{
  const char *url = us_fake_provider_get_base_url (fake);

  return g_strdup_printf (
    "{ \"version\": 1,"
    "  \"listen\": { \"host\": \"127.0.0.1\", \"port\": %u, \"token\": \"" TEST_TOKEN "\" },"
    "  \"providers\": ["
    "    { \"id\": \"big\", \"kind\": \"anthropic\", \"base_url\": \"%s\", \"auth\": \"passthrough\" },"
    "    { \"id\": \"budget\", \"kind\": \"anthropic\", \"base_url\": \"%s\", \"auth\": \"passthrough\" },"
    "    { \"id\": \"plan\", \"kind\": \"anthropic\", \"base_url\": \"%s\", \"auth\": \"passthrough\" },"
    "    { \"id\": \"cool\", \"kind\": \"anthropic\", \"base_url\": \"%s\", \"auth\": \"passthrough\" },"
    "    { \"id\": \"circ\", \"kind\": \"anthropic\", \"base_url\": \"%s\", \"auth\": \"passthrough\" },"
    "    { \"id\": \"ok\", \"kind\": \"anthropic\", \"base_url\": \"%s\", \"auth\": \"passthrough\" } ],"
    "  \"rules\": [ { \"when\": { \"client\": \"claude-code\" }, \"chain\": \"main\" } ],"
    "  \"chains\": ["
    "    { \"id\": \"other\", \"match\": [\"*\"], \"models\": [ { \"provider\": \"ok\", \"model\": \"ok-model\" } ] },"
    "    { \"id\": \"main\", \"models\": ["
    "      { \"provider\": \"big\", \"model\": \"ctx-model\", \"context_tokens\": 200 },"
    "      { \"provider\": \"budget\", \"model\": \"budget-model\", \"budget\": { \"requests\": 1, \"per\": \"day\" } },"
    "      { \"provider\": \"plan\", \"model\": \"plan-model\" },"
    "      { \"provider\": \"cool\", \"model\": \"cool-model\" },"
    "      { \"provider\": \"circ\", \"model\": \"circ-model\" },"
    "      { \"provider\": \"ok\", \"model\": \"ok-model\", \"price\": { \"input\": 3, \"output\": 15 } } ] } ],"
    "  \"failover\": { \"circuit_failures\": 3, \"circuit_open_s\": 600 } }",
    port, url, url, url, url, url, url);
}

/* ~400 tokens of input: more than ctx-model's 200-token window. */
static char *
long_request (void)
{
  g_autofree char *words = g_strnfill (1600, 'a');

  return g_strdup_printf ("{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":64,"
                          "\"messages\":[{\"role\":\"user\",\"content\":\"%s\"}]}", words);
}

static void
write_file (const char *path,
            const char *text)
{
  g_autoptr(GError) error = NULL;

  g_file_set_contents (path, text, -1, &error);
  g_assert_no_error (error);
}

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  g_autofree char *json = NULL;
  g_autofree char *cli_json = NULL;
  g_autofree char *request = long_request ();
  g_autofree char *state = NULL;

  f->dir = g_dir_make_tmp ("understudy-explain-XXXXXX", NULL);
  g_assert_nonnull (f->dir);
  /* Spend is read where the proxy starts: this test's own, empty. */
  f->saved_state = g_strdup (g_getenv ("XDG_STATE_HOME"));
  state = g_build_filename (f->dir, "state", NULL);
  g_setenv ("XDG_STATE_HOME", state, TRUE);

  f->fake = us_fake_provider_new (US_FAKE_FORMAT_ANTHROPIC);
  json = config_json (f->fake, 0);
  f->proxy = test_proxy_new (json);
  f->client = test_client_new (f->proxy);

  f->config_path = g_build_filename (f->dir, "config.json", NULL);
  cli_json = config_json (f->fake, us_proxy_get_port (f->proxy));
  write_file (f->config_path, cli_json);
  f->request_path = g_build_filename (f->dir, "request.json", NULL);
  write_file (f->request_path, request);
}


static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  test_client_free (f->client);
  g_clear_object (&f->proxy);
  g_clear_object (&f->fake);
  test_remove_tree (f->dir);
  g_free (f->dir);
  g_free (f->config_path);
  g_free (f->request_path);
  if (f->saved_state != NULL)
    g_setenv ("XDG_STATE_HOME", f->saved_state, TRUE);
  else
    g_unsetenv ("XDG_STATE_HOME");
  g_free (f->saved_state);
}

/* Every reason at once, in the proxy's live state. */
static void
break_models (Fixture *f)
{
  UsHealth *health = us_proxy_get_health (f->proxy);
  const UsFailoverConfig *failover = us_config_get_failover (us_proxy_get_config (f->proxy));

  us_spend_record (us_proxy_get_spend (f->proxy), "budget", "budget-model", 10, 0);
  us_health_cool_down (health, "plan", "plan-model", 3600, US_PROBLEM_QUOTA_THRESHOLD);
  us_health_cool_down (health, "cool", "cool-model", 900, "rate limited");
  for (guint i = 0; i < 3; i++)
    us_health_circuit_record (health, "circ", "circ-model", failover, FALSE);
}

typedef struct {
  char *out;
  char *err;
  gboolean done;
  gint status;
} CliRun;

static void
on_communicated (GObject      *source,
                 GAsyncResult *result,
                 gpointer      data)
{
  CliRun *run = data;
  g_autoptr(GError) error = NULL;

  g_subprocess_communicate_utf8_finish (G_SUBPROCESS (source), result, &run->out, &run->err, &error);
  g_assert_no_error (error);
  run->status = g_subprocess_get_exit_status (G_SUBPROCESS (source));
  run->done = TRUE;
}

/* Runs `understudy --config CONFIG ARGS…` with @input on stdin while the
 * proxy keeps serving on this main loop; returns its stdout. */
static char *
run_cli (Fixture            *f,
         const char         *config_path,
         const char         *input,
         gint               *status,
         gint64             *elapsed_ms,
         const char * const *args)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE |
                                                                       G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                                                       G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *home = g_build_filename (f->dir, "home", NULL);
  g_autofree char *config_home = g_build_filename (f->dir, "config", NULL);
  CliRun run = { 0 };
  gint64 start = g_get_monotonic_time ();

  g_subprocess_launcher_setenv (launcher, "LC_ALL", "C.UTF-8", TRUE);
  g_subprocess_launcher_setenv (launcher, "LANGUAGE", "", TRUE);
  g_subprocess_launcher_setenv (launcher, "HOME", home, TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_CONFIG_HOME", config_home, TRUE);
  g_ptr_array_add (argv, (char *) g_getenv ("UNDERSTUDY"));
  g_ptr_array_add (argv, "--config");
  g_ptr_array_add (argv, (char *) config_path);
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (char *) args[i]);
  g_ptr_array_add (argv, NULL);
  process = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8_async (process, input, NULL, on_communicated, &run);
  while (!run.done)
    g_main_context_iteration (NULL, TRUE);
  if (elapsed_ms != NULL)
    *elapsed_ms = (g_get_monotonic_time () - start) / 1000;
  g_test_message ("understudy %s → %d\n%s%s", args[0], run.status, run.out, run.err);
  *status = run.status;
  g_free (run.err);
  return run.out;
}

/* What the CLI prints for a time the proxy keeps in unix seconds. */
static char *
clock_text (gint64 unix_s)
{
  g_autoptr(GDateTime) when = g_date_time_new_from_unix_local (unix_s);
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();

  if (g_date_time_get_day_of_year (when) == g_date_time_get_day_of_year (now) &&
      g_date_time_get_year (when) == g_date_time_get_year (now))
    return g_date_time_format (when, "%H:%M:%S");
  return g_date_time_format (when, "%Y-%m-%d %H:%M");
}

static void
assert_has (const char *text,
            const char *needle)
{
  if (strstr (text, needle) == NULL)
    g_error ("expected “%s” in:\n%s", needle, text);
}

static JsonObject *
newest_request (Fixture   *f,
                JsonNode **holder)
{
  g_autoptr(TestReply) reply = test_get (f->client, "/understudy/status", NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonArray *requests;

  g_assert_cmpuint (reply->status, ==, 200);
  g_assert_true (json_parser_load_from_data (parser, reply->body, reply->length, NULL));
  *holder = json_node_ref (json_parser_get_root (parser));
  requests = json_object_get_array_member (json_node_get_object (*holder), "requests");
  return json_array_get_object_element (requests, 0);
}

/* Item 7: the log says which rule and chain, and why each model was passed over. */
static void
test_log_records_route_and_skips (Fixture       *f,
                                  gconstpointer  data)
{
  static const char * const kinds[] = { "context-window", "over-budget", "plan-window", "cooling-down",
                                         "circuit-open", NULL };
  const char * const headers[] = { "User-Agent", CLAUDE_UA, "x-claude-code-session-id", SESSION, NULL };
  g_autofree char *body = long_request ();
  g_autoptr(TestReply) reply = NULL;
  g_autoptr(JsonNode) holder = NULL;
  g_autofree char *out = NULL;
  JsonObject *entry, *route;
  JsonArray *attempts;
  gint status;

  break_models (f);
  reply = test_post (f->client, "/v1/messages", body, headers);
  g_assert_cmpuint (reply->status, ==, 200);
  g_assert_cmpstr (soup_message_headers_get_one (reply->headers, "x-understudy-model"), ==, "ok/ok-model");
  /* Not one of the five passed over was asked. */
  g_assert_cmpuint (us_fake_provider_get_n_requests (f->fake), ==, 1);

  entry = newest_request (f, &holder);
  route = json_object_get_object_member (entry, "route");
  g_assert_cmpstr (json_object_get_string_member (route, "chain"), ==, "main");
  g_assert_cmpint (json_object_get_int_member (route, "rule"), ==, 0);
  g_assert_cmpstr (json_object_get_string_member (route, "match"), ==, "rules[0] (client claude-code)");

  attempts = json_object_get_array_member (entry, "attempts");
  g_assert_cmpuint (json_array_get_length (attempts), ==, 6);
  for (guint i = 0; kinds[i]; i++)
    {
      JsonObject *a = json_array_get_object_element (attempts, i);

      g_assert_true (json_object_get_boolean_member (a, "skipped"));
      g_assert_cmpstr (json_object_get_string_member (a, "skip"), ==, kinds[i]);
      g_assert_nonnull (json_object_get_string_member (a, "reason"));
      /* Everything but the window is over at a known time. */
      g_assert_true (json_object_has_member (a, "until") == (i > 0));
    }
  g_assert_true (g_str_has_prefix (json_object_get_string_member (json_array_get_object_element (attempts, 0), "reason"),
                                   "over its context window: ~"));
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (attempts, 1), "reason"), ==,
                   "over budget: 1 of 1 requests a day");
  g_assert_true (g_str_has_prefix (json_object_get_string_member (json_array_get_object_element (attempts, 2), "reason"),
                                   "plan window spent until "));
  g_assert_true (g_str_has_suffix (json_object_get_string_member (json_array_get_object_element (attempts, 3), "reason"),
                                   " (rate limited)"));
  g_assert_true (g_str_has_prefix (json_object_get_string_member (json_array_get_object_element (attempts, 4), "reason"),
                                   "circuit open until "));
  g_assert_false (json_object_get_boolean_member (json_array_get_object_element (attempts, 5), "skipped"));

  /* `understudy status` shows the same, for a person. */
  out = run_cli (f, f->config_path, NULL, &status, NULL, (const char * const[]) { "status", NULL });
  g_assert_cmpint (status, ==, 0);
  assert_has (out, "    route: rules[0] (client claude-code) → chain main\n");
  assert_has (out, "      3. plan/plan-model  plan window spent until ");
  assert_has (out, "      5. circ/circ-model  circuit open until ");

  /* A request the rule does not take: the chain's own glob. */
  g_clear_pointer (&reply, test_reply_free);
  g_clear_pointer (&holder, json_node_unref);
  reply = test_post (f->client, "/v1/messages", body, NULL);
  g_assert_cmpuint (reply->status, ==, 200);
  entry = newest_request (f, &holder);
  route = json_object_get_object_member (entry, "route");
  g_assert_cmpstr (json_object_get_string_member (route, "chain"), ==, "other");
  g_assert_true (json_object_get_null_member (route, "rule"));
  g_assert_cmpstr (json_object_get_string_member (route, "match"), ==, "chain other's match \"*\"");
}

/* Item 5: each reason, as the running proxy sees it. */
static void
test_explain_live (Fixture       *f,
                   gconstpointer  data)
{
  UsHealth *health = us_proxy_get_health (f->proxy);
  g_autofree char *out = NULL;
  g_autofree char *plan_until = NULL;
  g_autofree char *cool_until = NULL;
  g_autofree char *probe_until = NULL;
  g_autofree char *line = NULL;
  gint64 probe_at = 0;
  gint status;

  break_models (f);
  out = run_cli (f, f->config_path, NULL, &status, NULL,
                 (const char * const[]) { "explain", "--client", "claude-code", f->request_path, NULL });
  g_assert_cmpint (status, ==, 0);
  assert_has (out, "From the running Understudy's live state.");
  assert_has (out, "Request: claude-sonnet-4-5 from claude-code (anthropic), ~");
  assert_has (out, "Rule: rules[0] (client claude-code) → chain main\n");
  assert_has (out, "  1. big/ctx-model");
  assert_has (out, "skipped: over its context window (~");
  assert_has (out, "tokens needed, 200 fit)\n");
  assert_has (out, ": over budget: 1 of 1 requests a day\n");

  plan_until = clock_text (us_health_get_cooldown_until (health, "plan", "plan-model"));
  line = g_strdup_printf ("skipped: plan window spent until %s\n", plan_until);
  assert_has (out, line);
  g_free (line);
  cool_until = clock_text (us_health_get_cooldown_until (health, "cool", "cool-model"));
  line = g_strdup_printf ("skipped: cooling down until %s (rate limited)\n", cool_until);
  assert_has (out, line);
  g_free (line);
  g_assert_false (us_health_circuit_peek (health, "circ", "circ-model", &probe_at));
  probe_until = clock_text (probe_at);
  line = g_strdup_printf ("skipped: circuit open until %s, then one probe request\n", probe_until);
  assert_has (out, line);
  assert_has (out, "  6. ok/ok-model");
  assert_has (out, "would be tried first\n");
  /* Looking changes nothing: the circuit is still open, no probe taken. */
  g_assert_false (us_health_circuit_peek (health, "circ", "circ-model", NULL));
  g_assert_cmpuint (us_fake_provider_get_n_requests (f->fake), ==, 0);

  /* Once the cooldown is over, the same model would be tried. */
  us_health_mark_ok (health, "cool", "cool-model");
  g_free (out);
  out = run_cli (f, f->config_path, NULL, &status, NULL,
                 (const char * const[]) { "explain", "--client", "claude-code", "--json", f->request_path, NULL });
  g_assert_cmpint (status, ==, 0);
  assert_has (out, "\"skip\" : \"circuit-open\"");
  g_assert_null (strstr (out, "cooling-down"));

  /* A request the proxy cannot read is refused with its reason. */
  write_file (f->request_path, "{\"messages\": 5}");
  g_free (out);
  out = run_cli (f, f->config_path, NULL, &status, NULL,
                 (const char * const[]) { "explain", f->request_path, NULL });
  g_assert_cmpint (status, ==, 1);
}

/* No proxy: the config alone, and says so; budgets come from spend.json. */
static void
test_explain_without_proxy (Fixture       *f,
                            gconstpointer  data)
{
  g_autoptr(GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, 0, NULL);
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autofree char *json = NULL;
  g_autofree char *path = g_build_filename (f->dir, "closed.json", NULL);
  g_autofree char *out = NULL;
  g_autoptr(GError) error = NULL;
  gint status;

  /* A port nothing listens on. */
  g_assert_true (g_socket_bind (socket, any, FALSE, NULL));
  bound = g_socket_get_local_address (socket, NULL);
  json = config_json (f->fake, g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)));
  g_socket_close (socket, NULL);
  write_file (path, json);

  break_models (f);
  us_spend_flush (us_proxy_get_spend (f->proxy), &error);
  g_assert_no_error (error);
  out = run_cli (f, path, NULL, &status, NULL,
                 (const char * const[]) { "explain", "--client", "claude-code", f->request_path, NULL });
  g_assert_cmpint (status, ==, 0);
  assert_has (out, "Understudy is not running (");
  assert_has (out, "from the config alone, no cooldowns or circuits known.\n");
  assert_has (out, "Rule: rules[0] (client claude-code) → chain main\n");
  assert_has (out, "skipped: over its context window (~");
  /* The day's spend is on disk: the budget holds without the proxy. */
  assert_has (out, ": over budget: 1 of 1 requests a day\n");
  /* Cooldowns and circuits live in the proxy alone. */
  g_assert_null (strstr (out, "plan window spent"));
  g_assert_null (strstr (out, "cooling down"));
  g_assert_null (strstr (out, "circuit open"));
  assert_has (out, "  3. plan/plan-model");
  assert_has (out, "would be tried first\n");
}

/* Item 6: Claude Code's JSON on stdin, one line out. */
static void
test_statusline (Fixture       *f,
                 gconstpointer  data)
{
  const char * const plan_headers[] = {
    "anthropic-ratelimit-unified-5h-utilization: 0.42", "anthropic-ratelimit-unified-5h-reset: 2099-01-01T00:00:00Z",
    "anthropic-ratelimit-unified-7d-utilization: 0.17", NULL };
  const char * const headers[] = { "User-Agent", CLAUDE_UA, "x-claude-code-session-id", SESSION, NULL };
  /* As Claude Code sends it (code.claude.com/docs/en/statusline). */
  static const char session_json[] =
    "{\"hook_event_name\":\"Status\",\"session_id\":\"" SESSION "\","
    "\"transcript_path\":\"/home/u/.claude/projects/p/" SESSION ".jsonl\",\"cwd\":\"/home/u/p\","
    "\"model\":{\"id\":\"claude-sonnet-4-5\",\"display_name\":\"Sonnet 4.5\"},"
    "\"workspace\":{\"current_dir\":\"/home/u/p\",\"project_dir\":\"/home/u/p\"},"
    "\"version\":\"2.0.14\",\"output_style\":{\"name\":\"default\"},"
    "\"cost\":{\"total_cost_usd\":0.01234,\"total_duration_ms\":45000,\"total_api_duration_ms\":2300,"
    "\"total_lines_added\":156,\"total_lines_removed\":23}}";
  g_autofree char *body = long_request ();
  g_autoptr(TestReply) reply = NULL;
  g_autofree char *out = NULL;
  g_autofree char *closed = g_build_filename (f->dir, "closed.json", NULL);
  g_autofree char *json = NULL;
  gint64 elapsed_ms;
  gint status;

  /* Nothing served yet: Claude Code's own model name. */
  out = run_cli (f, f->config_path, session_json, &status, NULL, (const char * const[]) { "statusline", NULL });
  g_assert_cmpint (status, ==, 0);
  g_assert_cmpstr (out, ==, "Understudy ▸ Sonnet 4.5\n");

  break_models (f);
  us_fake_provider_push (f->fake, &(UsFakeStep) { .behavior = US_FAKE_OK, .headers = plan_headers });
  reply = test_post (f->client, "/v1/messages", body, headers);
  g_assert_cmpuint (reply->status, ==, 200);
  g_free (out);
  out = run_cli (f, f->config_path, session_json, &status, NULL, (const char * const[]) { "statusline", NULL });
  g_assert_cmpint (status, ==, 0);
  g_assert_true (g_str_has_prefix (out, "Understudy ▸ ok/ok-model · failover from big/ctx-model (context too long) · $0."));
  assert_has (out, " today · 5h plan 42%\n");
  g_free (out);
  out = run_cli (f, f->config_path, NULL, &status, NULL, (const char * const[]) { "status", NULL });
  assert_has (out, "       plan: 5h 42% (resets ");
  g_free (out);
  out = run_cli (f, f->config_path, session_json, &status, NULL, (const char * const[]) { "statusline", NULL });
  /* One line, whatever Claude Code shows of it. */
  g_assert_cmpuint (strchr (out, '\n') - out + 1, ==, strlen (out));

  /* Routing off says so. */
  us_proxy_set_routing (f->proxy, FALSE);
  g_free (out);
  out = run_cli (f, f->config_path, session_json, &status, NULL, (const char * const[]) { "statusline", NULL });
  g_assert_cmpstr (out, ==, "Understudy: routing off · Sonnet 4.5\n");

  /* No proxy: still one sensible line, at once. */
  json = config_json (f->fake, 9);
  write_file (closed, json);
  g_free (out);
  out = run_cli (f, closed, session_json, &status, &elapsed_ms, (const char * const[]) { "statusline", NULL });
  g_assert_cmpint (status, ==, 0);
  g_assert_cmpstr (out, ==, "Understudy: not running · Sonnet 4.5\n");
  g_test_message ("statusline with no proxy took %" G_GINT64_FORMAT " ms", elapsed_ms);
  g_assert_cmpint (elapsed_ms, <, 3000);

  /* Stdin that never ends (Claude Code misbehaving) does not hold it up. */
  g_free (out);
  out = run_cli (f, f->config_path, "{\"session_id\":", &status, &elapsed_ms, (const char * const[]) { "statusline", NULL });
  g_assert_cmpint (status, ==, 0);
  g_assert_true (g_str_has_prefix (out, "Understudy"));
}

/* The command line's side of item 6: refused without --force, and the
 * exact bytes back after disconnect. */
static void
test_connect_statusline_cli (Fixture       *f,
                             gconstpointer  data)
{
  static const char theirs[] = "{\n  \"statusLine\": { \"type\": \"command\", \"command\": \"~/mine.sh\" }\n}\n";
  g_autofree char *claude_dir = g_build_filename (f->dir, "home", ".claude", NULL);
  g_autofree char *settings = g_build_filename (claude_dir, "settings.json", NULL);
  g_autofree char *out = NULL;
  g_autofree char *now = NULL;
  g_autofree char *expected = NULL;
  gint status;

  g_assert_cmpint (g_mkdir_with_parents (claude_dir, 0700), ==, 0);
  write_file (settings, theirs);

  out = run_cli (f, f->config_path, NULL, &status, NULL,
                 (const char * const[]) { "connect", "claude-code", "--statusline", NULL });
  g_assert_cmpint (status, ==, 1);
  g_assert_true (g_file_get_contents (settings, &now, NULL, NULL));
  g_assert_cmpstr (now, ==, theirs);

  g_free (out);
  out = run_cli (f, f->config_path, NULL, &status, NULL,
                 (const char * const[]) { "connect", "claude-code", "--statusline", "--force", NULL });
  g_assert_cmpint (status, ==, 0);
  g_clear_pointer (&now, g_free);
  g_assert_true (g_file_get_contents (settings, &now, NULL, NULL));
  /* The command names this config, so the status line finds this proxy. */
  expected = g_strdup_printf ("--config '%s' statusline\"", f->config_path);
  assert_has (now, expected);

  g_free (out);
  out = run_cli (f, f->config_path, NULL, &status, NULL, (const char * const[]) { "disconnect", "claude-code", NULL });
  g_assert_cmpint (status, ==, 0);
  g_clear_pointer (&now, g_free);
  g_assert_true (g_file_get_contents (settings, &now, NULL, NULL));
  g_assert_cmpstr (now, ==, theirs);

  /* Codex has no status line. */
  g_free (out);
  out = run_cli (f, f->config_path, NULL, &status, NULL,
                 (const char * const[]) { "connect", "codex", "--statusline", NULL });
  g_assert_cmpint (status, ==, 2);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_assert_nonnull (g_getenv ("UNDERSTUDY"));

  g_test_add ("/explain/log-route-and-skips", Fixture, NULL, fixture_set_up, test_log_records_route_and_skips,
              fixture_tear_down);
  g_test_add ("/explain/live", Fixture, NULL, fixture_set_up, test_explain_live, fixture_tear_down);
  g_test_add ("/explain/without-proxy", Fixture, NULL, fixture_set_up, test_explain_without_proxy, fixture_tear_down);
  g_test_add ("/explain/statusline", Fixture, NULL, fixture_set_up, test_statusline, fixture_tear_down);
  g_test_add ("/explain/connect-statusline-cli", Fixture, NULL, fixture_set_up, test_connect_statusline_cli,
              fixture_tear_down);
  return g_test_run ();
}
