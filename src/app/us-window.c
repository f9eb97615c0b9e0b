/* us-window.c: the main window.
 *
 * The header shows the routing switch (app.routing, the same action the
 * tray, the notifications and the command line use) and the model serving
 * right now; the view stack holds one page per thing a person manages.
 */
#include <glib/gi18n.h>

#include "us-window.h"
#include "us-chains-page.h"
#include "us-clients-page.h"
#include "us-config-store.h"
#include "us-providers-page.h"
#include "us-requests-page.h"
#include "understudy-resources.h"

struct _UsWindow
{
  AdwApplicationWindow parent_instance;

  AdwToastOverlay *toasts;
  AdwViewStack *stack;
  GtkWidget *serving_box;
  GtkImage *serving_icon;
  GtkLabel *serving_label;

  UsProxy *proxy;
  UsEpisodes *episodes;
};

G_DEFINE_FINAL_TYPE (UsWindow, us_window, ADW_TYPE_APPLICATION_WINDOW)

enum { PROP_0, PROP_PROXY, PROP_EPISODES, N_PROPS };
static GParamSpec *properties[N_PROPS];

static void
update_serving (UsWindow *self)
{
  const char *serving = self->episodes ? us_episodes_get_serving (self->episodes) : NULL;
  gboolean failing_over = self->episodes && us_episodes_get_failing_over (self->episodes);
  /* The header is narrow: the model alone, "provider/model" in the tooltip. */
  const char *model = serving && strchr (serving, '/') ? strchr (serving, '/') + 1 : serving;
  g_autofree char *text = NULL;
  g_autofree char *tooltip = NULL;

  if (serving == NULL)
    text = g_strdup (_("Nothing served yet"));
  else if (failing_over)
    /* Translators: the window header while a fallback serves; %s is a model. */
    text = g_strdup_printf (_("Failing over · %s"), model);
  else
    /* Translators: the window header; %s is the model serving requests. */
    text = g_strdup_printf (_("Serving %s"), model);
  tooltip = serving == NULL ? g_strdup (text)
          /* Translators: %s is "provider/model". */
          : g_strdup_printf (failing_over ? _("Failing over: the primary is out, serving %s") : _("Serving %s"), serving);

  /* Episodes notify on every request; a tooltip change costs an X round
   * trip, so only a real change touches the widgets. */
  if (g_strcmp0 (gtk_label_get_label (self->serving_label), text) == 0 &&
      g_strcmp0 (gtk_widget_get_tooltip_text (self->serving_box), tooltip) == 0)
    return;
  gtk_label_set_label (self->serving_label, text);
  gtk_widget_set_tooltip_text (self->serving_box, tooltip);
  gtk_widget_set_visible (GTK_WIDGET (self->serving_icon), failing_over);
  if (failing_over)
    gtk_widget_add_css_class (self->serving_box, "warning");
  else
    gtk_widget_remove_css_class (self->serving_box, "warning");
  if (serving == NULL)
    gtk_widget_add_css_class (self->serving_box, "dim-label");
  else
    gtk_widget_remove_css_class (self->serving_box, "dim-label");
}

static void
on_file_error (UsConfigStore *store,
               const char    *message,
               UsWindow      *self)
{
  us_window_show_error (self, message);
}

static void
show_page_action (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *parameter)
{
  us_window_set_page (US_WINDOW (widget), g_variant_get_string (parameter, NULL));
}

static void
add_page (UsWindow   *self,
          GtkWidget  *page,
          const char *name,
          const char *title,
          const char *icon_name)
{
  AdwViewStackPage *stack_page = adw_view_stack_add_titled (self->stack, page, name, title);

  adw_view_stack_page_set_icon_name (stack_page, icon_name);
}

