#!/bin/bash
# Claude Code finishes a one-tool task through failover to another vendor
# (issue 3): the Anthropic primary answers 429, a Chat Completions fake
# serves. The fake asks Claude Code to read a file with its own Read tool,
# then answers "The file says: <content>".
. "$(dirname "$0")/lib.sh"
us_setup
us_need_client claude

word=PAPAYA-$(us_random)
echo "The secret word is $word." >"$US_WORK/note.txt"
export US_TEST_FALLBACK_KEY=sk-fallback-$(us_random)$(us_random)

us_start_fake primary anthropic --script 429:30 --default 429:30
primary=$US_FAKE_URL
us_start_fake fallback openai-chat --tool-task "$US_WORK/note.txt"
fallback=$US_FAKE_URL
us_write_config 0 "primary anthropic $primary * passthrough" \
                  "fallback openai-chat $fallback/v1 fake-chat-model key:US_TEST_FALLBACK_KEY"
us_start_understudy

us_run_client claude env ANTHROPIC_BASE_URL="$US_URL" ANTHROPIC_API_KEY=sk-test \
  "$US_CLIENT" -p "Read the file note.txt and tell me what it says." --allowedTools Read
[ "$US_RC" = 0 ] || us_fail "claude -p failed"
us_expect_stdout claude "$word"
us_print_requests
us_expect_failover claude-code primary fallback

# Both turns went to the chat fallback: the task, then the Read result.
us_check '
chat = [e for e in fake("fallback") if e["path"] == "/v1/chat/completions"]
assert any(e["summary"]["tool_result"] for e in chat), "no tool result reached the chat fallback"
assert all(e["model"] == "fake-chat-model" for e in chat), [e["model"] for e in chat]
'
us_pass
