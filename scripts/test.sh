#!/usr/bin/env bash
# make test: go test -count=1 -race -timeout $TEST_TIMEOUT ./...  (exactly that command, and its
# exit status), with signs of life. A first run compiles every package and its dependencies with
# the race detector before go test prints its first line, which takes minutes on 2 cores; this
# script says so before it starts, and prints a heartbeat every TEST_HEARTBEAT seconds (default
# 30) while go test prints nothing. go test's output (stdout and stderr) is passed through line
# by line on stdout; the script's own lines go to stderr.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

timeout=${TEST_TIMEOUT:-30m}
interval=${TEST_HEARTBEAT:-30}

say() { printf 'make test: %s\n' "$*" >&2; }

packages=$(go list -deps -test ./... 2>/dev/null | wc -l | tr -d ' ')
say "compiling with -race; a first run compiles ~${packages} packages and takes several minutes (a cached one starts in seconds)"

# bash 3 (macOS's /bin/bash) cannot tell a read timeout from the end of input: no heartbeat.
if [ "${BASH_VERSINFO[0]}" -lt 4 ]; then
  exec go test -count=1 -race -timeout "$timeout" ./...
fi

# Copies go test's output through; when no line has come for $interval seconds, says so.
passthrough() {
  local line rc
  while :; do
    line=""
    IFS= read -r -t "$interval" line
    rc=$?
    if [ "$rc" -eq 0 ]; then
      printf '%s\n' "$line"
    elif [ "$rc" -gt 128 ]; then # timed out; a partial line is kept, and the rest follows
      printf '%s' "$line"
      say "still running after $((SECONDS / 60))m$((SECONDS % 60))s (compiling or testing; nothing printed for ${interval}s)"
    else # end of input
      printf '%s' "$line"
      return 0
    fi
  done
}

SECONDS=0
go test -count=1 -race -timeout "$timeout" ./... 2>&1 | passthrough
exit "${PIPESTATUS[0]}"
