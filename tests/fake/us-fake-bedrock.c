/* us-fake-bedrock.c: a Bedrock runtime that checks SigV4 as AWS does.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "us-fake-bedrock.h"

#include <string.h>
#include <stdio.h>
#include <zlib.h>

#include "us-keepalive.h"
#include "us-sigv4.h"

#define MAX_SKEW_S (5 * 60)

struct _UsFakeBedrock
{
  GObject parent_instance;

  SoupServer *server;
  char *base_url;
  char *region;
  char *access_key_id;
  char *secret;
  char *session_token;
  char *api_key;
  char *text;
  GQueue steps;             /* of UsFakeBedrockStep*, strings owned */
  guint n_requests;
  char *last_path;
  JsonNode *last_body;
  char *last_refusal;
};

G_DEFINE_FINAL_TYPE (UsFakeBedrock, us_fake_bedrock, G_TYPE_OBJECT)

static void
put_be32 (GByteArray *out,
          guint32     value)
{
  guint8 b[4] = { value >> 24, value >> 16, value >> 8, value };

  g_byte_array_append (out, b, 4);
}

void
us_fake_event_stream_append (GByteArray         *out,
                             const char * const *headers,
                             const void         *payload,
                             gsize               length)
{
  g_autoptr(GByteArray) h = g_byte_array_new ();
  guint start = out->len;
  guint32 prelude_crc, message_crc;

  for (guint i = 0; headers[i] != NULL; i += 2)
    {
      guint8 name_len = strlen (headers[i]);
      guint16 value_len = strlen (headers[i + 1]);
      guint8 type = 7, len_be[2] = { value_len >> 8, value_len };

      g_byte_array_append (h, &name_len, 1);
      g_byte_array_append (h, (const guint8 *) headers[i], name_len);
      g_byte_array_append (h, &type, 1);
      g_byte_array_append (h, len_be, 2);
      g_byte_array_append (h, (const guint8 *) headers[i + 1], value_len);
    }
  put_be32 (out, 12 + h->len + length + 4);
  put_be32 (out, h->len);
  prelude_crc = crc32 (0, out->data + start, 8);
  put_be32 (out, prelude_crc);
  g_byte_array_append (out, h->data, h->len);
  g_byte_array_append (out, payload, length);
  message_crc = crc32 (0, out->data + start, out->len - start);
  put_be32 (out, message_crc);
}

void
us_fake_event_stream_append_chunk (GByteArray *out,
                                   const char *event_json)
{
  static const char * const headers[] = {
    ":event-type", "chunk", ":content-type", "application/json", ":message-type", "event", NULL
  };
  g_autofree char *b64 = g_base64_encode ((const guchar *) event_json, strlen (event_json));
  /* Bedrock pads each chunk ("p") so that sizes say less about content. */
  g_autofree char *payload = g_strdup_printf ("{\"bytes\":\"%s\",\"p\":\"abcdefgh\"}", b64);

  us_fake_event_stream_append (out, headers, payload, strlen (payload));
}

/* ---- Checking the signature --------------------------------------------- */

/* The path as the client sent it. SoupServer hands it over with %3A and
 * the like decoded; a client that signs as AWS asks encodes every byte but
 * the unreserved ones, so that is undone here before AWS's own second
 * encoding for the canonical request. */
static char *
wire_path (SoupServerMessage *msg)
{
  g_autofree char *decoded = g_uri_unescape_string (g_uri_get_path (soup_server_message_get_uri (msg)), NULL);

  if (decoded == NULL)
    return g_strdup (g_uri_get_path (soup_server_message_get_uri (msg)));
  return us_sigv4_uri_encode (decoded, strlen (decoded), TRUE);
}

