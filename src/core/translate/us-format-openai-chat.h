/* us-format-openai-chat.h: the Chat codec's two halves see each other here. */
#pragma once

#include "us-format.h"

G_BEGIN_DECLS

UsIrStopReason us_chat_finish_reason_decode (const char    *reason,
                                             gboolean       has_tool_calls);
const char    *us_chat_finish_reason_encode (UsIrStopReason  reason);
/* "chatcmpl-…" from an upstream id (kept when it already is one). */
char          *us_chat_completion_id        (const char    *upstream_id);

gpointer us_chat_decoder_new    (UsIrEventFunc func, gpointer user_data);
void     us_chat_decoder_event  (gpointer dec, const char *event, const char *data, gsize len);
void     us_chat_decoder_finish (gpointer dec);
void     us_chat_decoder_free   (gpointer dec);

gpointer us_chat_encoder_new    (const char *model);
void     us_chat_encoder_event  (gpointer enc, const UsIrEvent *ev, GString *out);
void     us_chat_encoder_finish (gpointer enc, GString *out);
void     us_chat_encoder_fail   (gpointer enc, const char *type, const char *message, GString *out);
void     us_chat_encoder_free   (gpointer enc);

G_END_DECLS
