/* test-vertex.c: Google Vertex AI (vertex-anthropic, vertex-openai) with
 * auth: google, through a real proxy. A fake token endpoint verifies each
 * service account's JWT with the account's public key and issues tokens;
 * the fake Vertex endpoints accept only the newest token it issued and
 * check the URL and body as Vertex does. */
#include <glib/gstdio.h>
#include <libsoup/soup.h>

#include "us-config.h"
#include "us-fake-google-token.h"
#include "us-fake-provider.h"
#include "us-google-auth.h"
#include "us-provider-probe.h"
#include "us-proxy.h"
#include "us-vertex.h"
#include "test-util.h"

#define EMAIL "understudy-test@test-project.iam.gserviceaccount.com"
#define CLAUDE "claude-sonnet-4-5@20250929"
#define CLAUDE_PATH "/v1/projects/test-project/locations/us-east5/publishers/anthropic/models/" CLAUDE
#define GEMINI_PATH "/v1/projects/test-project/locations/us-east5/endpoints/openapi/chat/completions"
#define BODY(stream) "{\"model\":\"claude-test\",\"max_tokens\":64," stream \
                     "\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}"
#define CHAT_BODY "{\"model\":\"gpt-test\",\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}"
#define LISTEN "\"listen\": { \"host\": \"127.0.0.1\", \"port\": 0, \"token\": \"" TEST_TOKEN "\" },"

/* One key pair for the whole run: generating one takes a while. */
static char *private_pem;
static char *public_pem;

static char *
service_account_json (const char *token_uri)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, "service_account");
  json_builder_set_member_name (b, "project_id");
  json_builder_add_string_value (b, "test-project");
  json_builder_set_member_name (b, "private_key_id");
  json_builder_add_string_value (b, "0123456789abcdef");
  json_builder_set_member_name (b, "private_key");
  json_builder_add_string_value (b, private_pem);
  json_builder_set_member_name (b, "client_email");
  json_builder_add_string_value (b, EMAIL);
  json_builder_set_member_name (b, "token_uri");
  json_builder_add_string_value (b, token_uri);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  return json_to_string (root, TRUE);
}

static char *
authorized_user_json (const char *token_uri,
                      const char *refresh_token)
{
  if (token_uri == NULL)
    return g_strdup_printf ("{ \"type\": \"authorized_user\", \"client_id\": \"cid.apps.googleusercontent.com\","
                            " \"client_secret\": \"csecret\", \"refresh_token\": \"%s\" }", refresh_token);
  return g_strdup_printf ("{ \"type\": \"authorized_user\", \"client_id\": \"cid.apps.googleusercontent.com\","
                          " \"client_secret\": \"csecret\", \"refresh_token\": \"%s\", \"token_uri\": \"%s\" }",
                          refresh_token, token_uri);
}

static char *
write_file (const char *dir,
            const char *name,
            const char *contents)
{
  g_autoptr(GError) error = NULL;
  char *path = g_build_filename (dir, name, NULL);
  g_autofree char *parent = g_path_get_dirname (path);

  g_assert_cmpint (g_mkdir_with_parents (parent, 0700), ==, 0);
  g_file_set_contents (path, contents, -1, &error);
  g_assert_no_error (error);
  return path;
}


/* ---- Config ------------------------------------------------------------ */

static UsConfig *
parse (const char  *providers,
       GError     **error)
{
  g_autofree char *json = g_strdup_printf (
    "{ \"version\": 1, " LISTEN " \"providers\": [ %s ],"
    "  \"chains\": [ { \"id\": \"default\", \"match\": [\"*\"], \"models\": ["
    "    { \"provider\": \"p\", \"model\": \"m\" } ] } ] }", providers);

  return us_config_new_from_data (json, -1, error);
}

static void
assert_config_error (const char *providers,
                     const char *message_part)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(UsConfig) config = parse (providers, &error);

  g_assert_null (config);
  g_assert_error (error, US_CONFIG_ERROR, US_CONFIG_ERROR_INVALID);
  if (strstr (error->message, message_part) == NULL)
    g_error ("expected \"%s\" in \"%s\"", message_part, error->message);
}

