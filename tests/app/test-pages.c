/* test-pages.c: the Providers and Clients pages in real GTK windows (under
 * Xvfb) on a real proxy, with fake providers and a private HOME: adding a
 * provider from a preset, editing its base URL, Test against an answering
 * and a key-rejecting provider, removing, connecting and disconnecting a
 * client; every interactive widget has an accessible name; a PNG of each
 * page is saved for a person to look at. */
#include <adwaita.h>
#include <glib/gstdio.h>

#include "us-client-row.h"
#include "us-clients-page.h"
#include "us-config-store.h"
#include "us-fake-provider.h"
#include "us-provider-row.h"
#include "us-providers-page.h"
#include "test-util.h"
#include "understudy-resources.h"

#define PAGE_KEY "sk-page-secret-key-0042"

static char *home;

typedef struct {
  UsFakeProvider *anthropic;
  UsFakeProvider *chat;
  UsConfigStore *store;
  UsProxy *proxy;
  char *config_path;
  GtkWidget *window;
} Fixture;

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  g_autofree char *json = NULL;
  g_autoptr(UsConfig) config = NULL;
  g_autoptr(GError) error = NULL;

  /* data "key": chat wants a key (from the keyring, its key_env is unset). */
  gboolean keyed = data != NULL && g_str_equal (data, "key");

  f->anthropic = us_fake_provider_new (US_FAKE_FORMAT_ANTHROPIC);
  f->chat = us_fake_provider_new (US_FAKE_FORMAT_OPENAI_CHAT);
  if (keyed)
    us_fake_provider_set_required_key (f->chat, PAGE_KEY);
  json = g_strdup_printf (
    "{\n  \"version\": 1,\n"
    "  \"listen\": { \"host\": \"127.0.0.1\", \"port\": 0, \"token\": \"" TEST_TOKEN "\" },\n"
    "  \"providers\": [\n"
    "    { \"id\": \"anthropic\", \"kind\": \"anthropic\", \"base_url\": \"%s\", \"auth\": \"passthrough\" },\n"
    "    { \"id\": \"chat\", \"kind\": \"openai-chat\", \"base_url\": \"%s/v1\", %s, \"x-note\": \"mine\" } ],\n"
    "  \"chains\": [ { \"id\": \"default\", \"match\": [\"*\"], \"models\": [\n"
    "      { \"provider\": \"anthropic\", \"model\": \"*\" }, { \"provider\": \"chat\", \"model\": \"gpt-fake\" } ] } ]\n}\n",
    us_fake_provider_get_base_url (f->anthropic), us_fake_provider_get_base_url (f->chat),
    keyed ? "\"auth\": \"key\", \"key_env\": \"US_TEST_PAGES_UNSET\"" : "\"auth\": \"none\"");
  f->config_path = g_build_filename (home, "config.json", NULL);
  g_file_set_contents (f->config_path, json, -1, &error);
  g_assert_no_error (error);
  config = us_config_load (f->config_path, &error);
  g_assert_no_error (error);
  f->store = us_config_store_new (config);
  f->proxy = us_proxy_new_for_store (f->store);
  us_proxy_start (f->proxy, &error);
  g_assert_no_error (error);

  f->window = gtk_window_new ();
  gtk_window_set_default_size (GTK_WINDOW (f->window), 640, 1200);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  gtk_window_destroy (GTK_WINDOW (f->window));
  us_config_store_sync (f->store);
  g_clear_object (&f->proxy);
  g_clear_object (&f->store);
  g_clear_object (&f->anthropic);
  g_clear_object (&f->chat);
  g_unlink (f->config_path);
  g_free (f->config_path);
}

static gboolean
on_timeout (gpointer data)
{
  g_error ("timed out waiting for: %s", (const char *) data);
  return G_SOURCE_REMOVE;
}

