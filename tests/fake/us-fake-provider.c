/* us-fake-provider.c: fake model providers for the test suite.
 *
 * One SoupServer per fake. Every response is described up front as headers
 * plus a list of byte pieces and an ending (complete, abort, hang), then
 * played out by timers so streams reach the client in several real writes.
 * Encoders for the three wire formats all work from one format-neutral
 * Reply, so the misbehaviors (cut a stream short, error before content)
 * are implemented once, on top of the encoded events.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "us-fake-provider.h"
#include "us-fake-signing.h"
#include "us-keepalive.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#define DEFAULT_TEXT "Hello from the fake provider \xe2\x80\x94 all good."
#define DEFAULT_MODEL "fake-model"
/* After the last byte before a reset has been written, give the peer this
 * long to read it: an RST can make the peer's kernel drop unread data. */
#define ABORT_GRACE_MS 30
#define ABORT_POLL_MS 5
#define LOG_TEXT_MAX 200

static const char BASE62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
static const char HEX[] = "0123456789abcdef";

struct _UsFakeProvider
{
  GObject          parent_instance;

  UsFakeFormat     format;
  SoupServer      *server;
  GMainContext    *context;
  guint            port;
  char            *base_url;
  GRand           *rand;

  GQueue           script;     /* UsFakeStep*, deep copies */
  UsFakeStep      *default_step;
  char            *text;
  char            *tool_task_path;
  char            *required_key;
  GHashTable      *pool_keys;   /* more keys it takes → the step each always gets (NULL: the script's) */
  char            *signing_key; /* signs thinking, checks signed content */
  GStrv            models;
  char            *azure_api_version; /* non-NULL: answer as Azure OpenAI */
  GStrv            azure_deployments;
  char            *vertex_prefix;     /* non-NULL: answer as Vertex AI, under
                                       * /v1/projects/P/locations/R */
  GStrv            vertex_refused_betas;
  UsFakeChunking   chunking;
  guint            chunk_delay_ms;
  UsFakeResetStyle reset_style;

  GPtrArray       *requests;   /* UsFakeRequest* */
  GPtrArray       *exchanges;  /* Exchange*, responses still in flight */
  GOutputStream   *log;
};

G_DEFINE_FINAL_TYPE (UsFakeProvider, us_fake_provider, G_TYPE_OBJECT)

enum {
  SIGNAL_REQUEST_RECEIVED,
  N_SIGNALS
};
static guint signals[N_SIGNALS];

/* ------------------------------------------------------------------------ */
/* Small helpers                                                            */

static char *
random_string (UsFakeProvider *self,
               const char     *prefix,
               const char     *alphabet,
               guint           len)
{
  GString *s = g_string_new (prefix);
  gsize n = strlen (alphabet);

  for (guint i = 0; i < len; i++)
    g_string_append_c (s, alphabet[g_rand_int_range (self->rand, 0, (gint32) n)]);
  return g_string_free (s, FALSE);
}

static gint64
now_s (void)
{
  return g_get_real_time () / G_USEC_PER_SEC;
}

static void
set_string_or_null (JsonObject *o,
                    const char *name,
                    const char *value)
{
  if (value != NULL)
    json_object_set_string_member (o, name, value);
  else
    json_object_set_null_member (o, name);
}

static char *
object_to_string (JsonObject *o)
{
  g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), o);

  return json_to_string (node, FALSE);
}

static JsonObject *
get_object (JsonObject *o,
            const char *name)
{
  JsonNode *n = o != NULL ? json_object_get_member (o, name) : NULL;

  return n != NULL && JSON_NODE_HOLDS_OBJECT (n) ? json_node_get_object (n) : NULL;
}

static JsonArray *
get_array (JsonObject *o,
           const char *name)
{
  JsonNode *n = o != NULL ? json_object_get_member (o, name) : NULL;

  return n != NULL && JSON_NODE_HOLDS_ARRAY (n) ? json_node_get_array (n) : NULL;
}

static const char *
get_string (JsonObject *o,
            const char *name)
{
  JsonNode *n = o != NULL ? json_object_get_member (o, name) : NULL;

  return n != NULL && JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_STRING
         ? json_node_get_string (n) : NULL;
}

static gboolean
get_bool (JsonObject *o,
          const char *name)
{
  JsonNode *n = o != NULL ? json_object_get_member (o, name) : NULL;

  return n != NULL && JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_BOOLEAN
         && json_node_get_boolean (n);
}

static JsonObject *
array_get_object (JsonArray *a,
                  guint      i)
{
  JsonNode *n = json_array_get_element (a, i);

  return JSON_NODE_HOLDS_OBJECT (n) ? json_node_get_object (n) : NULL;
}

/* Text of a content value as all three formats write it: a string, or an
 * array of parts carrying "text" (text, input_text, output_text). */
static char *
content_text (JsonNode *content)
{
  GString *s;
  JsonArray *parts;

  if (content == NULL)
    return NULL;
  if (JSON_NODE_HOLDS_VALUE (content) && json_node_get_value_type (content) == G_TYPE_STRING)
    return g_strdup (json_node_get_string (content));
  if (!JSON_NODE_HOLDS_ARRAY (content))
    return NULL;

  s = g_string_new (NULL);
  parts = json_node_get_array (content);
  for (guint i = 0; i < json_array_get_length (parts); i++)
    {
      const char *t = get_string (array_get_object (parts, i), "text");

      if (t != NULL)
        g_string_append (s, t);
    }
  return g_string_free (s, FALSE);
}

/* Cuts @s into pieces of a few bytes each, never inside a UTF-8 character,
 * sizes cycling so that deltas differ in length like real ones do. */
static GPtrArray *
split_utf8 (const char *s,
            gsize       target)
{
  static const guint factors[] = { 1, 2, 1, 3 };
  GPtrArray *pieces = g_ptr_array_new_with_free_func (g_free);
  const char *p = s;
  guint k = 0;

  while (*p != '\0')
    {
      gsize want = target * factors[k++ % G_N_ELEMENTS (factors)];
      const char *q = p;

      while (*q != '\0' && (gsize) (q - p) < want)
        q = g_utf8_next_char (q);
      g_ptr_array_add (pieces, g_strndup (p, q - p));
      p = q;
    }
  return pieces;
}

/* ------------------------------------------------------------------------ */
/* Steps and requests                                                       */

static UsFakeStep *
step_copy (const UsFakeStep *step)
{
  UsFakeStep *copy = g_new0 (UsFakeStep, 1);

  *copy = *step;
  copy->retry_after = g_strdup (step->retry_after);
  copy->error_type = g_strdup (step->error_type);
  copy->error_message = g_strdup (step->error_message);
  copy->error_code = g_strdup (step->error_code);
  copy->text = g_strdup (step->text);
  copy->tool_name = g_strdup (step->tool_name);
  copy->tool_args = g_strdup (step->tool_args);
  copy->tool_name2 = g_strdup (step->tool_name2);
  copy->tool_args2 = g_strdup (step->tool_args2);
  copy->headers = (const char * const *) g_strdupv ((char **) step->headers);
  return copy;
}

static void
step_free (gpointer data)
{
  UsFakeStep *step = data;

  if (step == NULL)
    return;
  g_free ((char *) step->retry_after);
  g_free ((char *) step->error_type);
  g_free ((char *) step->error_message);
  g_free ((char *) step->error_code);
  g_free ((char *) step->text);
  g_free ((char *) step->tool_name);
  g_free ((char *) step->tool_args);
  g_free ((char *) step->tool_name2);
  g_free ((char *) step->tool_args2);
  g_strfreev ((char **) step->headers);
  g_free (step);
}

static void
request_free (gpointer data)
{
  UsFakeRequest *request = data;

  g_free (request->method);
  g_free (request->path);
  g_clear_pointer (&request->headers, soup_message_headers_unref);
  g_clear_pointer (&request->body, g_bytes_unref);
  g_clear_pointer (&request->json, json_node_unref);
  g_free (request);
}

static void
copy_header (const char *name,
             const char *value,
             gpointer    user_data)
{
  soup_message_headers_append (user_data, name, value);
}

static UsFakeRequest *
request_new (SoupServerMessage *msg)
{
  UsFakeRequest *request = g_new0 (UsFakeRequest, 1);
  GUri *uri = soup_server_message_get_uri (msg);
  const char *query = g_uri_get_query (uri);
  g_autoptr(JsonParser) parser = json_parser_new ();
  gsize len;
  const char *data;

  request->method = g_strdup (soup_server_message_get_method (msg));
  request->path = query != NULL ? g_strconcat (g_uri_get_path (uri), "?", query, NULL)
                                : g_strdup (g_uri_get_path (uri));
  request->headers = soup_message_headers_new (SOUP_MESSAGE_HEADERS_REQUEST);
  soup_message_headers_foreach (soup_server_message_get_request_headers (msg),
                                copy_header, request->headers);
  request->body = soup_message_body_flatten (soup_server_message_get_request_body (msg));
  data = g_bytes_get_data (request->body, &len);
  if (len > 0 && json_parser_load_from_data (parser, data, (gssize) len, NULL)
      && json_parser_get_root (parser) != NULL)
    request->json = json_node_copy (json_parser_get_root (parser));
  return request;
}

static JsonObject *
request_body (const UsFakeRequest *request)
{
  return request->json != NULL && JSON_NODE_HOLDS_OBJECT (request->json)
         ? json_node_get_object (request->json) : NULL;
}

const char *
us_fake_request_get_header (const UsFakeRequest *request,
                            const char          *name)
{
  g_return_val_if_fail (request != NULL, NULL);
  return soup_message_headers_get_list (request->headers, name);
}

const char *
us_fake_request_get_model (const UsFakeRequest *request)
{
  g_return_val_if_fail (request != NULL, NULL);
  return get_string (request_body (request), "model");
}

gboolean
us_fake_request_get_stream (const UsFakeRequest *request)
{
  g_return_val_if_fail (request != NULL, FALSE);
  return get_bool (request_body (request), "stream");
}

/* ------------------------------------------------------------------------ */
/* Names                                                                    */

static const struct {
  UsFakeBehavior behavior;
  const char    *name;
} behavior_names[] = {
  { US_FAKE_OK, "ok" },
  { US_FAKE_OK_TOOL_CALL, "tool" },
  { US_FAKE_OK_TWO_TOOL_CALLS, "tools2" },
  { US_FAKE_STATUS, "status" },
  { US_FAKE_RESET_BEFORE_FIRST_BYTE, "reset" },
  { US_FAKE_RESET_MID_STREAM, "reset-mid" },
  { US_FAKE_SILENCE_BEFORE_HEADERS, "silence" },
  { US_FAKE_SILENCE_AFTER_HEADERS, "silence-headers" },
  { US_FAKE_STREAM_ERROR_BEFORE_CONTENT, "error-before-content" },
  { US_FAKE_TOOL_TASK, "tool-task" },
  { US_FAKE_MALFORMED, "malformed" },
};

const char *
us_fake_behavior_to_string (UsFakeBehavior behavior)
{
  for (guint i = 0; i < G_N_ELEMENTS (behavior_names); i++)
    if (behavior_names[i].behavior == behavior)
      return behavior_names[i].name;
  return "unknown";
}

static const char * const format_names[] = { "anthropic", "openai-chat", "openai-responses" };

const char *
us_fake_format_to_string (UsFakeFormat format)
{
  g_return_val_if_fail (format <= US_FAKE_FORMAT_OPENAI_RESPONSES, NULL);
  return format_names[format];
}

gboolean
us_fake_format_from_string (const char   *name,
                            UsFakeFormat *out_format)
{
  for (guint i = 0; i < G_N_ELEMENTS (format_names); i++)
    if (g_strcmp0 (name, format_names[i]) == 0)
      {
        *out_format = (UsFakeFormat) i;
        return TRUE;
      }
  return FALSE;
}

/* One step from its command-line name: a behavior name, or an HTTP status
 * "NNN" / "NNN:RETRY_AFTER". */
static gboolean
step_parse (const char  *spec,
            UsFakeStep  *out,
            char       **out_retry_after,
            GError     **error)
{
  g_autofree char *name = g_strstrip (g_strdup (spec));
  char *colon = strchr (name, ':');
  guint64 status;

  memset (out, 0, sizeof *out);
  *out_retry_after = NULL;

  if (g_ascii_isdigit (name[0]))
    {
      if (colon != NULL)
        *colon = '\0';
      if (!g_ascii_string_to_unsigned (name, 10, 100, 599, &status, NULL))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       "Bad HTTP status in step \"%s\"", spec);
          return FALSE;
        }
      out->behavior = US_FAKE_STATUS;
      out->status = (guint) status;
      if (colon != NULL)
        *out_retry_after = g_strdup (colon + 1);
      return TRUE;
    }

  for (guint i = 0; i < G_N_ELEMENTS (behavior_names); i++)
    if (behavior_names[i].behavior != US_FAKE_STATUS
        && g_strcmp0 (name, behavior_names[i].name) == 0)
      {
        out->behavior = behavior_names[i].behavior;
        return TRUE;
      }

  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
               "Unknown step \"%s\" (expected ok, tool, tools2, NNN, NNN:RETRY_AFTER, reset, "
               "reset-mid, silence, silence-headers, error-before-content, tool-task or malformed)", spec);
  return FALSE;
}

/* ------------------------------------------------------------------------ */
/* The format-neutral reply every encoder takes                             */

typedef struct {
  char *id;      /* toolu_…, call_… */
  char *item_id; /* Responses: fc_… */
  char *name;
  char *args;    /* JSON object text, validated */
} ToolCall;

typedef struct {
  JsonObject *request;   /* the request body, borrowed */
  const char *model;
  char       *id;        /* msg_…, chatcmpl-…, resp_… */
  char       *item_id;   /* Responses message item: msg_… */
  char       *fingerprint;
  gint64      created;
  char       *text;      /* NULL: tool calls only */
  char       *thinking;  /* signed thinking first, or NULL */
  char       *signature; /* Anthropic signature / Responses encrypted_content */
  char       *reasoning_id; /* Responses: rs_… */
  ToolCall    calls[2];
  guint       n_calls;
  gint64      input_tokens;
  gint64      output_tokens;
} Reply;

typedef struct {
  guint       status;
  const char *type;
  const char *message;
  const char *code;
} ErrorInfo;

static void
reply_clear (Reply *r)
{
  g_free (r->id);
  g_free (r->item_id);
  g_free (r->fingerprint);
  g_free (r->text);
  g_free (r->thinking);
  g_free (r->signature);
  g_free (r->reasoning_id);
  for (guint i = 0; i < r->n_calls; i++)
    {
      g_free (r->calls[i].id);
      g_free (r->calls[i].item_id);
      g_free (r->calls[i].name);
      g_free (r->calls[i].args);
    }
}

