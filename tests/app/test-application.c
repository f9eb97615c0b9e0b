/* test-application.c: the whole app in-process, under Xvfb on a private
 * session bus: one routing action shared by the window's switch, the store
 * and the proxy's HTTP API; without a tray host, closing the window quits
 * and the last routing choice is on disk.
 */
#include <glib/gstdio.h>
#include <gtk/gtk.h>

#include "test-util.h"
#include "us-application.h"
#include "us-window.h"

typedef struct {
  UsApplication *app;
  char *path;
  gboolean checked;
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

  /* No tray host on this bus: closing the window ends the app. */
  t->checked = TRUE;
  gtk_window_close (window);
  return G_SOURCE_REMOVE;
}

static void
on_activate (GApplication *app,
             Test         *t)
{
  if (!t->checked)
    g_idle_add (run_checks, t);
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
  g_file_set_contents (t.path,
                       "{ \"version\": 1, \"routing\": true,"
                       "  \"listen\": { \"host\": \"127.0.0.1\", \"port\": 0, \"token\": \"" TEST_TOKEN "\" },"
                       "  \"providers\": [ { \"id\": \"primary\", \"kind\": \"anthropic\","
                       "                     \"base_url\": \"http://127.0.0.1:9\", \"auth\": \"passthrough\" } ],"
                       "  \"chains\": [ { \"id\": \"default\", \"match\": [\"*\"],"
                       "                  \"models\": [ { \"provider\": \"primary\", \"model\": \"*\" } ] } ] }",
                       -1, &error);
  g_assert_no_error (error);
  config = us_config_load (t.path, &error);
  g_assert_no_error (error);

  t.app = us_application_new (config);
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

int
main (int   argc,
      char *argv[])
{
  gtk_test_init (&argc, &argv, NULL);
  g_test_add_func ("/application/routing-action", test_routing_action);
  return g_test_run ();
}
