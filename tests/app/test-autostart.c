/* test-autostart.c: "Start at login" outside Flatpak, the whole app under
 * Xvfb on a private session bus: the app.autostart action writes and
 * removes $XDG_CONFIG_HOME/autostart/APP_ID.desktop, its state follows the
 * file, and a file already there means the switch starts on.
 */
#include <glib/gstdio.h>
#include <gtk/gtk.h>

#include "test-util.h"
#include "us-application.h"

#define ENTRY_NAME "io.github.understudy.Understudy.desktop"

static char *config_home;

typedef struct {
  UsApplication *app;
  gboolean expect_on;      /* the file existed before the app started */
  gboolean checked;
} Test;

static gboolean
action_state (GActionGroup *group)
{
  g_autoptr(GVariant) state = g_action_group_get_action_state (group, "autostart");

  return g_variant_get_boolean (state);
}

static char *
entry_path (void)
{
  return g_build_filename (config_home, "autostart", ENTRY_NAME, NULL);
}

/* The write is asynchronous: the state changes once it is done. */
static void
change_and_wait (GActionGroup *group,
                 gboolean      enabled)
{
  g_action_group_change_action_state (group, "autostart", g_variant_new_boolean (enabled));
  while (action_state (group) != enabled)
    g_main_context_iteration (NULL, TRUE);
}

static void
assert_entry_runs_in_background (const char *path)
{
  g_autoptr(GKeyFile) entry = g_key_file_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *exec = NULL;
  g_autofree char *start_group = NULL;

  g_key_file_load_from_file (entry, path, G_KEY_FILE_NONE, &error);
  g_assert_no_error (error);
  exec = g_key_file_get_string (entry, G_KEY_FILE_DESKTOP_GROUP, G_KEY_FILE_DESKTOP_KEY_EXEC, &error);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (exec, "--background"));
  start_group = g_key_file_get_start_group (entry);
  g_assert_cmpstr (start_group, ==, G_KEY_FILE_DESKTOP_GROUP);
}

static gboolean
run_checks (gpointer data)
{
  Test *t = data;
  GActionGroup *actions = G_ACTION_GROUP (t->app);
  g_autofree char *path = entry_path ();

  g_assert_cmpint (action_state (actions), ==, t->expect_on);

  change_and_wait (actions, TRUE);
  g_assert_true (g_file_test (path, G_FILE_TEST_IS_REGULAR));
  assert_entry_runs_in_background (path);

  change_and_wait (actions, FALSE);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));

  /* On, off, on without waiting: the last one wins. */
  g_action_group_change_action_state (actions, "autostart", g_variant_new_boolean (TRUE));
  g_action_group_change_action_state (actions, "autostart", g_variant_new_boolean (FALSE));
  change_and_wait (actions, TRUE);
  g_assert_true (us_autostart_get_enabled (us_application_get_autostart (t->app)));
  g_assert_true (g_file_test (path, G_FILE_TEST_IS_REGULAR));

  t->checked = TRUE;
  g_application_quit (G_APPLICATION (t->app));
  return G_SOURCE_REMOVE;
}

static void
on_activate (GApplication *app,
             Test         *t)
{
  g_idle_add (run_checks, t);
}

static void
run_app (Test *t)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("us-autostart-XXXXXX", &error);
  g_autofree char *path = NULL;
  g_autoptr(UsConfig) config = NULL;
  char *argv[] = { (char *) "understudy", NULL };

  g_assert_no_error (error);
  path = g_build_filename (dir, "config.json", NULL);
  g_file_set_contents (path,
                       "{ \"version\": 1, \"routing\": true,"
                       "  \"listen\": { \"host\": \"127.0.0.1\", \"port\": 0, \"token\": \"" TEST_TOKEN "\" },"
                       "  \"providers\": [ { \"id\": \"primary\", \"kind\": \"anthropic\","
                       "                     \"base_url\": \"http://127.0.0.1:9\", \"auth\": \"passthrough\" } ],"
                       "  \"chains\": [ { \"id\": \"default\", \"match\": [\"*\"],"
                       "                  \"models\": [ { \"provider\": \"primary\", \"model\": \"*\" } ] } ] }",
                       -1, &error);
  g_assert_no_error (error);
  config = us_config_load (path, &error);
  g_assert_no_error (error);

  t->app = us_application_new (config, FALSE);
  g_signal_connect_after (t->app, "activate", G_CALLBACK (on_activate), t);
  g_assert_cmpint (g_application_run (G_APPLICATION (t->app), 1, argv), ==, 0);
  g_assert_true (t->checked);
  g_clear_object (&t->app);

  g_unlink (path);
  g_rmdir (dir);
}

static void
test_toggle (void)
{
  g_autofree char *path = entry_path ();
  Test t = { .expect_on = FALSE };

  g_unlink (path);
  run_app (&t);
  g_unlink (path);
}

static void
test_existing_entry (void)
{
  g_autofree char *path = entry_path ();
  g_autofree char *dir = g_path_get_dirname (path);
  g_autoptr(GError) error = NULL;
  Test t = { .expect_on = TRUE };

  g_mkdir_with_parents (dir, 0700);
  g_file_set_contents (path, "[Desktop Entry]\nType=Application\nName=Understudy\nExec=understudy --background\n",
                       -1, &error);
  g_assert_no_error (error);
  run_app (&t);
  g_unlink (path);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  g_autofree char *autostart_dir = NULL;
  int status;

  /* Before anything reads it: GLib caches the user's config dir. */
  config_home = g_dir_make_tmp ("us-config-home-XXXXXX", &error);
  g_assert_no_error (error);
  g_setenv ("XDG_CONFIG_HOME", config_home, TRUE);

  gtk_test_init (&argc, &argv, NULL);
  g_test_add_func ("/autostart/toggle", test_toggle);
  g_test_add_func ("/autostart/existing-entry", test_existing_entry);
  status = g_test_run ();

  autostart_dir = g_build_filename (config_home, "autostart", NULL);
  g_rmdir (autostart_dir);
  g_rmdir (config_home);
  g_free (config_home);
  return status;
}