static char *
valid_args (const char *args)
{
  g_autoptr(JsonParser) parser = json_parser_new ();

  if (args != NULL && json_parser_load_from_data (parser, args, -1, NULL)
      && JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    return g_strdup (args);
  if (args != NULL)
    g_warning ("Fake provider: tool arguments are not a JSON object: %s", args);
  return g_strdup ("{}");
}

static void
reply_add_call (UsFakeProvider *self,
                Reply          *r,
                const char     *name,
                char           *args /* owned */)
{
  ToolCall *call = &r->calls[r->n_calls++];

  call->name = g_strdup (name);
  call->args = valid_args (args);
  g_free (args);
  switch (self->format)
    {
    case US_FAKE_FORMAT_ANTHROPIC:
      call->id = random_string (self, "toolu_01", BASE62, 22);
      break;
    case US_FAKE_FORMAT_OPENAI_CHAT:
      call->id = random_string (self, "call_", BASE62, 24);
      break;
    case US_FAKE_FORMAT_OPENAI_RESPONSES:
      call->id = random_string (self, "call_", BASE62, 24);
      call->item_id = random_string (self, "fc_", HEX, 50);
      break;
    default:
      g_assert_not_reached ();
    }
}

/* The newest tool result in the user side of the conversation (everything
 * after the last assistant turn), or NULL when the client has not run a
 * tool since the model last spoke. */
static char *
find_tool_result (UsFakeFormat format,
                  JsonObject  *body)
{
  JsonArray *items = get_array (body, format == US_FAKE_FORMAT_OPENAI_RESPONSES ? "input" : "messages");

  for (guint i = items != NULL ? json_array_get_length (items) : 0; i > 0; i--)
    {
      JsonObject *item = array_get_object (items, i - 1);
      const char *role = get_string (item, "role");
      const char *type = get_string (item, "type");
      JsonArray *blocks;

      if (item == NULL)
        continue;
      switch (format)
        {
        case US_FAKE_FORMAT_ANTHROPIC:
          if (g_strcmp0 (role, "user") != 0)
            return NULL;
          blocks = get_array (item, "content");
          for (guint j = blocks != NULL ? json_array_get_length (blocks) : 0; j > 0; j--)
            {
              JsonObject *block = array_get_object (blocks, j - 1);

              if (g_strcmp0 (get_string (block, "type"), "tool_result") == 0)
                return content_text (json_object_get_member (block, "content"));
            }
          break;
        case US_FAKE_FORMAT_OPENAI_CHAT:
          if (g_strcmp0 (role, "tool") == 0)
            return content_text (json_object_get_member (item, "content"));
          if (g_strcmp0 (role, "assistant") == 0)
            return NULL;
          break;
        case US_FAKE_FORMAT_OPENAI_RESPONSES:
          if (g_strcmp0 (type, "function_call_output") == 0
              || g_strcmp0 (type, "custom_tool_call_output") == 0)
            return content_text (json_object_get_member (item, "output"));
          if (role == NULL || g_strcmp0 (role, "assistant") == 0)
            return NULL;
          break;
        default:
          g_assert_not_reached ();
        }
    }
  return NULL;
}

static char *
shell_cat (const char *path)
{
  for (const char *p = path; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && strchr ("/._-+,:@%", *p) == NULL)
      {
        g_autofree char *quoted = g_shell_quote (path);

        return g_strconcat ("cat ", quoted, NULL);
      }
  return g_strconcat ("cat ", path, NULL);
}

static char *
args_with (const char *key,
           JsonNode   *value /* owned */)
{
  g_autoptr(JsonObject) o = json_object_new ();

  json_object_set_member (o, key, value);
  return object_to_string (o);
}

static JsonNode *
string_node (const char *s)
{
  return json_node_init_string (json_node_alloc (), s);
}

/* Picks the file-reading tool the request offers, whatever its format:
 * a read tool ({file_path} / {filePath} / {path}), else Codex's
 * exec_command {cmd} or shell {command: argv}, else a bash {command}. */
static gboolean
pick_read_tool (JsonObject  *body,
                const char  *path,
                char       **out_name,
                char       **out_args)
{
  static const char * const read_names[] = { "read", "read_file", "readfile", "view", "open_file" };
  static const char * const path_keys[] = { "file_path", "filePath", "path", "file" };
  JsonArray *tools = get_array (body, "tools");
  guint n = tools != NULL ? json_array_get_length (tools) : 0;

  for (guint pass = 0; pass < 4; pass++)
    for (guint i = 0; i < n; i++)
      {
        JsonObject *tool = array_get_object (tools, i);
        JsonObject *fn = get_object (tool, "function") != NULL ? get_object (tool, "function") : tool;
        JsonObject *schema = get_object (fn, "parameters") != NULL ? get_object (fn, "parameters")
                                                                  : get_object (fn, "input_schema");
        JsonObject *props = get_object (schema, "properties");
        const char *name = get_string (fn, "name");
        g_autofree char *lower = name != NULL ? g_ascii_strdown (name, -1) : NULL;

        if (lower == NULL)
          continue;
        if (pass == 0 && g_strv_contains (read_names, lower))
          {
            const char *key = "file_path";

            for (guint k = 0; k < G_N_ELEMENTS (path_keys); k++)
              if (props != NULL && json_object_has_member (props, path_keys[k]))
                {
                  key = path_keys[k];
                  break;
                }
            *out_args = args_with (key, string_node (path));
          }
        else if (pass == 1 && g_str_equal (lower, "exec_command"))
          {
            g_autofree char *cmd = shell_cat (path);

            *out_args = args_with ("cmd", string_node (cmd));
          }
        else if (pass == 2 && g_str_equal (lower, "shell"))
          {
            g_autoptr(JsonArray) argv = json_array_new ();
            g_autofree char *cmd = shell_cat (path);
            JsonNode *node;

            json_array_add_string_element (argv, "bash");
            json_array_add_string_element (argv, "-lc");
            json_array_add_string_element (argv, cmd);
            node = json_node_init_array (json_node_alloc (), argv);
            *out_args = args_with ("command", node);
          }
        else if (pass == 3 && g_str_equal (lower, "bash"))
          {
            g_autofree char *cmd = shell_cat (path);

            *out_args = args_with ("command", string_node (cmd));
          }
        else
          continue;
        *out_name = g_strdup (name);
        return TRUE;
      }
  return FALSE;
}

static void
reply_init (UsFakeProvider   *self,
            Reply            *r,
            const UsFakeStep *step,
            JsonObject       *body,
            gsize             body_len)
{
  const char *text = step->text != NULL ? step->text : self->text;
  gsize out_len = 0;

  memset (r, 0, sizeof *r);
  r->request = body;
  r->model = get_string (body, "model") != NULL ? get_string (body, "model") : DEFAULT_MODEL;
  r->created = now_s ();
  switch (self->format)
    {
    case US_FAKE_FORMAT_ANTHROPIC:
      r->id = random_string (self, "msg_01", BASE62, 22);
      break;
    case US_FAKE_FORMAT_OPENAI_CHAT:
      r->id = random_string (self, "chatcmpl-", BASE62, 29);
      r->fingerprint = random_string (self, "fp_", HEX, 10);
      break;
    case US_FAKE_FORMAT_OPENAI_RESPONSES:
      r->id = random_string (self, "resp_", HEX, 50);
      r->item_id = random_string (self, "msg_", HEX, 50);
      break;
    default:
      g_assert_not_reached ();
    }

  switch (step->behavior)
    {
    case US_FAKE_OK_TOOL_CALL:
    case US_FAKE_OK_TWO_TOOL_CALLS:
      /* A tool step's own text becomes a preamble before the calls. */
      r->text = g_strdup (step->text);
      reply_add_call (self, r, step->tool_name != NULL ? step->tool_name : "get_weather",
                      g_strdup (step->tool_args != NULL ? step->tool_args
                                                        : "{\"location\":\"Paris\",\"unit\":\"celsius\"}"));
      if (step->behavior == US_FAKE_OK_TWO_TOOL_CALLS)
        reply_add_call (self, r, step->tool_name2 != NULL ? step->tool_name2 : "get_time",
                        g_strdup (step->tool_args2 != NULL ? step->tool_args2
                                                           : "{\"timezone\":\"Europe/Paris\"}"));
      break;

    case US_FAKE_TOOL_TASK:
      {
        g_autofree char *result = find_tool_result (self->format, body);
        const char *path = self->tool_task_path != NULL ? self->tool_task_path : "/tmp/understudy-task.txt";
        char *name = NULL;
        char *args = NULL;

        if (result != NULL)
          {
            r->text = g_strconcat ("The file says: ", g_strstrip (result), NULL);
          }
        else if (step->tool_name != NULL)
          {
            /* tool_args is literal JSON, or the name of the path argument. */
            if (step->tool_args != NULL && step->tool_args[0] == '{')
              args = g_strdup (step->tool_args);
            else
              args = args_with (step->tool_args != NULL ? step->tool_args : "file_path", string_node (path));
            reply_add_call (self, r, step->tool_name, args);
          }
        else if (pick_read_tool (body, path, &name, &args))
          {
            reply_add_call (self, r, name, args);
            g_free (name);
          }
        else
          {
            /* No tools on offer (e.g. a title request): just talk. */
            r->text = g_strdup (text);
          }
      }
      break;

    case US_FAKE_OK:
    case US_FAKE_STATUS:
    case US_FAKE_RESET_BEFORE_FIRST_BYTE:
    case US_FAKE_RESET_MID_STREAM:
    case US_FAKE_SILENCE_BEFORE_HEADERS:
    case US_FAKE_SILENCE_AFTER_HEADERS:
    case US_FAKE_STREAM_ERROR_BEFORE_CONTENT:
    default:
      r->text = g_strdup (text);
      break;
    }

  if (self->signing_key != NULL && step->behavior != US_FAKE_STATUS && us_fake_wants_thinking (self->format, body))
    {
      r->thinking = g_strdup_printf ("Thinking it over (%s).", r->id);
      if (self->format == US_FAKE_FORMAT_OPENAI_RESPONSES)
        {
          r->reasoning_id = random_string (self, "rs_", HEX, 50);
          r->signature = us_fake_sign_reasoning (self->signing_key, r->reasoning_id);
        }
      else
        r->signature = us_fake_sign_thinking (self->signing_key, r->thinking);
    }

  /* Plausible, deterministic token counts: about four bytes a token. */
  if (r->text != NULL)
    out_len += strlen (r->text);
  for (guint i = 0; i < r->n_calls; i++)
    out_len += strlen (r->calls[i].name) + strlen (r->calls[i].args) + 20;
  r->input_tokens = MAX (1, (gint64) body_len / 4);
  r->output_tokens = MAX (1, (gint64) out_len / 4);
}

/* ------------------------------------------------------------------------ */
/* Server-sent events                                                       */

typedef struct {
  UsFakeFormat format;
  GString     *buf;         /* the whole stream */
  GArray      *ends;        /* gsize: where each event ends in buf */
  guint        n_prelude;   /* events before the first content block starts */
  guint        n_first_delta; /* index of the first content delta */
  gboolean     has_block, has_delta;
} Sse;

static void
sse_init (Sse          *sse,
          UsFakeFormat  format)
{
  memset (sse, 0, sizeof *sse);
  sse->format = format;
  sse->buf = g_string_new (NULL);
  sse->ends = g_array_new (FALSE, FALSE, sizeof (gsize));
}

static void
sse_clear (Sse *sse)
{
  g_string_free (sse->buf, TRUE);
  g_array_unref (sse->ends);
}

/* A new event object. Anthropic and Responses events carry their name as
 * "type" (first, as the providers write it); Responses numbers them. */
static JsonObject *
sse_event_new (Sse        *sse,
               const char *type)
{
  JsonObject *o = json_object_new ();

  json_object_set_string_member (o, "type", type);
  if (sse->format == US_FAKE_FORMAT_OPENAI_RESPONSES)
    json_object_set_int_member (o, "sequence_number", sse->ends->len);
  return o;
}

static void
sse_add_raw (Sse        *sse,
             const char *event,
             const char *data)
{
  gsize end;

  if (event != NULL)
    g_string_append_printf (sse->buf, "event: %s\n", event);
  g_string_append_printf (sse->buf, "data: %s\n\n", data);
  end = sse->buf->len;
  g_array_append_val (sse->ends, end);
}

/* Appends @o (consumed) as one event: named after its "type" except in
 * Chat Completions, whose chunks are bare data lines. */
static void
sse_emit (Sse        *sse,
          JsonObject *o)
{
  g_autofree char *data = object_to_string (o);

  sse_add_raw (sse, sse->format == US_FAKE_FORMAT_OPENAI_CHAT ? NULL : get_string (o, "type"), data);
  json_object_unref (o);
}

/* Encoders call these just before the first event that starts a content
 * block and the first that carries content, so misbehaviors know where the
 * stream's commit point is. */
static void
sse_mark_block (Sse *sse)
{
  if (!sse->has_block)
    sse->n_prelude = sse->ends->len;
  sse->has_block = TRUE;
}

static void
sse_mark_delta (Sse *sse)
{
  sse_mark_block (sse);
  if (!sse->has_delta)
    sse->n_first_delta = sse->ends->len;
  sse->has_delta = TRUE;
}

static void
sse_truncate (Sse   *sse,
              guint  n_events)
{
  g_string_truncate (sse->buf, n_events > 0 ? g_array_index (sse->ends, gsize, n_events - 1) : 0);
  g_array_set_size (sse->ends, n_events);
}

static void
add_cut (GArray *cuts,
         gsize   pos,
         gsize   end)
{
  gsize last = cuts->len > 0 ? g_array_index (cuts, gsize, cuts->len - 1) : 0;

  if (pos > last && pos <= end)
    g_array_append_val (cuts, pos);
}

/* Where to cut inside an event: within its first multi-byte character if
 * it has one, so that a reader must join bytes of one character across
 * reads; otherwise in the middle of the JSON. */
static gsize
awkward_middle (const GString *buf,
                gsize          start,
                gsize          stop)
{
  for (gsize i = start + 2; i + 2 < stop; i++)
    if ((guchar) buf->str[i] >= 0xc0)
      return i + 1;
  return start + (stop - start) / 2;
}

/* The first @n_events events of @sse as the pieces to write, one write each. */
static GPtrArray *
sse_cut (Sse            *sse,
         guint           n_events,
         UsFakeChunking  chunking)
{
  GPtrArray *pieces = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_autoptr(GArray) cuts = g_array_new (FALSE, FALSE, sizeof (gsize));
  gsize end = n_events > 0 ? g_array_index (sse->ends, gsize, n_events - 1) : 0;
  gsize prev = 0;

  for (guint i = 0; i < n_events; i++)
    {
      gsize start = i > 0 ? g_array_index (sse->ends, gsize, i - 1) : 0;
      gsize stop = g_array_index (sse->ends, gsize, i);

      switch (chunking)
        {
        case US_FAKE_CHUNKS_AWKWARD:
          /* Split "event:"/"data:", the JSON, and the blank line; the
           * event's last newline travels with the next event's first byte. */
          add_cut (cuts, start + 1, end);
          add_cut (cuts, awkward_middle (sse->buf, start, stop), end);
          add_cut (cuts, stop - 1, end);
          break;
        case US_FAKE_CHUNKS_PER_EVENT:
          add_cut (cuts, stop, end);
          break;
        case US_FAKE_CHUNKS_BYTES:
          for (gsize at = start + 1; at <= stop; at++)
            add_cut (cuts, at, end);
          break;
        case US_FAKE_CHUNKS_WHOLE:
        default:
          break;
        }
    }
  add_cut (cuts, end, end);

  for (guint i = 0; i < cuts->len; i++)
    {
      gsize cut = g_array_index (cuts, gsize, i);

      g_ptr_array_add (pieces, g_bytes_new (sse->buf->str + prev, cut - prev));
      prev = cut;
    }
  return pieces;
}

/* ------------------------------------------------------------------------ */
/* Errors                                                                   */

static void
default_error (UsFakeFormat  format,
               guint         status,
               const char   *model,
               ErrorInfo    *e,
               char        **owned_message)
{
  gboolean anthropic = format == US_FAKE_FORMAT_ANTHROPIC;

  e->status = status;
  e->code = NULL;
  *owned_message = NULL;
  switch (status)
    {
    case 401:
      e->type = anthropic ? "authentication_error" : "invalid_request_error";
      e->message = anthropic ? "invalid x-api-key"
                             : "Incorrect API key provided: sk-fake***. You can find your API key at "
                               "https://platform.openai.com/account/api-keys.";
      e->code = anthropic ? NULL : "invalid_api_key";
      break;
    case 402:
      e->type = anthropic ? "billing_error" : "insufficient_quota";
      e->message = anthropic ? "Your credit balance is too low to access the Anthropic API. "
                               "Please go to Plans & Billing to upgrade or purchase credits."
                             : "You exceeded your current quota, please check your plan and billing details.";
      e->code = anthropic ? NULL : "insufficient_quota";
      break;
    case 403:
      e->type = anthropic ? "permission_error" : "request_forbidden";
      e->message = anthropic ? "Your API key does not have permission to use the specified resource."
                             : "Country, region, or territory not supported";
      e->code = anthropic ? NULL : "unsupported_country_region_territory";
      break;
    case 404:
      e->type = anthropic ? "not_found_error" : "invalid_request_error";
      *owned_message = anthropic ? g_strdup_printf ("model: %s", model)
                                 : g_strdup_printf ("The model `%s` does not exist or you do not have access to it.", model);
      e->message = *owned_message;
      e->code = anthropic ? NULL : "model_not_found";
      break;
    case 413:
      e->type = anthropic ? "request_too_large" : "invalid_request_error";
      e->message = "Request exceeds the maximum allowed number of bytes.";
      break;
    case 429:
      e->type = anthropic ? "rate_limit_error" : "requests";
      if (anthropic)
        e->message = "This request would exceed the rate limit for your organization of 50 requests per minute. "
                     "For details, refer to: https://docs.claude.com/en/api/rate-limits.";
      else
        e->message = *owned_message = g_strdup_printf ("Rate limit reached for %s in organization org-fake on "
                                                       "requests per min (RPM): Limit 500, Used 500, Requested 1. "
                                                       "Please try again in 120ms.", model);
      e->code = anthropic ? NULL : "rate_limit_exceeded";
      break;
    case 500:
      e->type = anthropic ? "api_error" : "server_error";
      e->message = anthropic ? "Internal server error"
                             : "The server had an error while processing your request. Sorry about that!";
      break;
    case 503:
    case 529:
      e->type = anthropic ? (status == 529 ? "overloaded_error" : "api_error") : "server_error";
      e->message = anthropic ? "Overloaded" : "The server is overloaded or not ready yet.";
      break;
    default:
      /* Anthropic uses invalid_request_error for unlisted 4xx, api_error for 5xx. */
      e->type = status >= 500 ? (anthropic ? "api_error" : "server_error") : "invalid_request_error";
      e->message = status >= 500 ? "Internal server error" : "Invalid request";
      break;
    }
}

static void
resolve_error (UsFakeProvider   *self,
               guint             status,
               const UsFakeStep *step,
               const char       *model,
               ErrorInfo        *e,
               char            **owned_message)
{
  default_error (self->format, status, model, e, owned_message);
  if (step != NULL && step->error_type != NULL)
    e->type = step->error_type;
  if (step != NULL && step->error_message != NULL)
    e->message = step->error_message;
  if (step != NULL && step->error_code != NULL)
    e->code = step->error_code;
}

/* {"type":"error","error":{…}} for Anthropic, {"error":{…}} for OpenAI. */
static JsonObject *
error_inner (UsFakeFormat     format,
             const ErrorInfo *e)
{
  JsonObject *inner = json_object_new ();

  if (format == US_FAKE_FORMAT_ANTHROPIC)
    {
      json_object_set_string_member (inner, "type", e->type);
      json_object_set_string_member (inner, "message", e->message);
      if (e->code != NULL && *e->code != '\0')
        {
          JsonObject *details = json_object_new ();

          json_object_set_string_member (details, "error_code", e->code);
          json_object_set_object_member (inner, "details", details);
        }
    }
  else
    {
      json_object_set_string_member (inner, "message", e->message);
      json_object_set_string_member (inner, "type", e->type);
      json_object_set_null_member (inner, "param");
      set_string_or_null (inner, "code", e->code != NULL && *e->code != '\0' ? e->code : NULL);
    }
  return inner;
}

static JsonObject *
error_envelope (UsFakeProvider  *self,
                const ErrorInfo *e,
                const char      *request_id)
{
  JsonObject *o = json_object_new ();

  if (self->format == US_FAKE_FORMAT_ANTHROPIC)
    json_object_set_string_member (o, "type", "error");
  json_object_set_object_member (o, "error", error_inner (self->format, e));
  if (self->format == US_FAKE_FORMAT_ANTHROPIC)
    json_object_set_string_member (o, "request_id", request_id);
  return o;
}

/* ------------------------------------------------------------------------ */
/* Anthropic Messages                                                       */

static JsonObject *
anthropic_usage (const Reply *r,
                 gint64       output_tokens,
                 gboolean     full)
{
  JsonObject *u = json_object_new ();

  json_object_set_int_member (u, "input_tokens", r->input_tokens);
  json_object_set_int_member (u, "cache_creation_input_tokens", 0);
  json_object_set_int_member (u, "cache_read_input_tokens", 0);
  if (full)
    {
      JsonObject *cache = json_object_new ();

      json_object_set_int_member (cache, "ephemeral_5m_input_tokens", 0);
      json_object_set_int_member (cache, "ephemeral_1h_input_tokens", 0);
      json_object_set_object_member (u, "cache_creation", cache);
    }
  json_object_set_int_member (u, "output_tokens", output_tokens);
  if (full)
    json_object_set_string_member (u, "service_tier", "standard");
  return u;
}

static JsonNode *
parse_args (const char *args)
{
  return json_from_string (args, NULL);
}

static JsonObject *
anthropic_message (const Reply *r,
                   gboolean     final)
{
  JsonObject *m = json_object_new ();
  JsonArray *content = json_array_new ();

  if (final && r->thinking != NULL)
    {
      JsonObject *block = json_object_new ();

      json_object_set_string_member (block, "type", "thinking");
      json_object_set_string_member (block, "thinking", r->thinking);
      json_object_set_string_member (block, "signature", r->signature);
      json_array_add_object_element (content, block);
    }
  if (final && r->text != NULL)
    {
      JsonObject *block = json_object_new ();

      json_object_set_string_member (block, "type", "text");
      json_object_set_string_member (block, "text", r->text);
      json_array_add_object_element (content, block);
    }
  for (guint i = 0; final && i < r->n_calls; i++)
    {
      JsonObject *block = json_object_new ();

      json_object_set_string_member (block, "type", "tool_use");
      json_object_set_string_member (block, "id", r->calls[i].id);
      json_object_set_string_member (block, "name", r->calls[i].name);
      json_object_set_member (block, "input", parse_args (r->calls[i].args));
      json_array_add_object_element (content, block);
    }

  json_object_set_string_member (m, "id", r->id);
  json_object_set_string_member (m, "type", "message");
  json_object_set_string_member (m, "role", "assistant");
  json_object_set_string_member (m, "model", r->model);
  json_object_set_array_member (m, "content", content);
  set_string_or_null (m, "stop_reason", final ? (r->n_calls > 0 ? "tool_use" : "end_turn") : NULL);
  json_object_set_null_member (m, "stop_sequence");
  json_object_set_object_member (m, "usage", anthropic_usage (r, final ? r->output_tokens : 1, TRUE));
  return m;
}

static JsonObject *
anthropic_whole (UsFakeProvider *self,
                 const Reply    *r)
{
  return anthropic_message (r, TRUE);
}

static void
anthropic_block (Sse        *sse,
                 guint      *index,
                 JsonObject *block /* owned */,
                 const char *delta_type,
                 const char *delta_field,
                 GPtrArray  *pieces)
{
  JsonObject *ev;

  sse_mark_block (sse);
  ev = sse_event_new (sse, "content_block_start");
  json_object_set_int_member (ev, "index", *index);
  json_object_set_object_member (ev, "content_block", block);
  sse_emit (sse, ev);
  /* The API pings once, right after the first block opens. */
  if (*index == 0)
    sse_emit (sse, sse_event_new (sse, "ping"));

  for (guint i = 0; i < pieces->len; i++)
    {
      JsonObject *delta = json_object_new ();

      sse_mark_delta (sse);
      ev = sse_event_new (sse, "content_block_delta");
      json_object_set_int_member (ev, "index", *index);
      json_object_set_string_member (delta, "type", delta_type);
      json_object_set_string_member (delta, delta_field, g_ptr_array_index (pieces, i));
      json_object_set_object_member (ev, "delta", delta);
      sse_emit (sse, ev);
    }

  ev = sse_event_new (sse, "content_block_stop");
  json_object_set_int_member (ev, "index", *index);
  sse_emit (sse, ev);
  (*index)++;
}

static void
anthropic_stream (UsFakeProvider *self,
                  const Reply    *r,
                  Sse            *sse)
{
  JsonObject *ev = sse_event_new (sse, "message_start");
  JsonObject *delta;
  guint index = 0;

  json_object_set_object_member (ev, "message", anthropic_message (r, FALSE));
  sse_emit (sse, ev);

  if (r->thinking != NULL)
    {
      g_autoptr(GPtrArray) pieces = split_utf8 (r->thinking, 8);
      JsonObject *block = json_object_new ();
      JsonObject *sig = json_object_new ();

      json_object_set_string_member (block, "type", "thinking");
      json_object_set_string_member (block, "thinking", "");
      json_object_set_string_member (block, "signature", "");
      /* The signature comes last, in a delta of its own. */
      g_ptr_array_add (pieces, NULL);
      sse_mark_block (sse);
      ev = sse_event_new (sse, "content_block_start");
      json_object_set_int_member (ev, "index", index);
      json_object_set_object_member (ev, "content_block", block);
      sse_emit (sse, ev);
      for (guint i = 0; i + 1 < pieces->len; i++)
        {
          JsonObject *d = json_object_new ();

          sse_mark_delta (sse);
          ev = sse_event_new (sse, "content_block_delta");
          json_object_set_int_member (ev, "index", index);
          json_object_set_string_member (d, "type", "thinking_delta");
          json_object_set_string_member (d, "thinking", g_ptr_array_index (pieces, i));
          json_object_set_object_member (ev, "delta", d);
          sse_emit (sse, ev);
        }
      ev = sse_event_new (sse, "content_block_delta");
      json_object_set_int_member (ev, "index", index);
      json_object_set_string_member (sig, "type", "signature_delta");
      json_object_set_string_member (sig, "signature", r->signature);
      json_object_set_object_member (ev, "delta", sig);
      sse_emit (sse, ev);
      ev = sse_event_new (sse, "content_block_stop");
      json_object_set_int_member (ev, "index", index);
      sse_emit (sse, ev);
      index++;
    }

  if (r->text != NULL)
    {
      g_autoptr(GPtrArray) pieces = split_utf8 (r->text, 6);
      JsonObject *block = json_object_new ();

      json_object_set_string_member (block, "type", "text");
      json_object_set_string_member (block, "text", "");
      anthropic_block (sse, &index, block, "text_delta", "text", pieces);
    }
  for (guint i = 0; i < r->n_calls; i++)
    {
      g_autoptr(GPtrArray) pieces = split_utf8 (r->calls[i].args, strlen (r->calls[i].args) / 3 + 1);
      JsonObject *block = json_object_new ();

      json_object_set_string_member (block, "type", "tool_use");
      json_object_set_string_member (block, "id", r->calls[i].id);
      json_object_set_string_member (block, "name", r->calls[i].name);
      json_object_set_object_member (block, "input", json_object_new ());
      /* The API opens every tool input with an empty fragment. */
      g_ptr_array_insert (pieces, 0, g_strdup (""));
      anthropic_block (sse, &index, block, "input_json_delta", "partial_json", pieces);
    }

  ev = sse_event_new (sse, "message_delta");
  delta = json_object_new ();
  json_object_set_string_member (delta, "stop_reason", r->n_calls > 0 ? "tool_use" : "end_turn");
  json_object_set_null_member (delta, "stop_sequence");
  json_object_set_object_member (ev, "delta", delta);
  json_object_set_object_member (ev, "usage", anthropic_usage (r, r->output_tokens, FALSE));
  sse_emit (sse, ev);
  sse_emit (sse, sse_event_new (sse, "message_stop"));
}

static void
anthropic_stream_error (UsFakeProvider  *self,
                        const Reply     *r,
                        const ErrorInfo *e,
                        Sse             *sse)
{
  JsonObject *ev = sse_event_new (sse, "error");

  json_object_set_object_member (ev, "error", error_inner (self->format, e));
  sse_emit (sse, ev);
}

/* ------------------------------------------------------------------------ */
/* OpenAI Chat Completions                                                  */

static JsonObject *
chat_usage (const Reply *r)
{
  JsonObject *u = json_object_new ();
  JsonObject *prompt = json_object_new ();
  JsonObject *completion = json_object_new ();

  json_object_set_int_member (u, "prompt_tokens", r->input_tokens);
  json_object_set_int_member (u, "completion_tokens", r->output_tokens);
  json_object_set_int_member (u, "total_tokens", r->input_tokens + r->output_tokens);
  json_object_set_int_member (prompt, "cached_tokens", 0);
  json_object_set_int_member (prompt, "audio_tokens", 0);
  json_object_set_object_member (u, "prompt_tokens_details", prompt);
  json_object_set_int_member (completion, "reasoning_tokens", 0);
  json_object_set_int_member (completion, "audio_tokens", 0);
  json_object_set_int_member (completion, "accepted_prediction_tokens", 0);
  json_object_set_int_member (completion, "rejected_prediction_tokens", 0);
  json_object_set_object_member (u, "completion_tokens_details", completion);
  return u;
}

static JsonObject *
chat_tool_call (const ToolCall *call,
                gint            index,
                const char     *arguments)
{
  JsonObject *tc = json_object_new ();
  JsonObject *fn = json_object_new ();

  if (index >= 0)
    json_object_set_int_member (tc, "index", index);
  if (call->id != NULL)
    {
      json_object_set_string_member (tc, "id", call->id);
      json_object_set_string_member (tc, "type", "function");
      json_object_set_string_member (fn, "name", call->name);
    }
  json_object_set_string_member (fn, "arguments", arguments);
  json_object_set_object_member (tc, "function", fn);
  return tc;
}

static JsonObject *
chat_head (const Reply *r,
           const char  *object)
{
  JsonObject *o = json_object_new ();

  json_object_set_string_member (o, "id", r->id);
  json_object_set_string_member (o, "object", object);
  json_object_set_int_member (o, "created", r->created);
  json_object_set_string_member (o, "model", r->model);
  return o;
}

static JsonObject *
chat_whole (UsFakeProvider *self,
            const Reply    *r)
{
  JsonObject *o = chat_head (r, "chat.completion");
  JsonArray *choices = json_array_new ();
  JsonObject *choice = json_object_new ();
  JsonObject *message = json_object_new ();

  json_object_set_string_member (message, "role", "assistant");
  set_string_or_null (message, "content", r->text);
  json_object_set_null_member (message, "refusal");
  json_object_set_array_member (message, "annotations", json_array_new ());
  if (r->n_calls > 0)
    {
      JsonArray *calls = json_array_new ();

      for (guint i = 0; i < r->n_calls; i++)
        json_array_add_object_element (calls, chat_tool_call (&r->calls[i], -1, r->calls[i].args));
      json_object_set_array_member (message, "tool_calls", calls);
    }
  json_object_set_int_member (choice, "index", 0);
  json_object_set_object_member (choice, "message", message);
  json_object_set_null_member (choice, "logprobs");
  json_object_set_string_member (choice, "finish_reason", r->n_calls > 0 ? "tool_calls" : "stop");
  json_array_add_object_element (choices, choice);
  json_object_set_array_member (o, "choices", choices);
  json_object_set_object_member (o, "usage", chat_usage (r));
  json_object_set_string_member (o, "service_tier", "default");
  json_object_set_string_member (o, "system_fingerprint", r->fingerprint);
  return o;
}

static gboolean
chat_include_usage (const Reply *r)
{
  return get_bool (get_object (r->request, "stream_options"), "include_usage");
}

/* One chat.completion.chunk. @delta NULL makes the usage-only chunk. */
static void
chat_chunk (UsFakeProvider *self,
            const Reply    *r,
            Sse            *sse,
            JsonObject     *delta /* owned */,
            const char     *finish_reason)
{
  JsonObject *o = chat_head (r, "chat.completion.chunk");
  JsonArray *choices = json_array_new ();
  g_autofree char *obfuscation = random_string (self, "", BASE62, (guint) g_rand_int_range (self->rand, 2, 12));

  json_object_set_string_member (o, "service_tier", "default");
  json_object_set_string_member (o, "system_fingerprint", r->fingerprint);
  if (delta != NULL)
    {
      JsonObject *choice = json_object_new ();

      json_object_set_int_member (choice, "index", 0);
      json_object_set_object_member (choice, "delta", delta);
      json_object_set_null_member (choice, "logprobs");
      set_string_or_null (choice, "finish_reason", finish_reason);
      json_array_add_object_element (choices, choice);
    }
  json_object_set_array_member (o, "choices", choices);
  if (delta == NULL)
    json_object_set_object_member (o, "usage", chat_usage (r));
  else if (chat_include_usage (r))
    json_object_set_null_member (o, "usage");
  json_object_set_string_member (o, "obfuscation", obfuscation);
  sse_emit (sse, o);
}

static void
chat_stream (UsFakeProvider *self,
             const Reply    *r,
             Sse            *sse)
{
  JsonObject *delta = json_object_new ();

  json_object_set_string_member (delta, "role", "assistant");
  set_string_or_null (delta, "content", r->text != NULL ? "" : NULL);
  json_object_set_null_member (delta, "refusal");
  chat_chunk (self, r, sse, delta, NULL);

  if (r->text != NULL)
    {
      g_autoptr(GPtrArray) pieces = split_utf8 (r->text, 6);

      for (guint i = 0; i < pieces->len; i++)
        {
          sse_mark_delta (sse);
          delta = json_object_new ();
          json_object_set_string_member (delta, "content", g_ptr_array_index (pieces, i));
          chat_chunk (self, r, sse, delta, NULL);
        }
    }
  for (guint i = 0; i < r->n_calls; i++)
    {
      g_autoptr(GPtrArray) pieces = split_utf8 (r->calls[i].args, strlen (r->calls[i].args) / 3 + 1);
      ToolCall fragment = { 0 };
      JsonArray *calls;

      /* id, type and name only in the first delta of each index. */
      sse_mark_delta (sse);
      delta = json_object_new ();
      calls = json_array_new ();
      json_array_add_object_element (calls, chat_tool_call (&r->calls[i], (gint) i, ""));
      json_object_set_array_member (delta, "tool_calls", calls);
      chat_chunk (self, r, sse, delta, NULL);
      for (guint j = 0; j < pieces->len; j++)
        {
          delta = json_object_new ();
          calls = json_array_new ();
          json_array_add_object_element (calls, chat_tool_call (&fragment, (gint) i, g_ptr_array_index (pieces, j)));
          json_object_set_array_member (delta, "tool_calls", calls);
          chat_chunk (self, r, sse, delta, NULL);
        }
    }

  chat_chunk (self, r, sse, json_object_new (), r->n_calls > 0 ? "tool_calls" : "stop");
  if (chat_include_usage (r))
    chat_chunk (self, r, sse, NULL, NULL);
  sse_add_raw (sse, NULL, "[DONE]");
}

static void
chat_stream_error (UsFakeProvider  *self,
                   const Reply     *r,
                   const ErrorInfo *e,
                   Sse             *sse)
{
  JsonObject *o = json_object_new ();

  json_object_set_object_member (o, "error", error_inner (self->format, e));
  sse_emit (sse, o);
}

/* ------------------------------------------------------------------------ */
/* OpenAI Responses                                                         */

static JsonObject *
responses_usage (const Reply *r)
{
  JsonObject *u = json_object_new ();
  JsonObject *in = json_object_new ();
  JsonObject *out = json_object_new ();

  json_object_set_int_member (u, "input_tokens", r->input_tokens);
  json_object_set_int_member (in, "cached_tokens", 0);
  json_object_set_object_member (u, "input_tokens_details", in);
  json_object_set_int_member (u, "output_tokens", r->output_tokens);
  json_object_set_int_member (out, "reasoning_tokens", 0);
  json_object_set_object_member (u, "output_tokens_details", out);
  json_object_set_int_member (u, "total_tokens", r->input_tokens + r->output_tokens);
  return u;
}

static JsonObject *
responses_text_part (const char *text)
{
  JsonObject *part = json_object_new ();

  json_object_set_string_member (part, "type", "output_text");
  json_object_set_array_member (part, "annotations", json_array_new ());
  json_object_set_array_member (part, "logprobs", json_array_new ());
  json_object_set_string_member (part, "text", text);
  return part;
}

static JsonObject *
responses_message_item (const Reply *r,
                        gboolean     done)
{
  JsonObject *item = json_object_new ();
  JsonArray *content = json_array_new ();

  if (done)
    json_array_add_object_element (content, responses_text_part (r->text));
  json_object_set_string_member (item, "id", r->item_id);
  json_object_set_string_member (item, "type", "message");
  json_object_set_string_member (item, "status", done ? "completed" : "in_progress");
  json_object_set_array_member (item, "content", content);
  json_object_set_string_member (item, "role", "assistant");
  return item;
}

static JsonObject *
responses_call_item (const ToolCall *call,
                     gboolean        done)
{
  JsonObject *item = json_object_new ();

  json_object_set_string_member (item, "id", call->item_id);
  json_object_set_string_member (item, "type", "function_call");
  json_object_set_string_member (item, "status", done ? "completed" : "in_progress");
  json_object_set_string_member (item, "arguments", done ? call->args : "");
  json_object_set_string_member (item, "call_id", call->id);
  json_object_set_string_member (item, "name", call->name);
  return item;
}

static JsonObject *
responses_reasoning_item (const Reply *r,
                          gboolean     done)
{
  JsonObject *item = json_object_new ();
  JsonArray *summary = json_array_new ();

  if (done)
    {
      JsonObject *part = json_object_new ();

      json_object_set_string_member (part, "type", "summary_text");
      json_object_set_string_member (part, "text", r->thinking);
      json_array_add_object_element (summary, part);
    }
  json_object_set_string_member (item, "id", r->reasoning_id);
  json_object_set_string_member (item, "type", "reasoning");
  json_object_set_array_member (item, "summary", summary);
  if (done)
    json_object_set_string_member (item, "encrypted_content", r->signature);
  return item;
}

static JsonArray *
responses_output (const Reply *r)
{
  JsonArray *output = json_array_new ();

  if (r->thinking != NULL)
    json_array_add_object_element (output, responses_reasoning_item (r, TRUE));

  if (r->text != NULL)
    json_array_add_object_element (output, responses_message_item (r, TRUE));
  for (guint i = 0; i < r->n_calls; i++)
    json_array_add_object_element (output, responses_call_item (&r->calls[i], TRUE));
  return output;
}

static void
echo_member (JsonObject *o,
             JsonObject *request,
             const char *name,
             JsonNode   *fallback /* owned */)
{
  JsonNode *n = request != NULL ? json_object_get_member (request, name) : NULL;

  if (n != NULL)
    {
      json_object_set_member (o, name, json_node_copy (n));
      json_node_unref (fallback);
    }
  else
    json_object_set_member (o, name, fallback);
}

/* The response object, as the API echoes the request's settings back. */
static JsonObject *
responses_object (const Reply *r,
                  const char  *status,
                  JsonArray   *output /* owned, NULL = [] */,
                  JsonObject  *error  /* owned, NULL = null */)
{
  JsonObject *o = json_object_new ();
  JsonObject *reasoning = json_object_new ();
  JsonObject *req_reasoning = get_object (r->request, "reasoning");
  JsonObject *text = json_object_new ();
  JsonObject *format = json_object_new ();
  g_autoptr(JsonArray) no_tools = json_array_new ();  /* json_node_init_array refs it */
  gboolean done = g_str_equal (status, "completed");

  json_object_set_string_member (o, "id", r->id);
  json_object_set_string_member (o, "object", "response");
  json_object_set_int_member (o, "created_at", r->created);
  json_object_set_string_member (o, "status", status);
  json_object_set_boolean_member (o, "background", FALSE);
  if (error != NULL)
    json_object_set_object_member (o, "error", error);
  else
    json_object_set_null_member (o, "error");
  json_object_set_null_member (o, "incomplete_details");
  echo_member (o, r->request, "instructions", json_node_new (JSON_NODE_NULL));
  echo_member (o, r->request, "max_output_tokens", json_node_new (JSON_NODE_NULL));
  json_object_set_null_member (o, "max_tool_calls");
  json_object_set_string_member (o, "model", r->model);
  json_object_set_array_member (o, "output", output != NULL ? output : json_array_new ());
  echo_member (o, r->request, "parallel_tool_calls", json_node_init_boolean (json_node_alloc (), TRUE));
  json_object_set_null_member (o, "previous_response_id");
  echo_member (o, r->request, "prompt_cache_key", json_node_new (JSON_NODE_NULL));
  set_string_or_null (reasoning, "effort", get_string (req_reasoning, "effort"));
  set_string_or_null (reasoning, "summary", get_string (req_reasoning, "summary"));
  json_object_set_object_member (o, "reasoning", reasoning);
  json_object_set_null_member (o, "safety_identifier");
  json_object_set_string_member (o, "service_tier", done ? "default" : "auto");
  echo_member (o, r->request, "store", json_node_init_boolean (json_node_alloc (), TRUE));
  json_object_set_double_member (o, "temperature", 1.0);
  json_object_set_string_member (format, "type", "text");
  json_object_set_object_member (text, "format", format);
  json_object_set_string_member (text, "verbosity", "medium");
  json_object_set_object_member (o, "text", text);
  echo_member (o, r->request, "tool_choice", json_node_init_string (json_node_alloc (), "auto"));
  echo_member (o, r->request, "tools", json_node_init_array (json_node_alloc (), no_tools));
  json_object_set_int_member (o, "top_logprobs", 0);
  json_object_set_double_member (o, "top_p", 1.0);
  json_object_set_string_member (o, "truncation", "disabled");
  if (done)
    json_object_set_object_member (o, "usage", responses_usage (r));
  else
    json_object_set_null_member (o, "usage");
  json_object_set_null_member (o, "user");
  json_object_set_object_member (o, "metadata", json_object_new ());
  return o;
}

static JsonObject *
responses_whole (UsFakeProvider *self,
                 const Reply    *r)
{
  return responses_object (r, "completed", responses_output (r), NULL);
}

static void
responses_lifecycle (Sse        *sse,
                     const char *type,
                     JsonObject *response /* owned */)
{
  JsonObject *ev = sse_event_new (sse, type);

  json_object_set_object_member (ev, "response", response);
  sse_emit (sse, ev);
}

static void
responses_item_event (Sse        *sse,
                      const char *type,
                      guint       output_index,
                      JsonObject *item /* owned */)
{
  JsonObject *ev = sse_event_new (sse, type);

  json_object_set_int_member (ev, "output_index", output_index);
  json_object_set_object_member (ev, "item", item);
  sse_emit (sse, ev);
}

/* An event about part of an output item: item_id, output_index and, for
 * message text, content_index. */
static JsonObject *
responses_part_event (Sse        *sse,
                      const char *type,
                      const char *item_id,
                      guint       output_index,
                      gboolean    with_content_index)
{
  JsonObject *ev = sse_event_new (sse, type);

  json_object_set_string_member (ev, "item_id", item_id);
  json_object_set_int_member (ev, "output_index", output_index);
  if (with_content_index)
    json_object_set_int_member (ev, "content_index", 0);
  return ev;
}

static void
responses_delta (UsFakeProvider *self,
                 Sse            *sse,
                 JsonObject     *ev /* owned */,
                 const char     *delta,
                 gboolean        logprobs)
{
  g_autofree char *obfuscation = random_string (self, "", BASE62, (guint) g_rand_int_range (self->rand, 2, 12));

  sse_mark_delta (sse);
  json_object_set_string_member (ev, "delta", delta);
  if (logprobs)
    json_object_set_array_member (ev, "logprobs", json_array_new ());
  json_object_set_string_member (ev, "obfuscation", obfuscation);
  sse_emit (sse, ev);
}

static void
responses_stream (UsFakeProvider *self,
                  const Reply    *r,
                  Sse            *sse)
{
  guint output_index = 0;
  JsonObject *ev;

  responses_lifecycle (sse, "response.created", responses_object (r, "in_progress", NULL, NULL));
  responses_lifecycle (sse, "response.in_progress", responses_object (r, "in_progress", NULL, NULL));

  if (r->thinking != NULL)
    {
      g_autoptr(GPtrArray) pieces = split_utf8 (r->thinking, 8);

      sse_mark_block (sse);
      responses_item_event (sse, "response.output_item.added", output_index, responses_reasoning_item (r, FALSE));
      for (guint i = 0; i < pieces->len; i++)
        {
          ev = responses_part_event (sse, "response.reasoning_summary_text.delta", r->reasoning_id,
                                     output_index, FALSE);
          json_object_set_int_member (ev, "summary_index", 0);
          responses_delta (self, sse, ev, g_ptr_array_index (pieces, i), FALSE);
        }
      ev = responses_part_event (sse, "response.reasoning_summary_text.done", r->reasoning_id, output_index, FALSE);
      json_object_set_int_member (ev, "summary_index", 0);
      json_object_set_string_member (ev, "text", r->thinking);
      sse_emit (sse, ev);
      responses_item_event (sse, "response.output_item.done", output_index, responses_reasoning_item (r, TRUE));
      output_index++;
    }

  if (r->text != NULL)
    {
      g_autoptr(GPtrArray) pieces = split_utf8 (r->text, 6);

      sse_mark_block (sse);
      responses_item_event (sse, "response.output_item.added", output_index, responses_message_item (r, FALSE));
      ev = responses_part_event (sse, "response.content_part.added", r->item_id, output_index, TRUE);
      json_object_set_object_member (ev, "part", responses_text_part (""));
      sse_emit (sse, ev);
      for (guint i = 0; i < pieces->len; i++)
        responses_delta (self, sse,
                         responses_part_event (sse, "response.output_text.delta", r->item_id, output_index, TRUE),
                         g_ptr_array_index (pieces, i), TRUE);
      ev = responses_part_event (sse, "response.output_text.done", r->item_id, output_index, TRUE);
      json_object_set_string_member (ev, "text", r->text);
      json_object_set_array_member (ev, "logprobs", json_array_new ());
      sse_emit (sse, ev);
      ev = responses_part_event (sse, "response.content_part.done", r->item_id, output_index, TRUE);
      json_object_set_object_member (ev, "part", responses_text_part (r->text));
      sse_emit (sse, ev);
      responses_item_event (sse, "response.output_item.done", output_index, responses_message_item (r, TRUE));
      output_index++;
    }
  for (guint i = 0; i < r->n_calls; i++, output_index++)
    {
      const ToolCall *call = &r->calls[i];
      g_autoptr(GPtrArray) pieces = split_utf8 (call->args, strlen (call->args) / 3 + 1);

      sse_mark_block (sse);
      responses_item_event (sse, "response.output_item.added", output_index, responses_call_item (call, FALSE));
      for (guint j = 0; j < pieces->len; j++)
        responses_delta (self, sse,
                         responses_part_event (sse, "response.function_call_arguments.delta",
                                               call->item_id, output_index, FALSE),
                         g_ptr_array_index (pieces, j), FALSE);
      ev = responses_part_event (sse, "response.function_call_arguments.done", call->item_id, output_index, FALSE);
      json_object_set_string_member (ev, "arguments", call->args);
      sse_emit (sse, ev);
      responses_item_event (sse, "response.output_item.done", output_index, responses_call_item (call, TRUE));
    }

  responses_lifecycle (sse, "response.completed", responses_object (r, "completed", responses_output (r), NULL));
}

static void
responses_stream_error (UsFakeProvider  *self,
                        const Reply     *r,
                        const ErrorInfo *e,
                        Sse             *sse)
{
  JsonObject *error = json_object_new ();

  /* A failed response carries {code, message}; Codex reads the code. */
  json_object_set_string_member (error, "code", e->code != NULL && *e->code != '\0' ? e->code : e->type);
  json_object_set_string_member (error, "message", e->message);
  responses_lifecycle (sse, "response.failed", responses_object (r, "failed", NULL, error));
}

/* ------------------------------------------------------------------------ */
/* Per-format table                                                         */

typedef struct {
  const char  *route;
  JsonObject *(*whole)        (UsFakeProvider *self, const Reply *r);
  void        (*stream)       (UsFakeProvider *self, const Reply *r, Sse *sse);
  void        (*stream_error) (UsFakeProvider *self, const Reply *r, const ErrorInfo *e, Sse *sse);
} FormatOps;

static const FormatOps format_ops[] = {
  [US_FAKE_FORMAT_ANTHROPIC] = { "/v1/messages", anthropic_whole, anthropic_stream, anthropic_stream_error },
  [US_FAKE_FORMAT_OPENAI_CHAT] = { "/v1/chat/completions", chat_whole, chat_stream, chat_stream_error },
  [US_FAKE_FORMAT_OPENAI_RESPONSES] = { "/v1/responses", responses_whole, responses_stream, responses_stream_error },
};

/* Headers every response of the provider carries: request ids, rate-limit
 * state (exhausted on a 429), and x-should-retry on errors, which the
 * official SDKs obey. */
static void
add_provider_headers (UsFakeProvider     *self,
                      SoupMessageHeaders *h,
                      guint               status,
                      const char         *request_id)
{
  gboolean limited = status == 429;

  if (self->format == US_FAKE_FORMAT_ANTHROPIC)
    {
      g_autoptr(GDateTime) reset = g_date_time_new_from_unix_utc (now_s () + 60);
      g_autofree char *reset_s = g_date_time_format (reset, "%Y-%m-%dT%H:%M:%SZ");
      static const char * const kinds[] = { "requests", "tokens", "input-tokens", "output-tokens" };
      static const char * const limits[] = { "4000", "2000000", "1600000", "400000" };
      static const char * const remaining[] = { "3999", "1999000", "1599000", "399000" };

      soup_message_headers_replace (h, "request-id", request_id);
      soup_message_headers_replace (h, "anthropic-organization-id", "00000000-0000-4000-8000-00000000fa4e");
      for (guint i = 0; i < G_N_ELEMENTS (kinds); i++)
        {
          g_autofree char *limit = g_strdup_printf ("anthropic-ratelimit-%s-limit", kinds[i]);
          g_autofree char *rem = g_strdup_printf ("anthropic-ratelimit-%s-remaining", kinds[i]);
          g_autofree char *rst = g_strdup_printf ("anthropic-ratelimit-%s-reset", kinds[i]);

          soup_message_headers_replace (h, limit, limits[i]);
          soup_message_headers_replace (h, rem, limited && i == 0 ? "0" : remaining[i]);
          soup_message_headers_replace (h, rst, reset_s);
        }
    }
  else
    {
      soup_message_headers_replace (h, "x-request-id", request_id);
      soup_message_headers_replace (h, "openai-organization", "user-fake");
      soup_message_headers_replace (h, "openai-project", "proj_fake");
      soup_message_headers_replace (h, "openai-processing-ms", "42");
      soup_message_headers_replace (h, "openai-version", "2020-10-01");
      soup_message_headers_replace (h, "x-ratelimit-limit-requests", "10000");
      soup_message_headers_replace (h, "x-ratelimit-remaining-requests", limited ? "0" : "9999");
      soup_message_headers_replace (h, "x-ratelimit-reset-requests", limited ? "1s" : "6ms");
      soup_message_headers_replace (h, "x-ratelimit-limit-tokens", "30000000");
      soup_message_headers_replace (h, "x-ratelimit-remaining-tokens", "29999000");
      soup_message_headers_replace (h, "x-ratelimit-reset-tokens", "0s");
    }
  if (status >= 400)
    soup_message_headers_replace (h, "x-should-retry",
                                  status == 408 || status == 409 || status == 429 || status >= 500
                                  ? "true" : "false");
}

static void
add_step_headers (SoupMessageHeaders *h,
                  const UsFakeStep   *step)
{
  if (step == NULL)
    return;
  if (step->retry_after != NULL)
    soup_message_headers_replace (h, "retry-after", step->retry_after);
  for (guint i = 0; step->headers != NULL && step->headers[i] != NULL; i++)
    {
      const char *colon = strchr (step->headers[i], ':');
      g_autofree char *name = NULL;

      if (colon == NULL)
        {
          g_warning ("Fake provider: header without a colon: %s", step->headers[i]);
          continue;
        }
      name = g_strstrip (g_strndup (step->headers[i], colon - step->headers[i]));
      soup_message_headers_append (h, name, colon[1] == ' ' ? colon + 2 : colon + 1);
    }
}

/* ------------------------------------------------------------------------ */
/* Exchanges: one response being played out                                 */

typedef enum {
  END_COMPLETE, /* finish the body */
  END_ABORT,    /* once everything queued is written, drop the connection */
  END_HANG,     /* keep the connection open, say nothing more */
} ExchangeEnd;

typedef struct {
  UsFakeProvider    *self;
  SoupServerMessage *msg;
  GPtrArray         *pieces;   /* GBytes, appended one per tick */
  guint              next;     /* next piece to append */
  guint              n_written;
  ExchangeEnd        end;
  gboolean           abort_at_start;
  gboolean           grace_done;
  gboolean           chunked;
  GSource           *source;
  gulong             finished_id;
  gulong             wrote_chunk_id;
} Exchange;

static void
exchange_free (Exchange *ex)
{
  if (ex->source != NULL)
    {
      g_source_destroy (ex->source);
      g_source_unref (ex->source);
    }
  g_clear_signal_handler (&ex->finished_id, ex->msg);
  g_clear_signal_handler (&ex->wrote_chunk_id, ex->msg);
  g_clear_object (&ex->msg);
  g_clear_pointer (&ex->pieces, g_ptr_array_unref);
  g_ptr_array_remove_fast (ex->self->exchanges, ex);
  g_free (ex);
}

static gboolean exchange_tick (gpointer data);

static void
exchange_schedule (Exchange *ex,
                   guint     delay_ms)
{
  if (ex->source != NULL)
    {
      g_source_destroy (ex->source);
      g_source_unref (ex->source);
    }
  /* Attach to the context the server runs in, which need not be the
   * global default one. */
  ex->source = g_timeout_source_new (delay_ms);
  g_source_set_callback (ex->source, exchange_tick, ex, NULL);
  g_source_attach (ex->source, ex->self->context);
}

/* Drops the connection under libsoup. The socket goes first: stealing the
 * connection closes the body stream, which would otherwise write the
 * chunked terminator and turn the cut into a clean end. Never called from
 * inside libsoup's I/O. */
static void
exchange_abort (Exchange *ex)
{
  GSocket *borrowed = soup_server_message_get_socket (ex->msg);
  g_autoptr(GSocket) socket = borrowed != NULL ? g_object_ref (borrowed) : NULL;
  g_autoptr(GIOStream) stream = NULL;

  /* Stealing asks for both addresses; have libsoup cache them while the
   * socket still has them. */
  soup_server_message_get_local_address (ex->msg);
  soup_server_message_get_remote_address (ex->msg);

  if (socket != NULL && ex->self->reset_style == US_FAKE_RESET_RST)
    {
      /* Linger 0: close() sends RST instead of FIN. */
      struct linger linger = { .l_onoff = 1, .l_linger = 0 };

      if (setsockopt (g_socket_get_fd (socket), SOL_SOCKET, SO_LINGER, &linger, sizeof linger) != 0)
        g_warning ("Fake provider: SO_LINGER: %s", g_strerror (errno));
    }
  else if (socket != NULL)
    g_socket_shutdown (socket, FALSE, TRUE, NULL);
  if (socket != NULL)
    g_socket_close (socket, NULL);

  stream = soup_server_message_steal_connection (ex->msg);
  if (stream != NULL)
    g_io_stream_close (stream, NULL, NULL);
  exchange_free (ex);
}

static gboolean
exchange_tick (gpointer data)
{
  Exchange *ex = data;
  SoupMessageBody *body = soup_server_message_get_response_body (ex->msg);

  g_clear_pointer (&ex->source, g_source_unref);

  if (ex->abort_at_start)
    {
      exchange_abort (ex);
      return G_SOURCE_REMOVE;
    }

  if (ex->next < ex->pieces->len)
    {
      soup_message_body_append_bytes (body, g_ptr_array_index (ex->pieces, ex->next++));
      soup_server_message_unpause (ex->msg);
      exchange_schedule (ex, ex->next < ex->pieces->len ? ex->self->chunk_delay_ms : 0);
      return G_SOURCE_REMOVE;
    }

  switch (ex->end)
    {
    case END_COMPLETE:
      if (ex->chunked)
        soup_message_body_complete (body);
      soup_server_message_unpause (ex->msg);
      break;
    case END_HANG:
      soup_server_message_unpause (ex->msg);
      break;
    case END_ABORT:
      /* The headers and every piece must be on the wire first. */
      if (ex->n_written < ex->pieces->len)
        {
          soup_server_message_unpause (ex->msg);
          exchange_schedule (ex, ABORT_POLL_MS);
        }
      else if (!ex->grace_done)
        {
          ex->grace_done = TRUE;
          exchange_schedule (ex, ABORT_GRACE_MS);
        }
      else
        exchange_abort (ex);
      break;
    default:
      g_assert_not_reached ();
    }
  return G_SOURCE_REMOVE;
}

static void
exchange_finished_cb (SoupServerMessage *msg,
                      gpointer           data)
{
  exchange_free (data);
}

static void
exchange_wrote_chunk_cb (SoupServerMessage *msg,
                         gpointer           data)
{
  Exchange *ex = data;

  ex->n_written++;
}

static Exchange *
exchange_new (UsFakeProvider    *self,
              SoupServerMessage *msg)
{
  Exchange *ex = g_new0 (Exchange, 1);

  ex->self = self;
  ex->msg = g_object_ref (msg);
  ex->pieces = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  ex->end = END_COMPLETE;
  ex->finished_id = g_signal_connect (msg, "finished", G_CALLBACK (exchange_finished_cb), ex);
  ex->wrote_chunk_id = g_signal_connect (msg, "wrote-chunk", G_CALLBACK (exchange_wrote_chunk_cb), ex);
  g_ptr_array_add (self->exchanges, ex);
  return ex;
}

/* ------------------------------------------------------------------------ */
/* Responding                                                               */

/* libsoup knows no phrase for some statuses providers use. */
static void
set_status (SoupServerMessage *msg,
            guint              status)
{
  const char *phrase = NULL;

  if (status == 429)
    phrase = "Too Many Requests";
  else if (status == 529)
    phrase = "Overloaded";
  soup_server_message_set_status (msg, status, phrase);
}

static void
set_json (SoupServerMessage *msg,
          guint              status,
          JsonObject        *o /* owned */)
{
  char *data = object_to_string (o);

  json_object_unref (o);
  set_status (msg, status);
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_TAKE, data, strlen (data));
}

