/* us-upstream.c: upstream URLs, forwarded headers and credentials. */
#include "us-upstream.h"
#include "us-vertex.h"

gboolean
us_upstream_wire_format (const UsProviderConfig *provider,
                         UsWireFormat           *fmt)
{
  switch (provider->kind)
    {
    case US_PROVIDER_KIND_ANTHROPIC:
    case US_PROVIDER_KIND_VERTEX_ANTHROPIC:
      *fmt = US_WIRE_ANTHROPIC;
      return TRUE;
    case US_PROVIDER_KIND_OPENAI_CHAT:
    case US_PROVIDER_KIND_VERTEX_OPENAI:
      *fmt = US_WIRE_OPENAI_CHAT;
      return TRUE;
    case US_PROVIDER_KIND_OPENAI_RESPONSES:
      *fmt = US_WIRE_OPENAI_RESPONSES;
      return TRUE;
    case US_PROVIDER_KIND_AZURE_OPENAI:
      *fmt = provider->responses_api ? US_WIRE_OPENAI_RESPONSES : US_WIRE_OPENAI_CHAT;
      return TRUE;
    case US_PROVIDER_KIND_BEDROCK:
    default:
      return FALSE;
    }
}

gboolean
us_upstream_wire_format_for (const UsProviderConfig *provider,
                             UsWireFormat            client_fmt,
                             UsWireFormat           *fmt)
{
  if (client_fmt == US_WIRE_ANTHROPIC && provider->anthropic_base_url != NULL)
    {
      *fmt = US_WIRE_ANTHROPIC;
      return TRUE;
    }
  return us_upstream_wire_format (provider, fmt);
}

gboolean
us_upstream_is_hop_header (const char *name)
{
  /* RFC 9110 §7.6.1 hop-by-hop headers, plus those the proxy sets itself:
   * the body is re-framed and must arrive uncompressed to be observed. */
  static const char * const hop[] = {
    "connection", "keep-alive", "proxy-connection", "proxy-authenticate",
    "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade",
    "host", "content-length", "accept-encoding", "content-encoding", "origin",
    "cookie", NULL
  };

  for (guint i = 0; hop[i]; i++)
    if (g_ascii_strcasecmp (name, hop[i]) == 0)
      return TRUE;
  return FALSE;
}

gboolean
us_upstream_is_own_header (const char *name)
{
  /* The proxy's server writes its own; a copy would make two of each. */
  return g_ascii_strcasecmp (name, "server") == 0 || g_ascii_strcasecmp (name, "date") == 0;
}

gboolean
us_upstream_is_rate_limit_header (const char *name)
{
  return g_ascii_strncasecmp (name, "anthropic-ratelimit-", 20) == 0 ||
         g_ascii_strncasecmp (name, "x-ratelimit-", 12) == 0 ||
         g_ascii_strcasecmp (name, "retry-after") == 0 ||
         g_ascii_strcasecmp (name, "retry-after-ms") == 0;
}

/* anthropic-beta without the entries that only a subscription login may
 * use (oauth-…): an API key with them is refused. NULL when none is left. */
static char *
beta_for_key (const char *value)
{
  g_auto(GStrv) entries = g_strsplit (value, ",", -1);
  g_autoptr(GString) out = g_string_new (NULL);

  for (guint i = 0; entries[i] != NULL; i++)
    {
      const char *entry = g_strstrip (entries[i]);

      if (*entry == '\0' || g_str_has_prefix (entry, "oauth-"))
        continue;
      if (out->len > 0)
        g_string_append_c (out, ',');
      g_string_append (out, entry);
    }
  return out->len > 0 ? g_string_free (g_steal_pointer (&out), FALSE) : NULL;
}

static gboolean
is_credential_header (const char *name)
{
  return g_ascii_strcasecmp (name, "authorization") == 0 ||
         g_ascii_strcasecmp (name, "x-api-key") == 0 ||
         g_ascii_strcasecmp (name, "api-key") == 0;
}

static const char *
endpoint_path (UsWireFormat fmt,
               gboolean     count_tokens)
{
  /* Anthropic base URLs stop before /v1 (as its SDK's do); OpenAI-style
   * base URLs include the version segment (as theirs do). */
  switch (fmt)
    {
    case US_WIRE_ANTHROPIC:
      return count_tokens ? "/v1/messages/count_tokens" : "/v1/messages";
    case US_WIRE_OPENAI_CHAT:
      return "/chat/completions";
    case US_WIRE_OPENAI_RESPONSES:
      return "/responses";
    default:
      g_assert_not_reached ();
    }
}

/* The request URL. Azure OpenAI addresses a deployment (the chain model)
 * with a dated api-version, or the deployment-free v1 Responses route. */
