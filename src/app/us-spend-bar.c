/* us-spend-bar.c: today's spend in one line; per model and per day on demand.
 *
 * The totals are read from UsSpend's JSON, the same figures the status API
 * and `understudy status` show. The popover is built when it opens, so a
 * closed one costs nothing per request.
 */
#include <glib/gi18n.h>

#include "us-spend-bar.h"

#define DAYS_SHOWN 7

struct _UsSpendBar
{
  GtkBox parent_instance;

  GtkLabel *summary;
  GtkMenuButton *details;

  UsSpend *spend;
};

G_DEFINE_FINAL_TYPE (UsSpendBar, us_spend_bar, GTK_TYPE_BOX)

enum { PROP_0, PROP_SPEND, N_PROPS };
static GParamSpec *properties[N_PROPS];

static char *
format_totals (JsonObject *totals)
{
  /* Translators: money in US dollars, then requests and tokens. */
  return g_strdup_printf (_("$%.4f · %lld requests · %lld tokens"),
                          json_object_get_double_member (totals, "usd"),
                          (long long) json_object_get_int_member (totals, "requests"),
                          (long long) json_object_get_int_member (totals, "tokens"));
}

static void
add_row (GtkGrid    *grid,
         int         row,
         const char *name,
         JsonObject *totals)
{
  g_autofree char *text = format_totals (totals);
  GtkWidget *label = gtk_label_new (name);
  GtkWidget *value = gtk_label_new (text);

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_xalign (GTK_LABEL (value), 1);
  gtk_widget_add_css_class (value, "numeric");
  gtk_grid_attach (grid, label, 0, row, 1, 1);
  gtk_grid_attach (grid, value, 1, row, 1, 1);
}

static int
add_heading (GtkGrid    *grid,
             int         row,
             const char *text)
{
  GtkWidget *heading = gtk_label_new (text);

  gtk_label_set_xalign (GTK_LABEL (heading), 0);
  gtk_widget_add_css_class (heading, "heading");
  if (row > 0)
    gtk_widget_set_margin_top (heading, 12);
  gtk_grid_attach (grid, heading, 0, row, 2, 1);
  return row + 1;
}

static void
create_details (GtkMenuButton *button,
                gpointer       data)
{
  UsSpendBar *self = data;
  g_autoptr(JsonNode) node = us_spend_to_json (self->spend);
  JsonObject *root = json_node_get_object (node);
  JsonArray *models = json_object_get_array_member (root, "models");
  JsonArray *days = json_object_get_array_member (root, "days");
  GtkWidget *grid = gtk_grid_new ();
  GtkWidget *popover = gtk_popover_new ();
  int row = 0;

  gtk_grid_set_row_spacing (GTK_GRID (grid), 6);
  gtk_grid_set_column_spacing (GTK_GRID (grid), 24);
  row = add_heading (GTK_GRID (grid), row, _("Today and This Week, per Model"));
  for (guint i = 0; i < json_array_get_length (models); i++)
    {
      JsonObject *m = json_array_get_object_element (models, i);
      g_autofree char *name = g_strdup_printf ("%s/%s", json_object_get_string_member (m, "provider"),
                                               json_object_get_string_member (m, "model"));
      /* Translators: a model's spend this week, after its spend today. */
      g_autofree char *week = g_strdup_printf (_("%s, this week"), name);

      add_row (GTK_GRID (grid), row++, name, json_object_get_object_member (m, "today"));
      add_row (GTK_GRID (grid), row++, week, json_object_get_object_member (m, "week"));
    }
  if (json_array_get_length (models) == 0)
    add_row (GTK_GRID (grid), row++, _("No model has served yet"),
             json_object_get_object_member (root, "today"));

  row = add_heading (GTK_GRID (grid), row, _("Per Day"));
  for (guint i = 0; i < MIN (json_array_get_length (days), DAYS_SHOWN); i++)
    {
      JsonObject *d = json_array_get_object_element (days, i);

      add_row (GTK_GRID (grid), row++, json_object_get_string_member (d, "date"), d);
    }

  gtk_popover_set_child (GTK_POPOVER (popover), grid);
  gtk_menu_button_set_popover (button, popover);
}

void
us_spend_bar_refresh (UsSpendBar *self)
{
  g_autoptr(JsonNode) node = NULL;
  g_autofree char *totals = NULL;
  g_autofree char *text = NULL;

  g_return_if_fail (US_IS_SPEND_BAR (self));

  gtk_widget_set_visible (GTK_WIDGET (self), self->spend != NULL);
  if (self->spend == NULL)
    return;
  node = us_spend_to_json (self->spend);
  totals = format_totals (json_object_get_object_member (json_node_get_object (node), "today"));
  /* Translators: the spend so far today, e.g. "Today: $0.0123 · 4 requests · 900 tokens". */
  text = g_strdup_printf (_("Today: %s"), totals);
  if (g_strcmp0 (gtk_label_get_label (self->summary), text) != 0)
    gtk_label_set_label (self->summary, text);
}

void
us_spend_bar_set_spend (UsSpendBar *self,
                        UsSpend    *spend)
{
  g_return_if_fail (US_IS_SPEND_BAR (self));

  if (g_set_object (&self->spend, spend))
    {
      us_spend_bar_refresh (self);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SPEND]);
    }
}

const char *
us_spend_bar_get_summary (UsSpendBar *self)
{
  g_return_val_if_fail (US_IS_SPEND_BAR (self), NULL);
  return gtk_label_get_label (self->summary);
}

static void
us_spend_bar_dispose (GObject *object)
{
  UsSpendBar *self = US_SPEND_BAR (object);

  g_clear_object (&self->spend);
  gtk_widget_dispose_template (GTK_WIDGET (self), US_TYPE_SPEND_BAR);
  G_OBJECT_CLASS (us_spend_bar_parent_class)->dispose (object);
}

static void
us_spend_bar_get_property (GObject    *object,
                           guint       prop_id,
                           GValue     *value,
                           GParamSpec *pspec)
{
  switch (prop_id)
    {
    case PROP_SPEND:
      g_value_set_object (value, US_SPEND_BAR (object)->spend);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
us_spend_bar_set_property (GObject      *object,
                           guint         prop_id,
                           const GValue *value,
                           GParamSpec   *pspec)
{
  switch (prop_id)
    {
    case PROP_SPEND:
      us_spend_bar_set_spend (US_SPEND_BAR (object), g_value_get_object (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
us_spend_bar_class_init (UsSpendBarClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = us_spend_bar_dispose;
  object_class->get_property = us_spend_bar_get_property;
  object_class->set_property = us_spend_bar_set_property;

  properties[PROP_SPEND] =
    g_param_spec_object ("spend", NULL, NULL, US_TYPE_SPEND,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/understudy/Understudy/us-spend-bar.ui");
  gtk_widget_class_bind_template_child (widget_class, UsSpendBar, summary);
  gtk_widget_class_bind_template_child (widget_class, UsSpendBar, details);
}

static void
us_spend_bar_init (UsSpendBar *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  gtk_menu_button_set_create_popup_func (self->details, create_details, self, NULL);
  gtk_widget_set_visible (GTK_WIDGET (self), FALSE);
}
