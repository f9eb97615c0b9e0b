/* test-window.c: the real window under Xvfb, on a real proxy and config
 * store, with fake providers on loopback.
 *
 * Reordering is driven through the same handlers a pointer or keyboard
 * reaches (the drag source's "prepare", the drop target's "drop", the
 * row.move-* actions) and checked in the config file on disk.
 */
#include <glib/gstdio.h>
#include <gtk/gtk.h>

#include "test-util.h"
#include "us-chain-row.h"
#include "us-config-store.h"
#include "us-episodes.h"
#include "us-requests-page.h"
#include "us-spend-bar.h"
#include "us-window.h"

#define WHOLE_BODY "{\"model\":\"claude-test\",\"max_tokens\":64," \
                   "\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}"

typedef struct {
  UsFakeProvider *primary;
  UsFakeProvider *fallback;
  char *dir;
  char *path;
  UsConfigStore *store;
  UsProxy *proxy;
  UsEpisodes *episodes;
  UsWindow *window;
} Fixture;

static void
wait_until (gboolean (*done) (gpointer data),
            gpointer   data)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  while (!done (data))
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
}

static gboolean
window_is_mapped (gpointer data)
{
  return gtk_widget_get_mapped (data);
}

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  g_autofree char *json = NULL;
  g_autoptr(UsConfig) config = NULL;
  g_autoptr(GError) error = NULL;

  f->primary = us_fake_provider_new (US_FAKE_FORMAT_ANTHROPIC);
  f->fallback = us_fake_provider_new (US_FAKE_FORMAT_ANTHROPIC);
  f->dir = g_dir_make_tmp ("us-window-XXXXXX", &error);
  g_assert_no_error (error);
  f->path = g_build_filename (f->dir, "config.json", NULL);
  json = g_strdup_printf (
    "{ \"version\": 1,"
    "  \"listen\": { \"host\": \"127.0.0.1\", \"port\": 0, \"token\": \"" TEST_TOKEN "\" },"
    "  \"providers\": ["
    "    { \"id\": \"primary\", \"kind\": \"anthropic\", \"base_url\": \"%s\", \"auth\": \"passthrough\" },"
    "    { \"id\": \"fallback\", \"kind\": \"anthropic\", \"base_url\": \"%s\", \"auth\": \"none\" } ],"
    "  \"chains\": ["
    "    { \"id\": \"default\", \"match\": [\"*\"], \"models\": ["
    "      { \"provider\": \"primary\", \"model\": \"*\" },"
    "      { \"provider\": \"fallback\", \"model\": \"fallback-model\","
    "        \"price\": { \"input\": 3, \"output\": 15 } },"
    "      { \"provider\": \"fallback\", \"model\": \"second-model\" } ] },"
    "    { \"id\": \"solo\", \"match\": [\"solo-*\"], \"models\": ["
    "      { \"provider\": \"primary\", \"model\": \"solo-model\" } ] } ],"
    "  \"failover\": { \"first_byte_timeout_s\": 5, \"idle_timeout_s\": 5, \"cooldown_s\": 90 } }",
    us_fake_provider_get_base_url (f->primary), us_fake_provider_get_base_url (f->fallback));
  g_file_set_contents (f->path, json, -1, &error);
  g_assert_no_error (error);

  config = us_config_load (f->path, &error);
  g_assert_no_error (error);
  f->store = us_config_store_new (config);
  f->proxy = us_proxy_new_for_store (f->store);
  us_proxy_start (f->proxy, &error);
  g_assert_no_error (error);

  f->episodes = us_episodes_new (us_proxy_get_log (f->proxy), us_proxy_get_health (f->proxy));
  f->window = us_window_new (NULL, f->proxy, f->episodes);
  gtk_window_present (GTK_WINDOW (f->window));
  wait_until (window_is_mapped, f->window);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  gtk_window_destroy (GTK_WINDOW (f->window));
  g_clear_object (&f->episodes);
  g_clear_object (&f->proxy);
  us_config_store_sync (f->store);
  g_clear_object (&f->store);
  g_clear_object (&f->primary);
  g_clear_object (&f->fallback);
  g_unlink (f->path);
  g_rmdir (f->dir);
  g_free (f->path);
  g_free (f->dir);
  /* Let disposed widgets finish leaving. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

/* ---- Helpers ----------------------------------------------------------- */

