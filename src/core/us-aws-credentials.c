/* us-aws-credentials.c: AWS credentials for SigV4, without blocking. */
#include "us-aws-credentials.h"

#include <string.h>

struct _UsAwsCredentials
{
  GObject parent_instance;

  GKeyFile *file;       /* the shared credentials file, NULL until read */
  GHashTable *resolved; /* provider id → JSON form last handed out */
};

G_DEFINE_FINAL_TYPE (UsAwsCredentials, us_aws_credentials, G_TYPE_OBJECT)

void
us_aws_keys_free (UsAwsKeys *keys)
{
  if (keys == NULL)
    return;
  g_free (keys->access_key_id);
  if (keys->secret_access_key != NULL)
    memset (keys->secret_access_key, 0, strlen (keys->secret_access_key));
  g_free (keys->secret_access_key);
  g_free (keys->session_token);
  g_free (keys);
}

UsAwsKeys *
us_aws_keys_parse (const char  *json,
                   GError     **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(UsAwsKeys) keys = g_new0 (UsAwsKeys, 1);
  JsonObject *object;
  JsonNode *root;

  if (json == NULL || !json_parser_load_from_data (parser, json, -1, NULL)
      || (root = json_parser_get_root (parser)) == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           "the stored AWS credentials are not a JSON object "
                           "{\"access_key_id\": …, \"secret_access_key\": …, \"session_token\": …}");
      return NULL;
    }
  object = json_node_get_object (root);
  keys->access_key_id = g_strdup (json_object_get_string_member_with_default (object, "access_key_id", NULL));
  keys->secret_access_key = g_strdup (json_object_get_string_member_with_default (object, "secret_access_key", NULL));
  keys->session_token = g_strdup (json_object_get_string_member_with_default (object, "session_token", NULL));
  if (keys->access_key_id == NULL || *keys->access_key_id == '\0'
      || keys->secret_access_key == NULL || *keys->secret_access_key == '\0')
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           "the stored AWS credentials lack access_key_id or secret_access_key");
      return NULL;
    }
  if (keys->session_token != NULL && *keys->session_token == '\0')
    g_clear_pointer (&keys->session_token, g_free);
  return g_steal_pointer (&keys);
}

static char *
keys_to_json (const char *id,
              const char *secret,
              const char *token)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "access_key_id");
  json_builder_add_string_value (b, id);
  json_builder_set_member_name (b, "secret_access_key");
  json_builder_add_string_value (b, secret);
  if (token != NULL && *token != '\0')
    {
      json_builder_set_member_name (b, "session_token");
      json_builder_add_string_value (b, token);
    }
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  return json_to_string (root, FALSE);
}

static char *
credentials_path (void)
{
  const char *path = g_getenv ("AWS_SHARED_CREDENTIALS_FILE");

  if (path != NULL && *path != '\0')
    return g_strdup (path);
  return g_build_filename (g_get_home_dir (), ".aws", "credentials", NULL);
}

static void
on_loaded (GObject      *source,
           GAsyncResult *result,
           gpointer      data)
{
  g_autoptr(GTask) task = data;
  UsAwsCredentials *self = g_task_get_source_object (task);
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;
  gsize length;
  g_autoptr(GKeyFile) file = g_key_file_new ();

  if (!g_file_load_contents_finish (G_FILE (source), result, &contents, &length, NULL, &error))
    {
      /* No file is the usual case: the credentials are elsewhere. */
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
        g_task_return_boolean (task, TRUE);
      else
        g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (!g_key_file_load_from_data (file, contents, length, G_KEY_FILE_NONE, &error))
    {
      g_autofree char *path = g_file_get_path (G_FILE (source));

      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: %s", path, error->message);
      return;
    }
  memset (contents, 0, length);
  g_clear_pointer (&self->file, g_key_file_free);
  self->file = g_steal_pointer (&file);
  g_task_return_boolean (task, TRUE);
}

void
us_aws_credentials_load_async (UsAwsCredentials    *self,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  g_autofree char *path = credentials_path ();
  g_autoptr(GFile) file = g_file_new_for_path (path);
  GTask *task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, us_aws_credentials_load_async);
  g_file_load_contents_async (file, cancellable, on_loaded, task);
}

gboolean
us_aws_credentials_load_finish (UsAwsCredentials  *self,
                                GAsyncResult      *result,
                                GError           **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* The JSON form from the environment or the profile; NULL when neither. */
static char *
resolve (UsAwsCredentials       *self,
         const UsProviderConfig *provider)
{
  const char *id = g_getenv ("AWS_ACCESS_KEY_ID");
  const char *secret = g_getenv ("AWS_SECRET_ACCESS_KEY");
  const char *profile = provider->aws_profile;
  g_autofree char *file_id = NULL;
  g_autofree char *file_secret = NULL;
  g_autofree char *file_token = NULL;
  char *json;

  if (id != NULL && *id != '\0' && secret != NULL && *secret != '\0')
    return keys_to_json (id, secret, g_getenv ("AWS_SESSION_TOKEN"));

  if (profile == NULL)
    profile = g_getenv ("AWS_PROFILE");
  if (profile == NULL || *profile == '\0')
    profile = "default";
  if (self->file == NULL)
    return NULL;
  file_id = g_key_file_get_string (self->file, profile, "aws_access_key_id", NULL);
  file_secret = g_key_file_get_string (self->file, profile, "aws_secret_access_key", NULL);
  file_token = g_key_file_get_string (self->file, profile, "aws_session_token", NULL);
  if (file_id == NULL || file_secret == NULL)
    return NULL;
  json = keys_to_json (g_strstrip (file_id), g_strstrip (file_secret), file_token ? g_strstrip (file_token) : NULL);
  memset (file_secret, 0, strlen (file_secret));
  return json;
}

const char *
us_aws_credentials_lookup (UsAwsCredentials       *self,
                           const UsProviderConfig *provider,
                           const char             *stored)
{
  char *json;
  const char *held = g_hash_table_lookup (self->resolved, provider->id);

  if (stored != NULL && *stored != '\0')
    return stored;
  json = resolve (self, provider);
  if (json == NULL)
    {
      g_hash_table_remove (self->resolved, provider->id);
      return NULL;
    }
  /* The same credentials keep the string already handed out. */
  if (held != NULL && strcmp (held, json) == 0)
    {
      g_free (json);
      return held;
    }
  g_hash_table_replace (self->resolved, g_strdup (provider->id), json);
  return json;
}

static void
us_aws_credentials_finalize (GObject *object)
{
  UsAwsCredentials *self = US_AWS_CREDENTIALS (object);

  g_clear_pointer (&self->file, g_key_file_free);
  g_hash_table_unref (self->resolved);
  G_OBJECT_CLASS (us_aws_credentials_parent_class)->finalize (object);
}

static void
us_aws_credentials_class_init (UsAwsCredentialsClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = us_aws_credentials_finalize;
}

static void
us_aws_credentials_init (UsAwsCredentials *self)
{
  self->resolved = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
}

UsAwsCredentials *
us_aws_credentials_new (void)
{
  return g_object_new (US_TYPE_AWS_CREDENTIALS, NULL);
}
