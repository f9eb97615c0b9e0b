# lib.sh: shared helpers for the real-client tests; each test sources it.
#
# A test runs in its own temp dir ($US_TMP) with its own HOME, so the real
# $HOME is never read or written; every process it starts is stopped on
# exit. Model traffic goes only to loopback fakes. Exit status 77 = skipped.
#
# Environment (meson sets the first three; the defaults suit a manual run
# from the source tree with a build in ./build):
#   UNDERSTUDY         the understudy binary
#   US_FAKE_PROVIDER   the us-fake-provider binary
#   CLIENTS_DIR        this directory; `npm ci` here installs the clients
#   US_CLIENT_TIMEOUT  seconds a client run may take (180)
#   US_KEEP_TMP=1      keep $US_TMP afterwards for a look

set -u

CLIENTS_DIR=${CLIENTS_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}
UNDERSTUDY=${UNDERSTUDY:-$CLIENTS_DIR/../../build/src/understudy}
US_FAKE_PROVIDER=${US_FAKE_PROVIDER:-$CLIENTS_DIR/../../build/tests/fake/us-fake-provider}
US_CLIENT_TIMEOUT=${US_CLIENT_TIMEOUT:-180}
US_NAME=$(basename "$0" .sh)
US_PIDS=
declare -A US_PID_NAME
US_TMP=
US_UNDERSTUDY_PID=

us_note () { printf '%s: %s\n' "$US_NAME" "$*"; }
us_skip () { printf 'SKIP: %s\n' "$*"; exit 77; }

# ---- Setup and cleanup ----------------------------------------------------

_us_cleanup () {
  local rc=$? pid i
  trap - EXIT
  for pid in $US_PIDS; do kill -TERM "$pid" 2>/dev/null; done
  for pid in $US_PIDS; do
    for i in 1 2 3 4 5 6 7 8 9 10; do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.2
    done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  if [ -n "$US_TMP" ]; then
    if [ "${US_KEEP_TMP:-}" = 1 ]; then us_note "kept $US_TMP"; else rm -rf "$US_TMP"; fi
  fi
  exit "$rc"
}

# us_setup: checks what the test needs (or skips), makes $US_TMP with a
# fresh HOME and a work dir $US_WORK, and scrubs the environment of
# anything that would point a client somewhere else.
us_setup () {
  local v
  command -v python3 >/dev/null || us_skip "python3 is not installed"
  command -v timeout >/dev/null || us_skip "timeout (coreutils) is not installed"
  [ -d "$CLIENTS_DIR/node_modules" ] ||
    us_skip "no $CLIENTS_DIR/node_modules: run 'npm ci' in tests/clients first"
  [ -x "$UNDERSTUDY" ] || us_skip "no understudy binary at $UNDERSTUDY"
  [ -x "$US_FAKE_PROVIDER" ] || us_skip "no us-fake-provider binary at $US_FAKE_PROVIDER"

  US_TMP=$(mktemp -d "${TMPDIR:-/tmp}/us-clients.XXXXXX") || exit 1
  trap _us_cleanup EXIT
  trap 'exit 130' INT TERM

  for v in $(compgen -e); do
    case $v in
      ANTHROPIC_*|CLAUDE*|OPENAI_*|CODEX_*|OPENCODE*|AWS_*|GOOGLE_*|GEMINI_*|XDG_*|npm_*|NPM_*|\
      HTTP_PROXY|HTTPS_PROXY|ALL_PROXY|http_proxy|https_proxy|all_proxy|NO_PROXY|no_proxy)
        unset "$v" ;;
    esac
  done
  export HOME=$US_TMP/home
  export XDG_CONFIG_HOME=$HOME/.config XDG_CACHE_HOME=$HOME/.cache
  export XDG_DATA_HOME=$HOME/.local/share XDG_STATE_HOME=$HOME/.local/state
  mkdir -p "$HOME" "$XDG_CONFIG_HOME" "$XDG_CACHE_HOME" "$XDG_DATA_HOME" "$XDG_STATE_HOME"
  export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
  # No client phones home: Claude Code's extras, OpenCode's model list,
  # updates and plugin installs. OpenCode installs plugins with npm; a dead
  # registry makes that fail at once whether or not a network exists.
  export CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 DISABLE_AUTOUPDATER=1
  export OPENCODE_DISABLE_MODELS_FETCH=1 OPENCODE_DISABLE_AUTOUPDATE=1
  export OPENCODE_DISABLE_DEFAULT_PLUGINS=1 OPENCODE_DISABLE_LSP_DOWNLOAD=1
  export OPENCODE_DISABLE_SHARE=1
  export npm_config_registry=http://127.0.0.1:9/

  US_WORK=$US_TMP/work
  mkdir -p "$US_WORK"
  US_TOKEN=tok-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
}

