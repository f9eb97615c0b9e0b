/* test-config.c: config.json parsing, validation messages and saving. */
#include "us-config.h"
#include "test-util.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

/* JSON in C strings is unreadable with \" everywhere; fixtures use ' and
 * this turns them into ". */
static char *
json (const char *text)
{
  char *copy = g_strdup (text);

  g_strdelimit (copy, "'", '"');
  return copy;
}

static UsConfig *
parse (const char  *text,
       GError     **error)
{
  g_autofree char *data = json (text);

  return us_config_new_from_data (data, -1, error);
}

static char *
make_tmp_dir (void)
{
  g_autoptr(GError) error = NULL;
  char *dir = g_dir_make_tmp ("test-config-XXXXXX", &error);

  g_assert_no_error (error);
  return dir;
}

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return g_strcmp0 (*(char * const *) a, *(char * const *) b);
}

/* The names in @path, sorted and comma-separated. */
static char *
list_dir (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_names);
  g_ptr_array_add (names, NULL);
  return g_strjoinv (",", (char **) names->pdata);
}

static char *
read_file (const char *path)
{
  g_autoptr(GError) error = NULL;
  char *contents = NULL;

  g_file_get_contents (path, &contents, NULL, &error);
  g_assert_no_error (error);
  return contents;
}

static void
write_file (const char *path,
            const char *contents)
{
  g_autoptr(GError) error = NULL;

  g_file_set_contents (path, contents, -1, &error);
  g_assert_no_error (error);
}

#define PROVIDERS \
  "'providers': [{'id': 'anthropic', 'kind': 'anthropic'}," \
  " {'id': 'deepseek', 'kind': 'openai-chat', 'base_url': 'https://api.deepseek.com/v1'}]"
#define CHAINS \
  "'chains': [{'id': 'default', 'models': [{'provider': 'anthropic', 'model': '*'}]}]"
#define DOC(...) "{'version': 1, " __VA_ARGS__ "}"
#define WITH_PROVIDER(provider) DOC ("'providers': [" provider "], " CHAINS)
#define WITH_MODEL(model) \
  DOC (PROVIDERS ", 'chains': [{'id': 'default', 'models': [" model "]}]")
#define WITH_RULE(rule) DOC (PROVIDERS ", " CHAINS ", 'rules': [" rule "]")
#define ANTHROPIC "{'id': 'anthropic', 'kind': 'anthropic'"
#define MODEL "{'provider': 'anthropic', 'model': '*'"

typedef struct {
  const char *name;
  const char *json;
  const char *path;     /* the message starts with "PATH: " */
  const char *detail;   /* and contains this */
} InvalidCase;

