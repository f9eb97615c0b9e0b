/* us-proxy.c: the local proxy server: access checks, endpoints, status API.
 *
 * Every client URL carries the per-install token in its path
 * (/t/<token>/v1/...), so clients keep their own auth headers for
 * pass-through. Model requests are handed to a UsRequestJob.
 */
#include "us-proxy.h"

#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <sys/resource.h>
#include <sys/socket.h>

#include "us-aws-credentials.h"
#include "us-client-watcher.h"
#include "us-explain.h"
#include "us-keepalive.h"
#include "us-request-job.h"
#include "us-router.h"
#include "us-translate.h"
#include "us-upstream.h"

#define STATUS_REQUESTS 100
#define LOG_CAPACITY 500

struct _UsProxy
{
  GObject parent_instance;

  UsConfigStore *store;     /* each request takes its newest snapshot */
  SoupServer *server;
  SoupSession *session;
  UsRequestLog *log;
  UsHealth *health;
  UsKeyring *keyring;
  GHashTable *key_loads;    /* provider id → number of keyring loads in flight */
  UsAwsCredentials *aws;    /* auth: aws providers' credentials file */
  GPtrArray *key_waiters;   /* GTask*, task data: the provider id it waits for */
  GHashTable *google_auths; /* credentials_file ("" = discovered) → UsGoogleAuth */
  GHashTable *vertex_betas; /* provider id → set of refused anthropic-beta values */
  UsProvenance *provenance;     /* who produced which signed content */
  UsSpend *spend;               /* what each model served, per day */
  UsPlanWindows *plan_windows;  /* subscription windows, as last reported */
  UsLocalProbe *local_probe;    /* is Ollama & co. running? */
  guint port;
  char *bound_host;         /* what us_proxy_start listened on */
  guint bound_port;         /* the configured port then (0 = any) */
  GPtrArray *subscribers;   /* SoupServerMessage* of /understudy/events */
  UsClientWatcher *watcher;
  UsClientState client_states[US_CLIENT_N_CLIENTS];  /* re-read when a file changes */
};

G_DEFINE_FINAL_TYPE (UsProxy, us_proxy, G_TYPE_OBJECT)

enum { PROP_0, PROP_STORE, PROP_ROUTING, N_PROPS };
static GParamSpec *properties[N_PROPS];

/* The newest snapshot; a caller that spans main loop iterations refs it. */
static UsConfig *
config_of (UsProxy *self)
{
  return us_config_store_get_config (self->store);
}

/* ---- Answers ----------------------------------------------------------- */

static void
respond_json (SoupServerMessage *msg,
              guint              status,
              JsonNode          *node)
{
  g_autofree char *text = json_to_string (node, FALSE);

  soup_server_message_set_status (msg, status, NULL);
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_COPY, text, strlen (text));
}

static void
respond_error (SoupServerMessage *msg,
               UsWireFormat       fmt,
               guint              status,
               const char        *message)
{
  g_autoptr(GBytes) body = us_error_body (fmt, status, us_error_type_for_status (status), message);
  gsize len;
  const char *data = g_bytes_get_data (body, &len);

  soup_server_message_set_status (msg, status, NULL);
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_COPY, data, len);
}

/* The error envelope a path's clients understand (the path may still
 * hold a wrong token, so look at its end). */
static UsWireFormat
format_for_path (const char *path)
{
  if (path != NULL && g_str_has_suffix (path, "/v1/chat/completions"))
    return US_WIRE_OPENAI_CHAT;
  if (path != NULL && g_str_has_suffix (path, "/v1/responses"))
    return US_WIRE_OPENAI_RESPONSES;
  return US_WIRE_ANTHROPIC;
}

/* ---- Access checks ----------------------------------------------------- */

static gboolean
is_loopback_name (const char *host)
{
  return g_ascii_strcasecmp (host, "localhost") == 0 ||
         g_str_equal (host, "127.0.0.1") || g_str_equal (host, "[::1]") || g_str_equal (host, "::1");
}

/* @host_port is "name" or "name:port"; DNS rebinding sends a foreign name. */
static gboolean
host_allowed (UsProxy    *self,
              const char *host_port)
{
  g_autofree char *host = NULL;
  const char *colon;

  if (host_port == NULL)
    return FALSE;
  colon = strrchr (host_port, ':');
  if (colon != NULL && strchr (host_port, ']') < colon)
    host = g_strndup (host_port, colon - host_port);
  else
    host = g_strdup (host_port);
  return is_loopback_name (host) || g_ascii_strcasecmp (host, us_config_get_host (config_of (self))) == 0;
}

/* A browser page may only talk to us if it is served by us. */
static gboolean
origin_allowed (UsProxy    *self,
                const char *origin)
{
  g_autoptr(GUri) uri = NULL;

  if (origin == NULL)
    return TRUE;
  uri = g_uri_parse (origin, G_URI_FLAGS_NONE, NULL);
  if (uri == NULL || g_strcmp0 (g_uri_get_scheme (uri), "http") != 0 || g_uri_get_host (uri) == NULL)
    return FALSE;
  return (guint) g_uri_get_port (uri) == self->port &&
         (is_loopback_name (g_uri_get_host (uri)) ||
          g_ascii_strcasecmp (g_uri_get_host (uri), us_config_get_host (config_of (self))) == 0);
}

static gboolean
token_equal (const char *given,
             gsize       given_len,
             const char *token)
{
  gsize len = strlen (token);
  guint8 diff = 0;

  /* Constant time in the token's content. */
  if (given_len != len)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    diff |= (guint8) given[i] ^ (guint8) token[i];
  return diff == 0;
}

/* Returns the path after /t/<token>, or NULL if the token is wrong. */
static const char *
strip_token (UsProxy    *self,
             const char *path)
{
  const char *start, *end;

  if (!g_str_has_prefix (path, "/t/"))
    return NULL;
  start = path + 3;
  end = strchr (start, '/');
  if (end == NULL)
    end = start + strlen (start);
  if (us_config_get_token (config_of (self)) == NULL ||
      !token_equal (start, end - start, us_config_get_token (config_of (self))))
    return NULL;
  return end;
}

