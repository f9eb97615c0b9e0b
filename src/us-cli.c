/* us-cli.c: the subcommands that talk to a running proxy or edit the config. */
#include "us-cli.h"
#include "us-cli-private.h"

#include <glib/gi18n.h>
#include <libsoup/soup.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "us-aws-credentials.h"
#include "us-config-store.h"
#include "us-connect.h"
#include "us-keyring.h"
#include "us-local-probe.h"
#include "us-presets.h"
#include "us-translate.h"
#include "us-upstream.h"

char *
us_cli_admin_url (UsConfig   *config,
                  const char *path)
{
  g_autofree char *base = us_config_dup_client_url (config, us_config_get_port (config));

  return g_strconcat (base, path, NULL);
}

/* The message of the proxy's own error body, if it has one. */
static char *
error_message (GBytes *reply)
{
  g_autoptr(JsonNode) root = us_translate_parse_json (reply, NULL);
  JsonObject *obj = root && JSON_NODE_HOLDS_OBJECT (root) ? json_node_get_object (root) : NULL;
  JsonNode *error = obj ? json_object_get_member (obj, "error") : NULL;

  if (error == NULL || !JSON_NODE_HOLDS_OBJECT (error))
    return NULL;
  return g_strdup (json_object_get_string_member_with_default (json_node_get_object (error), "message", NULL));
}

JsonNode *
us_cli_ask_running (UsConfig    *config,
                    const char  *method,
                    const char  *path,
                    const char  *body,
                    guint        timeout_s,
                    GError     **error)
{
  g_autoptr(SoupSession) session = soup_session_new_with_options ("timeout", timeout_s, NULL);
  g_autofree char *url = NULL;
  g_autoptr(SoupMessage) msg = NULL;
  g_autoptr(GBytes) reply = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();

  if (us_config_get_token (config) == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED, _("Understudy has never run"));
      return NULL;
    }
  url = us_cli_admin_url (config, path);
  msg = soup_message_new (method, url);
  if (body != NULL)
    {
      g_autoptr(GBytes) bytes = g_bytes_new (body, strlen (body));
      soup_message_set_request_body_from_bytes (msg, "application/json", bytes);
    }
  reply = soup_session_send_and_read (session, msg, NULL, error);
  if (reply == NULL)
    return NULL;
  if (soup_message_get_status (msg) == SOUP_STATUS_BAD_REQUEST)
    {
      g_autofree char *message = error_message (reply);

      if (message != NULL)
        {
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, message);
          return NULL;
        }
    }
  if (soup_message_get_status (msg) != SOUP_STATUS_OK)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, _("the running Understudy answered HTTP %u"),
                   soup_message_get_status (msg));
      return NULL;
    }
  if (!json_parser_load_from_data (parser, g_bytes_get_data (reply, NULL), g_bytes_get_size (reply), error))
    return NULL;
  return json_node_ref (json_parser_get_root (parser));
}

/* The subcommands that are over in a moment wait this long for an answer. */
#define ASK_TIMEOUT_S 5

static const char *
str_member (JsonObject *obj,
            const char *name)
{
  JsonNode *node = json_object_get_member (obj, name);

  return node && JSON_NODE_HOLDS_VALUE (node) ? json_node_get_string (node) : NULL;
}

/* RFC 3339 from the status API → local "HH:MM:SS" for a person. */
static char *
local_time (const char *iso)
{
  g_autoptr(GDateTime) utc = iso ? g_date_time_new_from_iso8601 (iso, NULL) : NULL;
  g_autoptr(GDateTime) local = utc ? g_date_time_to_local (utc) : NULL;

  return local ? g_date_time_format (local, "%H:%M:%S") : g_strdup ("?");
}

char *
us_cli_local_time (const char *iso)
{
  g_autoptr(GDateTime) utc = iso ? g_date_time_new_from_iso8601 (iso, NULL) : NULL;
  g_autoptr(GDateTime) local = utc ? g_date_time_to_local (utc) : NULL;
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();

  if (local == NULL)
    return g_strdup ("?");
  if (g_date_time_get_year (local) == g_date_time_get_year (now) &&
      g_date_time_get_day_of_year (local) == g_date_time_get_day_of_year (now))
    return g_date_time_format (local, "%H:%M:%S");
  return g_date_time_format (local, "%Y-%m-%d %H:%M");
}