#define wait_until(cond)                                                     \
  G_STMT_START {                                                             \
    guint _t = g_timeout_add_seconds (20, on_timeout, (gpointer) #cond);     \
    while (!(cond))                                                          \
      g_main_context_iteration (NULL, TRUE);                                 \
    g_source_remove (_t);                                                    \
  } G_STMT_END

/* Lets the window lay out and draw. */
static void
settle (void)
{
  gint64 until = g_get_monotonic_time () + 200 * G_TIME_SPAN_MILLISECOND;

  while (g_get_monotonic_time () < until)
    g_main_context_iteration (NULL, FALSE);
}

static GtkWidget *
child (gpointer    widget,
       GType       type,
       const char *name)
{
  GObject *object = gtk_widget_get_template_child (GTK_WIDGET (widget), type, name);

  g_assert_nonnull (object);
  return GTK_WIDGET (object);
}

static UsProviderRow *
find_provider_row (GtkWidget  *root,
                   const char *id)
{
  for (GtkWidget *c = gtk_widget_get_first_child (root); c != NULL; c = gtk_widget_get_next_sibling (c))
    {
      UsProviderRow *found;

      if (US_IS_PROVIDER_ROW (c) && g_str_equal (us_provider_row_get_provider_id (US_PROVIDER_ROW (c)), id))
        return US_PROVIDER_ROW (c);
      if ((found = find_provider_row (c, id)) != NULL)
        return found;
    }
  return NULL;
}

static JsonObject *
saved_provider (Fixture    *f,
                const char *id)
{
  g_autofree char *text = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  JsonArray *providers;

  us_config_store_sync (f->store);
  g_file_get_contents (f->config_path, &text, NULL, &error);
  g_assert_no_error (error);
  json_parser_load_from_data (parser, text, -1, &error);
  g_assert_no_error (error);
  providers = json_object_get_array_member (json_node_get_object (json_parser_get_root (parser)), "providers");
  for (guint i = 0; i < json_array_get_length (providers); i++)
    {
      JsonObject *provider = json_array_get_object_element (providers, i);

      if (g_str_equal (json_object_get_string_member (provider, "id"), id))
        return json_object_ref (provider);
    }
  return NULL;
}

static gboolean
has_accessible_name (GtkWidget *widget)
{
  GtkAccessible *accessible = GTK_ACCESSIBLE (widget);

  if (gtk_test_accessible_has_property (accessible, GTK_ACCESSIBLE_PROPERTY_LABEL)
      || gtk_test_accessible_has_relation (accessible, GTK_ACCESSIBLE_RELATION_LABELLED_BY))
    return TRUE;
  /* A button's name is its label (GTK names a button from its content). */
  if (GTK_IS_BUTTON (widget) && gtk_button_get_label (GTK_BUTTON (widget)) != NULL
      && *gtk_button_get_label (GTK_BUTTON (widget)) != '\0')
    return TRUE;
  return FALSE;
}

/* Every visible widget a person can operate (buttons, text fields,
 * switches, list rows that act) must be named for a screen reader.
 * Returns how many it checked, so a walk that found nothing fails. */
static guint
assert_accessible_names (GtkWidget *root)
{
  guint checked = 0;

  for (GtkWidget *c = gtk_widget_get_first_child (root); c != NULL; c = gtk_widget_get_next_sibling (c))
    {
      gboolean interactive = GTK_IS_BUTTON (c) || GTK_IS_TEXT (c) || GTK_IS_SWITCH (c)
                             || GTK_IS_DROP_DOWN (c)
                             || (GTK_IS_LIST_BOX_ROW (c) && gtk_list_box_row_get_activatable (GTK_LIST_BOX_ROW (c)));

      if (!gtk_widget_is_visible (c) || !gtk_widget_is_sensitive (c))
        continue;
      if (interactive)
        {
          if (!has_accessible_name (c))
            g_error ("%s (in %s) has no accessible name", G_OBJECT_TYPE_NAME (c),
                     G_OBJECT_TYPE_NAME (gtk_widget_get_parent (c)));
          checked++;
        }
      checked += assert_accessible_names (c);
    }
  return checked;
}

typedef struct {
  GtkWidget *widget;
  char *path;
  gboolean saved;
} Shot;

/* Taken right after a frame is painted, when the layout is current (a
 * snapshot between a state change and the next layout would be stale). */
static void
on_after_paint (GdkFrameClock *clock,
                Shot          *shot)
{
  GtkWidget *widget = shot->widget;
  GtkSnapshot *snapshot;
  g_autoptr(GskRenderNode) node = NULL;
  g_autoptr(GdkTexture) texture = NULL;
  graphene_rect_t bounds;

  if (shot->saved || gtk_widget_get_width (widget) <= 0 || gtk_widget_get_height (widget) <= 0)
    return;
  snapshot = gtk_snapshot_new ();
  GTK_WIDGET_GET_CLASS (widget)->snapshot (widget, snapshot);
  node = gtk_snapshot_free_to_node (snapshot);
  g_assert_nonnull (node);
  bounds = GRAPHENE_RECT_INIT (0, 0, gtk_widget_get_width (widget), gtk_widget_get_height (widget));
  texture = gsk_renderer_render_texture (gtk_native_get_renderer (gtk_widget_get_native (widget)), node, &bounds);
  g_assert_true (gdk_texture_save_to_png (texture, shot->path));
  shot->saved = TRUE;
}

static void
save_png (GtkWidget  *widget,
          const char *name)
{
  const char *dir = g_getenv ("US_TEST_ARTIFACTS_DIR");
  g_autofree char *path = g_build_filename (dir != NULL ? dir : g_get_tmp_dir (), name, NULL);
  Shot shot = { widget, path, FALSE };
  GdkFrameClock *clock = gtk_widget_get_frame_clock (widget);
  gulong id;

  g_assert_nonnull (clock);
  id = g_signal_connect (clock, "after-paint", G_CALLBACK (on_after_paint), &shot);
  gtk_widget_queue_draw (widget);
  wait_until (shot.saved);
  g_signal_handler_disconnect (clock, id);
  g_test_message ("snapshot: %s", path);
}

static void
click (GtkWidget *button)
{
  g_assert_true (gtk_widget_is_sensitive (button));
  g_signal_emit_by_name (button, "clicked");
}

static void
test_providers (Fixture       *f,
                gconstpointer  data)
{
  GtkWidget *page = us_providers_page_new (f->proxy);
  AdwComboRow *preset_row = ADW_COMBO_ROW (child (page, US_TYPE_PROVIDERS_PAGE, "preset_row"));
  GtkWidget *keyring_group = child (page, US_TYPE_PROVIDERS_PAGE, "keyring_group");
  GListModel *names = adw_combo_row_get_model (preset_row);
  UsProviderRow *row;
  GtkWidget *test_button;
  AdwActionRow *test_row;
  GtkEditable *base_url;
  g_autoptr(JsonObject) saved = NULL;
  guint deepseek = G_MAXUINT;

  gtk_window_set_child (GTK_WINDOW (f->window), page);
  gtk_window_present (GTK_WINDOW (f->window));
  settle ();

  /* The providers of the configuration, each a row. */
  g_assert_nonnull (find_provider_row (page, "anthropic"));
  g_assert_nonnull (find_provider_row (page, "chat"));

  /* Add DeepSeek from its preset: the file on disk has it. */
  for (guint i = 0; i < g_list_model_get_n_items (names); i++)
    if (g_str_equal (gtk_string_list_get_string (GTK_STRING_LIST (names), i), "DeepSeek"))
      deepseek = i;
  g_assert_cmpuint (deepseek, !=, G_MAXUINT);
  adw_combo_row_set_selected (preset_row, deepseek);
  click (child (page, US_TYPE_PROVIDERS_PAGE, "add_button"));
  saved = saved_provider (f, "deepseek");
  g_assert_nonnull (saved);
  g_assert_cmpstr (json_object_get_string_member (saved, "kind"), ==, "openai-chat");
  g_assert_cmpstr (json_object_get_string_member (saved, "base_url"), ==, "https://api.deepseek.com/v1");
  g_assert_cmpstr (json_object_get_string_member (saved, "auth"), ==, "key");
  g_assert_cmpstr (json_object_get_string_member (saved, "key_env"), ==, "DEEPSEEK_API_KEY");
  g_clear_pointer (&saved, json_object_unref);
  row = find_provider_row (page, "deepseek");
  g_assert_nonnull (row);
  g_assert_true (adw_expander_row_get_expanded (ADW_EXPANDER_ROW (row)));
  /* The same preset again gets a free id rather than replacing it. */
  click (child (page, US_TYPE_PROVIDERS_PAGE, "add_button"));
  saved = saved_provider (f, "deepseek-2");
  g_assert_nonnull (saved);
  g_clear_pointer (&saved, json_object_unref);

  /* Edit chat's base URL: saved, its own unknown keys kept. */
  row = find_provider_row (page, "chat");
  base_url = GTK_EDITABLE (child (row, US_TYPE_PROVIDER_ROW, "base_url_row"));
  {
    g_autofree char *initial = g_strconcat (us_fake_provider_get_base_url (f->chat), "/v1", NULL);

    g_assert_cmpstr (gtk_editable_get_text (base_url), ==, initial);
  }
  {
    g_autofree char *edited = g_strdup_printf ("%s/v1/", us_fake_provider_get_base_url (f->chat));
    g_autofree char *expected = g_strdup_printf ("%s/v1", us_fake_provider_get_base_url (f->chat));

    /* Through a different host name for the same loopback server. */
    g_autofree char *other = g_strdup_printf ("http://localhost:%u/v1/", us_fake_provider_get_port (f->chat));
    g_autofree char *other_saved = g_strdup_printf ("http://localhost:%u/v1", us_fake_provider_get_port (f->chat));

    gtk_editable_set_text (base_url, other);
    g_signal_emit_by_name (base_url, "apply");
    saved = saved_provider (f, "chat");
    g_assert_cmpstr (json_object_get_string_member (saved, "base_url"), ==, other_saved);
    g_assert_cmpstr (json_object_get_string_member (saved, "x-note"), ==, "mine");
    g_assert_cmpstr (json_object_get_string_member (saved, "auth"), ==, "none");
    g_clear_pointer (&saved, json_object_unref);
    g_assert_cmpstr (gtk_editable_get_text (base_url), ==, other_saved);
    gtk_editable_set_text (base_url, edited);
    g_signal_emit_by_name (base_url, "apply");
    saved = saved_provider (f, "chat");
    g_assert_cmpstr (json_object_get_string_member (saved, "base_url"), ==, expected);
    g_clear_pointer (&saved, json_object_unref);
  }
  /* A bad URL is refused, with the field's path; the file keeps the old one. */
  {
    g_autofree char *before = NULL;
    g_autofree char *after = NULL;

    us_config_store_sync (f->store);
    g_file_get_contents (f->config_path, &before, NULL, NULL);
    gtk_editable_set_text (base_url, "");
    g_signal_emit_by_name (base_url, "apply");
    g_assert_true (gtk_widget_has_css_class (GTK_WIDGET (base_url), "error"));
    us_config_store_sync (f->store);
    g_file_get_contents (f->config_path, &after, NULL, NULL);
    g_assert_cmpstr (before, ==, after);
  }

  /* Test against the fake: the answer, inline. */
  us_fake_provider_set_text (f->chat, "OK");
  test_button = child (row, US_TYPE_PROVIDER_ROW, "test_button");
  test_row = ADW_ACTION_ROW (child (row, US_TYPE_PROVIDER_ROW, "test_row"));
  adw_expander_row_set_expanded (ADW_EXPANDER_ROW (row), TRUE);
  click (test_button);
  g_assert_false (gtk_widget_is_sensitive (test_button));
  wait_until (gtk_widget_is_sensitive (test_button));
  g_assert_cmpstr (adw_action_row_get_subtitle (test_row), ==, "It answered: “OK”");
  g_assert_cmpstr (us_fake_request_get_model (us_fake_provider_get_last_request (f->chat)), ==, "gpt-fake");

  /* A rejected key: the error, inline. */
  us_fake_provider_push (f->chat, &(UsFakeStep) { .behavior = US_FAKE_STATUS, .status = 401,
                                                  .error_message = "Invalid API key" });
  click (test_button);
  wait_until (gtk_widget_is_sensitive (test_button));
  g_assert_cmpstr (adw_action_row_get_subtitle (test_row), ==, "Key rejected (HTTP 401): Invalid API key");
  g_assert_true (gtk_widget_has_css_class (child (row, US_TYPE_PROVIDER_ROW, "test_icon"), "error"));

  /* The keyring's state is said when it cannot be used (no Secret Service
   * on this test's bus) and a key row says where the key would come from. */
  wait_until (us_keyring_get_state (us_proxy_get_keyring (f->proxy)) != US_KEYRING_UNKNOWN
              || g_getenv ("DBUS_SESSION_BUS_ADDRESS") != NULL);
  if (us_keyring_get_state (us_proxy_get_keyring (f->proxy)) == US_KEYRING_MISSING)
    {
      g_assert_true (gtk_widget_get_visible (keyring_group));
      g_assert_nonnull (adw_action_row_get_subtitle (ADW_ACTION_ROW (child (page, US_TYPE_PROVIDERS_PAGE, "keyring_row"))));
    }
  row = find_provider_row (page, "deepseek");
  g_assert_cmpstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (child (row, US_TYPE_PROVIDER_ROW, "key_state_row"))),
                   ==, "No key yet: enter one above, or set $DEEPSEEK_API_KEY");
  g_assert_true (gtk_widget_get_visible (child (row, US_TYPE_PROVIDER_ROW, "key_row")));
  g_assert_false (gtk_widget_get_visible (child (find_provider_row (page, "chat"), US_TYPE_PROVIDER_ROW, "key_row")));

  /* Three expanded rows (entries, Test, Remove), the collapsed ones, Add. */
  {
    guint named = assert_accessible_names (page);

    g_test_message ("accessible names checked on the providers page: %u", named);
    g_assert_cmpuint (named, >=, 20);
  }
  save_png (page, "providers-page.png");

  /* Remove: gone from the file and the page. A provider a chain uses is
   * refused, and stays. */
  click (child (find_provider_row (page, "deepseek-2"), US_TYPE_PROVIDER_ROW, "remove_button"));
  g_assert_null (saved_provider (f, "deepseek-2"));
  settle ();
  g_assert_null (find_provider_row (page, "deepseek-2"));
  click (child (find_provider_row (page, "chat"), US_TYPE_PROVIDER_ROW, "remove_button"));
  saved = saved_provider (f, "chat");
  g_assert_nonnull (saved);
  g_assert_nonnull (find_provider_row (page, "chat"));
}