static void
collect (GtkWidget *widget,
         GType      type,
         GPtrArray *out)
{
  if (G_TYPE_CHECK_INSTANCE_TYPE (widget, type))
    g_ptr_array_add (out, widget);
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child; child = gtk_widget_get_next_sibling (child))
    collect (child, type, out);
}

/* The rows of @chain_id, in the order shown. */
static GPtrArray *
chain_rows (Fixture    *f,
            const char *chain_id)
{
  g_autoptr(GPtrArray) all = g_ptr_array_new ();
  GPtrArray *rows = g_ptr_array_new ();

  collect (us_window_get_page (f->window, "chains"), US_TYPE_CHAIN_ROW, all);
  for (guint i = 0; i < all->len; i++)
    {
      if (g_str_equal (us_chain_row_get_chain_id (all->pdata[i]), chain_id))
        g_ptr_array_add (rows, all->pdata[i]);
    }
  return rows;
}

/* The chain's models as "provider/model", from the file on disk. */
static char *
models_on_disk (Fixture    *f,
                const char *chain_id)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) out = g_string_new (NULL);
  JsonArray *chains;

  us_config_store_sync (f->store);
  json_parser_load_from_file (parser, f->path, &error);
  g_assert_no_error (error);
  chains = json_object_get_array_member (json_node_get_object (json_parser_get_root (parser)), "chains");
  for (guint i = 0; i < json_array_get_length (chains); i++)
    {
      JsonObject *chain = json_array_get_object_element (chains, i);
      JsonArray *models;

      if (!g_str_equal (json_object_get_string_member (chain, "id"), chain_id))
        continue;
      models = json_object_get_array_member (chain, "models");
      for (guint j = 0; j < json_array_get_length (models); j++)
        {
          JsonObject *model = json_array_get_object_element (models, j);

          g_string_append_printf (out, "%s%s/%s", j ? " " : "", json_object_get_string_member (model, "provider"),
                                  json_object_get_string_member (model, "model"));
        }
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* The same, as the window shows it. */
static char *
models_shown (Fixture    *f,
              const char *chain_id)
{
  g_autoptr(GPtrArray) rows = chain_rows (f, chain_id);
  g_autoptr(GString) out = g_string_new (NULL);

  for (guint i = 0; i < rows->len; i++)
    {
      g_assert_cmpuint (us_chain_row_get_index (rows->pdata[i]), ==, i);
      g_string_append_printf (out, "%s%s/%s", i ? " " : "", us_chain_row_get_provider (rows->pdata[i]),
                              us_chain_row_get_model (rows->pdata[i]));
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static gpointer
find_controller (GtkWidget *widget,
                 GType      type)
{
  g_autoptr(GListModel) controllers = gtk_widget_observe_controllers (widget);

  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr(GObject) controller = g_list_model_get_item (controllers, i);

      if (G_TYPE_CHECK_INSTANCE_TYPE (controller, type))
        return controller;  /* the widget keeps it */
    }
  g_assert_not_reached ();
}

/* A drag of @source dropped on @destination, through the controllers'
 * own signals: what GTK runs for a pointer drag, minus the pointer. */
static gboolean
drag_and_drop (GtkWidget *source,
               GtkWidget *destination)
{
  GtkDragSource *drag = find_controller (source, GTK_TYPE_DRAG_SOURCE);
  GtkDropTarget *drop = find_controller (destination, GTK_TYPE_DROP_TARGET);
  g_autoptr(GdkContentProvider) content = NULL;
  g_auto(GValue) value = G_VALUE_INIT;
  g_autoptr(GError) error = NULL;
  gboolean accepted = FALSE;

  g_assert_cmpint (gtk_drag_source_get_actions (drag), ==, GDK_ACTION_MOVE);
  g_signal_emit_by_name (drag, "prepare", 10.0, 10.0, &content);
  g_assert_nonnull (content);

  g_value_init (&value, US_TYPE_CHAIN_ROW);
  g_assert_true (gdk_content_provider_get_value (content, &value, &error));
  g_assert_no_error (error);
  g_assert_true (g_value_get_object (&value) == source);

  g_assert_true (gtk_drop_target_get_gtypes (drop, NULL)[0] == US_TYPE_CHAIN_ROW);
  g_signal_emit_by_name (drop, "drop", &value, 10.0, 10.0, &accepted);
  return accepted;
}

/* ---- Tests ------------------------------------------------------------- */

static void save_screenshot (GtkWidget  *widget,
                             const char *name);

static void
test_builds (Fixture       *f,
             gconstpointer  data)
{
  g_autofree char *shown = models_shown (f, "default");
  g_autofree char *solo = models_shown (f, "solo");
  g_autoptr(GPtrArray) status_pages = g_ptr_array_new ();
  gboolean fallback_hint = FALSE;

  g_assert_nonnull (us_window_get_page (f->window, "chains"));
  g_assert_nonnull (us_window_get_page (f->window, "requests"));
  g_assert_cmpstr (shown, ==, "primary/* fallback/fallback-model fallback/second-model");
  g_assert_cmpstr (solo, ==, "primary/solo-model");

  /* A chain of one model says what to do next. */
  collect (us_window_get_page (f->window, "chains"), ADW_TYPE_STATUS_PAGE, status_pages);
  for (guint i = 0; i < status_pages->len; i++)
    fallback_hint |= g_strcmp0 (adw_status_page_get_title (status_pages->pdata[i]), "Add a fallback model") == 0;
  g_assert_true (fallback_hint);
  save_screenshot (adw_application_window_get_content (ADW_APPLICATION_WINDOW (f->window)), "chains.png");

  /* No request yet: the next step is connecting a client. */
  us_window_set_page (f->window, "requests");
  g_ptr_array_set_size (status_pages, 0);
  collect (us_window_get_page (f->window, "requests"), ADW_TYPE_STATUS_PAGE, status_pages);
  g_assert_cmpuint (status_pages->len, ==, 1);
  g_assert_cmpstr (adw_status_page_get_title (status_pages->pdata[0]), ==, "Connect Claude Code");
  g_assert_true (gtk_widget_get_mapped (status_pages->pdata[0]));
  save_screenshot (adw_application_window_get_content (ADW_APPLICATION_WINDOW (f->window)), "requests-empty.png");
}

static void
test_drag_reorders (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(GPtrArray) rows = chain_rows (f, "default");
  g_autoptr(GPtrArray) solo = chain_rows (f, "solo");
  g_autofree char *disk = NULL;
  g_autofree char *shown = NULL;

  /* Rows of another chain are refused. */
  g_assert_false (drag_and_drop (solo->pdata[0], rows->pdata[0]));

  g_assert_true (drag_and_drop (rows->pdata[2], rows->pdata[0]));
  shown = models_shown (f, "default");
  g_assert_cmpstr (shown, ==, "fallback/second-model primary/* fallback/fallback-model");
  disk = models_on_disk (f, "default");
  g_assert_cmpstr (disk, ==, "fallback/second-model primary/* fallback/fallback-model");
}

static void
test_keyboard_reorders (Fixture       *f,
                        gconstpointer  data)
{
  g_autoptr(GPtrArray) rows = chain_rows (f, "default");
  g_autoptr(GPtrArray) after = NULL;
  g_autofree char *disk = NULL;
  g_autofree char *shown = NULL;
  g_autofree char *unchanged = NULL;
  GtkWidget *focus;

  gtk_widget_grab_focus (rows->pdata[0]);
  g_assert_true (gtk_widget_activate_action (rows->pdata[0], "row.move-down", NULL));
  shown = models_shown (f, "default");
  g_assert_cmpstr (shown, ==, "fallback/fallback-model primary/* fallback/second-model");

  /* Focus follows the model, so Alt+Down again keeps moving it. */
  after = chain_rows (f, "default");
  focus = gtk_root_get_focus (GTK_ROOT (f->window));
  g_assert_true (focus == after->pdata[1]);

  g_assert_true (gtk_widget_activate_action (after->pdata[2], "row.move-up", NULL));
  disk = models_on_disk (f, "default");
  g_assert_cmpstr (disk, ==, "fallback/fallback-model fallback/second-model primary/*");

  /* The first row cannot move up: the action is disabled and nothing changes. */
  g_ptr_array_unref (after);
  after = chain_rows (f, "default");
  gtk_widget_activate_action (after->pdata[0], "row.move-up", NULL);
  unchanged = models_on_disk (f, "default");
  g_assert_cmpstr (unchanged, ==, "fallback/fallback-model fallback/second-model primary/*");
}

static AdwMessageDialog *
find_dialog (void)
{
  GListModel *toplevels = gtk_window_get_toplevels ();  /* not ours */

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr(GObject) window = g_list_model_get_item (toplevels, i);

      if (ADW_IS_MESSAGE_DIALOG (window))
        return ADW_MESSAGE_DIALOG (window);
    }
  return NULL;
}

static gboolean
no_dialog (gpointer data)
{
  return find_dialog () == NULL;
}

static void
test_add_and_remove (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(GPtrArray) rows = chain_rows (f, "default");
  g_autoptr(GPtrArray) rows_after = NULL;
  g_autoptr(GPtrArray) list_rows = g_ptr_array_new ();
  g_autoptr(GPtrArray) entries = g_ptr_array_new ();
  g_autoptr(GPtrArray) drop_downs = g_ptr_array_new ();
  g_autoptr(GPtrArray) buttons = g_ptr_array_new ();
  GtkButton *add_button = NULL;
  GtkListBoxRow *add_row = NULL;
  AdwMessageDialog *dialog;
  GListModel *providers;
  g_autofree char *removed = NULL;
  g_autofree char *added = NULL;

  /* Remove the middle model from its row menu's action. */
  g_assert_true (gtk_widget_activate_action (rows->pdata[1], "row.remove", NULL));
  removed = models_on_disk (f, "default");
  g_assert_cmpstr (removed, ==, "primary/* fallback/second-model");

  /* "Add Model…" opens a dialog: provider from the config, a model name. */
  collect (us_window_get_page (f->window, "chains"), GTK_TYPE_LIST_BOX_ROW, list_rows);
  for (guint i = 0; i < list_rows->len; i++)
    {
      if (!US_IS_CHAIN_ROW (list_rows->pdata[i]) &&
          g_strcmp0 (g_object_get_data (list_rows->pdata[i], "us-chain-id"), "default") == 0)
        add_row = list_rows->pdata[i];
    }
  g_assert_nonnull (add_row);
  g_assert_null (find_dialog ());
  g_assert_true (GTK_IS_LIST_BOX_ROW (add_row));
  g_signal_emit_by_name (add_row, "activate");
  dialog = find_dialog ();
  g_assert_nonnull (dialog);
  g_assert_false (adw_message_dialog_get_response_enabled (dialog, "add"));

  collect (GTK_WIDGET (dialog), GTK_TYPE_ENTRY, entries);
  collect (GTK_WIDGET (dialog), GTK_TYPE_DROP_DOWN, drop_downs);
  g_assert_cmpuint (entries->len, ==, 1);
  g_assert_cmpuint (drop_downs->len, ==, 1);
  providers = gtk_drop_down_get_model (drop_downs->pdata[0]);
  g_assert_cmpuint (g_list_model_get_n_items (providers), ==, 2);
  g_assert_cmpstr (gtk_string_list_get_string (GTK_STRING_LIST (providers), 1), ==, "fallback");
  gtk_drop_down_set_selected (drop_downs->pdata[0], 1);
  gtk_editable_set_text (entries->pdata[0], "new-model");
  g_assert_true (adw_message_dialog_get_response_enabled (dialog, "add"));
  /* Click "Add", as a person would: the response, then the dialog closes. */
  collect (GTK_WIDGET (dialog), GTK_TYPE_BUTTON, buttons);
  for (guint i = 0; i < buttons->len; i++)
    {
      if (g_strcmp0 (gtk_button_get_label (buttons->pdata[i]), "_Add") == 0)
        add_button = buttons->pdata[i];
    }
  g_assert_nonnull (add_button);
  g_signal_emit_by_name (add_button, "clicked");

  added = models_on_disk (f, "default");
  g_assert_cmpstr (added, ==, "primary/* fallback/second-model fallback/new-model");
  rows_after = chain_rows (f, "default");
  g_assert_cmpuint (rows_after->len, ==, 3);
  wait_until (no_dialog, NULL);
}

static GtkLabel *
find_label_prefix (GtkWidget  *widget,
                   const char *prefix)
{
  if (GTK_IS_LABEL (widget) && g_str_has_prefix (gtk_label_get_label (GTK_LABEL (widget)), prefix))
    return GTK_LABEL (widget);
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child; child = gtk_widget_get_next_sibling (child))
    {
      GtkLabel *found = find_label_prefix (child, prefix);

      if (found != NULL)
        return found;
    }
  return NULL;
}

