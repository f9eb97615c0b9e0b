#!/bin/bash
# `understudy connect claude-code` (issue 4): afterwards a plain `claude -p`,
# with no base-URL variable, goes through the proxy; after `understudy
# disconnect claude-code` it does not, and settings.json is as it was.
. "$(dirname "$0")/lib.sh"
us_setup
us_need_client claude

answer="Connected through Understudy ($(us_random))"
us_start_fake provider anthropic --text "$answer"
us_write_config "$(us_free_port)" "anthropic anthropic $US_FAKE_URL * passthrough"
us_start_understudy

settings=$HOME/.claude/settings.json
mkdir -p "$HOME/.claude"
cat >"$settings" <<'EOF'
{
  "env": {
    "US_TEST_MARKER": "kept"
  },
  "permissions": {
    "allow": ["Read"]
  }
}
EOF
cp "$settings" "$US_TMP/settings.orig"

us_connect connect claude-code
grep -q -F "$US_URL" "$settings" || us_fail "settings.json does not point at $US_URL: $(cat "$settings")"

us_run_client claude env ANTHROPIC_API_KEY=sk-test "$US_CLIENT" -p "say hi"
[ "$US_RC" = 0 ] || us_fail "claude -p failed while connected"
us_expect_stdout claude "$answer"
us_count provider claude-code
[ "$US_N_FAKE" -gt 0 ] || us_fail "the fake saw no request while connected"
[ "$US_N_PROXY" -gt 0 ] || us_fail "the proxy recorded no request while connected"
us_print_requests

us_connect disconnect claude-code
cmp -s "$settings" "$US_TMP/settings.orig" ||
  us_fail "settings.json differs from the original after disconnect: $(cat "$settings")"

us_count provider
fake_before=$US_N_FAKE proxy_before=$US_N_PROXY
us_run_disconnected claude-after env ANTHROPIC_API_KEY=sk-test CLAUDE_CODE_MAX_RETRIES=0 \
  "$US_CLIENT" -p "say hi"
grep -q -F "$answer" "$US_TMP/claude-after.stdout" && us_fail "claude still got the fake's answer after disconnect"
us_count provider
[ "$US_N_FAKE" = "$fake_before" ] || us_fail "the fake saw a request after disconnect"
[ "$US_N_PROXY" = "$proxy_before" ] || us_fail "the proxy saw a request after disconnect"
us_pass