static const InvalidCase invalid_cases[] = {
  { "root-type", "[]", "$", "expected an object (got an array)" },
  { "version-missing", "{" PROVIDERS ", " CHAINS "}", "$.version", "expected 1 (got nothing)" },
  { "version-wrong", "{'version': 2, " PROVIDERS ", " CHAINS "}", "$.version", "(got 2)" },
  { "version-type", "{'version': '1', " PROVIDERS ", " CHAINS "}", "$.version", "(got \"1\")" },
  { "routing-type", DOC ("'routing': 'yes', " PROVIDERS ", " CHAINS), "$.routing",
    "expected true or false (got \"yes\")" },

  { "listen-type", DOC ("'listen': 7355, " PROVIDERS ", " CHAINS), "$.listen",
    "expected an object (got 7355)" },
  { "host-type", DOC ("'listen': {'host': 1}, " PROVIDERS ", " CHAINS), "$.listen.host",
    "expected a non-empty string (got 1)" },
  { "host-empty", DOC ("'listen': {'host': ''}, " PROVIDERS ", " CHAINS), "$.listen.host",
    "(got \"\")" },
  { "port-high", DOC ("'listen': {'port': 70000}, " PROVIDERS ", " CHAINS), "$.listen.port",
    "expected an integer from 0 to 65535 (got 70000)" },
  { "port-negative", DOC ("'listen': {'port': -1}, " PROVIDERS ", " CHAINS), "$.listen.port",
    "(got -1)" },
  { "port-type", DOC ("'listen': {'port': '7355'}, " PROVIDERS ", " CHAINS), "$.listen.port",
    "(got \"7355\")" },
  { "port-fraction", DOC ("'listen': {'port': 80.5}, " PROVIDERS ", " CHAINS), "$.listen.port",
    "(got 80.5)" },
  { "request-timeout-zero", DOC ("'listen': {'request_timeout_s': 0}, " PROVIDERS ", " CHAINS),
    "$.listen.request_timeout_s", "(got 0)" },
  { "keepalive-timeout-type", DOC ("'listen': {'keepalive_timeout_s': '60'}, " PROVIDERS ", " CHAINS),
    "$.listen.keepalive_timeout_s", "(got \"60\")" },
  { "token-type", DOC ("'listen': {'token': 5}, " PROVIDERS ", " CHAINS), "$.listen.token",
    "expected a non-empty string" },
  { "token-chars", DOC ("'listen': {'token': 'a b/c'}, " PROVIDERS ", " CHAINS),
    "$.listen.token", "expected letters, digits" },
  { "max-body-zero", DOC ("'listen': {'max_body_bytes': 0}, " PROVIDERS ", " CHAINS),
    "$.listen.max_body_bytes", "expected an integer > 0 (got 0)" },

  { "providers-missing", DOC (CHAINS), "$.providers", "expected an array (got nothing)" },
  { "providers-type", DOC ("'providers': {}, " CHAINS), "$.providers",
    "expected an array (got an object)" },
  { "providers-empty", DOC ("'providers': [], " CHAINS), "$.providers",
    "expected at least one provider" },
  { "provider-type", WITH_PROVIDER ("'anthropic'"), "$.providers[0]",
    "expected an object (got \"anthropic\")" },
  { "provider-id-missing", WITH_PROVIDER ("{'kind': 'anthropic'}"), "$.providers[0].id",
    "(got nothing)" },
  { "provider-id-type", WITH_PROVIDER ("{'id': true, 'kind': 'anthropic'}"), "$.providers[0].id",
    "expected a non-empty string (got true)" },
  { "provider-id-chars", WITH_PROVIDER (ANTHROPIC "}, {'id': 'My Server', 'kind': 'anthropic'}"),
    "$.providers[1].id", "expected lowercase letters, digits, '.', '_' or '-' (got \"My Server\")" },
  { "provider-id-duplicate", WITH_PROVIDER (ANTHROPIC "}, " ANTHROPIC "}"), "$.providers[1]",
    "duplicate id \"anthropic\" (already used by $.providers[0])" },
  { "kind-bad", WITH_PROVIDER (ANTHROPIC "}, {'id': 'x', 'kind': 'gpt'}"), "$.providers[1].kind",
    "expected one of: anthropic, openai-chat, openai-responses, azure-openai, bedrock, "
    "vertex-anthropic, vertex-openai (got \"gpt\")" },
  { "kind-missing", WITH_PROVIDER (ANTHROPIC "}, {'id': 'x', 'base_url': 'http://x'}"),
    "$.providers[1].kind", "(got nothing)" },
  { "kind-type", WITH_PROVIDER ("{'id': 'anthropic', 'kind': 3}"), "$.providers[0].kind",
    "(got 3)" },
  { "base-url-missing", WITH_PROVIDER (ANTHROPIC "}, {'id': 'x', 'kind': 'openai-chat'}"),
    "$.providers[1].base_url", "expected an http or https URL (got nothing)" },
  { "base-url-scheme", WITH_PROVIDER (ANTHROPIC ", 'base_url': 'ftp://example.com'}"),
    "$.providers[0].base_url", "expected an http or https URL (got \"ftp://example.com\")" },
  { "base-url-garbage", WITH_PROVIDER (ANTHROPIC ", 'base_url': 'not a url'}"),
    "$.providers[0].base_url", "expected an http or https URL" },
  { "base-url-type", WITH_PROVIDER (ANTHROPIC ", 'base_url': ['https://x']}"),
    "$.providers[0].base_url", "(got an array)" },
  { "auth-bad", WITH_PROVIDER (ANTHROPIC ", 'auth': 'bearer'}"), "$.providers[0].auth",
    "expected one of: passthrough, key, none, google, aws (got \"bearer\")" },
  { "key-env-type", WITH_PROVIDER (ANTHROPIC ", 'key_env': 5}"), "$.providers[0].key_env",
    "expected the name of an environment variable, or a non-empty array of them (got 5)" },
  { "key-env-empty-pool", WITH_PROVIDER (ANTHROPIC ", 'key_env': []}"), "$.providers[0].key_env",
    "expected the name of an environment variable, or a non-empty array of them (got an array)" },
  { "key-env-pool-type", WITH_PROVIDER (ANTHROPIC ", 'key_env': ['A_KEY', 7]}"),
    "$.providers[0].key_env[1]", "expected the name of an environment variable (got 7)" },
  { "key-env-pool-not-a-name", WITH_PROVIDER (ANTHROPIC ", 'key_env': ['A_KEY', 'sk-SECRET-1']}"),
    "$.providers[0].key_env[1]", "expected the name of an environment variable" },
  { "key-env-pool-twice", WITH_PROVIDER (ANTHROPIC ", 'key_env': ['A_KEY', 'B_KEY', 'A_KEY']}"),
    "$.providers[0].key_env[2]", "A_KEY is already in the pool (at [0])" },
  { "key-env-not-a-name", WITH_PROVIDER (ANTHROPIC ", 'key_env': 'sk-ant-api03-SECRET'}"),
    "$.providers[0].key_env", "expected the name of an environment variable" },
  { "budget-type", WITH_PROVIDER (ANTHROPIC ", 'budget': 10}"), "$.providers[0].budget",
    "expected an object (got 10)" },
  { "budget-per-missing", WITH_PROVIDER (ANTHROPIC ", 'budget': {'requests': 10}}"),
    "$.providers[0].budget.per", "expected one of: day, week (got nothing)" },
  { "budget-per-bad", WITH_PROVIDER (ANTHROPIC ", 'budget': {'usd': 5, 'per': 'month'}}"),
    "$.providers[0].budget.per", "(got \"month\")" },
  { "budget-no-limit", WITH_PROVIDER (ANTHROPIC ", 'budget': {'per': 'day'}}"),
    "$.providers[0].budget", "expected one of \"requests\", \"tokens\" or \"usd\"" },
  { "budget-limit-type", WITH_PROVIDER (ANTHROPIC ", 'budget': {'requests': '10', 'per': 'day'}}"),
    "$.providers[0].budget.requests", "expected a number (got \"10\")" },
  { "budget-limit-negative",
    WITH_PROVIDER (ANTHROPIC ", 'budget': {'tokens': -5, 'per': 'week'}}"),
    "$.providers[0].budget.tokens", "expected a number > 0 (got -5)" },

  { "chains-missing", DOC (PROVIDERS), "$.chains", "expected an array (got nothing)" },
  { "chains-empty", DOC (PROVIDERS ", 'chains': []"), "$.chains", "expected at least one chain" },
  { "chain-type", DOC (PROVIDERS ", 'chains': [null]"), "$.chains[0]",
    "expected an object (got null)" },
  { "chain-id-missing", DOC (PROVIDERS ", 'chains': [{'models': [" MODEL "}]}]"),
    "$.chains[0].id", "(got nothing)" },
  { "chain-id-duplicate",
    DOC (PROVIDERS ", 'chains': [{'id': 'a', 'models': [" MODEL "}]}, {'id': 'a', 'models': ["
         MODEL "}]}]"),
    "$.chains[1]", "duplicate id \"a\" (already used by $.chains[0])" },
  { "match-type", DOC (PROVIDERS ", 'chains': [{'id': 'a', 'match': '*', 'models': [" MODEL "}]}]"),
    "$.chains[0].match", "expected an array (got \"*\")" },
  { "match-element", DOC (PROVIDERS ", 'chains': [{'id': 'a', 'match': ['*', 2], 'models': ["
                          MODEL "}]}]"),
    "$.chains[0].match[1]", "expected a non-empty string (got 2)" },
  { "models-missing", DOC (PROVIDERS ", 'chains': [{'id': 'a'}]"), "$.chains[0].models",
    "expected an array (got nothing)" },
  { "models-empty", WITH_MODEL (""), "$.chains[0].models", "expected at least one model" },
  { "model-type", WITH_MODEL ("'anthropic/*'"), "$.chains[0].models[0]",
    "expected an object (got \"anthropic/*\")" },
  { "model-provider-missing", WITH_MODEL ("{'model': '*'}"), "$.chains[0].models[0].provider",
    "(got nothing)" },
  { "model-provider-unknown", WITH_MODEL (MODEL "}, {'provider': 'foo', 'model': 'x'}"),
    "$.chains[0].models[1].provider",
    "unknown provider \"foo\" (expected one of: anthropic, deepseek)" },
  { "model-name-missing", WITH_MODEL ("{'provider': 'anthropic'}"), "$.chains[0].models[0].model",
    "(got nothing)" },
  { "context-tokens-zero", WITH_MODEL (MODEL ", 'context_tokens': 0}"),
    "$.chains[0].models[0].context_tokens", "expected an integer > 0 (got 0)" },
  { "context-tokens-type", WITH_MODEL (MODEL ", 'context_tokens': 'big'}"),
    "$.chains[0].models[0].context_tokens", "(got \"big\")" },
  { "max-output-negative", WITH_MODEL (MODEL ", 'max_output_tokens': -1}"),
    "$.chains[0].models[0].max_output_tokens", "expected an integer > 0 (got -1)" },
  { "price-type", WITH_MODEL (MODEL ", 'price': 3}"), "$.chains[0].models[0].price",
    "expected an object (got 3)" },
  { "price-output-missing", WITH_MODEL (MODEL ", 'price': {'input': 3}}"),
    "$.chains[0].models[0].price.output", "expected a number ≥ 0 (got nothing)" },
  { "price-input-negative", WITH_MODEL (MODEL ", 'price': {'input': -3, 'output': 15}}"),
    "$.chains[0].models[0].price.input", "(got -3)" },
  { "price-cache-type",
    WITH_MODEL (MODEL ", 'price': {'input': 3, 'output': 15, 'cache_read': 'x'}}"),
    "$.chains[0].models[0].price.cache_read", "expected a number (got \"x\")" },
  { "price-cache-write-negative",
    WITH_MODEL (MODEL ", 'price': {'input': 3, 'output': 15, 'cache_write': -1}}"),
    "$.chains[0].models[0].price.cache_write", "a number ≥ 0" },
  { "model-budget-per", WITH_MODEL (MODEL ", 'budget': {'requests': 5, 'per': 'year'}}"),
    "$.chains[0].models[0].budget.per", "(got \"year\")" },

  { "rules-type", DOC (PROVIDERS ", " CHAINS ", 'rules': {}"), "$.rules",
    "expected an array (got an object)" },
  { "rule-type", WITH_RULE ("'default'"), "$.rules[0]", "expected an object (got \"default\")" },
  { "rule-chain-missing", WITH_RULE ("{'when': {}}"), "$.rules[0].chain", "(got nothing)" },
  { "rule-chain-unknown", WITH_RULE ("{'chain': 'default'}, {'chain': 'nope'}"),
    "$.rules[1].chain", "unknown chain \"nope\" (expected one of: default)" },
  { "when-type", WITH_RULE ("{'when': [], 'chain': 'default'}"), "$.rules[0].when",
    "expected an object (got an array)" },
  { "when-client", WITH_RULE ("{'when': {'client': 'cursor'}, 'chain': 'default'}"),
    "$.rules[0].when.client",
    "expected one of: claude-code, codex, opencode, other (got \"cursor\")" },
  { "when-model", WITH_RULE ("{'when': {'model': 5}, 'chain': 'default'}"),
    "$.rules[0].when.model", "expected a non-empty string (got 5)" },
  { "when-thinking", WITH_RULE ("{'when': {'thinking': 'yes'}, 'chain': 'default'}"),
    "$.rules[0].when.thinking", "expected true or false (got \"yes\")" },
  { "when-images", WITH_RULE ("{'when': {'images': 1}, 'chain': 'default'}"),
    "$.rules[0].when.images", "(got 1)" },
  { "when-tools", WITH_RULE ("{'when': {'tools': null}, 'chain': 'default'}"),
    "$.rules[0].when.tools", "(got null)" },
  { "when-min-input", WITH_RULE ("{'when': {'min_input_tokens': -1}, 'chain': 'default'}"),
    "$.rules[0].when.min_input_tokens", "expected an integer ≥ 0 (got -1)" },

  { "failover-type", DOC (PROVIDERS ", " CHAINS ", 'failover': true"), "$.failover",
    "expected an object (got true)" },
  { "first-byte-zero", DOC (PROVIDERS ", " CHAINS ", 'failover': {'first_byte_timeout_s': 0}"),
    "$.failover.first_byte_timeout_s", "expected a number > 0 (got 0)" },
  { "idle-type", DOC (PROVIDERS ", " CHAINS ", 'failover': {'idle_timeout_s': '60'}"),
    "$.failover.idle_timeout_s", "expected a number (got \"60\")" },
  { "cooldown-negative", DOC (PROVIDERS ", " CHAINS ", 'failover': {'cooldown_s': -1}"),
    "$.failover.cooldown_s", "(got -1)" },
  { "quota-zero", DOC (PROVIDERS ", " CHAINS ", 'failover': {'quota_threshold': 0}"),
    "$.failover.quota_threshold", "(got 0)" },
  { "quota-above-one", DOC (PROVIDERS ", " CHAINS ", 'failover': {'quota_threshold': 1.5}"),
    "$.failover.quota_threshold", "expected a number greater than 0 and at most 1 (got 1.5)" },
  { "circuit-failures-zero", DOC (PROVIDERS ", " CHAINS ", 'failover': {'circuit_failures': 0}"),
    "$.failover.circuit_failures", "(got 0)" },
  { "circuit-failures-fraction", DOC (PROVIDERS ", " CHAINS ", 'failover': {'circuit_failures': 2.5}"),
    "$.failover.circuit_failures", "an integer > 0" },
  { "circuit-rate-above-one", DOC (PROVIDERS ", " CHAINS ", 'failover': {'circuit_error_rate': 2}"),
    "$.failover.circuit_error_rate", "at most 1 (got 2)" },
  { "circuit-window-negative", DOC (PROVIDERS ", " CHAINS ", 'failover': {'circuit_window_s': -1}"),
    "$.failover.circuit_window_s", "a number > 0" },
  { "circuit-min-requests-text", DOC (PROVIDERS ", " CHAINS ", 'failover': {'circuit_min_requests': '3'}"),
    "$.failover.circuit_min_requests", "an integer > 0" },
  { "circuit-open-zero", DOC (PROVIDERS ", " CHAINS ", 'failover': {'circuit_open_s': 0}"),
    "$.failover.circuit_open_s", "a number > 0" },
};

