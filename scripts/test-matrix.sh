#!/usr/bin/env bash
# make test-matrix: run the Go tests once per supported CLI.
#
#   terraform       the Terraform on PATH (1.11.x on these machines)
#   terraform-1.16  Terraform 1.16 built by scripts/terraform.sh (first run: a few minutes)
#   opentofu        OpenTofu built by scripts/tofu.sh (first run: about 8 minutes)
#
# terraform-plugin-testing picks the CLI from TF_ACC_TERRAFORM_PATH and the provider
# host from TF_ACC_PROVIDER_HOST (registry.terraform.io for both Terraform legs,
# registry.opentofu.org for OpenTofu). The tests that run the provider binary and a CLI
# themselves (newCLIRun in internal/provider/hygiene_test.go) take the CLI from
# TF_ACC_TERRAFORM_PATH too, so both harnesses switch together.
#
# Each leg runs `go test -json`. The terminal shows what plain `go test` would (package
# results and the output of failing tests; everything with -v in GO_TEST_FLAGS). The log
# directory keeps the events (<leg>.json, written as they come) and the full transcript
# (<leg>.log, -v style, written when the leg ends). The summary at the end gives, per leg,
# the CLI version, the time taken and the passed, skipped and failed counts over top-level
# tests and subtests alike (a parent with a failed subtest counts as failed too).
#
# Environment:
#   MATRIX_CLIS       legs to run, in order (default: "terraform terraform-1.16 opentofu")
#   MATRIX_PACKAGES   packages to test (default: ./...)
#   GO_TEST_FLAGS     extra go test flags (default: -count=1 -timeout 30m)
#   MATRIX_LOG_DIR    where the logs go (default: a new capiscio-matrix.* folder in TMPDIR)
#   TERRAFORM_VERSION, TOFU_VERSION  passed on to scripts/terraform.sh and scripts/tofu.sh
# Every leg runs even when an earlier one fails; the exit status is non-zero if any failed.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
export GOFLAGS=${GOFLAGS:--buildvcs=false}

command -v jq >/dev/null || { echo "test-matrix: jq is needed (apt-get install jq)" >&2; exit 2; }

legs=${MATRIX_CLIS:-terraform terraform-1.16 opentofu}
read -r -a packages <<<"${MATRIX_PACKAGES:-./...}"
read -r -a flags <<<"${GO_TEST_FLAGS:--count=1 -timeout 30m}"
verbose=false
for f in "${flags[@]}"; do case "$f" in -v|-v=true|-test.v|-test.v=true) verbose=true ;; esac; done

for leg in $legs; do
  case "$leg" in
    terraform|terraform-1.16|opentofu|tofu) ;;
    *) echo "test-matrix: unknown leg '$leg' (terraform, terraform-1.16, opentofu)" >&2; exit 2 ;;
  esac
done

