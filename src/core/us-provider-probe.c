/* us-provider-probe.c: one small request, built and sent the way the proxy
 * sends a real one (us_upstream_new_message, the translation hub, the
 * proxy's session), so that a passing test means requests will pass too. */
#include "us-provider-probe.h"

#include "us-presets.h"
#include "us-upstream.h"
#include "us-vertex.h"

G_DEFINE_QUARK (us-provider-probe-error-quark, us_provider_probe_error)

/* Enough for "OK" from a model that says a word or two first. */
#define PROBE_MAX_TOKENS 16

typedef struct {
  SoupMessage *msg;
  UsWireFormat fmt;
  UsAuthMode auth;
  char *provider_id;
  char *model;
  char *secret;            /* the credential sent, only to keep it out of messages */
  char *token;             /* auth: google's access token */
  GCancellable *cancellable; /* ours: the caller's or the timeout cancel it */
  gulong caller_cancel_id;
  GSource *timeout;
  guint timeout_ms;
  gboolean timed_out;
} Probe;

static void
probe_free (Probe *probe)
{
  g_clear_object (&probe->msg);
  g_free (probe->provider_id);
  g_free (probe->model);
  if (probe->secret != NULL)
    memset (probe->secret, 0, strlen (probe->secret));
  g_free (probe->secret);
  g_free (probe->token);
  if (probe->timeout != NULL)
    {
      g_source_destroy (probe->timeout);
      g_source_unref (probe->timeout);
    }
  g_clear_object (&probe->cancellable);
  g_free (probe);
}

char *
us_provider_probe_pick_model (UsConfig   *config,
                              const char *provider_id)
{
  GPtrArray *chains = us_config_get_chains (config);
  const UsPreset *preset;

  for (guint i = 0; i < chains->len; i++)
    {
      const UsChainConfig *chain = g_ptr_array_index (chains, i);

      for (guint j = 0; j < chain->models->len; j++)
        {
          const UsChainModel *model = g_ptr_array_index (chain->models, j);

          if (g_str_equal (model->provider, provider_id) && !g_str_equal (model->model, "*"))
            return g_strdup (model->model);
        }
    }
  preset = us_preset_lookup (provider_id);
  return preset != NULL ? g_strdup (preset->model) : NULL;
}

static GBytes *
probe_body (const UsProviderConfig *provider,
            UsWireFormat            fmt,
            const char             *model,
            GError                **error)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) request = NULL;
  g_autoptr(JsonNode) encoded = NULL;
  g_autoptr(UsIrRequest) ir = NULL;
  g_autofree char *text = NULL;
  gsize length;

  /* Written once in Anthropic's shape; the hub encodes it for the target. */
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "model");
  json_builder_add_string_value (builder, model);
  json_builder_set_member_name (builder, "max_tokens");
  json_builder_add_int_value (builder, PROBE_MAX_TOKENS);
  json_builder_set_member_name (builder, "messages");
  json_builder_begin_array (builder);
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "role");
  json_builder_add_string_value (builder, "user");
  json_builder_set_member_name (builder, "content");
  json_builder_add_string_value (builder, "Say OK");
  json_builder_end_object (builder);
  json_builder_end_array (builder);
  json_builder_end_object (builder);
  request = json_builder_get_root (builder);

  ir = us_ir_request_decode (US_WIRE_ANTHROPIC, request, error);
  if (ir == NULL)
    return NULL;
  encoded = us_ir_request_encode (ir, fmt, model, PROBE_MAX_TOKENS, error);
  if (encoded == NULL)
    return NULL;
  us_vertex_edit_body (provider, json_node_get_object (encoded), FALSE);
  text = json_to_string (encoded, FALSE);
  length = strlen (text);
  return g_bytes_new_take (g_steal_pointer (&text), length);
}

