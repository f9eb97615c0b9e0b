/* us-fake-provider.h: a model provider that speaks the real wire formats
 * (Anthropic Messages, OpenAI Chat Completions, OpenAI Responses) on a
 * loopback SoupServer, and misbehaves on demand, for the test suite.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib-object.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

G_BEGIN_DECLS

typedef enum {
  US_FAKE_FORMAT_ANTHROPIC,        /* /v1/messages, /v1/messages/count_tokens */
  US_FAKE_FORMAT_OPENAI_CHAT,      /* /v1/chat/completions */
  US_FAKE_FORMAT_OPENAI_RESPONSES, /* /v1/responses */
} UsFakeFormat;

/* What the fake does with one generation request (POST to its own route).
 * GET /v1/models and count_tokens always answer normally and never consume
 * a script step. */
typedef enum {
  US_FAKE_OK,                          /* text answer, streamed iff body.stream */
  US_FAKE_OK_TOOL_CALL,                /* one tool call */
  US_FAKE_OK_TWO_TOOL_CALLS,           /* two parallel tool calls */
  US_FAKE_STATUS,                      /* HTTP error with the provider's envelope */
  US_FAKE_RESET_BEFORE_FIRST_BYTE,     /* read the request, close, send nothing */
  US_FAKE_RESET_MID_STREAM,            /* 200, headers, start + some content, close */
  US_FAKE_SILENCE_BEFORE_HEADERS,      /* read the request, never answer */
  US_FAKE_SILENCE_AFTER_HEADERS,       /* 200 + headers, then no byte ever */
  US_FAKE_STREAM_ERROR_BEFORE_CONTENT, /* 200, stream start, then an error event */
  US_FAKE_TOOL_TASK,                   /* ask to read a file, then quote it back */
  US_FAKE_MALFORMED,                   /* 200 whose body is broken: cut-off JSON, or
                                        * SSE with bad JSON and junk lines, then a clean end */
} UsFakeBehavior;

/* How a response body is cut into writes. */
typedef enum {
  US_FAKE_CHUNKS_AWKWARD,   /* each event cut after its first byte, inside its
                             * JSON (inside a UTF-8 character when it has one)
                             * and between its two final newlines (default) */
  US_FAKE_CHUNKS_PER_EVENT, /* one write per SSE event */
  US_FAKE_CHUNKS_WHOLE,     /* the whole stream in one write */
  US_FAKE_CHUNKS_BYTES,     /* one byte a write: with a delay of 1000, an
                             * upstream that trickles a byte a second */
} UsFakeChunking;

/* How RESET behaviors end the connection. */
typedef enum {
  US_FAKE_RESET_RST, /* SO_LINGER 0 + close: the peer sees ECONNRESET (default) */
  US_FAKE_RESET_FIN, /* orderly close: the peer sees a premature EOF */
} UsFakeResetStyle;

/* One script step. Zeroed fields take the defaults, so designated
 * initializers read well:
 *   us_fake_provider_push (fake, &(UsFakeStep) { .behavior = US_FAKE_STATUS,
 *                                                .status = 429, .retry_after = "7" });
 * Strings are copied by push/set_default. */
typedef struct {
  UsFakeBehavior      behavior;
  guint               status;        /* STATUS: HTTP status (default 500) */
  const char         *retry_after;   /* STATUS: `retry-after` value, NULL = none */
  const char         *error_type;    /* STATUS/stream errors: envelope type override */
  const char         *error_message; /* ... message override */
  const char         *error_code;    /* OpenAI `code`; Anthropic error.details.error_code */
  const char         *text;          /* OK: answer text, NULL = the provider's text */
  const char         *tool_name;     /* tool calls: first call's name (and TOOL_TASK override) */
  const char         *tool_args;     /* ... its JSON object arguments */
  const char         *tool_name2;    /* OK_TWO_TOOL_CALLS: second call */
  const char         *tool_args2;
  const char * const *headers;       /* extra response headers, "Name: value", NULL-ended */
  guint               delay_ms;      /* wait this long before the first byte */
} UsFakeStep;

