#!/usr/bin/env bash
# bench/run.sh: what the proxy costs, measured against the fake provider
# alone in the same run. See bench/README.md for what each figure means.
#
#   bench/run.sh                  # the default tables
#   N=1000 C=16 bench/run.sh      # requests per case / in flight (short answer)
#   LONG_N=200 bench/run.sh       # requests per case for the long answer
#   BIG=100000000 bench/run.sh    # bytes of text in the memory case's answer
#   GROWTH_N=20000 GROWTH_RUNS=3 bench/run.sh  # the repeated-load case
#   PARTS="growth memory" bench/run.sh         # only some parts (default: all)
#
# Builds what it needs in build-bench/ (release) and a temp dir, starts the
# fakes and `understudy --headless` on ephemeral loopback ports, prints
# markdown tables. Not part of `meson test`.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build-bench}
N=${N:-400}
C=${C:-8}
LONG_N=${LONG_N:-100}
BIG=${BIG:-50000000}
GROWTH_N=${GROWTH_N:-20000}
GROWTH_RUNS=${GROWTH_RUNS:-3}
PARTS=${PARTS:-short one long memory connections growth}
W=20   # warm-up requests before each measured case
WORK=$(mktemp -d /tmp/understudy-bench.XXXXXX)
PIDS=()
declare -A ERR   # pid -> its stderr file

cleanup () {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# ---- Build ----------------------------------------------------------------
# -Dwerror=false: a release (-O3) build meets -Wmaybe-uninitialized warnings
# that the default debugoptimized build does not.
if [ ! -d "$BUILD" ]; then
  meson setup "$BUILD" "$ROOT" -Dbuildtype=release >/dev/null
fi
ninja -C "$BUILD" src/understudy tests/fake/us-fake-provider >/dev/null
for tool in load sse-source; do
  cc -O2 $(pkg-config --cflags libsoup-3.0) "$ROOT/bench/$tool.c" \
     $(pkg-config --libs libsoup-3.0) -o "$WORK/$tool"
done
FAKE=$BUILD/tests/fake/us-fake-provider
UNDERSTUDY=$BUILD/src/understudy

# Keep the proxy away from the user's config, keyring and client files.
export HOME=$WORK/home XDG_CONFIG_HOME=$WORK/home/.config XDG_DATA_HOME=$WORK/home/.local/share \
       XDG_STATE_HOME=$WORK/home/.local/state XDG_CACHE_HOME=$WORK/home/.cache
mkdir -p "$XDG_CONFIG_HOME"

# ---- Processes ------------------------------------------------------------
# start NAME SED_PATTERN CMD...: runs CMD in the background and waits until
# SED_PATTERN prints its port from its stdout; sets PORT and PID.
start () {
  local name=$1 pattern=$2; shift 2
  # Empty the file first: the background job's own redirection may come
  # after the first look, which would find the last run's port.
  : >"$WORK/$name.out"
  "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
  PID=$!
  PIDS+=("$PID")
  ERR[$PID]=$WORK/$name.err
  for _ in $(seq 100); do
    PORT=$(sed -n "$pattern" "$WORK/$name.out" | head -1)
    [ -n "$PORT" ] && return 0
    sleep 0.05
  done
  echo "bench: $name did not start:" >&2; cat "$WORK/$name.err" >&2; exit 1
}
LISTENING='s/.*listening on http:\/\/[0-9.]*:\([0-9]*\).*/\1/p'
start_fake () { start "$1" 's/^PORT=//p' "$FAKE" --chunking event --chunk-delay 0 "${@:2}"; }
stop () { kill "$1"; wait "$1" 2>/dev/null || true; }
# alive PID...: stops the run, with the process's last words, if one exited.
alive () {
  local p
  for p in "$@"; do
    kill -0 "$p" 2>/dev/null && continue
    echo "bench: process $p exited during the run; its stderr:" >&2
    tail -20 "${ERR[$p]}" >&2
    exit 1
  done
}

# CPU seconds (user + system) the given processes have used so far.
cpu_sum () {
  local t=0 p
  for p in "$@"; do
    t=$(awk -v t="$t" -v hz="$(getconf CLK_TCK)" '{ print t + ($14 + $15) / hz }' "/proc/$p/stat")
  done
  echo "$t"
}
sub () { awk -v a="$1" -v b="$2" 'BEGIN { print a - b }'; }
kib () { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }

# ---- Report ---------------------------------------------------------------
# field LINE KEY: a value from a load result line.
field () { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<" $1"; }

# row NAME RESULT BASELINE FAKE_CPU_S PROXY_CPU_S: one table row, ratios
# against BASELINE; CPU is per request, warm-up included.
row () {
  local name=$1 r=$2 b=$3
  awk -v name="$name" -v n="$(field "$r" n)" -v ok="$(field "$r" ok)" -v w="$W" -v fcpu="$4" -v pcpu="$5" \
      -v t50="$(field "$r" ttfb_p50)" -v t95="$(field "$r" ttfb_p95)" \
      -v a50="$(field "$r" total_p50)" -v a95="$(field "$r" total_p95)" \
      -v rps="$(field "$r" rps)" -v at="$(field "$r" attempts)" \
      -v bt50="$(field "$b" ttfb_p50)" -v ba50="$(field "$b" total_p50)" -v brps="$(field "$b" rps)" \
      'BEGIN {
         printf "| %s | %.2f / %.2f | %.2f / %.2f | %.0f | %.2f× | %.2f× | %.2f× | %.2f / %s | %s |\n",
                name, t50, t95, a50, a95, rps, t50 / bt50, a50 / ba50, rps / brps,
                fcpu * 1000 / (n + w), pcpu == "" ? "–" : sprintf("%.2f", pcpu * 1000 / (n + w)),
                (ok == n ? "" : ok "/" n " ok ") (at > 0 ? at : "–")
       }'
}

