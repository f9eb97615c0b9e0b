/* us-google-auth.c: Google OAuth access tokens (service account or
 * authorized user), fetched asynchronously, shared and cached.
 *
 * The JWT is signed with GnuTLS (RSASSA-PKCS1-v1_5 with SHA-256, which is
 * what RS256 names), in a worker thread; nothing here does RSA itself.
 */
#include "us-google-auth.h"

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <json-glib/json-glib.h>
#include <string.h>

#define JWT_GRANT "urn:ietf:params:oauth:grant-type:jwt-bearer"
#define JWT_LIFETIME_S 3600
/* A token endpoint that has not answered by then will not. */
#define FETCH_TIMEOUT_S 30

G_DEFINE_QUARK (us-google-auth-error-quark, us_google_auth_error)

typedef enum {
  SOURCE_CONFIG,  /* the provider's credentials_file */
  SOURCE_ENV,     /* $GOOGLE_APPLICATION_CREDENTIALS */
  SOURCE_GCLOUD,  /* gcloud's application-default credentials */
} CredentialSource;

struct _UsGoogleAuth
{
  GObject parent_instance;

  SoupSession *session;
  char *path;
  CredentialSource source;
  char *token;
  char *quota_project;      /* of the credentials the token came from */
  gint64 expires_at;        /* monotonic µs */
  GPtrArray *waiters;       /* GTask* waiting for the fetch in flight */
  GCancellable *fetching;   /* non-NULL while a fetch is in flight */
  SoupMessage *msg;         /* its token request, once sent */
  guint fetch_timeout;
  gboolean timed_out;
  guint n_fetches;
};

G_DEFINE_FINAL_TYPE (UsGoogleAuth, us_google_auth, G_TYPE_OBJECT)

/* ---- Waiters ----------------------------------------------------------- */

typedef struct {
  GCancellable *cancellable;
  gulong handler;
} Waiter;

static void
waiter_free (gpointer data)
{
  Waiter *waiter = data;

  if (waiter->cancellable != NULL)
    {
      g_cancellable_disconnect (waiter->cancellable, waiter->handler);
      g_object_unref (waiter->cancellable);
    }
  g_free (waiter);
}

static gboolean
return_cancelled (gpointer data)
{
  g_task_return_new_error (G_TASK (data), G_IO_ERROR, G_IO_ERROR_CANCELLED, "Cancelled");
  return G_SOURCE_REMOVE;
}

/* Runs inside g_cancellable_cancel(): the waiter leaves the queue now and
 * is answered from an idle source, so that neither its caller nor the
 * cancellable's handler list is re-entered. */
static void
on_waiter_cancelled (GCancellable *cancellable,
                     gpointer      data)
{
  GTask *task = data;
  UsGoogleAuth *self = g_task_get_source_object (task);
  guint index;
  g_autoptr(GSource) idle = NULL;

  if (!g_ptr_array_find (self->waiters, task, &index))
    return;
  g_ptr_array_steal_index (self->waiters, index);
  idle = g_idle_source_new ();
  g_task_attach_source (task, idle, return_cancelled);
  g_object_unref (task);
}

static void
finish_fetch (UsGoogleAuth *self,
              const GError *error)
{
  g_autoptr(GPtrArray) waiters = g_steal_pointer (&self->waiters);

  self->waiters = g_ptr_array_new_with_free_func (g_object_unref);
  g_clear_handle_id (&self->fetch_timeout, g_source_remove);
  g_clear_object (&self->fetching);
  g_clear_object (&self->msg);
  self->timed_out = FALSE;
  for (guint i = 0; i < waiters->len; i++)
    {
      GTask *task = g_ptr_array_index (waiters, i);

      if (error != NULL)
        g_task_return_error (task, g_error_copy (error));
      else
        g_task_return_pointer (task, g_strdup (self->token), g_free);
    }
}

static void
fail_fetch (UsGoogleAuth *self,
            gint          code,
            const char   *format,
            ...) G_GNUC_PRINTF (3, 4);