/* A request as received, kept for assertions. */
typedef struct {
  char               *method;
  char               *path;     /* path plus "?query" when there was one */
  SoupMessageHeaders *headers;
  GBytes             *body;
  JsonNode           *json;     /* parsed body, NULL when it was not JSON */
  gboolean            scripted; /* a generation request that took a step */
  UsFakeBehavior      behavior; /* the behavior applied when scripted */
} UsFakeRequest;

const char *us_fake_request_get_header (const UsFakeRequest *request,
                                        const char          *name);
/* body.model, or NULL */
const char *us_fake_request_get_model  (const UsFakeRequest *request);
gboolean    us_fake_request_get_stream (const UsFakeRequest *request);

const char *us_fake_behavior_to_string (UsFakeBehavior behavior);
const char *us_fake_format_to_string   (UsFakeFormat format);
gboolean    us_fake_format_from_string (const char   *name,
                                        UsFakeFormat *out_format);

#define US_TYPE_FAKE_PROVIDER (us_fake_provider_get_type ())
G_DECLARE_FINAL_TYPE (UsFakeProvider, us_fake_provider, US, FAKE_PROVIDER, GObject)

/* Listens on 127.0.0.1 with an ephemeral port in the thread-default main
 * context; aborts the test if that fails. */
UsFakeProvider *us_fake_provider_new            (UsFakeFormat     format);
/* port 0 = ephemeral; NULL with @error when the port is taken */
UsFakeProvider *us_fake_provider_new_on_port    (UsFakeFormat     format,
                                                 guint            port,
                                                 GError         **error);
UsFakeFormat    us_fake_provider_get_format     (UsFakeProvider  *self);
guint           us_fake_provider_get_port       (UsFakeProvider  *self);
/* "http://127.0.0.1:PORT" (no /v1) */
const char     *us_fake_provider_get_base_url   (UsFakeProvider  *self);

/* Script: steps are consumed one per generation request, in order; when
 * the queue is empty the default step applies (US_FAKE_OK to start with). */
void            us_fake_provider_push           (UsFakeProvider   *self,
                                                 const UsFakeStep *step);
void            us_fake_provider_push_behavior  (UsFakeProvider   *self,
                                                 UsFakeBehavior    behavior);
void            us_fake_provider_push_status    (UsFakeProvider   *self,
                                                 guint             status,
                                                 const char       *retry_after);
/* Comma-separated step names, as the command line takes them: ok, tool,
 * tools2, NNN, 429:RETRY_AFTER, reset, reset-mid, silence, silence-headers,
 * error-before-content, tool-task, malformed. */
gboolean        us_fake_provider_push_spec      (UsFakeProvider   *self,
                                                 const char       *spec,
                                                 GError          **error);
void            us_fake_provider_set_default    (UsFakeProvider   *self,
                                                 const UsFakeStep *step);
gboolean        us_fake_provider_set_default_spec (UsFakeProvider *self,
                                                   const char     *spec,
                                                   GError        **error);
guint           us_fake_provider_get_n_pending  (UsFakeProvider   *self);
void            us_fake_provider_clear_script   (UsFakeProvider   *self);

/* Answer text for OK steps without their own text. */
void            us_fake_provider_set_text       (UsFakeProvider   *self,
                                                 const char       *text);
/* The file TOOL_TASK asks the client to read. */
void            us_fake_provider_set_tool_task_path (UsFakeProvider *self,
                                                     const char     *path);
/* Requests without this key (x-api-key, api-key or Bearer) get a 401. NULL = any. */
void            us_fake_provider_set_required_key (UsFakeProvider *self,
                                                   const char     *key);
/* Takes @key as well (a key pool), and with a @step answers every
 * generation request made with that key by it, before the script (a key
 * that hit its rate limit, or has no credit). */
void            us_fake_provider_add_key        (UsFakeProvider   *self,
                                                 const char       *key,
                                                 const UsFakeStep *step);
