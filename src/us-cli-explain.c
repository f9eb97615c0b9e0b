/* us-cli-explain.c: `understudy explain [--client NAME] REQUEST.json`.
 *
 * The running proxy answers from its live state (POST /understudy/explain);
 * with none running, the same explanation comes from the config alone,
 * plus the spend saved on disk, and says so.
 */
#include "us-cli-private.h"

#include <gio/gunixinputstream.h>
#include <glib/gi18n.h>

#include "us-explain.h"
#include "us-health.h"
#include "us-spend.h"
#include "us-translate.h"

#define EXPLAIN_TIMEOUT_S 5

static const char *
str_member (JsonObject *obj,
            const char *name)
{
  JsonNode *node = json_object_get_member (obj, name);

  return node && JSON_NODE_HOLDS_VALUE (node) ? json_node_get_string (node) : NULL;
}

/* Why a model would be passed over, for a person, in their language. */
static char *
describe_skip (JsonObject *m)
{
  const char *skip = str_member (m, "skip");
  const char *detail = str_member (m, "detail");
  g_autofree char *until = str_member (m, "until") ? us_cli_local_time (str_member (m, "until")) : NULL;

  if (g_strcmp0 (skip, "context-window") == 0)
    /* Translators: %lld are token counts. */
    return g_strdup_printf (_("skipped: over its context window (~%lld tokens needed, %lld fit)"),
                            (long long) json_object_get_int_member_with_default (m, "needed_tokens", 0),
                            (long long) json_object_get_int_member_with_default (m, "window_tokens", 0));
  if (g_strcmp0 (skip, "over-budget") == 0)
    /* Translators: %s: a clock time; %s: the budget, e.g. "over budget: $1.02 of $1 a day". */
    return g_strdup_printf (_("skipped until %s: %s"), until ? until : "?", detail ? detail : "");
  if (g_strcmp0 (skip, "plan-window") == 0)
    /* Translators: %s is a clock time. */
    return g_strdup_printf (_("skipped: plan window spent until %s"), until ? until : "?");
  if (g_strcmp0 (skip, "cooling-down") == 0 && detail != NULL)
    /* Translators: %s: a clock time; %s: why, e.g. "rate limited". */
    return g_strdup_printf (_("skipped: cooling down until %s (%s)"), until ? until : "?", detail);
  if (g_strcmp0 (skip, "cooling-down") == 0)
    return g_strdup_printf (_("skipped: cooling down until %s"), until ? until : "?");
  if (g_strcmp0 (skip, "circuit-open") == 0 && until != NULL)
    /* Translators: %s is a clock time. */
    return g_strdup_printf (_("skipped: circuit open until %s, then one probe request"), until);
  if (g_strcmp0 (skip, "circuit-open") == 0)
    return g_strdup (_("skipped: circuit open, a probe request is testing it"));
  if (g_strcmp0 (skip, "local-down") == 0)
    /* Translators: %s: why, e.g. "connection refused". */
    return g_strdup_printf (_("skipped: the local server is not running (%s)"), detail ? detail : "");
  return g_strdup_printf (_("skipped: %s"), str_member (m, "reason"));
}

static void
print_explanation (JsonObject *root)
{
  JsonObject *route = json_object_get_object_member (root, "route");
  JsonArray *models = json_object_get_array_member (root, "models");
  gboolean routing = json_object_get_boolean_member (root, "routing");
  gboolean first_tried = TRUE;

  /* Translators: model, client, wire format, token estimate. */
  g_print (_("Request: %s from %s (%s), ~%lld input tokens\n"), str_member (root, "model"),
           str_member (root, "client"), str_member (root, "format"),
           (long long) json_object_get_int_member (root, "input_tokens"));
  if (json_object_get_null_member (route, "rule"))
    /* Translators: %s: how the chain was found; %s: the chain's id. */
    g_print (_("Rule: none matched; %s → chain %s\n"), str_member (route, "match"), str_member (route, "chain"));
  else
    g_print (_("Rule: %s → chain %s\n"), str_member (route, "match"), str_member (route, "chain"));
  if (!routing)
    g_print ("%s\n", _("Routing is off: only the first model is asked, whatever its state."));

  for (guint i = 0; i < json_array_get_length (models); i++)
    {
      JsonObject *m = json_array_get_object_element (models, i);
      g_autofree char *name = g_strdup_printf ("%s/%s", str_member (m, "provider"), str_member (m, "model"));
      g_autofree char *why = NULL;

      if (json_object_get_boolean_member (m, "tried"))
        {
          g_print ("  %u. %-40s %s\n", i + 1, name,
                   first_tried ? _("would be tried first") : _("would be tried if the ones before fail"));
          first_tried = FALSE;
        }
      else if (!routing)
        g_print ("  %u. %-40s %s\n", i + 1, name, _("not asked: routing is off"));
      else
        {
          why = describe_skip (m);
          g_print ("  %u. %-40s %s\n", i + 1, name, why);
        }
    }
  if (routing && first_tried)
    g_print ("%s\n", _("No model of the chain would be asked: the client would get an error."));
}

