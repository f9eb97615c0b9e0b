/* us-connect-opencode.c: OpenCode merges $XDG_CONFIG_HOME/opencode/
 * config.json, opencode.json and opencode.jsonc, in that order, all JSONC.
 * We edit the one read last that exists (opencode.json when none does).
 *
 * OpenCode sends a request to a provider by its id, so going through the
 * proxy means a provider of our own: "understudy", speaking Chat Completions
 * (@ai-sdk/openai-compatible) to <proxy>/v1. To keep the user's model, its
 * id is listed under that provider and "model" becomes "understudy/<id>"
 * (small_model likewise, when set); the proxy's chains then route that
 * model name as they would anyone's. With no model configured anywhere we
 * name DEFAULT_MODEL, since OpenCode's own pick depends on which providers
 * it finds logged in. */
#include "us-connect-private.h"
#include "us-jsonc-edit.h"

#include <string.h>

#define DEFAULT_MODEL "claude-sonnet-4-5"

static const char * const provider_path[] = { "provider", US_CONNECT_PROVIDER_NAME, NULL };
static const char * const model_path[] = { "model", NULL };
static const char * const small_model_path[] = { "small_model", NULL };
static const char * const base_url_path[] = {
  "provider", US_CONNECT_PROVIDER_NAME, "options", "baseURL", NULL
};

/* In OpenCode's load order: later files override earlier ones. */
static const char * const config_names[] = { "config.json", "opencode.json", "opencode.jsonc", NULL };

static char *
opencode_config_dir (void)
{
  g_autofree char *config = us_connect_host_config_dir ();

  return g_build_filename (config, "opencode", NULL);
}

static char *
opencode_config_path (void)
{
  g_autofree char *dir = opencode_config_dir ();
  g_autofree char *jsonc = g_build_filename (dir, "opencode.jsonc", NULL);

  if (g_file_test (jsonc, G_FILE_TEST_EXISTS))
    return g_steal_pointer (&jsonc);
  return g_build_filename (dir, "opencode.json", NULL);
}

static GStrv
opencode_watched_paths (void)
{
  g_autofree char *dir = opencode_config_dir ();
  GStrv paths = g_new0 (char *, G_N_ELEMENTS (config_names));

  for (guint i = 0; config_names[i] != NULL; i++)
    paths[i] = g_build_filename (dir, config_names[i], NULL);
  return paths;
}

/* The model OpenCode would use: @text's, else the last one the other
 * global files set. */
static char *
find_model (const char *text)
{
  g_autofree char *edited = opencode_config_path ();
  g_autofree char *dir = opencode_config_dir ();
  char *model = text != NULL ? us_jsonc_get_string (text, US_JSON_JSONC, model_path) : NULL;

  for (guint i = 0; model == NULL && config_names[i] != NULL; i++)
    {
      g_autofree char *path = g_build_filename (dir, config_names[i], NULL);
      g_autofree char *contents = NULL;
      char *found;

      if (g_str_equal (path, edited) || !g_file_get_contents (path, &contents, NULL, NULL))
        continue;
      found = us_jsonc_get_string (contents, US_JSON_JSONC, model_path);
      if (found != NULL)
        {
          g_free (model);
          model = found;
        }
    }
  return model;
}

/* "anthropic/claude-sonnet-4-5" → "claude-sonnet-4-5": OpenCode splits
 * provider and model at the first slash. */
static const char *
model_id (const char *model)
{
  const char *slash = strchr (model, '/');

  return slash != NULL && slash[1] != '\0' ? slash + 1 : model;
}

static JsonNode *
provider_value (const char *proxy_url, const char * const *models)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autofree char *base_url = g_strconcat (proxy_url, "/v1", NULL);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "npm");
  json_builder_add_string_value (builder, "@ai-sdk/openai-compatible");
  json_builder_set_member_name (builder, "name");
  json_builder_add_string_value (builder, "Understudy");
  json_builder_set_member_name (builder, "options");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "baseURL");
  json_builder_add_string_value (builder, base_url);
  json_builder_end_object (builder);
  json_builder_set_member_name (builder, "models");
  json_builder_begin_object (builder);
  for (guint i = 0; models[i] != NULL; i++)
    {
      json_builder_set_member_name (builder, models[i]);
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "name");
      json_builder_add_string_value (builder, models[i]);
      json_builder_end_object (builder);
    }
  json_builder_end_object (builder);
  json_builder_end_object (builder);
  return json_builder_get_root (builder);
}

static char *
opencode_apply (const char *text, const char *proxy_url, GPtrArray *edits, GError **error)
{
  const char *base = text != NULL ? text : "{}\n";
  g_autofree char *model = NULL;
  g_autofree char *small_model = NULL;
  g_autofree char *with_provider = NULL;
  g_autofree char *with_model = NULL;
  g_autofree char *selected = NULL;
  g_autoptr(JsonNode) provider = NULL;
  g_autoptr(JsonNode) selected_node = NULL;
  const char *models[3] = { NULL };

  /* Refuse a broken file before looking for models in it. */
  if (!us_jsonc_validate (base, US_JSON_JSONC, error))
    return NULL;

  model = find_model (text);
  small_model = us_jsonc_get_string (base, US_JSON_JSONC, small_model_path);
  models[0] = model != NULL ? model_id (model) : DEFAULT_MODEL;
  if (small_model != NULL && !g_str_equal (model_id (small_model), models[0]))
    models[1] = model_id (small_model);

  provider = provider_value (proxy_url, models);
  with_provider = us_jsonc_set_recorded (base, US_JSON_JSONC, provider_path, provider, edits, error);
  if (with_provider == NULL)
    return NULL;

  selected = g_strconcat (US_CONNECT_PROVIDER_NAME "/", models[0], NULL);
  selected_node = json_node_init_string (json_node_alloc (), selected);
  with_model = us_jsonc_set_recorded (with_provider, US_JSON_JSONC, model_path,
                                      selected_node, edits, error);
  if (with_model == NULL || small_model == NULL)
    return g_steal_pointer (&with_model);

  g_free (selected);
  selected = g_strconcat (US_CONNECT_PROVIDER_NAME "/", model_id (small_model), NULL);
  json_node_set_string (selected_node, selected);
  return us_jsonc_set_recorded (with_model, US_JSON_JSONC, small_model_path,
                                selected_node, edits, error);
}

static gboolean
opencode_is_connected (const char *text, const char *proxy_url)
{
  g_autofree char *model = us_jsonc_get_string (text, US_JSON_JSONC, model_path);
  g_autofree char *base_url = us_jsonc_get_string (text, US_JSON_JSONC, base_url_path);

  return model != NULL && g_str_has_prefix (model, US_CONNECT_PROVIDER_NAME "/")
         && us_connect_url_is_understudy (base_url, proxy_url);
}

const UsClientConnector *
us_connect_opencode_get_connector (void)
{
  static const UsClientConnector connector = {
    .id = US_CLIENT_OPENCODE,
    .name = "opencode",
    .display_name = "OpenCode",
    .program = "opencode",
    .format = &us_jsonc_format,
    .config_dir = opencode_config_dir,
    .config_path = opencode_config_path,
    .watched_paths = opencode_watched_paths,
    .apply = opencode_apply,
    .is_connected = opencode_is_connected,
  };

  return &connector;
}
