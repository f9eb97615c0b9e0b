/* us-event-stream.h: AWS event-stream framing (Bedrock's
 * invoke-with-response-stream) turned into the Anthropic Messages SSE
 * stream it carries, as a GConverter for a GConverterInputStream.
 *
 * Each message is a prelude (total length, headers length, CRC32 of
 * those 8 bytes), headers, a payload and the CRC32 of all before it; both
 * CRCs are checked, and a mismatch is a G_IO_ERROR_INVALID_DATA read
 * error. A `chunk` event's payload, {"bytes": BASE64}, holds one Anthropic
 * stream event; an exception message becomes an Anthropic `error` event
 * of the matching type (throttlingException → rate_limit_error, …). Input
 * may arrive cut anywhere. Converse streams carry their own events instead
 * of Anthropic's (us_event_stream_decoder_new_converse()).
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define US_TYPE_EVENT_STREAM_DECODER (us_event_stream_decoder_get_type ())
G_DECLARE_FINAL_TYPE (UsEventStreamDecoder, us_event_stream_decoder, US, EVENT_STREAM_DECODER, GObject)

/* AWS's own limit on one message. */
#define US_EVENT_STREAM_MAX_MESSAGE (16 * 1024 * 1024)

UsEventStreamDecoder *us_event_stream_decoder_new (void);
/* For a Converse stream (converse-stream): its events (messageStart,
 * contentBlockStart/Delta/Stop, messageStop, metadata) become the
 * Anthropic events of a message from @model. */
UsEventStreamDecoder *us_event_stream_decoder_new_converse (const char *model);

/* The Anthropic error type an AWS exception name stands for. */
const char *us_event_stream_error_type (const char *exception_type);

G_END_DECLS
