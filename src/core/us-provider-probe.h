/* us-provider-probe.h: "Test" for a provider — one tiny request through the
 * core (the proxy's session, the provider's own wire format, its auth), and
 * either the answer's text or an error a person can act on. */
#pragma once

#include "us-proxy.h"

G_BEGIN_DECLS

#define US_PROVIDER_PROBE_ERROR (us_provider_probe_error_quark ())
GQuark us_provider_probe_error_quark (void);

typedef enum {
  US_PROVIDER_PROBE_ERROR_NO_PROVIDER,   /* no provider with that id */
  US_PROVIDER_PROBE_ERROR_UNSUPPORTED,   /* a kind the core cannot reach yet */
  US_PROVIDER_PROBE_ERROR_NO_KEY,        /* auth: key and no key anywhere */
  US_PROVIDER_PROBE_ERROR_KEY_REJECTED,  /* 401 / 403 */
  US_PROVIDER_PROBE_ERROR_HTTP,          /* any other error status */
  US_PROVIDER_PROBE_ERROR_CONNECTION,    /* refused, reset, TLS, DNS */
  US_PROVIDER_PROBE_ERROR_TIMEOUT,
  US_PROVIDER_PROBE_ERROR_INVALID,       /* 2xx, but not an answer we can read */
} UsProviderProbeError;

/* A model to test @provider_id with: the first one a chain names for it,
 * else its preset's suggestion; NULL when there is none. */
char     *us_provider_probe_pick_model (UsConfig            *config,
                                        const char          *provider_id);

/* Sends "Say OK" (a few output tokens at most) to @model at @provider_id as
 * the proxy's newest configuration has it. Fails after @timeout_ms without
 * a response. Error messages carry the HTTP status and the provider's own
 * message; the key is never in them. Cancelling gives G_IO_ERROR_CANCELLED. */
void      us_provider_probe_async      (UsProxy             *proxy,
                                        const char          *provider_id,
                                        const char          *model,
                                        guint                timeout_ms,
                                        GCancellable        *cancellable,
                                        GAsyncReadyCallback  callback,
                                        gpointer             user_data);
/* The answer's text (may be empty when the model spent its few tokens
 * thinking), or NULL with @error. */
char     *us_provider_probe_finish     (GAsyncResult        *result,
                                        GError             **error);

G_END_DECLS
