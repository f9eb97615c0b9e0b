/* us-router.c: rule and chain matching. */
#include "us-router.h"

const char *
us_router_client_from_user_agent (const char *user_agent)
{
  if (user_agent == NULL)
    return "other";
  if (g_str_has_prefix (user_agent, "claude-cli/") || strstr (user_agent, "claude-code") != NULL)
    return "claude-code";
  if (g_str_has_prefix (user_agent, "codex_") || g_str_has_prefix (user_agent, "codex"))
    return "codex";
  if (g_str_has_prefix (user_agent, "opencode/"))
    return "opencode";
  return "other";
}

static gboolean
tri_matches (UsTri    want,
             gboolean have)
{
  return want == US_TRI_UNSET || (want == US_TRI_TRUE) == have;
}

static gboolean
rule_matches (const UsRuleConfig *rule,
              const char         *client,
              const UsIrRequest  *ir)
{
  const char *model = us_ir_request_get_model (ir);

  if (rule->client != NULL && g_strcmp0 (rule->client, client) != 0)
    return FALSE;
  if (rule->model != NULL && (model == NULL || !g_pattern_match_simple (rule->model, model)))
    return FALSE;
  if (!tri_matches (rule->thinking, us_ir_request_has_thinking (ir)) ||
      !tri_matches (rule->images, us_ir_request_has_images (ir)) ||
      !tri_matches (rule->tools, us_ir_request_has_tools (ir)))
    return FALSE;
  /* Estimating walks the whole request: only when a rule asks. */
  if (rule->min_input_tokens > 0 && us_ir_request_estimate_input_tokens (ir) < rule->min_input_tokens)
    return FALSE;
  return TRUE;
}

void
us_router_route (UsConfig          *config,
                 const char        *client,
                 const UsIrRequest *ir,
                 UsRoute           *out)
{
  GPtrArray *rules = us_config_get_rules (config);
  GPtrArray *chains = us_config_get_chains (config);
  const char *model = us_ir_request_get_model (ir);

  out->rule = -1;
  out->glob = NULL;
  for (guint i = 0; i < rules->len; i++)
    {
      const UsRuleConfig *rule = g_ptr_array_index (rules, i);

      if (rule_matches (rule, client, ir))
        {
          out->rule = (gint) i;
          out->chain = us_config_lookup_chain (config, rule->chain);
          return;
        }
    }
  for (guint i = 0; i < chains->len; i++)
    {
      const UsChainConfig *chain = g_ptr_array_index (chains, i);

      for (guint j = 0; chain->match && chain->match[j]; j++)
        if (g_pattern_match_simple (chain->match[j], model ? model : ""))
          {
            out->chain = chain;
            out->glob = chain->match[j];
            return;
          }
    }
  /* Nothing matched: the first chain is the default. */
  out->chain = g_ptr_array_index (chains, 0);
}

static void
describe_tri (GString    *out,
              const char *name,
              UsTri       value)
{
  if (value != US_TRI_UNSET)
    g_string_append_printf (out, "%s%s %s", out->len ? ", " : "", name, value == US_TRI_TRUE ? "true" : "false");
}

char *
us_route_describe (UsConfig      *config,
                   const UsRoute *route)
{
  g_autoptr(GString) when = g_string_new (NULL);
  const UsRuleConfig *rule;

  if (route->glob != NULL)
    return g_strdup_printf ("chain %s's match \"%s\"", route->chain->id, route->glob);
  if (route->rule < 0)
    return g_strdup ("no rule or match: the first chain");

  rule = g_ptr_array_index (us_config_get_rules (config), route->rule);
  if (rule->client != NULL)
    g_string_append_printf (when, "client %s", rule->client);
  if (rule->model != NULL)
    g_string_append_printf (when, "%smodel %s", when->len ? ", " : "", rule->model);
  describe_tri (when, "thinking", rule->thinking);
  describe_tri (when, "images", rule->images);
  describe_tri (when, "tools", rule->tools);
  if (rule->min_input_tokens > 0)
    g_string_append_printf (when, "%smin_input_tokens %" G_GINT64_FORMAT, when->len ? ", " : "",
                            rule->min_input_tokens);
  return g_strdup_printf ("rules[%d] (%s)", route->rule, when->len ? when->str : "always");
}
