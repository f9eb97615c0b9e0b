/* us-connect-state.c: reading and writing connections.json. */
#include "us-connect-state.h"

#include <errno.h>
#include <fcntl.h>
#include <json-glib/json-glib.h>
#include <sys/file.h>
#include <unistd.h>

#include "us-client-file.h"

#define STATE_VERSION 1

UsConnectEdit *
us_connect_edit_new (const char * const *path,
                     const char         *previous,
                     const char         *written,
                     guint               created_parents)
{
  UsConnectEdit *edit = g_new0 (UsConnectEdit, 1);

  edit->path = g_strdupv ((char **) path);
  edit->previous = g_strdup (previous);
  edit->written = g_strdup (written);
  edit->created_parents = created_parents;
  return edit;
}

void
us_connect_edit_free (UsConnectEdit *edit)
{
  if (edit == NULL)
    return;
  g_strfreev (edit->path);
  g_free (edit->previous);
  g_free (edit->written);
  g_free (edit);
}

UsConnection *
us_connection_new (void)
{
  UsConnection *connection = g_new0 (UsConnection, 1);

  connection->edits = g_ptr_array_new_with_free_func ((GDestroyNotify) us_connect_edit_free);
  return connection;
}

void
us_connection_free (UsConnection *connection)
{
  if (connection == NULL)
    return;
  g_free (connection->path);
  g_free (connection->backup_path);
  g_free (connection->original_sha256);
  g_free (connection->written_sha256);
  g_free (connection->proxy_url);
  g_free (connection->connected_at);
  g_free (connection->statusline);
  g_ptr_array_unref (connection->edits);
  g_free (connection);
}

void
us_connect_state_free (UsConnectState *state)
{
  if (state == NULL)
    return;
  for (guint i = 0; i < US_CLIENT_N_CLIENTS; i++)
    us_connection_free (state->clients[i]);
  g_free (state);
}

/* ---- reading ----------------------------------------------------------- */

static const char *
get_string (JsonObject *object, const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  return node != NULL && JSON_NODE_HOLDS_VALUE (node)
         && json_node_get_value_type (node) == G_TYPE_STRING
         ? json_node_get_string (node) : NULL;
}

static gboolean
get_bool (JsonObject *object, const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  return node != NULL && JSON_NODE_HOLDS_VALUE (node)
         && json_node_get_value_type (node) == G_TYPE_BOOLEAN
         && json_node_get_boolean (node);
}

static UsConnectEdit *
edit_from_json (JsonNode *node)
{
  JsonObject *object;
  JsonNode *path_node;
  JsonArray *path_array;
  g_autoptr(GPtrArray) path = g_ptr_array_new_with_free_func (g_free);

  if (!JSON_NODE_HOLDS_OBJECT (node))
    return NULL;
  object = json_node_get_object (node);
  path_node = json_object_get_member (object, "path");
  if (path_node == NULL || !JSON_NODE_HOLDS_ARRAY (path_node) || get_string (object, "written") == NULL)
    return NULL;
  path_array = json_node_get_array (path_node);
  for (guint i = 0; i < json_array_get_length (path_array); i++)
    {
      const char *element = json_array_get_string_element (path_array, i);

      if (element == NULL)
        return NULL;
      g_ptr_array_add (path, g_strdup (element));
    }
  if (path->len == 0)
    return NULL;
  g_ptr_array_add (path, NULL);

  return us_connect_edit_new ((const char * const *) path->pdata,
                              get_string (object, "previous"),
                              get_string (object, "written"),
                              json_object_has_member (object, "created_parents")
                              ? (guint) json_object_get_int_member (object, "created_parents") : 0);
}

