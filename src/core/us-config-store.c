/* us-config-store.c: the one owner of the running configuration.
 *
 * An edit copies the newest snapshot's document, changes the copy and parses
 * it again with the ordinary validator, so an edit can never publish what a
 * hand-written file would be refused for, and errors name the JSON path.
 *
 * One worker thread (a GThreadPool of one) does everything slow: saving,
 * rewiring the clients and re-reading the file after a change. Jobs run in
 * the order they were queued, so the file and the clients always end up as
 * the newest edit says.
 */
#include "us-config-store.h"

#include "us-connect.h"

struct _UsConfigStore
{
  GObject parent_instance;

  UsConfig *config;          /* the newest snapshot */
  char *path;                /* NULL: never saved, never monitored */
  char *client_url;          /* NULL: routing changes leave the clients alone */
  GMainContext *context;     /* where the worker's findings are delivered */

  GThreadPool *worker;
  GMutex lock;
  GCond drained;
  guint pending;             /* jobs queued or running, under @lock */
  guint saves_queued;        /* main thread: a check older than a save is stale */

  GFileMonitor *monitor;
  char *reported;            /* the last "file-error", not repeated */
  int check_queued;          /* atomic: one re-read in the queue is enough */
  GBytes *written;           /* worker only: what our last save wrote */
  gboolean file_broken;      /* worker only: the file holds an invalid hand edit */
};

G_DEFINE_FINAL_TYPE (UsConfigStore, us_config_store, G_TYPE_OBJECT)

enum { PROP_0, PROP_CONFIG, PROP_ROUTING, PROP_NOTIFICATIONS, N_PROPS };
static GParamSpec *properties[N_PROPS];

enum { FILE_ERROR, N_SIGNALS };
static guint signals[N_SIGNALS];

/* ---- The worker -------------------------------------------------------- */

typedef struct {
  GBytes *save;              /* the document to write, or NULL */
  gboolean rewire;
  gboolean routing;
  char *url;
  gboolean check;            /* re-read the file: edited by hand? */
  guint saves_queued;        /* the store's count when the check was queued */
} Job;

static void
job_free (Job *job)
{
  g_clear_pointer (&job->save, g_bytes_unref);
  g_free (job->url);
  g_free (job);
}

/* What the worker found, delivered on the store's main context. */
typedef struct {
  GWeakRef store;
  char *error;               /* for "file-error" */
  UsConfig *config;          /* a valid hand edit */
  guint saves_queued;
} Finding;

static void
finding_free (Finding *finding)
{
  g_weak_ref_clear (&finding->store);
  g_free (finding->error);
  g_clear_object (&finding->config);
  g_free (finding);
}

static void publish (UsConfigStore *self,
                     UsConfig      *next,
                     gboolean       save);

static gboolean
deliver_finding (gpointer data)
{
  Finding *finding = data;
  g_autoptr(UsConfigStore) self = g_weak_ref_get (&finding->store);
  g_autoptr(GBytes) running = NULL;
  g_autoptr(GBytes) found = NULL;

  if (self == NULL)
    return G_SOURCE_REMOVE;

  /* An edit saved after the re-read has overwritten what it read. */
  if (finding->saves_queued != self->saves_queued)
    return G_SOURCE_REMOVE;

  /* An editor's save can come as several events: one message per problem. */
  if (finding->error != NULL)
    {
      if (g_strcmp0 (finding->error, self->reported) != 0)
        {
          g_free (self->reported);
          self->reported = g_strdup (finding->error);
          g_signal_emit (self, signals[FILE_ERROR], 0, finding->error);
        }
      return G_SOURCE_REMOVE;
    }
  g_clear_pointer (&self->reported, g_free);

  running = us_config_to_bytes (self->config);
  found = us_config_to_bytes (finding->config);
  if (g_bytes_equal (running, found))
    return G_SOURCE_REMOVE;

  /* Clients hold URLs with the token: a hand edit that dropped it keeps
   * the running one, written back so file and proxy agree. */
  if (us_config_get_token (finding->config) == NULL && us_config_get_token (self->config) != NULL)
    {
      g_autoptr(JsonNode) doc = us_config_dup_document (finding->config);
      JsonObject *root = json_node_get_object (doc);
      g_autoptr(GError) error = NULL;
      UsConfig *next;

      if (!json_object_has_member (root, "listen"))
        json_object_set_object_member (root, "listen", json_object_new ());
      json_object_set_string_member (json_object_get_object_member (root, "listen"), "token",
                                     us_config_get_token (self->config));
      next = us_config_new_from_document (g_steal_pointer (&doc), self->path, &error);
      g_assert_no_error (error);
      publish (self, next, TRUE);
      return G_SOURCE_REMOVE;
    }

  publish (self, g_steal_pointer (&finding->config), FALSE);
  return G_SOURCE_REMOVE;
}

