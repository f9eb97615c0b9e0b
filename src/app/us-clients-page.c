/* us-clients-page.c: one UsClientRow per client, kept current by a
 * UsClientWatcher (the command line or an editor may change the files). */
#include "us-clients-page.h"

#include <glib/gi18n.h>

#include "us-client-row.h"

struct _UsClientsPage
{
  AdwBin parent_instance;

  UsProxy *proxy;
  UsClientRow *rows[US_CLIENT_N_CLIENTS];

  AdwToastOverlay *toasts;
  AdwPreferencesGroup *clients_group;
};

G_DEFINE_FINAL_TYPE (UsClientsPage, us_clients_page, ADW_TYPE_BIN)

enum { PROP_0, PROP_PROXY, N_PROPS };
static GParamSpec *properties[N_PROPS];

static void
sync_hint (UsClientsPage *self)
{
  gboolean any = FALSE;

  for (guint i = 0; i < US_CLIENT_N_CLIENTS; i++)
    any |= us_client_row_get_state (self->rows[i]) == US_CLIENT_STATE_CONNECTED;
  adw_preferences_group_set_description (self->clients_group,
                                         any
                                         ? _("Connected clients send their requests through Understudy. "
                                             "Disconnecting puts their own settings back.")
                                         : _("Connect Claude Code to route its requests through Understudy"));
}

static void
on_row_error (UsClientRow   *row,
              const char    *message,
              UsClientsPage *self)
{
  AdwToast *toast = adw_toast_new (message);

  adw_toast_set_timeout (toast, 10);
  adw_toast_overlay_add_toast (self->toasts, toast);
}

static void
on_client_changed (UsClientsPage *self,
                   UsClientId     client)
{
  if (client < US_CLIENT_N_CLIENTS)
    us_client_row_refresh (self->rows[client]);
}

static void
us_clients_page_constructed (GObject *object)
{
  UsClientsPage *self = US_CLIENTS_PAGE (object);

  G_OBJECT_CLASS (us_clients_page_parent_class)->constructed (object);

  for (UsClientId id = 0; id < US_CLIENT_N_CLIENTS; id++)
    {
      self->rows[id] = us_client_row_new (self->proxy, id);
      g_signal_connect_object (self->rows[id], "error", G_CALLBACK (on_row_error), self, 0);
      g_signal_connect_object (self->rows[id], "notify::state", G_CALLBACK (sync_hint), self, G_CONNECT_SWAPPED);
      adw_preferences_group_add (self->clients_group, GTK_WIDGET (self->rows[id]));
    }
  /* The proxy's watcher: one set of file monitors for the whole app. */
  g_signal_connect_object (us_proxy_get_client_watcher (self->proxy), "changed", G_CALLBACK (on_client_changed),
                           self, G_CONNECT_SWAPPED);
  sync_hint (self);
}

static void
us_clients_page_dispose (GObject *object)
{
  UsClientsPage *self = US_CLIENTS_PAGE (object);

  memset (self->rows, 0, sizeof self->rows);
  G_OBJECT_CLASS (us_clients_page_parent_class)->dispose (object);
}

static void
us_clients_page_finalize (GObject *object)
{
  UsClientsPage *self = US_CLIENTS_PAGE (object);

  g_clear_object (&self->proxy);
  G_OBJECT_CLASS (us_clients_page_parent_class)->finalize (object);
}

static void
us_clients_page_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  UsClientsPage *self = US_CLIENTS_PAGE (object);

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
us_clients_page_set_property (GObject      *object,
                              guint         prop_id,
                              const GValue *value,
                              GParamSpec   *pspec)
{
  UsClientsPage *self = US_CLIENTS_PAGE (object);

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
us_clients_page_class_init (UsClientsPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = us_clients_page_constructed;
  object_class->dispose = us_clients_page_dispose;
  object_class->finalize = us_clients_page_finalize;
  object_class->get_property = us_clients_page_get_property;
  object_class->set_property = us_clients_page_set_property;

  properties[PROP_PROXY] =
    g_param_spec_object ("proxy", NULL, NULL, US_TYPE_PROXY,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/understudy/Understudy/us-clients-page.ui");
  gtk_widget_class_bind_template_child (widget_class, UsClientsPage, toasts);
  gtk_widget_class_bind_template_child (widget_class, UsClientsPage, clients_group);
}

static void
us_clients_page_init (UsClientsPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWidget *
us_clients_page_new (UsProxy *proxy)
{
  return g_object_new (US_TYPE_CLIENTS_PAGE, "proxy", proxy, NULL);
}
