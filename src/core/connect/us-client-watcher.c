/* us-client-watcher.c: watches each file a client reads, for "changed". */
#include "us-client-watcher.h"

#include "us-connect-private.h"

/* Editors save in several steps (write, rename, chmod); one signal per
 * step would make the app re-read the file half a dozen times. */
#define SETTLE_MS 100

struct _UsClientWatcher
{
  GObject    parent_instance;

  GPtrArray *watches;                       /* of Watch* */
  guint      pending[US_CLIENT_N_CLIENTS];  /* settle timeouts */
};

G_DEFINE_FINAL_TYPE (UsClientWatcher, us_client_watcher, G_TYPE_OBJECT)

enum {
  SIGNAL_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* One file a client reads. GLib polls every 4 s for a watched file whose
 * directory is missing (inotify-missing.c), which would wake an idle app
 * 15 times a minute: until the directory exists, the watch sits on the
 * nearest directory that does exist and moves down as the path appears. */
typedef struct {
  UsClientWatcher *self;     /* not a reference: watches die with it */
  UsClientId       id;
  GFile           *file;
  GFile           *watched;  /* @file, or the ancestor directory watched */
  GFileMonitor    *monitor;
} Watch;

static void
watch_free (Watch *watch)
{
  if (watch->monitor != NULL)
    {
      g_signal_handlers_disconnect_by_data (watch->monitor, watch);
      g_file_monitor_cancel (watch->monitor);
    }
  g_clear_object (&watch->monitor);
  g_clear_object (&watch->watched);
  g_clear_object (&watch->file);
  g_free (watch);
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
schedule_changed (UsClientWatcher *self,
                  UsClientId       id)
{
  Pending *pending;

  if (self->pending[id] != 0)
    return;
  pending = g_new0 (Pending, 1);
  pending->self = self;
  pending->id = id;
  self->pending[id] = g_timeout_add_full (G_PRIORITY_DEFAULT, SETTLE_MS, emit_changed,
                                          pending, g_free);
}

static void on_file_changed (GFileMonitor *monitor, GFile *file, GFile *other_file,
                             GFileMonitorEvent event, Watch *watch);

/* The file itself when its directory exists, else the nearest existing
 * ancestor directory. */
static GFile *
nearest_watchable (GFile *file)
{
  g_autoptr(GFile) dir = g_file_get_parent (file);

  if (dir == NULL || g_file_query_exists (dir, NULL))
    return g_object_ref (file);
  while (!g_file_query_exists (dir, NULL))
    {
      g_autoptr(GFile) up = g_file_get_parent (dir);

      if (up == NULL)
        break;
      g_set_object (&dir, up);
    }
  return g_steal_pointer (&dir);
}

/* Points @watch at what can be watched now; FALSE if that did not move. */
static gboolean
rearm (Watch *watch)
{
  g_autoptr(GFile) target = nearest_watchable (watch->file);
  g_autoptr(GError) error = NULL;
  GFileMonitor *monitor;

  if (watch->watched != NULL && g_file_equal (target, watch->watched))
    return FALSE;
  if (g_file_equal (target, watch->file))
    monitor = g_file_monitor_file (target, G_FILE_MONITOR_WATCH_MOVES, NULL, &error);
  else
    monitor = g_file_monitor_directory (target, G_FILE_MONITOR_WATCH_MOVES, NULL, &error);
  if (monitor == NULL)
    {
      g_autofree char *path = g_file_get_path (target);

      g_warning ("Cannot watch %s: %s", path, error->message);
      return FALSE;
    }
  if (watch->monitor != NULL)
    {
      g_signal_handlers_disconnect_by_data (watch->monitor, watch);
      g_file_monitor_cancel (watch->monitor);
      g_object_unref (watch->monitor);
    }
  watch->monitor = monitor;
  g_set_object (&watch->watched, target);
  g_signal_connect (monitor, "changed", G_CALLBACK (on_file_changed), watch);
  return TRUE;
}

static gboolean
on_path (Watch *watch,
         GFile *child)
{
  return child != NULL && (g_file_equal (child, watch->file) || g_file_has_prefix (watch->file, child));
}

static void
on_file_changed (GFileMonitor      *monitor,
                 GFile             *file,
                 GFile             *other_file,
                 GFileMonitorEvent  event,
                 Watch             *watch)
{
  /* CHANGED is followed by CHANGES_DONE_HINT; the rest can alter what the
   * client reads (a rename over the file is how atomic saves land). */
  if (event == G_FILE_MONITOR_EVENT_CHANGED || event == G_FILE_MONITOR_EVENT_PRE_UNMOUNT
      || event == G_FILE_MONITOR_EVENT_UNMOUNTED)
    return;
  if (!g_file_equal (watch->watched, watch->file))
    {
      /* An ancestor directory: only what lies on the way to the file. */
      if (!on_path (watch, file) && !on_path (watch, other_file))
        return;
      rearm (watch);
      /* A file written at once with its directories gave no event of its own. */
      if (!g_file_query_exists (watch->file, NULL))
        return;
    }
  else if (event == G_FILE_MONITOR_EVENT_DELETED || event == G_FILE_MONITOR_EVENT_MOVED_OUT)
    rearm (watch);  /* the directory may have gone with the file */
  schedule_changed (watch->self, watch->id);
}

static void
us_client_watcher_dispose (GObject *object)
{
  UsClientWatcher *self = US_CLIENT_WATCHER (object);

  for (guint i = 0; i < US_CLIENT_N_CLIENTS; i++)
    g_clear_handle_id (&self->pending[i], g_source_remove);
  g_clear_pointer (&self->watches, g_ptr_array_unref);

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
          Watch *watch = g_new0 (Watch, 1);

          watch->self = self;
          watch->id = (UsClientId) id;
          watch->file = g_file_new_for_path (paths[i]);
          rearm (watch);
          g_ptr_array_add (self->watches, watch);
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
  self->watches = g_ptr_array_new_with_free_func ((GDestroyNotify) watch_free);
}

UsClientWatcher *
us_client_watcher_new (void)
{
  return g_object_new (US_TYPE_CLIENT_WATCHER, NULL);
}
