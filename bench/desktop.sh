#!/usr/bin/env bash
# bench/desktop.sh: what the desktop app costs the machine, with its window open.
#   RSS with the window open and idle; wakeups a minute when idle (strace
#   counts poll returns of every thread); CPU while RATE requests a second go
#   through the proxy with the Requests page shown, then with the Chains page
#   shown, then the headless proxy (`understudy --headless`) alone under the
#   same load, as the floor for what routing itself costs.
#
#   bench/desktop.sh                 # RATE=200 for LOAD_S=20 s, IDLE_S=60 s
#
# Runs in its own D-Bus session and Xvfb, with a real StatusNotifierWatcher
# so the tray registers as on a desktop. Not part of `meson test`.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${US_BENCH_INNER:-}" ]; then
  exec dbus-run-session -- xvfb-run -a -s "-screen 0 1280x800x24" env US_BENCH_INNER=1 "$0" "$@"
fi

BUILD=${BUILD:-$ROOT/build-bench}
RATE=${RATE:-200}
LOAD_S=${LOAD_S:-20}
IDLE_S=${IDLE_S:-60}
WORK=$(mktemp -d /tmp/understudy-desktop-bench.XXXXXX)
PIDS=()
cleanup () {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

[ -d "$BUILD" ] || meson setup "$BUILD" "$ROOT" -Dbuildtype=release >/dev/null
ninja -C "$BUILD" src/understudy tests/fake/us-fake-provider >/dev/null
cc -O2 $(pkg-config --cflags libsoup-3.0) "$ROOT/bench/load.c" $(pkg-config --libs libsoup-3.0) -o "$WORK/load"
cc -O2 $(pkg-config --cflags libadwaita-1) "$ROOT/bench/adw-hello.c" $(pkg-config --libs libadwaita-1) -o "$WORK/adw-hello"

export HOME=$WORK/home XDG_CONFIG_HOME=$WORK/home/.config XDG_DATA_HOME=$WORK/home/.local/share \
       XDG_STATE_HOME=$WORK/home/.local/state XDG_CACHE_HOME=$WORK/home/.cache
mkdir -p "$XDG_CONFIG_HOME/understudy"

# wait_for FILE SED_PATTERN: prints what the pattern captures once FILE has it.
wait_for () {
  local v
  for _ in $(seq 200); do
    v=$(sed -n "$2" "$1" | head -1)
    [ -n "$v" ] && { echo "$v"; return 0; }
    sleep 0.05
  done
  echo "bench: nothing matched $2 in $1:" >&2; cat "$1" "${1%.out}.err" >&2 2>/dev/null; exit 1
}
kib () { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
cpu_s () { awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) / hz }' "/proc/$1/stat"; }

status-notifier-watcher >/dev/null 2>&1 & PIDS+=($!)
"$BUILD/tests/fake/us-fake-provider" --format anthropic --chunking event --chunk-delay 0 \
  >"$WORK/fake.out" 2>"$WORK/fake.err" & PIDS+=($!)
FAKE_PORT=$(wait_for "$WORK/fake.out" 's/^PORT=//p')

cat >"$XDG_CONFIG_HOME/understudy/config.json" <<JSON
{ "version": 1, "listen": { "host": "127.0.0.1", "port": 0 },
  "providers": [ { "id": "fake", "kind": "anthropic", "base_url": "http://127.0.0.1:$FAKE_PORT", "auth": "passthrough" } ],
  "chains": [ { "id": "default", "match": ["*"], "models": [ { "provider": "fake", "model": "*" } ] } ] }
JSON

# The app says where it listens on stderr (g_message).
"$BUILD/src/understudy" >"$WORK/app.out" 2>"$WORK/app.err" & APP=$!; PIDS+=($APP)
PORT=$(wait_for "$WORK/app.err" 's/.*listening on http:\/\/[0-9.]*:\([0-9]*\).*/\1/p')
TOKEN=$(sed -n 's/.*"token" *: *"\([^"]*\)".*/\1/p' "$XDG_CONFIG_HOME/understudy/config.json")
URL=http://127.0.0.1:$PORT/t/$TOKEN/v1/messages

# The Requests page, as a person watching it would have it.
gdbus call --session -d io.github.understudy.Understudy -o /io/github/understudy/Understudy \
  -m org.gtk.Actions.Activate show-page "[<'requests'>]" "{}" >/dev/null

sleep 5
IDLE_RSS=$(kib "$APP" VmRSS)
# wakeups PID: poll returns of all its threads over IDLE_S, a minute's worth.
wakeups () {
  { timeout -s INT "$IDLE_S" strace -f -c -e trace=poll,ppoll -p "$1" 2>&1 >/dev/null || true; } |
    awk -v s="$IDLE_S" '$NF == "poll" || $NF == "ppoll" { n += $4 } END { printf "%.0f", n * 60 / s }'
}
APP_WAKEUPS=$(wakeups "$APP")

# The floor: the smallest libadwaita window in the same session.
"$WORK/adw-hello" >/dev/null 2>&1 & HELLO=$!; PIDS+=($HELLO)
sleep 5
HELLO_RSS=$(kib "$HELLO" VmRSS)
HELLO_WAKEUPS=$(wakeups "$HELLO")
kill "$HELLO"

# cpu_under_load PID URL: % of a core PID used while RATE requests a second
# went to URL for LOAD_S seconds, and its CPU ms per request (the fairer
# figure when the machine could not keep up the rate); the load generator's
# summary on stderr.
cpu_under_load () {
  local c0 c1 t0 t1
  c0=$(cpu_s "$1"); t0=$(date +%s.%N)
  "$WORK/load" --url "$2" --rate "$RATE" -n $((RATE * LOAD_S)) -w 0 -l rate >&2 || true
  c1=$(cpu_s "$1"); t1=$(date +%s.%N)
  awk -v a="$c0" -v b="$c1" -v t0="$t0" -v t1="$t1" -v n=$((RATE * LOAD_S)) \
    'BEGIN { printf "%.1f:%.2f", (b - a) * 100 / (t1 - t0), (b - a) * 1000 / n }'
}
show_page () {
  gdbus call --session -d io.github.understudy.Understudy -o /io/github/understudy/Understudy \
    -m org.gtk.Actions.Activate show-page "[<'$1'>]" "{}" >/dev/null
  sleep 2
}

REQUESTS_CPU=$(cpu_under_load "$APP" "$URL" 2>"$WORK/load-requests.txt")
LOAD_RSS=$(kib "$APP" VmRSS)
show_page chains
CHAINS_CPU=$(cpu_under_load "$APP" "$URL" 2>"$WORK/load-chains.txt")
kill "$APP"; wait "$APP" 2>/dev/null || true

"$BUILD/src/understudy" --headless >"$WORK/headless.out" 2>"$WORK/headless.err" & HEADLESS=$!; PIDS+=($HEADLESS)
HPORT=$(wait_for "$WORK/headless.out" 's/.*listening on http:\/\/[0-9.]*:\([0-9]*\).*/\1/p')
HEADLESS_CPU=$(cpu_under_load "$HEADLESS" "http://127.0.0.1:$HPORT/t/$TOKEN/v1/messages" 2>"$WORK/load-headless.txt")

echo "Renderer: ${GSK_RENDERER:-default}"
echo
echo "| figure | Understudy | smallest libadwaita window | ratio | target |"
echo "|---|---|---|---|---|"
awk -v a="$IDLE_RSS" -v b="$HELLO_RSS" \
  'BEGIN { printf "| RSS, window open and idle | %.0f MiB | %.0f MiB | %.2f× | ≤ 90 MiB |\n", a / 1024, b / 1024, a / b }'
echo "| wakeups a minute, idle | $APP_WAKEUPS | $HELLO_WAKEUPS | | none beyond a visible countdown |"
echo
echo "| CPU at $RATE req/s | % of a core | CPU ms per request | vs headless proxy | target |"
echo "|---|---|---|---|---|"
for row in "Requests page shown:$REQUESTS_CPU:≤ 10 % (issue 7)" "Chains page shown:$CHAINS_CPU:" \
           "headless proxy alone:$HEADLESS_CPU:"; do
  IFS=: read -r what cpu ms target <<<"$row"
  awk -v w="$what" -v c="$cpu" -v m="$ms" -v h="${HEADLESS_CPU#*:}" -v t="$target" \
    'BEGIN { printf "| %s | %.1f %% | %.2f | %.2f× | %s |\n", w, c, m, m / h, t }'
done
echo
echo "RSS after the load: $((LOAD_RSS / 1024)) MiB"
echo
for f in requests chains headless; do echo "load ($f): $(cat "$WORK/load-$f.txt")"; done
