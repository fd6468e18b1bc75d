#!/usr/bin/env bash
# scripts/bench/run.sh (make bench-tf): end-to-end Terraform benchmark of capiscio_server_identity
# against two floors measured in the same run:
#   terraform_data  Terraform's own floor (built-in, no plugin)
#   time_static     the floor for any plugin provider (hashicorp/time v0.14.2)
# For each N in BENCH_N and each kind (count = N): terraform apply, a no-change terraform plan
# (-detailed-exitcode must be 0) and terraform destroy, each timed by wall clock. Also counts the
# local registry's requests per step (GET /debug/stats before/after), the state bytes per
# resource, the providers' peak RSS and plugin launches per step (each provider binary in the
# filesystem mirror is a wrapper that runs the real binary under /usr/bin/time), and the
# providers' start-up time (exec to go-plugin handshake line, interleaved, median).
#
# Environment:
#   BENCH_N="10:3 100:3 1000" resource counts, each optionally :REPEATS
#   BENCH_REPEATS=1         repeats per (N, kind) where BENCH_N gives none; the table shows medians
#   BENCH_PARALLELISM=10    terraform -parallelism
#   BENCH_STARTUP_REPEATS=20
#   BENCH_CGO_ENABLED=0     how make build builds the provider (0 = as released by goreleaser)
#   BENCH_KINDS="terraform_data time_static capiscio_server_identity capiscio_no_badge"
#                           capiscio_no_badge: the same identities with issue_badge = false (the
#                           badge is the largest attribute in state; this shows what it costs)
#   BENCH_TLS_PROVIDER=PATH a terraform-provider-tls binary you built yourself: adds the kind
#                           tls_private_key (ED25519), the cost of a provider that only makes a key
#   BENCH_TLS_VERSION=4.2.1 the version the mirror files that binary under
#   BENCH_OUT=./bench-results   bench-results.md, raw TSVs, logs/ (gitignored)
#   BENCH_WRAP=1            0 puts the real binaries in the mirror (no peak RSS / launch counts)
#   BENCH_KEEP=0            1 keeps the temporary work dir (configs, state, mirror)
#   CAPISCIO_TOOL_CACHE     where terraform-provider-time is installed (default ~/.cache/capiscio-tools)
# Run one benchmark at a time: the numbers are only comparable within one run.
set -euo pipefail
caller=$(pwd)
cd "$(dirname "$0")/../.."
root=$(pwd)

ns=${BENCH_N:-10:3 100:3 1000}
repeats=${BENCH_REPEATS:-1}
parallelism=${BENCH_PARALLELISM:-10}
startup_repeats=${BENCH_STARTUP_REPEATS:-20}
tls_bin=${BENCH_TLS_PROVIDER:-}
tls_version=${BENCH_TLS_VERSION:-4.2.1}
default_kinds="terraform_data time_static capiscio_server_identity capiscio_no_badge"
[ -n "$tls_bin" ] && default_kinds="$default_kinds tls_private_key"
kinds=${BENCH_KINDS:-$default_kinds}
out=${BENCH_OUT:-$root/bench-results}
case "$out" in /*) ;; *) out=$caller/$out ;; esac # relative to where it was started
version=${VERSION:-0.1.0}
time_version=0.14.2
cache=${CAPISCIO_TOOL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/capiscio-tools}
os_arch="$(go env GOOS)_$(go env GOARCH)"

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
for c in terraform go jq curl python3 /usr/bin/time flock; do command -v "$c" >/dev/null || die "$c is needed"; done
# Resolve python3 once: version-manager shims (pyenv) cost seconds per call on a loaded machine.
py=$(python3 -c 'import sys; print(sys.executable)')

mkdir -p "$out/logs"
out=$(cd "$out" && pwd)
rm -f "$out"/logs/*.log "$out"/steps.tsv "$out"/routes.tsv "$out"/startup.tsv "$out"/state-attributes.tsv "$out"/bench-results.md

# ---------------------------------------------------------------- build and install
# CGO_ENABLED=0 as in .goreleaser.yml, so the numbers are those of the released binary (and of
# hashicorp/time's, also a static build). A cgo build is dynamically linked: its start-up pays
# for ld.so and libc (+3-4 ms, about 1.15x time's here). BENCH_CGO_ENABLED=1 measures that.
log "make build (CGO_ENABLED=${BENCH_CGO_ENABLED:-0})"
built_commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- 2>/dev/null || echo '+dirty')
CGO_ENABLED=${BENCH_CGO_ENABLED:-0} make -s build >&2
provider_bin=$root/bin/terraform-provider-capiscio
registry_bin=$root/bin/capiscio-registry

gominor=$(go env GOVERSION | sed -E 's/^(go[0-9]+\.[0-9]+).*/\1/')
time_bin="$cache/bin/terraform-provider-time-v$time_version-$gominor"
if [ ! -x "$time_bin" ]; then
  mkdir -p "$cache/bin"
  exec 9>"$cache/bin/.terraform-provider-time.lock"
  flock 9
  if [ ! -x "$time_bin" ]; then
    log "installing github.com/hashicorp/terraform-provider-time@v$time_version into $cache/bin (about 40 s)"
    tmp=$(mktemp -d "$cache/bin/.install.XXXXXX")
    (cd "$tmp" && GOFLAGS=-buildvcs=false GOBIN="$tmp" CGO_ENABLED=0 \
       go install "github.com/hashicorp/terraform-provider-time@v$time_version") || { rm -rf "$tmp"; die "installing terraform-provider-time failed"; }
    mv -f "$tmp/terraform-provider-time" "$time_bin"
    rm -rf "$tmp"
  fi
  flock -u 9; exec 9>&-
