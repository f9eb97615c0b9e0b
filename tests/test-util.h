/* test-util.h: an HTTP client for the proxy under test, on the same main loop. */
#pragma once

#include <libsoup/soup.h>

#include "us-fake-provider.h"
#include "us-proxy.h"

#define TEST_TOKEN "test-token-0123456789abcdefghijklmnopqrstuvwxyz"
#define TEST_FALLBACK_KEY "sk-fallback-secret-key"

typedef struct _TestClient TestClient;

/* A started proxy for @config_json (which must be valid). */
UsProxy    *test_proxy_new     (const char         *config_json);

typedef struct {
  guint status;
  SoupMessageHeaders *headers;
  char *body;               /* NUL-terminated */
  gsize length;
} TestReply;

void        test_reply_free    (TestReply *reply);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TestReply, test_reply_free)

TestClient *test_client_new    (UsProxy            *proxy);
/* For a proxy in another process: @base is its client URL (…/t/TOKEN). */
TestClient *test_client_new_for_url (const char    *base);
void        test_client_free   (TestClient         *client);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TestClient, test_client_free)
/* @path goes after /t/<token>; @headers is name, value, ..., NULL. */
TestReply  *test_post          (TestClient         *client,
                                const char         *path,
                                const char         *body,
                                const char * const *headers);
/* Sends every body in @bodies (NULL-ended) at once on one session and
 * waits for all replies; @statuses gets each reply's status. */
void        test_post_concurrently (TestClient      *client,
                                const char         *path,
                                const char * const *bodies,
                                guint              *statuses);
TestReply  *test_get           (TestClient         *client,
                                const char         *path,
                                const char * const *headers);
/* Any request to any URL, for the security cases. */
TestReply  *test_send          (SoupMessage        *msg);
TestReply  *test_post_direct   (UsFakeProvider     *fake,
                                const char         *path,
                                const char         *body);
char       *test_proxy_url     (TestClient         *client,
                                const char         *path);
/* Runs the main context for @ms milliseconds. */
void        test_spin_ms       (guint               ms);
/* Replaces the ids a fake makes up per response (msg_…, toolu_…). */
char       *test_normalize_ids (const char         *text);

/* The text of an Anthropic stream's text deltas, joined. */
char       *test_stream_text   (const char         *sse);

/* A long-lived response read as it arrives (the events stream). */
typedef struct _TestStream TestStream;
TestStream *test_stream_open     (TestClient *client,
                                  const char *path);
void        test_stream_wait_for (TestStream *stream,
                                  const char *needle);
const char *test_stream_get_text (TestStream *stream);
void        test_stream_free     (TestStream *stream);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TestStream, test_stream_free)

/* A raw HTTP/1.1 connection to the proxy, for what a SoupSession hides:
 * keep-alive, reading slowly or not at all, closing at any moment. It
 * spins the main context while it waits. */
typedef struct _TestConn TestConn;
TestConn   *test_conn_new        (UsProxy    *proxy);
void        test_conn_free       (TestConn   *conn);
/* Sends a request to /t/<token>@path (with @body when not NULL). */
void        test_conn_request    (TestConn   *conn,
                                  const char *method,
                                  const char *path,
                                  const char *body);
void        test_conn_send       (TestConn   *conn,
                                  const char *data,
                                  gsize       len);
/* One whole response (Content-Length or chunked); the body de-chunked. */
TestReply  *test_conn_read_reply (TestConn   *conn);
GSocket    *test_conn_get_socket (TestConn   *conn);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TestConn, test_conn_free)

/* Deletes @path and everything under it (symbolic links, not their targets). */
void        test_remove_tree     (const char *path);
/* A config with @providers (JSON members of the array) and one chain of
 * provider "p", model "m" must be refused as invalid, its message holding
 * @message_part. */
void        test_assert_config_error (const char *providers,
                                      const char *message_part);

/* This process's open descriptors and resident memory. */
guint       test_count_fds       (void);
gsize       test_rss_kib         (void);
/* Spins the main context until @fds descriptors are open, for at most 5 s;
 * returns the count reached. */
guint       test_wait_for_fds    (guint       fds);
