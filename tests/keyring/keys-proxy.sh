#!/bin/bash
# keys-proxy.sh: `understudy keys` and the headless proxy against a real
# keyring, run by with-keyring.sh (US_KEYRING_MODE=yes) or on a bus with no
# Secret Service (US_KEYRING_MODE=no).
#
# With the keyring: `keys set` stores a key read from stdin; the proxy sends
# exactly that key as the Bearer token to a fake OpenAI-style provider that
# accepts no other; `keys set` while it runs switches the key it sends;
# `keys delete` leaves the request failing with a message naming
# `understudy keys set`. The key never shows in config.json, the proxy's
# output or `understudy status --json`.
# Without: `keys list` and `keys set` say what to do, and a provider's
# key_env still works.
#
# Environment: UNDERSTUDY, US_FAKE_PROVIDER (binaries), US_KEYRING_MODE.
set -u

WORK_PREFIX=us-keys
. "$(dirname "$0")/lib.sh"

key=sk-us-keyring-$(rand)
token=tok-$(rand)
port=$(free_port)
config=$work/config.json


"$US_FAKE_PROVIDER" --format openai-chat --require-key "$key" --log "$work/fake.log" \
  >"$work/fake.out" 2>"$work/fake.err" &
pids="$pids $!"
wait_for "$work/fake.out" '^PORT=' || fail "the fake provider did not start"
fake=http://127.0.0.1:$(sed -n 's/^PORT=//p' "$work/fake.out")

# The fake itself takes exactly this key, nothing else.
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer ${key}x" -H 'Content-Type: application/json' \
       -d '{"model":"m","messages":[{"role":"user","content":"hi"}]}' "$fake/v1/chat/completions")
[ "$code" = 401 ] || fail "the fake accepted a wrong key (HTTP $code)"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
       -d '{"model":"m","messages":[{"role":"user","content":"hi"}]}' "$fake/v1/chat/completions")
[ "$code" = 200 ] || fail "the fake refused the right key (HTTP $code)"

cat >"$config" <<JSON
{
  "version": 1,
  "listen": { "host": "127.0.0.1", "port": $port, "token": "$token" },
  "routing": true,
  "providers": [
    { "id": "deepseek", "kind": "openai-chat", "base_url": "$fake/v1", "auth": "key", "key_env": "US_TEST_DEEPSEEK_KEY" }
  ],
  "chains": [ { "id": "default", "match": ["*"], "models": [ { "provider": "deepseek", "model": "deepseek-chat" } ] } ]
}
JSON

us () { "$UNDERSTUDY" --config "$config" "$@"; }

# ask NAME: one chat request through the proxy; body in $work/NAME.body, prints the HTTP status.
ask () {
  curl -s -o "$work/$1.body" -D "$work/$1.headers" -w '%{http_code}' -H 'Content-Type: application/json' \
       -d '{"model":"deepseek-chat","messages":[{"role":"user","content":"hi"}]}' \
       "http://127.0.0.1:$port/t/$token/v1/chat/completions"
}

start_proxy () {
  "$UNDERSTUDY" --config "$config" --headless >"$work/headless.out" 2>"$work/headless.err" &
  proxy_pid=$!
  pids="$pids $proxy_pid"
  wait_for "$work/headless.out" 'listening' || { cat "$work/headless.err"; fail "the proxy did not start"; }
}

# The key reached the fake: its log keeps the first 12 hex digits of the
# key's SHA-256, never the key.
key_digest=$(printf '%s' "$key" | sha256sum | cut -c1-12)
last_digest () { tail -n 1 "$work/fake.log" | jq -r '.key_sha256 // empty'; }

no_key_anywhere () {
  local f
  us status --json >"$work/status.json" 2>&1 || fail "status --json failed: $(cat "$work/status.json")"
  grep -q '"routing"' "$work/status.json" || fail "status --json printed no status"
  for f in "$config" "$work/headless.out" "$work/headless.err" "$work/status.json" "$work"/cli.*; do
    [ -e "$f" ] || continue
    ! grep -qF -- "${key#sk-}" "$f" || fail "the key appears in $(basename "$f")"
    ! grep -qE 'CRITICAL|WARNING' "$f" || fail "$(basename "$f") has a warning: $(cat "$f")"
  done
}

