#!/usr/bin/env bash
# scripts/tool.sh: run a pinned developer tool, installing it on first use.
#
#   scripts/tool.sh golangci-lint run ./...
#   scripts/tool.sh goreleaser build --snapshot --clean --single-target
#   scripts/tool.sh --path golangci-lint     # install if needed, print the binary path
#   scripts/tool.sh --install-all            # warm the cache (CI, before going offline)
#
# Tools are built with `go install` from the Go module proxy into a cache outside the
# repository (${CAPISCIO_TOOL_CACHE:-$HOME/.cache/capiscio-tools}/bin), so every checkout and
# every CI run on the same machine shares them. Each binary's name carries the tool version
# and the Go minor version it was built with (golangci-lint refuses to lint code whose go
# directive is newer than its own Go), so changing a pin or upgrading Go installs afresh.
# Installing is serialised with flock, so parallel runs do not build the same tool twice.
# Messages go to stderr; the tool's own output is untouched.
set -euo pipefail

# name -> "go install" package path and version. Change a pin here and nowhere else.
tool_pkg() {
  case "$1" in
    golangci-lint) echo "github.com/golangci/golangci-lint/v2/cmd/golangci-lint v2.15.0" ;;
    goreleaser)    echo "github.com/goreleaser/goreleaser/v2 v2.15.1" ;; # only v2.15.1 builds with Go 1.26 here
    *) return 1 ;;
  esac
}
all_tools="golangci-lint goreleaser"

cache=${CAPISCIO_TOOL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/capiscio-tools}
bin="$cache/bin"

log() { printf 'tool.sh: %s\n' "$*" >&2; }

# ensure NAME: print the path of the installed, versioned binary, installing it if missing.
ensure() {
  local name=$1 spec pkg version gominor path start tmp built
  spec=$(tool_pkg "$name") || { log "unknown tool '$name' (known: $all_tools)"; return 2; }
  read -r pkg version <<<"$spec"
  gominor=$(go env GOVERSION | sed -E 's/^(go[0-9]+\.[0-9]+).*/\1/')
  path="$bin/$name-$version-$gominor"
  if [ ! -x "$path" ]; then
    mkdir -p "$bin"
    exec 9>"$bin/.$name.lock"
    flock 9
    if [ ! -x "$path" ]; then # another run may have installed it while we waited
      start=$(date +%s)
      log "installing $name $version ($pkg@$version, $gominor) into $bin"
      tmp=$(mktemp -d "$bin/.install.XXXXXX")
      # Run outside the repository: `go install pkg@version` ignores the current module,
      # but this also keeps the repository's GOFLAGS (-mod=..., vendor) out of the way.
      if ! (cd "$tmp" && GOFLAGS=-buildvcs=false GOBIN="$tmp" CGO_ENABLED=0 go install "$pkg@$version"); then
        rm -rf "$tmp"; log "installing $name $version failed"; return 1
      fi
      # GOBIN was empty, so the one file in it is the tool (named after the package, minus /vN).
      built=("$tmp"/*)
      if [ "${#built[@]}" -ne 1 ] || [ ! -x "${built[0]}" ]; then
        rm -rf "$tmp"; log "unexpected install output for $name: ${built[*]}"; return 1
      fi
      mv -f "${built[0]}" "$path"
      rm -rf "$tmp"
      log "installed $name $version in $(( $(date +%s) - start ))s ($(du -h "$path" | cut -f1))"
    fi
    flock -u 9
    exec 9>&-
  fi
  # A stable name too, for people who put $bin on PATH.
  ln -sfn "$(basename "$path")" "$bin/$name"
  echo "$path"
}

case "${1:-}" in
  ""|-h|--help)
    sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2 ;;
  --path)
    ensure "${2:?usage: tool.sh --path NAME}" ;;
  --install-all)
    for t in $all_tools; do ensure "$t" >/dev/null; done ;;
  *)
    name=$1; shift
    path=$(ensure "$name")
    exec "$path" "$@" ;;
esac
