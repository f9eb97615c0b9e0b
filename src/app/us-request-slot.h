/* us-request-slot.h: one row of the Requests view, showing whichever
 * request is at its place. */
#pragma once

#include "us-request-entry.h"

G_BEGIN_DECLS

#define US_TYPE_REQUEST_SLOT (us_request_slot_get_type ())
G_DECLARE_FINAL_TYPE (UsRequestSlot, us_request_slot, US, REQUEST_SLOT, GObject)

UsRequestSlot  *us_request_slot_new       (UsRequestEntry *entry);
/* "entry" property. */
UsRequestEntry *us_request_slot_get_entry (UsRequestSlot  *self);
void            us_request_slot_set_entry (UsRequestSlot  *self,
                                           UsRequestEntry *entry);

G_END_DECLS