if [ "$US_KEYRING_MODE" = yes ]; then
  printf '%s\n' "$key" | us keys set deepseek >"$work/cli.set" 2>&1 || fail "keys set: $(cat "$work/cli.set")"
  note "keys set: $(cat "$work/cli.set")"
  # On a terminal: a prompt, and the key typed is not echoed.
  python3 "$(dirname "$0")/tty-prompt.py" "$key" "$UNDERSTUDY" --config "$config" keys set deepseek \
    >"$work/cli.tty" 2>&1
  note "keys set on a terminal: $(tr -d '\r' <"$work/cli.tty")"
  grep -q 'status=0' "$work/cli.tty" || fail "keys set on a terminal failed"
  grep -q 'Key for deepseek (not shown): ' "$work/cli.tty" || fail "no prompt on a terminal"
  grep -q 'Stored the key for deepseek' "$work/cli.tty" || fail "keys set on a terminal did not store"
  ! grep -qF -- "${key#sk-}" "$work/cli.tty" || fail "the terminal echoed the key"
  us keys list >"$work/cli.list" 2>&1 || fail "keys list failed"
  note "keys list: $(cat "$work/cli.list")"
  grep -Eq '^ *deepseek +1 key in the keyring$' "$work/cli.list" || fail "keys list does not show the key: $(cat "$work/cli.list")"
  printf '' | us keys set deepseek >"$work/cli.empty" 2>&1
  [ $? = 1 ] || fail "an empty key was not refused"
  grep -q 'empty' "$work/cli.empty" || fail "no message for an empty key"
  us keys set >/dev/null 2>&1
  [ $? = 2 ] || fail "keys set without a provider is not a usage error"
  us keys set nosuch </dev/null >"$work/cli.nosuch" 2>&1
  [ $? = 1 ] || fail "keys set for an unknown provider did not fail"

  start_proxy
  code=$(ask first)
  [ "$code" = 200 ] || fail "request with the keyring's key: HTTP $code $(cat "$work/first.body")"
  [ "$(last_digest)" = "$key_digest" ] || fail "the provider did not get the stored key"
  grep -qi '^x-understudy-model: deepseek/deepseek-chat' "$work/first.headers" || fail "not served by deepseek"
  note "request with the keyring's key: HTTP $code"

  # A wrong key stored while it runs: the running proxy switches to it...
  printf 'sk-wrong\n' | us keys set deepseek >"$work/cli.wrong" 2>&1 || fail "keys set (wrong): $(cat "$work/cli.wrong")"
  grep -q 'running Understudy uses it now' "$work/cli.wrong" || fail "keys set did not reach the running proxy"
  code=$(ask wrong)
  [ "$code" != 200 ] || fail "the proxy kept the old key after keys set"
  note "after storing a wrong key: HTTP $code"
  # ... and back.
  printf '%s' "$key" | us keys set deepseek >"$work/cli.again" 2>&1 || fail "keys set (again) failed"
  code=$(ask again)
  [ "$code" = 200 ] || fail "the stored key again: HTTP $code"
  [ "$(last_digest)" = "$key_digest" ] || fail "the provider did not get the stored key again"

  no_key_anywhere

  us keys delete deepseek >"$work/cli.delete" 2>&1 || fail "keys delete failed"
  grep -q 'running Understudy knows' "$work/cli.delete" || fail "keys delete did not reach the running proxy"
  code=$(ask deleted)
  [ "$code" != 200 ] || fail "served with the deleted key"
  grep -q 'understudy keys set deepseek' "$work/deleted.body" || fail "no hint after delete: $(cat "$work/deleted.body")"
  grep -q 'US_TEST_DEEPSEEK_KEY' "$work/deleted.body" || fail "no key_env hint after delete"
  note "after keys delete: HTTP $code"
  us keys list >"$work/cli.list2" 2>&1
  grep -Eq '^ *deepseek +no key' "$work/cli.list2" || fail "keys list after delete: $(cat "$work/cli.list2")"

  # A locked keyring: the same commands say what to do.
  printf '%s' "$key" | us keys set deepseek >/dev/null 2>&1 || fail "keys set before locking failed"
  gdbus call --session --dest org.freedesktop.secrets --object-path /org/freedesktop/secrets \
    --method org.freedesktop.Secret.Service.Lock "['/org/freedesktop/secrets/aliases/default']" >/dev/null ||
    fail "could not lock the keyring"
  us keys list >"$work/cli.locked" 2>&1 || fail "keys list failed on a locked keyring"
  note "keys list, locked: $(cat "$work/cli.locked")"
  grep -q '^The keyring is locked: unlock it in Passwords and Keys' "$work/cli.locked" ||
    fail "no clear message for a locked keyring"
  grep -Eq '^ *deepseek +keyring not readable; \$US_TEST_DEEPSEEK_KEY is not set either$' "$work/cli.locked" ||
    fail "keys list, locked: $(cat "$work/cli.locked")"
  printf 'sk-other' | us keys set deepseek >"$work/cli.setlocked" 2>&1
  [ $? = 1 ] || fail "keys set on a locked keyring did not fail"
  grep -q '^understudy: The keyring is locked' "$work/cli.setlocked" || fail "keys set, locked: $(cat "$work/cli.setlocked")"
else
  us keys list >"$work/cli.list" 2>&1
  [ $? = 0 ] || fail "keys list failed without a keyring"
  note "keys list: $(cat "$work/cli.list")"
  grep -q 'No keyring (Secret Service) is running' "$work/cli.list" || fail "no clear message: $(cat "$work/cli.list")"
  grep -q 'key_env' "$work/cli.list" || fail "the message does not name key_env"
  printf '%s' "$key" | us keys set deepseek >"$work/cli.set" 2>&1
  [ $? = 1 ] || fail "keys set without a keyring did not fail"
  [ "$(wc -l <"$work/cli.set")" = 1 ] || fail "keys set: not one line: $(cat "$work/cli.set")"
  grep -q '^understudy: No keyring' "$work/cli.set" || fail "keys set: $(cat "$work/cli.set")"

  export US_TEST_DEEPSEEK_KEY=$key
  start_proxy
  code=$(ask env)
  [ "$code" = 200 ] || fail "request with key_env: HTTP $code $(cat "$work/env.body")"
  [ "$(last_digest)" = "$key_digest" ] || fail "the provider did not get the key_env key"
  grep -q 'No keyring' "$work/headless.err" || fail "the proxy did not say the keyring is missing"
  note "request with key_env and no keyring: HTTP $code"
  no_key_anywhere
fi

# A clean stop (under ASan: no leak on exit).
kill -TERM "$proxy_pid"
wait "$proxy_pid"
rc=$?
pids=${pids/ $proxy_pid/}
[ $rc = 0 ] || { cat "$work/headless.err"; fail "the proxy exited with status $rc"; }
echo "PASS"