logdir=${MATRIX_LOG_DIR:-$(mktemp -d -t capiscio-matrix.XXXXXX)}
mkdir -p "$logdir" || exit 1
tmp=$(mktemp -d -t capiscio-matrix-cfg.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
# The machine may name a CLI config file that does not exist; give every CLI a real one.
: >"$tmp/cli.rc"
export TF_CLI_CONFIG_FILE="$tmp/cli.rc" TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1
# Never let terraform-plugin-testing try to download a CLI.
unset TF_ACC_TERRAFORM_VERSION

# human: turn `go test -json` (on stdin) back into text. Lines that are not test2json
# events (go command errors) pass through. Without -v, the output of a test is held until
# the test ends and printed only if it failed, as plain `go test` does; package-level lines
# ("ok", "FAIL", build errors) always print, but for the bare "PASS" that plain go test hides.
human() {
  jq -nRrj --unbuffered --argjson verbose "$1" '
    foreach ((inputs | . as $l | (try fromjson catch null) as $e
              | if ($e | type) == "object" and ($e | has("Action")) then $e else {raw: $l} end),
             {end: true}) as $e
      ({buf: {}, out: null};
       .out = null
       | if $e.end then .out = ([.buf[]] | add)
         elif $e.raw != null then .out = $e.raw + "\n"
         elif $e.Action == "build-output" then .out = $e.Output
         elif $e.Action == "output" then
           if $verbose then .out = $e.Output
           elif $e.Test == null then (if $e.Output == "PASS\n" then . else .out = $e.Output end)
           else .buf[$e.Package + " " + $e.Test] += $e.Output end
         elif $e.Test == null then .
         elif $e.Action == "fail" then
           .out = .buf[$e.Package + " " + $e.Test] | del(.buf[$e.Package + " " + $e.Test])
         elif $e.Action == "pass" or $e.Action == "skip" then del(.buf[$e.Package + " " + $e.Test])
         else . end;
       .out // empty)'
}

# counts FILE: "passed skipped failed" over every test and subtest that ended in FILE.
counts() {
  jq -nrR '[inputs | fromjson? | select(type == "object" and .Test != null) | .Action]
           | "\(map(select(. == "pass")) | length) \(map(select(. == "skip")) | length) \(map(select(. == "fail")) | length)"' "$1"
}

# failed_names FILE: the failed tests (leaves only: a parent fails with its subtest), then
# the packages that failed with no failed test (build errors, TestMain, a timeout panic).
failed_names() {
  jq -nrR '[inputs | fromjson? | select(type == "object" and .Action == "fail")] as $ev
           | [$ev[] | select(.Test != null) | .Test] as $f
           | [$ev[] | select(.Test != null) | .Package] as $fp
           | [$f[] | select(. as $t | $f | any(startswith($t + "/")) | not)] | unique
           + [$ev[] | select(.Test == null and (.Package as $p | $fp | index([$p]) | not))
              | if .FailedBuild then "\(.Package)[build]" else "\(.Package)[package]" end]
           | join(" ")' "$1"
}

dur() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }

rows=()
failed=0
for leg in $legs; do
  case "$leg" in
    terraform)
      cli=$(command -v terraform) || { echo "test-matrix: terraform is not on PATH" >&2; rows+=("$leg|-|NOT RUN|-|-|-|-|no terraform on PATH"); failed=1; continue; }
      host=registry.terraform.io ;;
    terraform-1.16)
      cli=$(scripts/terraform.sh) || { rows+=("$leg|-|NOT RUN|-|-|-|-|scripts/terraform.sh failed"); failed=1; continue; }
      host=registry.terraform.io ;;
    opentofu|tofu)
      leg=opentofu
      cli=$(scripts/tofu.sh) || { rows+=("$leg|-|NOT RUN|-|-|-|-|scripts/tofu.sh failed"); failed=1; continue; }
      host=registry.opentofu.org ;;
  esac
  version=$("$cli" version 2>/dev/null | head -n 1)
  printf '\n==> %s: %s (%s)\n' "$leg" "$version" "$cli"
  start=$(date +%s)
  # go test's own stderr (build and flag errors) joins the stream; human() passes it on.
  TF_ACC_TERRAFORM_PATH=$cli TF_ACC_PROVIDER_HOST=$host \
    go test -json "${flags[@]}" "${packages[@]}" 2>&1 | tee "$logdir/$leg.json" | human "$verbose"
  rc=${PIPESTATUS[0]}
  { printf '==> %s: %s (%s)\n' "$leg" "$version" "$cli"; human true <"$logdir/$leg.json"; } >"$logdir/$leg.log"
  took=$(( $(date +%s) - start ))
  read -r passed skipped nfailed < <(counts "$logdir/$leg.json")
  if [ "$rc" -eq 0 ]; then
    status=ok; notes=-
  else
    failed=1; status=FAIL
    notes=$(failed_names "$logdir/$leg.json")
    notes=${notes:-"go test exit $rc (see $logdir/$leg.log)"}
  fi
  rows+=("$leg|$version|$status|$(dur "$took")|$passed|$skipped|$nfailed|$notes")
done

printf '\n==> test matrix (logs in %s)\n' "$logdir"
{
  echo "leg|CLI|result|time|passed|skipped|failed|failed tests"
  printf '%s\n' "${rows[@]}"
} | column -t -s '|' | sed 's/^/  /'
exit "$failed"
