/* us-client-row.c: the connectors read and write the clients' own files,
 * so every call runs in a GTask thread, one at a time per row; the main
 * loop only sees the outcome. */
#include "us-client-row.h"

#include <glib/gi18n.h>

struct _UsClientRow
{
  AdwActionRow parent_instance;

  UsProxy *proxy;
  UsClientId client;
  UsClientState state;
  gboolean wanted;
  gboolean busy;
  gboolean refresh_queued;   /* asked while busy: read again after */

  GtkSpinner *spinner;
  GtkButton *button;
};

G_DEFINE_FINAL_TYPE (UsClientRow, us_client_row, ADW_TYPE_ACTION_ROW)

enum { PROP_0, PROP_PROXY, PROP_CLIENT, PROP_STATE, PROP_BUSY, N_PROPS };
static GParamSpec *properties[N_PROPS];

enum { ERROR, N_SIGNALS };
static guint signals[N_SIGNALS];

typedef enum { OP_READ, OP_CONNECT, OP_DISCONNECT } Op;

typedef struct {
  Op op;
  UsClientId client;
  char *url;
  UsClientState state;   /* out */
  gboolean wanted;       /* out */
} Job;

static void
job_free (Job *job)
{
  g_free (job->url);
  g_free (job);
}

static void
run_job (GTask        *task,
         gpointer      source,
         gpointer      task_data,
         GCancellable *cancellable)
{
  Job *job = task_data;
  g_autoptr(GError) error = NULL;
  gboolean ok = TRUE;

  if (job->op == OP_CONNECT)
    ok = us_client_connect (job->client, job->url, &error);
  else if (job->op == OP_DISCONNECT)
    ok = us_client_disconnect (job->client, &error);
  /* Read after a failure too: the row shows what is really there. */
  job->state = us_client_get_state (job->client);
  job->wanted = us_client_is_wanted (job->client);
  if (!ok)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_boolean (task, TRUE);
}

static void
sync_widgets (UsClientRow *self)
{
  const char *name = us_client_id_get_display_name (self->client);
  gboolean disconnect = self->state == US_CLIENT_STATE_CONNECTED || self->wanted;
  g_autofree char *label = NULL;
  const char *subtitle;

  switch (self->state)
    {
    case US_CLIENT_STATE_CONNECTED:
      subtitle = _("Connected: its requests go through Understudy");
      break;
    case US_CLIENT_STATE_INSTALLED:
      subtitle = self->wanted ? _("Connects again when routing is turned on") : _("Not connected");
      break;
    case US_CLIENT_STATE_NOT_INSTALLED:
    default:
      subtitle = _("Not installed (connecting prepares its settings for when it is)");
      break;
    }
  adw_action_row_set_subtitle (ADW_ACTION_ROW (self), subtitle);
  gtk_button_set_label (self->button, disconnect ? _("Disconnect") : _("Connect"));
  label = g_strdup_printf (disconnect ? _("Disconnect %s") : _("Connect %s"), name);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->button), GTK_ACCESSIBLE_PROPERTY_LABEL, label, -1);
  gtk_widget_set_sensitive (GTK_WIDGET (self->button), !self->busy);
  gtk_spinner_set_spinning (self->spinner, self->busy);
}

static void start_job (UsClientRow *self, Op op);

static void
on_job_done (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  UsClientRow *self = US_CLIENT_ROW (source);
  Job *job = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;

  g_task_propagate_boolean (G_TASK (result), &error);
  self->busy = FALSE;
  self->wanted = job->wanted;
  if (self->state != job->state)
    {
      self->state = job->state;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
    }
  sync_widgets (self);
  if (error != NULL)
    g_signal_emit (self, signals[ERROR], 0, error->message);
  if (self->refresh_queued)
    {
      self->refresh_queued = FALSE;
      start_job (self, OP_READ);
      return;
    }
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
}

static void
start_job (UsClientRow *self,
           Op           op)
{
  g_autoptr(GTask) task = NULL;
  Job *job = g_new0 (Job, 1);

  job->op = op;
  job->client = self->client;
  if (op == OP_CONNECT)
    job->url = us_proxy_dup_client_url (self->proxy);
  task = g_task_new (self, NULL, on_job_done, NULL);
  g_task_set_source_tag (task, start_job);
  g_task_set_task_data (task, job, (GDestroyNotify) job_free);
  if (!self->busy)
    {
      self->busy = TRUE;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
    }
  sync_widgets (self);
  g_task_run_in_thread (task, run_job);
}