static void
test_invalid (gconstpointer data)
{
  const InvalidCase *test = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(UsConfig) config = parse (test->json, &error);
  g_autofree char *prefix = g_strdup_printf ("%s: ", test->path);

  g_assert_null (config);
  g_assert_error (error, US_CONFIG_ERROR, US_CONFIG_ERROR_INVALID);
  if (!g_str_has_prefix (error->message, prefix) || strstr (error->message, test->detail) == NULL)
    g_error ("message \"%s\" lacks \"%s…%s\"", error->message, prefix, test->detail);
  /* Whatever was written there, a key must not be echoed back. */
  g_assert_null (strstr (error->message, "SECRET"));
}

static void
test_not_json (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(UsConfig) config = NULL;

  config = us_config_new_from_data ("{\n  \"version\": 1,\n  \"routing\": ,\n}", -1, &error);
  g_assert_null (config);
  g_assert_error (error, US_CONFIG_ERROR, US_CONFIG_ERROR_PARSE);
  g_assert_true (g_str_has_prefix (error->message, "line 3, column 14: not valid JSON: "));
  g_clear_error (&error);

  config = us_config_new_from_data ("", -1, &error);
  g_assert_null (config);
  g_assert_error (error, US_CONFIG_ERROR, US_CONFIG_ERROR_PARSE);
  g_clear_error (&error);

  config = us_config_new_from_data ("\xff\xfe{}", -1, &error);
  g_assert_null (config);
  g_assert_error (error, US_CONFIG_ERROR, US_CONFIG_ERROR_PARSE);
}

