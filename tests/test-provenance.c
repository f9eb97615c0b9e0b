/* test-provenance.c: the bounded, persisted store of who produced what. */
#include <glib/gstdio.h>

#include "us-provenance.h"

static char *
make_dir (void)
{
  char *dir = g_dir_make_tmp ("us-provenance-XXXXXX", NULL);

  g_assert_nonnull (dir);
  return dir;
}

static void
remove_dir (const char *dir,
            const char *file)
{
  g_autofree char *path = g_build_filename (dir, file, NULL);

  g_unlink (path);
  g_rmdir (dir);
}

static void
test_lru (void)
{
  g_autoptr(UsProvenance) p = us_provenance_new (NULL, 3);
  const char *model = NULL, *credential = NULL;

  us_provenance_record (p, "sig-a", "primary", "m1", "key:01234567");
  us_provenance_record (p, "sig-b", "fallback", "m2", NULL);
  us_provenance_record (p, "sig-c", "fallback", "m2", NULL);
  /* A lookup makes "a" recent: "b" is the oldest now. */
  g_assert_cmpstr (us_provenance_lookup (p, "sig-a", &model, &credential), ==, "primary");
  g_assert_cmpstr (model, ==, "m1");
  g_assert_cmpstr (credential, ==, "key:01234567");
  us_provenance_record (p, "sig-d", "primary", "m1", NULL);

  g_assert_cmpuint (us_provenance_get_size (p), ==, 3);
  g_assert_null (us_provenance_lookup (p, "sig-b", NULL, NULL));
  g_assert_cmpstr (us_provenance_lookup (p, "sig-a", NULL, NULL), ==, "primary");
  g_assert_cmpstr (us_provenance_lookup (p, "sig-c", NULL, NULL), ==, "fallback");
  g_assert_cmpstr (us_provenance_lookup (p, "sig-d", NULL, NULL), ==, "primary");
  g_assert_null (us_provenance_lookup (p, "", NULL, NULL));

  /* Recorded again by another provider: the newer answer wins. */
  us_provenance_record (p, "sig-a", "fallback", "m2", NULL);
  g_assert_cmpstr (us_provenance_lookup (p, "sig-a", NULL, NULL), ==, "fallback");
  g_assert_cmpuint (us_provenance_get_size (p), ==, 3);
}

static void
test_persist (void)
{
  g_autofree char *dir = make_dir ();
  g_autofree char *path = g_build_filename (dir, "state", "provenance.json", NULL);
  g_autofree char *state = g_build_filename (dir, "state", NULL);
  g_autoptr(UsProvenance) p = us_provenance_new (path, 100);
  g_autoptr(UsProvenance) again = NULL;
  g_autofree char *text = NULL;
  gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  const char *model = NULL;

  us_provenance_record (p, "EqQBCkgIARABGAIiQ-secret-signature", "fallback", "glm", "key:89abcdef");
  us_provenance_record (p, "toolu_01ABC", "primary", "claude", "passthrough:01234567");
  /* Written in the background, without a flush. */
  while (!g_file_test (path, G_FILE_TEST_EXISTS) && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, FALSE), g_usleep (5000);
  g_assert_true (g_file_test (path, G_FILE_TEST_EXISTS));

  /* Hashes only: the content itself never reaches the disk. */
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  g_assert_null (strstr (text, "secret-signature"));
  g_assert_null (strstr (text, "toolu_01ABC"));

  again = us_provenance_new (path, 100);
  g_assert_cmpuint (us_provenance_get_size (again), ==, 2);
  g_assert_cmpstr (us_provenance_lookup (again, "EqQBCkgIARABGAIiQ-secret-signature", &model, NULL), ==, "fallback");
  g_assert_cmpstr (model, ==, "glm");
  g_assert_cmpstr (us_provenance_lookup (again, "toolu_01ABC", NULL, NULL), ==, "primary");

  g_clear_object (&p);
  g_clear_object (&again);
  g_unlink (path);
  g_rmdir (state);
  g_rmdir (dir);
}

static void
test_broken_file (void)
{
  g_autofree char *dir = make_dir ();
  g_autofree char *path = g_build_filename (dir, "provenance.json", NULL);
  g_autoptr(UsProvenance) p = NULL;
  g_autofree char *text = NULL;

  g_assert_true (g_file_set_contents (path, "{\"version\":1,\"entries\":[[\"k\",\"p\"]]}", -1, NULL));
  g_test_expect_message ("Understudy", G_LOG_LEVEL_WARNING, "*entries[0]*");
  p = us_provenance_new (path, 10);
  g_test_assert_expected_messages ();
  g_assert_cmpuint (us_provenance_get_size (p), ==, 0);

  /* Nothing learnt, nothing written: the file stays as it was. */
  g_assert_true (us_provenance_flush (p, NULL));
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  g_assert_cmpstr (text, ==, "{\"version\":1,\"entries\":[[\"k\",\"p\"]]}");

  /* Then the first answer replaces it. */
  us_provenance_record (p, "sig", "primary", "m", NULL);
  g_assert_true (us_provenance_flush (p, NULL));
  g_clear_object (&p);
  p = us_provenance_new (path, 10);
  g_assert_cmpstr (us_provenance_lookup (p, "sig", NULL, NULL), ==, "primary");
  g_clear_object (&p);
  remove_dir (dir, "provenance.json");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/provenance/lru", test_lru);
  g_test_add_func ("/provenance/persist", test_persist);
  g_test_add_func ("/provenance/broken-file", test_broken_file);
  return g_test_run ();
}
