/* us-request-entry.h: one proxied request, as the log, GUI and status API see it. */
#pragma once

#include <glib-object.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef enum {
  US_REQUEST_PENDING,    /* trying models */
  US_REQUEST_STREAMING,  /* committed to a model, bytes flowing */
  US_REQUEST_DONE,       /* served */
  US_REQUEST_FAILED,     /* the client got an error */
} UsRequestState;

/* In an attempt's reason: the request did not fit the model's window (a
 * trait of the request, not a failing model). */
#define US_REASON_CONTEXT_WINDOW "over its context window"

typedef struct {
  char   *provider;
  char   *model;
  guint   status;       /* HTTP status from the provider, 0 if none */
  char   *reason;       /* why it failed or was skipped; NULL = served */
  gint64  latency_ms;
  gboolean skipped;     /* passed over, never asked (us-eligibility.h) */
  char   *note;         /* what was changed for this model (signed content
                         * dropped or kept, thinking off, tool loop), or NULL */
  char  **dropped;      /* what translating for it left out, or NULL */
  const char *skip;     /* skipped: why, as us_skip_kind_to_string() names it */
  gint64  until;        /* skipped: unix seconds the skip lasts until; 0 = not timed */
  guint   key;          /* which key of the provider's pool it used (from 1), 0 = none */
} UsAttempt;

#define US_TYPE_REQUEST_ENTRY (us_request_entry_get_type ())
G_DECLARE_FINAL_TYPE (UsRequestEntry, us_request_entry, US, REQUEST_ENTRY, GObject)

UsRequestEntry *us_request_entry_new            (guint64         id,
                                                 const char     *client,
                                                 const char     *session,
                                                 const char     *endpoint,
                                                 const char     *requested_model);
guint64         us_request_entry_get_id         (UsRequestEntry *self);
const char     *us_request_entry_get_client     (UsRequestEntry *self);
const char     *us_request_entry_get_requested_model (UsRequestEntry *self);
const char     *us_request_entry_get_served_provider (UsRequestEntry *self);
const char     *us_request_entry_get_served_model (UsRequestEntry *self);
UsRequestState  us_request_entry_get_state      (UsRequestEntry *self);
/* When the request arrived (UTC). */
GDateTime      *us_request_entry_get_started    (UsRequestEntry *self);
/* The client's HTTP status and error, once finished (0 / NULL before). */
guint           us_request_entry_get_status     (UsRequestEntry *self);
const char     *us_request_entry_get_error      (UsRequestEntry *self);
/* Time to the first byte sent to the client; -1 until then. */
gint64          us_request_entry_get_first_byte_ms (UsRequestEntry *self);
gint64          us_request_entry_get_input_tokens  (UsRequestEntry *self);
gint64          us_request_entry_get_output_tokens (UsRequestEntry *self);
guint           us_request_entry_get_n_attempts (UsRequestEntry *self);
const UsAttempt *us_request_entry_get_attempt   (UsRequestEntry *self,
                                                 guint           index);

/* Starts an attempt; returns its index. */
guint           us_request_entry_begin_attempt  (UsRequestEntry *self,
                                                 const char     *provider,
                                                 const char     *model);
void            us_request_entry_end_attempt    (UsRequestEntry *self,
                                                 guint           index,
                                                 guint           status,
                                                 const char     *reason);
/* The key of the provider's pool attempt @index used, by its number
 * (never its value). */
void            us_request_entry_set_attempt_key (UsRequestEntry *self,
                                                 guint           index,
                                                 guint           key);
void            us_request_entry_note_attempt   (UsRequestEntry *self,
                                                 guint           index,
                                                 const char     *note);
/* Notes on what the request sent for attempt @index left out of the
 * client's (hosted tools another format cannot run, ...). */
void            us_request_entry_set_dropped    (UsRequestEntry     *self,
                                                 guint               index,
                                                 const char * const *notes);
/* A model passed over without a request; @skip is a static string
 * ("cooling-down", us-eligibility.h), @until 0 when not timed. */
void            us_request_entry_add_skipped    (UsRequestEntry *self,
                                                 const char     *provider,
                                                 const char     *model,
                                                 const char     *skip,
                                                 const char     *reason,
                                                 gint64          until);
/* How the request found its chain: the rule's index in the config (-1:
 * none) and a description of what matched (us_route_describe()). */
void            us_request_entry_set_route      (UsRequestEntry *self,
                                                 const char     *chain,
                                                 gint            rule,
                                                 const char     *match);
const char     *us_request_entry_get_chain      (UsRequestEntry *self);
/* -1 when no rule matched. */
gint            us_request_entry_get_rule       (UsRequestEntry *self);
const char     *us_request_entry_get_route_match (UsRequestEntry *self);
void            us_request_entry_set_served     (UsRequestEntry *self,
                                                 const char     *provider,
                                                 const char     *model);
/* The number of the key that served (0 = none, not auth: key). */
void            us_request_entry_set_served_key (UsRequestEntry *self,
                                                 guint           key);
guint           us_request_entry_get_served_key (UsRequestEntry *self);
void            us_request_entry_mark_first_byte (UsRequestEntry *self);
void            us_request_entry_set_usage      (UsRequestEntry *self,
                                                 gint64          input_tokens,
                                                 gint64          output_tokens);
/* What the request cost in USD (its tokens times the model's price). */
void            us_request_entry_set_cost       (UsRequestEntry *self,
                                                 double          usd);
/* < 0 when not known (the model has no price). */
double          us_request_entry_get_cost       (UsRequestEntry *self);
void            us_request_entry_finish         (UsRequestEntry *self,
                                                 guint           status,
                                                 const char     *error);

JsonNode       *us_request_entry_to_json        (UsRequestEntry *self);

G_END_DECLS
