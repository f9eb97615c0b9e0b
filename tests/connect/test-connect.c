/* test-connect.c: connect and disconnect each client against realistic
 * files, checking every byte. */
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "connect-fixture.h"
#include "us-client-file.h"
#include "us-connect.h"

#define OTHER_URL "http://127.0.0.1:7400/t/other456"

typedef struct {
  const char *name;
  UsClientId  id;
  const char *file;           /* relative to HOME */
  const char *original;       /* NULL: no file */
  const char *connected;      /* with PROXY_URL */
  /* An edit the user makes while connected, and what disconnecting must
   * leave after it (NULL: the original with the same edit). */
  const char *user_from;
  const char *user_to;
  const char *edited_disconnected;
} ClientCase;

/* ---- Claude Code ----------------------------------------------------- */

#define CLAUDE_SETTINGS \
  "{\n" \
  "  \"$schema\": \"https://json.schemastore.org/claude-code-settings.json\",\n" \
  "  \"model\": \"opus\",\n" \
  "  \"env\": {\n" \
  "    \"CLAUDE_CODE_ENABLE_TELEMETRY\": \"0\",\n" \
  "    \"BASH_DEFAULT_TIMEOUT_MS\": \"120000\"%s\n" \
  "  },\n" \
  "  \"permissions\": {\n" \
  "    \"allow\": [\n" \
  "      \"Bash(npm run lint)\",\n" \
  "      \"Read(~/.zshrc)\"\n" \
  "    ],\n" \
  "    \"deny\": [\n" \
  "      \"Read(./.env)\"\n" \
  "    ]\n" \
  "  },\n" \
  "  \"hooks\": {\n" \
  "    \"PostToolUse\": [\n" \
  "      {\n" \
  "        \"matcher\": \"Edit|Write\",\n" \
  "        \"hooks\": [\n" \
  "          { \"type\": \"command\", \"command\": \"prettier --write \\\"$CLAUDE_FILE_PATHS\\\"\" }\n" \
  "        ]\n" \
  "      }\n" \
  "    ]\n" \
  "  },\n" \
  "  \"mcpServers\": {\n" \
  "    \"github\": { \"command\": \"npx\", \"args\": [\"-y\", \"@modelcontextprotocol/server-github\"] }\n" \
  "  },\n" \
  "  \"statusLine\": {\"type\": \"command\", \"command\": \"understudy statusline\"}\n" \
  "}\n"

#define CLAUDE_NO_ENV \
  "{\n" \
  "    \"permissions\": {\n" \
  "        \"allow\": [\"Bash(ls)\"]\n" \
  "    }%s\n" \
  "}\n"

/* ---- Codex ------------------------------------------------------------ */

#define CODEX_CONFIG_HEAD \
  "# Codex configuration\n" \
  "model = \"gpt-5-codex\"\n" \
  "model_provider = %s  # the default\n" \
  "approval_policy = \"on-request\"\n" \
  "\n" \
  "[profiles.deep]\n" \
  "model = \"o3\"\n" \
  "model_reasoning_effort = \"high\"\n" \
  "\n" \
  "# MCP servers\n" \
  "[mcp_servers.docs]\n" \
  "command = \"npx\"\n" \
  "args = [\n" \
  "  \"-y\",\n" \
  "  \"docs-mcp\", # pinned\n" \
  "]\n" \
  "env = { \"API_TOKEN\" = \"x\" }\n" \
  "\n" \
  "[model_providers.openrouter]\n" \
  "name = \"OpenRouter\"\n" \
  "base_url = \"https://openrouter.ai/api/v1\"\n" \
  "env_key = \"OPENROUTER_API_KEY\"\n"

#define CODEX_TABLE \
  "[model_providers.understudy]\n" \
  "# Added by Understudy; `understudy disconnect codex` takes it out.\n" \
  "name = \"Understudy\"\n" \
  "base_url = \"" PROXY_URL "/v1\"\n" \
  "wire_api = \"responses\"\n" \
  "requires_openai_auth = true\n"

