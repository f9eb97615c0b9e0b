/* us-request-job.c: one client request walking down its chain of models.
 *
 * Each attempt sends the request to one model. Before the commit point (the
 * first content event of a stream, or a whole 2xx response) any failure
 * moves on to the next model and leaves no trace in what the client
 * receives; after it, a failure becomes an error event in the client's own
 * stream format.
 */
#include "us-request-job.h"

#include "us-bedrock.h"
#include "us-bedrock-converse.h"
#include "us-continuity.h"
#include "us-eligibility.h"
#include "us-event-stream.h"
#include "us-failover.h"
#include "us-keepalive.h"
#include "us-upstream.h"
#include "us-vertex.h"

#define READ_CHUNK 16384
#define MAX_WHOLE_BODY (64 * 1024 * 1024)
/* A stream queues at most this much for a slow client before the upstream
 * read waits, and reads again once the client is down to LOW_WATER. */
#define HIGH_WATER (256 * 1024)
#define LOW_WATER (64 * 1024)

struct _UsRequestJob
{
  GObject parent_instance;

  UsProxy *proxy;
  UsConfig *config;             /* keeps chain and providers alive */
  SoupServerMessage *msg;
  UsWireFormat client_fmt;
  gboolean count_tokens;
  UsIrRequest *ir;
  JsonNode *body;
  GBytes *body_bytes;
  const UsChainConfig *chain;
  gboolean failover;
  UsRequestEntry *entry;

  GArray *order;                /* chain positions in the order to try */
  gint loop_starter;            /* chain position that started the tool loop, or -1 */
  guint next;                   /* next index into @order */
  guint n_tried;                /* attempts, another key of the same model included */
  guint models_tried;           /* models asked */
  guint key_retry;              /* after a key failed: the first key to try next on the same model, 0 = none */
  guint first_status;           /* the first HTTP error, for an exhausted chain */
  GBytes *first_error;
  UsWireFormat first_fmt;
  SoupMessageHeaders *first_headers;
  GString *failures;            /* "provider/model: reason; …" */
  gboolean client_gone;
  gboolean done;                /* the client has its whole answer */
  gboolean finished;            /* the server message is over */
  gsize queued;                 /* appended to the response, not yet written */
  gboolean waiting_client;      /* upstream read paused; holds a reference */
  GSource *client_watch;        /* the client's socket, until the commit point */

  /* The attempt in flight. */
  const UsProviderConfig *provider;
  const UsChainModel *chain_model; /* health is kept per chain entry ("*" included) */
  char *model;                     /* the model name sent */
  guint key;                       /* its key's number in the provider's pool, 0 = none */
  UsWireFormat fmt;
  guint attempt;
  SoupMessage *upstream;
  GInputStream *stream;
  GCancellable *cancellable;
  guint timer;
  const char *timer_reason;     /* what the armed timer means */
  const char *timeout_reason;   /* set once it fired */
  gboolean new_connection;      /* the upstream message opened its connection */
  gboolean resent;              /* once, after a reused connection failed */
  gboolean streaming;
  UsStreamTranslator *translator;
  GString *held;                /* client bytes held until the commit point */
  gboolean committed;
  GByteArray *whole;
  UsProduced *produced;         /* signed content and tool calls it made */
  char *credential;             /* which credential it answered, hashed */
  char *token;                  /* auth: google's access token for it */
  gboolean betas_retried;       /* sent again without betas Vertex refused */
  gboolean probing;             /* it is the probe of a half-open circuit */
};

G_DEFINE_FINAL_TYPE (UsRequestJob, us_request_job, G_TYPE_OBJECT)

static void try_next (UsRequestJob *self);
static void stop_client_watch (UsRequestJob *self);

static void
clear_attempt (UsRequestJob *self)
{
  g_clear_handle_id (&self->timer, g_source_remove);
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->stream);
  g_clear_object (&self->upstream);
  g_clear_pointer (&self->translator, us_stream_translator_free);
  if (self->held != NULL)
    g_string_free (g_steal_pointer (&self->held), TRUE);
  g_clear_pointer (&self->whole, g_byte_array_unref);
  g_clear_pointer (&self->model, g_free);
  g_clear_pointer (&self->produced, us_produced_free);
  g_clear_pointer (&self->credential, g_free);
  g_clear_pointer (&self->token, g_free);
  if (self->probing)
    us_health_circuit_release (us_proxy_get_health (self->proxy), self->provider->id, self->chain_model->model);
  self->probing = FALSE;
  self->provider = NULL;
  self->chain_model = NULL;
  self->key = 0;
  self->timeout_reason = NULL;
  self->new_connection = FALSE;
  self->resent = FALSE;
  self->betas_retried = FALSE;
}

static void
us_request_job_finalize (GObject *object)
{
  UsRequestJob *self = US_REQUEST_JOB (object);

  clear_attempt (self);
  g_clear_object (&self->proxy);
  g_clear_object (&self->config);
  g_clear_object (&self->msg);
  g_clear_pointer (&self->ir, us_ir_request_free);
  g_clear_pointer (&self->body, json_node_unref);
  g_clear_pointer (&self->body_bytes, g_bytes_unref);
  g_clear_object (&self->entry);
  g_clear_pointer (&self->first_error, g_bytes_unref);
  g_clear_pointer (&self->first_headers, soup_message_headers_unref);
  g_clear_pointer (&self->order, g_array_unref);
  stop_client_watch (self);
  g_string_free (self->failures, TRUE);

  G_OBJECT_CLASS (us_request_job_parent_class)->finalize (object);
}

static void
us_request_job_class_init (UsRequestJobClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = us_request_job_finalize;
}

static void
us_request_job_init (UsRequestJob *self)
{
  self->failures = g_string_new (NULL);
}

/* ---- Answering the client ---------------------------------------------- */

static void
add_understudy_headers (UsRequestJob       *self,
                        SoupMessageHeaders *headers)
{
  g_autofree char *attempts = g_strdup_printf ("%u", self->n_tried);

  if (self->provider != NULL)
    {
      g_autofree char *served = g_strconcat (self->provider->id, "/", self->model, NULL);
      soup_message_headers_replace (headers, "x-understudy-model", served);
    }
  soup_message_headers_replace (headers, "x-understudy-attempts", attempts);
}

static void
answer_whole (UsRequestJob *self,
              guint         status,
              GBytes       *body)
{
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (self->msg);
  gsize len;
  const char *data = g_bytes_get_data (body, &len);

  self->done = TRUE;
  stop_client_watch (self);
  add_understudy_headers (self, headers);
  soup_server_message_set_status (self->msg, status, NULL);
  soup_server_message_set_response (self->msg, "application/json", SOUP_MEMORY_COPY, data, len);
  soup_server_message_unpause (self->msg);
}

static void
answer_error (UsRequestJob *self,
              guint         status,
              const char   *message)
{
  g_autoptr(GBytes) body = us_error_body (self->client_fmt, status, us_error_type_for_status (status), message);

  answer_whole (self, status, body);
}