/* Claude Code probes the bare server before its first request. */
static gboolean
is_probe (const char *method,
          const char *path,
          const char *rest)
{
  return g_str_equal (method, "HEAD") &&
         (g_str_equal (path, "/") || (rest != NULL && (*rest == '\0' || g_str_equal (rest, "/"))));
}

/* A refused request's body is read and dropped, not kept, and the
 * connection ends with the answer: the sender may have more coming. */
static void
refuse (SoupServerMessage *msg,
        const char        *path,
        guint              status,
        const char        *message)
{
  soup_message_body_set_accumulate (soup_server_message_get_request_body (msg), FALSE);
  soup_message_body_truncate (soup_server_message_get_request_body (msg));
  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Connection", "close");
  respond_error (msg, format_for_path (path), status, message);
}

/* Counts a body as it arrives; over the limit it is refused there and
 * then, whatever its encoding said. */
static void
on_request_chunk (SoupServerMessage *msg,
                  GBytes            *chunk,
                  UsProxy           *self)
{
  gsize total = GPOINTER_TO_SIZE (g_object_get_data (G_OBJECT (msg), "us-body-bytes")) + g_bytes_get_size (chunk);

  g_object_set_data (G_OBJECT (msg), "us-body-bytes", GSIZE_TO_POINTER (total));
  if (total > us_config_get_max_body_bytes (config_of (self)) && soup_server_message_get_status (msg) == 0)
    refuse (msg, g_uri_get_path (soup_server_message_get_uri (msg)), SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE,
            "Understudy: request body is larger than listen.max_body_bytes");
}

/* Every check the headers allow, before any byte of the body is kept. */
static void
early_handler (SoupServer        *server,
               SoupServerMessage *msg,
               const char        *path,
               GHashTable        *query,
               gpointer           data)
{
  UsProxy *self = data;
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  const char *rest = strip_token (self, path);

  if (us_keepalive_get_n_connections (server) > us_config_get_max_connections (config_of (self)))
    refuse (msg, path, SOUP_STATUS_SERVICE_UNAVAILABLE,
            "Understudy: too many open connections (listen.max_connections)");
  else if (!host_allowed (self, soup_message_headers_get_one (headers, "Host")))
    refuse (msg, path, SOUP_STATUS_FORBIDDEN, "Understudy: Host header is not a loopback name");
  else if (!origin_allowed (self, soup_message_headers_get_one (headers, "Origin")))
    refuse (msg, path, SOUP_STATUS_FORBIDDEN, "Understudy: requests from web pages are not allowed");
  else if (rest == NULL && !is_probe (soup_server_message_get_method (msg), path, rest))
    refuse (msg, path, SOUP_STATUS_UNAUTHORIZED,
            "Understudy: missing or wrong access token in the URL (see `understudy status`)");
  else if (soup_message_headers_get_encoding (headers) == SOUP_ENCODING_CONTENT_LENGTH &&
           soup_message_headers_get_content_length (headers) > (goffset) us_config_get_max_body_bytes (config_of (self)))
    refuse (msg, path, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE,
            "Understudy: request body is larger than listen.max_body_bytes");
  else
    g_signal_connect_object (msg, "got-chunk", G_CALLBACK (on_request_chunk), self, 0);
}

/* ---- Status ------------------------------------------------------------ */

/* "key_plans": [{"key": N, "plan": …}]: keys 2 and up of a pool that
 * reported their own plan ("plan" is key 1's). */
static void
add_key_plans (UsProxy                *self,
               JsonBuilder            *b,
               const UsProviderConfig *provider,
               const char             *model)
{
  guint n = us_proxy_count_keys (self, provider);

  json_builder_set_member_name (b, "key_plans");
  json_builder_begin_array (b);
  for (guint key = 2; key <= n; key++)
    {
      JsonNode *plan = us_plan_windows_key_to_json (self->plan_windows, provider->id, model, key);

      if (plan == NULL)
        continue;
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "key");
      json_builder_add_int_value (b, key);
      json_builder_set_member_name (b, "plan");
      json_builder_add_value (b, plan);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
}

JsonNode *
us_proxy_status_to_json (UsProxy *self)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  UsConfig *config = config_of (self);
  GPtrArray *chains = us_config_get_chains (config);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "routing");
  json_builder_add_boolean_value (b, us_config_get_routing (config));
  json_builder_set_member_name (b, "listen");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "host");
  json_builder_add_string_value (b, us_config_get_host (config));
  json_builder_set_member_name (b, "port");
  json_builder_add_int_value (b, self->port);
  json_builder_end_object (b);

  json_builder_set_member_name (b, "chains");
  json_builder_begin_array (b);
  for (guint i = 0; i < chains->len; i++)
    {
      const UsChainConfig *chain = g_ptr_array_index (chains, i);

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "id");
      json_builder_add_string_value (b, chain->id);
      json_builder_set_member_name (b, "models");
      json_builder_begin_array (b);
      for (guint j = 0; j < chain->models->len; j++)
        {
          const UsChainModel *cm = g_ptr_array_index (chain->models, j);
          const UsProviderConfig *provider = us_config_lookup_provider (config, cm->provider);
          JsonNode *plan;

          json_builder_begin_object (b);
          json_builder_set_member_name (b, "provider");
          json_builder_add_string_value (b, cm->provider);
          json_builder_set_member_name (b, "model");
          json_builder_add_string_value (b, cm->model);
          if (provider != NULL && provider->auth == US_AUTH_KEY)
            {
              /* How many, never which. */
              json_builder_set_member_name (b, "keys");
              json_builder_add_int_value (b, us_proxy_count_keys (self, provider));
            }
          json_builder_set_member_name (b, "health");
          json_builder_add_value (b, us_health_to_json (self->health, cm->provider, cm->model));
          plan = us_plan_windows_to_json (self->plan_windows, cm->provider, cm->model);
          if (plan != NULL)
            {
              json_builder_set_member_name (b, "plan");
              json_builder_add_value (b, plan);
            }
          if (provider != NULL && provider->auth == US_AUTH_KEY && us_proxy_count_keys (self, provider) > 1)
            add_key_plans (self, b, provider, cm->model);
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);

  json_builder_set_member_name (b, "clients");
  json_builder_begin_array (b);
  for (UsClientId id = 0; id < US_CLIENT_N_CLIENTS; id++)
    {
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "id");
      json_builder_add_string_value (b, us_client_id_to_string (id));
      json_builder_set_member_name (b, "state");
      json_builder_add_string_value (b, us_client_state_to_string (self->client_states[id]));
      json_builder_end_object (b);
    }
  json_builder_end_array (b);

  json_builder_set_member_name (b, "spend");
  json_builder_add_value (b, us_spend_to_json (self->spend));

  json_builder_set_member_name (b, "requests");
  json_builder_add_value (b, us_request_log_to_json (self->log, STATUS_REQUESTS));
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

