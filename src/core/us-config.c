/* us-config.c: reading, validating and atomically saving config.json.
 *
 * Validation walks the document once and stops at the first problem, naming
 * it with a JSONPath-like path ($.chains[0].models[1].provider) so the user
 * can find it. Keys Understudy does not know are left alone, so a config
 * written by a newer version still loads and survives a save.
 */
#include "us-config.h"
#include "us-presets.h"
#include "us-vertex.h"
#include "us-ir.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define DEFAULT_PORT 7355
#define DEFAULT_MAX_BODY_BYTES (32 * 1024 * 1024)
/* A client sends its request at once; a half-sent one holds a descriptor. */
#define DEFAULT_REQUEST_TIMEOUT_S 30
#define DEFAULT_KEEPALIVE_TIMEOUT_S 60
#define DEFAULT_MAX_CONNECTIONS 512
#define TOKEN_BYTES 32

/* Written on first save, so users see the knobs they can turn. */
static const char default_json[] =
  "{\n"
  "  \"version\": 1,\n"
  "  \"listen\": { \"host\": \"127.0.0.1\", \"port\": 7355 },\n"
  "  \"routing\": true,\n"
  "  \"providers\": [\n"
  "    { \"id\": \"anthropic\", \"kind\": \"anthropic\","
  " \"base_url\": \"https://api.anthropic.com\", \"auth\": \"passthrough\" }\n"
  "  ],\n"
  "  \"chains\": [\n"
  "    { \"id\": \"default\", \"match\": [\"*\"], \"models\": [\n"
  "      { \"provider\": \"anthropic\", \"model\": \"*\" } ] }\n"
  "  ],\n"
  "  \"failover\": { \"first_byte_timeout_s\": 60, \"idle_timeout_s\": 120,"
  " \"cooldown_s\": 60, \"quota_threshold\": 0.95 }\n"
  "}\n";

static const char * const kind_names[] = {
  [US_PROVIDER_KIND_ANTHROPIC] = "anthropic",
  [US_PROVIDER_KIND_OPENAI_CHAT] = "openai-chat",
  [US_PROVIDER_KIND_OPENAI_RESPONSES] = "openai-responses",
  [US_PROVIDER_KIND_AZURE_OPENAI] = "azure-openai",
  [US_PROVIDER_KIND_BEDROCK] = "bedrock",
  [US_PROVIDER_KIND_VERTEX_ANTHROPIC] = "vertex-anthropic",
  [US_PROVIDER_KIND_VERTEX_OPENAI] = "vertex-openai",
};

static const char * const auth_names[] = {
  [US_AUTH_PASSTHROUGH] = "passthrough",
  [US_AUTH_KEY] = "key",
  [US_AUTH_NONE] = "none",
  [US_AUTH_GOOGLE] = "google",
  [US_AUTH_AWS] = "aws",
};

static const char * const client_names[] = {
  "claude-code", "codex", "opencode", "other",
};

struct _UsConfig
{
  GObject parent_instance;

  JsonNode *doc;          /* the root object as read; what save writes */
  char *path;

  char *host;
  guint port;
  char *token;
  gsize max_body_bytes;
  double request_timeout_s;
  double keepalive_timeout_s;
  gsize max_connections;
  gboolean routing;
  gboolean notifications;
  GPtrArray *providers;
  GPtrArray *chains;
  GPtrArray *rules;
  UsFailoverConfig failover;
};

G_DEFINE_TYPE (UsConfig, us_config, G_TYPE_OBJECT)
G_DEFINE_QUARK (us-config-error-quark, us_config_error)

enum {
  PROP_0,
  PROP_ROUTING,
  PROP_NOTIFICATIONS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
provider_config_free (gpointer data)
{
  UsProviderConfig *provider = data;

  g_free (provider->id);
  g_free (provider->base_url);
  g_free (provider->key_env);
  g_strfreev (provider->key_envs);
  g_free (provider->budget);
  g_free (provider->preset);
  g_free (provider->anthropic_base_url);
  g_free (provider->api_version);
  g_free (provider->project);
  g_free (provider->region);
  g_free (provider->credentials_file);
  g_free (provider->aws_profile);
  g_free (provider);
}

static void
chain_model_free (gpointer data)
{
  UsChainModel *model = data;

  g_free (model->provider);
  g_free (model->model);
  g_free (model->price);
  g_free (model->budget);
  g_free (model);
}

static void
chain_config_free (gpointer data)
{
  UsChainConfig *chain = data;

  g_free (chain->id);
  g_strfreev (chain->match);
  g_ptr_array_unref (chain->models);
  g_free (chain);
}

static void
rule_config_free (gpointer data)
{
  UsRuleConfig *rule = data;

  g_free (rule->chain);
  g_free (rule->client);
  g_free (rule->model);
  g_free (rule);
}

/* Validation helpers. Each returns FALSE with @error set on a bad value. */

typedef struct {
  const char *file;  /* NULL for in-memory data */
  GError **error;
} Check;

static gboolean fail (Check      *check,
                      const char *path,
                      const char *format,
                      ...) G_GNUC_PRINTF (3, 4);

static gboolean
fail (Check      *check,
      const char *path,
      const char *format,
      ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  if (check->file != NULL)
    g_set_error (check->error, US_CONFIG_ERROR, US_CONFIG_ERROR_INVALID,
                 "%s: %s: %s", check->file, path, message);
  else
    g_set_error (check->error, US_CONFIG_ERROR, US_CONFIG_ERROR_INVALID,
                 "%s: %s", path, message);
  return FALSE;
}

/* How a value looks to the user, for the "(got …)" part of a message. */
static char *
describe (JsonNode *node)
{
  if (node == NULL)
    return g_strdup ("nothing");

  switch (json_node_get_node_type (node))
    {
    case JSON_NODE_OBJECT:
      return g_strdup ("an object");
    case JSON_NODE_ARRAY:
      return g_strdup ("an array");
    case JSON_NODE_NULL:
      return g_strdup ("null");
    case JSON_NODE_VALUE:
    default:
      break;
    }

  switch (json_node_get_value_type (node))
    {
    case G_TYPE_STRING:
      {
        const char *string = json_node_get_string (node);

        /* A long string would drown the message. */
        if (g_utf8_strlen (string, -1) > 40)
          {
            g_autofree char *start = g_utf8_substring (string, 0, 40);

            return g_strdup_printf ("\"%s…\"", start);
          }
        return g_strdup_printf ("\"%s\"", string);
      }
    case G_TYPE_BOOLEAN:
      return g_strdup (json_node_get_boolean (node) ? "true" : "false");
    case G_TYPE_INT64:
      return g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (node));
    default:
      return g_strdup_printf ("%g", json_node_get_double (node));
    }
}

static gboolean
fail_expected (Check      *check,
               const char *path,
               const char *expected,
               JsonNode   *got)
{
  g_autofree char *got_text = describe (got);

  return fail (check, path, "expected %s (got %s)", expected, got_text);
}

static gboolean
fail_member (Check      *check,
             JsonObject *object,
             const char *path,
             const char *key,
             const char *expected)
{
  g_autofree char *member_path = g_strdup_printf ("%s.%s", path, key);

  return fail_expected (check, member_path, expected,
                        json_object_get_member (object, key));
}

static gboolean
is_value_of_type (JsonNode *node,
                  GType     type)
{
  return JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == type;
}

/* Absent → *out = NULL. Empty strings are refused: no field means "". */
static gboolean
get_string (Check       *check,
            JsonObject  *object,
            const char  *path,
            const char  *key,
            gboolean     required,
            const char **out)
{
  JsonNode *node = json_object_get_member (object, key);

  *out = NULL;
  if (node == NULL && !required)
    return TRUE;
  if (node == NULL || !is_value_of_type (node, G_TYPE_STRING)
      || *json_node_get_string (node) == '\0')
    return fail_member (check, object, path, key, "a non-empty string");

  *out = json_node_get_string (node);
  return TRUE;
}

/* Absent → @out is left as it is (its default). */
static gboolean
get_boolean (Check      *check,
             JsonObject *object,
             const char *path,
             const char *key,
             gboolean   *out)
{
  JsonNode *node = json_object_get_member (object, key);

  if (node == NULL)
    return TRUE;
  if (!is_value_of_type (node, G_TYPE_BOOLEAN))
    return fail_member (check, object, path, key, "true or false");

  *out = json_node_get_boolean (node);
  return TRUE;
}

