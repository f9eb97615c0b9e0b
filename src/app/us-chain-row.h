/* us-chain-row.h: one model of a chain, draggable, with move/remove actions. */
#pragma once

#include <adwaita.h>
#include "us-config.h"
#include "us-health.h"

G_BEGIN_DECLS

#define US_TYPE_CHAIN_ROW (us_chain_row_get_type ())
G_DECLARE_FINAL_TYPE (UsChainRow, us_chain_row, US, CHAIN_ROW, AdwActionRow)

/* @index is the model's position in the chain of @n_models; @health may be NULL. */
UsChainRow *us_chain_row_new           (const char         *chain_id,
                                        guint               index,
                                        guint               n_models,
                                        const UsChainModel *model,
                                        UsHealth           *health);
const char *us_chain_row_get_chain_id  (UsChainRow         *self);
guint       us_chain_row_get_index     (UsChainRow         *self);
const char *us_chain_row_get_provider  (UsChainRow         *self);
const char *us_chain_row_get_model     (UsChainRow         *self);
/* Reads the model's health again (after UsHealth::changed). */
void        us_chain_row_update_health (UsChainRow         *self);

/* Signals:
 *   "move-row" (UsChainRow *destination): put this row's model where
 *     @destination's is (drop, row.move-up, row.move-down).
 *   "remove-row": row.remove.
 */

G_END_DECLS
