#!/bin/bash
# `understudy connect opencode` (issue 4): afterwards a plain `opencode run`
# goes through the proxy; after `understudy disconnect opencode` it does
# not, and opencode.json is as it was.
. "$(dirname "$0")/lib.sh"
us_setup
us_need_client opencode

answer="Connected through Understudy ($(us_random))"
us_start_fake provider openai-chat --text "$answer"
us_write_config "$(us_free_port)" "chat openai-chat $US_FAKE_URL/v1 * none"
us_start_understudy

config=$XDG_CONFIG_HOME/opencode/opencode.json
mkdir -p "$XDG_CONFIG_HOME/opencode"
cat >"$config" <<'EOF'
{
  "$schema": "https://opencode.ai/config.json",
  "model": "anthropic/claude-sonnet-4-5",
  "autoupdate": false
}
EOF
cp "$config" "$US_TMP/config.orig"

us_connect connect opencode
grep -q -F "$US_URL" "$config" || us_fail "opencode.json does not point at $US_URL: $(cat "$config")"

us_run_client opencode "$US_CLIENT" run "say hi"
[ "$US_RC" = 0 ] || us_fail "opencode run failed while connected"
us_expect_stdout opencode "$answer"
us_count provider opencode
[ "$US_N_FAKE" -gt 0 ] || us_fail "the fake saw no request while connected"
[ "$US_N_PROXY" -gt 0 ] || us_fail "the proxy recorded no request while connected"
us_print_requests

us_connect disconnect opencode
cmp -s "$config" "$US_TMP/config.orig" ||
  us_fail "opencode.json differs from the original after disconnect: $(cat "$config")"

# Back on its own anthropic provider, which it would reach over HTTPS.
us_count provider
fake_before=$US_N_FAKE proxy_before=$US_N_PROXY
us_run_disconnected opencode-after env ANTHROPIC_API_KEY=sk-test "$US_CLIENT" run "say hi"
grep -q -F "$answer" "$US_TMP/opencode-after.stdout" && us_fail "opencode still got the fake's answer after disconnect"
us_count provider
[ "$US_N_FAKE" = "$fake_before" ] || us_fail "the fake saw a request after disconnect"
[ "$US_N_PROXY" = "$proxy_before" ] || us_fail "the proxy saw a request after disconnect"
us_pass