static gboolean
get_tri (Check      *check,
         JsonObject *object,
         const char *path,
         const char *key,
         UsTri      *out)
{
  gboolean value = FALSE;

  *out = US_TRI_UNSET;
  if (!get_boolean (check, object, path, key, &value))
    return FALSE;
  if (json_object_has_member (object, key))
    *out = value ? US_TRI_TRUE : US_TRI_FALSE;
  return TRUE;
}

/* Absent → @out is left as it is (its default). */
static gboolean
get_integer (Check      *check,
             JsonObject *object,
             const char *path,
             const char *key,
             gint64      min,
             gint64      max,
             gint64     *out)
{
  JsonNode *node = json_object_get_member (object, key);
  gint64 value;

  if (node == NULL)
    return TRUE;

  value = is_value_of_type (node, G_TYPE_INT64) ? json_node_get_int (node) : 0;
  if (!is_value_of_type (node, G_TYPE_INT64) || value < min || value > max)
    {
      g_autofree char *expected = NULL;

      if (max != G_MAXINT64)
        expected = g_strdup_printf ("an integer from %" G_GINT64_FORMAT
                                    " to %" G_GINT64_FORMAT, min, max);
      else if (min == 0)
        expected = g_strdup ("an integer ≥ 0");
      else
        expected = g_strdup ("an integer > 0");
      return fail_member (check, object, path, key, expected);
    }

  *out = value;
  return TRUE;
}

/* Absent → @out is left as it is. Integers and fractions are both numbers. */
static gboolean
get_number (Check      *check,
            JsonObject *object,
            const char *path,
            const char *key,
            double     *out)
{
  JsonNode *node = json_object_get_member (object, key);

  if (node == NULL)
    return TRUE;
  if (!is_value_of_type (node, G_TYPE_INT64) && !is_value_of_type (node, G_TYPE_DOUBLE))
    return fail_member (check, object, path, key, "a number");

  *out = json_node_get_double (node);
  return TRUE;
}

static gboolean
get_positive_number (Check      *check,
                     JsonObject *object,
                     const char *path,
                     const char *key,
                     double     *out)
{
  double value = 1;

  if (!get_number (check, object, path, key, &value))
    return FALSE;
  if (!(value > 0))
    return fail_member (check, object, path, key, "a number > 0");
  if (json_object_has_member (object, key))
    *out = value;
  return TRUE;
}

static gboolean
get_object (Check       *check,
            JsonObject  *object,
            const char  *path,
            const char  *key,
            gboolean     required,
            JsonObject **out)
{
  JsonNode *node = json_object_get_member (object, key);

  *out = NULL;
  if (node == NULL && !required)
    return TRUE;
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return fail_member (check, object, path, key, "an object");

  *out = json_node_get_object (node);
  return TRUE;
}

static gboolean
get_array (Check       *check,
           JsonObject  *object,
           const char  *path,
           const char  *key,
           gboolean     required,
           JsonArray  **out)
{
  JsonNode *node = json_object_get_member (object, key);

  *out = NULL;
  if (node == NULL && !required)
    return TRUE;
  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    return fail_member (check, object, path, key, "an array");

  *out = json_node_get_array (node);
  return TRUE;
}

/* The element of @array at @index must be an object; *path is its path. */
static gboolean
get_element_object (Check       *check,
                    JsonArray   *array,
                    guint        index,
                    const char  *array_path,
                    char       **path,
                    JsonObject **out)
{
  JsonNode *node = json_array_get_element (array, index);

  *path = g_strdup_printf ("%s[%u]", array_path, index);
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return fail_expected (check, *path, "an object", node);

  *out = json_node_get_object (node);
  return TRUE;
}

/* A string that must be one of @names; its index goes to @out. */
static gboolean
get_enum (Check              *check,
          JsonObject         *object,
          const char         *path,
          const char         *key,
          gboolean            required,
          const char * const *names,
          guint               n_names,
          int                *out)
{
  JsonNode *node = json_object_get_member (object, key);
  g_autoptr(GString) expected = NULL;

  if (node == NULL && !required)
    return TRUE;

  for (guint i = 0; node != NULL && is_value_of_type (node, G_TYPE_STRING) && i < n_names; i++)
    {
      if (g_str_equal (json_node_get_string (node), names[i]))
        {
          *out = i;
          return TRUE;
        }
    }

  expected = g_string_new ("one of: ");
  for (guint i = 0; i < n_names; i++)
    g_string_append_printf (expected, "%s%s", i > 0 ? ", " : "", names[i]);
  return fail_member (check, object, path, key, expected->str);
}

/* An element's "id", unique in its array: @seen maps each id already read to
 * its element's path, for the duplicate message. */
static gboolean
get_id (Check       *check,
        JsonObject  *object,
        const char  *path,
        GHashTable  *seen,
        const char **out)
{
  const char *first;

  if (!get_string (check, object, path, "id", TRUE, out))
    return FALSE;

  first = g_hash_table_lookup (seen, *out);
  if (first != NULL)
    return fail (check, path, "duplicate id \"%s\" (already used by %s)", *out, first);

  g_hash_table_insert (seen, g_strdup (*out), g_strdup (path));
  return TRUE;
}

static gboolean
parse_budget (Check       *check,
              JsonObject  *parent,
              const char  *parent_path,
              UsBudget   **out)
{
  JsonObject *object = NULL;
  g_autofree char *path = g_strdup_printf ("%s.budget", parent_path);
  g_autofree UsBudget *budget = g_new0 (UsBudget, 1);
  static const char * const periods[] = { "day", "week" };
  int per = US_BUDGET_PER_DAY;

  *out = NULL;
  if (!get_object (check, parent, parent_path, "budget", FALSE, &object))
    return FALSE;
  if (object == NULL)
    return TRUE;

  if (!get_positive_number (check, object, path, "requests", &budget->requests)
      || !get_positive_number (check, object, path, "tokens", &budget->tokens)
      || !get_positive_number (check, object, path, "usd", &budget->usd))
    return FALSE;
  if (budget->requests == 0 && budget->tokens == 0 && budget->usd == 0)
    return fail (check, path, "expected one of \"requests\", \"tokens\" or \"usd\" (got none)");

  if (!get_enum (check, object, path, "per", TRUE, periods, G_N_ELEMENTS (periods), &per))
    return FALSE;
  budget->per = per;

  *out = g_steal_pointer (&budget);
  return TRUE;
}

static gboolean
parse_price (Check       *check,
             JsonObject  *parent,
             const char  *parent_path,
             UsPrice    **out)
{
  JsonObject *object = NULL;
  g_autofree char *path = g_strdup_printf ("%s.price", parent_path);
  g_autofree UsPrice *price = g_new0 (UsPrice, 1);
  const char *keys[] = { "input", "output", "cache_read", "cache_write" };
  double *fields[] = { &price->input, &price->output, &price->cache_read, &price->cache_write };

  *out = NULL;
  if (!get_object (check, parent, parent_path, "price", FALSE, &object))
    return FALSE;
  if (object == NULL)
    return TRUE;

  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    {
      /* Without cache_read or cache_write, charge the input price: no
       * guess at a provider's cache pricing the user did not state. */
      gboolean required = i < 2;

      *fields[i] = -1;
      if (!get_number (check, object, path, keys[i], fields[i]))
        return FALSE;
      if ((required && !json_object_has_member (object, keys[i]))
          || (json_object_has_member (object, keys[i]) && *fields[i] < 0))
        return fail_member (check, object, path, keys[i], "a number ≥ 0");
    }
  if (price->cache_read < 0)
    price->cache_read = price->input;
  if (price->cache_write < 0)
    price->cache_write = price->input;

  *out = g_steal_pointer (&price);
  return TRUE;
}

static gboolean
is_valid_provider_id (const char *id)
{
  for (const char *p = id; *p != '\0'; p++)
    {
      if (!g_ascii_islower (*p) && !g_ascii_isdigit (*p)
          && *p != '.' && *p != '_' && *p != '-')
        return FALSE;
    }
  return TRUE;
}

/* Users do paste the key itself here; an error or summary must then not
 * repeat it, so only a plausible variable name is accepted. */
static gboolean
is_env_name (const char *name)
{
  if (!g_ascii_isalpha (*name) && *name != '_')
    return FALSE;
  for (const char *p = name; *p != '\0'; p++)
    {
      if (!g_ascii_isalnum (*p) && *p != '_')
        return FALSE;
    }
  return TRUE;
}