static void
write_client (UsRequestJob *self,
              const char   *data,
              gsize         len)
{
  if (len == 0 || self->finished)
    return;
  self->queued += len;
  soup_message_body_append (soup_server_message_get_response_body (self->msg), SOUP_MEMORY_COPY, data, len);
  soup_server_message_unpause (self->msg);
}

static void
end_client_stream (UsRequestJob *self)
{
  self->done = TRUE;
  soup_message_body_complete (soup_server_message_get_response_body (self->msg));
  soup_server_message_unpause (self->msg);
}

/* Same format: the provider's own headers (request ids, rate limits) are
 * the client's business too. Another format's headers mean nothing to the
 * client, except rate limits and plan windows, which its usage meters read. */
static void
copy_headers_from (UsRequestJob       *self,
                   SoupMessageHeaders *upstream,
                   UsWireFormat        fmt)
{
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (self->msg);
  SoupMessageHeadersIter iter;
  const char *name, *value;

  if (upstream == NULL)
    return;
  soup_message_headers_iter_init (&iter, upstream);
  while (soup_message_headers_iter_next (&iter, &name, &value))
    {
      if (us_upstream_is_hop_header (name) || us_upstream_is_own_header (name)
          || g_ascii_strcasecmp (name, "content-type") == 0)
        continue;
      if (fmt == self->client_fmt || us_upstream_is_rate_limit_header (name))
        soup_message_headers_append (headers, name, value);
    }
}

static void
copy_upstream_headers (UsRequestJob *self)
{
  copy_headers_from (self, soup_message_get_response_headers (self->upstream), self->fmt);
}

/* ---- Recording --------------------------------------------------------- */

/* Tokens, cost, and the model's spend that budgets count. */
static void
record_usage (UsRequestJob  *self,
              const UsUsage *usage)
{
  const UsPrice *price = self->chain_model->price;
  UsUsage none = { 0 };
  double usd = 0;

  if (usage == NULL)
    usage = &none;
  us_request_entry_set_usage (self->entry, usage->input_tokens + usage->cache_read_tokens + usage->cache_write_tokens,
                              usage->output_tokens);
  if (price != NULL)
    {
      usd = us_price_cost (price, usage->input_tokens, usage->output_tokens,
                           usage->cache_read_tokens, usage->cache_write_tokens);
      us_request_entry_set_cost (self->entry, usd);
    }
  /* Counting tokens is not spending them. */
  if (!self->count_tokens)
    us_spend_record (us_proxy_get_spend (self->proxy), self->provider->id, self->chain_model->model,
                     usage->input_tokens + usage->cache_read_tokens + usage->cache_write_tokens
                     + usage->output_tokens, usd);
}

/* A key of the pool hit its limit (a 429, or a plan window at the
 * threshold), or the provider refused or would not bill it while the pool
 * has another: that key cools down for @seconds. Once no key of the pool
 * is left, the model cools down until the first of them is back. TRUE
 * when a later key of the pool may take the request. */
static gboolean
key_failed (UsRequestJob *self,
            double        seconds,
            const char   *reason)
{
  UsHealth *health = us_proxy_get_health (self->proxy);
  const char *provider = self->provider->id, *model = self->chain_model->model;
  guint n = us_proxy_count_keys (self->proxy, self->provider);
  gint64 now = g_get_real_time ();
  gint64 back = G_MAXINT64;
  gboolean later = FALSE;

  if (seconds > 0)
    us_health_cool_down_key (health, provider, model, self->key, seconds, reason);
  for (guint p = 1; p <= n; p++)
    {
      gint64 until;

      if (us_proxy_lookup_nth_key (self->proxy, self->provider, p) == NULL)
        continue;
      until = us_health_get_key_cooldown_until_us (health, provider, model, p);
      if (until == 0)
        {
          later = later || p > self->key;
          back = 0;
        }
      else
        back = MIN (back, until);
    }
  if (back > now && back != G_MAXINT64)
    {
      g_autofree char *all = n > 1 ? g_strdup_printf ("%s (every key)", reason) : g_strdup (reason);

      us_health_cool_down_pool (health, provider, model, (double) (back - now) / G_USEC_PER_SEC, all);
    }
  return later;
}

/* Is this failure the key's rather than the model's? A rate limit is per
 * key; a refused key or billing is the key's only when the pool has
 * another to try (a pool of one keeps marking the model, for the user to
 * fix). With routing off there is nothing else to try. */
static gboolean
is_key_fault (UsRequestJob *self,
              guint         status)
{
  if (self->key == 0 || !self->failover)
    return FALSE;
  return status == 429 ||
         ((status == 401 || status == 402) && us_proxy_count_keys (self->proxy, self->provider) > 1);
}

static void
served (UsRequestJob *self)
{
  SoupMessageHeaders *headers = soup_message_get_response_headers (self->upstream);
  const UsFailoverConfig *fo = us_config_get_failover (self->config);
  UsHealth *health = us_proxy_get_health (self->proxy);
  double quota;

  us_request_entry_end_attempt (self->entry, self->attempt, soup_message_get_status (self->upstream), NULL);
  us_request_entry_set_served (self->entry, self->provider->id, self->model);
  us_request_entry_set_served_key (self->entry, self->key);
  us_health_mark_ok (health, self->provider->id, self->chain_model->model);
  if (self->key > 0)
    us_health_mark_key_ok (health, self->provider->id, self->chain_model->model, self->key);
  us_health_circuit_record (health, self->provider->id, self->chain_model->model, fo, TRUE);
  self->probing = FALSE;

  /* Switch before the hard limit: this request is served, the next goes on. */
  quota = us_failover_quota_cooldown (headers, fo->quota_threshold, fo->cooldown_s);
  if (quota > 0 && self->failover && self->key > 0)
    key_failed (self, quota, US_PROBLEM_QUOTA_THRESHOLD);
  else if (quota > 0 && self->failover)
    us_health_cool_down (health, self->provider->id, self->chain_model->model, quota, US_PROBLEM_QUOTA_THRESHOLD);
}

/* What this attempt produced is the provider's from now on: a later
 * request carrying it goes there and nowhere else. */
static void
record_produced (UsRequestJob *self)
{
  if (self->produced != NULL)
    us_produced_commit (self->produced, us_proxy_get_provenance (self->proxy),
                        self->provider->id, self->model, self->credential);
}

/* ---- Failing over ------------------------------------------------------ */

static void
note_failure (UsRequestJob *self,
              const char   *reason)
{
  if (self->failures->len > 0)
    g_string_append (self->failures, "; ");
  g_string_append_printf (self->failures, "%s/%s", self->provider->id, self->model);
  if (self->key > 0 && us_proxy_count_keys (self->proxy, self->provider) > 1)
    g_string_append_printf (self->failures, " (key %u)", self->key);
  g_string_append_printf (self->failures, ": %s", reason);
}

/* @model_fault: the failure says the model is not working (not that it
 * cannot take this one request), which counts towards its circuit. */