static void
post_finding (UsConfigStore *self,
              Finding       *finding)
{
  g_main_context_invoke_full (self->context, G_PRIORITY_DEFAULT, deliver_finding, finding,
                              (GDestroyNotify) finding_free);
}

static Finding *
finding_new (UsConfigStore *self,
             guint          saves_queued)
{
  Finding *finding = g_new0 (Finding, 1);

  g_weak_ref_init (&finding->store, self);
  finding->saves_queued = saves_queued;
  return finding;
}

static void
check_file (UsConfigStore *self,
            Job           *job)
{
  g_autofree char *data = NULL;
  gsize length;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) contents = NULL;
  Finding *finding;

  g_atomic_int_set (&self->check_queued, FALSE);
  /* A deleted file is written again by the next save; nothing to load. */
  if (!g_file_get_contents (self->path, &data, &length, NULL))
    return;

  contents = g_bytes_new_static (data, length);
  if (self->written != NULL && g_bytes_equal (contents, self->written))
    {
      self->file_broken = FALSE;
      return;   /* our own save coming back */
    }

  finding = finding_new (self, job->saves_queued);
  finding->config = us_config_new_from_file_data (data, length, self->path, &error);
  if (finding->config == NULL)
    finding->error = g_strdup (error->message);
  self->file_broken = finding->config == NULL;
  post_finding (self, finding);
}

/* While the file holds a broken hand edit, saving would throw the user's
 * work away: the edit stays in memory until the file is fixed. */
static gboolean
file_still_broken (UsConfigStore  *self,
                   GError        **error)
{
  g_autofree char *data = NULL;
  gsize length;
  g_autoptr(UsConfig) config = NULL;

  if (!self->file_broken)
    return FALSE;
  if (!g_file_get_contents (self->path, &data, &length, NULL))
    return self->file_broken = FALSE;
  config = us_config_new_from_file_data (data, length, self->path, error);
  self->file_broken = config == NULL;
  return self->file_broken;
}

static void
run_job (gpointer data,
         gpointer user_data)
{
  Job *job = data;
  UsConfigStore *self = user_data;
  g_autoptr(GError) error = NULL;

  if (job->save != NULL && file_still_broken (self, &error))
    {
      Finding *finding = finding_new (self, job->saves_queued);

      finding->error = g_strdup_printf ("Not saved, so as not to overwrite your edit: %s", error->message);
      post_finding (self, finding);
      g_clear_error (&error);
    }
  else if (job->save != NULL)
    {
      if (us_config_write_bytes (self->path, job->save, &error))
        {
          g_clear_pointer (&self->written, g_bytes_unref);
          self->written = g_bytes_ref (job->save);
        }
      else
        {
          Finding *finding = finding_new (self, job->saves_queued);

          finding->error = g_strdup_printf ("Could not save the configuration: %s", error->message);
          post_finding (self, finding);
          g_clear_error (&error);
        }
    }

  /* Only the client files change here; nothing the proxy reads. */
  if (job->rewire && !us_clients_apply_routing (job->routing, job->url, &error))
    g_warning ("Could not rewire the clients: %s", error->message);

  if (job->check)
    check_file (self, job);

  job_free (job);

  g_mutex_lock (&self->lock);
  if (--self->pending == 0)
    g_cond_broadcast (&self->drained);
  g_mutex_unlock (&self->lock);
}