static gboolean
seconds_passed (gpointer data)
{
  return g_get_monotonic_time () >= *(gint64 *) data;
}

/* A cooling model shows a countdown that ticks while the row is shown. */
static void
test_cooldown_countdown (Fixture       *f,
                         gconstpointer  data)
{
  GtkWidget *page = us_window_get_page (f->window, "chains");
  GtkLabel *label;
  g_autofree char *first = NULL;
  gint64 until;

  g_assert_null (find_label_prefix (page, "Cooling down"));
  us_health_cool_down (us_proxy_get_health (f->proxy), "fallback", "fallback-model", 90, "rate limited");
  label = find_label_prefix (page, "Cooling down · 1:");
  g_assert_nonnull (label);
  g_assert_true (gtk_widget_has_css_class (GTK_WIDGET (label), "warning"));
  first = g_strdup (gtk_label_get_label (label));

  /* Second-granularity timers may fire up to a second late. */
  until = g_get_monotonic_time () + 2500 * 1000;
  wait_until (seconds_passed, &until);
  g_assert_cmpstr (gtk_label_get_label (label), <, first);  /* "1:28" < "1:29" */
  g_assert_true (g_str_has_prefix (gtk_label_get_label (label), "Cooling down · 1:2"));
}

/* A model whose circuit opened says so, and so does its half-open probe. */
static void
test_circuit_state (Fixture       *f,
                    gconstpointer  data)
{
  GtkWidget *page = us_window_get_page (f->window, "chains");
  UsHealth *health = us_proxy_get_health (f->proxy);
  /* Opens after two failures, and lets a probe through at once. */
  const UsFailoverConfig circuit = { .circuit_failures = 2, .circuit_error_rate = 1, .circuit_window_s = 60,
                                     .circuit_min_requests = 100, .circuit_open_s = 0.001 };
  GtkLabel *label;
  gboolean probe;

  g_assert_null (find_label_prefix (page, "Circuit open"));
  us_health_mark (health, "fallback", "fallback-model", "server error");
  us_health_circuit_record (health, "fallback", "fallback-model", &circuit, FALSE);
  g_assert_null (find_label_prefix (page, "Circuit open"));
  us_health_circuit_record (health, "fallback", "fallback-model", &circuit, FALSE);
  label = find_label_prefix (page, "Circuit open");
  g_assert_nonnull (label);
  g_assert_true (gtk_widget_has_css_class (GTK_WIDGET (label), "error"));
  g_assert_cmpstr (gtk_widget_get_tooltip_text (GTK_WIDGET (label)), ==,
                   "Skipped after repeated failures: server error");

  g_usleep (2000);
  g_assert_true (us_health_circuit_admit (health, "fallback", "fallback-model", &circuit, &probe));
  g_assert_true (probe);
  label = find_label_prefix (page, "Half-open");
  g_assert_nonnull (label);
  g_assert_true (gtk_widget_has_css_class (GTK_WIDGET (label), "warning"));

  us_health_circuit_record (health, "fallback", "fallback-model", &circuit, TRUE);
  us_health_mark_ok (health, "fallback", "fallback-model");
  g_assert_null (find_label_prefix (page, "Half-open"));
  g_assert_null (find_label_prefix (page, "Circuit open"));
}

