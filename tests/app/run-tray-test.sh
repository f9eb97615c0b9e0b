#!/bin/sh
# Runs the tray test ($1) on a private session bus; the test starts the real
# status-notifier-watcher and dbusmenu-dumper on it itself.
set -eu
for tool in dbus-run-session /usr/bin/status-notifier-watcher /usr/libexec/dbusmenu-dumper; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "$tool is missing: run tools/deps --test" >&2
    exit 77
  fi
done
exec dbus-run-session -- "$@"
