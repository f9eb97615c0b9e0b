/* us-fake-google-token.c: a Google OAuth 2.0 token endpoint for tests.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "us-fake-google-token.h"
#include "us-keepalive.h"

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <string.h>

#define JWT_GRANT "urn:ietf:params:oauth:grant-type:jwt-bearer"
#define SCOPE "https://www.googleapis.com/auth/cloud-platform"
/* Google accepts assertions up to an hour long, and some clock skew. */
#define MAX_LIFETIME_S 3600
#define SKEW_S 300

struct _UsFakeGoogleToken
{
  GObject parent_instance;

  SoupServer *server;
  char *uri;
  GHashTable *accounts;  /* client_email → public key PEM */
  GPtrArray *users;      /* GStrv { client_id, client_secret, refresh_token } */
  gint64 expires_in;
  guint delay_ms;
  guint refuse_status;
  guint n_requests;
  char *last_token;
  char *last_subject;
  char *last_refusal;
  GPtrArray *paused;     /* Delayed*: requests waiting out delay_ms */
  guint serial;
};

G_DEFINE_FINAL_TYPE (UsFakeGoogleToken, us_fake_google_token, G_TYPE_OBJECT)

enum { SIGNAL_TOKEN_ISSUED, N_SIGNALS };
static guint signals[N_SIGNALS];

/* ---- Checking a JWT ---------------------------------------------------- */

static GBytes *
base64url_decode (const char *text,
                  gsize       len)
{
  g_autoptr(GString) b64 = g_string_new_len (text, len);
  gsize out_len = 0;
  guchar *out;

  for (gsize i = 0; i < b64->len; i++)
    {
      if (b64->str[i] == '-')
        b64->str[i] = '+';
      else if (b64->str[i] == '_')
        b64->str[i] = '/';
      else if (b64->str[i] == '=' || b64->str[i] == '+' || b64->str[i] == '/')
        return NULL; /* base64url has no padding and no + or / */
    }
  while (b64->len % 4 != 0)
    g_string_append_c (b64, '=');
  out = g_base64_decode (b64->str, &out_len);
  return g_bytes_new_take (out, out_len);
}

static JsonObject *
decode_json_part (const char *text,
                  gsize       len)
{
  g_autoptr(GBytes) bytes = base64url_decode (text, len);
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonNode *root;

  if (bytes == NULL || !json_parser_load_from_data (parser, g_bytes_get_data (bytes, NULL),
                                                    g_bytes_get_size (bytes), NULL))
    return NULL;
  root = json_parser_get_root (parser);
  return root && JSON_NODE_HOLDS_OBJECT (root) ? json_object_ref (json_node_get_object (root)) : NULL;
}

static gboolean
verify_rs256 (const char *public_pem,
              const char *input,
              gsize       input_len,
              GBytes     *signature)
{
  gnutls_pubkey_t key;
  gnutls_datum_t pem = { (unsigned char *) public_pem, strlen (public_pem) };
  gnutls_datum_t data = { (unsigned char *) input, input_len };
  gnutls_datum_t sig = { (unsigned char *) g_bytes_get_data (signature, NULL), g_bytes_get_size (signature) };
  int ret;

  g_assert_cmpint (gnutls_pubkey_init (&key), >=, 0);
  g_assert_cmpint (gnutls_pubkey_import (key, &pem, GNUTLS_X509_FMT_PEM), >=, 0);
  ret = gnutls_pubkey_verify_data2 (key, GNUTLS_SIGN_RSA_SHA256, 0, &data, &sig);
  gnutls_pubkey_deinit (key);
  return ret >= 0;
}

