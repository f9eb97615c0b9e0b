/* us-local-probe.c: GET /models on local model servers, with a short
 * timeout, for liveness (any HTTP answer) and for the list of models. */
#include "us-local-probe.h"
#include "us-presets.h"

#include <json-glib/json-glib.h>

/* How long an answer is trusted: a server that is up rarely goes away; one
 * that is down may be started any moment. */
#define UP_TTL_US   (10 * G_USEC_PER_SEC)
#define DOWN_TTL_US (2 * G_USEC_PER_SEC)

typedef struct {
  gint64 checked_at;   /* monotonic µs; 0: never */
  char *problem;       /* NULL: up */
  GPtrArray *waiters;  /* GTask*, non-NULL while a probe is on its way */
} Entry;

struct _UsLocalProbe
{
  GObject parent_instance;

  SoupSession *session;
  GCancellable *cancellable;
  GHashTable *entries;  /* base URL → Entry */
};

G_DEFINE_FINAL_TYPE (UsLocalProbe, us_local_probe, G_TYPE_OBJECT)

static void
entry_free (Entry *entry)
{
  g_free (entry->problem);
  g_clear_pointer (&entry->waiters, g_ptr_array_unref);
  g_free (entry);
}

gboolean
us_provider_is_local (const UsProviderConfig *provider)
{
  return provider->preset != NULL && us_preset_is_local (provider->preset);
}

/* ---- GET /models, with a timeout ---------------------------------------- */

typedef struct {
  SoupMessage *msg;
  GCancellable *cancellable;   /* ours: the timeout cancels it */
  GCancellable *outer;         /* the caller's, forwarded to ours */
  gulong outer_id;
  guint timeout_id;
  gboolean timed_out;
} Fetch;

static void
fetch_free (Fetch *fetch)
{
  g_clear_handle_id (&fetch->timeout_id, g_source_remove);
  if (fetch->outer != NULL)
    g_cancellable_disconnect (fetch->outer, fetch->outer_id);
  g_clear_object (&fetch->outer);
  g_clear_object (&fetch->msg);
  g_clear_object (&fetch->cancellable);
  g_free (fetch);
}

static gboolean
on_fetch_timeout (gpointer data)
{
  Fetch *fetch = data;

  fetch->timeout_id = 0;
  fetch->timed_out = TRUE;
  g_cancellable_cancel (fetch->cancellable);
  return G_SOURCE_REMOVE;
}

static void
on_outer_cancelled (GCancellable *outer,
                    GCancellable *ours)
{
  g_cancellable_cancel (ours);
}

static void
on_fetched (GObject      *source,
            GAsyncResult *result,
            gpointer      data)
{
  g_autoptr(GTask) task = data;
  Fetch *fetch = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) body = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);

  if (body == NULL && fetch->timed_out)
    g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "no answer within %u ms",
                             US_LOCAL_PROBE_TIMEOUT_MS);
  else if (body == NULL)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_pointer (task, g_steal_pointer (&body), (GDestroyNotify) g_bytes_unref);
}

/* The body of GET @base_url/models whatever its status (read it from the
 * task data's message), or an error when no HTTP answer came. */
static void
fetch_models (SoupSession         *session,
              const char          *base_url,
              guint                timeout_ms,
              GCancellable        *cancellable,
              GAsyncReadyCallback  callback,
              gpointer             user_data)
{
  g_autofree char *url = g_strconcat (base_url, "/models", NULL);
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  Fetch *fetch = g_new0 (Fetch, 1);

  g_task_set_task_data (task, fetch, (GDestroyNotify) fetch_free);
  fetch->msg = soup_message_new (SOUP_METHOD_GET, url);
  if (fetch->msg == NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "not a URL: %s", url);
      return;
    }
  fetch->cancellable = g_cancellable_new ();
  if (cancellable != NULL)
    {
      fetch->outer = g_object_ref (cancellable);
      fetch->outer_id = g_cancellable_connect (cancellable, G_CALLBACK (on_outer_cancelled),
                                               fetch->cancellable, NULL);
    }
  fetch->timeout_id = g_timeout_add (timeout_ms, on_fetch_timeout, fetch);
  soup_session_send_and_read_async (session, fetch->msg, G_PRIORITY_DEFAULT, fetch->cancellable,
                                    on_fetched, g_steal_pointer (&task));
}

static GBytes *
fetch_models_finish (GAsyncResult  *result,
                     guint         *status,
                     GError       **error)
{
  Fetch *fetch = g_task_get_task_data (G_TASK (result));

  *status = fetch->msg ? soup_message_get_status (fetch->msg) : 0;
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* ---- The list of models --------------------------------------------------- */

static void
on_list_fetched (GObject      *source,
                 GAsyncResult *result,
                 gpointer      data)
{
  g_autoptr(GTask) task = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GStrvBuilder) ids = g_strv_builder_new ();
  guint status = 0;
  g_autoptr(GBytes) body = fetch_models_finish (result, &status, &error);
  JsonNode *root;
  JsonArray *data_array;

  if (body == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (!SOUP_STATUS_IS_SUCCESSFUL (status))
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_FAILED, "HTTP %u from /models", status);
      return;
    }
  if (!json_parser_load_from_data (parser, g_bytes_get_data (body, NULL), (gssize) g_bytes_get_size (body), NULL)
      || (root = json_parser_get_root (parser)) == NULL || !JSON_NODE_HOLDS_OBJECT (root)
      || !json_object_has_member (json_node_get_object (root), "data")
      || !JSON_NODE_HOLDS_ARRAY (json_object_get_member (json_node_get_object (root), "data")))
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                               "/models did not answer with an OpenAI model list");
      return;
    }
  data_array = json_object_get_array_member (json_node_get_object (root), "data");
  for (guint i = 0; i < json_array_get_length (data_array); i++)
    {
      JsonNode *item = json_array_get_element (data_array, i);
      JsonNode *id = JSON_NODE_HOLDS_OBJECT (item) ? json_object_get_member (json_node_get_object (item), "id") : NULL;

      if (id != NULL && JSON_NODE_HOLDS_VALUE (id) && json_node_get_value_type (id) == G_TYPE_STRING)
        g_strv_builder_add (ids, json_node_get_string (id));
    }
  g_task_return_pointer (task, g_strv_builder_end (ids), (GDestroyNotify) g_strfreev);
}

