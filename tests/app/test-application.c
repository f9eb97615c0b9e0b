/* test-application.c: the whole app in-process, under Xvfb on a private
 * session bus: one routing action shared by the window's switch, the store
 * and the proxy's HTTP API; without a tray host, closing the window quits
 * and the last routing choice is on disk.
 */
#include <glib/gstdio.h>
#include <signal.h>
#include <gtk/gtk.h>

#include "test-util.h"
#include "us-application.h"
#include "us-window.h"

typedef struct {
  UsApplication *app;
  char *path;
  gboolean checked;
  guint n_activations;
  gboolean reopened;
} Test;

static GtkSwitch *
find_switch (GtkWidget *widget)
{
  if (GTK_IS_SWITCH (widget))
    return GTK_SWITCH (widget);
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child; child = gtk_widget_get_next_sibling (child))
    {
      GtkSwitch *found = find_switch (child);

      if (found != NULL)
        return found;
    }
  return NULL;
}

static gboolean
action_state (GActionGroup *group)
{
  g_autoptr(GVariant) state = g_action_group_get_action_state (group, "routing");

  return g_variant_get_boolean (state);
}

static gboolean
run_checks (gpointer data)
{
  Test *t = data;
  GActionGroup *actions = G_ACTION_GROUP (t->app);
  UsConfigStore *store = us_application_get_store (t->app);
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (t->app));
  GtkSwitch *routing_switch;
  TestClient *client;
  g_autoptr(TestReply) reply = NULL;

  g_assert_true (US_IS_WINDOW (window));
  routing_switch = find_switch (GTK_WIDGET (window));
  g_assert_nonnull (routing_switch);
  g_assert_cmpstr (gtk_actionable_get_action_name (GTK_ACTIONABLE (routing_switch)), ==, "app.routing");

  /* The action changes the store... */
  g_assert_true (action_state (actions));
  g_assert_true (gtk_switch_get_active (routing_switch));
  g_action_group_change_action_state (actions, "routing", g_variant_new_boolean (FALSE));
  g_assert_false (us_config_store_get_routing (store));
  g_assert_false (gtk_switch_get_active (routing_switch));

  /* ...and follows it, whoever changes it. */
  us_config_store_set_routing (store, TRUE);
  g_assert_true (action_state (actions));
  g_assert_true (gtk_switch_get_active (routing_switch));

  /* `understudy routing off` goes through the proxy's API. */
  client = test_client_new (us_application_get_proxy (t->app));
  reply = test_post (client, "/understudy/routing", "{\"routing\":false}", NULL);
  g_assert_cmpuint (reply->status, ==, 200);
  g_assert_false (action_state (actions));
  g_assert_false (gtk_switch_get_active (routing_switch));
  test_client_free (client);

  /* A notification's or the tray's "Open" can land on a page. */
  g_action_group_activate_action (actions, "show-page", g_variant_new_string ("requests"));
  g_assert_true (gtk_widget_get_child_visible (us_window_get_page (US_WINDOW (window), "requests")));
  g_assert_false (gtk_widget_get_child_visible (us_window_get_page (US_WINDOW (window), "chains")));

  /* No tray host on this bus: closing the window ends the app. */
  t->checked = TRUE;
  gtk_window_close (window);
  return G_SOURCE_REMOVE;
}

static void
on_activate (GApplication *app,
             Test         *t)
{
  /* Later activations (show-page presents the window) check nothing more. */
  if (t->n_activations++ == 0)
    g_idle_add (run_checks, t);
}

static void
write_config (const char *path)
{
  g_autoptr(GError) error = NULL;

  g_file_set_contents (path,
                       "{ \"version\": 1, \"routing\": true,"
                       "  \"listen\": { \"host\": \"127.0.0.1\", \"port\": 0, \"token\": \"" TEST_TOKEN "\" },"
                       "  \"providers\": [ { \"id\": \"primary\", \"kind\": \"anthropic\","
                       "                     \"base_url\": \"http://127.0.0.1:9\", \"auth\": \"passthrough\" } ],"
                       "  \"chains\": [ { \"id\": \"default\", \"match\": [\"*\"],"
                       "                  \"models\": [ { \"provider\": \"primary\", \"model\": \"*\" } ] } ] }",
                       -1, &error);
  g_assert_no_error (error);
}

