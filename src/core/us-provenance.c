/* us-provenance.c: which provider produced each piece of signed content. */
#include "us-provenance.h"

#include <json-glib/json-glib.h>
#include <string.h>

#include "us-state-file.h"

#define FILE_VERSION 1

typedef struct {
  char  *key;
  char  *provider;
  char  *model;
  char  *credential;
  char  *line;                  /* the entry as saved, made once */
  GList *link;                  /* in lru, data = this entry */
} Entry;

struct _UsProvenance
{
  GObject parent_instance;

  UsStateFile  *file;
  guint         capacity;
  GHashTable   *entries;        /* key → Entry */
  GQueue        lru;            /* Entry, most recently used first */
};

G_DEFINE_FINAL_TYPE (UsProvenance, us_provenance, G_TYPE_OBJECT)

static void
entry_free (gpointer data)
{
  Entry *e = data;

  g_free (e->key);
  g_free (e->provider);
  g_free (e->model);
  g_free (e->credential);
  g_free (e->line);
  g_free (e);
}

char *
us_provenance_default_path (void)
{
  const char *state = g_getenv ("XDG_STATE_HOME");
  g_autofree char *dir = NULL;

  /* Read now, not via g_get_user_state_dir(), which caches its first answer. */
  if (state != NULL && g_path_is_absolute (state))
    dir = g_strdup (state);
  else
    dir = g_build_filename (g_get_home_dir (), ".local", "state", NULL);
  return g_build_filename (dir, "understudy", "provenance.json", NULL);
}

char *
us_provenance_key (const char *native)
{
  g_autofree char *sha = g_compute_checksum_for_string (G_CHECKSUM_SHA256, native, -1);

  return g_strndup (sha, 32);
}

/* ---- The bounded map ---------------------------------------------------- */

static void
append_json_string (GString    *out,
                    const char *s)
{
  g_string_append_c (out, '"');
  for (const char *p = s ? s : ""; *p != '\0'; p++)
    {
      if (*p == '"' || *p == '\\')
        {
          g_string_append_c (out, '\\');
          g_string_append_c (out, *p);
        }
      else if ((guchar) *p < 0x20)
        g_string_append_printf (out, "\\u%04x", (guint) (guchar) *p);
      else
        g_string_append_c (out, *p);
    }
  g_string_append_c (out, '"');
}

static char *
entry_line (const Entry *e)
{
  GString *out = g_string_sized_new (96);

  g_string_append_c (out, '[');
  append_json_string (out, e->key);
  g_string_append_c (out, ',');
  append_json_string (out, e->provider);
  g_string_append_c (out, ',');
  append_json_string (out, e->model);
  g_string_append_c (out, ',');
  append_json_string (out, e->credential);
  g_string_append_c (out, ']');
  return g_string_free (out, FALSE);
}

static void
put (UsProvenance *self,
     char         *key /* owned */,
     const char   *provider,
     const char   *model,
     const char   *credential)
{
  Entry *e = g_hash_table_lookup (self->entries, key);

  if (e != NULL)
    {
      g_free (key);
      if (g_strcmp0 (e->provider, provider) == 0 && g_strcmp0 (e->model, model) == 0
          && g_strcmp0 (e->credential, credential) == 0)
        {
          g_queue_unlink (&self->lru, e->link);
          g_queue_push_head_link (&self->lru, e->link);
          return;
        }
      g_free (e->provider);
      g_free (e->model);
      g_free (e->credential);
      g_free (e->line);
      g_queue_unlink (&self->lru, e->link);
    }
  else
    {
      e = g_new0 (Entry, 1);
      e->key = key;
      e->link = g_list_alloc ();
      e->link->data = e;
      g_hash_table_insert (self->entries, e->key, e);
    }
  e->provider = g_strdup (provider);
  e->model = g_strdup (model);
  e->credential = g_strdup (credential);
  e->line = entry_line (e);
  g_queue_push_head_link (&self->lru, e->link);

  while (self->lru.length > self->capacity)
    {
      GList *oldest = g_queue_pop_tail_link (&self->lru);
      Entry *old = oldest->data;

      g_list_free_1 (oldest);
      g_hash_table_remove (self->entries, old->key);
    }
}

/* ---- Persistence -------------------------------------------------------- */

/* Lines made when entries are recorded, joined: this runs on the main loop
 * (a full store: JsonBuilder 36 ms, this 3 ms on a busy 2-core machine). */
static GBytes *
serialize (UsProvenance *self)
{
  GString *out = g_string_sized_new (80 * (self->lru.length + 1));

  g_string_append_printf (out, "{\"version\":%d,\"entries\":[", FILE_VERSION);
  /* Oldest first, so that loading in order rebuilds the same recency. */
  for (GList *l = self->lru.tail; l != NULL; l = l->prev)
    {
      Entry *e = l->data;

      g_string_append (out, e->line);
      if (l->prev != NULL)
        g_string_append (out, ",\n");
    }
  g_string_append (out, "]}\n");
  return g_string_free_to_bytes (out);
}

