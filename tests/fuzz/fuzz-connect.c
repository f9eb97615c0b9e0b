/* fuzz-connect.c: the client-config editors, from the bytes of a user's
 * existing file. The first byte picks the client (Claude Code
 * settings.json, Codex config.toml, OpenCode opencode.json); the rest is
 * the file. Connecting must leave a file of the same syntax that points at
 * the proxy; undoing the edits must give back the original, but for white
 * space. */

#include "fuzz-common.h"
#include "us-connect-private.h"
#include "us-jsonc-edit.h"
#include "us-toml-edit.h"

#include <string.h>

#define PROXY_URL "http://127.0.0.1:7355/t/fuzz-token"

static gboolean
valid_syntax (UsClientId  id,
              const char *text)
{
  g_autoptr(GError) error = NULL;

  switch (id)
    {
    case US_CLIENT_CLAUDE_CODE:
      return us_jsonc_validate (text, US_JSON_STRICT, &error);
    case US_CLIENT_CODEX:
      return us_toml_validate (text, &error);
    case US_CLIENT_OPENCODE:
      return us_jsonc_validate (text, US_JSON_JSONC, &error);
    default:
      g_assert_not_reached ();
    }
}

static void
drop_white_space (char *text)
{
  char *out = text;

  for (const char *in = text; *in != '\0'; in++)
    if (!g_ascii_isspace (*in))
      *out++ = *in;
  *out = '\0';
}

static gboolean
is_blank (const char *text)
{
  while (g_ascii_isspace (*text))
    text++;
  return *text == '\0';
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  const UsClientConnector *connector;
  g_autoptr(GPtrArray) edits = g_ptr_array_new_with_free_func ((GDestroyNotify) us_connect_edit_free);
  g_autoptr(GError) error = NULL;
  g_autofree char *original = NULL;
  g_autofree char *connected = NULL;
  g_autofree char *restored = NULL;
  UsClientId id;

  if (size < 1)
    return 0;
  id = data[0] % US_CLIENT_N_CLIENTS;
  connector = us_client_connector_get (id);
  /* Connect refuses files with NUL bytes before any editor sees them. */
  if (memchr (data + 1, '\0', size - 1) != NULL)
    return 0;
  original = g_strndup ((const char *) data + 1, size - 1);
  /* A blank file is taken as no file: nothing to give back. */
  if (is_blank (original))
    return 0;

  connected = connector->apply (original, PROXY_URL, edits, &error);
  if (connected == NULL)
    {
      g_assert (error != NULL && error->message[0] != '\0');
      return 0;
    }
  g_assert_no_error (error);
  g_assert (edits->len > 0);
  g_assert (valid_syntax (id, connected));
  g_assert (connector->is_connected (connected, PROXY_URL));

  restored = us_connect_undo_edits (connector, edits, PROXY_URL, connected, &error);
  g_assert_no_error (error);
  g_assert (restored != NULL);
  /* White space may differ: where a member or table stood, the line
   * breaks and blank lines around it cannot always be told from the
   * file's own (a table appended after a final blank line, a member before
   * the closing brace on its line). Anything else, a comment, a comma, a
   * key or a value, must come back. (Disconnecting an unchanged file puts
   * the backup back, byte for byte; this is the path for a file edited
   * since.) */
  drop_white_space (original);
  drop_white_space (restored);
  g_assert_cmpstr (restored, ==, original);
  return 0;
}