header () {
  echo
  echo "### $1"
  echo
  echo "| case | TTFB p50 / p95 ms | total p50 / p95 ms | req/s | TTFB p50 vs direct | total p50 vs direct | req/s vs direct | CPU ms/req fake / proxy | attempts |"
  echo "|---|---|---|---|---|---|---|---|---|"
}

# A failed request does not stop the run: the last column says so.
# A stalled load generator (its session waits 300 s per request) is cut
# at LOAD_TIMEOUT seconds; its row then shows fewer ok.
load () { timeout "${LOAD_TIMEOUT:-600}" "$WORK/load" "$@" || true; }

# one NAME BASELINE "FAKE_PIDS" PROXY_PID LOAD_ARGS...: measures one case
# (N requests, C in flight) and prints its row; an empty BASELINE makes the
# case its own. The result line is left in RESULT.
one () {
  local name=$1 base=$2 fakes=$3 proxy=$4 f0 p0 pcpu=""; shift 4
  f0=$(cpu_sum $fakes); p0=$(cpu_sum $proxy)
  RESULT=$(load -n "$N" -c "$C" -w "$W" "$@")
  alive $fakes $proxy
  [ -n "$proxy" ] && pcpu=$(sub "$(cpu_sum $proxy)" "$p0")
  row "$name" "$RESULT" "${base:-$RESULT}" "$(sub "$(cpu_sum $fakes)" "$f0")" "$pcpu"
}

