/* us-vertex.c: Vertex AI URLs and the Anthropic body Vertex takes, as
 * Anthropic's Vertex SDKs build them. */
#include "us-vertex.h"

gboolean
us_vertex_is_vertex (UsProviderKind kind)
{
  return kind == US_PROVIDER_KIND_VERTEX_ANTHROPIC || kind == US_PROVIDER_KIND_VERTEX_OPENAI;
}

gboolean
us_vertex_region_is_valid (const char *region)
{
  if (region == NULL || *region == '\0' || *region == '-')
    return FALSE;
  for (const char *c = region; *c; c++)
    if (!g_ascii_islower (*c) && !g_ascii_isdigit (*c) && *c != '-')
      return FALSE;
  return TRUE;
}

char *
us_vertex_default_base_url (const char *region)
{
  if (g_str_equal (region, "global"))
    return g_strdup ("https://aiplatform.googleapis.com");
  return g_strdup_printf ("https://%s-aiplatform.googleapis.com", region);
}

char *
us_vertex_request_url (const UsProviderConfig *provider,
                       const char             *model,
                       gboolean                stream,
                       gboolean                count_tokens)
{
  g_autofree char *project = g_uri_escape_string (provider->project, NULL, FALSE);
  g_autofree char *location = g_uri_escape_string (provider->region, NULL, FALSE);
  /* Vertex's versioned ids keep their '@' (claude-sonnet-4-5@20250929);
   * a ':' or '/' would end the segment, so those are escaped. */
  g_autofree char *name = g_uri_escape_string (model ? model : "", "@", FALSE);
  const char *method = count_tokens ? "count-tokens:rawPredict" : stream ? ":streamRawPredict" : ":rawPredict";

  g_return_val_if_fail (us_vertex_is_vertex (provider->kind), NULL);

  if (provider->kind == US_PROVIDER_KIND_VERTEX_OPENAI)
    return g_strdup_printf ("%s/v1/projects/%s/locations/%s/endpoints/openapi/chat/completions",
                            provider->base_url, project, location);
  return g_strdup_printf ("%s/v1/projects/%s/locations/%s/publishers/anthropic/models/%s%s",
                          provider->base_url, project, location, count_tokens ? "" : name, method);
}

gboolean
us_vertex_edits_body (const UsProviderConfig *provider)
{
  return provider->kind == US_PROVIDER_KIND_VERTEX_ANTHROPIC;
}

void
us_vertex_edit_body (const UsProviderConfig *provider,
                     JsonObject             *body,
                     gboolean                count_tokens)
{
  if (!us_vertex_edits_body (provider))
    return;
  if (!count_tokens)
    json_object_remove_member (body, "model");
  if (!json_object_has_member (body, "anthropic_version"))
    json_object_set_string_member (body, "anthropic_version", US_VERTEX_ANTHROPIC_VERSION);
}