static void
respond_error (UsFakeProvider    *self,
               SoupServerMessage *msg,
               guint              status,
               const UsFakeStep  *step,
               const char        *model)
{
  ErrorInfo e;
  g_autofree char *owned = NULL;
  g_autofree char *request_id = self->format == US_FAKE_FORMAT_ANTHROPIC
                                ? random_string (self, "req_011C", BASE62, 20)
                                : random_string (self, "req_", HEX, 32);
  SoupMessageHeaders *h = soup_server_message_get_response_headers (msg);

  resolve_error (self, status, step, model, &e, &owned);
  add_provider_headers (self, h, status, request_id);
  add_step_headers (h, step);
  set_json (msg, status, error_envelope (self, &e, request_id));
}

static const char *
stream_content_type (UsFakeFormat format)
{
  /* Anthropic says charset=utf-8; OpenAI sends the bare type. */
  return format == US_FAKE_FORMAT_ANTHROPIC ? "text/event-stream; charset=utf-8" : "text/event-stream";
}

/* The status a provider answers a non-streamed request with when it is
 * overloaded: what ERROR_BEFORE_CONTENT means without a stream. */
static guint
overloaded_status (UsFakeFormat format)
{
  return format == US_FAKE_FORMAT_ANTHROPIC ? 529 : 503;
}

