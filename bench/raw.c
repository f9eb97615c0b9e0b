/* raw.c: a raw keep-alive HTTP/1.1 load client for bench/peers.sh.
 *
 *   raw --port N --path P [--header 'K: V']... [--body JSON]
 *       [--requests N] [--concurrency C] [--warmup W] [--rss-pid PID]
 *       [--max-seconds S]
 *
 * C connections to 127.0.0.1:N, each kept alive and sending its next POST
 * as soon as the last answer has ended; one epoll loop, no HTTP library, so
 * the client itself costs little and adds no latency of its own. No
 * coordinated-omission correction: a slow answer delays only the requests
 * behind it on its own connection.
 *
 * Per request: the time to the first byte of the body (the first streamed
 * event), to the first content event (`content_block_delta`), and to the end
 * of the answer. An answer is ok when its status is 200 and its stream holds
 * `message_stop`.
 *
 * --rss-pid reads PID's VmRSS each time more streams are open at once (first
 * event received, end not yet) than before: rss_open_kib at open_peak.
 *
 * --max-seconds starts no new request after S seconds (the slow targets
 * of a run then count fewer requests; n says how many).
 *
 * Prints one line of key=value pairs, times in microseconds:
 *   n ok ttfb_p50 ttfb_p99 ttfc_p50 ttfc_p99 total_p50 total_p99 rps open_peak rss_open_kib
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUF 65536

enum { HEAD, BODY_LENGTH, CHUNK_SIZE, CHUNK_DATA, CHUNK_END, TRAILER, BODY_CLOSE };

typedef struct {
  int fd, idx, state, status, close_after;
  long long remaining;
  char buf[BUF];
  size_t len;
  long long start, first, content, end;
  int found_stop;
  char tail[32];          /* last bytes of the body, for markers cut in two */
  size_t tail_len;
} Conn;

static int port, total, concurrency, started, finished, ok, rss_pid, open_now, open_peak;
static long rss_open_kib = -1;
static long long deadline;     /* µs; no new request after it (0: none) */
static char *request;
static size_t request_len;
static long long *ttfb, *ttfc, *elapsed;

