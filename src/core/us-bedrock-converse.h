/* us-bedrock-converse.h: Bedrock's Converse API (POST /model/{id}/converse
 * and …/converse-stream), for the models that do not take Anthropic's
 * body. The proxy speaks Anthropic Messages to a bedrock provider; these
 * turn that body into Converse's and Converse's answer back. (Its stream
 * events are turned back by us-event-stream.h.) */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* Converse's request body for the Anthropic Messages body @anthropic:
 * text, images, tool calls and results, system, inferenceConfig and
 * toolConfig; thinking blocks and server tools have no Converse form and
 * are left out. */
GBytes *us_bedrock_converse_request  (JsonObject  *anthropic);
/* A Converse response as an Anthropic message for @model; NULL with
 * @error when it is not one. */
GBytes *us_bedrock_converse_response (GBytes      *body,
                                      const char  *model,
                                      GError     **error);
/* Converse's stopReason as Anthropic's stop_reason. */
const char *us_bedrock_converse_stop_reason (const char *reason);

G_END_DECLS