# us_random: a short random hex string, for texts and keys.
us_random () { od -An -N6 -tx1 /dev/urandom | tr -d ' \n'; }

# us_free_port: a TCP port on 127.0.0.1 that was free a moment ago.
us_free_port () {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# ---- Clients --------------------------------------------------------------

# us_need_client claude|codex|opencode: sets US_CLIENT to a binary that
# runs, or skips. Falls back to the platform package when the wrapper's
# postinstall did not run (npm ci --ignore-scripts).
us_need_client () {
  local nm=$CLIENTS_DIR/node_modules c candidates
  case $1 in
    claude) candidates="$nm/.bin/claude $nm/@anthropic-ai/claude-code-linux-*/claude" ;;
    codex) candidates="$nm/.bin/codex $nm/@openai/codex-linux-*/vendor/*/bin/codex" ;;
    opencode) candidates="$nm/.bin/opencode $nm/opencode-linux-x64/bin/opencode
                          $nm/opencode-linux-x64-baseline/bin/opencode $nm/opencode-linux-*/bin/opencode" ;;
    *) echo "us_need_client: unknown client $1" >&2; exit 1 ;;
  esac
  for c in $candidates; do
    if [ -x "$c" ] && timeout 60 "$c" --version >/dev/null 2>&1 </dev/null; then
      US_CLIENT=$c
      us_note "$1: $c ($(timeout 60 "$c" --version 2>/dev/null </dev/null | head -n 1))"
      return 0
    fi
  done
  us_skip "$1 is not installed in $nm (run 'npm ci' in tests/clients)"
}

# us_run_client NAME CMD...: runs CMD in $US_WORK with a timeout, stdin
# closed, output to $US_TMP/NAME.stdout and .stderr; sets US_RC.
us_run_client () {
  local name=$1
  shift
  (cd "$US_WORK" && exec timeout -k 10 "$US_CLIENT_TIMEOUT" "$@" \
     </dev/null >"$US_TMP/$name.stdout" 2>"$US_TMP/$name.stderr")
  US_RC=$?
  us_note "$name exited with status $US_RC"
  [ "$US_RC" = 124 ] && us_note "$name timed out after ${US_CLIENT_TIMEOUT}s"
  return 0
}

# ---- Fakes and the proxy --------------------------------------------------

# _us_wait_for FILE PATTERN PID: waits up to 10 s for PATTERN in FILE while PID lives.
_us_wait_for () {
  local i
  for i in $(seq 1 100); do
    grep -q -- "$2" "$1" 2>/dev/null && return 0
    kill -0 "$3" 2>/dev/null || { sleep 0.1; grep -q -- "$2" "$1" 2>/dev/null; return; }
    sleep 0.1
  done
  return 1
}

