/* us-ir.h: the translation hub's internal representation.
 *
 * Every wire format decodes into these structures and encodes from them, so
 * N formats need N codecs, not N×N converters. The IR follows Anthropic's
 * shape (content blocks, tool results inside user turns) because it is the
 * most structured of the three; the other formats flatten into it.
 *
 * Fields a format has but the IR does not model are kept as "extra" JSON
 * together with the format they came from, and re-emitted only when encoding
 * back to that same format.
 */
#pragma once

#include "us-translate.h"

G_BEGIN_DECLS

/* "No format": e.g. a thinking block nobody signed. */
#define US_WIRE_NONE ((UsWireFormat) -1)

typedef enum {
  US_IR_ROLE_SYSTEM,
  US_IR_ROLE_USER,
  US_IR_ROLE_ASSISTANT,
} UsIrRole;

typedef enum {
  US_IR_PART_TEXT,
  US_IR_PART_IMAGE,
  US_IR_PART_TOOL_CALL,
  US_IR_PART_TOOL_RESULT,
  US_IR_PART_THINKING,
  US_IR_PART_REDACTED_THINKING,
  US_IR_PART_OPAQUE,          /* a block only its own format understands */
} UsIrPartKind;

typedef struct _UsIrPart UsIrPart;
struct _UsIrPart {
  UsIrPartKind kind;
  /* TEXT: text; THINKING: the reasoning text. */
  char        *text;
  /* IMAGE: either media_type + data (base64) or url. */
  char        *media_type;
  char        *data;
  char        *url;
  /* TOOL_CALL / TOOL_RESULT: the id kept end to end. */
  char        *tool_id;
  char        *tool_name;
  char        *arguments;     /* TOOL_CALL: a JSON text */
  GPtrArray   *content;       /* TOOL_RESULT: UsIrPart (TEXT / IMAGE) */
  gboolean     is_error;
  gboolean     as_string;     /* TOOL_RESULT: the client sent a plain string;
                               * TEXT with @item: that item's content was one */
  /* THINKING: signature; REDACTED_THINKING: data (in @data). */
  char        *signature;
  UsWireFormat signed_by;     /* US_WIRE_NONE when unsigned */
  char        *item_id;       /* Responses item id of a reasoning item */
  /* TOOL_CALL for a Responses client: the call is to a tool of namespace
   * @tool_ns (@tool_name is then the name inside it), or to a custom
   * (free-form) tool whose input is the "input" argument. */
  char        *tool_ns;
  gboolean     tool_custom;
  /* TEXT of a Responses assistant turn: non-NULL when this part starts a
   * message item after the turn's first one; the item's own fields. */
  JsonObject  *item;
  /* OPAQUE, or per-part fields (cache_control, ...) of @extra_fmt. */
  JsonNode    *raw;
  JsonObject  *extra;
  UsWireFormat extra_fmt;
};

typedef struct {
  UsIrRole     role;
  GPtrArray   *parts;         /* UsIrPart */
  gboolean     as_string;     /* the client sent content as a plain string */
  JsonObject  *extra;         /* message fields of @extra_fmt */
  UsWireFormat extra_fmt;
} UsIrMessage;

typedef enum {
  US_IR_TOOL_FUNCTION,
  US_IR_TOOL_OPAQUE,          /* web_search, namespace, server tools, ... */
} UsIrToolKind;

typedef struct {
  UsIrToolKind kind;
  /* For a tool of a Responses namespace, "<namespace>__<name>" (see
   * us_ir_tool_flat_name()): one flat name every format accepts. */
  char        *name;
  char        *ns;            /* Responses namespace, or NULL */
  char        *ns_name;       /* the tool's name inside @ns */
  gboolean     custom;        /* Responses custom (free-form) tool */
  char        *description;
  JsonNode    *schema;        /* JSON Schema of the input */
  JsonNode    *raw;           /* OPAQUE, custom and the first tool of a
                               * namespace: the whole definition */
  JsonObject  *extra;
  UsWireFormat extra_fmt;
} UsIrTool;

typedef enum {
  US_IR_TOOL_CHOICE_UNSET,
  US_IR_TOOL_CHOICE_AUTO,
  US_IR_TOOL_CHOICE_ANY,      /* Chat/Responses "required" */
  US_IR_TOOL_CHOICE_NONE,
  US_IR_TOOL_CHOICE_TOOL,     /* a named tool */
} UsIrToolChoiceKind;

typedef enum {
  US_IR_STOP_NONE,
  US_IR_STOP_END_TURN,
  US_IR_STOP_MAX_TOKENS,
  US_IR_STOP_STOP_SEQUENCE,
  US_IR_STOP_TOOL_USE,
  US_IR_STOP_PAUSE_TURN,
  US_IR_STOP_REFUSAL,
  US_IR_STOP_CONTEXT_WINDOW,
} UsIrStopReason;

