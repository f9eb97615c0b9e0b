/* fuzz-request.c: a request decoder (FUZZ_FORMAT), then every encoder and
 * the hub's read-outs on whatever it accepted. */

#include "fuzz-common.h"

#include <stdlib.h>
#include "us-ir.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  static const UsWireFormat all[] = { US_WIRE_ANTHROPIC, US_WIRE_OPENAI_CHAT, US_WIRE_OPENAI_RESPONSES };
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(UsIrRequest) req = NULL;

  /* Our parser, which also guards against json-glib's "{}{}" leak. */
  root = size > G_MAXSSIZE ? NULL : us_json_parse ((const char *) data, (gssize) size, NULL);
  if (root == NULL)
    return 0;
  req = us_ir_request_decode (FUZZ_FORMAT, root, NULL);
  if (req == NULL)
    return 0;

  (void) us_ir_request_get_model (req);
  (void) us_ir_request_has_images (req);
  (void) us_ir_request_has_thinking (req);
  (void) us_ir_request_has_tools (req);
  (void) us_ir_request_estimate_input_tokens (req);
  for (gsize i = 0; i < G_N_ELEMENTS (all); i++)
    {
      g_autoptr(JsonNode) out = us_ir_request_encode (req, all[i], "m", i == 1 ? 1000 : 0, NULL);

      /* Whatever we send, we accept. */
      if (out != NULL)
        {
          g_autoptr(GError) error = NULL;
          g_autoptr(UsIrRequest) back = us_ir_request_decode (all[i], out, &error);

          /* abort(), not g_error()'s breakpoint trap: libFuzzer saves the
           * input of an abort, not of a trap. */
          if (back == NULL)
            {
              g_printerr ("encoded for %s, refused by its decoder: %s\n",
                          us_wire_format_to_string (all[i]), error->message);
              abort ();
            }
        }
    }
  return 0;
}