/* A chain model's plan windows, e.g. "5h 97% (resets Tue 14:05), 7d 40% …". */
/* @key: which key of a pool the plan is, 0 = the model's own. */
static void
print_plan (JsonObject *plan,
            gint64      key)
{
  JsonArray *windows = json_object_get_array_member (plan, "windows");
  g_autoptr(GString) line = g_string_new (NULL);

  for (guint i = 0; i < json_array_get_length (windows); i++)
    {
      JsonObject *w = json_array_get_object_element (windows, i);
      g_autoptr(GDateTime) utc = str_member (w, "resets_at") ? g_date_time_new_from_iso8601 (str_member (w, "resets_at"), NULL) : NULL;
      g_autoptr(GDateTime) local = utc ? g_date_time_to_local (utc) : NULL;
      g_autofree char *when = local ? g_date_time_format (local, "%a %H:%M") : NULL;

      if (line->len > 0)
        g_string_append (line, ", ");
      g_string_append (line, str_member (w, "name"));
      if (json_object_has_member (w, "utilization"))
        g_string_append_printf (line, " %.0f%%", json_object_get_double_member (w, "utilization") * 100);
      if (when != NULL)
        /* Translators: when a plan window starts again, e.g. "Tue 14:05". */
        g_string_append_printf (line, _(" (resets %s)"), when);
    }
  if (str_member (plan, "status") != NULL)
    g_string_append_printf (line, line->len ? " — %s" : "%s", str_member (plan, "status"));
  if (str_member (plan, "representative_claim") != NULL)
    g_string_append_printf (line, _(", limited by %s"), str_member (plan, "representative_claim"));
  if (line->len > 0 && key > 0)
    /* Translators: the plan of one key of a provider's key pool. */
    g_print (_("       plan of key %d: %s\n"), (int) key, line->str);
  else if (line->len > 0)
    g_print (_("       plan: %s\n"), line->str);
}

static void
print_attempts (JsonArray *attempts)
{
  for (guint i = 0; i < json_array_get_length (attempts); i++)
    {
      JsonObject *a = json_array_get_object_element (attempts, i);
      const char *reason = str_member (a, "reason");
      gint64 key = json_object_get_int_member_with_default (a, "key", 0);
      /* Translators: which key of a provider's key pool, by its number. */
      g_autofree char *key_text = key > 0 ? g_strdup_printf (_(" (key %d)"), (int) key) : g_strdup ("");

      g_print ("      %u. %s/%s%s  %s\n", i + 1, str_member (a, "provider"), str_member (a, "model"), key_text,
               reason ? reason : _("served"));
    }
}

/* The keys of a model's pool that cool down or were refused, by number. */
static void
print_key_health (JsonObject *health)
{
  JsonArray *keys = json_object_has_member (health, "keys") ? json_object_get_array_member (health, "keys") : NULL;

  for (guint i = 0; keys != NULL && i < json_array_get_length (keys); i++)
    {
      JsonObject *k = json_array_get_object_element (keys, i);
      int key = (int) json_object_get_int_member_with_default (k, "key", 0);

      if (g_strcmp0 (str_member (k, "state"), "cooldown") == 0)
        {
          g_autofree char *until = local_time (str_member (k, "cooldown_until"));
          /* Translators: a key of a provider's key pool, by its number. */
          g_print (_("       key %d cooling down until %s (%s)\n"), key, until, str_member (k, "reason"));
        }
      else
        g_print (_("       key %d: %s\n"), key, str_member (k, "reason"));
    }
}

/* Today's and the last days' totals, and each model's day and week. */
static void
print_spend (JsonObject *spend)
{
  JsonObject *today = json_object_get_object_member (spend, "today");
  JsonArray *days = json_object_get_array_member (spend, "days");
  JsonArray *models = json_object_get_array_member (spend, "models");

  g_print (_("\nSpend today (%s): $%.4f, %lld requests, %lld tokens\n"), str_member (today, "date"),
           json_object_get_double_member (today, "usd"),
           (long long) json_object_get_int_member (today, "requests"),
           (long long) json_object_get_int_member (today, "tokens"));
  for (guint i = 0; i < json_array_get_length (models); i++)
    {
      JsonObject *m = json_array_get_object_element (models, i);
      JsonObject *day = json_object_get_object_member (m, "today");
      JsonObject *week = json_object_get_object_member (m, "week");
      g_autofree char *name = g_strdup_printf ("%s/%s", str_member (m, "provider"), str_member (m, "model"));

      g_print (_("  %-40s today $%.4f (%lld requests), this week $%.4f (%lld requests)\n"), name,
               json_object_get_double_member (day, "usd"), (long long) json_object_get_int_member (day, "requests"),
               json_object_get_double_member (week, "usd"), (long long) json_object_get_int_member (week, "requests"));
    }
  for (guint i = 1; i < json_array_get_length (days) && i < 8; i++)
    {
      JsonObject *d = json_array_get_object_element (days, i);

      g_print (_("  %s: $%.4f, %lld requests\n"), str_member (d, "date"), json_object_get_double_member (d, "usd"),
               (long long) json_object_get_int_member (d, "requests"));
    }
}

