/* test-connect-statusline.c: `understudy connect claude-code --statusline`
 * (issue 12 item 6): statusLine set field by field, a user's own status
 * line never replaced without force, and disconnecting (or routing off)
 * giving back exactly the bytes that were there. */
#include <json-glib/json-glib.h>

#include "connect-fixture.h"
#include "us-connect.h"

#define SETTINGS ".claude/settings.json"
#define COMMAND "understudy statusline"

/* Odd spacing and key order on purpose: only whole bytes compare. */
#define PLAIN "{\n  \"model\": \"opus\",\n  \"theme\":   \"dark\"\n}\n"
#define THEIRS "{\n  \"model\": \"opus\",\n  \"statusLine\": {\"type\": \"command\", \"command\": \"~/bin/line.sh\", \"padding\": 2}\n}\n"

static JsonObject *
statusline_of (const char *text,
               JsonParser *parser)
{
  JsonObject *root;

  g_assert_true (json_parser_load_from_data (parser, text, -1, NULL));
  root = json_node_get_object (json_parser_get_root (parser));
  g_assert_true (json_object_has_member (root, "statusLine"));
  return json_object_get_object_member (root, "statusLine");
}

static void
connect_statusline_ok (gboolean force)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (us_client_connect_statusline (US_CLIENT_CLAUDE_CODE, PROXY_URL, COMMAND, force, &error));
  g_assert_no_error (error);
}

static void
disconnect_ok (void)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (us_client_disconnect (US_CLIENT_CLAUDE_CODE, &error));
  g_assert_no_error (error);
}

static void
test_install_and_restore (ConnectFixture *fixture, gconstpointer data)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autofree char *connected = NULL;
  JsonObject *line;

  fixture_write (fixture, SETTINGS, PLAIN);
  connect_statusline_ok (FALSE);
  connected = fixture_read (fixture, SETTINGS);
  line = statusline_of (connected, parser);
  g_assert_cmpstr (json_object_get_string_member (line, "type"), ==, "command");
  g_assert_cmpstr (json_object_get_string_member (line, "command"), ==, COMMAND);
  g_assert_cmpuint (json_object_get_size (line), ==, 2);
  /* The user's members are where they were. */
  g_assert_true (g_str_has_prefix (connected, "{\n  \"model\": \"opus\",\n  \"theme\":   \"dark\""));
  g_assert_cmpint (us_client_get_state (US_CLIENT_CLAUDE_CODE), ==, US_CLIENT_STATE_CONNECTED);

  /* Connecting again, without asking for the status line, keeps it. */
  g_assert_true (us_client_connect (US_CLIENT_CLAUDE_CODE, PROXY_URL, NULL));
  assert_file (fixture, SETTINGS, connected);

  disconnect_ok ();
  assert_file (fixture, SETTINGS, PLAIN);
}

/* No settings.json at all: disconnecting leaves none. */
static void
test_no_file (ConnectFixture *fixture, gconstpointer data)
{
  g_autofree char *path = fixture_path (fixture, SETTINGS);

  connect_statusline_ok (FALSE);
  g_assert_true (g_file_test (path, G_FILE_TEST_EXISTS));
  disconnect_ok ();
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
}

static void
test_theirs_refused (ConnectFixture *fixture, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  fixture_write (fixture, SETTINGS, THEIRS);
  g_assert_false (us_client_connect_statusline (US_CLIENT_CLAUDE_CODE, PROXY_URL, COMMAND, FALSE, &error));
  g_assert_error (error, US_CONNECT_ERROR, US_CONNECT_ERROR_EXISTS);
  g_assert_nonnull (strstr (error->message, "--force"));
  /* Not a byte changed, and nothing is recorded as connected. */
  assert_file (fixture, SETTINGS, THEIRS);
  g_assert_cmpuint (fixture_count_backups (fixture, SETTINGS), ==, 0);
  g_assert_cmpint (us_client_get_state (US_CLIENT_CLAUDE_CODE), ==, US_CLIENT_STATE_INSTALLED);
  g_assert_false (us_client_is_wanted (US_CLIENT_CLAUDE_CODE));
}

