/* us-fake-google-token.h: a Google OAuth 2.0 token endpoint on a loopback
 * SoupServer, for the test suite. It checks what oauth2.googleapis.com
 * checks: a service account's JWT (RS256 signature against the account's
 * public key, iss, aud, scope, iat, exp), an authorized user's client id,
 * secret and refresh token; and it issues access tokens.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

#define US_TYPE_FAKE_GOOGLE_TOKEN (us_fake_google_token_get_type ())
G_DECLARE_FINAL_TYPE (UsFakeGoogleToken, us_fake_google_token, US, FAKE_GOOGLE_TOKEN, GObject)

/* Listens on 127.0.0.1 (ephemeral port); aborts the test if it cannot. */
UsFakeGoogleToken *us_fake_google_token_new        (void);
/* "http://127.0.0.1:PORT/token": the token_uri for credentials files. */
const char *us_fake_google_token_get_uri           (UsFakeGoogleToken *self);
/* JWTs from @client_email must verify with @public_key_pem. */
void        us_fake_google_token_add_service_account (UsFakeGoogleToken *self,
                                                      const char        *client_email,
                                                      const char        *public_key_pem);
void        us_fake_google_token_add_authorized_user (UsFakeGoogleToken *self,
                                                      const char        *client_id,
                                                      const char        *client_secret,
                                                      const char        *refresh_token);
/* expires_in of the tokens it issues (default 3599, as Google's). */
void        us_fake_google_token_set_expires_in    (UsFakeGoogleToken *self,
                                                    gint64             seconds);
/* Waits this long before answering. */
void        us_fake_google_token_set_delay_ms      (UsFakeGoogleToken *self,
                                                    guint              delay_ms);
/* Non-zero: refuses every request with this status (invalid_grant for a
 * 400, else a server error). */
void        us_fake_google_token_set_refuse_status (UsFakeGoogleToken *self,
                                                    guint              status);
/* Token requests received, accepted or not. */
guint       us_fake_google_token_get_n_requests    (UsFakeGoogleToken *self);
/* The newest token issued, or NULL. */
const char *us_fake_google_token_get_last_token    (UsFakeGoogleToken *self);
/* Who it was issued to: the service account's email or the refresh token. */
const char *us_fake_google_token_get_last_subject  (UsFakeGoogleToken *self);
/* Why the last request was refused, or NULL. */
const char *us_fake_google_token_get_last_refusal  (UsFakeGoogleToken *self);

/* Signal "token-issued" (const char *token): a token was just issued. */

/* A new 2048-bit RSA key pair: a PKCS#8 private key and its public key, PEM. */
void        us_fake_google_generate_key            (char **private_pem,
                                                    char **public_pem);

G_END_DECLS
