/* us-connect-codex.c: Codex reads $CODEX_HOME/config.toml (~/.codex by
 * default). We add a [model_providers.understudy] table and make it the
 * top-level model_provider; the model stays the user's.
 *
 * Auth: the table has no env_key on purpose. With env_key set, Codex
 * refuses to start when that variable is missing, which would break users
 * who are logged in with ChatGPT. Without it, and with requires_openai_auth
 * = true, Codex sends exactly what it sends the built-in OpenAI provider:
 * the login from auth.json (API key or ChatGPT token with its account id),
 * or $CODEX_API_KEY under `codex exec`. The proxy forwards that untouched
 * for pass-through. */
#include "us-connect-private.h"
#include "us-toml-edit.h"

static const char * const provider_path[] = { "model_providers", US_CONNECT_PROVIDER_NAME, NULL };
static const char * const selector_path[] = { "model_provider", NULL };
static const char * const base_url_path[] = { "model_providers", US_CONNECT_PROVIDER_NAME, "base_url", NULL };

static char *
codex_config_dir (void)
{
  const char *dir = g_getenv ("CODEX_HOME");

  if (dir != NULL && g_path_is_absolute (dir))
    return g_strdup (dir);
  return g_build_filename (us_connect_home_dir (), ".codex", NULL);
}

static char *
codex_config_path (void)
{
  g_autofree char *dir = codex_config_dir ();

  return g_build_filename (dir, "config.toml", NULL);
}

static GStrv
codex_watched_paths (void)
{
  GStrv paths = g_new0 (char *, 2);

  paths[0] = codex_config_path ();
  return paths;
}

static char *
provider_table_body (const char *proxy_url)
{
  g_autofree char *base_url = g_strconcat (proxy_url, "/v1", NULL);
  g_autofree char *quoted = us_toml_quote (base_url);

  return g_strdup_printf ("# Added by Understudy; `understudy disconnect codex` takes it out.\n"
                          "name = \"Understudy\"\n"
                          "base_url = %s\n"
                          "wire_api = \"responses\"\n"
                          "requires_openai_auth = true\n",
                          quoted);
}

/* Gets the raw value at @path before and after @edit, into @edits. */
static char *
record (const char         *before,
        char               *after,
        const char * const *path,
        GPtrArray          *edits,
        GError            **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autofree char *previous = us_toml_get (before, path, &local_error);
  g_autofree char *written = NULL;

  if (after == NULL)
    return NULL;
  if (local_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      g_free (after);
      return NULL;
    }
  written = us_toml_get (after, path, NULL);
  g_ptr_array_add (edits, us_connect_edit_new (path, previous, written, 0));
  return after;
}

static char *
codex_apply (const char *text, const char *proxy_url, GPtrArray *edits, GError **error)
{
  const char *base = text != NULL ? text : "";
  g_autofree char *body = provider_table_body (proxy_url);
  g_autofree char *with_table = NULL;
  g_autofree char *selector = us_toml_quote (US_CONNECT_PROVIDER_NAME);

  with_table = record (base, us_toml_set_table (base, provider_path, body, error),
                       provider_path, edits, error);
  if (with_table == NULL)
    return NULL;
  return record (with_table,
                 us_toml_set_root_key (with_table, "model_provider", selector, error),
                 selector_path, edits, error);
}

static gboolean
codex_is_connected (const char *text, const char *proxy_url)
{
  g_autofree char *selected = us_toml_get_string (text, selector_path);
  g_autofree char *base_url = us_toml_get_string (text, base_url_path);

  return g_strcmp0 (selected, US_CONNECT_PROVIDER_NAME) == 0
         && us_connect_url_is_understudy (base_url, proxy_url);
}

const UsClientConnector *
us_connect_codex_get_connector (void)
{
  static const UsClientConnector connector = {
    .id = US_CLIENT_CODEX,
    .name = "codex",
    .display_name = "Codex",
    .program = "codex",
    .format = &us_toml_format,
    .config_dir = codex_config_dir,
    .config_path = codex_config_path,
    .watched_paths = codex_watched_paths,
    .apply = codex_apply,
    .is_connected = codex_is_connected,
  };

  return &connector;
}