#define CODEX_SIMPLE \
  "model = \"gpt-5\"\n" \
  "%s" \
  "\n" \
  "[mcp_servers.x]\n" \
  "command = \"x\"\n"

/* ---- OpenCode --------------------------------------------------------- */

#define OPENCODE_JSONC \
  "{\n" \
  "  \"$schema\": \"https://opencode.ai/config.json\",\n" \
  "  // the model I use every day\n" \
  "  \"model\": \"%s\",\n" \
  "  \"theme\": \"tokyonight\",\n" \
  "  /* local models */\n" \
  "  \"provider\": {\n" \
  "    \"ollama\": {\n" \
  "      \"npm\": \"@ai-sdk/openai-compatible\",\n" \
  "      \"options\": { \"baseURL\": \"http://localhost:11434/v1\", },\n" \
  "      \"models\": { \"qwen3-coder\": {}, },\n" \
  "    },%s\n" \
  "  },\n" \
  "  \"mcp\": {\n" \
  "    \"docs\": { \"type\": \"local\", \"command\": [\"npx\", \"-y\", \"docs-mcp\"], }, // pinned\n" \
  "  },\n" \
  "}\n"

#define OPENCODE_PROVIDER(indent, models) \
  indent "\"understudy\": {\n" \
  indent "  \"npm\": \"@ai-sdk/openai-compatible\",\n" \
  indent "  \"name\": \"Understudy\",\n" \
  indent "  \"options\": {\n" \
  indent "    \"baseURL\": \"" PROXY_URL "/v1\"\n" \
  indent "  },\n" \
  indent "  \"models\": {\n" \
  models \
  indent "  }\n" \
  indent "}"

#define OPENCODE_MODEL(indent, id) \
  indent "    \"" id "\": {\n" \
  indent "      \"name\": \"" id "\"\n" \
  indent "    }"

#define OPENCODE_SMALL \
  "{\n" \
  "  \"$schema\": \"https://opencode.ai/config.json\",\n" \
  "  \"small_model\": \"%s\",\n" \
  "  \"autoupdate\": false%s\n" \
  "}\n"

static ClientCase cases[] = {
  {
    "claude-code/full", US_CLIENT_CLAUDE_CODE, ".claude/settings.json",
    NULL, NULL,
    "\"Read(~/.zshrc)\"", "\"Read(~/.zshrc)\",\n      \"Bash(git status)\"", NULL,
  },
  {
    "claude-code/no-env", US_CLIENT_CLAUDE_CODE, ".claude/settings.json",
    NULL, NULL,
    "\"Bash(ls)\"", "\"Bash(ls)\", \"Bash(pwd)\"", NULL,
  },
  {
    "claude-code/no-file", US_CLIENT_CLAUDE_CODE, ".claude/settings.json",
    NULL,
    "{\n"
    "  \"env\": {\n"
    "    \"ANTHROPIC_BASE_URL\": \"" PROXY_URL "\"\n"
    "  }\n"
    "}\n",
    "{\n", "{\n  \"model\": \"sonnet\",\n",
    "{\n  \"model\": \"sonnet\"\n}\n",
  },
  {
    "codex/full", US_CLIENT_CODEX, ".codex/config.toml",
    NULL, NULL,
    "model = \"o3\"", "model = \"o4-mini\"", NULL,
  },
  {
    "codex/no-selector", US_CLIENT_CODEX, ".codex/config.toml",
    NULL, NULL,
    /* a table of the user's own, right after ours */
    "requires_openai_auth = true\n",
    "requires_openai_auth = true\n\n[mcp_servers.y]\ncommand = \"y\"\n",
    NULL,
  },
  {
    "codex/no-file", US_CLIENT_CODEX, ".codex/config.toml",
    NULL,
    "model_provider = \"understudy\"\n\n" CODEX_TABLE,
    "model_provider = \"understudy\"\n", "model = \"gpt-5\"\nmodel_provider = \"understudy\"\n",
    "model = \"gpt-5\"\n",
  },
  {
    "opencode/jsonc", US_CLIENT_OPENCODE, ".config/opencode/opencode.jsonc",
    NULL, NULL,
    "\"tokyonight\"", "\"gruvbox\"", NULL,
  },
  {
    "opencode/small-model", US_CLIENT_OPENCODE, ".config/opencode/opencode.json",
    NULL, NULL,
    "\"autoupdate\": false", "\"autoupdate\": true", NULL,
  },
  {
    "opencode/no-file", US_CLIENT_OPENCODE, ".config/opencode/opencode.json",
    NULL,
    "{\n"
    "  \"provider\": {\n"
    OPENCODE_PROVIDER ("    ", OPENCODE_MODEL ("    ", "claude-sonnet-4-5") "\n") "\n"
    "  },\n"
    "  \"model\": \"understudy/claude-sonnet-4-5\"\n"
    "}\n",
    "{\n", "{\n  \"share\": \"disabled\",\n",
    "{\n  \"share\": \"disabled\"\n}\n",
  },
};

