/* test-config-store.c: edits, snapshots, ordered saves and hand edits of the
 * config store, with a real file, a real proxy and fake providers. */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "us-config-store.h"
#include "us-connect.h"
#include "test-util.h"

/* Single quotes become double ones, so the JSON stays readable here. */
#define BASE_CONFIG \
  "{ 'version': 1, 'x_future': { 'a': [1, 2] },"                                   \
  "  'listen': { 'host': '127.0.0.1', 'port': 0, 'token': '" TEST_TOKEN "' },"      \
  "  'providers': ["                                                                \
  "    { 'id': 'anthropic', 'color': 'red' },"                                      \
  "    { 'id': 'deepseek', 'key_env': 'DEEPSEEK_API_KEY', 'color': 'blue' },"       \
  "    { 'id': 'ollama' },"                                                         \
  "    { 'id': 'spare', 'kind': 'openai-chat', 'base_url': 'http://127.0.0.1:9/v1' } ]," \
  "  'chains': ["                                                                   \
  "    { 'id': 'default', 'match': ['*'], 'models': ["                              \
  "      { 'provider': 'anthropic', 'model': '*', 'note': 'mine' },"                \
  "      { 'provider': 'deepseek', 'model': 'deepseek-chat' },"                     \
  "      { 'provider': 'ollama', 'model': 'qwen3-coder' } ] },"                     \
  "    { 'id': 'background', 'models': [ { 'provider': 'deepseek', 'model': 'deepseek-chat' } ] } ] }"

typedef struct {
  char *dir;
  char *path;
  UsConfigStore *store;
  guint config_notified;
  guint routing_notified;
  guint notifications_notified;
  char *file_error;
  guint file_errors;
} Fixture;

static char *
quotes (const char *text)
{
  char *json = g_strdup (text);

  g_strdelimit (json, "'", '"');
  return json;
}

static char *
read_file (const char *path)
{
  char *data = NULL;

  g_assert_true (g_file_get_contents (path, &data, NULL, NULL));
  return data;
}

/* The file as any other program would see it. */
static JsonNode *
read_json (const char *path)
{
  g_autofree char *data = read_file (path);
  g_autoptr(GError) error = NULL;
  JsonNode *node = json_from_string (data, &error);

  g_assert_no_error (error);
  return node;
}

/* "provider/model, provider/model" of a chain in a snapshot. */
static char *
chain_order (UsConfig   *config,
             const char *chain_id)
{
  const UsChainConfig *chain = us_config_lookup_chain (config, chain_id);
  GString *out = g_string_new (NULL);

  for (guint i = 0; i < chain->models->len; i++)
    {
      const UsChainModel *model = g_ptr_array_index (chain->models, i);

      g_string_append_printf (out, "%s%s/%s", i ? ", " : "", model->provider, model->model);
    }
  return g_string_free (out, FALSE);
}

/* The same, from the file on disk. */
static char *
file_chain_order (const char *path,
                  guint       chain)
{
  g_autoptr(JsonNode) root = read_json (path);
  JsonArray *chains = json_object_get_array_member (json_node_get_object (root), "chains");
  JsonArray *models = json_object_get_array_member (json_array_get_object_element (chains, chain), "models");
  GString *out = g_string_new (NULL);

  for (guint i = 0; i < json_array_get_length (models); i++)
    {
      JsonObject *model = json_array_get_object_element (models, i);

      g_string_append_printf (out, "%s%s/%s", i ? ", " : "", json_object_get_string_member (model, "provider"),
                              json_object_get_string_member (model, "model"));
    }
  return g_string_free (out, FALSE);
}

static void
on_notify (GObject    *object,
           GParamSpec *pspec,
           Fixture    *f)
{
  if (g_str_equal (pspec->name, "config"))
    f->config_notified++;
  else if (g_str_equal (pspec->name, "routing"))
    f->routing_notified++;
  else if (g_str_equal (pspec->name, "notifications"))
    f->notifications_notified++;
}

static void
on_file_error (UsConfigStore *store,
               const char    *message,
               Fixture       *f)
{
  g_free (f->file_error);
  f->file_error = g_strdup (message);
  f->file_errors++;
}