struct _UsIrRequest {
  UsWireFormat src_fmt;
  char        *model;
  gboolean     stream;
  GPtrArray   *system;        /* UsIrPart (TEXT) before the conversation */
  gboolean     system_as_string;
  gboolean     input_as_string; /* Responses: "input" was a plain string */
  gboolean     max_completion_tokens; /* Chat: the client used that name */
  GPtrArray   *messages;      /* UsIrMessage */
  GPtrArray   *tools;         /* UsIrTool */
  UsIrToolChoiceKind tool_choice;
  char        *tool_choice_name;
  gboolean     parallel_tool_calls_set;
  gboolean     parallel_tool_calls;
  gint64       max_tokens;    /* 0: unset */
  gboolean     has_temperature;
  double       temperature;
  gboolean     has_top_p;
  double       top_p;
  GPtrArray   *stop;          /* char*, stop sequences */
  gboolean     thinking;      /* the client asked for reasoning */
  gint64       thinking_budget;
  char        *reasoning_effort; /* "low" / "medium" / "high", or NULL */
  char        *user;          /* an end-user id, when given */
  JsonObject  *extra;         /* top-level fields of @src_fmt not modelled */
};

typedef struct {
  char          *id;
  char          *model;
  GPtrArray     *parts;       /* UsIrPart */
  UsIrStopReason stop_reason;
  char          *stop_sequence;
  UsUsage        usage;
} UsIrResponse;

/* ---- Stream events: what every stream decoder emits and every stream
 * encoder consumes. Blocks are numbered from 0 in order of appearance. */

typedef enum {
  US_IR_EV_MESSAGE_START,     /* id, model, usage (input side) */
  US_IR_EV_BLOCK_START,       /* index, block, tool_id/tool_name, signature */
  US_IR_EV_BLOCK_DELTA,       /* index, delta, text */
  US_IR_EV_BLOCK_STOP,        /* index */
  US_IR_EV_MESSAGE_DELTA,     /* stop_reason, stop_sequence, usage */
  US_IR_EV_MESSAGE_STOP,
  US_IR_EV_ERROR,             /* error_type (Anthropic vocabulary), text */
} UsIrEventKind;

typedef enum {
  US_IR_DELTA_TEXT,
  US_IR_DELTA_ARGUMENTS,      /* a fragment of a tool call's JSON */
  US_IR_DELTA_THINKING,
  US_IR_DELTA_SIGNATURE,
} UsIrDeltaKind;

typedef struct {
  UsIrEventKind  kind;
  guint          index;
  UsIrPartKind   block;       /* TEXT, TOOL_CALL, THINKING, REDACTED_THINKING */
  UsIrDeltaKind  delta;
  const char    *id;
  const char    *model;
  const char    *tool_id;
  const char    *tool_name;
  const char    *tool_ns;     /* BLOCK_START of a tool call: see UsIrPart */
  gboolean       tool_custom;
  const char    *text;        /* delta text, redacted data, error message */
  gsize          text_len;
  const char    *signature;
  UsWireFormat   signed_by;
  UsIrStopReason stop_reason;
  const char    *stop_sequence;
  const char    *error_type;
  const UsUsage *usage;       /* the decoder's running totals */
} UsIrEvent;

/* ---- Construction and destruction ---- */

UsIrPart    *us_ir_part_new          (UsIrPartKind kind);
void         us_ir_part_free         (UsIrPart *part);
UsIrPart    *us_ir_part_new_text     (const char *text);
/* A copy of @raw, to be written back only to @fmt. */
UsIrPart    *us_ir_part_new_opaque   (JsonNode   *raw,
                                      UsWireFormat fmt);
