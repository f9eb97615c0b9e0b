/* sse-source.c: an Anthropic Messages provider that streams one very long
 * answer, made on the fly, for the memory benchmark.
 *
 *   sse-source [--bytes N] [--delta D] [--per-write E]
 *
 * Every POST gets a streamed answer of N bytes of text (default 50 MB), in
 * text_delta events of D bytes (default 1000), E events per write
 * (default 16). The next write is made only once libsoup has written the
 * previous one, so the source never runs ahead of its reader: whatever
 * memory a proxy in between uses is its own. Prints PORT=<n> on line 1.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <libsoup/soup.h>
#include <stdio.h>
#include <string.h>

static gint64 total_bytes = 50 * 1000 * 1000;
static int delta_bytes = 1000, per_write = 16;
static char *delta_event;   /* one content_block_delta, text of delta_bytes */

typedef struct {
  gint64 left;              /* text bytes still to send */
  gboolean ended;
} Stream;

static void
append (SoupServerMessage *msg, const char *text, gsize len)
{
  soup_message_body_append (soup_server_message_get_response_body (msg), SOUP_MEMORY_COPY, text, len);
  soup_server_message_unpause (msg);
}

static void
on_wrote_chunk (SoupServerMessage *msg, gpointer data)
{
  Stream *st = data;
  GString *out;

  if (st->ended)
    return;
  if (st->left <= 0)
    {
      static const char end[] =
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
        "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\","
        "\"stop_sequence\":null},\"usage\":{\"output_tokens\":1000}}\n\n"
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";

      st->ended = TRUE;
      append (msg, end, strlen (end));
      soup_message_body_complete (soup_server_message_get_response_body (msg));
      return;
    }
  out = g_string_new (NULL);
  for (int i = 0; i < per_write && st->left > 0; i++, st->left -= delta_bytes)
    g_string_append (out, delta_event);
  append (msg, out->str, out->len);
  g_string_free (out, TRUE);
}

static void
handler (SoupServer *server, SoupServerMessage *msg, const char *path,
         GHashTable *query, gpointer data)
{
  static const char start[] =
    "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_bench\",\"type\":\"message\","
    "\"role\":\"assistant\",\"model\":\"bench\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,"
    "\"usage\":{\"input_tokens\":10,\"output_tokens\":1}}}\n\n"
    "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,"
    "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n";
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);
  Stream *st = g_new0 (Stream, 1);

  st->left = total_bytes;
  soup_server_message_set_status (msg, 200, NULL);
  soup_message_headers_set_content_type (headers, "text/event-stream", NULL);
  soup_message_headers_set_encoding (headers, SOUP_ENCODING_CHUNKED);
  soup_message_body_set_accumulate (soup_server_message_get_response_body (msg), FALSE);
  g_signal_connect_data (msg, "wrote-chunk", G_CALLBACK (on_wrote_chunk), st, (GClosureNotify) (void (*) (void)) g_free, 0);
  append (msg, start, strlen (start));
}

int
main (int argc, char *argv[])
{
  const GOptionEntry entries[] = {
    { "bytes", 'b', 0, G_OPTION_ARG_INT64, &total_bytes, "Answer text size (default 50000000)", "N" },
    { "delta", 'd', 0, G_OPTION_ARG_INT, &delta_bytes, "Text bytes per event (default 1000)", "D" },
    { "per-write", 'e', 0, G_OPTION_ARG_INT, &per_write, "Events per write (default 16)", "E" },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new ("- one very long streamed answer");
  g_autoptr(GError) error = NULL;
  g_autoptr(SoupServer) server = NULL;
  g_autofree char *text = NULL;
  GSList *uris;

  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error) || delta_bytes < 1 || per_write < 1 || total_bytes < 0)
    {
      g_printerr ("sse-source: %s\n", error ? error->message : "numbers must be positive");
      return 2;
    }
  text = g_strnfill (delta_bytes, 'x');
  delta_event = g_strdup_printf ("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
                                 "\"delta\":{\"type\":\"text_delta\",\"text\":\"%s\"}}\n\n", text);

  server = soup_server_new (NULL, NULL);
  soup_server_add_handler (server, NULL, handler, NULL, NULL);
  if (!soup_server_listen_local (server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error))
    {
      g_printerr ("sse-source: %s\n", error->message);
      return 1;
    }
  uris = soup_server_get_uris (server);
  printf ("PORT=%d\n", g_uri_get_port (uris->data));
  fflush (stdout);
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
  g_main_loop_run (g_main_loop_new (NULL, FALSE));
  return 0;
}