static long long
now_us (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

static long
vm_rss (int pid)
{
  char path[64], line[256];
  long kib = -1;
  FILE *f;

  snprintf (path, sizeof path, "/proc/%d/status", pid);
  if ((f = fopen (path, "r")) == NULL)
    return -1;
  while (fgets (line, sizeof line, f))
    if (strncmp (line, "VmRSS:", 6) == 0)
      kib = atol (line + 6);
  fclose (f);
  return kib;
}

static int
connect_one (int ep, Conn *c)
{
  struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons (port) };
  struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
  int one = 1;

  addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  c->fd = socket (AF_INET, SOCK_STREAM, 0);
  if (c->fd < 0 || connect (c->fd, (struct sockaddr *) &addr, sizeof addr) < 0)
    {
      perror ("raw: connect");
      return -1;
    }
  setsockopt (c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  epoll_ctl (ep, EPOLL_CTL_ADD, c->fd, &ev);
  return 0;
}

static void
start_request (int ep, Conn *c)
{
  size_t off = 0;

  if (c->fd < 0 && connect_one (ep, c) < 0)
    exit (1);
  c->idx = started++;
  c->state = HEAD;
  c->len = c->tail_len = 0;
  c->status = c->found_stop = c->close_after = 0;
  c->first = c->content = 0;
  c->start = now_us ();
  while (off < request_len)
    {
      ssize_t w = send (c->fd, request + off, request_len - off, MSG_NOSIGNAL);
      if (w < 0)
        {
          perror ("raw: send");
          exit (1);
        }
      off += w;
    }
}

/* Looks for markers in body bytes, across read boundaries. */
static void
scan_body (Conn *c, const char *p, size_t n, long long t)
{
  char win[32 + 4096];
  size_t take;

  if (c->first == 0)
    c->first = t;
  while (n > 0)
    {
      take = n < 4096 ? n : 4096;
      memcpy (win, c->tail, c->tail_len);
      memcpy (win + c->tail_len, p, take);
      if (c->content == 0 && memmem (win, c->tail_len + take, "content_block_delta", 19))
        c->content = t;
      if (memmem (win, c->tail_len + take, "message_stop", 12))
        c->found_stop = 1;
      {
        size_t w = c->tail_len + take, keep = w < 24 ? w : 24;
        memcpy (c->tail, win + w - keep, keep);
        c->tail_len = keep;
      }
      p += take;
      n -= take;
    }
}

static void
finish_request (int ep, Conn *c)
{
  long long t = now_us ();

  if (c->idx >= 0)
    {
      ttfb[c->idx] = (c->first ? c->first : t) - c->start;
      ttfc[c->idx] = (c->content ? c->content : t) - c->start;
      elapsed[c->idx] = t - c->start;
      ok += c->status == 200 && c->found_stop;
      finished++;
    }
  if (c->close_after)
    {
      epoll_ctl (ep, EPOLL_CTL_DEL, c->fd, NULL);
      close (c->fd);
      c->fd = -1;
    }
  if (deadline && t > deadline && started < total)
    total = started;   /* time is up: finish what is in flight */
  if (started < total)
    start_request (ep, c);
  else
    c->idx = -1;
}

/* Consumes what is in c->buf; returns 1 when the answer ended. */
static int
parse (Conn *c, long long t)
{
  size_t pos = 0;
  int done = 0;

  while (pos < c->len && !done)
    {
      char *p = c->buf + pos, *eol;
      size_t avail = c->len - pos;

      switch (c->state)
        {
        case HEAD:
          {
            char *end = memmem (p, avail, "\r\n\r\n", 4), *line;
            if (end == NULL)
              goto keep;
            c->status = atoi (p + 9);
            c->remaining = -1;
            for (line = p; line < end; line = memchr (line, '\n', end - line + 2) + 1)
              {
                if (strncasecmp (line, "content-length:", 15) == 0)
                  c->remaining = atoll (line + 15);
                else if (strncasecmp (line, "transfer-encoding:", 18) == 0)
                  c->remaining = -2;
                else if (strncasecmp (line, "connection:", 11) == 0)
                  {
                    const char *v = line + 11;
                    while (*v == ' ')
                      v++;
                    if (strncasecmp (v, "close", 5) == 0)
                      c->close_after = 1;
                  }
              }
            pos += end + 4 - p;
            if (c->remaining == -2)
              c->state = CHUNK_SIZE;
            else if (c->remaining >= 0)
              {
                c->state = BODY_LENGTH;
                if (c->remaining == 0)
                  done = 1;
              }
            else
              c->state = BODY_CLOSE, c->close_after = 1;
            break;
          }
        case BODY_LENGTH:
          {
            size_t take = avail < (size_t) c->remaining ? avail : (size_t) c->remaining;
            scan_body (c, p, take, t);
            pos += take;
            c->remaining -= take;
            if (c->remaining == 0)
              done = 1;
            break;
          }
        case BODY_CLOSE:
          scan_body (c, p, avail, t);
          pos += avail;
          break;
        case CHUNK_SIZE:
          if ((eol = memmem (p, avail, "\r\n", 2)) == NULL)
            goto keep;
          c->remaining = strtoll (p, NULL, 16);
          pos += eol + 2 - p;
          c->state = c->remaining == 0 ? TRAILER : CHUNK_DATA;
          break;
        case CHUNK_DATA:
          {
            size_t take = avail < (size_t) c->remaining ? avail : (size_t) c->remaining;
            scan_body (c, p, take, t);
            pos += take;
            c->remaining -= take;
            if (c->remaining == 0)
              c->state = CHUNK_END;
            break;
          }
        case CHUNK_END:
          if (avail < 2)
            goto keep;
          pos += 2;
          c->state = CHUNK_SIZE;
          break;
        case TRAILER:
          if ((eol = memmem (p, avail, "\r\n", 2)) == NULL)
            goto keep;
          pos += eol + 2 - p;
          if (eol == p)
            done = 1;
          break;
        }
    }
keep:
  memmove (c->buf, c->buf + pos, c->len - pos);
  c->len -= pos;
  return done;
}

static int
cmp (const void *a, const void *b)
{
  long long x = *(const long long *) a, y = *(const long long *) b;
  return (x > y) - (x < y);
}

static long long
pct (long long *v, int n, double p)
{
  int rank = (int) (p * n + 0.999999);
  return n == 0 ? 0 : v[(rank < 1 ? 1 : rank > n ? n : rank) - 1];
}

/* Runs n requests, concurrency at a time, on the connections in conns. */
static void
run (int ep, Conn *conns, int n)
{
  total = n;
  started = finished = ok = open_now = open_peak = 0;
  for (int i = 0; i < concurrency && started < total; i++)
    start_request (ep, &conns[i]);
  while (finished < total)
    {
      struct epoll_event evs[512];
      int m = epoll_wait (ep, evs, 512, 60000);
      if (m == 0)
        {
          fprintf (stderr, "raw: no answer for 60 s (%d of %d done)\n", finished, total);
          exit (1);
        }
      for (int i = 0; i < m; i++)
        {
          Conn *c = evs[i].data.ptr;
          long long t = now_us ();
          ssize_t r = recv (c->fd, c->buf + c->len, BUF - c->len, 0);
          int had_first = c->first != 0, done;

          if (r <= 0)
            {
              if (c->state == BODY_CLOSE || r < 0 || c->idx >= 0)
                {
                  c->close_after = 1;
                  if (c->idx >= 0)
                    {
                      if (c->first)
                        open_now--;
                      finish_request (ep, c);
                    }
                }
              if (c->idx < 0 && c->fd >= 0)
                {
                  epoll_ctl (ep, EPOLL_CTL_DEL, c->fd, NULL);
                  close (c->fd);
                  c->fd = -1;
                }
              continue;
            }
          c->len += r;
          if (c->idx < 0)
            {
              c->len = 0;   /* nothing asked: ignore */
              continue;
            }
          done = parse (c, t);
          if (!had_first && c->first && ++open_now > open_peak)
            {
              /* The proxy's RSS when the most streams are open at once. */
              open_peak = open_now;
              if (rss_pid)
                rss_open_kib = vm_rss (rss_pid);
            }
          if (done)
            {
              if (c->first)
                open_now--;
              finish_request (ep, c);
            }
        }
    }
}

int
main (int argc, char *argv[])
{
  const char *path = "/v1/messages", *body = NULL;
  char headers[8192] = "";
  int requests = 1000, warmup = 100, ep;
  double max_seconds = 0;
  long long t0, t1;
  Conn *conns;

  concurrency = 1;
  for (int i = 1; i + 1 < argc; i += 2)
    {
      const char *k = argv[i], *v = argv[i + 1];
      if (strcmp (k, "--port") == 0)
        port = atoi (v);
      else if (strcmp (k, "--path") == 0)
        path = v;
      else if (strcmp (k, "--header") == 0)
        {
          strncat (headers, v, sizeof headers - strlen (headers) - 3);
          strcat (headers, "\r\n");
        }
      else if (strcmp (k, "--body") == 0)
        body = v;
      else if (strcmp (k, "--requests") == 0)
        requests = atoi (v);
      else if (strcmp (k, "--concurrency") == 0)
        concurrency = atoi (v);
      else if (strcmp (k, "--warmup") == 0)
        warmup = atoi (v);
      else if (strcmp (k, "--rss-pid") == 0)
        rss_pid = atoi (v);
      else if (strcmp (k, "--max-seconds") == 0)
        max_seconds = atof (v);
      else
        {
          fprintf (stderr, "raw: unknown option %s\n", k);
          return 2;
        }
    }
  if (port == 0 || requests < 1 || concurrency < 1)
    {
      fprintf (stderr, "raw: --port is required; --requests and --concurrency >= 1\n");
      return 2;
    }
  if (body == NULL)
    body = "{\"model\":\"bench-model\",\"max_tokens\":1024,\"stream\":true,"
           "\"messages\":[{\"role\":\"user\",\"content\":\"Say something.\"}]}";
  request_len = asprintf (&request, "POST %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                                    "content-type: application/json\r\naccept: text/event-stream\r\n"
                                    "%scontent-length: %zu\r\n\r\n%s",
                          path, port, headers, strlen (body), body);
  signal (SIGPIPE, SIG_IGN);
  ep = epoll_create1 (0);
  conns = calloc (concurrency, sizeof *conns);
  for (int i = 0; i < concurrency; i++)
    conns[i].fd = -1, conns[i].idx = -1;
  ttfb = calloc (requests + warmup, sizeof *ttfb);
  ttfc = calloc (requests + warmup, sizeof *ttfc);
  elapsed = calloc (requests + warmup, sizeof *elapsed);

  if (warmup > 0)
    run (ep, conns, warmup);
  rss_open_kib = -1;
  t0 = now_us ();
  if (max_seconds > 0)
    deadline = t0 + (long long) (max_seconds * 1e6);
  run (ep, conns, requests);
  t1 = now_us ();
  requests = total;   /* fewer when time ran out */

  qsort (ttfb, requests, sizeof *ttfb, cmp);
  qsort (ttfc, requests, sizeof *ttfc, cmp);
  qsort (elapsed, requests, sizeof *elapsed, cmp);
  printf ("n=%d ok=%d ttfb_p50=%lld ttfb_p99=%lld ttfc_p50=%lld ttfc_p99=%lld total_p50=%lld total_p99=%lld "
          "rps=%.0f open_peak=%d rss_open_kib=%ld\n",
          requests, ok, pct (ttfb, requests, .5), pct (ttfb, requests, .99), pct (ttfc, requests, .5),
          pct (ttfc, requests, .99), pct (elapsed, requests, .5), pct (elapsed, requests, .99),
          requests / ((t1 - t0) / 1e6), open_peak, rss_open_kib);
  return ok == requests ? 0 : 1;
}
