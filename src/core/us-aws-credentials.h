/* us-aws-credentials.h: where a bedrock provider with auth: aws finds its
 * AWS credentials, in AWS's own order of precedence for what Understudy
 * reads: the keyring (the provider's stored key is a JSON object
 * {"access_key_id", "secret_access_key", "session_token"?}), else
 * AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, else the
 * profile (aws_profile, else $AWS_PROFILE, else "default") of the shared
 * credentials file ($AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials).
 *
 * The file is read asynchronously by us_aws_credentials_load_async() (the
 * proxy does so at start and on each new config); lookups never touch it.
 */
#pragma once

#include <gio/gio.h>

#include "us-config.h"

G_BEGIN_DECLS

typedef struct {
  char *access_key_id;
  char *secret_access_key;
  char *session_token;  /* NULL unless temporary credentials */
} UsAwsKeys;

/* From the JSON form above; NULL with a message that never repeats the
 * secret. */
UsAwsKeys *us_aws_keys_parse (const char  *json,
                              GError     **error);
void       us_aws_keys_free  (UsAwsKeys   *keys);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (UsAwsKeys, us_aws_keys_free)

#define US_TYPE_AWS_CREDENTIALS (us_aws_credentials_get_type ())
G_DECLARE_FINAL_TYPE (UsAwsCredentials, us_aws_credentials, US, AWS_CREDENTIALS, GObject)

UsAwsCredentials *us_aws_credentials_new         (void);
/* Reads the shared credentials file (a missing one is no error). */
void              us_aws_credentials_load_async  (UsAwsCredentials    *self,
                                                  GCancellable        *cancellable,
                                                  GAsyncReadyCallback  callback,
                                                  gpointer             user_data);
gboolean          us_aws_credentials_load_finish (UsAwsCredentials    *self,
                                                  GAsyncResult        *result,
                                                  GError             **error);
/* @provider's credentials as the JSON form, from @stored (the keyring's
 * key) when set, else the environment, else the profile; NULL when none.
 * Owned by @self until the next lookup for @provider. */
const char       *us_aws_credentials_lookup      (UsAwsCredentials       *self,
                                                  const UsProviderConfig *provider,
                                                  const char             *stored);

G_END_DECLS
