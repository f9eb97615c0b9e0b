/* upstream.c: the fake provider for bench/peers.sh, in plain C.
 *
 *   upstream [--port N] [--status 200|429] [--deltas N] [--hold-ms MS]
 *
 * Answers every POST with one canned Anthropic Messages stream (chunked
 * SSE: message_start, content_block_start, ping, N content_block_delta,
 * content_block_stop, message_delta with usage, message_stop), or with
 * `429` and `retry-after: 0` when --status 429. Connections are kept alive.
 *
 * It is a single epoll loop with one pre-built answer, so that it costs
 * next to nothing per request: the tests' us-fake-provider (libsoup) spends
 * ~0.4 ms of CPU per request, which on 2 cores would cap every proxy at the
 * fake's speed rather than its own.
 *
 * --hold-ms sends everything up to the first content delta at once and the
 * rest MS later: streams stay open that long (the "256 streams open" case).
 *
 * Prints PORT=N once listening.
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

#define MAX_CONNS 4096
#define IN_SIZE 65536

typedef struct {
  int fd;
  char in[IN_SIZE];
  size_t in_len;
  long long hold_until;   /* ms; 0 = nothing held */
  const char *pending;    /* what to write once held time is up */
  size_t pending_len;
  const char *out;        /* a partial write still to finish */
  size_t out_len;
} Conn;

static Conn *conns[MAX_CONNS];
static char *head_part, *tail_part, *whole;
static size_t head_len, tail_len, whole_len;
static int hold_ms;

