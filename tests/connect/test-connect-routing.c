/* test-connect-routing.c: routing off restores every connected client and
 * remembers it; routing on connects them again. Also installed detection. */
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "connect-fixture.h"
#include "us-connect.h"

static const struct {
  UsClientId  id;
  const char *file;
  const char *original;
} clients[] = {
  { US_CLIENT_CLAUDE_CODE, ".claude/settings.json",
    "{\n  \"env\": {\n    \"DISABLE_TELEMETRY\": \"1\"\n  },\n  \"model\": \"opus\"\n}\n" },
  { US_CLIENT_CODEX, ".codex/config.toml",
    "model = \"gpt-5-codex\"  # mine\n\n[mcp_servers.docs]\ncommand = \"docs\"\n" },
  { US_CLIENT_OPENCODE, ".config/opencode/opencode.jsonc",
    "{\n  // mine\n  \"model\": \"openai/gpt-5\",\n}\n" },
};

static void
write_all_originals (ConnectFixture *fixture)
{
  for (guint i = 0; i < G_N_ELEMENTS (clients); i++)
    fixture_write (fixture, clients[i].file, clients[i].original);
}

static void
routing_ok (gboolean routing, const char *url)
{
  g_autoptr(GError) error = NULL;
  gboolean ok = us_clients_apply_routing (routing, url, &error);

  g_assert_no_error (error);
  g_assert_true (ok);
}

static void
connect_all (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (clients); i++)
    {
      g_autoptr(GError) error = NULL;
      gboolean ok = us_client_connect (clients[i].id, PROXY_URL, &error);

      g_assert_no_error (error);
      g_assert_true (ok);
    }
}

/* What the state file says about one client, read as any tool would. */
static gboolean
state_file_says_wanted (const char *name)
{
  g_autofree char *path = us_connect_get_state_path ();
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *clients_object;

  if (!json_parser_load_from_file (parser, path, NULL))
    return FALSE;
  clients_object = json_object_get_object_member (json_node_get_object (json_parser_get_root (parser)),
                                                  "clients");
  return json_object_has_member (clients_object, name)
         && json_object_get_boolean_member (json_object_get_object_member (clients_object, name),
                                            "wanted");
}

static void
test_off_on (ConnectFixture *fixture, gconstpointer data)
{
  g_autoptr(GPtrArray) connected = g_ptr_array_new_with_free_func (g_free);

  write_all_originals (fixture);
  connect_all ();
  for (guint i = 0; i < G_N_ELEMENTS (clients); i++)
    g_ptr_array_add (connected, fixture_read (fixture, clients[i].file));

  routing_ok (FALSE, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (clients); i++)
    {
      assert_file (fixture, clients[i].file, clients[i].original);
      g_assert_cmpint (us_client_get_state (clients[i].id), ==, US_CLIENT_STATE_INSTALLED);
      g_assert_true (us_client_is_wanted (clients[i].id));
      g_assert_true (state_file_says_wanted (us_client_id_to_string (clients[i].id)));
    }

  /* Off again: nothing left to restore. */
  routing_ok (FALSE, NULL);

  routing_ok (TRUE, PROXY_URL);
  for (guint i = 0; i < G_N_ELEMENTS (clients); i++)
    {
      assert_file (fixture, clients[i].file, g_ptr_array_index (connected, i));
      g_assert_cmpint (us_client_get_state (clients[i].id), ==, US_CLIENT_STATE_CONNECTED);
      /* Toggling does not pile up backups of the same original. */
      g_assert_cmpuint (fixture_count_backups (fixture, clients[i].file), ==, 1);
    }
}

/* The user edits a file while routing is off; on and off again keep it. */
static void
test_edit_while_off (ConnectFixture *fixture, gconstpointer data)
{
  const char *file = clients[1].file;
  g_autofree char *edited = replace_once (clients[1].original, "# mine", "# mine, edited");
  g_autofree char *connected = NULL;

  write_all_originals (fixture);
  connect_all ();
  routing_ok (FALSE, NULL);
  fixture_write (fixture, file, edited);

  routing_ok (TRUE, PROXY_URL);
  connected = fixture_read (fixture, file);
  g_assert_nonnull (strstr (connected, "# mine, edited"));
  g_assert_nonnull (strstr (connected, "model_provider = \"understudy\""));
  g_assert_cmpuint (fixture_count_backups (fixture, file), ==, 2);

  routing_ok (FALSE, NULL);
  assert_file (fixture, file, edited);
}

static void
test_disconnect_while_off (ConnectFixture *fixture, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  write_all_originals (fixture);
  connect_all ();
  routing_ok (FALSE, NULL);
  g_assert_true (us_client_disconnect (US_CLIENT_CODEX, &error));
  g_assert_no_error (error);
  g_assert_false (us_client_is_wanted (US_CLIENT_CODEX));

  routing_ok (TRUE, PROXY_URL);
  assert_file (fixture, clients[1].file, clients[1].original);
  g_assert_cmpint (us_client_get_state (US_CLIENT_CODEX), ==, US_CLIENT_STATE_INSTALLED);
  g_assert_cmpint (us_client_get_state (US_CLIENT_CLAUDE_CODE), ==, US_CLIENT_STATE_CONNECTED);
}