static gboolean
label_shown (GtkWidget  *widget,
             const char *text)
{
  if (GTK_IS_LABEL (widget) && gtk_widget_get_mapped (widget) &&
      g_strcmp0 (gtk_label_get_label (GTK_LABEL (widget)), text) == 0)
    return TRUE;
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child; child = gtk_widget_get_next_sibling (child))
    {
      if (label_shown (child, text))
        return TRUE;
    }
  return FALSE;
}

typedef struct {
  GtkWidget *page;
  const char *text;
} LabelWait;

static gboolean
label_appears (gpointer data)
{
  LabelWait *wait = data;

  return label_shown (wait->page, wait->text);
}

static void
on_after_paint (GdkFrameClock *clock,
                gboolean      *painted)
{
  *painted = TRUE;
}

static gboolean
is_true (gpointer data)
{
  return *(gboolean *) data;
}

/* Lets GTK lay out and paint what changed (a page switch, new rows). */
static void
wait_for_frame (GtkWidget *widget)
{
  GdkFrameClock *clock = gtk_widget_get_frame_clock (widget);
  gboolean painted = FALSE;
  gulong id = g_signal_connect (clock, "after-paint", G_CALLBACK (on_after_paint), &painted);

  gtk_widget_queue_draw (widget);
  wait_until (is_true, &painted);
  g_signal_handler_disconnect (clock, id);
}

