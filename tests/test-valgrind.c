/* test-valgrind.c: `understudy --headless` under valgrind's memcheck with
 * a short mixed load (streamed and whole answers, a failover, a translated
 * stream, the status API), then SIGTERM: no invalid read or write and no
 * definite leak. Fake providers and client run here, on loopback.
 *   VALGRIND, UNDERSTUDY and VALGRIND_SUPP name the programs and the
 *   suppressions file. */
#include <signal.h>

#include "test-util.h"

#define ANTHROPIC_STREAM "{\"model\":\"claude-test\",\"max_tokens\":64,\"stream\":true," \
                         "\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}"
#define ANTHROPIC_WHOLE "{\"model\":\"claude-test\",\"max_tokens\":64," \
                        "\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}"
#define CHAT_STREAM "{\"model\":\"claude-test\",\"stream\":true," \
                    "\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}"

typedef struct {
  GDataInputStream *out;
  char *line;
  gboolean done;
} LineRead;

static void
on_line (GObject      *source,
         GAsyncResult *result,
         gpointer      data)
{
  LineRead *read = data;

  read->line = g_data_input_stream_read_line_finish_utf8 (G_DATA_INPUT_STREAM (source), result, NULL, NULL);
  read->done = TRUE;
}

/* The port from "Understudy is listening on http://127.0.0.1:PORT …". */
static guint
wait_for_port (GInputStream *stdout_pipe)
{
  g_autoptr(GDataInputStream) out = g_data_input_stream_new (stdout_pipe);
  LineRead read = { out, NULL, FALSE };
  g_autofree char *line = NULL;
  const char *colon;

  g_data_input_stream_read_line_async (out, G_PRIORITY_DEFAULT, NULL, on_line, &read);
  while (!read.done)
    g_main_context_iteration (NULL, TRUE);
  line = read.line;
  g_assert_nonnull (line);
  colon = strrchr (line, ':');
  g_assert_nonnull (colon);
  return (guint) g_ascii_strtoull (colon + 1, NULL, 10);
}

static void
assert_stream (TestReply  *reply,
               const char *end)
{
  g_assert_cmpuint (reply->status, ==, 200);
  g_assert_nonnull (strstr (reply->body, end));
}

static void
mixed_load (TestClient     *client,
            UsFakeProvider *primary)
{
  for (guint round = 0; round < 3; round++)
    {
      g_autoptr(TestReply) streamed = NULL;
      g_autoptr(TestReply) whole = NULL;
      g_autoptr(TestReply) failover = NULL;
      g_autoptr(TestReply) chat = NULL;
      g_autoptr(TestReply) models = NULL;
      g_autoptr(TestReply) status = NULL;

      streamed = test_post (client, "/v1/messages", ANTHROPIC_STREAM, NULL);
      assert_stream (streamed, "message_stop");
      whole = test_post (client, "/v1/messages", ANTHROPIC_WHOLE, NULL);
      g_assert_cmpuint (whole->status, ==, 200);
      g_assert_nonnull (strstr (whole->body, "\"end_turn\""));
      chat = test_post (client, "/v1/chat/completions", CHAT_STREAM, NULL);
      assert_stream (chat, "[DONE]");

      /* The primary's 429: the fallback (OpenAI Chat) serves, its stream
       * translated back to Anthropic events. */
      us_fake_provider_push_status (primary, 429, "1");
      failover = test_post (client, "/v1/messages", ANTHROPIC_STREAM, NULL);
      assert_stream (failover, "message_stop");
      g_assert_cmpstr (soup_message_headers_get_one (failover->headers, "x-understudy-attempts"), ==, "2");

      models = test_get (client, "/v1/models", NULL);
      g_assert_cmpuint (models->status, ==, 200);
      status = test_get (client, "/understudy/status", NULL);
      g_assert_cmpuint (status->status, ==, 200);
      /* The primary's cooldown ends before the next round. */
      test_spin_ms (1200);
    }
}