/* The fixtures whose text is built from the templates above. */
static void
build_cases (void)
{
  cases[0].original = g_strdup_printf (CLAUDE_SETTINGS, "");
  cases[0].connected = g_strdup_printf (CLAUDE_SETTINGS,
                                        ",\n    \"ANTHROPIC_BASE_URL\": \"" PROXY_URL "\"");
  cases[1].original = g_strdup_printf (CLAUDE_NO_ENV, "");
  cases[1].connected = g_strdup_printf (CLAUDE_NO_ENV,
                                        ",\n"
                                        "    \"env\": {\n"
                                        "        \"ANTHROPIC_BASE_URL\": \"" PROXY_URL "\"\n"
                                        "    }");
  cases[3].original = g_strdup_printf (CODEX_CONFIG_HEAD, "\"openai\"");
  cases[3].connected = g_strdup_printf (CODEX_CONFIG_HEAD "\n" CODEX_TABLE, "\"understudy\"");
  cases[4].original = g_strdup_printf (CODEX_SIMPLE, "");
  cases[4].connected = g_strdup_printf (CODEX_SIMPLE "\n" CODEX_TABLE,
                                        "model_provider = \"understudy\"\n");
  cases[4].edited_disconnected = g_strconcat (cases[4].original,
                                              "\n[mcp_servers.y]\ncommand = \"y\"\n", NULL);
  cases[6].original = g_strdup_printf (OPENCODE_JSONC, "anthropic/claude-sonnet-4-5", "");
  cases[6].connected = g_strdup_printf (OPENCODE_JSONC, "understudy/claude-sonnet-4-5",
                                        "\n" OPENCODE_PROVIDER ("    ", OPENCODE_MODEL ("    ", "claude-sonnet-4-5") "\n") ",");
  cases[7].original = g_strdup_printf (OPENCODE_SMALL, "anthropic/claude-haiku-4-5", "");
  cases[7].connected = g_strdup_printf (OPENCODE_SMALL, "understudy/claude-haiku-4-5",
                                        ",\n"
                                        "  \"provider\": {\n"
                                        OPENCODE_PROVIDER ("    ",
                                                           OPENCODE_MODEL ("    ", "claude-sonnet-4-5") ",\n"
                                                           OPENCODE_MODEL ("    ", "claude-haiku-4-5") "\n") "\n"
                                        "  },\n"
                                        "  \"model\": \"understudy/claude-sonnet-4-5\"");
}

static void
write_original (ConnectFixture *fixture, const ClientCase *c)
{
  if (c->original != NULL)
    fixture_write (fixture, c->file, c->original);
}