static void
fail_fetch (UsGoogleAuth *self,
            gint          code,
            const char   *format,
            ...)
{
  g_autoptr(GError) error = NULL;
  va_list args;

  va_start (args, format);
  error = g_error_new_valist (US_GOOGLE_AUTH_ERROR, code, format, args);
  va_end (args);
  finish_fetch (self, error);
}

/* ---- The JWT ----------------------------------------------------------- */

static char *
base64url (const guchar *data,
           gsize         len)
{
  char *text = g_base64_encode (data, len);
  char *end;

  for (char *c = text; *c; c++)
    if (*c == '+')
      *c = '-';
    else if (*c == '/')
      *c = '_';
  end = strchr (text, '=');
  if (end != NULL)
    *end = '\0';
  return text;
}

static char *
base64url_json (JsonBuilder *builder)
{
  g_autoptr(JsonNode) root = json_builder_get_root (builder);
  g_autofree char *text = json_to_string (root, FALSE);

  return base64url ((const guchar *) text, strlen (text));
}

char *
us_google_auth_sign_jwt (const char  *client_email,
                         const char  *private_key_id,
                         const char  *private_key_pem,
                         const char  *token_uri,
                         gint64       now,
                         GError     **error)
{
  g_autoptr(JsonBuilder) header = json_builder_new ();
  g_autoptr(JsonBuilder) claims = json_builder_new ();
  g_autofree char *header64 = NULL;
  g_autofree char *claims64 = NULL;
  g_autofree char *input = NULL;
  g_autofree char *signature64 = NULL;
  gnutls_privkey_t key = NULL;
  gnutls_datum_t pem = { (unsigned char *) private_key_pem, strlen (private_key_pem) };
  gnutls_datum_t data;
  gnutls_datum_t signature = { NULL, 0 };
  int ret;

  json_builder_begin_object (header);
  json_builder_set_member_name (header, "alg");
  json_builder_add_string_value (header, "RS256");
  json_builder_set_member_name (header, "typ");
  json_builder_add_string_value (header, "JWT");
  if (private_key_id != NULL)
    {
      json_builder_set_member_name (header, "kid");
      json_builder_add_string_value (header, private_key_id);
    }
  json_builder_end_object (header);

  json_builder_begin_object (claims);
  json_builder_set_member_name (claims, "iss");
  json_builder_add_string_value (claims, client_email);
  json_builder_set_member_name (claims, "scope");
  json_builder_add_string_value (claims, US_GOOGLE_SCOPE);
  json_builder_set_member_name (claims, "aud");
  json_builder_add_string_value (claims, token_uri);
  json_builder_set_member_name (claims, "iat");
  json_builder_add_int_value (claims, now);
  json_builder_set_member_name (claims, "exp");
  json_builder_add_int_value (claims, now + JWT_LIFETIME_S);
  json_builder_end_object (claims);

  header64 = base64url_json (header);
  claims64 = base64url_json (claims);
  input = g_strconcat (header64, ".", claims64, NULL);
  data.data = (unsigned char *) input;
  data.size = strlen (input);

  ret = gnutls_privkey_init (&key);
  if (ret >= 0)
    ret = gnutls_privkey_import_x509_raw (key, &pem, GNUTLS_X509_FMT_PEM, NULL, 0);
  if (ret >= 0 && gnutls_privkey_get_pk_algorithm (key, NULL) != GNUTLS_PK_RSA)
    ret = GNUTLS_E_UNKNOWN_PK_ALGORITHM;
  if (ret >= 0)
    ret = gnutls_privkey_sign_data (key, GNUTLS_DIG_SHA256, 0, &data, &signature);
  if (key != NULL)
    gnutls_privkey_deinit (key);
  if (ret < 0)
    {
      g_set_error (error, US_GOOGLE_AUTH_ERROR, US_GOOGLE_AUTH_ERROR_CREDENTIALS,
                   "its private_key cannot sign an RS256 token (%s)", gnutls_strerror (ret));
      return NULL;
    }
  signature64 = base64url (signature.data, signature.size);
  gnutls_free (signature.data);
  return g_strconcat (input, ".", signature64, NULL);
}

