/* us-provider-row.c: a provider's row. Edits go through the config store,
 * keys through the keyring; the key field is emptied once stored, so a key
 * is never on screen longer than it is being typed. */
#include "us-provider-row.h"

#include <glib/gi18n.h>

#include "us-config-store.h"
#include "us-keyring.h"
#include "us-provider-probe.h"

/* Long enough for a cold local model to load, short enough to wait for. */
#define TEST_TIMEOUT_MS 30000

struct _UsProviderRow
{
  AdwExpanderRow parent_instance;

  UsProxy *proxy;
  char *provider_id;
  char *shown_base_url;     /* what the entry showed last, to spot user edits */
  GCancellable *cancellable;

  AdwEntryRow *base_url_row;
  AdwEntryRow *key_row;
  AdwActionRow *key_state_row;
  AdwActionRow *test_row;
  GtkImage *test_icon;
  GtkSpinner *test_spinner;
  GtkButton *test_button;
  GtkButton *remove_button;
};

G_DEFINE_FINAL_TYPE (UsProviderRow, us_provider_row, ADW_TYPE_EXPANDER_ROW)

enum { PROP_0, PROP_PROXY, PROP_PROVIDER_ID, N_PROPS };
static GParamSpec *properties[N_PROPS];

enum { ERROR, N_SIGNALS };
static guint signals[N_SIGNALS];

static const UsProviderConfig *
lookup (UsProviderRow *self)
{
  return us_config_lookup_provider (us_proxy_get_config (self->proxy), self->provider_id);
}

static void
update_key_state (UsProviderRow *self)
{
  const UsProviderConfig *provider = lookup (self);
  UsKeyring *keyring = us_proxy_get_keyring (self->proxy);
  const char *env;
  const char *set_env = NULL;
  guint n_env = 0;
  g_autofree char *text = NULL;

  if (provider == NULL)
    return;
  gtk_widget_set_visible (GTK_WIDGET (self->key_row), provider->auth == US_AUTH_KEY);
  env = provider->key_env;
  /* Which of the pool's variables hold a key. */
  for (guint i = 0; provider->key_envs != NULL && provider->key_envs[i] != NULL; i++)
    {
      const char *value = g_getenv (provider->key_envs[i]);

      if (value == NULL || *value == '\0')
        continue;
      if (set_env == NULL)
        set_env = provider->key_envs[i];
      n_env++;
    }
  switch (provider->auth)
    {
    case US_AUTH_PASSTHROUGH:
      text = g_strdup (_("Each client's own credentials are passed through"));
      break;
    case US_AUTH_NONE:
      text = g_strdup (_("No key needed"));
      break;
    case US_AUTH_GOOGLE:
      text = g_strdup (_("Signs in with Google credentials (a service account or gcloud's login)"));
      break;
    case US_AUTH_AWS:
      /* Translators: keep "keys set" and ~/.aws/credentials as they are. */
      text = g_strdup (us_keyring_has_key (keyring, provider->id)
                       ? _("Signed with the AWS credentials stored in the keyring")
                       : _("Signed with AWS credentials: `understudy keys set`, the AWS_* variables or ~/.aws/credentials"));
      break;
    case US_AUTH_KEY:
    default:
      if (us_keyring_get_n_keys (keyring, provider->id) > 1)
        /* Translators: a key pool, tried in turn (`understudy keys add`). */
        text = g_strdup_printf (ngettext ("%u key stored in the keyring", "%u keys stored in the keyring",
                                          us_keyring_get_n_keys (keyring, provider->id)),
                                us_keyring_get_n_keys (keyring, provider->id));
      else if (us_keyring_has_key (keyring, provider->id))
        text = g_strdup (_("Key stored in the keyring"));
      else if (n_env > 1)
        /* Translators: a key pool given as several environment variables. */
        text = g_strdup_printf (ngettext ("%u key taken from its key_env variables",
                                          "%u keys taken from its key_env variables", n_env), n_env);
      else if (set_env != NULL)
        text = g_strdup_printf (_("Key taken from $%s"), set_env);
      else if (env != NULL)
        text = g_strdup_printf (_("No key yet: enter one above, or set $%s"), env);
      else
        text = g_strdup (_("No key yet: enter one above"));
      break;
    }
  adw_action_row_set_subtitle (self->key_state_row, text);
}