/* Whether @text shows anywhere in the widget tree (labels, fields, rows). */
static gboolean
shows_text (GtkWidget  *root,
            const char *text)
{
  for (GtkWidget *c = gtk_widget_get_first_child (root); c != NULL; c = gtk_widget_get_next_sibling (c))
    {
      const char *shown = NULL;

      if (GTK_IS_LABEL (c))
        shown = gtk_label_get_text (GTK_LABEL (c));
      else if (GTK_IS_EDITABLE (c))
        shown = gtk_editable_get_text (GTK_EDITABLE (c));
      if ((shown != NULL && strstr (shown, text) != NULL) || shows_text (c, text))
        return TRUE;
    }
  return FALSE;
}

static void
on_added (GObject      *source,
          GAsyncResult *result,
          gpointer      data)
{
  *(GAsyncResult **) data = g_object_ref (result);
}

static void
test_keyring (Fixture       *f,
              gconstpointer  data)
{
  UsKeyring *keyring = us_proxy_get_keyring (f->proxy);
  GtkWidget *page;
  UsProviderRow *row;
  GtkEditable *key_row;
  AdwActionRow *key_state_row;
  AdwActionRow *test_row;
  GtkWidget *test_button;
  g_autofree char *config_text = NULL;

  if (g_strcmp0 (g_getenv ("US_KEYRING_MODE"), "yes") != 0)
    {
      g_test_skip ("needs a gnome-keyring-daemon (run through tests/keyring/with-keyring.sh)");
      return;
    }
  page = us_providers_page_new (f->proxy);
  gtk_window_set_child (GTK_WINDOW (f->window), page);
  gtk_window_present (GTK_WINDOW (f->window));
  wait_until (us_keyring_get_state (keyring) == US_KEYRING_AVAILABLE && !us_proxy_is_loading_key (f->proxy, "chat"));
  g_assert_false (gtk_widget_get_visible (child (page, US_TYPE_PROVIDERS_PAGE, "keyring_group")));

  row = find_provider_row (page, "chat");
  adw_expander_row_set_expanded (ADW_EXPANDER_ROW (row), TRUE);
  key_row = GTK_EDITABLE (child (row, US_TYPE_PROVIDER_ROW, "key_row"));
  key_state_row = ADW_ACTION_ROW (child (row, US_TYPE_PROVIDER_ROW, "key_state_row"));
  test_row = ADW_ACTION_ROW (child (row, US_TYPE_PROVIDER_ROW, "test_row"));
  test_button = child (row, US_TYPE_PROVIDER_ROW, "test_button");
  g_assert_cmpstr (adw_action_row_get_subtitle (key_state_row), ==,
                   "No key yet: enter one above, or set $US_TEST_PAGES_UNSET");

  /* Test before a key: said plainly, nothing sent. */
  click (test_button);
  wait_until (gtk_widget_is_sensitive (test_button));
  g_assert_true (g_str_has_prefix (adw_action_row_get_subtitle (test_row), "no key for provider chat"));
  g_assert_cmpuint (us_fake_provider_get_n_requests (f->chat), ==, 0);

  /* Enter the key: off the screen at once, then in the keyring. */
  gtk_editable_set_text (key_row, PAGE_KEY);
  g_signal_emit_by_name (key_row, "apply");
  g_assert_cmpstr (gtk_editable_get_text (key_row), ==, "");
  wait_until (us_keyring_has_key (keyring, "chat") && gtk_widget_is_sensitive (GTK_WIDGET (key_row)));
  g_assert_cmpstr (adw_action_row_get_subtitle (key_state_row), ==, "Key stored in the keyring");

  /* Test now sends it, as the provider's auth header. */
  us_fake_provider_set_text (f->chat, "OK");
  click (test_button);
  wait_until (gtk_widget_is_sensitive (test_button));
  g_assert_cmpstr (adw_action_row_get_subtitle (test_row), ==, "It answered: “OK”");
  g_assert_cmpstr (us_fake_request_get_header (us_fake_provider_get_last_request (f->chat), "Authorization"),
                   ==, "Bearer " PAGE_KEY);

  /* A second key (`understudy keys add`): the row counts them. */
  {
    g_autoptr(GAsyncResult) result = NULL;
    g_autoptr(GError) error = NULL;

    us_keyring_add_async (keyring, "chat", PAGE_KEY "-two", NULL, on_added, &result);
    wait_until (result != NULL);
    g_assert_true (us_keyring_add_finish (keyring, result, NULL, &error));
    g_assert_no_error (error);
    wait_until (g_strcmp0 (adw_action_row_get_subtitle (key_state_row), "2 keys stored in the keyring") == 0);
  }

  /* Never in the window's text, never in the config file. */
  save_png (page, "providers-page-keyring.png");
  g_assert_false (shows_text (f->window, PAGE_KEY));
  us_config_store_sync (f->store);
  g_file_get_contents (f->config_path, &config_text, NULL, NULL);
  g_assert_null (strstr (config_text, PAGE_KEY));
}

