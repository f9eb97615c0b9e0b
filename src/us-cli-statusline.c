/* us-cli-statusline.c: `understudy statusline`, Claude Code's statusLine
 * command. Claude Code pipes a JSON object about the session (session_id,
 * model.display_name, workspace, cost…) to it and shows the first line it
 * prints, at most every 300 ms: so it is quick, prints one line whatever
 * happens, and never waits long for stdin or for the proxy.
 */
#include "us-cli-private.h"

#include <glib/gi18n.h>
#include <poll.h>
#include <unistd.h>

#include "us-translate.h"

#define STDIN_WAIT_MS 500
#define STDIN_MAX (256 * 1024)
#define STATUS_TIMEOUT_S 1

/* All of stdin that arrives within STDIN_WAIT_MS; NULL from a terminal. */
static JsonNode *
read_session (void)
{
  g_autoptr(GByteArray) data = g_byte_array_new ();
  gint64 deadline = g_get_monotonic_time () + STDIN_WAIT_MS * 1000;
  g_autoptr(GBytes) bytes = NULL;

  if (isatty (STDIN_FILENO))
    return NULL;
  while (data->len < STDIN_MAX)
    {
      struct pollfd fd = { STDIN_FILENO, POLLIN, 0 };
      gint64 left_ms = (deadline - g_get_monotonic_time ()) / 1000;
      guint8 chunk[8192];
      ssize_t n;

      if (left_ms <= 0 || poll (&fd, 1, (int) left_ms) <= 0)
        break;
      n = read (STDIN_FILENO, chunk, sizeof chunk);
      if (n <= 0)
        break;
      g_byte_array_append (data, chunk, (guint) n);
    }
  bytes = g_byte_array_free_to_bytes (g_steal_pointer (&data));
  return us_translate_parse_json (bytes, NULL);
}

static const char *
member_string (JsonNode   *node,
               const char *object,
               const char *name)
{
  JsonObject *obj = node && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
  JsonNode *member;

  if (obj != NULL && object != NULL)
    {
      member = json_object_get_member (obj, object);
      obj = member && JSON_NODE_HOLDS_OBJECT (member) ? json_node_get_object (member) : NULL;
    }
  member = obj ? json_object_get_member (obj, name) : NULL;
  return member && json_node_get_value_type (member) == G_TYPE_STRING ? json_node_get_string (member) : NULL;
}

/* The request that says what serves this session now: its newest one
 * that found a model, else the newest of Claude Code's, else any. */
static JsonObject *
pick_request (JsonArray  *requests,
              const char *session)
{
  JsonObject *claude = NULL, *any = NULL;

  for (guint i = 0; i < json_array_get_length (requests); i++)
    {
      JsonObject *r = json_array_get_object_element (requests, i);
      JsonNode *served = json_object_get_member (r, "served_model");

      if (served == NULL || JSON_NODE_HOLDS_NULL (served))
        continue;
      if (session != NULL && g_strcmp0 (json_object_get_string_member_with_default (r, "session", NULL), session) == 0)
        return r;
      if (claude == NULL && g_strcmp0 (json_object_get_string_member_with_default (r, "client", NULL), "claude-code") == 0)
        claude = r;
      if (any == NULL)
        any = r;
    }
  return claude ? claude : any;
}

/* A few words on why the first model did not serve. */
static char *
short_reason (JsonObject *attempt)
{
  const char *skip = json_object_get_string_member_with_default (attempt, "skip", NULL);
  const char *reason = json_object_get_string_member_with_default (attempt, "reason", NULL);

  if (g_strcmp0 (skip, "cooling-down") == 0)
    return g_strdup (_("cooling down"));
  if (g_strcmp0 (skip, "circuit-open") == 0)
    return g_strdup (_("circuit open"));
  if (g_strcmp0 (skip, "context-window") == 0)
    return g_strdup (_("context too long"));
  if (g_strcmp0 (skip, "over-budget") == 0)
    return g_strdup (_("over budget"));
  if (g_strcmp0 (skip, "plan-window") == 0)
    return g_strdup (_("plan window spent"));
  if (g_strcmp0 (skip, "local-down") == 0)
    return g_strdup (_("not running"));
  return g_strdup (reason ? reason : _("failed"));
}

/* The most used plan window any model of the chains reported (the status
 * API's "plan", us-plan-windows.h), or < 0 when none did. */