static void
save_screenshot (GtkWidget  *widget,
                 const char *name)
{
  int width;
  int height;
  GtkSnapshot *snapshot;
  g_autoptr(GskRenderNode) node = NULL;
  g_autoptr(GdkTexture) texture = NULL;
  g_autofree char *path = g_test_build_filename (G_TEST_BUILT, name, NULL);
  GdkRGBA background;

  wait_for_frame (widget);
  width = gtk_widget_get_width (widget);
  height = gtk_widget_get_height (widget);
  snapshot = gtk_snapshot_new ();
  /* The window's background, then the widget's own drawing (its class
   * snapshot: what GTK records for it in a frame). */
  gdk_rgba_parse (&background, "#fafafa");
  gtk_snapshot_append_color (snapshot, &background, &GRAPHENE_RECT_INIT (0, 0, width, height));
  GTK_WIDGET_GET_CLASS (widget)->snapshot (widget, snapshot);
  node = gtk_snapshot_free_to_node (snapshot);
  g_assert_nonnull (node);
  texture = gsk_renderer_render_texture (gtk_native_get_renderer (gtk_widget_get_native (widget)), node,
                                         &GRAPHENE_RECT_INIT (0, 0, width, height));
  g_assert_true (gdk_texture_save_to_png (texture, path));
  g_test_message ("screenshot: %s", path);
}