/* A 200 that no decoder can read: the start of a JSON answer cut off
 * (with a Content-Length that matches, so the transfer itself is clean),
 * or an event stream whose events carry broken JSON, lines that are not
 * SSE, and no end event, before the body ends normally. */
static void
respond_malformed (UsFakeProvider *self,
                   Exchange       *ex,
                   gboolean        stream)
{
  static const char whole[] = "{\"id\": \"msg_01\", \"type\": \"message\", \"content\": [{\"type\": \"te";
  static const char events[] =
    "event: message_start\ndata: {\"type\": \"message_start\", \"message\": {\"id\n\n"
    "data: {\"choices\": [{\"delta\": {\"content\": \"x\"}]]}\n\n"
    "this line is not SSE\n\n"
    "data: \xff\xfe not UTF-8 {\n\n"
    "event: \ndata:\n\n";
  SoupServerMessage *msg = ex->msg;
  SoupMessageHeaders *h = soup_server_message_get_response_headers (msg);

  soup_server_message_set_status (msg, 200, NULL);
  if (!stream)
    {
      soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_STATIC, whole, strlen (whole));
      return;
    }
  soup_message_headers_set_encoding (h, SOUP_ENCODING_CHUNKED);
  soup_message_headers_replace (h, "content-type", stream_content_type (self->format));
  g_ptr_array_add (ex->pieces, g_bytes_new_static (events, sizeof events - 1));
  ex->chunked = TRUE;
}