void
us_local_list_models_async (SoupSession         *session,
                            const char          *base_url,
                            guint                timeout_ms,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);

  fetch_models (session, base_url, timeout_ms, cancellable, on_list_fetched, task);
}

GStrv
us_local_list_models_finish (GAsyncResult  *result,
                             GError       **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* ---- Liveness ------------------------------------------------------------ */

static Entry *
lookup (UsLocalProbe           *self,
        const UsProviderConfig *provider)
{
  return us_provider_is_local (provider) ? g_hash_table_lookup (self->entries, provider->base_url) : NULL;
}

static gboolean
is_fresh (const Entry *entry)
{
  gint64 ttl = entry->problem ? DOWN_TTL_US : UP_TTL_US;

  return entry->waiters == NULL && entry->checked_at != 0 && g_get_monotonic_time () - entry->checked_at <= ttl;
}

gboolean
us_local_probe_needs_check (UsLocalProbe           *self,
                            const UsProviderConfig *provider)
{
  Entry *entry;

  g_return_val_if_fail (US_IS_LOCAL_PROBE (self), FALSE);

  if (!us_provider_is_local (provider))
    return FALSE;
  entry = lookup (self, provider);
  return entry == NULL || !is_fresh (entry);
}

const char *
us_local_probe_get_problem (UsLocalProbe           *self,
                            const UsProviderConfig *provider)
{
  Entry *entry;

  g_return_val_if_fail (US_IS_LOCAL_PROBE (self), NULL);

  entry = lookup (self, provider);
  return entry != NULL && is_fresh (entry) ? entry->problem : NULL;
}

static void
on_probed (GObject      *source,
           GAsyncResult *result,
           gpointer      data)
{
  g_autoptr(GTask) probe = data;  /* source: the UsLocalProbe; data: the base URL */
  UsLocalProbe *self = g_task_get_source_object (probe);
  Entry *entry = g_hash_table_lookup (self->entries, g_task_get_task_data (probe));
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) waiters = NULL;
  g_autoptr(GBytes) body = NULL;
  guint status = 0;

  body = fetch_models_finish (result, &status, &error);
  /* Any HTTP answer means a server is there; what it lists is another matter. */
  g_free (entry->problem);
  entry->problem = body == NULL ? g_strdup (error->message) : NULL;
  entry->checked_at = g_get_monotonic_time ();
  waiters = g_steal_pointer (&entry->waiters);
  for (guint i = 0; i < waiters->len; i++)
    g_task_return_boolean (g_ptr_array_index (waiters, i), TRUE);
}

void
us_local_probe_check_async (UsLocalProbe           *self,
                            const UsProviderConfig *provider,
                            GAsyncReadyCallback     callback,
                            gpointer                user_data)
{
  GTask *task = g_task_new (self, NULL, callback, user_data);
  Entry *entry;

  g_return_if_fail (US_IS_LOCAL_PROBE (self));

  entry = g_hash_table_lookup (self->entries, provider->base_url);
  if (entry == NULL)
    {
      entry = g_new0 (Entry, 1);
      g_hash_table_insert (self->entries, g_strdup (provider->base_url), entry);
    }
  if (entry->waiters == NULL)
    {
      GTask *probe = g_task_new (self, NULL, NULL, NULL);

      g_task_set_task_data (probe, g_strdup (provider->base_url), g_free);
      entry->waiters = g_ptr_array_new_with_free_func (g_object_unref);
      fetch_models (self->session, provider->base_url, US_LOCAL_PROBE_TIMEOUT_MS, self->cancellable,
                    on_probed, probe);
    }
  g_ptr_array_add (entry->waiters, task);
}

void
us_local_probe_check_finish (UsLocalProbe *self,
                             GAsyncResult *result)
{
  g_task_propagate_boolean (G_TASK (result), NULL);
}

/* ---- GObject ------------------------------------------------------------- */

static void
us_local_probe_dispose (GObject *object)
{
  UsLocalProbe *self = US_LOCAL_PROBE (object);

  g_cancellable_cancel (self->cancellable);
  G_OBJECT_CLASS (us_local_probe_parent_class)->dispose (object);
}

static void
us_local_probe_finalize (GObject *object)
{
  UsLocalProbe *self = US_LOCAL_PROBE (object);

  g_clear_object (&self->session);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->entries, g_hash_table_unref);
  G_OBJECT_CLASS (us_local_probe_parent_class)->finalize (object);
}

static void
us_local_probe_class_init (UsLocalProbeClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = us_local_probe_dispose;
  object_class->finalize = us_local_probe_finalize;
}

static void
us_local_probe_init (UsLocalProbe *self)
{
  self->cancellable = g_cancellable_new ();
  self->entries = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) entry_free);
}

UsLocalProbe *
us_local_probe_new (SoupSession *session)
{
  UsLocalProbe *self = g_object_new (US_TYPE_LOCAL_PROBE, NULL);

  self->session = g_object_ref (session);
  return self;
}
