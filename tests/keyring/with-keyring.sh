#!/bin/sh
# with-keyring.sh [--no-keyring] CMD [ARGS...]
#
# Runs CMD on a private D-Bus session bus (tests/keyring/session.conf: no
# service is started on demand) with a temporary HOME, and, unless
# --no-keyring, a real gnome-keyring-daemon whose login keyring is created
# and unlocked with a throwaway password. The real user's keyring and
# session are never touched; the daemon is stopped (by its pid) afterwards. Exit status: CMD's; 77 (skip) when
# dbus-run-session or gnome-keyring-daemon is missing.
set -eu

keyring=yes
if [ "${1:-}" = --no-keyring ]; then
  keyring=no
  shift
fi
command -v dbus-run-session >/dev/null || { echo "SKIP: no dbus-run-session"; exit 77; }
if [ $keyring = yes ]; then
  command -v gnome-keyring-daemon >/dev/null || { echo "SKIP: no gnome-keyring-daemon"; exit 77; }
fi

here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/us-keyring.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

export HOME="$tmp/home"
export XDG_CONFIG_HOME="$HOME/.config" XDG_DATA_HOME="$HOME/.local/share" XDG_CACHE_HOME="$HOME/.cache"
export XDG_RUNTIME_DIR="$tmp/run"
mkdir -p "$XDG_CONFIG_HOME" "$XDG_DATA_HOME" "$XDG_CACHE_HOME" "$XDG_RUNTIME_DIR"
chmod 700 "$XDG_RUNTIME_DIR"
unset DISPLAY WAYLAND_DISPLAY GNOME_KEYRING_CONTROL SSH_AUTH_SOCK
export US_KEYRING_MODE=$keyring

status=0
dbus-run-session --config-file="$here/session.conf" -- sh -c '
  daemon=
  if [ "$US_KEYRING_MODE" = yes ]; then
    eval "$(printf pw | gnome-keyring-daemon --unlock --components=secrets)"
    export GNOME_KEYRING_CONTROL
    daemon=$(gdbus call --session --dest org.freedesktop.DBus --object-path /org/freedesktop/DBus \
               --method org.freedesktop.DBus.GetConnectionUnixProcessID org.freedesktop.secrets |
             sed -n "s/^(uint32 \([0-9]*\),)$/\1/p")
  fi
  status=0
  "$@" || status=$?
  # A test may have stopped the daemon (SIGSTOP) and failed before resuming it.
  if [ -n "$daemon" ]; then
    kill -CONT "$daemon" 2>/dev/null
    kill -TERM "$daemon" 2>/dev/null
  fi
  exit $status
' sh "$@" || status=$?
exit $status
