#!/usr/bin/env bash
# scripts/terraform.sh: build a current Terraform CLI from the Go module proxy (once) and print its path.
#
#   tf=$(scripts/terraform.sh)         # build if needed, print the binary path on stdout
#   TF_ACC_TERRAFORM_PATH=$tf TF_ACC_PROVIDER_HOST=registry.terraform.io go test ./...
#
# The Terraform on PATH is 1.11.x on these machines, and no newer release can be downloaded.
# The module proxy does serve github.com/hashicorp/terraform at exact versions (go list -m
# -versions stops earlier), but `go install` refuses it (replace directives) and the module
# does not build as downloaded: go.mod replaces nine remote-state backends (azure, consul,
# cos, gcs, kubernetes, oss, pg, s3, oci) and internal/legacy with nested modules that the
# module zip leaves out. So the module is copied to a writable temp
# dir, those ten require/replace pairs are dropped from go.mod, and the nine backends are
# taken out of internal/backend/init/init.go, the one non-test file importing them (nothing
# imports internal/legacy). The result is Terraform without those state backends (local,
# remote, http, inmem and cloud remain); nothing else changes. The build takes minutes on
# 2 cores (about 3 with a Go build cache already warm from an OpenTofu build, several more
# when cold); the result is cached in the same tool cache as scripts/tool.sh and
# scripts/tofu.sh, outside the repository, under a versioned name, so CI runs on the same
# machine reuse it and a version bump rebuilds. Progress goes to stderr; only the path goes
# to stdout. Terraform is BUSL-1.1: fine for building and testing; nothing of it is committed.
set -euo pipefail