static double
plan_use (JsonObject *status,
          char      **window)
{
  JsonArray *chains = json_object_get_array_member (status, "chains");
  double best = -1;

  for (guint i = 0; chains != NULL && i < json_array_get_length (chains); i++)
    {
      JsonArray *models = json_object_get_array_member (json_array_get_object_element (chains, i), "models");

      for (guint j = 0; j < json_array_get_length (models); j++)
        {
          JsonNode *plan = json_object_get_member (json_array_get_object_element (models, j), "plan");
          JsonObject *p = plan && JSON_NODE_HOLDS_OBJECT (plan) ? json_node_get_object (plan) : NULL;
          JsonNode *node = p ? json_object_get_member (p, "windows") : NULL;
          JsonArray *windows = node && JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;

          for (guint k = 0; windows != NULL && k < json_array_get_length (windows); k++)
            {
              JsonObject *w = json_array_get_object_element (windows, k);
              double used = json_object_get_double_member_with_default (w, "utilization", -1);

              if (used > best)
                {
                  best = used;
                  g_free (*window);
                  *window = g_strdup (json_object_get_string_member_with_default (w, "name", ""));
                }
            }
        }
    }
  return best;
}

static char *
compose (JsonObject *status,
         const char *session,
         const char *display_name)
{
  g_autoptr(GString) line = g_string_new ("Understudy");
  JsonArray *requests = json_object_get_array_member (status, "requests");
  JsonObject *spend = json_object_has_member (status, "spend") ? json_object_get_object_member (status, "spend") : NULL;
  JsonObject *today = spend ? json_object_get_object_member (spend, "today") : NULL;
  JsonObject *r = requests ? pick_request (requests, session) : NULL;
  g_autofree char *window = NULL;
  double used = plan_use (status, &window);

  if (!json_object_get_boolean_member_with_default (status, "routing", TRUE))
    {
      /* Translators: the status line while routing is off; %s is Claude Code's model name. */
      g_string_append_printf (line, _(": routing off · %s"), display_name ? display_name : "");
      return g_string_free (g_steal_pointer (&line), FALSE);
    }
  if (r == NULL)
    g_string_append_printf (line, " ▸ %s", display_name ? display_name : _("no request yet"));
  else
    {
      JsonArray *attempts = json_object_get_array_member (r, "attempts");
      JsonObject *first = attempts && json_array_get_length (attempts) > 1 ? json_array_get_object_element (attempts, 0) : NULL;

      g_string_append_printf (line, " ▸ %s/%s", json_object_get_string_member (r, "served_provider"),
                              json_object_get_string_member (r, "served_model"));
      if (first != NULL)
        {
          g_autofree char *why = short_reason (first);

          /* Translators: "failover from anthropic/claude-opus-4-5 (cooling down)". */
          g_string_append_printf (line, _(" · failover from %s/%s (%s)"),
                                  json_object_get_string_member (first, "provider"),
                                  json_object_get_string_member (first, "model"), why);
        }
    }
  if (today != NULL && json_object_get_int_member_with_default (today, "requests", 0) > 0)
    {
      double usd = json_object_get_double_member_with_default (today, "usd", 0);

      /* Cents, unless the day has cost less than one so far. */
      g_string_append_printf (line, usd > 0 && usd < 0.01 ? _(" · $%.4f today") : _(" · $%.2f today"), usd);
    }
  if (used >= 0)
    /* Translators: the plan window's use, e.g. "5h plan 73%". */
    g_string_append_printf (line, _(" · %s plan %.0f%%"), window, used * 100);
  return g_string_free (g_steal_pointer (&line), FALSE);
}

int
us_cli_statusline (UsConfig           *config,
                   const char * const *args,
                   guint               n_args)
{
  g_autoptr(JsonNode) session = read_session ();
  g_autoptr(JsonNode) status = NULL;
  g_autofree char *line = NULL;
  const char *display_name = member_string (session, "model", "display_name");

  status = us_cli_ask_running (config, "GET", "/understudy/status", NULL, STATUS_TIMEOUT_S, NULL);
  if (status == NULL || !JSON_NODE_HOLDS_OBJECT (status))
    /* Translators: the status line when the proxy does not answer; %s is Claude Code's model name. */
    line = display_name ? g_strdup_printf (_("Understudy: not running · %s"), display_name)
                        : g_strdup (_("Understudy: not running"));
  else
    line = compose (json_node_get_object (status), member_string (session, NULL, "session_id"), display_name);
  g_print ("%s\n", line);
  return 0;
}