static void
fixture_open_store (Fixture    *f,
                    const char *text)
{
  g_autofree char *json = quotes (text);
  g_autoptr(UsConfig) config = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_true (g_file_set_contents (f->path, json, -1, NULL));
  config = us_config_load (f->path, &error);
  g_assert_no_error (error);
  f->store = us_config_store_new (config);
  g_signal_connect (f->store, "notify", G_CALLBACK (on_notify), f);
  g_signal_connect (f->store, "file-error", G_CALLBACK (on_file_error), f);
}

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  f->dir = g_dir_make_tmp ("us-store-XXXXXX", NULL);
  f->path = g_build_filename (f->dir, "config.json", NULL);
  fixture_open_store (f, data != NULL ? data : BASE_CONFIG);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  g_clear_object (&f->store);
  g_remove (f->path);
  g_rmdir (f->dir);
  g_free (f->path);
  g_free (f->dir);
  g_free (f->file_error);
}

/* Spins the main loop until *@counter moves past @from, at most 10 s. */
static void
wait_for_count (guint *counter,
                guint  from)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  while (*counter == from)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
}

/* Lets the monitor and the worker answer whatever they will, for @ms. */
static void
settle (guint ms)
{
  gint64 end = g_get_monotonic_time () + ms * 1000;

  while (g_get_monotonic_time () < end)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
}

/* A failed edit: nothing published, nothing written. */
static void
assert_refused (Fixture    *f,
                gboolean    ok,
                GError    **errorp,
                const char *message_part,
                UsConfig   *before,
                const char *file_before)
{
  g_autofree char *file_after = NULL;
  GError *error = *errorp;   /* read after the call: argument order is unspecified */

  g_assert_false (ok);
  g_assert_error (error, US_CONFIG_ERROR, US_CONFIG_ERROR_INVALID);
  if (strstr (error->message, message_part) == NULL)
    g_error ("expected \"%s\" in \"%s\"", message_part, error->message);
  g_assert_true (us_config_store_get_config (f->store) == before);
  us_config_store_sync (f->store);
  file_after = read_file (f->path);
  g_assert_cmpstr (file_after, ==, file_before);
}

/* ---- Edits ------------------------------------------------------------- */