# us_start_fake NAME FORMAT [ARGS...]: starts a fake provider that logs each
# request (credentials hashed) to $US_TMP/NAME.log; sets US_FAKE_URL to
# http://127.0.0.1:PORT (no /v1).
us_start_fake () {
  local name=$1 format=$2 pid
  shift 2
  "$US_FAKE_PROVIDER" --format "$format" --log "$US_TMP/$name.log" "$@" \
    >"$US_TMP/$name.out" 2>"$US_TMP/$name.err" &
  pid=$!
  US_PIDS="$US_PIDS $pid"
  US_PID_NAME[$pid]="fake $name"
  _us_wait_for "$US_TMP/$name.out" '^PORT=' "$pid" || us_fail "fake provider $name did not start"
  US_FAKE_URL=http://127.0.0.1:$(sed -n 's/^PORT=//p' "$US_TMP/$name.out")
  : >>"$US_TMP/$name.log"
  us_note "fake $name ($format $*) on $US_FAKE_URL"
}

# us_fake_requests NAME: how many requests fake NAME has received.
us_fake_requests () { wc -l <"$US_TMP/$1.log" | tr -d ' '; }

# us_write_config PORT PROVIDER...: writes $US_CONFIG with one chain,
# "default", matching every model, its members in the order given.
# PROVIDER is "id kind base_url model auth", auth being passthrough, none
# or key:ENV_NAME. PORT 0 lets the proxy pick one.
us_write_config () {
  local port=$1 p id kind url model auth sep=
  shift
  US_CONFIG=$US_TMP/understudy.json
  {
    printf '{\n  "version": 1,\n  "listen": { "host": "127.0.0.1", "port": %s, "token": "%s" },\n' \
      "$port" "$US_TOKEN"
    printf '  "routing": true,\n  "providers": [\n'
    for p in "$@"; do
      read -r id kind url model auth <<EOF
$p
EOF
      case $auth in
        key:*) auth="\"auth\": \"key\", \"key_env\": \"${auth#key:}\"" ;;
        *) auth="\"auth\": \"$auth\"" ;;
      esac
      printf '%s    { "id": "%s", "kind": "%s", "base_url": "%s", %s }' "$sep" "$id" "$kind" "$url" "$auth"
      sep=$',\n'
    done
    printf '\n  ],\n  "chains": [ { "id": "default", "match": ["*"], "models": [\n'
    sep=
    for p in "$@"; do
      read -r id kind url model auth <<EOF
$p
EOF
      printf '%s    { "provider": "%s", "model": "%s" }' "$sep" "$id" "$model"
      sep=$',\n'
    done
    printf '\n  ] } ]\n}\n'
  } >"$US_CONFIG"
}

# us_start_understudy: runs `understudy --headless` on $US_CONFIG; sets
# US_PROXY_PORT and US_URL, the base URL clients use (with the token path).
us_start_understudy () {
  local pid
  "$UNDERSTUDY" --headless --config "$US_CONFIG" >"$US_TMP/understudy.out" 2>"$US_TMP/understudy.err" &
  pid=$!
  US_PIDS="$US_PIDS $pid"
  US_UNDERSTUDY_PID=$pid
  US_PID_NAME[$pid]=understudy
  _us_wait_for "$US_TMP/understudy.out" 'is listening on' "$pid" || us_fail "understudy did not start"
  US_PROXY_PORT=$(sed -n 's/.*is listening on http:\/\/[^ ]*:\([0-9][0-9]*\).*/\1/p' "$US_TMP/understudy.out")
  US_URL=http://127.0.0.1:$US_PROXY_PORT/t/$US_TOKEN
  us_note "understudy on port $US_PROXY_PORT"
}

# us_understudy ARGS...: runs an understudy subcommand on $US_CONFIG, output
# to $US_TMP/understudy-cmd.out; sets US_RC.
us_understudy () {
  timeout 60 "$UNDERSTUDY" --config "$US_CONFIG" "$@" >"$US_TMP/understudy-cmd.out" 2>&1 </dev/null
  US_RC=$?
  cat "$US_TMP/understudy-cmd.out" >>"$US_TMP/understudy-cmds.txt"
  us_note "understudy $* -> $US_RC: $(head -c 300 "$US_TMP/understudy-cmd.out")"
}

# us_status: prints the status JSON.
us_status () {
  python3 - "$US_URL/understudy/status" <<'EOF'
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=10) as r:
    sys.stdout.write(r.read().decode())
EOF
}