static void
connect_ok (UsClientId id, const char *url)
{
  g_autoptr(GError) error = NULL;

  gboolean ok = us_client_connect (id, url, &error);

  g_assert_no_error (error);
  g_assert_true (ok);
}

static void
disconnect_ok (UsClientId id)
{
  g_autoptr(GError) error = NULL;

  gboolean ok = us_client_disconnect (id, &error);

  g_assert_no_error (error);
  g_assert_true (ok);
}

static void
test_connect (ConnectFixture *fixture, gconstpointer data)
{
  const ClientCase *c = data;

  write_original (fixture, c);
  g_assert_cmpint (us_client_get_state (c->id), ==,
                   c->original != NULL ? US_CLIENT_STATE_INSTALLED : US_CLIENT_STATE_NOT_INSTALLED);

  connect_ok (c->id, PROXY_URL);
  assert_file (fixture, c->file, c->connected);
  g_assert_cmpint (us_client_get_state (c->id), ==, US_CLIENT_STATE_CONNECTED);
  g_assert_true (us_client_is_wanted (c->id));
  g_assert_cmpuint (fixture_count_backups (fixture, c->file), ==, c->original != NULL ? 1 : 0);

  /* Connecting again with the same URL changes nothing, not even backups. */
  connect_ok (c->id, PROXY_URL "/");
  assert_file (fixture, c->file, c->connected);
  g_assert_cmpuint (fixture_count_backups (fixture, c->file), ==, c->original != NULL ? 1 : 0);
}

static void
test_disconnect (ConnectFixture *fixture, gconstpointer data)
{
  const ClientCase *c = data;

  write_original (fixture, c);
  connect_ok (c->id, PROXY_URL);
  disconnect_ok (c->id);

  assert_file (fixture, c->file, c->original);
  g_assert_cmpint (us_client_get_state (c->id), ==, US_CLIENT_STATE_INSTALLED);
  g_assert_false (us_client_is_wanted (c->id));

  /* Nothing connected: a no-op. */
  disconnect_ok (c->id);
  assert_file (fixture, c->file, c->original);
}

static void
test_user_edit (ConnectFixture *fixture, gconstpointer data)
{
  const ClientCase *c = data;
  g_autofree char *connected = NULL;
  g_autofree char *edited = NULL;
  g_autofree char *expected = NULL;

  write_original (fixture, c);
  connect_ok (c->id, PROXY_URL);

  connected = fixture_read (fixture, c->file);
  edited = replace_once (connected, c->user_from, c->user_to);
  fixture_write (fixture, c->file, edited);
  g_assert_cmpint (us_client_get_state (c->id), ==, US_CLIENT_STATE_CONNECTED);

  disconnect_ok (c->id);
  expected = c->edited_disconnected != NULL
             ? g_strdup (c->edited_disconnected)
             : replace_once (c->original, c->user_from, c->user_to);
  assert_file (fixture, c->file, expected);
}

/* A new URL (the port changed) replaces ours; the original stays the one
 * disconnecting goes back to. */
static void
test_reconnect (ConnectFixture *fixture, gconstpointer data)
{
  const ClientCase *c = data;
  g_autoptr(GString) expected = g_string_new (c->connected);

  write_original (fixture, c);
  connect_ok (c->id, PROXY_URL);
  connect_ok (c->id, OTHER_URL);
  g_string_replace (expected, PROXY_URL, OTHER_URL, 0);
  assert_file (fixture, c->file, expected->str);

  disconnect_ok (c->id);
  assert_file (fixture, c->file, c->original);
  g_assert_cmpuint (fixture_count_backups (fixture, c->file), ==, c->original != NULL ? 1 : 0);
}

static void
exit_before_rename (const char *tmp_path)
{
  /* As if the machine went down: no cleanup, no atexit. */
  _exit (70);
}

