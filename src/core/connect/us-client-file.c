/* us-client-file.c: atomic replace, backups and reads of client files. */
#include "us-client-file.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "us-connect.h"

/* Client configs are a few kilobytes; anything huge is not one. */
#define MAX_FILE_SIZE (16 * 1024 * 1024)

static UsClientFileHook before_rename_hook;

void
us_client_file_set_before_rename_hook (UsClientFileHook hook)
{
  before_rename_hook = hook;
}

void
us_file_contents_clear (UsFileContents *contents)
{
  g_clear_pointer (&contents->data, g_free);
  contents->exists = FALSE;
  contents->length = 0;
  contents->mode = 0;
}

static gboolean
set_io_error (GError **error, int saved_errno, const char *what, const char *path)
{
  g_set_error (error, US_CONNECT_ERROR, US_CONNECT_ERROR_IO,
               "Could not %s %s: %s", what, path, g_strerror (saved_errno));
  return FALSE;
}

gboolean
us_client_file_read (const char *path, UsFileContents *out, GError **error)
{
  GStatBuf st;
  g_autoptr(GError) local_error = NULL;

  us_file_contents_clear (out);

  if (g_stat (path, &st) != 0)
    {
      if (errno == ENOENT)
        return TRUE;
      return set_io_error (error, errno, "read", path);
    }
  if (!S_ISREG (st.st_mode))
    {
      g_set_error (error, US_CONNECT_ERROR, US_CONNECT_ERROR_UNSUPPORTED,
                   "%s is not a regular file", path);
      return FALSE;
    }
  if (st.st_size > MAX_FILE_SIZE)
    {
      g_set_error (error, US_CONNECT_ERROR, US_CONNECT_ERROR_UNSUPPORTED,
                   "%s is too large to be a configuration file", path);
      return FALSE;
    }

  if (!g_file_get_contents (path, &out->data, &out->length, &local_error))
    {
      g_set_error (error, US_CONNECT_ERROR, US_CONNECT_ERROR_IO,
                   "%s", local_error->message);
      return FALSE;
    }
  out->exists = TRUE;
  out->mode = st.st_mode & 07777;
  return TRUE;
}

char *
us_client_file_resolve (const char *path, GError **error)
{
  GStatBuf st;
  char *real;

  if (g_lstat (path, &st) != 0 || !S_ISLNK (st.st_mode))
    return g_strdup (path);

  real = realpath (path, NULL);
  if (real == NULL)
    {
      g_set_error (error, US_CONNECT_ERROR, US_CONNECT_ERROR_UNSUPPORTED,
                   "%s is a symbolic link to a file that does not exist", path);
      return NULL;
    }
  /* realpath() allocates with malloc; hand back GLib memory. */
  {
    char *copy = g_strdup (real);
    free (real);
    return copy;
  }
}

static gboolean
write_all (int fd, const char *data, gsize length)
{
  while (length > 0)
    {
      ssize_t n = write (fd, data, length);

      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          return FALSE;
        }
      data += n;
      length -= (gsize) n;
    }
  return TRUE;
}

static void
sync_directory (const char *path)
{
  g_autofree char *dir = g_path_get_dirname (path);
  int fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  /* Best effort: the rename is already done, this only makes it durable. */
  if (fd >= 0)
    {
      fsync (fd);
      close (fd);
    }
}

/* Not g_file_set_contents_full(): the same temp + fsync + rename, but the
 * tests need a point between the write and the rename to crash at. */
gboolean
us_client_file_write (const char *path,
                      const char *data,
                      gsize       length,
                      guint       mode,
                      GError    **error)
{
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *tmp = g_strconcat (path, ".understudy-tmp-XXXXXX", NULL);
  int fd;

  if (g_mkdir_with_parents (dir, 0700) != 0)
    return set_io_error (error, errno, "create the directory", dir);

  fd = g_mkstemp_full (tmp, O_WRONLY | O_CLOEXEC, mode);
  if (fd < 0)
    return set_io_error (error, errno, "create a temporary file for", path);

  /* mkstemp's mode went through the umask; the original's mode must not. */
  if (fchmod (fd, mode) != 0 || !write_all (fd, data, length) || fsync (fd) != 0)
    {
      int saved_errno = errno;

      close (fd);
      g_unlink (tmp);
      return set_io_error (error, saved_errno, "write", path);
    }
  if (close (fd) != 0)
    {
      int saved_errno = errno;

      g_unlink (tmp);
      return set_io_error (error, saved_errno, "write", path);
    }

  if (before_rename_hook != NULL)
    before_rename_hook (tmp);

  if (g_rename (tmp, path) != 0)
    {
      int saved_errno = errno;

      g_unlink (tmp);
      return set_io_error (error, saved_errno, "replace", path);
    }
  sync_directory (path);
  return TRUE;
}

char *
us_client_file_backup (const char *path,
                       const char *data,
                       gsize       length,
                       guint       mode,
                       GError    **error)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *stamp = g_date_time_format (now, "%Y%m%dT%H%M%S");
  g_autofree char *base = g_strdup_printf ("%s.understudy-backup-%s", path, stamp);
  g_autofree char *backup = g_strdup (base);

  for (guint i = 2; g_file_test (backup, G_FILE_TEST_EXISTS); i++)
    {
      g_free (backup);
      backup = g_strdup_printf ("%s-%u", base, i);
    }

  if (!us_client_file_write (backup, data, length, mode, error))
    return NULL;
  return g_steal_pointer (&backup);
}

gboolean
us_client_file_remove (const char *path, GError **error)
{
  if (g_unlink (path) != 0 && errno != ENOENT)
    return set_io_error (error, errno, "remove", path);
  sync_directory (path);
  return TRUE;
}

char *
us_client_file_sha256 (const char *data, gsize length)
{
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) data, length);
}
