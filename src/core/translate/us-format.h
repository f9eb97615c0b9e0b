/* us-format.h: what each wire format's codec provides to the hub.
 *
 * One table per format (us-format-*.c); us-translate.c only ever goes
 * through these tables, so adding a format never touches the other codecs.
 */
#pragma once

#include "us-ir.h"

G_BEGIN_DECLS

typedef void (*UsIrEventFunc) (const UsIrEvent *ev, gpointer user_data);

/* Lets the proxy watch what a stream carries (signatures, tool call ids)
 * in any mode, observing included, without re-encoding it. Observing, the
 * plain content deltas after the first content are not decoded, so the
 * observer sees block starts, stops, signatures and the message's events,
 * not text. */
void us_stream_translator_set_observer (UsStreamTranslator *self,
                                        UsIrEventFunc       func,
                                        gpointer            user_data);

typedef struct {
  UsWireFormat  fmt;
  const char   *name;

  /* Requests. @req is freshly made for the codec to fill. */
  gboolean     (*request_decode)  (JsonObject        *body,
                                   UsIrRequest       *req,
                                   GError           **error);
  JsonNode    *(*request_encode)  (const UsIrRequest *req,
                                   const char        *model,
                                   gint64             max_tokens,
                                   GError           **error);

  /* The name a tool gets in this format (NULL: names pass unchanged). */
  char        *(*tool_name)       (const char        *name);

  /* Whole responses. */
  gboolean     (*response_decode) (JsonObject        *body,
                                   UsIrResponse      *resp,
                                   GError           **error);
  JsonNode    *(*response_encode) (const UsIrResponse *resp,
                                   const char        *model);

  /* Errors: @type is Anthropic's vocabulary both ways. */
  JsonNode    *(*error_encode)    (guint              status,
                                   const char        *type,
                                   const char        *message);
  /* Reads an error envelope; FALSE if @body is not one. */
  gboolean     (*error_decode)    (JsonObject        *body,
                                   guint              status,
                                   char             **type,
                                   char             **message);

  /* Streams: the decoder gets one SSE event at a time (@event may be NULL). */
  gpointer     (*decoder_new)     (UsIrEventFunc      func,
                                   gpointer           user_data);
  void         (*decoder_event)   (gpointer           dec,
                                   const char        *event,
                                   const char        *data,
                                   gsize              len);
  /* The upstream ended: emit whatever was held back (e.g. a Chat stop
   * waiting for its usage chunk). */
  void         (*decoder_finish)  (gpointer           dec);
  void         (*decoder_free)    (gpointer           dec);

  gpointer     (*encoder_new)     (const char        *model);
  void         (*encoder_event)   (gpointer           enc,
                                   const UsIrEvent   *ev,
                                   GString           *out);
  /* Closes whatever the client still expects (open blocks, terminal event). */
  void         (*encoder_finish)  (gpointer           enc,
                                   GString           *out);
  void         (*encoder_fail)    (gpointer           enc,
                                   const char        *type,
                                   const char        *message,
                                   GString           *out);
  void         (*encoder_free)    (gpointer           enc);
} UsFormatCodec;

extern const UsFormatCodec us_format_anthropic;
extern const UsFormatCodec us_format_openai_chat;
extern const UsFormatCodec us_format_openai_responses;

const UsFormatCodec *us_format_codec (UsWireFormat fmt);

G_END_DECLS