static void
test_crash_before_rename (ConnectFixture *fixture, gconstpointer data)
{
  const ClientCase *c = data;

  if (g_test_subprocess ())
    {
      us_client_file_set_before_rename_hook (exit_before_rename);
      us_client_connect (c->id, PROXY_URL, NULL);
      g_assert_not_reached ();
    }

  write_original (fixture, c);
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();

  assert_file (fixture, c->file, c->original);
  g_assert_cmpint (us_client_get_state (c->id), !=, US_CLIENT_STATE_CONNECTED);

  /* The record made before the write finds none of its keys: undoing it
   * leaves the file alone, and connecting works as usual. */
  disconnect_ok (c->id);
  assert_file (fixture, c->file, c->original);
  connect_ok (c->id, PROXY_URL);
  assert_file (fixture, c->file, c->connected);
}

/* ---- unparseable files ---------------------------------------------- */

typedef struct {
  const char *name;
  UsClientId  id;
  const char *file;
  const char *broken;
  const char *where;   /* expected in the message */
} BrokenCase;

static const BrokenCase broken_cases[] = {
  { "claude-code", US_CLIENT_CLAUDE_CODE, ".claude/settings.json",
    "{\n  \"env\": {\n    \"A\": \"1\",\n  }\n}\n", "line 3, column 13: a trailing comma" },
  { "codex", US_CLIENT_CODEX, ".codex/config.toml",
    "# mine\nmodel = gpt-5\n", "line 2: “gpt-5” is not a TOML value" },
  { "opencode", US_CLIENT_OPENCODE, ".config/opencode/opencode.json",
    "{\n  // comments are fine\n  \"model\": \"x\"\n  \"theme\": \"y\"\n}\n", "line 4, column 3: expected ',' or '}'" },
};

static void
test_unparseable (ConnectFixture *fixture, gconstpointer data)
{
  const BrokenCase *c = data;
  g_autoptr(GError) error = NULL;
  g_autofree char *path = fixture_path (fixture, c->file);

  fixture_write (fixture, c->file, c->broken);
  g_assert_false (us_client_connect (c->id, PROXY_URL, &error));
  g_assert_error (error, US_CONNECT_ERROR, US_CONNECT_ERROR_PARSE);
  g_test_message ("%s", error->message);
  g_assert_true (g_str_has_prefix (error->message, path));
  g_assert_nonnull (strstr (error->message, c->where));
  g_assert_nonnull (strstr (error->message, "left untouched"));

  assert_file (fixture, c->file, c->broken);
  g_assert_cmpuint (fixture_count_backups (fixture, c->file), ==, 0);
  g_assert_false (us_client_is_wanted (c->id));
}

/* Edited into something broken while connected: disconnect refuses too. */
static void
test_disconnect_unparseable (ConnectFixture *fixture, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  const char *broken = "{ \"env\": { \"ANTHROPIC_BASE_URL\": \"" PROXY_URL "\" ";

  connect_ok (US_CLIENT_CLAUDE_CODE, PROXY_URL);
  fixture_write (fixture, ".claude/settings.json", broken);
  g_assert_false (us_client_disconnect (US_CLIENT_CLAUDE_CODE, &error));
  g_assert_error (error, US_CONNECT_ERROR, US_CONNECT_ERROR_PARSE);
  assert_file (fixture, ".claude/settings.json", broken);
  g_assert_true (us_client_is_wanted (US_CLIENT_CLAUDE_CODE));
}

/* ---- file handling -------------------------------------------------- */

static void
test_mode_kept (ConnectFixture *fixture, gconstpointer data)
{
  g_autofree char *path = fixture_path (fixture, ".codex/config.toml");
  GStatBuf st;

  fixture_write (fixture, ".codex/config.toml", "model = \"gpt-5\"\n");
  g_assert_cmpint (g_chmod (path, 0640), ==, 0);
  connect_ok (US_CLIENT_CODEX, PROXY_URL);
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 07777, ==, 0640);
  disconnect_ok (US_CLIENT_CODEX);
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 07777, ==, 0640);
}

