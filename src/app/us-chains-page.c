/* us-chains-page.c: every chain's models, in order.
 *
 * The page owns no state of its own: it draws the config store's newest
 * snapshot and turns each gesture (drop, move action, remove, add) into a
 * store edit. The store then publishes a new snapshot and the page draws
 * it again, so the window, the file and the proxy never disagree.
 */
#include <glib/gi18n.h>

#include "us-chains-page.h"
#include "us-chain-row.h"
#include "us-config-store.h"

struct _UsChainsPage
{
  AdwBin parent_instance;

  AdwPreferencesPage *page;

  UsProxy *proxy;
  UsConfigStore *store;
  GPtrArray *groups;        /* AdwPreferencesGroup*, one per chain */
  GPtrArray *rows;          /* UsChainRow*, every chain's */

  /* After a move, focus follows the model to its new place. */
  char *focus_chain;
  int focus_index;
};

G_DEFINE_FINAL_TYPE (UsChainsPage, us_chains_page, ADW_TYPE_BIN)

enum { PROP_0, PROP_PROXY, N_PROPS };
static GParamSpec *properties[N_PROPS];

static void
show_error (UsChainsPage *self,
            const char   *message)
{
  GtkWidget *overlay = gtk_widget_get_ancestor (GTK_WIDGET (self), ADW_TYPE_TOAST_OVERLAY);

  if (overlay != NULL)
    adw_toast_overlay_add_toast (ADW_TOAST_OVERLAY (overlay), adw_toast_new (message));
  else
    g_warning ("%s", message);
}

/* ---- Edits ------------------------------------------------------------- */

static void
on_move_row (UsChainRow   *source,
             UsChainRow   *destination,
             UsChainsPage *self)
{
  g_autoptr(GError) error = NULL;
  guint to = us_chain_row_get_index (destination);

  g_free (self->focus_chain);
  self->focus_chain = g_strdup (us_chain_row_get_chain_id (source));
  self->focus_index = to;
  if (!us_config_store_move_model (self->store, us_chain_row_get_chain_id (source),
                                   us_chain_row_get_index (source), to, &error))
    {
      g_clear_pointer (&self->focus_chain, g_free);
      show_error (self, error->message);
    }
}

static void
on_remove_row (UsChainRow   *row,
               UsChainsPage *self)
{
  g_autoptr(GError) error = NULL;

  if (!us_config_store_remove_model (self->store, us_chain_row_get_chain_id (row),
                                     us_chain_row_get_index (row), &error))
    show_error (self, error->message);
}

/* The dialog may outlive the page (the window closed from the tray): it
 * holds its own references. */
typedef struct {
  UsChainsPage *page;
  UsConfigStore *store;
  char *chain_id;
  GtkDropDown *providers;
  GtkEntry *model;
} AddModel;

static void
add_model_free (gpointer data)
{
  AddModel *add = data;

  g_object_unref (add->page);
  g_object_unref (add->store);
  g_free (add->chain_id);
  g_free (add);
}

static void
on_add_response (AdwMessageDialog *dialog,
                 const char       *response,
                 AddModel         *add)
{
  g_autoptr(GError) error = NULL;
  GtkStringObject *provider = gtk_drop_down_get_selected_item (add->providers);
  const char *model = gtk_editable_get_text (GTK_EDITABLE (add->model));

  if (!g_str_equal (response, "add") || provider == NULL)
    return;
  if (!us_config_store_add_model (add->store, add->chain_id, gtk_string_object_get_string (provider),
                                  model, -1, &error))
    show_error (add->page, error->message);
}

static void
on_model_changed (GtkEditable      *model,
                  AdwMessageDialog *dialog)
{
  adw_message_dialog_set_response_enabled (dialog, "add", *gtk_editable_get_text (model) != '\0');
}

