/* load.c: a small load generator for streamed model requests.
 *
 *   load --url URL [--format anthropic|openai-chat] [--model NAME]
 *        [--requests N] [--concurrency C] [--warmup W] [--read-pause-ms MS]
 *        [--rate R] [--label NAME]
 *
 * POSTs a streaming request (stream: true) N times, C at a time, on one
 * GMainLoop with libsoup 3, and reads every answer to its end. Per request it
 * notes the time to the first body byte (TTFB: for a proxy that holds the
 * stream until the first content event, this is the first content) and the
 * total time. An answer counts as ok when its status is 200 and its stream
 * reached the format's final event (message_stop / [DONE]).
 *
 * Prints one line of key=value pairs (times in ms):
 *   label=… n=… ok=… ttfb_p50=… ttfb_p95=… total_p50=… total_p95=…
 *   rps=… mbps=… attempts=… bytes=…
 * attempts is the mean of the x-understudy-attempts header (0 when absent).
 *
 * Connections are kept alive and reused, as real clients do.
 *
 * --rate starts R requests a second on a fixed clock instead of keeping C in
 * flight (an open load, as a busy user's clients make it), for measuring
 * what a steady request rate costs the proxy's process.
 *
 * --read-pause-ms makes a slow client: it waits that long between two reads
 * of at most 16 KiB, to see whether a proxy buffers what the client has not
 * taken yet.
 *
 * Build: cc $(pkg-config --cflags libsoup-3.0) bench/load.c \
 *           $(pkg-config --libs libsoup-3.0) -o load
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <libsoup/soup.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define READ_SIZE 16384
#define TAIL 64

typedef struct {
  gint64 start, first, end; /* g_get_monotonic_time () */
  guint64 bytes;
  guint status;
  int attempts;
  gboolean complete;
} Sample;

typedef struct {
  SoupSession *session;
  GMainLoop *loop;
  const char *url;
  const char *format;
  const char *marker;       /* the stream's final event */
  GBytes *body;
  int read_pause_ms;
  int rate;                 /* requests started per second; 0 = closed loop */
  int total, started, finished, concurrency;
  Sample *samples;
} Run;

typedef struct {
  Run *run;
  Sample *s;
  SoupMessage *msg;
  GInputStream *stream;
  char buf[READ_SIZE];
  char tail[2 * TAIL + 1];
  gsize tail_len;
} Req;

static void start_one (Run *run);

/* The first few failures are told; the rest show in the ok count. */
static void
report_error (const char *what, const GError *error)
{
  static int n_errors;

  if (n_errors++ < 3)
    g_printerr ("load: %s: %s\n", what, error->message);
}

static void
req_done (Req *req)
{
  Run *run = req->run;

  req->s->end = g_get_monotonic_time ();
  req->s->complete = req->s->status == 200 && strstr (req->tail, run->marker) != NULL;
  g_clear_object (&req->stream);
  g_clear_object (&req->msg);
  g_free (req);

  run->finished++;
  if (run->rate == 0 && run->started < run->total)
    start_one (run);
  else if (run->finished == run->total)
    g_main_loop_quit (run->loop);
}

static void read_next (Req *req);

static gboolean
resume_read (gpointer data)
{
  read_next (data);
  return G_SOURCE_REMOVE;
}

static void
on_read (GObject *source, GAsyncResult *result, gpointer data)
{
  Req *req = data;
  g_autoptr(GError) error = NULL;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, &error);

  if (n <= 0)
    {
      if (n < 0)
        report_error ("read", error);
      req_done (req);
      return;
    }
  if (req->s->first == 0)
    req->s->first = g_get_monotonic_time ();
  req->s->bytes += n;

  /* Keep the last bytes to find the final event in. */
  {
    gsize take = MIN ((gsize) n, TAIL);

    if (req->tail_len + take > 2 * TAIL)
      {
        memmove (req->tail, req->tail + req->tail_len - TAIL, TAIL);
        req->tail_len = TAIL;
      }
    memcpy (req->tail + req->tail_len, req->buf + n - take, take);
    req->tail_len += take;
    req->tail[req->tail_len] = '\0';
  }

  if (req->run->read_pause_ms > 0)
    g_timeout_add (req->run->read_pause_ms, resume_read, req);
  else
    read_next (req);
}

static void
read_next (Req *req)
{
  g_input_stream_read_async (req->stream, req->buf, sizeof req->buf, G_PRIORITY_DEFAULT, NULL, on_read, req);
}

static void
on_sent (GObject *source, GAsyncResult *result, gpointer data)
{
  Req *req = data;
  g_autoptr(GError) error = NULL;
  const char *attempts;

  req->stream = soup_session_send_finish (SOUP_SESSION (source), result, &error);
  if (req->stream == NULL)
    {
      report_error ("send", error);
      req_done (req);
      return;
    }
  req->s->status = soup_message_get_status (req->msg);
  attempts = soup_message_headers_get_one (soup_message_get_response_headers (req->msg), "x-understudy-attempts");
  req->s->attempts = attempts ? atoi (attempts) : 0;
  read_next (req);
}

static void
start_one (Run *run)
{
  Req *req = g_new0 (Req, 1);
  SoupMessageHeaders *h;

  req->run = run;
  req->s = &run->samples[run->started++];
  req->msg = soup_message_new ("POST", run->url);
  h = soup_message_get_request_headers (req->msg);
  if (g_str_equal (run->format, "anthropic"))
    {
      soup_message_headers_replace (h, "anthropic-version", "2023-06-01");
      soup_message_headers_replace (h, "x-api-key", "bench");
    }
  else
    soup_message_headers_replace (h, "Authorization", "Bearer bench");
  /* libsoup opens a new connection for every POST unless told it may
   * reuse one; real clients (Node, Python SDKs) keep theirs alive. */
  soup_message_add_flags (req->msg, SOUP_MESSAGE_IDEMPOTENT);
  soup_message_set_request_body_from_bytes (req->msg, "application/json", run->body);
  req->s->start = g_get_monotonic_time ();
  soup_session_send_async (run->session, req->msg, G_PRIORITY_DEFAULT, NULL, on_sent, req);
}