static void
test_memcheck (void)
{
  const char *valgrind = g_getenv ("VALGRIND");
  const char *understudy = g_getenv ("UNDERSTUDY");
  const char *supp = g_getenv ("VALGRIND_SUPP");
  g_autoptr(UsFakeProvider) primary = us_fake_provider_new (US_FAKE_FORMAT_ANTHROPIC);
  g_autoptr(UsFakeProvider) fallback = us_fake_provider_new (US_FAKE_FORMAT_OPENAI_CHAT);
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("understudy-valgrind-XXXXXX", &error);
  g_autofree char *config_path = NULL;
  g_autofree char *log_path = NULL;
  g_autofree char *log = NULL;
  g_autofree char *config = NULL;
  g_autofree char *base = NULL;
  g_autofree char *log_arg = NULL;
  g_autofree char *supp_arg = NULL;
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) proxy = NULL;
  g_autoptr(TestClient) client = NULL;
  const char *lost, *summary;
  guint port;

  if (valgrind == NULL || understudy == NULL || supp == NULL)
    {
      g_test_skip ("VALGRIND, UNDERSTUDY and VALGRIND_SUPP must be set");
      return;
    }
  g_assert_no_error (error);
  config_path = g_build_filename (dir, "config.json", NULL);
  log_path = g_build_filename (dir, "memcheck.log", NULL);
  config = g_strdup_printf (
    "{ \"version\": 1,"
    "  \"listen\": { \"host\": \"127.0.0.1\", \"port\": 0, \"token\": \"" TEST_TOKEN "\" },"
    "  \"providers\": ["
    "    { \"id\": \"anthropic\", \"kind\": \"anthropic\", \"base_url\": \"%s\", \"auth\": \"passthrough\" },"
    "    { \"id\": \"zai\", \"kind\": \"openai-chat\", \"base_url\": \"%s/v1\", \"auth\": \"none\" } ],"
    "  \"chains\": [ { \"id\": \"default\", \"match\": [\"*\"], \"models\": ["
    "    { \"provider\": \"anthropic\", \"model\": \"*\" }, { \"provider\": \"zai\", \"model\": \"glm-4.6\" } ] } ],"
    "  \"failover\": { \"first_byte_timeout_s\": 20, \"idle_timeout_s\": 20, \"cooldown_s\": 1 } }",
    us_fake_provider_get_base_url (primary), us_fake_provider_get_base_url (fallback));
  g_assert_true (g_file_set_contents (config_path, config, -1, &error));

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  /* Slices through malloc, or memcheck cannot see them. */
  g_subprocess_launcher_setenv (launcher, "G_SLICE", "always-malloc", TRUE);
  g_subprocess_launcher_setenv (launcher, "G_DEBUG", "gc-friendly", TRUE);
  g_subprocess_launcher_setenv (launcher, "HOME", dir, TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_CONFIG_HOME", dir, TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_STATE_HOME", dir, TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_DATA_HOME", dir, TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_CACHE_HOME", dir, TRUE);
  /* No session bus: the keyring is not asked (no provider takes a key). */
  g_subprocess_launcher_unsetenv (launcher, "DBUS_SESSION_BUS_ADDRESS");
  log_arg = g_strconcat ("--log-file=", log_path, NULL);
  supp_arg = g_strconcat ("--suppressions=", supp, NULL);
  proxy = g_subprocess_launcher_spawn (launcher, &error, valgrind, "--tool=memcheck", "--leak-check=full",
                                       "--show-leak-kinds=definite", "--errors-for-leak-kinds=definite",
                                       "--num-callers=40", "--error-exitcode=99", supp_arg, log_arg,
                                       understudy, "--headless", "--config", config_path, NULL);
  g_assert_no_error (error);

  port = wait_for_port (g_subprocess_get_stdout_pipe (proxy));
  base = g_strdup_printf ("http://127.0.0.1:%u/t/" TEST_TOKEN, port);
  client = test_client_new_for_url (base);
  mixed_load (client, primary);
  g_clear_pointer (&client, test_client_free);

  g_subprocess_send_signal (proxy, SIGTERM);
  g_subprocess_wait (proxy, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (log_path, &log, NULL, &error));
  lost = strstr (log, "definitely lost:");
  summary = strstr (log, "ERROR SUMMARY:");
  g_test_message ("%.*s", lost ? (int) strcspn (lost, "\n") : 0, lost ? lost : "");
  g_test_message ("%.*s", summary ? (int) strcspn (summary, "\n") : 0, summary ? summary : "");
  if (!g_subprocess_get_if_exited (proxy) || g_subprocess_get_exit_status (proxy) != 0)
    g_printerr ("%s", log);
  g_assert_true (g_subprocess_get_if_exited (proxy));
  g_assert_cmpint (g_subprocess_get_exit_status (proxy), ==, 0);
  g_assert_nonnull (summary);
  g_assert_true (g_str_has_prefix (summary, "ERROR SUMMARY: 0 errors"));
  g_assert_true (lost == NULL || g_str_has_prefix (lost, "definitely lost: 0 bytes"));

  test_remove_tree (dir);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/valgrind/memcheck-mixed-load", test_memcheck);
  return g_test_run ();
}