static void
open_add_dialog (UsChainsPage *self,
                 const char   *chain_id)
{
  UsConfig *config = us_config_store_get_config (self->store);
  GPtrArray *providers = us_config_get_providers (config);
  g_autoptr(GtkStringList) ids = gtk_string_list_new (NULL);
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 12);
  GtkWidget *dialog;
  AddModel *add = g_new0 (AddModel, 1);

  for (guint i = 0; i < providers->len; i++)
    gtk_string_list_append (ids, ((UsProviderConfig *) g_ptr_array_index (providers, i))->id);

  add->page = g_object_ref (self);
  add->store = g_object_ref (self->store);
  add->chain_id = g_strdup (chain_id);
  add->providers = GTK_DROP_DOWN (gtk_drop_down_new (G_LIST_MODEL (g_object_ref (ids)), NULL));
  gtk_accessible_update_property (GTK_ACCESSIBLE (add->providers), GTK_ACCESSIBLE_PROPERTY_LABEL, _("Provider"), -1);
  add->model = GTK_ENTRY (gtk_entry_new ());
  gtk_entry_set_placeholder_text (add->model, _("Model name, e.g. glm-4.6"));
  gtk_entry_set_activates_default (add->model, TRUE);
  gtk_accessible_update_property (GTK_ACCESSIBLE (add->model), GTK_ACCESSIBLE_PROPERTY_LABEL, _("Model name"), -1);
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (add->providers));
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (add->model));

  dialog = adw_message_dialog_new (GTK_WINDOW (gtk_widget_get_root (GTK_WIDGET (self))), _("Add Model"), NULL);
  adw_message_dialog_format_body (ADW_MESSAGE_DIALOG (dialog),
                                  _("The new model goes to the end of “%s”; drag it where it belongs."), chain_id);
  adw_message_dialog_set_extra_child (ADW_MESSAGE_DIALOG (dialog), box);
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog), "cancel", _("_Cancel"), "add", _("_Add"), NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "add", ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "add");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  adw_message_dialog_set_response_enabled (ADW_MESSAGE_DIALOG (dialog), "add", FALSE);
  g_signal_connect (add->model, "changed", G_CALLBACK (on_model_changed), dialog);
  g_signal_connect_data (dialog, "response", G_CALLBACK (on_add_response), add,
                         (GClosureNotify) (void (*) (void)) add_model_free, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
on_add_activated (GtkWidget    *widget,
                  UsChainsPage *self)
{
  open_add_dialog (self, g_object_get_data (G_OBJECT (widget), "us-chain-id"));
}

static void
on_row_activated (GtkListBox    *list,
                  GtkListBoxRow *row,
                  UsChainsPage  *self)
{
  if (g_object_get_data (G_OBJECT (row), "us-chain-id") != NULL)
    on_add_activated (GTK_WIDGET (row), self);
}

/* ---- Drawing ----------------------------------------------------------- */

static GtkWidget *
new_add_row (const char *chain_id)
{
  GtkWidget *row = adw_action_row_new ();
  GtkWidget *icon = gtk_image_new_from_icon_name ("list-add-symbolic");

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), _("Add Model…"));
  gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), TRUE);
  adw_action_row_add_prefix (ADW_ACTION_ROW (row), icon);
  gtk_accessible_update_property (GTK_ACCESSIBLE (row), GTK_ACCESSIBLE_PROPERTY_LABEL, _("Add model"), -1);
  g_object_set_data_full (G_OBJECT (row), "us-chain-id", g_strdup (chain_id), g_free);
  return row;
}

/* The next step for a chain that cannot fail over yet. */
static GtkWidget *
new_empty_state (UsChainsPage        *self,
                 const UsChainConfig *chain)
{
  GtkWidget *status = adw_status_page_new ();
  GtkWidget *button = gtk_button_new_with_mnemonic (_("_Add Model…"));

  adw_status_page_set_title (ADW_STATUS_PAGE (status), _("Add a fallback model"));
  adw_status_page_set_description (ADW_STATUS_PAGE (status),
                                   _("With a second model, requests go on when the first is rate limited or down."));
  gtk_widget_add_css_class (status, "compact");
  gtk_widget_set_halign (button, GTK_ALIGN_CENTER);
  gtk_widget_add_css_class (button, "pill");
  gtk_widget_add_css_class (button, "suggested-action");
  g_object_set_data_full (G_OBJECT (button), "us-chain-id", g_strdup (chain->id), g_free);
  g_signal_connect (button, "clicked", G_CALLBACK (on_add_activated), self);
  adw_status_page_set_child (ADW_STATUS_PAGE (status), button);
  return status;
}

static GtkWidget *
new_chain_group (UsChainsPage        *self,
                 const UsChainConfig *chain)
{
  GtkWidget *group = adw_preferences_group_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  GtkWidget *list = gtk_list_box_new ();
  UsHealth *health = us_proxy_get_health (self->proxy);
  g_autofree char *matches = chain->match && chain->match[0] ? g_strjoinv (", ", chain->match) : NULL;
  g_autofree char *description = NULL;
  g_autofree char *list_label = g_strdup_printf (_("Models of chain %s, tried in order"), chain->id);

  /* Translators: %s lists the model names a chain answers for, e.g. "claude-*, gpt-5". */
  description = matches ? g_strdup_printf (_("For %s. Tried top to bottom."), matches)
                        : g_strdup (_("Tried top to bottom."));
  adw_preferences_group_set_title (ADW_PREFERENCES_GROUP (group), chain->id);
  adw_preferences_group_set_description (ADW_PREFERENCES_GROUP (group), description);

  gtk_list_box_set_selection_mode (GTK_LIST_BOX (list), GTK_SELECTION_NONE);
  gtk_widget_add_css_class (list, "boxed-list");
  gtk_accessible_update_property (GTK_ACCESSIBLE (list), GTK_ACCESSIBLE_PROPERTY_LABEL, list_label, -1);
  g_signal_connect (list, "row-activated", G_CALLBACK (on_row_activated), self);

  for (guint i = 0; i < chain->models->len; i++)
    {
      UsChainRow *row = us_chain_row_new (chain->id, i, chain->models->len,
                                          g_ptr_array_index (chain->models, i), health);

      g_signal_connect (row, "move-row", G_CALLBACK (on_move_row), self);
      g_signal_connect (row, "remove-row", G_CALLBACK (on_remove_row), self);
      gtk_list_box_append (GTK_LIST_BOX (list), GTK_WIDGET (row));
      g_ptr_array_add (self->rows, row);
    }
  gtk_box_append (GTK_BOX (box), list);
  if (chain->models->len < 2)
    gtk_box_append (GTK_BOX (box), new_empty_state (self, chain));
  else
    gtk_list_box_append (GTK_LIST_BOX (list), new_add_row (chain->id));
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (group), box);
  return group;
}