static UsConnection *
connection_from_json (JsonNode *node)
{
  g_autoptr(UsConnection) connection = us_connection_new ();
  JsonObject *object;
  JsonNode *edits;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    return NULL;
  object = json_node_get_object (node);

  connection->wanted = get_bool (object, "wanted");
  connection->connected = get_bool (object, "connected");
  connection->existed = get_bool (object, "existed");
  connection->path = g_strdup (get_string (object, "path"));
  connection->backup_path = g_strdup (get_string (object, "backup"));
  connection->original_sha256 = g_strdup (get_string (object, "original_sha256"));
  connection->written_sha256 = g_strdup (get_string (object, "written_sha256"));
  connection->proxy_url = g_strdup (get_string (object, "proxy_url"));
  connection->connected_at = g_strdup (get_string (object, "connected_at"));
  connection->statusline = g_strdup (get_string (object, "statusline"));
  connection->statusline_force = get_bool (object, "statusline_force");
  if (json_object_has_member (object, "mode"))
    connection->mode = (guint) json_object_get_int_member (object, "mode") & 07777;

  edits = json_object_get_member (object, "edits");
  if (edits != NULL && JSON_NODE_HOLDS_ARRAY (edits))
    {
      JsonArray *array = json_node_get_array (edits);

      for (guint i = 0; i < json_array_get_length (array); i++)
        {
          UsConnectEdit *edit = edit_from_json (json_array_get_element (array, i));

          if (edit == NULL)
            return NULL;
          g_ptr_array_add (connection->edits, edit);
        }
    }
  if (connection->connected && (connection->path == NULL || connection->proxy_url == NULL))
    return NULL;
  return g_steal_pointer (&connection);
}

/* Returns NULL, for the loader to return. */
static UsConnectState *
state_damaged (const char *path, const char *why, GError **error)
{
  g_set_error (error, US_CONNECT_ERROR, US_CONNECT_ERROR_STATE,
               "%s is damaged (%s). Move it aside to start afresh; the "
               "*.understudy-backup-* files next to each client's "
               "configuration still hold the originals", path, why);
  return NULL;
}

UsConnectState *
us_connect_state_load (GError **error)
{
  g_autofree char *path = us_connect_get_state_path ();
  g_autoptr(UsConnectState) state = g_new0 (UsConnectState, 1);
  g_auto(UsFileContents) contents = { 0 };
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(GError) parse_error = NULL;
  JsonNode *root;
  JsonNode *clients;

  if (!us_client_file_read (path, &contents, error))
    return NULL;
  if (!contents.exists)
    return g_steal_pointer (&state);

  parser = json_parser_new ();
  if (!json_parser_load_from_data (parser, contents.data, (gssize) contents.length, &parse_error))
    return state_damaged (path, parse_error->message, error);
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return state_damaged (path, "not a JSON object", error);

  clients = json_object_get_member (json_node_get_object (root), "clients");
  if (clients == NULL)
    return g_steal_pointer (&state);
  if (!JSON_NODE_HOLDS_OBJECT (clients))
    return state_damaged (path, "“clients” is not an object", error);

  for (guint i = 0; i < US_CLIENT_N_CLIENTS; i++)
    {
      const char *name = us_client_id_to_string ((UsClientId) i);
      JsonNode *node = json_object_get_member (json_node_get_object (clients), name);

      if (node == NULL)
        continue;
      state->clients[i] = connection_from_json (node);
      if (state->clients[i] == NULL)
        {
          g_autofree char *why = g_strdup_printf ("the record for %s is incomplete", name);

          return state_damaged (path, why, error);
        }
    }
  return g_steal_pointer (&state);
}

/* ---- writing ----------------------------------------------------------- */

static void
add_string (JsonBuilder *builder, const char *name, const char *value)
{
  json_builder_set_member_name (builder, name);
  if (value != NULL)
    json_builder_add_string_value (builder, value);
  else
    json_builder_add_null_value (builder);
}

static void
add_bool (JsonBuilder *builder, const char *name, gboolean value)
{
  json_builder_set_member_name (builder, name);
  json_builder_add_boolean_value (builder, value);
}

