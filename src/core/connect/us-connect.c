/* us-connect.c: connect, disconnect, status and the routing toggle, on top
 * of the per-client connectors. */
#include "us-connect.h"

#include <string.h>

#include "us-client-file.h"
#include "us-connect-private.h"
#include "us-connect-state.h"

/* A client file we create may later hold secrets (Claude's env block). */
#define NEW_FILE_MODE 0600

G_DEFINE_QUARK (us-connect-error-quark, us_connect_error)

GType
us_client_id_get_type (void)
{
  static gsize type = 0;
  static const GEnumValue values[] = {
    { US_CLIENT_CLAUDE_CODE, "US_CLIENT_CLAUDE_CODE", "claude-code" },
    { US_CLIENT_CODEX, "US_CLIENT_CODEX", "codex" },
    { US_CLIENT_OPENCODE, "US_CLIENT_OPENCODE", "opencode" },
    { 0, NULL, NULL },
  };

  if (g_once_init_enter (&type))
    g_once_init_leave (&type, g_enum_register_static (g_intern_static_string ("UsClientId"), values));
  return type;
}

const UsClientConnector *
us_client_connector_get (UsClientId id)
{
  switch (id)
    {
    case US_CLIENT_CLAUDE_CODE:
      return us_connect_claude_get_connector ();
    case US_CLIENT_CODEX:
      return us_connect_codex_get_connector ();
    case US_CLIENT_OPENCODE:
      return us_connect_opencode_get_connector ();
    default:
      g_return_val_if_reached (NULL);
    }
}

const char *
us_client_id_to_string (UsClientId id)
{
  return us_client_connector_get (id)->name;
}

const char *
us_client_id_get_display_name (UsClientId id)
{
  return us_client_connector_get (id)->display_name;
}

gboolean
us_client_id_from_string (const char *name, UsClientId *out_id)
{
  for (guint i = 0; name != NULL && i < US_CLIENT_N_CLIENTS; i++)
    if (g_str_equal (name, us_client_connector_get ((UsClientId) i)->name))
      {
        *out_id = (UsClientId) i;
        return TRUE;
      }
  return FALSE;
}

const char *
us_client_state_to_string (UsClientState state)
{
  switch (state)
    {
    case US_CLIENT_STATE_NOT_INSTALLED:
      return "not installed";
    case US_CLIENT_STATE_INSTALLED:
      return "installed";
    case US_CLIENT_STATE_CONNECTED:
      return "connected";
    default:
      g_return_val_if_reached (NULL);
    }
}

char *
us_client_get_config_path (UsClientId id)
{
  return us_client_connector_get (id)->config_path ();
}

/* ---- helpers ----------------------------------------------------------- */

static char *
normalize_proxy_url (const char *proxy_url, GError **error)
{
  g_autoptr(GUri) uri = proxy_url != NULL ? g_uri_parse (proxy_url, G_URI_FLAGS_NONE, NULL) : NULL;
  gsize length;

  if (uri == NULL || g_uri_get_host (uri) == NULL
      || !(g_str_equal (g_uri_get_scheme (uri), "http") || g_str_equal (g_uri_get_scheme (uri), "https")))
    {
      g_set_error (error, US_CONNECT_ERROR, US_CONNECT_ERROR_INVALID_URL,
                   "“%s” is not an http:// URL of the proxy", proxy_url != NULL ? proxy_url : "");
      return NULL;
    }
  length = strlen (proxy_url);
  while (length > 0 && proxy_url[length - 1] == '/')
    length--;
  return g_strndup (proxy_url, length);
}

static gboolean
is_blank (const char *text)
{
  for (; *text != '\0'; text++)
    if (!g_ascii_isspace (*text))
      return FALSE;
  return TRUE;
}

/* The parsers take NUL-terminated text: a NUL inside would hide the rest
 * of the file from them, and the write would drop it. */
static gboolean
check_no_nul (const UsFileContents *contents, const char *path, GError **error)
{
  if (strlen (contents->data) == contents->length)
    return TRUE;
  g_set_error (error, US_CONNECT_ERROR, US_CONNECT_ERROR_PARSE,
               "%s: holds NUL bytes, so it is not a text file; it was left untouched", path);
  return FALSE;
}

