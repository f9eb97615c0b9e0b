/* us-keyring.h: provider keys in the system keyring (libsecret), cached.
 *
 * Schema io.github.understudy.Understudy.ProviderKey, attribute "provider",
 * collection SECRET_COLLECTION_DEFAULT. Every keyring call is asynchronous;
 * the request path only reads the in-memory cache, filled ahead of time by
 * us_keyring_load_async() and kept current by set/delete.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef enum {
  US_KEYRING_UNKNOWN,    /* not asked yet */
  US_KEYRING_AVAILABLE,
  US_KEYRING_LOCKED,     /* the user must unlock it (Passwords and Keys, or log in again) */
  US_KEYRING_MISSING,    /* no Secret Service on the session bus */
} UsKeyringState;

#define US_TYPE_KEYRING (us_keyring_get_type ())
G_DECLARE_FINAL_TYPE (UsKeyring, us_keyring, US, KEYRING, GObject)

UsKeyring      *us_keyring_new            (void);

/* "state" property, and "message": for a person, what is wrong and what to
 * do (NULL when available). Keys then come from key_env. */
UsKeyringState  us_keyring_get_state      (UsKeyring           *self);
const char     *us_keyring_get_message    (UsKeyring           *self);

/* Looks up the keys of @provider_ids (NULL-terminated) into the cache. */
void            us_keyring_load_async     (UsKeyring           *self,
                                           const char * const  *provider_ids,
                                           GCancellable        *cancellable,
                                           GAsyncReadyCallback  callback,
                                           gpointer             user_data);
gboolean        us_keyring_load_finish    (UsKeyring           *self,
                                           GAsyncResult        *result,
                                           GError             **error);

/* The cached key, or NULL (not in the keyring, or not loaded yet). */
const char     *us_keyring_lookup_cached  (UsKeyring           *self,
                                           const char          *provider_id);
/* Whether the cache holds a key for @provider_id (for "Key stored" in the UI). */
gboolean        us_keyring_has_key        (UsKeyring           *self,
                                           const char          *provider_id);
/* Forgets the cached entry, so the next load asks the keyring again
 * (another process changed it: `understudy keys set`). */
void            us_keyring_invalidate     (UsKeyring           *self,
                                           const char          *provider_id);

void            us_keyring_store_async    (UsKeyring           *self,
                                           const char          *provider_id,
                                           const char          *key,
                                           GCancellable        *cancellable,
                                           GAsyncReadyCallback  callback,
                                           gpointer             user_data);
gboolean        us_keyring_store_finish   (UsKeyring           *self,
                                           GAsyncResult        *result,
                                           GError             **error);
void            us_keyring_delete_async   (UsKeyring           *self,
                                           const char          *provider_id,
                                           GCancellable        *cancellable,
                                           GAsyncReadyCallback  callback,
                                           gpointer             user_data);
gboolean        us_keyring_delete_finish  (UsKeyring           *self,
                                           GAsyncResult        *result,
                                           GError             **error);

/* Signals: "changed" (const char *provider_id): a cached key was added,
 * replaced or removed. */

G_END_DECLS