/* Sets @ex up for a generation request according to @step. */
static void
respond_generation (UsFakeProvider   *self,
                    Exchange         *ex,
                    const UsFakeStep *step,
                    UsFakeRequest    *request)
{
  const FormatOps *ops = &format_ops[self->format];
  JsonObject *body = request_body (request);
  SoupServerMessage *msg = ex->msg;
  SoupMessageHeaders *h = soup_server_message_get_response_headers (msg);
  gboolean stream = get_bool (body, "stream");
  g_autofree char *request_id = NULL;
  Reply r;

  if (self->signing_key != NULL && step->behavior != US_FAKE_STATUS
      && step->behavior != US_FAKE_RESET_BEFORE_FIRST_BYTE && step->behavior != US_FAKE_SILENCE_BEFORE_HEADERS)
    {
      const char *code = NULL;
      g_autofree char *refusal = us_fake_check_signed (self->format, self->signing_key, body, &code);

      if (refusal != NULL)
        {
          UsFakeStep bad = { .behavior = US_FAKE_STATUS, .status = 400,
                             .error_type = "invalid_request_error", .error_message = refusal,
                             .error_code = code };

          respond_error (self, msg, 400, &bad, us_fake_request_get_model (request));
          return;
        }
    }

  switch (step->behavior)
    {
    case US_FAKE_STATUS:
      respond_error (self, msg, step->status != 0 ? step->status : 500, step, us_fake_request_get_model (request));
      return;
    case US_FAKE_RESET_BEFORE_FIRST_BYTE:
      ex->abort_at_start = TRUE;
      return;
    case US_FAKE_SILENCE_BEFORE_HEADERS:
      /* Stays paused: no status, no headers, ever. */
      return;
    case US_FAKE_STREAM_ERROR_BEFORE_CONTENT:
      if (!stream)
        {
          respond_error (self, msg, overloaded_status (self->format), step, us_fake_request_get_model (request));
          return;
        }
      break;
    case US_FAKE_OK:
    case US_FAKE_OK_TOOL_CALL:
    case US_FAKE_OK_TWO_TOOL_CALLS:
    case US_FAKE_RESET_MID_STREAM:
    case US_FAKE_SILENCE_AFTER_HEADERS:
    case US_FAKE_TOOL_TASK:
    default:
      break;
    }

  if (step->behavior == US_FAKE_MALFORMED)
    {
      respond_malformed (self, ex, stream);
      return;
    }

  request_id = self->format == US_FAKE_FORMAT_ANTHROPIC ? random_string (self, "req_011C", BASE62, 20)
                                                        : random_string (self, "req_", HEX, 32);
  reply_init (self, &r, step, body, g_bytes_get_size (request->body));
  soup_server_message_set_status (msg, 200, NULL);
  add_provider_headers (self, h, 200, request_id);
  add_step_headers (h, step);

  if (stream)
    {
      Sse sse;
      guint n_send;

      sse_init (&sse, self->format);
      ops->stream (self, &r, &sse);
      n_send = sse.ends->len;
      if (step->behavior == US_FAKE_RESET_MID_STREAM)
        {
          /* The stream start and two content events: past the commit point. */
          n_send = MIN (sse.n_first_delta + 2, sse.ends->len - 2);
          ex->end = END_ABORT;
        }
      else if (step->behavior == US_FAKE_STREAM_ERROR_BEFORE_CONTENT)
        {
          ErrorInfo e;
          g_autofree char *owned = NULL;

          resolve_error (self, 529, step, r.model, &e, &owned);
          sse_truncate (&sse, sse.n_prelude);
          ops->stream_error (self, &r, &e, &sse);
          n_send = sse.ends->len;
        }
      else if (step->behavior == US_FAKE_SILENCE_AFTER_HEADERS)
        {
          n_send = 0;
          ex->end = END_HANG;
        }
      g_ptr_array_unref (ex->pieces);
      ex->pieces = sse_cut (&sse, n_send, self->chunking);
      ex->chunked = TRUE;
      soup_message_headers_set_encoding (h, SOUP_ENCODING_CHUNKED);
      soup_message_headers_replace (h, "content-type", stream_content_type (self->format));
      soup_message_headers_replace (h, "cache-control", "no-cache");
      sse_clear (&sse);
    }
  else
    {
      JsonObject *whole = ops->whole (self, &r);
      char *data = object_to_string (whole);
      gsize len = strlen (data);

      json_object_unref (whole);
      soup_message_headers_replace (h, "content-type", "application/json");
      switch (step->behavior)
        {
        case US_FAKE_RESET_MID_STREAM:
          /* Promise the whole body, deliver half of it. */
          soup_message_headers_set_content_length (h, len);
          g_ptr_array_add (ex->pieces, g_bytes_new_take (data, len / 2));
          ex->end = END_ABORT;
          break;
        case US_FAKE_SILENCE_AFTER_HEADERS:
          soup_message_headers_set_content_length (h, len);
          ex->end = END_HANG;
          g_free (data);
          break;
        default:
          soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_TAKE, data, len);
          break;
        }
    }
  reply_clear (&r);
}

