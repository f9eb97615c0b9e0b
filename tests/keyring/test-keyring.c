/* test-keyring.c: UsKeyring and the proxy's keys against a real
 * gnome-keyring-daemon (run by with-keyring.sh; US_KEYRING_MODE=yes), or a
 * session bus without any Secret Service (US_KEYRING_MODE=no).
 */
#include <libsecret/secret.h>
#include <signal.h>

#include "test-util.h"
#include "us-fake-bedrock.h"
#include "us-keyring.h"

#define KEY "sk-test-keyring-0123456789"

static gboolean with_keyring;

static void
on_done (GObject      *source,
         GAsyncResult *result,
         gpointer      data)
{
  GAsyncResult **out = data;

  *out = g_object_ref (result);
}

static GAsyncResult *
wait_for (GAsyncResult **slot)
{
  while (*slot == NULL)
    g_main_context_iteration (NULL, TRUE);
  return *slot;
}

static void
store (const char *provider_id,
       const char *key)
{
  g_autoptr(UsKeyring) keyring = us_keyring_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  us_keyring_store_async (keyring, provider_id, key, NULL, on_done, &result);
  g_assert_true (us_keyring_store_finish (keyring, wait_for (&result), &error));
  g_assert_no_error (error);
  g_assert_cmpstr (us_keyring_lookup_cached (keyring, provider_id), ==, key);
}

static void
on_changed (UsKeyring  *keyring,
            const char *provider_id,
            GPtrArray  *seen)
{
  g_ptr_array_add (seen, g_strdup (provider_id));
}

static gboolean
count_tick (gpointer data)
{
  (*(guint *) data)++;
  return G_SOURCE_CONTINUE;
}

/* The cache fills from the keyring while the main loop goes on running
 * other sources: nothing waits on D-Bus synchronously. */
static void
test_load_async (void)
{
  g_autoptr(UsKeyring) keyring = us_keyring_new ();
  g_autoptr(GPtrArray) changed = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  const char * const ids[] = { "deepseek", "nokey", NULL };
  guint ticks = 0;
  guint tick_id;

  store ("deepseek", KEY);
  g_signal_connect (keyring, "changed", G_CALLBACK (on_changed), changed);
  g_assert_cmpint (us_keyring_get_state (keyring), ==, US_KEYRING_UNKNOWN);

  tick_id = g_timeout_add (0, count_tick, &ticks);
  us_keyring_load_async (keyring, ids, NULL, on_done, &result);
  /* Nothing is known before the main loop has run. */
  g_assert_null (us_keyring_lookup_cached (keyring, "deepseek"));
  g_assert_cmpuint (changed->len, ==, 0);
  g_assert_true (us_keyring_load_finish (keyring, wait_for (&result), &error));
  g_assert_no_error (error);
  g_source_remove (tick_id);
  g_test_message ("the main loop ran a timeout source %u times during the load", ticks);
  g_assert_cmpuint (ticks, >, 0);

  g_assert_cmpstr (us_keyring_lookup_cached (keyring, "deepseek"), ==, KEY);
  g_assert_true (us_keyring_has_key (keyring, "deepseek"));
  g_assert_null (us_keyring_lookup_cached (keyring, "nokey"));
  g_assert_false (us_keyring_has_key (keyring, "nokey"));
  g_assert_cmpuint (changed->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (changed, 0), ==, "deepseek");
  g_assert_cmpint (us_keyring_get_state (keyring), ==, US_KEYRING_AVAILABLE);
  g_assert_null (us_keyring_get_message (keyring));
  {
    UsKeyringState state = US_KEYRING_UNKNOWN;

    g_object_get (keyring, "state", &state, NULL);
    g_assert_cmpint (state, ==, US_KEYRING_AVAILABLE);
  }

  /* Invalidate forgets; delete removes from the keyring itself. */
  us_keyring_invalidate (keyring, "deepseek");
  g_assert_null (us_keyring_lookup_cached (keyring, "deepseek"));
  g_assert_cmpuint (changed->len, ==, 2);
  g_clear_object (&result);
  us_keyring_delete_async (keyring, "deepseek", NULL, on_done, &result);
  g_assert_true (us_keyring_delete_finish (keyring, wait_for (&result), &error));
  g_clear_object (&result);
  us_keyring_load_async (keyring, ids, NULL, on_done, &result);
  g_assert_true (us_keyring_load_finish (keyring, wait_for (&result), &error));
  g_assert_false (us_keyring_has_key (keyring, "deepseek"));
}