/* The provider's message, with the key cut out should it echo it back. */
static char *
redact (const Probe *probe,
        const char  *text)
{
  g_auto(GStrv) parts = NULL;

  if (probe->secret == NULL || *probe->secret == '\0' || strstr (text, probe->secret) == NULL)
    return g_strdup (text);
  parts = g_strsplit (text, probe->secret, -1);
  return g_strjoinv ("[key]", parts);
}

static char *
answer_text (const Probe  *probe,
             GBytes       *body,
             GError      **error)
{
  g_autoptr(GBytes) anthropic = NULL;
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(GString) text = g_string_new (NULL);
  JsonObject *object;
  JsonArray *content;

  anthropic = us_translate_response (probe->fmt, US_WIRE_ANTHROPIC, body, probe->model, NULL, error);
  if (anthropic == NULL)
    return NULL;
  root = us_translate_parse_json (anthropic, error);
  if (root == NULL)
    return NULL;
  object = JSON_NODE_HOLDS_OBJECT (root) ? json_node_get_object (root) : NULL;
  content = object != NULL && json_object_has_member (object, "content")
              && JSON_NODE_HOLDS_ARRAY (json_object_get_member (object, "content"))
            ? json_object_get_array_member (object, "content") : NULL;
  if (content == NULL)
    {
      g_set_error (error, US_TRANSLATE_ERROR, US_TRANSLATE_ERROR_INVALID, "no content in the answer");
      return NULL;
    }
  for (guint i = 0; i < json_array_get_length (content); i++)
    {
      JsonNode *node = json_array_get_element (content, i);
      JsonObject *block = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;

      if (block != NULL && g_strcmp0 (json_object_get_string_member_with_default (block, "type", NULL), "text") == 0)
        g_string_append (text, json_object_get_string_member_with_default (block, "text", ""));
    }
  return g_strdup (g_strstrip (text->str));
}

static void
return_status_error (GTask  *task,
                     Probe  *probe,
                     guint   status,
                     GBytes *body)
{
  g_autofree char *type = NULL;
  g_autofree char *raw = NULL;
  g_autofree char *message = NULL;

  us_error_read (probe->fmt, status, body, &type, &raw);
  message = redact (probe, raw != NULL && *raw ? raw : soup_status_get_phrase (status));

  if (status == SOUP_STATUS_UNAUTHORIZED || status == SOUP_STATUS_FORBIDDEN)
    {
      if (probe->auth == US_AUTH_PASSTHROUGH)
        g_task_return_new_error (task, US_PROVIDER_PROBE_ERROR, US_PROVIDER_PROBE_ERROR_KEY_REJECTED,
                                 "Reachable, but HTTP %u: %s. This provider uses each client's own "
                                 "credentials (auth: passthrough), so only a client's requests can use it.",
                                 status, message);
      else
        g_task_return_new_error (task, US_PROVIDER_PROBE_ERROR, US_PROVIDER_PROBE_ERROR_KEY_REJECTED,
                                 "Key rejected (HTTP %u): %s", status, message);
      return;
    }
  g_task_return_new_error (task, US_PROVIDER_PROBE_ERROR, US_PROVIDER_PROBE_ERROR_HTTP,
                           "HTTP %u: %s", status, message);
}