/* The subject (client_email) of a valid assertion, else NULL and @why. */
static char *
check_assertion (UsFakeGoogleToken *self,
                 const char        *jwt,
                 char             **why)
{
  g_auto(GStrv) parts = jwt ? g_strsplit (jwt, ".", -1) : NULL;
  g_autoptr(JsonObject) header = NULL;
  g_autoptr(JsonObject) claims = NULL;
  g_autoptr(GBytes) signature = NULL;
  const char *iss;
  const char *public_pem;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  gint64 iat, exp;

  if (parts == NULL || g_strv_length (parts) != 3)
    return *why = g_strdup ("Invalid JWT: Token must be a short-lived token and in a reasonable timeframe"), NULL;
  header = decode_json_part (parts[0], strlen (parts[0]));
  claims = decode_json_part (parts[1], strlen (parts[1]));
  signature = base64url_decode (parts[2], strlen (parts[2]));
  if (header == NULL || claims == NULL || signature == NULL)
    return *why = g_strdup ("Invalid JWT: not base64url JSON"), NULL;
  if (g_strcmp0 (json_object_get_string_member_with_default (header, "alg", NULL), "RS256") != 0)
    return *why = g_strdup ("Invalid JWT: alg must be RS256"), NULL;
  iss = json_object_get_string_member_with_default (claims, "iss", NULL);
  public_pem = iss ? g_hash_table_lookup (self->accounts, iss) : NULL;
  if (public_pem == NULL)
    return *why = g_strdup ("Invalid JWT: no such service account (iss)"), NULL;
  if (!verify_rs256 (public_pem, jwt, strlen (parts[0]) + 1 + strlen (parts[1]), signature))
    return *why = g_strdup ("Invalid JWT Signature."), NULL;
  if (g_strcmp0 (json_object_get_string_member_with_default (claims, "aud", NULL), self->uri) != 0)
    return *why = g_strdup ("Invalid JWT: aud is not this token endpoint"), NULL;
  if (g_strcmp0 (json_object_get_string_member_with_default (claims, "scope", NULL), SCOPE) != 0)
    return *why = g_strdup ("Invalid JWT: scope is not cloud-platform"), NULL;
  iat = json_object_get_int_member_with_default (claims, "iat", 0);
  exp = json_object_get_int_member_with_default (claims, "exp", 0);
  if (iat > now + SKEW_S || iat < now - SKEW_S || exp <= now || exp <= iat || exp - iat > MAX_LIFETIME_S)
    return *why = g_strdup ("Invalid JWT: Token must be a short-lived token (60 minutes) and in a "
                            "reasonable timeframe. Check your iat and exp values in the JWT claim."), NULL;
  return g_strdup (iss);
}

static char *
check_refresh (UsFakeGoogleToken *self,
               GHashTable        *form,
               char             **why)
{
  for (guint i = 0; i < self->users->len; i++)
    {
      GStrv user = g_ptr_array_index (self->users, i);

      if (g_strcmp0 (g_hash_table_lookup (form, "client_id"), user[0]) == 0
          && g_strcmp0 (g_hash_table_lookup (form, "client_secret"), user[1]) == 0
          && g_strcmp0 (g_hash_table_lookup (form, "refresh_token"), user[2]) == 0)
        return g_strdup (user[2]);
    }
  *why = g_strdup ("Bad Request");
  return NULL;
}

/* ---- Answers ----------------------------------------------------------- */

static void
set_json (SoupServerMessage *msg,
          guint              status,
          JsonObject        *o /* owned */)
{
  g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), o);
  g_autofree char *text = json_to_string (node, FALSE);

  json_object_unref (o);
  soup_server_message_set_status (msg, status, NULL);
  soup_server_message_set_response (msg, "application/json; charset=utf-8", SOUP_MEMORY_COPY,
                                    text, strlen (text));
}

static void
refuse (UsFakeGoogleToken *self,
        SoupServerMessage *msg,
        guint              status,
        const char        *error,
        const char        *description)
{
  JsonObject *o = json_object_new ();

  g_free (self->last_refusal);
  self->last_refusal = g_strdup (description);
  json_object_set_string_member (o, "error", error);
  json_object_set_string_member (o, "error_description", description);
  set_json (msg, status, o);
}

static void
issue (UsFakeGoogleToken *self,
       SoupServerMessage *msg,
       char              *subject /* owned */)
{
  JsonObject *o = json_object_new ();
  g_autofree char *token = g_strdup_printf ("ya29.fake-%u-%08x%08x", ++self->serial,
                                            g_random_int (), g_random_int ());

  g_free (self->last_subject);
  self->last_subject = subject;
  g_free (self->last_token);
  self->last_token = g_strdup (token);
  json_object_set_string_member (o, "access_token", token);
  json_object_set_int_member (o, "expires_in", self->expires_in);
  json_object_set_string_member (o, "token_type", "Bearer");
  set_json (msg, 200, o);
  g_signal_emit (self, signals[SIGNAL_TOKEN_ISSUED], 0, token);
}