static void
test_move_model (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(UsConfig) before = g_object_ref (us_config_store_get_config (f->store));
  g_autoptr(GError) error = NULL;
  g_autofree char *old_order = NULL;
  g_autofree char *new_order = NULL;
  g_autofree char *file_order = NULL;
  g_autofree char *file_before = read_file (f->path);
  g_autoptr(JsonNode) root = NULL;
  JsonObject *moved;
  struct stat st;

  g_assert_true (us_config_store_move_model (f->store, "default", 0, 2, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (f->config_notified, ==, 1);
  g_assert_cmpuint (f->routing_notified, ==, 0);

  /* The old snapshot is as it was; the new one has the new order. */
  old_order = chain_order (before, "default");
  g_assert_cmpstr (old_order, ==, "anthropic/*, deepseek/deepseek-chat, ollama/qwen3-coder");
  new_order = chain_order (us_config_store_get_config (f->store), "default");
  g_assert_cmpstr (new_order, ==, "deepseek/deepseek-chat, ollama/qwen3-coder, anthropic/*");

  us_config_store_sync (f->store);
  file_order = file_chain_order (f->path, 0);
  g_assert_cmpstr (file_order, ==, new_order);
  g_assert_cmpint (stat (f->path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);

  /* Unknown keys survive, including the one on the moved model. */
  root = read_json (f->path);
  g_assert_true (json_object_has_member (json_object_get_object_member (json_node_get_object (root), "x_future"),
                                         "a"));
  moved = json_array_get_object_element (json_object_get_array_member (json_array_get_object_element (
    json_object_get_array_member (json_node_get_object (root), "chains"), 0), "models"), 2);
  g_assert_cmpstr (json_object_get_string_member (moved, "note"), ==, "mine");
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (
    json_object_get_array_member (json_node_get_object (root), "providers"), 0), "color"), ==, "red");

  /* Back the other way, and a move out of range. */
  g_assert_true (us_config_store_move_model (f->store, "default", 2, 0, &error));
  g_clear_pointer (&new_order, g_free);
  new_order = chain_order (us_config_store_get_config (f->store), "default");
  g_assert_cmpstr (new_order, ==, old_order);

  g_clear_object (&before);
  before = g_object_ref (us_config_store_get_config (f->store));
  us_config_store_sync (f->store);
  g_clear_pointer (&file_before, g_free);
  file_before = read_file (f->path);
  assert_refused (f, us_config_store_move_model (f->store, "default", 0, 3, &error), &error,
                  "$.chains[0].models: no model at position 3 (the chain has 3)", before, file_before);
  g_clear_error (&error);
  assert_refused (f, us_config_store_move_model (f->store, "nope", 0, 1, &error), &error,
                  "$.chains: no chain \"nope\"", before, file_before);
}

static void
test_add_model (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(UsConfig) before = NULL;
  g_autofree char *order = NULL;
  g_autofree char *file_order = NULL;
  g_autofree char *file_before = NULL;

  g_assert_true (us_config_store_add_model (f->store, "default", "spare", "big-model", 1, &error));
  g_assert_no_error (error);
  g_assert_true (us_config_store_add_model (f->store, "background", "ollama", "small", -1, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (f->config_notified, ==, 2);
  order = chain_order (us_config_store_get_config (f->store), "default");
  g_assert_cmpstr (order, ==, "anthropic/*, spare/big-model, deepseek/deepseek-chat, ollama/qwen3-coder");
  g_clear_pointer (&order, g_free);
  order = chain_order (us_config_store_get_config (f->store), "background");
  g_assert_cmpstr (order, ==, "deepseek/deepseek-chat, ollama/small");

  us_config_store_sync (f->store);
  file_order = file_chain_order (f->path, 1);
  g_assert_cmpstr (file_order, ==, order);

  /* A provider that does not exist: the validator names the field. */
  before = g_object_ref (us_config_store_get_config (f->store));
  file_before = read_file (f->path);
  assert_refused (f, us_config_store_add_model (f->store, "default", "nobody", "m", 0, &error), &error,
                  "$.chains[0].models[0].provider: unknown provider \"nobody\"", before, file_before);
  g_clear_error (&error);
  assert_refused (f, us_config_store_add_model (f->store, "default", "spare", "m", 9, &error), &error,
                  "$.chains[0].models: cannot insert at position 9 (the chain has 4)", before, file_before);
  g_assert_cmpuint (f->config_notified, ==, 2);
}

static void
test_remove_model (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(UsConfig) before = NULL;
  g_autofree char *order = NULL;
  g_autofree char *file_order = NULL;
  g_autofree char *file_before = NULL;

  g_assert_true (us_config_store_remove_model (f->store, "default", 1, &error));
  g_assert_no_error (error);
  order = chain_order (us_config_store_get_config (f->store), "default");
  g_assert_cmpstr (order, ==, "anthropic/*, ollama/qwen3-coder");
  us_config_store_sync (f->store);
  file_order = file_chain_order (f->path, 0);
  g_assert_cmpstr (file_order, ==, order);

  /* A chain keeps at least one model. */
  before = g_object_ref (us_config_store_get_config (f->store));
  file_before = read_file (f->path);
  assert_refused (f, us_config_store_remove_model (f->store, "background", 0, &error), &error,
                  "$.chains[1].models: expected at least one model", before, file_before);
  g_clear_error (&error);
  assert_refused (f, us_config_store_remove_model (f->store, "default", 2, &error), &error,
                  "$.chains[0].models: no model at position 2", before, file_before);
}

static JsonObject *
object_from (const char *text)
{
  g_autofree char *json = quotes (text);
  g_autoptr(JsonNode) node = json_from_string (json, NULL);

  return json_object_ref (json_node_get_object (node));
}

static void
test_set_provider (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) added = object_from ("{ 'id': 'groq', 'mine': 1 }");
  g_autoptr(JsonObject) changed = object_from ("{ 'id': 'deepseek', 'kind': 'openai-chat',"
                                               " 'base_url': 'https://deepseek.example/v1/' }");
  g_autoptr(JsonObject) bad_url = object_from ("{ 'id': 'deepseek', 'kind': 'openai-chat', 'base_url': 'ftp://x' }");
  g_autoptr(JsonObject) with_key = object_from ("{ 'id': 'groq', 'api_key': 'sk-do-not-store' }");
  g_autoptr(UsConfig) before = NULL;
  g_autofree char *file_before = NULL;
  g_autofree char *file_text = NULL;
  const UsProviderConfig *provider;
  g_autoptr(JsonNode) root = NULL;
  JsonArray *providers;
  JsonObject *deepseek;

  g_assert_true (us_config_store_set_provider (f->store, added, &error));
  g_assert_no_error (error);
  provider = us_config_lookup_provider (us_config_store_get_config (f->store), "groq");
  g_assert_nonnull (provider);
  g_assert_cmpstr (provider->base_url, ==, "https://api.groq.com/openai/v1");

  g_assert_true (us_config_store_set_provider (f->store, changed, &error));
  g_assert_no_error (error);
  provider = us_config_lookup_provider (us_config_store_get_config (f->store), "deepseek");
  g_assert_cmpstr (provider->base_url, ==, "https://deepseek.example/v1");
  /* The caller's object is its own: the snapshot shares nothing with it. */
  json_object_set_string_member (changed, "base_url", "https://changed.example");
  provider = us_config_lookup_provider (us_config_store_get_config (f->store), "deepseek");
  g_assert_cmpstr (provider->base_url, ==, "https://deepseek.example/v1");
  /* An id that names a preset takes the preset's key variable. */
  g_assert_cmpstr (provider->key_env, ==, "DEEPSEEK_API_KEY");

  us_config_store_sync (f->store);
  root = read_json (f->path);
  providers = json_object_get_array_member (json_node_get_object (root), "providers");
  g_assert_cmpuint (json_array_get_length (providers), ==, 5);
  /* Replaced in place: same position, the user's "color" kept, the
   * known field the edit left out gone. */
  deepseek = json_array_get_object_element (providers, 1);
  g_assert_cmpstr (json_object_get_string_member (deepseek, "id"), ==, "deepseek");
  g_assert_cmpstr (json_object_get_string_member (deepseek, "color"), ==, "blue");
  g_assert_false (json_object_has_member (deepseek, "key_env"));
  g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (providers, 4), "mine"), ==, 1);

  before = g_object_ref (us_config_store_get_config (f->store));
  file_before = read_file (f->path);
  assert_refused (f, us_config_store_set_provider (f->store, bad_url, &error), &error,
                  "$.providers[1].base_url: expected an http or https URL", before, file_before);
  g_clear_error (&error);
  assert_refused (f, us_config_store_set_provider (f->store, with_key, &error), &error,
                  "$.providers[4].api_key: a key is never stored in the config", before, file_before);
  file_text = read_file (f->path);
  g_assert_null (strstr (file_text, "sk-do-not-store"));
}