static void
rebuild (UsChainsPage *self)
{
  UsConfig *config = us_config_store_get_config (self->store);
  GPtrArray *chains = us_config_get_chains (config);

  for (guint i = 0; i < self->groups->len; i++)
    adw_preferences_page_remove (self->page, g_ptr_array_index (self->groups, i));
  g_ptr_array_set_size (self->groups, 0);
  g_ptr_array_set_size (self->rows, 0);

  for (guint i = 0; i < chains->len; i++)
    {
      GtkWidget *group = new_chain_group (self, g_ptr_array_index (chains, i));

      adw_preferences_page_add (self->page, ADW_PREFERENCES_GROUP (group));
      g_ptr_array_add (self->groups, group);
    }

  if (self->focus_chain != NULL)
    {
      for (guint i = 0; i < self->rows->len; i++)
        {
          UsChainRow *row = g_ptr_array_index (self->rows, i);

          if (g_str_equal (us_chain_row_get_chain_id (row), self->focus_chain) &&
              (int) us_chain_row_get_index (row) == self->focus_index)
            gtk_widget_grab_focus (GTK_WIDGET (row));
        }
      g_clear_pointer (&self->focus_chain, g_free);
    }
}

static void
on_config_changed (UsChainsPage *self)
{
  rebuild (self);
}

static void
on_health_changed (UsHealth     *health,
                   const char   *provider,
                   const char   *model,
                   UsChainsPage *self)
{
  for (guint i = 0; i < self->rows->len; i++)
    {
      UsChainRow *row = g_ptr_array_index (self->rows, i);

      if (g_strcmp0 (us_chain_row_get_provider (row), provider) == 0 &&
          g_strcmp0 (us_chain_row_get_model (row), model) == 0)
        us_chain_row_update_health (row);
    }
}

/* ---- GObject ----------------------------------------------------------- */

static void
us_chains_page_constructed (GObject *object)
{
  UsChainsPage *self = US_CHAINS_PAGE (object);

  G_OBJECT_CLASS (us_chains_page_parent_class)->constructed (object);

  self->store = g_object_ref (us_proxy_get_store (self->proxy));
  g_signal_connect_object (self->store, "notify::config", G_CALLBACK (on_config_changed), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (us_proxy_get_health (self->proxy), "changed", G_CALLBACK (on_health_changed),
                           self, 0);
  rebuild (self);
}

static void
us_chains_page_dispose (GObject *object)
{
  UsChainsPage *self = US_CHAINS_PAGE (object);

  g_clear_pointer (&self->rows, g_ptr_array_unref);
  g_clear_pointer (&self->groups, g_ptr_array_unref);
  g_clear_object (&self->store);
  g_clear_object (&self->proxy);
  G_OBJECT_CLASS (us_chains_page_parent_class)->dispose (object);
}

static void
us_chains_page_finalize (GObject *object)
{
  g_free (US_CHAINS_PAGE (object)->focus_chain);
  G_OBJECT_CLASS (us_chains_page_parent_class)->finalize (object);
}

static void
us_chains_page_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  switch (prop_id)
    {
    case PROP_PROXY:
      g_value_set_object (value, US_CHAINS_PAGE (object)->proxy);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
us_chains_page_set_property (GObject      *object,
                             guint         prop_id,
                             const GValue *value,
                             GParamSpec   *pspec)
{
  switch (prop_id)
    {
    case PROP_PROXY:
      US_CHAINS_PAGE (object)->proxy = g_value_dup_object (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
us_chains_page_class_init (UsChainsPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = us_chains_page_constructed;
  object_class->dispose = us_chains_page_dispose;
  object_class->finalize = us_chains_page_finalize;
  object_class->get_property = us_chains_page_get_property;
  object_class->set_property = us_chains_page_set_property;

  properties[PROP_PROXY] =
    g_param_spec_object ("proxy", NULL, NULL, US_TYPE_PROXY,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/understudy/Understudy/us-chains-page.ui");
  gtk_widget_class_bind_template_child (widget_class, UsChainsPage, page);
}

static void
us_chains_page_init (UsChainsPage *self)
{
  self->groups = g_ptr_array_new ();
  self->rows = g_ptr_array_new ();
  gtk_widget_init_template (GTK_WIDGET (self));
}

UsProxy *
us_chains_page_get_proxy (UsChainsPage *self)
{
  g_return_val_if_fail (US_IS_CHAINS_PAGE (self), NULL);
  return self->proxy;
}
