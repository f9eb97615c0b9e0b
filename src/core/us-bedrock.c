/* us-bedrock.c: requests to Bedrock's runtime, signed or with an API key. */
#include "us-bedrock.h"

#include <string.h>

#include "us-aws-credentials.h"
#include "us-bedrock-converse.h"
#include "us-sigv4.h"
#include "us-translate.h"

gboolean
us_bedrock_is_claude (const char *model)
{
  const char *dot;

  if (model == NULL)
    return FALSE;
  /* An application inference profile's ARN names no model: it is taken
   * to be Claude's when it says anthropic, as AWS's own ids do. */
  if (g_str_has_prefix (model, "arn:"))
    return strstr (model, "anthropic") != NULL;
  if (g_str_has_prefix (model, "anthropic."))
    return TRUE;
  /* A geography prefix: us., eu., apac., global., us-gov., … */
  dot = strchr (model, '.');
  return dot != NULL && dot - model <= 8 && g_str_has_prefix (dot + 1, "anthropic.");
}

/* The Anthropic body as Bedrock takes it: as it is for Claude, in
 * Converse's form for the others. */
static const char * const unsupported[] = {
  "metadata", "service_tier", "container", "inference_geo", "output_config", "context_management",
};

static GBytes *
bedrock_body (GBytes    *body,
              gboolean   converse,
              gboolean  *stream,
              GError   **error)
{
  g_autoptr(JsonNode) root = us_translate_parse_json (body, error);
  JsonObject *object;
  g_autofree char *text = NULL;
  gsize length;

  if (root == NULL)
    return NULL;
  if (!JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "the request body is not a JSON object");
      return NULL;
    }
  object = json_node_get_object (root);
  *stream = json_object_get_boolean_member_with_default (object, "stream", FALSE);
  if (converse)
    return us_bedrock_converse_request (object);
  /* The model is in the path and the stream in the operation. */
  json_object_remove_member (object, "model");
  json_object_remove_member (object, "stream");
  /* Fields Bedrock refuses ("extraneous key … is not permitted"): some
   * Anthropic-only, some behind betas that are not sent to Bedrock.
   * Claude Code sends metadata with every request. */
  for (guint i = 0; i < G_N_ELEMENTS (unsupported); i++)
    json_object_remove_member (object, unsupported[i]);
  if (!json_object_has_member (object, "anthropic_version"))
    json_object_set_string_member (object, "anthropic_version", US_BEDROCK_ANTHROPIC_VERSION);
  text = json_to_string (root, FALSE);
  length = strlen (text);
  return g_bytes_new_take (g_steal_pointer (&text), length);
}

static gboolean
authenticate (const UsProviderConfig *provider,
              SoupMessage            *msg,
              GBytes                 *body,
              const char             *key,
              GError                **error)
{
  g_autoptr(UsAwsKeys) keys = NULL;
  g_autoptr(GDateTime) now = NULL;
  g_autoptr(GError) parse_error = NULL;

  if (provider->auth == US_AUTH_NONE)
    return TRUE;
  if (key == NULL || *key == '\0')
    {
      if (provider->auth == US_AUTH_KEY)
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                     "no Bedrock API key for provider %s: store one with `understudy keys set %s` or set $%s",
                     provider->id, provider->id, provider->key_env ? provider->key_env : US_BEDROCK_KEY_ENV);
      else
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                     "no AWS credentials for provider %s: store them with `understudy keys set %s`, "
                     "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or name a profile of "
                     "~/.aws/credentials in aws_profile", provider->id, provider->id);
      return FALSE;
    }
  if (provider->auth == US_AUTH_KEY)
    {
      g_autofree char *bearer = g_strconcat ("Bearer ", key, NULL);

      soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization", bearer);
      return TRUE;
    }
  keys = us_aws_keys_parse (key, &parse_error);
  if (keys == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "provider %s: %s", provider->id, parse_error->message);
      return FALSE;
    }
  now = g_date_time_new_now_utc ();
  us_sigv4_sign_message (msg, body, keys->access_key_id, keys->secret_access_key, keys->session_token,
                         provider->region, "bedrock", now);
  return TRUE;
}