static void
explain_parse_error (GError *error, const char *path)
{
  if (error != NULL && error->domain == US_CONNECT_ERROR)
    g_prefix_error (&error, "%s: ", path);
  if (error != NULL && error->code == US_CONNECT_ERROR_PARSE)
    {
      char *message = g_strconcat (error->message, "; fix it and try again, it was left untouched", NULL);

      g_free (error->message);
      error->message = message;
    }
}

static gboolean
same_bytes (const UsFileContents *contents, const char *data, gsize length)
{
  return contents->exists && contents->length == length
         && memcmp (contents->data, data, length) == 0;
}

static char *
contents_sha256 (const UsFileContents *contents)
{
  return us_client_file_sha256 (contents->data, contents->length);
}

/* ---- undoing ----------------------------------------------------------- */

static gboolean
names_our_provider (const char *raw)
{
  while (g_ascii_isspace (*raw))
    raw++;
  return g_str_has_prefix (raw, "\"" US_CONNECT_PROVIDER_NAME "\"")
         || g_str_has_prefix (raw, "\"" US_CONNECT_PROVIDER_NAME "/");
}

/* Ours to undo: what we wrote, or a value the user changed that still
 * leads to Understudy (left behind, it would name a provider we remove or
 * point at a proxy they asked to leave). Any other change is theirs. */
static gboolean
value_is_ours (const char *now, const UsConnectEdit *edit, const char *proxy_url)
{
  return g_strcmp0 (now, edit->written) == 0
         || (proxy_url != NULL && strstr (now, proxy_url) != NULL)
         || names_our_provider (now);
}

static char *
remove_with_parents (const UsDocFormat *format, const char *text, const UsConnectEdit *edit, GError **error)
{
  guint n = g_strv_length (edit->path);
  char *current = format->remove (text, (const char * const *) edit->path, error);

  /* Objects we created to hold the key go too, unless the user has put
   * something of theirs in them since. */
  for (guint k = 1; current != NULL && k <= edit->created_parents && k < n; k++)
    {
      g_autofree const char **parent = g_new0 (const char *, n - k + 1);
      char *next;

      memcpy (parent, edit->path, (n - k) * sizeof (char *));
      if (format->is_empty == NULL || !format->is_empty (current, parent))
        break;
      next = format->remove (current, parent, error);
      g_free (current);
      current = next;
    }
  return current;
}

static char *
undo_edits (const UsClientConnector *connector, UsConnection *record, const char *text, GError **error)
{
  const UsDocFormat *format = connector->format;
  g_autofree char *current = g_strdup (text);

  for (guint i = record->edits->len; i > 0; i--)
    {
      const UsConnectEdit *edit = g_ptr_array_index (record->edits, i - 1);
      const char * const *path = (const char * const *) edit->path;
      g_autoptr(GError) local_error = NULL;
      g_autofree char *now = format->get (current, path, &local_error);
      char *next;

      if (local_error != NULL)
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return NULL;
        }
      if (now == NULL || !value_is_ours (now, edit, record->proxy_url))
        continue;
      if (edit->previous != NULL)
        next = format->replace (current, path, edit->previous, error);
      else
        next = remove_with_parents (format, current, edit, error);
      if (next == NULL)
        return NULL;
      g_free (current);
      current = next;
    }
  return g_steal_pointer (&current);
}

static gboolean
read_backup (UsConnection *record, UsFileContents *out)
{
  g_autofree char *sha = NULL;

  if (record->backup_path == NULL || !us_client_file_read (record->backup_path, out, NULL) || !out->exists)
    return FALSE;
  sha = contents_sha256 (out);
  if (g_strcmp0 (sha, record->original_sha256) != 0)
    {
      us_file_contents_clear (out);
      return FALSE;
    }
  return TRUE;
}

/* What @current should become once our edits are gone: the original bytes
 * while the file is exactly what we wrote, else @current minus our keys. */