/* json-glib takes two documents one after the other and keeps the last
 * (found by tests/fuzz/fuzz-config): the user's first would be ignored
 * without a word, and leaked. */
static void
test_two_documents (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(UsConfig) config = NULL;

  config = us_config_new_from_data ("{ \"version\": 1, \"routing\": false }\n{ \"version\": 1 }\n", -1, &error);
  g_assert_null (config);
  g_assert_error (error, US_CONFIG_ERROR, US_CONFIG_ERROR_PARSE);
  g_assert_cmpstr (error->message, ==, "line 2, column 1: not valid JSON: more after the end of the object");
  g_clear_error (&error);

  config = us_config_new_from_data ("\n 5 { \"version\": 1 }", -1, &error);
  g_assert_null (config);
  g_assert_error (error, US_CONFIG_ERROR, US_CONFIG_ERROR_PARSE);
  g_assert_cmpstr (error->message, ==,
                   "line 2, column 2: not valid JSON: a configuration is one JSON object, starting with {");
  g_clear_error (&error);

  /* A brace inside a string does not end the object. */
  config = us_config_new_from_data ("{ \"version\": 1, \"x\": \"}{\\\"\", "
                                    "\"providers\": [{\"id\": \"anthropic\", \"kind\": \"anthropic\"}], "
                                    "\"chains\": [{\"id\": \"default\", \"models\": "
                                    "[{\"provider\": \"anthropic\", \"model\": \"*\"}]}] }  \n", -1, &error);
  g_assert_no_error (error);
  g_assert_nonnull (config);
}

/* @length bounds the data: what follows it is not read. */
static void
test_length (void)
{
  g_autofree char *data = json (DOC (PROVIDERS ", " CHAINS) "garbage");
  g_autoptr(GError) error = NULL;
  g_autoptr(UsConfig) config = NULL;

  config = us_config_new_from_data (data, strlen (data) - strlen ("garbage"), &error);
  g_assert_no_error (error);
  g_assert_nonnull (config);
}

static void
test_defaults (void)
{
  g_autoptr(UsConfig) config = us_config_new_default ();
  const UsProviderConfig *provider;
  const UsChainConfig *chain;
  const UsChainModel *model;
  const UsFailoverConfig *failover;
  g_autofree char *path = us_config_default_path ();

  g_assert_true (g_str_has_suffix (path, "/understudy/config.json"));
  g_assert_null (us_config_get_path (config));
  g_assert_cmpstr (us_config_get_host (config), ==, "127.0.0.1");
  g_assert_cmpuint (us_config_get_port (config), ==, 7355);
  g_assert_null (us_config_get_token (config));
  g_assert_cmpuint (us_config_get_max_body_bytes (config), ==, 32 * 1024 * 1024);
  g_assert_true (us_config_get_routing (config));

  g_assert_cmpuint (us_config_get_providers (config)->len, ==, 1);
  provider = g_ptr_array_index (us_config_get_providers (config), 0);
  g_assert_true (provider == us_config_lookup_provider (config, "anthropic"));
  g_assert_cmpint (provider->kind, ==, US_PROVIDER_KIND_ANTHROPIC);
  g_assert_cmpstr (provider->base_url, ==, "https://api.anthropic.com");
  g_assert_cmpint (provider->auth, ==, US_AUTH_PASSTHROUGH);
  g_assert_null (provider->key_env);
  g_assert_null (provider->budget);
  g_assert_null (us_config_lookup_provider (config, "deepseek"));

  g_assert_cmpuint (us_config_get_chains (config)->len, ==, 1);
  chain = us_config_lookup_chain (config, "default");
  g_assert_nonnull (chain);
  g_assert_cmpstrv (chain->match, ((const char *[]) { "*", NULL }));
  g_assert_cmpuint (chain->models->len, ==, 1);
  model = g_ptr_array_index (chain->models, 0);
  g_assert_cmpstr (model->provider, ==, "anthropic");
  g_assert_cmpstr (model->model, ==, "*");
  g_assert_cmpint (model->context_tokens, ==, 0);
  g_assert_cmpint (model->max_output_tokens, ==, 0);
  g_assert_null (model->price);
  g_assert_null (model->budget);
  g_assert_null (us_config_lookup_chain (config, "nope"));

  g_assert_cmpuint (us_config_get_rules (config)->len, ==, 0);

  failover = us_config_get_failover (config);
  g_assert_cmpfloat (failover->first_byte_timeout_s, ==, 60);
  g_assert_cmpfloat (failover->idle_timeout_s, ==, 120);
  g_assert_cmpfloat (failover->cooldown_s, ==, 60);
  g_assert_cmpfloat (failover->quota_threshold, ==, 0.95);
  g_assert_cmpint (failover->circuit_failures, ==, 5);
  g_assert_cmpfloat (failover->circuit_error_rate, ==, 0.5);
  g_assert_cmpfloat (failover->circuit_window_s, ==, 60);
  g_assert_cmpint (failover->circuit_min_requests, ==, 10);
  g_assert_cmpfloat (failover->circuit_open_s, ==, 30);
}

/* Fields a user leaves out get their documented defaults. */
static void
test_field_defaults (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(UsConfig) config = NULL;
  const UsProviderConfig *provider;
  const UsChainConfig *chain;
  const UsRuleConfig *rule;

  config = parse (DOC ("'listen': {}, 'providers': ["
                       "{'id': 'work', 'kind': 'anthropic'},"
                       "{'id': 'deepseek', 'kind': 'openai-chat'},"
                       "{'id': 'ollama'},"
                       "{'id': 'groq', 'kind': 'openai-responses', 'base_url': 'https://g.example/v1'},"
                       "{'id': 'mine', 'kind': 'openai-chat', 'base_url': 'http://[::1]:8080/v1//'}],"
                       "'chains': [{'id': 'c', 'models': [{'provider': 'mine', 'model': 'm'}]}],"
                       "'rules': [{'chain': 'c'}, {'when': {}, 'chain': 'c'}],"
                       "'failover': {'idle_timeout_s': 0.3}"), &error);
  g_assert_no_error (error);

  g_assert_cmpstr (us_config_get_host (config), ==, "127.0.0.1");
  g_assert_cmpuint (us_config_get_port (config), ==, 7355);
  g_assert_true (us_config_get_routing (config));

  provider = us_config_lookup_provider (config, "work");
  g_assert_cmpstr (provider->base_url, ==, "https://api.anthropic.com");
  g_assert_cmpint (provider->auth, ==, US_AUTH_PASSTHROUGH);

  provider = us_config_lookup_provider (config, "deepseek");
  g_assert_cmpstr (provider->base_url, ==, "https://api.deepseek.com/v1");
  g_assert_cmpint (provider->auth, ==, US_AUTH_KEY);

  provider = us_config_lookup_provider (config, "ollama");
  g_assert_cmpint (provider->kind, ==, US_PROVIDER_KIND_OPENAI_CHAT);
  g_assert_cmpstr (provider->base_url, ==, "http://127.0.0.1:11434/v1");
  g_assert_cmpint (provider->auth, ==, US_AUTH_NONE);

  provider = us_config_lookup_provider (config, "groq");
  g_assert_cmpstr (provider->base_url, ==, "https://g.example/v1");
  g_assert_cmpint (provider->auth, ==, US_AUTH_KEY);

  provider = us_config_lookup_provider (config, "mine");
  g_assert_cmpstr (provider->base_url, ==, "http://[::1]:8080/v1");

  chain = us_config_lookup_chain (config, "c");
  g_assert_cmpstrv (chain->match, ((const char *[]) { NULL }));

  g_assert_cmpuint (us_config_get_rules (config)->len, ==, 2);
  rule = g_ptr_array_index (us_config_get_rules (config), 0);
  g_assert_cmpstr (rule->chain, ==, "c");
  g_assert_null (rule->client);
  g_assert_null (rule->model);
  g_assert_cmpint (rule->thinking, ==, US_TRI_UNSET);
  g_assert_cmpint (rule->images, ==, US_TRI_UNSET);
  g_assert_cmpint (rule->tools, ==, US_TRI_UNSET);
  g_assert_cmpint (rule->min_input_tokens, ==, 0);

  g_assert_cmpfloat (us_config_get_failover (config)->idle_timeout_s, ==, 0.3);
  g_assert_cmpfloat (us_config_get_failover (config)->first_byte_timeout_s, ==, 60);
}