static void
print_status (UsConfig *config,
              JsonNode *status)
{
  JsonObject *root = json_node_get_object (status);
  JsonArray *chains = json_object_get_array_member (root, "chains");
  JsonArray *requests = json_object_get_array_member (root, "requests");
  g_autofree char *url = us_cli_admin_url (config, "");

  g_print ("%s\n", json_object_get_boolean_member (root, "routing")
                    ? _("Understudy is running — routing on")
                    : _("Understudy is running — routing off (primary only, no failover)"));
  g_print (_("Client base URL: %s\n\n"), url);

  for (guint i = 0; i < json_array_get_length (chains); i++)
    {
      JsonObject *chain = json_array_get_object_element (chains, i);
      JsonArray *models = json_object_get_array_member (chain, "models");

      g_print (_("Chain %s\n"), str_member (chain, "id"));
      for (guint j = 0; j < json_array_get_length (models); j++)
        {
          JsonObject *m = json_array_get_object_element (models, j);
          JsonObject *h = json_object_get_object_member (m, "health");
          g_autofree char *name = g_strdup_printf ("%s/%s", str_member (m, "provider"), str_member (m, "model"));
          const char *state = str_member (h, "state");

          if (g_strcmp0 (str_member (h, "circuit"), "open") == 0)
            {
              g_autofree char *at = local_time (str_member (h, "circuit_probe_at"));
              g_print (_("  %u. %-40s circuit open, probed again at %s\n"), j + 1, name, at);
            }
          else if (g_strcmp0 (str_member (h, "circuit"), "half-open") == 0)
            g_print (_("  %u. %-40s circuit half-open, a probe is testing it\n"), j + 1, name);
          else if (g_strcmp0 (state, "cooldown") == 0)
            {
              g_autofree char *until = local_time (str_member (h, "cooldown_until"));
              g_print (_("  %u. %-40s cooling down until %s (%s)\n"), j + 1, name, until, str_member (h, "reason"));
            }
          else if (g_strcmp0 (state, "problem") == 0)
            g_print ("  %u. %-40s %s\n", j + 1, name, str_member (h, "reason"));
          else
            g_print (_("  %u. %-40s ok\n"), j + 1, name);
          print_key_health (h);
          if (json_object_has_member (m, "plan"))
            print_plan (json_object_get_object_member (m, "plan"), 0);
          for (guint k = 0; json_object_has_member (m, "key_plans") &&
                            k < json_array_get_length (json_object_get_array_member (m, "key_plans")); k++)
            {
              JsonObject *kp = json_array_get_object_element (json_object_get_array_member (m, "key_plans"), k);

              print_plan (json_object_get_object_member (kp, "plan"), json_object_get_int_member (kp, "key"));
            }
        }
    }

  if (json_object_has_member (root, "spend"))
    print_spend (json_object_get_object_member (root, "spend"));

  g_print ("\n%s\n", _("Recent requests (newest first)"));
  if (json_array_get_length (requests) == 0)
    g_print ("  %s\n", _("none yet"));
  for (guint i = 0; i < json_array_get_length (requests) && i < 20; i++)
    {
      JsonObject *r = json_array_get_object_element (requests, i);
      const char *served = str_member (r, "served_model");
      g_autofree char *time = local_time (str_member (r, "time"));

      /* xgettext cannot read G_GINT64_FORMAT inside a message: long long instead. */
      g_print (_("  #%lld %s  %-11s %s → %s  [%s %lld]  in %lld / out %lld tokens\n"),
               (long long) json_object_get_int_member (r, "id"), time, str_member (r, "client"),
               str_member (r, "requested_model"), served ? served : _("(none)"), str_member (r, "state"),
               (long long) json_object_get_int_member (r, "status"),
               (long long) json_object_get_int_member (r, "input_tokens"),
               (long long) json_object_get_int_member (r, "output_tokens"));
      if (json_object_get_member (r, "cost_usd") != NULL && !json_object_get_null_member (r, "cost_usd"))
        g_print (_("    cost $%.6f\n"), json_object_get_double_member (r, "cost_usd"));
      if (json_object_has_member (r, "route"))
        {
          JsonObject *route = json_object_get_object_member (r, "route");

          /* Translators: how the request found its chain: "rules[0] (client claude-code) → chain main". */
          g_print (_("    route: %s → chain %s\n"), str_member (route, "match"), str_member (route, "chain"));
        }
      print_attempts (json_object_get_array_member (r, "attempts"));
    }
}

static void
print_clients (void)
{
  g_print ("%s\n", _("Clients"));
  for (UsClientId id = 0; id < US_CLIENT_N_CLIENTS; id++)
    {
      UsClientState state = us_client_get_state (id);
      g_autofree char *path = us_client_get_config_path (id);

      g_print ("  %-12s %-14s %s%s\n", us_client_id_to_string (id), us_client_state_to_string (state),
               state == US_CLIENT_STATE_CONNECTED ? path : "",
               state != US_CLIENT_STATE_CONNECTED && us_client_is_wanted (id) ? _("(restored while routing is off)") : "");
    }
}

