#!/usr/bin/env bash
# make demo: build the provider and the local registry, start the registry on a
# free loopback port with a temporary data dir, then terraform init + apply
# examples/quickstart with a CLI config that needs no download, show the
# identity, destroy it and stop the registry.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
version=${VERSION:-0.2.0}

command -v terraform >/dev/null || { echo "demo: terraform is not on PATH (Terraform >= 1.11 or OpenTofu >= 1.11 is needed)" >&2; exit 1; }
[ -x bin/terraform-provider-capiscio ] && [ -x bin/capiscio-registry ] || make build

work=$(mktemp -d -t capiscio-demo.XXXXXX)
registry_pid=""
cleanup() {
  if [ -n "$registry_pid" ]; then kill "$registry_pid" 2>/dev/null || true; wait "$registry_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "Starting the local CapiscIO registry (data in $work/registry)"
api_key="sk_test_demo_$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
bin/capiscio-registry serve --listen 127.0.0.1:0 --data "$work/registry" \
  --dev-api-key "$api_key" --ready-file "$work/registry.url" >"$work/registry.log" 2>&1 &
registry_pid=$!
for _ in $(seq 1 100); do [ -s "$work/registry.url" ] && break; sleep 0.1; done
[ -s "$work/registry.url" ] || { echo "demo: the registry did not start:" >&2; cat "$work/registry.log" >&2; exit 1; }
registry_url=$(cat "$work/registry.url")
echo "registry: $registry_url"

step "Writing a Terraform CLI config that installs the provider from a local mirror"
mirror="$work/mirror/registry.terraform.io/capiscio/capiscio/$version/$(go env GOOS)_$(go env GOARCH)"
mkdir -p "$mirror"
cp bin/terraform-provider-capiscio "$mirror/terraform-provider-capiscio_v$version"
cat >"$work/terraformrc" <<RC
provider_installation {
  filesystem_mirror {
    path    = "$work/mirror"
    include = ["registry.terraform.io/capiscio/*"]
  }
  direct {
    exclude = ["registry.terraform.io/capiscio/*"]
  }
}
RC
export TF_CLI_CONFIG_FILE="$work/terraformrc"
export TF_IN_AUTOMATION=1 TF_INPUT=0
export CAPISCIO_REGISTRY_URL="$registry_url" CAPISCIO_API_KEY="$api_key"

cp -r examples/quickstart "$work/quickstart"
cd "$work/quickstart"

step "terraform init"
terraform init -no-color >/dev/null
echo "initialised; provider capiscio/capiscio $version from the local mirror"

step "terraform apply examples/quickstart"
terraform apply -auto-approve -no-color

step "The identity"
printf '  %-18s %s\n' \
  "server id"        "$(terraform output -raw server_id)" \
  "DID (did:web)"    "$(terraform output -raw did)" \
  "did:key"          "$(terraform output -raw did_key)" \
  "key id (RFC 7638)" "$(terraform output -raw key_id)" \
  "badge expires"    "$(terraform output -raw badge_expires_at)"
echo
echo "  DID document:    $(curl -fsS "$registry_url/servers/$(terraform output -raw server_id)/did.json" >/dev/null && echo "$registry_url/servers/$(terraform output -raw server_id)/did.json (served)")"
echo "  The private key is a sensitive output. To put it in a secret store or .env:"
echo "    terraform output -json env                  # the runtime's environment, the key on one line included"
echo "    terraform output -raw private_key_pem       # PKCS#8 PEM"
pem_lines=$(terraform output -raw private_key_pem | grep -c . || true)
echo "  (checked here: private_key_pem has $pem_lines lines and matches public_key_pem: $(
  diff <(terraform output -raw private_key_pem | openssl pkey -pubout 2>/dev/null) <(terraform output -raw public_key_pem) >/dev/null && echo yes || echo NO))"

step "terraform destroy"
terraform destroy -auto-approve -no-color | tail -n 3

step "Stopping the registry"
cd "$root"
kill "$registry_pid"; wait "$registry_pid" 2>/dev/null || true; registry_pid=""
echo "demo finished: the identity was created, shown and destroyed; temporary files removed."