static void
test_remove_provider (Fixture       *f,
                      gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(UsConfig) before = g_object_ref (us_config_store_get_config (f->store));
  g_autofree char *file_before = read_file (f->path);

  /* Used by a chain: refused, naming where. */
  assert_refused (f, us_config_store_remove_provider (f->store, "deepseek", &error), &error,
                  "$.chains[0].models[1].provider: chain \"default\" still uses provider \"deepseek\"",
                  before, file_before);
  g_clear_error (&error);
  assert_refused (f, us_config_store_remove_provider (f->store, "nobody", &error), &error,
                  "$.providers: no provider \"nobody\"", before, file_before);
  g_clear_error (&error);

  g_assert_true (us_config_store_remove_provider (f->store, "spare", &error));
  g_assert_no_error (error);
  g_assert_null (us_config_lookup_provider (us_config_store_get_config (f->store), "spare"));
  g_assert_nonnull (us_config_lookup_provider (before, "spare"));
  us_config_store_sync (f->store);
  g_clear_pointer (&file_before, g_free);
  file_before = read_file (f->path);
  g_assert_null (strstr (file_before, "spare"));
}

static void
test_switches (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *file_before = NULL;
  g_autofree char *file_after = NULL;
  JsonObject *object;
  gboolean routing = TRUE;

  g_assert_true (us_config_store_get_routing (f->store));
  g_assert_true (us_config_store_get_notifications (f->store));

  us_config_store_set_routing (f->store, FALSE);
  g_assert_cmpuint (f->routing_notified, ==, 1);
  g_assert_false (us_config_store_get_routing (f->store));
  g_object_set (f->store, "notifications", FALSE, NULL);
  g_assert_cmpuint (f->notifications_notified, ==, 1);
  g_assert_cmpuint (f->routing_notified, ==, 1);
  g_assert_cmpuint (f->config_notified, ==, 2);
  g_assert_false (us_config_get_notifications (us_config_store_get_config (f->store)));

  us_config_store_sync (f->store);
  root = read_json (f->path);
  object = json_node_get_object (root);
  g_assert_false (json_object_get_boolean_member (object, "routing"));
  g_assert_false (json_object_get_boolean_member (json_object_get_object_member (object, "desktop"),
                                                  "notifications"));

  /* The same value again: nothing published, nothing saved. */
  file_before = read_file (f->path);
  g_object_set (f->store, "routing", FALSE, NULL);
  us_config_store_set_notifications (f->store, FALSE);
  g_assert_cmpuint (f->config_notified, ==, 2);
  us_config_store_sync (f->store);
  file_after = read_file (f->path);
  g_assert_cmpstr (file_after, ==, file_before);

  g_object_get (f->store, "routing", &routing, NULL);
  g_assert_false (routing);
}

