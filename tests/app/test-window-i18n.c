/* test-window-i18n.c: the real window under Xvfb in German and in French.
 *
 * The catalogues are the .mo files this build made (build/po/LANG/
 * LC_MESSAGES, named by US_TEST_LOCALEDIR), bound the way understudy's
 * main() binds the installed ones. Each case sets LANGUAGE, builds a new
 * UsWindow and looks for translated text where a person sees it: the view
 * switcher, the header, and strings that come from the .ui templates.
 */
#include "config.h"

#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <locale.h>

#include "test-util.h"
#include "us-config-store.h"
#include "us-episodes.h"
#include "us-window.h"

typedef struct {
  const char *language;
  const char *pages[4];     /* chains, providers, requests, clients */
  const char *header;       /* the serving label before any request */
  const char *switch_tip;   /* us-window.ui: the routing switch's tooltip */
  const char *menu_tip;     /* us-window.ui: the main menu button */
  const char *empty_title;  /* us-requests-page.ui: the empty state */
  const char *chain_text;   /* us-chains-page.c: a chain's description */
  const char *autostart;    /* us-window.ui: the main menu's "Start at Login" */
} Expected;

static const Expected german = {
  "de",
  { "Ketten", "Anbieter", "Anfragen", "Clients" },
  "Noch nichts beantwortet",
  "Programmier-Clients über Understudy leiten",
  "Hauptmenü",
  "Claude Code verbinden",
  "Für *. Von oben nach unten versucht.",
  "Beim _Anmelden starten",
};

static const Expected french = {
  "fr",
  { "Chaînes", "Fournisseurs", "Requêtes", "Clients" },
  "Rien servi pour l’instant",
  "Faire passer les clients de programmation par Understudy",
  "Menu principal",
  "Connecter Claude Code",
  "Pour *. Essayés de haut en bas.",
  "_Démarrer à la connexion",
};

static const char * const page_names[] = { "chains", "providers", "requests", "clients" };

static GtkMenuButton *
find_menu_button (GtkWidget *widget)
{
  if (GTK_IS_MENU_BUTTON (widget) && gtk_menu_button_get_menu_model (GTK_MENU_BUTTON (widget)) != NULL)
    return GTK_MENU_BUTTON (widget);
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child; child = gtk_widget_get_next_sibling (child))
    {
      GtkMenuButton *found = find_menu_button (child);

      if (found != NULL)
        return found;
    }
  return NULL;
}

/* The label of the menu item (in any section) that triggers action. */
static char *
menu_label_for (GMenuModel *menu,
                const char *action)
{
  for (int i = 0; i < g_menu_model_get_n_items (menu); i++)
    {
      g_autoptr(GMenuModel) section = g_menu_model_get_item_link (menu, i, G_MENU_LINK_SECTION);
      g_autofree char *item_action = NULL;
      char *label = NULL;

      if (section != NULL && (label = menu_label_for (section, action)) != NULL)
        return label;
      if (g_menu_model_get_item_attribute (menu, i, G_MENU_ATTRIBUTE_ACTION, "s", &item_action) &&
          g_str_equal (item_action, action) &&
          g_menu_model_get_item_attribute (menu, i, G_MENU_ATTRIBUTE_LABEL, "s", &label))
        return label;
    }
  return NULL;
}

static gboolean
window_is_mapped (gpointer data)
{
  return gtk_widget_get_mapped (data);
}

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

/* Every text a person can read in @widget's tree: labels, tooltips and
 * preferences group descriptions, one per line. */
static void
collect_text (GtkWidget *widget,
              GString   *out)
{
  const char *tooltip = gtk_widget_get_tooltip_text (widget);

  if (GTK_IS_LABEL (widget))
    g_string_append_printf (out, "%s\n", gtk_label_get_label (GTK_LABEL (widget)));
  if (tooltip != NULL)
    g_string_append_printf (out, "%s\n", tooltip);
  if (ADW_IS_STATUS_PAGE (widget) && adw_status_page_get_title (ADW_STATUS_PAGE (widget)) != NULL)
    g_string_append_printf (out, "%s\n", adw_status_page_get_title (ADW_STATUS_PAGE (widget)));
  if (ADW_IS_PREFERENCES_GROUP (widget) && adw_preferences_group_get_description (ADW_PREFERENCES_GROUP (widget)))
    g_string_append_printf (out, "%s\n", adw_preferences_group_get_description (ADW_PREFERENCES_GROUP (widget)));
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child; child = gtk_widget_get_next_sibling (child))
    collect_text (child, out);
}

static void
assert_shows (const char *texts,
              const char *expected)
{
  g_autofree char *line = g_strdup_printf ("\n%s\n", expected);
  g_autofree char *all = g_strdup_printf ("\n%s", texts);

  if (strstr (all, line) == NULL)
    g_error ("the window does not show “%s”; it shows:\n%s", expected, texts);
}

