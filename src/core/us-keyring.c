/* us-keyring.c: provider keys in the system keyring (libsecret), cached.
 *
 * Every operation first asks the Secret Service whether its default
 * collection exists and is unlocked, so that a locked keyring becomes a
 * message for the user instead of an unlock prompt popping up from a
 * background load (or hanging where no prompter can be shown).
 */
#include "us-keyring.h"

#include <libsecret/secret.h>

struct _UsKeyring
{
  GObject parent_instance;

  UsKeyringState state;
  char *message;
  GHashTable *keys;          /* provider id → GPtrArray of its keys in pool order, wiped when freed */
  gboolean secret_service;   /* FALSE inside Flatpak: libsecret's file backend */
};

G_DEFINE_FINAL_TYPE (UsKeyring, us_keyring, G_TYPE_OBJECT)

enum { PROP_0, PROP_STATE, PROP_MESSAGE, N_PROPS };
static GParamSpec *properties[N_PROPS];

enum { CHANGED, N_SIGNALS };
static guint signals[N_SIGNALS];

static const SecretSchema provider_key_schema = {
  "io.github.understudy.Understudy.ProviderKey", SECRET_SCHEMA_NONE,
  {
    { "provider", SECRET_SCHEMA_ATTRIBUTE_STRING },
    /* The key's place in the provider's pool, from 1. An entry stored
     * before pools has none and is key 1. */
    { "index", SECRET_SCHEMA_ATTRIBUTE_INTEGER },
    { NULL, 0 },
  }
};

/* Registered here rather than in the header: the agreed interface names
 * only the C enum; the property still carries its type for bindings. */
static GType
us_keyring_state_get_type (void)
{
  static gsize type = 0;
  static const GEnumValue values[] = {
    { US_KEYRING_UNKNOWN, "US_KEYRING_UNKNOWN", "unknown" },
    { US_KEYRING_AVAILABLE, "US_KEYRING_AVAILABLE", "available" },
    { US_KEYRING_LOCKED, "US_KEYRING_LOCKED", "locked" },
    { US_KEYRING_MISSING, "US_KEYRING_MISSING", "missing" },
    { 0, NULL, NULL },
  };

  if (g_once_init_enter (&type))
    g_once_init_leave (&type, g_enum_register_static (g_intern_static_string ("UsKeyringState"), values));
  return type;
}

#define ENV_HINT "or set the provider's key_env variable"

static void
free_key (gpointer key)
{
  secret_password_wipe (key);
  g_free (key);
}

static void
set_state (UsKeyring      *self,
           UsKeyringState  state,
           const char     *message)
{
  gboolean state_changed = self->state != state;
  gboolean message_changed = g_strcmp0 (self->message, message) != 0;

  self->state = state;
  if (message_changed)
    {
      g_free (self->message);
      self->message = g_strdup (message);
    }
  if (state_changed)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
  if (message_changed)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MESSAGE]);
}

/* Sets the state for a failed keyring call and says what to do. */
static GError *
keyring_error (UsKeyring *self,
               GError    *error)
{
  g_autofree char *message = NULL;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return g_error_copy (error);
  if (g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_SERVICE_UNKNOWN) ||
      g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_NAME_HAS_NO_OWNER))
    message = g_strdup ("No keyring (Secret Service) is running on the session bus: start gnome-keyring "
                        "or log in to a desktop session, " ENV_HINT);
  else
    message = g_strdup_printf ("The keyring cannot be reached (%s): start gnome-keyring "
                               "or log in to a desktop session, " ENV_HINT, error->message);
  set_state (self, US_KEYRING_MISSING, message);
  return g_error_new_literal (G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED, message);
}

/* ---- Whether the keyring can be used ----------------------------------- */

/* Completes @task with TRUE when the default collection is there and
 * unlocked, else with an error carrying the state's message. */
