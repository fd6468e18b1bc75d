#!/usr/bin/env bash
# scripts/tofu.sh: build the OpenTofu CLI from the Go module proxy (once) and print its path.
#
#   tofu=$(scripts/tofu.sh)            # build if needed, print the binary path on stdout
#   TF_ACC_TERRAFORM_PATH=$tofu TF_ACC_PROVIDER_HOST=registry.opentofu.org go test ./...
#
# `go install github.com/opentofu/opentofu/cmd/tofu@vX` is refused (the module has replace
# directives), so the module is downloaded from the proxy, copied to a writable temp dir and
# built there. The build takes about 8 minutes on 2 cores; the
# result is cached in the same tool cache as scripts/tool.sh, outside the repository, under a
# versioned name, so CI runs on the same machine reuse it and a version bump rebuilds.
# Progress goes to stderr; only the path goes to stdout.
set -euo pipefail

TOFU_VERSION=${TOFU_VERSION:-v1.12.6}
cache=${CAPISCIO_TOOL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/capiscio-tools}
bin="$cache/bin"
versioned="$bin/tofu-$TOFU_VERSION"
link="$bin/tofu"

log() { printf 'tofu.sh: %s\n' "$*" >&2; }

# A cached binary counts only if it reports exactly this version (an older build of this
# script made "-dev" binaries, and a half-copied file would not run at all).
# (An empty CLI config: the machine may name one that does not exist, and the CLI then
# prints a warning before the version line.)
built_version() { TF_CLI_CONFIG_FILE=/dev/null "$versioned" version 2>/dev/null | grep -m1 '^OpenTofu v'; }
if [ ! -x "$versioned" ] || [ "$(built_version)" != "OpenTofu $TOFU_VERSION" ]; then
  command -v jq >/dev/null || { log "jq is needed (apt-get install jq)"; exit 1; }
  mkdir -p "$bin"
  start=$(date +%s)
  log "building OpenTofu $TOFU_VERSION into $versioned (about 8 min on 2 cores)"
  work=$(mktemp -d -t capiscio-tofu.XXXXXX)
  trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
  # Download outside any module so the repository's go.mod and go.sum are never touched.
  src=$(cd "$work" && GOFLAGS='' go mod download -json "github.com/opentofu/opentofu@$TOFU_VERSION" | jq -r .Dir)
  [ -d "$src" ] || { log "go mod download did not give a module directory for opentofu@$TOFU_VERSION"; exit 1; }
  cp -r "$src/." "$work/src"
  chmod -R u+w "$work/src"
  # Build to a temporary name and rename, so an interrupted build never leaves a
  # half-written binary that a later run would take for a finished one.
  # version.dev=no is what OpenTofu's own .goreleaser.yaml sets: without it the binary
  # calls itself "v1.12.6-dev", a prerelease that `required_version = ">= 1.11"` rejects.
  (cd "$work/src" && GOFLAGS=-buildvcs=false CGO_ENABLED=0 \
    go build -trimpath -ldflags "-s -w -X github.com/opentofu/opentofu/version.dev=no" -o "$versioned.tmp" ./cmd/tofu)
  mv -f "$versioned.tmp" "$versioned"
  log "built OpenTofu $TOFU_VERSION in $(( $(date +%s) - start ))s"
fi
ln -sfn "$(basename "$versioned")" "$link"
[ "$(built_version)" = "OpenTofu $TOFU_VERSION" ] || { log "$versioned does not report OpenTofu $TOFU_VERSION; delete it and retry"; exit 1; }
echo "$versioned"
