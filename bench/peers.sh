#!/usr/bin/env bash
# bench/peers.sh: Understudy side by side with direct, nginx (a plain C
# pass-through proxy: the floor), Portkey gateway 1.15.2 and
# claude-code-router 2.0.0, all against the same fake upstream in one run.
# Prints one markdown table. Not part of `meson test`; see bench/README.md.
#
#   bench/peers.sh
#   N1=5000 N32=20000 IDLE_S=20 bench/peers.sh
#   TARGETS="direct nginx understudy" bench/peers.sh
#   FLAT_N=1000000 PARTS=flat bench/peers.sh        # Understudy's RSS over 1M requests
#   PARTS=hot UNDERSTUDY=/tmp/understudy.before bench/peers.sh   # CPU and syscalls per request
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build-bench}
PEERS=$ROOT/bench/peers
N1=${N1:-5000}          # requests one at a time (latency)
NF=${NF:-2000}          # requests one at a time through a failover
N32=${N32:-20000}       # requests at 32 in flight (throughput, CPU)
STREAMS=${STREAMS:-256} # streams held open at once (RSS)
HOLD_MS=${HOLD_MS:-3000}
IDLE_S=${IDLE_S:-20}    # idle window for wakeups
MAX_S=${MAX_S:-20}      # each measurement stops starting requests after this
FLAT_N=${FLAT_N:-1000000}
FLAT_STEP=${FLAT_STEP:-100000}
TARGETS=${TARGETS:-direct nginx understudy portkey ccr}
PARTS=${PARTS:-table}
NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
WORK=$(mktemp -d /tmp/understudy-peers.XXXXXX)
PIDS=()