/* ---- Fetching ---------------------------------------------------------- */

static gboolean
on_fetch_timeout (gpointer data)
{
  UsGoogleAuth *self = data;

  self->fetch_timeout = 0;
  self->timed_out = TRUE;
  g_cancellable_cancel (self->fetching);
  return G_SOURCE_REMOVE;
}

/* The error of a token endpoint: {"error", "error_description"} (OAuth 2.0,
 * RFC 6749 §5.2), or whatever text it sent. */
static char *
describe_refusal (GBytes *body)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  gsize len = 0;
  const char *text = body ? g_bytes_get_data (body, &len) : NULL;
  JsonNode *root;

  if (text != NULL && json_parser_load_from_data (parser, text, len, NULL)
      && (root = json_parser_get_root (parser)) != NULL && JSON_NODE_HOLDS_OBJECT (root))
    {
      JsonObject *o = json_node_get_object (root);
      const char *code = json_object_get_string_member_with_default (o, "error", NULL);
      const char *description = json_object_get_string_member_with_default (o, "error_description", NULL);

      if (code != NULL)
        return description ? g_strdup_printf ("%s: %s", code, description) : g_strdup (code);
    }
  return g_strdup ("no OAuth error in the answer");
}

static void
on_token_answer (GObject      *source,
                 GAsyncResult *result,
                 gpointer      data)
{
  g_autoptr(UsGoogleAuth) self = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) body = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autofree char *uri = NULL;
  JsonObject *o = NULL;
  JsonNode *root;
  const char *token;
  gint64 expires_in;
  guint status;

  if (self->msg == NULL)
    return;
  uri = g_uri_to_string_partial (soup_message_get_uri (self->msg), G_URI_HIDE_PASSWORD);
  if (body == NULL)
    {
      if (self->timed_out)
        fail_fetch (self, US_GOOGLE_AUTH_ERROR_TOKEN, "token endpoint %s did not answer within %d s",
                    uri, FETCH_TIMEOUT_S);
      else
        fail_fetch (self, US_GOOGLE_AUTH_ERROR_TOKEN, "token endpoint %s: %s", uri, error->message);
      return;
    }
  status = soup_message_get_status (self->msg);
  if (status != SOUP_STATUS_OK)
    {
      g_autofree char *why = describe_refusal (body);

      fail_fetch (self, US_GOOGLE_AUTH_ERROR_TOKEN, "token endpoint %s answered %u (%s)", uri, status, why);
      return;
    }
  if (json_parser_load_from_data (parser, g_bytes_get_data (body, NULL), g_bytes_get_size (body), NULL)
      && (root = json_parser_get_root (parser)) != NULL && JSON_NODE_HOLDS_OBJECT (root))
    o = json_node_get_object (root);
  token = o ? json_object_get_string_member_with_default (o, "access_token", NULL) : NULL;
  if (token == NULL || *token == '\0')
    {
      fail_fetch (self, US_GOOGLE_AUTH_ERROR_TOKEN, "token endpoint %s sent no access_token", uri);
      return;
    }
  expires_in = json_object_get_int_member_with_default (o, "expires_in", JWT_LIFETIME_S);
  g_free (self->token);
  self->token = g_strdup (token);
  self->expires_at = g_get_monotonic_time () + MAX (expires_in, 0) * G_USEC_PER_SEC;
  finish_fetch (self, NULL);
}

static const char *
member (JsonObject *o,
        const char *name)
{
  const char *value = json_object_get_string_member_with_default (o, name, NULL);

  return value != NULL && *value != '\0' ? value : NULL;
}

