/* us-keyring.h: provider keys in the system keyring (libsecret), cached.
 *
 * Schema io.github.understudy.Understudy.ProviderKey, attributes "provider"
 * and "index" (a key's place in the provider's pool),
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

/* Key pools: a provider may hold several keys, numbered from 1 in the
 * order they were added (attribute "index"; an entry without one, stored
 * before pools, is key 1). A number names a key to a person; the key
 * itself is never shown. */

/* The cached key 1, or NULL (not in the keyring, or not loaded yet). */
const char     *us_keyring_lookup_cached  (UsKeyring           *self,
                                           const char          *provider_id);
/* The cached key number @position (from 1), or NULL. */
const char     *us_keyring_lookup_cached_nth (UsKeyring        *self,
                                           const char          *provider_id,
                                           guint                position);
/* How many keys the cache holds for @provider_id. */
guint           us_keyring_get_n_keys     (UsKeyring           *self,
                                           const char          *provider_id);
/* Whether the cache holds a key for @provider_id (for "Key stored" in the UI). */
gboolean        us_keyring_has_key        (UsKeyring           *self,
                                           const char          *provider_id);
/* Forgets the cached entry, so the next load asks the keyring again
 * (another process changed it: `understudy keys set`). */
void            us_keyring_invalidate     (UsKeyring           *self,
                                           const char          *provider_id);

/* The provider's pool becomes this one key. */
void            us_keyring_store_async    (UsKeyring           *self,
                                           const char          *provider_id,
                                           const char          *key,
                                           GCancellable        *cancellable,
                                           GAsyncReadyCallback  callback,
                                           gpointer             user_data);
gboolean        us_keyring_store_finish   (UsKeyring           *self,
                                           GAsyncResult        *result,
                                           GError             **error);
/* Adds @key at the end of the provider's pool; @position: the number it got. */
void            us_keyring_add_async      (UsKeyring           *self,
                                           const char          *provider_id,
                                           const char          *key,
                                           GCancellable        *cancellable,
                                           GAsyncReadyCallback  callback,
                                           gpointer             user_data);
gboolean        us_keyring_add_finish     (UsKeyring           *self,
                                           GAsyncResult        *result,
                                           guint               *position,
                                           GError             **error);
/* Deletes every key of the provider. */
void            us_keyring_delete_async   (UsKeyring           *self,
                                           const char          *provider_id,
                                           GCancellable        *cancellable,
                                           GAsyncReadyCallback  callback,
                                           gpointer             user_data);
gboolean        us_keyring_delete_finish  (UsKeyring           *self,
                                           GAsyncResult        *result,
                                           GError             **error);

/* Deletes key number @position (from 1); the keys after it move up one.
 * G_IO_ERROR_NOT_FOUND when the pool has fewer keys. */
void            us_keyring_delete_nth_async  (UsKeyring        *self,
                                           const char          *provider_id,
                                           guint                position,
                                           GCancellable        *cancellable,
                                           GAsyncReadyCallback  callback,
                                           gpointer             user_data);
gboolean        us_keyring_delete_nth_finish (UsKeyring        *self,
                                           GAsyncResult        *result,
                                           GError             **error);

/* Signals: "changed" (const char *provider_id): a cached key was added,
 * replaced or removed. */

G_END_DECLS