static void
answer (UsFakeGoogleToken *self,
        SoupServerMessage *msg)
{
  g_autoptr(GBytes) body = soup_message_body_flatten (soup_server_message_get_request_body (msg));
  g_autofree char *text = g_strndup (g_bytes_get_data (body, NULL), g_bytes_get_size (body));
  const char *type = soup_message_headers_get_content_type (soup_server_message_get_request_headers (msg), NULL);
  g_autoptr(GHashTable) form = NULL;
  const char *grant;
  g_autofree char *why = NULL;
  char *subject;

  if (self->refuse_status != 0)
    {
      if (self->refuse_status == 400)
        refuse (self, msg, 400, "invalid_grant", "account not found");
      else
        refuse (self, msg, self->refuse_status, "internal_failure", "Backend Error");
      return;
    }
  if (g_strcmp0 (soup_server_message_get_method (msg), "POST") != 0
      || g_strcmp0 (type, "application/x-www-form-urlencoded") != 0)
    {
      refuse (self, msg, 400, "invalid_request", "Invalid request: POST a form");
      return;
    }
  form = soup_form_decode (text);
  grant = g_hash_table_lookup (form, "grant_type");
  if (g_strcmp0 (grant, JWT_GRANT) == 0)
    subject = check_assertion (self, g_hash_table_lookup (form, "assertion"), &why);
  else if (g_strcmp0 (grant, "refresh_token") == 0)
    subject = check_refresh (self, form, &why);
  else
    {
      refuse (self, msg, 400, "unsupported_grant_type", "Invalid grant_type");
      return;
    }
  if (subject == NULL)
    {
      refuse (self, msg, 400, g_strcmp0 (grant, "refresh_token") == 0 ? "invalid_client" : "invalid_grant", why);
      return;
    }
  issue (self, msg, subject);
}

typedef struct {
  UsFakeGoogleToken *self;
  SoupServerMessage *msg;
  guint source;
} Delayed;

static void
delayed_free (gpointer data)
{
  Delayed *delayed = data;

  g_clear_handle_id (&delayed->source, g_source_remove);
  g_object_unref (delayed->msg);
  g_free (delayed);
}

static gboolean
on_delay_over (gpointer data)
{
  Delayed *delayed = data;

  delayed->source = 0;
  answer (delayed->self, delayed->msg);
  soup_server_message_unpause (delayed->msg);
  g_ptr_array_remove (delayed->self->paused, delayed);
  return G_SOURCE_REMOVE;
}

static void
server_callback (SoupServer        *server,
                 SoupServerMessage *msg,
                 const char        *path,
                 GHashTable        *query,
                 gpointer           user_data)
{
  UsFakeGoogleToken *self = user_data;
  Delayed *delayed;

  if (!g_str_equal (path, "/token"))
    {
      soup_server_message_set_status (msg, 404, NULL);
      return;
    }
  self->n_requests++;
  if (self->delay_ms == 0)
    {
      answer (self, msg);
      return;
    }
  delayed = g_new0 (Delayed, 1);
  delayed->self = self;
  delayed->msg = g_object_ref (msg);
  g_ptr_array_add (self->paused, delayed);
  soup_server_message_pause (msg);
  delayed->source = g_timeout_add (self->delay_ms, on_delay_over, delayed);
}

/* ---- Public ------------------------------------------------------------ */