/* Dotfile managers link the config in: the link must survive. */
static void
test_symlink_kept (ConnectFixture *fixture, gconstpointer data)
{
  g_autofree char *target = fixture_path (fixture, "dotfiles/claude-settings.json");
  g_autofree char *link = fixture_path (fixture, ".claude/settings.json");
  g_autofree char *claude_dir = fixture_path (fixture, ".claude");
  const char *original = "{\"model\": \"opus\"}\n";

  fixture_write (fixture, "dotfiles/claude-settings.json", original);
  g_assert_cmpint (g_mkdir (claude_dir, 0700), ==, 0);
  g_assert_cmpint (symlink (target, link), ==, 0);

  connect_ok (US_CLIENT_CLAUDE_CODE, PROXY_URL);
  g_assert_true (g_file_test (link, G_FILE_TEST_IS_SYMLINK));
  assert_file (fixture, "dotfiles/claude-settings.json",
               "{\"model\": \"opus\", \"env\": {\"ANTHROPIC_BASE_URL\": \"" PROXY_URL "\"}}\n");

  disconnect_ok (US_CLIENT_CLAUDE_CODE);
  g_assert_true (g_file_test (link, G_FILE_TEST_IS_SYMLINK));
  assert_file (fixture, "dotfiles/claude-settings.json", original);
}

static void
test_env_dirs (ConnectFixture *fixture, gconstpointer data)
{
  g_autofree char *codex_home = fixture_path (fixture, "elsewhere/codex");
  g_autofree char *claude_dir = fixture_path (fixture, "elsewhere/claude");
  g_autofree char *config = fixture_path (fixture, "elsewhere/config");
  g_autofree char *path = NULL;
  /* in UsClientId order */
  const char *files[] = {
    "elsewhere/claude/settings.json",
    "elsewhere/codex/config.toml",
    "elsewhere/config/opencode/opencode.json",
  };

  g_setenv ("CODEX_HOME", codex_home, TRUE);
  g_setenv ("CLAUDE_CONFIG_DIR", claude_dir, TRUE);
  g_setenv ("XDG_CONFIG_HOME", config, TRUE);

  for (guint i = 0; i < US_CLIENT_N_CLIENTS; i++)
    connect_ok ((UsClientId) i, PROXY_URL);
  g_assert_true (g_file_test (codex_home, G_FILE_TEST_IS_DIR));
  path = us_client_get_config_path (US_CLIENT_CODEX);
  g_assert_true (g_str_has_prefix (path, codex_home));
  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autofree char *file = fixture_path (fixture, files[i]);

      g_assert_cmpint (us_client_get_state ((UsClientId) i), ==, US_CLIENT_STATE_CONNECTED);
      g_assert_true (g_file_test (file, G_FILE_TEST_IS_REGULAR));
    }

  for (guint i = 0; i < US_CLIENT_N_CLIENTS; i++)
    disconnect_ok ((UsClientId) i);
  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autofree char *file = fixture_path (fixture, files[i]);

      g_assert_false (g_file_test (file, G_FILE_TEST_EXISTS));
    }
}

/* Inside Flatpak, XDG_CONFIG_HOME is the sandbox's own; OpenCode's config
 * is the host's: HOST_XDG_CONFIG_HOME when the host set one, else
 * ~/.config (the path --filesystem=xdg-config/opencode maps in). */