UsIrMessage *us_ir_message_new       (UsIrRole role);
void         us_ir_message_free      (UsIrMessage *msg);
UsIrTool    *us_ir_tool_new          (UsIrToolKind kind);
void         us_ir_tool_free         (UsIrTool *tool);
UsIrRequest *us_ir_request_new       (UsWireFormat src_fmt);
UsIrResponse *us_ir_response_new     (void);
void         us_ir_response_free     (UsIrResponse *resp);
/* A whole upstream response body of @fmt, decoded. */
UsIrResponse *us_ir_response_decode  (UsWireFormat  fmt,
                                      GBytes       *body,
                                      GError      **error);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (UsIrPart, us_ir_part_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (UsIrMessage, us_ir_message_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (UsIrResponse, us_ir_response_free)

/* The flat name of tool @name in Responses namespace @ns:
 * "<ns>__<name>", shortened like us_openai_tool_name() when too long. */
char        *us_ir_tool_flat_name    (const char *ns, const char *name);
/* The client's tool of that (flat) name, or NULL. */
const UsIrTool *us_ir_request_find_tool (const UsIrRequest *req, const char *name);

/* A key that is the same on every turn of one conversation, for
 * Responses' prompt_cache_key (which routes a request to the machine that
 * holds its prefix): the client's own prompt_cache_key, else a hash of
 * the client's user id (Claude Code's has its session), system text and
 * first message. */
char        *us_ir_request_cache_key (const UsIrRequest *req);

/* Appends to the last message when it has @role, else to a new one. */
UsIrMessage *us_ir_request_message_for (UsIrRequest *req, UsIrRole role);

/* ---- Stop reasons ---- */

const char    *us_ir_stop_reason_to_anthropic   (UsIrStopReason reason);
UsIrStopReason us_ir_stop_reason_from_anthropic (const char *s);

/* ---- Small JSON helpers shared by the codecs ---- */

gboolean    us_json_is_string   (JsonNode   *node);
/* Message content as every format allows it: absent, a string (one text
 * part, appended to @parts) or an array, returned in @array for the codec to
 * walk (NULL when there is nothing left to walk). @what names the array form
 * in the error. */
gboolean    us_json_content     (JsonNode   *content,
                                 GPtrArray  *parts,
                                 const char *what,
                                 JsonArray **array,
                                 GError    **error);
const char *us_json_get_string  (JsonObject *obj, const char *member);
gint64      us_json_get_int     (JsonObject *obj, const char *member, gint64 def);
JsonObject *us_json_get_object  (JsonObject *obj, const char *member);
JsonArray  *us_json_get_array   (JsonObject *obj, const char *member);
gboolean    us_json_get_bool    (JsonObject *obj, const char *member, gboolean def);
gboolean    us_json_get_double  (JsonObject *obj, const char *member, double *out);
/* Nodes that take over @obj / @array (no extra reference to drop). */
JsonNode   *us_json_node_take_object (JsonObject *obj);
JsonNode   *us_json_node_take_array  (JsonArray  *array);
/* Serialises compactly. */
char       *us_json_to_string   (JsonNode *node);
/* Where the first top-level object or array of @text ends (past its
 * closing bracket; @len when it never closes), 0 when @text does not start
 * with one. */
gsize       us_json_container_end  (const char *text, gsize len);
/* Where something other than white space follows that first object or
 * array, else 0: json-glib takes "{}{}", keeps the last and leaks the rest. */
gsize       us_json_trailing_start (const char *text, gsize len);
JsonNode   *us_json_parse       (const char *text, gssize len, GError **error);
JsonNode   *us_json_parse_bytes (GBytes *bytes, GError **error);
GBytes     *us_json_to_bytes    (JsonNode *node);
/* @json (one valid JSON object) with its top-level string member @member
 * set to @value, every other byte as it was; NULL when that cannot be done
 * safely (no such string member, twice, escaped member names): the caller
 * then serialises an edited copy. */
GBytes     *us_json_replace_string_member (GBytes     *json,
                                           const char *member,
                                           const char *value);
/* Copies members of @from not in @skip (NULL-terminated) into @to. */
void        us_json_copy_members (JsonObject *to, JsonObject *from,
                                  const char * const *skip);
/* Members of @obj not named in @known (NULL-terminated), or NULL. */
JsonObject *us_json_unknown_members (JsonObject *obj,
                                     const char * const *known);

/* Signatures travel through clients of another format wrapped as
 * "us1:<format>:<native>", so a later request can tell who signed them and
 * never hand a provider a foreign signature. Unwrap returns the signer
 * (@default_fmt for an unwrapped, non-empty signature) and the native text. */
char         *us_ir_signature_wrap   (UsWireFormat signed_by,
                                      const char  *signature);
UsWireFormat  us_ir_signature_unwrap (const char  *signature,
                                      UsWireFormat default_fmt,
                                      const char **native);

/* An id in a client format's style (@prefix + base) derived from an
 * upstream id of any format, so that the same upstream answer always gets
 * the same id; a fresh random one without an upstream id. */
char       *us_ir_derive_id    (const char *prefix,
                                const char *upstream_id);

/* Serialises @obj (consumed) as one SSE event; @out may be NULL. */
void        us_ir_append_event (GString    *out,
                                const char *event,
                                JsonObject *obj);
/* Usage objects in OpenAI's shapes: input there includes cached tokens. */
gint64      us_usage_total_input (const UsUsage *usage);

/* "data:<media>;base64,<data>" ⇄ media type + data; other URLs are kept
 * as URLs. */
char       *us_ir_image_data_url (const UsIrPart *image);
void        us_ir_image_parse_data_url (UsIrPart *image, const char *url);

G_END_DECLS
