/* test-notifier.c: failover notifications as a real notification server
 * sees them. Runs inside dbus-run-session with python3-dbusmock's
 * notification_daemon template as the server, real requests through the
 * proxy to fake providers, and reads the Notify calls the mock recorded.
 *
 * Decision asserted here: one notification per episode. The failover
 * notification is a Notify with replaces_id 0; the "serving again" one
 * replaces it (same id) while it is still open, and is a new notification
 * when the user closed it. */
#include <signal.h>

#include "us-notifier.h"
#include "test-pair.h"

#define APP_ID "io.github.understudy.NotifierTest"
#define MOCK_NAME "org.freedesktop.Notifications"
#define MOCK_PATH "/org/freedesktop/Notifications"

static GDBusConnection *bus;
static GApplication *app;
static guint n_opened;
static guint n_ids;      /* ids the mock has handed out: it counts from 1 */

typedef struct {
  guint id;
  guint replaces;
  char *app_name;
  char *summary;
  char *body;
  char **actions;
  char *desktop_entry;
} Notify;

static void
notify_free (gpointer data)
{
  Notify *n = data;

  g_free (n->app_name);
  g_free (n->summary);
  g_free (n->body);
  g_strfreev (n->actions);
  g_free (n->desktop_entry);
  g_free (n);
}

static GVariant *
mock_call (const char *method,
           GVariant   *args)
{
  g_autoptr(GError) error = NULL;
  GVariant *reply = g_dbus_connection_call_sync (bus, MOCK_NAME, MOCK_PATH, "org.freedesktop.DBus.Mock", method,
                                                 args, NULL, G_DBUS_CALL_FLAGS_NONE, 5000, NULL, &error);

  g_assert_no_error (error);
  return reply;
}

/* Notify's argument @i, out of the mock's "av". */
static GVariant *
notify_arg (GVariant *args,
            guint     i)
{
  g_autoptr(GVariant) boxed = g_variant_get_child_value (args, i);

  return g_variant_get_variant (boxed);
}

/* The Notify calls recorded so far; with @take, forgets them. */
static GPtrArray *
read_notifies (gboolean take)
{
  g_autoptr(GVariant) reply = mock_call ("GetCalls", NULL);
  g_autoptr(GVariantIter) calls = NULL;
  GPtrArray *notifies = g_ptr_array_new_with_free_func (notify_free);
  const char *method;
  GVariant *args;

  g_variant_get (reply, "(a(tsav))", &calls);
  while (g_variant_iter_loop (calls, "(t&s@av)", NULL, &method, &args))
    {
      g_autoptr(GVariant) app_name = NULL, replaces = NULL, summary = NULL, body = NULL;
      g_autoptr(GVariant) actions = NULL, hints = NULL;
      Notify *n;

      if (!g_str_equal (method, "Notify"))
        continue;
      app_name = notify_arg (args, 0);
      replaces = notify_arg (args, 1);
      summary = notify_arg (args, 3);
      body = notify_arg (args, 4);
      actions = notify_arg (args, 5);
      hints = notify_arg (args, 6);
      n = g_new0 (Notify, 1);
      n->app_name = g_variant_dup_string (app_name, NULL);
      n->replaces = g_variant_get_uint32 (replaces);
      n->summary = g_variant_dup_string (summary, NULL);
      n->body = g_variant_dup_string (body, NULL);
      n->actions = g_variant_dup_strv (actions, NULL);
      g_variant_lookup (hints, "desktop-entry", "s", &n->desktop_entry);
      g_ptr_array_add (notifies, n);
    }
  if (take)
    {
      g_variant_unref (mock_call ("ClearCalls", NULL));

      /* The mock's own rule: a new id unless it replaces one. */
      for (guint i = 0; i < notifies->len; i++)
        {
          Notify *n = g_ptr_array_index (notifies, i);
          n->id = n->replaces ? n->replaces : ++n_ids;
        }
    }
  return notifies;
}