/* Posts @form (which it takes) to @token_uri. */
static void
send_token_request (UsGoogleAuth *self,
                    const char   *token_uri,
                    char         *form)
{
  if (!g_str_has_prefix (token_uri, "https://") && !g_str_has_prefix (token_uri, "http://"))
    {
      g_free (form);
      fail_fetch (self, US_GOOGLE_AUTH_ERROR_CREDENTIALS, "Google credentials %s: token_uri is not an http or "
                  "https URL", self->path);
      return;
    }
  self->msg = soup_message_new_from_encoded_form ("POST", token_uri, form);
  if (self->msg == NULL)
    {
      fail_fetch (self, US_GOOGLE_AUTH_ERROR_CREDENTIALS, "Google credentials %s: token_uri is not a URL",
                  self->path);
      return;
    }
  self->n_fetches++;
  soup_session_send_and_read_async (self->session, self->msg, G_PRIORITY_DEFAULT, self->fetching,
                                    on_token_answer, g_object_ref (self));
}

/* A service account's JWT is signed in a worker thread: an RSA signature
 * takes milliseconds the main loop has better uses for. */
typedef struct {
  char *email;
  char *key_id;
  char *private_key;
  char *token_uri;
} SignJob;

static void
sign_job_free (gpointer data)
{
  SignJob *job = data;

  g_free (job->email);
  g_free (job->key_id);
  if (job->private_key != NULL)
    memset (job->private_key, 0, strlen (job->private_key));
  g_free (job->private_key);
  g_free (job->token_uri);
  g_free (job);
}

static void
sign_in_thread (GTask        *task,
                gpointer      source,
                gpointer      data,
                GCancellable *cancellable)
{
  SignJob *job = data;
  GError *error = NULL;
  char *jwt = us_google_auth_sign_jwt (job->email, job->key_id, job->private_key, job->token_uri,
                                       g_get_real_time () / G_USEC_PER_SEC, &error);

  if (jwt != NULL)
    g_task_return_pointer (task, jwt, g_free);
  else
    g_task_return_error (task, error);
}

static void
on_signed (GObject      *source,
           GAsyncResult *result,
           gpointer      data)
{
  UsGoogleAuth *self = US_GOOGLE_AUTH (source);
  SignJob *job = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;
  g_autofree char *jwt = g_task_propagate_pointer (G_TASK (result), &error);

  if (jwt == NULL && self->timed_out)
    fail_fetch (self, US_GOOGLE_AUTH_ERROR_CREDENTIALS, "signing a token for %s took longer than %d s",
                self->path, FETCH_TIMEOUT_S);
  else if (jwt == NULL)
    fail_fetch (self, US_GOOGLE_AUTH_ERROR_CREDENTIALS, "Google credentials %s: %s", self->path, error->message);
  else
    send_token_request (self, job->token_uri, soup_form_encode ("grant_type", JWT_GRANT, "assertion", jwt, NULL));
}

/* Signs (service account) or posts at once (authorized user). */
static void
request_token (UsGoogleAuth *self,
               JsonObject   *o)
{
  const char *type = member (o, "type");
  const char *token_uri = member (o, "token_uri") ? member (o, "token_uri") : US_GOOGLE_TOKEN_URI;

  if (g_strcmp0 (type, "service_account") == 0)
    {
      g_autoptr(GTask) task = NULL;
      SignJob *job;

      if (member (o, "client_email") == NULL || member (o, "private_key") == NULL)
        {
          fail_fetch (self, US_GOOGLE_AUTH_ERROR_CREDENTIALS,
                      "Google credentials %s: a service account needs client_email and private_key", self->path);
          return;
        }
      job = g_new0 (SignJob, 1);
      job->email = g_strdup (member (o, "client_email"));
      job->key_id = g_strdup (member (o, "private_key_id"));
      job->private_key = g_strdup (member (o, "private_key"));
      job->token_uri = g_strdup (token_uri);
      task = g_task_new (self, self->fetching, on_signed, NULL);
      g_task_set_task_data (task, job, sign_job_free);
      g_task_run_in_thread (task, sign_in_thread);
    }
  else if (g_strcmp0 (type, "authorized_user") == 0)
    {
      if (member (o, "client_id") == NULL || member (o, "client_secret") == NULL
          || member (o, "refresh_token") == NULL)
        {
          fail_fetch (self, US_GOOGLE_AUTH_ERROR_CREDENTIALS, "Google credentials %s: an authorized user needs "
                      "client_id, client_secret and refresh_token", self->path);
          return;
        }
      send_token_request (self, token_uri,
                          soup_form_encode ("grant_type", "refresh_token",
                                            "client_id", member (o, "client_id"),
                                            "client_secret", member (o, "client_secret"),
                                            "refresh_token", member (o, "refresh_token"), NULL));
    }
  else
    fail_fetch (self, US_GOOGLE_AUTH_ERROR_CREDENTIALS,
                "Google credentials %s: type is %s%s%s; only service_account and authorized_user credentials "
                "are supported", self->path, type ? "\"" : "", type ? type : "missing", type ? "\"" : "");
}