static int
cmd_status (UsConfig          *config,
            const char * const *args,
            guint               n_args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) status = us_cli_ask_running (config, "GET", "/understudy/status", NULL, ASK_TIMEOUT_S, &error);
  gboolean json = n_args > 1 && g_str_equal (args[1], "--json");
  gboolean url_only = n_args > 1 && g_str_equal (args[1], "--url");

  if (status != NULL && url_only)
    {
      g_autofree char *url = us_cli_admin_url (config, "");
      g_print ("%s\n", url);
      return 0;
    }
  if (status == NULL)
    {
      if (!json)
        {
          g_print (_("Understudy is not running (%s). Start it with: understudy --headless\n\n"), error->message);
          print_clients ();
        }
      return 1;
    }
  if (json)
    {
      g_autofree char *text = json_to_string (status, TRUE);
      g_print ("%s\n", text);
      return 0;
    }
  print_status (config, status);
  g_print ("\n");
  print_clients ();
  return 0;
}

static int
cmd_check_config (UsConfig *config)
{
  g_autofree char *summary = us_config_summarize (config);

  g_print (_("%s: valid\n%s"), us_config_get_path (config) ? us_config_get_path (config) : "config", summary);
  return 0;
}

/* The URL clients are pointed at; a first run's new token is saved first so
 * that the proxy started later answers to it. */
static char *
client_url (UsConfig  *config,
            GError   **error)
{
  if (us_config_ensure_token (config) && !us_config_save (config, NULL, error))
    return NULL;
  return us_cli_admin_url (config, "");
}

/* "toggle" flips what the running instance does, else the saved choice. */
static gboolean
routing_wanted (UsConfig   *config,
                const char *arg)
{
  g_autoptr(JsonNode) status = NULL;

  if (!g_str_equal (arg, "toggle"))
    return g_str_equal (arg, "on");
  status = us_cli_ask_running (config, "GET", "/understudy/status", NULL, ASK_TIMEOUT_S, NULL);
  if (status != NULL && JSON_NODE_HOLDS_OBJECT (status))
    return !json_object_get_boolean_member_with_default (json_node_get_object (status), "routing", FALSE);
  return !us_config_get_routing (config);
}

static void
on_file_error (UsConfigStore *store,
               const char    *message,
               char         **out)
{
  g_free (*out);
  *out = g_strdup (message);
}

static int
cmd_routing (UsConfig          *config,
             const char * const *args,
             guint               n_args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) reply = NULL;
  g_autofree char *url = NULL;
  g_autoptr(UsConfigStore) store = NULL;
  g_autofree char *save_error = NULL;
  gboolean on;

  if (n_args != 2 || !g_strv_contains ((const char * const[]) { "on", "off", "toggle", NULL }, args[1]))
    {
      g_printerr (_("Usage: understudy routing on|off|toggle\n"));
      return 2;
    }
  on = routing_wanted (config, args[1]);

  reply = us_cli_ask_running (config, "POST", "/understudy/routing", on ? "{\"routing\":true}" : "{\"routing\":false}",
                              ASK_TIMEOUT_S, &error);
  if (reply != NULL)
    {
      g_print ("%s\n", on ? _("Routing is on in the running Understudy.") : _("Routing is off in the running Understudy."));
      return 0;
    }

  /* Nothing runs: the choice is saved for the next start, and the clients
   * are rewired here and now. */
  g_clear_error (&error);
  url = client_url (config, &error);
  if (url == NULL)
    {
      g_printerr ("understudy: %s\n", error->message);
      return 1;
    }
  store = us_config_store_new (config);
  g_signal_connect (store, "file-error", G_CALLBACK (on_file_error), &save_error);
  us_config_store_set_routing (store, on);
  us_config_store_sync (store);
  /* The save's outcome arrives on the main context. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  if (save_error != NULL || !us_clients_apply_routing (on, url, &error))
    {
      g_printerr ("understudy: %s\n", save_error != NULL ? save_error : error->message);
      return 1;
    }
  g_print ("%s\n", on ? _("Routing is on (saved; Understudy is not running).")
                      : _("Routing is off (saved; Understudy is not running)."));
  return 0;
}

/* The command Claude Code runs for its status line: this binary (by name
 * when PATH finds it), with the config it was given. */
static char *
statusline_command (UsConfig *config)
{
  g_autofree char *exe = g_file_read_link ("/proc/self/exe", NULL);
  g_autofree char *on_path = g_find_program_in_path ("understudy");
  g_autofree char *on_path_real = on_path ? g_file_read_link (on_path, NULL) : NULL;
  g_autofree char *default_config = us_config_default_path ();
  const char *config_path = us_config_get_path (config);
  GString *command = g_string_new (NULL);

  /* Inside Flatpak the binary's path means nothing to Claude Code. */
  if (g_getenv ("FLATPAK_ID") != NULL)
    g_string_append_printf (command, "flatpak run --command=understudy %s", g_getenv ("FLATPAK_ID"));
  else if (on_path != NULL && exe != NULL &&
           (g_strcmp0 (on_path, exe) == 0 || g_strcmp0 (on_path_real, exe) == 0))
    g_string_append (command, "understudy");
  else
    {
      g_autofree char *quoted = g_shell_quote (exe ? exe : "understudy");
      g_string_append (command, quoted);
    }
  if (config_path != NULL && g_strcmp0 (config_path, default_config) != 0)
    {
      g_autofree char *absolute = g_canonicalize_filename (config_path, NULL);
      g_autofree char *quoted = g_shell_quote (absolute);

      g_string_append_printf (command, " --config %s", quoted);
    }
  g_string_append (command, " statusline");
  return g_string_free (command, FALSE);
}

