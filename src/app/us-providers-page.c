/* us-providers-page.c: follows the store's snapshots, one UsProviderRow per
 * provider; rows are kept (not rebuilt) across snapshots so that an edit in
 * progress or an expanded row survives someone else's change. */
#include "us-providers-page.h"

#include <glib/gi18n.h>

#include "us-config-store.h"
#include "us-keyring.h"
#include "us-presets.h"
#include "us-provider-row.h"

struct _UsProvidersPage
{
  AdwBin parent_instance;

  UsProxy *proxy;
  GHashTable *rows;          /* provider id → UsProviderRow (borrowed) */

  AdwToastOverlay *toasts;
  AdwPreferencesGroup *keyring_group;
  AdwActionRow *keyring_row;
  AdwPreferencesGroup *providers_group;
  AdwComboRow *preset_row;
  GtkButton *add_button;
};

G_DEFINE_FINAL_TYPE (UsProvidersPage, us_providers_page, ADW_TYPE_BIN)

enum { PROP_0, PROP_PROXY, N_PROPS };
static GParamSpec *properties[N_PROPS];

static void
show_error (UsProvidersPage *self,
            const char      *message)
{
  AdwToast *toast = adw_toast_new (message);

  adw_toast_set_timeout (toast, 10);
  adw_toast_overlay_add_toast (self->toasts, toast);
}

static void
on_row_error (UsProviderRow   *row,
              const char      *message,
              UsProvidersPage *self)
{
  show_error (self, message);
}

static void
sync_rows (UsProvidersPage *self)
{
  UsConfig *config = us_proxy_get_config (self->proxy);
  GPtrArray *providers = us_config_get_providers (config);
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  GHashTableIter iter;
  gpointer key, value;

  for (guint i = 0; i < providers->len; i++)
    {
      const UsProviderConfig *provider = g_ptr_array_index (providers, i);
      UsProviderRow *row = g_hash_table_lookup (self->rows, provider->id);

      g_hash_table_add (seen, provider->id);
      if (row != NULL)
        {
          us_provider_row_update (row);
          continue;
        }
      row = us_provider_row_new (self->proxy, provider->id);
      g_signal_connect_object (row, "error", G_CALLBACK (on_row_error), self, 0);
      g_hash_table_insert (self->rows, g_strdup (provider->id), row);
      adw_preferences_group_add (self->providers_group, GTK_WIDGET (row));
    }

  g_hash_table_iter_init (&iter, self->rows);
  while (g_hash_table_iter_next (&iter, &key, &value))
    if (!g_hash_table_contains (seen, key))
      {
        adw_preferences_group_remove (self->providers_group, GTK_WIDGET (value));
        g_hash_table_iter_remove (&iter);
      }

  adw_preferences_group_set_description (self->providers_group,
                                         providers->len == 0
                                         ? _("No provider yet: add one below, then put its models in a chain.")
                                         : _("Where a chain's models are served from. Keys are kept in the "
                                             "keyring, never in the configuration file."));
}

static void
sync_keyring (UsProvidersPage *self)
{
  UsKeyring *keyring = us_proxy_get_keyring (self->proxy);
  UsKeyringState state = us_keyring_get_state (keyring);
  const char *message = us_keyring_get_message (keyring);

  gtk_widget_set_visible (GTK_WIDGET (self->keyring_group),
                          (state == US_KEYRING_LOCKED || state == US_KEYRING_MISSING) && message != NULL);
  adw_action_row_set_subtitle (self->keyring_row, message != NULL ? message : "");
}

/* The preset's own id, or the first free "id-N" when it is taken. */
static char *
free_provider_id (UsProvidersPage *self,
                  const UsPreset  *preset)
{
  UsConfig *config = us_proxy_get_config (self->proxy);
  char *id = g_strdup (preset->id);

  for (guint n = 2; us_config_lookup_provider (config, id) != NULL; n++)
    {
      g_free (id);
      id = g_strdup_printf ("%s-%u", preset->id, n);
    }
  return id;
}

