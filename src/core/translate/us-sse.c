/* us-sse.c: incremental SSE parsing (WHATWG "event stream" rules). */

#include "us-sse.h"

#include <string.h>

struct _UsSseParser {
  UsSseEventFunc func;
  gpointer       user_data;
  gsize          max_event;
  GString       *line;        /* a line cut across pushes */
  GString       *data;
  GString       *event;
  gboolean       has_data;
  gboolean       has_event;
  gboolean       skip_lf;     /* the last push ended in '\r' */
  gboolean       bom_checked;
  gboolean       discarding;  /* the current event went over the limit */
  gboolean       skip_line;   /* the rest of an over-long line is coming */
  gboolean       overflowed;
};

UsSseParser *
us_sse_parser_new (gsize          max_event,
                   UsSseEventFunc func,
                   gpointer       user_data)
{
  UsSseParser *self = g_new0 (UsSseParser, 1);

  self->func = func;
  self->user_data = user_data;
  self->max_event = max_event ? max_event : US_SSE_DEFAULT_MAX_EVENT;
  self->line = g_string_new (NULL);
  self->data = g_string_new (NULL);
  self->event = g_string_new (NULL);
  return self;
}

void
us_sse_parser_free (UsSseParser *self)
{
  if (self == NULL)
    return;
  g_string_free (self->line, TRUE);
  g_string_free (self->data, TRUE);
  g_string_free (self->event, TRUE);
  g_free (self);
}

gboolean
us_sse_parser_overflowed (UsSseParser *self)
{
  return self->overflowed;
}

static void
reset_event (UsSseParser *self)
{
  g_string_truncate (self->data, 0);
  g_string_truncate (self->event, 0);
  self->has_data = FALSE;
  self->has_event = FALSE;
  self->discarding = FALSE;

  /* Give back memory a huge event left behind. */
  if (self->data->allocated_len > 64 * 1024)
    {
      g_string_free (self->data, TRUE);
      self->data = g_string_new (NULL);
    }
}

static void
dispatch (UsSseParser *self)
{
  /* The spec drops events without data, which also covers comment-only
   * keep-alives. */
  if (self->has_data && !self->discarding)
    self->func (self->has_event ? self->event->str : NULL,
                self->data->str, self->data->len, self->user_data);
  reset_event (self);
}

static void
overflow (UsSseParser *self)
{
  self->discarding = TRUE;
  self->overflowed = TRUE;
  g_string_truncate (self->data, 0);
}

static void
process_line (UsSseParser *self,
              const char  *line,
              gsize        len)
{
  const char *colon;
  const char *value;
  gsize name_len, value_len;

  if (len == 0)
    {
      dispatch (self);
      return;
    }
  if (line[0] == ':' || self->discarding)
    return;

  colon = memchr (line, ':', len);
  name_len = colon ? (gsize) (colon - line) : len;
  value = colon ? colon + 1 : line + len;
  value_len = len - (gsize) (value - line);
  if (value_len > 0 && value[0] == ' ')
    {
      value++;
      value_len--;
    }

  if (name_len == 4 && memcmp (line, "data", 4) == 0)
    {
      if (self->data->len + value_len + 1 > self->max_event)
        {
          overflow (self);
          return;
        }
      if (self->has_data)
        g_string_append_c (self->data, '\n');
      g_string_append_len (self->data, value, value_len);
      self->has_data = TRUE;
    }
  else if (name_len == 5 && memcmp (line, "event", 5) == 0)
    {
      g_string_truncate (self->event, 0);
      g_string_append_len (self->event, value, MIN (value_len, 256));
      self->has_event = TRUE;
    }
  /* id and retry mean nothing to a proxy reading a single response. */
}

void
us_sse_parser_push (UsSseParser *self,
                    const char  *bytes,
                    gsize        len)
{
  const char *p = bytes;
  const char *end = bytes + len;

  if (len == 0)
    return;

  if (self->skip_lf)
    {
      self->skip_lf = FALSE;
      if (*p == '\n')
        p++;
    }

  while (p < end)
    {
      const char *eol = p;

      while (eol < end && *eol != '\n' && *eol != '\r')
        eol++;

      if (eol == end)
        {
          /* A line cut across pushes: keep it, within the limit. */
          if (self->skip_line)
            ;
          else if (self->line->len + (gsize) (end - p) > self->max_event)
            {
              overflow (self);
              self->skip_line = TRUE;
              g_string_truncate (self->line, 0);
            }
          else
            g_string_append_len (self->line, p, end - p);
          break;
        }

      if (self->skip_line)
        self->skip_line = FALSE;
      else if (self->line->len > 0)
        {
          g_string_append_len (self->line, p, eol - p);
          if (self->line->len > self->max_event)
            overflow (self);
          else
            {
              /* Strip a BOM only from the very first line. */
              const char *l = self->line->str;
              gsize l_len = self->line->len;

              if (!self->bom_checked && l_len >= 3 && memcmp (l, "\xef\xbb\xbf", 3) == 0)
                l += 3, l_len -= 3;
              self->bom_checked = TRUE;
              process_line (self, l, l_len);
            }
          g_string_truncate (self->line, 0);
        }
      else
        {
          const char *l = p;
          gsize l_len = (gsize) (eol - p);

          if (!self->bom_checked && l_len >= 3 && memcmp (l, "\xef\xbb\xbf", 3) == 0)
            l += 3, l_len -= 3;
          self->bom_checked = TRUE;
          process_line (self, l, l_len);
        }

      if (*eol == '\r')
        {
          if (eol + 1 == end)
            self->skip_lf = TRUE;
          else if (eol[1] == '\n')
            eol++;
        }
      p = eol + 1;
    }
}

void
us_sse_parser_finish (UsSseParser *self)
{
  if (self->line->len > 0 && !self->skip_line)
    process_line (self, self->line->str, self->line->len);
  g_string_truncate (self->line, 0);
  dispatch (self);
  self->skip_lf = FALSE;
  self->skip_line = FALSE;
}

void
us_sse_append (GString    *out,
               const char *event,
               const char *data)
{
  const char *p = data;

  if (event != NULL)
    g_string_append_printf (out, "event: %s\n", event);

  /* Every line of the payload needs its own "data:" prefix. */
  for (;;)
    {
      const char *nl = strchr (p, '\n');

      g_string_append (out, "data: ");
      if (nl == NULL)
        {
          g_string_append (out, p);
          break;
        }
      g_string_append_len (out, p, nl - p);
      g_string_append_c (out, '\n');
      p = nl + 1;
    }
  g_string_append (out, "\n\n");
}
