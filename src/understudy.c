/* understudy.c: the command line: the app, the headless proxy and the subcommands. */
#include "config.h"

#include <glib-unix.h>
#include <glib/gi18n.h>
#include <libsoup/soup.h>
#include <locale.h>
#include <stdio.h>

#include <gtk/gtk.h>

#include "us-application.h"
#include "us-cli.h"
#include "us-config.h"
#include "us-proxy.h"

static const char usage[] =
  /* Translators: keep the commands and options as they are; translate
   * FILE and the descriptions, and keep the descriptions in one column. */
  N_("Usage:\n"
     "  understudy [--config FILE]                 the desktop app (proxy inside)\n"
     "  understudy --background [--config FILE]    the app without opening its window (start at login)\n"
     "  understudy --headless [--config FILE]      the proxy alone\n"
     "  understudy status [--json]                 what the running proxy is doing\n"
     "  understudy check-config [FILE]             validate a config, summarise its chains\n"
     "  understudy connect|disconnect CLIENT       claude-code, codex, opencode\n"
     "  understudy connect claude-code --statusline [--force]\n"
     "                                             and show Understudy in Claude Code's status line\n"
     "  understudy routing on|off|toggle           turn failover routing on or off\n"
     "  understudy keys set|add|delete PROVIDER    a provider's keys in the keyring (set, add read stdin)\n"
     "  understudy keys list                       how many keys each provider has (never the keys)\n"
     "  understudy providers                       the presets, their models, limits and prices\n"
     "  understudy explain [--client NAME] FILE    which rule, chain and models a request would get\n"
     "  understudy statusline                      one line for Claude Code's status line (JSON on stdin)\n");

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
                              a->reason ? a->reason : _("served"));
      if (a->dropped != NULL)
        {
          g_autofree char *notes = g_strjoinv (", ", a->dropped);

          g_string_append_printf (attempts, " [dropped: %s]", notes);
        }
    }
  g_print ("#%" G_GUINT64_FORMAT " %s %s → %s (%s)\n", us_request_entry_get_id (entry),
           us_request_entry_get_client (entry), us_request_entry_get_requested_model (entry),
           served ? served : _("failed"), attempts->str);
}

static void
on_recovered (UsHealth   *health,
              const char *provider,
              const char *model,
              gpointer    data)
{
  g_print (_("%s/%s is serving again\n"), provider, model);
}

static gboolean
on_quit_signal (gpointer data)
{
  g_main_loop_quit (data);
  return G_SOURCE_CONTINUE;
}

/* The proxy's access token is made once and saved before anything serves. */
static gboolean
ensure_token (UsConfig *config)
{
  g_autoptr(GError) error = NULL;

  if (us_config_ensure_token (config) &&
      !us_config_save (config, us_config_get_path (config), &error))
    {
      g_printerr (_("understudy: cannot save the new access token: %s\n"), error->message);
      return FALSE;
    }
  return TRUE;
}

static void
on_file_error (UsConfigStore *store,
               const char    *message,
               gpointer       data)
{
  g_printerr (_("understudy: %s (still running with the last valid configuration)\n"), message);
}

static int
run_headless (UsConfig *config)
{
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr(UsConfigStore) store = NULL;
  g_autoptr(UsProxy) proxy = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *url = NULL;

  if (!ensure_token (config))
    return 1;

  store = us_config_store_new (config);
  g_signal_connect (store, "file-error", G_CALLBACK (on_file_error), NULL);
  proxy = us_proxy_new_for_store (store);
  if (!us_proxy_start (proxy, &error))
    {
      g_printerr (_("understudy: cannot listen on %s:%u: %s\n"), us_config_get_host (config),
                  us_config_get_port (config), error->message);
      return 1;
    }
  /* From now on each routing change also rewires the connected clients,
   * after its save, in order. */
  url = us_proxy_dup_client_url (proxy);
  us_config_store_set_client_url (store, url);
  g_signal_connect (us_proxy_get_log (proxy), "entry-changed", G_CALLBACK (on_entry_changed), NULL);
  g_signal_connect (us_proxy_get_health (proxy), "recovered", G_CALLBACK (on_recovered), NULL);

  /* The token stays out of the output: `understudy status` shows the URL. */
  g_print (us_config_store_get_routing (store) ? _("Understudy is listening on http://%s:%u (routing on)\n")
                                                : _("Understudy is listening on http://%s:%u (routing off)\n"),
           us_config_get_host (config), us_proxy_get_port (proxy));

  g_unix_signal_add (SIGINT, on_quit_signal, loop);
  g_unix_signal_add (SIGTERM, on_quit_signal, loop);
  g_main_loop_run (loop);
  /* The last routing change reaches the file and the clients. */
  us_config_store_sync (store);
  return 0;
}

