/* test-endpoints.c: /v1/models, count_tokens (forwarded or estimated),
 * the routing admin route and rules picking chains. */
#include <libsoup/soup.h>

#include "us-connect.h"
#include "us-fake-provider.h"
#include "us-proxy.h"
#include "test-util.h"

typedef struct {
  UsFakeProvider *anthropic;
  UsFakeProvider *chat;
  UsProxy *proxy;
  TestClient *client;
} Fixture;

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  g_autofree char *json = NULL;

  f->anthropic = us_fake_provider_new (US_FAKE_FORMAT_ANTHROPIC);
  f->chat = us_fake_provider_new (US_FAKE_FORMAT_OPENAI_CHAT);
  json = g_strdup_printf (
    "{ \"version\": 1,"
    "  \"listen\": { \"host\": \"127.0.0.1\", \"port\": 0, \"token\": \"" TEST_TOKEN "\" },"
    "  \"providers\": ["
    "    { \"id\": \"anthropic\", \"kind\": \"anthropic\", \"base_url\": \"%s\", \"auth\": \"passthrough\" },"
    "    { \"id\": \"chat\", \"kind\": \"openai-chat\", \"base_url\": \"%s/v1\", \"auth\": \"none\" } ],"
    "  \"chains\": ["
    "    { \"id\": \"default\", \"match\": [\"claude-*\"], \"models\": ["
    "      { \"provider\": \"anthropic\", \"model\": \"*\" }, { \"provider\": \"chat\", \"model\": \"gpt-fake\" } ] },"
    "    { \"id\": \"chat-only\", \"match\": [\"gpt-*\"], \"models\": [ { \"provider\": \"chat\", \"model\": \"gpt-fake\" } ] },"
    "    { \"id\": \"renamed\", \"match\": [\"rename-*\"], \"models\": [ { \"provider\": \"anthropic\", \"model\": \"gpt-fake\" } ] },"
    "    { \"id\": \"background\", \"models\": [ { \"provider\": \"chat\", \"model\": \"small-fake\" } ] } ],"
    "  \"rules\": [ { \"when\": { \"client\": \"claude-code\", \"model\": \"*haiku*\" }, \"chain\": \"background\" } ] }",
    us_fake_provider_get_base_url (f->anthropic), us_fake_provider_get_base_url (f->chat));
  f->proxy = test_proxy_new (json);
  f->client = test_client_new (f->proxy);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  test_client_free (f->client);
  g_clear_object (&f->proxy);
  g_clear_object (&f->anthropic);
  g_clear_object (&f->chat);
}

static JsonNode *
parse (const char *text)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;

  json_parser_load_from_data (parser, text, -1, &error);
  g_assert_no_error (error);
  return json_node_ref (json_parser_get_root (parser));
}

static void
test_models (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(TestReply) openai = test_get (f->client, "/v1/models", NULL);
  g_autoptr(TestReply) anthropic = test_get (f->client, "/v1/models",
                                             (const char * const[]) { "anthropic-version", "2023-06-01", NULL });
  g_autoptr(JsonNode) o = parse (openai->body);
  g_autoptr(JsonNode) a = parse (anthropic->body);
  JsonArray *data_o = json_object_get_array_member (json_node_get_object (o), "data");
  JsonArray *data_a = json_object_get_array_member (json_node_get_object (a), "data");

  /* "*" is not a model; duplicates are listed once. */
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (o), "object"), ==, "list");
  g_assert_cmpuint (json_array_get_length (data_o), ==, 2);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (data_o, 0), "id"), ==, "gpt-fake");
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (data_o, 1), "id"), ==, "small-fake");
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (data_o, 0), "owned_by"), ==, "chat");
  g_assert_cmpuint (json_array_get_length (data_a), ==, 2);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (data_a, 0), "type"), ==, "model");
  g_assert_false (json_object_get_boolean_member (json_node_get_object (a), "has_more"));
}

#define COUNT_BODY "{\"model\":\"claude-test\",\"messages\":[{\"role\":\"user\",\"content\":\"count these words please\"}]}"

static void
test_count_tokens_forwarded (Fixture       *f,
                             gconstpointer  data)
{
  g_autoptr(TestReply) reply = test_post (f->client, "/v1/messages/count_tokens?beta=true", COUNT_BODY, NULL);
  const UsFakeRequest *seen = us_fake_provider_get_last_request (f->anthropic);

  g_assert_cmpuint (reply->status, ==, 200);
  g_assert_nonnull (strstr (reply->body, "\"input_tokens\":"));
  g_assert_nonnull (seen);
  g_assert_cmpstr (seen->path, ==, "/v1/messages/count_tokens?beta=true");
}

static void
test_count_tokens_estimated (Fixture       *f,
                             gconstpointer  data)
{
  g_autoptr(TestReply) reply = NULL;
  g_autoptr(JsonNode) root = NULL;

  /* The only Anthropic model is gone: no provider can count, so the
   * proxy estimates rather than fail Claude Code's call. */
  g_clear_object (&f->anthropic);
  reply = test_post (f->client, "/v1/messages/count_tokens", COUNT_BODY, NULL);
  g_assert_cmpuint (reply->status, ==, 200);
  root = parse (reply->body);
  g_assert_cmpint (json_object_get_int_member (json_node_get_object (root), "input_tokens"), >, 0);
  g_assert_cmpuint (us_fake_provider_get_n_requests (f->chat), ==, 0);
}

