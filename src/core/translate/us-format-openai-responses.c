/* us-format-openai-responses.c: OpenAI Responses ⇄ IR. */

#include "us-format.h"
#include "us-openai-common.h"

const UsFormatCodec us_format_openai_responses = {
  .fmt = US_WIRE_OPENAI_RESPONSES,
  .name = "OpenAI Responses",
  .error_encode = us_openai_error_encode,
  .error_decode = us_openai_error_decode,
};