void
us_client_row_refresh (UsClientRow *self)
{
  g_return_if_fail (US_IS_CLIENT_ROW (self));

  if (self->busy)
    self->refresh_queued = TRUE;
  else
    start_job (self, OP_READ);
}

static void
on_button_clicked (UsClientRow *self)
{
  if (self->busy)
    return;
  start_job (self, self->state == US_CLIENT_STATE_CONNECTED || self->wanted ? OP_DISCONNECT : OP_CONNECT);
}

static void
us_client_row_constructed (GObject *object)
{
  UsClientRow *self = US_CLIENT_ROW (object);

  G_OBJECT_CLASS (us_client_row_parent_class)->constructed (object);

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self), us_client_id_get_display_name (self->client));
  us_client_row_refresh (self);
}

static void
us_client_row_dispose (GObject *object)
{
  G_OBJECT_CLASS (us_client_row_parent_class)->dispose (object);
}

static void
us_client_row_finalize (GObject *object)
{
  UsClientRow *self = US_CLIENT_ROW (object);

  g_clear_object (&self->proxy);
  G_OBJECT_CLASS (us_client_row_parent_class)->finalize (object);
}

static void
us_client_row_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  UsClientRow *self = US_CLIENT_ROW (object);

  switch (prop_id)
    {
    case PROP_PROXY:
      g_value_set_object (value, self->proxy);
      break;
    case PROP_CLIENT:
      g_value_set_enum (value, self->client);
      break;
    case PROP_STATE:
      g_value_set_int (value, self->state);
      break;
    case PROP_BUSY:
      g_value_set_boolean (value, self->busy);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
us_client_row_set_property (GObject      *object,
                            guint         prop_id,
                            const GValue *value,
                            GParamSpec   *pspec)
{
  UsClientRow *self = US_CLIENT_ROW (object);

  switch (prop_id)
    {
    case PROP_PROXY:
      self->proxy = g_value_dup_object (value);
      break;
    case PROP_CLIENT:
      self->client = g_value_get_enum (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
us_client_row_class_init (UsClientRowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = us_client_row_constructed;
  object_class->dispose = us_client_row_dispose;
  object_class->finalize = us_client_row_finalize;
  object_class->get_property = us_client_row_get_property;
  object_class->set_property = us_client_row_set_property;

  properties[PROP_PROXY] =
    g_param_spec_object ("proxy", NULL, NULL, US_TYPE_PROXY,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_CLIENT] =
    g_param_spec_enum ("client", NULL, NULL, US_TYPE_CLIENT_ID, US_CLIENT_CLAUDE_CODE,
                       G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  /* UsClientState has no GType of its own; its values as an int. */
  properties[PROP_STATE] =
    g_param_spec_int ("state", NULL, NULL, US_CLIENT_STATE_NOT_INSTALLED, US_CLIENT_STATE_CONNECTED,
                      US_CLIENT_STATE_NOT_INSTALLED,
                      G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_BUSY] =
    g_param_spec_boolean ("busy", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[ERROR] = g_signal_new ("error", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                 0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/understudy/Understudy/us-client-row.ui");
  gtk_widget_class_bind_template_child (widget_class, UsClientRow, spinner);
  gtk_widget_class_bind_template_child (widget_class, UsClientRow, button);
  gtk_widget_class_bind_template_callback (widget_class, on_button_clicked);
}

static void
us_client_row_init (UsClientRow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

UsClientRow *
us_client_row_new (UsProxy    *proxy,
                   UsClientId  client)
{
  return g_object_new (US_TYPE_CLIENT_ROW, "proxy", proxy, "client", client, NULL);
}

UsClientId
us_client_row_get_client (UsClientRow *self)
{
  g_return_val_if_fail (US_IS_CLIENT_ROW (self), 0);

  return self->client;
}

UsClientState
us_client_row_get_state (UsClientRow *self)
{
  g_return_val_if_fail (US_IS_CLIENT_ROW (self), US_CLIENT_STATE_NOT_INSTALLED);

  return self->state;
}

gboolean
us_client_row_get_busy (UsClientRow *self)
{
  g_return_val_if_fail (US_IS_CLIENT_ROW (self), FALSE);

  return self->busy;
}