static void
test_config (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(UsConfig) config = parse (
    "{ \"id\": \"p\", \"kind\": \"vertex-anthropic\", \"project\": \"my-project\", \"region\": \"us-east5\" },"
    "{ \"id\": \"g\", \"kind\": \"vertex-openai\", \"project\": \"my-project\", \"region\": \"global\","
    "  \"credentials_file\": \"~/sa.json\" }", &error);
  const UsProviderConfig *p, *g;
  g_autofree char *claude = NULL;
  g_autofree char *count = NULL;
  g_autofree char *gemini = NULL;

  g_assert_no_error (error);
  p = us_config_lookup_provider (config, "p");
  g = us_config_lookup_provider (config, "g");
  g_assert_cmpstr (p->base_url, ==, "https://us-east5-aiplatform.googleapis.com");
  g_assert_cmpint (p->auth, ==, US_AUTH_GOOGLE);
  g_assert_cmpstr (p->project, ==, "my-project");
  g_assert_cmpstr (p->region, ==, "us-east5");
  g_assert_null (p->credentials_file);
  g_assert_cmpstr (g->base_url, ==, "https://aiplatform.googleapis.com");
  g_assert_cmpstr (g->credentials_file, ==, "~/sa.json");
  g_assert_cmpstr (us_auth_mode_to_string (g->auth), ==, "google");

  claude = us_vertex_request_url (p, CLAUDE, TRUE, FALSE);
  g_assert_cmpstr (claude, ==, "https://us-east5-aiplatform.googleapis.com/v1/projects/my-project/locations/"
                               "us-east5/publishers/anthropic/models/" CLAUDE ":streamRawPredict");
  count = us_vertex_request_url (p, CLAUDE, FALSE, TRUE);
  g_assert_cmpstr (count, ==, "https://us-east5-aiplatform.googleapis.com/v1/projects/my-project/locations/"
                              "us-east5/publishers/anthropic/models/count-tokens:rawPredict");
  gemini = us_vertex_request_url (g, "google/gemini-2.5-flash", FALSE, FALSE);
  g_assert_cmpstr (gemini, ==, "https://aiplatform.googleapis.com/v1/projects/my-project/locations/global/"
                               "endpoints/openapi/chat/completions");

  assert_config_error ("{ \"id\": \"p\", \"kind\": \"vertex-anthropic\", \"region\": \"us-east5\" }",
                       "$.providers[0].project: expected a non-empty string");
  assert_config_error ("{ \"id\": \"p\", \"kind\": \"vertex-anthropic\", \"project\": \"x\" }",
                       "$.providers[0].region: expected a non-empty string");
  assert_config_error ("{ \"id\": \"p\", \"kind\": \"vertex-openai\", \"project\": \"x\", \"region\": \"US East\" }",
                       "$.providers[0].region: expected a Google Cloud location");
  assert_config_error ("{ \"id\": \"p\", \"kind\": \"vertex-openai\", \"project\": \"a/b\", \"region\": \"global\" }",
                       "$.providers[0].project: expected a Google Cloud project id");
  assert_config_error ("{ \"id\": \"p\", \"kind\": \"vertex-openai\", \"project\": \"x\", \"region\": \"global\","
                       " \"credentials_file\": \"sa.json\" }",
                       "$.providers[0].credentials_file: expected an absolute path");
  assert_config_error ("{ \"id\": \"p\", \"kind\": \"vertex-openai\", \"project\": \"x\", \"region\": \"global\","
                       " \"auth\": \"key\" }",
                       "$.providers[0].auth: expected google");
  assert_config_error ("{ \"id\": \"p\", \"kind\": \"vertex-openai\", \"project\": \"x\", \"region\": \"global\","
                       " \"key_env\": \"X_KEY\" }",
                       "$.providers[0].key_env: a vertex provider has no key");
  assert_config_error ("{ \"id\": \"p\", \"kind\": \"openai-chat\", \"base_url\": \"http://127.0.0.1:9/v1\","
                       " \"auth\": \"google\" }",
                       "$.providers[0].auth: auth google is for vertex-anthropic and vertex-openai");
  assert_config_error ("{ \"id\": \"p\", \"kind\": \"openai-chat\", \"base_url\": \"http://127.0.0.1:9/v1\","
                       " \"project\": \"x\" }",
                       "$.providers[0].project: only a vertex-anthropic or vertex-openai provider takes project");
  assert_config_error ("{ \"id\": \"p\", \"kind\": \"anthropic\", \"region\": \"us-east5\" }",
                       "$.providers[0].region: only a bedrock, vertex-anthropic or vertex-openai provider takes region");
}

static char *
base64url_text (const char *part)
{
  g_autoptr(GString) b64 = g_string_new (part);
  g_autofree guchar *data = NULL;
  gsize len;

  for (gsize i = 0; i < b64->len; i++)
    b64->str[i] = b64->str[i] == '-' ? '+' : b64->str[i] == '_' ? '/' : b64->str[i];
  while (b64->len % 4 != 0)
    g_string_append_c (b64, '=');
  data = g_base64_decode (b64->str, &len);
  return g_strndup ((const char *) data, len);
}

/* The JWT as Google wants it, and what signing one costs. */
static void
test_jwt (void)
{
  g_autoptr(GError) error = NULL;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  g_autofree char *jwt = us_google_auth_sign_jwt (EMAIL, "kid-1", private_pem, "https://oauth2.example/token",
                                                  now, &error);
  g_auto(GStrv) parts = NULL;
  g_autofree char *header = NULL;
  g_autofree char *claims = NULL;
  g_autofree char *expected_claims = NULL;
  gint64 start;
  const int n = 50;

  g_assert_no_error (error);
  parts = g_strsplit (jwt, ".", -1);
  g_assert_cmpuint (g_strv_length (parts), ==, 3);
  /* base64url without padding: no '+', '/' or '='. */
  g_assert_null (strpbrk (jwt, "+/="));
  /* A 2048-bit RSA signature is 256 bytes: 342 base64url characters. */
  g_assert_cmpuint (strlen (parts[2]), ==, 342);
  header = base64url_text (parts[0]);
  g_assert_cmpstr (header, ==, "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"kid-1\"}");
  claims = base64url_text (parts[1]);
  expected_claims = g_strdup_printf ("{\"iss\":\"" EMAIL "\",\"scope\":\"https://www.googleapis.com/auth/cloud-platform\","
                                     "\"aud\":\"https://oauth2.example/token\",\"iat\":%" G_GINT64_FORMAT
                                     ",\"exp\":%" G_GINT64_FORMAT "}", now, now + 3600);
  g_assert_cmpstr (claims, ==, expected_claims);

  g_assert_null (us_google_auth_sign_jwt (EMAIL, NULL, "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n",
                                          "https://oauth2.example/token", now, &error));
  g_assert_error (error, US_GOOGLE_AUTH_ERROR, US_GOOGLE_AUTH_ERROR_CREDENTIALS);

  start = g_get_monotonic_time ();
  for (int i = 0; i < n; i++)
    g_free (us_google_auth_sign_jwt (EMAIL, NULL, private_pem, "https://oauth2.example/token", now, NULL));
  g_test_message ("RS256 JWT (RSA 2048, GnuTLS): %.2f ms to sign, once an hour per credential",
                  (g_get_monotonic_time () - start) / 1000.0 / n);
}