static void
attempt_failed_full (UsRequestJob *self,
                     guint         status,
                     const char   *reason,
                     gboolean      model_fault)
{
  if (model_fault)
    {
      us_health_circuit_record (us_proxy_get_health (self->proxy), self->provider->id, self->chain_model->model,
                                us_config_get_failover (self->config), FALSE);
      self->probing = FALSE;
    }
  us_request_entry_end_attempt (self->entry, self->attempt, status, reason);
  note_failure (self, reason);
  clear_attempt (self);
  try_next (self);
}

static void
attempt_failed (UsRequestJob *self,
                guint         status,
                const char   *reason)
{
  attempt_failed_full (self, status, reason, TRUE);
}

static void
chain_exhausted (UsRequestJob *self)
{
  g_autofree char *message = NULL;

  if (self->count_tokens)
    {
      /* No provider could count: Claude Code accepts an estimate. */
      g_autofree char *json = g_strdup_printf ("{\"input_tokens\":%" G_GINT64_FORMAT "}",
                                               us_ir_request_estimate_input_tokens (self->ir));
      g_autoptr(GBytes) body = g_bytes_new_take (g_steal_pointer (&json), strlen (json));

      us_request_entry_finish (self->entry, 200, NULL);
      answer_whole (self, 200, body);
      return;
    }

  if (self->first_error != NULL)
    {
      g_autoptr(GBytes) body = us_translate_error (self->first_fmt, self->client_fmt, self->first_status,
                                                   self->first_error);

      us_request_entry_finish (self->entry, self->first_status, self->failures->str);
      copy_headers_from (self, self->first_headers, self->first_fmt);
      answer_whole (self, self->first_status, body);
      return;
    }

  message = g_strdup_printf ("Understudy: no model in chain \"%s\" could answer (%s)",
                             self->chain->id, self->failures->len ? self->failures->str : "none available");
  us_request_entry_finish (self->entry, SOUP_STATUS_BAD_GATEWAY, message);
  answer_error (self, SOUP_STATUS_BAD_GATEWAY, message);
}

/* After the commit point the client has content: the failure is told in
 * its own stream format and the response ends. */
static void
fail_after_commit (UsRequestJob *self,
                   const char   *reason)
{
  g_autoptr(GString) out = g_string_new (NULL);
  g_autofree char *message = g_strdup_printf ("Understudy: upstream %s/%s failed mid-stream: %s",
                                              self->provider->id, self->model, reason);

  us_stream_translator_fail (self->translator, "api_error", message, out);
  write_client (self, out->str, out->len);
  end_client_stream (self);
  record_usage (self, us_stream_translator_get_usage (self->translator));
  record_produced (self);
  us_request_entry_finish (self->entry, 200, message);
  clear_attempt (self);
}

/* ---- Timers ------------------------------------------------------------ */

static gboolean
on_timeout (gpointer data)
{
  UsRequestJob *self = data;

  self->timer = 0;
  self->timeout_reason = self->timer_reason;
  g_cancellable_cancel (self->cancellable);
  return G_SOURCE_REMOVE;
}

static void
arm_timer (UsRequestJob *self,
           double        seconds,
           const char   *reason)
{
  g_clear_handle_id (&self->timer, g_source_remove);
  self->timer_reason = reason;
  self->timer = g_timeout_add ((guint) (seconds * 1000), on_timeout, self);
}

/* ---- Reading the upstream response ------------------------------------- */

static void read_more (UsRequestJob *self);
static void continue_stream (UsRequestJob *self);
static SoupMessage *new_upstream (UsRequestJob *self, GError **error);
static void on_sent (GObject *source, GAsyncResult *result, gpointer data);

static void
commit (UsRequestJob *self)
{
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (self->msg);

  copy_upstream_headers (self);
  soup_message_headers_replace (headers, "Content-Type", "text/event-stream; charset=utf-8");
  soup_message_headers_replace (headers, "Cache-Control", "no-cache");
  soup_message_headers_set_encoding (headers, SOUP_ENCODING_CHUNKED);
  soup_message_body_set_accumulate (soup_server_message_get_response_body (self->msg), FALSE);
  add_understudy_headers (self, headers);
  soup_server_message_set_status (self->msg, SOUP_STATUS_OK, NULL);

  self->committed = TRUE;
  /* From here on libsoup writes, and so notices a client that has gone. */
  stop_client_watch (self);
  served (self);
  write_client (self, self->held->str, self->held->len);
  g_string_truncate (self->held, 0);
}

/* The client is the slow side: the upstream waits (and so does the idle
 * timer, since the upstream is not the one idling) until the client has
 * taken most of what is queued. */
static void
continue_stream (UsRequestJob *self)
{
  if (self->queued <= HIGH_WATER)
    {
      read_more (self);
      return;
    }
  g_clear_handle_id (&self->timer, g_source_remove);
  self->waiting_client = TRUE;
  g_object_ref (self);
}

/* Drops the reference a paused read holds; may finalize @self. */
static void
stop_waiting (UsRequestJob *self)
{
  if (!self->waiting_client)
    return;
  self->waiting_client = FALSE;
  g_object_unref (self);
}

static void
on_wrote_body_data (SoupServerMessage *msg,
                    guint              chunk_size,
                    UsRequestJob      *self)
{
  self->queued -= MIN (self->queued, chunk_size);
  if (self->waiting_client && self->queued <= LOW_WATER && self->stream != NULL)
    {
      g_object_ref (self);
      stop_waiting (self);
      read_more (self);
      g_object_unref (self);
    }
}

/* FALSE when the attempt failed here. */
static gboolean
stream_chunk (UsRequestJob *self,
              const char   *data,
              gsize         len)
{
  const char *type, *message;

  us_stream_translator_push (self->translator, data, len, self->held);

  if (!self->committed && us_stream_translator_get_error (self->translator, &type, &message))
    {
      g_autofree char *reason = g_strdup_printf ("stream error before content: %s", type ? type : "error");

      /* The in-stream forms of 529 and 429 cool the model (or the key) down as those do. */
      if (g_strcmp0 (type, "rate_limit_error") == 0 && is_key_fault (self, 429))
        {
          if (key_failed (self, us_config_get_failover (self->config)->cooldown_s, "rate limited"))
            self->key_retry = self->key + 1;
        }
      else if (g_strcmp0 (type, "overloaded_error") == 0 || g_strcmp0 (type, "rate_limit_error") == 0)
        us_health_cool_down (us_proxy_get_health (self->proxy), self->provider->id, self->chain_model->model,
                             us_config_get_failover (self->config)->cooldown_s,
                             g_str_equal (type, "overloaded_error") ? "overloaded" : "rate limited");
      attempt_failed_full (self, 200, reason, g_strcmp0 (type, "rate_limit_error") != 0);
      return FALSE;
    }
  if (!self->committed && us_stream_translator_has_content (self->translator))
    commit (self);
  else if (self->committed)
    {
      write_client (self, self->held->str, self->held->len);
      g_string_truncate (self->held, 0);
    }
  return TRUE;
}