fi

# ---------------------------------------------------------------- work dir, registry
work=$(mktemp -d -t capiscio-bench.XXXXXX)
registry_pid=""
cleanup() {
  if [ -n "$registry_pid" ]; then kill "$registry_pid" 2>/dev/null || true; wait "$registry_pid" 2>/dev/null || true; fi
  if [ "${BENCH_KEEP:-0}" = 1 ]; then log "work dir kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
mkdir -p "$work/tmp" "$work/rss"

api_key="sk_test_bench_$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
"$registry_bin" serve --listen 127.0.0.1:0 --data "$work/registry" --dev-api-key "$api_key" \
  --ready-file "$work/registry.url" >"$work/registry.log" 2>&1 &
registry_pid=$!
for _ in $(seq 1 100); do [ -s "$work/registry.url" ] && break; sleep 0.1; done
[ -s "$work/registry.url" ] || { cat "$work/registry.log" >&2; die "the registry did not start"; }
registry_url=$(cat "$work/registry.url")
log "registry at $registry_url"

# ---------------------------------------------------------------- mirror with RSS wrappers
# Both plugin providers get the same wrapper so that its cost (sh + /usr/bin/time, ~1-2 ms per
# launch) is the same on both sides. One line "maxrss_kb elapsed_s user_s sys_s" per plugin process.
mirror=$work/mirror
wrap() { # wrap NAMESPACE TYPE VERSION REAL_BINARY
  local dir="$mirror/registry.terraform.io/$1/$2/$3/$os_arch"
  mkdir -p "$dir"
  if [ "${BENCH_WRAP:-1}" = 0 ]; then cp "$4" "$dir/terraform-provider-$2_v$3"; return; fi
  cat >"$dir/terraform-provider-$2_v$3" <<WRAP
#!/bin/sh
exec /usr/bin/time -f '%M %e %U %S' -a -o '$work/rss/$2.log' '$4' "\$@"
WRAP
  chmod +x "$dir/terraform-provider-$2_v$3"
}
wrap capiscio capiscio "$version" "$provider_bin"
wrap hashicorp time "$time_version" "$time_bin"
mirrored='"registry.terraform.io/capiscio/capiscio", "registry.terraform.io/hashicorp/time"'
if [ -n "$tls_bin" ]; then
  [ -x "$tls_bin" ] || die "BENCH_TLS_PROVIDER=$tls_bin is not an executable"
  wrap hashicorp tls "$tls_version" "$tls_bin"
  mirrored="$mirrored, \"registry.terraform.io/hashicorp/tls\""
fi
cat >"$work/terraformrc" <<RC
provider_installation {
  filesystem_mirror {
    path    = "$mirror"
    include = [$mirrored]
  }
  direct {
    exclude = [$mirrored]
  }
}
RC
export TF_CLI_CONFIG_FILE="$work/terraformrc" TF_IN_AUTOMATION=1 TF_INPUT=0 CHECKPOINT_DISABLE=1
unset TF_LOG TF_LOG_PATH TF_PLUGIN_CACHE_DIR TF_CLI_ARGS TF_CLI_ARGS_apply TF_CLI_ARGS_plan TF_CLI_ARGS_destroy
export CAPISCIO_REGISTRY_URL="$registry_url" CAPISCIO_API_KEY="$api_key"
export TMPDIR="$work/tmp" # plugin sockets

# ---------------------------------------------------------------- configs
config() { # config KIND: resource block + required_providers
  # shellcheck disable=SC2016 # ${count.index} is Terraform syntax, not the shell's
  case "$1" in
    terraform_data) printf 'resource "terraform_data" "r" {\n  count = var.n\n}\n' ;;
    time_static) printf 'terraform {\n  required_providers {\n    time = { source = "hashicorp/time", version = "%s" }\n  }\n}\n\nresource "time_static" "r" {\n  count = var.n\n}\n' "$time_version" ;;
    tls_private_key) printf 'terraform {\n  required_providers {\n    tls = { source = "hashicorp/tls", version = "%s" }\n  }\n}\n\nresource "tls_private_key" "r" {\n  count     = var.n\n  algorithm = "ED25519"\n}\n' "$tls_version" ;;
    capiscio_server_identity | capiscio_no_badge)
      printf 'terraform {\n  required_providers {\n    capiscio = { source = "capiscio/capiscio", version = "%s" }\n  }\n}\n\nprovider "capiscio" {}\n\nresource "capiscio_server_identity" "r" {\n  count = var.n\n  name  = "bench-${count.index}"\n' "$version"
      if [ "$1" = capiscio_no_badge ]; then printf '\n  issue_badge = false\n'; fi
      printf '}\n' ;;
    *) die "unknown kind $1" ;;
  esac
}
for k in $kinds; do
  d="$work/cfg/$k"; mkdir -p "$d"
  { printf 'variable "n" {\n  type = number\n}\n\n'; config "$k"; } >"$d/main.tf"
  log "terraform init ($k)"
  (cd "$d" && terraform init -no-color -input=false >"$out/logs/init-$k.log" 2>&1) || { cat "$out/logs/init-$k.log" >&2; die "terraform init failed for $k"; }
