#!/bin/bash
# OpenCode finishes a one-tool task through failover (issue 3): OpenCode
# speaks Chat Completions to the proxy (@ai-sdk/openai-compatible, built
# into OpenCode: nothing is installed at run time), the Anthropic primary
# answers 429, a Chat Completions fake serves. The fake asks OpenCode to
# read a file with its own read tool, then answers "The file says: ...".
. "$(dirname "$0")/lib.sh"
us_setup
us_need_client opencode

word=PAPAYA-$(us_random)
echo "The secret word is $word." >"$US_WORK/note.txt"

us_start_fake primary anthropic --script 429:30 --default 429:30
primary=$US_FAKE_URL
us_start_fake fallback openai-chat --tool-task "$US_WORK/note.txt"
fallback=$US_FAKE_URL
us_write_config 0 "primary anthropic $primary * none" \
                  "fallback openai-chat $fallback/v1 fake-chat-model none"
us_start_understudy

mkdir -p "$XDG_CONFIG_HOME/opencode"
cat >"$XDG_CONFIG_HOME/opencode/opencode.json" <<EOF
{
  "\$schema": "https://opencode.ai/config.json",
  "model": "understudy-test/test-model",
  "provider": {
    "understudy-test": {
      "npm": "@ai-sdk/openai-compatible",
      "name": "Understudy (test)",
      "options": { "baseURL": "$US_URL/v1", "apiKey": "sk-test" },
      "models": { "test-model": { "name": "Test model" } }
    }
  }
}
EOF

us_run_client opencode "$US_CLIENT" run "Read the file note.txt and tell me what it says."
[ "$US_RC" = 0 ] || us_fail "opencode run failed"
us_expect_stdout opencode "$word"
us_print_requests
us_expect_failover opencode primary fallback

us_check '
chat = [e for e in fake("fallback") if e["path"] == "/v1/chat/completions"]
assert any(e["summary"]["tool_result"] for e in chat), "no tool result reached the chat fallback"
'
us_pass