static void
on_add_clicked (UsProvidersPage *self)
{
  guint n_presets;
  const UsPreset *presets = us_presets_get (&n_presets);
  guint selected = adw_combo_row_get_selected (self->preset_row);
  g_autofree char *id = NULL;
  g_autoptr(JsonObject) provider = NULL;
  g_autoptr(GError) error = NULL;
  UsProviderRow *row;

  if (selected >= n_presets)
    return;
  id = free_provider_id (self, &presets[selected]);
  provider = us_preset_to_provider (&presets[selected], id);
  if (!us_config_store_set_provider (us_proxy_get_store (self->proxy), provider, &error))
    {
      show_error (self, error->message);
      return;
    }
  /* The store published the new snapshot already; open the new row for its key. */
  sync_rows (self);
  row = g_hash_table_lookup (self->rows, id);
  if (row != NULL)
    adw_expander_row_set_expanded (ADW_EXPANDER_ROW (row), TRUE);
}

static void
us_providers_page_constructed (GObject *object)
{
  UsProvidersPage *self = US_PROVIDERS_PAGE (object);
  UsKeyring *keyring = us_proxy_get_keyring (self->proxy);
  g_autoptr(GtkStringList) names = gtk_string_list_new (NULL);
  guint n_presets;
  const UsPreset *presets = us_presets_get (&n_presets);

  G_OBJECT_CLASS (us_providers_page_parent_class)->constructed (object);

  for (guint i = 0; i < n_presets; i++)
    gtk_string_list_append (names, presets[i].display_name);
  adw_combo_row_set_model (self->preset_row, G_LIST_MODEL (names));

  g_signal_connect_object (us_proxy_get_store (self->proxy), "notify::config",
                           G_CALLBACK (sync_rows), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (keyring, "notify::state", G_CALLBACK (sync_keyring), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (keyring, "notify::message", G_CALLBACK (sync_keyring), self, G_CONNECT_SWAPPED);
  sync_rows (self);
  sync_keyring (self);
}

static void
us_providers_page_dispose (GObject *object)
{
  UsProvidersPage *self = US_PROVIDERS_PAGE (object);

  g_clear_pointer (&self->rows, g_hash_table_unref);
  G_OBJECT_CLASS (us_providers_page_parent_class)->dispose (object);
}

static void
us_providers_page_finalize (GObject *object)
{
  UsProvidersPage *self = US_PROVIDERS_PAGE (object);

  g_clear_object (&self->proxy);
  G_OBJECT_CLASS (us_providers_page_parent_class)->finalize (object);
}

static void
us_providers_page_get_property (GObject    *object,
                                guint       prop_id,
                                GValue     *value,
                                GParamSpec *pspec)
{
  UsProvidersPage *self = US_PROVIDERS_PAGE (object);

  switch (prop_id)
    {
    case PROP_PROXY:
      g_value_set_object (value, self->proxy);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
us_providers_page_set_property (GObject      *object,
                                guint         prop_id,
                                const GValue *value,
                                GParamSpec   *pspec)
{
  UsProvidersPage *self = US_PROVIDERS_PAGE (object);

  switch (prop_id)
    {
    case PROP_PROXY:
      self->proxy = g_value_dup_object (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
us_providers_page_class_init (UsProvidersPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = us_providers_page_constructed;
  object_class->dispose = us_providers_page_dispose;
  object_class->finalize = us_providers_page_finalize;
  object_class->get_property = us_providers_page_get_property;
  object_class->set_property = us_providers_page_set_property;

  properties[PROP_PROXY] =
    g_param_spec_object ("proxy", NULL, NULL, US_TYPE_PROXY,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  g_type_ensure (US_TYPE_PROVIDER_ROW);
  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/understudy/Understudy/us-providers-page.ui");
  gtk_widget_class_bind_template_child (widget_class, UsProvidersPage, toasts);
  gtk_widget_class_bind_template_child (widget_class, UsProvidersPage, keyring_group);
  gtk_widget_class_bind_template_child (widget_class, UsProvidersPage, keyring_row);
  gtk_widget_class_bind_template_child (widget_class, UsProvidersPage, providers_group);
  gtk_widget_class_bind_template_child (widget_class, UsProvidersPage, preset_row);
  gtk_widget_class_bind_template_child (widget_class, UsProvidersPage, add_button);
  gtk_widget_class_bind_template_callback (widget_class, on_add_clicked);
}

static void
us_providers_page_init (UsProvidersPage *self)
{
  self->rows = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWidget *
us_providers_page_new (UsProxy *proxy)
{
  return g_object_new (US_TYPE_PROVIDERS_PAGE, "proxy", proxy, NULL);
}
