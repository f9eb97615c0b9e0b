/* us-explain.c: a request's route and each chain model's eligibility. */
#include "us-explain.h"

#include "us-eligibility.h"
#include "us-router.h"

static const char * const known_clients[] = { "claude-code", "codex", "opencode", "other", NULL };

/* Codex speaks Responses; otherwise the body's shape says which API it is
 * for: Responses has "input", Chat Completions keeps its system prompt and
 * tool results among the messages. */
static UsWireFormat
guess_format (const char *client,
              JsonObject *body)
{
  JsonArray *messages;

  if (g_strcmp0 (client, "codex") == 0 || json_object_has_member (body, "input"))
    return US_WIRE_OPENAI_RESPONSES;
  if (json_object_has_member (body, "max_completion_tokens") || json_object_has_member (body, "response_format") ||
      json_object_has_member (body, "stream_options") || json_object_has_member (body, "n"))
    return US_WIRE_OPENAI_CHAT;
  messages = json_object_has_member (body, "messages") &&
             JSON_NODE_HOLDS_ARRAY (json_object_get_member (body, "messages"))
             ? json_object_get_array_member (body, "messages") : NULL;
  for (guint i = 0; messages != NULL && i < json_array_get_length (messages); i++)
    {
      JsonNode *node = json_array_get_element (messages, i);
      JsonObject *message = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      const char *role = message ? json_object_get_string_member_with_default (message, "role", NULL) : NULL;

      if (g_strcmp0 (role, "system") == 0 || g_strcmp0 (role, "developer") == 0 || g_strcmp0 (role, "tool") == 0 ||
          (message != NULL && json_object_has_member (message, "tool_calls")))
        return US_WIRE_OPENAI_CHAT;
    }
  return US_WIRE_ANTHROPIC;
}

static void
add_model (JsonBuilder            *b,
           const UsChainModel     *cm,
           const char             *model,
           gboolean                tried,
           const UsSkip           *skip)
{
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "provider");
  json_builder_add_string_value (b, cm->provider);
  json_builder_set_member_name (b, "model");
  json_builder_add_string_value (b, model);
  json_builder_set_member_name (b, "tried");
  json_builder_add_boolean_value (b, tried);
  json_builder_set_member_name (b, "skip");
  json_builder_add_string_value (b, skip ? us_skip_kind_to_string (skip->kind) : NULL);
  json_builder_set_member_name (b, "reason");
  json_builder_add_string_value (b, skip ? skip->reason : NULL);
  json_builder_set_member_name (b, "detail");
  json_builder_add_string_value (b, skip ? skip->detail : NULL);
  json_builder_set_member_name (b, "until");
  if (skip != NULL && skip->until > 0)
    {
      g_autoptr(GDateTime) until = g_date_time_new_from_unix_utc (skip->until);
      g_autofree char *text = g_date_time_format_iso8601 (until);

      json_builder_add_string_value (b, text);
    }
  else
    json_builder_add_null_value (b);
  if (skip != NULL && skip->kind == US_SKIP_CONTEXT_WINDOW)
    {
      json_builder_set_member_name (b, "needed_tokens");
      json_builder_add_int_value (b, skip->needed_tokens);
      json_builder_set_member_name (b, "window_tokens");
      json_builder_add_int_value (b, skip->window_tokens);
    }
  json_builder_end_object (b);
}

JsonNode *
us_explain_request (UsConfig    *config,
                    gboolean     routing,
                    UsHealth    *health,
                    UsSpend     *spend,
                    UsLocalProbe *local_probe,
                    const char  *client,
                    JsonNode    *request,
                    GError     **error)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(UsIrRequest) ir = NULL;
  g_autofree char *match = NULL;
  UsWireFormat fmt;
  UsRoute route;
  const char *requested;

  if (client == NULL)
    client = "other";
  if (!g_strv_contains (known_clients, client))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "client: expected claude-code, codex, opencode or other, not “%s”", client);
      return NULL;
    }
  if (request == NULL || !JSON_NODE_HOLDS_OBJECT (request))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "request: expected a JSON object");
      return NULL;
    }
  fmt = guess_format (client, json_node_get_object (request));
  ir = us_ir_request_decode (fmt, request, error);
  if (ir == NULL)
    {
      g_prefix_error (error, "request (read as %s): ", us_wire_format_to_string (fmt));
      return NULL;
    }
  requested = us_ir_request_get_model (ir);
  us_router_route (config, client, ir, &route);
  match = us_route_describe (config, &route);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "client");
  json_builder_add_string_value (b, client);
  json_builder_set_member_name (b, "format");
  json_builder_add_string_value (b, us_wire_format_to_string (fmt));
  json_builder_set_member_name (b, "model");
  json_builder_add_string_value (b, requested);
  json_builder_set_member_name (b, "input_tokens");
  json_builder_add_int_value (b, us_ir_request_estimate_input_tokens (ir));
  json_builder_set_member_name (b, "routing");
  json_builder_add_boolean_value (b, routing);
  json_builder_set_member_name (b, "route");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "chain");
  json_builder_add_string_value (b, route.chain->id);
  json_builder_set_member_name (b, "rule");
  if (route.rule >= 0)
    json_builder_add_int_value (b, route.rule);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "match");
  json_builder_add_string_value (b, match);
  json_builder_end_object (b);

  json_builder_set_member_name (b, "models");
  json_builder_begin_array (b);
  for (guint i = 0; i < route.chain->models->len; i++)
    {
      const UsChainModel *cm = g_ptr_array_index (route.chain->models, i);
      const UsProviderConfig *provider = us_config_lookup_provider (config, cm->provider);
      const char *model = g_str_equal (cm->model, "*") && requested ? requested : cm->model;
      g_auto(UsSkip) skip = { 0 };

      /* Routing off: the primary alone, asked whatever its state. */
      if (!routing)
        add_model (b, cm, model, i == 0, NULL);
      else if (us_eligibility_check (health, spend, local_probe, us_config_get_failover (config), provider, cm, ir,
                                     NULL, &skip))
        add_model (b, cm, model, TRUE, NULL);
      else
        add_model (b, cm, model, FALSE, &skip);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}
