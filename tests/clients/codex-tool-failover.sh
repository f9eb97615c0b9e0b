#!/bin/bash
# Codex finishes a one-tool task through failover (issue 3): Codex speaks
# OpenAI Responses to the proxy, the Anthropic primary answers 429, a Chat
# Completions fake serves. The fake asks Codex to read a file with its own
# exec_command tool, then answers "The file says: <content>".
. "$(dirname "$0")/lib.sh"
us_setup
us_need_client codex

word=PAPAYA-$(us_random)
echo "The secret word is $word." >"$US_WORK/note.txt"

us_start_fake primary anthropic --script 429:30 --default 429:30
primary=$US_FAKE_URL
us_start_fake fallback openai-chat --tool-task "$US_WORK/note.txt"
fallback=$US_FAKE_URL
us_write_config 0 "primary anthropic $primary * none" \
                  "fallback openai-chat $fallback/v1 fake-chat-model none"
us_start_understudy

mkdir -p "$HOME/.codex"
cat >"$HOME/.codex/config.toml" <<EOF
model = "gpt-5.5-codex"
model_provider = "understudy-test"

[model_providers.understudy-test]
name = "Understudy (test)"
base_url = "$US_URL/v1"
env_key = "US_TEST_CLIENT_KEY"
wire_api = "responses"
EOF

# Full access: the tool is a plain `cat` of our own file, and the sandbox
# (bubblewrap) may not work in a CI container.
us_run_client codex env US_TEST_CLIENT_KEY=sk-test \
  "$US_CLIENT" exec --skip-git-repo-check --sandbox danger-full-access \
  "Read the file note.txt and tell me what it says."
[ "$US_RC" = 0 ] || us_fail "codex exec failed"
us_expect_stdout codex "$word"
us_print_requests
us_expect_failover codex primary fallback

us_check '
chat = [e for e in fake("fallback") if e["path"] == "/v1/chat/completions"]
assert any(e["summary"]["tool_result"] for e in chat), "no tool result reached the chat fallback"
assert all(r["endpoint"] == "responses" for r in requests if r["client"] == "codex"), \
    [r["endpoint"] for r in requests]
'
us_pass