static void
stream_ended (UsRequestJob *self)
{
  if (!us_stream_translator_is_complete (self->translator))
    {
      if (self->committed)
        fail_after_commit (self, "the stream ended without its final event");
      else
        attempt_failed (self, 200, "the stream ended before any content");
      return;
    }

  /* A complete stream without content (an empty answer) commits at its end. */
  if (!self->committed)
    commit (self);
  us_stream_translator_finish (self->translator, self->held);
  write_client (self, self->held->str, self->held->len);
  end_client_stream (self);
  record_usage (self, us_stream_translator_get_usage (self->translator));
  record_produced (self);
  us_request_entry_finish (self->entry, 200, NULL);
  clear_attempt (self);
}

static void
whole_error (UsRequestJob *self,
             guint         status)
{
  const UsFailoverConfig *fo = us_config_get_failover (self->config);
  UsHealth *health = us_proxy_get_health (self->proxy);
  SoupMessageHeaders *headers = soup_message_get_response_headers (self->upstream);
  g_autoptr(GBytes) body = g_byte_array_free_to_bytes (g_steal_pointer (&self->whole));
  g_autofree char *reason = NULL;
  gboolean overflow;
  UsVerdict verdict;

  /* Bedrock's {"message"} read from here on as Anthropic's error. */
  if (self->provider->kind == US_PROVIDER_KIND_BEDROCK)
    {
      GBytes *anthropic = us_bedrock_error_body (headers, status, body);

      g_bytes_unref (body);
      body = anthropic;
    }

  /* Vertex names the anthropic-beta values it does not take: this model
   * gets the request once more without them, and never sees them again. */
  if (status == SOUP_STATUS_BAD_REQUEST && us_vertex_edits_body (self->provider) && !self->betas_retried
      && us_vertex_learn_rejected_betas (us_proxy_get_vertex_rejected_betas (self->proxy, self->provider->id), body))
    {
      g_autoptr(SoupMessage) again = new_upstream (self, NULL);

      if (again != NULL)
        {
          us_request_entry_note_attempt (self->entry, self->attempt,
                                         "sent again without the anthropic-beta values Vertex refused");
          self->betas_retried = TRUE;
          g_clear_object (&self->stream);
          g_set_object (&self->upstream, again);
          arm_timer (self, fo->first_byte_timeout_s, "first-byte timeout");
          soup_session_send_async (us_proxy_get_session (self->proxy), self->upstream, G_PRIORITY_DEFAULT,
                                   self->cancellable, on_sent, g_object_ref (self));
          return;
        }
    }

  /* A refused token (revoked, or expired early) is fetched anew next time,
   * rather than refused for the rest of its hour. */
  if (status == SOUP_STATUS_UNAUTHORIZED && self->provider->auth == US_AUTH_GOOGLE)
    us_google_auth_forget_token (us_proxy_get_google_auth (self->proxy, self->provider), self->token);

  us_failover_judge (status, headers, fo, &verdict);

  /* Over the window is this model's limit, not a bad request: a model
   * further down may have room, even when this is the first one. */
  overflow = verdict.kind == US_VERDICT_REQUEST_ERROR && us_error_is_context_overflow (self->fmt, status, body);
  if (verdict.kind == US_VERDICT_REQUEST_ERROR && !overflow && self->models_tried == 1)
    {
      /* A bad request is bad everywhere: the client gets it unchanged. */
      g_autoptr(GBytes) client_body = us_translate_error (self->fmt, self->client_fmt, status, body);

      us_request_entry_end_attempt (self->entry, self->attempt, status, "request rejected");
      us_request_entry_finish (self->entry, status, "request rejected by the first model");
      copy_upstream_headers (self);
      answer_whole (self, status, client_body);
      clear_attempt (self);
      return;
    }

  if (self->first_error == NULL)
    {
      self->first_error = g_bytes_ref (body);
      self->first_status = status;
      self->first_fmt = self->fmt;
      self->first_headers = soup_message_headers_ref (headers);
    }
  if (is_key_fault (self, status))
    {
      /* The next key of the pool takes the same request before the next model. */
      if (key_failed (self, status == 429 ? verdict.cooldown_s : fo->cooldown_s, verdict.problem))
        self->key_retry = self->key + 1;
    }
  else if (verdict.cooldown_s > 0)
    us_health_cool_down (health, self->provider->id, self->chain_model->model, verdict.cooldown_s, verdict.problem);
  else if (verdict.problem != NULL)
    us_health_mark (health, self->provider->id, self->chain_model->model, verdict.problem);

  reason = g_strdup_printf ("HTTP %u %s", status,
                            overflow ? US_REASON_CONTEXT_WINDOW
                            : verdict.problem ? verdict.problem : "cannot take this request");
  /* Only breakage counts towards the circuit: a rate limit is quota, which
   * the cooldown handles until its reset, and a rejected key, billing or
   * a wrong model name are marked for the user to fix, and must serve as
   * soon as they are fixed. */
  attempt_failed_full (self, status, reason, status >= 500 || status == 408);
}

static void
whole_ended (UsRequestJob *self)
{
  guint status = soup_message_get_status (self->upstream);
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GBytes) client_body = NULL;
  g_autoptr(GError) error = NULL;
  UsUsage usage = { 0 };

  if (status < 200 || status >= 300)
    {
      whole_error (self, status);
      return;
    }

  body = g_byte_array_free_to_bytes (g_steal_pointer (&self->whole));
  /* Bedrock's Converse answer, read from here on as an Anthropic one. */
  if (self->provider->kind == US_PROVIDER_KIND_BEDROCK && !us_bedrock_is_claude (self->model))
    {
      GBytes *anthropic = us_bedrock_converse_response (body, self->model, &error);

      if (anthropic == NULL)
        {
          g_autofree char *reason = g_strdup_printf ("unreadable response: %s", error->message);

          attempt_failed (self, status, reason);
          return;
        }
      g_bytes_unref (body);
      body = anthropic;
    }
  if (self->fmt == self->client_fmt || self->count_tokens)
    {
      client_body = g_bytes_ref (body);
      us_response_read_usage (self->fmt, body, &usage);
    }
  else
    {
      client_body = us_translate_response_for_request (self->fmt, self->client_fmt, body,
                                                       us_ir_request_get_model (self->ir), self->ir,
                                                       &usage, &error);
      if (client_body == NULL)
        {
          g_autofree char *reason = g_strdup_printf ("unreadable response: %s", error->message);
          attempt_failed (self, status, reason);
          return;
        }
    }

  served (self);
  record_usage (self, &usage);
  if (!self->count_tokens)
    {
      self->produced = us_produced_new ();
      us_produced_scan (self->produced, self->fmt, body);
      record_produced (self);
    }
  us_request_entry_finish (self->entry, 200, NULL);
  copy_upstream_headers (self);
  answer_whole (self, 200, client_body);
  clear_attempt (self);
}