/* ---- Through the proxy ------------------------------------------------- */

typedef struct {
  char *dir;
  char *credentials;
  UsFakeProvider *primary;
  UsFakeProvider *claude;  /* Claude on Vertex */
  UsFakeProvider *gemini;  /* Vertex's OpenAI-compatible endpoint */
  UsFakeProvider *last;    /* an OpenAI fallback after Vertex */
  UsFakeGoogleToken *token;
  UsProxy *proxy;
  TestClient *client;
} Fixture;

/* The fakes take only the newest token the token endpoint issued. */
static void
on_token_issued (UsFakeGoogleToken *token,
                 const char        *issued,
                 Fixture           *f)
{
  us_fake_provider_set_required_key (f->claude, issued);
  us_fake_provider_set_required_key (f->gemini, issued);
}

/* Anthropic (answering @primary_status, 0 = fine) → @vertex_id's model →
 * an OpenAI fallback, with @credentials as the credentials file (NULL: a
 * service account's, for the fake token endpoint). */
static void
fixture_set_up_full (Fixture    *f,
                     guint       primary_status,
                     const char *vertex_model,
                     const char *credentials)
{
  g_autofree char *json = NULL;
  g_autofree char *sa = NULL;

  f->dir = g_dir_make_tmp ("understudy-vertex-XXXXXX", NULL);
  f->token = us_fake_google_token_new ();
  us_fake_google_token_add_service_account (f->token, EMAIL, public_pem);
  sa = credentials ? g_strdup (credentials) : service_account_json (us_fake_google_token_get_uri (f->token));
  f->credentials = write_file (f->dir, "sa.json", sa);

  f->primary = us_fake_provider_new (US_FAKE_FORMAT_ANTHROPIC);
  f->claude = us_fake_provider_new (US_FAKE_FORMAT_ANTHROPIC);
  f->gemini = us_fake_provider_new (US_FAKE_FORMAT_OPENAI_CHAT);
  f->last = us_fake_provider_new (US_FAKE_FORMAT_OPENAI_CHAT);
  us_fake_provider_set_vertex (f->claude, "test-project", "us-east5");
  us_fake_provider_set_vertex (f->gemini, "test-project", "us-east5");
  us_fake_provider_set_text (f->claude, "vertex claude says hi");
  us_fake_provider_set_text (f->gemini, "vertex gemini says hi");
  us_fake_provider_set_text (f->last, "the last one says hi");
  /* Nothing is accepted before a token is issued. */
  us_fake_provider_set_required_key (f->claude, "no-token-issued-yet");
  us_fake_provider_set_required_key (f->gemini, "no-token-issued-yet");
  g_signal_connect (f->token, "token-issued", G_CALLBACK (on_token_issued), f);
  if (primary_status != 0)
    {
      UsFakeStep step = { .behavior = US_FAKE_STATUS, .status = primary_status };

      us_fake_provider_set_default (f->primary, &step);
    }

  json = g_strdup_printf (
    "{ \"version\": 1, " LISTEN
    "  \"providers\": ["
    "    { \"id\": \"primary\", \"kind\": \"anthropic\", \"base_url\": \"%s\", \"auth\": \"passthrough\" },"
    "    { \"id\": \"claude\", \"kind\": \"vertex-anthropic\", \"base_url\": \"%s\", \"project\": \"test-project\","
    "      \"region\": \"us-east5\", \"auth\": \"google\", \"credentials_file\": \"%s\" },"
    "    { \"id\": \"gemini\", \"kind\": \"vertex-openai\", \"base_url\": \"%s\", \"project\": \"test-project\","
    "      \"region\": \"us-east5\", \"credentials_file\": \"%s\" },"
    "    { \"id\": \"last\", \"kind\": \"openai-chat\", \"base_url\": \"%s/v1\", \"auth\": \"none\" } ],"
    "  \"chains\": [ { \"id\": \"default\", \"match\": [\"*\"], \"models\": ["
    "    { \"provider\": \"primary\", \"model\": \"*\" },"
    "    { \"provider\": \"%s\", \"model\": \"%s\" },"
    "    { \"provider\": \"last\", \"model\": \"gpt-last\" } ] } ] }",
    us_fake_provider_get_base_url (f->primary), us_fake_provider_get_base_url (f->claude), f->credentials,
    us_fake_provider_get_base_url (f->gemini), f->credentials, us_fake_provider_get_base_url (f->last),
    g_str_has_prefix (vertex_model, "google/") ? "gemini" : "claude", vertex_model);
  f->proxy = test_proxy_new (json);
  f->client = test_client_new (f->proxy);
}

static void
fixture_set_up (Fixture *f)
{
  fixture_set_up_full (f, 429, CLAUDE, NULL);
}

static void
fixture_tear_down (Fixture *f)
{
  test_client_free (f->client);
  g_clear_object (&f->proxy);
  g_clear_object (&f->primary);
  g_clear_object (&f->claude);
  g_clear_object (&f->gemini);
  g_clear_object (&f->last);
  g_clear_object (&f->token);
  test_remove_tree (f->dir);
  g_free (f->dir);
  g_free (f->credentials);
}

