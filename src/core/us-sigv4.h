/* us-sigv4.h: AWS Signature Version 4 (header form), as AWS specifies it:
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html
 *
 * Split into the spec's steps so the published test suite can check each
 * one, and so a fake service can recompute a signature from what it got. */
#pragma once

#include <libsoup/soup.h>

G_BEGIN_DECLS

/* What the canonical request is built from. @path is the path as sent on
 * the wire (already percent-encoded where it needs to be); SigV4 encodes it
 * once more, as every service but S3 expects. Every header in @headers is
 * signed. */
typedef struct {
  const char         *method;
  const char         *path;
  const char         *query;          /* as sent, without '?'; NULL = none */
  SoupMessageHeaders *headers;
  const char         *payload_sha256; /* lowercase hex */
} UsSigv4Request;

/* The spec's URI encoding: every byte but A-Z a-z 0-9 - _ . ~ (and '/'
 * when @keep_slash) as %XX with upper-case hex. */
char *us_sigv4_uri_encode         (const char *text,
                                   gsize       length,
                                   gboolean    keep_slash);
char *us_sigv4_sha256_hex         (const void *data,
                                   gsize       length);
/* @signed_headers receives "host;x-amz-date;…". */
char *us_sigv4_canonical_request  (const UsSigv4Request *request,
                                   char                **signed_headers);
/* @amz_date is YYYYMMDD'T'HHMMSS'Z'. */
char *us_sigv4_string_to_sign     (const char *amz_date,
                                   const char *region,
                                   const char *service,
                                   const char *canonical_request);
/* Hex HMAC of @string_to_sign under the key derived from @secret. */
char *us_sigv4_signature          (const char *secret,
                                   const char *amz_date,
                                   const char *region,
                                   const char *service,
                                   const char *string_to_sign);
/* The Authorization header value for @request. */
char *us_sigv4_authorization      (const UsSigv4Request *request,
                                   const char           *access_key_id,
                                   const char           *secret,
                                   const char           *amz_date,
                                   const char           *region,
                                   const char           *service);
/* @now as YYYYMMDD'T'HHMMSS'Z' (UTC). */
char *us_sigv4_format_date        (GDateTime  *now);

/* Signs a POST @msg whose body is @body: sets Host, X-Amz-Date,
 * X-Amz-Security-Token (when @session_token) and Authorization, signing
 * host, content-type, x-amz-date and x-amz-security-token. */
void  us_sigv4_sign_message       (SoupMessage *msg,
                                   GBytes      *body,
                                   const char  *access_key_id,
                                   const char  *secret,
                                   const char  *session_token,
                                   const char  *region,
                                   const char  *service,
                                   GDateTime   *now);

G_END_DECLS