static void
read_failed (UsRequestJob *self,
             const GError *error)
{
  const char *reason = self->timeout_reason && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)
                       ? self->timeout_reason : error->message;

  if (self->committed)
    fail_after_commit (self, reason);
  else
    attempt_failed (self, self->streaming ? 200 : soup_message_get_status (self->upstream), reason);
}

static void
read_ended (UsRequestJob *self)
{
  g_clear_handle_id (&self->timer, g_source_remove);
  if (self->streaming)
    stream_ended (self);
  else
    whole_ended (self);
}

/* libsoup's chunked body stream gives one HTTP chunk per read, and most
 * providers send one SSE event per chunk: what has already arrived is
 * taken now, without waiting, so that a burst of events costs one
 * main-loop turn and one write to the client rather than one per event. */
static void
stream_arrived (UsRequestJob *self,
                GBytes       *first)
{
  g_autoptr(GByteArray) more = NULL;
  g_autoptr(GError) error = NULL;
  gboolean eof = FALSE;
  gsize len;
  const char *data = g_bytes_get_data (first, &len);

  if (G_IS_POLLABLE_INPUT_STREAM (self->stream)
      && g_pollable_input_stream_can_poll (G_POLLABLE_INPUT_STREAM (self->stream)))
    {
      guint8 buf[READ_CHUNK];

      while (len < READ_CHUNK)
        {
          gssize n = g_pollable_input_stream_read_nonblocking (G_POLLABLE_INPUT_STREAM (self->stream), buf,
                                                               READ_CHUNK - len, NULL, &error);

          if (n <= 0)
            {
              eof = n == 0;
              if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
                g_clear_error (&error);
              break;
            }
          if (more == NULL)
            more = g_byte_array_append (g_byte_array_sized_new (READ_CHUNK), (const guint8 *) data, len);
          g_byte_array_append (more, buf, n);
          data = (const char *) more->data;
          len = more->len;
        }
    }

  if (!stream_chunk (self, data, len) || self->stream == NULL)
    return;
  if (eof)
    read_ended (self);
  else if (error != NULL)
    read_failed (self, error);
  else
    continue_stream (self);
}

static void
on_read (GObject      *source,
         GAsyncResult *result,
         gpointer      data)
{
  g_autoptr(UsRequestJob) self = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = g_input_stream_read_bytes_finish (G_INPUT_STREAM (source), result, &error);

  if (self->client_gone || self->stream != G_INPUT_STREAM (source))
    return;

  if (bytes == NULL)
    {
      read_failed (self, error);
      return;
    }

  if (g_bytes_get_size (bytes) == 0)
    {
      read_ended (self);
      return;
    }

  us_request_entry_mark_first_byte (self->entry);
  if (self->streaming)
    {
      stream_arrived (self, bytes);
      return;
    }
  if (self->whole->len + g_bytes_get_size (bytes) > MAX_WHOLE_BODY)
    {
      attempt_failed (self, soup_message_get_status (self->upstream), "response too large");
      return;
    }
  g_byte_array_append (self->whole, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  read_more (self);
}

static void
read_more (UsRequestJob *self)
{
  /* Before the commit point the clock is time to the first content:
   * comments, pings and message_start keep a stream open, not alive. */
  if (!self->streaming || self->committed)
    arm_timer (self, us_config_get_failover (self->config)->idle_timeout_s, "idle timeout");
  g_input_stream_read_bytes_async (self->stream, READ_CHUNK, G_PRIORITY_DEFAULT, self->cancellable,
                                   on_read, g_object_ref (self));
}

static void
on_sent (GObject      *source,
         GAsyncResult *result,
         gpointer      data)
{
  g_autoptr(UsRequestJob) self = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GInputStream) stream = soup_session_send_finish (SOUP_SESSION (source), result, &error);
  guint status;

  if (self->client_gone)
    return;

  if (stream == NULL)
    {
      g_autofree char *text = g_strdup_printf ("connection failed: %s", error->message);

      /* A provider may close an idle connection just as it is reused, and
       * libsoup resends only idempotent methods: this model never saw the
       * request, so it gets it once more, on a new connection. */
      if (!self->new_connection && !self->resent && self->timeout_reason == NULL &&
          !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_autoptr(SoupMessage) again = new_upstream (self, NULL);

          if (again != NULL)
            {
              self->resent = TRUE;
              soup_message_add_flags (again, SOUP_MESSAGE_NEW_CONNECTION);
              g_set_object (&self->upstream, again);
              soup_session_send_async (SOUP_SESSION (source), self->upstream, G_PRIORITY_DEFAULT,
                                       self->cancellable, on_sent, g_object_ref (self));
              return;
            }
        }
      attempt_failed (self, 0, self->timeout_reason ? self->timeout_reason : text);
      return;
    }

  self->stream = g_steal_pointer (&stream);
  status = soup_message_get_status (self->upstream);
  /* Served or refused, the answer says how much of the plan is left. */
  us_plan_windows_note_key (us_proxy_get_plan_windows (self->proxy), self->provider->id, self->chain_model->model,
                            self->key, soup_message_get_response_headers (self->upstream));
  self->streaming = status >= 200 && status < 300 && !self->count_tokens &&
                    us_ir_request_get_stream (self->ir);
  /* Bedrock frames the Anthropic stream in AWS event-stream messages:
   * read through the decoder, the rest of the way sees Anthropic SSE, and
   * a broken message is a read error like a broken connection. */
  if (self->streaming && self->provider->kind == US_PROVIDER_KIND_BEDROCK)
    {
      g_autoptr(UsEventStreamDecoder) decoder = us_bedrock_is_claude (self->model)
                                                ? us_event_stream_decoder_new ()
                                                : us_event_stream_decoder_new_converse (self->model);
      GInputStream *framed = self->stream;

      self->stream = g_converter_input_stream_new (framed, G_CONVERTER (decoder));
      g_object_unref (framed);
    }
  if (self->streaming)
    {
      self->translator = us_stream_translator_new (self->fmt, self->client_fmt, us_ir_request_get_model (self->ir));
      /* Undoes what encoding changed, such as shortened tool names. */
      us_stream_translator_set_request (self->translator, self->ir);
      /* Watched in every mode, pass-through included: bytes stay as they are. */
      self->produced = us_produced_new ();
      us_stream_translator_set_observer (self->translator, us_produced_observe, self->produced);
      self->held = g_string_new (NULL);
    }
  else
    self->whole = g_byte_array_new ();
  read_more (self);
}

/* ---- Attempts ---------------------------------------------------------- */

static GBytes *
json_to_bytes (JsonNode *node)
{
  gsize len;
  char *text = json_to_string (node, FALSE);

  len = strlen (text);
  return g_bytes_new_take (text, len);
}

static gboolean
exceeds_max (JsonObject         *obj,
             const char * const *fields,
             gint64              max)
{
  for (guint i = 0; max > 0 && fields[i]; i++)
    if (json_object_get_int_member_with_default (obj, fields[i], 0) > max)
      return TRUE;
  return FALSE;
}

