/* us-state-file.c: a state file written off the main loop, a second after a change. */
#include "us-state-file.h"

#include "us-config.h"

#define SAVE_DELAY_MS 1000

struct _UsStateFile
{
  GObject parent_instance;

  char *path;
  UsStateSerializeFunc serialize;
  gpointer owner;           /* NULL once closed */
  guint save_timer;
  gboolean saving;          /* a write is in flight */
  gboolean dirty;           /* changes not yet handed to a write */
};

G_DEFINE_FINAL_TYPE (UsStateFile, us_state_file, G_TYPE_OBJECT)

static void save_async (UsStateFile *self);

static void
write_in_thread (GTask        *task,
                 gpointer      source,
                 gpointer      data,
                 GCancellable *cancellable)
{
  UsStateFile *self = source;
  GError *error = NULL;

  if (us_config_write_bytes (self->path, data, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
on_saved (GObject      *source,
          GAsyncResult *result,
          gpointer      data)
{
  UsStateFile *self = US_STATE_FILE (source);
  g_autoptr(GError) error = NULL;

  self->saving = FALSE;
  if (!g_task_propagate_boolean (G_TASK (result), &error))
    g_warning ("Could not save %s: %s", self->path, error->message);
  if (self->dirty && self->save_timer == 0)
    save_async (self);
}

static void
save_async (UsStateFile *self)
{
  g_autoptr(GTask) task = NULL;

  if (self->saving || self->owner == NULL)
    return;
  self->dirty = FALSE;
  self->saving = TRUE;
  /* Serialized here, written off the main loop; the task keeps us alive. */
  task = g_task_new (self, NULL, on_saved, NULL);
  g_task_set_task_data (task, self->serialize (self->owner), (GDestroyNotify) g_bytes_unref);
  g_task_run_in_thread (task, write_in_thread);
}

static gboolean
on_save_timer (gpointer data)
{
  UsStateFile *self = data;

  self->save_timer = 0;
  save_async (self);
  return G_SOURCE_REMOVE;
}

void
us_state_file_changed (UsStateFile *self)
{
  g_return_if_fail (US_IS_STATE_FILE (self));

  self->dirty = TRUE;
  if (self->path != NULL && self->save_timer == 0 && !self->saving)
    self->save_timer = g_timeout_add (SAVE_DELAY_MS, on_save_timer, self);
}

gboolean
us_state_file_flush (UsStateFile  *self,
                     GError      **error)
{
  g_autoptr(GBytes) bytes = NULL;

  g_return_val_if_fail (US_IS_STATE_FILE (self), FALSE);

  g_clear_handle_id (&self->save_timer, g_source_remove);
  if (self->path == NULL || self->owner == NULL || !self->dirty)
    return TRUE;
  self->dirty = FALSE;
  bytes = self->serialize (self->owner);
  return us_config_write_bytes (self->path, bytes, error);
}

void
us_state_file_close (UsStateFile *self)
{
  g_autoptr(GError) error = NULL;

  g_return_if_fail (US_IS_STATE_FILE (self));

  /* At shutdown, not on the request path: whatever is pending goes now. */
  if (!us_state_file_flush (self, &error))
    g_warning ("Could not save %s: %s", self->path, error->message);
  /* A write still in flight may finish later; it must not call back. */
  self->owner = NULL;
}

const char *
us_state_file_get_path (UsStateFile *self)
{
  g_return_val_if_fail (US_IS_STATE_FILE (self), NULL);
  return self->path;
}

static void
us_state_file_finalize (GObject *object)
{
  UsStateFile *self = US_STATE_FILE (object);

  g_clear_handle_id (&self->save_timer, g_source_remove);
  g_free (self->path);
  G_OBJECT_CLASS (us_state_file_parent_class)->finalize (object);
}

static void
us_state_file_class_init (UsStateFileClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = us_state_file_finalize;
}

static void
us_state_file_init (UsStateFile *self)
{
}

UsStateFile *
us_state_file_new (const char           *path,
                   UsStateSerializeFunc  serialize,
                   gpointer              owner)
{
  UsStateFile *self = g_object_new (US_TYPE_STATE_FILE, NULL);

  self->path = g_strdup (path);
  self->serialize = serialize;
  self->owner = owner;
  return self;
}