static gboolean
on_tick (gpointer data)
{
  Run *run = data;

  if (run->started >= run->total)
    return G_SOURCE_REMOVE;
  start_one (run);
  return G_SOURCE_CONTINUE;
}

static void
run_batch (Run *run, int n)
{
  g_free (run->samples);
  run->samples = g_new0 (Sample, n);
  run->total = n;
  run->started = run->finished = 0;
  if (run->rate > 0 && n > 0)
    g_timeout_add (MAX (1000 / run->rate, 1), on_tick, run);
  else
    for (int i = 0; i < run->concurrency && run->started < run->total; i++)
      start_one (run);
  if (n > 0)
    g_main_loop_run (run->loop);
}

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

/* Nearest rank. */
static double
percentile (double *v, int n, double p)
{
  int rank = (int) (p * n + 0.999999);

  if (n == 0)
    return 0;
  return v[CLAMP (rank, 1, n) - 1];
}

int
main (int argc, char *argv[])
{
  char *url = NULL, *format = NULL, *model = NULL, *label = NULL;
  int requests = 100, concurrency = 4, warmup = 10, read_pause_ms = 0, rate = 0;
  const GOptionEntry entries[] = {
    { "url", 'u', 0, G_OPTION_ARG_STRING, &url, "Endpoint to POST to", "URL" },
    { "format", 'f', 0, G_OPTION_ARG_STRING, &format, "Request format (default anthropic)", "anthropic|openai-chat" },
    { "model", 'm', 0, G_OPTION_ARG_STRING, &model, "Model name in the request", "NAME" },
    { "requests", 'n', 0, G_OPTION_ARG_INT, &requests, "Measured requests (default 100)", "N" },
    { "concurrency", 'c', 0, G_OPTION_ARG_INT, &concurrency, "Requests in flight (default 4)", "C" },
    { "warmup", 'w', 0, G_OPTION_ARG_INT, &warmup, "Unmeasured requests first (default 10)", "W" },
    { "read-pause-ms", 0, 0, G_OPTION_ARG_INT, &read_pause_ms, "Pause between reads (slow client)", "MS" },
    { "rate", 'r', 0, G_OPTION_ARG_INT, &rate, "Requests started per second (open load)", "R" },
    { "label", 'l', 0, G_OPTION_ARG_STRING, &label, "Name printed with the figures", "NAME" },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new ("- streamed request load generator");
  g_autoptr(GError) error = NULL;
  Run run = { 0 };
  double *ttfb, *total;
  gint64 t0, t1;
  guint64 bytes = 0;
  int ok = 0, attempts = 0;
  char *json;

  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error) || url == NULL || requests < 1 || concurrency < 1)
    {
      g_printerr ("load: %s\n", error ? error->message : "--url is required; -n and -c take numbers >= 1");
      return 2;
    }
  run.url = url;
  run.format = format ? format : "anthropic";
  run.read_pause_ms = read_pause_ms;
  run.rate = MAX (rate, 0);
  run.concurrency = concurrency;
  run.marker = g_str_equal (run.format, "anthropic") ? "message_stop" : "[DONE]";
  json = g_strdup_printf ("{\"model\":\"%s\",\"max_tokens\":1024,\"stream\":true,"
                          "\"messages\":[{\"role\":\"user\",\"content\":\"Say something long.\"}]}",
                          model ? model : "bench-model");
  run.body = g_bytes_new_take (json, strlen (json));
  run.loop = g_main_loop_new (NULL, FALSE);
  /* An open load needs room for whatever is still in flight. */
  run.session = soup_session_new_with_options ("max-conns", (rate > 0 ? rate : concurrency) + 4,
                                               "max-conns-per-host", rate > 0 ? rate : concurrency,
                                               "timeout", 300, NULL);

  run_batch (&run, warmup);
  t0 = g_get_monotonic_time ();
  run_batch (&run, requests);
  t1 = g_get_monotonic_time ();

  ttfb = g_new (double, requests);
  total = g_new (double, requests);
  for (int i = 0; i < requests; i++)
    {
      Sample *s = &run.samples[i];

      ok += s->complete;
      bytes += s->bytes;
      attempts += s->attempts;
      ttfb[i] = s->first ? (s->first - s->start) / 1000.0 : (s->end - s->start) / 1000.0;
      total[i] = (s->end - s->start) / 1000.0;
    }
  qsort (ttfb, requests, sizeof *ttfb, cmp_double);
  qsort (total, requests, sizeof *total, cmp_double);

  printf ("label=%s n=%d ok=%d ttfb_p50=%.3f ttfb_p95=%.3f total_p50=%.3f total_p95=%.3f "
          "rps=%.1f mbps=%.2f attempts=%.2f bytes=%" G_GUINT64_FORMAT "\n",
          label ? label : "load", requests, ok,
          percentile (ttfb, requests, 0.50), percentile (ttfb, requests, 0.95),
          percentile (total, requests, 0.50), percentile (total, requests, 0.95),
          requests / ((t1 - t0) / 1e6), bytes / ((t1 - t0) / 1e6) / 1e6,
          (double) attempts / requests, bytes / requests);
  return ok == requests ? 0 : 1;
}