# ---- Latency and throughput -------------------------------------------------
# One set of fakes and one proxy per table: "a" answers in Anthropic, "c" in
# OpenAI Chat, "p" always 429 with retry-after 0 (cooldown_s is 1 µs, so
# every request tries it first, then fails over to "a").
bench_table () {
  local title=$1 text=$2 N=$3 C=$4
  local a c p us aport cport pport url direct_a direct_c
  start_fake a --format anthropic --text "$text"; a=$PID; aport=$PORT
  start_fake c --format openai-chat --text "$text"; c=$PID; cport=$PORT
  start_fake p --format anthropic --default 429:0; p=$PID; pport=$PORT
  cat >"$WORK/config.json" <<EOF
{"version":1,"listen":{"host":"127.0.0.1","port":0,"token":"bench"},
 "providers":[{"id":"a","kind":"anthropic","base_url":"http://127.0.0.1:$aport","auth":"none"},
              {"id":"c","kind":"openai-chat","base_url":"http://127.0.0.1:$cport/v1","auth":"none"},
              {"id":"p","kind":"anthropic","base_url":"http://127.0.0.1:$pport","auth":"none"}],
 "chains":[{"id":"pass","match":["*"],"models":[{"provider":"a","model":"*"}]},
           {"id":"cross","match":["cross-*"],"models":[{"provider":"c","model":"*"}]},
           {"id":"fail","match":["fail-*"],"models":[{"provider":"p","model":"*"},{"provider":"a","model":"*"}]}],
 "rules":[{"when":{"model":"cross-*"},"chain":"cross"},{"when":{"model":"fail-*"},"chain":"fail"}],
 "failover":{"cooldown_s":0.000001}}
EOF
  start us "$LISTENING" "$UNDERSTUDY" --headless --config "$WORK/config.json"; us=$PID
  url=http://127.0.0.1:$PORT/t/bench/v1/messages

  header "$title — N=$N, $C in flight"
  one "(a) direct to the fake, Anthropic" "" "$a" "" -u "http://127.0.0.1:$aport/v1/messages"
  direct_a=$RESULT
  one "(a′) direct to the fake, OpenAI Chat" "" "$c" "" -f openai-chat -u "http://127.0.0.1:$cport/v1/chat/completions"
  direct_c=$RESULT
  one "(b) proxy, Anthropic → Anthropic (vs a)" "$direct_a" "$a" "$us" -u "$url" -m pass-model
  one "(c) proxy, Anthropic → OpenAI Chat (vs a′)" "$direct_c" "$c" "$us" -u "$url" -m cross-model
  one "(d) proxy, 429 then fallback (vs a)" "$direct_a" "$a $p" "$us" -u "$url" -m fail-model
  echo
  echo "Proxy peak RSS over this table: $(( $(kib "$us" VmHWM) / 1024 )) MiB."
  stop "$us"; stop "$a"; stop "$c"; stop "$p"
}