/* ---- The file, edited by hand ------------------------------------------ */

static void
test_hand_edit (Fixture       *f,
                gconstpointer  data)
{
  g_autofree char *edited = NULL;
  g_autofree char *order = NULL;
  g_autofree char *file_before = NULL;
  g_autofree char *file_after = NULL;
  guint notified;

  /* Our own saves are not mistaken for edits: one publish per edit, and
   * the file stays still afterwards. */
  us_config_store_set_routing (f->store, FALSE);
  us_config_store_sync (f->store);
  file_before = read_file (f->path);
  settle (700);
  g_assert_cmpuint (f->config_notified, ==, 1);
  g_assert_cmpuint (f->file_errors, ==, 0);
  file_after = read_file (f->path);
  g_assert_cmpstr (file_after, ==, file_before);

  /* An editor's save (write elsewhere, rename over). */
  edited = quotes ("{ 'version': 1, 'routing': true, 'listen': { 'host': '127.0.0.1', 'port': 0,"
                   " 'token': '" TEST_TOKEN "' }, 'providers': [ { 'id': 'ollama' } ],"
                   " 'chains': [ { 'id': 'local', 'models': [ { 'provider': 'ollama', 'model': 'qwen3' } ] } ] }");
  notified = f->config_notified;
  g_assert_true (g_file_set_contents (f->path, edited, -1, NULL));
  wait_for_count (&f->config_notified, notified);
  g_assert_true (us_config_store_get_routing (f->store));
  g_assert_cmpuint (f->routing_notified, ==, 2);
  order = chain_order (us_config_store_get_config (f->store), "local");
  g_assert_cmpstr (order, ==, "ollama/qwen3");
  g_assert_cmpstr (us_config_get_path (us_config_store_get_config (f->store)), ==, f->path);

  /* Taken as it is: not written back. */
  settle (500);
  g_clear_pointer (&file_after, g_free);
  file_after = read_file (f->path);
  g_assert_cmpstr (file_after, ==, edited);
  g_assert_cmpuint (f->config_notified, ==, notified + 1);
  g_assert_cmpuint (f->file_errors, ==, 0);
}

static void
test_hand_edit_invalid (Fixture       *f,
                        gconstpointer  data)
{
  g_autoptr(UsConfig) before = g_object_ref (us_config_store_get_config (f->store));
  g_autofree char *broken = quotes ("{ 'version': 1, 'providers': [ { 'id': 'anthropic' } ],"
                                    " 'chains': [ { 'id': 'default', 'models': [ { 'provider': 'antropic', 'model': '*' } ] } ] }");
  g_autofree char *fixed = NULL;
  g_autofree char *after = NULL;
  g_autofree char *message = NULL;

  g_assert_true (g_file_set_contents (f->path, broken, -1, NULL));
  wait_for_count (&f->file_errors, 0);
  message = g_strdup_printf ("%s: $.chains[0].models[0].provider: unknown provider \"antropic\"", f->path);
  if (!g_str_has_prefix (f->file_error, message))
    g_error ("expected \"%s…\", got \"%s\"", message, f->file_error);
  g_assert_true (us_config_store_get_config (f->store) == before);
  g_assert_cmpuint (f->config_notified, ==, 0);

  /* An edit made meanwhile runs, but is not saved over the user's work. */
  us_config_store_set_routing (f->store, FALSE);
  us_config_store_sync (f->store);
  wait_for_count (&f->file_errors, 1);
  g_assert_nonnull (strstr (f->file_error, "Not saved"));
  g_assert_nonnull (strstr (f->file_error, "$.chains[0].models[0].provider"));
  g_assert_false (us_config_get_routing (us_config_store_get_config (f->store)));
  settle (300);
  after = read_file (f->path);
  g_assert_cmpstr (after, ==, broken);

  /* Fixed by hand: taken, and saving works again. */
  fixed = quotes ("{ 'version': 1, 'routing': false, 'listen': { 'port': 0, 'token': '" TEST_TOKEN "' },"
                  " 'providers': [ { 'id': 'anthropic' } ],"
                  " 'chains': [ { 'id': 'default', 'models': [ { 'provider': 'anthropic', 'model': '*' } ] } ] }");
  g_assert_true (g_file_set_contents (f->path, fixed, -1, NULL));
  wait_for_count (&f->config_notified, 1);
  g_assert_null (us_config_lookup_chain (us_config_store_get_config (f->store), "background"));
  us_config_store_set_routing (f->store, TRUE);
  us_config_store_sync (f->store);
  g_clear_pointer (&after, g_free);
  after = read_file (f->path);
  g_assert_nonnull (strstr (after, "\"routing\" : true"));
}