TERRAFORM_VERSION=${TERRAFORM_VERSION:-v1.16.4}
case "$TERRAFORM_VERSION" in v*) ;; *) TERRAFORM_VERSION="v$TERRAFORM_VERSION" ;; esac
cache=${CAPISCIO_TOOL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/capiscio-tools}
bin="$cache/bin"
versioned="$bin/terraform-$TERRAFORM_VERSION"
minor=${TERRAFORM_VERSION#v}
minor=${minor%.*}
link="$bin/terraform-$minor" # terraform-1.16; never plain "terraform", which would shadow the CLI on PATH

# The backends whose nested modules the module zip leaves out (directory names under
# internal/backend/remote-state/), plus internal/legacy, also a nested module.
backends=(azure consul cos gcs kubernetes oss pg s3 oci)
mod=github.com/hashicorp/terraform

log() { printf 'terraform.sh: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

# A cached binary counts only if it reports exactly this version (a "-dev" build would be
# rejected by `required_version`, and a half-copied file would not run at all).
# (An empty CLI config: the machine may name one that does not exist, and the CLI then
# prints a warning before the version line. No checkpoint call either.)
built_version() {
  TF_CLI_CONFIG_FILE=/dev/null CHECKPOINT_DISABLE=1 "$versioned" version 2>/dev/null | grep -m1 '^Terraform v'
}

# drop_backends FILE: delete the import and the registration of each backend in "backends"
# from internal/backend/init/init.go. Each import must appear exactly once and its alias
# must be used exactly once (the `return backendX.New()` line of the backends map); anything
# else means upstream changed the file, and the build stops here with a message rather than
# with a compile error that points nowhere.
drop_backends() {
  local file=$1 b line alias n
  [ -f "$file" ] || die "$file is missing: the layout of $mod@$TERRAFORM_VERSION changed; update scripts/terraform.sh"
  for b in "${backends[@]}"; do
    n=$(grep -cE "^[[:space:]]*[A-Za-z0-9_]+ \"$mod/internal/backend/remote-state/$b\"\$" "$file" || true)
    [ "$n" = 1 ] || die "$file: expected one aliased import of remote-state/$b, found $n; update scripts/terraform.sh"
    line=$(grep -E "^[[:space:]]*[A-Za-z0-9_]+ \"$mod/internal/backend/remote-state/$b\"\$" "$file")
    alias=$(awk '{print $1}' <<<"$line")
    n=$(grep -cE "return $alias\.New\(\)" "$file" || true)
    [ "$n" = 1 ] || die "$file: expected one registration 'return $alias.New()' of remote-state/$b, found $n; update scripts/terraform.sh"
    [ "$(grep -cw "$alias" "$file")" = 2 ] || die "$file: $alias is used outside its import and registration; update scripts/terraform.sh"
    sed -i -E -e "\#^[[:space:]]*$alias \"$mod/internal/backend/remote-state/$b\"\$#d" \
      -e "/return $alias\.New\(\)/d" "$file"
    ! grep -qw "$alias" "$file" || die "$file: could not remove $alias; update scripts/terraform.sh"
  done
  # What stays must still be there (local state, and the http backend as a sanity check).
  grep -q 'return backendLocal.New()' "$file" || die "$file: the local backend registration is gone; update scripts/terraform.sh"
  grep -q "\"$mod/internal/backend/remote-state/http\"" "$file" || die "$file: the http backend import is gone; update scripts/terraform.sh"
}

if [ ! -x "$versioned" ] || [ "$(built_version)" != "Terraform $TERRAFORM_VERSION" ]; then
  command -v jq >/dev/null || die "jq is needed (apt-get install jq)"
  mkdir -p "$bin"
  start=$(date +%s)
  log "building Terraform $TERRAFORM_VERSION into $versioned (minutes on 2 cores)"
  work=$(mktemp -d -t capiscio-terraform.XXXXXX)
  trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
  # Download outside any module so the repository's go.mod and go.sum are never touched.
  src=$(cd "$work" && GOFLAGS='' GOWORK=off go mod download -json "$mod@$TERRAFORM_VERSION" | jq -r '.Dir // empty')
  if [ -z "$src" ] || [ ! -d "$src" ]; then die "go mod download did not give a module directory for $mod@$TERRAFORM_VERSION"; fi
  cp -r "$src/." "$work/src"
  chmod -R u+w "$work/src"
  cd "$work/src"
  export GOFLAGS=-buildvcs=false GOWORK=off CGO_ENABLED=0

  # go.mod: drop the ten nested modules (require + replace). Check first that each is there,
  # so a changed upstream go.mod fails here, by name.
  for m in "${backends[@]/#/internal/backend/remote-state/}" internal/legacy; do
    grep -qE "^[[:space:]]*(require[[:space:]]+)?${mod}/${m}[[:space:]]" go.mod \
      || die "go.mod: no require of $mod/$m; update scripts/terraform.sh"
    grep -qE "^replace $mod/$m => \./$m\$" go.mod \
      || die "go.mod: no 'replace $mod/$m => ./$m'; update scripts/terraform.sh"
    [ ! -e "$m/go.mod" ] || die "$m/go.mod exists in the module zip: the workaround is not needed for $TERRAFORM_VERSION; update scripts/terraform.sh"
    go mod edit -droprequire="$mod/$m" -dropreplace="$mod/$m"
  done
  alt=$(IFS='|'; echo "${backends[*]}")
  ! grep -qE "$mod/internal/(backend/remote-state/($alt)|legacy)([[:space:]]|\$)" go.mod \
    || die "go.mod still names a dropped module; update scripts/terraform.sh"
  drop_backends internal/backend/init/init.go

  # Build to a temporary name (per process) and rename, so an interrupted build never leaves a
  # half-written binary that a later run would take for a finished one.
  # version.dev=no is what Terraform's release build sets (.github/scripts/get_product_version.sh):
  # without it the binary calls itself "1.16.4-dev", a prerelease that `required_version` rejects.
  go build -trimpath -ldflags "-s -w -X $mod/version.dev=no" -o "$versioned.tmp.$$" .
  mv -f "$versioned.tmp.$$" "$versioned"
  cd - >/dev/null
  log "built Terraform $TERRAFORM_VERSION in $(( $(date +%s) - start ))s"
fi
ln -sfn "$(basename "$versioned")" "$link"
[ "$(built_version)" = "Terraform $TERRAFORM_VERSION" ] || die "$versioned does not report Terraform $TERRAFORM_VERSION; delete it and retry"
echo "$versioned"