static void
assert_vertex_claude_request (Fixture             *f,
                              const UsFakeRequest *request,
                              gboolean             stream)
{
  g_autofree char *bearer = g_strconcat ("Bearer ", us_fake_google_token_get_last_token (f->token), NULL);
  JsonObject *body = json_node_get_object (request->json);

  g_assert_cmpstr (request->path, ==, stream ? CLAUDE_PATH ":streamRawPredict" : CLAUDE_PATH ":rawPredict");
  g_assert_cmpstr (us_fake_request_get_header (request, "authorization"), ==, bearer);
  g_assert_null (us_fake_request_get_header (request, "x-api-key"));
  g_assert_cmpstr (json_object_get_string_member (body, "anthropic_version"), ==, "vertex-2023-10-16");
  g_assert_false (json_object_has_member (body, "model"));
  g_assert_cmpint (us_fake_request_get_stream (request), ==, stream);
}

/* Anthropic 429 → Claude on Vertex, for an Anthropic client. */
static void
test_anthropic_failover (gconstpointer data)
{
  gboolean stream = GPOINTER_TO_INT (data);
  Fixture f = { 0 };
  g_autoptr(TestReply) reply = NULL;
  g_autofree char *text = NULL;
  const char * const headers[] = { "x-api-key", "sk-ant-client-key", NULL };

  fixture_set_up (&f);
  reply = test_post (f.client, "/v1/messages", stream ? BODY ("\"stream\":true,") : BODY (""), headers);
  g_assert_cmpuint (reply->status, ==, 200);
  g_assert_cmpstr (soup_message_headers_get_one (reply->headers, "x-understudy-model"), ==, "claude/" CLAUDE);
  if (stream)
    {
      text = test_stream_text (reply->body);
      g_assert_cmpstr (text, ==, "vertex claude says hi");
    }
  else
    g_assert_nonnull (strstr (reply->body, "\"text\":\"vertex claude says hi\""));
  g_assert_cmpuint (us_fake_provider_get_n_requests (f.primary), ==, 1);
  g_assert_cmpuint (us_fake_provider_get_n_requests (f.claude), ==, 1);
  assert_vertex_claude_request (&f, us_fake_provider_get_last_request (f.claude), stream);
  g_assert_cmpuint (us_fake_google_token_get_n_requests (f.token), ==, 1);
  g_assert_cmpstr (us_fake_google_token_get_last_subject (f.token), ==, EMAIL);
  g_assert_null (us_fake_request_get_header (us_fake_provider_get_last_request (f.claude), "x-goog-user-project"));

  /* The fake takes nothing but that token. */
  {
    const char *vertex_body = "{\"anthropic_version\":\"vertex-2023-10-16\",\"max_tokens\":8,"
                              "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    g_autoptr(SoupMessage) msg = NULL;
    g_autofree char *url = g_strconcat (us_fake_provider_get_base_url (f.claude), CLAUDE_PATH ":rawPredict", NULL);
    g_autoptr(GBytes) bytes = g_bytes_new_static (vertex_body, strlen (vertex_body));
    g_autoptr(TestReply) anonymous = test_post_direct (f.claude, CLAUDE_PATH ":rawPredict", vertex_body);
    g_autoptr(TestReply) stale = NULL;

    g_assert_cmpuint (anonymous->status, ==, 401);
    g_assert_nonnull (strstr (anonymous->body, "UNAUTHENTICATED"));
    msg = soup_message_new ("POST", url);
    soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization", "Bearer ya29.not-issued");
    soup_message_set_request_body_from_bytes (msg, "application/json", bytes);
    stale = test_send (msg);
    g_assert_cmpuint (stale->status, ==, 401);
  }
  fixture_tear_down (&f);
}

/* Anthropic 429 → Claude on Vertex, for an OpenAI Chat client: the
 * request is translated to the Anthropic body Vertex takes. */
static void
test_chat_client_failover (void)
{
  Fixture f = { 0 };
  g_autoptr(TestReply) reply = NULL;

  fixture_set_up (&f);
  reply = test_post (f.client, "/v1/chat/completions", CHAT_BODY, NULL);
  g_assert_cmpuint (reply->status, ==, 200);
  g_assert_cmpstr (soup_message_headers_get_one (reply->headers, "x-understudy-model"), ==, "claude/" CLAUDE);
  g_assert_nonnull (strstr (reply->body, "vertex claude says hi"));
  g_assert_nonnull (strstr (reply->body, "chat.completion"));
  assert_vertex_claude_request (&f, us_fake_provider_get_last_request (f.claude), FALSE);
  fixture_tear_down (&f);
}

/* Anthropic 429 → Gemini through Vertex's OpenAI-compatible endpoint. */
static void
test_openai_endpoint_failover (gconstpointer data)
{
  gboolean stream = GPOINTER_TO_INT (data);
  Fixture f = { 0 };
  g_autoptr(TestReply) reply = NULL;
  g_autofree char *bearer = NULL;
  g_autofree char *text = NULL;
  const UsFakeRequest *request;

  fixture_set_up_full (&f, 529, "google/gemini-2.5-flash", NULL);
  reply = test_post (f.client, "/v1/messages", stream ? BODY ("\"stream\":true,") : BODY (""), NULL);
  g_assert_cmpuint (reply->status, ==, 200);
  g_assert_cmpstr (soup_message_headers_get_one (reply->headers, "x-understudy-model"), ==,
                   "gemini/google/gemini-2.5-flash");
  if (stream)
    {
      text = test_stream_text (reply->body);
      g_assert_cmpstr (text, ==, "vertex gemini says hi");
    }
  else
    g_assert_nonnull (strstr (reply->body, "vertex gemini says hi"));
  request = us_fake_provider_get_last_request (f.gemini);
  bearer = g_strconcat ("Bearer ", us_fake_google_token_get_last_token (f.token), NULL);
  g_assert_cmpstr (request->path, ==, GEMINI_PATH);
  g_assert_cmpstr (us_fake_request_get_model (request), ==, "google/gemini-2.5-flash");
  g_assert_cmpstr (us_fake_request_get_header (request, "authorization"), ==, bearer);
  fixture_tear_down (&f);
}