/* The same key under another provider stays apart. */
static void
test_per_provider (void)
{
  g_autoptr(UsKeyring) keyring = us_keyring_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  const char * const ids[] = { "a", "b", NULL };

  store ("a", "sk-a");
  store ("b", "sk-b");
  us_keyring_load_async (keyring, ids, NULL, on_done, &result);
  g_assert_true (us_keyring_load_finish (keyring, wait_for (&result), &error));
  g_assert_cmpstr (us_keyring_lookup_cached (keyring, "a"), ==, "sk-a");
  g_assert_cmpstr (us_keyring_lookup_cached (keyring, "b"), ==, "sk-b");
}

/* Waits for one keyring call; asserts it succeeded. */
#define WAIT_OK(call_async, call_finish, ...) \
  G_STMT_START { \
    g_autoptr(GAsyncResult) r_ = NULL; \
    g_autoptr(GError) e_ = NULL; \
    call_async (keyring, __VA_ARGS__, NULL, on_done, &r_); \
    g_assert_true (call_finish (keyring, wait_for (&r_), &e_)); \
    g_assert_no_error (e_); \
  } G_STMT_END

static gboolean
add_finish_any (UsKeyring     *keyring,
                GAsyncResult  *result,
                GError       **error)
{
  return us_keyring_add_finish (keyring, result, NULL, error);
}

/* A fresh keyring object's view of @provider_id's pool, joined by ",". */
static char *
pool_from_keyring (const char *provider_id)
{
  g_autoptr(UsKeyring) keyring = us_keyring_new ();
  const char * const ids[] = { provider_id, NULL };
  g_autoptr(GString) joined = g_string_new (NULL);

  WAIT_OK (us_keyring_load_async, us_keyring_load_finish, ids);
  for (guint i = 1; i <= us_keyring_get_n_keys (keyring, provider_id); i++)
    g_string_append_printf (joined, "%s%s", i > 1 ? "," : "", us_keyring_lookup_cached_nth (keyring, provider_id, i));
  return g_strdup (joined->str);
}

/* The schema as it was before key pools: no "index" attribute. */
static const SecretSchema single_key_schema = {
  "io.github.understudy.Understudy.ProviderKey", SECRET_SCHEMA_NONE,
  { { "provider", SECRET_SCHEMA_ATTRIBUTE_STRING }, { NULL, 0 } }
};

/* Several keys per provider: an entry from before pools is key 1, added
 * keys follow it, deleting one moves the later ones up, and every change
 * is what a fresh reader of the keyring sees too. */