/* ------------------------------------------------------------------------ */
/* Other routes                                                             */

static const char * const default_anthropic_models[] = { "claude-opus-5-5", "claude-sonnet-5-5", "claude-haiku-4-5", NULL };
static const char * const default_openai_models[] = { "gpt-test", "gpt-5", "gpt-4.1-mini", NULL };

static JsonObject *
model_object (UsFakeProvider *self,
              const char     *id)
{
  JsonObject *m = json_object_new ();

  if (self->format == US_FAKE_FORMAT_ANTHROPIC)
    {
      json_object_set_string_member (m, "type", "model");
      json_object_set_string_member (m, "id", id);
      json_object_set_string_member (m, "display_name", id);
      json_object_set_string_member (m, "created_at", "2025-09-29T00:00:00Z");
    }
  else
    {
      json_object_set_string_member (m, "id", id);
      json_object_set_string_member (m, "object", "model");
      json_object_set_int_member (m, "created", 1727568000);
      json_object_set_string_member (m, "owned_by", "system");
    }
  return m;
}

static JsonObject *
models_list (UsFakeProvider *self)
{
  JsonObject *o = json_object_new ();
  JsonArray *data = json_array_new ();
  guint n = g_strv_length (self->models);

  for (guint i = 0; i < n; i++)
    json_array_add_object_element (data, model_object (self, self->models[i]));
  if (self->format == US_FAKE_FORMAT_ANTHROPIC)
    {
      json_object_set_array_member (o, "data", data);
      json_object_set_boolean_member (o, "has_more", FALSE);
      set_string_or_null (o, "first_id", n > 0 ? self->models[0] : NULL);
      set_string_or_null (o, "last_id", n > 0 ? self->models[n - 1] : NULL);
    }
  else
    {
      json_object_set_string_member (o, "object", "list");
      json_object_set_array_member (o, "data", data);
    }
  return o;
}

/* The key a request presents: x-api-key, api-key or a Bearer token. */
static const char *
presented_key (const UsFakeRequest *request)
{
  const char *auth = us_fake_request_get_header (request, "authorization");

  if (us_fake_request_get_header (request, "x-api-key") != NULL)
    return us_fake_request_get_header (request, "x-api-key");
  if (us_fake_request_get_header (request, "api-key") != NULL)
    return us_fake_request_get_header (request, "api-key");
  if (auth != NULL && g_ascii_strncasecmp (auth, "Bearer ", 7) == 0)
    return auth + 7;
  return NULL;
}

/* The step a pool key always gets, or NULL. */
static const UsFakeStep *
key_step (UsFakeProvider      *self,
          const UsFakeRequest *request)
{
  const char *key = presented_key (request);

  return key != NULL ? g_hash_table_lookup (self->pool_keys, key) : NULL;
}

static gboolean
key_accepted (UsFakeProvider      *self,
              const UsFakeRequest *request)
{
  const char *auth = us_fake_request_get_header (request, "authorization");

  if (self->required_key == NULL && g_hash_table_size (self->pool_keys) == 0)
    return TRUE;
  if (presented_key (request) != NULL && g_hash_table_contains (self->pool_keys, presented_key (request)))
    return TRUE;
  if (self->required_key == NULL)
    return FALSE;
  /* Azure's key goes in api-key only; a Bearer token there is an Entra
   * ID token, never the resource key. */
  if (self->azure_api_version != NULL)
    return g_strcmp0 (us_fake_request_get_header (request, "api-key"), self->required_key) == 0;
  /* Vertex takes OAuth access tokens, as Bearer only. */
  if (self->vertex_prefix != NULL)
    return auth != NULL && g_ascii_strncasecmp (auth, "Bearer ", 7) == 0
           && g_strcmp0 (auth + 7, self->required_key) == 0;
  return g_strcmp0 (us_fake_request_get_header (request, "x-api-key"), self->required_key) == 0
         || g_strcmp0 (us_fake_request_get_header (request, "api-key"), self->required_key) == 0
         || (auth != NULL && g_ascii_strncasecmp (auth, "Bearer ", 7) == 0
             && g_strcmp0 (auth + 7, self->required_key) == 0);
}

static void
respond_simple_error (UsFakeProvider    *self,
                      SoupServerMessage *msg,
                      guint              status,
                      const char        *message,
                      const char        *model)
{
  /* An empty code stands for none: a wrong route is no missing model. */
  UsFakeStep step = { .error_message = message, .error_code = "" };

  respond_error (self, msg, status, &step, model);
}

static void
respond_json_ok (UsFakeProvider    *self,
                 SoupServerMessage *msg,
                 JsonObject        *o /* owned */)
{
  g_autofree char *request_id = self->format == US_FAKE_FORMAT_ANTHROPIC
                                ? random_string (self, "req_011C", BASE62, 20)
                                : random_string (self, "req_", HEX, 32);

  add_provider_headers (self, soup_server_message_get_response_headers (msg), 200, request_id);
  set_json (msg, 200, o);
}

/* ------------------------------------------------------------------------ */
/* Request log (one JSON line per request, for shell-driven tests)          */

static char *
last_user_text (UsFakeFormat format,
                JsonObject  *body)
{
  JsonArray *items = get_array (body, format == US_FAKE_FORMAT_OPENAI_RESPONSES ? "input" : "messages");

  if (format == US_FAKE_FORMAT_OPENAI_RESPONSES && get_string (body, "input") != NULL)
    return g_strdup (get_string (body, "input"));
  for (guint i = items != NULL ? json_array_get_length (items) : 0; i > 0; i--)
    {
      JsonObject *item = array_get_object (items, i - 1);

      if (g_strcmp0 (get_string (item, "role"), "user") == 0)
        {
          char *text = content_text (json_object_get_member (item, "content"));

          if (text != NULL && *text != '\0')
            return text;
          g_free (text);
        }
    }
  return NULL;
}

