#!/bin/bash
# keys-pool.sh: a key pool in a real keyring (run by with-keyring.sh).
#
# `keys set` stores key 1 and `keys add` (from a pipe, and at a terminal
# prompt that does not echo) adds keys 2 and 3; `keys list` counts them.
# The headless proxy sends key 1 to a fake OpenAI-style provider that
# rate-limits it (429) and takes key 2: key 2 serves, and the status API
# names both by number. `keys delete PROVIDER 1` while it runs: the old key
# 2 is key 1 now and serves first. No key value shows anywhere.
#
# Environment: UNDERSTUDY, US_FAKE_PROVIDER (binaries).
set -u

WORK_PREFIX=us-pool
. "$(dirname "$0")/lib.sh"

key1=sk-pool-one-$(rand)
key2=sk-pool-two-$(rand)
key3=sk-pool-three-$(rand)
token=tok-$(rand)
port=$(free_port)
config=$work/config.json


# Key 1 is over its rate limit; keys 2 and 3 work; any other key is a 401.
"$US_FAKE_PROVIDER" --format openai-chat --key "$key1=429:60" --key "$key2" --key "$key3" --log "$work/fake.log" \
  >"$work/fake.out" 2>"$work/fake.err" &
pids="$pids $!"
wait_for "$work/fake.out" '^PORT=' || fail "the fake provider did not start"
fake=http://127.0.0.1:$(sed -n 's/^PORT=//p' "$work/fake.out")

cat >"$config" <<JSON
{
  "version": 1,
  "listen": { "host": "127.0.0.1", "port": $port, "token": "$token" },
  "routing": true,
  "providers": [
    { "id": "deepseek", "kind": "openai-chat", "base_url": "$fake/v1", "auth": "key" }
  ],
  "chains": [ { "id": "default", "match": ["*"], "models": [ { "provider": "deepseek", "model": "deepseek-chat" } ] } ]
}
JSON

us () { "$UNDERSTUDY" --config "$config" "$@"; }
ask () {
  curl -s -o "$work/$1.body" -D "$work/$1.headers" -w '%{http_code}' -H 'Content-Type: application/json' \
       -d '{"model":"deepseek-chat","messages":[{"role":"user","content":"hi"}]}' \
       "http://127.0.0.1:$port/t/$token/v1/chat/completions"
}
digest () { printf '%s' "$1" | sha256sum | cut -c1-12; }
digests () { jq -r '.key_sha256 // empty' "$work/fake.log" | tr '\n' ' '; }

printf '%s\n' "$key1" | us keys set deepseek >"$work/cli.set" 2>&1 || fail "keys set: $(cat "$work/cli.set")"
printf '%s\n' "$key2" | us keys add deepseek >"$work/cli.add" 2>&1 || fail "keys add: $(cat "$work/cli.add")"
note "keys add: $(cat "$work/cli.add")"
grep -q '^Added key 2 for deepseek to the keyring\.$' "$work/cli.add" || fail "keys add said: $(cat "$work/cli.add")"
python3 "$(dirname "$0")/tty-prompt.py" "$key3" "$UNDERSTUDY" --config "$config" keys add deepseek >"$work/cli.tty" 2>&1
note "keys add on a terminal: $(tr -d '\r' <"$work/cli.tty")"
grep -q 'status=0' "$work/cli.tty" || fail "keys add on a terminal failed"
grep -q 'Key for deepseek (not shown): ' "$work/cli.tty" || fail "no prompt on a terminal"
grep -q 'Added key 3 for deepseek' "$work/cli.tty" || fail "keys add on a terminal did not add key 3"
! grep -qF -- "${key3#sk-}" "$work/cli.tty" || fail "the terminal echoed the key"
us keys list >"$work/cli.list" 2>&1 || fail "keys list failed"
note "keys list: $(cat "$work/cli.list")"
grep -Eq '^ *deepseek +3 keys in the keyring$' "$work/cli.list" || fail "keys list: $(cat "$work/cli.list")"