static void
on_read (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Probe *probe = g_task_get_task_data (task);
  GCancellable *caller = g_task_get_cancellable (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) body = NULL;
  g_autofree char *text = NULL;
  guint status;

  body = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);
  if (caller != NULL && probe->caller_cancel_id != 0)
    {
      g_cancellable_disconnect (caller, probe->caller_cancel_id);
      probe->caller_cancel_id = 0;
    }
  if (body == NULL)
    {
      g_autofree char *message = NULL;

      if (probe->timed_out)
        g_task_return_new_error (task, US_PROVIDER_PROBE_ERROR, US_PROVIDER_PROBE_ERROR_TIMEOUT,
                                 "No answer within %u s", (probe->timeout_ms + 999) / 1000);
      else if (g_cancellable_is_cancelled (caller))
        g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED, "Cancelled");
      else
        {
          message = redact (probe, error->message);
          g_task_return_new_error (task, US_PROVIDER_PROBE_ERROR, US_PROVIDER_PROBE_ERROR_CONNECTION,
                                   "Could not reach the provider: %s", message);
        }
      return;
    }

  status = soup_message_get_status (probe->msg);
  if (!SOUP_STATUS_IS_SUCCESSFUL (status))
    {
      return_status_error (task, probe, status, body);
      return;
    }
  text = answer_text (probe, body, &error);
  if (text == NULL)
    {
      g_autofree char *message = redact (probe, error->message);

      g_task_return_new_error (task, US_PROVIDER_PROBE_ERROR, US_PROVIDER_PROBE_ERROR_INVALID,
                               "HTTP %u, but the answer could not be read: %s", status, message);
      return;
    }
  g_task_return_pointer (task, g_steal_pointer (&text), g_free);
}

static gboolean
on_timeout (gpointer user_data)
{
  Probe *probe = user_data;

  probe->timed_out = TRUE;
  g_cancellable_cancel (probe->cancellable);
  return G_SOURCE_REMOVE;
}

static void
on_caller_cancelled (GCancellable *caller,
                     gpointer      user_data)
{
  g_cancellable_cancel (G_CANCELLABLE (user_data));
}

static char *
sent_secret (SoupMessage *msg)
{
  SoupMessageHeaders *headers = soup_message_get_request_headers (msg);
  const char *value;

  if ((value = soup_message_headers_get_one (headers, "x-api-key")) != NULL)
    return g_strdup (value);
  if ((value = soup_message_headers_get_one (headers, "api-key")) != NULL)
    return g_strdup (value);
  if ((value = soup_message_headers_get_one (headers, "Authorization")) != NULL)
    return g_strdup (g_str_has_prefix (value, "Bearer ") ? value + strlen ("Bearer ") : value);
  return NULL;
}

static void on_token (GObject *source, GAsyncResult *result, gpointer user_data);