cleanup () {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# ---- Build ----------------------------------------------------------------
if [ ! -d "$BUILD" ]; then
  meson setup "$BUILD" "$ROOT" -Dbuildtype=release >/dev/null
fi
ninja -C "$BUILD" src/understudy >/dev/null
for tool in raw upstream; do
  cc -O2 "$ROOT/bench/$tool.c" -o "$WORK/$tool"
done
UNDERSTUDY=${UNDERSTUDY:-$BUILD/src/understudy}
# The peers, pinned by bench/peers/package-lock.json.
if [ ! -d "$PEERS/node_modules" ]; then
  (cd "$PEERS" && npm ci --ignore-scripts --no-audit --no-fund >/dev/null)
fi
PORTKEY=$PEERS/node_modules/@portkey-ai/gateway/build/start-server.js
CCR=$PEERS/node_modules/@musistudio/claude-code-router/dist/cli.js

# Keep every process away from the user's own config and state.
export HOME=$WORK/home XDG_CONFIG_HOME=$WORK/home/.config XDG_DATA_HOME=$WORK/home/.local/share \
       XDG_STATE_HOME=$WORK/home/.local/state XDG_CACHE_HOME=$WORK/home/.cache
mkdir -p "$XDG_CONFIG_HOME" "$HOME/.claude-code-router"

# ---- Processes ------------------------------------------------------------
# start NAME SED_PATTERN CMD...: runs CMD in the background and waits until
# SED_PATTERN finds its port on stdout (or, with an empty pattern, until
# PORT is listening); sets PID.
start () {
  local name=$1 pattern=$2; shift 2
  : >"$WORK/$name.out"
  "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
  PID=$!
  PIDS+=("$PID")
  for _ in $(seq 300); do
    if [ -n "$pattern" ]; then
      P=$(sed -n "$pattern" "$WORK/$name.out" | head -1)
      [ -n "$P" ] && return 0
    elif ss -ltn "( sport = :$PORT )" | grep -q LISTEN; then
      return 0
    fi
    kill -0 "$PID" 2>/dev/null || break
    sleep 0.05
  done
  echo "peers: $name did not start:" >&2; cat "$WORK/$name.out" "$WORK/$name.err" >&2; exit 1
}
free_port () { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

kib () { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
cpu_s () { awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) / hz }' "/proc/$1/stat"; }
# Context switches of all the process's threads: each is one wakeup.
switches () {
  cat /proc/"$1"/task/*/status 2>/dev/null |
    awk '/^(voluntary|nonvoluntary)_ctxt_switches:/ { s += $2 } END { print s }'
}
field () { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<" $1"; }
load1 () { cut -d' ' -f1 /proc/loadavg; }

# ---- The fake upstream ------------------------------------------------------
# a: answers 200 with a 20-delta stream; p: always 429, retry-after 0;
# h: the same stream, held HOLD_MS after the first delta (streams stay open).
start up_a 's/^PORT=//p' "$WORK/upstream"; UP_A=$P; PID_A=$PID
start up_p 's/^PORT=//p' "$WORK/upstream" --status 429; UP_P=$P
start up_h 's/^PORT=//p' "$WORK/upstream" --hold-ms "$HOLD_MS"; UP_H=$P

# ---- The targets ----------------------------------------------------------
# For each: PORT_x, PID_x (empty for direct), and args_x ROUTE that fills
# ARGS with the raw client's options for ROUTE (pass, fail, hold).
declare -A PORT_OF PID_OF
ARGS=()
BODY_OF () { printf '{"model":"%s","max_tokens":1024,"stream":true,"messages":[{"role":"user","content":"Say something."}]}' "$1"; }
AHDR=(--header "anthropic-version: 2023-06-01" --header "x-api-key: bench")

args_direct () {
  case $1 in
    pass) ARGS=(--port "$UP_A") ;;
    hold) ARGS=(--port "$UP_H") ;;
    fail) ARGS=() ;;
  esac
  ARGS+=("${AHDR[@]}" --body "$(BODY_OF bench-model)")
}

start_nginx () {
  local port; port=$(free_port)
  mkdir -p "$WORK/nginx"
  # One process, no master, like the other targets; buffering off so that
  # streams pass as they come; keep-alive to both sides. The failover
  # upstream never marks its first server down (max_fails=0), so every
  # request tries it, as in the other targets.
  cat >"$WORK/nginx/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
error_log $WORK/nginx/error.log warn;
pid $WORK/nginx/nginx.pid;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $WORK/nginx/body;
  proxy_temp_path $WORK/nginx/proxy;
  fastcgi_temp_path $WORK/nginx/fastcgi;
  uwsgi_temp_path $WORK/nginx/uwsgi;
  scgi_temp_path $WORK/nginx/scgi;
  keepalive_requests 10000000;
  upstream a { server 127.0.0.1:$UP_A; keepalive 64; }
  upstream h { server 127.0.0.1:$UP_H; keepalive 512; }
  upstream f { server 127.0.0.1:$UP_P max_fails=0; server 127.0.0.1:$UP_A backup; keepalive 64; }
  server {
    listen 127.0.0.1:$port;
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_buffering off;
    proxy_request_buffering off;
    location /fail/ { proxy_pass http://f/; proxy_next_upstream error timeout http_429 non_idempotent; }
    location /hold/ { proxy_pass http://h/; }
    location / { proxy_pass http://a; }
  }
}
EOF
  PORT=$port start nginx "" "$NGINX" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -e "$WORK/nginx/error.log"
  PORT_OF[nginx]=$port; PID_OF[nginx]=$PID
}
args_nginx () {
  local prefix=""
  [ "$1" = pass ] || prefix=/$1
  ARGS=(--port "${PORT_OF[nginx]}" --path "$prefix/v1/messages" "${AHDR[@]}" --body "$(BODY_OF bench-model)")
}

start_understudy () {
  cat >"$WORK/understudy.json" <<EOF
{"version":1,"listen":{"host":"127.0.0.1","port":0,"token":"bench"},
 "providers":[{"id":"a","kind":"anthropic","base_url":"http://127.0.0.1:$UP_A","auth":"none"},
              {"id":"p","kind":"anthropic","base_url":"http://127.0.0.1:$UP_P","auth":"none"},
              {"id":"h","kind":"anthropic","base_url":"http://127.0.0.1:$UP_H","auth":"none"}],
 "chains":[{"id":"pass","match":["*"],"models":[{"provider":"a","model":"*"}]},
           {"id":"fail","match":["fail-*"],"models":[{"provider":"p","model":"*"},{"provider":"a","model":"*"}]},
           {"id":"hold","match":["hold-*"],"models":[{"provider":"h","model":"*"}]}],
 "rules":[{"when":{"model":"fail-*"},"chain":"fail"},{"when":{"model":"hold-*"},"chain":"hold"}],
 "failover":{"cooldown_s":0.000001}}
EOF
  start understudy 's/.*listening on http:\/\/[0-9.]*:\([0-9]*\).*/\1/p' \
    "$UNDERSTUDY" --headless --config "$WORK/understudy.json"
  PORT_OF[understudy]=$P; PID_OF[understudy]=$PID
}
args_understudy () {
  ARGS=(--port "${PORT_OF[understudy]}" --path /t/bench/v1/messages "${AHDR[@]}" --body "$(BODY_OF "$1-model")")
}

start_portkey () {
  local port; port=$(free_port)
  PORT=$port start portkey "" node "$PORTKEY" --port="$port" --headless
  PORT_OF[portkey]=$port; PID_OF[portkey]=$PID
}
# Portkey takes its routing per request, in the x-portkey-config header.
args_portkey () {
  local target='{"provider":"anthropic","api_key":"bench","custom_host":"http://127.0.0.1:%s/v1"}' cfg
  case $1 in
    pass) cfg=$(printf "$target" "$UP_A") ;;
    hold) cfg=$(printf "$target" "$UP_H") ;;
    fail) cfg="{\"strategy\":{\"mode\":\"fallback\",\"on_status_codes\":[429]},\"targets\":[$(printf "$target" "$UP_P"),$(printf "$target" "$UP_A")]}" ;;
  esac
  ARGS=(--port "${PORT_OF[portkey]}" --header "anthropic-version: 2023-06-01" --header "x-portkey-config: $cfg"
        --body "$(BODY_OF bench-model)")
}