typedef struct {
  double usd;
  gint64 requests;
} SpendToday;

static SpendToday
spend_today (UsProxy *proxy)
{
  g_autoptr(JsonNode) node = us_spend_to_json (us_proxy_get_spend (proxy));
  JsonObject *today = json_object_get_object_member (json_node_get_object (node), "today");

  return (SpendToday) { json_object_get_double_member (today, "usd"), json_object_get_int_member (today, "requests") };
}

static gboolean
shows_three (gpointer data)
{
  return g_list_model_get_n_items (data) == 3;
}

static void
test_requests_live (Fixture       *f,
                    gconstpointer  data)
{
  TestClient *client = test_client_new (f->proxy);
  GtkWidget *page = us_window_get_page (f->window, "requests");
  LabelWait wait = { page, "fallback/fallback-model" };
  GListModel *shown = us_requests_page_get_shown (US_REQUESTS_PAGE (page));
  UsRequestEntry *entry;
  SpendToday before = spend_today (f->proxy);

  us_window_set_page (f->window, "requests");
  /* The primary serves, then is overloaded: the fallback serves the
   * second request and the third while the primary cools down. */
  us_fake_provider_push_behavior (f->primary, US_FAKE_OK);
  us_fake_provider_push_status (f->primary, 529, NULL);
  for (guint i = 0; i < 3; i++)
    {
      g_autoptr(TestReply) reply = test_post (client, "/v1/messages", WHOLE_BODY, NULL);

      g_assert_cmpuint (reply->status, ==, 200);
    }

  /* The view follows in batches, without being told. */
  wait_until (shows_three, shown);
  wait.text = "fallback/fallback-model";
  wait_until (label_appears, &wait);
  wait.text = "2 attempts";
  wait_until (label_appears, &wait);
  /* The header says the fallback is standing in. */
  wait.page = GTK_WIDGET (f->window);
  wait.text = "Failing over · fallback-model";
  wait_until (label_appears, &wait);
  /* The attempts expand to each model tried and why it did not serve. */
  {
    g_autoptr(GPtrArray) buttons = g_ptr_array_new ();
    GtkMenuButton *attempts = NULL;
    GtkPopover *popover;
    const char *details;

    collect (page, GTK_TYPE_MENU_BUTTON, buttons);
    for (guint i = 0; i < buttons->len && attempts == NULL; i++)
      {
        if (g_strcmp0 (gtk_menu_button_get_label (buttons->pdata[i]), "2 attempts") == 0)
          attempts = buttons->pdata[i];
      }
    g_assert_nonnull (attempts);
    gtk_menu_button_popup (attempts);
    popover = gtk_menu_button_get_popover (attempts);
    g_assert_nonnull (popover);
    details = gtk_label_get_label (GTK_LABEL (gtk_popover_get_child (popover)));
    g_test_message ("attempts: %s", details);
    /* The newest: the primary was passed over while it cools down. */
    g_assert_true (g_str_has_prefix (details, "1. primary/claude-test — cooling down"));
    g_assert_true (strstr (details, "\n2. fallback/fallback-model — ") != NULL);
    g_assert_true (g_str_has_suffix (details, "served") || strstr (details, "served (") != NULL);
    gtk_menu_button_popdown (attempts);
  }

  entry = g_list_model_get_item (shown, 1);  /* newest first */
  g_assert_cmpstr (us_request_entry_get_served_model (entry), ==, "fallback-model");
  g_object_unref (entry);
  entry = g_list_model_get_item (shown, 2);
  g_assert_cmpstr (us_request_entry_get_served_provider (entry), ==, "primary");
  g_object_unref (entry);

  /* Each request's cost, and today's spend above the list. */
  {
    g_autoptr(GPtrArray) bars = g_ptr_array_new ();
    double usd = 0;
    g_autofree char *cost = NULL;
    g_autofree char *summary = NULL;
    GtkPopover *popover;

    for (guint i = 0; i < 3; i++)
      {
        g_autoptr(UsRequestEntry) e = g_list_model_get_item (shown, i);

        /* Negative: no price known. */
        usd += MAX (us_request_entry_get_cost (e), 0);
      }
    entry = g_list_model_get_item (shown, 0);
    /* The fallback's price: 3 and 15 USD per million tokens. */
    g_assert_cmpfloat (us_request_entry_get_cost (entry), ==,
                       (us_request_entry_get_input_tokens (entry) * 3.0
                        + us_request_entry_get_output_tokens (entry) * 15.0) / 1e6);
    g_assert_cmpfloat (us_request_entry_get_cost (entry), >, 0);
    cost = g_strdup_printf ("$%.4f", us_request_entry_get_cost (entry));
    g_object_unref (entry);
    wait.page = page;
    wait.text = cost;
    wait_until (label_appears, &wait);

    collect (page, US_TYPE_SPEND_BAR, bars);
    g_assert_cmpuint (bars->len, ==, 1);
    summary = g_strdup_printf ("Today: $%.4f · %lld requests · ", before.usd + usd, (long long) before.requests + 3);
    g_test_message ("spend: %s (want %s)", us_spend_bar_get_summary (bars->pdata[0]), summary);
    g_assert_true (g_str_has_prefix (us_spend_bar_get_summary (bars->pdata[0]), summary));
    g_assert_true (gtk_widget_get_visible (bars->pdata[0]));

    /* Per model on demand. */
    {
      g_autoptr(GPtrArray) buttons = g_ptr_array_new ();
      GtkMenuButton *details = NULL;

      collect (bars->pdata[0], GTK_TYPE_MENU_BUTTON, buttons);
      details = buttons->pdata[0];
      gtk_menu_button_popup (details);
      popover = gtk_menu_button_get_popover (details);
      g_assert_nonnull (popover);
      g_assert_nonnull (find_label_prefix (GTK_WIDGET (popover), "fallback/fallback-model"));
      g_assert_nonnull (find_label_prefix (GTK_WIDGET (popover), "Per Day"));
      gtk_menu_button_popdown (details);
    }
  }

  /* The window's content: a toplevel's own paintable is empty. */
  save_screenshot (adw_application_window_get_content (ADW_APPLICATION_WINDOW (f->window)), "window.png");
  test_client_free (client);
}