static gboolean status_mentions (Fixture *f, const char *needle);

/* Vertex refuses the anthropic-beta values it does not know: Claude Code's
 * request is sent again without them, and later ones leave them out. */
static void
test_refused_betas (void)
{
  Fixture f = { 0 };
  const char * const refused[] = { "claude-code-20250219", "effort-2025-11-24", NULL };
  const char * const headers[] = {
    "anthropic-beta", "claude-code-20250219,interleaved-thinking-2025-05-14,oauth-2025-04-20,effort-2025-11-24",
    "anthropic-version", "2023-06-01", NULL };

  fixture_set_up (&f);
  us_fake_provider_set_vertex_refused_betas (f.claude, refused);
  for (guint i = 0; i < 2; i++)
    {
      g_autoptr(TestReply) reply = test_post (f.client, "/v1/messages", BODY ("\"stream\":true,"), headers);
      g_autofree char *text = test_stream_text (reply->body);

      g_assert_cmpuint (reply->status, ==, 200);
      g_assert_cmpstr (soup_message_headers_get_one (reply->headers, "x-understudy-model"), ==, "claude/" CLAUDE);
      g_assert_cmpstr (text, ==, "vertex claude says hi");
    }
  /* Refused once, then never sent again; the subscription-only beta goes
   * with the client's credentials. */
  g_assert_cmpuint (us_fake_provider_get_n_requests (f.claude), ==, 3);
  g_assert_cmpstr (us_fake_request_get_header (us_fake_provider_get_request (f.claude, 0), "anthropic-beta"), ==,
                   "claude-code-20250219,interleaved-thinking-2025-05-14,effort-2025-11-24");
  for (guint i = 1; i < 3; i++)
    {
      const UsFakeRequest *request = us_fake_provider_get_request (f.claude, i);

      g_assert_cmpstr (us_fake_request_get_header (request, "anthropic-beta"), ==, "interleaved-thinking-2025-05-14");
      assert_vertex_claude_request (&f, request, TRUE);
    }
  g_assert_true (status_mentions (&f, "sent again without the anthropic-beta values Vertex refused"));
  fixture_tear_down (&f);
}

/* Counting tokens goes to Vertex's count-tokens endpoint, which takes the
 * model in the body. */
static void
test_count_tokens (void)
{
  Fixture f = { 0 };
  g_autoptr(TestReply) reply = NULL;
  const UsFakeRequest *request;
  JsonObject *body;

  fixture_set_up (&f);
  /* The primary is gone (connection refused): Vertex counts. */
  g_clear_object (&f.primary);
  reply = test_post (f.client, "/v1/messages/count_tokens", BODY (""), NULL);
  g_assert_cmpuint (reply->status, ==, 200);
  g_assert_nonnull (strstr (reply->body, "\"input_tokens\""));
  g_assert_cmpuint (us_fake_provider_get_n_requests (f.claude), ==, 1);
  request = us_fake_provider_get_last_request (f.claude);
  body = json_node_get_object (request->json);
  g_assert_cmpstr (request->path, ==,
                   "/v1/projects/test-project/locations/us-east5/publishers/anthropic/models/count-tokens:rawPredict");
  g_assert_cmpstr (json_object_get_string_member (body, "model"), ==, CLAUDE);
  g_assert_cmpstr (json_object_get_string_member (body, "anthropic_version"), ==, "vertex-2023-10-16");
  fixture_tear_down (&f);
}

/* Several requests, one token; several at once, still one fetch. */
static void
test_token_cached (void)
{
  Fixture f = { 0 };
  const char * const bodies[] = { BODY (""), BODY ("\"stream\":true,"), BODY (""), BODY (""), NULL };
  guint statuses[G_N_ELEMENTS (bodies) - 1] = { 0 };

  fixture_set_up (&f);
  /* The token comes late: every request waits for the same fetch. */
  us_fake_google_token_set_delay_ms (f.token, 300);
  test_post_concurrently (f.client, "/v1/messages", bodies, statuses);
  for (guint i = 0; i < G_N_ELEMENTS (statuses); i++)
    g_assert_cmpuint (statuses[i], ==, 200);
  g_assert_cmpuint (us_fake_google_token_get_n_requests (f.token), ==, 1);
  for (guint i = 0; i < 3; i++)
    {
      g_autoptr(TestReply) reply = test_post (f.client, "/v1/messages", BODY (""), NULL);

      g_assert_cmpuint (reply->status, ==, 200);
      g_assert_cmpstr (soup_message_headers_get_one (reply->headers, "x-understudy-model"), ==, "claude/" CLAUDE);
    }
  g_assert_cmpuint (us_fake_google_token_get_n_requests (f.token), ==, 1);
  g_assert_cmpuint (us_fake_provider_get_n_requests (f.claude), ==, 7);
  fixture_tear_down (&f);
}

/* A token is used until a minute before it expires, then fetched anew;
 * the old one would be refused by then. */