done

# ---------------------------------------------------------------- start-up
log "provider start-up: $startup_repeats interleaved launches each (exec to handshake line)"
"$py" "$root/scripts/bench/bench.py" startup --repeats "$startup_repeats" \
  capiscio="$provider_bin" time="$time_bin" >"$out/startup.tsv"

# ---------------------------------------------------------------- steps
# GET /debug/stats is behind the API key.
stats() { curl -fsS -H "X-Capiscio-Registry-Key: $api_key" "$registry_url/debug/stats"; }
# terraform_* columns are terraform's process tree (its plugins included: wait4 rusage);
# terraform_cpu_s - provider_cpu_s is Terraform core's own CPU.
printf 'n\tkind\trepeat\tstep\tseconds\tregistry_requests\tterraform_maxrss_kb\tprovider_maxrss_kb\tprovider_launches\tstate_bytes\tterraform_cpu_s\tprovider_cpu_s\tregistry_cpu_s\n' >"$out/steps.tsv"
printf 'kind\tattribute\tbytes\n' >"$out/state-attributes.tsv"
clk_tck=$(getconf CLK_TCK)
registry_cpu() { awk -v t="$clk_tck" '{sub(/^.*\) /, ""); printf "%.2f", ($12 + $13) / t}' "/proc/$registry_pid/stat"; }
printf 'n\tkind\trepeat\tstep\troute\trequests\n' >"$out/routes.tsv"

