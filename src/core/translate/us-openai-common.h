/* us-openai-common.h: what OpenAI's two formats (Chat Completions and
 * Responses) share: the error envelope, usage shapes, tool names, stop
 * reasons. */
#pragma once

#include "us-ir.h"

G_BEGIN_DECLS

/* {"error": {"message", "type", "code", "param"}} from Anthropic's vocabulary. */
JsonNode   *us_openai_error_encode  (guint       status,
                                     const char *type,
                                     const char *message);
gboolean    us_openai_error_decode  (JsonObject *body,
                                     guint       status,
                                     char      **type,
                                     char      **message);
/* The error object alone (also used inside response.failed and chunks). */
JsonObject *us_openai_error_object  (const char *type,
                                     const char *message,
                                     gboolean    with_param);
/* An OpenAI error type/code → Anthropic's vocabulary; @message may be
 * rewritten so that clients spot a full context window. */
const char *us_openai_error_type_to_anthropic (const char *type,
                                               const char *code,
                                               guint       status);
/* Does an error message say the prompt did not fit the model's window
 * ("prompt is too long", "context length", …)? */
gboolean    us_openai_is_context_overflow (const char *message);
const char *us_openai_error_code_for (const char *anthropic_type,
                                      const char *message);

/* Usage: OpenAI's input counts include cached tokens, the IR's do not. */
void        us_openai_usage_decode  (JsonObject *usage,
                                     gboolean    responses,
                                     UsUsage    *out);
JsonObject *us_openai_usage_encode  (const UsUsage *usage,
                                     gboolean       responses);

/* A name OpenAI accepts (^[a-zA-Z0-9_-]{1,64}$), stable for a given input. */
char       *us_openai_tool_name     (const char *name);

/* A tool name for a request in @fmt: the client's own when it spoke @fmt
 * itself, else us_openai_tool_name(). */
char       *us_openai_tool_name_for (const UsIrRequest *req,
                                     UsWireFormat       fmt,
                                     const char        *name);

/* Input schemas minus what OpenAI-compatible servers commonly reject. */
JsonNode   *us_openai_schema        (JsonNode   *schema);

char       *us_openai_new_id        (const char *prefix);

G_END_DECLS