# ---- Memory: one very large answer -------------------------------------------
# sse-source writes its next piece only once the last one is on the wire, so
# it never runs ahead of its reader: any buffering seen is the proxy's.
bench_memory () {
  local src us sport url direct fast slow idle hwm_fast hwm_slow
  start src 's/^PORT=//p' "$WORK/sse-source" --bytes "$BIG"; src=$PID; sport=$PORT
  cat >"$WORK/config-big.json" <<EOF
{"version":1,"listen":{"host":"127.0.0.1","port":0,"token":"bench"},
 "providers":[{"id":"s","kind":"anthropic","base_url":"http://127.0.0.1:$sport","auth":"none"}],
 "chains":[{"id":"big","match":["*"],"models":[{"provider":"s","model":"*"}]}]}
EOF
  start usbig "$LISTENING" "$UNDERSTUDY" --headless --config "$WORK/config-big.json"; us=$PID
  url=http://127.0.0.1:$PORT/t/bench/v1/messages
  sleep 0.2
  idle=$(kib "$us" VmRSS)

  direct=$(load -n 3 -c 1 -w 0 -u "http://127.0.0.1:$sport/v1/messages")
  fast=$(load -n 3 -c 1 -w 0 -u "$url")
  alive "$us" "$src"
  hwm_fast=$(kib "$us" VmHWM)
  # A slow client: one read of at most 16 KiB every 2 ms. The peak RSS is
  # reset first (5 > clear_refs), so the figure is this client's alone.
  echo 5 >"/proc/$us/clear_refs"
  slow=$(load -n 1 -c 1 -w 0 --read-pause-ms 2 -u "$url")
  alive "$us" "$src"
  hwm_slow=$(kib "$us" VmHWM)
  stop "$us"; stop "$src"

  echo
  echo "### Memory: one streamed answer of $((BIG / 1000000)) MB of text, 1 in flight"
  echo
  echo "| | direct | through the proxy | ratio |"
  echo "|---|---|---|---|"
  awk -v d="$(field "$direct" mbps)" -v p="$(field "$fast" mbps)" -v bytes="$(field "$fast" bytes)" \
      -v idle="$idle" -v hf="$hwm_fast" -v hs="$hwm_slow" -v smb="$(field "$slow" mbps)" \
      -v fok="$(field "$fast" ok)" -v sok="$(field "$slow" ok)" \
      'BEGIN {
         printf "| throughput, fast client (MB/s) | %.0f | %.0f | %.2f× direct |\n", d, p, p / d
         printf "| proxy RSS when idle (MiB) | | %.1f | |\n", idle / 1024
         printf "| proxy peak RSS, fast client (MiB) | | %.1f | grew %.2f× the %.0f MB stream%s |\n",
                hf / 1024, (hf - idle) * 1024 / bytes, bytes / 1e6, fok == 3 ? "" : ", INCOMPLETE"
         printf "| proxy peak RSS, slow client reading %.1f MB/s (MiB) | | %.1f | grew %.2f× the stream%s |\n",
                smb, hs / 1024, (hs - idle) * 1024 / bytes, sok == 1 ? "" : ", INCOMPLETE"
       }'
}

# ---- Connections ----------------------------------------------------------
# socks PORT: TCP sockets (any state but LISTEN) on the server side of PORT.
socks () { ss -tn "( sport = :$1 )" | tail -n +2 | wc -l; }
closewait () { ss -tn state close-wait "( sport = :$1 )" | tail -n +2 | wc -l; }

# Two things a request costs that the tables do not show: connections to the
# provider (each one a TCP and, for https, TLS handshake), and sockets left
# open once a client has gone.
bench_connections () {
  local a us aport port url k=100 s0 f0 p0
  start_fake fa --format anthropic; a=$PID; aport=$PORT
  cat >"$WORK/config-conn.json" <<EOF
{"version":1,"listen":{"host":"127.0.0.1","port":0,"token":"bench"},
 "providers":[{"id":"a","kind":"anthropic","base_url":"http://127.0.0.1:$aport","auth":"none"}],
 "chains":[{"id":"pass","match":["*"],"models":[{"provider":"a","model":"*"}]}]}
EOF
  start usconn "$LISTENING" "$UNDERSTUDY" --headless --config "$WORK/config-conn.json"; us=$PID; port=$PORT
  url=http://127.0.0.1:$port/t/bench/v1/messages

  echo
  echo "### Connections"
  echo
  echo "| | direct to the fake | through the proxy |"
  echo "|---|---|---|"
  # The fake's sockets count the connections it accepted (it keeps closed
  # ones, see below); the load generator itself reuses its $C connections.
  s0=$(socks "$aport"); load -n "$N" -c "$C" -w 0 -u "http://127.0.0.1:$aport/v1/messages" >/dev/null
  f0=$(socks "$aport"); load -n "$N" -c "$C" -w 0 -u "$url" >/dev/null
  alive "$us" "$a"
  awk -v n="$N" -v d="$(( f0 - s0 ))" -v p="$(( $(socks "$aport") - f0 ))" 'BEGIN {
    printf "| connections opened to the provider per request (%d requests, client keeps its connections) | %.2f | %.2f |\n", n, d / n, p / n }'
  # K clients that each send one request and go away, as short-lived CLI
  # processes do: how many of their sockets does the server keep open?
  local fake_kept proxy_kept
  f0=$(closewait "$aport")
  for _ in $(seq "$k"); do load -n 1 -c 1 -w 0 -u "http://127.0.0.1:$aport/v1/messages" >/dev/null; done
  sleep 0.5; fake_kept=$(( $(closewait "$aport") - f0 ))
  p0=$(closewait "$port")
  for _ in $(seq "$k"); do load -n 1 -c 1 -w 0 -u "$url" >/dev/null; done
  sleep 0.5; proxy_kept=$(( $(closewait "$port") - p0 ))
  echo "| client sockets left in CLOSE-WAIT after $k one-request clients exited | $fake_kept | $proxy_kept |"
  echo
  echo "Proxy open file descriptors at the end: $(ls "/proc/$us/fd" | wc -l)."
  stop "$us"; stop "$a"
}

