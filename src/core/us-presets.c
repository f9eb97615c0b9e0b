/* us-presets.c: the preset table. Base URLs as each provider documents them
 * for OpenAI-compatible SDKs (Anthropic's stops before /v1, as its SDK's).
 *
 * Model tables hold only figures from the vendor's own pages, named above
 * each table; a figure the source does not give is left out (0, or -1 for
 * a price) rather than guessed. */
#include "us-presets.h"

static const UsPresetModel no_models[] = { { NULL } };

/* https://platform.claude.com/docs/en/about-claude/pricing (formerly
 * docs.anthropic.com/en/docs/about-claude/pricing), "Model pricing": base
 * input, 5-minute cache writes, cache hits, output. Limits are not on that
 * page, so they stay unknown here. */
static const UsPresetModel anthropic_models[] = {
  { "claude-opus-4-5", 0, 0, 5.0, 25.0, 0.50, 6.25 },
  { "claude-opus-4-1", 0, 0, 15.0, 75.0, 1.50, 18.75 },
  { "claude-sonnet-4-5", 0, 0, 3.0, 15.0, 0.30, 3.75 },
  { "claude-sonnet-4", 0, 0, 3.0, 15.0, 0.30, 3.75 },
  { "claude-haiku-4-5", 0, 0, 1.0, 5.0, 0.10, 1.25 },
  { NULL }
};

/* https://api-docs.deepseek.com/quick_start/pricing (DeepSeek-V3.1, prices
 * from 2025-09-05 16:00 UTC): 128K context; deepseek-chat at most 8K
 * output, deepseek-reasoner 64K; input $0.56 (cache miss), $0.07 (cache
 * hit), output $1.68. Cache writes are billed as input (no separate price). */
static const UsPresetModel deepseek_models[] = {
  { "deepseek-chat", 128000, 8192, 0.56, 1.68, 0.07, 0.56 },
  { "deepseek-reasoner", 128000, 65536, 0.56, 1.68, 0.07, 0.56 },
  { NULL }
};

/* https://platform.moonshot.ai/docs/pricing/chat ("Product Pricing", tax
 * included): input on a cache hit and miss, output, context window. It
 * gives no output limit and no cache-write price. */
static const UsPresetModel moonshot_models[] = {
  { "kimi-k2.5", 262144, 0, 0.60, 3.00, 0.10, -1 },
  { "kimi-k2-0905-preview", 262144, 0, 0.60, 2.50, 0.15, -1 },
  { NULL }
};