static void
queue_job (UsConfigStore *self,
           Job           *job)
{
  job->saves_queued = self->saves_queued;
  g_mutex_lock (&self->lock);
  self->pending++;
  g_mutex_unlock (&self->lock);
  g_thread_pool_push (self->worker, job, NULL);
}

/* ---- Publishing -------------------------------------------------------- */

/* Makes @next (taken) the newest snapshot; queues its save and, when the
 * switch moved, the clients' rewiring. */
static void
publish (UsConfigStore *self,
         UsConfig      *next,
         gboolean       save)
{
  g_autoptr(UsConfig) old = g_steal_pointer (&self->config);
  gboolean routing = us_config_get_routing (next);
  gboolean routing_changed = routing != us_config_get_routing (old);
  gboolean notifications_changed = us_config_get_notifications (next) != us_config_get_notifications (old);
  Job *job = g_new0 (Job, 1);

  self->config = next;

  if (save && self->path != NULL)
    {
      job->save = us_config_to_bytes (next);
      self->saves_queued++;
    }
  if (routing_changed && self->client_url != NULL)
    {
      job->rewire = TRUE;
      job->routing = routing;
      job->url = routing ? g_strdup (self->client_url) : NULL;
    }
  if (job->save != NULL || job->rewire)
    queue_job (self, job);
  else
    job_free (job);

  g_object_freeze_notify (G_OBJECT (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CONFIG]);
  if (routing_changed)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ROUTING]);
  if (notifications_changed)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_NOTIFICATIONS]);
  g_object_thaw_notify (G_OBJECT (self));
}

/* Validates the edited @doc (taken) and publishes it. */
static gboolean
commit (UsConfigStore  *self,
        JsonNode       *doc,
        GError        **error)
{
  UsConfig *next = us_config_new_from_document (doc, self->path, error);

  if (next == NULL)
    return FALSE;
  publish (self, next, TRUE);
  return TRUE;
}

/* ---- The file monitor -------------------------------------------------- */

static void
on_file_changed (GFileMonitor      *monitor,
                 GFile             *file,
                 GFile             *other,
                 GFileMonitorEvent  event,
                 UsConfigStore     *self)
{
  Job *job;

  /* CHANGED comes while an editor is still writing; wait for the end. */
  if (event != G_FILE_MONITOR_EVENT_CHANGES_DONE_HINT && event != G_FILE_MONITOR_EVENT_CREATED &&
      event != G_FILE_MONITOR_EVENT_MOVED_IN && event != G_FILE_MONITOR_EVENT_RENAMED)
    return;
  if (!g_atomic_int_compare_and_exchange (&self->check_queued, FALSE, TRUE))
    return;

  job = g_new0 (Job, 1);
  job->check = TRUE;
  queue_job (self, job);
}

/* ---- Finding things in the document ------------------------------------ */

static const char *
member_string (JsonObject *object,
               const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

static JsonArray *
doc_array (JsonNode   *doc,
           const char *name)
{
  JsonObject *root = json_node_get_object (doc);

  return json_object_get_array_member (root, name);
}

/* The element of $.@name whose "id" is @id, or -1 with @error set. */
static int
find_by_id (JsonNode    *doc,
            const char  *name,
            const char  *what,
            const char  *id,
            GError     **error)
{
  JsonArray *array = doc_array (doc, name);

  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonObject *object = json_array_get_object_element (array, i);

      if (g_strcmp0 (member_string (object, "id"), id) == 0)
        return i;
    }
  g_set_error (error, US_CONFIG_ERROR, US_CONFIG_ERROR_INVALID, "$.%s: no %s \"%s\"", name, what, id);
  return -1;
}