static gboolean
load (UsProvenance *self,
      GError      **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *obj;
  JsonArray *entries;

  if (!json_parser_load_from_mapped_file (parser, us_state_file_get_path (self->file), error))
    return FALSE;
  if (!JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "$: not an object");
      return FALSE;
    }
  obj = json_node_get_object (json_parser_get_root (parser));
  if (json_object_get_int_member_with_default (obj, "version", 0) != FILE_VERSION)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "$.version: expected %d", FILE_VERSION);
      return FALSE;
    }
  if (!json_object_has_member (obj, "entries")
      || !JSON_NODE_HOLDS_ARRAY (json_object_get_member (obj, "entries")))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "$.entries: expected an array");
      return FALSE;
    }
  entries = json_object_get_array_member (obj, "entries");
  for (guint i = 0; i < json_array_get_length (entries); i++)
    {
      JsonNode *node = json_array_get_element (entries, i);
      JsonArray *e;
      const char *field[4];

      if (!JSON_NODE_HOLDS_ARRAY (node) || json_array_get_length (json_node_get_array (node)) != 4)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       "$.entries[%u]: expected [key, provider, model, credential]", i);
          return FALSE;
        }
      e = json_node_get_array (node);
      for (guint j = 0; j < 4; j++)
        {
          JsonNode *f = json_array_get_element (e, j);

          field[j] = JSON_NODE_HOLDS_VALUE (f) && json_node_get_value_type (f) == G_TYPE_STRING
                     ? json_node_get_string (f) : NULL;
          if (field[j] == NULL)
            {
              g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           "$.entries[%u][%u]: expected a string", i, j);
              return FALSE;
            }
        }
      put (self, g_strdup (field[0]), field[1], *field[2] ? field[2] : NULL, *field[3] ? field[3] : NULL);
    }
  return TRUE;
}

gboolean
us_provenance_flush (UsProvenance *self,
                     GError      **error)
{
  g_return_val_if_fail (US_IS_PROVENANCE (self), FALSE);
  return us_state_file_flush (self->file, error);
}

/* ---- Public ------------------------------------------------------------- */

void
us_provenance_record (UsProvenance *self,
                      const char   *native,
                      const char   *provider,
                      const char   *model,
                      const char   *credential)
{
  g_return_if_fail (US_IS_PROVENANCE (self));

  if (native == NULL || *native == '\0' || provider == NULL)
    return;
  put (self, us_provenance_key (native), provider, model, credential);
  us_state_file_changed (self->file);
}

const char *
us_provenance_lookup (UsProvenance *self,
                      const char   *native,
                      const char  **model,
                      const char  **credential)
{
  g_autofree char *key = NULL;
  Entry *e;

  g_return_val_if_fail (US_IS_PROVENANCE (self), NULL);

  if (model != NULL)
    *model = NULL;
  if (credential != NULL)
    *credential = NULL;
  if (native == NULL || *native == '\0')
    return NULL;
  key = us_provenance_key (native);
  e = g_hash_table_lookup (self->entries, key);
  if (e == NULL)
    return NULL;
  /* Recency only orders eviction; it is not worth a write by itself. */
  g_queue_unlink (&self->lru, e->link);
  g_queue_push_head_link (&self->lru, e->link);
  if (model != NULL)
    *model = e->model;
  if (credential != NULL)
    *credential = e->credential;
  return e->provider;
}

guint
us_provenance_get_size (UsProvenance *self)
{
  return g_hash_table_size (self->entries);
}

static void
us_provenance_finalize (GObject *object)
{
  UsProvenance *self = US_PROVENANCE (object);

  us_state_file_close (self->file);
  g_object_unref (self->file);
  g_queue_clear (&self->lru);
  g_hash_table_unref (self->entries);

  G_OBJECT_CLASS (us_provenance_parent_class)->finalize (object);
}

static void
us_provenance_class_init (UsProvenanceClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = us_provenance_finalize;
}

static void
us_provenance_init (UsProvenance *self)
{
  self->entries = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, entry_free);
  g_queue_init (&self->lru);
}

UsProvenance *
us_provenance_new (const char *path,
                   guint       capacity)
{
  UsProvenance *self = g_object_new (US_TYPE_PROVENANCE, NULL);
  g_autoptr(GError) error = NULL;

  self->file = us_state_file_new (path, (UsStateSerializeFunc) serialize, self);
  self->capacity = MAX (capacity, 1);
  if (path != NULL && !load (self, &error)
      && !g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
    {
      /* Left alone on disk: the next save replaces it with what we know. */
      g_warning ("Ignoring %s: %s", path, error->message);
      g_hash_table_remove_all (self->entries);
      g_queue_clear (&self->lru);
    }
  return self;
}