static void
on_collection (GObject      *source,
               GAsyncResult *result,
               gpointer      data)
{
  g_autoptr(GTask) task = data;
  UsKeyring *self = g_task_get_source_object (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(SecretCollection) collection = secret_collection_for_alias_finish (result, &error);

  if (error != NULL)
    {
      g_task_return_error (task, keyring_error (self, error));
      return;
    }
  if (collection == NULL)
    {
      const char *message = "The keyring has no default collection: create one in Passwords and Keys "
                            "(seahorse), " ENV_HINT;

      set_state (self, US_KEYRING_LOCKED, message);
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "%s", message);
      return;
    }
  if (secret_collection_get_locked (collection))
    {
      const char *message = "The keyring is locked: unlock it in Passwords and Keys (seahorse), " ENV_HINT;

      set_state (self, US_KEYRING_LOCKED, message);
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED, "%s", message);
      return;
    }
  set_state (self, US_KEYRING_AVAILABLE, NULL);
  g_task_return_boolean (task, TRUE);
}

static void
on_service (GObject      *source,
            GAsyncResult *result,
            gpointer      data)
{
  g_autoptr(GTask) task = data;
  UsKeyring *self = g_task_get_source_object (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(SecretService) service = secret_service_get_finish (result, &error);
  GCancellable *cancellable;

  if (service == NULL)
    {
      g_task_return_error (task, keyring_error (self, error));
      return;
    }
  cancellable = g_task_get_cancellable (task);
  secret_collection_for_alias (service, SECRET_COLLECTION_DEFAULT, SECRET_COLLECTION_NONE,
                               cancellable, on_collection, g_steal_pointer (&task));
}

static void
check_async (UsKeyring           *self,
             GCancellable        *cancellable,
             GAsyncReadyCallback  callback,
             gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);

  if (!self->secret_service)
    {
      set_state (self, US_KEYRING_AVAILABLE, NULL);
      g_task_return_boolean (task, TRUE);
      return;
    }
  secret_service_get (SECRET_SERVICE_NONE, cancellable, on_service, g_steal_pointer (&task));
}