/* NULL when @msg is signed as AWS wants, else why not. */
static char *
check_signature (UsFakeBedrock     *self,
                 SoupServerMessage *msg,
                 GBytes            *body)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  const char *authorization = soup_message_headers_get_one (headers, "Authorization");
  const char *amz_date = soup_message_headers_get_one (headers, "X-Amz-Date");
  g_autoptr(SoupMessageHeaders) signed_set = soup_message_headers_new (SOUP_MESSAGE_HEADERS_REQUEST);
  g_autoptr(GRegex) regex = NULL;
  g_autoptr(GMatchInfo) match = NULL;
  g_autofree char *key_id = NULL, *date = NULL, *region = NULL, *service = NULL;
  g_autofree char *signed_names = NULL, *signature = NULL;
  g_autofree char *payload = NULL, *creq = NULL, *sts = NULL, *expected = NULL;
  g_auto(GStrv) names = NULL;
  GUri *uri = soup_server_message_get_uri (msg);
  g_autofree char *path = wire_path (msg);
  UsSigv4Request request = { 0 };
  int y, mo, d, h, mi, s;
  g_autoptr(GDateTime) signed_at = NULL;
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  gsize length;
  const void *data = g_bytes_get_data (body, &length);

  if (self->api_key != NULL)
    {
      g_autofree char *bearer = g_strconcat ("Bearer ", self->api_key, NULL);

      return g_strcmp0 (authorization, bearer) == 0 ? NULL : g_strdup ("bad API key");
    }
  if (authorization == NULL || amz_date == NULL)
    return g_strdup ("missing Authorization or X-Amz-Date");
  regex = g_regex_new ("^AWS4-HMAC-SHA256 Credential=([^/]+)/(\\d{8})/([^/]+)/([^/]+)/aws4_request, "
                       "SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$", 0, 0, NULL);
  if (!g_regex_match (regex, authorization, 0, &match))
    return g_strdup ("malformed Authorization");
  key_id = g_match_info_fetch (match, 1);
  date = g_match_info_fetch (match, 2);
  region = g_match_info_fetch (match, 3);
  service = g_match_info_fetch (match, 4);
  signed_names = g_match_info_fetch (match, 5);
  signature = g_match_info_fetch (match, 6);

  if (strcmp (key_id, self->access_key_id) != 0)
    return g_strdup ("unknown access key");
  if (strcmp (region, self->region) != 0)
    return g_strdup_printf ("signed for region %s, this is %s", region, self->region);
  if (strcmp (service, "bedrock") != 0)
    return g_strdup_printf ("signed for service %s, not bedrock", service);
  if (sscanf (amz_date, "%4d%2d%2dT%2d%2d%2dZ", &y, &mo, &d, &h, &mi, &s) != 6 || strlen (amz_date) != 16
      || strncmp (amz_date, date, 8) != 0)
    return g_strdup ("X-Amz-Date does not match the credential scope");
  signed_at = g_date_time_new_utc (y, mo, d, h, mi, s);
  if (signed_at == NULL || ABS (g_date_time_difference (now, signed_at)) > (GTimeSpan) MAX_SKEW_S * G_TIME_SPAN_SECOND)
    return g_strdup ("Signature expired");
  if (self->session_token != NULL
      && g_strcmp0 (soup_message_headers_get_one (headers, "X-Amz-Security-Token"), self->session_token) != 0)
    return g_strdup ("missing or wrong security token");

  names = g_strsplit (signed_names, ";", -1);
  if (!g_strv_contains ((const char * const *) names, "host") || !g_strv_contains ((const char * const *) names, "x-amz-date")
      || (self->session_token != NULL && !g_strv_contains ((const char * const *) names, "x-amz-security-token")))
    return g_strdup ("host, x-amz-date and the token must be signed");
  for (guint i = 0; names[i] != NULL; i++)
    {
      const char *value = soup_message_headers_get_list (headers, names[i]);

      if (value == NULL)
        return g_strdup_printf ("signed header %s is missing", names[i]);
      soup_message_headers_append (signed_set, names[i], value);
    }

  payload = us_sigv4_sha256_hex (data ? data : "", length);
  request.method = soup_server_message_get_method (msg);
  request.path = path;
  request.query = g_uri_get_query (uri);
  request.headers = signed_set;
  request.payload_sha256 = payload;
  creq = us_sigv4_canonical_request (&request, NULL);
  sts = us_sigv4_string_to_sign (amz_date, region, service, creq);
  expected = us_sigv4_signature (self->secret, amz_date, region, service, sts);
  if (strcmp (expected, signature) != 0)
    return g_strdup ("The request signature we calculated does not match the signature you provided.");
  return NULL;
}