static gboolean
fail_env_name (Check      *check,
               const char *path)
{
  return fail (check, path,
               "expected the name of an environment variable, such as DEEPSEEK_API_KEY "
               "(got something else; a key itself belongs in the keyring or that variable)");
}

/* "key_env": one variable name, or an array of them (a key pool, tried in
 * that order). Absent → *out = NULL. */
static gboolean
get_key_envs (Check       *check,
              JsonObject  *object,
              const char  *path,
              GStrv       *out)
{
  JsonNode *node = json_object_get_member (object, "key_env");
  g_autofree char *member_path = g_strdup_printf ("%s.key_env", path);
  g_autoptr(GStrvBuilder) builder = NULL;
  JsonArray *array;

  *out = NULL;
  if (node == NULL)
    return TRUE;
  if (is_value_of_type (node, G_TYPE_STRING))
    {
      if (!is_env_name (json_node_get_string (node)))
        return fail_env_name (check, member_path);
      builder = g_strv_builder_new ();
      g_strv_builder_add (builder, json_node_get_string (node));
      *out = g_strv_builder_end (builder);
      return TRUE;
    }
  if (!JSON_NODE_HOLDS_ARRAY (node) || json_array_get_length (json_node_get_array (node)) == 0)
    return fail_expected (check, member_path,
                          "the name of an environment variable, or a non-empty array of them", node);

  array = json_node_get_array (node);
  builder = g_strv_builder_new ();
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *element = json_array_get_element (array, i);
      g_autofree char *element_path = g_strdup_printf ("%s[%u]", member_path, i);
      const char *name;

      if (!is_value_of_type (element, G_TYPE_STRING))
        return fail_expected (check, element_path, "the name of an environment variable", element);
      name = json_node_get_string (element);
      if (!is_env_name (name))
        return fail_env_name (check, element_path);
      for (guint j = 0; j < i; j++)
        if (g_strcmp0 (json_array_get_string_element (array, j), name) == 0)
          return fail (check, element_path, "%s is already in the pool (at [%u])", name, j);
      g_strv_builder_add (builder, name);
    }
  *out = g_strv_builder_end (builder);
  return TRUE;
}

static char *
normalize_base_url (const char *url)
{
  g_autoptr(GUri) uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
  const char *scheme;
  gsize length;

  if (uri == NULL)
    return NULL;
  scheme = g_uri_get_scheme (uri);
  if ((g_ascii_strcasecmp (scheme, "http") != 0 && g_ascii_strcasecmp (scheme, "https") != 0)
      || g_uri_get_host (uri) == NULL || *g_uri_get_host (uri) == '\0')
    return NULL;

  /* Paths are appended to it ("/v1/messages"), so no trailing slash. */
  length = strlen (url);
  while (length > 0 && url[length - 1] == '/')
    length--;
  return g_strndup (url, length);
}

/* "preset": NAME, else a provider id that names a preset (then only while
 * the kind, if given, is the preset's: under another kind it is a name). */
static gboolean
find_preset (Check           *check,
             JsonObject      *object,
             const char      *path,
             const char      *id,
             const UsPreset **out)
{
  const char *name;
  const UsPreset *preset;

  *out = NULL;
  if (!get_string (check, object, path, "preset", FALSE, &name))
    return FALSE;
  if (name == NULL)
    {
      *out = us_preset_lookup (id);
      return TRUE;
    }
  preset = us_preset_lookup (name);
  if (preset == NULL)
    {
      guint n_presets;
      const UsPreset *presets = us_presets_get (&n_presets);
      g_autoptr(GString) expected = g_string_new ("one of: ");

      for (guint i = 0; i < n_presets; i++)
        g_string_append_printf (expected, "%s%s", i > 0 ? ", " : "", presets[i].id);
      return fail_member (check, object, path, "preset", expected->str);
    }
  *out = preset;
  return TRUE;
}

/* azure-openai's own fields; elsewhere they would be set and ignored, so
 * they are refused there. */
static gboolean
parse_azure (Check            *check,
             JsonObject       *object,
             const char       *path,
             UsProviderConfig *provider)
{
  static const char * const apis[] = { "chat", "responses" };
  const char *api_version = NULL;
  int api = 0;

  if (provider->kind != US_PROVIDER_KIND_AZURE_OPENAI)
    {
      static const char * const azure_only[] = { "api_version", "api" };

      for (guint i = 0; i < G_N_ELEMENTS (azure_only); i++)
        if (json_object_has_member (object, azure_only[i]))
          {
            g_autofree char *field = g_strdup_printf ("%s.%s", path, azure_only[i]);

            return fail (check, field, "only an azure-openai provider takes %s", azure_only[i]);
          }
      return TRUE;
    }
  if (!get_string (check, object, path, "api_version", FALSE, &api_version)
      || !get_enum (check, object, path, "api", FALSE, apis, G_N_ELEMENTS (apis), &api))
    return FALSE;
  if (api_version != NULL && (*api_version == '\0' || strpbrk (api_version, "&#?/ ") != NULL))
    return fail_member (check, object, path, "api_version", "a version such as " US_AZURE_DEFAULT_API_VERSION);
  provider->api_version = g_strdup (api_version ? api_version : US_AZURE_DEFAULT_API_VERSION);
  provider->responses_api = api == 1;
  return TRUE;
}

/* A vertex provider's region: where its default host and its path say
 * "locations/…". */
static gboolean
get_region (Check       *check,
            JsonObject  *object,
            const char  *path,
            const char **region)
{
  if (!get_string (check, object, path, "region", TRUE, region))
    return FALSE;
  if (!us_vertex_region_is_valid (*region))
    return fail_member (check, object, path, "region", "a Google Cloud location such as us-east5 or global");
  return TRUE;
}

/* vertex-anthropic's and vertex-openai's own fields; elsewhere they would be
 * set and ignored, so they are refused there (region belongs to bedrock
 * too, which reads it itself). */
static gboolean
parse_vertex (Check            *check,
              JsonObject       *object,
              const char       *path,
              UsProviderConfig *provider)
{
  const char *project;
  const char *region;
  const char *credentials_file;

  if (!us_vertex_is_vertex (provider->kind))
    {
      static const char * const vertex_only[] = { "project", "credentials_file" };

      for (guint i = 0; i < G_N_ELEMENTS (vertex_only); i++)
        if (json_object_has_member (object, vertex_only[i]))
          {
            g_autofree char *field = g_strdup_printf ("%s.%s", path, vertex_only[i]);

            return fail (check, field, "only a vertex-anthropic or vertex-openai provider takes %s",
                         vertex_only[i]);
          }
      if (json_object_has_member (object, "region") && provider->kind != US_PROVIDER_KIND_BEDROCK)
        {
          g_autofree char *field = g_strdup_printf ("%s.region", path);

          return fail (check, field, "only a bedrock, vertex-anthropic or vertex-openai provider takes region");
        }
      if (provider->auth == US_AUTH_GOOGLE)
        {
          g_autofree char *field = g_strdup_printf ("%s.auth", path);

          return fail (check, field, "auth google is for vertex-anthropic and vertex-openai providers");
        }
      return TRUE;
    }
  if (provider->auth != US_AUTH_GOOGLE)
    return fail_member (check, object, path, "auth", "google (Vertex AI takes Google OAuth tokens)");
  if (provider->key_env != NULL)
    {
      g_autofree char *field = g_strdup_printf ("%s.key_env", path);

      return fail (check, field, "a vertex provider has no key: its tokens come from Google credentials "
                   "(credentials_file, GOOGLE_APPLICATION_CREDENTIALS or gcloud)");
    }
  if (provider->anthropic_base_url != NULL)
    {
      g_autofree char *field = g_strdup_printf ("%s.anthropic_base_url", path);

      return fail (check, field, "a vertex provider's endpoints follow from base_url, project and region");
    }
  if (!get_string (check, object, path, "project", TRUE, &project)
      || !get_region (check, object, path, &region)
      || !get_string (check, object, path, "credentials_file", FALSE, &credentials_file))
    return FALSE;
  if (strpbrk (project, "/?#% ") != NULL)
    return fail_member (check, object, path, "project", "a Google Cloud project id such as my-project");
  if (credentials_file != NULL && !g_path_is_absolute (credentials_file)
      && !g_str_has_prefix (credentials_file, "~/"))
    return fail_member (check, object, path, "credentials_file",
                        "an absolute path (or one starting with ~/) to a service-account or authorized-user JSON");
  provider->project = g_strdup (project);
  provider->region = g_strdup (region);
  provider->credentials_file = g_strdup (credentials_file);
  return TRUE;
}

