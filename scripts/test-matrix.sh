#!/usr/bin/env bash
# make test-matrix: run the Go tests once per supported CLI.
#
#   terraform  the Terraform on PATH (1.11.x on these machines)
#   opentofu   OpenTofu built by scripts/tofu.sh (first run: about 8 minutes)
#
# terraform-plugin-testing picks the CLI from TF_ACC_TERRAFORM_PATH and the provider
# host from TF_ACC_PROVIDER_HOST (registry.opentofu.org for OpenTofu). The tests that run
# the provider binary and a CLI themselves (newCLIRun in internal/provider/hygiene_test.go)
# take the CLI from TF_ACC_TERRAFORM_PATH too, so both harnesses switch together.
#
# Environment:
#   MATRIX_CLIS       legs to run, in order (default: "terraform opentofu")
#   MATRIX_PACKAGES   packages to test (default: ./...)
#   GO_TEST_FLAGS     extra go test flags (default: -count=1 -timeout 30m)
# Every leg runs even when an earlier one fails; the exit status is non-zero if any failed.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
export GOFLAGS=${GOFLAGS:--buildvcs=false}

legs=${MATRIX_CLIS:-terraform opentofu}
read -r -a packages <<<"${MATRIX_PACKAGES:-./...}"
read -r -a flags <<<"${GO_TEST_FLAGS:--count=1 -timeout 30m}"

tmp=$(mktemp -d -t capiscio-matrix.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
# The machine may name a CLI config file that does not exist; give both CLIs a real one.
: >"$tmp/cli.rc"
export TF_CLI_CONFIG_FILE="$tmp/cli.rc" TF_IN_AUTOMATION=1
# Never let terraform-plugin-testing try to download a CLI.
unset TF_ACC_TERRAFORM_VERSION

summary=()
failed=0
for leg in $legs; do
  case "$leg" in
    terraform)
      cli=$(command -v terraform) || { echo "test-matrix: terraform is not on PATH" >&2; summary+=("terraform: NOT RUN (no terraform on PATH)"); failed=1; continue; }
      host=registry.terraform.io ;;
    opentofu|tofu)
      leg=opentofu
      cli=$(scripts/tofu.sh) || { summary+=("opentofu: NOT RUN (scripts/tofu.sh failed)"); failed=1; continue; }
      host=registry.opentofu.org ;;
    *) echo "test-matrix: unknown leg '$leg' (terraform, opentofu)" >&2; exit 2 ;;
  esac
  printf '\n==> %s: %s (%s)\n' "$leg" "$("$cli" version | head -n 1)" "$cli"
  start=$(date +%s)
  TF_ACC_TERRAFORM_PATH=$cli TF_ACC_PROVIDER_HOST=$host \
    go test "${flags[@]}" "${packages[@]}" 2>&1 | tee "$tmp/$leg.log"
  rc=${PIPESTATUS[0]}
  took=$(( $(date +%s) - start ))
  fails=$(grep -E '^\s*--- FAIL' "$tmp/$leg.log" | sed -E 's/^\s*--- FAIL: ([^ ]+).*/\1/' | tr '\n' ' ')
  if [ "$rc" -eq 0 ]; then
    summary+=("$leg: ok (${took}s)")
  else
    failed=1
    summary+=("$leg: FAIL (${took}s) ${fails:-(see output above)}")
  fi
done

printf '\n==> test matrix\n'
printf '  %s\n' "${summary[@]}"
exit "$failed"