# step N KIND REPEAT STEP: runs one terraform command, appends a row to steps.tsv
step() {
  local n=$1 kind=$2 rep=$3 st=$4 d="$work/cfg/$2" logf="$out/logs/$1-$2-$3-$4.log" before after rc=0 t0 t1 rcpu0 rcpu1
  local -a cmd
  case "$st" in
    apply)   cmd=(terraform apply -auto-approve -no-color -input=false -parallelism="$parallelism" -var "n=$n") ;;
    plan)    cmd=(terraform plan -detailed-exitcode -no-color -input=false -parallelism="$parallelism" -var "n=$n") ;;
    destroy) cmd=(terraform destroy -auto-approve -no-color -input=false -parallelism="$parallelism" -var "n=$n") ;;
  esac
  : >"$work/rss/capiscio.log"; : >"$work/rss/time.log"; : >"$work/rss/tls.log"
  before=$(stats); rcpu0=$(registry_cpu)
  t0=$EPOCHREALTIME
  (cd "$d" && /usr/bin/time -f '%M %U %S' -o "$work/tf.rss" "${cmd[@]}") >"$logf" 2>&1 || rc=$?
  t1=$EPOCHREALTIME
  after=$(stats); rcpu1=$(registry_cpu)
  if [ "$rc" -ne 0 ]; then
    tail -n 40 "$logf" >&2
    if [ "$st" = plan ] && [ "$rc" -eq 2 ]; then die "no-change plan for N=$n $kind is not empty (exit 2); see $logf"; fi
    die "terraform $st failed for N=$n $kind (exit $rc); see $logf"
  fi
  local secs reqs tfrss tfcpu pcpu=0 rcpu prss launches sbytes=0 rssf=""
  secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}')
  reqs=$(jq -n --argjson a "$after" --argjson b "$before" '$a.requests - $b.requests')
  jq -rn --argjson a "$after" --argjson b "$before" --arg p "$n	$kind	$rep	$st" \
    '$a.byRoute | to_entries[] | select(.value - ($b.byRoute[.key] // 0) > 0) | "\($p)\t\(.key)\t\(.value - ($b.byRoute[.key] // 0))"' >>"$out/routes.tsv"
  read -r tfrss tfcpu < <(tail -n 1 "$work/tf.rss" | awk '{printf "%s %.2f\n", $1, $2 + $3}')
  rcpu=$(awk -v a="$rcpu0" -v b="$rcpu1" 'BEGIN {printf "%.2f", b - a}')
  case "$kind" in
    time_static) rssf=$work/rss/time.log ;;
    capiscio_server_identity | capiscio_no_badge) rssf=$work/rss/capiscio.log ;;
    tls_private_key) rssf=$work/rss/tls.log ;;
  esac
  if [ -n "$rssf" ]; then
    prss=$(awk '$1 ~ /^[0-9]+$/ {if ($1 > m) m = $1; c++} END {print m + 0}' "$rssf")
    launches=$(awk '$1 ~ /^[0-9]+$/ {c++} END {print c + 0}' "$rssf")
    pcpu=$(awk '$1 ~ /^[0-9]+$/ {s += $3 + $4} END {printf "%.2f", s}' "$rssf")
  else prss=0; launches=0; fi
  if [ "$st" = apply ]; then
    sbytes=$(stat -c %s "$d/terraform.tfstate")
    if [ "$rep" = 1 ] && ! grep -q "^$kind	" "$out/state-attributes.tsv"; then # one instance, compact JSON bytes per attribute
      jq -r --arg k "$kind" '.resources[0].instances[0] as $i
        | ($i.attributes | to_entries[] | "\($k)\t\(.key)\t\(.value | tojson | length)"),
          "\($k)\t(private)\t\($i.private // "" | length)",
          "\($k)\t(sensitive_attributes)\t\($i.sensitive_attributes | tojson | length)"' "$d/terraform.tfstate" >>"$out/state-attributes.tsv"
    fi
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$n" "$kind" "$rep" "$st" "$secs" "$reqs" "$tfrss" "$prss" "$launches" "$sbytes" "$tfcpu" "$pcpu" "$rcpu" >>"$out/steps.tsv"
  log "N=$n $kind #$rep $st: ${secs}s; CPU s: terraform+plugins $tfcpu, plugins $pcpu, registry $rcpu; registry requests $reqs; launches $launches; provider peak RSS ${prss} KB"
}

start_epoch=$(date +%s)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
for spec in $ns; do
  n=${spec%%:*} reps=$repeats
  case "$spec" in *:*) reps=${spec#*:} ;; esac
  case "$n$reps" in *[!0-9]*) die "BENCH_N entry '$spec' is not N or N:REPEATS" ;; esac
  for rep in $(seq 1 "$reps"); do
    for k in $kinds; do
      for st in apply plan destroy; do step "$n" "$k" "$rep" "$st"; done
    done
  done
done
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- report
{
  echo "date=$(date -u +%Y-%m-%dT%H:%MZ)"
  echo "cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
  echo "nproc=$(nproc)"
  echo "mem=$(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
  echo "terraform=$(terraform version -json | jq -r .terraform_version)"
  echo "go=$(go env GOVERSION)"
  echo "capiscio_build=$(go version -m "$provider_bin" | awk '$1 == "build" && $2 ~ /^CGO_ENABLED=/ {print $2}')"
  echo "commit=$built_commit" # the commit the binaries were built from (+dirty: with uncommitted changes)
  echo "parallelism=$parallelism"
  echo "repeats=$(for spec in $ns; do case "$spec" in *:*) printf '%s ' "N=${spec%%:*}: ${spec#*:}" ;; *) printf '%s ' "N=$spec: $repeats" ;; esac; done | sed 's/ $//')"
  echo "loadavg_start=$load_start"
  echo "loadavg_end=$load_end"
  echo "duration_s=$(( $(date +%s) - start_epoch ))"
} >"$out/machine.txt"
"$py" "$root/scripts/bench/bench.py" report --dir "$out" >"$out/bench-results.md"
cat "$out/bench-results.md"
log "results in $out/bench-results.md (raw: steps.tsv, routes.tsv, startup.tsv, logs/)"