/* A proxy on a new port: routing on moves every client to it. */
static void
test_new_url (ConnectFixture *fixture, gconstpointer data)
{
  g_autofree char *claude = NULL;

  write_all_originals (fixture);
  connect_all ();
  routing_ok (TRUE, "http://127.0.0.1:9000/t/new");
  claude = fixture_read (fixture, clients[0].file);
  g_assert_nonnull (strstr (claude, "http://127.0.0.1:9000/t/new"));
  g_assert_null (strstr (claude, PROXY_URL));

  routing_ok (FALSE, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (clients); i++)
    assert_file (fixture, clients[i].file, clients[i].original);
}

/* One client failing does not stop the others; the error names it. */
static void
test_one_fails (ConnectFixture *fixture, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  write_all_originals (fixture);
  connect_all ();
  routing_ok (FALSE, NULL);
  fixture_write (fixture, clients[0].file, "{ broken");

  g_assert_false (us_clients_apply_routing (TRUE, PROXY_URL, &error));
  g_assert_error (error, US_CONNECT_ERROR, US_CONNECT_ERROR_PARSE);
  g_assert_true (g_str_has_prefix (error->message, "claude-code: "));
  assert_file (fixture, clients[0].file, "{ broken");
  g_assert_cmpint (us_client_get_state (US_CLIENT_CODEX), ==, US_CLIENT_STATE_CONNECTED);
  g_assert_cmpint (us_client_get_state (US_CLIENT_OPENCODE), ==, US_CLIENT_STATE_CONNECTED);
  g_assert_true (us_client_is_wanted (US_CLIENT_CLAUDE_CODE));
}

static void
test_installed (ConnectFixture *fixture, gconstpointer data)
{
  g_autofree char *program = g_build_filename (fixture->bin, "opencode", NULL);
  g_autofree char *codex_dir = fixture_path (fixture, ".codex");
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < US_CLIENT_N_CLIENTS; i++)
    g_assert_cmpint (us_client_get_state ((UsClientId) i), ==, US_CLIENT_STATE_NOT_INSTALLED);

  g_file_set_contents (program, "#!/bin/sh\n", -1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_chmod (program, 0755), ==, 0);
  g_assert_cmpint (g_mkdir (codex_dir, 0700), ==, 0);

  g_assert_cmpint (us_client_get_state (US_CLIENT_CLAUDE_CODE), ==, US_CLIENT_STATE_NOT_INSTALLED);
  g_assert_cmpint (us_client_get_state (US_CLIENT_CODEX), ==, US_CLIENT_STATE_INSTALLED);
  g_assert_cmpint (us_client_get_state (US_CLIENT_OPENCODE), ==, US_CLIENT_STATE_INSTALLED);

  /* A proxy URL put there by hand counts as connected too. */
  fixture_write (fixture, ".claude/settings.json",
                 "{\"env\": {\"ANTHROPIC_BASE_URL\": \"http://localhost:7355/t/abc\"}}");
  g_assert_cmpint (us_client_get_state (US_CLIENT_CLAUDE_CODE), ==, US_CLIENT_STATE_CONNECTED);
  fixture_write (fixture, ".claude/settings.json",
                 "{\"env\": {\"ANTHROPIC_BASE_URL\": \"https://gateway.example.com\"}}");
  g_assert_cmpint (us_client_get_state (US_CLIENT_CLAUDE_CODE), ==, US_CLIENT_STATE_INSTALLED);
}

/* Damaged state is reported, never silently replaced. */
static void
test_damaged_state (ConnectFixture *fixture, gconstpointer data)
{
  g_autofree char *state_path = us_connect_get_state_path ();
  g_autofree char *state_dir = g_path_get_dirname (state_path);
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;

  g_assert_cmpint (g_mkdir_with_parents (state_dir, 0700), ==, 0);
  g_assert_true (g_file_set_contents (state_path, "{ not json", -1, NULL));
  g_assert_false (us_client_connect (US_CLIENT_CODEX, PROXY_URL, &error));
  g_assert_error (error, US_CONNECT_ERROR, US_CONNECT_ERROR_STATE);
  g_assert_true (g_file_get_contents (state_path, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "{ not json");
  g_assert_null (fixture_read (fixture, ".codex/config.toml"));
}

#define ADD(path, func) \
  g_test_add ((path), ConnectFixture, NULL, connect_fixture_setup, (func), connect_fixture_teardown)

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  ADD ("/routing/off-on", test_off_on);
  ADD ("/routing/edit-while-off", test_edit_while_off);
  ADD ("/routing/disconnect-while-off", test_disconnect_while_off);
  ADD ("/routing/new-url", test_new_url);
  ADD ("/routing/one-fails", test_one_fails);
  ADD ("/status/installed", test_installed);
  ADD ("/status/damaged-state", test_damaged_state);

  return g_test_run ();
}