static void
test_token_refresh (void)
{
  Fixture f = { 0 };
  g_autofree char *first = NULL;
  g_autofree char *bearer = NULL;

  fixture_set_up (&f);
  /* Usable for 3 s: long enough for a loaded machine's second request. */
  us_fake_google_token_set_expires_in (f.token, US_GOOGLE_TOKEN_MARGIN_S + 3);
  {
    gint64 start = g_get_monotonic_time ();
    g_autoptr(TestReply) reply = test_post (f.client, "/v1/messages", BODY (""), NULL);

    g_assert_cmpuint (reply->status, ==, 200);
    g_test_message ("Anthropic 429 then Vertex, fetching a token (read file, sign, exchange): %.1f ms",
                    (g_get_monotonic_time () - start) / 1000.0);
  }
  first = g_strdup (us_fake_google_token_get_last_token (f.token));
  {
    gint64 start = g_get_monotonic_time ();
    g_autoptr(TestReply) reply = test_post (f.client, "/v1/messages", BODY (""), NULL);

    g_assert_cmpuint (reply->status, ==, 200);
    g_assert_cmpuint (us_fake_google_token_get_n_requests (f.token), ==, 1);
    g_test_message ("Vertex with the cached token (the primary cooling down): %.1f ms",
                    (g_get_monotonic_time () - start) / 1000.0);
  }
  test_spin_ms (3100);
  {
    g_autoptr(TestReply) reply = test_post (f.client, "/v1/messages", BODY (""), NULL);

    g_assert_cmpuint (reply->status, ==, 200);
    g_assert_cmpstr (soup_message_headers_get_one (reply->headers, "x-understudy-model"), ==, "claude/" CLAUDE);
  }
  g_assert_cmpuint (us_fake_google_token_get_n_requests (f.token), ==, 2);
  g_assert_cmpstr (us_fake_google_token_get_last_token (f.token), !=, first);
  bearer = g_strconcat ("Bearer ", us_fake_google_token_get_last_token (f.token), NULL);
  g_assert_cmpstr (us_fake_request_get_header (us_fake_provider_get_last_request (f.claude), "authorization"),
                   ==, bearer);
  fixture_tear_down (&f);
}

/* A token Vertex refuses before it expires (revoked) is not used again:
 * that request goes on down the chain, the next one fetches a new token. */
static void
test_token_revoked (void)
{
  Fixture f = { 0 };

  fixture_set_up (&f);
  {
    g_autoptr(TestReply) reply = test_post (f.client, "/v1/messages", BODY (""), NULL);

    g_assert_cmpstr (soup_message_headers_get_one (reply->headers, "x-understudy-model"), ==, "claude/" CLAUDE);
  }
  us_fake_provider_set_required_key (f.claude, "revoked-everything-before");
  {
    g_autoptr(TestReply) reply = test_post (f.client, "/v1/messages", BODY (""), NULL);

    g_assert_cmpuint (reply->status, ==, 200);
    g_assert_cmpstr (soup_message_headers_get_one (reply->headers, "x-understudy-model"), ==, "last/gpt-last");
  }
  g_assert_cmpuint (us_fake_google_token_get_n_requests (f.token), ==, 1);
  {
    g_autoptr(TestReply) reply = test_post (f.client, "/v1/messages", BODY (""), NULL);

    g_assert_cmpuint (reply->status, ==, 200);
    g_assert_cmpstr (soup_message_headers_get_one (reply->headers, "x-understudy-model"), ==, "claude/" CLAUDE);
  }
  g_assert_cmpuint (us_fake_google_token_get_n_requests (f.token), ==, 2);
  fixture_tear_down (&f);
}

static gboolean
status_mentions (Fixture    *f,
                 const char *needle)
{
  g_autoptr(JsonNode) status = us_proxy_status_to_json (f->proxy);
  g_autofree char *text = json_to_string (status, FALSE);

  return strstr (text, needle) != NULL;
}

/* A token endpoint that refuses (here: a JWT signed with a key the account
 * does not have) fails Vertex over with the reason, never a crash. */
static void
test_token_refused (void)
{
  Fixture f = { 0 };
  g_autoptr(TestReply) reply = NULL;
  g_autofree char *other_private = NULL;
  g_autofree char *other_public = NULL;

  fixture_set_up (&f);
  us_fake_google_generate_key (&other_private, &other_public);
  us_fake_google_token_add_service_account (f.token, EMAIL, other_public);
  reply = test_post (f.client, "/v1/messages", BODY (""), NULL);
  g_assert_cmpuint (reply->status, ==, 200);
  g_assert_cmpstr (soup_message_headers_get_one (reply->headers, "x-understudy-model"), ==, "last/gpt-last");
  g_assert_cmpstr (soup_message_headers_get_one (reply->headers, "x-understudy-attempts"), ==, "3");
  g_assert_cmpstr (us_fake_google_token_get_last_refusal (f.token), ==, "Invalid JWT Signature.");
  g_assert_null (us_fake_google_token_get_last_token (f.token));
  g_assert_cmpuint (us_fake_provider_get_n_requests (f.claude), ==, 0);
  g_assert_true (status_mentions (&f, "no Google token: token endpoint"));
  g_assert_true (status_mentions (&f, "Invalid JWT Signature."));
  fixture_tear_down (&f);
}

/* A credentials file that is not there: the reason says which, and the
 * next model serves. */
static void
test_credentials_missing (void)
{
  Fixture f = { 0 };
  g_autoptr(TestReply) reply = NULL;

  fixture_set_up (&f);
  g_assert_cmpint (g_unlink (f.credentials), ==, 0);
  reply = test_post (f.client, "/v1/messages", BODY ("\"stream\":true,"), NULL);
  g_assert_cmpuint (reply->status, ==, 200);
  g_assert_cmpstr (soup_message_headers_get_one (reply->headers, "x-understudy-model"), ==, "last/gpt-last");
  g_assert_cmpuint (us_fake_google_token_get_n_requests (f.token), ==, 0);
  g_assert_true (status_mentions (&f, "no Google token: cannot read Google credentials"));
  fixture_tear_down (&f);
}