static gboolean
row_idle (UsClientRow *row)
{
  return !us_client_row_get_busy (row);
}

static char *
read_home (const char *relative)
{
  g_autofree char *path = g_build_filename (home, relative, NULL);
  char *text = NULL;

  g_file_get_contents (path, &text, NULL, NULL);
  return text;
}

static void
test_clients (Fixture       *f,
              gconstpointer  data)
{
  static const char original[] = "{\n  \"model\": \"opus\"\n}\n";
  g_autofree char *claude_dir = g_build_filename (home, ".claude", NULL);
  g_autofree char *settings = g_build_filename (claude_dir, "settings.json", NULL);
  g_autofree char *url = us_proxy_dup_client_url (f->proxy);
  g_autofree char *text = NULL;
  GtkWidget *page;
  AdwPreferencesGroup *group;
  UsClientRow *claude = NULL;
  UsClientRow *codex = NULL;
  GtkWidget *button;

  /* Claude Code "installed": its config directory exists, with a file. */
  g_assert_cmpint (g_mkdir_with_parents (claude_dir, 0700), ==, 0);
  g_assert_true (g_file_set_contents (settings, original, -1, NULL));

  page = us_clients_page_new (f->proxy);
  gtk_window_set_child (GTK_WINDOW (f->window), page);
  gtk_window_present (GTK_WINDOW (f->window));
  group = ADW_PREFERENCES_GROUP (child (page, US_TYPE_CLIENTS_PAGE, "clients_group"));
  /* Find the rows under the group (a list box inside it). */
  {
    GPtrArray *stack = g_ptr_array_new ();

    g_ptr_array_add (stack, group);
    while (stack->len > 0)
      {
        GtkWidget *w = g_ptr_array_steal_index (stack, stack->len - 1);

        if (US_IS_CLIENT_ROW (w))
          {
            if (us_client_row_get_client (US_CLIENT_ROW (w)) == US_CLIENT_CLAUDE_CODE)
              claude = US_CLIENT_ROW (w);
            else if (us_client_row_get_client (US_CLIENT_ROW (w)) == US_CLIENT_CODEX)
              codex = US_CLIENT_ROW (w);
          }
        for (GtkWidget *c = gtk_widget_get_first_child (w); c; c = gtk_widget_get_next_sibling (c))
          g_ptr_array_add (stack, c);
      }
    g_ptr_array_unref (stack);
  }
  g_assert_nonnull (claude);
  g_assert_nonnull (codex);
  wait_until (row_idle (claude) && row_idle (codex));
  g_assert_cmpint (us_client_row_get_state (claude), ==, US_CLIENT_STATE_INSTALLED);
  g_assert_cmpint (us_client_row_get_state (codex), ==, US_CLIENT_STATE_NOT_INSTALLED);
  g_assert_cmpstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (claude)), ==, "Not connected");
  g_assert_cmpstr (adw_preferences_group_get_description (group), ==,
                   "Connect Claude Code to route its requests through Understudy");
  button = child (claude, US_TYPE_CLIENT_ROW, "button");
  g_assert_cmpstr (gtk_button_get_label (GTK_BUTTON (button)), ==, "Connect");
  {
    guint named = assert_accessible_names (page);

    g_test_message ("accessible names checked on the clients page: %u", named);
    g_assert_cmpuint (named, >=, 3);
  }
  save_png (page, "clients-page-first-run.png");

  /* Connect: in a thread; the file points at the proxy, the row says so.
   * (The watcher may have started a read of its own meanwhile.) */
  wait_until (row_idle (claude));
  click (button);
  g_assert_true (us_client_row_get_busy (claude));
  wait_until (row_idle (claude));
  g_assert_cmpint (us_client_row_get_state (claude), ==, US_CLIENT_STATE_CONNECTED);
  text = read_home (".claude/settings.json");
  g_assert_nonnull (strstr (text, url));
  g_assert_nonnull (strstr (text, "\"model\": \"opus\""));
  g_clear_pointer (&text, g_free);
  g_assert_cmpstr (gtk_button_get_label (GTK_BUTTON (button)), ==, "Disconnect");
  g_assert_cmpstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (claude)), ==,
                   "Connected: its requests go through Understudy");
  g_assert_cmpstr (adw_preferences_group_get_description (group), !=,
                   "Connect Claude Code to route its requests through Understudy");
  save_png (page, "clients-page-connected.png");

  /* Disconnect: the original bytes are back. */
  wait_until (row_idle (claude));
  click (button);
  wait_until (row_idle (claude));
  g_assert_cmpint (us_client_row_get_state (claude), ==, US_CLIENT_STATE_INSTALLED);
  text = read_home (".claude/settings.json");
  g_assert_cmpstr (text, ==, original);
  g_clear_pointer (&text, g_free);
  g_assert_cmpstr (gtk_button_get_label (GTK_BUTTON (button)), ==, "Connect");

  /* Someone else (the command line) connects it: the watcher tells the row. */
  {
    g_autoptr(GError) error = NULL;

    us_client_connect (US_CLIENT_CLAUDE_CODE, url, &error);
    g_assert_no_error (error);
    wait_until (us_client_row_get_state (claude) == US_CLIENT_STATE_CONNECTED && row_idle (claude));
    us_client_disconnect (US_CLIENT_CLAUDE_CODE, &error);
    g_assert_no_error (error);
    wait_until (us_client_row_get_state (claude) == US_CLIENT_STATE_INSTALLED && row_idle (claude));
  }
}

