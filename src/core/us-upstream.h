/* us-upstream.h: how to address and authenticate a provider. */
#pragma once

#include <libsoup/soup.h>
#include "us-config.h"
#include "us-translate.h"

G_BEGIN_DECLS

/* The wire format a provider kind speaks; FALSE if not supported yet. */
gboolean     us_upstream_wire_format (const UsProviderConfig *provider,
                                      UsWireFormat           *fmt);
/* The format used for a client speaking @client_fmt: a provider with an
 * Anthropic endpoint as well takes Anthropic clients' bytes as they are. */
gboolean     us_upstream_wire_format_for (const UsProviderConfig *provider,
                                          UsWireFormat            client_fmt,
                                          UsWireFormat           *fmt);

/* A ready-to-send upstream request for @model (azure-openai's deployment
 * and Vertex's model go in the path; Vertex's path says whether the answer
 * is to @stream). @client_headers are the inbound
 * request's headers (end-to-end ones are forwarded on the same-format path
 * and credentials for auth: passthrough); @query is appended as is on the
 * same-format path; @key is the provider's resolved key for auth: key
 * (us_proxy_lookup_key()), or auth: google's access token. Fails with a message for the log (e.g. a
 * missing key). */
SoupMessage *us_upstream_new_message (const UsProviderConfig *provider,
                                      const char             *model,
                                      const char             *key,
                                      UsWireFormat            client_fmt,
                                      gboolean                stream,
                                      gboolean                count_tokens,
                                      const char             *query,
                                      SoupMessageHeaders     *client_headers,
                                      GBytes                 *body,
                                      GError                **error);

/* Whether a header is hop-by-hop or otherwise owned by the proxy. */
gboolean     us_upstream_is_hop_header (const char *name);
/* Server and Date: the proxy's own server sets them on every response. */
gboolean     us_upstream_is_own_header (const char *name);
/* Rate-limit and plan-window headers (anthropic-ratelimit-*, x-ratelimit-*,
 * retry-after): they reach the client whatever the formats. */
gboolean     us_upstream_is_rate_limit_header (const char *name);

G_END_DECLS