static gboolean
check_finish (UsKeyring     *self,
              GAsyncResult  *result,
              GError       **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* ---- Reading a provider's pool ----------------------------------------- */

/* One keyring item of a provider's pool. */
typedef struct {
  gint64 index;      /* its "index" attribute; 0 for an entry from before pools */
  guint64 created;
  char *secret;
} PoolItem;

static void
pool_item_free (gpointer data)
{
  PoolItem *item = data;

  if (item->secret != NULL)
    free_key (item->secret);
  g_free (item);
}

/* Pool order: by index (an entry without one is key 1), then by age. */
static int
pool_item_compare (gconstpointer a,
                   gconstpointer b)
{
  const PoolItem *x = *(const PoolItem **) a, *y = *(const PoolItem **) b;
  gint64 xi = MAX (x->index, 1), yi = MAX (y->index, 1);

  if (xi != yi)
    return xi < yi ? -1 : 1;
  if (x->index != y->index)
    return x->index < y->index ? -1 : 1;
  return x->created < y->created ? -1 : x->created > y->created;
}

typedef struct {
  GPtrArray *items;  /* PoolItem */
  guint pending;
  GError *error;
} SearchData;

static void
search_data_free (SearchData *data)
{
  g_ptr_array_unref (data->items);
  g_clear_error (&data->error);
  g_free (data);
}

static void
search_return (GTask *task)
{
  SearchData *data = g_task_get_task_data (task);

  if (data->error != NULL)
    {
      g_task_return_error (task, g_steal_pointer (&data->error));
      return;
    }
  g_ptr_array_sort (data->items, pool_item_compare);
  g_task_return_pointer (task, g_ptr_array_ref (data->items), (GDestroyNotify) g_ptr_array_unref);
}

static void
on_secret (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  SearchData *data = g_task_get_task_data (task);
  SecretRetrievable *retrievable = SECRET_RETRIEVABLE (source);
  g_autoptr(GError) error = NULL;
  g_autoptr(SecretValue) value = secret_retrievable_retrieve_secret_finish (retrievable, result, &error);
  const char *text = value ? secret_value_get_text (value) : NULL;

  if (error != NULL && data->error == NULL)
    data->error = g_steal_pointer (&error);
  else if (text != NULL && *text != '\0')
    {
      g_autoptr(GHashTable) attributes = secret_retrievable_get_attributes (retrievable);
      const char *index = g_hash_table_lookup (attributes, "index");
      PoolItem *item = g_new0 (PoolItem, 1);

      item->index = index ? g_ascii_strtoll (index, NULL, 10) : 0;
      item->created = secret_retrievable_get_created (retrievable);
      item->secret = g_strdup (text);
      g_ptr_array_add (data->items, item);
    }
  if (--data->pending == 0)
    search_return (task);
}

static void
on_searched (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  SearchData *data = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  GList *found = secret_password_search_finish (result, &error);

  if (error != NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (found == NULL)
    {
      search_return (task);
      return;
    }
  data->pending = g_list_length (found);
  for (GList *l = found; l != NULL; l = l->next)
    secret_retrievable_retrieve_secret (l->data, g_task_get_cancellable (task), on_secret, g_object_ref (task));
  g_list_free_full (found, g_object_unref);
}

/* Every key of @provider_id, in pool order (GPtrArray of PoolItem). */
static void
search_pool_async (UsKeyring           *self,
                   const char          *provider_id,
                   GCancellable        *cancellable,
                   GAsyncReadyCallback  callback,
                   gpointer             user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  SearchData *data = g_new0 (SearchData, 1);

  data->items = g_ptr_array_new_with_free_func (pool_item_free);
  g_task_set_task_data (task, data, (GDestroyNotify) search_data_free);
  secret_password_search (&provider_key_schema, SECRET_SEARCH_ALL, cancellable, on_searched, task,
                          "provider", provider_id, NULL);
}

static GPtrArray *
search_pool_finish (UsKeyring     *self,
                    GAsyncResult  *result,
                    GError       **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* ---- The cache --------------------------------------------------------- */

static gboolean
same_keys (GPtrArray *a,
           GPtrArray *b)
{
  guint na = a ? a->len : 0, nb = b ? b->len : 0;

  if (na != nb)
    return FALSE;
  for (guint i = 0; i < na; i++)
    if (g_strcmp0 (g_ptr_array_index (a, i), g_ptr_array_index (b, i)) != 0)
      return FALSE;
  return TRUE;
}

/* Takes @keys (NULL or empty: the provider has none). */
static void
cache_put (UsKeyring  *self,
           const char *provider_id,
           GPtrArray  *keys)
{
  g_autoptr(GPtrArray) owned = keys;

  if (owned != NULL && owned->len == 0)
    g_clear_pointer (&owned, g_ptr_array_unref);
  if (same_keys (g_hash_table_lookup (self->keys, provider_id), owned))
    return;
  if (owned != NULL)
    g_hash_table_replace (self->keys, g_strdup (provider_id), g_steal_pointer (&owned));
  else
    g_hash_table_remove (self->keys, provider_id);
  g_signal_emit (self, signals[CHANGED], 0, provider_id);
}

static GPtrArray *
new_key_array (void)
{
  return g_ptr_array_new_with_free_func (free_key);
}

/* The secrets of @items, without the one at @skip (-1: none). */
static GPtrArray *
keys_of (GPtrArray *items,
         gint       skip)
{
  GPtrArray *keys = new_key_array ();

  for (guint i = 0; items != NULL && i < items->len; i++)
    if ((gint) i != skip)
      g_ptr_array_add (keys, g_strdup (((PoolItem *) g_ptr_array_index (items, i))->secret));
  return keys;
}

/* ---- Loading ----------------------------------------------------------- */

typedef struct {
  GStrv ids;
  guint pending;
  GError *error;     /* the first lookup that failed */
} LoadData;

static void
load_data_free (LoadData *data)
{
  g_strfreev (data->ids);
  g_clear_error (&data->error);
  g_free (data);
}

typedef struct {
  GTask *task;
  char *id;
} LookupData;

static void
on_pool_loaded (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  LookupData *lookup = user_data;
  g_autoptr(GTask) task = lookup->task;
  g_autofree char *id = lookup->id;
  UsKeyring *self = g_task_get_source_object (task);
  LoadData *data = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) items = search_pool_finish (self, result, &error);

  g_free (lookup);
  if (error != NULL)
    {
      if (data->error == NULL)
        data->error = keyring_error (self, error);
    }
  else
    cache_put (self, id, keys_of (items, -1));

  if (--data->pending > 0)
    return;
  if (data->error != NULL)
    g_task_return_error (task, g_steal_pointer (&data->error));
  else
    g_task_return_boolean (task, TRUE);
}

static void
on_load_checked (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  UsKeyring *self = US_KEYRING (source);
  LoadData *data = g_task_get_task_data (task);
  GError *error = NULL;

  if (!check_finish (self, result, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  if (data->ids[0] == NULL)
    {
      g_task_return_boolean (task, TRUE);
      return;
    }
  /* All at once: one D-Bus round trip of waiting, not one per provider. */
  data->pending = g_strv_length (data->ids);
  for (guint i = 0; data->ids[i]; i++)
    {
      LookupData *lookup = g_new0 (LookupData, 1);

      lookup->task = g_object_ref (task);
      lookup->id = g_strdup (data->ids[i]);
      search_pool_async (self, data->ids[i], g_task_get_cancellable (task), on_pool_loaded, lookup);
    }
}

void
us_keyring_load_async (UsKeyring           *self,
                       const char * const  *provider_ids,
                       GCancellable        *cancellable,
                       GAsyncReadyCallback  callback,
                       gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  LoadData *data = g_new0 (LoadData, 1);

  g_return_if_fail (US_IS_KEYRING (self));
  g_return_if_fail (provider_ids != NULL);

  g_task_set_source_tag (task, us_keyring_load_async);
  data->ids = g_strdupv ((char **) provider_ids);
  g_task_set_task_data (task, data, (GDestroyNotify) load_data_free);
  check_async (self, cancellable, on_load_checked, g_steal_pointer (&task));
}

gboolean
us_keyring_load_finish (UsKeyring     *self,
                        GAsyncResult  *result,
                        GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* ---- Storing and deleting ---------------------------------------------- */

typedef enum {
  CHANGE_SET,         /* the pool becomes this one key */
  CHANGE_ADD,         /* the key joins the pool, last */
  CHANGE_DELETE_ALL,
  CHANGE_DELETE_NTH,
} ChangeOp;

typedef struct {
  ChangeOp op;
  char *id;
  char *key;          /* SET, ADD */
  guint position;     /* DELETE_NTH: which key; ADD: the position it got */
  GPtrArray *items;   /* the pool as it was (ADD, DELETE_NTH) */
  GPtrArray *restore; /* PoolItems to store again, from the last */
} ChangeData;

static void
change_data_free (ChangeData *data)
{
  g_free (data->id);
  if (data->key != NULL)
    free_key (data->key);
  g_clear_pointer (&data->items, g_ptr_array_unref);
  g_clear_pointer (&data->restore, g_ptr_array_unref);
  g_free (data);
}

static void store_item (GTask *task, gint64 index, const char *secret);

/* The keyring has changed as asked: the cache follows. Takes @task. */
static void
change_done (GTask *task)
{
  UsKeyring *self = g_task_get_source_object (task);
  ChangeData *data = g_task_get_task_data (task);
  GPtrArray *keys = NULL;

  switch (data->op)
    {
    case CHANGE_SET:
      keys = new_key_array ();
      g_ptr_array_add (keys, g_strdup (data->key));
      break;
    case CHANGE_ADD:
      keys = keys_of (data->items, -1);
      g_ptr_array_add (keys, g_strdup (data->key));
      break;
    case CHANGE_DELETE_NTH:
      keys = keys_of (data->items, (gint) data->position - 1);
      break;
    case CHANGE_DELETE_ALL:
    default:
      break;
    }
  cache_put (self, data->id, keys);
  g_task_return_boolean (task, TRUE);
  g_object_unref (task);
}

/* Stores the next item of data->restore, or ends the change. Takes @task. */
static void
restore_next (GTask *task)
{
  ChangeData *data = g_task_get_task_data (task);
  PoolItem *item;

  if (data->restore == NULL || data->restore->len == 0)
    {
      change_done (task);
      return;
    }
  item = g_ptr_array_index (data->restore, data->restore->len - 1);
  store_item (task, item->index, item->secret);
}

static void
on_stored (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  UsKeyring *self = g_task_get_source_object (task);
  ChangeData *data = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;

  if (!secret_password_store_finish (result, &error))
    {
      g_task_return_error (task, keyring_error (self, error));
      return;
    }
  if (data->restore != NULL && data->restore->len > 0)
    g_ptr_array_remove_index (data->restore, data->restore->len - 1);
  restore_next (g_steal_pointer (&task));
}

static void
store_item (GTask      *task,
            gint64      index,
            const char *secret)
{
  ChangeData *data = g_task_get_task_data (task);
  /* What Passwords and Keys shows for the item. */
  g_autofree char *label = index <= 1 ? g_strdup_printf ("Understudy: API key for %s", data->id)
                                      : g_strdup_printf ("Understudy: API key %" G_GINT64_FORMAT " for %s",
                                                         index, data->id);

  secret_password_store (&provider_key_schema, SECRET_COLLECTION_DEFAULT, label, secret,
                         g_task_get_cancellable (task), on_stored, task,
                         "provider", data->id, "index", (int) MAX (index, 1), NULL);
}

static void
on_cleared (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  UsKeyring *self = g_task_get_source_object (task);
  ChangeData *data = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;

  /* FALSE without an error: there was nothing to delete. */
  if (!secret_password_clear_finish (result, &error) && error != NULL)
    {
      g_task_return_error (task, keyring_error (self, error));
      return;
    }
  if (data->op == CHANGE_SET)
    store_item (g_steal_pointer (&task), 1, data->key);
  else
    restore_next (g_steal_pointer (&task));
}

static void
clear_all (GTask *task)
{
  ChangeData *data = g_task_get_task_data (task);

  secret_password_clear (&provider_key_schema, g_task_get_cancellable (task), on_cleared, task,
                         "provider", data->id, NULL);
}

static void
on_change_searched (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  UsKeyring *self = g_task_get_source_object (task);
  ChangeData *data = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  PoolItem *target;

  data->items = search_pool_finish (self, result, &error);
  if (data->items == NULL)
    {
      g_task_return_error (task, keyring_error (self, error));
      return;
    }
  if (data->op == CHANGE_ADD)
    {
      gint64 last = 0;

      for (guint i = 0; i < data->items->len; i++)
        last = MAX (last, MAX (((PoolItem *) g_ptr_array_index (data->items, i))->index, 1));
      data->position = data->items->len + 1;
      store_item (g_steal_pointer (&task), last + 1, data->key);
      return;
    }

  if (data->position > data->items->len)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                               data->items->len == 1 ? "%s has %u key in the keyring, not %u"
                                                     : "%s has %u keys in the keyring, not %u",
                               data->id, data->items->len, data->position);
      return;
    }
  target = g_ptr_array_index (data->items, data->position - 1);
  if (target->index > 0)
    {
      GCancellable *cancellable = g_task_get_cancellable (task);

      secret_password_clear (&provider_key_schema, cancellable, on_cleared, g_steal_pointer (&task),
                             "provider", data->id, "index", (int) target->index, NULL);
      return;
    }
  /* An entry from before pools has no index to single it out: the whole
   * pool goes, and the other keys are stored again as they were. */
  data->restore = g_ptr_array_new ();
  for (guint i = data->items->len; i-- > 0;)
    if (i != data->position - 1)
      g_ptr_array_add (data->restore, g_ptr_array_index (data->items, i));
  clear_all (g_steal_pointer (&task));
}

static void
on_change_checked (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  UsKeyring *self = US_KEYRING (source);
  ChangeData *data = g_task_get_task_data (task);
  GCancellable *cancellable;
  GError *error = NULL;

  if (!check_finish (self, result, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  switch (data->op)
    {
    case CHANGE_SET:
    case CHANGE_DELETE_ALL:
      clear_all (g_steal_pointer (&task));
      break;
    case CHANGE_ADD:
    case CHANGE_DELETE_NTH:
    default:
      /* The cancellable first: arguments are evaluated in no set order. */
      cancellable = g_task_get_cancellable (task);
      search_pool_async (self, data->id, cancellable, on_change_searched, g_steal_pointer (&task));
      break;
    }
}

static void
change_async (UsKeyring           *self,
              gpointer             source_tag,
              ChangeOp             op,
              const char          *provider_id,
              const char          *key,
              guint                position,
              GCancellable        *cancellable,
              GAsyncReadyCallback  callback,
              gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  ChangeData *data = g_new0 (ChangeData, 1);

  g_task_set_source_tag (task, source_tag);
  data->op = op;
  data->id = g_strdup (provider_id);
  data->key = g_strdup (key);
  data->position = position;
  g_task_set_task_data (task, data, (GDestroyNotify) change_data_free);
  check_async (self, cancellable, on_change_checked, g_steal_pointer (&task));
}

void
us_keyring_store_async (UsKeyring           *self,
                        const char          *provider_id,
                        const char          *key,
                        GCancellable        *cancellable,
                        GAsyncReadyCallback  callback,
                        gpointer             user_data)
{
  g_return_if_fail (US_IS_KEYRING (self));
  g_return_if_fail (provider_id != NULL);
  g_return_if_fail (key != NULL && *key != '\0');

  change_async (self, us_keyring_store_async, CHANGE_SET, provider_id, key, 0, cancellable, callback, user_data);
}

gboolean
us_keyring_store_finish (UsKeyring     *self,
                         GAsyncResult  *result,
                         GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

void
us_keyring_add_async (UsKeyring           *self,
                      const char          *provider_id,
                      const char          *key,
                      GCancellable        *cancellable,
                      GAsyncReadyCallback  callback,
                      gpointer             user_data)
{
  g_return_if_fail (US_IS_KEYRING (self));
  g_return_if_fail (provider_id != NULL);
  g_return_if_fail (key != NULL && *key != '\0');

  change_async (self, us_keyring_add_async, CHANGE_ADD, provider_id, key, 0, cancellable, callback, user_data);
}

gboolean
us_keyring_add_finish (UsKeyring     *self,
                       GAsyncResult  *result,
                       guint         *position,
                       GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  if (!g_task_propagate_boolean (G_TASK (result), error))
    return FALSE;
  if (position != NULL)
    *position = ((ChangeData *) g_task_get_task_data (G_TASK (result)))->position;
  return TRUE;
}

void
us_keyring_delete_async (UsKeyring           *self,
                         const char          *provider_id,
                         GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  g_return_if_fail (US_IS_KEYRING (self));
  g_return_if_fail (provider_id != NULL);

  change_async (self, us_keyring_delete_async, CHANGE_DELETE_ALL, provider_id, NULL, 0, cancellable, callback,
                user_data);
}

gboolean
us_keyring_delete_finish (UsKeyring     *self,
                          GAsyncResult  *result,
                          GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

void
us_keyring_delete_nth_async (UsKeyring           *self,
                             const char          *provider_id,
                             guint                position,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  g_return_if_fail (US_IS_KEYRING (self));
  g_return_if_fail (provider_id != NULL);
  g_return_if_fail (position >= 1);

  change_async (self, us_keyring_delete_nth_async, CHANGE_DELETE_NTH, provider_id, NULL, position, cancellable,
                callback, user_data);
}

gboolean
us_keyring_delete_nth_finish (UsKeyring     *self,
                              GAsyncResult  *result,
                              GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* ---- Reading the cache ------------------------------------------------- */

const char *
us_keyring_lookup_cached (UsKeyring  *self,
                          const char *provider_id)
{
  return us_keyring_lookup_cached_nth (self, provider_id, 1);
}

const char *
us_keyring_lookup_cached_nth (UsKeyring  *self,
                              const char *provider_id,
                              guint       position)
{
  GPtrArray *keys;

  g_return_val_if_fail (US_IS_KEYRING (self), NULL);
  keys = g_hash_table_lookup (self->keys, provider_id);
  if (keys == NULL || position < 1 || position > keys->len)
    return NULL;
  return g_ptr_array_index (keys, position - 1);
}

guint
us_keyring_get_n_keys (UsKeyring  *self,
                       const char *provider_id)
{
  GPtrArray *keys;

  g_return_val_if_fail (US_IS_KEYRING (self), 0);
  keys = g_hash_table_lookup (self->keys, provider_id);
  return keys ? keys->len : 0;
}

gboolean
us_keyring_has_key (UsKeyring  *self,
                    const char *provider_id)
{
  g_return_val_if_fail (US_IS_KEYRING (self), FALSE);
  return g_hash_table_contains (self->keys, provider_id);
}

void
us_keyring_invalidate (UsKeyring  *self,
                       const char *provider_id)
{
  g_return_if_fail (US_IS_KEYRING (self));
  if (g_hash_table_remove (self->keys, provider_id))
    g_signal_emit (self, signals[CHANGED], 0, provider_id);
}

UsKeyringState
us_keyring_get_state (UsKeyring *self)
{
  g_return_val_if_fail (US_IS_KEYRING (self), US_KEYRING_UNKNOWN);
  return self->state;
}

const char *
us_keyring_get_message (UsKeyring *self)
{
  g_return_val_if_fail (US_IS_KEYRING (self), NULL);
  return self->message;
}

/* ---- GObject ----------------------------------------------------------- */

static void
us_keyring_finalize (GObject *object)
{
  UsKeyring *self = US_KEYRING (object);

  g_clear_pointer (&self->keys, g_hash_table_unref);
  g_clear_pointer (&self->message, g_free);

  G_OBJECT_CLASS (us_keyring_parent_class)->finalize (object);
}

static void
us_keyring_get_property (GObject    *object,
                         guint       prop_id,
                         GValue     *value,
                         GParamSpec *pspec)
{
  UsKeyring *self = US_KEYRING (object);

  switch (prop_id)
    {
    case PROP_STATE:
      g_value_set_enum (value, self->state);
      break;
    case PROP_MESSAGE:
      g_value_set_string (value, self->message);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
us_keyring_class_init (UsKeyringClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = us_keyring_finalize;
  object_class->get_property = us_keyring_get_property;

  properties[PROP_STATE] =
    g_param_spec_enum ("state", NULL, NULL, us_keyring_state_get_type (), US_KEYRING_UNKNOWN,
                       G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_MESSAGE] =
    g_param_spec_string ("message", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[CHANGED] =
    g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
us_keyring_init (UsKeyring *self)
{
  self->keys = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_ptr_array_unref);
  /* libsecret itself switches to its file backend (Secret portal) inside
   * Flatpak, where there is no collection to ask about. */
  self->secret_service = !g_file_test ("/.flatpak-info", G_FILE_TEST_EXISTS) &&
                         g_strcmp0 (g_getenv ("SECRET_BACKEND"), "file") != 0;
}

UsKeyring *
us_keyring_new (void)
{
  return g_object_new (US_TYPE_KEYRING, NULL);
}