static gboolean
is_aws_name (const char *text)
{
  if (*text == '\0')
    return FALSE;
  for (const char *p = text; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && *p != '-' && *p != '_')
      return FALSE;
  return TRUE;
}

/* bedrock's region (its endpoint's and the one signed for) and profile;
 * elsewhere aws_profile and auth: aws would be set and ignored. */
static gboolean
parse_bedrock (Check       *check,
               JsonObject  *object,
               const char  *path,
               int          kind,
               const char **region)
{
  const char *profile = NULL;

  *region = NULL;
  if (kind != US_PROVIDER_KIND_BEDROCK)
    {
      if (json_object_has_member (object, "aws_profile"))
        {
          g_autofree char *field = g_strdup_printf ("%s.aws_profile", path);

          return fail (check, field, "only a bedrock provider takes aws_profile");
        }
      return TRUE;
    }
  if (!get_string (check, object, path, "region", TRUE, region)
      || !get_string (check, object, path, "aws_profile", FALSE, &profile))
    return FALSE;
  if (!is_aws_name (*region))
    return fail_member (check, object, path, "region", "an AWS region such as us-east-1");
  if (profile != NULL && !is_aws_name (profile))
    return fail_member (check, object, path, "aws_profile", "a profile name from ~/.aws/credentials");
  return TRUE;
}

static gboolean
parse_provider (Check       *check,
                JsonObject  *object,
                const char  *path,
                GHashTable  *seen,
                GPtrArray   *providers)
{
  const char *id;
  const char *base_url;
  const char *anthropic_base_url;
  g_auto(GStrv) key_envs = NULL;
  g_autofree char *vertex_url = NULL;
  const char *region;
  g_autofree char *bedrock_url = NULL;
  int kind = -1;
  int auth = -1;
  const UsPreset *preset;
  gboolean named = json_object_has_member (object, "preset");
  UsProviderConfig *provider;

  if (!get_id (check, object, path, seen, &id))
    return FALSE;
  if (!is_valid_provider_id (id))
    return fail_member (check, object, path, "id",
                        "lowercase letters, digits, '.', '_' or '-'");
  if (!find_preset (check, object, path, id, &preset))
    return FALSE;

  if (!get_enum (check, object, path, "kind", preset == NULL,
                 kind_names, G_N_ELEMENTS (kind_names), &kind))
    return FALSE;
  if (kind < 0)
    kind = preset->kind;
  /* A preset speaks one wire format: an id under another kind is just a
   * name, an explicit "preset" under another kind a contradiction. */
  if (preset != NULL && preset->kind != (UsProviderKind) kind)
    {
      if (named)
        {
          g_autofree char *kind_path = g_strdup_printf ("%s.kind", path);

          return fail (check, kind_path, "preset %s is of kind %s (got %s)", preset->id,
                       us_provider_kind_to_string (preset->kind), kind_names[kind]);
        }
      preset = NULL;
    }

  if (!get_string (check, object, path, "base_url", FALSE, &base_url)
      || !get_string (check, object, path, "anthropic_base_url", FALSE, &anthropic_base_url)
      || !parse_bedrock (check, object, path, kind, &region))
    return FALSE;
  /* The vendor's Anthropic endpoint belongs with its own base URL: a
   * base_url of the user's (a gateway, a mirror) is not that vendor. */
  if (anthropic_base_url == NULL && preset != NULL
      && (base_url == NULL || g_strcmp0 (base_url, preset->base_url) == 0))
    anthropic_base_url = preset->anthropic_base_url;
  if (base_url == NULL && preset != NULL)
    base_url = preset->base_url;
  else if (base_url == NULL && kind == US_PROVIDER_KIND_ANTHROPIC)
    base_url = "https://api.anthropic.com";
  else if (base_url == NULL && us_vertex_is_vertex (kind))
    {
      const char *vertex_region;

      if (!get_region (check, object, path, &vertex_region))
        return FALSE;
      base_url = vertex_url = us_vertex_default_base_url (vertex_region);
    }
  else if (base_url == NULL && kind == US_PROVIDER_KIND_BEDROCK)
    base_url = bedrock_url = g_strdup_printf ("https://bedrock-runtime.%s.amazonaws.com", region);
  if (base_url == NULL)
    return fail_member (check, object, path, "base_url", "an http or https URL");

  if (!get_enum (check, object, path, "auth", FALSE,
                 auth_names, G_N_ELEMENTS (auth_names), &auth)
      || !get_key_envs (check, object, path, &key_envs))
    return FALSE;
  if (key_envs == NULL && preset != NULL && preset->key_env != NULL)
    {
      key_envs = g_new0 (char *, 2);
      key_envs[0] = g_strdup (preset->key_env);
    }
  if (auth < 0 && preset != NULL)
    auth = preset->auth;
  else if (auth < 0)
    auth = kind == US_PROVIDER_KIND_ANTHROPIC ? US_AUTH_PASSTHROUGH
           : kind == US_PROVIDER_KIND_BEDROCK ? US_AUTH_AWS
           : us_vertex_is_vertex (kind) ? US_AUTH_GOOGLE : US_AUTH_KEY;
  if (auth == US_AUTH_AWS && kind != US_PROVIDER_KIND_BEDROCK)
    return fail_member (check, object, path, "auth", "passthrough, key or none (aws is for bedrock providers)");
  if (kind == US_PROVIDER_KIND_BEDROCK && auth != US_AUTH_AWS && auth != US_AUTH_KEY)
    return fail_member (check, object, path, "auth", "aws or key for a bedrock provider");
  if (auth == US_AUTH_AWS && json_object_has_member (object, "key_env"))
    {
      g_autofree char *key_env_path = g_strdup_printf ("%s.key_env", path);

      return fail (check, key_env_path, "auth: aws takes AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, not key_env");
    }
  if (kind == US_PROVIDER_KIND_BEDROCK && auth == US_AUTH_KEY && key_envs == NULL)
    {
      key_envs = g_new0 (char *, 2);
      key_envs[0] = g_strdup (US_BEDROCK_KEY_ENV);
    }

  provider = g_new0 (UsProviderConfig, 1);
  g_ptr_array_add (providers, provider);
  provider->id = g_strdup (id);
  provider->kind = kind;
  provider->auth = auth;
  provider->key_env = key_envs ? g_strdup (key_envs[0]) : NULL;
  provider->key_envs = g_steal_pointer (&key_envs);
  provider->preset = preset ? g_strdup (preset->id) : NULL;
  provider->region = g_strdup (region);
  if (kind == US_PROVIDER_KIND_BEDROCK)
    provider->aws_profile = g_strdup (json_object_get_string_member_with_default (object, "aws_profile", NULL));
  provider->base_url = normalize_base_url (base_url);
  if (provider->base_url == NULL)
    return fail_member (check, object, path, "base_url", "an http or https URL");
  if (anthropic_base_url != NULL)
    {
      provider->anthropic_base_url = normalize_base_url (anthropic_base_url);
      if (provider->anthropic_base_url == NULL)
        return fail_member (check, object, path, "anthropic_base_url", "an http or https URL");
    }

  return parse_azure (check, object, path, provider)
    && parse_vertex (check, object, path, provider)
    && parse_budget (check, object, path, &provider->budget);
}

static gboolean
parse_providers (Check      *check,
                 JsonObject *root,
                 GPtrArray  *providers)
{
  JsonArray *array;
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

  if (!get_array (check, root, "$", "providers", TRUE, &array))
    return FALSE;
  if (json_array_get_length (array) == 0)
    return fail (check, "$.providers", "expected at least one provider (got an empty array)");

  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      g_autofree char *path = NULL;
      JsonObject *object = NULL;

      if (!get_element_object (check, array, i, "$.providers", &path, &object)
          || !parse_provider (check, object, path, seen, providers))
        return FALSE;
    }
  return TRUE;
}

/* Names the ids a reference could have used, for "unknown …" messages;
 * @id_offset locates the id in each item's struct. */
static char *
list_ids (GPtrArray *items,
          glong      id_offset)
{
  GString *ids = g_string_new (NULL);

  for (guint i = 0; i < items->len; i++)
    g_string_append_printf (ids, "%s%s", i > 0 ? ", " : "",
                            G_STRUCT_MEMBER (char *, g_ptr_array_index (items, i), id_offset));
  return g_string_free (ids, FALSE);
}