static void
test_flatpak_dirs (ConnectFixture *fixture, gconstpointer data)
{
  g_autofree char *sandbox = fixture_path (fixture, ".var/app/io.github.understudy.Understudy/config");
  g_autofree char *host = fixture_path (fixture, "host-config");
  g_autofree char *home_file = fixture_path (fixture, ".config/opencode/opencode.json");
  g_autofree char *host_file = fixture_path (fixture, "host-config/opencode/opencode.json");
  g_autofree char *path = NULL;

  g_setenv ("XDG_CONFIG_HOME", sandbox, TRUE);
  g_setenv ("FLATPAK_ID", "io.github.understudy.Understudy", TRUE);

  path = us_client_get_config_path (US_CLIENT_OPENCODE);
  g_assert_cmpstr (path, ==, home_file);
  g_clear_pointer (&path, g_free);

  g_setenv ("HOST_XDG_CONFIG_HOME", host, TRUE);
  connect_ok (US_CLIENT_OPENCODE, PROXY_URL);
  g_assert_true (g_file_test (host_file, G_FILE_TEST_IS_REGULAR));
  g_assert_false (g_file_test (sandbox, G_FILE_TEST_EXISTS));
  disconnect_ok (US_CLIENT_OPENCODE);
}

/* Lost state file: the file still points at us, and we say so. */
static void
test_no_record (ConnectFixture *fixture, gconstpointer data)
{
  g_autofree char *state_path = us_connect_get_state_path ();
  g_autoptr(GError) error = NULL;

  connect_ok (US_CLIENT_CODEX, PROXY_URL);
  g_assert_cmpint (g_unlink (state_path), ==, 0);
  g_assert_cmpint (us_client_get_state (US_CLIENT_CODEX), ==, US_CLIENT_STATE_CONNECTED);
  g_assert_false (us_client_disconnect (US_CLIENT_CODEX, &error));
  g_assert_error (error, US_CONNECT_ERROR, US_CONNECT_ERROR_NO_RECORD);
}

static void
test_bad_url (ConnectFixture *fixture, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  g_assert_false (us_client_connect (US_CLIENT_CLAUDE_CODE, "127.0.0.1:7355", &error));
  g_assert_error (error, US_CONNECT_ERROR, US_CONNECT_ERROR_INVALID_URL);
  g_assert_null (fixture_read (fixture, ".claude/settings.json"));
}

/* An empty settings file is an empty object to connect, and comes back
 * empty. */
static void
test_empty_file (ConnectFixture *fixture, gconstpointer data)
{
  fixture_write (fixture, ".claude/settings.json", "");
  connect_ok (US_CLIENT_CLAUDE_CODE, PROXY_URL);
  assert_file (fixture, ".claude/settings.json",
               "{\n  \"env\": {\n    \"ANTHROPIC_BASE_URL\": \"" PROXY_URL "\"\n  }\n}\n");
  disconnect_ok (US_CLIENT_CLAUDE_CODE);
  assert_file (fixture, ".claude/settings.json", "");
}

/* opencode.jsonc is edited (OpenCode reads it last), but the model the
 * user chose in opencode.json is the one kept. */
static void
test_opencode_model_elsewhere (ConnectFixture *fixture, gconstpointer data)
{
  g_autofree char *jsonc = NULL;

  fixture_write (fixture, ".config/opencode/opencode.json", "{\"model\": \"openai/gpt-5\"}\n");
  fixture_write (fixture, ".config/opencode/opencode.jsonc", "{ \"theme\": \"x\" }\n");
  connect_ok (US_CLIENT_OPENCODE, PROXY_URL);
  assert_file (fixture, ".config/opencode/opencode.json", "{\"model\": \"openai/gpt-5\"}\n");
  jsonc = fixture_read (fixture, ".config/opencode/opencode.jsonc");
  g_assert_nonnull (strstr (jsonc, "\"model\": \"understudy/gpt-5\""));
  g_assert_nonnull (strstr (jsonc, "\"gpt-5\": {\"name\": \"gpt-5\"}"));
  g_assert_cmpint (us_client_get_state (US_CLIENT_OPENCODE), ==, US_CLIENT_STATE_CONNECTED);
  disconnect_ok (US_CLIENT_OPENCODE);
  assert_file (fixture, ".config/opencode/opencode.jsonc", "{ \"theme\": \"x\" }\n");
}