static int
cmd_connect (UsConfig          *config,
             const char * const *args,
             guint               n_args)
{
  gboolean connect = g_str_equal (args[0], "connect");
  g_autoptr(GError) error = NULL;
  g_autofree char *url = NULL;
  g_autofree char *path = NULL;
  g_autofree char *command = NULL;
  const char *client = NULL;
  gboolean statusline = FALSE, force = FALSE, usage = FALSE;
  UsClientId id;

  for (guint i = 1; i < n_args; i++)
    {
      if (connect && g_str_equal (args[i], "--statusline"))
        statusline = TRUE;
      else if (connect && g_str_equal (args[i], "--force"))
        force = TRUE;
      else if (client == NULL && args[i][0] != '-')
        client = args[i];
      else
        usage = TRUE;
    }
  if (usage || client == NULL || !us_client_id_from_string (client, &id) ||
      (statusline && id != US_CLIENT_CLAUDE_CODE))
    {
      if (connect)
        /* Translators: keep the command and its options. */
        g_printerr (_("Usage: understudy connect claude-code|codex|opencode\n"
                      "       understudy connect claude-code --statusline [--force]\n"));
      else
        g_printerr (_("Usage: understudy %s claude-code|codex|opencode\n"), args[0]);
      return 2;
    }
  path = us_client_get_config_path (id);

  if (!connect)
    {
      if (!us_client_disconnect (id, &error))
        {
          g_printerr ("understudy: %s\n", error->message);
          return 1;
        }
      g_print (_("%s is disconnected: %s is as it was.\n"), us_client_id_get_display_name (id), path);
      return 0;
    }

  url = client_url (config, &error);
  if (statusline && url != NULL)
    command = statusline_command (config);
  if (url == NULL || !(statusline ? us_client_connect_statusline (id, url, command, force, &error)
                                  : us_client_connect (id, url, &error)))
    {
      g_printerr ("understudy: %s\n", error->message);
      return 1;
    }
  g_print (_("%s is connected: %s points at Understudy (the original is backed up next to it;\n"
             "`understudy disconnect %s` puts it back).\n"),
           us_client_id_get_display_name (id), path, us_client_id_to_string (id));
  if (statusline)
    /* Translators: %s is the command Claude Code runs. */
    g_print (_("Its status line runs: %s\n"), command);
  return 0;
}

/* ---- Keys -------------------------------------------------------------- */

/* The command line waits on the keyring's asynchronous calls here. */
static void
on_keyring_done (GObject      *source,
                 GAsyncResult *result,
                 gpointer      data)
{
  GAsyncResult **out = data;

  *out = g_object_ref (result);
}

static GAsyncResult *
wait_for (GAsyncResult **slot)
{
  while (*slot == NULL)
    g_main_context_iteration (NULL, TRUE);
  return *slot;
}

/* A GString holding a key: wiped before it is freed. */
typedef GString UsKeyString;

static void
wipe_string (UsKeyString *string)
{
  explicit_bzero (string->str, string->allocated_len);
  g_string_free (string, TRUE);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (UsKeyString, wipe_string)

/* The key from a pipe, or typed at a prompt that does not echo it. */
static UsKeyString *
read_key (const char  *provider_id,
          GError     **error)
{
  g_autoptr(UsKeyString) key = g_string_sized_new (1024);  /* no realloc leaves copies behind */
  gboolean tty = isatty (STDIN_FILENO);
  struct termios saved, quiet;
  int c;

  if (tty)
    {
      if (tcgetattr (STDIN_FILENO, &saved) != 0)
        {
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), _("cannot read the terminal: %s"),
                       g_strerror (errno));
          return NULL;
        }
      quiet = saved;
      quiet.c_lflag &= ~(tcflag_t) ECHO;
      quiet.c_lflag |= ECHONL;
      /* Echo goes off before the prompt shows, so nothing typed after it
       * can be echoed (or flushed away). */
      tcsetattr (STDIN_FILENO, TCSAFLUSH, &quiet);
      /* Translators: the prompt for a key typed at a terminal; %s is a provider id. */
      g_printerr (_("Key for %s (not shown): "), provider_id);
    }
  /* A terminal gives one line; a pipe may end with a newline or not. */
  while ((c = getchar ()) != EOF && !(tty && c == '\n'))
    g_string_append_c (key, (char) c);
  if (tty)
    tcsetattr (STDIN_FILENO, TCSAFLUSH, &saved);

  while (key->len > 0 && g_ascii_isspace (key->str[key->len - 1]))
    g_string_truncate (key, key->len - 1);
  if (key->len == 0)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, _("the key is empty; nothing was stored"));
      return NULL;
    }
  if (strchr (key->str, '\n') != NULL || strchr (key->str, '\r') != NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           _("the key has more than one line; give only the key"));
      return NULL;
    }
  return g_steal_pointer (&key);
}

