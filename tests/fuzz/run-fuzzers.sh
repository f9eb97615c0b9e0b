#!/bin/sh
# Runs every fuzz target of a -Dfuzz=true build for SECONDS each, starting
# from the seed corpora here; new inputs go to a scratch copy, crashes to
# DIR/fuzz-artifacts/. Exit status: non-zero if any target failed.
#   tests/fuzz/run-fuzzers.sh BUILD_DIR SECONDS
set -u

if [ $# -ne 2 ]; then
  echo "usage: $0 BUILD_DIR SECONDS" >&2
  exit 2
fi
build=$1
seconds=$2
here=$(cd "$(dirname "$0")" && pwd)
work="$build/fuzz-work"
artifacts="$build/fuzz-artifacts"
mkdir -p "$work" "$artifacts"
status=0

for target in "$build"/tests/fuzz/fuzz-*; do
  [ -f "$target" ] && [ -x "$target" ] || continue
  name=$(basename "$target")
  seeds="$here/corpus/${name#fuzz-}"
  mkdir -p "$work/$name"
  echo "== $name (${seconds}s)"
  # Slices through malloc, or leak checking cannot see them.
  if ! G_SLICE=always-malloc ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
      "$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$artifacts/$name-" "$work/$name" "$seeds" 2>"$work/$name.log"; then
    echo "!! $name failed, see $work/$name.log and $artifacts/"
    # Fast unwinding stops at GLib's frames: replay slowly for a full stack.
    for artifact in "$artifacts/$name"-*; do
      [ -f "$artifact" ] || continue
      G_SLICE=always-malloc ASAN_OPTIONS=detect_leaks=1:fast_unwind_on_malloc=0 \
        "$target" -runs=1 "$artifact" 2>&1 | grep -E 'ERROR|SUMMARY|#[0-9]+ .*(src/core|tests/fuzz)' | head -n 30
    done
    status=1
  else
    grep -E '^stat::number_of_executed_units|cov:' "$work/$name.log" | tail -n 2
  fi
done
exit $status