/* Waits for @n Notify calls, lets any extra arrive, and takes them all. */
static GPtrArray *
take_notifies (guint n)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  for (;;)
    {
      g_autoptr(GPtrArray) seen = read_notifies (FALSE);

      if (seen->len >= n)
        break;
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      test_spin_ms (50);
    }
  test_spin_ms (300);
  return read_notifies (TRUE);
}

static void
emit_signal (const char *name,
             GVariant   *id,
             GVariant   *second)
{
  g_autoptr(GVariantBuilder) args = g_variant_builder_new (G_VARIANT_TYPE ("av"));
  g_autoptr(GVariant) reply = NULL;

  g_variant_builder_add (args, "v", id);
  g_variant_builder_add (args, "v", second);
  reply = mock_call ("EmitSignal", g_variant_new ("(sssav)", MOCK_NAME, name,
                                                  g_variant_is_of_type (second, G_VARIANT_TYPE_STRING) ? "us" : "uu",
                                                  args));
}

static void
invoke_action (guint       id,
               const char *key)
{
  emit_signal ("ActionInvoked", g_variant_new_uint32 (id), g_variant_new_string (key));
}

static gboolean
routing (void)
{
  g_autoptr(GVariant) state = g_action_group_get_action_state (G_ACTION_GROUP (app), "routing");

  return g_variant_get_boolean (state);
}

static void
wait_for_routing (gboolean expected)
{
  gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

  while (routing () != expected)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      test_spin_ms (20);
    }
}

static void
wait_for_opened (guint expected)
{
  gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

  while (n_opened != expected)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      test_spin_ms (20);
    }
}

static void
on_started (UsEpisodes *episodes,
            const char *failed,
            const char *reason,
            gint64      until,
            const char *serving,
            gint64     *out_until)
{
  *out_until = until;
}

static char *
local_clock (gint64 unix_seconds)
{
  g_autoptr(GDateTime) when = g_date_time_new_from_unix_local (unix_seconds);

  return g_date_time_format (when, "%H:%M");
}

static void
assert_actions (Notify             *n,
                const char * const *expected)
{
  g_assert_true (g_strv_equal ((const char * const *) n->actions, expected));
}

static const char * const open_actions[] = { "default", "Open", "open", "Open", NULL };
static const char * const episode_actions[] = { "default", "Open", "open", "Open", "pause", "Pause routing", NULL };

static void
storm (TestPair *pair)
{
  test_pair_request_batch (pair, 5);
  for (guint i = 0; i < 10; i++)
    test_pair_request (pair, "zai/glm-4.6");
  test_pair_request_batch (pair, 5);
}