void
us_provider_row_update (UsProviderRow *self)
{
  const UsProviderConfig *provider;
  const char *current;
  g_autofree char *subtitle = NULL;
  g_autofree char *label = NULL;

  g_return_if_fail (US_IS_PROVIDER_ROW (self));

  provider = lookup (self);
  if (provider == NULL)
    return;
  subtitle = g_strdup_printf ("%s · %s", us_provider_kind_to_string (provider->kind), provider->base_url);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self), provider->id);
  adw_expander_row_set_subtitle (ADW_EXPANDER_ROW (self), subtitle);

  /* Only replace what the user has not started editing. */
  current = gtk_editable_get_text (GTK_EDITABLE (self->base_url_row));
  if (self->shown_base_url == NULL || g_str_equal (current, self->shown_base_url))
    {
      g_free (self->shown_base_url);
      self->shown_base_url = g_strdup (provider->base_url);
      gtk_editable_set_text (GTK_EDITABLE (self->base_url_row), provider->base_url);
    }

  label = g_strdup_printf (_("Test %s"), provider->id);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->test_button),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, label, -1);
  g_free (label);
  label = g_strdup_printf (_("Remove %s"), provider->id);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->remove_button),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, label, -1);
  update_key_state (self);
}

static void
report (UsProviderRow *self,
        const char    *message)
{
  g_signal_emit (self, signals[ERROR], 0, message);
}

/* The provider as the document has it (unknown keys, budget...), so that
 * an edit changes one field and nothing else. */
static JsonObject *
dup_provider_object (UsProviderRow *self)
{
  g_autoptr(JsonNode) doc = us_config_dup_document (us_proxy_get_config (self->proxy));
  JsonObject *root = json_node_get_object (doc);
  JsonArray *providers;

  if (!json_object_has_member (root, "providers"))
    return NULL;
  providers = json_object_get_array_member (root, "providers");
  for (guint i = 0; i < json_array_get_length (providers); i++)
    {
      JsonObject *provider = json_array_get_object_element (providers, i);

      if (g_strcmp0 (json_object_get_string_member_with_default (provider, "id", NULL), self->provider_id) == 0)
        return json_object_ref (provider);
    }
  return NULL;
}

static void
on_base_url_apply (UsProviderRow *self)
{
  g_autoptr(JsonObject) provider = dup_provider_object (self);
  g_autoptr(GError) error = NULL;
  g_autofree char *url = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->base_url_row))));

  if (provider == NULL)
    return;
  /* The config keeps base URLs without a final slash. */
  while (g_str_has_suffix (url, "/"))
    url[strlen (url) - 1] = '\0';
  json_object_set_string_member (provider, "base_url", url);
  if (!us_config_store_set_provider (us_proxy_get_store (self->proxy), provider, &error))
    {
      gtk_widget_add_css_class (GTK_WIDGET (self->base_url_row), "error");
      report (self, error->message);
      return;
    }
  gtk_widget_remove_css_class (GTK_WIDGET (self->base_url_row), "error");
  g_clear_pointer (&self->shown_base_url, g_free);
  us_provider_row_update (self);
}

static void
on_key_stored (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(UsProviderRow) self = user_data;
  g_autoptr(GError) error = NULL;

  gtk_widget_set_sensitive (GTK_WIDGET (self->key_row), TRUE);
  if (!us_keyring_store_finish (US_KEYRING (source), result, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_autofree char *message = g_strdup_printf (_("The key was not stored: %s"), error->message);

          report (self, message);
        }
      return;
    }
  update_key_state (self);
}