static const char full_config[] =
  "{'version': 1,"
  " 'listen': {'host': '::1', 'port': 0, 'token': 'abc-DEF_123', 'max_body_bytes': 1024},"
  " 'routing': false,"
  " 'providers': ["
  "  {'id': 'anthropic', 'kind': 'anthropic', 'base_url': 'https://api.anthropic.com/',"
  "   'auth': 'passthrough', 'budget': {'tokens': 1000000, 'per': 'week'}},"
  "  {'id': 'deepseek', 'kind': 'openai-chat', 'base_url': 'https://api.deepseek.com/v1',"
  "   'auth': 'key', 'key_env': 'DEEPSEEK_API_KEY'},"
  "  {'id': 'pool', 'kind': 'openai-chat', 'base_url': 'https://pool.example/v1',"
  "   'auth': 'key', 'key_env': ['POOL_KEY_1', 'POOL_KEY_2']},"
  "  {'id': 'ollama', 'kind': 'openai-chat', 'base_url': 'http://127.0.0.1:11434/v1', 'auth': 'none'}],"
  " 'chains': ["
  "  {'id': 'default', 'match': ['*'], 'models': ["
  "    {'provider': 'anthropic', 'model': '*'},"
  "    {'provider': 'deepseek', 'model': 'deepseek-chat', 'context_tokens': 128000,"
  "     'max_output_tokens': 8192, 'price': {'input': 0.27, 'output': 1.1},"
  "     'budget': {'usd': 5, 'requests': 100, 'per': 'day'}},"
  "    {'provider': 'ollama', 'model': 'qwen3-coder'}]},"
  "  {'id': 'background', 'match': ['*haiku*', 'gpt-*-mini'], 'models': ["
  "    {'provider': 'ollama', 'model': 'qwen3-coder',"
  "     'price': {'input': 1, 'output': 2, 'cache_read': 0.1, 'cache_write': 1.25}}]}],"
  " 'rules': ["
  "  {'when': {'client': 'claude-code', 'model': '*haiku*'}, 'chain': 'background'},"
  "  {'when': {'min_input_tokens': 100000, 'thinking': true, 'images': false, 'tools': true},"
  "   'chain': 'default'},"
  "  {'when': {}, 'chain': 'default'}],"
  " 'failover': {'first_byte_timeout_s': 0.3, 'idle_timeout_s': 2, 'cooldown_s': 1.5,"
  "   'quota_threshold': 1, 'circuit_failures': 3, 'circuit_error_rate': 0.25,"
  "   'circuit_window_s': 120, 'circuit_min_requests': 20, 'circuit_open_s': 7.5}}";

static void
test_full (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(UsConfig) config = parse (full_config, &error);
  const UsProviderConfig *provider;
  const UsChainConfig *chain;
  const UsChainModel *model;
  const UsRuleConfig *rule;
  const UsFailoverConfig *failover;

  g_assert_no_error (error);
  g_assert_cmpstr (us_config_get_host (config), ==, "::1");
  g_assert_cmpuint (us_config_get_port (config), ==, 0);
  g_assert_cmpstr (us_config_get_token (config), ==, "abc-DEF_123");
  g_assert_cmpuint (us_config_get_max_body_bytes (config), ==, 1024);
  g_assert_false (us_config_get_routing (config));

  provider = us_config_lookup_provider (config, "anthropic");
  g_assert_cmpstr (provider->base_url, ==, "https://api.anthropic.com");
  g_assert_nonnull (provider->budget);
  g_assert_cmpfloat (provider->budget->tokens, ==, 1000000);
  g_assert_cmpfloat (provider->budget->requests, ==, 0);
  g_assert_cmpint (provider->budget->per, ==, US_BUDGET_PER_WEEK);
  provider = us_config_lookup_provider (config, "deepseek");
  g_assert_cmpstr (provider->key_env, ==, "DEEPSEEK_API_KEY");
  g_assert_cmpstrv (provider->key_envs, ((const char * const[]) { "DEEPSEEK_API_KEY", NULL }));
  provider = us_config_lookup_provider (config, "pool");
  g_assert_cmpstr (provider->key_env, ==, "POOL_KEY_1");
  g_assert_cmpstrv (provider->key_envs, ((const char * const[]) { "POOL_KEY_1", "POOL_KEY_2", NULL }));

  chain = us_config_lookup_chain (config, "default");
  g_assert_cmpuint (chain->models->len, ==, 3);
  model = g_ptr_array_index (chain->models, 1);
  g_assert_cmpint (model->context_tokens, ==, 128000);
  g_assert_cmpint (model->max_output_tokens, ==, 8192);
  g_assert_cmpfloat (model->price->input, ==, 0.27);
  g_assert_cmpfloat (model->price->output, ==, 1.1);
  g_assert_cmpfloat (model->price->cache_read, ==, 0.27);
  g_assert_cmpfloat (model->price->cache_write, ==, 0.27);
  g_assert_cmpfloat (model->budget->usd, ==, 5);
  g_assert_cmpfloat (model->budget->requests, ==, 100);
  g_assert_cmpint (model->budget->per, ==, US_BUDGET_PER_DAY);

  chain = us_config_lookup_chain (config, "background");
  g_assert_cmpstrv (chain->match, ((const char *[]) { "*haiku*", "gpt-*-mini", NULL }));
  model = g_ptr_array_index (chain->models, 0);
  g_assert_cmpfloat (model->price->cache_read, ==, 0.1);
  g_assert_cmpfloat (model->price->cache_write, ==, 1.25);

  g_assert_cmpuint (us_config_get_rules (config)->len, ==, 3);
  rule = g_ptr_array_index (us_config_get_rules (config), 0);
  g_assert_cmpstr (rule->client, ==, "claude-code");
  g_assert_cmpstr (rule->model, ==, "*haiku*");
  g_assert_cmpstr (rule->chain, ==, "background");
  rule = g_ptr_array_index (us_config_get_rules (config), 1);
  g_assert_cmpint (rule->min_input_tokens, ==, 100000);
  g_assert_cmpint (rule->thinking, ==, US_TRI_TRUE);
  g_assert_cmpint (rule->images, ==, US_TRI_FALSE);
  g_assert_cmpint (rule->tools, ==, US_TRI_TRUE);

  failover = us_config_get_failover (config);
  g_assert_cmpfloat (failover->first_byte_timeout_s, ==, 0.3);
  g_assert_cmpfloat (failover->idle_timeout_s, ==, 2);
  g_assert_cmpfloat (failover->cooldown_s, ==, 1.5);
  g_assert_cmpfloat (failover->quota_threshold, ==, 1);
  g_assert_cmpint (failover->circuit_failures, ==, 3);
  g_assert_cmpfloat (failover->circuit_error_rate, ==, 0.25);
  g_assert_cmpfloat (failover->circuit_window_s, ==, 120);
  g_assert_cmpint (failover->circuit_min_requests, ==, 20);
  g_assert_cmpfloat (failover->circuit_open_s, ==, 7.5);
}

