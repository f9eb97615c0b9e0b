/* us-fake-provider-main.c: the fake provider as a process, for tests that
 * drive real clients or SDKs from a shell or Node.
 *
 *   us-fake-provider --format anthropic|openai-chat|openai-responses
 *                    [--port N] [--script STEP[,STEP...]] [--default STEP]
 *                    [--text TEXT] [--tool-task FILE] [--log FILE]
 *                    [--require-key KEY] [--key KEY[=STEP]]... [--chunking awkward|event|whole|bytes]
 *                    [--chunk-delay MS] [--reset-style rst|fin]
 *                    [--signing-key KEY]
 *                    [--vertex PROJECT/REGION [--google-credentials FILE]
 *                     [--vertex-refuse-betas BETA[,BETA...]]]
 *
 * With --google-credentials it runs a Google token endpoint as well, writes
 * a service account for it (a new RSA key) to FILE, and takes only the
 * newest token that endpoint issued.
 * Prints "PORT=<n>" then "URL=http://127.0.0.1:<n>" and serves until
 * SIGTERM or SIGINT.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "us-fake-google-token.h"
#include "us-fake-provider.h"

#include <glib-unix.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

static gboolean
quit_cb (gpointer data)
{
  g_main_loop_quit (data);
  return G_SOURCE_CONTINUE;
}

static int
usage_error (GOptionContext *context,
             const char     *message)
{
  g_autofree char *help = g_option_context_get_help (context, TRUE, NULL);

  g_printerr ("us-fake-provider: %s\n\n%s", message, help);
  return 2;
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *format_name = NULL;
  g_autofree char *script = NULL;
  g_autofree char *default_step = NULL;
  g_autofree char *text = NULL;
  g_autofree char *tool_task = NULL;
  g_autofree char *log_path = NULL;
  g_autofree char *require_key = NULL;
  g_auto(GStrv) pool_keys = NULL;
  g_autofree char *chunking = NULL;
  g_autofree char *reset_style = NULL;
  g_autofree char *signing_key = NULL;
  g_autofree char *vertex = NULL;
  g_autofree char *google_credentials = NULL;
  g_autofree char *refuse_betas = NULL;
  g_autoptr(UsFakeGoogleToken) token = NULL;
  int port = 0;
  int chunk_delay = 1;
  const GOptionEntry entries[] = {
    { "format", 'f', 0, G_OPTION_ARG_STRING, &format_name, "Wire format to speak", "anthropic|openai-chat|openai-responses" },
    { "port", 'p', 0, G_OPTION_ARG_INT, &port, "Port on 127.0.0.1 (default: ephemeral)", "N" },
    { "script", 's', 0, G_OPTION_ARG_STRING, &script, "Steps for the next generation requests, in order", "STEP[,STEP...]" },
    { "default", 'd', 0, G_OPTION_ARG_STRING, &default_step, "Step once the script is used up (default: ok)", "STEP" },
    /* FILENAME: raw bytes, so UTF-8 text works whatever the locale. */
    { "text", 't', 0, G_OPTION_ARG_FILENAME, &text, "Answer text (UTF-8)", "TEXT" },
    { "tool-task", 0, 0, G_OPTION_ARG_FILENAME, &tool_task, "File the tool-task step asks to read (implies --default tool-task)", "FILE" },
    { "log", 'l', 0, G_OPTION_ARG_FILENAME, &log_path, "Append one JSON line per request", "FILE" },
    { "require-key", 0, 0, G_OPTION_ARG_FILENAME, &require_key, "Answer 401 to requests without this key", "KEY" },
    { "key", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &pool_keys, "Take this key too; with =STEP answer its requests so (repeatable)", "KEY[=STEP]" },
    { "chunking", 0, 0, G_OPTION_ARG_STRING, &chunking, "How streams are cut into writes (default: awkward)", "awkward|event|whole|bytes" },
    { "chunk-delay", 0, 0, G_OPTION_ARG_INT, &chunk_delay, "Milliseconds between two writes (default: 1)", "MS" },
    { "reset-style", 0, 0, G_OPTION_ARG_STRING, &reset_style, "How resets end the connection (default: rst)", "rst|fin" },
    { "signing-key", 0, 0, G_OPTION_ARG_FILENAME, &signing_key, "Think when asked, sign it with KEY, refuse what KEY did not sign", "KEY" },
    { "vertex", 0, 0, G_OPTION_ARG_STRING, &vertex, "Answer as Vertex AI for this project and region", "PROJECT/REGION" },
    { "google-credentials", 0, 0, G_OPTION_ARG_FILENAME, &google_credentials, "Issue Google tokens; write the service account here", "FILE" },
    { "vertex-refuse-betas", 0, 0, G_OPTION_ARG_STRING, &refuse_betas, "anthropic-beta values Vertex refuses", "BETA[,BETA...]" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("- fake model provider for tests");
  g_autoptr(GError) error = NULL;
  g_autoptr(UsFakeProvider) fake = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  UsFakeFormat format;
  guint sigterm_id, sigint_id;

  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_set_description (context,
    "Steps: ok, tool, tools2, NNN (any HTTP status), 429:RETRY_AFTER, reset, reset-mid,\n"
    "silence, silence-headers, error-before-content, tool-task, malformed.\n");
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return usage_error (context, error->message);
  if (format_name == NULL || !us_fake_format_from_string (format_name, &format))
    return usage_error (context, "--format must be anthropic, openai-chat or openai-responses");
  if (text != NULL && !g_utf8_validate (text, -1, NULL))
    return usage_error (context, "--text must be UTF-8");
  if (port < 0 || port > 65535 || chunk_delay < 0)
    return usage_error (context, "--port and --chunk-delay take a non-negative number");

  fake = us_fake_provider_new_on_port (format, (guint) port, &error);
  if (fake == NULL)
    {
      g_printerr ("us-fake-provider: cannot listen on 127.0.0.1:%d: %s\n", port, error->message);
      return 1;
    }

  if (script != NULL && !us_fake_provider_push_spec (fake, script, &error))
    return usage_error (context, error->message);
  if (tool_task != NULL)
    {
      us_fake_provider_set_tool_task_path (fake, tool_task);
      if (default_step == NULL)
        default_step = g_strdup ("tool-task");
    }
  if (default_step != NULL && !us_fake_provider_set_default_spec (fake, default_step, &error))
    return usage_error (context, error->message);
  if (text != NULL)
    us_fake_provider_set_text (fake, text);
  if (require_key != NULL)
    us_fake_provider_set_required_key (fake, require_key);
  for (guint i = 0; pool_keys != NULL && pool_keys[i] != NULL; i++)
    if (!us_fake_provider_add_key_spec (fake, pool_keys[i], &error))
      return usage_error (context, error->message);
  if (signing_key != NULL)
    us_fake_provider_set_signing_key (fake, signing_key);
  if (chunking != NULL)
    {
      UsFakeChunking mode;

      if (g_str_equal (chunking, "awkward"))
        mode = US_FAKE_CHUNKS_AWKWARD;
      else if (g_str_equal (chunking, "event"))
        mode = US_FAKE_CHUNKS_PER_EVENT;
      else if (g_str_equal (chunking, "whole"))
        mode = US_FAKE_CHUNKS_WHOLE;
      else if (g_str_equal (chunking, "bytes"))
        mode = US_FAKE_CHUNKS_BYTES;
      else
        return usage_error (context, "--chunking must be awkward, event, whole or bytes");
      us_fake_provider_set_chunking (fake, mode, (guint) chunk_delay);
    }
  else
    us_fake_provider_set_chunking (fake, US_FAKE_CHUNKS_AWKWARD, (guint) chunk_delay);
  if (reset_style != NULL)
    {
      if (!g_str_equal (reset_style, "rst") && !g_str_equal (reset_style, "fin"))
        return usage_error (context, "--reset-style must be rst or fin");
      us_fake_provider_set_reset_style (fake, g_str_equal (reset_style, "fin") ? US_FAKE_RESET_FIN
                                                                                : US_FAKE_RESET_RST);
    }
  if (vertex != NULL)
    {
      g_auto(GStrv) parts = g_strsplit (vertex, "/", 2);

      if (g_strv_length (parts) != 2 || format == US_FAKE_FORMAT_OPENAI_RESPONSES)
        return usage_error (context, "--vertex takes PROJECT/REGION, with --format anthropic or openai-chat");
      us_fake_provider_set_vertex (fake, parts[0], parts[1]);
    }
  if (refuse_betas != NULL)
    {
      g_auto(GStrv) betas = g_strsplit (refuse_betas, ",", -1);

      us_fake_provider_set_vertex_refused_betas (fake, (const char * const *) betas);
    }
  if (google_credentials != NULL)
    {
      g_autofree char *private_pem = NULL;
      g_autofree char *public_pem = NULL;
      g_autoptr(JsonBuilder) b = json_builder_new ();
      g_autoptr(JsonNode) root = NULL;
      g_autofree char *json = NULL;

      if (vertex == NULL)
        return usage_error (context, "--google-credentials goes with --vertex");
      token = us_fake_google_token_new ();
      us_fake_google_generate_key (&private_pem, &public_pem);
      us_fake_google_token_add_service_account (token, "fake@fake-project.iam.gserviceaccount.com", public_pem);
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "type");
      json_builder_add_string_value (b, "service_account");
      json_builder_set_member_name (b, "client_email");
      json_builder_add_string_value (b, "fake@fake-project.iam.gserviceaccount.com");
      json_builder_set_member_name (b, "private_key");
      json_builder_add_string_value (b, private_pem);
      json_builder_set_member_name (b, "token_uri");
      json_builder_add_string_value (b, us_fake_google_token_get_uri (token));
      json_builder_end_object (b);
      root = json_builder_get_root (b);
      json = json_to_string (root, TRUE);
      if (!g_file_set_contents_full (google_credentials, json, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, &error))
        {
          g_printerr ("us-fake-provider: %s\n", error->message);
          return 1;
        }
      /* Nothing is taken before the endpoint issued a token, then only the newest. */
      us_fake_provider_set_required_key (fake, "no-token-issued-yet");
      g_signal_connect_swapped (token, "token-issued", G_CALLBACK (us_fake_provider_set_required_key), fake);
    }
  if (log_path != NULL && !us_fake_provider_set_log_file (fake, log_path, &error))
    {
      g_printerr ("us-fake-provider: %s\n", error->message);
      return 1;
    }

  /* Line 1 is what scripts wait for: flush it before serving. */
  printf ("PORT=%u\nURL=%s\n", us_fake_provider_get_port (fake), us_fake_provider_get_base_url (fake));
  fflush (stdout);

  loop = g_main_loop_new (NULL, FALSE);
  sigterm_id = g_unix_signal_add (SIGTERM, quit_cb, loop);
  sigint_id = g_unix_signal_add (SIGINT, quit_cb, loop);
  g_main_loop_run (loop);
  g_source_remove (sigterm_id);
  g_source_remove (sigint_id);
  return 0;
}