/* ---- The desktop app --------------------------------------------------- */

static int
run_app (UsConfig *config,
         char     *argv0,
         gboolean  background,
         gboolean  service)
{
  g_autoptr(UsApplication) app = NULL;
  /* Our own options are parsed already; GApplication sees only the one it
   * owns, from the D-Bus activation file. */
  char *app_argv[] = { argv0, service ? (char *) "--gapplication-service" : NULL, NULL };

  if (!gtk_init_check ())
    {
      g_printerr (_("understudy: no display found; run `understudy --headless` for the proxy alone\n"));
      return 1;
    }
  if (!ensure_token (config))
    return 1;

  app = us_application_new (config, background);
  return g_application_run (G_APPLICATION (app), service ? 2 : 1, app_argv);
}

/* ---- Argument parsing -------------------------------------------------- */

/* Pulls the global options out of argv wherever they stand, leaving the
 * subcommand and its arguments. */
static gboolean
take_global_options (GPtrArray  *args,
                     char      **config_path,
                     gboolean   *headless,
                     gboolean   *background,
                     gboolean   *service)
{
  for (guint i = 0; i < args->len;)
    {
      const char *arg = g_ptr_array_index (args, i);

      if (g_str_equal (arg, "--headless"))
        {
          *headless = TRUE;
          g_ptr_array_remove_index (args, i);
        }
      else if (g_str_equal (arg, "--background"))
        {
          *background = TRUE;
          g_ptr_array_remove_index (args, i);
        }
      else if (g_str_equal (arg, "--gapplication-service"))
        {
          *service = TRUE;
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

/* A tree installed under DESTDIR, or moved whole to another prefix, finds
 * the translations installed beside it; otherwise the configured LOCALEDIR. */
static char *
dup_locale_dir (void)
{
#ifdef BINDIR_TO_LOCALEDIR
  g_autofree char *exe = g_file_read_link ("/proc/self/exe", NULL);
  g_autofree char *bindir = exe ? g_path_get_dirname (exe) : NULL;
  g_autofree char *dir = bindir ? g_build_filename (bindir, BINDIR_TO_LOCALEDIR, NULL) : NULL;
  g_autofree char *canonical = dir ? g_canonicalize_filename (dir, NULL) : NULL;

  if (canonical != NULL && g_file_test (canonical, G_FILE_TEST_IS_DIR))
    return g_steal_pointer (&canonical);
#endif
  return g_strdup (LOCALEDIR);
}

static void
setup_gettext (void)
{
  g_autofree char *locale_dir = dup_locale_dir ();

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, locale_dir);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);
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
  gboolean background = FALSE;
  gboolean service = FALSE;
  const char *command;

  setup_gettext ();
  /* Scripts and journald read the request lines as they happen. */
  setvbuf (stdout, NULL, _IOLBF, 0);

  for (int i = 1; i < argc; i++)
    g_ptr_array_add (args, argv[i]);
  if (!take_global_options (args, &config_path, &headless, &background, &service))
    {
      g_printerr ("%s", _(usage));
      return 2;
    }
  command = args->len > 0 ? g_ptr_array_index (args, 0) : NULL;

  if (command != NULL && (g_str_equal (command, "--help") || g_str_equal (command, "-h") ||
                          g_str_equal (command, "help")))
    {
      g_print ("%s", _(usage));
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
    return headless ? run_headless (config) : run_app (config, argv[0], background, service);
  return us_cli_run (config, (const char * const *) args->pdata, args->len);
}