/* ---- Answers ------------------------------------------------------------ */

static void
answer_error (SoupServerMessage *msg,
              guint              status,
              const char        *type,
              const char        *message)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *text = NULL;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "message");
  json_builder_add_string_value (b, message);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  text = json_to_string (root, FALSE);
  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "x-amzn-ErrorType", type);
  soup_server_message_set_status (msg, status, NULL);
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_COPY, text, strlen (text));
}

static char *
escape (const char *text)
{
  g_autoptr(JsonNode) node = json_node_init_string (json_node_alloc (), text);

  return json_to_string (node, FALSE);
}

static void
answer_whole (UsFakeBedrock     *self,
              SoupServerMessage *msg)
{
  g_autofree char *text = escape (self->text);
  g_autofree char *body = g_strdup_printf (
    "{\"id\":\"msg_bdrk_01\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5-20250929\","
    "\"content\":[{\"type\":\"text\",\"text\":%s}],\"stop_reason\":\"end_turn\",\"stop_sequence\":null,"
    "\"usage\":{\"input_tokens\":12,\"output_tokens\":4}}", text);

  soup_server_message_set_status (msg, 200, NULL);
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_COPY, body, strlen (body));
}

static void
answer_stream (UsFakeBedrock           *self,
               SoupServerMessage       *msg,
               const UsFakeBedrockStep *step)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();
  SoupMessageBody *response = soup_server_message_get_response_body (msg);
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);
  glong n_chars = g_utf8_strlen (self->text, -1);
  const char *half = g_utf8_offset_to_pointer (self->text, n_chars / 2);
  g_autofree char *first = g_strndup (self->text, half - self->text);
  g_autofree char *first_json = escape (first);
  g_autofree char *second_json = escape (half);
  g_autofree char *delta1 = g_strdup_printf ("{\"type\":\"content_block_delta\",\"index\":0,"
                                             "\"delta\":{\"type\":\"text_delta\",\"text\":%s}}", first_json);
  g_autofree char *delta2 = g_strdup_printf ("{\"type\":\"content_block_delta\",\"index\":0,"
                                             "\"delta\":{\"type\":\"text_delta\",\"text\":%s}}", second_json);
  guint broken_at = 0;

  us_fake_event_stream_append_chunk (out,
    "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_bdrk_01\",\"type\":\"message\",\"role\":\"assistant\","
    "\"model\":\"claude-sonnet-4-5-20250929\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,"
    "\"usage\":{\"input_tokens\":12,\"output_tokens\":1}}}");
  if (step->behavior == US_FAKE_BEDROCK_BAD_CRC_FIRST)
    out->data[out->len - 1] ^= 0x5a;
  if (step->behavior == US_FAKE_BEDROCK_EXCEPTION)
    {
      const char * const exception[] = {
        ":exception-type", step->error_type ? step->error_type : "throttlingException",
        ":content-type", "application/json", ":message-type", "exception", NULL
      };
      g_autofree char *message = escape (step->message ? step->message : "Too many requests, please wait.");
      g_autofree char *payload = g_strdup_printf ("{\"message\":%s}", message);

      us_fake_event_stream_append (out, exception, payload, strlen (payload));
    }
  else
    {
      us_fake_event_stream_append_chunk (out, "{\"type\":\"content_block_start\",\"index\":0,"
                                              "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}");
      us_fake_event_stream_append_chunk (out, delta1);
      broken_at = out->len;
      us_fake_event_stream_append_chunk (out, delta2);
      if (step->behavior == US_FAKE_BEDROCK_BAD_CRC_MID)
        out->data[broken_at + 20] ^= 0x5a;
      us_fake_event_stream_append_chunk (out, "{\"type\":\"content_block_stop\",\"index\":0}");
      us_fake_event_stream_append_chunk (out, "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\","
                                              "\"stop_sequence\":null},\"usage\":{\"output_tokens\":4}}");
      us_fake_event_stream_append_chunk (out, "{\"type\":\"message_stop\",\"amazon-bedrock-invocationMetrics\":"
                                              "{\"inputTokenCount\":12,\"outputTokenCount\":4,"
                                              "\"invocationLatency\":100,\"firstByteLatency\":50}}");
    }

  soup_server_message_set_status (msg, 200, NULL);
  soup_message_headers_replace (headers, "Content-Type", "application/vnd.amazon.eventstream");
  soup_message_headers_replace (headers, "x-amzn-bedrock-content-type", "application/json");
  soup_message_headers_set_encoding (headers, SOUP_ENCODING_CHUNKED);
  /* Cut at odd places: inside preludes, headers and payloads. */
  for (guint i = 0, size = 7; i < out->len; i += size, size = size % 23 + 5)
    soup_message_body_append (response, SOUP_MEMORY_COPY, out->data + i, MIN (size, out->len - i));
  soup_message_body_complete (response);
}

