/* us-request-slot.c: one row of the Requests view.
 *
 * The view's rows are slots that stay put while the requests move through
 * them. GTK 4.8 keeps up to 200 rows bound and builds new cell widgets for
 * every row whose item is replaced; with a list of entries, each batch at
 * 200 requests a second replaced every row. A slot only changes its entry,
 * and the cells showing it set whatever text differs.
 */
#include "us-request-slot.h"

struct _UsRequestSlot
{
  GObject parent_instance;

  UsRequestEntry *entry;
};

G_DEFINE_FINAL_TYPE (UsRequestSlot, us_request_slot, G_TYPE_OBJECT)

enum { PROP_0, PROP_ENTRY, N_PROPS };
static GParamSpec *properties[N_PROPS];

static void
us_request_slot_dispose (GObject *object)
{
  g_clear_object (&US_REQUEST_SLOT (object)->entry);
  G_OBJECT_CLASS (us_request_slot_parent_class)->dispose (object);
}

static void
us_request_slot_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  switch (prop_id)
    {
    case PROP_ENTRY:
      g_value_set_object (value, US_REQUEST_SLOT (object)->entry);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
us_request_slot_set_property (GObject      *object,
                              guint         prop_id,
                              const GValue *value,
                              GParamSpec   *pspec)
{
  switch (prop_id)
    {
    case PROP_ENTRY:
      us_request_slot_set_entry (US_REQUEST_SLOT (object), g_value_get_object (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
us_request_slot_class_init (UsRequestSlotClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = us_request_slot_dispose;
  object_class->get_property = us_request_slot_get_property;
  object_class->set_property = us_request_slot_set_property;

  properties[PROP_ENTRY] =
    g_param_spec_object ("entry", NULL, NULL, US_TYPE_REQUEST_ENTRY,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
us_request_slot_init (UsRequestSlot *self)
{
}

UsRequestSlot *
us_request_slot_new (UsRequestEntry *entry)
{
  return g_object_new (US_TYPE_REQUEST_SLOT, "entry", entry, NULL);
}

UsRequestEntry *
us_request_slot_get_entry (UsRequestSlot *self)
{
  g_return_val_if_fail (US_IS_REQUEST_SLOT (self), NULL);
  return self->entry;
}

void
us_request_slot_set_entry (UsRequestSlot  *self,
                           UsRequestEntry *entry)
{
  g_return_if_fail (US_IS_REQUEST_SLOT (self));

  if (g_set_object (&self->entry, entry))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ENTRY]);
}