static long long
now_ms (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Appends one SSE event as one HTTP chunk. */
static void
add_event (char **buf, size_t *len, const char *name, const char *data)
{
  char *ev, *chunk;
  int n = asprintf (&ev, "event: %s\ndata: %s\n\n", name, data);
  int m = asprintf (&chunk, "%x\r\n%s\r\n", n, ev);

  *buf = realloc (*buf, *len + m + 1);
  memcpy (*buf + *len, chunk, m + 1);
  *len += m;
  free (ev);
  free (chunk);
}

static void
build_answer (int status, int deltas)
{
  if (status == 429)
    {
      const char *body = "{\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\",\"message\":\"slow down\"}}";
      whole_len = asprintf (&whole, "HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/json\r\n"
                                    "retry-after: 0\r\ncontent-length: %zu\r\n\r\n%s", strlen (body), body);
      return;
    }
  head_len = asprintf (&head_part, "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                                   "cache-control: no-cache\r\ntransfer-encoding: chunked\r\n\r\n");
  add_event (&head_part, &head_len, "message_start",
             "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_bench\",\"type\":\"message\",\"role\":\"assistant\","
             "\"model\":\"bench-model\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,"
             "\"usage\":{\"input_tokens\":12,\"output_tokens\":1}}}");
  add_event (&head_part, &head_len, "content_block_start",
             "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}");
  add_event (&head_part, &head_len, "ping", "{\"type\":\"ping\"}");
  tail_part = calloc (1, 1);
  for (int i = 0; i < deltas; i++)
    add_event (i == 0 ? &head_part : &tail_part, i == 0 ? &head_len : &tail_len, "content_block_delta",
               "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello from the bench. \"}}");
  add_event (&tail_part, &tail_len, "content_block_stop", "{\"type\":\"content_block_stop\",\"index\":0}");
  add_event (&tail_part, &tail_len, "message_delta",
             "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},"
             "\"usage\":{\"output_tokens\":24}}");
  add_event (&tail_part, &tail_len, "message_stop", "{\"type\":\"message_stop\"}");
  tail_part = realloc (tail_part, tail_len + 6);
  memcpy (tail_part + tail_len, "0\r\n\r\n", 6);
  tail_len += 5;
  whole = malloc (head_len + tail_len);
  memcpy (whole, head_part, head_len);
  memcpy (whole + head_len, tail_part, tail_len);
  whole_len = head_len + tail_len;
}

static void
drop (int ep, Conn *c)
{
  epoll_ctl (ep, EPOLL_CTL_DEL, c->fd, NULL);
  close (c->fd);
  conns[c->fd] = NULL;
  free (c);
}

/* Writes what it can; the rest waits for EPOLLOUT. */
static int
send_out (int ep, Conn *c, const char *p, size_t n)
{
  while (n > 0)
    {
      ssize_t w = send (c->fd, p, n, MSG_NOSIGNAL);
      if (w < 0)
        {
          if (errno == EAGAIN)
            {
              struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.fd = c->fd };
              c->out = p;
              c->out_len = n;
              epoll_ctl (ep, EPOLL_CTL_MOD, c->fd, &ev);
              return 0;
            }
          return -1;
        }
      p += w;
      n -= w;
    }
  return 0;
}

/* Length of one complete request at the start of in, or 0. */
static size_t
request_length (const char *in, size_t len)
{
  const char *end = memmem (in, len, "\r\n\r\n", 4);
  size_t hlen, body = 0;
  const char *p;

  if (end == NULL)
    return 0;
  hlen = end + 4 - in;
  for (p = in; p < end; p = memchr (p, '\n', end - p) + 1)
    {
      if (strncasecmp (p, "content-length:", 15) == 0)
        body = strtoul (p + 15, NULL, 10);
      else if (strncasecmp (p, "transfer-encoding:", 18) == 0)
        {
          /* Chunked request bodies: complete at the last chunk. */
          const char *last = memmem (end + 2, len - (end + 2 - in), "\r\n0\r\n\r\n", 7);
          return last ? (size_t) (last + 7 - in) : 0;
        }
      if (memchr (p, '\n', end - p) == NULL)
        break;
    }
  return len >= hlen + body ? hlen + body : 0;
}

static void
on_input (int ep, Conn *c)
{
  for (;;)
    {
      ssize_t n = recv (c->fd, c->in + c->in_len, IN_SIZE - c->in_len, 0);
      if (n == 0 || (n < 0 && errno != EAGAIN) || (n < 0 && c->in_len == IN_SIZE))
        {
          drop (ep, c);
          return;
        }
      if (n < 0)
        break;
      c->in_len += n;
    }
  for (;;)
    {
      size_t req = request_length (c->in, c->in_len);
      if (req == 0)
        return;
      memmove (c->in, c->in + req, c->in_len - req);
      c->in_len -= req;
      if (hold_ms > 0 && head_part != NULL)
        {
          if (send_out (ep, c, head_part, head_len) < 0)
            {
              drop (ep, c);
              return;
            }
          c->hold_until = now_ms () + hold_ms;
          c->pending = tail_part;
          c->pending_len = tail_len;
        }
      else if (send_out (ep, c, whole, whole_len) < 0)
        {
          drop (ep, c);
          return;
        }
    }
}

int
main (int argc, char *argv[])
{
  int port = 0, status = 200, deltas = 20, one = 1, lfd, ep;
  struct sockaddr_in addr = { .sin_family = AF_INET };
  socklen_t alen = sizeof addr;

  for (int i = 1; i + 1 < argc; i += 2)
    {
      if (strcmp (argv[i], "--port") == 0)
        port = atoi (argv[i + 1]);
      else if (strcmp (argv[i], "--status") == 0)
        status = atoi (argv[i + 1]);
      else if (strcmp (argv[i], "--deltas") == 0)
        deltas = atoi (argv[i + 1]);
      else if (strcmp (argv[i], "--hold-ms") == 0)
        hold_ms = atoi (argv[i + 1]);
      else
        {
          fprintf (stderr, "upstream: unknown option %s\n", argv[i]);
          return 2;
        }
    }
  signal (SIGPIPE, SIG_IGN);
  build_answer (status, deltas < 1 ? 1 : deltas);

  lfd = socket (AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  setsockopt (lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  addr.sin_port = htons (port);
  if (bind (lfd, (struct sockaddr *) &addr, sizeof addr) < 0 || listen (lfd, 1024) < 0)
    {
      perror ("upstream: listen");
      return 1;
    }
  getsockname (lfd, (struct sockaddr *) &addr, &alen);
  printf ("PORT=%d\n", ntohs (addr.sin_port));
  fflush (stdout);

  ep = epoll_create1 (0);
  {
    struct epoll_event ev = { .events = EPOLLIN, .data.fd = lfd };
    epoll_ctl (ep, EPOLL_CTL_ADD, lfd, &ev);
  }
  for (;;)
    {
      struct epoll_event evs[256];
      long long next = 0, t;
      int timeout = -1, n;

      if (hold_ms > 0)
        {
          t = now_ms ();
          for (int fd = 0; fd < MAX_CONNS; fd++)
            if (conns[fd] && conns[fd]->hold_until)
              {
                if (conns[fd]->hold_until <= t)
                  {
                    Conn *c = conns[fd];
                    c->hold_until = 0;
                    if (send_out (ep, c, c->pending, c->pending_len) < 0)
                      drop (ep, c);
                  }
                else if (next == 0 || conns[fd]->hold_until < next)
                  next = conns[fd]->hold_until;
              }
          if (next)
            timeout = (int) (next - t);
        }
      n = epoll_wait (ep, evs, 256, timeout);
      for (int i = 0; i < n; i++)
        {
          int fd = evs[i].data.fd;
          Conn *c;

          if (fd == lfd)
            {
              int cfd;
              while ((cfd = accept4 (lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0)
                {
                  struct epoll_event ev = { .events = EPOLLIN, .data.fd = cfd };
                  if (cfd >= MAX_CONNS)
                    {
                      close (cfd);
                      continue;
                    }
                  setsockopt (cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                  c = calloc (1, sizeof *c);
                  c->fd = cfd;
                  conns[cfd] = c;
                  epoll_ctl (ep, EPOLL_CTL_ADD, cfd, &ev);
                }
              continue;
            }
          c = conns[fd];
          if (c == NULL)
            continue;
          if ((evs[i].events & EPOLLOUT) && c->out_len > 0)
            {
              const char *p = c->out;
              size_t len = c->out_len;
              struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

              c->out_len = 0;
              epoll_ctl (ep, EPOLL_CTL_MOD, fd, &ev);
              if (send_out (ep, c, p, len) < 0)
                {
                  drop (ep, c);
                  continue;
                }
            }
          if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
            on_input (ep, c);
        }
    }
}