static void
test_language (gconstpointer data)
{
  const Expected *expected = data;
  g_autofree char *dir = NULL;
  g_autofree char *path = NULL;
  g_autofree char *json = NULL;
  g_autoptr(UsConfig) config = NULL;
  g_autoptr(UsConfigStore) store = NULL;
  g_autoptr(UsProxy) proxy = NULL;
  g_autoptr(UsEpisodes) episodes = NULL;
  g_autoptr(GString) shown = g_string_new (NULL);
  g_autoptr(GError) error = NULL;
  UsWindow *window;
  AdwViewStack *stack = NULL;

  g_setenv ("LANGUAGE", expected->language, TRUE);
  /* gettext caches what it found; setting the domain again drops it. */
  textdomain (GETTEXT_PACKAGE);
  /* The catalogue is there at all, before any widget depends on it. */
  g_assert_cmpstr (_("Chains"), ==, expected->pages[0]);

  dir = g_dir_make_tmp ("us-window-i18n-XXXXXX", &error);
  g_assert_no_error (error);
  path = g_build_filename (dir, "config.json", NULL);
  /* A provider on a closed loopback port: nothing is sent in this test. */
  json = g_strdup (
    "{ \"version\": 1,"
    "  \"listen\": { \"host\": \"127.0.0.1\", \"port\": 0, \"token\": \"" TEST_TOKEN "\" },"
    "  \"providers\": ["
    "    { \"id\": \"local\", \"kind\": \"anthropic\", \"base_url\": \"http://127.0.0.1:9\", \"auth\": \"none\" } ],"
    "  \"chains\": ["
    "    { \"id\": \"default\", \"match\": [\"*\"], \"models\": ["
    "      { \"provider\": \"local\", \"model\": \"one\" },"
    "      { \"provider\": \"local\", \"model\": \"two\" } ] } ] }");
  g_file_set_contents (path, json, -1, &error);
  g_assert_no_error (error);
  config = us_config_load (path, &error);
  g_assert_no_error (error);
  store = us_config_store_new (config);
  proxy = us_proxy_new_for_store (store);
  us_proxy_start (proxy, &error);
  g_assert_no_error (error);
  episodes = us_episodes_new (us_proxy_get_log (proxy), us_proxy_get_health (proxy));

  window = us_window_new (NULL, proxy, episodes);
  gtk_window_present (GTK_WINDOW (window));
  wait_until (window_is_mapped, window);

  /* The view switcher's titles, as the stack holds them. */
  for (guint i = 0; i < G_N_ELEMENTS (page_names); i++)
    {
      GtkWidget *page = us_window_get_page (window, page_names[i]);

      stack = ADW_VIEW_STACK (gtk_widget_get_ancestor (page, ADW_TYPE_VIEW_STACK));
      g_assert_cmpstr (adw_view_stack_page_get_title (adw_view_stack_get_page (stack, page)), ==,
                       expected->pages[i]);
    }

  /* And as the switcher shows them, with the rest of what is on screen. */
  collect_text (GTK_WIDGET (window), shown);
  for (guint i = 0; i < G_N_ELEMENTS (expected->pages); i++)
    assert_shows (shown->str, expected->pages[i]);
  assert_shows (shown->str, expected->header);
  assert_shows (shown->str, expected->switch_tip);
  assert_shows (shown->str, expected->menu_tip);
  assert_shows (shown->str, expected->chain_text);
  /* The main menu, a GMenu in the window's template. */
  {
    GtkMenuButton *menu_button = find_menu_button (GTK_WIDGET (window));
    g_autofree char *label = NULL;

    g_assert_nonnull (menu_button);
    label = menu_label_for (gtk_menu_button_get_menu_model (menu_button), "app.autostart");
    g_assert_cmpstr (label, ==, expected->autostart);
  }
  /* The Requests page's empty state, from its template. */
  collect_text (us_window_get_page (window, "requests"), g_string_truncate (shown, 0));
  assert_shows (shown->str, expected->empty_title);
  /* Nothing English where a translation exists. */
  g_assert_null (strstr (shown->str, "Connect Claude Code\n"));
  g_test_message ("%s: %u page titles and 5 window texts checked", expected->language,
                  (guint) G_N_ELEMENTS (page_names));

  gtk_window_destroy (GTK_WINDOW (window));
  g_clear_object (&episodes);
  g_clear_object (&proxy);
  us_config_store_sync (store);
  g_unlink (path);
  g_rmdir (dir);
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

int
main (int   argc,
      char *argv[])
{
  const char *locale_dir = g_getenv ("US_TEST_LOCALEDIR");

  gtk_test_init (&argc, &argv, NULL);
  adw_init ();
  /* gtk_test_init asks for en_US.UTF-8, which may not exist; LANGUAGE is
   * ignored in the "C" locale but not in C.UTF-8. */
  g_assert_nonnull (setlocale (LC_ALL, "C.UTF-8"));
  g_assert_nonnull (locale_dir);
  bindtextdomain (GETTEXT_PACKAGE, locale_dir);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  g_test_add_data_func ("/window-i18n/de", &german, test_language);
  g_test_add_data_func ("/window-i18n/fr", &french, test_language);
  return g_test_run ();
}
