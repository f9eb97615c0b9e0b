/* us-sigv4.c: AWS Signature Version 4. Only the HMAC chain the spec
 * defines is here; the hashes and HMACs themselves are GLib's. */
#include "us-sigv4.h"

#include <string.h>

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

char *
us_sigv4_uri_encode (const char *text,
                     gsize       length,
                     gboolean    keep_slash)
{
  GString *out = g_string_sized_new (length);

  for (gsize i = 0; i < length; i++)
    {
      guchar c = (guchar) text[i];

      if (g_ascii_isalnum (c) || c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/'))
        g_string_append_c (out, (char) c);
      else
        g_string_append_printf (out, "%%%02X", c);
    }
  return g_string_free (out, FALSE);
}

char *
us_sigv4_sha256_hex (const void *data,
                     gsize       length)
{
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, data, length);
}

/* Query names and values are compared decoded, then encoded the spec's way. */
static char *
canonical_query (const char *query)
{
  g_auto(GStrv) pairs = NULL;
  g_autoptr(GPtrArray) encoded = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GString) out = g_string_new (NULL);

  if (query == NULL || *query == '\0')
    return g_strdup ("");
  pairs = g_strsplit (query, "&", -1);
  for (guint i = 0; pairs[i] != NULL; i++)
    {
      char *eq = strchr (pairs[i], '=');
      g_autofree char *name = NULL;
      g_autofree char *value = NULL;
      g_autofree char *name_enc = NULL;
      g_autofree char *value_enc = NULL;

      if (*pairs[i] == '\0')
        continue;
      if (eq != NULL)
        *eq = '\0';
      name = g_uri_unescape_string (pairs[i], NULL);
      value = g_uri_unescape_string (eq != NULL ? eq + 1 : "", NULL);
      if (name == NULL)
        name = g_strdup (pairs[i]);
      if (value == NULL)
        value = g_strdup (eq != NULL ? eq + 1 : "");
      name_enc = us_sigv4_uri_encode (name, strlen (name), FALSE);
      value_enc = us_sigv4_uri_encode (value, strlen (value), FALSE);
      /* "\001" sorts below every encoded byte: by name first, then value. */
      g_ptr_array_add (encoded, g_strconcat (name_enc, "\001", value_enc, NULL));
    }
  g_ptr_array_sort (encoded, compare_strings);
  for (guint i = 0; i < encoded->len; i++)
    {
      char *pair = g_ptr_array_index (encoded, i);

      *strchr (pair, '\001') = '=';
      if (i > 0)
        g_string_append_c (out, '&');
      g_string_append (out, pair);
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* Trimmed, with runs of spaces made one, as the spec asks. */
static void
append_header_value (GString    *out,
                     const char *value)
{
  gboolean space = FALSE;
  gsize start = out->len;

  while (*value == ' ' || *value == '\t')
    value++;
  for (; *value != '\0'; value++)
    {
      if (*value == ' ' || *value == '\t')
        {
          space = TRUE;
          continue;
        }
      if (space && out->len > start)
        g_string_append_c (out, ' ');
      space = FALSE;
      g_string_append_c (out, *value);
    }
}

char *
us_sigv4_canonical_request (const UsSigv4Request *request,
                            char                **signed_headers)
{
  /* lower-case name → canonical value (values of one name joined by ','). */
  g_autoptr(GHashTable) values = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GPtrArray) names = g_ptr_array_new ();
  g_autoptr(GString) out = g_string_new (NULL);
  g_autoptr(GString) signed_list = g_string_new (NULL);
  g_autofree char *path = NULL;
  g_autofree char *query = NULL;
  SoupMessageHeadersIter iter;
  const char *name, *value;
  GHashTableIter hiter;
  gpointer key, val;

  soup_message_headers_iter_init (&iter, request->headers);
  while (soup_message_headers_iter_next (&iter, &name, &value))
    {
      g_autofree char *lower = g_ascii_strdown (name, -1);
      GString *joined = g_hash_table_lookup (values, lower);

      if (joined == NULL)
        {
          joined = g_string_new (NULL);
          g_hash_table_insert (values, g_steal_pointer (&lower), joined);
        }
      else
        g_string_append_c (joined, ',');
      append_header_value (joined, value);
    }
  g_hash_table_iter_init (&hiter, values);
  while (g_hash_table_iter_next (&hiter, &key, &val))
    g_ptr_array_add (names, key);
  g_ptr_array_sort (names, compare_strings);

  path = us_sigv4_uri_encode (request->path, strlen (request->path), TRUE);
  query = canonical_query (request->query);
  g_string_append_printf (out, "%s\n%s\n%s\n", request->method, *path ? path : "/", query);
  for (guint i = 0; i < names->len; i++)
    {
      const char *n = g_ptr_array_index (names, i);
      GString *v = g_hash_table_lookup (values, n);

      g_string_append_printf (out, "%s:%s\n", n, v->str);
      g_string_append_printf (signed_list, "%s%s", i > 0 ? ";" : "", n);
    }
  g_string_append_printf (out, "\n%s\n%s", signed_list->str, request->payload_sha256);

  g_hash_table_iter_init (&hiter, values);
  while (g_hash_table_iter_next (&hiter, NULL, &val))
    g_string_free (val, TRUE);
  if (signed_headers != NULL)
    *signed_headers = g_string_free (g_steal_pointer (&signed_list), FALSE);
  return g_string_free (g_steal_pointer (&out), FALSE);
}