/* ---- Accessibility ----------------------------------------------------- */

/* Text shown inside @widget itself: a menu button's popover does not count. */
static gboolean
has_text_label (GtkWidget *widget)
{
  if (GTK_IS_NATIVE (widget))
    return FALSE;
  if (GTK_IS_LABEL (widget) && *gtk_label_get_label (GTK_LABEL (widget)) != '\0')
    return TRUE;
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child; child = gtk_widget_get_next_sibling (child))
    {
      if (!GTK_IS_NATIVE (child) && has_text_label (child))
        return TRUE;
    }
  return FALSE;
}

static void
check_names (GtkWidget *widget,
             GString   *unnamed,
             guint     *n_checked)
{
  GtkAccessibleRole role = gtk_accessible_get_accessible_role (GTK_ACCESSIBLE (widget));
  gboolean interactive = FALSE;
  gboolean named_by_content = FALSE;

  if (!gtk_widget_get_visible (widget))
    return;

  switch (role)
    {
    case GTK_ACCESSIBLE_ROLE_BUTTON:
    case GTK_ACCESSIBLE_ROLE_CHECKBOX:
    case GTK_ACCESSIBLE_ROLE_RADIO:
    case GTK_ACCESSIBLE_ROLE_LINK:
    case GTK_ACCESSIBLE_ROLE_MENU_ITEM:
    case GTK_ACCESSIBLE_ROLE_TAB:
      interactive = TRUE;
      named_by_content = TRUE;  /* a visible label inside names it */
      break;
    case GTK_ACCESSIBLE_ROLE_SWITCH:
    case GTK_ACCESSIBLE_ROLE_TEXT_BOX:
    case GTK_ACCESSIBLE_ROLE_SEARCH_BOX:
    case GTK_ACCESSIBLE_ROLE_SPIN_BUTTON:
    case GTK_ACCESSIBLE_ROLE_COMBO_BOX:
    case GTK_ACCESSIBLE_ROLE_SLIDER:
      interactive = TRUE;
      break;
    default:
      interactive = GTK_IS_LIST_BOX_ROW (widget) && gtk_list_box_row_get_activatable (GTK_LIST_BOX_ROW (widget));
      named_by_content = interactive;
      break;
    }

  *n_checked += interactive;
  if (interactive &&
      !gtk_test_accessible_has_property (GTK_ACCESSIBLE (widget), GTK_ACCESSIBLE_PROPERTY_LABEL) &&
      !gtk_test_accessible_has_relation (GTK_ACCESSIBLE (widget), GTK_ACCESSIBLE_RELATION_LABELLED_BY) &&
      !(named_by_content && has_text_label (widget)))
    g_string_append_printf (unnamed, " %s(%s)", G_OBJECT_TYPE_NAME (widget),
                            gtk_widget_get_name (widget));

  for (GtkWidget *child = gtk_widget_get_first_child (widget); child; child = gtk_widget_get_next_sibling (child))
    check_names (child, unnamed, n_checked);
}

