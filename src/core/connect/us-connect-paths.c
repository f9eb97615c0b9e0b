/* us-connect-paths.c: where things are, read from the environment at each
 * call, and how to recognise the proxy's URL. */
#include "us-connect-private.h"

#include <string.h>

const char *
us_connect_home_dir (void)
{
  const char *home = g_getenv ("HOME");

  return home != NULL && g_path_is_absolute (home) ? home : g_get_home_dir ();
}

char *
us_connect_xdg_dir (const char *var, const char *fallback)
{
  const char *value = g_getenv (var);

  /* The XDG spec says relative values are invalid and to be ignored. */
  if (value != NULL && g_path_is_absolute (value))
    return g_strdup (value);
  return g_build_filename (us_connect_home_dir (), fallback, NULL);
}

char *
us_connect_host_config_dir (void)
{
  /* Flatpak sets FLATPAK_ID in every sandbox, and HOST_XDG_CONFIG_HOME only
   * when the host had XDG_CONFIG_HOME set. */
  if (g_getenv ("FLATPAK_ID") != NULL)
    return us_connect_xdg_dir ("HOST_XDG_CONFIG_HOME", ".config");
  return us_connect_xdg_dir ("XDG_CONFIG_HOME", ".config");
}

char *
us_connect_get_state_path (void)
{
  g_autofree char *state = us_connect_xdg_dir ("XDG_STATE_HOME", ".local/state");

  return g_build_filename (state, "understudy", "connections.json", NULL);
}

static gboolean
is_loopback_host (const char *host)
{
  return host != NULL
         && (g_str_has_prefix (host, "127.") || g_str_equal (host, "localhost")
             || g_str_equal (host, "::1") || g_str_equal (host, "[::1]"));
}

gboolean
us_connect_url_is_understudy (const char *url, const char *recorded_proxy_url)
{
  g_autoptr(GUri) uri = NULL;

  if (url == NULL)
    return FALSE;
  if (recorded_proxy_url != NULL && g_str_has_prefix (url, recorded_proxy_url))
    return TRUE;
  uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
  return uri != NULL
         && (g_str_equal (g_uri_get_scheme (uri), "http") || g_str_equal (g_uri_get_scheme (uri), "https"))
         && is_loopback_host (g_uri_get_host (uri))
         && g_str_has_prefix (g_uri_get_path (uri), "/t/");
}
