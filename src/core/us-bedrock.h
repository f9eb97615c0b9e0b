/* us-bedrock.h: AWS Bedrock's runtime API for Claude models: InvokeModel
 * (POST /model/{id}/invoke) and InvokeModelWithResponseStream
 * (…/invoke-with-response-stream), whose body is Anthropic's Messages body
 * with anthropic_version in it and no model or stream; other models
 * through Converse (…/converse, …/converse-stream, us-bedrock-converse.h).
 * Streams come in AWS event-stream framing (us-event-stream.h). */
#pragma once

#include <libsoup/soup.h>

#include "us-config.h"

G_BEGIN_DECLS

#define US_BEDROCK_ANTHROPIC_VERSION "bedrock-2023-05-31"

/* Claude's Bedrock ids: anthropic.…, or a cross-region inference profile
 * (us., eu., apac., global., … then anthropic.…), or an ARN naming one. */
gboolean     us_bedrock_is_claude       (const char *model);

/* The upstream message for @provider (kind bedrock) and @model, from the
 * Anthropic Messages @body; @key is a Bedrock API key (auth: key) or the
 * AWS credentials' JSON form (auth: aws, us-aws-credentials.h). */
SoupMessage *us_bedrock_new_message     (const UsProviderConfig *provider,
                                         const char             *model,
                                         const char             *key,
                                         gboolean                count_tokens,
                                         GBytes                 *body,
                                         GError                **error);

/* Bedrock's error body ({"message": …} and x-amzn-ErrorType) as
 * Anthropic's error envelope, so that the rest of the proxy reads it as
 * any Anthropic error. */
GBytes      *us_bedrock_error_body      (SoupMessageHeaders *headers,
                                         guint               status,
                                         GBytes             *body);

G_END_DECLS