/* Clients' URLs carry the token: an edit that drops it keeps the running one,
 * written back so the file says what runs. */
static void
test_hand_edit_keeps_token (Fixture       *f,
                            gconstpointer  data)
{
  g_autofree char *edited = quotes ("{ 'version': 1, 'listen': { 'port': 0 }, 'providers': [ { 'id': 'ollama' } ],"
                                    " 'chains': [ { 'id': 'local', 'models': [ { 'provider': 'ollama', 'model': 'q' } ] } ] }");
  g_autofree char *after = NULL;

  g_assert_true (g_file_set_contents (f->path, edited, -1, NULL));
  wait_for_count (&f->config_notified, 0);
  g_assert_nonnull (us_config_lookup_chain (us_config_store_get_config (f->store), "local"));
  g_assert_cmpstr (us_config_get_token (us_config_store_get_config (f->store)), ==, TEST_TOKEN);
  us_config_store_sync (f->store);
  settle (300);
  after = read_file (f->path);
  g_assert_nonnull (strstr (after, TEST_TOKEN));
  g_assert_nonnull (strstr (after, "\"local\""));
  g_assert_cmpuint (f->config_notified, ==, 1);
  g_assert_cmpuint (f->file_errors, ==, 0);
}

/* ---- Through the proxy ------------------------------------------------- */

#define REQUEST_BODY "{\"model\":\"claude-test\",\"max_tokens\":16," \
                     "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"

static void
on_reply (GObject      *source,
          GAsyncResult *result,
          gpointer      data)
{
  GBytes **out = data;

  *out = soup_session_send_and_read_finish (SOUP_SESSION (source), result, NULL);
  if (*out == NULL)
    *out = g_bytes_new (NULL, 0);
}

/* A request in flight keeps the chain it started with; the next one uses
 * the new order. */
