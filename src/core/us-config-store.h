/* us-config-store.h: the one owner of the running configuration.
 *
 * Every edit (window, tray, command line, the file itself) goes through the
 * store: it is applied to a copy of the document, validated, published as a
 * new immutable UsConfig snapshot, and saved atomically. Saves and client
 * rewiring run one after another on a worker, so the last edit always wins.
 * Each new proxied request takes the newest snapshot; requests in flight
 * keep the one they started with.
 */
#pragma once

#include "us-config.h"

G_BEGIN_DECLS

#define US_TYPE_CONFIG_STORE (us_config_store_get_type ())
G_DECLARE_FINAL_TYPE (UsConfigStore, us_config_store, US, CONFIG_STORE, GObject)

/* Takes @initial as the first snapshot; saves go to us_config_get_path (initial)
 * (NULL: never saved, never monitored — for tests). A missing listen.token is
 * generated in @initial first (and saved), since clients' URLs carry it. */
UsConfigStore *us_config_store_new              (UsConfig       *initial);
/* The newest snapshot ("config" property, notified on each publish). Never
 * modify it: take a ref to keep it. */
UsConfig      *us_config_store_get_config       (UsConfigStore  *self);

/* "routing" property: the switch the tray, window and command line share. */
gboolean       us_config_store_get_routing      (UsConfigStore  *self);
void           us_config_store_set_routing      (UsConfigStore  *self,
                                                 gboolean        routing);
/* "notifications" property ($.desktop.notifications, default TRUE). */
gboolean       us_config_store_get_notifications (UsConfigStore *self);
void           us_config_store_set_notifications (UsConfigStore *self,
                                                 gboolean        enabled);

/* The base URL clients are pointed at; once set, a routing change also
 * rewires every connected client (on: to @url, off: restored), serialized
 * with the saves. */
void           us_config_store_set_client_url   (UsConfigStore  *self,
                                                 const char     *url);

/* Edits. Each validates the whole new document; on failure nothing changes
 * and @error says which field is wrong (JSON path). */
gboolean       us_config_store_move_model       (UsConfigStore  *self,
                                                 const char     *chain_id,
                                                 guint           from,
                                                 guint           to,
                                                 GError        **error);
/* @position -1 appends. */
gboolean       us_config_store_add_model        (UsConfigStore  *self,
                                                 const char     *chain_id,
                                                 const char     *provider_id,
                                                 const char     *model,
                                                 int             position,
                                                 GError        **error);
gboolean       us_config_store_remove_model     (UsConfigStore  *self,
                                                 const char     *chain_id,
                                                 guint           index,
                                                 GError        **error);
/* Replaces the provider with the same "id", or appends it. Keys other than
 * the ones Understudy knows are kept. Never a key: those go to the keyring. */
gboolean       us_config_store_set_provider     (UsConfigStore  *self,
                                                 JsonObject     *provider,
                                                 GError        **error);
/* Refused while a chain still uses the provider. */
gboolean       us_config_store_remove_provider  (UsConfigStore  *self,
                                                 const char     *id,
                                                 GError        **error);

/* Blocks until every queued save and rewire has finished. For shutdown and
 * tests only, never on the request path. */
void           us_config_store_sync             (UsConfigStore  *self);

/* Signals:
 *   "file-error" (const char *message): the file was edited by hand into
 *     something invalid (message has the path of the bad field), or a save
 *     failed; the running config stays as it was. While the file is invalid
 *     edits are published but not saved over it (each says so once).
 */

G_END_DECLS
