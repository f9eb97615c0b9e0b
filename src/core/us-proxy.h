/* us-proxy.h: the local proxy server (libsoup), shared by the app and headless mode. */
#pragma once

#include <libsoup/soup.h>
#include "us-config-store.h"
#include "us-google-auth.h"
#include "us-client-watcher.h"
#include "us-health.h"
#include "us-keyring.h"
#include "us-provenance.h"
#include "us-local-probe.h"
#include "us-plan-windows.h"
#include "us-spend.h"
#include "us-request-log.h"

G_BEGIN_DECLS

#define US_TYPE_PROXY (us_proxy_get_type ())
G_DECLARE_FINAL_TYPE (UsProxy, us_proxy, US, PROXY, GObject)

/* A proxy following @store: each request takes its newest snapshot. */
UsProxy      *us_proxy_new_for_store (UsConfigStore *store);
/* For tests and tools: a store of its own, holding a copy of @config that
 * is never saved. */
UsProxy      *us_proxy_new          (UsConfig     *config);
/* Binds listen.host:listen.port (0 = any free port) and serves. */
gboolean      us_proxy_start        (UsProxy      *self,
                                     GError      **error);
guint         us_proxy_get_port     (UsProxy      *self);
/* http://HOST:PORT/t/TOKEN — what clients are pointed at. */
char         *us_proxy_dup_client_url (UsProxy    *self);
/* The newest snapshot (ref it to keep it across main loop iterations). */
UsConfig     *us_proxy_get_config   (UsProxy      *self);
UsConfigStore *us_proxy_get_store   (UsProxy      *self);
UsRequestLog *us_proxy_get_log      (UsProxy      *self);
UsHealth     *us_proxy_get_health   (UsProxy      *self);
/* Watches the client config files; the window listens to it too. */
UsClientWatcher *us_proxy_get_client_watcher (UsProxy *self);
UsProvenance *us_proxy_get_provenance (UsProxy    *self);
UsSpend      *us_proxy_get_spend    (UsProxy      *self);
UsPlanWindows *us_proxy_get_plan_windows (UsProxy   *self);
UsLocalProbe *us_proxy_get_local_probe (UsProxy     *self);
SoupSession  *us_proxy_get_session  (UsProxy      *self);
/* The keyring the proxy's auth: key providers take their keys from. Their
 * keys are loaded (asynchronously) at us_proxy_start() and again whenever
 * the "config" property changes. */
UsKeyring    *us_proxy_get_keyring  (UsProxy      *self);
/* An auth: key provider's key pool: the keyring's cached keys when it has
 * any, else the key_env variables, numbered from 1 in that order. */
guint         us_proxy_count_keys   (UsProxy      *self,
                                     const UsProviderConfig *provider);
/* Key number @position of the pool; NULL when it has none there (an unset
 * variable). Never a keyring call: the cache only. */
const char   *us_proxy_lookup_nth_key (UsProxy    *self,
                                     const UsProviderConfig *provider,
                                     guint         position);
/* The first key the pool has; NULL when it has none. An auth: aws
 * provider's AWS credentials, in us-aws-credentials.h's JSON form. */
const char   *us_proxy_lookup_key   (UsProxy      *self,
                                     const UsProviderConfig *provider);
/* Where an auth: google provider's tokens come from: one per credentials
 * file (a discovered one shared), so providers with the same credentials
 * share their token and its fetch. */
UsGoogleAuth *us_proxy_get_google_auth (UsProxy    *self,
                                        const UsProviderConfig *provider);
/* The anthropic-beta values a vertex-anthropic provider refused, learnt
 * from its answers (a set of strings, us-vertex.h). */
GHashTable   *us_proxy_get_vertex_rejected_betas (UsProxy    *self,
                                                  const char *provider_id);
/* Whether a keyring load for @provider_id is in flight; a request then
 * waits with us_proxy_wait_for_key_async(), which completes once none is. */
gboolean      us_proxy_is_loading_key      (UsProxy             *self,
                                            const char          *provider_id);
void          us_proxy_wait_for_key_async  (UsProxy             *self,
                                            const char          *provider_id,
                                            GAsyncReadyCallback  callback,
                                            gpointer             user_data);
void          us_proxy_wait_for_key_finish (UsProxy             *self,
                                            GAsyncResult        *result);
/* Forgets @provider_id's cached key and reads it from the keyring again
 * (another process stored or deleted it: `understudy keys set`). */
void          us_proxy_reload_key   (UsProxy      *self,
                                     const char   *provider_id);
/* The store's switch ("routing" property, notified when the store's is). */
gboolean      us_proxy_get_routing  (UsProxy      *self);
void          us_proxy_set_routing  (UsProxy      *self,
                                     gboolean      routing);
/* The status document served at /understudy/status. */
JsonNode     *us_proxy_status_to_json (UsProxy    *self);

G_END_DECLS