static void
test_episode (void)
{
  TestPair *pair = test_pair_new (NULL, NULL);
  g_autoptr(UsNotifier) notifier = us_notifier_new (pair->episodes, app);
  g_autoptr(GPtrArray) notes = NULL;
  g_autofree char *clock = NULL;
  g_autofree char *expected = NULL;
  gint64 until = 0;
  Notify *n;
  guint id;

  g_signal_connect (pair->episodes, "started", G_CALLBACK (on_started), &until);
  g_action_group_change_action_state (G_ACTION_GROUP (app), "routing", g_variant_new_boolean (TRUE));
  n_opened = 0;

  /* 20 requests while the primary is rate limited: one notification. */
  us_fake_provider_set_default (pair->primary, &(UsFakeStep) { .behavior = US_FAKE_STATUS, .status = 429,
                                                               .retry_after = "2" });
  storm (pair);
  notes = take_notifies (1);
  g_assert_cmpuint (notes->len, ==, 1);
  n = g_ptr_array_index (notes, 0);
  g_assert_cmpuint (n->replaces, ==, 0);
  id = n->id;
  g_assert_cmpint (until, >, 0);
  clock = local_clock (until);
  expected = g_strdup_printf ("claude-opus-4-5 is rate limited until %s — now serving glm-4.6", clock);
  g_assert_cmpstr (n->summary, ==, expected);
  g_assert_cmpstr (n->body, ==, "Requests go to zai/glm-4.6 until anthropic/claude-opus-4-5 answers again.");
  g_assert_cmpstr (n->app_name, ==, "Understudy");
  g_assert_cmpstr (n->desktop_entry, ==, APP_ID);
  assert_actions (n, episode_actions);
  g_clear_pointer (&notes, g_ptr_array_unref);

  /* The buttons: "Pause routing" turns the app's routing action off. */
  invoke_action (id, "pause");
  wait_for_routing (FALSE);
  g_assert_cmpuint (n_opened, ==, 0);
  invoke_action (id, "default");
  wait_for_opened (1);
  invoke_action (id, "open");
  wait_for_opened (2);
  g_assert_false (routing ());

  /* The primary serves again: the same notification says so. */
  us_fake_provider_set_default (pair->primary, &(UsFakeStep) { .behavior = US_FAKE_OK });
  test_pair_wait_until_cooled (pair);
  test_pair_request (pair, "anthropic/claude-opus-4-5");
  test_pair_request_batch (pair, 4);
  notes = take_notifies (1);
  g_assert_cmpuint (notes->len, ==, 1);
  n = g_ptr_array_index (notes, 0);
  g_assert_cmpuint (n->replaces, ==, id);
  g_assert_cmpstr (n->summary, ==, "claude-opus-4-5 is serving again");
  g_assert_cmpstr (n->body, ==, "Requests go to anthropic/claude-opus-4-5 again.");
  assert_actions (n, open_actions);
  g_clear_pointer (&notes, g_ptr_array_unref);

  /* A new episode is a new notification; closed by the user, the end of
   * the episode comes as a new one too. */
  us_fake_provider_push_status (pair->primary, 529, "1");
  test_pair_request (pair, "zai/glm-4.6");
  notes = take_notifies (1);
  g_assert_cmpuint (notes->len, ==, 1);
  n = g_ptr_array_index (notes, 0);
  g_assert_cmpuint (n->replaces, ==, 0);
  id = n->id;
  g_assert_true (g_str_has_prefix (n->summary, "claude-opus-4-5 is overloaded until "));
  g_clear_pointer (&notes, g_ptr_array_unref);

  emit_signal ("NotificationClosed", g_variant_new_uint32 (id), g_variant_new_uint32 (2));
  test_spin_ms (200);
  test_pair_wait_until_cooled (pair);
  test_pair_request (pair, "anthropic/claude-opus-4-5");
  notes = take_notifies (1);
  g_assert_cmpuint (notes->len, ==, 1);
  n = g_ptr_array_index (notes, 0);
  g_assert_cmpuint (n->replaces, ==, 0);
  g_assert_cmpstr (n->summary, ==, "claude-opus-4-5 is serving again");

  g_clear_object (&notifier);
  test_pair_free (pair);
}

static void
test_key_rejected (void)
{
  TestPair *pair = test_pair_new (NULL, "\"auth\": \"key\", \"key_env\": \"US_TEST_NOTIFIER_KEY\"");
  g_autoptr(UsNotifier) notifier = us_notifier_new (pair->episodes, app);
  g_autoptr(GPtrArray) notes = NULL;
  Notify *key, *episode;

  us_fake_provider_set_required_key (pair->primary, "sk-the-right-one");
  for (guint i = 0; i < 4; i++)
    test_pair_request (pair, "zai/glm-4.6");
  test_pair_request_batch (pair, 4);

  /* One for the key, one for the episode it started; none per request. */
  notes = take_notifies (2);
  g_assert_cmpuint (notes->len, ==, 2);
  key = g_ptr_array_index (notes, 0);
  episode = g_ptr_array_index (notes, 1);
  g_assert_cmpstr (key->summary, ==, "Anthropic rejected its key");
  g_assert_nonnull (strstr (key->body, "understudy keys set anthropic"));
  assert_actions (key, open_actions);
  g_assert_cmpstr (episode->summary, ==, "claude-opus-4-5 failed (key rejected) — now serving glm-4.6");
  assert_actions (episode, episode_actions);

  g_clear_object (&notifier);
  test_pair_free (pair);
}

