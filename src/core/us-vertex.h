/* us-vertex.h: Google Vertex AI addressing (vertex-anthropic: Claude through
 * rawPredict / streamRawPredict; vertex-openai: the OpenAI-compatible Chat
 * Completions endpoint). */
#pragma once

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include "us-config.h"

G_BEGIN_DECLS

/* Claude on Vertex takes the Anthropic body with this in it, not `model`. */
#define US_VERTEX_ANTHROPIC_VERSION "vertex-2023-10-16"

gboolean  us_vertex_is_vertex        (UsProviderKind kind);
/* https://{region}-aiplatform.googleapis.com, or the global endpoint's host
 * for region "global". */
char     *us_vertex_default_base_url (const char    *region);
/* Whether @region can stand in a host name and a path: lowercase letters,
 * digits and '-'. */
gboolean  us_vertex_region_is_valid  (const char    *region);
/* The request URL for @model: {base}/v1/projects/{project}/locations/{region}/
 * publishers/anthropic/models/{model}:streamRawPredict (:rawPredict when not
 * @stream, models/count-tokens:rawPredict to count), or .../endpoints/openapi/
 * chat/completions for vertex-openai. */
char     *us_vertex_request_url      (const UsProviderConfig *provider,
                                      const char             *model,
                                      gboolean                stream,
                                      gboolean                count_tokens);
/* Whether a body for @provider differs from an Anthropic one (so the
 * client's bytes cannot pass through unchanged). */
gboolean  us_vertex_edits_body       (const UsProviderConfig *provider);
/* Makes an Anthropic Messages body one Vertex takes: anthropic_version set,
 * `model` gone (it is in the URL; count-tokens keeps it). Nothing for
 * other kinds. */
void      us_vertex_edit_body        (const UsProviderConfig *provider,
                                      JsonObject             *body,
                                      gboolean                count_tokens);

/* Vertex refuses anthropic-beta values it does not know (Claude Code sends
 * many) with a 400 that names them: "Unexpected value(s) `a`, `b` for the
 * `anthropic-beta` header". Adds the values a 400 @body names to
 * @rejected (a set of strings); TRUE when it named any not there yet. */
gboolean  us_vertex_learn_rejected_betas (GHashTable         *rejected,
                                          GBytes             *body);
/* Leaves the values in @rejected out of @headers' anthropic-beta. */
void      us_vertex_drop_betas       (SoupMessageHeaders     *headers,
                                      GHashTable             *rejected);

G_END_DECLS