/* ---- Live events (SSE) ------------------------------------------------- */

static void
publish (UsProxy    *self,
         const char *event,
         JsonNode   *node)
{
  g_autofree char *data = NULL;
  g_autofree char *chunk = NULL;

  if (self->subscribers->len == 0)
    return;
  data = json_to_string (node, FALSE);
  chunk = g_strdup_printf ("event: %s\ndata: %s\n\n", event, data);
  for (guint i = 0; i < self->subscribers->len; i++)
    {
      SoupServerMessage *msg = g_ptr_array_index (self->subscribers, i);

      soup_message_body_append (soup_server_message_get_response_body (msg), SOUP_MEMORY_COPY,
                                chunk, strlen (chunk));
      soup_server_message_unpause (msg);
    }
}

static void
on_entry_changed (UsRequestLog   *log,
                  UsRequestEntry *entry,
                  UsProxy        *self)
{
  g_autoptr(JsonNode) node = NULL;

  if (self->subscribers->len == 0)
    return;
  node = us_request_entry_to_json (entry);
  publish (self, "request", node);
}

static void
on_health_changed (UsHealth   *health,
                   const char *provider,
                   const char *model,
                   UsProxy    *self)
{
  g_autoptr(JsonNode) node = NULL;
  JsonObject *obj;

  if (self->subscribers->len == 0)
    return;
  node = us_health_to_json (health, provider, model);
  obj = json_node_get_object (node);
  json_object_set_string_member (obj, "provider", provider);
  json_object_set_string_member (obj, "model", model);
  publish (self, "health", node);
}

static void
on_client_changed (UsClientWatcher *watcher,
                   UsClientId       id,
                   UsProxy         *self)
{
  g_autoptr(JsonNode) node = NULL;
  JsonObject *obj;

  /* The user (or another tool) edited the file: believe the file. */
  self->client_states[id] = us_client_get_state (id);
  if (self->subscribers->len == 0)
    return;
  node = json_node_new (JSON_NODE_OBJECT);
  obj = json_object_new ();
  json_object_set_string_member (obj, "id", us_client_id_to_string (id));
  json_object_set_string_member (obj, "state", us_client_state_to_string (self->client_states[id]));
  json_node_take_object (node, obj);
  publish (self, "client", node);
}

static void
on_subscriber_gone (SoupServerMessage *msg,
                    UsProxy           *self)
{
  g_ptr_array_remove (self->subscribers, msg);
}

static void
serve_events (UsProxy           *self,
              SoupServerMessage *msg)
{
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);
  g_autoptr(JsonNode) status = us_proxy_status_to_json (self);
  g_autofree char *data = json_to_string (status, FALSE);
  g_autofree char *first = g_strdup_printf ("event: status\ndata: %s\n\n", data);

  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_message_headers_replace (headers, "Content-Type", "text/event-stream; charset=utf-8");
  soup_message_headers_replace (headers, "Cache-Control", "no-cache");
  soup_message_headers_set_encoding (headers, SOUP_ENCODING_CHUNKED);
  soup_message_body_set_accumulate (soup_server_message_get_response_body (msg), FALSE);
  /* A full status first, so a subscriber needs no separate GET. */
  soup_message_body_append (soup_server_message_get_response_body (msg), SOUP_MEMORY_COPY, first, strlen (first));
  g_ptr_array_add (self->subscribers, g_object_ref (msg));
  g_signal_connect_object (msg, "finished", G_CALLBACK (on_subscriber_gone), self, 0);
  g_signal_connect_object (msg, "disconnected", G_CALLBACK (on_subscriber_gone), self, 0);
}

/* ---- Admin ------------------------------------------------------------- */

static void
serve_routing (UsProxy           *self,
               SoupServerMessage *msg)
{
  g_autoptr(GBytes) body = soup_message_body_flatten (soup_server_message_get_request_body (msg));
  g_autoptr(JsonNode) root = us_translate_parse_json (body, NULL);
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) reply = NULL;

  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root) ||
      !json_object_has_member (json_node_get_object (root), "routing") ||
      json_node_get_value_type (json_object_get_member (json_node_get_object (root), "routing")) != G_TYPE_BOOLEAN)
    {
      respond_error (msg, US_WIRE_ANTHROPIC, SOUP_STATUS_BAD_REQUEST, "expected {\"routing\": true|false}");
      return;
    }
  us_proxy_set_routing (self, json_object_get_boolean_member (json_node_get_object (root), "routing"));

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "routing");
  json_builder_add_boolean_value (b, us_proxy_get_routing (self));
  json_builder_end_object (b);
  reply = json_builder_get_root (b);
  respond_json (msg, SOUP_STATUS_OK, reply);
}

/* POST {"client": NAME|null, "request": {…}}: `understudy explain`, over
 * this proxy's live cooldowns, circuits and spend. */