static gboolean
compute_restored (const UsClientConnector *connector,
                  UsConnection            *record,
                  const UsFileContents    *current,
                  UsFileContents          *out,
                  GError                 **error)
{
  g_autofree char *sha = NULL;

  us_file_contents_clear (out);
  if (!current->exists)
    return TRUE;  /* the user deleted it: nothing of ours is left */

  sha = contents_sha256 (current);
  if (g_strcmp0 (sha, record->written_sha256) == 0)
    {
      if (!record->existed)
        return TRUE;
      if (read_backup (record, out))
        {
          out->mode = record->mode;
          return TRUE;
        }
      /* The backup is gone or altered: removing our keys still works. */
    }

  if (!check_no_nul (current, record->path, error))
    return FALSE;
  out->data = undo_edits (connector, record, current->data, error);
  if (out->data == NULL)
    {
      explain_parse_error (error != NULL ? *error : NULL, record->path);
      return FALSE;
    }
  out->exists = TRUE;
  out->length = strlen (out->data);
  out->mode = current->mode;
  return TRUE;
}

/* Writes @data (or removes the file when @data is NULL) unless it is there
 * already; refuses if the file changed since @read_before was read. */
static gboolean
replace_file (const char           *target,
              const UsFileContents *read_before,
              const char           *data,
              gsize                 length,
              guint                 mode,
              GError              **error)
{
  g_auto(UsFileContents) now = { 0 };
  gboolean unchanged;

  if (data == NULL ? !read_before->exists : same_bytes (read_before, data, length))
    return TRUE;

  /* Narrows the window in which a save by the user could be lost. */
  if (!us_client_file_read (target, &now, error))
    return FALSE;
  unchanged = now.exists == read_before->exists
              && (!now.exists || same_bytes (&now, read_before->data, read_before->length));
  if (!unchanged)
    {
      g_set_error (error, US_CONNECT_ERROR, US_CONNECT_ERROR_CHANGED,
                   "%s changed while Understudy was editing it; nothing was written, try again",
                   target);
      return FALSE;
    }

  if (data == NULL)
    return us_client_file_remove (target, error);
  return us_client_file_write (target, data, length, mode, error);
}

/* ---- connect ----------------------------------------------------------- */

static gboolean
copy_contents (const UsFileContents *from, UsFileContents *to)
{
  us_file_contents_clear (to);
  to->exists = from->exists;
  to->data = from->exists ? g_memdup2 (from->data, from->length + 1) : NULL;
  to->length = from->length;
  to->mode = from->mode;
  return TRUE;
}

/* Keeps one backup per original: routing off and on again must not leave
 * a new copy each time. */
static char *
backup_original (UsConnection *old, UsConnection *record, const char *target,
                 const UsFileContents *original, GError **error)
{
  g_auto(UsFileContents) existing = { 0 };

  if (old != NULL && g_strcmp0 (old->original_sha256, record->original_sha256) == 0
      && read_backup (old, &existing))
    return g_strdup (old->backup_path);
  return us_client_file_backup (target, original->data, original->length, original->mode, error);
}

