# lib.sh: what the keyring scripts share. Source it after `set -u`, with
# WORK_PREFIX naming the scratch directory; background processes whose ids
# are added to $pids are stopped on exit, and the directory removed.

fail () { echo "FAIL: $*"; exit 1; }
note () { echo "# $*"; }

work=$(mktemp -d "${TMPDIR:-/tmp}/${WORK_PREFIX:-us-keyring}.XXXXXX")
pids=
cleanup () {
  local pid
  for pid in $pids; do kill -TERM "$pid" 2>/dev/null; done
  for pid in $pids; do wait "$pid" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT

# 24 random hex digits, for keys and tokens no other run shares.
rand () { od -An -N12 -tx1 /dev/urandom | tr -d ' \n'; }
# A loopback port that was free a moment ago.
free_port () { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# wait_for FILE PATTERN: up to 10 s.
wait_for () {
  local i
  for i in $(seq 1 100); do
    grep -q -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}