static JsonObject *
request_summary (UsFakeProvider      *self,
                 const UsFakeRequest *request)
{
  JsonObject *body = request_body (request);
  JsonObject *s = json_object_new ();
  JsonArray *items = get_array (body, self->format == US_FAKE_FORMAT_OPENAI_RESPONSES ? "input" : "messages");
  JsonArray *tools = get_array (body, "tools");
  JsonArray *names = json_array_new ();
  g_autofree char *result = find_tool_result (self->format, body);
  g_autofree char *text = last_user_text (self->format, body);

  for (guint i = 0; tools != NULL && i < json_array_get_length (tools); i++)
    {
      JsonObject *tool = array_get_object (tools, i);
      JsonObject *fn = get_object (tool, "function") != NULL ? get_object (tool, "function") : tool;
      const char *name = get_string (fn, "name");

      json_array_add_string_element (names, name != NULL ? name : get_string (tool, "type"));
    }
  json_object_set_int_member (s, "items", items != NULL ? json_array_get_length (items) : 0);
  json_object_set_array_member (s, "tools", names);
  json_object_set_boolean_member (s, "tool_result", result != NULL);
  json_object_set_boolean_member (s, "thinking", us_fake_wants_thinking (self->format, body));
  json_object_set_int_member (s, "signed", us_fake_count_signed (self->format, body));
  if (text != NULL && g_utf8_strlen (text, -1) > LOG_TEXT_MAX)
    {
      char *cut = g_utf8_substring (text, 0, LOG_TEXT_MAX);

      g_free (text);
      text = cut;
    }
  set_string_or_null (s, "last_user_text", text);
  return s;
}

static void
log_request (UsFakeProvider      *self,
             const UsFakeRequest *request)
{
  static const char * const secret_headers[] = { "authorization", "x-api-key", "api-key",
                                                 "proxy-authorization", "cookie", NULL };
  g_autoptr(JsonObject) o = json_object_new ();
  JsonObject *headers = json_object_new ();
  SoupMessageHeadersIter iter;
  const char *name, *value;
  const char *key = NULL;
  const char *scheme = "none";
  g_autofree char *line = NULL;
  g_autofree char *text = NULL;

  soup_message_headers_iter_init (&iter, request->headers);
  while (soup_message_headers_iter_next (&iter, &name, &value))
    {
      g_autofree char *lower = g_ascii_strdown (name, -1);

      if (g_strv_contains (secret_headers, lower))
        {
          /* Say which credential came, and a digest to compare, never the key. */
          if (g_str_equal (lower, "authorization") && g_ascii_strncasecmp (value, "Bearer ", 7) == 0)
            scheme = "bearer", key = value + 7;
          else if (g_str_equal (lower, "x-api-key") || g_str_equal (lower, "api-key"))
            scheme = g_str_equal (lower, "x-api-key") ? "x-api-key" : "api-key", key = value;
          continue;
        }
      json_object_set_string_member (headers, lower, value);
    }

  json_object_set_int_member (o, "time_ms", g_get_real_time () / 1000);
  json_object_set_string_member (o, "method", request->method);
  json_object_set_string_member (o, "path", request->path);
  json_object_set_object_member (o, "headers", headers);
  json_object_set_string_member (o, "auth", scheme);
  if (key != NULL)
    {
      g_autofree char *digest = g_compute_checksum_for_string (G_CHECKSUM_SHA256, key, -1);

      digest[12] = '\0';
      json_object_set_string_member (o, "key_sha256", digest);
    }
  set_string_or_null (o, "model", us_fake_request_get_model (request));
  json_object_set_boolean_member (o, "stream", us_fake_request_get_stream (request));
  set_string_or_null (o, "behavior", request->scripted ? us_fake_behavior_to_string (request->behavior) : NULL);
  json_object_set_int_member (o, "body_bytes", g_bytes_get_size (request->body));
  if (request_body (request) != NULL)
    json_object_set_object_member (o, "summary", request_summary (self, request));

  text = object_to_string (o);
  line = g_strconcat (text, "\n", NULL);
  if (!g_output_stream_write_all (self->log, line, strlen (line), NULL, NULL, NULL)
      || !g_output_stream_flush (self->log, NULL, NULL))
    g_warning ("Fake provider: cannot write the request log");
}

/* ------------------------------------------------------------------------ */
/* Azure OpenAI                                                             */

/* Azure's own envelope: {"error": {"code", "message"}}. */
static void
respond_azure_error (SoupServerMessage *msg,
                     guint              status,
                     const char        *code,
                     const char        *message)
{
  JsonObject *o = json_object_new ();
  JsonObject *error = json_object_new ();

  json_object_set_string_member (error, "code", code);
  json_object_set_string_member (error, "message", message);
  json_object_set_object_member (o, "error", error);
  set_json (msg, status, o);
}

/* Whether an Azure request reached a deployment the resource has, as Azure
 * checks it: chat goes to /openai/deployments/{name}/chat/completions with
 * the configured api-version, v1 Responses to /openai/v1/responses with the
 * deployment as body.model. Answers the error itself when not. */
static gboolean
azure_route_accepts (UsFakeProvider    *self,
                     SoupServerMessage *msg,
                     const char        *path,
                     GHashTable        *query,
                     const char        *model)
{
  static const char prefix[] = "/openai/deployments/";
  static const char suffix[] = "/chat/completions";
  g_autofree char *deployment = NULL;

  if (self->format == US_FAKE_FORMAT_OPENAI_RESPONSES && g_str_equal (path, "/openai/v1/responses"))
    deployment = g_strdup (model);
  else if (self->format == US_FAKE_FORMAT_OPENAI_CHAT && g_str_has_prefix (path, prefix)
           && g_str_has_suffix (path, suffix) && strlen (path) > strlen (prefix) + strlen (suffix))
    {
      const char *version = query ? g_hash_table_lookup (query, "api-version") : NULL;

      if (g_strcmp0 (version, self->azure_api_version) != 0)
        {
          respond_azure_error (msg, 404, "404", "Resource not found");
          return FALSE;
        }
      deployment = g_strndup (path + strlen (prefix), strlen (path) - strlen (prefix) - strlen (suffix));
    }
  else
    {
      respond_azure_error (msg, 404, "404", "Resource not found");
      return FALSE;
    }
  if (deployment == NULL || !g_strv_contains ((const char * const *) self->azure_deployments, deployment))
    {
      respond_azure_error (msg, 404, "DeploymentNotFound",
                           "The API deployment for this resource does not exist. If you created the "
                           "deployment within the last 5 minutes, please wait a moment and try again.");
      return FALSE;
    }
  return TRUE;
}

/* ------------------------------------------------------------------------ */
/* Vertex AI                                                                */

/* Google's envelope: {"error": {"code", "message", "status"}}. */
static void
respond_google_error (SoupServerMessage *msg,
                      guint              status,
                      const char        *google_status,
                      const char        *message)
{
  JsonObject *o = json_object_new ();
  JsonObject *error = json_object_new ();

  json_object_set_int_member (error, "code", status);
  json_object_set_string_member (error, "message", message);
  json_object_set_string_member (error, "status", google_status);
  json_object_set_object_member (o, "error", error);
  set_json (msg, status, o);
}

/* Whether a Vertex request has the route and body Vertex takes: for Claude
 * POST {prefix}/publishers/anthropic/models/{model}:streamRawPredict (a
 * streamed body) or :rawPredict (a whole one), or models/count-tokens:
 * rawPredict, with anthropic_version vertex-2023-10-16 and (but to count)
 * no model in the body; for OpenAI Chat {prefix}/endpoints/openapi/chat/
 * completions with a publisher/model name. Answers the error itself when
 * not; *@counting says a count-tokens request was accepted. */
static gboolean
vertex_route_accepts (UsFakeProvider      *self,
                      SoupServerMessage   *msg,
                      const char          *path,
                      const UsFakeRequest *request,
                      gboolean            *counting)
{
  JsonObject *body = request_body (request);
  const char *rest = g_str_has_prefix (path, self->vertex_prefix) ? path + strlen (self->vertex_prefix) : NULL;
  static const char models[] = "/publishers/anthropic/models/";

  *counting = FALSE;
  if (rest != NULL && self->format == US_FAKE_FORMAT_OPENAI_CHAT && g_str_equal (rest, "/endpoints/openapi/chat/completions"))
    {
      const char *model = us_fake_request_get_model (request);

      if (model == NULL || strchr (model, '/') == NULL)
        {
          respond_google_error (msg, 400, "INVALID_ARGUMENT", "model must be PUBLISHER/MODEL, such as google/gemini-2.5-flash");
          return FALSE;
        }
      return TRUE;
    }
  if (rest != NULL && self->format == US_FAKE_FORMAT_ANTHROPIC && g_str_has_prefix (rest, models))
    {
      const char *colon = strrchr (rest, ':');
      const char *method = colon ? colon + 1 : "";
      gsize name_len = colon ? (gsize) (colon - rest) - strlen (models) : 0;
      gboolean stream_route = g_str_equal (method, "streamRawPredict");

      if (name_len == 0 || (!stream_route && !g_str_equal (method, "rawPredict")))
        {
          respond_google_error (msg, 404, "NOT_FOUND", "The requested URL was not found on this server.");
          return FALSE;
        }
      *counting = name_len == strlen ("count-tokens") && strncmp (rest + strlen (models), "count-tokens", name_len) == 0;
      if (body == NULL
          || g_strcmp0 (json_object_get_string_member_with_default (body, "anthropic_version", NULL),
                        "vertex-2023-10-16") != 0)
        {
          respond_google_error (msg, 400, "INVALID_ARGUMENT", "anthropic_version: vertex-2023-10-16 is required");
          return FALSE;
        }
      if (self->vertex_refused_betas != NULL)
        {
          const char *betas = us_fake_request_get_header (request, "anthropic-beta");
          g_auto(GStrv) values = betas ? g_strsplit (betas, ",", -1) : NULL;
          g_autoptr(GString) refused = g_string_new (NULL);

          for (guint i = 0; values != NULL && values[i] != NULL; i++)
            if (g_strv_contains ((const char * const *) self->vertex_refused_betas, g_strstrip (values[i])))
              g_string_append_printf (refused, "%s`%s`", refused->len ? ", " : "", values[i]);
          if (refused->len > 0)
            {
              g_autofree char *message = g_strdup_printf (
                "Unexpected value(s) %s for the `anthropic-beta` header. Please consult our documentation "
                "at docs.anthropic.com or try again without the header.", refused->str);

              respond_simple_error (self, msg, 400, message, NULL);
              return FALSE;
            }
        }
      if (!*counting && json_object_has_member (body, "model"))
        {
          respond_google_error (msg, 400, "INVALID_ARGUMENT", "model: Extra inputs are not permitted");
          return FALSE;
        }
      if (!*counting && stream_route != get_bool (body, "stream"))
        {
          respond_google_error (msg, 400, "INVALID_ARGUMENT",
                                stream_route ? "streamRawPredict takes a streamed request"
                                             : "rawPredict takes a request that is not streamed");
          return FALSE;
        }
      return TRUE;
    }
  respond_google_error (msg, 404, "NOT_FOUND", "The requested URL was not found on this server.");
  return FALSE;
}

/* ------------------------------------------------------------------------ */
/* The server callback                                                      */

static void
request_done (UsFakeProvider *self,
              UsFakeRequest  *request)
{
  if (self->log != NULL)
    log_request (self, request);
  g_signal_emit (self, signals[SIGNAL_REQUEST_RECEIVED], 0, request);
}

static void
server_callback (SoupServer        *server,
                 SoupServerMessage *msg,
                 const char        *path,
                 GHashTable        *query,
                 gpointer           user_data)
{
  UsFakeProvider *self = user_data;
  UsFakeRequest *request = request_new (msg);
  const char *method = request->method;
  const char *model = us_fake_request_get_model (request);
  gboolean post = g_str_equal (method, "POST");
  gboolean get = g_str_equal (method, "GET");
  gboolean counting = FALSE;

  g_ptr_array_add (self->requests, request);

  if (!key_accepted (self, request) && self->azure_api_version != NULL)
    {
      respond_azure_error (msg, 401, "401",
                           "Access denied due to invalid subscription key or wrong API endpoint. Make sure "
                           "to provide a valid key for an active subscription and use a correct regional "
                           "API endpoint for your resource.");
    }
  else if (!key_accepted (self, request) && self->vertex_prefix != NULL)
    {
      respond_google_error (msg, 401, "UNAUTHENTICATED",
                            "Request had invalid authentication credentials. Expected OAuth 2 access token, "
                            "login cookie or other valid authentication credential.");
    }
  else if (!key_accepted (self, request))
    {
      respond_error (self, msg, 401, NULL, model);
    }
  else if (self->azure_api_version != NULL && !(post && azure_route_accepts (self, msg, path, query, model)))
    {
      if (!post)
        respond_azure_error (msg, 404, "404", "Resource not found");
    }
  else if (self->vertex_prefix != NULL && !(post && vertex_route_accepts (self, msg, path, request, &counting)))
    {
      if (!post)
        respond_google_error (msg, 404, "NOT_FOUND", "The requested URL was not found on this server.");
    }
  else if (counting)
    {
      JsonObject *o = json_object_new ();

      json_object_set_int_member (o, "input_tokens", MAX (1, (gint64) g_bytes_get_size (request->body) / 4));
      respond_json_ok (self, msg, o);
    }
  else if (post && (self->azure_api_version != NULL || self->vertex_prefix != NULL
                    || g_str_equal (path, format_ops[self->format].route)))
    {
      UsFakeStep *popped;
      const UsFakeStep *step;
      Exchange *ex;

      if (request_body (request) == NULL)
        {
          respond_simple_error (self, msg, 400, "The request body is not valid JSON.", model);
          request_done (self, request);
          return;
        }
      /* A key's own limit comes before the script, as a real rate limit would. */
      step = key_step (self, request);
      popped = step == NULL ? g_queue_pop_head (&self->script) : NULL;
      if (step == NULL)
        step = popped != NULL ? popped : self->default_step;
      request->scripted = TRUE;
      request->behavior = step->behavior;
      request_done (self, request);

      /* Everything goes out from timers, so even an immediate answer
       * takes the same road as a delayed or trickled one. */
      ex = exchange_new (self, msg);
      respond_generation (self, ex, step, request);
      soup_server_message_pause (msg);
      if (step->behavior != US_FAKE_SILENCE_BEFORE_HEADERS)
        exchange_schedule (ex, step->delay_ms);
      step_free (popped);
      return;
    }
  else if (post && self->format == US_FAKE_FORMAT_ANTHROPIC && g_str_equal (path, "/v1/messages/count_tokens"))
    {
      JsonObject *o = json_object_new ();

      json_object_set_int_member (o, "input_tokens", MAX (1, (gint64) g_bytes_get_size (request->body) / 4));
      respond_json_ok (self, msg, o);
    }
  else if (get && g_str_equal (path, "/v1/models"))
    {
      respond_json_ok (self, msg, models_list (self));
    }
  else if (get && g_str_has_prefix (path, "/v1/models/")
           && g_strv_contains ((const char * const *) self->models, path + strlen ("/v1/models/")))
    {
      respond_json_ok (self, msg, model_object (self, path + strlen ("/v1/models/")));
    }
  else
    {
      g_autofree char *message = self->format == US_FAKE_FORMAT_ANTHROPIC
                                 ? g_strdup ("Not Found")
                                 : g_strdup_printf ("Invalid URL (%s %s)", method, path);

      respond_simple_error (self, msg, 404, message, model);
    }
  request_done (self, request);
}

