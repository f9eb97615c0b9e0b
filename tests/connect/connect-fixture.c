/* connect-fixture.c: temp HOME set-up for the connect tests. */
#include "connect-fixture.h"

#include <glib/gstdio.h>
#include <string.h>

static void
remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        remove_tree (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}

void
connect_fixture_setup (ConnectFixture *fixture, gconstpointer data)
{
  if (g_test_subprocess ())
    {
      fixture->home = g_strdup (g_getenv ("HOME"));
      fixture->bin = g_build_filename (fixture->home, "bin", NULL);
      return;
    }

  fixture->home = g_dir_make_tmp ("understudy-connect-XXXXXX", NULL);
  g_assert_nonnull (fixture->home);
  fixture->bin = g_build_filename (fixture->home, "bin", NULL);
  g_assert_cmpint (g_mkdir (fixture->bin, 0700), ==, 0);

  g_setenv ("HOME", fixture->home, TRUE);
  g_setenv ("PATH", fixture->bin, TRUE);
  g_unsetenv ("XDG_CONFIG_HOME");
  g_unsetenv ("FLATPAK_ID");
  g_unsetenv ("HOST_XDG_CONFIG_HOME");
  g_unsetenv ("XDG_STATE_HOME");
  g_unsetenv ("CODEX_HOME");
  g_unsetenv ("CLAUDE_CONFIG_DIR");
}

void
connect_fixture_teardown (ConnectFixture *fixture, gconstpointer data)
{
  if (!g_test_subprocess ())
    remove_tree (fixture->home);
  g_free (fixture->home);
  g_free (fixture->bin);
}

char *
fixture_path (ConnectFixture *fixture, const char *relative)
{
  return g_build_filename (fixture->home, relative, NULL);
}

void
fixture_write (ConnectFixture *fixture, const char *relative, const char *contents)
{
  g_autofree char *path = fixture_path (fixture, relative);
  g_autofree char *dir = g_path_get_dirname (path);
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_file_set_contents (path, contents, -1, &error);
  g_assert_no_error (error);
}

char *
fixture_read (ConnectFixture *fixture, const char *relative)
{
  g_autofree char *path = fixture_path (fixture, relative);
  char *contents = NULL;

  if (!g_file_get_contents (path, &contents, NULL, NULL))
    return NULL;
  return contents;
}

guint
fixture_count_backups (ConnectFixture *fixture, const char *relative)
{
  g_autofree char *path = fixture_path (fixture, relative);
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *base = g_path_get_basename (path);
  g_autofree char *prefix = g_strconcat (base, ".understudy-backup-", NULL);
  g_autoptr(GDir) listing = g_dir_open (dir, 0, NULL);
  const char *name;
  guint count = 0;

  while (listing != NULL && (name = g_dir_read_name (listing)) != NULL)
    if (g_str_has_prefix (name, prefix))
      count++;
  return count;
}

char *
replace_once (const char *text, const char *from, const char *to)
{
  const char *at = strstr (text, from);
  GString *out;

  g_assert_nonnull (at);
  out = g_string_new_len (text, at - text);
  g_string_append (out, to);
  g_string_append (out, at + strlen (from));
  return g_string_free (out, FALSE);
}