start_ccr () {
  local port; port=$(free_port)
  # "provider,model" in a request picks that provider; anything else goes
  # to Router.default (the 429 one) and then to the fallback list.
  cat >"$HOME/.claude-code-router/config.json" <<EOF
{"PORT":$port,"HOST":"127.0.0.1","LOG":false,"NON_INTERACTIVE_MODE":true,
 "Providers":[{"name":"a","api_base_url":"http://127.0.0.1:$UP_A/v1/messages","api_key":"bench","models":["bench-model"],"transformer":{"use":["Anthropic"]}},
              {"name":"p","api_base_url":"http://127.0.0.1:$UP_P/v1/messages","api_key":"bench","models":["bench-model"],"transformer":{"use":["Anthropic"]}},
              {"name":"h","api_base_url":"http://127.0.0.1:$UP_H/v1/messages","api_key":"bench","models":["bench-model"],"transformer":{"use":["Anthropic"]}}],
 "Router":{"default":"p,bench-model"},
 "fallback":{"default":["a,bench-model"]}}
EOF
  PORT=$port start ccr "" node "$CCR" start
  PORT_OF[ccr]=$port; PID_OF[ccr]=$PID
}
args_ccr () {
  local model
  case $1 in pass) model=a,bench-model ;; hold) model=h,bench-model ;; fail) model=bench-model ;; esac
  ARGS=(--port "${PORT_OF[ccr]}" "${AHDR[@]}" --body "$(BODY_OF "$model")")
}

raw () { "$WORK/raw" --max-seconds "$MAX_S" "$@" || true; }

