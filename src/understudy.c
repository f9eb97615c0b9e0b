/* understudy.c: the command line: the app, the headless proxy and the subcommands. */
#include <glib-unix.h>
#include <libsoup/soup.h>
#include <locale.h>
#include <stdio.h>

#include "us-cli.h"
#include "us-config.h"
#include "us-proxy.h"

static const char usage[] =
  "Usage:\n"
  "  understudy [--config FILE]                 the desktop app (proxy inside)\n"
  "  understudy --headless [--config FILE]      the proxy alone\n"
  "  understudy status [--json]                 what the running proxy is doing\n"
  "  understudy check-config [FILE]             validate a config, summarise its chains\n"
  "  understudy connect|disconnect CLIENT       claude-code, codex, opencode\n"
  "  understudy routing on|off\n";

/* ---- Headless ---------------------------------------------------------- */

/* One line per finished request, for a person watching the terminal.
 * Never a header or body: no secret can reach it. */
static void
on_entry_changed (UsRequestLog   *log,
                  UsRequestEntry *entry,
                  gpointer        data)
{
  UsRequestState state = us_request_entry_get_state (entry);
  g_autoptr(GString) attempts = g_string_new (NULL);
  const char *served = us_request_entry_get_served_model (entry);

  if ((state != US_REQUEST_DONE && state != US_REQUEST_FAILED) || g_object_get_data (G_OBJECT (entry), "us-printed"))
    return;
  g_object_set_data (G_OBJECT (entry), "us-printed", GINT_TO_POINTER (1));

  for (guint i = 0; i < us_request_entry_get_n_attempts (entry); i++)
    {
      const UsAttempt *a = us_request_entry_get_attempt (entry, i);
      g_string_append_printf (attempts, "%s%s/%s %s", i ? ", " : "", a->provider, a->model,
                              a->reason ? a->reason : "served");
      if (a->dropped != NULL)
        {
          g_autofree char *notes = g_strjoinv (", ", a->dropped);

          g_string_append_printf (attempts, " [dropped: %s]", notes);
        }
    }
  g_print ("#%" G_GUINT64_FORMAT " %s %s → %s (%s)\n", us_request_entry_get_id (entry),
           us_request_entry_get_client (entry), us_request_entry_get_requested_model (entry),
           served ? served : "failed", attempts->str);
}

static void
on_recovered (UsHealth   *health,
              const char *provider,
              const char *model,
              gpointer    data)
{
  g_print ("%s/%s is serving again\n", provider, model);
}

static gboolean
on_quit_signal (gpointer data)
{
  g_main_loop_quit (data);
  return G_SOURCE_CONTINUE;
}

static int
run_headless (UsConfig *config)
{
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr(UsProxy) proxy = NULL;
  g_autoptr(GError) error = NULL;

  if (us_config_ensure_token (config) &&
      !us_config_save (config, us_config_get_path (config), &error))
    {
      g_printerr ("understudy: cannot save the new access token: %s\n", error->message);
      return 1;
    }

  proxy = us_proxy_new (config);
  if (!us_proxy_start (proxy, &error))
    {
      g_printerr ("understudy: cannot listen on %s:%u: %s\n", us_config_get_host (config),
                  us_config_get_port (config), error->message);
      return 1;
    }
  us_cli_follow_routing (proxy);
  g_signal_connect (us_proxy_get_log (proxy), "entry-changed", G_CALLBACK (on_entry_changed), NULL);
  g_signal_connect (us_proxy_get_health (proxy), "recovered", G_CALLBACK (on_recovered), NULL);

  /* The token stays out of the output: `understudy status` shows the URL. */
  g_print ("Understudy is listening on http://%s:%u (routing %s)\n", us_config_get_host (config),
           us_proxy_get_port (proxy), us_config_get_routing (config) ? "on" : "off");

  g_unix_signal_add (SIGINT, on_quit_signal, loop);
  g_unix_signal_add (SIGTERM, on_quit_signal, loop);
  g_main_loop_run (loop);
  return 0;
}

/* ---- Argument parsing -------------------------------------------------- */

/* Pulls the global options out of argv wherever they stand, leaving the
 * subcommand and its arguments. */
static gboolean
take_global_options (GPtrArray  *args,
                     char      **config_path,
                     gboolean   *headless)
{
  for (guint i = 0; i < args->len;)
    {
      const char *arg = g_ptr_array_index (args, i);

      if (g_str_equal (arg, "--headless"))
        {
          *headless = TRUE;
          g_ptr_array_remove_index (args, i);
        }
      else if (g_str_equal (arg, "--config"))
        {
          if (i + 1 >= args->len)
            return FALSE;
          g_free (*config_path);
          *config_path = g_strdup (g_ptr_array_index (args, i + 1));
          g_ptr_array_remove_range (args, i, 2);
        }
      else if (g_str_has_prefix (arg, "--config="))
        {
          g_free (*config_path);
          *config_path = g_strdup (arg + strlen ("--config="));
          g_ptr_array_remove_index (args, i);
        }
      else
        i++;
    }
  return TRUE;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GPtrArray) args = g_ptr_array_new ();
  g_autofree char *config_path = NULL;
  g_autoptr(UsConfig) config = NULL;
  g_autoptr(GError) error = NULL;
  gboolean headless = FALSE;
  const char *command;

  setlocale (LC_ALL, "");
  /* Scripts and journald read the request lines as they happen. */
  setvbuf (stdout, NULL, _IOLBF, 0);

  for (int i = 1; i < argc; i++)
    g_ptr_array_add (args, argv[i]);
  if (!take_global_options (args, &config_path, &headless))
    {
      g_printerr ("%s", usage);
      return 2;
    }
  command = args->len > 0 ? g_ptr_array_index (args, 0) : NULL;

  if (command != NULL && (g_str_equal (command, "--help") || g_str_equal (command, "-h") ||
                          g_str_equal (command, "help")))
    {
      g_print ("%s", usage);
      return 0;
    }
  if (command != NULL && g_str_equal (command, "--version"))
    {
      g_print ("understudy %s\n", PACKAGE_VERSION);
      return 0;
    }

  /* check-config names its file as an argument too. */
  if (command != NULL && g_str_equal (command, "check-config") && args->len > 1)
    {
      g_free (config_path);
      config_path = g_strdup (g_ptr_array_index (args, 1));
    }
  if (config_path == NULL)
    config_path = us_config_default_path ();

  config = us_config_load (config_path, &error);
  if (config == NULL)
    {
      g_printerr ("understudy: %s\n", error->message);
      return 1;
    }

  if (command == NULL)
    {
      if (!headless)
        g_printerr ("understudy: this build has no desktop app yet; running headless\n");
      return run_headless (config);
    }
  return us_cli_run (config, (const char * const *) args->pdata, args->len);
}