static void
test_pool (void)
{
  g_autoptr(UsKeyring) keyring = us_keyring_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  const char * const ids[] = { "pooled", NULL };
  g_autofree char *seen = NULL;
  guint position = 0;

  g_assert_true (secret_password_store_sync (&single_key_schema, SECRET_COLLECTION_DEFAULT, "old entry", "sk-old",
                                             NULL, &error, "provider", "pooled", NULL));
  g_assert_no_error (error);
  WAIT_OK (us_keyring_load_async, us_keyring_load_finish, ids);
  g_assert_cmpuint (us_keyring_get_n_keys (keyring, "pooled"), ==, 1);
  g_assert_cmpstr (us_keyring_lookup_cached (keyring, "pooled"), ==, "sk-old");

  us_keyring_add_async (keyring, "pooled", "sk-two", NULL, on_done, &result);
  g_assert_true (us_keyring_add_finish (keyring, wait_for (&result), &position, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (position, ==, 2);
  WAIT_OK (us_keyring_add_async, add_finish_any, "pooled", "sk-three");
  g_assert_cmpuint (us_keyring_get_n_keys (keyring, "pooled"), ==, 3);
  g_assert_cmpstr (us_keyring_lookup_cached_nth (keyring, "pooled", 1), ==, "sk-old");
  g_assert_cmpstr (us_keyring_lookup_cached_nth (keyring, "pooled", 2), ==, "sk-two");
  g_assert_cmpstr (us_keyring_lookup_cached_nth (keyring, "pooled", 3), ==, "sk-three");
  g_assert_null (us_keyring_lookup_cached_nth (keyring, "pooled", 4));
  g_assert_null (us_keyring_lookup_cached_nth (keyring, "pooled", 0));
  {
    gint64 start = g_get_monotonic_time ();

    seen = pool_from_keyring ("pooled");
    g_test_message ("a pool of three keys read in %.1f ms", (g_get_monotonic_time () - start) / 1000.0);
  }
  g_assert_cmpstr (seen, ==, "sk-old,sk-two,sk-three");
  g_clear_pointer (&seen, g_free);

  /* An added key. */
  WAIT_OK (us_keyring_delete_nth_async, us_keyring_delete_nth_finish, "pooled", 2);
  seen = pool_from_keyring ("pooled");
  g_assert_cmpstr (seen, ==, "sk-old,sk-three");
  g_clear_pointer (&seen, g_free);
  g_assert_cmpstr (us_keyring_lookup_cached_nth (keyring, "pooled", 2), ==, "sk-three");

  /* The old entry, which no index singles out: the others stay. */
  WAIT_OK (us_keyring_delete_nth_async, us_keyring_delete_nth_finish, "pooled", 1);
  seen = pool_from_keyring ("pooled");
  g_assert_cmpstr (seen, ==, "sk-three");
  g_clear_pointer (&seen, g_free);
  g_assert_cmpuint (us_keyring_get_n_keys (keyring, "pooled"), ==, 1);

  /* No such key. */
  g_clear_object (&result);
  us_keyring_delete_nth_async (keyring, "pooled", 5, NULL, on_done, &result);
  g_assert_false (us_keyring_delete_nth_finish (keyring, wait_for (&result), &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_test_message ("%s", error->message);
  g_clear_error (&error);

  /* set makes the pool one key; delete empties it. */
  WAIT_OK (us_keyring_add_async, add_finish_any, "pooled", "sk-four");
  WAIT_OK (us_keyring_store_async, us_keyring_store_finish, "pooled", "sk-only");
  seen = pool_from_keyring ("pooled");
  g_assert_cmpstr (seen, ==, "sk-only");
  g_clear_pointer (&seen, g_free);
  WAIT_OK (us_keyring_delete_async, us_keyring_delete_finish, "pooled");
  seen = pool_from_keyring ("pooled");
  g_assert_cmpstr (seen, ==, "");
  g_assert_false (us_keyring_has_key (keyring, "pooled"));
}

typedef struct {
  UsFakeProvider *fake;
  UsProxy *proxy;
  TestClient *client;
} Fixture;

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  g_autofree char *json = NULL;

  f->fake = us_fake_provider_new (US_FAKE_FORMAT_OPENAI_CHAT);
  us_fake_provider_set_required_key (f->fake, KEY);
  json = g_strdup_printf (
    "{ \"version\": 1,"
    "  \"listen\": { \"host\": \"127.0.0.1\", \"port\": 0, \"token\": \"" TEST_TOKEN "\" },"
    "  \"providers\": ["
    "    { \"id\": \"deepseek\", \"kind\": \"openai-chat\", \"base_url\": \"%s/v1\", \"auth\": \"key\","
    "      \"key_env\": \"US_TEST_DEEPSEEK_KEY\" } ],"
    "  \"chains\": [ { \"id\": \"default\", \"match\": [\"*\"], \"models\": ["
    "    { \"provider\": \"deepseek\", \"model\": \"deepseek-chat\" } ] } ] }",
    us_fake_provider_get_base_url (f->fake));
  if (with_keyring && data == NULL)
    {
      g_assert_null (g_getenv ("US_TEST_DEEPSEEK_KEY"));
      store ("deepseek", KEY);
    }
  else
    g_setenv ("US_TEST_DEEPSEEK_KEY", KEY, TRUE);

  f->proxy = test_proxy_new (json);
  f->client = test_client_new (f->proxy);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  test_client_free (f->client);
  g_clear_object (&f->proxy);
  g_clear_object (&f->fake);
}

static void
assert_served_with_key (Fixture *f)
{
  const char *body = "{\"model\":\"deepseek-chat\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
  g_autoptr(TestReply) reply = test_post (f->client, "/v1/chat/completions", body, NULL);
  g_autofree char *bearer = g_strconcat ("Bearer ", KEY, NULL);

  g_assert_cmpuint (reply->status, ==, 200);
  g_assert_cmpstr (us_fake_request_get_header (us_fake_provider_get_last_request (f->fake), "authorization"), ==,
                   bearer);
}

/* The gnome-keyring-daemon that with-keyring.sh started for this test. */
static pid_t
keyring_daemon_pid (void)
{
  g_autoptr(GDBusConnection) bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, NULL);
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;
  guint32 pid;

  reply = g_dbus_connection_call_sync (bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                       "org.freedesktop.DBus", "GetConnectionUnixProcessID",
                                       g_variant_new ("(s)", "org.freedesktop.secrets"), G_VARIANT_TYPE ("(u)"),
                                       G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
  g_assert_no_error (error);
  g_variant_get (reply, "(u)", &pid);
  return (pid_t) pid;
}

/* The proxy starts while the keyring daemon is stopped, so its key load
 * cannot finish before a request arrives. */
static void
stopped_set_up (Fixture       *f,
                gconstpointer  data)
{
  g_autofree char *json = NULL;

  f->fake = us_fake_provider_new (US_FAKE_FORMAT_OPENAI_CHAT);
  us_fake_provider_set_required_key (f->fake, KEY);
  store ("deepseek", KEY);
  g_assert_null (g_getenv ("US_TEST_DEEPSEEK_KEY"));
  g_assert_cmpint (kill (keyring_daemon_pid (), SIGSTOP), ==, 0);
  json = g_strdup_printf (
    "{ \"version\": 1,"
    "  \"listen\": { \"host\": \"127.0.0.1\", \"port\": 0, \"token\": \"" TEST_TOKEN "\" },"
    "  \"providers\": ["
    "    { \"id\": \"deepseek\", \"kind\": \"openai-chat\", \"base_url\": \"%s/v1\", \"auth\": \"key\","
    "      \"key_env\": \"US_TEST_DEEPSEEK_KEY\" } ],"
    "  \"chains\": [ { \"id\": \"default\", \"match\": [\"*\"], \"models\": ["
    "    { \"provider\": \"deepseek\", \"model\": \"deepseek-chat\" } ] } ] }",
    us_fake_provider_get_base_url (f->fake));
  f->proxy = test_proxy_new (json);
  f->client = test_client_new (f->proxy);
}

typedef struct {
  Fixture *f;
  pid_t daemon;
  gboolean waited;
} Resume;

static gboolean
resume_daemon (gpointer data)
{
  Resume *resume = data;

  /* 300 ms in, the request is still waiting: nothing reached the provider
   * and no error went back. */
  g_assert_true (us_proxy_is_loading_key (resume->f->proxy, "deepseek"));
  g_assert_cmpuint (us_fake_provider_get_n_requests (resume->f->fake), ==, 0);
  resume->waited = TRUE;
  g_assert_cmpint (kill (resume->daemon, SIGCONT), ==, 0);
  return G_SOURCE_REMOVE;
}

/* A request that comes while the keys are still being read waits for them
 * (the only key is in the keyring; no key_env is set). */
static void
test_request_waits_for_load (Fixture       *f,
                             gconstpointer  data)
{
  Resume resume = { f, keyring_daemon_pid (), FALSE };

  g_assert_true (us_proxy_is_loading_key (f->proxy, "deepseek"));
  g_timeout_add (300, resume_daemon, &resume);
  assert_served_with_key (f);
  g_assert_true (resume.waited);
  g_assert_false (us_proxy_is_loading_key (f->proxy, "deepseek"));

  /* A new config means a new load; a request meanwhile still gets the key. */
  us_config_store_set_notifications (us_proxy_get_store (f->proxy), FALSE);
  g_assert_true (us_proxy_is_loading_key (f->proxy, "deepseek"));
  assert_served_with_key (f);
}

/* POST /understudy/keys: the running proxy reads that key again. */
static void
test_reload_endpoint (Fixture       *f,
                      gconstpointer  data)
{
  g_autoptr(TestReply) reply = NULL;
  g_autoptr(TestReply) bad = NULL;

  assert_served_with_key (f);
  store ("deepseek", "sk-wrong");
  reply = test_post (f->client, "/understudy/keys", "{\"provider\":\"deepseek\"}", NULL);
  g_assert_cmpuint (reply->status, ==, 200);
  bad = test_post (f->client, "/understudy/keys", "{\"provider\":5}", NULL);
  g_assert_cmpuint (bad->status, ==, 400);
  {
    const char *body = "{\"model\":\"deepseek-chat\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    g_autoptr(TestReply) rejected = test_post (f->client, "/v1/chat/completions", body, NULL);

    g_assert_cmpuint (rejected->status, ==, 401);
  }
  store ("deepseek", KEY);
  g_clear_pointer (&reply, test_reply_free);
  reply = test_post (f->client, "/understudy/keys", "{\"provider\":\"deepseek\"}", NULL);
  assert_served_with_key (f);
}

static void
on_notify_message (GObject    *object,
                   GParamSpec *pspec,
                   guint      *count)
{
  (*count)++;
}

/* No Secret Service: a message saying what to do, and keys from key_env. */
static void
test_missing (Fixture       *f,
              gconstpointer  data)
{
  g_autoptr(UsKeyring) keyring = us_keyring_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  const char * const ids[] = { "deepseek", NULL };
  guint notified = 0;

  g_signal_connect (keyring, "notify::message", G_CALLBACK (on_notify_message), &notified);
  us_keyring_load_async (keyring, ids, NULL, on_done, &result);
  g_assert_false (us_keyring_load_finish (keyring, wait_for (&result), &error));
  g_assert_nonnull (error);
  g_assert_cmpint (us_keyring_get_state (keyring), ==, US_KEYRING_MISSING);
  g_assert_cmpuint (notified, ==, 1);
  g_assert_nonnull (strstr (us_keyring_get_message (keyring), "No keyring (Secret Service) is running"));
  g_assert_nonnull (strstr (us_keyring_get_message (keyring), "key_env"));
  g_assert_cmpstr (error->message, ==, us_keyring_get_message (keyring));

  g_clear_object (&result);
  g_clear_error (&error);
  us_keyring_store_async (keyring, "deepseek", KEY, NULL, on_done, &result);
  g_assert_false (us_keyring_store_finish (keyring, wait_for (&result), &error));
  g_assert_cmpstr (error->message, ==, us_keyring_get_message (keyring));

  /* The proxy serves with key_env all the same. */
  assert_served_with_key (f);
  g_assert_cmpint (us_keyring_get_state (us_proxy_get_keyring (f->proxy)), ==, US_KEYRING_MISSING);
}

static void
lock_default_collection (void)
{
  g_autoptr(GDBusConnection) bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, NULL);
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;
  const char * const paths[] = { "/org/freedesktop/secrets/aliases/default", NULL };

  reply = g_dbus_connection_call_sync (bus, "org.freedesktop.secrets", "/org/freedesktop/secrets",
                                       "org.freedesktop.Secret.Service", "Lock",
                                       g_variant_new ("(^ao)", paths), NULL, G_DBUS_CALL_FLAGS_NONE, -1,
                                       NULL, &error);
  g_assert_no_error (error);
}

/* A locked keyring: the message says to unlock it, keys come from key_env,
 * and no unlock prompt is asked for. (Runs last: nothing unlocks it again.) */
static void
test_locked (Fixture       *f,
             gconstpointer  data)
{
  UsKeyring *keyring = us_proxy_get_keyring (f->proxy);

  assert_served_with_key (f);
  g_assert_cmpint (us_keyring_get_state (keyring), ==, US_KEYRING_LOCKED);
  g_assert_nonnull (strstr (us_keyring_get_message (keyring), "The keyring is locked: unlock it"));
  g_assert_nonnull (strstr (us_keyring_get_message (keyring), "key_env"));
}

static void
locked_set_up (Fixture       *f,
               gconstpointer  data)
{
  /* Were the locked keyring read after all, the fake would refuse this. */
  store ("deepseek", "sk-never-read-while-locked");
  lock_default_collection ();
  fixture_set_up (f, data);
}

/* auth: aws: the AWS credentials stored as the provider's key (their
 * JSON form) sign the request, with no AWS variable set. */
static void
test_bedrock_credentials (void)
{
  g_autoptr(UsFakeBedrock) bedrock = us_fake_bedrock_new ("eu-west-3", "AKIDKEYRING", "keyring/secret", "tok-1");
  g_autoptr(UsProxy) proxy = NULL;
  g_autoptr(TestClient) client = NULL;
  g_autoptr(TestReply) reply = NULL;
  g_autofree char *json = g_strdup_printf (
    "{ \"version\": 1,"
    "  \"listen\": { \"host\": \"127.0.0.1\", \"port\": 0, \"token\": \"" TEST_TOKEN "\" },"
    "  \"providers\": ["
    "    { \"id\": \"bedrock\", \"kind\": \"bedrock\", \"region\": \"eu-west-3\", \"base_url\": \"%s\" } ],"
    "  \"chains\": [ { \"id\": \"default\", \"match\": [\"*\"], \"models\": ["
    "    { \"provider\": \"bedrock\", \"model\": \"anthropic.claude-3-5-haiku-20241022-v1:0\" } ] } ] }",
    us_fake_bedrock_get_base_url (bedrock));

  g_assert_null (g_getenv ("AWS_ACCESS_KEY_ID"));
  store ("bedrock", "{\"access_key_id\": \"AKIDKEYRING\", \"secret_access_key\": \"keyring/secret\","
                    " \"session_token\": \"tok-1\"}");
  proxy = test_proxy_new (json);
  client = test_client_new (proxy);
  reply = test_post (client, "/v1/messages",
                     "{\"model\":\"claude\",\"max_tokens\":32,\"stream\":true,"
                     "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", NULL);
  g_assert_cmpuint (reply->status, ==, 200);
  g_assert_null (us_fake_bedrock_get_last_refusal (bedrock));
  g_assert_cmpuint (us_fake_bedrock_get_n_requests (bedrock), ==, 1);
  g_assert_nonnull (strstr (reply->body, "\"text\":\"bedrock"));
}

int
main (int   argc,
      char *argv[])
{
  int status;

  g_test_init (&argc, &argv, NULL);
  with_keyring = g_strcmp0 (g_getenv ("US_KEYRING_MODE"), "yes") == 0;
  if (g_getenv ("DBUS_SESSION_BUS_ADDRESS") == NULL)
    {
      g_test_skip ("not on a private session bus: run through tests/keyring/with-keyring.sh");
      return 77;
    }

  if (with_keyring)
    {
      g_test_add_func ("/keyring/load-async", test_load_async);
      g_test_add_func ("/keyring/per-provider", test_per_provider);
      g_test_add_func ("/keyring/pool", test_pool);
      /* Before /keyring/locked, which leaves the collection locked. */
      g_test_add_func ("/keyring/bedrock-credentials", test_bedrock_credentials);
      g_test_add ("/keyring/request-waits-for-load", Fixture, NULL, stopped_set_up, test_request_waits_for_load,
                  fixture_tear_down);
      g_test_add ("/keyring/reload-endpoint", Fixture, NULL, fixture_set_up, test_reload_endpoint,
                  fixture_tear_down);
      g_test_add ("/keyring/locked", Fixture, "locked", locked_set_up, test_locked, fixture_tear_down);
    }
  else
    g_test_add ("/keyring/missing", Fixture, NULL, fixture_set_up, test_missing, fixture_tear_down);

  status = g_test_run ();
  /* libsecret's shared SecretService and its D-Bus connection. */
  secret_service_disconnect ();
  return status;
}