static void
test_snapshot_in_flight (void)
{
  g_autoptr(UsFakeProvider) a = us_fake_provider_new (US_FAKE_FORMAT_ANTHROPIC);
  g_autoptr(UsFakeProvider) b = us_fake_provider_new (US_FAKE_FORMAT_ANTHROPIC);
  g_autoptr(UsFakeProvider) c = us_fake_provider_new (US_FAKE_FORMAT_ANTHROPIC);
  g_autofree char *json = NULL;
  g_autoptr(UsProxy) proxy = NULL;
  TestClient *client;
  g_autoptr(SoupSession) session = soup_session_new ();
  g_autoptr(SoupMessage) msg = NULL;
  g_autoptr(GBytes) body = g_bytes_new_static (REQUEST_BODY, strlen (REQUEST_BODY));
  g_autoptr(GBytes) first = NULL;
  g_autoptr(TestReply) second = NULL;
  g_autoptr(TestReply) third = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *url = NULL;
  UsConfigStore *store;

  json = g_strdup_printf (
    "{ \"version\": 1, \"listen\": { \"port\": 0, \"token\": \"" TEST_TOKEN "\" },"
    "  \"providers\": ["
    "    { \"id\": \"a\", \"kind\": \"anthropic\", \"base_url\": \"%s\", \"auth\": \"none\" },"
    "    { \"id\": \"b\", \"kind\": \"anthropic\", \"base_url\": \"%s\", \"auth\": \"none\" },"
    "    { \"id\": \"c\", \"kind\": \"anthropic\", \"base_url\": \"%s\", \"auth\": \"none\" } ],"
    "  \"chains\": [ { \"id\": \"default\", \"models\": ["
    "    { \"provider\": \"a\", \"model\": \"ma\" }, { \"provider\": \"b\", \"model\": \"mb\" },"
    "    { \"provider\": \"c\", \"model\": \"mc\" } ] } ] }",
    us_fake_provider_get_base_url (a), us_fake_provider_get_base_url (b), us_fake_provider_get_base_url (c));
  proxy = test_proxy_new (json);
  store = us_proxy_get_store (proxy);
  client = test_client_new (proxy);

  /* a fails every time, the first time slowly. */
  us_fake_provider_push (a, &(UsFakeStep) { .behavior = US_FAKE_STATUS, .status = 500, .delay_ms = 400 });
  us_fake_provider_set_default (a, &(UsFakeStep) { .behavior = US_FAKE_STATUS, .status = 500 });

  url = test_proxy_url (client, "/v1/messages");
  msg = soup_message_new ("POST", url);
  soup_message_set_request_body_from_bytes (msg, "application/json", body);
  soup_session_send_and_read_async (session, msg, G_PRIORITY_DEFAULT, NULL, on_reply, &first);
  while (us_fake_provider_get_n_requests (a) == 0)
    g_main_context_iteration (NULL, TRUE);

  /* While a is still thinking: b leaves the chain. */
  g_assert_true (us_config_store_remove_model (store, "default", 1, &error));
  g_assert_no_error (error);
  g_assert_null (first);

  while (first == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (soup_message_get_status (msg), ==, 200);
  g_assert_cmpstr (soup_message_headers_get_one (soup_message_get_response_headers (msg), "x-understudy-model"),
                   ==, "b/mb");
  g_assert_cmpuint (us_fake_provider_get_n_requests (b), ==, 1);
  g_assert_cmpuint (us_fake_provider_get_n_requests (c), ==, 0);

  /* The next request: a, then c; b is no longer asked. */
  second = test_post (client, "/v1/messages", REQUEST_BODY, NULL);
  g_assert_cmpuint (second->status, ==, 200);
  g_assert_cmpstr (soup_message_headers_get_one (second->headers, "x-understudy-model"), ==, "c/mc");
  g_assert_cmpuint (us_fake_provider_get_n_requests (b), ==, 1);

  /* And a reorder is followed too. */
  g_assert_true (us_config_store_move_model (store, "default", 1, 0, &error));
  third = test_post (client, "/v1/messages", REQUEST_BODY, NULL);
  g_assert_cmpstr (soup_message_headers_get_one (third->headers, "x-understudy-attempts"), ==, "1");
  g_assert_cmpstr (soup_message_headers_get_one (third->headers, "x-understudy-model"), ==, "c/mc");

  test_client_free (client);
}

static void
count_proxy_notify (GObject    *object,
                    GParamSpec *pspec,
                    guint      *count)
{
  (*count)++;
}

static const char claude_original[] = "{\n  \"model\": \"opus\"\n}\n";

/* The race of issue 7: 30 quick toggles through the API ending with off
 * left "routing": true on disk in 2 runs of 10. Saves and rewiring now run
 * in order, so the file and the client always end as the last toggle. */
static void
test_routing_race (void)
{
  g_autofree char *claude = g_build_filename (g_get_home_dir (), ".claude", "settings.json", NULL);
  g_autofree char *claude_dir = g_path_get_dirname (claude);

  g_assert_cmpint (g_mkdir_with_parents (claude_dir, 0700), ==, 0);

  for (guint run = 0; run < 10; run++)
    {
      Fixture f = { 0 };
      g_autoptr(UsProxy) proxy = NULL;
      g_autoptr(JsonNode) root = NULL;
      g_autoptr(GError) error = NULL;
      g_autofree char *client_url = NULL;
      g_autofree char *claude_now = NULL;
      TestClient *client;
      guint proxy_notified = 0;

      fixture_set_up (&f, NULL);
      proxy = us_proxy_new_for_store (f.store);
      us_proxy_start (proxy, &error);
      g_assert_no_error (error);
      client_url = us_proxy_dup_client_url (proxy);
      us_config_store_set_client_url (f.store, client_url);
      g_signal_connect (proxy, "notify::routing", G_CALLBACK (count_proxy_notify), &proxy_notified);

      /* Claude Code is connected, so every toggle also rewires it. */
      g_assert_true (g_file_set_contents (claude, claude_original, -1, NULL));
      g_assert_true (us_client_connect (US_CLIENT_CLAUDE_CODE, client_url, &error));
      g_assert_no_error (error);

      client = test_client_new (proxy);
      for (guint i = 0; i < 30; i++)
        {
          /* off, on, off, … and off last */
          gboolean on = i % 2 == 1 && i != 29;
          g_autoptr(TestReply) reply = test_post (client, "/understudy/routing",
                                                  on ? "{\"routing\":true}" : "{\"routing\":false}", NULL);

          g_assert_cmpuint (reply->status, ==, 200);
        }
      test_client_free (client);
      g_assert_false (us_proxy_get_routing (proxy));
      g_assert_cmpuint (proxy_notified, ==, f.routing_notified);
      g_assert_cmpuint (f.routing_notified, ==, 29);

      us_config_store_sync (f.store);
      root = read_json (f.path);
      if (json_object_get_boolean_member (json_node_get_object (root), "routing"))
        g_error ("run %u: config.json says \"routing\": true after ending with off", run);
      /* Off restores the client's own settings. */
      claude_now = read_file (claude);
      g_assert_cmpstr (claude_now, ==, claude_original);
      g_assert_cmpuint (f.file_errors, ==, 0);

      us_client_disconnect (US_CLIENT_CLAUDE_CODE, NULL);
      g_clear_object (&proxy);
      fixture_tear_down (&f, NULL);
    }
}

/* The status API and the proxy's switch follow the store. */
static void
test_proxy_follows_store (Fixture       *f,
                          gconstpointer  data)
{
  g_autoptr(UsProxy) proxy = us_proxy_new_for_store (f->store);
  g_autoptr(GError) error = NULL;
  g_autoptr(TestReply) reply = NULL;
  g_autoptr(JsonNode) status = NULL;
  g_autofree char *edited = NULL;
  char *port;
  TestClient *client;
  guint notified = 0;

  us_proxy_start (proxy, &error);
  g_assert_no_error (error);
  g_assert_true (us_proxy_get_store (proxy) == f->store);
  g_signal_connect (proxy, "notify::routing", G_CALLBACK (count_proxy_notify), &notified);

  us_config_store_set_routing (f->store, FALSE);
  g_assert_cmpuint (notified, ==, 1);
  g_assert_false (us_proxy_get_routing (proxy));
  us_proxy_set_routing (proxy, TRUE);
  g_assert_true (us_config_store_get_routing (f->store));
  g_assert_cmpuint (notified, ==, 2);

  g_assert_true (us_config_store_move_model (f->store, "default", 2, 0, &error));
  client = test_client_new (proxy);
  reply = test_get (client, "/understudy/status", NULL);
  g_assert_cmpuint (reply->status, ==, 200);
  status = json_from_string (reply->body, NULL);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (json_object_get_array_member (
    json_array_get_object_element (json_object_get_array_member (json_node_get_object (status), "chains"), 0),
    "models"), 0), "provider"), ==, "ollama");

  /* A new port in the file takes a restart, and the log says so. */
  us_config_store_sync (f->store);
  edited = read_file (f->path);
  port = strstr (edited, "\"port\" : 0");
  g_assert_nonnull (port);
  port[strlen ("\"port\" : ")] = '9';
  g_test_expect_message ("Understudy", G_LOG_LEVEL_MESSAGE, "*listen.host/listen.port changed*restarted*");
  g_assert_true (g_file_set_contents (f->path, edited, -1, NULL));
  wait_for_count (&f->config_notified, f->config_notified);
  g_test_assert_expected_messages ();
  g_assert_cmpuint (us_config_get_port (us_config_store_get_config (f->store)), ==, 9);
  g_clear_pointer (&reply, test_reply_free);
  reply = test_get (client, "/understudy/status", NULL);
  g_assert_cmpuint (reply->status, ==, 200);
  test_client_free (client);
}