static void
test_routing_action (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("us-app-XXXXXX", &error);
  g_autoptr(UsConfig) config = NULL;
  g_autoptr(UsConfig) saved = NULL;
  char *argv[] = { (char *) "understudy", NULL };
  Test t = { 0 };
  int status;

  g_assert_no_error (error);
  t.path = g_build_filename (dir, "config.json", NULL);
  write_config (t.path);
  config = us_config_load (t.path, &error);
  g_assert_no_error (error);

  t.app = us_application_new (config, FALSE);
  g_signal_connect_after (t.app, "activate", G_CALLBACK (on_activate), &t);
  status = g_application_run (G_APPLICATION (t.app), 1, argv);
  g_assert_cmpint (status, ==, 0);
  g_assert_true (t.checked);
  g_clear_object (&t.app);

  /* Quitting waited for the save: the last choice is on disk. */
  saved = us_config_load (t.path, &error);
  g_assert_no_error (error);
  g_assert_false (us_config_get_routing (saved));

  g_unlink (t.path);
  g_rmdir (dir);
  g_free (t.path);
}

/* ---- With a tray host ------------------------------------------------- */

static gboolean
check_reopened (gpointer data)
{
  Test *t = data;

  g_assert_true (t->reopened);
  g_assert_nonnull (gtk_application_get_active_window (GTK_APPLICATION (t->app)));
  g_action_group_activate_action (G_ACTION_GROUP (t->app), "quit", NULL);
  return G_SOURCE_REMOVE;
}

static gboolean
check_still_running (gpointer data)
{
  Test *t = data;

  /* The window is gone, the app (and its proxy) is not: the tray can
   * bring the window back. */
  g_assert_null (gtk_application_get_windows (GTK_APPLICATION (t->app)));
  g_assert_nonnull (us_application_get_proxy (t->app));
  t->checked = TRUE;
  g_action_group_activate_action (G_ACTION_GROUP (t->app), "open", NULL);
  g_timeout_add (100, check_reopened, t);
  return G_SOURCE_REMOVE;
}

static gboolean
close_when_registered (gpointer data)
{
  Test *t = data;
  UsTray *tray = us_application_get_tray (t->app);

  g_assert_nonnull (tray);
  if (!us_tray_get_registered (tray))
    return G_SOURCE_CONTINUE;
  gtk_window_close (gtk_application_get_active_window (GTK_APPLICATION (t->app)));
  g_timeout_add (500, check_still_running, t);
  return G_SOURCE_REMOVE;
}

static void
on_activate_with_tray (GApplication *app,
                       Test         *t)
{
  if (t->n_activations++ == 0)
    g_timeout_add (20, close_when_registered, t);
  else
    t->reopened = TRUE;
}

static void
test_tray_keeps_running (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("us-app-XXXXXX", &error);
  g_autoptr(GSubprocess) watcher = NULL;
  g_autoptr(UsConfig) config = NULL;
  char *argv[] = { (char *) "understudy", NULL };
  Test t = { 0 };
  int status;

  if (!g_file_test ("/usr/bin/status-notifier-watcher", G_FILE_TEST_IS_EXECUTABLE))
    {
      g_test_skip ("status-notifier-watcher is missing: run tools/deps --test");
      return;
    }
  g_assert_no_error (error);
  watcher = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE, &error, "/usr/bin/status-notifier-watcher", NULL);
  g_assert_no_error (error);

  t.path = g_build_filename (dir, "config.json", NULL);
  write_config (t.path);
  config = us_config_load (t.path, &error);
  g_assert_no_error (error);

  t.app = us_application_new (config, FALSE);
  g_signal_connect_after (t.app, "activate", G_CALLBACK (on_activate_with_tray), &t);
  status = g_application_run (G_APPLICATION (t.app), 1, argv);
  g_assert_cmpint (status, ==, 0);
  g_assert_true (t.checked);
  g_assert_true (t.reopened);
  g_clear_object (&t.app);

  g_subprocess_send_signal (watcher, SIGTERM);
  g_subprocess_wait (watcher, NULL, NULL);
  g_unlink (t.path);
  g_rmdir (dir);
  g_free (t.path);
}

int
main (int   argc,
      char *argv[])
{
  gtk_test_init (&argc, &argv, NULL);
  g_test_add_func ("/application/routing-action", test_routing_action);
  g_test_add_func ("/application/tray-keeps-running", test_tray_keeps_running);
  return g_test_run ();
}