static JsonObject *
copy_object (JsonObject *obj)
{
  JsonObject *copy = json_object_new ();
  JsonObjectIter iter;
  const char *name;
  JsonNode *member;

  /* Member by member: json_node_copy() of the root would share (and let
   * this attempt edit) the client's body, which later attempts start from. */
  json_object_iter_init (&iter, obj);
  while (json_object_iter_next (&iter, &name, &member))
    json_object_set_member (copy, name, json_node_copy (member));
  return copy;
}

/* Says in the request log what this attempt's body differs in, and why. */
static void
note_continuity (UsRequestJob *self,
                 guint         dropped,
                 guint         kept,
                 gboolean      thinking_off)
{
  g_autoptr(GString) note = g_string_new (NULL);

  if (self->loop_starter >= 0)
    {
      const UsChainModel *cm = g_ptr_array_index (self->chain->models, self->loop_starter);

      g_string_append_printf (note, "tool loop started by %s/%s", cm->provider, cm->model);
    }
  if (dropped > 0 || kept > 0)
    g_string_append_printf (note, "%ssigned content: %u dropped, %u kept", note->len ? "; " : "", dropped, kept);
  if (thinking_off)
    g_string_append_printf (note, "%sthinking off (no own thinking block opens the loop)", note->len ? "; " : "");
  if (note->len > 0)
    us_request_entry_note_attempt (self->entry, self->attempt, note->str);
}

/* The body this attempt sends: the client's bytes when nothing changes
 * (pass-through), the client's JSON edited on the same wire format (model,
 * max tokens, signed content the provider did not produce, thinking in a
 * tool loop it cannot continue), or an encoding of the IR for another
 * format. */
static GBytes *
attempt_body (UsRequestJob       *self,
              const UsChainModel *cm,
              GError            **error)
{
  static const char * const max_fields[] = { "max_tokens", "max_completion_tokens", "max_output_tokens", NULL };
  JsonObject *obj = json_node_get_object (self->body);
  const UsChainModel *primary = g_ptr_array_index (self->chain->models, 0);
  UsOwnership own = { us_proxy_get_provenance (self->proxy), self->provider->id, primary->provider };
  g_autoptr(JsonObject) edited = NULL;
  g_autoptr(JsonNode) node = NULL;
  guint kept = 0;
  /* count_tokens bodies too: Anthropic checks their signatures as well. */
  guint foreign = us_continuity_strip (obj, self->client_fmt, &own, TRUE, &kept);

  note_continuity (self, foreign, kept, FALSE);

  if (self->fmt != self->client_fmt)
    {
      g_autoptr(UsIrRequest) stripped = NULL;
      g_autoptr(JsonNode) encoded = NULL;
      g_auto(GStrv) dropped = NULL;

      if (foreign > 0)
        {
          node = us_json_node_take_object (us_continuity_copy_body (obj));
          us_continuity_strip (json_node_get_object (node), self->client_fmt, &own, FALSE, NULL);
          stripped = us_ir_request_decode (self->client_fmt, node, error);
          if (stripped == NULL)
            return NULL;
        }
      encoded = us_ir_request_encode (stripped ? stripped : self->ir, self->fmt, self->model,
                                      cm->max_output_tokens, error);
      if (encoded != NULL)
        us_vertex_edit_body (self->provider, json_node_get_object (encoded), self->count_tokens);
      dropped = us_ir_request_dropped_for (stripped ? stripped : self->ir, self->fmt);
      us_request_entry_set_dropped (self->entry, self->attempt, (const char * const *) dropped);
      return encoded ? json_to_bytes (encoded) : NULL;
    }

  if (!exceeds_max (obj, max_fields, cm->max_output_tokens) && foreign == 0 &&
      !us_vertex_edits_body (self->provider) &&
      !(self->fmt == US_WIRE_ANTHROPIC && us_continuity_thinking_off (obj, &own, TRUE)))
    {
      GBytes *renamed;

      if (g_strcmp0 (json_object_get_string_member_with_default (obj, "model", NULL), self->model) == 0)
        return g_bytes_ref (self->body_bytes);
      /* Only the model changes: the client's bytes with the new name, not
       * a copy of the whole (often large) body serialised again. */
      renamed = us_json_replace_string_member (self->body_bytes, "model", self->model);
      if (renamed != NULL)
        return renamed;
    }

  /* Stripping edits arrays inside, which a member-wise copy would share. */
  edited = foreign > 0 ? us_continuity_copy_body (obj) : copy_object (obj);
  json_object_set_string_member (edited, "model", self->model);
  for (guint i = 0; cm->max_output_tokens > 0 && max_fields[i]; i++)
    if (json_object_get_int_member_with_default (edited, max_fields[i], 0) > cm->max_output_tokens)
      json_object_set_int_member (edited, max_fields[i], cm->max_output_tokens);
  if (foreign > 0)
    us_continuity_strip (edited, self->client_fmt, &own, FALSE, NULL);
  us_vertex_edit_body (self->provider, edited, self->count_tokens);
  if (self->fmt == US_WIRE_ANTHROPIC && us_continuity_thinking_off (edited, &own, FALSE))
    note_continuity (self, foreign, kept, TRUE);
  node = json_node_init_object (json_node_alloc (), edited);
  return json_to_bytes (node);
}

static void
on_network_event (SoupMessage        *msg,
                  GSocketClientEvent  event,
                  GIOStream          *connection,
                  UsRequestJob       *self)
{
  if (event == G_SOCKET_CLIENT_CONNECTING)
    self->new_connection = TRUE;
}

/* This attempt's upstream message; NULL with @error. */
static SoupMessage *
new_upstream (UsRequestJob  *self,
              GError       **error)
{
  const char *query = g_uri_get_query (soup_server_message_get_uri (self->msg));
  g_autoptr(GBytes) body = attempt_body (self, self->chain_model, error);
  /* From the keyring's cache or key_env (this attempt's key of the pool;
   * for bedrock its AWS credentials), or the token fetched before the
   * attempt: never a keyring or network call here. */
  const char *key = self->provider->auth == US_AUTH_AWS ? us_proxy_lookup_key (self->proxy, self->provider)
                    : self->provider->auth != US_AUTH_KEY ? self->token
                    : self->key > 0 ? us_proxy_lookup_nth_key (self->proxy, self->provider, self->key) : NULL;
  SoupMessage *msg;

  if (body == NULL)
    return NULL;
  msg = us_upstream_new_message (self->provider, self->model, key, self->client_fmt,
                                 us_ir_request_get_stream (self->ir) && !self->count_tokens, self->count_tokens, query,
                                 soup_server_message_get_request_headers (self->msg), body, error);
  if (msg != NULL && self->provider->auth == US_AUTH_GOOGLE)
    {
      const char *quota = us_google_auth_get_quota_project (us_proxy_get_google_auth (self->proxy, self->provider));

      if (quota != NULL)
        soup_message_headers_replace (soup_message_get_request_headers (msg), "x-goog-user-project", quota);
    }
  if (msg != NULL && us_vertex_edits_body (self->provider))
    us_vertex_drop_betas (soup_message_get_request_headers (msg),
                          us_proxy_get_vertex_rejected_betas (self->proxy, self->provider->id));
  /* A reused connection never reports connecting. */
  if (msg != NULL)
    g_signal_connect_object (msg, "network-event", G_CALLBACK (on_network_event), self, 0);
  return msg;
}