static int
remove_entry (const char        *path,
              const struct stat *st,
              int                type,
              struct FTW        *ftw)
{
  return remove (path);
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *home = g_dir_make_tmp ("us-store-home-XXXXXX", NULL);
  int status;

  /* Client files (Claude Code's settings) live in a private HOME. */
  g_setenv ("HOME", home, TRUE);
  g_unsetenv ("XDG_CONFIG_HOME");
  g_unsetenv ("XDG_STATE_HOME");
  g_unsetenv ("CLAUDE_CONFIG_DIR");
  g_unsetenv ("CODEX_HOME");
  g_test_init (&argc, &argv, NULL);

#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_set_up, fn, fixture_tear_down)
  ADD ("/store/move-model", test_move_model);
  ADD ("/store/add-model", test_add_model);
  ADD ("/store/remove-model", test_remove_model);
  ADD ("/store/set-provider", test_set_provider);
  ADD ("/store/remove-provider", test_remove_provider);
  ADD ("/store/switches", test_switches);
  ADD ("/store/hand-edit", test_hand_edit);
  ADD ("/store/hand-edit-invalid", test_hand_edit_invalid);
  ADD ("/store/hand-edit-keeps-token", test_hand_edit_keeps_token);
  ADD ("/store/proxy-follows-store", test_proxy_follows_store);
  g_test_add_func ("/store/snapshot-in-flight", test_snapshot_in_flight);
  g_test_add_func ("/store/routing-race", test_routing_race);

  status = g_test_run ();
  /* What the connectors left in the private HOME. */
  nftw (home, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
  return status;
}