static void
us_window_constructed (GObject *object)
{
  UsWindow *self = US_WINDOW (object);

  G_OBJECT_CLASS (us_window_parent_class)->constructed (object);
  g_return_if_fail (self->proxy != NULL);

  /* The pages need the proxy at construction, so they are made here
   * rather than in the template. */
  add_page (self, g_object_new (US_TYPE_CHAINS_PAGE, "proxy", self->proxy, NULL),
            "chains", _("Chains"), "view-list-symbolic");
  add_page (self, us_providers_page_new (self->proxy), "providers", _("Providers"), "network-server-symbolic");
  add_page (self, g_object_new (US_TYPE_REQUESTS_PAGE, "log", us_proxy_get_log (self->proxy),
                                "spend", us_proxy_get_spend (self->proxy), NULL),
            "requests", _("Requests"), "network-transmit-receive-symbolic");
  add_page (self, us_clients_page_new (self->proxy), "clients", _("Clients"), "utilities-terminal-symbolic");

  g_signal_connect_object (us_proxy_get_store (self->proxy), "file-error", G_CALLBACK (on_file_error), self, 0);
  if (self->episodes != NULL)
    {
      g_signal_connect_object (self->episodes, "notify::serving", G_CALLBACK (update_serving), self,
                               G_CONNECT_SWAPPED);
      g_signal_connect_object (self->episodes, "notify::failing-over", G_CALLBACK (update_serving), self,
                               G_CONNECT_SWAPPED);
    }
  update_serving (self);
}

static void
us_window_dispose (GObject *object)
{
  UsWindow *self = US_WINDOW (object);

  g_clear_object (&self->episodes);
  g_clear_object (&self->proxy);
  G_OBJECT_CLASS (us_window_parent_class)->dispose (object);
}

static void
us_window_get_property (GObject    *object,
                        guint       prop_id,
                        GValue     *value,
                        GParamSpec *pspec)
{
  UsWindow *self = US_WINDOW (object);

  switch (prop_id)
    {
    case PROP_PROXY:
      g_value_set_object (value, self->proxy);
      break;
    case PROP_EPISODES:
      g_value_set_object (value, self->episodes);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
us_window_set_property (GObject      *object,
                        guint         prop_id,
                        const GValue *value,
                        GParamSpec   *pspec)
{
  UsWindow *self = US_WINDOW (object);

  switch (prop_id)
    {
    case PROP_PROXY:
      self->proxy = g_value_dup_object (value);
      break;
    case PROP_EPISODES:
      self->episodes = g_value_dup_object (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
us_window_class_init (UsWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = us_window_constructed;
  object_class->dispose = us_window_dispose;
  object_class->get_property = us_window_get_property;
  object_class->set_property = us_window_set_property;

  properties[PROP_PROXY] =
    g_param_spec_object ("proxy", NULL, NULL, US_TYPE_PROXY,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_EPISODES] =
    g_param_spec_object ("episodes", NULL, NULL, US_TYPE_EPISODES,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* Referencing the resource keeps its object, and the constructor that
   * registers it, in programs linking the static library. */
  (void) us_get_resource ();
  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/understudy/Understudy/us-window.ui");
  gtk_widget_class_bind_template_child (widget_class, UsWindow, toasts);
  gtk_widget_class_bind_template_child (widget_class, UsWindow, stack);
  gtk_widget_class_bind_template_child (widget_class, UsWindow, serving_box);
  gtk_widget_class_bind_template_child (widget_class, UsWindow, serving_icon);
  gtk_widget_class_bind_template_child (widget_class, UsWindow, serving_label);

  /* The empty states point at other pages ("Connect Claude Code" → Clients). */
  gtk_widget_class_install_action (widget_class, "win.show-page", "s", show_page_action);
}

static void
us_window_init (UsWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

UsWindow *
us_window_new (GtkApplication *app,
               UsProxy        *proxy,
               UsEpisodes     *episodes)
{
  return g_object_new (US_TYPE_WINDOW, "application", app, "proxy", proxy, "episodes", episodes, NULL);
}

UsProxy *
us_window_get_proxy (UsWindow *self)
{
  g_return_val_if_fail (US_IS_WINDOW (self), NULL);
  return self->proxy;
}

void
us_window_set_page (UsWindow   *self,
                    const char *name)
{
  g_return_if_fail (US_IS_WINDOW (self));
  if (adw_view_stack_get_child_by_name (self->stack, name) != NULL)
    adw_view_stack_set_visible_child_name (self->stack, name);
}

GtkWidget *
us_window_get_page (UsWindow   *self,
                    const char *name)
{
  g_return_val_if_fail (US_IS_WINDOW (self), NULL);
  return adw_view_stack_get_child_by_name (self->stack, name);
}

void
us_window_show_error (UsWindow   *self,
                      const char *message)
{
  AdwToast *toast;

  g_return_if_fail (US_IS_WINDOW (self));
  toast = adw_toast_new (message);
  adw_toast_set_timeout (toast, 0);  /* errors stay until dismissed */
  adw_toast_overlay_add_toast (self->toasts, toast);
}