static void
on_key_apply (UsProviderRow *self)
{
  g_autofree char *key = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->key_row))));

  /* Off the screen (and out of the entry's buffer) at once. */
  gtk_editable_set_text (GTK_EDITABLE (self->key_row), "");
  if (*key == '\0')
    return;
  gtk_widget_set_sensitive (GTK_WIDGET (self->key_row), FALSE);
  us_keyring_store_async (us_proxy_get_keyring (self->proxy), self->provider_id, key,
                          self->cancellable, on_key_stored, g_object_ref (self));
  memset (key, 0, strlen (key));
}

/* The outcome as an icon too, not only as words (and not only as color). */
static void
show_test_outcome (UsProviderRow *self,
                   gboolean       passed)
{
  gtk_image_set_from_icon_name (self->test_icon, passed ? "emblem-ok-symbolic" : "dialog-error-symbolic");
  gtk_widget_remove_css_class (GTK_WIDGET (self->test_icon), passed ? "error" : "success");
  gtk_widget_add_css_class (GTK_WIDGET (self->test_icon), passed ? "success" : "error");
  gtk_widget_set_visible (GTK_WIDGET (self->test_icon), TRUE);
}

static void
on_probed (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(UsProviderRow) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *answer = us_provider_probe_finish (result, &error);
  g_autofree char *text = NULL;

  gtk_spinner_stop (self->test_spinner);
  gtk_widget_set_sensitive (GTK_WIDGET (self->test_button), TRUE);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  show_test_outcome (self, answer != NULL);
  if (answer == NULL)
    {
      adw_action_row_set_subtitle (self->test_row, error->message);
      return;
    }
  if (*answer == '\0')
    text = g_strdup (_("It answered, with no text in the few tokens allowed"));
  else
    text = g_strdup_printf (_("It answered: “%s”"), answer);
  adw_action_row_set_subtitle (self->test_row, text);
}

static void
on_test_clicked (UsProviderRow *self)
{
  g_autofree char *model = us_provider_probe_pick_model (us_proxy_get_config (self->proxy), self->provider_id);
  g_autofree char *asking = NULL;

  if (model == NULL)
    {
      adw_action_row_set_subtitle (self->test_row,
                                   _("Add a model of this provider to a chain to test it"));
      return;
    }
  asking = g_strdup_printf (_("Asking %s…"), model);
  adw_action_row_set_subtitle (self->test_row, asking);
  gtk_widget_set_sensitive (GTK_WIDGET (self->test_button), FALSE);
  gtk_widget_set_visible (GTK_WIDGET (self->test_icon), FALSE);
  gtk_spinner_start (self->test_spinner);
  us_provider_probe_async (self->proxy, self->provider_id, model, TEST_TIMEOUT_MS,
                           self->cancellable, on_probed, g_object_ref (self));
}

static void
on_remove_clicked (UsProviderRow *self)
{
  g_autoptr(GError) error = NULL;

  if (!us_config_store_remove_provider (us_proxy_get_store (self->proxy), self->provider_id, &error))
    report (self, error->message);
}

static void
on_key_changed (UsProviderRow *self,
                const char    *provider_id)
{
  if (provider_id == NULL || g_strcmp0 (provider_id, self->provider_id) == 0)
    update_key_state (self);
}

/* libadwaita 1.2's entry rows leave their text field unnamed for screen
 * readers: give it the row's title. */
static void
name_entry (AdwEntryRow *row)
{
  GtkEditable *text = gtk_editable_get_delegate (GTK_EDITABLE (row));

  gtk_accessible_update_property (GTK_ACCESSIBLE (text), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  adw_preferences_row_get_title (ADW_PREFERENCES_ROW (row)), -1);
}

