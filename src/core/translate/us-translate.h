/* us-translate.h: the translation hub's face to the proxy.
 *
 * The proxy only ever talks to this header. Behind it sit one IR (us-ir.h)
 * and a decoder + encoder per wire format, for requests, whole responses and
 * streams. Same format in and out is the "observe" path: bytes are passed
 * through unchanged while the stream is decoded to find the commit point,
 * usage and in-stream errors.
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef enum {
  US_WIRE_ANTHROPIC,          /* Anthropic Messages */
  US_WIRE_OPENAI_CHAT,        /* OpenAI Chat Completions */
  US_WIRE_OPENAI_RESPONSES,   /* OpenAI Responses */
} UsWireFormat;

const char *us_wire_format_to_string (UsWireFormat fmt);

/* Anthropic's meaning throughout: input_tokens excludes cache reads and
 * writes (OpenAI's prompt/input counts include them; the codecs convert). */
typedef struct {
  gint64 input_tokens;
  gint64 output_tokens;
  gint64 cache_read_tokens;
  gint64 cache_write_tokens;
} UsUsage;

/* ---- Requests ---------------------------------------------------------- */

/* Parses a body that must be one JSON object or array. Use it rather than
 * json_parser_load_from_data(): json-glib 1.6 accepts "{}{}" or "5{}" and
 * leaks all but the last value, which a client or upstream could repeat. */
JsonNode    *us_translate_parse_json     (GBytes             *body,
                                          GError            **error);

typedef struct _UsIrRequest UsIrRequest;

/* Decodes a client's request body. Errors are the client's fault (→ 400). */
UsIrRequest *us_ir_request_decode        (UsWireFormat        fmt,
                                          JsonNode           *body,
                                          GError            **error);
void         us_ir_request_free          (UsIrRequest        *req);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (UsIrRequest, us_ir_request_free)

const char  *us_ir_request_get_model     (const UsIrRequest  *req);
gboolean     us_ir_request_get_stream    (const UsIrRequest  *req);
/* The output limit the client asked for; 0 when it set none. */
gint64       us_ir_request_get_max_tokens (const UsIrRequest *req);
gboolean     us_ir_request_has_images    (const UsIrRequest  *req);
gboolean     us_ir_request_has_thinking  (const UsIrRequest  *req);
gboolean     us_ir_request_has_tools     (const UsIrRequest  *req);
/* A cheap estimate (chars / 4 over all text, tool schemas included). */
gint64       us_ir_request_estimate_input_tokens (const UsIrRequest *req);

/* Encodes for a provider. @model replaces the model; @max_output_tokens > 0
 * clamps max tokens. Fails (US_TRANSLATE_ERROR_UNSUPPORTED) when the target
 * cannot take the request (e.g. images to a format without them). */
JsonNode    *us_ir_request_encode        (const UsIrRequest  *req,
                                          UsWireFormat        fmt,
                                          const char         *model,
                                          gint64              max_output_tokens,
                                          GError            **error);

/* What encoding @req for @fmt leaves out although the client sent it:
 * hosted tools only its own format's provider runs (Codex's web_search,
 * Claude Code's server tools) and their past calls, as short notes such
 * as "tool web_search" for the request log. NULL when nothing is. */
GStrv        us_ir_request_dropped_for   (const UsIrRequest  *req,
                                          UsWireFormat        fmt);

#define US_TRANSLATE_ERROR (us_translate_error_quark ())
GQuark us_translate_error_quark (void);
typedef enum {
  US_TRANSLATE_ERROR_INVALID,      /* malformed input */
  US_TRANSLATE_ERROR_UNSUPPORTED,  /* valid, but the target cannot express it */
} UsTranslateError;

/* ---- Whole (non-streamed) responses ------------------------------------ */

/* Upstream body in @from → client body in @to. @client_model is the model
 * name the client sees. Fills @usage when non-NULL. */
GBytes      *us_translate_response       (UsWireFormat        from,
                                          UsWireFormat        to,
                                          GBytes             *body,
                                          const char         *client_model,
                                          UsUsage            *usage,
                                          GError            **error);
/* The same, knowing the request it answers (as decoded from the client):
 * undoes what encoding for @from changed, such as tool names shortened to
 * OpenAI's 64 characters. @req may be NULL. */
