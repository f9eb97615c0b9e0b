/* us-request-entry.c: one proxied request and its attempts. */
#include "us-request-entry.h"

struct _UsRequestEntry
{
  GObject parent_instance;

  guint64 id;
  GDateTime *started;
  gint64 started_us;      /* monotonic */
  char *client;
  char *session;
  char *endpoint;
  char *requested_model;
  char *chain;            /* the chain the route gave, and how */
  gint rule;
  char *route_match;
  GArray *attempts;       /* UsAttempt */
  GArray *attempt_start_us;
  char *served_provider;
  char *served_model;
  guint served_key;
  UsRequestState state;
  guint status;
  char *error;
  gint64 first_byte_ms;   /* -1 until then */
  gint64 total_ms;        /* -1 until finished */
  gint64 input_tokens;
  gint64 output_tokens;
  double cost_usd;        /* < 0 while unknown (no price) */
};

G_DEFINE_FINAL_TYPE (UsRequestEntry, us_request_entry, G_TYPE_OBJECT)

enum { PROP_0, PROP_STATE, PROP_SERVED_MODEL, N_PROPS };
static GParamSpec *properties[N_PROPS];

enum { CHANGED, N_SIGNALS };
static guint signals[N_SIGNALS];

static void
attempt_clear (gpointer data)
{
  UsAttempt *a = data;

  g_free (a->provider);
  g_free (a->model);
  g_free (a->reason);
  g_free (a->note);
  g_strfreev (a->dropped);
}

static void
us_request_entry_finalize (GObject *object)
{
  UsRequestEntry *self = US_REQUEST_ENTRY (object);

  g_date_time_unref (self->started);
  g_free (self->client);
  g_free (self->session);
  g_free (self->endpoint);
  g_free (self->requested_model);
  g_free (self->chain);
  g_free (self->route_match);
  g_array_unref (self->attempts);
  g_array_unref (self->attempt_start_us);
  g_free (self->served_provider);
  g_free (self->served_model);
  g_free (self->error);

  G_OBJECT_CLASS (us_request_entry_parent_class)->finalize (object);
}

