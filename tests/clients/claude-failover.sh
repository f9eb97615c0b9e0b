#!/bin/bash
# Claude Code through failover (issue 2): the primary (Anthropic) answers 429
# with retry-after 30, a second Anthropic provider serves. `claude -p` must
# print the fallback's text, the status API must show the 429 attempt then
# the fallback, and neither the token nor a key may appear in any log.
. "$(dirname "$0")/lib.sh"
us_setup
us_need_client claude

answer="Fallback here, all good ($(us_random))"
client_key=sk-client-$(us_random)$(us_random)
export US_TEST_FALLBACK_KEY=sk-fallback-$(us_random)$(us_random)

us_start_fake primary anthropic --script 429:30 --default 429:30
primary=$US_FAKE_URL
us_start_fake fallback anthropic --text "$answer"
fallback=$US_FAKE_URL
us_write_config 0 "primary anthropic $primary * passthrough" \
                  "fallback anthropic $fallback * key:US_TEST_FALLBACK_KEY"
us_start_understudy

us_run_client claude env ANTHROPIC_BASE_URL="$US_URL" ANTHROPIC_API_KEY="$client_key" \
  "$US_CLIENT" -p "say hi"
[ "$US_RC" = 0 ] || us_fail "claude -p failed"
us_expect_stdout claude "$answer"
us_print_requests
us_expect_failover claude-code primary fallback

# The streamed turn, and each side got its own credential: the client's key
# passed through to the primary, the configured key to the fallback.
us_check '
import hashlib
client_key, fallback_key = args
h = lambda k: hashlib.sha256(k.encode()).hexdigest()[:12]
r = [r for r in requests if r["client"] == "claude-code" and r["endpoint"] == "messages"][-1]
assert r["served_provider"] == "fallback", r
streamed = [e for e in fake("fallback") if e["path"].startswith("/v1/messages") and e.get("stream")]
assert streamed, "the fallback saw no streamed /v1/messages request"
for e in fake("primary"):
    assert e.get("key_sha256") == h(client_key), "primary got %s, not the client key" % e.get("key_sha256")
for e in fake("fallback"):
    assert e.get("key_sha256") == h(fallback_key), "fallback got %s, not its key" % e.get("key_sha256")
' "$client_key" "$US_TEST_FALLBACK_KEY"

# No key or token in any log line: the proxy's output, the fakes' logs.
for secret in "$US_TOKEN" "$client_key" "$US_TEST_FALLBACK_KEY"; do
  us_expect_absent "$secret" "$US_TMP"/understudy.out "$US_TMP"/understudy.err \
    "$US_TMP"/primary.* "$US_TMP"/fallback.* "$US_TMP"/status.json
done
us_pass