static void
serve_explain (UsProxy           *self,
               SoupServerMessage *msg)
{
  g_autoptr(GBytes) body = soup_message_body_flatten (soup_server_message_get_request_body (msg));
  g_autoptr(JsonNode) root = us_translate_parse_json (body, NULL);
  g_autoptr(JsonNode) reply = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *obj = root && JSON_NODE_HOLDS_OBJECT (root) ? json_node_get_object (root) : NULL;
  JsonNode *client = obj ? json_object_get_member (obj, "client") : NULL;

  if (obj == NULL || (client != NULL && !JSON_NODE_HOLDS_NULL (client) &&
                      json_node_get_value_type (client) != G_TYPE_STRING))
    {
      respond_error (msg, US_WIRE_ANTHROPIC, SOUP_STATUS_BAD_REQUEST,
                     "expected {\"client\": NAME|null, \"request\": {…}}");
      return;
    }
  reply = us_explain_request (config_of (self), us_proxy_get_routing (self), self->health, self->spend,
                              self->local_probe,
                              client && !JSON_NODE_HOLDS_NULL (client) ? json_node_get_string (client) : NULL,
                              json_object_get_member (obj, "request"), &error);
  if (reply == NULL)
    {
      respond_error (msg, US_WIRE_ANTHROPIC, SOUP_STATUS_BAD_REQUEST, error->message);
      return;
    }
  respond_json (msg, SOUP_STATUS_OK, reply);
}

/* ---- Keys -------------------------------------------------------------- */

typedef struct {
  UsProxy *proxy;
  GStrv ids;
} KeyLoad;

/* One load for each of @ids is over; requests waiting for none now go. */
static void
end_key_loads (UsProxy            *self,
               const char * const *ids)
{
  for (guint i = 0; ids[i]; i++)
    {
      guint n = GPOINTER_TO_UINT (g_hash_table_lookup (self->key_loads, ids[i]));

      if (n > 1)
        g_hash_table_insert (self->key_loads, g_strdup (ids[i]), GUINT_TO_POINTER (n - 1));
      else
        g_hash_table_remove (self->key_loads, ids[i]);
    }
  for (guint i = 0; i < self->key_waiters->len;)
    {
      GTask *task = g_ptr_array_index (self->key_waiters, i);

      if (!g_hash_table_contains (self->key_loads, g_task_get_task_data (task)))
        {
          g_task_return_boolean (task, TRUE);
          g_ptr_array_remove_index_fast (self->key_waiters, i);
        }
      else
        i++;
    }
}

static void
begin_key_loads (UsProxy            *self,
                 const char * const *ids)
{
  for (guint i = 0; ids[i]; i++)
    {
      guint n = GPOINTER_TO_UINT (g_hash_table_lookup (self->key_loads, ids[i]));
      g_hash_table_insert (self->key_loads, g_strdup (ids[i]), GUINT_TO_POINTER (n + 1));
    }
}

static void
on_keys_loaded (GObject      *source,
                GAsyncResult *result,
                gpointer      data)
{
  KeyLoad *load = data;
  g_autoptr(UsProxy) self = load->proxy;
  g_auto(GStrv) ids = load->ids;
  g_autoptr(GError) error = NULL;

  g_free (load);
  /* A locked or missing keyring is reported through its "message"; the
   * keys then come from key_env. */
  if (!us_keyring_load_finish (US_KEYRING (source), result, &error) &&
      !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED) &&
      !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED) &&
      !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
    g_warning ("Could not read provider keys from the keyring: %s", error->message);
  end_key_loads (self, (const char * const *) ids);
}

static void
on_aws_loaded (GObject      *source,
               GAsyncResult *result,
               gpointer      data)
{
  KeyLoad *load = data;
  g_autoptr(UsProxy) self = load->proxy;
  g_auto(GStrv) ids = load->ids;
  g_autoptr(GError) error = NULL;

  g_free (load);
  if (!us_aws_credentials_load_finish (US_AWS_CREDENTIALS (source), result, &error))
    g_warning ("Could not read the AWS credentials file: %s", error->message);
  end_key_loads (self, (const char * const *) ids);
}

/* Reads the keys of @ids into the keyring's cache, counting the load as in
 * flight for each so that requests needing one of them wait for it. */
static void
load_keys (UsProxy            *self,
           const char * const *ids)
{
  KeyLoad *load;

  if (ids[0] == NULL)
    return;
  load = g_new0 (KeyLoad, 1);
  load->proxy = g_object_ref (self);
  load->ids = g_strdupv ((char **) ids);
  begin_key_loads (self, ids);
  us_keyring_load_async (self->keyring, ids, NULL, on_keys_loaded, load);
}

static void
load_all_keys (UsProxy *self)
{
  GPtrArray *providers = us_config_get_providers (config_of (self));
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_autoptr(GStrvBuilder) aws_builder = g_strv_builder_new ();
  g_auto(GStrv) ids = NULL;
  g_auto(GStrv) aws_ids = NULL;

  for (guint i = 0; i < providers->len; i++)
    {
      const UsProviderConfig *provider = g_ptr_array_index (providers, i);

      if (us_upstream_takes_key (provider))
        g_strv_builder_add (builder, provider->id);
      if (provider->auth == US_AUTH_AWS)
        g_strv_builder_add (aws_builder, provider->id);
    }
  ids = g_strv_builder_end (builder);
  load_keys (self, (const char * const *) ids);

  /* AWS credentials may be in ~/.aws/credentials: read (again) now, so
   * that requests never wait on the disk. */
  aws_ids = g_strv_builder_end (aws_builder);
  if (aws_ids[0] != NULL)
    {
      KeyLoad *load = g_new0 (KeyLoad, 1);

      load->proxy = g_object_ref (self);
      load->ids = g_steal_pointer (&aws_ids);
      begin_key_loads (self, (const char * const *) load->ids);
      us_aws_credentials_load_async (self->aws, NULL, on_aws_loaded, load);
    }
}

/* Key numbers may name other keys now. */
static void
on_keyring_changed (UsKeyring  *keyring,
                    const char *provider_id,
                    UsProxy    *self)
{
  us_health_forget_keys (self->health, provider_id);
}

static void
on_keyring_message (UsKeyring  *keyring,
                    GParamSpec *pspec,
                    UsProxy    *self)
{
  if (us_keyring_get_message (keyring) != NULL)
    g_message ("%s", us_keyring_get_message (keyring));
}