static void
add_edit (JsonBuilder *builder, UsConnectEdit *edit)
{
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "path");
  json_builder_begin_array (builder);
  for (guint i = 0; edit->path[i] != NULL; i++)
    json_builder_add_string_value (builder, edit->path[i]);
  json_builder_end_array (builder);
  add_string (builder, "previous", edit->previous);
  add_string (builder, "written", edit->written);
  json_builder_set_member_name (builder, "created_parents");
  json_builder_add_int_value (builder, edit->created_parents);
  json_builder_end_object (builder);
}

static void
add_connection (JsonBuilder *builder, UsConnection *connection)
{
  json_builder_begin_object (builder);
  add_bool (builder, "wanted", connection->wanted);
  add_bool (builder, "connected", connection->connected);
  add_string (builder, "path", connection->path);
  add_bool (builder, "existed", connection->existed);
  json_builder_set_member_name (builder, "mode");
  json_builder_add_int_value (builder, connection->mode);
  add_string (builder, "backup", connection->backup_path);
  add_string (builder, "original_sha256", connection->original_sha256);
  add_string (builder, "written_sha256", connection->written_sha256);
  add_string (builder, "proxy_url", connection->proxy_url);
  add_string (builder, "connected_at", connection->connected_at);
  if (connection->statusline != NULL)
    {
      add_string (builder, "statusline", connection->statusline);
      add_bool (builder, "statusline_force", connection->statusline_force);
    }
  json_builder_set_member_name (builder, "edits");
  json_builder_begin_array (builder);
  for (guint i = 0; i < connection->edits->len; i++)
    add_edit (builder, g_ptr_array_index (connection->edits, i));
  json_builder_end_array (builder);
  json_builder_end_object (builder);
}

gboolean
us_connect_state_save (UsConnectState *state, GError **error)
{
  g_autofree char *path = us_connect_get_state_path ();
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *text = NULL;
  gsize length;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "version");
  json_builder_add_int_value (builder, STATE_VERSION);
  json_builder_set_member_name (builder, "clients");
  json_builder_begin_object (builder);
  for (guint i = 0; i < US_CLIENT_N_CLIENTS; i++)
    if (state->clients[i] != NULL)
      {
        json_builder_set_member_name (builder, us_client_id_to_string ((UsClientId) i));
        add_connection (builder, state->clients[i]);
      }
  json_builder_end_object (builder);
  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  json_generator_set_pretty (generator, TRUE);
  text = json_generator_to_data (generator, &length);
  return us_client_file_write (path, text, length, 0600, error);
}

/* ---- locking ----------------------------------------------------------- */

struct _UsConnectLock {
  int fd;
};

UsConnectLock *
us_connect_lock (GError **error)
{
  g_autofree char *state_path = us_connect_get_state_path ();
  g_autofree char *dir = g_path_get_dirname (state_path);
  g_autofree char *lock_path = g_build_filename (dir, "connections.lock", NULL);
  UsConnectLock *lock;
  int fd;

  if (g_mkdir_with_parents (dir, 0700) != 0
      || (fd = open (lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0)
    {
      g_set_error (error, US_CONNECT_ERROR, US_CONNECT_ERROR_IO,
                   "Could not open %s: %s", lock_path, g_strerror (errno));
      return NULL;
    }
  while (flock (fd, LOCK_EX) != 0)
    if (errno != EINTR)
      {
        int saved_errno = errno;

        close (fd);
        g_set_error (error, US_CONNECT_ERROR, US_CONNECT_ERROR_IO,
                     "Could not lock %s: %s", lock_path, g_strerror (saved_errno));
        return NULL;
      }
  lock = g_new0 (UsConnectLock, 1);
  lock->fd = fd;
  return lock;
}

void
us_connect_unlock (UsConnectLock *lock)
{
  if (lock == NULL)
    return;
  close (lock->fd);  /* releases the flock */
  g_free (lock);
}