static void
us_request_entry_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  UsRequestEntry *self = US_REQUEST_ENTRY (object);

  switch (prop_id)
    {
    case PROP_STATE:
      g_value_set_int (value, self->state);
      break;
    case PROP_SERVED_MODEL:
      g_value_set_string (value, self->served_model);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
us_request_entry_class_init (UsRequestEntryClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = us_request_entry_finalize;
  object_class->get_property = us_request_entry_get_property;

  properties[PROP_STATE] =
    g_param_spec_int ("state", NULL, NULL, US_REQUEST_PENDING, US_REQUEST_FAILED,
                      US_REQUEST_PENDING, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_SERVED_MODEL] =
    g_param_spec_string ("served-model", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* Emitted after every change, so views and the event stream follow live. */
  signals[CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                   0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
us_request_entry_init (UsRequestEntry *self)
{
  self->attempts = g_array_new (FALSE, TRUE, sizeof (UsAttempt));
  g_array_set_clear_func (self->attempts, attempt_clear);
  self->attempt_start_us = g_array_new (FALSE, TRUE, sizeof (gint64));
  self->first_byte_ms = -1;
  self->total_ms = -1;
  self->cost_usd = -1;
  self->rule = -1;
}

UsRequestEntry *
us_request_entry_new (guint64     id,
                      const char *client,
                      const char *session,
                      const char *endpoint,
                      const char *requested_model)
{
  UsRequestEntry *self = g_object_new (US_TYPE_REQUEST_ENTRY, NULL);

  self->id = id;
  self->started = g_date_time_new_now_utc ();
  self->started_us = g_get_monotonic_time ();
  self->client = g_strdup (client);
  self->session = g_strdup (session);
  self->endpoint = g_strdup (endpoint);
  self->requested_model = g_strdup (requested_model);
  return self;
}

guint64
us_request_entry_get_id (UsRequestEntry *self)
{
  return self->id;
}

const char *
us_request_entry_get_client (UsRequestEntry *self)
{
  return self->client;
}

const char *
us_request_entry_get_requested_model (UsRequestEntry *self)
{
  return self->requested_model;
}

const char *
us_request_entry_get_served_provider (UsRequestEntry *self)
{
  return self->served_provider;
}

const char *
us_request_entry_get_served_model (UsRequestEntry *self)
{
  return self->served_model;
}

UsRequestState
us_request_entry_get_state (UsRequestEntry *self)
{
  return self->state;
}

GDateTime *
us_request_entry_get_started (UsRequestEntry *self)
{
  return self->started;
}

guint
us_request_entry_get_status (UsRequestEntry *self)
{
  return self->status;
}

const char *
us_request_entry_get_error (UsRequestEntry *self)
{
  return self->error;
}

gint64
us_request_entry_get_first_byte_ms (UsRequestEntry *self)
{
  return self->first_byte_ms;
}

gint64
us_request_entry_get_input_tokens (UsRequestEntry *self)
{
  return self->input_tokens;
}

gint64
us_request_entry_get_output_tokens (UsRequestEntry *self)
{
  return self->output_tokens;
}

guint
us_request_entry_get_n_attempts (UsRequestEntry *self)
{
  return self->attempts->len;
}

const UsAttempt *
us_request_entry_get_attempt (UsRequestEntry *self,
                              guint           index)
{
  g_return_val_if_fail (index < self->attempts->len, NULL);
  return &g_array_index (self->attempts, UsAttempt, index);
}

static void
emit_changed (UsRequestEntry *self)
{
  g_signal_emit (self, signals[CHANGED], 0);
}

static guint
append_attempt (UsRequestEntry *self,
                const char     *provider,
                const char     *model,
                const char     *reason,
                gboolean        skipped)
{
  UsAttempt a = { g_strdup (provider), g_strdup (model), 0, g_strdup (reason), 0, skipped, NULL, NULL, NULL, 0, 0 };
  gint64 now = g_get_monotonic_time ();

  g_array_append_val (self->attempts, a);
  g_array_append_val (self->attempt_start_us, now);
  return self->attempts->len - 1;
}

guint
us_request_entry_begin_attempt (UsRequestEntry *self,
                                const char     *provider,
                                const char     *model)
{
  guint index = append_attempt (self, provider, model, NULL, FALSE);

  emit_changed (self);
  return index;
}

void
us_request_entry_set_dropped (UsRequestEntry     *self,
                              guint               index,
                              const char * const *notes)
{
  UsAttempt *a;

  g_return_if_fail (US_IS_REQUEST_ENTRY (self));
  g_return_if_fail (index < self->attempts->len);
  a = &g_array_index (self->attempts, UsAttempt, index);
  g_strfreev (a->dropped);
  a->dropped = notes != NULL && notes[0] != NULL ? g_strdupv ((char **) notes) : NULL;
  emit_changed (self);
}

void
us_request_entry_end_attempt (UsRequestEntry *self,
                              guint           index,
                              guint           status,
                              const char     *reason)
{
  UsAttempt *a;

  g_return_if_fail (index < self->attempts->len);

  a = &g_array_index (self->attempts, UsAttempt, index);
  a->status = status;
  g_free (a->reason);
  a->reason = g_strdup (reason);
  a->latency_ms = (g_get_monotonic_time () - g_array_index (self->attempt_start_us, gint64, index)) / 1000;
  emit_changed (self);
}

void
us_request_entry_note_attempt (UsRequestEntry *self,
                               guint           index,
                               const char     *note)
{
  UsAttempt *a;

  g_return_if_fail (index < self->attempts->len);

  a = &g_array_index (self->attempts, UsAttempt, index);
  g_free (a->note);
  a->note = g_strdup (note);
  emit_changed (self);
}

void
us_request_entry_set_attempt_key (UsRequestEntry *self,
                                  guint           index,
                                  guint           key)
{
  g_return_if_fail (index < self->attempts->len);
  g_array_index (self->attempts, UsAttempt, index).key = key;
  emit_changed (self);
}

void
us_request_entry_set_served_key (UsRequestEntry *self,
                                 guint           key)
{
  self->served_key = key;
  emit_changed (self);
}

guint
us_request_entry_get_served_key (UsRequestEntry *self)
{
  return self->served_key;
}

void
us_request_entry_add_skipped (UsRequestEntry *self,
                              const char     *provider,
                              const char     *model,
                              const char     *skip,
                              const char     *reason,
                              gint64          until)
{
  guint index = append_attempt (self, provider, model, reason, TRUE);
  UsAttempt *a = &g_array_index (self->attempts, UsAttempt, index);

  a->skip = skip;
  a->until = until;
  emit_changed (self);
}

void
us_request_entry_set_route (UsRequestEntry *self,
                            const char     *chain,
                            gint            rule,
                            const char     *match)
{
  g_free (self->chain);
  self->chain = g_strdup (chain);
  self->rule = rule;
  g_free (self->route_match);
  self->route_match = g_strdup (match);
  emit_changed (self);
}

const char *
us_request_entry_get_chain (UsRequestEntry *self)
{
  return self->chain;
}

gint
us_request_entry_get_rule (UsRequestEntry *self)
{
  return self->rule;
}

const char *
us_request_entry_get_route_match (UsRequestEntry *self)
{
  return self->route_match;
}

void
us_request_entry_set_served (UsRequestEntry *self,
                             const char     *provider,
                             const char     *model)
{
  g_free (self->served_provider);
  self->served_provider = g_strdup (provider);
  g_free (self->served_model);
  self->served_model = g_strdup (model);
  self->state = US_REQUEST_STREAMING;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SERVED_MODEL]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
  emit_changed (self);
}

void
us_request_entry_mark_first_byte (UsRequestEntry *self)
{
  if (self->first_byte_ms < 0)
    self->first_byte_ms = (g_get_monotonic_time () - self->started_us) / 1000;
}

void
us_request_entry_set_usage (UsRequestEntry *self,
                            gint64          input_tokens,
                            gint64          output_tokens)
{
  self->input_tokens = input_tokens;
  self->output_tokens = output_tokens;
}

void
us_request_entry_set_cost (UsRequestEntry *self,
                           double          usd)
{
  self->cost_usd = usd;
}

double
us_request_entry_get_cost (UsRequestEntry *self)
{
  return self->cost_usd;
}

void
us_request_entry_finish (UsRequestEntry *self,
                         guint           status,
                         const char     *error)
{
  self->status = status;
  g_free (self->error);
  self->error = g_strdup (error);
  self->total_ms = (g_get_monotonic_time () - self->started_us) / 1000;
  self->state = (status >= 200 && status < 300 && error == NULL) ? US_REQUEST_DONE : US_REQUEST_FAILED;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
  emit_changed (self);
}

static const char *
state_to_string (UsRequestState state)
{
  switch (state)
    {
    case US_REQUEST_PENDING: return "pending";
    case US_REQUEST_STREAMING: return "streaming";
    case US_REQUEST_DONE: return "done";
    case US_REQUEST_FAILED: return "failed";
    default: g_assert_not_reached ();
    }
}

static void
add_optional_int (JsonBuilder *b,
                  const char  *name,
                  gint64       value)
{
  json_builder_set_member_name (b, name);
  if (value < 0)
    json_builder_add_null_value (b);
  else
    json_builder_add_int_value (b, value);
}

JsonNode *
us_request_entry_to_json (UsRequestEntry *self)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autofree char *time = g_date_time_format_iso8601 (self->started);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "id");
  json_builder_add_int_value (b, (gint64) self->id);
  json_builder_set_member_name (b, "time");
  json_builder_add_string_value (b, time);
  json_builder_set_member_name (b, "client");
  json_builder_add_string_value (b, self->client);
  json_builder_set_member_name (b, "session");
  json_builder_add_string_value (b, self->session);
  json_builder_set_member_name (b, "endpoint");
  json_builder_add_string_value (b, self->endpoint);
  json_builder_set_member_name (b, "requested_model");
  json_builder_add_string_value (b, self->requested_model);
  json_builder_set_member_name (b, "state");
  json_builder_add_string_value (b, state_to_string (self->state));
  json_builder_set_member_name (b, "status");
  json_builder_add_int_value (b, self->status);
  json_builder_set_member_name (b, "error");
  json_builder_add_string_value (b, self->error);
  json_builder_set_member_name (b, "served_provider");
  json_builder_add_string_value (b, self->served_provider);
  json_builder_set_member_name (b, "served_model");
  json_builder_add_string_value (b, self->served_model);
  if (self->served_key > 0)
    {
      json_builder_set_member_name (b, "served_key");
      json_builder_add_int_value (b, self->served_key);
    }
  add_optional_int (b, "first_byte_ms", self->first_byte_ms);
  add_optional_int (b, "total_ms", self->total_ms);
  json_builder_set_member_name (b, "input_tokens");
  json_builder_add_int_value (b, self->input_tokens);
  json_builder_set_member_name (b, "output_tokens");
  json_builder_add_int_value (b, self->output_tokens);
  json_builder_set_member_name (b, "cost_usd");
  if (self->cost_usd >= 0)
    json_builder_add_double_value (b, self->cost_usd);
  else
    json_builder_add_null_value (b);

  json_builder_set_member_name (b, "route");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "chain");
  json_builder_add_string_value (b, self->chain);
  add_optional_int (b, "rule", self->rule);
  json_builder_set_member_name (b, "match");
  json_builder_add_string_value (b, self->route_match);
  json_builder_end_object (b);

  json_builder_set_member_name (b, "attempts");
  json_builder_begin_array (b);
  for (guint i = 0; i < self->attempts->len; i++)
    {
      const UsAttempt *a = &g_array_index (self->attempts, UsAttempt, i);

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "provider");
      json_builder_add_string_value (b, a->provider);
      json_builder_set_member_name (b, "model");
      json_builder_add_string_value (b, a->model);
      if (a->key > 0)
        {
          json_builder_set_member_name (b, "key");
          json_builder_add_int_value (b, a->key);
        }
      json_builder_set_member_name (b, "status");
      json_builder_add_int_value (b, a->status);
      json_builder_set_member_name (b, "reason");
      json_builder_add_string_value (b, a->reason);
      json_builder_set_member_name (b, "latency_ms");
      json_builder_add_int_value (b, a->latency_ms);
      json_builder_set_member_name (b, "skipped");
      json_builder_add_boolean_value (b, a->skipped);
      if (a->skip != NULL)
        {
          json_builder_set_member_name (b, "skip");
          json_builder_add_string_value (b, a->skip);
        }
      if (a->until > 0)
        {
          g_autoptr(GDateTime) until = g_date_time_new_from_unix_utc (a->until);
          g_autofree char *text = g_date_time_format_iso8601 (until);

          json_builder_set_member_name (b, "until");
          json_builder_add_string_value (b, text);
        }
      if (a->note != NULL)
        {
          json_builder_set_member_name (b, "note");
          json_builder_add_string_value (b, a->note);
        }
      if (a->dropped != NULL)
        {
          json_builder_set_member_name (b, "dropped");
          json_builder_begin_array (b);
          for (guint j = 0; a->dropped[j] != NULL; j++)
            json_builder_add_string_value (b, a->dropped[j]);
          json_builder_end_array (b);
        }
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);

  return json_builder_get_root (b);
}