static void
test_summarize (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(UsConfig) config = parse (full_config, &error);
  g_autoptr(UsConfig) fresh = us_config_new_default ();
  g_autofree char *summary = NULL;
  g_autofree char *fresh_summary = NULL;

  g_assert_no_error (error);
  summary = us_config_summarize (config);
  g_test_message ("%s", summary);
  g_assert_nonnull (strstr (summary, "[::1]:0\n"));
  g_assert_nonnull (strstr (summary, "Routing:   off\n"));
  g_assert_nonnull (strstr (summary, "  deepseek   openai-chat  https://api.deepseek.com/v1  auth key"
                                     " (or $DEEPSEEK_API_KEY)\n"));
  g_assert_nonnull (strstr (summary, "  anthropic  anthropic    https://api.anthropic.com    auth"
                                     " passthrough\n"));
  g_assert_nonnull (strstr (summary, "  default     [*]: anthropic/* → deepseek/deepseek-chat"
                                     " → ollama/qwen3-coder\n"));
  g_assert_nonnull (strstr (summary, "  background  [*haiku*, gpt-*-mini]: ollama/qwen3-coder\n"));
  g_assert_nonnull (strstr (summary, "  1. client=claude-code model=*haiku* → background\n"));
  g_assert_nonnull (strstr (summary, "  2. thinking=yes images=no tools=yes input≥100000 → default\n"));
  g_assert_nonnull (strstr (summary, "  3. always → default\n"));
  g_assert_nonnull (strstr (summary, "first byte 0.3s"));
  g_assert_null (strstr (summary, "abc-DEF_123"));

  us_config_ensure_token (fresh);
  fresh_summary = us_config_summarize (fresh);
  g_assert_nonnull (strstr (fresh_summary, "127.0.0.1:7355\n"));
  g_assert_nonnull (strstr (fresh_summary, "  default  [*]: anthropic/*\n"));
  g_assert_null (strstr (fresh_summary, "Rules"));
  /* The breaker's defaults, spelled out. */
  g_assert_nonnull (strstr (fresh_summary, "Circuit:   opens after 5 failures in a row, or "));
  g_assert_null (strstr (fresh_summary, us_config_get_token (fresh)));
}

static void
test_kind_names (void)
{
  UsProviderKind kind;

  for (UsProviderKind k = US_PROVIDER_KIND_ANTHROPIC; k <= US_PROVIDER_KIND_VERTEX_OPENAI; k++)
    {
      g_assert_true (us_provider_kind_from_string (us_provider_kind_to_string (k), &kind));
      g_assert_cmpint (kind, ==, k);
    }
  g_assert_cmpstr (us_provider_kind_to_string (US_PROVIDER_KIND_OPENAI_CHAT), ==, "openai-chat");
  g_assert_false (us_provider_kind_from_string ("openai", &kind));
  g_assert_cmpstr (us_auth_mode_to_string (US_AUTH_PASSTHROUGH), ==, "passthrough");
  g_assert_cmpstr (us_auth_mode_to_string (US_AUTH_NONE), ==, "none");
}

/* A snapshot only reads: the store makes a new one for each change. */
static void
test_switch_properties (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(UsConfig) defaults = us_config_new_default ();
  g_autoptr(UsConfig) config = parse (DOC ("'routing': false, 'desktop': {'notifications': false}, "
                                           PROVIDERS ", " CHAINS), &error);
  GParamSpec *pspec;
  gboolean routing = TRUE;
  gboolean notifications = TRUE;

  g_assert_no_error (error);
  g_assert_true (us_config_get_routing (defaults));
  g_assert_true (us_config_get_notifications (defaults));
  g_object_get (config, "routing", &routing, "notifications", &notifications, NULL);
  g_assert_false (routing);
  g_assert_false (notifications);
  g_assert_false (us_config_get_notifications (config));
  pspec = g_object_class_find_property (G_OBJECT_GET_CLASS (config), "routing");
  g_assert_false (pspec->flags & G_PARAM_WRITABLE);
  pspec = g_object_class_find_property (G_OBJECT_GET_CLASS (config), "notifications");
  g_assert_false (pspec->flags & G_PARAM_WRITABLE);
}

static void
test_desktop_invalid (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(UsConfig) config = parse (DOC ("'desktop': {'notifications': 'no'}, " PROVIDERS ", " CHAINS),
                                      &error);

  g_assert_null (config);
  g_assert_error (error, US_CONFIG_ERROR, US_CONFIG_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "$.desktop.notifications"));
  g_clear_error (&error);
  config = parse (DOC ("'desktop': [], " PROVIDERS ", " CHAINS), &error);
  g_assert_null (config);
  g_assert_nonnull (strstr (error->message, "$.desktop: expected an object"));
}

