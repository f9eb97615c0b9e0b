#!/usr/bin/env bash
# bench/soak.sh: the fault-injection soak (tests/test-soak.c) run long.
# The same test `meson test soak` runs for three rounds, here for as long
# as asked, on loopback only. See bench/README.md.
#
#   bench/soak.sh                          # 10 minutes, 8 clients per fault
#   SECONDS_=3600 WIDTH=16 bench/soak.sh   # an hour, wider rounds
#   ROUNDS=200 bench/soak.sh               # a count of rounds instead of a time
#   RSS_SLACK_KIB=8192 bench/soak.sh       # allowed growth of memory in use
#
# Builds build/ (a plain build, as `meson test` uses) if needed, then runs
# the soak; prints the outcome of every fault and the descriptor and
# memory figures. Exit status: the test's.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
ROUNDS=${ROUNDS:-0}
SECONDS_=${SECONDS_:-600}
WIDTH=${WIDTH:-8}
RSS_SLACK_KIB=${RSS_SLACK_KIB:-4096}
WORK=$(mktemp -d /tmp/understudy-soak.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

[ -d "$BUILD" ] || meson setup "$BUILD" "$ROOT" >/dev/null
ninja -C "$BUILD" tests/test-soak >/dev/null

echo "soak: ${ROUNDS} rounds (0 = until time), ${SECONDS_} s, ${WIDTH} clients per fault" >&2
# The proxy keeps provenance.json and spend.json in $XDG_STATE_HOME.
XDG_STATE_HOME="$WORK/state" US_SOAK_ROUNDS="$ROUNDS" US_SOAK_SECONDS="$SECONDS_" US_SOAK_WIDTH="$WIDTH" \
  US_SOAK_RSS_SLACK_KIB="$RSS_SLACK_KIB" "$BUILD/tests/test-soak" 2>&1 |
  grep -E '^# [0-9a-z]|^(ok|not ok|Bail)' | grep -v '^# random seed' | sed 's/^# //'
exit "${PIPESTATUS[0]}"
