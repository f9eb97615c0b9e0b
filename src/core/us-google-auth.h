/* us-google-auth.h: OAuth access tokens from Google credentials, for
 * providers with auth: google (Vertex AI).
 *
 * The credentials are a service-account JSON (an RS256-signed JWT is
 * exchanged at its token_uri) or an authorized-user JSON (its refresh token
 * is exchanged at its token_uri), found in this order: the provider's
 * credentials_file, $GOOGLE_APPLICATION_CREDENTIALS, gcloud's
 * application-default credentials ($CLOUDSDK_CONFIG, else ~/.config/gcloud).
 * The file is read asynchronously each time a token is fetched, so a new
 * `gcloud auth application-default login` is picked up at the next fetch.
 */
#pragma once

#include <libsoup/soup.h>

G_BEGIN_DECLS

#define US_GOOGLE_AUTH_ERROR (us_google_auth_error_quark ())
GQuark us_google_auth_error_quark (void);

typedef enum {
  /* No credentials file, or one that cannot be used: the user must act. */
  US_GOOGLE_AUTH_ERROR_CREDENTIALS,
  /* The token endpoint refused or could not be reached. */
  US_GOOGLE_AUTH_ERROR_TOKEN,
} UsGoogleAuthError;

/* The scope every token is asked for. */
#define US_GOOGLE_SCOPE "https://www.googleapis.com/auth/cloud-platform"
/* token_uri when an authorized-user JSON names none. */
#define US_GOOGLE_TOKEN_URI "https://oauth2.googleapis.com/token"
/* A token is used until this long before it expires. */
#define US_GOOGLE_TOKEN_MARGIN_S 60

#define US_TYPE_GOOGLE_AUTH (us_google_auth_get_type ())
G_DECLARE_FINAL_TYPE (UsGoogleAuth, us_google_auth, US, GOOGLE_AUTH, GObject)

/* Tokens fetched over @session from the credentials @credentials_file names
 * (NULL: discovered, see above; "~/" is the home directory). */
UsGoogleAuth *us_google_auth_new             (SoupSession   *session,
                                              const char    *credentials_file);
/* The file the credentials come from, resolved at construction (the
 * application-default file even when it does not exist: fetching then
 * fails and says what to do). */
const char   *us_google_auth_get_path        (UsGoogleAuth  *self);
/* The cached token while it has more than US_GOOGLE_TOKEN_MARGIN_S left,
 * else NULL. */
const char   *us_google_auth_peek_token      (UsGoogleAuth  *self);
/* Forgets the cached token if it is @token (the provider refused it: it
 * was revoked, or the clock lied), so that the next caller fetches anew. */
void          us_google_auth_forget_token    (UsGoogleAuth  *self,
                                              const char    *token);
/* A token: the cached one, else the one being fetched (all callers share
 * one fetch), else a new fetch. Cancelling @cancellable stops this caller's
 * wait only. */
void          us_google_auth_get_token_async (UsGoogleAuth        *self,
                                              GCancellable        *cancellable,
                                              GAsyncReadyCallback  callback,
                                              gpointer             user_data);
char         *us_google_auth_get_token_finish (UsGoogleAuth  *self,
                                               GAsyncResult  *result,
                                               GError       **error);
/* The credentials' quota_project_id (gcloud writes one into its
 * application-default login), sent as x-goog-user-project so that usage is
 * billed to it; NULL when they name none. Known once a token was fetched. */
const char   *us_google_auth_get_quota_project (UsGoogleAuth *self);
/* How many token requests went to a token endpoint (for the status API and
 * tests). */
guint         us_google_auth_get_n_fetches   (UsGoogleAuth  *self);

/* Exposed for tests: "HEADER.CLAIMS.SIGNATURE" for a service account, or
 * NULL with @error when @private_key_pem cannot sign. */
char         *us_google_auth_sign_jwt        (const char    *client_email,
                                              const char    *private_key_id,
                                              const char    *private_key_pem,
                                              const char    *token_uri,
                                              gint64         now,
                                              GError       **error);

G_END_DECLS