/* What the config leaves out of a chain model, the preset's model table
 * supplies: above all the output limit, so a client's 128,000 max_tokens
 * is clamped to what the model accepts. */
static void
fill_from_preset (const UsProviderConfig *provider,
                  UsChainModel           *chain_model)
{
  const UsPreset *preset = provider->preset ? us_preset_lookup (provider->preset) : NULL;
  const UsPresetModel *m = preset ? us_preset_lookup_model (preset, chain_model->model) : NULL;

  if (m == NULL)
    return;
  if (chain_model->context_tokens == 0)
    chain_model->context_tokens = m->context_tokens;
  if (chain_model->max_output_tokens == 0)
    chain_model->max_output_tokens = m->max_output_tokens;
  if (chain_model->price == NULL && m->input >= 0 && m->output >= 0)
    {
      chain_model->price = g_new0 (UsPrice, 1);
      chain_model->price->input = m->input;
      chain_model->price->output = m->output;
      chain_model->price->cache_read = m->cache_read >= 0 ? m->cache_read : m->input;
    }
}

static gboolean
parse_chain_model (Check       *check,
                   JsonObject  *object,
                   const char  *path,
                   UsConfig    *self,
                   GPtrArray   *models)
{
  const char *provider;
  const char *model = NULL;
  UsChainModel *chain_model;

  if (!get_string (check, object, path, "provider", TRUE, &provider)
      || !get_string (check, object, path, "model", TRUE, &model))
    return FALSE;

  if (us_config_lookup_provider (self, provider) == NULL)
    {
      g_autofree char *provider_path = g_strdup_printf ("%s.provider", path);
      g_autofree char *ids = list_ids (self->providers,
                                                G_STRUCT_OFFSET (UsProviderConfig, id));

      return fail (check, provider_path, "unknown provider \"%s\" (expected one of: %s)",
                   provider, ids);
    }

  chain_model = g_new0 (UsChainModel, 1);
  g_ptr_array_add (models, chain_model);
  chain_model->provider = g_strdup (provider);
  chain_model->model = g_strdup (model);

  if (!get_integer (check, object, path, "context_tokens", 1, G_MAXINT64,
                    &chain_model->context_tokens)
      || !get_integer (check, object, path, "max_output_tokens", 1, G_MAXINT64,
                       &chain_model->max_output_tokens)
      || !parse_price (check, object, path, &chain_model->price)
      || !parse_budget (check, object, path, &chain_model->budget))
    return FALSE;
  fill_from_preset (us_config_lookup_provider (self, provider), chain_model);
  return TRUE;
}

static gboolean
parse_chain (Check       *check,
             JsonObject  *object,
             const char  *path,
             GHashTable  *seen,
             UsConfig    *self)
{
  const char *id;
  JsonArray *match;
  JsonArray *models;
  g_autofree char *match_path = g_strdup_printf ("%s.match", path);
  g_autofree char *models_path = g_strdup_printf ("%s.models", path);
  g_autoptr(GStrvBuilder) globs = g_strv_builder_new ();
  UsChainConfig *chain;

  if (!get_id (check, object, path, seen, &id)
      || !get_array (check, object, path, "match", FALSE, &match)
      || !get_array (check, object, path, "models", TRUE, &models))
    return FALSE;

  for (guint i = 0; match != NULL && i < json_array_get_length (match); i++)
    {
      JsonNode *node = json_array_get_element (match, i);

      if (!is_value_of_type (node, G_TYPE_STRING) || *json_node_get_string (node) == '\0')
        {
          g_autofree char *glob_path = g_strdup_printf ("%s[%u]", match_path, i);

          return fail_expected (check, glob_path, "a non-empty string", node);
        }
      g_strv_builder_add (globs, json_node_get_string (node));
    }

  if (json_array_get_length (models) == 0)
    return fail (check, models_path, "expected at least one model (got an empty array)");

  chain = g_new0 (UsChainConfig, 1);
  g_ptr_array_add (self->chains, chain);
  chain->id = g_strdup (id);
  chain->match = g_strv_builder_end (globs);
  chain->models = g_ptr_array_new_with_free_func (chain_model_free);

  for (guint i = 0; i < json_array_get_length (models); i++)
    {
      g_autofree char *model_path = NULL;
      JsonObject *model = NULL;

      if (!get_element_object (check, models, i, models_path, &model_path, &model)
          || !parse_chain_model (check, model, model_path, self, chain->models))
        return FALSE;
    }
  return TRUE;
}

static gboolean
parse_chains (Check      *check,
              JsonObject *root,
              UsConfig   *self)
{
  JsonArray *array;
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

  if (!get_array (check, root, "$", "chains", TRUE, &array))
    return FALSE;
  if (json_array_get_length (array) == 0)
    return fail (check, "$.chains", "expected at least one chain (got an empty array)");

  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      g_autofree char *path = NULL;
      JsonObject *object = NULL;

      if (!get_element_object (check, array, i, "$.chains", &path, &object)
          || !parse_chain (check, object, path, seen, self))
        return FALSE;
    }
  return TRUE;
}

static gboolean
parse_rule (Check      *check,
            JsonObject *object,
            const char *path,
            UsConfig   *self)
{
  JsonObject *when;
  const char *chain;
  const char *model = NULL;
  g_autofree char *when_path = g_strdup_printf ("%s.when", path);
  int client = -1;
  UsRuleConfig *rule;

  if (!get_string (check, object, path, "chain", TRUE, &chain))
    return FALSE;
  if (us_config_lookup_chain (self, chain) == NULL)
    {
      g_autofree char *chain_path = g_strdup_printf ("%s.chain", path);
      g_autofree char *ids = list_ids (self->chains,
                                                G_STRUCT_OFFSET (UsChainConfig, id));

      return fail (check, chain_path, "unknown chain \"%s\" (expected one of: %s)", chain, ids);
    }

  rule = g_new0 (UsRuleConfig, 1);
  g_ptr_array_add (self->rules, rule);
  rule->chain = g_strdup (chain);
  rule->thinking = rule->images = rule->tools = US_TRI_UNSET;

  /* No "when" at all reads like an empty one: the rule always applies. */
  if (!get_object (check, object, path, "when", FALSE, &when))
    return FALSE;
  if (when == NULL)
    return TRUE;

  if (!get_enum (check, when, when_path, "client", FALSE,
                 client_names, G_N_ELEMENTS (client_names), &client)
      || !get_string (check, when, when_path, "model", FALSE, &model)
      || !get_tri (check, when, when_path, "thinking", &rule->thinking)
      || !get_tri (check, when, when_path, "images", &rule->images)
      || !get_tri (check, when, when_path, "tools", &rule->tools)
      || !get_integer (check, when, when_path, "min_input_tokens", 0, G_MAXINT64,
                       &rule->min_input_tokens))
    return FALSE;

  rule->client = client >= 0 ? g_strdup (client_names[client]) : NULL;
  rule->model = g_strdup (model);
  return TRUE;
}

static gboolean
parse_rules (Check      *check,
             JsonObject *root,
             UsConfig   *self)
{
  JsonArray *array;

  if (!get_array (check, root, "$", "rules", FALSE, &array))
    return FALSE;

  for (guint i = 0; array != NULL && i < json_array_get_length (array); i++)
    {
      g_autofree char *path = NULL;
      JsonObject *object = NULL;

      if (!get_element_object (check, array, i, "$.rules", &path, &object)
          || !parse_rule (check, object, path, self))
        return FALSE;
    }
  return TRUE;
}

/* The token goes into client URLs (/t/<token>), so only URL-safe bytes. */
static gboolean
is_valid_token (const char *token)
{
  for (const char *p = token; *p != '\0'; p++)
    {
      if (!g_ascii_isalnum (*p) && strchr ("-._~", *p) == NULL)
        return FALSE;
    }
  return TRUE;
}