# us_check PYTHON ARGS...: runs a Python check with `status` (the status
# JSON), `requests` (newest first), `fake(name)` (a fake's log entries) and
# `args` at hand; an AssertionError fails the test with its message.
us_check () {
  local code=$1
  shift
  us_status >"$US_TMP/status.json" 2>"$US_TMP/status.err" || us_fail "no status from the proxy"
  python3 - "$US_TMP" "$code" "$@" <<'EOF' || us_fail "check failed"
import json, os, sys
tmp, code, args = sys.argv[1], sys.argv[2], sys.argv[3:]
status = json.load(open(os.path.join(tmp, "status.json")))
requests = status["requests"]
def fake(name):
    with open(os.path.join(tmp, name + ".log")) as f:
        return [json.loads(line) for line in f if line.strip()]
def attempts(r):
    return [(a["provider"], a["status"]) for a in r["attempts"]]
try:
    exec(code)
except AssertionError as e:
    print("assertion failed:", e)
    sys.exit(1)
EOF
}

# us_print_requests: one line per request the proxy recorded, oldest first.
us_print_requests () {
  us_status 2>/dev/null | python3 -c '
import json, sys
requests = json.load(sys.stdin)["requests"]
if not requests:
    print("  (none)")
for r in reversed(requests):
    print("  #%s %s %s %s -> %s/%s %s [%s]" % (r["id"], r["client"], r.get("endpoint"), r["requested_model"],
          r["served_provider"], r["served_model"], r["status"],
          ", ".join("%s/%s %s %s" % (a["provider"], a["model"], a["status"], a["reason"] or "") for a in r["attempts"])))
' 2>/dev/null || echo "  (no status: the proxy does not answer)"
}

# us_expect_failover CLIENT PRIMARY FALLBACK: every request CLIENT made was
# served by FALLBACK, and the first was tried on PRIMARY first (429). Later
# requests try PRIMARY first too, except a tool loop's continuation, which
# goes straight back to the FALLBACK that started the loop (issue 11).
us_expect_failover () {
  us_check '
client, primary, fallback = args
mine = list(reversed([r for r in requests if r["client"] == client]))
assert mine, "the proxy recorded no request from %s" % client
for r in mine:
    assert r["state"] == "done" and r["status"] == 200, "request #%s: %s %s (%s)" % (r["id"], r["state"], r["status"], r["error"])
    assert r["served_provider"] == fallback, "request #%s served by %s, not %s" % (r["id"], r["served_provider"], fallback)
    first = r["attempts"][0]
    loop = first["provider"] == fallback and ("tool loop started by %s/" % fallback) in (first.get("note") or "")
    assert first["provider"] == primary or loop, "request #%s did not try %s first: %s" % (r["id"], primary, attempts(r))
    assert attempts(r)[-1] == (fallback, 200), "request #%s: %s" % (r["id"], attempts(r))
assert attempts(mine[0]) == [(primary, 429), (fallback, 200)], "first request: %s" % attempts(mine[0])
' "$@"
}

# us_expect_stdout NAME TEXT: TEXT is in the client's stdout.
us_expect_stdout () {
  grep -q -F -- "$2" "$US_TMP/$1.stdout" || us_fail "$1's stdout lacks \"$2\""
}

# us_expect_absent SECRET FILE...: SECRET is in none of the files.
us_expect_absent () {
  local secret=$1 f
  shift
  for f in "$@"; do
    [ -f "$f" ] || continue
    grep -q -F -- "$secret" "$f" && us_fail "a secret (${secret:0:8}...) is in $(basename "$f")"
  done
  return 0
}

