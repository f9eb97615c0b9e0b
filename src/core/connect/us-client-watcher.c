/* us-client-watcher.c: one GFileMonitor per file a client reads. */
#include "us-client-watcher.h"

#include "us-connect-private.h"

/* Editors save in several steps (write, rename, chmod); one signal per
 * step would make the app re-read the file half a dozen times. */
#define SETTLE_MS 100

struct _UsClientWatcher
{
  GObject    parent_instance;

  GPtrArray *monitors;                      /* of GFileMonitor* */
  guint      pending[US_CLIENT_N_CLIENTS];  /* settle timeouts */
};

G_DEFINE_FINAL_TYPE (UsClientWatcher, us_client_watcher, G_TYPE_OBJECT)

enum {
  SIGNAL_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static GQuark
client_id_quark (void)
{
  return g_quark_from_static_string ("us-client-watcher-client-id");
}

typedef struct {
  UsClientWatcher *self;  /* not a reference: the timeout dies with it */
  UsClientId       id;
} Pending;

static gboolean
emit_changed (gpointer data)
{
  Pending *pending = data;

  pending->self->pending[pending->id] = 0;
  g_signal_emit (pending->self, signals[SIGNAL_CHANGED], 0, pending->id);
  return G_SOURCE_REMOVE;
}

static void
on_file_changed (GFileMonitor      *monitor,
                 GFile             *file,
                 GFile             *other_file,
                 GFileMonitorEvent  event,
                 UsClientWatcher   *self)
{
  UsClientId id = GPOINTER_TO_UINT (g_object_get_qdata (G_OBJECT (monitor), client_id_quark ()));
  Pending *pending;

  /* CHANGED is followed by CHANGES_DONE_HINT; the rest can alter what the
   * client reads (a rename over the file is how atomic saves land). */
  if (event == G_FILE_MONITOR_EVENT_CHANGED || event == G_FILE_MONITOR_EVENT_PRE_UNMOUNT
      || event == G_FILE_MONITOR_EVENT_UNMOUNTED)
    return;
  if (self->pending[id] != 0)
    return;

  pending = g_new0 (Pending, 1);
  pending->self = self;
  pending->id = id;
  self->pending[id] = g_timeout_add_full (G_PRIORITY_DEFAULT, SETTLE_MS, emit_changed,
                                          pending, g_free);
}

static void
us_client_watcher_dispose (GObject *object)
{
  UsClientWatcher *self = US_CLIENT_WATCHER (object);

  for (guint i = 0; i < US_CLIENT_N_CLIENTS; i++)
    g_clear_handle_id (&self->pending[i], g_source_remove);
  if (self->monitors != NULL)
    for (guint i = 0; i < self->monitors->len; i++)
      g_file_monitor_cancel (g_ptr_array_index (self->monitors, i));
  g_clear_pointer (&self->monitors, g_ptr_array_unref);

  G_OBJECT_CLASS (us_client_watcher_parent_class)->dispose (object);
}

static void
us_client_watcher_constructed (GObject *object)
{
  UsClientWatcher *self = US_CLIENT_WATCHER (object);

  G_OBJECT_CLASS (us_client_watcher_parent_class)->constructed (object);

  for (guint id = 0; id < US_CLIENT_N_CLIENTS; id++)
    {
      const UsClientConnector *connector = us_client_connector_get ((UsClientId) id);
      g_auto(GStrv) paths = connector->watched_paths ();

      for (guint i = 0; paths[i] != NULL; i++)
        {
          g_autoptr(GFile) file = g_file_new_for_path (paths[i]);
          g_autoptr(GError) error = NULL;
          GFileMonitor *monitor = g_file_monitor_file (file, G_FILE_MONITOR_WATCH_MOVES, NULL, &error);

          if (monitor == NULL)
            {
              g_warning ("Cannot watch %s: %s", paths[i], error->message);
              continue;
            }
          g_object_set_qdata (G_OBJECT (monitor), client_id_quark (), GUINT_TO_POINTER (id));
          g_signal_connect_object (monitor, "changed", G_CALLBACK (on_file_changed), self, 0);
          g_ptr_array_add (self->monitors, monitor);
        }
    }
}

static void
us_client_watcher_class_init (UsClientWatcherClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = us_client_watcher_constructed;
  object_class->dispose = us_client_watcher_dispose;

  /**
   * UsClientWatcher::changed:
   * @id: the client whose file changed
   *
   * Read the client's state again (us_client_get_state()).
   */
  signals[SIGNAL_CHANGED] =
    g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, US_TYPE_CLIENT_ID);
}

static void
us_client_watcher_init (UsClientWatcher *self)
{
  self->monitors = g_ptr_array_new_with_free_func (g_object_unref);
}

UsClientWatcher *
us_client_watcher_new (void)
{
  return g_object_new (US_TYPE_CLIENT_WATCHER, NULL);
}