GBytes      *us_translate_response_for_request (UsWireFormat       from,
                                                UsWireFormat       to,
                                                GBytes            *body,
                                                const char        *client_model,
                                                const UsIrRequest *req,
                                                UsUsage           *usage,
                                                GError           **error);
/* Reads usage from a whole response body without translating it. */
gboolean     us_response_read_usage      (UsWireFormat        fmt,
                                          GBytes             *body,
                                          UsUsage            *usage);

/* ---- Streams ----------------------------------------------------------- */

typedef struct _UsStreamTranslator UsStreamTranslator;

/* from == to: observe mode, output is the input bytes unchanged. */
UsStreamTranslator *us_stream_translator_new (UsWireFormat    from,
                                              UsWireFormat    to,
                                              const char     *client_model);
void         us_stream_translator_free    (UsStreamTranslator *self);
/* Optional, before the first push: the request (as decoded from the
 * client) this stream answers, so that renames made when encoding it for
 * @from (long tool names for OpenAI) are undone for the client. */
void         us_stream_translator_set_request (UsStreamTranslator *self,
                                               const UsIrRequest  *req);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (UsStreamTranslator, us_stream_translator_free)

/* Feeds upstream bytes (any split: mid-line, mid-UTF-8); appends bytes for
 * the client to @out. Never buffers more than one incomplete event. */
void         us_stream_translator_push    (UsStreamTranslator *self,
                                           const char     *data,
                                           gsize           len,
                                           GString        *out);
/* TRUE once a content event (text, tool call, thinking) has been seen:
 * the commit point. */
gboolean     us_stream_translator_has_content (UsStreamTranslator *self);
/* TRUE once the upstream's terminal event was seen (message_stop,
 * [DONE], response.completed, ...). */
gboolean     us_stream_translator_is_complete (UsStreamTranslator *self);
/* TRUE if the upstream sent an in-stream error; type/message are borrowed. */
gboolean     us_stream_translator_get_error   (UsStreamTranslator *self,
                                               const char    **type,
                                               const char    **message);
const UsUsage *us_stream_translator_get_usage (UsStreamTranslator *self);
/* Upstream ended cleanly: appends whatever the client format still needs. */
void         us_stream_translator_finish  (UsStreamTranslator *self,
                                           GString        *out);
/* Upstream failed after the commit point: appends a proper in-stream error
 * in the client's format (Anthropic `event: error`, Responses
 * `response.failed`, a Chat chunk with `error`). @type is Anthropic's
 * vocabulary (api_error, overloaded_error, rate_limit_error, ...). */
void         us_stream_translator_fail    (UsStreamTranslator *self,
                                           const char     *type,
                                           const char     *message,
                                           GString        *out);

/* ---- Errors ------------------------------------------------------------ */

/* An error body in @fmt's own envelope. @type is Anthropic's vocabulary;
 * it is mapped for the other formats. */
GBytes      *us_error_body               (UsWireFormat        fmt,
                                          guint               status,
                                          const char         *type,
                                          const char         *message);
/* An upstream error body (any shape, maybe not JSON) → @to's envelope,
 * keeping type and message when they can be read. from == to: unchanged. */
GBytes      *us_translate_error          (UsWireFormat        from,
                                          UsWireFormat        to,
                                          guint               status,
                                          GBytes             *body);
/* The Anthropic error type for an HTTP status (429 → rate_limit_error, ...). */
const char  *us_error_type_for_status    (guint               status);
/* The inverse: the HTTP status a client expects for an Anthropic error type
 * (an in-stream error turned into a whole response, ...). Unknown → 500. */
guint        us_error_status_for_type    (const char         *type);
/* Reads type (Anthropic vocabulary) and message from an error body of any
 * known envelope, trying @fmt's first. FALSE when no envelope was found:
 * then the type comes from @status and the message from the raw text. */
gboolean     us_error_read               (UsWireFormat        fmt,
                                          guint               status,
                                          GBytes             *body,
                                          char              **type,
                                          char              **message);

/* Does an upstream error body say the request is over the model's context
 * window (Anthropic "prompt is too long", OpenAI context_length_exceeded)? */
gboolean     us_error_is_context_overflow (UsWireFormat       fmt,
                                          guint               status,
                                          GBytes             *body);

G_END_DECLS
