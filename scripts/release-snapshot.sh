#!/usr/bin/env bash
# make release-snapshot: check the release configuration without publishing anything.
#
#  1. `goreleaser check` on .goreleaser.yml. goreleaser wants a git repository with a
#     remote, so this runs in a throwaway clone with a fake `origin` (never in your
#     checkout), using the working tree's .goreleaser.yml.
#  2. `goreleaser build --snapshot --clean --single-target` here (output in ./dist,
#     which is git-ignored), building the provider for this machine with the release
#     flags (CGO off, -trimpath, -s -w, -X main.version).
#  3. Runs the produced binary directly: a provider started outside Terraform must
#     print go-plugin's "This binary is a plugin..." message and exit 1. That proves it
#     links, starts and reaches providerserver.Serve; then the manifest is checked.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
tool=$root/scripts/tool.sh

log() { printf '\n==> %s\n' "$*"; }

tmp=$(mktemp -d -t capiscio-release.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

log "goreleaser check (throwaway clone with a fake remote)"
git clone -q --no-hardlinks "$root" "$tmp/clone"
cp .goreleaser.yml terraform-registry-manifest.json "$tmp/clone/"
git -C "$tmp/clone" remote set-url origin https://github.com/capiscio/terraform-provider-capiscio.git
(cd "$tmp/clone" && "$tool" goreleaser check)

log "goreleaser build --snapshot --clean --single-target"
start=$(date +%s)
"$tool" goreleaser build --snapshot --clean --single-target
echo "snapshot build took $(( $(date +%s) - start ))s"

# dist/artifacts.json lists what was built; take the one binary.
bin=$(jq -r '[.[] | select(.type == "Binary")][0].path' dist/artifacts.json)
if [ -z "$bin" ] || [ "$bin" = null ] || [ ! -x "$bin" ]; then
  echo "release-snapshot: no binary in dist/artifacts.json" >&2; exit 1
fi
echo "binary: $bin ($(du -h "$bin" | cut -f1))"

log "the binary starts and refuses to run outside Terraform"
set +e
out=$(env -u TF_PLUGIN_MAGIC_COOKIE "$bin" 2>&1 </dev/null)
rc=$?
set -e
printf '    %s\n' "${out//$'\n'/$'\n'    }"
if [ "$rc" -ne 1 ] || ! grep -q 'This binary is a plugin' <<<"$out"; then
  echo "release-snapshot: expected go-plugin's 'This binary is a plugin' message and exit status 1, got status $rc" >&2
  exit 1
fi
case "$(basename "$bin")" in
  terraform-provider-capiscio_v*) ;;
  *) echo "release-snapshot: binary name $(basename "$bin") does not match terraform-provider-capiscio_v<version>" >&2; exit 1 ;;
esac
jq -e '.version == 1 and .metadata.protocol_versions == ["6.0"]' terraform-registry-manifest.json >/dev/null \
  || { echo "release-snapshot: terraform-registry-manifest.json must declare protocol_versions [\"6.0\"]" >&2; exit 1; }
echo "ok: $(basename "$bin") prints the plugin handshake message; manifest declares protocol 6.0"