char *
us_sigv4_string_to_sign (const char *amz_date,
                         const char *region,
                         const char *service,
                         const char *canonical_request)
{
  g_autofree char *hash = us_sigv4_sha256_hex (canonical_request, strlen (canonical_request));

  return g_strdup_printf ("AWS4-HMAC-SHA256\n%s\n%.8s/%s/%s/aws4_request\n%s",
                          amz_date, amz_date, region, service, hash);
}

/* HMAC-SHA256(@key, @data) into @digest (32 bytes). */
static void
hmac (const guchar *key,
      gsize         key_length,
      const char   *data,
      guchar       *digest)
{
  GHmac *h = g_hmac_new (G_CHECKSUM_SHA256, key, key_length);
  gsize length = 32;

  g_hmac_update (h, (const guchar *) data, strlen (data));
  g_hmac_get_digest (h, digest, &length);
  g_hmac_unref (h);
}

char *
us_sigv4_signature (const char *secret,
                    const char *amz_date,
                    const char *region,
                    const char *service,
                    const char *string_to_sign)
{
  g_autofree char *first = g_strconcat ("AWS4", secret, NULL);
  char date[9];
  guchar key[32];

  g_strlcpy (date, amz_date, sizeof date);
  /* kDate, kRegion, kService, kSigning, then the signature itself. */
  hmac ((const guchar *) first, strlen (first), date, key);
  hmac (key, sizeof key, region, key);
  hmac (key, sizeof key, service, key);
  hmac (key, sizeof key, "aws4_request", key);
  memset (first, 0, strlen (first));
  {
    GHmac *h = g_hmac_new (G_CHECKSUM_SHA256, key, sizeof key);
    char *hex;

    g_hmac_update (h, (const guchar *) string_to_sign, strlen (string_to_sign));
    hex = g_strdup (g_hmac_get_string (h));
    g_hmac_unref (h);
    memset (key, 0, sizeof key);
    return hex;
  }
}

char *
us_sigv4_authorization (const UsSigv4Request *request,
                        const char           *access_key_id,
                        const char           *secret,
                        const char           *amz_date,
                        const char           *region,
                        const char           *service)
{
  g_autofree char *signed_headers = NULL;
  g_autofree char *creq = us_sigv4_canonical_request (request, &signed_headers);
  g_autofree char *sts = us_sigv4_string_to_sign (amz_date, region, service, creq);
  g_autofree char *signature = us_sigv4_signature (secret, amz_date, region, service, sts);

  return g_strdup_printf ("AWS4-HMAC-SHA256 Credential=%s/%.8s/%s/%s/aws4_request, SignedHeaders=%s, Signature=%s",
                          access_key_id, amz_date, region, service, signed_headers, signature);
}

char *
us_sigv4_format_date (GDateTime *now)
{
  g_autoptr(GDateTime) utc = g_date_time_to_utc (now);

  return g_date_time_format (utc, "%Y%m%dT%H%M%SZ");
}

void
us_sigv4_sign_message (SoupMessage *msg,
                       GBytes      *body,
                       const char  *access_key_id,
                       const char  *secret,
                       const char  *session_token,
                       const char  *region,
                       const char  *service,
                       GDateTime   *now)
{
  SoupMessageHeaders *headers = soup_message_get_request_headers (msg);
  GUri *uri = soup_message_get_uri (msg);
  g_autoptr(SoupMessageHeaders) signed_set = soup_message_headers_new (SOUP_MESSAGE_HEADERS_REQUEST);
  g_autofree char *amz_date = us_sigv4_format_date (now);
  g_autofree char *host = NULL;
  g_autofree char *payload_hash = NULL;
  g_autofree char *authorization = NULL;
  const char *content_type = soup_message_headers_get_content_type (headers, NULL);
  gsize length;
  const void *data = body ? g_bytes_get_data (body, &length) : NULL;
  UsSigv4Request request = { 0 };
  int port = g_uri_get_port (uri);
  gboolean default_port = port < 0 || (port == 443 && g_ascii_strcasecmp (g_uri_get_scheme (uri), "https") == 0)
                          || (port == 80 && g_ascii_strcasecmp (g_uri_get_scheme (uri), "http") == 0);

  if (data == NULL)
    length = 0;
  /* Set here rather than left to libsoup, so that what is signed is what
   * is sent. */
  host = default_port ? g_strdup (g_uri_get_host (uri)) : g_strdup_printf ("%s:%d", g_uri_get_host (uri), port);
  soup_message_headers_replace (headers, "Host", host);
  soup_message_headers_replace (headers, "X-Amz-Date", amz_date);
  soup_message_headers_append (signed_set, "host", host);
  soup_message_headers_append (signed_set, "x-amz-date", amz_date);
  if (content_type != NULL)
    soup_message_headers_append (signed_set, "content-type",
                                 soup_message_headers_get_one (headers, "Content-Type"));
  if (session_token != NULL && *session_token != '\0')
    {
      soup_message_headers_replace (headers, "X-Amz-Security-Token", session_token);
      soup_message_headers_append (signed_set, "x-amz-security-token", session_token);
    }

  payload_hash = us_sigv4_sha256_hex (data ? data : "", length);
  request.method = soup_message_get_method (msg);
  request.path = g_uri_get_path (uri);
  request.query = g_uri_get_query (uri);
  request.headers = signed_set;
  request.payload_sha256 = payload_hash;
  authorization = us_sigv4_authorization (&request, access_key_id, secret, amz_date, region, service);
  soup_message_headers_replace (headers, "Authorization", authorization);
}