static char *
request_url (const UsProviderConfig *provider,
             const char             *model,
             UsWireFormat            fmt,
             gboolean                same_format,
             gboolean                stream,
             gboolean                count_tokens,
             const char             *query)
{
  gboolean has_query = same_format && query != NULL && *query != '\0';

  if (us_vertex_is_vertex (provider->kind))
    return us_vertex_request_url (provider, model, stream, count_tokens);

  if (fmt == US_WIRE_ANTHROPIC && provider->anthropic_base_url != NULL
      && provider->kind != US_PROVIDER_KIND_ANTHROPIC)
    return g_strconcat (provider->anthropic_base_url, endpoint_path (fmt, count_tokens),
                        has_query ? "?" : "", has_query ? query : "", NULL);
  if (provider->kind == US_PROVIDER_KIND_AZURE_OPENAI && fmt == US_WIRE_OPENAI_RESPONSES)
    return g_strconcat (provider->base_url, "/openai/v1/responses", NULL);
  if (provider->kind == US_PROVIDER_KIND_AZURE_OPENAI)
    {
      g_autofree char *deployment = g_uri_escape_string (model ? model : "", NULL, FALSE);
      g_autofree char *version = g_uri_escape_string (provider->api_version, NULL, FALSE);

      return g_strconcat (provider->base_url, "/openai/deployments/", deployment,
                          "/chat/completions?api-version=", version, NULL);
    }
  return g_strconcat (provider->base_url, endpoint_path (fmt, count_tokens),
                      has_query ? "?" : "", has_query ? query : "", NULL);
}

static gboolean
add_key (const UsProviderConfig *provider,
         const char             *key,
         UsWireFormat            fmt,
         SoupMessageHeaders     *headers,
         GError                **error)
{
  g_autofree char *bearer = NULL;

  if ((key == NULL || *key == '\0') && provider->auth == US_AUTH_GOOGLE)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   "no Google access token for provider %s", provider->id);
      return FALSE;
    }
  if (key == NULL || *key == '\0')
    {
      if (provider->key_env != NULL)
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                     "no key for provider %s: store one with `understudy keys set %s` or set $%s",
                     provider->id, provider->id, provider->key_env);
      else
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                     "no key for provider %s: store one with `understudy keys set %s`",
                     provider->id, provider->id);
      return FALSE;
    }
  if (fmt == US_WIRE_ANTHROPIC && provider->auth != US_AUTH_GOOGLE)
    {
      soup_message_headers_replace (headers, "x-api-key", key);
      return TRUE;
    }
  if (provider->kind == US_PROVIDER_KIND_AZURE_OPENAI)
    {
      soup_message_headers_replace (headers, "api-key", key);
      return TRUE;
    }
  bearer = g_strconcat ("Bearer ", key, NULL);
  soup_message_headers_replace (headers, "Authorization", bearer);
  return TRUE;
}

SoupMessage *
us_upstream_new_message (const UsProviderConfig *provider,
                         const char             *model,
                         const char             *key,
                         UsWireFormat            client_fmt,
                         gboolean                stream,
                         gboolean                count_tokens,
                         const char             *query,
                         SoupMessageHeaders     *client_headers,
                         GBytes                 *body,
                         GError                **error)
{
  UsWireFormat fmt;
  gboolean same_format;
  g_autofree char *url = NULL;
  g_autoptr(SoupMessage) msg = NULL;
  SoupMessageHeaders *headers;
  SoupMessageHeadersIter iter;
  const char *name, *value;

  if (!us_upstream_wire_format_for (provider, client_fmt, &fmt))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                   "provider kind %s is not supported yet", us_provider_kind_to_string (provider->kind));
      return NULL;
    }
  same_format = fmt == client_fmt;
  url = request_url (provider, model, fmt, same_format, stream, count_tokens, query);
  msg = soup_message_new ("POST", url);
  if (msg == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "provider %s has an unusable base_url", provider->id);
      return NULL;
    }
  headers = soup_message_get_request_headers (msg);

  /* Same format: the client's end-to-end headers go along (anthropic-beta,
   * anthropic-version and any future ones are open lists, never filtered).
   * Credentials go only with auth: passthrough, and only to a provider of
   * the client's own format: a key for one vendor is never shown to another. */
  soup_message_headers_iter_init (&iter, client_headers);
  while (soup_message_headers_iter_next (&iter, &name, &value))
    {
      if (us_upstream_is_hop_header (name))
        continue;
      if (is_credential_header (name))
        {
          if (provider->auth == US_AUTH_PASSTHROUGH && same_format)
            soup_message_headers_append (headers, name, value);
          continue;
        }
      if (same_format && provider->auth != US_AUTH_PASSTHROUGH
          && g_ascii_strcasecmp (name, "anthropic-beta") == 0)
        {
          g_autofree char *beta = beta_for_key (value);

          if (beta != NULL)
            soup_message_headers_append (headers, name, beta);
          continue;
        }
      if (same_format || g_ascii_strcasecmp (name, "user-agent") == 0)
        soup_message_headers_append (headers, name, value);
    }

  if (fmt == US_WIRE_ANTHROPIC && soup_message_headers_get_one (headers, "anthropic-version") == NULL)
    soup_message_headers_replace (headers, "anthropic-version", "2023-06-01");
  if ((provider->auth == US_AUTH_KEY || provider->auth == US_AUTH_GOOGLE)
      && !add_key (provider, key, fmt, headers, error))
    return NULL;

  soup_message_headers_replace (headers, "Accept-Encoding", "identity");
  soup_message_set_request_body_from_bytes (msg, "application/json", body);
  /* Lets libsoup reuse a kept-alive connection for the POST (no new TLS
   * handshake before each first token), and resend it if the provider had
   * closed that idle connection just before. */
  soup_message_add_flags (msg, SOUP_MESSAGE_IDEMPOTENT);
  return g_steal_pointer (&msg);
}