/* No proxy runs: the config alone, and the spend saved on disk (budgets
 * hold across restarts); no cooldown or circuit is known. */
static JsonNode *
explain_offline (UsConfig    *config,
                 const char  *client,
                 JsonNode    *request,
                 GError     **error)
{
  g_autoptr(UsHealth) health = us_health_new ();
  g_autofree char *path = us_spend_default_path ();
  g_autoptr(UsSpend) spend = us_spend_new (path);

  return us_explain_request (config, us_config_get_routing (config), health, spend, NULL, client, request, error);
}

static JsonNode *
read_request (const char  *path,
              GError     **error)
{
  g_autofree char *data = NULL;
  gsize length;
  g_autoptr(GBytes) bytes = NULL;
  JsonNode *node;

  if (g_str_equal (path, "-"))
    {
      g_autoptr(GInputStream) in = G_INPUT_STREAM (g_unix_input_stream_new (0, FALSE));
      g_autoptr(GOutputStream) out = g_memory_output_stream_new_resizable ();

      if (g_output_stream_splice (out, in, G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET, NULL, error) < 0)
        return NULL;
      bytes = g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (out));
    }
  else
    {
      if (!g_file_get_contents (path, &data, &length, error))
        return NULL;
      bytes = g_bytes_new_take (g_steal_pointer (&data), length);
    }
  node = us_translate_parse_json (bytes, error);
  if (node == NULL)
    g_prefix_error (error, _("%s is not JSON: "), path);
  return node;
}

int
us_cli_explain (UsConfig           *config,
                const char * const *args,
                guint               n_args)
{
  const char *client = NULL;
  const char *file = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) request = NULL;
  g_autoptr(JsonNode) reply = NULL;
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) body = NULL;
  g_autofree char *text = NULL;
  gboolean json = FALSE, usage = FALSE;

  for (guint i = 1; i < n_args; i++)
    {
      if (g_str_equal (args[i], "--client") && i + 1 < n_args)
        client = args[++i];
      else if (g_str_has_prefix (args[i], "--client="))
        client = args[i] + strlen ("--client=");
      else if (g_str_equal (args[i], "--json"))
        json = TRUE;
      else if (file == NULL && (args[i][0] != '-' || g_str_equal (args[i], "-")))
        file = args[i];
      else
        usage = TRUE;
    }
  if (usage || file == NULL)
    {
      /* Translators: keep the command and option; translate NAME and REQUEST. */
      g_printerr (_("Usage: understudy explain [--client NAME] [--json] REQUEST.json\n"
                    "  NAME: claude-code, codex, opencode or other; REQUEST.json: a request body, - for stdin\n"));
      return 2;
    }

  request = read_request (file, &error);
  if (request == NULL)
    {
      g_printerr ("understudy: %s\n", error->message);
      return 1;
    }

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "client");
  json_builder_add_string_value (b, client);
  json_builder_set_member_name (b, "request");
  json_builder_add_value (b, json_node_ref (request));
  json_builder_end_object (b);
  body = json_builder_get_root (b);
  text = json_to_string (body, FALSE);

  reply = us_cli_ask_running (config, "POST", "/understudy/explain", text, EXPLAIN_TIMEOUT_S, &error);
  if (reply == NULL && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA))
    {
      g_printerr ("understudy: %s\n", error->message);
      return 1;
    }
  if (reply == NULL)
    {
      if (!json)
        g_print (_("Understudy is not running (%s): from the config alone, no cooldowns or circuits known.\n"),
                 error->message);
      g_clear_error (&error);
      reply = explain_offline (config, client, request, &error);
      if (reply == NULL)
        {
          g_printerr ("understudy: %s\n", error->message);
          return 1;
        }
    }
  else if (!json)
    g_print ("%s\n", _("From the running Understudy's live state."));

  if (json)
    {
      g_autofree char *out = json_to_string (reply, TRUE);
      g_print ("%s\n", out);
    }
  else
    print_explanation (json_node_get_object (reply));
  return 0;
}