static void
us_provider_row_constructed (GObject *object)
{
  UsProviderRow *self = US_PROVIDER_ROW (object);
  UsKeyring *keyring = us_proxy_get_keyring (self->proxy);

  G_OBJECT_CLASS (us_provider_row_parent_class)->constructed (object);

  name_entry (self->base_url_row);
  name_entry (self->key_row);
  g_signal_connect_object (keyring, "changed", G_CALLBACK (on_key_changed), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (keyring, "notify::state", G_CALLBACK (update_key_state), self, G_CONNECT_SWAPPED);
  us_provider_row_update (self);
}

static void
us_provider_row_dispose (GObject *object)
{
  UsProviderRow *self = US_PROVIDER_ROW (object);

  g_cancellable_cancel (self->cancellable);
  G_OBJECT_CLASS (us_provider_row_parent_class)->dispose (object);
}

static void
us_provider_row_finalize (GObject *object)
{
  UsProviderRow *self = US_PROVIDER_ROW (object);

  g_clear_object (&self->proxy);
  g_clear_object (&self->cancellable);
  g_free (self->provider_id);
  g_free (self->shown_base_url);
  G_OBJECT_CLASS (us_provider_row_parent_class)->finalize (object);
}

static void
us_provider_row_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  UsProviderRow *self = US_PROVIDER_ROW (object);

  switch (prop_id)
    {
    case PROP_PROXY:
      g_value_set_object (value, self->proxy);
      break;
    case PROP_PROVIDER_ID:
      g_value_set_string (value, self->provider_id);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
us_provider_row_set_property (GObject      *object,
                              guint         prop_id,
                              const GValue *value,
                              GParamSpec   *pspec)
{
  UsProviderRow *self = US_PROVIDER_ROW (object);

  switch (prop_id)
    {
    case PROP_PROXY:
      self->proxy = g_value_dup_object (value);
      break;
    case PROP_PROVIDER_ID:
      self->provider_id = g_value_dup_string (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
us_provider_row_class_init (UsProviderRowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = us_provider_row_constructed;
  object_class->dispose = us_provider_row_dispose;
  object_class->finalize = us_provider_row_finalize;
  object_class->get_property = us_provider_row_get_property;
  object_class->set_property = us_provider_row_set_property;

  properties[PROP_PROXY] =
    g_param_spec_object ("proxy", NULL, NULL, US_TYPE_PROXY,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_PROVIDER_ID] =
    g_param_spec_string ("provider-id", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[ERROR] = g_signal_new ("error", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                 0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/understudy/Understudy/us-provider-row.ui");
  gtk_widget_class_bind_template_child (widget_class, UsProviderRow, base_url_row);
  gtk_widget_class_bind_template_child (widget_class, UsProviderRow, key_row);
  gtk_widget_class_bind_template_child (widget_class, UsProviderRow, key_state_row);
  gtk_widget_class_bind_template_child (widget_class, UsProviderRow, test_row);
  gtk_widget_class_bind_template_child (widget_class, UsProviderRow, test_icon);
  gtk_widget_class_bind_template_child (widget_class, UsProviderRow, test_spinner);
  gtk_widget_class_bind_template_child (widget_class, UsProviderRow, test_button);
  gtk_widget_class_bind_template_child (widget_class, UsProviderRow, remove_button);
  gtk_widget_class_bind_template_callback (widget_class, on_base_url_apply);
  gtk_widget_class_bind_template_callback (widget_class, on_key_apply);
  gtk_widget_class_bind_template_callback (widget_class, on_test_clicked);
  gtk_widget_class_bind_template_callback (widget_class, on_remove_clicked);
}

static void
us_provider_row_init (UsProviderRow *self)
{
  self->cancellable = g_cancellable_new ();
  gtk_widget_init_template (GTK_WIDGET (self));
}

UsProviderRow *
us_provider_row_new (UsProxy    *proxy,
                     const char *provider_id)
{
  return g_object_new (US_TYPE_PROVIDER_ROW, "proxy", proxy, "provider-id", provider_id, NULL);
}

const char *
us_provider_row_get_provider_id (UsProviderRow *self)
{
  g_return_val_if_fail (US_IS_PROVIDER_ROW (self), NULL);

  return self->provider_id;
}
