/* us-fake-signing.h: how a fake provider signs its thinking and checks
 * what comes back, as the real ones do: an Anthropic thinking signature
 * covers the thinking text and the signer's key; a Responses reasoning
 * item's encrypted_content only its maker can read.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "us-fake-provider.h"

G_BEGIN_DECLS

char     *us_fake_sign_thinking  (const char  *key,
                                  const char  *thinking);
char     *us_fake_sign_reasoning (const char  *key,
                                  const char  *item_id);
/* Whether the request asks for reasoning the fake then signs: Anthropic
 * `thinking` enabled or adaptive; Responses `include` with
 * reasoning.encrypted_content. */
gboolean  us_fake_wants_thinking (UsFakeFormat format,
                                  JsonObject  *body);
/* Signed blocks in @body: thinking / redacted thinking, or reasoning
 * items with encrypted_content (for the request log). */
guint     us_fake_count_signed   (UsFakeFormat format,
                                  JsonObject  *body);
/* NULL when @body passes the checks the real API makes on signed content;
 * else the API's error message (and @code for OpenAI). */
char     *us_fake_check_signed   (UsFakeFormat format,
                                  const char  *key,
                                  JsonObject  *body,
                                  const char **code);

G_END_DECLS
