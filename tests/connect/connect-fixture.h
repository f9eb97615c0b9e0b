/* connect-fixture.h: a private HOME for each test case. */
#pragma once

#include <glib.h>

#define PROXY_URL "http://127.0.0.1:7355/t/tok123"

typedef struct {
  char *home;
  char *bin;    /* the only directory on PATH */
} ConnectFixture;

/* In a g_test_trap_subprocess() child, the parent's HOME is reused (it is
 * inherited through the environment) and left for the parent to delete. */
void     connect_fixture_setup    (ConnectFixture *fixture,
                                   gconstpointer   data);
void     connect_fixture_teardown (ConnectFixture *fixture,
                                   gconstpointer   data);

/* $HOME/@relative */
char    *fixture_path             (ConnectFixture *fixture,
                                   const char     *relative);
void     fixture_write            (ConnectFixture *fixture,
                                   const char     *relative,
                                   const char     *contents);
/* NULL when the file does not exist. */
char    *fixture_read             (ConnectFixture *fixture,
                                   const char     *relative);
/* "*.understudy-backup-*" files next to $HOME/@relative */
guint    fixture_count_backups    (ConnectFixture *fixture,
                                   const char     *relative);
/* @text with the first @from replaced by @to (which must be there). */
char    *replace_once             (const char     *text,
                                   const char     *from,
                                   const char     *to);

#define assert_file(fixture, relative, expected)                          \
  G_STMT_START {                                                          \
    g_autofree char *_actual = fixture_read ((fixture), (relative));      \
    g_assert_cmpstr (_actual, ==, (expected));                            \
  } G_STMT_END
