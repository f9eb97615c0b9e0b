/* fuzz-config.c: the config loader, from the bytes of a config file.
 * Whatever it accepts must save and load again to the same bytes, and
 * whatever it refuses must say why. */

#include "fuzz-common.h"
#include "us-config.h"

#include <string.h>

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(UsConfig) config = us_config_new_from_data ((const char *) data, (gssize) size, &error);
  g_autoptr(UsConfig) again = NULL;
  g_autoptr(GBytes) saved = NULL;
  g_autoptr(GBytes) resaved = NULL;
  g_autofree char *summary = NULL;

  if (config == NULL)
    {
      g_assert (error != NULL && error->message[0] != '\0');
      return 0;
    }
  g_assert (error == NULL);

  summary = us_config_summarize (config);
  g_assert (summary != NULL);
  saved = us_config_to_bytes (config);
  again = us_config_new_from_data (g_bytes_get_data (saved, NULL), (gssize) g_bytes_get_size (saved), &error);
  g_assert_no_error (error);
  resaved = us_config_to_bytes (again);
  g_assert (g_bytes_equal (saved, resaved));
  return 0;
}