static void
test_token (void)
{
  g_autofree char *dir = make_tmp_dir ();
  g_autofree char *path = g_build_filename (dir, "sub", "understudy", "config.json", NULL);
  g_autofree char *parent = g_path_get_dirname (path);
  g_autoptr(UsConfig) config = us_config_new_default ();
  g_autoptr(UsConfig) other = us_config_new_default ();
  g_autoptr(UsConfig) loaded = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *token = NULL;
  struct stat st;

  g_assert_true (us_config_ensure_token (config));
  token = g_strdup (us_config_get_token (config));
  g_assert_cmpuint (strlen (token), >=, 43);
  for (const char *p = token; *p != '\0'; p++)
    g_assert_true (g_ascii_isalnum (*p) || *p == '-' || *p == '_');
  g_assert_false (us_config_ensure_token (config));
  g_assert_cmpstr (us_config_get_token (config), ==, token);

  g_assert_true (us_config_ensure_token (other));
  g_assert_cmpstr (us_config_get_token (other), !=, token);

  g_assert_true (us_config_save (config, path, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (us_config_get_path (config), ==, path);
  g_assert_cmpint (stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  g_assert_cmpint (stat (parent, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0700);

  loaded = us_config_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (us_config_get_token (loaded), ==, token);
  g_assert_false (us_config_ensure_token (loaded));

  test_remove_tree (dir);
}

static void
test_unknown_keys_survive (void)
{
  g_autofree char *dir = make_tmp_dir ();
  g_autofree char *path = g_build_filename (dir, "config.json", NULL);
  g_autofree char *data = json (DOC ("'x_future': {'a': [1, 2]}, 'routing': false,"
                                     " 'listen': {'host': '127.0.0.1', 'extra': true},"
                                     " 'providers': [{'id': 'anthropic', 'kind': 'anthropic',"
                                     " 'color': 'red'}], " CHAINS));
  g_autoptr(UsConfig) config = NULL;
  g_autoptr(UsConfig) loaded = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *saved = NULL;
  g_autoptr(GBytes) bytes = NULL;
  JsonObject *root;
  JsonObject *listen;

  write_file (path, data);
  config = us_config_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (us_config_get_path (config), ==, path);
  us_config_set_port (config, 0);
  us_config_ensure_token (config);
  g_assert_true (us_config_save (config, NULL, &error));
  g_assert_no_error (error);

  saved = read_file (path);
  g_assert_true (g_str_has_suffix (saved, "}\n"));
  bytes = us_config_to_bytes (config);
  g_assert_cmpmem (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), saved, strlen (saved));
  json_parser_load_from_data (parser, saved, -1, &error);
  g_assert_no_error (error);
  root = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpint (json_array_get_int_element (json_object_get_array_member (
    json_object_get_object_member (root, "x_future"), "a"), 1), ==, 2);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (
    json_object_get_array_member (root, "providers"), 0), "color"), ==, "red");
  listen = json_object_get_object_member (root, "listen");
  g_assert_true (json_object_get_boolean_member (listen, "extra"));
  g_assert_cmpint (json_object_get_int_member (listen, "port"), ==, 0);
  g_assert_cmpstr (json_object_get_string_member (listen, "token"), ==,
                   us_config_get_token (config));
  g_assert_false (json_object_get_boolean_member (root, "routing"));

  loaded = us_config_load (path, &error);
  g_assert_no_error (error);
  g_assert_false (us_config_get_routing (loaded));
  g_assert_cmpuint (us_config_get_port (loaded), ==, 0);

  test_remove_tree (dir);
}

/* A user's file may have no "listen" at all; setting the port adds it. */
static void
test_set_port_creates_listen (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(UsConfig) config = parse (DOC (PROVIDERS ", " CHAINS), &error);
  g_autofree char *dir = make_tmp_dir ();
  g_autofree char *path = g_build_filename (dir, "config.json", NULL);
  g_autoptr(UsConfig) loaded = NULL;

  g_assert_no_error (error);
  us_config_set_port (config, 8123);
  g_assert_cmpuint (us_config_get_port (config), ==, 8123);
  g_assert_true (us_config_save (config, path, &error));
  g_assert_no_error (error);
  loaded = us_config_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (us_config_get_port (loaded), ==, 8123);

  test_remove_tree (dir);
}

static void
test_load_missing (void)
{
  g_autofree char *dir = make_tmp_dir ();
  g_autofree char *path = g_build_filename (dir, "config.json", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(UsConfig) config = us_config_load (path, &error);
  g_autofree char *listing = NULL;

  g_assert_no_error (error);
  g_assert_nonnull (config);
  g_assert_cmpstr (us_config_get_path (config), ==, path);
  g_assert_nonnull (us_config_lookup_chain (config, "default"));
  listing = list_dir (dir);
  g_assert_cmpstr (listing, ==, "");

  test_remove_tree (dir);
}

static void
test_load_broken (void)
{
  g_autofree char *dir = make_tmp_dir ();
  g_autofree char *path = g_build_filename (dir, "config.json", NULL);
  const char *broken = "{\n  \"version\": 1,\n  \"routing\": tru\n}\n";
  g_autoptr(GError) error = NULL;
  g_autoptr(UsConfig) config = NULL;
  g_autofree char *prefix = g_strdup_printf ("%s: line 3, column ", path);
  g_autofree char *after = NULL;
  g_autofree char *listing = NULL;

  write_file (path, broken);
  config = us_config_load (path, &error);
  g_assert_null (config);
  g_assert_error (error, US_CONFIG_ERROR, US_CONFIG_ERROR_PARSE);
  g_assert_true (g_str_has_prefix (error->message, prefix));
  g_assert_nonnull (strstr (error->message, "not valid JSON"));

  after = read_file (path);
  g_assert_cmpstr (after, ==, broken);
  listing = list_dir (dir);
  g_assert_cmpstr (listing, ==, "config.json");

  test_remove_tree (dir);
}

static void
test_load_invalid (void)
{
  g_autofree char *dir = make_tmp_dir ();
  g_autofree char *path = g_build_filename (dir, "config.json", NULL);
  g_autofree char *data = json (DOC (PROVIDERS ", 'chains': [{'id': 'default', 'models': ["
                                     "{'provider': 'anthropic', 'model': '*'},"
                                     "{'provider': 'foo', 'model': 'x'}]}]"));
  g_autofree char *expected = g_strdup_printf ("%s: $.chains[0].models[1].provider: unknown "
                                               "provider \"foo\" (expected one of: anthropic, "
                                               "deepseek)", path);
  g_autoptr(GError) error = NULL;
  g_autoptr(UsConfig) config = NULL;
  g_autofree char *after = NULL;

  write_file (path, data);
  config = us_config_load (path, &error);
  g_assert_null (config);
  g_assert_error (error, US_CONFIG_ERROR, US_CONFIG_ERROR_INVALID);
  g_assert_cmpstr (error->message, ==, expected);
  after = read_file (path);
  g_assert_cmpstr (after, ==, data);

  test_remove_tree (dir);
}

static void
test_load_unreadable (void)
{
  g_autofree char *dir = make_tmp_dir ();
  g_autoptr(GError) error = NULL;
  g_autoptr(UsConfig) config = us_config_load (dir, &error);

  g_assert_null (config);
  g_assert_error (error, US_CONFIG_ERROR, US_CONFIG_ERROR_IO);

  test_remove_tree (dir);
}

static void
test_save_leaves_no_temp (void)
{
  g_autofree char *dir = make_tmp_dir ();
  g_autofree char *path = g_build_filename (dir, "config.json", NULL);
  g_autoptr(UsConfig) config = us_config_new_default ();
  g_autoptr(GError) error = NULL;
  g_autofree char *listing = NULL;

  write_file (path, "old");
  g_assert_true (us_config_save (config, path, &error));
  g_assert_no_error (error);
  g_assert_true (us_config_save (config, path, &error));
  g_assert_no_error (error);
  listing = list_dir (dir);
  g_assert_cmpstr (listing, ==, "config.json");

  test_remove_tree (dir);
}

/* When the final rename cannot happen (a directory is in the way), the
 * save fails and leaves nothing behind. */
static void
test_save_rename_fails (void)
{
  g_autofree char *dir = make_tmp_dir ();
  g_autofree char *path = g_build_filename (dir, "config.json", NULL);
  g_autofree char *inside = g_build_filename (path, "keep", NULL);
  g_autoptr(UsConfig) config = us_config_new_default ();
  g_autoptr(GError) error = NULL;
  g_autofree char *listing = NULL;
  g_autofree char *kept = NULL;

  g_assert_cmpint (g_mkdir (path, 0700), ==, 0);
  write_file (inside, "precious");
  g_assert_false (us_config_save (config, path, &error));
  g_assert_error (error, US_CONFIG_ERROR, US_CONFIG_ERROR_IO);
  listing = list_dir (dir);
  g_assert_cmpstr (listing, ==, "config.json");
  kept = read_file (inside);
  g_assert_cmpstr (kept, ==, "precious");

  test_remove_tree (dir);
}

/* A write that fails half way (here: the file size limit) must leave the
 * old file whole and no temp file behind. */
static void
test_save_write_fails (void)
{
  g_autofree char *dir = make_tmp_dir ();
  g_autofree char *path = g_build_filename (dir, "config.json", NULL);
  g_autofree char *original = json (DOC ("'note': 'the original',"
                                         " 'listen': {'token': 'original-token'}, "
                                         PROVIDERS ", " CHAINS));
  g_autoptr(UsConfig) config = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *listing = NULL;
  g_autofree char *after = NULL;
  struct rlimit saved_limit;
  struct rlimit limit;
  void (*saved_handler) (int);
  gboolean saved;

  write_file (path, original);
  config = us_config_load (path, &error);
  g_assert_no_error (error);

  g_assert_cmpint (getrlimit (RLIMIT_FSIZE, &saved_limit), ==, 0);
  limit = saved_limit;
  limit.rlim_cur = 64;
  saved_handler = signal (SIGXFSZ, SIG_IGN);
  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &limit), ==, 0);
  saved = us_config_save (config, path, &error);
  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &saved_limit), ==, 0);
  signal (SIGXFSZ, saved_handler);

  g_assert_false (saved);
  g_assert_error (error, US_CONFIG_ERROR, US_CONFIG_ERROR_IO);
  after = read_file (path);
  g_assert_cmpstr (after, ==, original);
  listing = list_dir (dir);
  g_assert_cmpstr (listing, ==, "config.json");

  test_remove_tree (dir);
}