static void
count_started (UsEpisodes *episodes,
               const char *failed,
               const char *reason,
               gint64      until,
               const char *serving,
               guint      *n_started)
{
  (*n_started)++;
}

static void
test_disabled (void)
{
  TestPair *pair = test_pair_new (NULL, NULL);
  g_autoptr(UsNotifier) notifier = us_notifier_new (pair->episodes, app);
  g_autoptr(GPtrArray) notes = NULL;
  guint n_started = 0;

  g_signal_connect (pair->episodes, "started", G_CALLBACK (count_started), &n_started);
  g_assert_true (us_notifier_get_enabled (notifier));
  g_object_set (notifier, "enabled", FALSE, NULL);
  g_assert_false (us_notifier_get_enabled (notifier));

  us_fake_provider_set_default (pair->primary, &(UsFakeStep) { .behavior = US_FAKE_STATUS, .status = 429,
                                                               .retry_after = "1" });
  storm (pair);
  us_fake_provider_set_default (pair->primary, &(UsFakeStep) { .behavior = US_FAKE_OK });
  test_pair_wait_until_cooled (pair);
  test_pair_request (pair, "anthropic/claude-opus-4-5");

  /* The episode happened, and nothing was shown. */
  g_assert_cmpuint (n_started, ==, 1);
  test_spin_ms (500);
  notes = read_notifies (TRUE);
  g_assert_cmpuint (notes->len, ==, 0);

  g_clear_object (&notifier);
  test_pair_free (pair);
}

static void
on_open (GSimpleAction *action,
         GVariant      *parameter,
         gpointer       data)
{
  n_opened++;
}

static GSubprocess *
start_mock (void)
{
  g_autoptr(GError) error = NULL;
  gint64 deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
  GSubprocess *mock = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE, &error,
                                        "/usr/bin/python3", "-m", "dbusmock", "--template", "notification_daemon",
                                        "-p", "{\"capabilities\": \"body actions\"}", NULL);

  g_assert_no_error (error);
  for (;;)
    {
      g_autoptr(GVariant) owned = g_dbus_connection_call_sync (bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                                               "org.freedesktop.DBus", "NameHasOwner",
                                                               g_variant_new ("(s)", MOCK_NAME), G_VARIANT_TYPE ("(b)"),
                                                               G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
      gboolean has_owner;

      g_assert_no_error (error);
      g_variant_get (owned, "(b)", &has_owner);
      if (has_owner)
        return mock;
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (50 * 1000);
    }
}

int
main (int   argc,
      char *argv[])
{
  static const GActionEntry actions[] = {
    { .name = "open", .activate = on_open },
    { .name = "routing", .state = "true" },
  };
  g_autoptr(GSubprocess) mock = NULL;
  g_autoptr(GError) error = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);
  g_setenv ("US_TEST_NOTIFIER_KEY", "sk-not-the-right-one", TRUE);

  bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, &error);
  g_assert_no_error (error);
  mock = start_mock ();

  /* The app's actions as the notifier reaches them: through the
   * GApplication's action group. */
  app = g_application_new (APP_ID, G_APPLICATION_NON_UNIQUE);
  g_action_map_add_action_entries (G_ACTION_MAP (app), actions, G_N_ELEMENTS (actions), NULL);
  g_application_register (app, NULL, &error);
  g_assert_no_error (error);

  g_test_add_func ("/notifier/episode", test_episode);
  g_test_add_func ("/notifier/key-rejected", test_key_rejected);
  g_test_add_func ("/notifier/disabled", test_disabled);
  status = g_test_run ();

  g_clear_object (&app);
  g_subprocess_send_signal (mock, SIGTERM);
  g_subprocess_wait (mock, NULL, NULL);
  g_clear_object (&bus);
  return status;
}