/* gcloud's login (an authorized user) is refreshed at its token_uri. */
static void
test_authorized_user (void)
{
  Fixture f = { 0 };
  g_autoptr(TestReply) reply = NULL;
  g_autoptr(UsFakeGoogleToken) token = us_fake_google_token_new ();
  g_autofree char *plain = authorized_user_json (us_fake_google_token_get_uri (token), "1//refresh-me");
  /* As gcloud writes it: with the project usage is billed to. */
  g_autofree char *user = g_strdup_printf ("{ \"quota_project_id\": \"billing-project\", %s", strchr (plain, '{') + 1);

  /* The fixture's token endpoint knows no such user: the file's token_uri
   * is another one's. */
  fixture_set_up_full (&f, 429, CLAUDE, user);
  us_fake_google_token_add_authorized_user (token, "cid.apps.googleusercontent.com", "csecret", "1//refresh-me");
  g_signal_connect (token, "token-issued", G_CALLBACK (on_token_issued), &f);
  reply = test_post (f.client, "/v1/messages", BODY ("\"stream\":true,"), NULL);
  g_assert_cmpuint (reply->status, ==, 200);
  g_assert_cmpstr (soup_message_headers_get_one (reply->headers, "x-understudy-model"), ==, "claude/" CLAUDE);
  g_assert_cmpuint (us_fake_google_token_get_n_requests (token), ==, 1);
  g_assert_cmpuint (us_fake_google_token_get_n_requests (f.token), ==, 0);
  g_assert_cmpstr (us_fake_google_token_get_last_subject (token), ==, "1//refresh-me");
  g_assert_cmpstr (us_fake_request_get_header (us_fake_provider_get_last_request (f.claude), "x-goog-user-project"),
                   ==, "billing-project");
  g_signal_handlers_disconnect_by_data (token, &f);
  fixture_tear_down (&f);
}

typedef struct {
  char *text;
  GError *error;
  gboolean done;
} Probed;

static void
on_probed (GObject      *source,
           GAsyncResult *result,
           gpointer      data)
{
  Probed *probed = data;

  probed->text = us_provider_probe_finish (result, &probed->error);
  probed->done = TRUE;
}

/* The window's "Test" fetches a token first, as requests do. */
static void
test_probe (void)
{
  Fixture f = { 0 };
  Probed claude = { 0 };
  Probed gemini = { 0 };

  fixture_set_up (&f);
  us_fake_provider_set_text (f.claude, "OK");
  us_provider_probe_async (f.proxy, "claude", CLAUDE, 5000, NULL, on_probed, &claude);
  while (!claude.done)
    g_main_context_iteration (NULL, TRUE);
  g_assert_no_error (claude.error);
  g_assert_cmpstr (claude.text, ==, "OK");
  assert_vertex_claude_request (&f, us_fake_provider_get_last_request (f.claude), FALSE);

  /* Refused credentials say so. */
  us_fake_google_token_set_refuse_status (f.token, 400);
  us_provider_probe_async (f.proxy, "gemini", "google/gemini-2.5-flash", 5000, NULL, on_probed, &gemini);
  while (!gemini.done)
    g_main_context_iteration (NULL, TRUE);
  /* Both share the credentials file, so the token is the cached one. */
  g_assert_no_error (gemini.error);
  g_assert_cmpuint (us_fake_google_token_get_n_requests (f.token), ==, 1);
  g_clear_pointer (&gemini.text, g_free);
  fixture_tear_down (&f);

  fixture_set_up (&f);
  us_fake_google_token_set_refuse_status (f.token, 400);
  gemini.done = FALSE;
  us_provider_probe_async (f.proxy, "gemini", "google/gemini-2.5-flash", 5000, NULL, on_probed, &gemini);
  while (!gemini.done)
    g_main_context_iteration (NULL, TRUE);
  g_assert_error (gemini.error, US_PROVIDER_PROBE_ERROR, US_PROVIDER_PROBE_ERROR_NO_KEY);
  g_assert_nonnull (strstr (gemini.error->message, "invalid_grant: account not found"));
  g_assert_cmpuint (us_fake_provider_get_n_requests (f.gemini), ==, 0);
  g_clear_error (&gemini.error);
  g_free (claude.text);
  fixture_tear_down (&f);
}

/* ---- Finding the credentials ------------------------------------------- */

static void
on_fetched (GObject      *source,
            GAsyncResult *result,
            gpointer      data)
{
  GError **error = data;
  g_autofree char *token = us_google_auth_get_token_finish (US_GOOGLE_AUTH (source), result, error);

  if (token != NULL)
    g_assert_null (*error);
  *error = *error ? *error : g_error_new_literal (G_IO_ERROR, G_IO_ERROR_EXISTS, "ok");
}

/* The refresh token the credentials found by a new UsGoogleAuth belong to,
 * or the error's message. */
static char *
fetch_subject (SoupSession       *session,
               UsFakeGoogleToken *token,
               const char        *credentials_file,
               const char        *expected_path)
{
  g_autoptr(UsGoogleAuth) auth = us_google_auth_new (session, credentials_file);
  g_autoptr(GError) error = NULL;

  g_assert_cmpstr (us_google_auth_get_path (auth), ==, expected_path);
  us_google_auth_get_token_async (auth, NULL, on_fetched, &error);
  while (error == NULL)
    g_main_context_iteration (NULL, TRUE);
  if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_EXISTS))
    return g_strdup (error->message);
  return g_strdup (us_fake_google_token_get_last_subject (token));
}