/* Tells a running instance to read @provider_id's key again; none
 * running is fine (it reads the keyring when it starts). */
static gboolean
tell_running (UsConfig   *config,
              const char *provider_id)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) body = NULL;
  g_autoptr(JsonNode) reply = NULL;
  g_autofree char *text = NULL;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "provider");
  json_builder_add_string_value (b, provider_id);
  json_builder_end_object (b);
  body = json_builder_get_root (b);
  text = json_to_string (body, FALSE);
  reply = us_cli_ask_running (config, "POST", "/understudy/keys", text, ASK_TIMEOUT_S, NULL);
  return reply != NULL;
}

static const UsProviderConfig *
key_provider (UsConfig    *config,
              const char  *provider_id,
              GError     **error)
{
  const UsProviderConfig *provider = us_config_lookup_provider (config, provider_id);
  const char *path = us_config_get_path (config) ? us_config_get_path (config) : _("the config");

  if (provider == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, _("no provider “%s” in %s"), provider_id, path);
      return NULL;
    }
  if (!us_upstream_takes_key (provider))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   /* Translators: "auth: key" is a setting in the configuration file: keep it. */
                   _("provider “%s” uses auth: %s; only auth: key providers take a key"), provider_id,
                   us_auth_mode_to_string (provider->auth));
      return NULL;
    }
  return provider;
}

static int
keys_set (UsConfig   *config,
          const char *provider_id)
{
  g_autoptr(UsKeyring) keyring = us_keyring_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(UsKeyString) key = NULL;
  const UsProviderConfig *provider = key_provider (config, provider_id, &error);

  if (provider == NULL || (key = read_key (provider_id, &error)) == NULL)
    {
      g_printerr ("understudy: %s\n", error->message);
      return 1;
    }
  /* auth: aws keeps the AWS credentials' JSON form: refused here rather
   * than at the first request. */
  if (provider->auth == US_AUTH_AWS)
    {
      g_autoptr(UsAwsKeys) keys = us_aws_keys_parse (key->str, &error);

      if (keys == NULL)
        {
          g_printerr ("understudy: %s\n", error->message);
          return 1;
        }
    }
  us_keyring_store_async (keyring, provider_id, key->str, NULL, on_keyring_done, &result);
  if (!us_keyring_store_finish (keyring, wait_for (&result), &error))
    {
      g_printerr ("understudy: %s\n", error->message);
      return 1;
    }
  g_print (tell_running (config, provider_id) ? _("Stored the key for %s in the keyring; the running Understudy uses it now.\n")
                                              : _("Stored the key for %s in the keyring.\n"),
           provider_id);
  return 0;
}

/* One more key in the provider's pool: tried when the keys before it hit
 * their limit or are refused. */
static int
keys_add (UsConfig   *config,
          const char *provider_id)
{
  g_autoptr(UsKeyring) keyring = us_keyring_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(UsKeyString) key = NULL;
  guint position = 0;

  if (key_provider (config, provider_id, &error) == NULL || (key = read_key (provider_id, &error)) == NULL)
    {
      g_printerr ("understudy: %s\n", error->message);
      return 1;
    }
  us_keyring_add_async (keyring, provider_id, key->str, NULL, on_keyring_done, &result);
  if (!us_keyring_add_finish (keyring, wait_for (&result), &position, &error))
    {
      g_printerr ("understudy: %s\n", error->message);
      return 1;
    }
  g_print (tell_running (config, provider_id)
           ? _("Added key %u for %s to the keyring; the running Understudy uses it now.\n")
           : _("Added key %u for %s to the keyring.\n"),
           position, provider_id);
  return 0;
}

/* @position 0: every key of the provider. */
static int
keys_delete (UsConfig   *config,
             const char *provider_id,
             guint       position)
{
  g_autoptr(UsKeyring) keyring = us_keyring_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  gboolean told;

  if (position > 0)
    us_keyring_delete_nth_async (keyring, provider_id, position, NULL, on_keyring_done, &result);
  else
    us_keyring_delete_async (keyring, provider_id, NULL, on_keyring_done, &result);
  if (position > 0 ? !us_keyring_delete_nth_finish (keyring, wait_for (&result), &error)
                   : !us_keyring_delete_finish (keyring, wait_for (&result), &error))
    {
      g_printerr ("understudy: %s\n", error->message);
      return 1;
    }
  told = tell_running (config, provider_id);
  if (position > 0)
    g_print (told ? _("Deleted key %u of %s; the keys after it moved up one; the running Understudy knows.\n")
                  : _("Deleted key %u of %s; the keys after it moved up one.\n"),
             position, provider_id);
  else
    g_print (told ? _("The keyring holds no key for %s now; the running Understudy knows.\n")
                  : _("The keyring holds no key for %s now.\n"),
             provider_id);
  return 0;
}