/* POST {"provider": ID}: `understudy keys set|delete` changed that key. */
static void
serve_keys (UsProxy           *self,
            SoupServerMessage *msg)
{
  g_autoptr(GBytes) body = soup_message_body_flatten (soup_server_message_get_request_body (msg));
  g_autoptr(JsonNode) root = us_translate_parse_json (body, NULL);
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) reply = NULL;
  JsonNode *member;
  const char *id;

  member = root && JSON_NODE_HOLDS_OBJECT (root) ? json_object_get_member (json_node_get_object (root), "provider")
                                                  : NULL;
  if (member == NULL || json_node_get_value_type (member) != G_TYPE_STRING)
    {
      respond_error (msg, US_WIRE_ANTHROPIC, SOUP_STATUS_BAD_REQUEST, "expected {\"provider\": \"ID\"}");
      return;
    }
  id = json_node_get_string (member);
  us_proxy_reload_key (self, id);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "provider");
  json_builder_add_string_value (b, id);
  json_builder_end_object (b);
  reply = json_builder_get_root (b);
  respond_json (msg, SOUP_STATUS_OK, reply);
}

/* ---- Models ------------------------------------------------------------ */

/* The models the chains can serve, in the envelope the client expects
 * (Anthropic clients send anthropic-version). */
static void
serve_models (UsProxy           *self,
              SoupServerMessage *msg)
{
  gboolean anthropic = soup_message_headers_get_one (soup_server_message_get_request_headers (msg),
                                                     "anthropic-version") != NULL;
  GPtrArray *chains = us_config_get_chains (config_of (self));
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  const char *first = NULL, *last = NULL;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "data");
  json_builder_begin_array (b);
  for (guint i = 0; i < chains->len; i++)
    {
      const UsChainConfig *chain = g_ptr_array_index (chains, i);

      for (guint j = 0; j < chain->models->len; j++)
        {
          const UsChainModel *cm = g_ptr_array_index (chain->models, j);

          /* "*" stands for whatever the client asks: not a model to list. */
          if (g_str_equal (cm->model, "*") || !g_hash_table_add (seen, cm->model))
            continue;
          first = first ? first : cm->model;
          last = cm->model;
          json_builder_begin_object (b);
          json_builder_set_member_name (b, "id");
          json_builder_add_string_value (b, cm->model);
          if (anthropic)
            {
              json_builder_set_member_name (b, "type");
              json_builder_add_string_value (b, "model");
              json_builder_set_member_name (b, "display_name");
              json_builder_add_string_value (b, cm->model);
              json_builder_set_member_name (b, "created_at");
              json_builder_add_string_value (b, "1970-01-01T00:00:00Z");
            }
          else
            {
              json_builder_set_member_name (b, "object");
              json_builder_add_string_value (b, "model");
              json_builder_set_member_name (b, "created");
              json_builder_add_int_value (b, 0);
              json_builder_set_member_name (b, "owned_by");
              json_builder_add_string_value (b, cm->provider);
            }
          json_builder_end_object (b);
        }
    }
  json_builder_end_array (b);
  if (anthropic)
    {
      json_builder_set_member_name (b, "has_more");
      json_builder_add_boolean_value (b, FALSE);
      json_builder_set_member_name (b, "first_id");
      json_builder_add_string_value (b, first);
      json_builder_set_member_name (b, "last_id");
      json_builder_add_string_value (b, last);
    }
  else
    {
      json_builder_set_member_name (b, "object");
      json_builder_add_string_value (b, "list");
    }
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  respond_json (msg, SOUP_STATUS_OK, root);
}

/* ---- Model requests ---------------------------------------------------- */

static const char *
session_of (SoupMessageHeaders *headers)
{
  static const char * const names[] = { "x-claude-code-session-id", "session-id", "x-session-id", NULL };

  for (guint i = 0; names[i]; i++)
    {
      const char *value = soup_message_headers_get_one (headers, names[i]);
      if (value != NULL)
        return value;
    }
  return NULL;
}

static void
serve_model_request (UsProxy           *self,
                     SoupServerMessage *msg,
                     UsWireFormat       fmt,
                     gboolean           count_tokens,
                     const char        *endpoint)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  g_autoptr(GBytes) body = soup_message_body_flatten (soup_server_message_get_request_body (msg));
  g_autoptr(GError) error = NULL;
  g_autoptr(UsIrRequest) ir = NULL;
  g_autoptr(JsonNode) root = NULL;
  /* The job keeps this snapshot: an edit during the request changes the
   * next request, never this one. */
  UsConfig *config = config_of (self);
  g_autofree char *match = NULL;
  UsRoute route;
  const char *client;
  UsRequestEntry *entry;

  root = us_translate_parse_json (body, &error);
  if (root == NULL)
    {
      g_autofree char *message = g_strdup_printf ("request body is not valid JSON: %s", error->message);
      respond_error (msg, fmt, SOUP_STATUS_BAD_REQUEST, message);
      return;
    }
  if (!JSON_NODE_HOLDS_OBJECT (root))
    {
      respond_error (msg, fmt, SOUP_STATUS_BAD_REQUEST, "request body must be a JSON object");
      return;
    }
  ir = us_ir_request_decode (fmt, root, &error);
  if (ir == NULL)
    {
      respond_error (msg, fmt, SOUP_STATUS_BAD_REQUEST, error->message);
      return;
    }

  client = us_router_client_from_user_agent (soup_message_headers_get_one (headers, "User-Agent"));
  us_router_route (config, client, ir, &route);
  match = us_route_describe (config, &route);
  entry = us_request_log_add (self->log, client, session_of (headers), endpoint, us_ir_request_get_model (ir));
  us_request_entry_set_route (entry, route.chain->id, route.rule, match);

  soup_server_message_pause (msg);
  us_request_job_run (self, config, msg, fmt, count_tokens, g_steal_pointer (&ir), g_steal_pointer (&root), body,
                      route.chain, us_config_get_routing (config), entry);
}

