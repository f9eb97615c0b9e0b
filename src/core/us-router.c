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

const UsChainConfig *
us_router_pick (UsConfig          *config,
                const char        *client,
                const UsIrRequest *ir)
{
  GPtrArray *rules = us_config_get_rules (config);
  GPtrArray *chains = us_config_get_chains (config);
  const char *model = us_ir_request_get_model (ir);

  for (guint i = 0; i < rules->len; i++)
    {
      const UsRuleConfig *rule = g_ptr_array_index (rules, i);

      if (rule_matches (rule, client, ir))
        return us_config_lookup_chain (config, rule->chain);
    }
  for (guint i = 0; i < chains->len; i++)
    {
      const UsChainConfig *chain = g_ptr_array_index (chains, i);

      for (guint j = 0; chain->match && chain->match[j]; j++)
        if (g_pattern_match_simple (chain->match[j], model ? model : ""))
          return chain;
    }
  /* Nothing matched: the first chain is the default. */
  return g_ptr_array_index (chains, 0);
}