/* Root ignores directory permissions, so this runs only for other users. */
static void
test_save_read_only_dir (void)
{
  g_autofree char *dir = make_tmp_dir ();
  g_autofree char *path = g_build_filename (dir, "config.json", NULL);
  g_autoptr(UsConfig) config = us_config_new_default ();
  g_autoptr(GError) error = NULL;
  g_autofree char *after = NULL;
  g_autofree char *listing = NULL;

  if (geteuid () == 0)
    {
      g_test_skip ("root can write to read-only directories");
      test_remove_tree (dir);
      return;
    }

  write_file (path, "original");
  g_assert_cmpint (g_chmod (dir, 0500), ==, 0);
  g_assert_false (us_config_save (config, path, &error));
  g_assert_error (error, US_CONFIG_ERROR, US_CONFIG_ERROR_IO);
  g_assert_cmpint (g_chmod (dir, 0700), ==, 0);
  after = read_file (path);
  g_assert_cmpstr (after, ==, "original");
  listing = list_dir (dir);
  g_assert_cmpstr (listing, ==, "config.json");

  test_remove_tree (dir);
}

/* A config.json symlinked from a dotfiles repository stays a symlink. */
static void
test_save_through_symlink (void)
{
  g_autofree char *dir = make_tmp_dir ();
  g_autofree char *real_dir = g_build_filename (dir, "dotfiles", NULL);
  g_autofree char *real = g_build_filename (real_dir, "config.json", NULL);
  g_autofree char *link = g_build_filename (dir, "config.json", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(UsConfig) config = parse (DOC ("'routing': false, " PROVIDERS ", " CHAINS), &error);
  g_autoptr(UsConfig) loaded = NULL;
  g_autofree char *listing = NULL;

  g_assert_no_error (error);
  g_assert_cmpint (g_mkdir (real_dir, 0700), ==, 0);
  write_file (real, "{}");
  g_assert_cmpint (symlink ("dotfiles/config.json", link), ==, 0);

  g_assert_true (us_config_save (config, link, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_test (link, G_FILE_TEST_IS_SYMLINK));
  loaded = us_config_load (real, &error);
  g_assert_no_error (error);
  g_assert_false (us_config_get_routing (loaded));
  listing = list_dir (real_dir);
  g_assert_cmpstr (listing, ==, "config.json");

  test_remove_tree (dir);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (invalid_cases); i++)
    {
      g_autofree char *name = g_strdup_printf ("/config/invalid/%s", invalid_cases[i].name);

      g_test_add_data_func (name, &invalid_cases[i], test_invalid);
    }
  g_test_add_func ("/config/not-json", test_not_json);
  g_test_add_func ("/config/two-documents", test_two_documents);
  g_test_add_func ("/config/length", test_length);
  g_test_add_func ("/config/defaults", test_defaults);
  g_test_add_func ("/config/field-defaults", test_field_defaults);
  g_test_add_func ("/config/full", test_full);
  g_test_add_func ("/config/summarize", test_summarize);
  g_test_add_func ("/config/kind-names", test_kind_names);
  g_test_add_func ("/config/switch-properties", test_switch_properties);
  g_test_add_func ("/config/desktop-invalid", test_desktop_invalid);
  g_test_add_func ("/config/token", test_token);
  g_test_add_func ("/config/unknown-keys-survive", test_unknown_keys_survive);
  g_test_add_func ("/config/set-port-creates-listen", test_set_port_creates_listen);
  g_test_add_func ("/config/load/missing", test_load_missing);
  g_test_add_func ("/config/load/broken", test_load_broken);
  g_test_add_func ("/config/load/invalid", test_load_invalid);
  g_test_add_func ("/config/load/unreadable", test_load_unreadable);
  g_test_add_func ("/config/save/no-temp-left", test_save_leaves_no_temp);
  g_test_add_func ("/config/save/rename-fails", test_save_rename_fails);
  g_test_add_func ("/config/save/write-fails", test_save_write_fails);
  g_test_add_func ("/config/save/read-only-dir", test_save_read_only_dir);
  g_test_add_func ("/config/save/through-symlink", test_save_through_symlink);

  return g_test_run ();
}
