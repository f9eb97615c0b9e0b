/* us-client-file.h: reading, atomically replacing and backing up the files
 * of other programs (the clients' configurations and our own state). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A file as read: @exists FALSE (and @data NULL) when there is none. */
typedef struct {
  gboolean exists;
  char *data;        /* NUL-terminated; may hold NULs, which the parsers reject */
  gsize length;
  guint mode;        /* permission bits */
} UsFileContents;

void           us_file_contents_clear     (UsFileContents *contents);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (UsFileContents, us_file_contents_clear)

gboolean       us_client_file_read        (const char     *path,
                                           UsFileContents *out,
                                           GError        **error);

/* The file the edits must land in: a symlinked config (dotfile managers)
 * is edited at its target, so the link survives. */
char          *us_client_file_resolve     (const char     *path,
                                           GError        **error);

/* Temp file in the same directory, fsync, rename over @path, fsync the
 * directory: a crash leaves either the old or the new file, never a mix.
 * Creates missing parent directories (0700). */
gboolean       us_client_file_write       (const char     *path,
                                           const char     *data,
                                           gsize           length,
                                           guint           mode,
                                           GError        **error);

/* Writes @data to "@path.understudy-backup-YYYYMMDDTHHMMSS" (a suffix is
 * added if taken) with @mode; returns the backup's path. */
char          *us_client_file_backup      (const char     *path,
                                           const char     *data,
                                           gsize           length,
                                           guint           mode,
                                           GError        **error);

gboolean       us_client_file_remove      (const char     *path,
                                           GError        **error);

char          *us_client_file_sha256      (const char     *data,
                                           gsize           length);

/* Tests only: called with the temp file's path after it is written and
 * synced, just before the rename (to simulate a crash there). */
typedef void (*UsClientFileHook) (const char *tmp_path);
void           us_client_file_set_before_rename_hook (UsClientFileHook hook);

G_END_DECLS