/* "KEY" or "KEY=STEP" (a step name as in push_spec). */
gboolean        us_fake_provider_add_key_spec   (UsFakeProvider   *self,
                                                 const char       *spec,
                                                 GError          **error);
/* Answer as an Azure OpenAI resource with these deployments: OPENAI_CHAT
 * serves POST /openai/deployments/{deployment}/chat/completions?api-version=
 * @api_version, OPENAI_RESPONSES POST /openai/v1/responses with the
 * deployment as body.model. Anything else is Azure's 404 (Resource not found
 * for a wrong route or api-version, DeploymentNotFound for an unknown
 * deployment); with a required key only `api-key` is accepted (else Azure's
 * 401). Not for ANTHROPIC. */
void            us_fake_provider_set_azure      (UsFakeProvider     *self,
                                                 const char         *api_version,
                                                 const char * const *deployments);
/* Answer as Vertex AI for @project in @region: ANTHROPIC serves Claude at
 * POST /v1/projects/P/locations/R/publishers/anthropic/models/MODEL:
 * streamRawPredict (body.stream true) or :rawPredict, and models/
 * count-tokens:rawPredict, and wants anthropic_version "vertex-2023-10-16"
 * and no model in the body; OPENAI_CHAT serves .../endpoints/openapi/
 * chat/completions for a PUBLISHER/MODEL. Anything else is Google's 400 or
 * 404 envelope; with a required key only `Authorization: Bearer` is
 * accepted (else Google's 401). Not for OPENAI_RESPONSES. */
void            us_fake_provider_set_vertex     (UsFakeProvider     *self,
                                                 const char         *project,
                                                 const char         *region);
/* As Vertex: Claude requests whose anthropic-beta holds any of @betas get
 * Vertex's 400 naming them ("Unexpected value(s) `…` for the
 * `anthropic-beta` header"). */
void            us_fake_provider_set_vertex_refused_betas (UsFakeProvider     *self,
                                                           const char * const *betas);
/* With a key, the fake thinks when asked (Anthropic `thinking`, Responses
 * `include: reasoning.encrypted_content`), signs that thinking with @key,
 * and checks signed content it receives as the real APIs do: a 400 for a
 * thinking block or encrypted reasoning it did not sign, and (Anthropic,
 * thinking on) for a tool-loop continuation whose final assistant message
 * does not start with a thinking block. NULL: no thinking, no checks. */
void            us_fake_provider_set_signing_key (UsFakeProvider *self,
                                                  const char     *key);
/* Ids that GET /v1/models lists. */
void            us_fake_provider_set_models     (UsFakeProvider     *self,
                                                 const char * const *ids);
/* delay_ms between two writes of a stream (default 1). */
void            us_fake_provider_set_chunking   (UsFakeProvider   *self,
                                                 UsFakeChunking    chunking,
                                                 guint             delay_ms);
void            us_fake_provider_set_reset_style (UsFakeProvider  *self,
                                                  UsFakeResetStyle style);
/* Appends one JSON line per request to @path: method, path, headers
 * (credentials left out: "auth" names the scheme, "key_sha256" the first
 * 12 hex digits of the key's SHA-256), model, stream, behavior, summary. */
gboolean        us_fake_provider_set_log_file   (UsFakeProvider  *self,
                                                 const char      *path,
                                                 GError         **error);

/* Every request received, oldest first (element type UsFakeRequest). */
GPtrArray           *us_fake_provider_get_requests   (UsFakeProvider *self);
guint                us_fake_provider_get_n_requests (UsFakeProvider *self);
const UsFakeRequest *us_fake_provider_get_request    (UsFakeProvider *self,
                                                      guint           index);
/* The most recent one, or NULL */
const UsFakeRequest *us_fake_provider_get_last_request (UsFakeProvider *self);
void                 us_fake_provider_clear_requests (UsFakeProvider *self);

/* Signal "request-received" (const UsFakeRequest *request), emitted once the
 * request is recorded and its behavior chosen. */

G_END_DECLS