static void
on_credentials_loaded (GObject      *source,
                       GAsyncResult *result,
                       gpointer      data)
{
  g_autoptr(UsGoogleAuth) self = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autofree char *contents = NULL;
  gsize length;
  gboolean loaded;
  JsonNode *root;

  if (!g_file_load_contents_finish (G_FILE (source), result, &contents, &length, NULL, &error))
    {
      if (self->timed_out)
        fail_fetch (self, US_GOOGLE_AUTH_ERROR_CREDENTIALS, "reading %s took longer than %d s",
                    self->path, FETCH_TIMEOUT_S);
      else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND) && self->source == SOURCE_GCLOUD)
        fail_fetch (self, US_GOOGLE_AUTH_ERROR_CREDENTIALS,
                    "no Google credentials: give the provider a credentials_file, set "
                    "GOOGLE_APPLICATION_CREDENTIALS, or run `gcloud auth application-default login` "
                    "(%s does not exist)", self->path);
      else
        fail_fetch (self, US_GOOGLE_AUTH_ERROR_CREDENTIALS, "cannot read Google credentials %s%s: %s",
                    self->path, self->source == SOURCE_ENV ? " ($GOOGLE_APPLICATION_CREDENTIALS)" : "",
                    error->message);
      return;
    }
  loaded = json_parser_load_from_data (parser, contents, length, &error);
  /* They hold a private key or a refresh token: no copy left lying around. */
  memset (contents, 0, length);
  if (!loaded || (root = json_parser_get_root (parser)) == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      fail_fetch (self, US_GOOGLE_AUTH_ERROR_CREDENTIALS, "Google credentials %s are not a JSON object",
                  self->path);
      return;
    }
  g_free (self->quota_project);
  self->quota_project = g_strdup (member (json_node_get_object (root), "quota_project_id"));
  request_token (self, json_node_get_object (root));
}

static void
start_fetch (UsGoogleAuth *self)
{
  g_autoptr(GFile) file = g_file_new_for_path (self->path);

  self->fetching = g_cancellable_new ();
  self->fetch_timeout = g_timeout_add_seconds (FETCH_TIMEOUT_S, on_fetch_timeout, self);
  g_file_load_contents_async (file, self->fetching, on_credentials_loaded, g_object_ref (self));
}

/* ---- Public ------------------------------------------------------------ */

const char *
us_google_auth_peek_token (UsGoogleAuth *self)
{
  g_return_val_if_fail (US_IS_GOOGLE_AUTH (self), NULL);

  if (self->token == NULL
      || g_get_monotonic_time () + US_GOOGLE_TOKEN_MARGIN_S * G_USEC_PER_SEC >= self->expires_at)
    return NULL;
  return self->token;
}

void
us_google_auth_forget_token (UsGoogleAuth *self,
                             const char   *token)
{
  g_return_if_fail (US_IS_GOOGLE_AUTH (self));

  if (self->token != NULL && g_strcmp0 (self->token, token) == 0)
    g_clear_pointer (&self->token, g_free);
}