SoupMessage *
us_bedrock_new_message (const UsProviderConfig *provider,
                        const char             *model,
                        const char             *key,
                        gboolean                count_tokens,
                        GBytes                 *body,
                        GError                **error)
{
  g_autoptr(GBytes) bedrock = NULL;
  g_autoptr(SoupMessage) msg = NULL;
  g_autofree char *id = NULL;
  g_autofree char *url = NULL;
  gboolean stream = FALSE;
  gboolean converse;
  const char *operation;
  SoupMessageHeaders *headers;

  if (count_tokens)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                   "provider %s: token counting is not offered through Bedrock here", provider->id);
      return NULL;
    }
  if (model == NULL || *model == '\0')
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "provider %s: no model id", provider->id);
      return NULL;
    }
  converse = !us_bedrock_is_claude (model);
  bedrock = bedrock_body (body, converse, &stream, error);
  if (bedrock == NULL)
    return NULL;

  /* Once encoded here (':' of a version, '/' of an ARN); SigV4 encodes
   * the path again for its canonical form. */
  id = g_uri_escape_string (model, NULL, FALSE);
  if (converse)
    operation = stream ? "/converse-stream" : "/converse";
  else
    operation = stream ? "/invoke-with-response-stream" : "/invoke";
  url = g_strconcat (provider->base_url, "/model/", id, operation, NULL);
  msg = soup_message_new ("POST", url);
  if (msg == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "provider %s has an unusable base_url", provider->id);
      return NULL;
    }
  headers = soup_message_get_request_headers (msg);
  soup_message_set_request_body_from_bytes (msg, "application/json", bedrock);
  soup_message_headers_replace (headers, "Accept",
                                stream ? "application/vnd.amazon.eventstream" : "application/json");
  soup_message_headers_replace (headers, "Accept-Encoding", "identity");
  if (!authenticate (provider, msg, bedrock, key, error))
    return NULL;
  soup_message_add_flags (msg, SOUP_MESSAGE_IDEMPOTENT);
  return g_steal_pointer (&msg);
}

/* x-amzn-ErrorType is "ThrottlingException" or "ThrottlingException:http://…". */
static const char *
anthropic_error_type (const char *aws_type,
                      guint       status)
{
  if (aws_type != NULL)
    {
      if (g_str_has_prefix (aws_type, "ThrottlingException") || g_str_has_prefix (aws_type, "ServiceQuotaExceeded"))
        return "rate_limit_error";
      if (g_str_has_prefix (aws_type, "ServiceUnavailable"))
        return "overloaded_error";
      if (g_str_has_prefix (aws_type, "AccessDenied") || g_str_has_prefix (aws_type, "UnrecognizedClient")
          || g_str_has_prefix (aws_type, "InvalidSignature") || g_str_has_prefix (aws_type, "ExpiredToken"))
        return status == 401 ? "authentication_error" : "permission_error";
      if (g_str_has_prefix (aws_type, "ResourceNotFound"))
        return "not_found_error";
      if (g_str_has_prefix (aws_type, "Validation"))
        return "invalid_request_error";
    }
  switch (status)
    {
    case 400: return "invalid_request_error";
    case 401: return "authentication_error";
    case 403: return "permission_error";
    case 404: return "not_found_error";
    case 429: return "rate_limit_error";
    case 503: return "overloaded_error";
    default: return "api_error";
    }
}

GBytes *
us_bedrock_error_body (SoupMessageHeaders *headers,
                       guint               status,
                       GBytes             *body)
{
  g_autoptr(JsonNode) root = us_translate_parse_json (body, NULL);
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) out = NULL;
  const char *message = NULL;
  char *text;

  if (root != NULL && JSON_NODE_HOLDS_OBJECT (root))
    {
      JsonObject *object = json_node_get_object (root);

      /* Already Anthropic's envelope (a gateway in front of Bedrock). */
      if (json_object_has_member (object, "error") && json_object_has_member (object, "type"))
        return g_bytes_ref (body);
      message = json_object_get_string_member_with_default (object, "message", NULL);
      if (message == NULL)
        message = json_object_get_string_member_with_default (object, "Message", NULL);
    }
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, "error");
  json_builder_set_member_name (b, "error");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, anthropic_error_type (soup_message_headers_get_one (headers, "x-amzn-ErrorType"),
                                                          status));
  json_builder_set_member_name (b, "message");
  json_builder_add_string_value (b, message ? message : "Bedrock refused the request");
  json_builder_end_object (b);
  json_builder_end_object (b);
  out = json_builder_get_root (b);
  text = json_to_string (out, FALSE);
  return g_bytes_new_take (text, strlen (text));
}
