#!/bin/bash
# Claude Code keeps its session through a failover and a recovery inside one
# tool loop, with thinking on (issue 11). Both providers speak Anthropic and
# check signatures as the real API does. The primary fails the task (500),
# the fallback thinks (signed with its key) and asks for a Read; the primary
# is back before the tool result goes out. The loop must stay with the
# fallback, which gets its own thinking back; the primary never sees the
# fallback's thinking. The final answer is on stdout.
. "$(dirname "$0")/lib.sh"
us_setup
us_need_client claude

word=GUAVA-$(us_random)
echo "The secret word is $word." >"$US_WORK/note.txt"
export US_TEST_FALLBACK_KEY=sk-fallback-$(us_random)$(us_random)

# Every request fails on the primary until the fallback has asked for the
# Read; from then on the primary answers (and would refuse foreign thinking).
us_start_fake primary anthropic --signing-key primary-secret --script 500 --default ok
primary=$US_FAKE_URL
us_start_fake fallback anthropic --signing-key fallback-secret --tool-task "$US_WORK/note.txt"
fallback=$US_FAKE_URL
us_write_config 0 "primary anthropic $primary * passthrough" \
                  "fallback anthropic $fallback * key:US_TEST_FALLBACK_KEY"
us_start_understudy

us_run_client claude env ANTHROPIC_BASE_URL="$US_URL" ANTHROPIC_API_KEY=sk-test \
  "$US_CLIENT" -p "Read the file note.txt and tell me what it says." --allowedTools Read
us_print_requests
[ "$US_RC" = 0 ] || us_fail "claude -p failed"
us_expect_stdout claude "$word"

us_check '
tasks = [r for r in reversed(requests) if r["client"] == "claude-code" and r["endpoint"] == "messages"]
assert tasks, "no messages request recorded"
for r in tasks:
    assert r["state"] == "done" and r["status"] == 200, "request #%s: %s %s (%s)" % (r["id"], r["state"], r["status"], r["error"])
# The tool result went to the fallback first, although the primary was back.
fb = [e for e in fake("fallback") if e["path"].startswith("/v1/messages") and e["summary"].get("tool_result")]
assert fb, "the tool result never reached the fallback"
# With thinking on, and its own thinking block back (it checks the signature).
assert fb[-1]["summary"]["thinking"] and fb[-1]["summary"]["signed"] >= 1, fb[-1]["summary"]
assert all(e["summary"]["signed"] == 0 for e in fake("primary")), "the primary got signed thinking"
loop = [r for r in tasks if r["attempts"][0]["provider"] == "fallback"]
assert loop, "no request went to the fallback first: %s" % [attempts(r) for r in tasks]
assert "tool loop started by fallback" in (loop[-1]["attempts"][0].get("note") or ""), loop[-1]
assert loop[-1]["served_provider"] == "fallback", loop[-1]
'
us_pass