/* Passed over without being asked (us-eligibility.h): the request log
 * says why. */
static gboolean
eligible (UsRequestJob       *self,
          const UsChainModel *cm)
{
  g_auto(UsSkip) skip = { 0 };

  if (us_eligibility_check (us_proxy_get_health (self->proxy), us_proxy_get_spend (self->proxy),
                            us_proxy_get_local_probe (self->proxy), us_config_get_failover (self->config), self->provider, cm, self->ir,
                            &self->probing, &skip))
    return TRUE;
  us_request_entry_add_skipped (self->entry, self->provider->id, self->model, us_skip_kind_to_string (skip.kind),
                                skip.reason, skip.until);
  /* An exhausted chain's answer says why these were not asked: traits of
   * the request or of local limits, not failures of the model. */
  if (skip.kind == US_SKIP_CONTEXT_WINDOW || skip.kind == US_SKIP_OVER_BUDGET)
    note_failure (self, skip.reason);
  return FALSE;
}

/* The key this attempt sends: the first of the pool, from number @first,
 * that has a value and (with routing on) is not cooling down. FALSE, and
 * the model is skipped, when the pool has keys and none of them can go. */
static gboolean
choose_key (UsRequestJob *self,
            guint         first)
{
  UsHealth *health = us_proxy_get_health (self->proxy);
  guint n;
  gboolean any = FALSE;

  self->key = 0;
  if (self->provider->auth != US_AUTH_KEY)
    return TRUE;
  n = us_proxy_count_keys (self->proxy, self->provider);
  for (guint p = MAX (first, 1); p <= n; p++)
    {
      if (us_proxy_lookup_nth_key (self->proxy, self->provider, p) == NULL)
        continue;
      any = TRUE;
      if (self->failover && us_health_is_key_cooling (health, self->provider->id, self->chain_model->model, p))
        continue;
      self->key = p;
      return TRUE;
    }
  /* No key at all: the upstream message fails saying how to give one. */
  if (!any)
    return first <= 1;
  {
    const char *reason = "every key cooling down";
    gint64 back = 0;

    /* Until the first of them is back. */
    for (guint p = MAX (first, 1); p <= n; p++)
      {
        gint64 until = us_health_get_key_cooldown_until_us (health, self->provider->id, self->chain_model->model, p);

        if (until > 0 && (back == 0 || until < back))
          back = until;
      }
    us_request_entry_add_skipped (self->entry, self->provider->id, self->model,
                                  us_skip_kind_to_string (US_SKIP_COOLING_DOWN), reason,
                                  back > 0 ? (back + G_USEC_PER_SEC - 1) / G_USEC_PER_SEC : 0);
    note_failure (self, reason);
  }
  return FALSE;
}

/* @first_key: from which key of the pool (a later one when an earlier
 * key of the same model failed). */

/* Sends this attempt's request, once it has what it needs to. */
static gboolean
send_attempt (UsRequestJob *self)
{
  g_autoptr(GError) error = NULL;

  self->upstream = new_upstream (self, &error);
  if (self->upstream == NULL)
    {
      /* Not this model's fault to cool down: it was never asked. */
      us_request_entry_end_attempt (self->entry, self->attempt, 0, error->message);
      note_failure (self, error->message);
      clear_attempt (self);
      return FALSE;
    }
  soup_session_send_async (us_proxy_get_session (self->proxy), self->upstream, G_PRIORITY_DEFAULT,
                           self->cancellable, on_sent, g_object_ref (self));
  return TRUE;
}

static void
on_token (GObject      *source,
          GAsyncResult *result,
          gpointer      data)
{
  g_autoptr(UsRequestJob) self = data;
  g_autoptr(GError) error = NULL;
  g_autofree char *token = us_google_auth_get_token_finish (US_GOOGLE_AUTH (source), result, &error);
  g_autofree char *reason = NULL;

  /* A wait cancelled by anything but the first-byte timer belongs to an
   * attempt that is over (the client left). */
  if (self->client_gone || self->provider == NULL
      || (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) && self->timeout_reason == NULL))
    return;
  if (token != NULL)
    {
      self->token = g_steal_pointer (&token);
      if (!send_attempt (self))
        try_next (self);
      return;
    }
  if (self->timeout_reason != NULL)
    {
      attempt_failed (self, 0, self->timeout_reason);
      return;
    }
  /* A token endpoint that fails is the provider failing; credentials that
   * cannot be used are the user's to fix, and no model's fault. */
  reason = g_strdup_printf ("no Google token: %s", error->message);
  attempt_failed_full (self, 0, reason,
                       !g_error_matches (error, US_GOOGLE_AUTH_ERROR, US_GOOGLE_AUTH_ERROR_CREDENTIALS));
}

static gboolean
start_attempt (UsRequestJob       *self,
               const UsChainModel *cm,
               guint               first_key)
{
  const UsProviderConfig *provider = us_config_lookup_provider (self->config, cm->provider);
  const char *requested = us_ir_request_get_model (self->ir);

  self->provider = provider;
  self->chain_model = cm;
  self->model = g_strdup (g_str_equal (cm->model, "*") && requested ? requested : cm->model);
  if (!us_upstream_wire_format_for (provider, self->client_fmt, &self->fmt))
    self->fmt = self->client_fmt;

  if (self->count_tokens && self->fmt != US_WIRE_ANTHROPIC)
    {
      clear_attempt (self);
      return FALSE;
    }
  if (self->failover && !eligible (self, cm))
    {
      clear_attempt (self);
      return FALSE;
    }
  if (!choose_key (self, first_key))
    {
      clear_attempt (self);
      return FALSE;
    }

  self->n_tried++;
  if (first_key <= 1)
    self->models_tried++;
  self->attempt = us_request_entry_begin_attempt (self->entry, provider->id, self->model);
  if (self->key > 0)
    us_request_entry_set_attempt_key (self->entry, self->attempt, self->key);
  self->credential = us_continuity_credential (provider, soup_server_message_get_request_headers (self->msg));
  self->cancellable = g_cancellable_new ();
  /* The first-byte timeout covers fetching a token too. */
  arm_timer (self, us_config_get_failover (self->config)->first_byte_timeout_s, "first-byte timeout");
  if (provider->auth == US_AUTH_GOOGLE)
    {
      UsGoogleAuth *auth = us_proxy_get_google_auth (self->proxy, provider);

      self->token = g_strdup (us_google_auth_peek_token (auth));
      if (self->token == NULL)
        {
          us_google_auth_get_token_async (auth, self->cancellable, on_token, g_object_ref (self));
          return TRUE;
        }
    }
  return send_attempt (self);
}

/* A new turn starts from the primary. A request that continues a tool loop
 * goes first to the model that started the loop (skipped while it cools
 * down), then down the chain as usual. */