# Wrong numbers are usage errors or say what there is.
us keys delete deepseek zero >"$work/cli.bad" 2>&1
[ $? = 2 ] || fail "keys delete with a bad number is not a usage error"
us keys delete deepseek 7 >"$work/cli.seven" 2>&1
[ $? = 1 ] || fail "keys delete of a key that is not there did not fail"
grep -q 'deepseek has 3 keys in the keyring, not 7' "$work/cli.seven" || fail "keys delete 7: $(cat "$work/cli.seven")"

"$UNDERSTUDY" --config "$config" --headless >"$work/headless.out" 2>"$work/headless.err" &
proxy_pid=$!
pids="$pids $proxy_pid"
wait_for "$work/headless.out" 'listening' || { cat "$work/headless.err"; fail "the proxy did not start"; }

code=$(ask first)
[ "$code" = 200 ] || fail "first request: HTTP $code $(cat "$work/first.body")"
grep -qi '^x-understudy-attempts: 2' "$work/first.headers" || fail "not two attempts: $(cat "$work/first.headers")"
[ "$(digests)" = "$(digest "$key1") $(digest "$key2") " ] || fail "keys sent: $(digests)"
us status --json >"$work/status.json" 2>&1 || fail "status --json failed"
jq -e '.requests[0].served_key == 2 and .requests[0].attempts[0].key == 1 and .requests[0].attempts[0].status == 429
       and .requests[0].attempts[1].key == 2' "$work/status.json" >/dev/null ||
  fail "status does not name the keys: $(jq -c '.requests[0]' "$work/status.json")"
jq -e '.chains[0].models[0].keys == 3 and .chains[0].models[0].health.keys[0].key == 1' "$work/status.json" >/dev/null ||
  fail "status health: $(jq -c '.chains[0].models[0]' "$work/status.json")"
us status >"$work/cli.status" 2>&1 || fail "status failed"
grep -q 'deepseek/deepseek-chat (key 1)  HTTP 429' "$work/cli.status" || fail "status: $(cat "$work/cli.status")"
grep -Eq '^ +key 1 cooling down until [0-9:]+ \(rate limited\)$' "$work/cli.status" || fail "status: $(cat "$work/cli.status")"
note "request: key 1 rate limited, key 2 served"

# Key 1 goes: the proxy reloads the pool, and what was key 2 is key 1.
us keys delete deepseek 1 >"$work/cli.delete" 2>&1 || fail "keys delete 1: $(cat "$work/cli.delete")"
grep -q 'running Understudy knows' "$work/cli.delete" || fail "keys delete did not reach the proxy: $(cat "$work/cli.delete")"
us keys list >"$work/cli.list2" 2>&1
grep -Eq '^ *deepseek +2 keys in the keyring$' "$work/cli.list2" || fail "keys list after delete: $(cat "$work/cli.list2")"
code=$(ask second)
[ "$code" = 200 ] || fail "second request: HTTP $code"
grep -qi '^x-understudy-attempts: 1' "$work/second.headers" || fail "not one attempt after the delete"
[ "$(jq -r '.key_sha256' "$work/fake.log" | tail -n 1)" = "$(digest "$key2")" ] || fail "not the old key 2 after the delete"
us status --json >"$work/status2.json" 2>&1
jq -e '.requests[0].served_key == 1' "$work/status2.json" >/dev/null || fail "served key after delete: $(jq -c '.requests[0]' "$work/status2.json")"

for f in "$config" "$work/headless.out" "$work/headless.err" "$work"/status*.json "$work"/cli.*; do
  for k in "$key1" "$key2" "$key3"; do
    ! grep -qF -- "${k#sk-}" "$f" || fail "a key appears in $(basename "$f")"
  done
  ! grep -qE 'CRITICAL|WARNING' "$f" || fail "$(basename "$f") has a warning: $(cat "$f")"
done

kill -TERM "$proxy_pid"
wait "$proxy_pid"
rc=$?
pids=${pids/ $proxy_pid/}
[ $rc = 0 ] || { cat "$work/headless.err"; fail "the proxy exited with status $rc"; }
echo "PASS"
