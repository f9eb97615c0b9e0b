/* us-format-openai-chat.c: OpenAI Chat Completions ⇄ IR. */

#include "us-format.h"
#include "us-openai-common.h"

const UsFormatCodec us_format_openai_chat = {
  .fmt = US_WIRE_OPENAI_CHAT,
  .name = "OpenAI Chat Completions",
  .error_encode = us_openai_error_encode,
  .error_decode = us_openai_error_decode,
};
