/* us-format-openai-responses.h: the Responses codec's two halves see each
 * other here: the response object and output items are built the same way
 * for whole responses and for stream events. */
#pragma once

#include "us-format.h"

G_BEGIN_DECLS

/* "resp_…" from an upstream id of any format, stable for a given id. */
char       *us_responses_id          (const char    *upstream_id);
/* "<prefix>_<base>_<n>": item ids derived from the response id. */
char       *us_responses_item_id     (const char    *response_id,
                                      const char    *prefix,
                                      guint          n);

/* IR signatures of Responses reasoning are "<item id>:<encrypted_content>":
 * an input reasoning item needs both, and clients of other formats carry a
 * single opaque signature string. */
char       *us_responses_pack_signature   (const char  *item_id,
                                           const char  *encrypted);
/* Returns the encrypted content (borrowed from @signature). */
const char *us_responses_unpack_signature (const char  *signature,
                                           char       **item_id);
UsIrPart   *us_responses_decode_reasoning (JsonNode    *item);
UsIrStopReason us_responses_stop_reason   (JsonObject  *response,
                                           gboolean     has_calls);

/* The response object; @output and @usage may be NULL (null on the wire). */
JsonObject *us_responses_object      (const char    *id,
                                      const char    *model,
                                      gint64         created_at,
                                      const char    *status,
                                      JsonArray     *output,
                                      const UsUsage *usage);
void        us_responses_set_stop    (JsonObject    *response,
                                      UsIrStopReason reason);

JsonObject *us_responses_message_item   (const char *id,
                                         const char *status,
                                         const char *text);
JsonObject *us_responses_function_item  (const char *id,
                                         const char *status,
                                         const char *call_id,
                                         const char *name,
                                         const char *arguments);
/* A call as the client's tools define it: a custom_tool_call (its input
 * taken from the "input" argument) when @custom, a function_call with a
 * "namespace" when @ns is set, else a plain function_call. */
JsonObject *us_responses_call_item      (const char *id,
                                         const char *status,
                                         const char *call_id,
                                         const char *name,
                                         const char *ns,
                                         gboolean    custom,
                                         const char *arguments);
/* @signature already in the form the client gets (wrapped if foreign). */
JsonObject *us_responses_reasoning_item (const char *id,
                                         const char *text,
                                         const char *signature);

gpointer us_responses_decoder_new    (UsIrEventFunc func, gpointer user_data);
void     us_responses_decoder_event  (gpointer dec, const char *event, const char *data, gsize len);
void     us_responses_decoder_finish (gpointer dec);
void     us_responses_decoder_free   (gpointer dec);

gpointer us_responses_encoder_new    (const char *model);
void     us_responses_encoder_event  (gpointer enc, const UsIrEvent *ev, GString *out);
void     us_responses_encoder_finish (gpointer enc, GString *out);
void     us_responses_encoder_fail   (gpointer enc, const char *type, const char *message, GString *out);
void     us_responses_encoder_free   (gpointer enc);

G_END_DECLS