UsFakeGoogleToken *
us_fake_google_token_new (void)
{
  UsFakeGoogleToken *self = g_object_new (US_TYPE_FAKE_GOOGLE_TOKEN, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  GSList *uris;

  self->server = soup_server_new (NULL, NULL);
  /* libsoup 3.2 leaks every accepted socket unless they are watched. */
  us_keepalive_guard (self->server, 0, 0);
  soup_server_add_handler (self->server, NULL, server_callback, self, NULL);
  soup_server_listen (self->server, address, 0, &error);
  g_assert_no_error (error);
  uris = soup_server_get_uris (self->server);
  self->uri = g_strdup_printf ("http://127.0.0.1:%d/token", g_uri_get_port (uris->data));
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
  return self;
}

const char *
us_fake_google_token_get_uri (UsFakeGoogleToken *self)
{
  return self->uri;
}

void
us_fake_google_token_add_service_account (UsFakeGoogleToken *self,
                                          const char        *client_email,
                                          const char        *public_key_pem)
{
  g_hash_table_replace (self->accounts, g_strdup (client_email), g_strdup (public_key_pem));
}

void
us_fake_google_token_add_authorized_user (UsFakeGoogleToken *self,
                                          const char        *client_id,
                                          const char        *client_secret,
                                          const char        *refresh_token)
{
  const char * const user[] = { client_id, client_secret, refresh_token, NULL };

  g_ptr_array_add (self->users, g_strdupv ((char **) user));
}

void
us_fake_google_token_set_expires_in (UsFakeGoogleToken *self,
                                     gint64             seconds)
{
  self->expires_in = seconds;
}

void
us_fake_google_token_set_delay_ms (UsFakeGoogleToken *self,
                                   guint              delay_ms)
{
  self->delay_ms = delay_ms;
}

void
us_fake_google_token_set_refuse_status (UsFakeGoogleToken *self,
                                        guint              status)
{
  self->refuse_status = status;
}

guint
us_fake_google_token_get_n_requests (UsFakeGoogleToken *self)
{
  return self->n_requests;
}

const char *
us_fake_google_token_get_last_token (UsFakeGoogleToken *self)
{
  return self->last_token;
}

const char *
us_fake_google_token_get_last_subject (UsFakeGoogleToken *self)
{
  return self->last_subject;
}

const char *
us_fake_google_token_get_last_refusal (UsFakeGoogleToken *self)
{
  return self->last_refusal;
}

void
us_fake_google_generate_key (char **private_pem,
                             char **public_pem)
{
  gnutls_x509_privkey_t x509;
  gnutls_privkey_t key;
  gnutls_pubkey_t pub;
  gnutls_datum_t out;

  g_assert_cmpint (gnutls_x509_privkey_init (&x509), >=, 0);
  g_assert_cmpint (gnutls_x509_privkey_generate (x509, GNUTLS_PK_RSA, 2048, 0), >=, 0);
  g_assert_cmpint (gnutls_x509_privkey_export2_pkcs8 (x509, GNUTLS_X509_FMT_PEM, NULL, GNUTLS_PKCS_PLAIN, &out), >=, 0);
  *private_pem = g_strndup ((const char *) out.data, out.size);
  gnutls_free (out.data);

  g_assert_cmpint (gnutls_privkey_init (&key), >=, 0);
  g_assert_cmpint (gnutls_privkey_import_x509 (key, x509, GNUTLS_PRIVKEY_IMPORT_AUTO_RELEASE), >=, 0);
  g_assert_cmpint (gnutls_pubkey_init (&pub), >=, 0);
  g_assert_cmpint (gnutls_pubkey_import_privkey (pub, key, 0, 0), >=, 0);
  g_assert_cmpint (gnutls_pubkey_export2 (pub, GNUTLS_X509_FMT_PEM, &out), >=, 0);
  *public_pem = g_strndup ((const char *) out.data, out.size);
  gnutls_free (out.data);
  gnutls_pubkey_deinit (pub);
  gnutls_privkey_deinit (key);
}

/* ---- GObject ----------------------------------------------------------- */

static void
us_fake_google_token_dispose (GObject *object)
{
  UsFakeGoogleToken *self = US_FAKE_GOOGLE_TOKEN (object);

  g_ptr_array_set_size (self->paused, 0);
  if (self->server != NULL)
    soup_server_disconnect (self->server);
  g_clear_object (&self->server);

  G_OBJECT_CLASS (us_fake_google_token_parent_class)->dispose (object);
}

static void
us_fake_google_token_finalize (GObject *object)
{
  UsFakeGoogleToken *self = US_FAKE_GOOGLE_TOKEN (object);

  g_hash_table_unref (self->accounts);
  g_ptr_array_unref (self->users);
  g_ptr_array_unref (self->paused);
  g_free (self->uri);
  g_free (self->last_token);
  g_free (self->last_subject);
  g_free (self->last_refusal);

  G_OBJECT_CLASS (us_fake_google_token_parent_class)->finalize (object);
}

static void
us_fake_google_token_class_init (UsFakeGoogleTokenClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = us_fake_google_token_dispose;
  object_class->finalize = us_fake_google_token_finalize;

  signals[SIGNAL_TOKEN_ISSUED] =
    g_signal_new ("token-issued", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
us_fake_google_token_init (UsFakeGoogleToken *self)
{
  self->accounts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->users = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
  self->paused = g_ptr_array_new_with_free_func (delayed_free);
  self->expires_in = 3599;
}