# ---- The table ------------------------------------------------------------
declare -A R
bench_table () {
  local t pid r0 s0 c0 pass fail
  for t in $TARGETS; do
    [ "$t" = direct ] || "start_$t"
  done
  sleep 2
  # Idle: all targets at once, nothing sent yet.
  for t in $TARGETS; do
    pid=${PID_OF[$t]:-}
    [ -n "$pid" ] || continue
    R[$t.rss_idle]=$(kib "$pid" VmRSS)
    R[$t.sw0]=$(switches "$pid")
  done
  sleep "$IDLE_S"
  for t in $TARGETS; do
    pid=${PID_OF[$t]:-}
    [ -n "$pid" ] || continue
    R[$t.wakeups]=$(awk -v a="${R[$t.sw0]}" -v b="$(switches "$pid")" -v s="$IDLE_S" 'BEGIN { printf "%.0f", (b - a) * 60 / s }')
  done

  for t in $TARGETS; do
    pid=${PID_OF[$t]:-}
    R[$t.load]=$(load1)
    "args_$t" pass
    R[$t.c1]=$(raw "${ARGS[@]}" --requests "$N1" --concurrency 1 --warmup 200)
    if [ "$t" != direct ]; then
      "args_$t" fail
      R[$t.fail]=$(raw "${ARGS[@]}" --requests "$NF" --concurrency 1 --warmup 100)
    fi
    "args_$t" pass
    [ -n "$pid" ] && c0=$(cpu_s "$pid")
    R[$t.c32]=$(raw "${ARGS[@]}" --requests "$N32" --concurrency 32 --warmup 1000)
    if [ -n "$pid" ]; then
      # Warm-up included: it ran on the same process.
      R[$t.cpu]=$(awk -v a="$c0" -v b="$(cpu_s "$pid")" -v n="$(( $(field "${R[$t.c32]}" n) + 1000 ))" \
                  'BEGIN { printf "%.0f", (b - a) * 1000 * 1000 / n }')
      R[$t.rss_c32]=$(kib "$pid" VmRSS)
    fi
    "args_$t" hold
    R[$t.streams]=$(raw "${ARGS[@]}" --requests "$STREAMS" --concurrency "$STREAMS" --warmup 0 ${pid:+--rss-pid "$pid"})
    R[$t.load]="${R[$t.load]}–$(load1)"
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
      echo "peers: $t exited during the run:" >&2; tail -20 "$WORK/$t.err" >&2; exit 1
    fi
  done

  echo "## Understudy and its peers — $(nproc) cores, $(date -u '+%F %H:%M UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
  echo
  echo "Latency in µs (raw keep-alive client, one request at a time, up to $N1 requests; failover up to $NF);"
  echo "throughput and CPU at 32 in flight (up to $N32 requests); each measurement starts no request after ${MAX_S} s,"
  echo "so slow targets count fewer (the ok column). RSS in MiB; wakeups per minute over ${IDLE_S} s idle."
  echo
  echo "| target | added latency p50 / p99 | first event p50 / p99 | first event over direct | req/s c32 | failover cost | RSS idle | RSS after c32 | RSS, $STREAMS streams open | CPU ms / 1000 req | wakeups/min idle | ok | load avg |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
  local d1=${R[direct.c1]}
  for t in $TARGETS; do
    local c1=${R[$t.c1]} c32=${R[$t.c32]} st=${R[$t.streams]} f=${R[$t.fail]:-} failcost=n/a ok
    if [ -n "$f" ] && [ "$(field "$f" ok)" -gt 0 ]; then
      # The primary's 429 to the fallback's first byte, over this target's
      # own first byte without a failover.
      failcost=$(awk -v a="$(field "$f" ttfb_p50)" -v b="$(field "$c1" ttfb_p50)" 'BEGIN { printf "+%d µs (p50 %d)", a - b, a }')
    fi
    ok="$(field "$c1" ok)/$(field "$c1" n), $(field "$c32" ok)/$(field "$c32" n)${f:+, fail $(field "$f" ok)/$(field "$f" n)}, streams $(field "$st" ok)/$(field "$st" n)"
    awk -v t="$t" -v c1="$c1" -v d1="$d1" -v c32="$c32" -v st="$st" -v fc="$failcost" \
        -v ri="${R[$t.rss_idle]:-}" -v r32="${R[$t.rss_c32]:-}" -v cpu="${R[$t.cpu]:-}" -v wk="${R[$t.wakeups]:-}" \
        -v ok="$ok" -v ld="${R[$t.load]}" '
      function f(line, key,   n, kv, i) { n = split(line, kv, /[ =]/); for (i = 1; i < n; i += 2) if (kv[i] == key) return kv[i + 1]; return "" }
      function mib(k) { return k == "" ? "–" : sprintf("%.1f", k / 1024) }
      BEGIN {
        direct = t == "direct"
        lat = direct ? sprintf("(%d / %d)", f(c1, "total_p50"), f(c1, "total_p99")) \
                     : sprintf("+%d / +%d", f(c1, "total_p50") - f(d1, "total_p50"), f(c1, "total_p99") - f(d1, "total_p99"))
        ev = sprintf("%d / %d", f(c1, "ttfb_p50"), f(c1, "ttfb_p99"))
        over = direct ? "–" : sprintf("+%d", f(c1, "ttfb_p50") - f(d1, "ttfb_p50"))
        streams = f(st, "rss_open_kib") > 0 ? sprintf("%s (%d open)", mib(f(st, "rss_open_kib")), f(st, "open_peak")) : "–"
        printf "| %s | %s | %s | %s | %d | %s | %s | %s | %s | %s | %s | %s | %s |\n", t, lat, ev, over, f(c32, "rps"),
               direct ? "–" : fc, mib(ri), mib(r32), streams, cpu == "" ? "–" : cpu, wk == "" ? "–" : wk, ok, ld
      }'
  done
  echo
  echo "Raw results:"
  echo
  for t in $TARGETS; do
    echo "    $t c1:      ${R[$t.c1]}"
    [ -n "${R[$t.fail]:-}" ] && echo "    $t fail:    ${R[$t.fail]}"
    echo "    $t c32:     ${R[$t.c32]}"
    echo "    $t streams: ${R[$t.streams]}"
  done
}