static void
test_accessible_names (Fixture       *f,
                       gconstpointer  data)
{
  TestClient *client = test_client_new (f->proxy);
  g_autoptr(GString) unnamed = g_string_new (NULL);
  GtkWidget *page = us_window_get_page (f->window, "requests");
  LabelWait wait = { page, "1 attempt" };
  g_autoptr(TestReply) reply = NULL;
  guint n_checked = 0;

  /* Every page, with content: rows, requests, the empty state. */
  reply = test_post (client, "/v1/messages", WHOLE_BODY, NULL);
  us_window_set_page (f->window, "requests");
  wait_until (label_appears, &wait);

  check_names (GTK_WIDGET (f->window), unnamed, &n_checked);
  g_test_message ("%u interactive widgets checked", n_checked);
  g_assert_cmpstr (unnamed->str, ==, "");
  /* The walk reached the pages: switch, rows, menus, view switcher, cells. */
  g_assert_cmpuint (n_checked, >, 30);
  test_client_free (client);
}

int
main (int   argc,
      char *argv[])
{
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_set_up, fn, fixture_tear_down)
  ADD ("/window/builds", test_builds);
  ADD ("/window/drag-reorders", test_drag_reorders);
  ADD ("/window/keyboard-reorders", test_keyboard_reorders);
  ADD ("/window/add-and-remove", test_add_and_remove);
  ADD ("/window/cooldown-countdown", test_cooldown_countdown);
  ADD ("/window/circuit-state", test_circuit_state);
  ADD ("/window/requests-live", test_requests_live);
  ADD ("/window/accessible-names", test_accessible_names);
  return g_test_run ();
}