static void
handler (SoupServer        *server,
         SoupServerMessage *msg,
         const char        *path,
         GHashTable        *query,
         gpointer           data)
{
  UsProxy *self = data;
  const char *method = soup_server_message_get_method (msg);
  const char *rest = strip_token (self, path);
  UsWireFormat fmt = format_for_path (path);

  /* Host, Origin, token and size were checked by the early handler. */
  if (soup_server_message_get_status (msg) != 0)
    return;
  if (is_probe (method, path, rest))
    {
      soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
      return;
    }

  if (g_str_equal (method, "POST") && g_str_equal (rest, "/v1/messages"))
    serve_model_request (self, msg, US_WIRE_ANTHROPIC, FALSE, "messages");
  else if (g_str_equal (method, "POST") && g_str_equal (rest, "/v1/messages/count_tokens"))
    serve_model_request (self, msg, US_WIRE_ANTHROPIC, TRUE, "count_tokens");
  else if (g_str_equal (method, "POST") && g_str_equal (rest, "/v1/chat/completions"))
    serve_model_request (self, msg, US_WIRE_OPENAI_CHAT, FALSE, "chat/completions");
  else if (g_str_equal (method, "POST") && g_str_equal (rest, "/v1/responses"))
    serve_model_request (self, msg, US_WIRE_OPENAI_RESPONSES, FALSE, "responses");
  else if (g_str_equal (method, "GET") && g_str_equal (rest, "/v1/models"))
    serve_models (self, msg);
  else if (g_str_equal (method, "GET") && g_str_equal (rest, "/understudy/status"))
    {
      g_autoptr(JsonNode) status = us_proxy_status_to_json (self);
      respond_json (msg, SOUP_STATUS_OK, status);
    }
  else if (g_str_equal (method, "GET") && g_str_equal (rest, "/understudy/events"))
    serve_events (self, msg);
  else if (g_str_equal (method, "POST") && g_str_equal (rest, "/understudy/routing"))
    serve_routing (self, msg);
  else if (g_str_equal (method, "POST") && g_str_equal (rest, "/understudy/explain"))
    serve_explain (self, msg);
  else if (g_str_equal (method, "POST") && g_str_equal (rest, "/understudy/keys"))
    serve_keys (self, msg);
  else
    respond_error (msg, fmt, SOUP_STATUS_NOT_FOUND, "Understudy: no such endpoint");
}

/* ---- Following the store ---------------------------------------------- */

static void
on_routing_changed (UsConfigStore *store,
                    GParamSpec    *pspec,
                    UsProxy       *self)
{
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ROUTING]);
  if (self->subscribers != NULL && self->subscribers->len > 0)
    {
      g_autoptr(JsonNode) node = json_node_new (JSON_NODE_OBJECT);
      JsonObject *obj = json_object_new ();

      json_object_set_boolean_member (obj, "routing", us_config_store_get_routing (store));
      json_node_take_object (node, obj);
      publish (self, "routing", node);
    }
}

static void
on_config_changed (UsConfigStore *store,
                   GParamSpec    *pspec,
                   UsProxy       *self)
{
  UsConfig *config = us_config_store_get_config (store);
  const char *host = us_config_get_host (config);
  guint port = us_config_get_port (config);

  /* Rebinding would cut every request in flight and every client's URL. */
  if (self->server != NULL && (g_strcmp0 (host, self->bound_host) != 0 || port != self->bound_port))
    {
      g_message ("listen.host/listen.port changed to %s:%u; Understudy keeps listening on %s:%u "
                 "until it is restarted", host, port, self->bound_host, self->port);
      /* Said once per change, not once per later edit. */
      g_free (self->bound_host);
      self->bound_host = g_strdup (host);
      self->bound_port = port;
    }
  /* A provider added or switched to auth: key needs its key. Before start
   * there is nothing to serve; start loads them. */
  if (self->server != NULL)
    load_all_keys (self);
}

/* ---- GObject ----------------------------------------------------------- */

static void
us_proxy_dispose (GObject *object)
{
  UsProxy *self = US_PROXY (object);

  if (self->server != NULL)
    soup_server_disconnect (self->server);
  g_clear_object (&self->server);
  g_clear_pointer (&self->subscribers, g_ptr_array_unref);
  if (self->session != NULL)
    soup_session_abort (self->session);
  g_clear_object (&self->session);
  g_clear_object (&self->log);
  g_clear_object (&self->health);
  g_clear_object (&self->keyring);
  g_clear_pointer (&self->key_loads, g_hash_table_unref);
  g_clear_object (&self->aws);
  g_clear_pointer (&self->key_waiters, g_ptr_array_unref);
  g_clear_pointer (&self->google_auths, g_hash_table_unref);
  g_clear_pointer (&self->vertex_betas, g_hash_table_unref);
  g_clear_object (&self->provenance);
  g_clear_object (&self->spend);
  g_clear_object (&self->plan_windows);
  g_clear_object (&self->local_probe);
  g_clear_object (&self->watcher);
  g_clear_object (&self->store);
  g_clear_pointer (&self->bound_host, g_free);

  G_OBJECT_CLASS (us_proxy_parent_class)->dispose (object);
}

