/* test-client-watcher.c: "changed" fires when a client's file changes. */
#include <glib/gstdio.h>

#include "connect-fixture.h"
#include "us-client-watcher.h"

typedef struct {
  gboolean seen[US_CLIENT_N_CLIENTS];
  guint    count;
} Changes;

static void
on_changed (UsClientWatcher *watcher, UsClientId id, Changes *changes)
{
  changes->seen[id] = TRUE;
  changes->count++;
}

static gboolean
on_timeout (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Runs the main context until @id has been seen (or 10 s passed). */
static void
wait_for (Changes *changes, UsClientId id)
{
  gboolean timed_out = FALSE;
  guint timeout = g_timeout_add_seconds (10, on_timeout, &timed_out);

  while (!changes->seen[id] && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (!timed_out)
    g_source_remove (timeout);
  g_assert_true (changes->seen[id]);
}

/* Lets events settle, so that the next wait sees only new ones. */
static void
drain (void)
{
  gboolean done = FALSE;

  g_timeout_add (300, on_timeout, &done);
  while (!done)
    g_main_context_iteration (NULL, TRUE);
}

static void
test_user_edit (ConnectFixture *fixture, gconstpointer data)
{
  g_autoptr(UsClientWatcher) watcher = NULL;
  Changes changes = { { FALSE } };

  fixture_write (fixture, ".codex/config.toml", "model = \"gpt-5\"\n");
  watcher = us_client_watcher_new ();
  g_signal_connect (watcher, "changed", G_CALLBACK (on_changed), &changes);
  drain ();

  /* g_file_set_contents() saves the way editors do: temp file, rename. */
  fixture_write (fixture, ".codex/config.toml", "model = \"o3\"\n");
  wait_for (&changes, US_CLIENT_CODEX);
  g_assert_false (changes.seen[US_CLIENT_CLAUDE_CODE]);
  g_assert_false (changes.seen[US_CLIENT_OPENCODE]);
}

/* Files that do not exist yet (no directory either) are watched too. */
static void
test_created (ConnectFixture *fixture, gconstpointer data)
{
  g_autoptr(UsClientWatcher) watcher = us_client_watcher_new ();
  Changes changes = { { FALSE } };

  g_signal_connect (watcher, "changed", G_CALLBACK (on_changed), &changes);
  drain ();
  fixture_write (fixture, ".config/opencode/opencode.jsonc", "{}\n");
  wait_for (&changes, US_CLIENT_OPENCODE);
}

/* The directory made one step at a time, then removed and made again:
 * the watch follows it down and back up. */
static void
test_steps (ConnectFixture *fixture, gconstpointer data)
{
  g_autoptr(UsClientWatcher) watcher = us_client_watcher_new ();
  g_autofree char *dir = fixture_path (fixture, ".codex");
  g_autofree char *file = fixture_path (fixture, ".codex/config.toml");
  Changes changes = { { FALSE } };

  g_signal_connect (watcher, "changed", G_CALLBACK (on_changed), &changes);
  g_assert_cmpint (g_mkdir (dir, 0700), ==, 0);
  drain ();
  g_assert_false (changes.seen[US_CLIENT_CODEX]);
  fixture_write (fixture, ".codex/config.toml", "model = \"o3\"\n");
  wait_for (&changes, US_CLIENT_CODEX);

  g_assert_cmpint (g_unlink (file), ==, 0);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
  drain ();
  changes.seen[US_CLIENT_CODEX] = FALSE;
  fixture_write (fixture, ".codex/config.toml", "model = \"gpt-5\"\n");
  wait_for (&changes, US_CLIENT_CODEX);
}

static void
test_connect_seen (ConnectFixture *fixture, gconstpointer data)
{
  g_autoptr(UsClientWatcher) watcher = NULL;
  g_autoptr(GError) error = NULL;
  Changes changes = { { FALSE } };

  fixture_write (fixture, ".claude/settings.json", "{}\n");
  watcher = us_client_watcher_new ();
  g_signal_connect (watcher, "changed", G_CALLBACK (on_changed), &changes);
  drain ();

  g_assert_true (us_client_connect (US_CLIENT_CLAUDE_CODE, PROXY_URL, &error));
  g_assert_no_error (error);
  wait_for (&changes, US_CLIENT_CLAUDE_CODE);
  drain ();
  /* A burst of events (temp file, rename) makes one signal. */
  g_assert_cmpuint (changes.count, ==, 1);
}

#define ADD(path, func) \
  g_test_add ((path), ConnectFixture, NULL, connect_fixture_setup, (func), connect_fixture_teardown)

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  ADD ("/watcher/user-edit", test_user_edit);
  ADD ("/watcher/created", test_created);
  ADD ("/watcher/steps", test_steps);
  ADD ("/watcher/connect-seen", test_connect_seen);

  return g_test_run ();
}