static const UsPreset presets[] = {
  { "anthropic", "Anthropic", US_PROVIDER_KIND_ANTHROPIC,
    "https://api.anthropic.com", US_AUTH_PASSTHROUGH, NULL, "claude-sonnet-4-5",
    NULL, anthropic_models },
  { "openai", "OpenAI", US_PROVIDER_KIND_OPENAI_CHAT,
    "https://api.openai.com/v1", US_AUTH_KEY, "OPENAI_API_KEY", "gpt-5", NULL, no_models },
  /* Anthropic endpoint: https://api-docs.deepseek.com/guides/anthropic_api */
  { "deepseek", "DeepSeek", US_PROVIDER_KIND_OPENAI_CHAT,
    "https://api.deepseek.com/v1", US_AUTH_KEY, "DEEPSEEK_API_KEY", "deepseek-chat",
    "https://api.deepseek.com/anthropic", deepseek_models },
  { "mistral", "Mistral", US_PROVIDER_KIND_OPENAI_CHAT,
    "https://api.mistral.ai/v1", US_AUTH_KEY, "MISTRAL_API_KEY", "mistral-large-latest", NULL, no_models },
  { "xai", "xAI", US_PROVIDER_KIND_OPENAI_CHAT,
    "https://api.x.ai/v1", US_AUTH_KEY, "XAI_API_KEY", "grok-code-fast-1", NULL, no_models },
  { "openrouter", "OpenRouter", US_PROVIDER_KIND_OPENAI_CHAT,
    "https://openrouter.ai/api/v1", US_AUTH_KEY, "OPENROUTER_API_KEY", "qwen/qwen3-coder", NULL, no_models },
  { "groq", "Groq", US_PROVIDER_KIND_OPENAI_CHAT,
    "https://api.groq.com/openai/v1", US_AUTH_KEY, "GROQ_API_KEY", "openai/gpt-oss-120b", NULL, no_models },
  { "gemini", "Google Gemini", US_PROVIDER_KIND_OPENAI_CHAT,
    "https://generativelanguage.googleapis.com/v1beta/openai", US_AUTH_KEY, "GEMINI_API_KEY",
    "gemini-2.5-pro", NULL, no_models },
  /* Anthropic endpoints: Moonshot's /anthropic/v1/messages, Z.ai's
   * /api/anthropic and MiniMax's /anthropic, as their Claude Code guides
   * give them. */
  { "moonshot", "Moonshot (Kimi)", US_PROVIDER_KIND_OPENAI_CHAT,
    "https://api.moonshot.ai/v1", US_AUTH_KEY, "MOONSHOT_API_KEY", "kimi-k2.5",
    "https://api.moonshot.ai/anthropic", moonshot_models },
  { "zhipu", "Zhipu (GLM, Z.ai)", US_PROVIDER_KIND_OPENAI_CHAT,
    "https://api.z.ai/api/paas/v4", US_AUTH_KEY, "ZAI_API_KEY", "glm-4.6",
    "https://api.z.ai/api/anthropic", no_models },
  { "minimax", "MiniMax", US_PROVIDER_KIND_OPENAI_CHAT,
    "https://api.minimax.io/v1", US_AUTH_KEY, "MINIMAX_API_KEY", "MiniMax-M2",
    "https://api.minimax.io/anthropic", no_models },
  { "qwen", "Qwen (DashScope)", US_PROVIDER_KIND_OPENAI_CHAT,
    "https://dashscope-intl.aliyuncs.com/compatible-mode/v1", US_AUTH_KEY, "DASHSCOPE_API_KEY",
    "qwen3-coder-plus", NULL, no_models },
  { "ollama", "Ollama", US_PROVIDER_KIND_OPENAI_CHAT,
    "http://127.0.0.1:11434/v1", US_AUTH_NONE, NULL, "qwen3-coder", NULL, no_models },
  { "lmstudio", "LM Studio", US_PROVIDER_KIND_OPENAI_CHAT,
    "http://127.0.0.1:1234/v1", US_AUTH_NONE, NULL, "qwen/qwen3-coder-30b", NULL, no_models },
  /* llama-server serves whichever model it was started with, whatever the
   * request names. */
  { "llamacpp", "llama.cpp", US_PROVIDER_KIND_OPENAI_CHAT,
    "http://127.0.0.1:8080/v1", US_AUTH_NONE, NULL, "default", NULL, no_models },
};

const UsPreset *
us_presets_get (guint *n_presets)
{
  *n_presets = G_N_ELEMENTS (presets);
  return presets;
}

const UsPreset *
us_preset_lookup (const char *id)
{
  g_return_val_if_fail (id != NULL, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (presets); i++)
    if (g_str_equal (presets[i].id, id))
      return &presets[i];
  return NULL;
}

gboolean
us_preset_is_local (const char *id)
{
  static const char * const local[] = { "ollama", "lmstudio", "llamacpp", NULL };

  return id != NULL && g_strv_contains (local, id);
}

const UsPresetModel *
us_preset_lookup_model (const UsPreset *preset,
                        const char     *model)
{
  g_return_val_if_fail (preset != NULL, NULL);

  for (const UsPresetModel *m = preset->models; model != NULL && m->id != NULL; m++)
    if (g_str_equal (m->id, model))
      return m;
  return NULL;
}

JsonObject *
us_preset_to_provider (const UsPreset *preset,
                       const char     *provider_id)
{
  JsonObject *provider = json_object_new ();

  g_return_val_if_fail (preset != NULL, provider);

  json_object_set_string_member (provider, "id", provider_id ? provider_id : preset->id);
  /* The preset names the rest, so a later fix to its URLs reaches this
   * provider too. */
  json_object_set_string_member (provider, "preset", preset->id);
  json_object_set_string_member (provider, "kind", us_provider_kind_to_string (preset->kind));
  json_object_set_string_member (provider, "base_url", preset->base_url);
  json_object_set_string_member (provider, "auth", us_auth_mode_to_string (preset->auth));
  if (preset->key_env != NULL)
    json_object_set_string_member (provider, "key_env", preset->key_env);
  return provider;
}