static GArray *
chain_order (UsRequestJob *self)
{
  GArray *order = g_array_sized_new (FALSE, FALSE, sizeof (guint), self->chain->models->len);
  gint starter = -1;

  if (self->failover && !self->count_tokens)
    starter = us_continuity_loop_starter (self->ir, us_proxy_get_provenance (self->proxy), self->chain);
  self->loop_starter = starter;
  if (starter >= 0)
    {
      guint first = (guint) starter;

      g_array_append_val (order, first);
    }
  for (guint i = 0; i < self->chain->models->len; i++)
    if ((gint) i != starter)
      g_array_append_val (order, i);
  return order;
}

static void
on_key_loaded (GObject      *source,
               GAsyncResult *result,
               gpointer      data)
{
  g_autoptr(UsRequestJob) self = data;

  us_proxy_wait_for_key_finish (US_PROXY (source), result);
  if (!self->client_gone)
    try_next (self);
}

static void
on_local_checked (GObject      *source,
                  GAsyncResult *result,
                  gpointer      data)
{
  g_autoptr(UsRequestJob) self = data;

  us_local_probe_check_finish (US_LOCAL_PROBE (source), result);
  if (!self->client_gone)
    try_next (self);
}

static void
try_next (UsRequestJob *self)
{
  /* With routing off only the primary is asked, whatever happens. */
  guint limit = self->failover ? self->order->len : MIN (1, self->order->len);

  while (self->key_retry > 0 || self->next < limit)
    {
      /* Another key of the model just tried, or the next model. */
      gboolean retry = self->key_retry > 0;
      guint position = g_array_index (self->order, guint, retry ? self->next - 1 : self->next);
      const UsChainModel *cm = g_ptr_array_index (self->chain->models, position);
      const UsProviderConfig *provider = us_config_lookup_provider (self->config, cm->provider);
      guint first_key = retry ? self->key_retry : 1;

      /* Its key is still on its way from the keyring: a request that came
       * early waits for it rather than failing for want of it. */
      if (us_upstream_takes_key (provider) && us_proxy_is_loading_key (self->proxy, provider->id))
        {
          us_proxy_wait_for_key_async (self->proxy, provider->id, on_key_loaded, g_object_ref (self));
          return;
        }
      /* A local server is asked first whether it runs at all: one that is
       * down or still loading costs the probe's second, not a first-byte
       * timeout. */
      if (self->failover && us_local_probe_needs_check (us_proxy_get_local_probe (self->proxy), provider))
        {
          us_local_probe_check_async (us_proxy_get_local_probe (self->proxy), provider, on_local_checked,
                                      g_object_ref (self));
          return;
        }
      self->key_retry = 0;
      if (!retry)
        self->next++;
      if (start_attempt (self, cm, first_key))
        return;
    }
  chain_exhausted (self);
}

static void
on_client_gone (SoupServerMessage *msg,
                UsRequestJob      *self)
{
  /* What follows may drop the last other reference. An explicit pair, not
   * a g_autoptr that clang calls unused. */
  g_object_ref (self);
  stop_client_watch (self);
  if (!self->client_gone && !self->done)
    {
      self->client_gone = TRUE;
      /* A committed attempt served; only one still in flight is cut short. */
      if (self->provider != NULL && !self->committed)
        us_request_entry_end_attempt (self->entry, self->attempt, 0, "client closed the connection");
      us_request_entry_finish (self->entry, 499, "client closed the connection");
      clear_attempt (self);
    }
  stop_waiting (self);
  g_object_unref (self);
}

/* A held (paused) message hears nothing of its client: libsoup notices a
 * closed connection only when it writes. So until the commit point the
 * job watches the socket itself, and a client that has gone stops the
 * attempt before any fallback is asked. */
static gboolean
on_client_socket (GSocket      *socket,
                  GIOCondition  condition,
                  gpointer      data)
{
  g_autoptr(UsRequestJob) self = g_object_ref (data);
  gboolean has_data;

  if (!us_keepalive_client_left (socket, &has_data))
    {
      /* A pipelined request: libsoup's; nothing more to learn here. */
      if (has_data)
        g_clear_pointer (&self->client_watch, g_source_unref);
      return has_data ? G_SOURCE_REMOVE : G_SOURCE_CONTINUE;
    }
  g_clear_pointer (&self->client_watch, g_source_unref);
  on_client_gone (self->msg, self);
  /* Let libsoup finish the message, and so close the connection. */
  soup_server_message_set_status (self->msg, 499, "Client Closed Request");
  soup_server_message_unpause (self->msg);
  return G_SOURCE_REMOVE;
}

static void
start_client_watch (UsRequestJob *self)
{
  GSocket *socket = soup_server_message_get_socket (self->msg);

  if (socket == NULL)
    return;
  self->client_watch = g_socket_create_source (socket, G_IO_IN | G_IO_HUP | G_IO_ERR, NULL);
  g_source_set_callback (self->client_watch, G_SOURCE_FUNC (on_client_socket), self, NULL);
  g_source_attach (self->client_watch, g_main_context_get_thread_default ());
}

static void
stop_client_watch (UsRequestJob *self)
{
  if (self->client_watch == NULL)
    return;
  g_source_destroy (self->client_watch);
  g_clear_pointer (&self->client_watch, g_source_unref);
}

/* Written out or broken off: nothing more goes to this message. */
static void
on_finished (SoupServerMessage *msg,
             UsRequestJob      *self)
{
  g_object_ref (self);
  on_client_gone (msg, self);
  self->finished = TRUE;
  g_signal_handlers_disconnect_by_data (msg, self);
  g_object_unref (self);
}

void
us_request_job_run (UsProxy             *proxy,
                    UsConfig            *config,
                    SoupServerMessage   *msg,
                    UsWireFormat         client_fmt,
                    gboolean             count_tokens,
                    UsIrRequest         *ir,
                    JsonNode            *body,
                    GBytes              *body_bytes,
                    const UsChainConfig *chain,
                    gboolean             failover,
                    UsRequestEntry      *entry)
{
  g_autoptr(UsRequestJob) self = g_object_new (US_TYPE_REQUEST_JOB, NULL);

  self->proxy = g_object_ref (proxy);
  self->config = g_object_ref (config);
  self->msg = g_object_ref (msg);
  self->client_fmt = client_fmt;
  self->count_tokens = count_tokens;
  self->ir = ir;
  self->body = body;
  self->body_bytes = g_bytes_ref (body_bytes);
  self->chain = chain;
  self->failover = failover;
  self->entry = g_object_ref (entry);

  self->order = chain_order (self);
  g_signal_connect_object (msg, "disconnected", G_CALLBACK (on_client_gone), self, 0);
  g_signal_connect_object (msg, "finished", G_CALLBACK (on_finished), self, 0);
  g_signal_connect_object (msg, "wrote-body-data", G_CALLBACK (on_wrote_body_data), self, 0);
  start_client_watch (self);
  try_next (self);
}