static int
keys_list (UsConfig *config)
{
  GPtrArray *providers = us_config_get_providers (config);
  g_autoptr(UsKeyring) keyring = us_keyring_new ();
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) ids = NULL;
  gboolean loaded;

  for (guint i = 0; i < providers->len; i++)
    {
      const UsProviderConfig *provider = g_ptr_array_index (providers, i);

      if (us_upstream_takes_key (provider))
        g_strv_builder_add (builder, provider->id);
    }
  ids = g_strv_builder_end (builder);
  if (ids[0] == NULL)
    {
      /* Translators: "auth: key" is a setting in the configuration file: keep it. */
      g_print (_("No provider in %s uses auth: key.\n"), us_config_get_path (config) ? us_config_get_path (config) : _("the config"));
      return 0;
    }

  us_keyring_load_async (keyring, (const char * const *) ids, NULL, on_keyring_done, &result);
  loaded = us_keyring_load_finish (keyring, wait_for (&result), &error);
  if (!loaded)
    g_print ("%s\n\n", error->message);

  for (guint i = 0; i < providers->len; i++)
    {
      const UsProviderConfig *provider = g_ptr_array_index (providers, i);
      const char *env = provider->key_env ? g_getenv (provider->key_env) : NULL;
      guint n = us_keyring_get_n_keys (keyring, provider->id);
      guint n_env = 0;

      if (!us_upstream_takes_key (provider))
        continue;
      for (guint k = 0; provider->key_envs != NULL && provider->key_envs[k] != NULL; k++)
        {
          const char *value = g_getenv (provider->key_envs[k]);

          n_env += value != NULL && *value != '\0';
        }
      /* Whether there are keys, how many and where from, never the keys. */
      if (n > 0)
        g_print (ngettext ("  %-20s %u key in the keyring\n", "  %-20s %u keys in the keyring\n", n),
                 provider->id, n);
      else if (loaded && n_env > 1)
        g_print (_("  %-20s no key in the keyring; %u of its key_env variables are set\n"), provider->id, n_env);
      else if (!loaded && env != NULL && *env != '\0')
        g_print (_("  %-20s keyring not readable; $%s is set\n"), provider->id, provider->key_env);
      else if (!loaded && provider->key_env != NULL)
        g_print (_("  %-20s keyring not readable; $%s is not set either\n"), provider->id, provider->key_env);
      else if (!loaded)
        g_print (_("  %-20s keyring not readable\n"), provider->id);
      else if (env != NULL && *env != '\0')
        g_print (_("  %-20s no key in the keyring; $%s is set\n"), provider->id, provider->key_env);
      else if (provider->key_env != NULL)
        g_print (_("  %-20s no key: run `understudy keys set %s`, or set $%s\n"), provider->id, provider->id,
                 provider->key_env);
      else
        g_print (_("  %-20s no key: run `understudy keys set %s`\n"), provider->id, provider->id);
    }
  return 0;
}

static int
cmd_keys (UsConfig          *config,
          const char * const *args,
          guint               n_args)
{
  if (n_args == 3 && g_str_equal (args[1], "set"))
    return keys_set (config, args[2]);
  if (n_args == 3 && g_str_equal (args[1], "add"))
    return keys_add (config, args[2]);
  if (n_args == 3 && g_str_equal (args[1], "delete"))
    return keys_delete (config, args[2], 0);
  if (n_args == 4 && g_str_equal (args[1], "delete"))
    {
      guint64 position = 0;

      if (!g_ascii_string_to_unsigned (args[3], 10, 1, G_MAXUINT, &position, NULL))
        {
          /* Translators: keep the command; N is a key's number. */
          g_printerr (_("understudy: “%s” is not a key number (1, 2, …; see `understudy keys list`)\n"), args[3]);
          return 2;
        }
      return keys_delete (config, args[2], (guint) position);
    }
  if (n_args == 2 && g_str_equal (args[1], "list"))
    return keys_list (config);
  /* Translators: keep the commands; translate PROVIDER. */
  g_printerr (_("Usage: understudy keys set|add PROVIDER\n"
                "       understudy keys delete PROVIDER [N]\n"
                "       understudy keys list\n"));
  return 2;
}

/* ---- providers -------------------------------------------------------- */

static void
print_count (gint64 value,
             int    width)
{
  if (value > 0)
    g_print (" %*" G_GINT64_FORMAT, width, value);
  else
    g_print (" %*s", width, "-");
}

static void
print_price (double value,
             int    width)
{
  if (value >= 0)
    g_print (" %*.2f", width, value);
  else
    g_print (" %*s", width, "-");
}

