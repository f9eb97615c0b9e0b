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