void
us_google_auth_get_token_async (UsGoogleAuth        *self,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  Waiter *waiter;

  g_return_if_fail (US_IS_GOOGLE_AUTH (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, us_google_auth_get_token_async);
  if (us_google_auth_peek_token (self) != NULL)
    {
      g_task_return_pointer (task, g_strdup (self->token), g_free);
      return;
    }
  waiter = g_new0 (Waiter, 1);
  g_task_set_task_data (task, waiter, waiter_free);
  g_ptr_array_add (self->waiters, g_object_ref (task));
  if (cancellable != NULL)
    {
      waiter->cancellable = g_object_ref (cancellable);
      waiter->handler = g_cancellable_connect (cancellable, G_CALLBACK (on_waiter_cancelled), task, NULL);
    }
  if (self->fetching == NULL && self->waiters->len > 0)
    start_fetch (self);
}

char *
us_google_auth_get_token_finish (UsGoogleAuth  *self,
                                 GAsyncResult  *result,
                                 GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

const char *
us_google_auth_get_path (UsGoogleAuth *self)
{
  g_return_val_if_fail (US_IS_GOOGLE_AUTH (self), NULL);
  return self->path;
}

const char *
us_google_auth_get_quota_project (UsGoogleAuth *self)
{
  g_return_val_if_fail (US_IS_GOOGLE_AUTH (self), NULL);
  return self->quota_project;
}

guint
us_google_auth_get_n_fetches (UsGoogleAuth *self)
{
  g_return_val_if_fail (US_IS_GOOGLE_AUTH (self), 0);
  return self->n_fetches;
}

/* ---- GObject ----------------------------------------------------------- */

static void
us_google_auth_dispose (GObject *object)
{
  UsGoogleAuth *self = US_GOOGLE_AUTH (object);

  /* Every fetch step holds a reference: none is in flight here. */
  g_clear_handle_id (&self->fetch_timeout, g_source_remove);
  g_clear_object (&self->session);

  G_OBJECT_CLASS (us_google_auth_parent_class)->dispose (object);
}

static void
us_google_auth_finalize (GObject *object)
{
  UsGoogleAuth *self = US_GOOGLE_AUTH (object);

  g_clear_pointer (&self->waiters, g_ptr_array_unref);
  g_clear_object (&self->fetching);
  g_clear_object (&self->msg);
  g_free (self->path);
  g_free (self->token);
  g_free (self->quota_project);

  G_OBJECT_CLASS (us_google_auth_parent_class)->finalize (object);
}

static void
us_google_auth_class_init (UsGoogleAuthClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = us_google_auth_dispose;
  object_class->finalize = us_google_auth_finalize;
}

static void
us_google_auth_init (UsGoogleAuth *self)
{
  self->waiters = g_ptr_array_new_with_free_func (g_object_unref);
}

/* gcloud keeps its files under $CLOUDSDK_CONFIG, else ~/.config/gcloud
 * (with $HOME as the shell has it, as gcloud's own expanduser). */
static char *
gcloud_adc_path (void)
{
  const char *dir = g_getenv ("CLOUDSDK_CONFIG");
  const char *home = g_getenv ("HOME");

  if (dir != NULL && *dir != '\0')
    return g_build_filename (dir, "application_default_credentials.json", NULL);
  return g_build_filename (home && *home ? home : g_get_home_dir (), ".config", "gcloud",
                           "application_default_credentials.json", NULL);
}

UsGoogleAuth *
us_google_auth_new (SoupSession *session,
                    const char  *credentials_file)
{
  UsGoogleAuth *self;
  const char *env = g_getenv ("GOOGLE_APPLICATION_CREDENTIALS");

  g_return_val_if_fail (SOUP_IS_SESSION (session), NULL);

  self = g_object_new (US_TYPE_GOOGLE_AUTH, NULL);
  self->session = g_object_ref (session);
  if (credentials_file != NULL && g_str_has_prefix (credentials_file, "~/"))
    {
      const char *home = g_getenv ("HOME");

      self->path = g_build_filename (home && *home ? home : g_get_home_dir (), credentials_file + 2, NULL);
      self->source = SOURCE_CONFIG;
    }
  else if (credentials_file != NULL)
    {
      self->path = g_strdup (credentials_file);
      self->source = SOURCE_CONFIG;
    }
  else if (env != NULL && *env != '\0')
    {
      self->path = g_strdup (env);
      self->source = SOURCE_ENV;
    }
  else
    {
      self->path = gcloud_adc_path ();
      self->source = SOURCE_GCLOUD;
    }
  return self;
}