# us_pass: stops the proxy and checks it went cleanly: exit status 0 on
# SIGTERM and no sanitizer report (the ASan build runs these tests too).
us_pass () {
  local i rc
  kill -TERM "$US_UNDERSTUDY_PID" 2>/dev/null
  for i in $(seq 1 100); do
    kill -0 "$US_UNDERSTUDY_PID" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$US_UNDERSTUDY_PID" 2>/dev/null && us_fail "understudy did not stop within 10 s of SIGTERM"
  wait "$US_UNDERSTUDY_PID"
  rc=$?
  if grep -l -E 'Sanitizer|runtime error:' "$US_TMP/understudy.err" "$US_TMP/understudy-cmds.txt" 2>/dev/null; then
    us_fail "a sanitizer reported a problem in understudy"
  fi
  [ "$rc" = 0 ] || us_fail "understudy exited with status $rc on SIGTERM"
  us_note "PASS"
}

# ---- Failure --------------------------------------------------------------

_us_dump () {
  echo "--- $(basename "$1") (last ${2:-40} lines)"
  tail -n "${2:-40}" "$1"
}

# us_fail MESSAGE: prints what the clients, the proxy and the fakes saw, then fails.
us_fail () {
  local f
  echo "FAIL: $*"
  for f in $US_PIDS; do
    if ! kill -0 "$f" 2>/dev/null; then
      wait "$f"
      echo "--- ${US_PID_NAME[$f]} is no longer running: exit status $? (128+N: killed by signal N)"
    fi
  done
  for f in "$US_TMP"/*.stdout "$US_TMP"/*.stderr "$US_TMP"/understudy.out \
           "$US_TMP"/understudy-cmds.txt "$US_TMP"/*.err; do
    [ -s "$f" ] && _us_dump "$f" 60
  done
  echo "--- requests the proxy recorded"
  [ -n "${US_URL:-}" ] && us_print_requests
  for f in "$US_TMP"/*.log; do
    [ -f "$f" ] || continue
    echo "--- requests fake $(basename "$f" .log) received"
    python3 -c '
import json, sys
for line in open(sys.argv[1]):
    d = json.loads(line)
    s = d.get("summary") or {}
    print("  %s %s model=%s stream=%s -> %s items=%s tool_result=%s" % (d.get("method"), d.get("path"),
          d.get("model"), d.get("stream"), d.get("behavior"), s.get("items"), s.get("tool_result")))
' "$f"
  done
  exit 1
}

# ---- Connectors -----------------------------------------------------------

# us_connect connect|disconnect CLIENT: runs `understudy connect CLIENT`
# (or disconnect) on $US_CONFIG; skips when this build has no connectors.
us_connect () {
  us_understudy "$1" "$2"
  if [ "$US_RC" = 2 ] && ! grep -q "claude-code|codex|opencode" "$US_TMP/understudy-cmd.out"; then
    us_skip "understudy $1 is not implemented in this build"
  fi
  [ "$US_RC" = 0 ] || us_fail "understudy $1 $2 failed"
}

# us_count FAKE [CLIENT]: sets US_N_FAKE to the requests fake FAKE received
# and US_N_PROXY to those the proxy recorded (from CLIENT, or all).
us_count () {
  US_N_FAKE=$(us_fake_requests "$1")
  us_status >"$US_TMP/status.json" 2>"$US_TMP/status.err" || us_fail "no status from the proxy"
  US_N_PROXY=$(python3 -c '
import json, sys
requests = json.load(open(sys.argv[1]))["requests"]
print(len([r for r in requests if len(sys.argv) < 3 or r["client"] == sys.argv[2]]))
' "$US_TMP/status.json" "${@:2}") || us_fail "unreadable status"
}

# us_run_disconnected NAME CMD...: runs a client that should no longer reach
# the proxy. What it sends to the internet goes to a dead HTTP proxy port,
# so nothing leaves the machine and it fails fast; loopback stays direct
# (NO_PROXY), so a client still pointed at Understudy would be seen.
us_run_disconnected () {
  local name=$1
  shift
  US_CLIENT_TIMEOUT=30 us_run_client "$name" env HTTPS_PROXY=http://127.0.0.1:9 https_proxy=http://127.0.0.1:9 \
    HTTP_PROXY=http://127.0.0.1:9 http_proxy=http://127.0.0.1:9 "$@"
  us_note "(that $name fails or times out is expected: it has no way out)"
}
