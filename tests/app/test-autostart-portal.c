/* test-autostart-portal.c: "Start at login" through the Background portal,
 * as inside Flatpak: python3-dbusmock plays xdg-desktop-portal on a private
 * session bus (tests/app/background-portal.py), answering with a Response
 * signal that grants what was asked only when the call carried a reason
 * and the command line `understudy --background`. No file is written.
 */
#include <glib/gstdio.h>

#include "us-autostart.h"

#define PORTAL_NAME "org.freedesktop.portal.Desktop"

static void
on_name_appeared (GDBusConnection *bus,
                  const char      *name,
                  const char      *owner,
                  gpointer         data)
{
  *(gboolean *) data = TRUE;
}

static void
wait_enabled (UsAutostart *autostart,
              gboolean     enabled)
{
  gint64 deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;

  while (us_autostart_get_enabled (autostart) != enabled)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, TRUE);
    }
}

/* The "autostart" option of the mock portal's last RequestBackground call. */
static gboolean
last_autostart_asked (GDBusConnection *bus,
                      guint           *n_calls)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) calls = NULL;
  g_autoptr(GVariant) call = NULL;
  g_autoptr(GVariant) args = NULL;
  g_autoptr(GVariant) boxed = NULL;
  g_autoptr(GVariant) options = NULL;
  gboolean autostart = FALSE;
  guint64 timestamp;

  reply = g_dbus_connection_call_sync (bus, PORTAL_NAME, "/org/freedesktop/portal/desktop",
                                       "org.freedesktop.DBus.Mock", "GetMethodCalls",
                                       g_variant_new ("(s)", "RequestBackground"), G_VARIANT_TYPE ("(a(tav))"),
                                       G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
  g_assert_no_error (error);
  calls = g_variant_get_child_value (reply, 0);
  *n_calls = g_variant_n_children (calls);
  g_assert_cmpuint (*n_calls, >, 0);
  call = g_variant_get_child_value (calls, *n_calls - 1);
  g_variant_get (call, "(t@av)", &timestamp, &args);
  boxed = g_variant_get_child_value (args, 1);
  options = g_variant_get_variant (boxed);
  g_assert_true (g_variant_lookup (options, "autostart", "b", &autostart));
  return autostart;
}

static void
test_portal (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GDBusConnection) bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, &error);
  g_autofree char *sender = NULL;
  g_autofree char *params = NULL;
  g_autofree char *template = g_test_build_filename (G_TEST_DIST, "background-portal.py", NULL);
  g_autoptr(GSubprocess) mock = NULL;
  g_autoptr(UsAutostart) autostart = NULL;
  gboolean appeared = FALSE;
  guint watch_id, n_calls = 0;

  g_assert_no_error (error);
  if (!g_file_test ("/usr/bin/python3", G_FILE_TEST_IS_EXECUTABLE))
    {
      g_test_skip ("Debian's /usr/bin/python3 with python3-dbusmock is missing");
      return;
    }
  sender = g_strdup (g_dbus_connection_get_unique_name (bus) + 1);
  g_strdelimit (sender, ".", '_');
  params = g_strdup_printf ("{\"sender\": \"%s\"}", sender);
  mock = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE, &error,
                           "/usr/bin/python3", "-m", "dbusmock", "--template", template, "-p", params, NULL);
  g_assert_no_error (error);
  watch_id = g_bus_watch_name_on_connection (bus, PORTAL_NAME, G_BUS_NAME_WATCHER_FLAGS_NONE,
                                             on_name_appeared, NULL, &appeared, NULL);
  while (!appeared)
    g_main_context_iteration (NULL, TRUE);
  g_bus_unwatch_name (watch_id);

  autostart = us_autostart_new_full (bus, TRUE);
  /* Never granted before: off. */
  g_assert_false (us_autostart_get_enabled (autostart));

  us_autostart_request_enabled (autostart, TRUE);
  wait_enabled (autostart, TRUE);
  /* The portal writes the host's entry; the app keeps its record of the
   * grant in its own config directory. */
  g_assert_true (g_file_query_exists (us_autostart_get_file (autostart), NULL));
  g_clear_object (&autostart);

  /* The next run starts from the record, and asking to run in the
   * background keeps "Start at login" as the user left it. */
  autostart = us_autostart_new_full (bus, TRUE);
  g_assert_true (us_autostart_get_enabled (autostart));
  us_autostart_request_background (autostart);
  while (last_autostart_asked (bus, &n_calls), n_calls < 2)
    g_main_context_iteration (NULL, FALSE);
  g_assert_true (last_autostart_asked (bus, &n_calls));
  /* Asked once per run. */
  us_autostart_request_background (autostart);
  g_assert_true (us_autostart_get_enabled (autostart));

  us_autostart_request_enabled (autostart, FALSE);
  wait_enabled (autostart, FALSE);
  g_assert_false (last_autostart_asked (bus, &n_calls));
  g_assert_cmpuint (n_calls, ==, 3);
  g_assert_false (g_file_query_exists (us_autostart_get_file (autostart), NULL));

  g_subprocess_send_signal (mock, SIGTERM);
  g_subprocess_wait (mock, NULL, NULL);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  g_autofree char *config_home = g_dir_make_tmp ("us-config-home-XXXXXX", &error);
  g_autofree char *autostart_dir = NULL;
  int status;

  g_assert_no_error (error);
  g_setenv ("XDG_CONFIG_HOME", config_home, TRUE);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/autostart/portal", test_portal);
  status = g_test_run ();
  autostart_dir = g_build_filename (config_home, "autostart", NULL);
  g_rmdir (autostart_dir);
  g_rmdir (config_home);
  return status;
}
