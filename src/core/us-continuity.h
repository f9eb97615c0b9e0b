/* us-continuity.h: keeping one conversation valid across providers.
 *
 * Signed content (thinking signatures, redacted thinking, encrypted
 * reasoning) only goes back to the provider that produced it; a tool loop
 * goes back to the model that started it. What each response produced is
 * recorded in a UsProvenance; these helpers read the client's request
 * against it. The rules are written down in docs/translation.md.
 */
#pragma once

#include <libsoup/soup.h>
#include "us-config.h"
#include "us-format.h"
#include "us-provenance.h"

G_BEGIN_DECLS

/* What one response produced: signatures, redacted data, encrypted
 * reasoning and tool call ids, collected from stream events or a whole
 * body, recorded once the attempt served. */
typedef struct _UsProduced UsProduced;

UsProduced *us_produced_new      (void);
void        us_produced_free     (UsProduced   *self);
/* A UsIrEventFunc for us_stream_translator_set_observer(). */
void        us_produced_observe  (const UsIrEvent *ev,
                                  gpointer      self);
/* A whole response body in the provider's format @fmt. */
void        us_produced_scan     (UsProduced   *self,
                                  UsWireFormat  fmt,
                                  GBytes       *body);
void        us_produced_commit   (UsProduced   *self,
                                  UsProvenance *provenance,
                                  const char   *provider,
                                  const char   *model,
                                  const char   *credential);
guint       us_produced_get_size (UsProduced   *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (UsProduced, us_produced_free)

/* "key:<8 hex>", "passthrough:<8 hex>" (hashes of the key the provider
 * sees), or "none": which credential a provider answered. Never the key. */
char       *us_continuity_credential (const UsProviderConfig *provider,
                                      SoupMessageHeaders     *client_headers);

/* Whose signed content a request may carry: @target's own only. Content
 * with no known producer counts as @primary's (the chain's first model). */
typedef struct {
  UsProvenance *provenance;
  const char   *target;
  const char   *primary;
} UsOwnership;

/* A copy of @body sharing nothing with it (json_node_copy() shares arrays
 * and objects), for the strip below to edit. */
JsonObject *us_continuity_copy_body  (JsonObject        *body);

/* Removes from @body (a client request of @client_fmt) every piece of
 * signed content @own->target did not produce; returns how many were (or,
 * with @dry_run, would be) removed and how many were kept in @kept. */
guint       us_continuity_strip      (JsonObject        *body,
                                      UsWireFormat       client_fmt,
                                      const UsOwnership *own,
                                      gboolean           dry_run,
                                      guint             *kept);

/* An Anthropic body with thinking on that continues a tool loop whose
 * final assistant message does not start with a thinking block and whose
 * tool calls another provider made: the target refuses it, so thinking
 * (and context_management, whose clear_thinking edit needs it) is turned
 * off. TRUE when (with @dry_run: if) it changes. */
gboolean    us_continuity_thinking_off (JsonObject        *body,
                                        const UsOwnership *own,
                                        gboolean           dry_run);

/* When @ir continues a tool loop (its last message carries tool results):
 * the position in @chain of the model that started the loop in this turn,
 * else -1. */
gint        us_continuity_loop_starter (const UsIrRequest   *ir,
                                        UsProvenance        *provenance,
                                        const UsChainConfig *chain);

G_END_DECLS