/* A table of that name already there is replaced, and put back. */
static void
test_codex_existing_table (ConnectFixture *fixture, gconstpointer data)
{
  const char *original = "model_provider = \"understudy\"\n\n"
                         "[model_providers.understudy]\nname = \"Old\"\nbase_url = \"http://old\"\n"
                         "\n[tui]\nnotifications = true\n";
  g_autofree char *connected = NULL;
  g_autofree char *edited = NULL;

  fixture_write (fixture, ".codex/config.toml", original);
  connect_ok (US_CLIENT_CODEX, PROXY_URL);
  connected = fixture_read (fixture, ".codex/config.toml");
  g_assert_null (strstr (connected, "http://old"));
  g_assert_nonnull (strstr (connected, "\n\n[tui]\nnotifications = true\n"));

  /* Edited since, so the keys are undone one by one. */
  edited = replace_once (connected, "notifications = true", "notifications = false");
  fixture_write (fixture, ".codex/config.toml", edited);
  disconnect_ok (US_CLIENT_CODEX);
  {
    g_autofree char *expected = replace_once (original, "notifications = true", "notifications = false");

    assert_file (fixture, ".codex/config.toml", expected);
  }
}

static void
test_names (void)
{
  UsClientId id;

  for (guint i = 0; i < US_CLIENT_N_CLIENTS; i++)
    {
      g_assert_true (us_client_id_from_string (us_client_id_to_string ((UsClientId) i), &id));
      g_assert_cmpint (id, ==, i);
    }
  g_assert_cmpstr (us_client_id_to_string (US_CLIENT_CLAUDE_CODE), ==, "claude-code");
  g_assert_cmpstr (us_client_id_get_display_name (US_CLIENT_OPENCODE), ==, "OpenCode");
  g_assert_false (us_client_id_from_string ("cursor", &id));
  g_assert_cmpstr (us_client_state_to_string (US_CLIENT_STATE_NOT_INSTALLED), ==, "not installed");
}

#define ADD(path, data, func) \
  g_test_add ((path), ConnectFixture, (data), connect_fixture_setup, (func), connect_fixture_teardown)

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  build_cases ();

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const struct {
        const char *name;
        void (*func) (ConnectFixture *, gconstpointer);
      } steps[] = {
        { "connect", test_connect },
        { "disconnect", test_disconnect },
        { "user-edit", test_user_edit },
        { "reconnect", test_reconnect },
        { "crash-before-rename", test_crash_before_rename },
      };

      for (guint s = 0; s < G_N_ELEMENTS (steps); s++)
        {
          g_autofree char *path = g_strdup_printf ("/connect/%s/%s", cases[i].name, steps[s].name);

          ADD (path, &cases[i], steps[s].func);
        }
    }
  for (guint i = 0; i < G_N_ELEMENTS (broken_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/connect/%s/unparseable", broken_cases[i].name);

      ADD (path, &broken_cases[i], test_unparseable);
    }
  ADD ("/connect/disconnect-unparseable", NULL, test_disconnect_unparseable);
  ADD ("/connect/mode-kept", NULL, test_mode_kept);
  ADD ("/connect/symlink-kept", NULL, test_symlink_kept);
  ADD ("/connect/env-dirs", NULL, test_env_dirs);
  ADD ("/connect/flatpak-dirs", NULL, test_flatpak_dirs);
  ADD ("/connect/no-record", NULL, test_no_record);
  ADD ("/connect/bad-url", NULL, test_bad_url);
  ADD ("/connect/claude-code/empty-file", NULL, test_empty_file);
  ADD ("/connect/opencode/model-elsewhere", NULL, test_opencode_model_elsewhere);
  ADD ("/connect/codex/existing-table", NULL, test_codex_existing_table);
  g_test_add_func ("/connect/names", test_names);

  return g_test_run ();
}