/* @statusline NULL: whatever the client's record asked for before. */
static gboolean
connect_locked (const UsClientConnector *connector,
                UsConnectState          *state,
                const char              *proxy_url,
                const char              *statusline,
                gboolean                 force,
                GError                 **error)
{
  UsConnection *old = state->clients[connector->id];
  g_autofree char *path = connector->config_path ();
  g_autofree char *target = us_client_file_resolve (path, error);
  g_auto(UsFileContents) current = { 0 };
  g_auto(UsFileContents) original = { 0 };
  g_autoptr(UsConnection) record = us_connection_new ();
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *text = NULL;

  if (target == NULL || !us_client_file_read (target, &current, error))
    return FALSE;
  if (current.exists && !check_no_nul (&current, path, error))
    return FALSE;

  /* Connected already (a new URL, or edited since): start from what
   * disconnecting would leave, so the original stays the first one. */
  if (old != NULL && old->connected && g_strcmp0 (old->path, path) == 0)
    {
      if (!compute_restored (connector, old, &current, &original, error))
        return FALSE;
    }
  else
    copy_contents (&current, &original);

  if (statusline == NULL && old != NULL && old->statusline != NULL)
    {
      statusline = old->statusline;
      force = old->statusline_force;
    }
  if (statusline != NULL && connector->apply_statusline == NULL)
    {
      g_set_error (error, US_CONNECT_ERROR, US_CONNECT_ERROR_UNSUPPORTED, "%s has no status line to show",
                   connector->display_name);
      return FALSE;
    }
  text = connector->apply (original.exists && !is_blank (original.data) ? original.data : NULL,
                           proxy_url, record->edits, error);
  if (text != NULL && statusline != NULL)
    {
      char *with_line = connector->apply_statusline (text, statusline, force, record->edits, error);

      g_free (text);
      text = with_line;
    }
  if (text == NULL)
    {
      explain_parse_error (error != NULL ? *error : NULL, path);
      return FALSE;
    }
  record->statusline = g_strdup (statusline);
  record->statusline_force = statusline != NULL && force;

  record->wanted = TRUE;
  record->connected = TRUE;
  record->path = g_strdup (path);
  record->existed = original.exists;
  record->mode = original.exists ? original.mode : NEW_FILE_MODE;
  record->proxy_url = g_strdup (proxy_url);
  record->written_sha256 = us_client_file_sha256 (text, strlen (text));
  record->connected_at = g_date_time_format_iso8601 (now);
  if (original.exists)
    {
      record->original_sha256 = contents_sha256 (&original);
      record->backup_path = backup_original (old, record, target, &original, error);
      if (record->backup_path == NULL)
        return FALSE;
    }

  /* The record goes first: dying before the write leaves a record whose
   * keys are not in the file, and undoing that changes nothing. */
  state->clients[connector->id] = g_steal_pointer (&record);
  if (!us_connect_state_save (state, error)
      || !replace_file (target, &current, text, strlen (text),
                        current.exists ? current.mode : NEW_FILE_MODE, error))
    {
      record = g_steal_pointer (&state->clients[connector->id]);
      state->clients[connector->id] = old;
      us_connect_state_save (state, NULL);
      return FALSE;
    }
  us_connection_free (old);
  return TRUE;
}

/* ---- disconnect -------------------------------------------------------- */

/* Nothing recorded, but the file may still point at Understudy (the state
 * file was lost): say so rather than guess what the original was. */
static gboolean
check_nothing_to_restore (const UsClientConnector *connector, GError **error)
{
  g_autofree char *path = connector->config_path ();
  g_autofree char *target = us_client_file_resolve (path, NULL);
  g_auto(UsFileContents) current = { 0 };

  if (target == NULL || !us_client_file_read (target, &current, NULL) || !current.exists
      || strlen (current.data) != current.length
      || !connector->is_connected (current.data, NULL))
    return TRUE;

  g_set_error (error, US_CONNECT_ERROR, US_CONNECT_ERROR_NO_RECORD,
               "%s points at Understudy, but there is no record of what it held before. "
               "Restore one of its *.understudy-backup-* copies, or remove Understudy's "
               "entries by hand", path);
  return FALSE;
}

static gboolean
disconnect_locked (const UsClientConnector *connector,
                   UsConnectState          *state,
                   gboolean                 keep_wanted,
                   GError                 **error)
{
  UsConnection *record = state->clients[connector->id];
  g_autofree char *target = NULL;
  g_auto(UsFileContents) current = { 0 };
  g_auto(UsFileContents) restored = { 0 };

  if (record == NULL || !record->connected)
    {
      if (record != NULL && !keep_wanted)
        {
          g_clear_pointer (&state->clients[connector->id], us_connection_free);
          if (!us_connect_state_save (state, error))
            return FALSE;
        }
      return check_nothing_to_restore (connector, error);
    }

  target = us_client_file_resolve (record->path, error);
  if (target == NULL || !us_client_file_read (target, &current, error)
      || !compute_restored (connector, record, &current, &restored, error)
      || !replace_file (target, &current, restored.data, restored.length, restored.mode, error))
    return FALSE;

  if (keep_wanted)
    {
      record->connected = FALSE;
      g_ptr_array_set_size (record->edits, 0);
      g_clear_pointer (&record->written_sha256, g_free);
    }
  else
    g_clear_pointer (&state->clients[connector->id], us_connection_free);
  return us_connect_state_save (state, error);
}

/* ---- public ------------------------------------------------------------ */

gboolean
us_client_connect (UsClientId id, const char *proxy_url, GError **error)
{
  g_autofree char *url = normalize_proxy_url (proxy_url, error);
  g_autoptr(UsConnectLock) lock = NULL;
  g_autoptr(UsConnectState) state = NULL;

  if (url == NULL || (lock = us_connect_lock (error)) == NULL
      || (state = us_connect_state_load (error)) == NULL)
    return FALSE;
  return connect_locked (us_client_connector_get (id), state, url, NULL, FALSE, error);
}

