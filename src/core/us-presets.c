/* us-presets.c: the preset table. Base URLs as each provider documents them
 * for OpenAI-compatible SDKs (Anthropic's stops before /v1, as its SDK's). */
#include "us-presets.h"

static const UsPreset presets[] = {
  { "anthropic", "Anthropic", US_PROVIDER_KIND_ANTHROPIC,
    "https://api.anthropic.com", US_AUTH_PASSTHROUGH, NULL, "claude-sonnet-4-5" },
  { "openai", "OpenAI", US_PROVIDER_KIND_OPENAI_CHAT,
    "https://api.openai.com/v1", US_AUTH_KEY, "OPENAI_API_KEY", "gpt-5" },
  { "deepseek", "DeepSeek", US_PROVIDER_KIND_OPENAI_CHAT,
    "https://api.deepseek.com/v1", US_AUTH_KEY, "DEEPSEEK_API_KEY", "deepseek-chat" },
  { "mistral", "Mistral", US_PROVIDER_KIND_OPENAI_CHAT,
    "https://api.mistral.ai/v1", US_AUTH_KEY, "MISTRAL_API_KEY", "mistral-large-latest" },
  { "xai", "xAI", US_PROVIDER_KIND_OPENAI_CHAT,
    "https://api.x.ai/v1", US_AUTH_KEY, "XAI_API_KEY", "grok-code-fast-1" },
  { "openrouter", "OpenRouter", US_PROVIDER_KIND_OPENAI_CHAT,
    "https://openrouter.ai/api/v1", US_AUTH_KEY, "OPENROUTER_API_KEY", "qwen/qwen3-coder" },
  { "groq", "Groq", US_PROVIDER_KIND_OPENAI_CHAT,
    "https://api.groq.com/openai/v1", US_AUTH_KEY, "GROQ_API_KEY", "openai/gpt-oss-120b" },
  { "gemini", "Google Gemini", US_PROVIDER_KIND_OPENAI_CHAT,
    "https://generativelanguage.googleapis.com/v1beta/openai", US_AUTH_KEY, "GEMINI_API_KEY", "gemini-2.5-pro" },
  { "moonshot", "Moonshot (Kimi)", US_PROVIDER_KIND_OPENAI_CHAT,
    "https://api.moonshot.ai/v1", US_AUTH_KEY, "MOONSHOT_API_KEY", "kimi-k2.5" },
  { "zhipu", "Zhipu (GLM, Z.ai)", US_PROVIDER_KIND_OPENAI_CHAT,
    "https://api.z.ai/api/paas/v4", US_AUTH_KEY, "ZAI_API_KEY", "glm-4.6" },
  { "ollama", "Ollama", US_PROVIDER_KIND_OPENAI_CHAT,
    "http://127.0.0.1:11434/v1", US_AUTH_NONE, NULL, "qwen3-coder" },
  { "lmstudio", "LM Studio", US_PROVIDER_KIND_OPENAI_CHAT,
    "http://127.0.0.1:1234/v1", US_AUTH_NONE, NULL, "qwen/qwen3-coder-30b" },
  /* llama-server serves whichever model it was started with, whatever the
   * request names. */
  { "llamacpp", "llama.cpp", US_PROVIDER_KIND_OPENAI_CHAT,
    "http://127.0.0.1:8080/v1", US_AUTH_NONE, NULL, "default" },
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

JsonObject *
us_preset_to_provider (const UsPreset *preset,
                       const char     *provider_id)
{
  JsonObject *provider = json_object_new ();

  g_return_val_if_fail (preset != NULL, provider);

  json_object_set_string_member (provider, "id", provider_id ? provider_id : preset->id);
  json_object_set_string_member (provider, "kind", us_provider_kind_to_string (preset->kind));
  json_object_set_string_member (provider, "base_url", preset->base_url);
  json_object_set_string_member (provider, "auth", us_auth_mode_to_string (preset->auth));
  if (preset->key_env != NULL)
    json_object_set_string_member (provider, "key_env", preset->key_env);
  return provider;
}