/* Converse's own message shape: every content block has exactly one of
 * its known members, as the service checks. */
static gboolean
is_converse_body (JsonObject *object)
{
  static const char * const kinds[] = { "text", "image", "toolUse", "toolResult", "document", "reasoningContent", NULL };
  static const char * const top[] = { "messages", "system", "inferenceConfig", "toolConfig",
                                      "additionalModelRequestFields", NULL };
  JsonArray *messages;
  GList *members = json_object_get_members (object);
  gboolean ok = TRUE;

  for (GList *l = members; l != NULL; l = l->next)
    ok = ok && g_strv_contains (top, l->data);
  g_list_free (members);
  if (!ok || !json_object_has_member (object, "messages")
      || !JSON_NODE_HOLDS_ARRAY (json_object_get_member (object, "messages")))
    return FALSE;
  messages = json_object_get_array_member (object, "messages");
  for (guint i = 0; i < json_array_get_length (messages); i++)
    {
      JsonObject *message = json_array_get_object_element (messages, i);
      JsonArray *content;

      if (message == NULL || !json_object_has_member (message, "content"))
        return FALSE;
      content = json_object_get_array_member (message, "content");
      if (content == NULL || json_array_get_length (content) == 0)
        return FALSE;
      for (guint j = 0; j < json_array_get_length (content); j++)
        {
          JsonObject *block = json_array_get_object_element (content, j);

          if (block == NULL || json_object_get_size (block) != 1)
            return FALSE;
          members = json_object_get_members (block);
          ok = g_strv_contains (kinds, members->data);
          g_list_free (members);
          if (!ok)
            return FALSE;
        }
    }
  return TRUE;
}

static void
append_converse_event (GByteArray *out,
                       const char *type,
                       const char *json)
{
  const char * const headers[] = {
    ":event-type", type, ":content-type", "application/json", ":message-type", "event", NULL
  };

  us_fake_event_stream_append (out, headers, json, strlen (json));
}