/* $.chains[i].models of the chain @chain_id, with its path. */
static JsonArray *
find_models (JsonNode    *doc,
             const char  *chain_id,
             char       **path,
             GError     **error)
{
  int index = find_by_id (doc, "chains", "chain", chain_id, error);
  JsonObject *chain;

  if (index < 0)
    return NULL;
  chain = json_array_get_object_element (doc_array (doc, "chains"), index);
  *path = g_strdup_printf ("$.chains[%d].models", index);
  return json_object_get_array_member (chain, "models");
}

static gboolean
check_position (const char  *path,
                guint        position,
                guint        length,
                GError     **error)
{
  if (position < length)
    return TRUE;
  g_set_error (error, US_CONFIG_ERROR, US_CONFIG_ERROR_INVALID,
               "%s: no model at position %u (the chain has %u)", path, position, length);
  return FALSE;
}

/* JsonArray cannot insert: the models array rebuilt with @node moved. */
static void
replace_models (JsonNode  *doc,
                JsonArray *models,
                const char *chain_id,
                int        remove_at,
                JsonNode  *insert,
                guint      insert_at)
{
  JsonArray *chains = doc_array (doc, "chains");
  JsonArray *result = json_array_new ();
  guint n = 0;

  for (guint i = 0; i <= json_array_get_length (models); i++)
    {
      if (insert != NULL && n == insert_at)
        {
          json_array_add_element (result, json_node_ref (insert));
          n++;
        }
      if (i == json_array_get_length (models))
        break;
      if ((int) i == remove_at)
        continue;
      json_array_add_element (result, json_node_ref (json_array_get_element (models, i)));
      n++;
    }

  for (guint i = 0; i < json_array_get_length (chains); i++)
    {
      JsonObject *chain = json_array_get_object_element (chains, i);

      if (g_strcmp0 (member_string (chain, "id"), chain_id) == 0)
        {
          json_object_set_array_member (chain, "models", result);
          return;
        }
    }
  g_assert_not_reached ();
}

/* ---- Edits ------------------------------------------------------------- */

