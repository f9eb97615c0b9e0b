#!/bin/bash
# Codex keeps its session through a failover and a recovery with encrypted
# reasoning (issue 11). Both providers speak Responses and, like OpenAI,
# refuse reasoning items they did not encrypt. The primary fails the task
# (500), the fallback reasons and asks for a command; the primary is back
# before the command's output goes out. The loop stays with the fallback,
# which gets its own reasoning back; the primary never sees it.
. "$(dirname "$0")/lib.sh"
us_setup
us_need_client codex

word=LYCHEE-$(us_random)
echo "The secret word is $word." >"$US_WORK/note.txt"
export US_TEST_FALLBACK_KEY=sk-fallback-$(us_random)$(us_random)

us_start_fake primary openai-responses --signing-key primary-secret --script 500 --default ok
primary=$US_FAKE_URL
us_start_fake fallback openai-responses --signing-key fallback-secret --tool-task "$US_WORK/note.txt"
fallback=$US_FAKE_URL
us_write_config 0 "primary openai-responses $primary/v1 * passthrough" \
                  "fallback openai-responses $fallback/v1 * key:US_TEST_FALLBACK_KEY"
us_start_understudy

mkdir -p "$HOME/.codex"
cat >"$HOME/.codex/config.toml" <<EOF
model = "gpt-5.5-codex"
model_provider = "understudy-test"
model_reasoning_effort = "medium"

[model_providers.understudy-test]
name = "Understudy (test)"
base_url = "$US_URL/v1"
env_key = "US_TEST_CLIENT_KEY"
wire_api = "responses"
EOF

us_run_client codex env US_TEST_CLIENT_KEY=sk-test \
  "$US_CLIENT" exec --skip-git-repo-check --sandbox danger-full-access \
  "Read the file note.txt and tell me what it says."
us_print_requests
[ "$US_RC" = 0 ] || us_fail "codex exec failed"
us_expect_stdout codex "$word"

us_check '
mine = [r for r in reversed(requests) if r["client"] == "codex" and r["endpoint"] == "responses"]
assert mine, "no responses request recorded"
for r in mine:
    assert r["state"] == "done" and r["status"] == 200, "request #%s: %s %s (%s)" % (r["id"], r["state"], r["status"], r["error"])
fb = [e for e in fake("fallback") if e["summary"].get("tool_result")]
assert fb, "the command output never reached the fallback"
assert fb[-1]["summary"]["thinking"] and fb[-1]["summary"]["signed"] >= 1, fb[-1]["summary"]
assert all(e["summary"]["signed"] == 0 for e in fake("primary")), "the primary got foreign reasoning"
loop = [r for r in mine if r["attempts"][0]["provider"] == "fallback"]
assert loop and "tool loop started by fallback" in (loop[-1]["attempts"][0].get("note") or ""), [attempts(r) for r in mine]
'
us_pass
