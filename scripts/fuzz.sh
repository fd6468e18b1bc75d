#!/usr/bin/env bash
# make fuzz: run every Go fuzz target in the module for FUZZTIME each (default 60s).
# Crashers are written by go test under the package's testdata/fuzz/<Target>/;
# commit those that found bugs.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${1:-${FUZZTIME:-60s}}
failed=0
for pkg in $(go list ./...); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do
    echo "== $pkg $target ($fuzztime)"
    if ! go test "$pkg" -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime"; then
      echo "FAIL: $pkg $target" >&2
      failed=1
    fi
  done
done
exit $failed