gboolean
us_client_connect_statusline (UsClientId   id,
                              const char  *proxy_url,
                              const char  *statusline_command,
                              gboolean     force,
                              GError     **error)
{
  g_autofree char *url = normalize_proxy_url (proxy_url, error);
  g_autoptr(UsConnectLock) lock = NULL;
  g_autoptr(UsConnectState) state = NULL;

  g_return_val_if_fail (statusline_command != NULL, FALSE);

  if (url == NULL || (lock = us_connect_lock (error)) == NULL
      || (state = us_connect_state_load (error)) == NULL)
    return FALSE;
  return connect_locked (us_client_connector_get (id), state, url, statusline_command, force, error);
}

gboolean
us_client_disconnect (UsClientId id, GError **error)
{
  g_autoptr(UsConnectLock) lock = us_connect_lock (error);
  g_autoptr(UsConnectState) state = NULL;

  if (lock == NULL || (state = us_connect_state_load (error)) == NULL)
    return FALSE;
  return disconnect_locked (us_client_connector_get (id), state, FALSE, error);
}

gboolean
us_clients_apply_routing (gboolean routing, const char *proxy_url, GError **error)
{
  g_autofree char *url = NULL;
  g_autoptr(UsConnectLock) lock = NULL;
  g_autoptr(UsConnectState) state = NULL;
  g_autoptr(GString) failures = NULL;
  gint code = 0;

  if (routing && (url = normalize_proxy_url (proxy_url, error)) == NULL)
    return FALSE;
  if ((lock = us_connect_lock (error)) == NULL || (state = us_connect_state_load (error)) == NULL)
    return FALSE;

  for (guint i = 0; i < US_CLIENT_N_CLIENTS; i++)
    {
      const UsClientConnector *connector = us_client_connector_get ((UsClientId) i);
      UsConnection *record = state->clients[i];
      g_autoptr(GError) local_error = NULL;
      gboolean ok = TRUE;

      if (record == NULL)
        continue;
      if (!routing && record->connected)
        ok = disconnect_locked (connector, state, TRUE, &local_error);
      else if (routing && record->wanted
               && (!record->connected || g_strcmp0 (record->proxy_url, url) != 0))
        ok = connect_locked (connector, state, url, NULL, FALSE, &local_error);

      if (!ok)
        {
          if (failures == NULL)
            {
              failures = g_string_new (NULL);
              code = local_error->code;
            }
          else
            g_string_append_c (failures, '\n');
          g_string_append_printf (failures, "%s: %s", connector->name, local_error->message);
        }
    }

  if (failures != NULL)
    {
      g_set_error_literal (error, US_CONNECT_ERROR, code, failures->str);
      return FALSE;
    }
  return TRUE;
}

UsClientState
us_client_get_state (UsClientId id)
{
  const UsClientConnector *connector = us_client_connector_get (id);
  g_autoptr(UsConnectState) state = us_connect_state_load (NULL);
  const char *recorded_url = state != NULL && state->clients[id] != NULL
                             ? state->clients[id]->proxy_url : NULL;
  g_autofree char *path = connector->config_path ();
  g_autofree char *target = us_client_file_resolve (path, NULL);
  g_autofree char *program = g_find_program_in_path (connector->program);
  g_autofree char *dir = connector->config_dir ();
  g_auto(UsFileContents) contents = { 0 };

  if (target != NULL && us_client_file_read (target, &contents, NULL) && contents.exists
      && strlen (contents.data) == contents.length
      && connector->is_connected (contents.data, recorded_url))
    return US_CLIENT_STATE_CONNECTED;
  if (program != NULL || g_file_test (dir, G_FILE_TEST_IS_DIR))
    return US_CLIENT_STATE_INSTALLED;
  return US_CLIENT_STATE_NOT_INSTALLED;
}

gboolean
us_client_is_wanted (UsClientId id)
{
  g_autoptr(UsConnectState) state = us_connect_state_load (NULL);

  return state != NULL && state->clients[id] != NULL && state->clients[id]->wanted;
}
