/* us-format-anthropic.h: the Anthropic codec's two halves see each other here. */
#pragma once

#include "us-format.h"

G_BEGIN_DECLS

/* Fields present in @usage override those in @out (message_delta usage is
 * cumulative and may carry only some of them). */
void        us_anthropic_usage_decode (JsonObject    *usage,
                                       UsUsage       *out);
JsonObject *us_anthropic_usage_encode (const UsUsage *usage);
JsonNode   *us_anthropic_error_encode (guint          status,
                                       const char    *type,
                                       const char    *message);

gpointer us_anthropic_decoder_new    (UsIrEventFunc func, gpointer user_data);
void     us_anthropic_decoder_event  (gpointer dec, const char *event, const char *data, gsize len);
void     us_anthropic_decoder_finish (gpointer dec);
void     us_anthropic_decoder_free   (gpointer dec);

gpointer us_anthropic_encoder_new    (const char *model);
void     us_anthropic_encoder_event  (gpointer enc, const UsIrEvent *ev, GString *out);
void     us_anthropic_encoder_finish (gpointer enc, GString *out);
void     us_anthropic_encoder_fail   (gpointer enc, const char *type, const char *message, GString *out);
void     us_anthropic_encoder_free   (gpointer enc);

G_END_DECLS
