/* us-config.h: the user's configuration (config.json), validated.
 *
 * The parsed JSON document is kept so that saving writes back what the user
 * wrote (unknown keys included). Once handed to a UsConfigStore a UsConfig is
 * an immutable snapshot: changes come as a new UsConfig (us-config-store.h).
 * us_config_ensure_token() and us_config_set_port() are for a config nobody
 * else holds yet (start-up, tests).
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define US_CONFIG_ERROR (us_config_error_quark ())
GQuark us_config_error_quark (void);

typedef enum {
  US_CONFIG_ERROR_PARSE,   /* not JSON */
  US_CONFIG_ERROR_INVALID, /* JSON, but a field is wrong: message names its path */
  US_CONFIG_ERROR_IO,
} UsConfigError;

typedef enum {
  US_PROVIDER_KIND_ANTHROPIC,
  US_PROVIDER_KIND_OPENAI_CHAT,
  US_PROVIDER_KIND_OPENAI_RESPONSES,
  US_PROVIDER_KIND_AZURE_OPENAI,
  US_PROVIDER_KIND_BEDROCK,
  US_PROVIDER_KIND_VERTEX_ANTHROPIC,
  US_PROVIDER_KIND_VERTEX_OPENAI,
} UsProviderKind;

typedef enum {
  US_AUTH_PASSTHROUGH,
  US_AUTH_KEY,
  US_AUTH_NONE,
  US_AUTH_GOOGLE,   /* OAuth tokens from Google credentials (us-google-auth.h) */
  US_AUTH_AWS,          /* bedrock: SigV4 (us-aws-credentials.h) */
} UsAuthMode;

typedef enum {
  US_BUDGET_PER_DAY,
  US_BUDGET_PER_WEEK,
} UsBudgetPeriod;

/* A local spending limit; each field is 0 when that limit is not set. */
typedef struct {
  double requests;
  double tokens;
  double usd;
  UsBudgetPeriod per;
} UsBudget;

/* USD per million tokens. */
typedef struct {
  double input;
  double output;
  double cache_read;     /* defaults to @input when not given */
  double cache_write;    /* defaults to @input when not given */
} UsPrice;

typedef struct {
  char *id;
  UsProviderKind kind;
  char *base_url;   /* never ends with '/' */
  UsAuthMode auth;
  char *key_env;    /* the first (or only) variable of key_envs, NULL unless set */
  char **key_envs;  /* key_env's variables, a key pool in order; NULL unless set */
  UsBudget *budget; /* NULL unless set */
  char *preset;     /* the preset it was filled from (us-presets.h), or NULL */
  /* The vendor's Anthropic Messages endpoint, used for Anthropic clients
   * (bytes pass through); NULL when none. */
  char *anthropic_base_url;
  char *api_version;     /* azure-openai: the api-version query value */
  gboolean responses_api; /* azure-openai: "api": "responses" (v1 Responses) */
  char *project;          /* vertex-*: the Google Cloud project */
  char *region;           /* vertex-*: the location, e.g. us-east5 or global; bedrock: the AWS region signed for */
  char *credentials_file; /* vertex-*: auth: google's JSON, NULL = discovered */
  char *aws_profile;      /* bedrock, auth: aws: the credentials file profile, or NULL */
} UsProviderConfig;

/* azure-openai's api_version when the config gives none: the latest GA
 * data-plane inference version. */
#define US_AZURE_DEFAULT_API_VERSION "2024-10-21"

/* bedrock's key variable for auth: key (a Bedrock API key), as AWS's
 * own tools name it. */
#define US_BEDROCK_KEY_ENV "AWS_BEARER_TOKEN_BEDROCK"

typedef struct {
  char *provider;        /* a UsProviderConfig id, checked to exist */
  char *model;           /* "*" = the model the client asked for */
  gint64 context_tokens; /* 0 = unknown */
  gint64 max_output_tokens; /* 0 = unknown; requests are clamped to it */
  UsPrice *price;        /* NULL unless set */
  UsBudget *budget;      /* NULL unless set */
} UsChainModel;

typedef struct {
  char *id;
  GStrv match;           /* model-name globs; NULL-terminated, may be empty */
  GPtrArray *models;     /* of UsChainModel*, at least one */
} UsChainConfig;

/* A tri-state for rule booleans: a key that is absent matches anything. */
typedef enum { US_TRI_UNSET = -1, US_TRI_FALSE = 0, US_TRI_TRUE = 1 } UsTri;

typedef struct {
  char *chain;           /* a UsChainConfig id, checked to exist */
  char *client;          /* NULL = any; claude-code, codex, opencode, other */
  char *model;           /* glob, NULL = any */
  UsTri thinking;
  UsTri images;
  UsTri tools;
  gint64 min_input_tokens; /* 0 = unset */
} UsRuleConfig;

