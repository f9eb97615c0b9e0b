#!/bin/bash
# `understudy connect codex` (issue 4): afterwards a plain `codex exec` goes
# through the proxy; after `understudy disconnect codex` it does not, and
# config.toml is as it was.
. "$(dirname "$0")/lib.sh"
us_setup
us_need_client codex

answer="Connected through Understudy ($(us_random))"
us_start_fake provider openai-responses --text "$answer"
us_write_config "$(us_free_port)" "openai openai-responses $US_FAKE_URL/v1 * passthrough"
us_start_understudy

config=$HOME/.codex/config.toml
mkdir -p "$HOME/.codex"
cat >"$config" <<'EOF'
# My Codex settings
model = "gpt-5.5-codex"
model_reasoning_effort = "low"

[history]
persistence = "none"
EOF
cp "$config" "$US_TMP/config.orig"

us_connect connect codex
grep -q -F "$US_URL" "$config" || us_fail "config.toml does not point at $US_URL: $(cat "$config")"

# The connector leaves auth to Codex: under `codex exec`, CODEX_API_KEY.
us_run_client codex env CODEX_API_KEY=sk-test "$US_CLIENT" exec --skip-git-repo-check "say hi"
[ "$US_RC" = 0 ] || us_fail "codex exec failed while connected"
us_expect_stdout codex "$answer"
us_count provider codex
[ "$US_N_FAKE" -gt 0 ] || us_fail "the fake saw no request while connected"
[ "$US_N_PROXY" -gt 0 ] || us_fail "the proxy recorded no request while connected"
us_print_requests

us_connect disconnect codex
cmp -s "$config" "$US_TMP/config.orig" ||
  us_fail "config.toml differs from the original after disconnect: $(cat "$config")"

us_count provider
fake_before=$US_N_FAKE proxy_before=$US_N_PROXY
us_run_disconnected codex-after env CODEX_API_KEY=sk-test "$US_CLIENT" exec --skip-git-repo-check "say hi"
grep -q -F "$answer" "$US_TMP/codex-after.stdout" && us_fail "codex still got the fake's answer after disconnect"
us_count provider
[ "$US_N_FAKE" = "$fake_before" ] || us_fail "the fake saw a request after disconnect"
[ "$US_N_PROXY" = "$proxy_before" ] || us_fail "the proxy saw a request after disconnect"
us_pass