static void
test_theirs_forced (ConnectFixture *fixture, gconstpointer data)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autofree char *connected = NULL;
  JsonObject *line;

  fixture_write (fixture, SETTINGS, THEIRS);
  connect_statusline_ok (TRUE);
  connected = fixture_read (fixture, SETTINGS);
  line = statusline_of (connected, parser);
  g_assert_cmpstr (json_object_get_string_member (line, "command"), ==, COMMAND);
  /* Field by field: their padding stays. */
  g_assert_cmpint (json_object_get_int_member (line, "padding"), ==, 2);

  disconnect_ok ();
  assert_file (fixture, SETTINGS, THEIRS);
}

/* The user edits the file while connected: disconnecting cannot use the
 * backup, so it takes our members out one by one and puts theirs back. */
static void
test_theirs_forced_then_edited (ConnectFixture *fixture, gconstpointer data)
{
  g_autofree char *connected = NULL;
  g_autofree char *edited = NULL;
  g_autofree char *expected = NULL;

  fixture_write (fixture, SETTINGS, THEIRS);
  connect_statusline_ok (TRUE);
  connected = fixture_read (fixture, SETTINGS);
  edited = replace_once (connected, "\"opus\"", "\"sonnet\"");
  fixture_write (fixture, SETTINGS, edited);

  disconnect_ok ();
  expected = replace_once (THEIRS, "\"opus\"", "\"sonnet\"");
  assert_file (fixture, SETTINGS, expected);
}

/* Routing off restores the file byte for byte; on again, the status line
 * comes back with the base URL, their own one still replaced as asked. */
static void
test_routing_off_and_on (ConnectFixture *fixture, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *connected = NULL;

  fixture_write (fixture, SETTINGS, THEIRS);
  connect_statusline_ok (TRUE);
  connected = fixture_read (fixture, SETTINGS);

  g_assert_true (us_clients_apply_routing (FALSE, NULL, &error));
  g_assert_no_error (error);
  assert_file (fixture, SETTINGS, THEIRS);

  g_assert_true (us_clients_apply_routing (TRUE, PROXY_URL, &error));
  g_assert_no_error (error);
  assert_file (fixture, SETTINGS, connected);

  disconnect_ok ();
  assert_file (fixture, SETTINGS, THEIRS);
}

/* Ours already (an earlier install the record has lost): no --force needed. */
static void
test_ours_already (ConnectFixture *fixture, gconstpointer data)
{
  static const char ours[] = "{\"statusLine\": {\"type\": \"command\", \"command\": \"/opt/understudy --config /x.json statusline\"}}\n";

  fixture_write (fixture, SETTINGS, ours);
  connect_statusline_ok (FALSE);
  disconnect_ok ();
  assert_file (fixture, SETTINGS, ours);
}

static void
test_other_clients (ConnectFixture *fixture, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  g_assert_false (us_client_connect_statusline (US_CLIENT_CODEX, PROXY_URL, COMMAND, FALSE, &error));
  g_assert_error (error, US_CONNECT_ERROR, US_CONNECT_ERROR_UNSUPPORTED);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add ((path), ConnectFixture, NULL, connect_fixture_setup, (func), connect_fixture_teardown)
  ADD ("/connect-statusline/install-and-restore", test_install_and_restore);
  ADD ("/connect-statusline/no-file", test_no_file);
  ADD ("/connect-statusline/theirs-refused", test_theirs_refused);
  ADD ("/connect-statusline/theirs-forced", test_theirs_forced);
  ADD ("/connect-statusline/theirs-forced-then-edited", test_theirs_forced_then_edited);
  ADD ("/connect-statusline/routing-off-and-on", test_routing_off_and_on);
  ADD ("/connect-statusline/ours-already", test_ours_already);
  ADD ("/connect-statusline/other-clients", test_other_clients);
#undef ADD
  return g_test_run ();
}
