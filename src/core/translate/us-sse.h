/* us-sse.h: an incremental Server-Sent Events parser and writer.
 *
 * Bytes go in split anywhere (mid-line, mid-UTF-8, mid-CRLF); complete
 * events come out. Only the event being assembled is held, and never more
 * than the limit given at creation: a larger event is dropped whole.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* @event is NULL when the event had no `event:` field. @data is
 * NUL-terminated; multi-line data is joined with '\n'. */
typedef void (*UsSseEventFunc) (const char *event,
                                const char *data,
                                gsize       len,
                                gpointer    user_data);

typedef struct _UsSseParser UsSseParser;

#define US_SSE_DEFAULT_MAX_EVENT (16 * 1024 * 1024)

UsSseParser *us_sse_parser_new       (gsize           max_event,
                                      UsSseEventFunc  func,
                                      gpointer        user_data);
void         us_sse_parser_free      (UsSseParser    *self);
void         us_sse_parser_push      (UsSseParser    *self,
                                      const char     *bytes,
                                      gsize           len);
/* End of input: an event still missing its blank line is dispatched,
 * since many servers end the stream without one. */
void         us_sse_parser_finish    (UsSseParser    *self);
/* TRUE once an event was dropped for being over the limit. */
gboolean     us_sse_parser_overflowed (UsSseParser   *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (UsSseParser, us_sse_parser_free)

/* Appends one event; @event may be NULL, @data may hold newlines. */
void         us_sse_append           (GString        *out,
                                      const char     *event,
                                      const char     *data);

G_END_DECLS
