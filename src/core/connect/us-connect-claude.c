/* us-connect-claude.c: Claude Code reads env.ANTHROPIC_BASE_URL from
 * ~/.claude/settings.json (or $CLAUDE_CONFIG_DIR) on every run; that one
 * member is all we set. The file is strict JSON, as Claude Code parses it. */
#include "us-connect-private.h"
#include "us-jsonc-edit.h"

#include <string.h>

static const char * const base_url_path[] = { "env", "ANTHROPIC_BASE_URL", NULL };
static const char * const statusline_path[] = { "statusLine", NULL };
static const char * const statusline_type_path[] = { "statusLine", "type", NULL };
static const char * const statusline_command_path[] = { "statusLine", "command", NULL };

static char *
claude_config_dir (void)
{
  const char *dir = g_getenv ("CLAUDE_CONFIG_DIR");

  if (dir != NULL && g_path_is_absolute (dir))
    return g_strdup (dir);
  return g_build_filename (us_connect_home_dir (), ".claude", NULL);
}

static char *
claude_config_path (void)
{
  g_autofree char *dir = claude_config_dir ();

  return g_build_filename (dir, "settings.json", NULL);
}

static GStrv
claude_watched_paths (void)
{
  GStrv paths = g_new0 (char *, 2);

  paths[0] = claude_config_path ();
  return paths;
}

static char *
claude_apply (const char *text, const char *proxy_url, GPtrArray *edits, GError **error)
{
  g_autoptr(JsonNode) url = json_node_init_string (json_node_alloc (), proxy_url);

  return us_jsonc_set_recorded (text != NULL ? text : "{}\n", US_JSON_STRICT,
                                base_url_path, url, edits, error);
}

/* `understudy … statusline`, however the binary or config is named. */
static gboolean
is_our_statusline (const char *command)
{
  return command != NULL && strstr (command, "understudy") != NULL && g_str_has_suffix (command, " statusline");
}

/* statusLine {"type": "command", "command": …}, one member at a time so
 * that anything else in it stays, and each goes back on its own. */
static char *
claude_apply_statusline (const char *text, const char *command, gboolean force, GPtrArray *edits, GError **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autofree char *existing = us_jsonc_get (text, US_JSON_STRICT, statusline_path, &local_error);
  g_autofree char *current = us_jsonc_get_string (text, US_JSON_STRICT, statusline_command_path);
  g_autoptr(JsonNode) type = json_node_init_string (json_node_alloc (), "command");
  g_autoptr(JsonNode) value = json_node_init_string (json_node_alloc (), command);
  g_autofree char *replaced = NULL;
  g_autofree char *typed = NULL;

  if (local_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  if (existing != NULL && !is_our_statusline (current) && !force)
    {
      g_set_error (error, US_CONNECT_ERROR, US_CONNECT_ERROR_EXISTS,
                   "it has a status line of yours (statusLine: %s); nothing was changed. "
                   "Connect with --force to replace it (disconnecting puts it back)", existing);
      return NULL;
    }
  /* Not an object: it is replaced whole, and put back whole. */
  if (existing != NULL && existing[0] != '{')
    {
      g_autoptr(JsonNode) empty = json_node_init_object (json_node_alloc (), json_object_new ());

      replaced = us_jsonc_set_recorded (text, US_JSON_STRICT, statusline_path, empty, edits, error);
      if (replaced == NULL)
        return NULL;
      text = replaced;
    }
  typed = us_jsonc_set_recorded (text, US_JSON_STRICT, statusline_type_path, type, edits, error);
  if (typed == NULL)
    return NULL;
  return us_jsonc_set_recorded (typed, US_JSON_STRICT, statusline_command_path, value, edits, error);
}

static gboolean
claude_is_connected (const char *text, const char *proxy_url)
{
  g_autofree char *url = us_jsonc_get_string (text, US_JSON_STRICT, base_url_path);

  return us_connect_url_is_understudy (url, proxy_url);
}

const UsClientConnector *
us_connect_claude_get_connector (void)
{
  static const UsClientConnector connector = {
    .id = US_CLIENT_CLAUDE_CODE,
    .name = "claude-code",
    .display_name = "Claude Code",
    .program = "claude",
    .format = &us_json_strict_format,
    .config_dir = claude_config_dir,
    .config_path = claude_config_path,
    .watched_paths = claude_watched_paths,
    .apply = claude_apply,
    .apply_statusline = claude_apply_statusline,
    .is_connected = claude_is_connected,
  };
  return &connector;
}