# ---- Load and memory over repeated runs -----------------------------------
# One proxy, the short answer, GROWTH_RUNS runs of GROWTH_N requests at 8
# and then 32 in flight: req/s of each run and the proxy's RSS after it.
# Memory that grows per request shows as RSS rising run after run.
bench_growth () {
  local a us aport url r c
  start_fake ga --format anthropic --text "$SHORT"; a=$PID; aport=$PORT
  cat >"$WORK/config-growth.json" <<EOF
{"version":1,"listen":{"host":"127.0.0.1","port":0,"token":"bench"},
 "providers":[{"id":"a","kind":"anthropic","base_url":"http://127.0.0.1:$aport","auth":"none"}],
 "chains":[{"id":"pass","match":["*"],"models":[{"provider":"a","model":"*"}]}]}
EOF
  start usgrowth "$LISTENING" "$UNDERSTUDY" --headless --config "$WORK/config-growth.json"; us=$PID
  url=http://127.0.0.1:$PORT/t/bench/v1/messages
  sleep 0.2
  echo
  echo "### Load over repeated runs: $GROWTH_RUNS × $GROWTH_N requests (short answer) per concurrency, one proxy"
  echo
  echo "| run | in flight | req/s | ok | proxy RSS after (MiB) | proxy descriptors after |"
  echo "|---|---|---|---|---|---|"
  echo "| idle | | | | $(awk '{ printf "%.1f", $1 / 1024 }' <<<"$(kib "$us" VmRSS)") | $(ls "/proc/$us/fd" | wc -l) |"
  for c in 8 32; do
    for r in $(seq "$GROWTH_RUNS"); do
      RESULT=$(load -n "$GROWTH_N" -c "$c" -w 0 -u "$url")
      alive "$us" "$a"
      sleep 0.3   # let the load generator's connections close
      echo "| $r | $c | $(field "$RESULT" rps) | $(field "$RESULT" ok)/$GROWTH_N | $(awk '{ printf "%.1f", $1 / 1024 }' <<<"$(kib "$us" VmRSS)") | $(ls "/proc/$us/fd" | wc -l) |"
    done
  done
  stop "$us"; stop "$a"
}

SHORT="Hello from the bench — all good here."
LONG=$(printf 'The quick brown fox jumps over the lazy dog. %.0s' $(seq 455))
LONG=${LONG:0:20000}
echo "## Understudy bench — $(nproc) cores, $(date -u +%F)"
for part in $PARTS; do
  case $part in
    short) bench_table "Short answer (37 bytes of text)" "$SHORT" "$N" "$C" ;;
    one) bench_table "Short answer, one request at a time" "$SHORT" "$N" 1 ;;
    long) bench_table "Long answer (20 KB of text: ~1900 events, 240 KB on the wire)" "$LONG" "$LONG_N" "$C" ;;
    memory) bench_memory ;;
    connections) bench_connections ;;
    growth) bench_growth ;;
    *) echo "bench: unknown part $part" >&2; exit 2 ;;
  esac
done