static void
test_rules_pick_chain (Fixture       *f,
                       gconstpointer  data)
{
  const char * const claude_ua[] = { "User-Agent", "claude-cli/2.1.328 (external, sdk-cli)", NULL };
  g_autoptr(TestReply) haiku = test_post (f->client, "/v1/messages",
                                          "{\"model\":\"claude-haiku-9\",\"max_tokens\":8,"
                                          "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", claude_ua);
  g_autoptr(TestReply) haiku_other = test_post (f->client, "/v1/messages",
                                                "{\"model\":\"claude-haiku-9\",\"max_tokens\":8,"
                                                "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", NULL);

  /* The rule is for Claude Code's haiku calls only. */
  g_assert_cmpstr (soup_message_headers_get_one (haiku->headers, "x-understudy-model"), ==, "chat/small-fake");
  g_assert_cmpstr (soup_message_headers_get_one (haiku_other->headers, "x-understudy-model"), ==,
                   "anthropic/claude-haiku-9");
}


/* A chain that only renames the model sends the client's own bytes with
 * the new name in place: not an edited copy serialised again (which would
 * reorder and respace it). */
#define RENAME_BODY(model) \
  "{ \"messages\": [ {\"role\": \"user\", \"content\": \"say \\\"model\\\"\"} ],\n" \
  "  \"model\" : \"" model "\",  \"max_tokens\": 8 }"

static void
test_rename_keeps_bytes (Fixture       *f,
                         gconstpointer  data)
{
  g_autoptr(TestReply) reply = test_post (f->client, "/v1/messages", RENAME_BODY ("rename-me"), NULL);
  const UsFakeRequest *seen = us_fake_provider_get_last_request (f->anthropic);
  /* The name is one the chat chain has too, so /v1/models stays as it is. */
  const char *expected = RENAME_BODY ("gpt-fake");

  g_assert_cmpuint (reply->status, ==, 200);
  g_assert_nonnull (seen);
  g_assert_cmpmem (g_bytes_get_data (seen->body, NULL), g_bytes_get_size (seen->body), expected, strlen (expected));
}

static void
test_routing_route (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(TestReply) off = test_post (f->client, "/understudy/routing", "{\"routing\": false}", NULL);
  g_autoptr(TestReply) bad = test_post (f->client, "/understudy/routing", "{\"routing\": \"no\"}", NULL);
  g_autoptr(TestReply) status = test_get (f->client, "/understudy/status", NULL);

  g_assert_cmpuint (off->status, ==, 200);
  g_assert_cmpstr (off->body, ==, "{\"routing\":false}");
  g_assert_cmpuint (bad->status, ==, 400);
  g_assert_false (us_proxy_get_routing (f->proxy));
  g_assert_true (g_str_has_prefix (status->body, "{\"routing\":false,"));
}

static void
rm_rf (const char *path)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GFileEnumerator) children = g_file_enumerate_children (file, G_FILE_ATTRIBUTE_STANDARD_NAME,
                                                                   G_FILE_QUERY_INFO_NOFOLLOW_SYMLINKS, NULL, NULL);
  GFileInfo *info;

  while (children && (info = g_file_enumerator_next_file (children, NULL, NULL)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, g_file_info_get_name (info), NULL);
      rm_rf (child);
      g_object_unref (info);
    }
  g_file_delete (file, NULL, NULL);
}

static const char *
claude_state (Fixture *f)
{
  g_autoptr(JsonNode) status = us_proxy_status_to_json (f->proxy);
  JsonArray *clients = json_object_get_array_member (json_node_get_object (status), "clients");
  JsonObject *claude = json_array_get_object_element (clients, US_CLIENT_CLAUDE_CODE);

  g_assert_cmpstr (json_object_get_string_member (claude, "id"), ==, "claude-code");
  return g_intern_string (json_object_get_string_member (claude, "state"));
}

static void
wait_for_claude_state (Fixture    *f,
                       const char *state)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  while (g_strcmp0 (claude_state (f), state) != 0)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, TRUE);
    }
}

static void
test_client_state_follows_file (Fixture       *f,
                                gconstpointer  data)
{
  g_autofree char *url = us_proxy_dup_client_url (f->proxy);
  g_autofree char *path = us_client_get_config_path (US_CLIENT_CLAUDE_CODE);
  g_autoptr(GError) error = NULL;

  /* Connected by another process (the CLI): the proxy sees it in the file. */
  us_client_connect (US_CLIENT_CLAUDE_CODE, url, &error);
  g_assert_no_error (error);
  wait_for_claude_state (f, "connected");

  /* The user puts their own settings back by hand: shown, not clobbered. */
  g_file_set_contents (path, "{ \"env\": {} }\n", -1, &error);
  g_assert_no_error (error);
  wait_for_claude_state (f, "installed");
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *home = g_dir_make_tmp ("understudy-home-XXXXXX", NULL);
  int status;

  /* Client files live in a throwaway HOME. */
  g_setenv ("HOME", home, TRUE);
  g_unsetenv ("XDG_CONFIG_HOME");
  g_unsetenv ("XDG_STATE_HOME");
  g_unsetenv ("CLAUDE_CONFIG_DIR");
  g_unsetenv ("CODEX_HOME");
  g_test_init (&argc, &argv, NULL);

#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_set_up, fn, fixture_tear_down)
  ADD ("/endpoints/models", test_models);
  ADD ("/endpoints/count-tokens-forwarded", test_count_tokens_forwarded);
  ADD ("/endpoints/count-tokens-estimated", test_count_tokens_estimated);
  ADD ("/endpoints/rules-pick-chain", test_rules_pick_chain);
  ADD ("/endpoints/routing-route", test_routing_route);
  ADD ("/endpoints/rename-keeps-bytes", test_rename_keeps_bytes);
  ADD ("/endpoints/client-state-follows-file", test_client_state_follows_file);
#undef ADD

  status = g_test_run ();
  rm_rf (home);
  return status;
}