static void
test_discovery (void)
{
  g_autoptr(UsFakeGoogleToken) token = us_fake_google_token_new ();
  g_autoptr(SoupSession) session = soup_session_new ();
  g_autofree char *dir = g_dir_make_tmp ("understudy-adc-XXXXXX", NULL);
  g_autofree char *home = g_build_filename (dir, "home", NULL);
  g_autofree char *cloudsdk = g_build_filename (dir, "cloudsdk", NULL);
  const char *uri = us_fake_google_token_get_uri (token);
  g_autofree char *a = authorized_user_json (uri, "from-config");
  g_autofree char *b = authorized_user_json (uri, "from-env");
  g_autofree char *c = authorized_user_json (uri, "from-cloudsdk-config");
  g_autofree char *d = authorized_user_json (uri, "from-home");
  g_autofree char *file_a = write_file (dir, "a.json", a);
  g_autofree char *file_b = write_file (dir, "b.json", b);
  g_autofree char *file_c = write_file (cloudsdk, "application_default_credentials.json", c);
  g_autofree char *file_d = write_file (home, ".config/gcloud/application_default_credentials.json", d);
  g_autofree char *tilde_file = write_file (home, "sa.json", a);
  g_autofree char *old_home = g_strdup (g_getenv ("HOME"));
  const char * const refresh[] = { "from-config", "from-env", "from-cloudsdk-config", "from-home" };
  char *subject;

  for (guint i = 0; i < G_N_ELEMENTS (refresh); i++)
    us_fake_google_token_add_authorized_user (token, "cid.apps.googleusercontent.com", "csecret", refresh[i]);
  g_setenv ("HOME", home, TRUE);
  g_setenv ("GOOGLE_APPLICATION_CREDENTIALS", file_b, TRUE);
  g_setenv ("CLOUDSDK_CONFIG", cloudsdk, TRUE);

  subject = fetch_subject (session, token, file_a, file_a);
  g_assert_cmpstr (subject, ==, "from-config");
  g_free (subject);
  subject = fetch_subject (session, token, "~/sa.json", tilde_file);
  g_assert_cmpstr (subject, ==, "from-config");
  g_free (subject);
  subject = fetch_subject (session, token, NULL, file_b);
  g_assert_cmpstr (subject, ==, "from-env");
  g_free (subject);
  g_unsetenv ("GOOGLE_APPLICATION_CREDENTIALS");
  subject = fetch_subject (session, token, NULL, file_c);
  g_assert_cmpstr (subject, ==, "from-cloudsdk-config");
  g_free (subject);
  g_unsetenv ("CLOUDSDK_CONFIG");
  subject = fetch_subject (session, token, NULL, file_d);
  g_assert_cmpstr (subject, ==, "from-home");
  g_free (subject);
  g_assert_cmpint (g_unlink (file_d), ==, 0);
  subject = fetch_subject (session, token, NULL, file_d);
  g_assert_nonnull (strstr (subject, "run `gcloud auth application-default login`"));
  g_free (subject);
  /* A named file that is missing is an error, not a reason to look on. */
  g_setenv ("GOOGLE_APPLICATION_CREDENTIALS", file_d, TRUE);
  subject = fetch_subject (session, token, NULL, file_d);
  g_assert_nonnull (strstr (subject, "($GOOGLE_APPLICATION_CREDENTIALS)"));
  g_free (subject);
  g_unsetenv ("GOOGLE_APPLICATION_CREDENTIALS");
  g_assert_cmpuint (us_fake_google_token_get_n_requests (token), ==, 5);

  g_setenv ("HOME", old_home, TRUE);
  test_remove_tree (dir);
}

int
main (int    argc,
      char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  g_unsetenv ("GOOGLE_APPLICATION_CREDENTIALS");
  g_unsetenv ("CLOUDSDK_CONFIG");
  us_fake_google_generate_key (&private_pem, &public_pem);

  g_test_add_func ("/vertex/config", test_config);
  g_test_add_func ("/vertex/jwt", test_jwt);
  g_test_add_data_func ("/vertex/anthropic/streamed", GINT_TO_POINTER (TRUE), test_anthropic_failover);
  g_test_add_data_func ("/vertex/anthropic/whole", GINT_TO_POINTER (FALSE), test_anthropic_failover);
  g_test_add_func ("/vertex/anthropic/chat-client", test_chat_client_failover);
  g_test_add_data_func ("/vertex/openai/streamed", GINT_TO_POINTER (TRUE), test_openai_endpoint_failover);
  g_test_add_data_func ("/vertex/openai/whole", GINT_TO_POINTER (FALSE), test_openai_endpoint_failover);
  g_test_add_func ("/vertex/anthropic/count-tokens", test_count_tokens);
  g_test_add_func ("/vertex/anthropic/refused-betas", test_refused_betas);
  g_test_add_func ("/vertex/token/cached", test_token_cached);
  g_test_add_func ("/vertex/token/refresh", test_token_refresh);
  g_test_add_func ("/vertex/token/refused", test_token_refused);
  g_test_add_func ("/vertex/token/revoked", test_token_revoked);
  g_test_add_func ("/vertex/token/credentials-missing", test_credentials_missing);
  g_test_add_func ("/vertex/token/authorized-user", test_authorized_user);
  g_test_add_func ("/vertex/discovery", test_discovery);
  g_test_add_func ("/vertex/probe", test_probe);
  status = g_test_run ();
  g_free (private_pem);
  g_free (public_pem);
  return status;
}