static void
us_proxy_get_property (GObject    *object,
                       guint       prop_id,
                       GValue     *value,
                       GParamSpec *pspec)
{
  UsProxy *self = US_PROXY (object);

  switch (prop_id)
    {
    case PROP_STORE:
      g_value_set_object (value, self->store);
      break;
    case PROP_ROUTING:
      g_value_set_boolean (value, us_proxy_get_routing (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
us_proxy_set_property (GObject      *object,
                       guint         prop_id,
                       const GValue *value,
                       GParamSpec   *pspec)
{
  UsProxy *self = US_PROXY (object);

  switch (prop_id)
    {
    case PROP_STORE:
      self->store = g_value_dup_object (value);
      break;
    case PROP_ROUTING:
      us_proxy_set_routing (self, g_value_get_boolean (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
us_proxy_constructed (GObject *object)
{
  UsProxy *self = US_PROXY (object);

  G_OBJECT_CLASS (us_proxy_parent_class)->constructed (object);

  g_signal_connect_object (self->log, "entry-changed", G_CALLBACK (on_entry_changed), self, 0);
  g_signal_connect_object (self->health, "changed", G_CALLBACK (on_health_changed), self, 0);
  g_signal_connect_object (self->keyring, "notify::message", G_CALLBACK (on_keyring_message), self, 0);
  g_signal_connect_object (self->keyring, "changed", G_CALLBACK (on_keyring_changed), self, 0);

  g_signal_connect_object (self->store, "notify::routing", G_CALLBACK (on_routing_changed), self, 0);
  g_signal_connect_object (self->store, "notify::config", G_CALLBACK (on_config_changed), self, 0);

  self->watcher = us_client_watcher_new ();
  g_signal_connect_object (self->watcher, "changed", G_CALLBACK (on_client_changed), self, 0);
  for (UsClientId id = 0; id < US_CLIENT_N_CLIENTS; id++)
    self->client_states[id] = us_client_get_state (id);
}

static void
us_proxy_class_init (UsProxyClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = us_proxy_dispose;
  object_class->get_property = us_proxy_get_property;
  object_class->set_property = us_proxy_set_property;
  object_class->constructed = us_proxy_constructed;

  properties[PROP_STORE] =
    g_param_spec_object ("store", NULL, NULL, US_TYPE_CONFIG_STORE,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_ROUTING] =
    g_param_spec_boolean ("routing", NULL, NULL, TRUE,
                          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
us_proxy_init (UsProxy *self)
{
  g_autofree char *path = NULL;

  self->log = us_request_log_new (LOG_CAPACITY);
  self->health = us_health_new ();
  self->keyring = us_keyring_new ();
  self->key_loads = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->aws = us_aws_credentials_new ();
  self->key_waiters = g_ptr_array_new_with_free_func (g_object_unref);
  self->google_auths = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  self->vertex_betas = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                              (GDestroyNotify) g_hash_table_unref);
  /* Loaded now, before serving: never a file read on the request path. */
  path = us_provenance_default_path ();
  self->provenance = us_provenance_new (path, US_PROVENANCE_DEFAULT_CAPACITY);
  g_free (path);
  /* Likewise: budgets hold across restarts. */
  path = us_spend_default_path ();
  self->spend = us_spend_new (path);
  self->plan_windows = us_plan_windows_new ();
  self->subscribers = g_ptr_array_new_with_free_func (g_object_unref);
  /* Timeouts are the job's (first byte, idle), not the session's; many
   * concurrent streams go to the same provider host. A request waiting
   * here for a free connection would spend its first-byte time in the
   * proxy's own queue (bench/peers.sh: 256 streams went 64 at a time), so
   * there is room for as many as the default listen.max_connections. */
  self->session = g_object_new (SOUP_TYPE_SESSION,
                                "timeout", 0,
                                "idle-timeout", 60,
                                "max-conns", 1024,
                                "max-conns-per-host", 512,
                                NULL);
  self->local_probe = us_local_probe_new (self->session);
}

UsProxy *
us_proxy_new_for_store (UsConfigStore *store)
{
  g_return_val_if_fail (US_IS_CONFIG_STORE (store), NULL);

  return g_object_new (US_TYPE_PROXY, "store", store, NULL);
}

UsProxy *
us_proxy_new (UsConfig *config)
{
  g_autoptr(UsConfigStore) store = NULL;
  g_autoptr(UsConfig) unsaved = NULL;
  g_autoptr(GError) error = NULL;

  g_return_val_if_fail (US_IS_CONFIG (config), NULL);

  /* A proxy on its own never writes the file: the store gets a copy
   * without a path. */
  unsaved = us_config_new_from_document (us_config_dup_document (config), NULL, &error);
  g_assert_no_error (error);
  store = us_config_store_new (unsaved);
  return us_proxy_new_for_store (store);
}

/* Every client connection and every upstream one is a descriptor, and
 * desktop sessions start with a soft limit of 1024 under a far higher
 * hard one. */
static void
raise_nofile_limit (void)
{
  struct rlimit limit;

  if (getrlimit (RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max)
    {
      limit.rlim_cur = limit.rlim_max;
      if (setrlimit (RLIMIT_NOFILE, &limit) != 0)
        g_warning ("Could not raise the open file limit: %s", g_strerror (errno));
    }
}

/* soup_server_listen() leaves GSocketListener's backlog of 10: clients
 * that open more connections at once (parallel agents, a burst after a
 * restart) would have their SYNs dropped and wait a second or more for the
 * kernel to retry. So the socket is made here, with room for as many
 * pending connections as the proxy takes open ones (128 at least). */
static gboolean
listen_on (UsProxy        *self,
           GSocketAddress *address,
           gsize           max_connections,
           GError        **error)
{
  g_autoptr(GSocket) socket = g_socket_new (g_socket_address_get_family (address), G_SOCKET_TYPE_STREAM,
                                            G_SOCKET_PROTOCOL_TCP, error);

  if (socket == NULL)
    return FALSE;
  g_socket_set_listen_backlog (socket, (gint) CLAMP (max_connections, 128, G_MAXINT));
  return g_socket_bind (socket, address, TRUE, error)
         && g_socket_listen (socket, error)
         && soup_server_listen_socket (self->server, socket, 0, error);
}

/* glibc raises its mmap threshold each time a large block is freed (up to
 * 32 MiB), after which large request bodies come from the heap and their
 * pages stay resident once freed: RSS grew by ~17 MiB with every 10 MB
 * body (tests/test-soak.c). A fixed threshold keeps them mapped apart,
 * returned to the system when freed. */
static void
return_big_buffers (void)
{
#ifdef __GLIBC__
  mallopt (M_MMAP_THRESHOLD, 256 * 1024);
#endif
}

gboolean
us_proxy_start (UsProxy  *self,
                GError  **error)
{
  g_autoptr(GInetAddress) address = NULL;
  g_autoptr(GSocketAddress) socket_address = NULL;
  GSList *uris;

  UsConfig *config = config_of (self);

  raise_nofile_limit ();
  return_big_buffers ();
  address = g_inet_address_new_from_string (us_config_get_host (config));
  if (address == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "listen.host must be an IP address, not \"%s\"", us_config_get_host (config));
      return FALSE;
    }
  socket_address = g_inet_socket_address_new (address, us_config_get_port (config));

  self->server = soup_server_new ("server-header", "understudy ", NULL);
  soup_server_add_early_handler (self->server, NULL, early_handler, self, NULL);
  soup_server_add_handler (self->server, NULL, handler, self, NULL);
  us_keepalive_guard (self->server, us_config_get_request_timeout_s (config),
                      us_config_get_keepalive_timeout_s (config));
  if (!listen_on (self, socket_address, us_config_get_max_connections (config), error))
    return FALSE;

  uris = soup_server_get_uris (self->server);
  self->port = uris ? (guint) g_uri_get_port (uris->data) : us_config_get_port (config);
  self->bound_host = g_strdup (us_config_get_host (config));
  self->bound_port = us_config_get_port (config);
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);

  load_all_keys (self);
  return TRUE;
}

guint
us_proxy_get_port (UsProxy *self)
{
  return self->port;
}

char *
us_proxy_dup_client_url (UsProxy *self)
{
  return us_config_dup_client_url (config_of (self), self->port);
}

UsConfig *
us_proxy_get_config (UsProxy *self)
{
  return config_of (self);
}

UsConfigStore *
us_proxy_get_store (UsProxy *self)
{
  return self->store;
}

UsRequestLog *
us_proxy_get_log (UsProxy *self)
{
  return self->log;
}

UsProvenance *
us_proxy_get_provenance (UsProxy *self)
{
  return self->provenance;
}

UsLocalProbe *
us_proxy_get_local_probe (UsProxy *self)
{
  g_return_val_if_fail (US_IS_PROXY (self), NULL);
  return self->local_probe;
}

UsPlanWindows *
us_proxy_get_plan_windows (UsProxy *self)
{
  g_return_val_if_fail (US_IS_PROXY (self), NULL);
  return self->plan_windows;
}

UsSpend *
us_proxy_get_spend (UsProxy *self)
{
  return self->spend;
}

UsHealth *
us_proxy_get_health (UsProxy *self)
{
  return self->health;
}

UsClientWatcher *
us_proxy_get_client_watcher (UsProxy *self)
{
  return self->watcher;
}

SoupSession *
us_proxy_get_session (UsProxy *self)
{
  return self->session;
}

UsKeyring *
us_proxy_get_keyring (UsProxy *self)
{
  return self->keyring;
}

guint
us_proxy_count_keys (UsProxy                *self,
                     const UsProviderConfig *provider)
{
  guint n = us_keyring_get_n_keys (self->keyring, provider->id);

  if (n == 0 && provider->key_envs != NULL)
    n = g_strv_length (provider->key_envs);
  return n;
}

const char *
us_proxy_lookup_nth_key (UsProxy                *self,
                         const UsProviderConfig *provider,
                         guint                   position)
{
  const char *key = NULL;

  /* The keyring's pool, when it has one, else the key_env variables. */
  if (us_keyring_get_n_keys (self->keyring, provider->id) > 0)
    key = us_keyring_lookup_cached_nth (self->keyring, provider->id, position);
  else if (provider->key_envs != NULL && position >= 1 && position <= g_strv_length (provider->key_envs))
    key = g_getenv (provider->key_envs[position - 1]);
  return key != NULL && *key != '\0' ? key : NULL;
}

const char *
us_proxy_lookup_key (UsProxy                *self,
                     const UsProviderConfig *provider)
{
  guint n = us_proxy_count_keys (self, provider);

  /* The keyring's credentials JSON, else the AWS variables or profile. */
  if (provider->auth == US_AUTH_AWS)
    return us_aws_credentials_lookup (self->aws, provider, us_keyring_lookup_cached (self->keyring, provider->id));
  for (guint i = 1; i <= n; i++)
    {
      const char *key = us_proxy_lookup_nth_key (self, provider, i);

      if (key != NULL)
        return key;
    }
  return NULL;
}

UsGoogleAuth *
us_proxy_get_google_auth (UsProxy                *self,
                          const UsProviderConfig *provider)
{
  const char *file = provider->credentials_file ? provider->credentials_file : "";
  UsGoogleAuth *auth = g_hash_table_lookup (self->google_auths, file);

  if (auth == NULL)
    {
      auth = us_google_auth_new (self->session, provider->credentials_file);
      g_hash_table_insert (self->google_auths, g_strdup (file), auth);
    }
  return auth;
}

GHashTable *
us_proxy_get_vertex_rejected_betas (UsProxy    *self,
                                    const char *provider_id)
{
  GHashTable *betas = g_hash_table_lookup (self->vertex_betas, provider_id);

  if (betas == NULL)
    {
      betas = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
      g_hash_table_insert (self->vertex_betas, g_strdup (provider_id), betas);
    }
  return betas;
}

gboolean
us_proxy_is_loading_key (UsProxy    *self,
                         const char *provider_id)
{
  return g_hash_table_contains (self->key_loads, provider_id);
}

void
us_proxy_wait_for_key_async (UsProxy             *self,
                             const char          *provider_id,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (self, NULL, callback, user_data);

  g_task_set_source_tag (task, us_proxy_wait_for_key_async);
  if (!us_proxy_is_loading_key (self, provider_id))
    {
      g_task_return_boolean (task, TRUE);
      return;
    }
  g_task_set_task_data (task, g_strdup (provider_id), g_free);
  g_ptr_array_add (self->key_waiters, g_steal_pointer (&task));
}

void
us_proxy_wait_for_key_finish (UsProxy      *self,
                              GAsyncResult *result)
{
  g_task_propagate_boolean (G_TASK (result), NULL);
}

void
us_proxy_reload_key (UsProxy    *self,
                     const char *provider_id)
{
  const char * const ids[] = { provider_id, NULL };

  us_keyring_invalidate (self->keyring, provider_id);
  load_keys (self, ids);
}

gboolean
us_proxy_get_routing (UsProxy *self)
{
  return us_config_store_get_routing (self->store);
}

void
us_proxy_set_routing (UsProxy  *self,
                      gboolean  routing)
{
  us_config_store_set_routing (self->store, routing);
}
