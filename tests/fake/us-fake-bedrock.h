/* us-fake-bedrock.h: AWS Bedrock's runtime (InvokeModel and
 * InvokeModelWithResponseStream for Claude, Converse and ConverseStream
 * for any model) on a loopback SoupServer, checking what
 * it receives as AWS does: the SigV4 signature is recomputed from the
 * request as received (a mismatch, a date more than 5 minutes off, another
 * region, service or access key is AWS's 403), or with an API key the
 * Bearer token; the body must be Bedrock's (anthropic_version, no model,
 * no stream; for Converse only Converse's members and content blocks).
 * Streams come in AWS event-stream framing. Converse answers with the
 * text only (the script is for Claude's operations).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib-object.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

G_BEGIN_DECLS

typedef enum {
  US_FAKE_BEDROCK_OK,                /* the text answer */
  US_FAKE_BEDROCK_STATUS,            /* an HTTP error: status, AWS error type */
  US_FAKE_BEDROCK_EXCEPTION,         /* stream: message_start, then an exception message */
  US_FAKE_BEDROCK_BAD_CRC_FIRST,     /* stream: the first message's CRC is broken */
  US_FAKE_BEDROCK_BAD_CRC_MID,       /* stream: a message after some text is broken */
} UsFakeBedrockBehavior;

typedef struct {
  UsFakeBedrockBehavior behavior;
  guint       status;       /* STATUS */
  const char *error_type;   /* STATUS: x-amzn-ErrorType; EXCEPTION: :exception-type */
  const char *message;      /* STATUS, EXCEPTION: the {"message"} */
} UsFakeBedrockStep;

/* Appends one event-stream message: @headers are name, value (string
 * headers), NULL-ended. */
void us_fake_event_stream_append (GByteArray         *out,
                                  const char * const *headers,
                                  const void         *payload,
                                  gsize               length);
/* The `chunk` event carrying @event_json, as Bedrock frames it. */
void us_fake_event_stream_append_chunk (GByteArray *out,
                                        const char *event_json);

#define US_TYPE_FAKE_BEDROCK (us_fake_bedrock_get_type ())
G_DECLARE_FINAL_TYPE (UsFakeBedrock, us_fake_bedrock, US, FAKE_BEDROCK, GObject)

/* Accepts requests signed for @region with this key pair (and @session_token
 * when not NULL). */
UsFakeBedrock *us_fake_bedrock_new              (const char *region,
                                                 const char *access_key_id,
                                                 const char *secret,
                                                 const char *session_token);
/* Accepts `Authorization: Bearer @api_key` instead of a signature. */
void           us_fake_bedrock_set_api_key      (UsFakeBedrock *self,
                                                 const char    *api_key);
const char    *us_fake_bedrock_get_base_url     (UsFakeBedrock *self);
void           us_fake_bedrock_set_text         (UsFakeBedrock *self,
                                                 const char    *text);
void           us_fake_bedrock_push             (UsFakeBedrock           *self,
                                                 const UsFakeBedrockStep *step);
guint          us_fake_bedrock_get_n_requests   (UsFakeBedrock *self);
/* The last request's path as received (still percent-encoded). */
const char    *us_fake_bedrock_get_last_path    (UsFakeBedrock *self);
/* The last request's body, parsed. */
JsonObject    *us_fake_bedrock_get_last_body    (UsFakeBedrock *self);
/* Why the last request was refused (403), or NULL. */
const char    *us_fake_bedrock_get_last_refusal (UsFakeBedrock *self);

G_END_DECLS
