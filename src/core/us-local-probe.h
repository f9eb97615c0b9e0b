/* us-local-probe.h: is a local model server (Ollama, LM Studio, llama.cpp)
 * running, and which models does it have?
 *
 * A local server is the offline last resort at the end of a chain; when it
 * is not running, or still loading and not answering, asking it would cost
 * a first-byte timeout. So before a request goes to one, a GET of its
 * OpenAI-compatible /models with a short timeout says whether it is there.
 * The answer is kept a few seconds (longer when up than when down, so a
 * server just started is picked up soon), and requests that come meanwhile
 * share one probe.
 */
#pragma once

#include <libsoup/soup.h>

#include "us-config.h"

G_BEGIN_DECLS

/* How long a probe may take before the server counts as down. */
#define US_LOCAL_PROBE_TIMEOUT_MS 1000

#define US_TYPE_LOCAL_PROBE (us_local_probe_get_type ())
G_DECLARE_FINAL_TYPE (UsLocalProbe, us_local_probe, US, LOCAL_PROBE, GObject)

/* Providers made from a local preset (us_preset_is_local()). */
gboolean      us_provider_is_local           (const UsProviderConfig *provider);

UsLocalProbe *us_local_probe_new             (SoupSession            *session);
/* TRUE when @provider is local and no recent probe says how it is. */
gboolean      us_local_probe_needs_check     (UsLocalProbe           *self,
                                              const UsProviderConfig *provider);
/* Why a recent probe found @provider down ("connection refused", …), or
 * NULL when it is up, not local, or not probed lately. */
const char   *us_local_probe_get_problem     (UsLocalProbe           *self,
                                              const UsProviderConfig *provider);
/* Probes @provider's server unless a probe of it is on its way; completes
 * once the answer is known (it never fails: the answer is in the cache). */
void          us_local_probe_check_async     (UsLocalProbe           *self,
                                              const UsProviderConfig *provider,
                                              GAsyncReadyCallback     callback,
                                              gpointer                user_data);
void          us_local_probe_check_finish    (UsLocalProbe           *self,
                                              GAsyncResult           *result);

/* The ids the server at @base_url lists (GET @base_url/models, the OpenAI
 * shape {"data": [{"id": …}]}), or NULL with @error. */
void          us_local_list_models_async     (SoupSession            *session,
                                              const char             *base_url,
                                              guint                   timeout_ms,
                                              GCancellable           *cancellable,
                                              GAsyncReadyCallback     callback,
                                              gpointer                user_data);
GStrv         us_local_list_models_finish    (GAsyncResult           *result,
                                              GError                **error);

G_END_DECLS
