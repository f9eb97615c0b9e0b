/* us-connect-claude.c: Claude Code reads env.ANTHROPIC_BASE_URL from
 * ~/.claude/settings.json (or $CLAUDE_CONFIG_DIR) on every run; that one
 * member is all we set. The file is strict JSON, as Claude Code parses it. */
#include "us-connect-private.h"
#include "us-jsonc-edit.h"

static const char * const base_url_path[] = { "env", "ANTHROPIC_BASE_URL", NULL };

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
    .is_connected = claude_is_connected,
  };
  return &connector;
}