static void
answer_converse (UsFakeBedrock     *self,
                 SoupServerMessage *msg,
                 gboolean           stream)
{
  g_autofree char *text = escape (self->text);
  g_autoptr(GByteArray) out = g_byte_array_new ();
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);
  glong n_chars = g_utf8_strlen (self->text, -1);
  const char *half = g_utf8_offset_to_pointer (self->text, n_chars / 2);
  g_autofree char *first = g_strndup (self->text, half - self->text);
  g_autofree char *first_json = escape (first);
  g_autofree char *second_json = escape (half);
  g_autofree char *delta1 = g_strdup_printf ("{\"contentBlockIndex\":0,\"delta\":{\"text\":%s},\"p\":\"ab\"}", first_json);
  g_autofree char *delta2 = g_strdup_printf ("{\"contentBlockIndex\":0,\"delta\":{\"text\":%s},\"p\":\"ab\"}", second_json);

  soup_server_message_set_status (msg, 200, NULL);
  if (!stream)
    {
      g_autofree char *body = g_strdup_printf (
        "{\"output\":{\"message\":{\"role\":\"assistant\",\"content\":[{\"text\":%s}]}},\"stopReason\":\"end_turn\","
        "\"usage\":{\"inputTokens\":12,\"outputTokens\":4,\"totalTokens\":16},\"metrics\":{\"latencyMs\":100}}", text);

      soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_COPY, body, strlen (body));
      return;
    }
  append_converse_event (out, "messageStart", "{\"role\":\"assistant\",\"p\":\"abcd\"}");
  append_converse_event (out, "contentBlockDelta", delta1);
  append_converse_event (out, "contentBlockDelta", delta2);
  append_converse_event (out, "contentBlockStop", "{\"contentBlockIndex\":0,\"p\":\"a\"}");
  append_converse_event (out, "messageStop", "{\"stopReason\":\"end_turn\",\"p\":\"abc\"}");
  append_converse_event (out, "metadata", "{\"usage\":{\"inputTokens\":12,\"outputTokens\":4,\"totalTokens\":16},"
                                          "\"metrics\":{\"latencyMs\":100},\"p\":\"ab\"}");
  soup_message_headers_replace (headers, "Content-Type", "application/vnd.amazon.eventstream");
  soup_message_headers_set_encoding (headers, SOUP_ENCODING_CHUNKED);
  for (guint i = 0, size = 9; i < out->len; i += size, size = size % 19 + 4)
    soup_message_body_append (soup_server_message_get_response_body (msg), SOUP_MEMORY_COPY, out->data + i,
                              MIN (size, out->len - i));
  soup_message_body_complete (soup_server_message_get_response_body (msg));
}

static void
handle (SoupServer        *server,
        SoupServerMessage *msg,
        const char        *path,
        GHashTable        *query,
        gpointer           data)
{
  UsFakeBedrock *self = data;
  g_autoptr(GBytes) body = soup_message_body_flatten (soup_server_message_get_request_body (msg));
  g_autofree UsFakeBedrockStep *step = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autofree char *raw = wire_path (msg);
  gboolean converse = g_str_has_suffix (raw, "/converse") || g_str_has_suffix (raw, "/converse-stream");
  gboolean stream = g_str_has_suffix (raw, "/invoke-with-response-stream") || g_str_has_suffix (raw, "/converse-stream");
  JsonObject *object;

  self->n_requests++;
  g_free (self->last_path);
  self->last_path = g_strdup (raw);
  g_clear_pointer (&self->last_refusal, g_free);
  self->last_refusal = check_signature (self, msg, body);
  if (self->last_refusal != NULL)
    {
      answer_error (msg, 403, self->api_key ? "AccessDeniedException" : "InvalidSignatureException",
                    self->last_refusal);
      return;
    }

  if (strcmp (soup_server_message_get_method (msg), "POST") != 0 || !g_str_has_prefix (raw, "/model/")
      || (!stream && !converse && !g_str_has_suffix (raw, "/invoke")))
    {
      answer_error (msg, 404, "UnknownOperationException", "unknown operation");
      return;
    }
  g_clear_pointer (&self->last_body, json_node_unref);
  if (!json_parser_load_from_data (parser, g_bytes_get_data (body, NULL), g_bytes_get_size (body), NULL)
      || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      answer_error (msg, 400, "ValidationException", "Malformed input request");
      return;
    }
  self->last_body = json_node_copy (json_parser_get_root (parser));
  object = json_node_get_object (self->last_body);
  if (converse)
    {
      if (!is_converse_body (object))
        answer_error (msg, 400, "ValidationException", "The format of the request is not Converse's");
      else
        answer_converse (self, msg, stream);
      return;
    }
  if (g_strcmp0 (json_object_get_string_member_with_default (object, "anthropic_version", NULL), "bedrock-2023-05-31") != 0
      || json_object_has_member (object, "model") || json_object_has_member (object, "stream")
      || json_object_has_member (object, "metadata") || json_object_has_member (object, "context_management"))
    {
      answer_error (msg, 400, "ValidationException",
                    "Malformed input request: #: extraneous key [model] is not permitted, please reformat your input");
      return;
    }

  step = g_queue_pop_head (&self->steps);
  if (step == NULL)
    step = g_new0 (UsFakeBedrockStep, 1);
  if (step->behavior == US_FAKE_BEDROCK_STATUS)
    answer_error (msg, step->status ? step->status : 500, step->error_type ? step->error_type : "InternalServerException",
                  step->message ? step->message : "error");
  else if (stream)
    answer_stream (self, msg, step);
  else
    answer_whole (self, msg);
  g_free ((char *) step->error_type);
  g_free ((char *) step->message);
}

