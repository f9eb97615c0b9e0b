#!/bin/sh
# `understudy routing toggle`, which the desktop entry's "Toggle Routing"
# action runs: it flips the running instance, or the saved choice when
# none runs. TAP output.
set -u
UNDERSTUDY=$1
tmp=$(mktemp -d)
pid=
cleanup () { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
export HOME=$tmp/home XDG_CONFIG_HOME=$tmp/home/.config XDG_STATE_HOME=$tmp/home/.local/state LC_ALL=C
mkdir -p "$XDG_CONFIG_HOME" "$XDG_STATE_HOME"
n=0 failed=0
check () {
  n=$((n + 1))
  if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=1; sed 's/^/# /' "$tmp/out"; fi
}
saved_routing () { tr -d ' \n' <"$tmp/config.json" | grep -o '"routing":[a-z]*' | head -1; }

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$tmp/config.json" <<JSON
{
  "version": 1,
  "listen": { "host": "127.0.0.1", "port": $port, "token": "tok-toggle-test" },
  "routing": true,
  "providers": [ { "id": "dead", "kind": "anthropic", "base_url": "http://127.0.0.1:9", "auth": "passthrough" } ],
  "chains": [ { "id": "default", "match": ["*"], "models": [ { "provider": "dead", "model": "m" } ] } ]
}
JSON

# Nothing running: the saved choice flips, both ways.
"$UNDERSTUDY" --config "$tmp/config.json" routing toggle >"$tmp/out" 2>&1
[ $? = 0 ] && grep -q 'Routing is off (saved' "$tmp/out" && [ "$(saved_routing)" = '"routing":false' ]
check $? "toggle with nothing running turns the saved routing off"
"$UNDERSTUDY" --config "$tmp/config.json" routing toggle >"$tmp/out" 2>&1
[ $? = 0 ] && grep -q 'Routing is on (saved' "$tmp/out" && [ "$(saved_routing)" = '"routing":true' ]
check $? "toggle again turns it back on"

# A running instance: its routing flips, and `status` sees it.
"$UNDERSTUDY" --headless --config "$tmp/config.json" >"$tmp/proxy.out" 2>&1 &
pid=$!
for _ in $(seq 100); do grep -q 'is listening' "$tmp/proxy.out" && break; sleep 0.1; done
"$UNDERSTUDY" --config "$tmp/config.json" routing toggle >"$tmp/out" 2>&1
[ $? = 0 ] && grep -q 'Routing is off in the running Understudy' "$tmp/out"
check $? "toggle flips the running instance off"
"$UNDERSTUDY" --config "$tmp/config.json" status --json >"$tmp/out" 2>&1
tr -d ' \n' <"$tmp/out" | grep -q '"routing":false'
check $? "the running instance reports routing off"
"$UNDERSTUDY" --config "$tmp/config.json" routing toggle >"$tmp/out" 2>&1
[ $? = 0 ] && grep -q 'Routing is on in the running Understudy' "$tmp/out"
check $? "toggle flips it back on"
"$UNDERSTUDY" --config "$tmp/config.json" routing sideways >"$tmp/out" 2>&1
[ $? = 2 ] && grep -q 'on|off|toggle' "$tmp/out"
check $? "an unknown routing word is refused with the usage"

echo "1..$n"
exit $failed