static void
remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *c = g_build_filename (path, name, NULL);

      if (g_file_test (c, G_FILE_TEST_IS_DIR) && !g_file_test (c, G_FILE_TEST_IS_SYMLINK))
        remove_tree (c);
      else
        g_unlink (c);
    }
  g_rmdir (path);
}

int
main (int   argc,
      char *argv[])
{
  int status;
  g_autofree char *bin = NULL;

  /* A private HOME before anything reads it (connectors, watchers, keys). */
  home = g_dir_make_tmp ("understudy-pages-XXXXXX", NULL);
  g_assert_nonnull (home);
  bin = g_build_filename (home, "bin", NULL);
  g_mkdir (bin, 0700);
  g_setenv ("HOME", home, TRUE);
  g_setenv ("PATH", bin, TRUE);
  g_unsetenv ("XDG_CONFIG_HOME");
  g_unsetenv ("XDG_STATE_HOME");
  g_unsetenv ("CODEX_HOME");
  g_unsetenv ("CLAUDE_CONFIG_DIR");
  g_unsetenv ("DEEPSEEK_API_KEY");
  g_unsetenv ("US_TEST_PAGES_UNSET");

  gtk_test_init (&argc, &argv, NULL);
  adw_init ();
  /* Expanded rows and toasts at their end state in the snapshots. */
  g_object_set (gtk_settings_get_default (), "gtk-enable-animations", FALSE, NULL);
  /* Referencing the bundle links its object out of the static library,
   * whose constructor registers it (as the application's main does). */
  g_assert_nonnull (us_get_resource ());

  g_test_add ("/pages/providers", Fixture, NULL, fixture_set_up, test_providers, fixture_tear_down);
  g_test_add ("/pages/clients", Fixture, NULL, fixture_set_up, test_clients, fixture_tear_down);
  g_test_add ("/pages/keyring", Fixture, "key", fixture_set_up, test_keyring, fixture_tear_down);
  status = g_test_run ();
  remove_tree (home);
  g_free (home);
  return status;
}