static gboolean
parse_listen (Check      *check,
              JsonObject *root,
              UsConfig   *self)
{
  JsonObject *listen;
  const char *host;
  const char *token;
  gint64 port = DEFAULT_PORT;
  gint64 max_body_bytes = DEFAULT_MAX_BODY_BYTES;
  double request_timeout_s = DEFAULT_REQUEST_TIMEOUT_S;
  double keepalive_timeout_s = DEFAULT_KEEPALIVE_TIMEOUT_S;
  gint64 max_connections = DEFAULT_MAX_CONNECTIONS;

  if (!get_object (check, root, "$", "listen", FALSE, &listen))
    return FALSE;
  if (listen == NULL)
    return TRUE;

  if (!get_string (check, listen, "$.listen", "host", FALSE, &host)
      || !get_integer (check, listen, "$.listen", "port", 0, 65535, &port)
      || !get_string (check, listen, "$.listen", "token", FALSE, &token)
      || !get_integer (check, listen, "$.listen", "max_body_bytes", 1, G_MAXSSIZE,
                       &max_body_bytes)
      || !get_positive_number (check, listen, "$.listen", "request_timeout_s", &request_timeout_s)
      || !get_positive_number (check, listen, "$.listen", "keepalive_timeout_s", &keepalive_timeout_s)
      || !get_integer (check, listen, "$.listen", "max_connections", 1, G_MAXINT, &max_connections))
    return FALSE;
  if (token != NULL && !is_valid_token (token))
    return fail (check, "$.listen.token",
                 "expected letters, digits, '-', '.', '_' or '~' (got other characters)");

  if (host != NULL)
    {
      g_free (self->host);
      self->host = g_strdup (host);
    }
  self->port = port;
  self->token = g_strdup (token);
  self->max_body_bytes = max_body_bytes;
  self->request_timeout_s = request_timeout_s;
  self->keepalive_timeout_s = keepalive_timeout_s;
  self->max_connections = max_connections;
  return TRUE;
}

static gboolean
parse_failover (Check      *check,
                JsonObject *root,
                UsConfig   *self)
{
  JsonObject *failover;
  UsFailoverConfig *f = &self->failover;

  if (!get_object (check, root, "$", "failover", FALSE, &failover))
    return FALSE;
  if (failover == NULL)
    return TRUE;

  if (!get_positive_number (check, failover, "$.failover", "first_byte_timeout_s",
                            &f->first_byte_timeout_s)
      || !get_positive_number (check, failover, "$.failover", "idle_timeout_s",
                               &f->idle_timeout_s)
      || !get_positive_number (check, failover, "$.failover", "cooldown_s", &f->cooldown_s)
      || !get_positive_number (check, failover, "$.failover", "quota_threshold",
                               &f->quota_threshold)
      || !get_integer (check, failover, "$.failover", "circuit_failures", 1, G_MAXINT64,
                       &f->circuit_failures)
      || !get_positive_number (check, failover, "$.failover", "circuit_error_rate",
                               &f->circuit_error_rate)
      || !get_positive_number (check, failover, "$.failover", "circuit_window_s",
                               &f->circuit_window_s)
      || !get_integer (check, failover, "$.failover", "circuit_min_requests", 1, G_MAXINT64,
                       &f->circuit_min_requests)
      || !get_positive_number (check, failover, "$.failover", "circuit_open_s",
                               &f->circuit_open_s))
    return FALSE;
  if (f->quota_threshold > 1)
    return fail_member (check, failover, "$.failover", "quota_threshold",
                        "a number greater than 0 and at most 1");
  if (f->circuit_error_rate > 1)
    return fail_member (check, failover, "$.failover", "circuit_error_rate",
                        "a number greater than 0 and at most 1");
  return TRUE;
}

static gboolean
parse_desktop (Check      *check,
               JsonObject *root,
               UsConfig   *self)
{
  JsonObject *desktop;

  if (!get_object (check, root, "$", "desktop", FALSE, &desktop))
    return FALSE;
  if (desktop == NULL)
    return TRUE;
  return get_boolean (check, desktop, "$.desktop", "notifications", &self->notifications);
}

/* Fills @self from @doc, which it takes. */
static gboolean
parse_document (UsConfig    *self,
                JsonNode    *doc,
                const char  *file,
                GError     **error)
{
  Check check = { file, error };
  JsonObject *root;
  JsonNode *version;

  self->doc = doc;
  if (!JSON_NODE_HOLDS_OBJECT (doc))
    return fail_expected (&check, "$", "an object", doc);
  root = json_node_get_object (doc);

  version = json_object_get_member (root, "version");
  if (version == NULL || !is_value_of_type (version, G_TYPE_INT64)
      || json_node_get_int (version) != 1)
    return fail_expected (&check, "$.version", "1", version);

  if (!get_boolean (&check, root, "$", "routing", &self->routing))
    return FALSE;

  return parse_listen (&check, root, self)
    && parse_providers (&check, root, self->providers)
    && parse_chains (&check, root, self)
    && parse_rules (&check, root, self)
    && parse_failover (&check, root, self)
    && parse_desktop (&check, root, self);
}

/* "PREFIXline L, column C: not valid JSON: WHAT", as json-glib's errors read. */
static UsConfig *
parse_error_at (const char  *data,
                gsize        offset,
                const char  *prefix,
                const char  *what,
                GError     **error)
{
  guint line = 1, column = 1;

  for (gsize i = 0; i < offset; i++, column++)
    if (data[i] == '\n')
      line++, column = 0;
  g_set_error (error, US_CONFIG_ERROR, US_CONFIG_ERROR_PARSE,
               "%sline %u, column %u: not valid JSON: %s", prefix, line, column, what);
  return NULL;
}

static UsConfig *
new_from_data (const char  *data,
               gssize       length,
               const char  *file,
               GError     **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(UsConfig) self = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *prefix = file != NULL ? g_strdup_printf ("%s: ", file) : g_strdup ("");
  gsize size = length < 0 ? strlen (data) : (gsize) length;
  gsize first = 0, trailing;
  JsonNode *doc;

  /* json-glib takes "5 {…}" or "{…} {…}", keeps the last value and drops
   * (and leaks) the rest: the file must be one object (an array gets
   * "expected an object" below), and nothing else. */
  while (first < size && g_ascii_isspace (data[first]))
    first++;
  if (first < size && data[first] != '{' && data[first] != '[')
    return parse_error_at (data, first, prefix, "a configuration is one JSON object, starting with {", error);
  trailing = us_json_trailing_start (data, size);
  if (trailing > 0)
    return parse_error_at (data, trailing, prefix, "more after the end of the object", error);
  if (!json_parser_load_from_data (parser, data, length, &local_error))
    {
      const char *message = local_error->message;
      guint line, column;
      int consumed = 0;

      /* json-glib says "<data>:LINE:COL: Parse error: WHAT"; only the
       * position and the WHAT mean anything to the user. */
      if (sscanf (message, "<data>:%u:%u: %n", &line, &column, &consumed) == 2 && consumed > 0)
        {
          message += consumed;
          if (g_str_has_prefix (message, "Parse error: "))
            message += strlen ("Parse error: ");
          g_set_error (error, US_CONFIG_ERROR, US_CONFIG_ERROR_PARSE,
                       "%sline %u, column %u: not valid JSON: %s", prefix, line, column, message);
        }
      else
        g_set_error (error, US_CONFIG_ERROR, US_CONFIG_ERROR_PARSE,
                     "%snot valid JSON: %s", prefix, message);
      return NULL;
    }

  doc = json_parser_steal_root (parser);
  if (doc == NULL)
    {
      g_set_error (error, US_CONFIG_ERROR, US_CONFIG_ERROR_PARSE,
                   "%snot valid JSON: the document is empty", prefix);
      return NULL;
    }

  self = g_object_new (US_TYPE_CONFIG, NULL);
  if (!parse_document (self, doc, file, error))
    return NULL;
  return g_steal_pointer (&self);
}