gboolean
us_config_store_move_model (UsConfigStore  *self,
                            const char     *chain_id,
                            guint           from,
                            guint           to,
                            GError        **error)
{
  g_autoptr(JsonNode) doc = NULL;
  g_autofree char *path = NULL;
  JsonArray *models;
  g_autoptr(JsonNode) moved = NULL;

  g_return_val_if_fail (US_IS_CONFIG_STORE (self), FALSE);
  g_return_val_if_fail (chain_id != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  doc = us_config_dup_document (self->config);
  models = find_models (doc, chain_id, &path, error);
  if (models == NULL || !check_position (path, from, json_array_get_length (models), error) ||
      !check_position (path, to, json_array_get_length (models), error))
    return FALSE;
  if (from == to)
    return TRUE;

  moved = json_node_ref (json_array_get_element (models, from));
  replace_models (doc, models, chain_id, from, moved, to);
  return commit (self, g_steal_pointer (&doc), error);
}

gboolean
us_config_store_add_model (UsConfigStore  *self,
                           const char     *chain_id,
                           const char     *provider_id,
                           const char     *model,
                           int             position,
                           GError        **error)
{
  g_autoptr(JsonNode) doc = NULL;
  g_autoptr(JsonNode) node = NULL;
  g_autofree char *path = NULL;
  JsonObject *object;
  JsonArray *models;
  guint length;

  g_return_val_if_fail (US_IS_CONFIG_STORE (self), FALSE);
  g_return_val_if_fail (chain_id != NULL, FALSE);
  g_return_val_if_fail (provider_id != NULL, FALSE);
  g_return_val_if_fail (model != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  doc = us_config_dup_document (self->config);
  models = find_models (doc, chain_id, &path, error);
  if (models == NULL)
    return FALSE;
  length = json_array_get_length (models);
  if (position < 0)
    position = length;
  if ((guint) position > length)
    {
      g_set_error (error, US_CONFIG_ERROR, US_CONFIG_ERROR_INVALID,
                   "%s: cannot insert at position %d (the chain has %u)", path, position, length);
      return FALSE;
    }

  object = json_object_new ();
  json_object_set_string_member (object, "provider", provider_id);
  json_object_set_string_member (object, "model", model);
  node = json_node_init_object (json_node_alloc (), object);
  json_object_unref (object);
  replace_models (doc, models, chain_id, -1, node, position);
  return commit (self, g_steal_pointer (&doc), error);
}

gboolean
us_config_store_remove_model (UsConfigStore  *self,
                              const char     *chain_id,
                              guint           index,
                              GError        **error)
{
  g_autoptr(JsonNode) doc = NULL;
  g_autofree char *path = NULL;
  JsonArray *models;

  g_return_val_if_fail (US_IS_CONFIG_STORE (self), FALSE);
  g_return_val_if_fail (chain_id != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  doc = us_config_dup_document (self->config);
  models = find_models (doc, chain_id, &path, error);
  if (models == NULL || !check_position (path, index, json_array_get_length (models), error))
    return FALSE;

  /* The last model goes too: the validator then says a chain needs one. */
  replace_models (doc, models, chain_id, index, NULL, 0);
  return commit (self, g_steal_pointer (&doc), error);
}

/* Members a provider object may never carry: a key belongs in the keyring. */
static const char * const secret_members[] = { "key", "api_key", "apiKey", "secret", "password" };

gboolean
us_config_store_set_provider (UsConfigStore  *self,
                              JsonObject     *provider,
                              GError        **error)
{
  /* The fields the validator reads; absent from @provider means unset. */
  static const char * const known[] = { "id", "kind", "base_url", "auth", "key_env", "budget", NULL };
  JsonObjectIter iter;
  const char *name;
  JsonNode *value;
  g_autoptr(JsonNode) doc = NULL;
  g_autoptr(JsonNode) given = NULL;
  g_autofree char *text = NULL;
  JsonObject *merged;
  JsonArray *providers;
  const char *id;
  int index;

  g_return_val_if_fail (US_IS_CONFIG_STORE (self), FALSE);
  g_return_val_if_fail (provider != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  /* A deep copy: the caller keeps @provider, the snapshot must not share it. */
  given = json_node_init_object (json_node_alloc (), provider);
  text = json_to_string (given, FALSE);
  g_clear_pointer (&given, json_node_unref);
  given = json_from_string (text, NULL);
  provider = json_node_get_object (given);

  doc = us_config_dup_document (self->config);
  providers = doc_array (doc, "providers");
  id = member_string (provider, "id");
  if (id == NULL)
    {
      g_set_error (error, US_CONFIG_ERROR, US_CONFIG_ERROR_INVALID,
                   "$.providers[%u].id: expected a non-empty string (got nothing)",
                   json_array_get_length (providers));
      return FALSE;
    }
  index = find_by_id (doc, "providers", "provider", id, NULL);
  if (index < 0)
    index = json_array_get_length (providers);

  for (guint i = 0; i < G_N_ELEMENTS (secret_members); i++)
    {
      if (json_object_has_member (provider, secret_members[i]))
        {
          g_set_error (error, US_CONFIG_ERROR, US_CONFIG_ERROR_INVALID,
                       "$.providers[%d].%s: a key is never stored in the config "
                       "(use `understudy keys set %s`, or key_env)", index, secret_members[i], id);
          return FALSE;
        }
    }

  merged = json_object_new ();
  json_object_iter_init (&iter, provider);
  while (json_object_iter_next (&iter, &name, &value))
    json_object_set_member (merged, name, json_node_ref (value));

  if (index < (int) json_array_get_length (providers))
    {
      /* Replacing: the user's own keys stay, Understudy's come from @provider. */
      JsonNode *old = json_array_get_element (providers, index);

      json_object_iter_init (&iter, json_node_get_object (old));
      while (json_object_iter_next (&iter, &name, &value))
        if (!g_strv_contains (known, name) && !json_object_has_member (merged, name))
          json_object_set_member (merged, name, json_node_ref (value));
      json_node_set_object (old, merged);
      json_object_unref (merged);
    }
  else
    json_array_add_object_element (providers, merged);
  return commit (self, g_steal_pointer (&doc), error);
}

gboolean
us_config_store_remove_provider (UsConfigStore  *self,
                                 const char     *id,
                                 GError        **error)
{
  g_autoptr(JsonNode) doc = NULL;
  GPtrArray *chains;
  int index;

  g_return_val_if_fail (US_IS_CONFIG_STORE (self), FALSE);
  g_return_val_if_fail (id != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  chains = us_config_get_chains (self->config);
  for (guint i = 0; i < chains->len; i++)
    {
      const UsChainConfig *chain = g_ptr_array_index (chains, i);

      for (guint j = 0; j < chain->models->len; j++)
        {
          const UsChainModel *model = g_ptr_array_index (chain->models, j);

          if (g_str_equal (model->provider, id))
            {
              g_set_error (error, US_CONFIG_ERROR, US_CONFIG_ERROR_INVALID,
                           "$.chains[%u].models[%u].provider: chain \"%s\" still uses provider \"%s\" "
                           "(remove the model from the chain first)", i, j, chain->id, id);
              return FALSE;
            }
        }
    }

  doc = us_config_dup_document (self->config);
  index = find_by_id (doc, "providers", "provider", id, error);
  if (index < 0)
    return FALSE;
  json_array_remove_element (doc_array (doc, "providers"), index);
  return commit (self, g_steal_pointer (&doc), error);
}

/* ---- Switches ---------------------------------------------------------- */

static void
set_switch (UsConfigStore *self,
            const char    *object_name,
            const char    *member,
            gboolean       value)
{
  g_autoptr(JsonNode) doc = us_config_dup_document (self->config);
  g_autoptr(GError) error = NULL;
  JsonObject *object = json_node_get_object (doc);

  if (object_name != NULL)
    {
      if (!json_object_has_member (object, object_name))
        json_object_set_object_member (object, object_name, json_object_new ());
      object = json_object_get_object_member (object, object_name);
    }
  json_object_set_boolean_member (object, member, value);
  /* The rest of the document is the valid snapshot's. */
  if (!commit (self, g_steal_pointer (&doc), &error))
    g_critical ("%s", error->message);
}

gboolean
us_config_store_get_routing (UsConfigStore *self)
{
  g_return_val_if_fail (US_IS_CONFIG_STORE (self), FALSE);

  return us_config_get_routing (self->config);
}

void
us_config_store_set_routing (UsConfigStore *self,
                             gboolean       routing)
{
  g_return_if_fail (US_IS_CONFIG_STORE (self));

  if (us_config_get_routing (self->config) != !!routing)
    set_switch (self, NULL, "routing", !!routing);
}

gboolean
us_config_store_get_notifications (UsConfigStore *self)
{
  g_return_val_if_fail (US_IS_CONFIG_STORE (self), TRUE);

  return us_config_get_notifications (self->config);
}

void
us_config_store_set_notifications (UsConfigStore *self,
                                   gboolean       enabled)
{
  g_return_if_fail (US_IS_CONFIG_STORE (self));

  if (us_config_get_notifications (self->config) != !!enabled)
    set_switch (self, "desktop", "notifications", !!enabled);
}

void
us_config_store_set_client_url (UsConfigStore *self,
                                const char    *url)
{
  g_return_if_fail (US_IS_CONFIG_STORE (self));

  g_free (self->client_url);
  self->client_url = g_strdup (url);
}

UsConfig *
us_config_store_get_config (UsConfigStore *self)
{
  g_return_val_if_fail (US_IS_CONFIG_STORE (self), NULL);

  return self->config;
}

void
us_config_store_sync (UsConfigStore *self)
{
  g_return_if_fail (US_IS_CONFIG_STORE (self));

  g_mutex_lock (&self->lock);
  while (self->pending > 0)
    g_cond_wait (&self->drained, &self->lock);
  g_mutex_unlock (&self->lock);
}

/* ---- GObject ----------------------------------------------------------- */

static void
us_config_store_dispose (GObject *object)
{
  UsConfigStore *self = US_CONFIG_STORE (object);

  if (self->monitor != NULL)
    {
      g_file_monitor_cancel (self->monitor);
      g_clear_object (&self->monitor);
    }
  /* The last edits still reach the disk. */
  if (self->worker != NULL)
    g_thread_pool_free (g_steal_pointer (&self->worker), FALSE, TRUE);

  G_OBJECT_CLASS (us_config_store_parent_class)->dispose (object);
}

static void
us_config_store_finalize (GObject *object)
{
  UsConfigStore *self = US_CONFIG_STORE (object);

  g_clear_object (&self->config);
  g_free (self->path);
  g_free (self->client_url);
  g_free (self->reported);
  g_clear_pointer (&self->written, g_bytes_unref);
  g_main_context_unref (self->context);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->drained);

  G_OBJECT_CLASS (us_config_store_parent_class)->finalize (object);
}

static void
us_config_store_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  UsConfigStore *self = US_CONFIG_STORE (object);

  switch (prop_id)
    {
    case PROP_CONFIG:
      g_value_set_object (value, self->config);
      break;
    case PROP_ROUTING:
      g_value_set_boolean (value, us_config_store_get_routing (self));
      break;
    case PROP_NOTIFICATIONS:
      g_value_set_boolean (value, us_config_store_get_notifications (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
us_config_store_set_property (GObject      *object,
                              guint         prop_id,
                              const GValue *value,
                              GParamSpec   *pspec)
{
  UsConfigStore *self = US_CONFIG_STORE (object);

  switch (prop_id)
    {
    case PROP_ROUTING:
      us_config_store_set_routing (self, g_value_get_boolean (value));
      break;
    case PROP_NOTIFICATIONS:
      us_config_store_set_notifications (self, g_value_get_boolean (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
us_config_store_class_init (UsConfigStoreClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = us_config_store_dispose;
  object_class->finalize = us_config_store_finalize;
  object_class->get_property = us_config_store_get_property;
  object_class->set_property = us_config_store_set_property;

  properties[PROP_CONFIG] =
    g_param_spec_object ("config", NULL, NULL, US_TYPE_CONFIG,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_ROUTING] =
    g_param_spec_boolean ("routing", NULL, NULL, TRUE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_NOTIFICATIONS] =
    g_param_spec_boolean ("notifications", NULL, NULL, TRUE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[FILE_ERROR] =
    g_signal_new ("file-error", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
us_config_store_init (UsConfigStore *self)
{
  g_mutex_init (&self->lock);
  g_cond_init (&self->drained);
  self->context = g_main_context_ref_thread_default ();
  /* One thread, never more: jobs run in the order they were queued. */
  self->worker = g_thread_pool_new (run_job, self, 1, FALSE, NULL);
}

UsConfigStore *
us_config_store_new (UsConfig *initial)
{
  UsConfigStore *self;
  g_autoptr(GError) error = NULL;

  g_return_val_if_fail (US_IS_CONFIG (initial), NULL);

  self = g_object_new (US_TYPE_CONFIG_STORE, NULL);
  self->config = g_object_ref (initial);
  self->path = g_strdup (us_config_get_path (initial));
  /* Not published yet, so the token can still be added in place. */
  if (us_config_ensure_token (initial) && self->path != NULL)
    {
      Job *job = g_new0 (Job, 1);

      job->save = us_config_to_bytes (initial);
      self->saves_queued++;
      queue_job (self, job);
    }

  if (self->path != NULL)
    {
      g_autoptr(GFile) file = g_file_new_for_path (self->path);

      self->monitor = g_file_monitor_file (file, G_FILE_MONITOR_NONE, NULL, &error);
      if (self->monitor == NULL)
        g_warning ("Edits to %s will need a restart: %s", self->path, error->message);
      else
        g_signal_connect_object (self->monitor, "changed", G_CALLBACK (on_file_changed), self, 0);
    }
  return self;
}