/* The columns are as wide as their translated headings. */
static void
print_model_table (const UsPreset *preset)
{
  const char *headings[] = {
    /* Translators: column headings of the model table (prices per million tokens). */
    _("model"), _("context"), _("output"), _("input $"), _("output $"), _("cache read $"), _("cache write $"),
  };
  int widths[G_N_ELEMENTS (headings)];
  int id_width = (int) g_utf8_strlen (headings[0], -1);

  for (const UsPresetModel *m = preset->models; m->id != NULL; m++)
    id_width = MAX (id_width, (int) strlen (m->id));
  for (guint i = 0; i < G_N_ELEMENTS (headings); i++)
    widths[i] = MAX ((int) g_utf8_strlen (headings[i], -1), 7);

  g_print ("    %-*s", id_width, headings[0]);
  for (guint i = 1; i < G_N_ELEMENTS (headings); i++)
    g_print (" %*s", widths[i] + (int) (strlen (headings[i]) - g_utf8_strlen (headings[i], -1)), headings[i]);
  g_print ("\n");
  for (const UsPresetModel *m = preset->models; m->id != NULL; m++)
    {
      g_print ("    %-*s", id_width, m->id);
      print_count (m->context_tokens, widths[1]);
      print_count (m->max_output_tokens, widths[2]);
      print_price (m->input, widths[3]);
      print_price (m->output, widths[4]);
      print_price (m->cache_read, widths[5]);
      print_price (m->cache_write, widths[6]);
      g_print ("\n");
    }
}

static void
on_models_listed (GObject      *source,
                  GAsyncResult *result,
                  gpointer      data)
{
  GAsyncResult **out = data;

  *out = g_object_ref (result);
}

/* What a local server has, asked now: one line, never more than a second. */
static void
print_local_models (UsConfig       *config,
                    const UsPreset *preset)
{
  GPtrArray *providers = config ? us_config_get_providers (config) : NULL;
  const char *base_url = preset->base_url;
  g_autoptr(SoupSession) session = soup_session_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) models = NULL;

  /* The user's own address for it, when the config has one. */
  for (guint i = 0; providers != NULL && i < providers->len; i++)
    {
      const UsProviderConfig *provider = g_ptr_array_index (providers, i);

      if (g_strcmp0 (provider->preset, preset->id) == 0)
        {
          base_url = provider->base_url;
          break;
        }
    }
  us_local_list_models_async (session, base_url, US_LOCAL_PROBE_TIMEOUT_MS, NULL, on_models_listed, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  models = us_local_list_models_finish (result, &error);
  if (models == NULL)
    /* Translators: a local model server (Ollama, …) that did not answer. */
    g_print (_("  on this machine: not running at %s (%s)\n"), base_url, error->message);
  else if (models[0] == NULL)
    g_print (_("  on this machine: running at %s, no models pulled yet\n"), base_url);
  else
    {
      g_autofree char *list = g_strjoinv (", ", models);

      g_print (_("  on this machine: running at %s, models: %s\n"), base_url, list);
    }
}

static int
cmd_providers (UsConfig *config)
{
  guint n_presets;
  const UsPreset *presets = us_presets_get (&n_presets);

  g_print (_("Presets: add a provider with \"preset\": ID (or give it the ID itself).\n"
             "Prices in USD per million tokens; - where the vendor publishes no figure.\n"));
  for (guint i = 0; i < n_presets; i++)
    {
      const UsPreset *preset = &presets[i];

      g_print ("\n%s: %s\n", preset->id, preset->display_name);
      g_print ("  %s %s, auth: %s", us_provider_kind_to_string (preset->kind), preset->base_url,
               us_auth_mode_to_string (preset->auth));
      if (preset->key_env != NULL)
        g_print (" ($%s)", preset->key_env);
      g_print ("\n");
      if (preset->anthropic_base_url != NULL)
        g_print (_("  Anthropic clients: %s\n"), preset->anthropic_base_url);
      if (preset->models->id != NULL)
        print_model_table (preset);
      else
        /* Translators: %s is a model id. */
        g_print (_("  suggested model: %s (no limits or prices on record)\n"), preset->model);
      if (us_preset_is_local (preset->id))
        print_local_models (config, preset);
    }
  return 0;
}

int
us_cli_run (UsConfig           *config,
            const char * const *args,
            guint               n_args)
{
  const char *command = args[0];

  if (g_str_equal (command, "status"))
    return cmd_status (config, args, n_args);
  if (g_str_equal (command, "check-config"))
    return cmd_check_config (config);
  if (g_str_equal (command, "routing"))
    return cmd_routing (config, args, n_args);
  if (g_str_equal (command, "connect") || g_str_equal (command, "disconnect"))
    return cmd_connect (config, args, n_args);
  if (g_str_equal (command, "keys"))
    return cmd_keys (config, args, n_args);
  if (g_str_equal (command, "providers"))
    return cmd_providers (config);
  if (g_str_equal (command, "explain"))
    return us_cli_explain (config, args, n_args);
  if (g_str_equal (command, "statusline"))
    return us_cli_statusline (config, args, n_args);

  g_printerr (_("understudy: unknown command \"%s\" (see understudy --help)\n"), command);
  return 2;
}