static void
us_config_get_property (GObject    *object,
                        guint       prop_id,
                        GValue     *value,
                        GParamSpec *pspec)
{
  UsConfig *self = US_CONFIG (object);

  switch (prop_id)
    {
    case PROP_ROUTING:
      g_value_set_boolean (value, self->routing);
      break;
    case PROP_NOTIFICATIONS:
      g_value_set_boolean (value, self->notifications);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
us_config_finalize (GObject *object)
{
  UsConfig *self = US_CONFIG (object);

  g_clear_pointer (&self->doc, json_node_unref);
  g_free (self->path);
  g_free (self->host);
  g_free (self->token);
  g_ptr_array_unref (self->providers);
  g_ptr_array_unref (self->chains);
  g_ptr_array_unref (self->rules);

  G_OBJECT_CLASS (us_config_parent_class)->finalize (object);
}

static void
us_config_class_init (UsConfigClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = us_config_get_property;
  object_class->finalize = us_config_finalize;

  /* A published config never changes: these are read-only, and a new
   * value comes as a new UsConfig from the UsConfigStore. */
  properties[PROP_ROUTING] =
    g_param_spec_boolean ("routing", NULL, NULL, TRUE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_NOTIFICATIONS] =
    g_param_spec_boolean ("notifications", NULL, NULL, TRUE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
us_config_init (UsConfig *self)
{
  self->host = g_strdup ("127.0.0.1");
  self->port = DEFAULT_PORT;
  self->max_body_bytes = DEFAULT_MAX_BODY_BYTES;
  self->request_timeout_s = DEFAULT_REQUEST_TIMEOUT_S;
  self->keepalive_timeout_s = DEFAULT_KEEPALIVE_TIMEOUT_S;
  self->max_connections = DEFAULT_MAX_CONNECTIONS;
  self->routing = TRUE;
  self->notifications = TRUE;
  self->providers = g_ptr_array_new_with_free_func (provider_config_free);
  self->chains = g_ptr_array_new_with_free_func (chain_config_free);
  self->rules = g_ptr_array_new_with_free_func (rule_config_free);
  self->failover = (UsFailoverConfig) {
    .first_byte_timeout_s = 60,
    .idle_timeout_s = 120,
    .cooldown_s = 60,
    .quota_threshold = 0.95,
    .circuit_failures = 5,
    .circuit_error_rate = 0.5,
    .circuit_window_s = 60,
    .circuit_min_requests = 10,
    .circuit_open_s = 30,
  };
}

char *
us_config_default_path (void)
{
  return g_build_filename (g_get_user_config_dir (), "understudy", "config.json", NULL);
}

UsConfig *
us_config_new_default (void)
{
  g_autoptr(GError) error = NULL;
  UsConfig *self = new_from_data (default_json, -1, NULL, &error);

  g_assert_no_error (error);
  return self;
}

UsConfig *
us_config_new_from_data (const char  *data,
                         gssize       length,
                         GError     **error)
{
  g_return_val_if_fail (data != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return new_from_data (data, length, NULL, error);
}

UsConfig *
us_config_new_from_file_data (const char  *data,
                              gssize       length,
                              const char  *path,
                              GError     **error)
{
  UsConfig *self;

  g_return_val_if_fail (data != NULL, NULL);
  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  self = new_from_data (data, length, path, error);
  if (self != NULL)
    self->path = g_strdup (path);
  return self;
}

UsConfig *
us_config_new_from_document (JsonNode    *doc,
                             const char  *path,
                             GError     **error)
{
  g_autoptr(UsConfig) self = NULL;

  g_return_val_if_fail (doc != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  self = g_object_new (US_TYPE_CONFIG, NULL);
  if (!parse_document (self, doc, NULL, error))
    return NULL;
  self->path = g_strdup (path);
  return g_steal_pointer (&self);
}

JsonNode *
us_config_dup_document (UsConfig *self)
{
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;

  g_return_val_if_fail (US_IS_CONFIG (self), NULL);

  /* json_node_copy() shares the objects inside; a round trip through text
   * gives a copy that can be edited without touching this snapshot. */
  bytes = us_config_to_bytes (self);
  json_parser_load_from_data (parser, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), &error);
  g_assert_no_error (error);
  return json_parser_steal_root (parser);
}

UsConfig *
us_config_load (const char  *path,
                GError     **error)
{
  g_autofree char *data = NULL;
  gsize length;
  g_autoptr(GError) local_error = NULL;
  UsConfig *self;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!g_file_get_contents (path, &data, &length, &local_error))
    {
      if (!g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        {
          g_set_error (error, US_CONFIG_ERROR, US_CONFIG_ERROR_IO,
                       "%s", local_error->message);
          return NULL;
        }
      self = us_config_new_default ();
    }
  else
    self = new_from_data (data, length, path, error);

  if (self != NULL)
    self->path = g_strdup (path);
  return self;
}

/* $.listen, created when the user's file has none. */
static JsonObject *
get_doc_listen (UsConfig *self)
{
  JsonObject *root = json_node_get_object (self->doc);

  if (!json_object_has_member (root, "listen"))
    json_object_set_object_member (root, "listen", json_object_new ());
  return json_object_get_object_member (root, "listen");
}

GBytes *
us_config_to_bytes (UsConfig *self)
{
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autofree char *data = NULL;
  gsize length;

  g_return_val_if_fail (US_IS_CONFIG (self), NULL);

  json_generator_set_pretty (generator, TRUE);
  json_generator_set_indent (generator, 2);
  json_generator_set_root (generator, self->doc);
  data = json_generator_to_data (generator, &length);
  data = g_realloc (data, length + 2);
  data[length++] = '\n';
  data[length] = '\0';
  return g_bytes_new_take (g_steal_pointer (&data), length);
}

gboolean
us_config_write_bytes (const char  *path,
                       GBytes      *bytes,
                       GError     **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autofree char *target = NULL;
  g_autofree char *dir = NULL;

  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (bytes != NULL, FALSE);

  /* A config kept in a dotfiles repo is often a symlink; replace what it
   * points to, not the link. */
  target = realpath (path, NULL);
  if (target == NULL)
    target = g_strdup (path);

  dir = g_path_get_dirname (target);
  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, US_CONFIG_ERROR, US_CONFIG_ERROR_IO,
                   "%s: cannot create the directory: %s", dir, g_strerror (saved_errno));
      return FALSE;
    }

  if (!g_file_set_contents_full (target, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes),
                                 G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
                                 0600, &local_error))
    {
      g_set_error (error, US_CONFIG_ERROR, US_CONFIG_ERROR_IO, "%s", local_error->message);
      return FALSE;
    }
  return TRUE;
}

gboolean
us_config_save (UsConfig    *self,
                const char  *path,
                GError     **error)
{
  g_autoptr(GBytes) bytes = NULL;

  g_return_val_if_fail (US_IS_CONFIG (self), FALSE);
  g_return_val_if_fail (path != NULL || self->path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (path == NULL)
    path = self->path;

  bytes = us_config_to_bytes (self);
  if (!us_config_write_bytes (path, bytes, error))
    return FALSE;

  if (path != self->path)
    {
      g_free (self->path);
      self->path = g_strdup (path);
    }
  return TRUE;
}

const char *
us_config_get_path (UsConfig *self)
{
  g_return_val_if_fail (US_IS_CONFIG (self), NULL);

  return self->path;
}

static void
fill_random (guint8 *buffer,
             gsize   size)
{
  gsize done = 0;

  while (done < size)
    {
      ssize_t n = getrandom (buffer + done, size - done, 0);

      if (n < 0 && errno == EINTR)
        continue;
      /* Only possible on kernels older than 3.17; a proxy must not run
       * with a guessable token. */
      if (n < 0)
        g_error ("getrandom: %s", g_strerror (errno));
      done += n;
    }
}

gboolean
us_config_ensure_token (UsConfig *self)
{
  guint8 bytes[TOKEN_BYTES];
  char *token;
  char *end;

  g_return_val_if_fail (US_IS_CONFIG (self), FALSE);

  if (self->token != NULL)
    return FALSE;

  fill_random (bytes, sizeof bytes);
  /* base64url without padding: 43 characters, safe in a URL path. */
  token = g_base64_encode (bytes, sizeof bytes);
  g_strdelimit (token, "+", '-');
  g_strdelimit (token, "/", '_');
  end = strchr (token, '=');
  if (end != NULL)
    *end = '\0';

  self->token = token;
  json_object_set_string_member (get_doc_listen (self), "token", token);
  return TRUE;
}

const char *
us_config_get_host (UsConfig *self)
{
  g_return_val_if_fail (US_IS_CONFIG (self), NULL);

  return self->host;
}

guint
us_config_get_port (UsConfig *self)
{
  g_return_val_if_fail (US_IS_CONFIG (self), 0);

  return self->port;
}

void
us_config_set_port (UsConfig *self,
                    guint     port)
{
  g_return_if_fail (US_IS_CONFIG (self));
  g_return_if_fail (port <= 65535);

  self->port = port;
  json_object_set_int_member (get_doc_listen (self), "port", port);
}

char *
us_config_dup_client_url (UsConfig *self,
                          guint     port)
{
  const char *host = us_config_get_host (self);
  gboolean v6;

  if (g_str_equal (host, "0.0.0.0") || g_str_equal (host, "::"))
    host = "127.0.0.1";
  v6 = strchr (host, ':') != NULL;
  return g_strdup_printf ("http://%s%s%s:%u/t/%s", v6 ? "[" : "", host, v6 ? "]" : "", port,
                          us_config_get_token (self));
}

const char *
us_config_get_token (UsConfig *self)
{
  g_return_val_if_fail (US_IS_CONFIG (self), NULL);

  return self->token;
}

double
us_config_get_request_timeout_s (UsConfig *self)
{
  g_return_val_if_fail (US_IS_CONFIG (self), 0);
  return self->request_timeout_s;
}

double
us_config_get_keepalive_timeout_s (UsConfig *self)
{
  g_return_val_if_fail (US_IS_CONFIG (self), 0);
  return self->keepalive_timeout_s;
}

gsize
us_config_get_max_connections (UsConfig *self)
{
  g_return_val_if_fail (US_IS_CONFIG (self), 0);
  return self->max_connections;
}

gsize
us_config_get_max_body_bytes (UsConfig *self)
{
  g_return_val_if_fail (US_IS_CONFIG (self), 0);

  return self->max_body_bytes;
}

gboolean
us_config_get_routing (UsConfig *self)
{
  g_return_val_if_fail (US_IS_CONFIG (self), FALSE);

  return self->routing;
}

gboolean
us_config_get_notifications (UsConfig *self)
{
  g_return_val_if_fail (US_IS_CONFIG (self), TRUE);

  return self->notifications;
}

GPtrArray *
us_config_get_providers (UsConfig *self)
{
  g_return_val_if_fail (US_IS_CONFIG (self), NULL);

  return self->providers;
}

const UsProviderConfig *
us_config_lookup_provider (UsConfig   *self,
                           const char *id)
{
  g_return_val_if_fail (US_IS_CONFIG (self), NULL);
  g_return_val_if_fail (id != NULL, NULL);

  for (guint i = 0; i < self->providers->len; i++)
    {
      const UsProviderConfig *provider = g_ptr_array_index (self->providers, i);

      if (g_str_equal (provider->id, id))
        return provider;
    }
  return NULL;
}

GPtrArray *
us_config_get_chains (UsConfig *self)
{
  g_return_val_if_fail (US_IS_CONFIG (self), NULL);

  return self->chains;
}

const UsChainConfig *
us_config_lookup_chain (UsConfig   *self,
                        const char *id)
{
  g_return_val_if_fail (US_IS_CONFIG (self), NULL);
  g_return_val_if_fail (id != NULL, NULL);

  for (guint i = 0; i < self->chains->len; i++)
    {
      const UsChainConfig *chain = g_ptr_array_index (self->chains, i);

      if (g_str_equal (chain->id, id))
        return chain;
    }
  return NULL;
}

GPtrArray *
us_config_get_rules (UsConfig *self)
{
  g_return_val_if_fail (US_IS_CONFIG (self), NULL);

  return self->rules;
}

const UsFailoverConfig *
us_config_get_failover (UsConfig *self)
{
  g_return_val_if_fail (US_IS_CONFIG (self), NULL);

  return &self->failover;
}

static void
append_tri (GString    *out,
            const char *name,
            UsTri       value)
{
  if (value != US_TRI_UNSET)
    g_string_append_printf (out, " %s=%s", name, value == US_TRI_TRUE ? "yes" : "no");
}

char *
us_config_summarize (UsConfig *self)
{
  GString *out;
  int id_width = 0;
  int kind_width = 0;
  int url_width = 0;
  int chain_width = 0;
  gboolean ipv6;

  g_return_val_if_fail (US_IS_CONFIG (self), NULL);

  out = g_string_new (NULL);
  /* IPv6 literals need brackets to be read as host:port. */
  ipv6 = strchr (self->host, ':') != NULL;
  g_string_append_printf (out, "Listen:    %s%s%s:%u\n",
                          ipv6 ? "[" : "", self->host, ipv6 ? "]" : "", self->port);
  g_string_append_printf (out, "Routing:   %s\n", self->routing ? "on" : "off");

  for (guint i = 0; i < self->providers->len; i++)
    {
      UsProviderConfig *provider = g_ptr_array_index (self->providers, i);

      id_width = MAX (id_width, (int) strlen (provider->id));
      kind_width = MAX (kind_width, (int) strlen (kind_names[provider->kind]));
      url_width = MAX (url_width, (int) strlen (provider->base_url));
    }
  g_string_append (out, "Providers:\n");
  for (guint i = 0; i < self->providers->len; i++)
    {
      UsProviderConfig *provider = g_ptr_array_index (self->providers, i);

      g_string_append_printf (out, "  %-*s  %-*s  %-*s  auth %s",
                              id_width, provider->id, kind_width, kind_names[provider->kind],
                              url_width, provider->base_url, auth_names[provider->auth]);
      for (guint k = 0; provider->key_envs != NULL && provider->key_envs[k] != NULL; k++)
        g_string_append_printf (out, "%s$%s", k == 0 ? " (or " : ", ", provider->key_envs[k]);
      if (provider->key_envs != NULL)
        g_string_append_c (out, ')');
      g_string_append_c (out, '\n');
    }

  for (guint i = 0; i < self->chains->len; i++)
    {
      UsChainConfig *chain = g_ptr_array_index (self->chains, i);

      chain_width = MAX (chain_width, (int) strlen (chain->id));
    }
  g_string_append (out, "Chains:\n");
  for (guint i = 0; i < self->chains->len; i++)
    {
      UsChainConfig *chain = g_ptr_array_index (self->chains, i);
      g_autofree char *globs = g_strjoinv (", ", chain->match);

      g_string_append_printf (out, "  %-*s  [%s]:", chain_width, chain->id, globs);
      for (guint j = 0; j < chain->models->len; j++)
        {
          UsChainModel *model = g_ptr_array_index (chain->models, j);

          g_string_append_printf (out, "%s%s/%s", j > 0 ? " → " : " ",
                                  model->provider, model->model);
        }
      g_string_append_c (out, '\n');
    }

  if (self->rules->len > 0)
    g_string_append (out, "Rules (first match wins):\n");
  for (guint i = 0; i < self->rules->len; i++)
    {
      UsRuleConfig *rule = g_ptr_array_index (self->rules, i);
      gsize start;

      g_string_append_printf (out, "  %u.", i + 1);
      start = out->len;
      if (rule->client != NULL)
        g_string_append_printf (out, " client=%s", rule->client);
      if (rule->model != NULL)
        g_string_append_printf (out, " model=%s", rule->model);
      append_tri (out, "thinking", rule->thinking);
      append_tri (out, "images", rule->images);
      append_tri (out, "tools", rule->tools);
      if (rule->min_input_tokens > 0)
        g_string_append_printf (out, " input≥%" G_GINT64_FORMAT, rule->min_input_tokens);
      if (out->len == start)
        g_string_append (out, " always");
      g_string_append_printf (out, " → %s\n", rule->chain);
    }

  g_string_append_printf (out,
                          "Failover:  first byte %gs, idle %gs, cooldown %gs, quota threshold %g%%\n",
                          self->failover.first_byte_timeout_s, self->failover.idle_timeout_s,
                          self->failover.cooldown_s, self->failover.quota_threshold * 100);
  g_string_append_printf (out,
                          "Circuit:   opens after %" G_GINT64_FORMAT " failures in a row, or %g%% of at least %"
                          G_GINT64_FORMAT " answers in %gs; probed again after %gs\n",
                          self->failover.circuit_failures, self->failover.circuit_error_rate * 100,
                          self->failover.circuit_min_requests, self->failover.circuit_window_s,
                          self->failover.circuit_open_s);
  return g_string_free (out, FALSE);
}

const char *
us_provider_kind_to_string (UsProviderKind kind)
{
  g_return_val_if_fail ((guint) kind < G_N_ELEMENTS (kind_names), NULL);

  return kind_names[kind];
}

gboolean
us_provider_kind_from_string (const char     *string,
                              UsProviderKind *kind)
{
  g_return_val_if_fail (string != NULL, FALSE);

  for (guint i = 0; i < G_N_ELEMENTS (kind_names); i++)
    {
      if (g_str_equal (string, kind_names[i]))
        {
          if (kind != NULL)
            *kind = i;
          return TRUE;
        }
    }
  return FALSE;
}

const char *
us_auth_mode_to_string (UsAuthMode auth)
{
  g_return_val_if_fail ((guint) auth < G_N_ELEMENTS (auth_names), NULL);

  return auth_names[auth];
}
