/* us-vertex.c: Vertex AI URLs and the Anthropic body Vertex takes, as
 * Anthropic's Vertex SDKs build them. */
#include "us-vertex.h"

#include <string.h>

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

gboolean
us_vertex_learn_rejected_betas (GHashTable *rejected,
                                GBytes     *body)
{
  static const char start[] = "Unexpected value(s) ";
  static const char end[] = " for the `anthropic-beta` header";
  gsize len;
  const char *data = g_bytes_get_data (body, &len);
  g_autofree char *text = g_strndup (data, len);
  const char *from = strstr (text, start);
  const char *to = from ? strstr (from, end) : NULL;
  gboolean learned = FALSE;

  if (to == NULL)
    return FALSE;
  /* `a`, `b`: every second backtick opens a value. */
  for (const char *p = strchr (from, '`'); p != NULL && p < to; p = strchr (p, '`'))
    {
      const char *close = strchr (p + 1, '`');

      if (close == NULL || close > to)
        break;
      if (close > p + 1)
        {
          char *value = g_strndup (p + 1, close - p - 1);

          learned |= g_hash_table_add (rejected, value);
        }
      p = close + 1;
    }
  return learned;
}

void
us_vertex_drop_betas (SoupMessageHeaders *headers,
                      GHashTable         *rejected)
{
  const char *value = soup_message_headers_get_list (headers, "anthropic-beta");
  g_auto(GStrv) entries = NULL;
  g_autoptr(GString) kept = NULL;

  if (value == NULL || g_hash_table_size (rejected) == 0)
    return;
  entries = g_strsplit (value, ",", -1);
  kept = g_string_new (NULL);
  for (guint i = 0; entries[i] != NULL; i++)
    {
      const char *entry = g_strstrip (entries[i]);

      if (*entry == '\0' || g_hash_table_contains (rejected, entry))
        continue;
      g_string_append_printf (kept, "%s%s", kept->len ? "," : "", entry);
    }
  if (kept->len > 0)
    soup_message_headers_replace (headers, "anthropic-beta", kept->str);
  else
    soup_message_headers_remove (headers, "anthropic-beta");
}