typedef struct {
  double first_byte_timeout_s;
  double idle_timeout_s;
  double cooldown_s;
  double quota_threshold;
  /* The circuit breaker (us-circuit.h): it opens after circuit_failures
   * failures in a row, or when at least circuit_min_requests answers in
   * the last circuit_window_s failed at circuit_error_rate or more; it
   * lets a probe through after circuit_open_s. */
  gint64 circuit_failures;
  double circuit_error_rate;
  double circuit_window_s;
  gint64 circuit_min_requests;
  double circuit_open_s;
} UsFailoverConfig;

#define US_TYPE_CONFIG (us_config_get_type ())
G_DECLARE_FINAL_TYPE (UsConfig, us_config, US, CONFIG, GObject)

/* $XDG_CONFIG_HOME/understudy/config.json */
char              *us_config_default_path      (void);

/* The built-in default: one anthropic pass-through provider, one chain. */
UsConfig          *us_config_new_default       (void);
UsConfig          *us_config_new_from_data     (const char   *data,
                                                gssize        length,
                                                GError      **error);
/* @data read from @path: errors name the file, the config remembers @path. */
UsConfig          *us_config_new_from_file_data (const char  *data,
                                                gssize        length,
                                                const char   *path,
                                                GError      **error);
/* Validates @doc, which it takes (never modify it afterwards); @path is
 * where it is saved (may be NULL). Errors name the JSON path only. */
UsConfig          *us_config_new_from_document (JsonNode     *doc,
                                                const char   *path,
                                                GError      **error);
/* A deep copy of the document, to edit into the next snapshot. */
JsonNode          *us_config_dup_document      (UsConfig     *self);
/* Missing file → default config (with @path remembered for saving).
 * Broken file → error; the file is never touched. */
UsConfig          *us_config_load              (const char   *path,
                                                GError      **error);
/* Atomic: temp file in the same directory, fsync, rename. Mode 0600.
 * @path NULL saves where the config was loaded from or last saved to. */
gboolean           us_config_save              (UsConfig     *self,
                                                const char   *path,
                                                GError      **error);
/* The atomic write us_config_save does, for @bytes from us_config_to_bytes. */
gboolean           us_config_write_bytes       (const char   *path,
                                                GBytes       *bytes,
                                                GError      **error);
const char        *us_config_get_path          (UsConfig     *self);
/* The document exactly as us_config_save writes it: pretty JSON, a final
 * newline, unknown keys kept. For callers that write it themselves. */
GBytes            *us_config_to_bytes          (UsConfig     *self);

/* Generates listen.token with a CSPRNG when missing; TRUE if it did. */
gboolean           us_config_ensure_token      (UsConfig     *self);

const char        *us_config_get_host          (UsConfig     *self);
guint              us_config_get_port          (UsConfig     *self);
void               us_config_set_port          (UsConfig     *self,
                                                guint         port);
const char        *us_config_get_token         (UsConfig     *self);
/* http://HOST:PORT/t/TOKEN, the base URL clients are pointed at (a wildcard
 * listen address is reached on loopback). */
char              *us_config_dup_client_url    (UsConfig     *self,
                                                guint         port);
gsize              us_config_get_max_body_bytes (UsConfig    *self);
/* listen.request_timeout_s: a request's first byte to its last. */
double             us_config_get_request_timeout_s (UsConfig *self);
/* listen.keepalive_timeout_s: a kept-alive connection idle between requests. */
double             us_config_get_keepalive_timeout_s (UsConfig *self);
/* listen.max_connections: open client connections; more get a 503. */
gsize              us_config_get_max_connections (UsConfig *self);
gboolean           us_config_get_routing       (UsConfig     *self);
/* $.desktop.notifications, TRUE unless the user turned them off. */
gboolean           us_config_get_notifications (UsConfig     *self);

GPtrArray         *us_config_get_providers     (UsConfig     *self); /* UsProviderConfig* */
const UsProviderConfig *us_config_lookup_provider (UsConfig  *self,
                                                const char   *id);
GPtrArray         *us_config_get_chains        (UsConfig     *self); /* UsChainConfig* */
const UsChainConfig *us_config_lookup_chain    (UsConfig     *self,
                                                const char   *id);
GPtrArray         *us_config_get_rules         (UsConfig     *self); /* UsRuleConfig* */
const UsFailoverConfig *us_config_get_failover (UsConfig     *self);

/* A one-screen, human summary of listen address, providers and chains. */
char              *us_config_summarize         (UsConfig     *self);

const char        *us_provider_kind_to_string  (UsProviderKind kind);
gboolean           us_provider_kind_from_string (const char   *string,
                                                UsProviderKind *kind);
const char        *us_auth_mode_to_string      (UsAuthMode    auth);

G_END_DECLS