static void
probe_send (GTask *task)
{
  UsProxy *proxy = g_task_get_source_object (task);
  Probe *probe = g_task_get_task_data (task);
  GCancellable *cancellable = g_task_get_cancellable (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(SoupMessageHeaders) no_headers = NULL;
  g_autoptr(GBytes) body = NULL;
  const UsProviderConfig *provider;
  const char *key;

  /* Looked up again: the configuration may have changed while a key loaded. */
  provider = us_config_lookup_provider (us_proxy_get_config (proxy), probe->provider_id);
  if (provider == NULL)
    {
      g_task_return_new_error (task, US_PROVIDER_PROBE_ERROR, US_PROVIDER_PROBE_ERROR_NO_PROVIDER,
                               "No provider named %s", probe->provider_id);
      return;
    }
  probe->auth = provider->auth;
  if (!us_upstream_wire_format (provider, &probe->fmt))
    {
      g_task_return_new_error (task, US_PROVIDER_PROBE_ERROR, US_PROVIDER_PROBE_ERROR_UNSUPPORTED,
                               "Providers of kind %s cannot be reached yet",
                               us_provider_kind_to_string (provider->kind));
      return;
    }
  body = probe_body (provider, probe->fmt, probe->model, &error);
  if (body == NULL)
    {
      g_task_return_new_error (task, US_PROVIDER_PROBE_ERROR, US_PROVIDER_PROBE_ERROR_INVALID,
                               "Cannot build a test request: %s", error->message);
      return;
    }
  if (provider->auth == US_AUTH_GOOGLE && probe->token == NULL)
    {
      UsGoogleAuth *auth = us_proxy_get_google_auth (proxy, provider);

      probe->token = g_strdup (us_google_auth_peek_token (auth));
      if (probe->token == NULL)
        {
          us_google_auth_get_token_async (auth, cancellable, on_token, g_object_ref (task));
          return;
        }
    }
  key = provider->auth == US_AUTH_KEY ? us_proxy_lookup_key (proxy, provider) : probe->token;
  no_headers = soup_message_headers_new (SOUP_MESSAGE_HEADERS_REQUEST);
  probe->msg = us_upstream_new_message (provider, probe->model, key, probe->fmt, FALSE, FALSE, NULL, no_headers, body, &error);
  if (probe->msg == NULL)
    {
      gboolean no_key = g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);

      g_task_return_new_error (task, US_PROVIDER_PROBE_ERROR,
                               no_key ? US_PROVIDER_PROBE_ERROR_NO_KEY : US_PROVIDER_PROBE_ERROR_UNSUPPORTED,
                               "%s", error->message);
      return;
    }
  if (provider->auth == US_AUTH_GOOGLE
      && us_google_auth_get_quota_project (us_proxy_get_google_auth (proxy, provider)) != NULL)
    soup_message_headers_replace (soup_message_get_request_headers (probe->msg), "x-goog-user-project",
                                  us_google_auth_get_quota_project (us_proxy_get_google_auth (proxy, provider)));
  probe->secret = sent_secret (probe->msg);

  probe->cancellable = g_cancellable_new ();
  if (cancellable != NULL)
    probe->caller_cancel_id = g_cancellable_connect (cancellable, G_CALLBACK (on_caller_cancelled),
                                                     g_object_ref (probe->cancellable), g_object_unref);
  probe->timeout = g_timeout_source_new (probe->timeout_ms);
  g_source_set_callback (probe->timeout, on_timeout, probe, NULL);
  g_source_set_static_name (probe->timeout, "[understudy] provider probe timeout");
  g_source_attach (probe->timeout, g_main_context_get_thread_default ());

  soup_session_send_and_read_async (us_proxy_get_session (proxy), probe->msg, G_PRIORITY_DEFAULT,
                                    probe->cancellable, on_read, g_object_ref (task));
}

static void
on_token (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Probe *probe = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;

  probe->token = us_google_auth_get_token_finish (US_GOOGLE_AUTH (source), result, &error);
  if (g_task_return_error_if_cancelled (task))
    return;
  if (probe->token == NULL)
    {
      g_task_return_new_error (task, US_PROVIDER_PROBE_ERROR, US_PROVIDER_PROBE_ERROR_NO_KEY,
                               "No Google token: %s", error->message);
      return;
    }
  probe_send (task);
}

static void
on_key_loaded (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;

  us_proxy_wait_for_key_finish (US_PROXY (source), result);
  if (g_task_return_error_if_cancelled (task))
    return;
  probe_send (task);
}

void
us_provider_probe_async (UsProxy             *proxy,
                         const char          *provider_id,
                         const char          *model,
                         guint                timeout_ms,
                         GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  Probe *probe;

  g_return_if_fail (US_IS_PROXY (proxy));
  g_return_if_fail (provider_id != NULL);
  g_return_if_fail (model != NULL);

  task = g_task_new (proxy, cancellable, callback, user_data);
  g_task_set_source_tag (task, us_provider_probe_async);
  probe = g_new0 (Probe, 1);
  g_task_set_task_data (task, probe, (GDestroyNotify) probe_free);
  probe->provider_id = g_strdup (provider_id);
  probe->model = g_strdup (model);
  probe->timeout_ms = timeout_ms;

  /* A key just stored (or the first load at start) may still be on its
   * way from the keyring: testing before it arrives would say "no key". */
  if (us_proxy_is_loading_key (proxy, provider_id))
    {
      us_proxy_wait_for_key_async (proxy, provider_id, on_key_loaded, g_steal_pointer (&task));
      return;
    }
  probe_send (task);
}

char *
us_provider_probe_finish (GAsyncResult  *result,
                          GError       **error)
{
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == us_provider_probe_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}