/* ---- The object ---------------------------------------------------------- */

static void
step_free (gpointer data)
{
  UsFakeBedrockStep *step = data;

  g_free ((char *) step->error_type);
  g_free ((char *) step->message);
  g_free (step);
}

static void
us_fake_bedrock_finalize (GObject *object)
{
  UsFakeBedrock *self = US_FAKE_BEDROCK (object);

  soup_server_disconnect (self->server);
  g_object_unref (self->server);
  g_free (self->base_url);
  g_free (self->region);
  g_free (self->access_key_id);
  g_free (self->secret);
  g_free (self->session_token);
  g_free (self->api_key);
  g_free (self->text);
  g_queue_clear_full (&self->steps, step_free);
  g_free (self->last_path);
  g_clear_pointer (&self->last_body, json_node_unref);
  g_free (self->last_refusal);
  G_OBJECT_CLASS (us_fake_bedrock_parent_class)->finalize (object);
}

static void
us_fake_bedrock_class_init (UsFakeBedrockClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = us_fake_bedrock_finalize;
}

static void
us_fake_bedrock_init (UsFakeBedrock *self)
{
  g_queue_init (&self->steps);
  self->text = g_strdup ("bedrock says hi");
}

UsFakeBedrock *
us_fake_bedrock_new (const char *region,
                     const char *access_key_id,
                     const char *secret,
                     const char *session_token)
{
  UsFakeBedrock *self = g_object_new (US_TYPE_FAKE_BEDROCK, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GSList) uris = NULL;

  self->region = g_strdup (region);
  self->access_key_id = g_strdup (access_key_id);
  self->secret = g_strdup (secret);
  self->session_token = g_strdup (session_token);
  self->server = soup_server_new (NULL, NULL);
  soup_server_add_handler (self->server, NULL, handle, self, NULL);
  /* libsoup 3.2 leaks each accepted socket unless it is closed for it. */
  us_keepalive_guard (self->server, 0, 0);
  if (!soup_server_listen_local (self->server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error))
    g_error ("fake bedrock: %s", error->message);
  uris = soup_server_get_uris (self->server);
  self->base_url = g_strdup_printf ("http://127.0.0.1:%d", g_uri_get_port (uris->data));
  g_slist_free_full (g_steal_pointer (&uris), (GDestroyNotify) g_uri_unref);
  return self;
}

void
us_fake_bedrock_set_api_key (UsFakeBedrock *self,
                             const char    *api_key)
{
  g_free (self->api_key);
  self->api_key = g_strdup (api_key);
}

const char *
us_fake_bedrock_get_base_url (UsFakeBedrock *self)
{
  return self->base_url;
}

void
us_fake_bedrock_set_text (UsFakeBedrock *self,
                          const char    *text)
{
  g_free (self->text);
  self->text = g_strdup (text);
}

void
us_fake_bedrock_push (UsFakeBedrock           *self,
                      const UsFakeBedrockStep *step)
{
  UsFakeBedrockStep *copy = g_new0 (UsFakeBedrockStep, 1);

  *copy = *step;
  copy->error_type = g_strdup (step->error_type);
  copy->message = g_strdup (step->message);
  g_queue_push_tail (&self->steps, copy);
}

guint
us_fake_bedrock_get_n_requests (UsFakeBedrock *self)
{
  return self->n_requests;
}

const char *
us_fake_bedrock_get_last_path (UsFakeBedrock *self)
{
  return self->last_path;
}

JsonObject *
us_fake_bedrock_get_last_body (UsFakeBedrock *self)
{
  return self->last_body ? json_node_get_object (self->last_body) : NULL;
}

const char *
us_fake_bedrock_get_last_refusal (UsFakeBedrock *self)
{
  return self->last_refusal;
}