/* ------------------------------------------------------------------------ */
/* GObject                                                                  */

static void
us_fake_provider_dispose (GObject *object)
{
  UsFakeProvider *self = US_FAKE_PROVIDER (object);

  /* Stop the timers first; disconnecting finishes some messages, which
   * frees their exchanges; the rest (paused forever) are freed here. */
  for (guint i = 0; i < self->exchanges->len; i++)
    {
      Exchange *ex = g_ptr_array_index (self->exchanges, i);

      if (ex->source != NULL)
        {
          g_source_destroy (ex->source);
          g_clear_pointer (&ex->source, g_source_unref);
        }
    }
  if (self->server != NULL)
    soup_server_disconnect (self->server);
  while (self->exchanges->len > 0)
    exchange_free (g_ptr_array_index (self->exchanges, 0));
  g_clear_object (&self->server);
  if (self->log != NULL)
    g_output_stream_close (self->log, NULL, NULL);
  g_clear_object (&self->log);

  G_OBJECT_CLASS (us_fake_provider_parent_class)->dispose (object);
}

static void
us_fake_provider_finalize (GObject *object)
{
  UsFakeProvider *self = US_FAKE_PROVIDER (object);

  g_queue_clear_full (&self->script, step_free);
  step_free (self->default_step);
  g_free (self->base_url);
  g_free (self->text);
  g_free (self->tool_task_path);
  g_free (self->required_key);
  g_hash_table_unref (self->pool_keys);
  g_free (self->signing_key);
  g_strfreev (self->models);
  g_free (self->azure_api_version);
  g_strfreev (self->azure_deployments);
  g_free (self->vertex_prefix);
  g_strfreev (self->vertex_refused_betas);
  g_ptr_array_unref (self->requests);
  g_ptr_array_unref (self->exchanges);
  g_rand_free (self->rand);
  g_main_context_unref (self->context);

  G_OBJECT_CLASS (us_fake_provider_parent_class)->finalize (object);
}

static void
us_fake_provider_class_init (UsFakeProviderClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = us_fake_provider_dispose;
  object_class->finalize = us_fake_provider_finalize;

  signals[SIGNAL_REQUEST_RECEIVED] =
    g_signal_new ("request-received", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_POINTER);
}

static void
us_fake_provider_init (UsFakeProvider *self)
{
  UsFakeStep ok = { .behavior = US_FAKE_OK };

  self->context = g_main_context_ref_thread_default ();
  self->rand = g_rand_new ();
  g_queue_init (&self->script);
  self->default_step = step_copy (&ok);
  self->text = g_strdup (DEFAULT_TEXT);
  self->chunking = US_FAKE_CHUNKS_AWKWARD;
  self->chunk_delay_ms = 1;
  self->reset_style = US_FAKE_RESET_RST;
  self->requests = g_ptr_array_new_with_free_func (request_free);
  self->pool_keys = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, step_free);
  self->exchanges = g_ptr_array_new ();
}

UsFakeProvider *
us_fake_provider_new_on_port (UsFakeFormat   format,
                              guint          port,
                              GError       **error)
{
  g_autoptr(UsFakeProvider) self = NULL;
  GSList *uris;

  g_return_val_if_fail (format <= US_FAKE_FORMAT_OPENAI_RESPONSES, NULL);
  g_return_val_if_fail (port <= G_MAXUINT16, NULL);

  self = g_object_new (US_TYPE_FAKE_PROVIDER, NULL);
  self->format = format;
  self->models = g_strdupv ((char **) (format == US_FAKE_FORMAT_ANTHROPIC ? default_anthropic_models
                                                                          : default_openai_models));
  self->server = soup_server_new (NULL, NULL);
  soup_server_add_handler (self->server, NULL, server_callback, self, NULL);
  /* Like the proxy: no descriptor kept for a client that has gone. */
  us_keepalive_guard (self->server, 0, 0);
  if (!soup_server_listen_local (self->server, port, SOUP_SERVER_LISTEN_IPV4_ONLY, error))
    return NULL;

  uris = soup_server_get_uris (self->server);
  g_assert (uris != NULL);
  self->port = (guint) g_uri_get_port (uris->data);
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
  self->base_url = g_strdup_printf ("http://127.0.0.1:%u", self->port);
  return g_steal_pointer (&self);
}

UsFakeProvider *
us_fake_provider_new (UsFakeFormat format)
{
  g_autoptr(GError) error = NULL;
  UsFakeProvider *self = us_fake_provider_new_on_port (format, 0, &error);

  if (self == NULL)
    g_error ("Fake provider: cannot listen on 127.0.0.1: %s", error->message);
  return self;
}

UsFakeFormat
us_fake_provider_get_format (UsFakeProvider *self)
{
  g_return_val_if_fail (US_IS_FAKE_PROVIDER (self), 0);
  return self->format;
}

guint
us_fake_provider_get_port (UsFakeProvider *self)
{
  g_return_val_if_fail (US_IS_FAKE_PROVIDER (self), 0);
  return self->port;
}

const char *
us_fake_provider_get_base_url (UsFakeProvider *self)
{
  g_return_val_if_fail (US_IS_FAKE_PROVIDER (self), NULL);
  return self->base_url;
}

void
us_fake_provider_push (UsFakeProvider   *self,
                       const UsFakeStep *step)
{
  g_return_if_fail (US_IS_FAKE_PROVIDER (self));
  g_return_if_fail (step != NULL);
  g_queue_push_tail (&self->script, step_copy (step));
}

void
us_fake_provider_push_behavior (UsFakeProvider *self,
                                UsFakeBehavior  behavior)
{
  us_fake_provider_push (self, &(UsFakeStep) { .behavior = behavior });
}

void
us_fake_provider_push_status (UsFakeProvider *self,
                              guint           status,
                              const char     *retry_after)
{
  us_fake_provider_push (self, &(UsFakeStep) { .behavior = US_FAKE_STATUS, .status = status,
                                               .retry_after = retry_after });
}

gboolean
us_fake_provider_push_spec (UsFakeProvider  *self,
                            const char      *spec,
                            GError         **error)
{
  g_auto(GStrv) parts = NULL;
  g_autoptr(GPtrArray) steps = g_ptr_array_new_with_free_func (step_free);

  g_return_val_if_fail (US_IS_FAKE_PROVIDER (self), FALSE);
  g_return_val_if_fail (spec != NULL, FALSE);

  /* Parse everything before queueing anything. */
  parts = g_strsplit (spec, ",", -1);
  for (guint i = 0; parts[i] != NULL; i++)
    {
      UsFakeStep step;
      g_autofree char *retry_after = NULL;

      if (*g_strstrip (parts[i]) == '\0')
        continue;
      if (!step_parse (parts[i], &step, &retry_after, error))
        return FALSE;
      step.retry_after = retry_after;
      g_ptr_array_add (steps, step_copy (&step));
    }
  for (guint i = 0; i < steps->len; i++)
    g_queue_push_tail (&self->script, g_steal_pointer (&steps->pdata[i]));
  return TRUE;
}

void
us_fake_provider_set_default (UsFakeProvider   *self,
                              const UsFakeStep *step)
{
  g_return_if_fail (US_IS_FAKE_PROVIDER (self));
  g_return_if_fail (step != NULL);
  step_free (self->default_step);
  self->default_step = step_copy (step);
}

gboolean
us_fake_provider_set_default_spec (UsFakeProvider  *self,
                                   const char      *spec,
                                   GError         **error)
{
  UsFakeStep step;
  g_autofree char *retry_after = NULL;

  g_return_val_if_fail (US_IS_FAKE_PROVIDER (self), FALSE);
  if (!step_parse (spec, &step, &retry_after, error))
    return FALSE;
  step.retry_after = retry_after;
  us_fake_provider_set_default (self, &step);
  return TRUE;
}

guint
us_fake_provider_get_n_pending (UsFakeProvider *self)
{
  g_return_val_if_fail (US_IS_FAKE_PROVIDER (self), 0);
  return self->script.length;
}

void
us_fake_provider_clear_script (UsFakeProvider *self)
{
  g_return_if_fail (US_IS_FAKE_PROVIDER (self));
  g_queue_clear_full (&self->script, step_free);
}

void
us_fake_provider_set_text (UsFakeProvider *self,
                           const char     *text)
{
  g_return_if_fail (US_IS_FAKE_PROVIDER (self));
  g_free (self->text);
  self->text = g_strdup (text != NULL ? text : DEFAULT_TEXT);
}

void
us_fake_provider_set_tool_task_path (UsFakeProvider *self,
                                     const char     *path)
{
  g_return_if_fail (US_IS_FAKE_PROVIDER (self));
  g_free (self->tool_task_path);
  self->tool_task_path = g_strdup (path);
}

void
us_fake_provider_set_required_key (UsFakeProvider *self,
                                   const char     *key)
{
  g_return_if_fail (US_IS_FAKE_PROVIDER (self));
  g_free (self->required_key);
  self->required_key = g_strdup (key);
}

void
us_fake_provider_add_key (UsFakeProvider   *self,
                          const char       *key,
                          const UsFakeStep *step)
{
  g_return_if_fail (US_IS_FAKE_PROVIDER (self));
  g_return_if_fail (key != NULL);
  g_hash_table_replace (self->pool_keys, g_strdup (key), step ? step_copy (step) : NULL);
}

gboolean
us_fake_provider_add_key_spec (UsFakeProvider  *self,
                               const char      *spec,
                               GError         **error)
{
  g_auto(GStrv) parts = g_strsplit (spec, "=", 2);
  UsFakeStep step;
  g_autofree char *retry_after = NULL;

  g_return_val_if_fail (US_IS_FAKE_PROVIDER (self), FALSE);
  if (parts[0] == NULL || *parts[0] == '\0')
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "--key takes KEY or KEY=STEP");
      return FALSE;
    }
  if (parts[1] == NULL)
    {
      us_fake_provider_add_key (self, parts[0], NULL);
      return TRUE;
    }
  if (!step_parse (parts[1], &step, &retry_after, error))
    return FALSE;
  step.retry_after = retry_after;
  us_fake_provider_add_key (self, parts[0], &step);
  return TRUE;
}

void
us_fake_provider_set_azure (UsFakeProvider     *self,
                            const char         *api_version,
                            const char * const *deployments)
{
  g_return_if_fail (US_IS_FAKE_PROVIDER (self));
  g_return_if_fail (api_version != NULL && deployments != NULL);
  g_return_if_fail (self->format != US_FAKE_FORMAT_ANTHROPIC);
  g_free (self->azure_api_version);
  self->azure_api_version = g_strdup (api_version);
  g_strfreev (self->azure_deployments);
  self->azure_deployments = g_strdupv ((char **) deployments);
}

void
us_fake_provider_set_vertex (UsFakeProvider *self,
                             const char     *project,
                             const char     *region)
{
  g_return_if_fail (US_IS_FAKE_PROVIDER (self));
  g_return_if_fail (project != NULL && region != NULL);
  g_return_if_fail (self->format != US_FAKE_FORMAT_OPENAI_RESPONSES);
  g_free (self->vertex_prefix);
  self->vertex_prefix = g_strdup_printf ("/v1/projects/%s/locations/%s", project, region);
}

void
us_fake_provider_set_vertex_refused_betas (UsFakeProvider     *self,
                                           const char * const *betas)
{
  g_return_if_fail (US_IS_FAKE_PROVIDER (self));
  g_strfreev (self->vertex_refused_betas);
  self->vertex_refused_betas = g_strdupv ((char **) betas);
}

void
us_fake_provider_set_signing_key (UsFakeProvider *self,
                                  const char     *key)
{
  g_return_if_fail (US_IS_FAKE_PROVIDER (self));
  g_free (self->signing_key);
  self->signing_key = g_strdup (key);
}

void
us_fake_provider_set_models (UsFakeProvider     *self,
                             const char * const *ids)
{
  g_return_if_fail (US_IS_FAKE_PROVIDER (self));
  g_return_if_fail (ids != NULL);
  g_strfreev (self->models);
  self->models = g_strdupv ((char **) ids);
}

void
us_fake_provider_set_chunking (UsFakeProvider *self,
                               UsFakeChunking  chunking,
                               guint           delay_ms)
{
  g_return_if_fail (US_IS_FAKE_PROVIDER (self));
  self->chunking = chunking;
  self->chunk_delay_ms = delay_ms;
}

void
us_fake_provider_set_reset_style (UsFakeProvider   *self,
                                  UsFakeResetStyle  style)
{
  g_return_if_fail (US_IS_FAKE_PROVIDER (self));
  self->reset_style = style;
}

gboolean
us_fake_provider_set_log_file (UsFakeProvider  *self,
                               const char      *path,
                               GError         **error)
{
  g_autoptr(GFile) file = NULL;
  GFileOutputStream *stream;

  g_return_val_if_fail (US_IS_FAKE_PROVIDER (self), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  file = g_file_new_for_commandline_arg (path);
  stream = g_file_append_to (file, G_FILE_CREATE_NONE, NULL, error);
  if (stream == NULL)
    return FALSE;
  g_clear_object (&self->log);
  self->log = G_OUTPUT_STREAM (stream);
  return TRUE;
}

GPtrArray *
us_fake_provider_get_requests (UsFakeProvider *self)
{
  g_return_val_if_fail (US_IS_FAKE_PROVIDER (self), NULL);
  return self->requests;
}

guint
us_fake_provider_get_n_requests (UsFakeProvider *self)
{
  g_return_val_if_fail (US_IS_FAKE_PROVIDER (self), 0);
  return self->requests->len;
}

const UsFakeRequest *
us_fake_provider_get_request (UsFakeProvider *self,
                              guint           index)
{
  g_return_val_if_fail (US_IS_FAKE_PROVIDER (self), NULL);
  g_return_val_if_fail (index < self->requests->len, NULL);
  return g_ptr_array_index (self->requests, index);
}

const UsFakeRequest *
us_fake_provider_get_last_request (UsFakeProvider *self)
{
  g_return_val_if_fail (US_IS_FAKE_PROVIDER (self), NULL);
  return self->requests->len > 0 ? g_ptr_array_index (self->requests, self->requests->len - 1) : NULL;
}

void
us_fake_provider_clear_requests (UsFakeProvider *self)
{
  g_return_if_fail (US_IS_FAKE_PROVIDER (self));
  g_ptr_array_set_size (self->requests, 0);
}