# ---- Understudy's RSS over many requests ----------------------------------
bench_flat () {
  local done=0 r
  start_understudy
  args_understudy pass
  echo
  echo "### Understudy RSS over $FLAT_N requests at 32 in flight"
  echo
  echo "| requests | RSS MiB | descriptors | req/s of the step | load avg |"
  echo "|---|---|---|---|---|"
  echo "| 0 | $(awk '{ printf "%.1f", $1 / 1024 }' <<<"$(kib "${PID_OF[understudy]}" VmRSS)") | $(ls "/proc/${PID_OF[understudy]}/fd" | wc -l) | | $(load1) |"
  while [ "$done" -lt "$FLAT_N" ]; do
    r=$("$WORK/raw" "${ARGS[@]}" --requests "$FLAT_STEP" --concurrency 32 --warmup 0 || true)
    done=$((done + FLAT_STEP))
    echo "| $done | $(awk '{ printf "%.1f", $1 / 1024 }' <<<"$(kib "${PID_OF[understudy]}" VmRSS)") | $(ls "/proc/${PID_OF[understudy]}/fd" | wc -l) | $(field "$r" rps) ($(field "$r" ok) ok) | $(load1) |"
  done
}

# ---- Understudy's hot path: CPU and syscalls per request ---------------------
# HOT_N requests at 8 in flight, pass-through, 20 content deltas each:
# CPU per request without tracing, then `strace -f -c` over another HOT_N.
HOT_N=${HOT_N:-5000}
bench_hot () {
  local pid c0 r
  start_understudy; pid=${PID_OF[understudy]}
  args_understudy pass
  raw "${ARGS[@]}" --requests 500 --concurrency 8 --warmup 0 >/dev/null
  c0=$(cpu_s "$pid")
  r=$(raw "${ARGS[@]}" --requests "$HOT_N" --concurrency 8 --warmup 0)
  echo
  echo "### Understudy hot path: $HOT_N pass-through requests (20 deltas each), 8 in flight, load avg $(load1)"
  echo
  awk -v a="$c0" -v b="$(cpu_s "$pid")" -v n="$(field "$r" n)" -v rps="$(field "$r" rps)" -v p50="$(field "$r" total_p50)" \
    'BEGIN { printf "CPU per request: %.0f µs; %s req/s; total p50 %s µs\n\n", (b - a) * 1e6 / n, rps, p50 }'
  strace -f -c -o "$WORK/strace.txt" -p "$pid" 2>/dev/null &
  local tracer=$!
  sleep 1
  # Traced, fewer may fit in MAX_S: per request is per request made.
  r=$(raw "${ARGS[@]}" --requests "$HOT_N" --concurrency 8 --warmup 0)
  kill -INT "$tracer"; wait "$tracer" 2>/dev/null || true
  echo "| syscall | per request ($(field "$r" n) requests traced) |"
  echo "|---|---|"
  awk -v n="$(field "$r" n)" '$1 ~ /^[0-9.]+$/ && NF >= 5 && $NF != "total" { name = $NF; calls = ($5 ~ /^[0-9]+$/ && NF == 6) ? $4 : $4; tot += calls; if (calls / n >= 0.05) printf "| %s | %.2f |\n", name, calls / n }
                     END { printf "| **all** | **%.1f** |\n", tot / n }' "$WORK/strace.txt"
}

for part in $PARTS; do
  case $part in
    table) bench_table ;;
    flat) bench_flat ;;
    hot) bench_hot ;;
    *) echo "peers: unknown part $part" >&2; exit 2 ;;
  esac
done
