#!/usr/bin/env bash
# scripts/bench/run.sh (make bench-tf): end-to-end Terraform benchmark of capiscio_server_identity
# against two floors measured in the same run:
#   terraform_data  Terraform's own floor (built-in, no plugin)
#   time_static     the floor for any plugin provider (hashicorp/time v0.14.2)
# For each N in BENCH_N, each state backend in BENCH_BACKENDS and each kind (count = N): terraform
# apply, a no-change terraform plan (-detailed-exitcode must be 0) and terraform destroy, each timed
# by wall clock. Backends: local (terraform.tfstate, rewritten after every resource) and pg
# (Terraform's built-in backend "pg" against a PostgreSQL server this script starts on a free
# loopback port in a temporary directory and removes on exit). Also counts the
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
#   BENCH_BACKENDS="local pg"  state backends, each a full run of every kind. pg needs PostgreSQL's
#                           initdb and pg_ctl (PATH or /usr/lib/postgresql/*/bin); as root, when
#                           they are missing, Debian's postgresql package is installed with
#                           apt-get (printed); when that is not possible the pg backend is skipped
#                           with one line saying why. As root the server runs as user postgres.
#                           Uses the Terraform on PATH (1.11.4 here; the Terraform 1.16 built by
#                           scripts/terraform.sh has no pg backend).
#   BENCH_PG_BIN=DIR        the directory holding initdb, pg_ctl and psql (default: found as above)
#   BENCH_PROFILE=0         1: after the benchmark, one more apply + destroy of
#                           capiscio_server_identity at N = BENCH_PROFILE_N (pg backend if it ran,
#                           else local) with the provider's and the registry's CPU profiles
#                           (CAPISCIO_PROVIDER_CPUPROFILE, capiscio-registry serve --cpuprofile);
#                           writes go tool pprof -top summaries to profile-*.txt, raw profiles to
#                           profiles/
#   BENCH_PROFILE_N=300
#   BENCH_KINDS="terraform_data time_static capiscio_server_identity capiscio_no_badge"
#                           capiscio_no_badge: the same identities with issue_badge = false (the
#                           badge is the largest attribute in state; this shows what it costs)
#   BENCH_TLS_PROVIDER=PATH a terraform-provider-tls binary you built yourself: adds the kind
#                           tls_private_key (ED25519), the cost of a provider that only makes a key
#   BENCH_TLS_VERSION=4.2.1 the version the mirror files that binary under
#   BENCH_OUT=./bench-results   bench-results.md, raw TSVs, logs/ (gitignored)
#   BENCH_WRAP=1            0 puts the real binaries in the mirror (no peak RSS / launch counts)
#   BENCH_KEEP=0            1 keeps the temporary work dir (configs, state, mirror; not PostgreSQL's)
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
backends=${BENCH_BACKENDS:-local pg}
profile=${BENCH_PROFILE:-0}
profile_n=${BENCH_PROFILE_N:-300}
tmp_base=${TMPDIR:-/tmp} # TMPDIR is pointed into the work dir below
out=${BENCH_OUT:-$root/bench-results}
case "$out" in /*) ;; *) out=$caller/$out ;; esac # relative to where it was started
version=${VERSION:-0.2.0}
time_version=0.14.2
cache=${CAPISCIO_TOOL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/capiscio-tools}
os_arch="$(go env GOOS)_$(go env GOARCH)"

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
for c in terraform go jq curl python3 /usr/bin/time flock; do command -v "$c" >/dev/null || die "$c is needed"; done
# Resolve python3 once: version-manager shims (pyenv) cost seconds per call on a loaded machine.
py=$(python3 -c 'import sys; print(sys.executable)')
has_backend() { case " $backends " in *" $1 "*) return 0 ;; esac; return 1; }
for b in $backends; do case "$b" in local | pg) ;; *) die "BENCH_BACKENDS: unknown backend '$b' (local, pg)" ;; esac; done
[ -n "${backends// /}" ] || die "BENCH_BACKENDS is empty"
case "$profile_n" in '' | *[!0-9]*) die "BENCH_PROFILE_N=$profile_n is not a number" ;; esac

mkdir -p "$out/logs"
out=$(cd "$out" && pwd)
rm -f "$out"/logs/*.log "$out"/steps.tsv "$out"/routes.tsv "$out"/startup.tsv "$out"/state-attributes.tsv "$out"/bench-results.md \
  "$out"/profile-*.txt
rm -rf "$out/profiles"

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
registry_pid="" profile_registry_pid="" pg_dir="" pg_bin="" pg_port="" pg_version="" pg_skipped="" pg_reason=""
pg_run=() # the prefix that runs PostgreSQL's programs: as root, as user postgres
cleanup() {
  stop_pid "$registry_pid"
  stop_pid "$profile_registry_pid"
  pg_stop
  if [ "${BENCH_KEEP:-0}" = 1 ]; then log "work dir kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT # so that cleanup runs on Ctrl-C and kill too
trap 'exit 143' TERM
mkdir -p "$work/tmp" "$work/rss"

stop_pid() { # stop_pid PID: a process this script started (SIGTERM: the registry writes its profile)
  if [ -n "$1" ]; then kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; fi
}

api_key="sk_test_bench_$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
start_registry() { # start_registry NAME EXTRA_ARGS...: sets started_pid and started_url
  local name=$1; shift
  rm -f "$work/$name.url"
  "$registry_bin" serve --data "$work/$name" --dev-api-key "$api_key" \
    --ready-file "$work/$name.url" "$@" >>"$work/$name.log" 2>&1 &
  started_pid=$!
  for _ in $(seq 1 100); do [ -s "$work/$name.url" ] && break; sleep 0.1; done
  [ -s "$work/$name.url" ] || { cat "$work/$name.log" >&2; die "the registry ($name) did not start"; }
  started_url=$(cat "$work/$name.url")
}
start_registry registry --listen 127.0.0.1:0
registry_pid=$started_pid registry_url=$started_url
log "registry at $registry_url"

# ---------------------------------------------------------------- PostgreSQL (backend "pg")
# A throwaway server: initdb -A trust -U tf in a temporary directory, listening on 127.0.0.1 only,
# on a free port; one database per kind. As root it runs as user postgres (PostgreSQL refuses to
# run as root), so its directory is created in /tmp, which that user can reach, not in the work
# dir (mode 0700, root's). cleanup stops it (pg_ctl stop -m fast) and removes the directory.
pg_skip() { # pg_skip REASON: drop the pg backend, say why once
  pg_skipped=$1
  log "pg backend skipped: $1"
  local b keep=""
  for b in $backends; do [ "$b" = pg ] || keep="$keep $b"; done
  backends=${keep# }
}
pg_find() { # prints the directory holding initdb and pg_ctl
  local c d
  if [ -n "${BENCH_PG_BIN:-}" ]; then
    [ -x "$BENCH_PG_BIN/initdb" ] && [ -x "$BENCH_PG_BIN/pg_ctl" ] && echo "$BENCH_PG_BIN"
    return
  fi
  if c=$(command -v pg_ctl) && command -v initdb >/dev/null; then
    d=$(dirname "$(readlink -f "$c")") # Debian: /usr/lib/postgresql/15/bin, where psql is too
    echo "$d"; return
  fi
  for d in $(printf '%s\n' /usr/lib/postgresql/*/bin | sort -rV); do
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then echo "$d"; return; fi
  done
}
pg_install() { # Debian's postgresql package, as root only; prints what it installed
  local before after new
  [ "$(id -u)" = 0 ] || { echo "not root, so not installing it (install Debian's postgresql package, or set BENCH_PG_BIN)"; return 1; }
  command -v apt-get >/dev/null || { echo "no apt-get to install it with"; return 1; }
  log "initdb/pg_ctl not found: apt-get install -y postgresql (log: $out/logs/apt-postgresql.log)"
  before=$(dpkg-query -W -f '${Package}=${Version}\n' | sort)
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >"$out/logs/apt-postgresql.log" 2>&1; then
    log "apt-get install failed; apt-get update, then once more"
    { DEBIAN_FRONTEND=noninteractive apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql; } >>"$out/logs/apt-postgresql.log" 2>&1 ||
      { echo "apt-get install -y postgresql failed (see $out/logs/apt-postgresql.log)"; return 1; }
  fi
  after=$(dpkg-query -W -f '${Package}=${Version}\n' | sort)
  new=$(comm -13 <(echo "$before") <(echo "$after") | paste -sd ' ' -)
  log "installed with apt-get: ${new:-nothing new}"
  log "note: Debian's package may also have created (and started) its own cluster; this benchmark neither uses nor stops it"
}
pg_start() { # sets pg_dir, pg_port; returns non-zero with pg_reason set when it cannot
  local d attempt
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || { pg_reason="running as root and there is no postgres user to run the server as"; return 1; }
    command -v runuser >/dev/null || { pg_reason="running as root and runuser is missing"; return 1; }
    pg_run=(runuser -u postgres --)
    pg_dir=$(mktemp -d /tmp/capiscio-bench-pg.XXXXXX)
    chown postgres: "$pg_dir"
  else
    pg_dir=$(mktemp -d "$tmp_base/capiscio-bench-pg.XXXXXX")
  fi
  d=$pg_dir
  (cd "$d" && "${pg_run[@]}" "$pg_bin/initdb" -D "$d/data" -A trust -U tf -E UTF8 --no-instructions) >"$out/logs/pg-initdb.log" 2>&1 ||
    { pg_reason="initdb failed (see $out/logs/pg-initdb.log)"; return 1; }
  for attempt in 1 2 3; do # the free port can be taken before the server binds it
    pg_port=$("$py" "$root/scripts/bench/bench.py" free-port)
    if (cd "$d" && "${pg_run[@]}" "$pg_bin/pg_ctl" -D "$d/data" -l "$d/server.log" -w -t 60 \
        -o "-p $pg_port -k '$d' -c listen_addresses=127.0.0.1" start) >>"$out/logs/pg-ctl.log" 2>&1; then
      return 0
    fi
    log "PostgreSQL did not start on port $pg_port (attempt $attempt)"
  done
  pg_reason="pg_ctl start failed 3 times (see $out/logs/pg-ctl.log and pg-server.log)"
  return 1
}
pg_stop() {
  [ -n "$pg_dir" ] && [ -d "$pg_dir" ] || return 0
  local pid
  if [ -f "$pg_dir/data/postmaster.pid" ]; then
    if ! (cd "$pg_dir" && "${pg_run[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -m fast -w -t 30 stop) >>"$out/logs/pg-ctl.log" 2>&1 &&
       (cd "$pg_dir" && "${pg_run[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" status) >/dev/null 2>&1; then
      pid=$(head -n 1 "$pg_dir/data/postmaster.pid")
      log "PostgreSQL did not stop; SIGKILL to its postmaster, pid $pid"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  cp "$pg_dir/server.log" "$out/logs/pg-server.log" 2>/dev/null || true
  rm -rf "$pg_dir"
  log "PostgreSQL stopped; $pg_dir removed"
  pg_dir=""
}
pg_createdb() { # pg_createdb NAME
  "$pg_bin/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$pg_port" -U tf -d postgres \
    -c "CREATE DATABASE $1" >>"$out/logs/pg-createdb.log" 2>&1
}
pg_conn_str() { printf 'postgres://tf@127.0.0.1:%s/%s?sslmode=disable' "$pg_port" "$1"; }

if has_backend pg; then
  pg_bin=$(pg_find) || true
  if [ -z "$pg_bin" ] && [ -z "${BENCH_PG_BIN:-}" ]; then
    if reason=$(pg_install); then pg_bin=$(pg_find) || true; else pg_skip "PostgreSQL's initdb/pg_ctl not found; $reason"; fi
  fi
  if has_backend pg; then
    if [ -z "$pg_bin" ]; then
      pg_skip "PostgreSQL's initdb/pg_ctl not found${BENCH_PG_BIN:+ in BENCH_PG_BIN=$BENCH_PG_BIN}"
    elif [ ! -x "$pg_bin/psql" ]; then
      pg_skip "no psql beside $pg_bin/pg_ctl to create the databases with"
    elif pg_start; then
      pg_version=$("$pg_bin/pg_ctl" --version | sed 's/^pg_ctl (PostgreSQL) /PostgreSQL /')
      log "PostgreSQL at 127.0.0.1:$pg_port ($pg_version, $pg_bin; data in $pg_dir)"
    else
      pg_skip "$pg_reason"
      pg_stop
    fi
  fi
fi

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
# setup BACKEND KIND DIR [DATABASE]: writes the config and runs terraform init; returns 1 when
# Terraform has no backend "pg" (the caller drops that backend), dies on any other failure.
setup() {
  local backend=$1 kind=$2 d=$3 db=${4:-bench_$2} logf="$out/logs/init-$1-${3##*/}.log"
  mkdir -p "$d"
  { printf 'variable "n" {\n  type = number\n}\n\n'; config "$kind"; } >"$d/main.tf"
  if [ "$backend" = pg ]; then
    pg_createdb "$db" || { cat "$out/logs/pg-createdb.log" >&2; die "creating database $db failed"; }
    printf 'terraform {\n  backend "pg" {\n    conn_str = "%s"\n  }\n}\n' "$(pg_conn_str "$db")" >"$d/backend.tf"
  fi
  log "terraform init ($backend, $kind)"
  if ! (cd "$d" && terraform init -no-color -input=false >"$logf" 2>&1); then
    if [ "$backend" = pg ] && grep -q 'Unsupported backend type\|Unknown backend type\|backend type "pg"' "$logf"; then return 1; fi
    cat "$logf" >&2; die "terraform init failed for $backend $kind"
  fi
}
for b in $backends; do
  for k in $kinds; do
    if ! setup "$b" "$k" "$work/cfg/$b/$k"; then
      pg_skip "$(terraform version | head -n 1) has no backend \"pg\" (see $out/logs/init-pg-$k.log)"
      pg_stop
      break
    fi
  done
done
[ -n "$backends" ] || die "no state backend left to run"

# ---------------------------------------------------------------- start-up
log "provider start-up: $startup_repeats interleaved launches each (exec to handshake line)"
"$py" "$root/scripts/bench/bench.py" startup --repeats "$startup_repeats" \
  capiscio="$provider_bin" time="$time_bin" >"$out/startup.tsv"

# ---------------------------------------------------------------- steps
# GET /debug/stats is behind the API key.
stats() { curl -fsS -H "X-Capiscio-Registry-Key: $api_key" "$registry_url/debug/stats"; }
# terraform_* columns are terraform's process tree (its plugins included: wait4 rusage);
# terraform_cpu_s - provider_cpu_s is Terraform core's own CPU.
printf 'n\tkind\trepeat\tstep\tseconds\tregistry_requests\tterraform_maxrss_kb\tprovider_maxrss_kb\tprovider_launches\tstate_bytes\tterraform_cpu_s\tprovider_cpu_s\tregistry_cpu_s\tbackend\n' >"$out/steps.tsv"
printf 'kind\tattribute\tbytes\n' >"$out/state-attributes.tsv"
clk_tck=$(getconf CLK_TCK)
registry_cpu() { awk -v t="$clk_tck" '{sub(/^.*\) /, ""); printf "%.2f", ($12 + $13) / t}' "/proc/$registry_pid/stat"; }
printf 'n\tkind\trepeat\tstep\troute\trequests\tbackend\n' >"$out/routes.tsv"

# tf_cmd STEP N: the terraform command line of a step
tf_cmd() {
  case "$1" in
    apply)   cmd=(terraform apply -auto-approve -no-color -input=false -parallelism="$parallelism" -var "n=$2") ;;
    plan)    cmd=(terraform plan -detailed-exitcode -no-color -input=false -parallelism="$parallelism" -var "n=$2") ;;
    destroy) cmd=(terraform destroy -auto-approve -no-color -input=false -parallelism="$parallelism" -var "n=$2") ;;
  esac
}

# state_json BACKEND DIR: the state as Terraform stores it (pretty-printed JSON): the local file,
# or what the pg backend holds (terraform state pull prints the stored bytes)
state_json() {
  if [ "$1" = local ]; then cat "$2/terraform.tfstate"; else (cd "$2" && terraform state pull); fi
}

# step BACKEND N KIND REPEAT STEP: runs one terraform command, appends a row to steps.tsv
step() {
  local backend=$1 n=$2 kind=$3 rep=$4 st=$5 d="$work/cfg/$1/$3" logf="$out/logs/$1-$2-$3-$4-$5.log" before after rc=0 t0 t1 rcpu0 rcpu1
  local -a cmd
  tf_cmd "$st" "$n"
  : >"$work/rss/capiscio.log"; : >"$work/rss/time.log"; : >"$work/rss/tls.log"
  before=$(stats); rcpu0=$(registry_cpu)
  t0=$EPOCHREALTIME
  (cd "$d" && /usr/bin/time -f '%M %U %S' -o "$work/tf.rss" "${cmd[@]}") >"$logf" 2>&1 || rc=$?
  t1=$EPOCHREALTIME
  after=$(stats); rcpu1=$(registry_cpu)
  if [ "$rc" -ne 0 ]; then
    tail -n 40 "$logf" >&2
    if [ "$st" = plan ] && [ "$rc" -eq 2 ]; then die "no-change plan for N=$n $kind ($backend) is not empty (exit 2); see $logf"; fi
    die "terraform $st failed for N=$n $kind ($backend) (exit $rc); see $logf"
  fi
  local secs reqs tfrss tfcpu pcpu=0 rcpu prss launches sbytes=0 rssf=""
  secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}')
  reqs=$(jq -n --argjson a "$after" --argjson b "$before" '$a.requests - $b.requests')
  jq -rn --argjson a "$after" --argjson b "$before" --arg p "$n	$kind	$rep	$st" --arg backend "$backend" \
    '$a.byRoute | to_entries[] | select(.value - ($b.byRoute[.key] // 0) > 0) | "\($p)\t\(.key)\t\(.value - ($b.byRoute[.key] // 0))\t\($backend)"' >>"$out/routes.tsv"
  # TCP connections the step's clients opened (a client that keeps them alive opens about -parallelism)
  jq -rn --argjson a "$after" --argjson b "$before" --arg p "$n	$kind	$rep	$st" --arg backend "$backend" \
    '($a.connections // 0) - ($b.connections // 0) | select(. > 0) | "\($p)\t(TCP connections opened)\t\(.)\t\($backend)"' >>"$out/routes.tsv"
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
    # After the timing: a state pull starts no provider, so the wrapper logs above are complete.
    if state_json "$backend" "$d" >"$work/state.json" 2>"$work/state.err"; then
      sbytes=$(stat -c %s "$work/state.json")
      if [ "$rep" = 1 ] && ! grep -q "^$kind	" "$out/state-attributes.tsv"; then # one instance, compact JSON bytes per attribute
        jq -r --arg k "$kind" '.resources[0].instances[0] as $i
          | ($i.attributes | to_entries[] | "\($k)\t\(.key)\t\(.value | tojson | length)"),
            "\($k)\t(private)\t\($i.private // "" | length)",
            "\($k)\t(sensitive_attributes)\t\($i.sensitive_attributes | tojson | length)"' "$work/state.json" >>"$out/state-attributes.tsv"
      fi
    else
      sbytes="" # n/a in the report
      log "N=$n $kind ($backend): cannot read the state for its size: $(head -c 300 "$work/state.err")"
    fi
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$n" "$kind" "$rep" "$st" "$secs" "$reqs" "$tfrss" "$prss" "$launches" "$sbytes" "$tfcpu" "$pcpu" "$rcpu" "$backend" >>"$out/steps.tsv"
  log "$backend N=$n $kind #$rep $st: ${secs}s; CPU s: terraform+plugins $tfcpu, plugins $pcpu, registry $rcpu; registry requests $reqs; launches $launches; provider peak RSS ${prss} KB"
}

start_epoch=$(date +%s)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
for spec in $ns; do
  n=${spec%%:*} reps=$repeats
  case "$spec" in *:*) reps=${spec#*:} ;; esac
  case "$n$reps" in *[!0-9]*) die "BENCH_N entry '$spec' is not N or N:REPEATS" ;; esac
  for rep in $(seq 1 "$reps"); do
    for b in $backends; do # interleaved, so load changes hit both backends alike
      for k in $kinds; do
        for st in apply plan destroy; do step "$b" "$n" "$k" "$rep" "$st"; done
      done
    done
  done
done
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- CPU profiles (BENCH_PROFILE=1)
# One more apply and destroy of capiscio_server_identity, outside the tables above, with a registry
# of its own (its CPU profile covers that step only; restarted on the same port for the destroy)
# and every provider process writing its CPU profile (CAPISCIO_PROVIDER_CPUPROFILE). go tool pprof
# merges a step's provider processes into one summary.
# pprof_top FILE TITLE PROFILES...: top 25 by cumulative and by flat time
pprof_top() {
  local f=$1 title=$2; shift 2
  {
    printf '%s\n\n' "$title"
    printf -- '---- top 25 by cumulative time (-top -cum)\n'
    go tool pprof -top -cum -nodecount=25 "$@" 2>&1
    printf -- '\n---- top 25 by own time (-top)\n'
    go tool pprof -top -nodecount=25 "$@" 2>&1
  } >"$f"
}
profile_run() {
  local pb=local kind=capiscio_server_identity n=$profile_n d st rc t0 t1 secs port tfcpu pcpu launches
  local -a cmd
  if has_backend pg; then pb=pg; fi
  d="$work/cfg/$pb/profile"
  setup "$pb" "$kind" "$d" bench_profile || die "terraform init failed for the profile run"
  mkdir -p "$out/profiles"
  port=$("$py" "$root/scripts/bench/bench.py" free-port)
  for st in apply destroy; do
    mkdir -p "$out/profiles/provider-$st"
    start_registry registry-profile --listen "127.0.0.1:$port" --cpuprofile "$out/profiles/registry-$st.pprof"
    profile_registry_pid=$started_pid
    tf_cmd "$st" "$n"
    : >"$work/rss/capiscio.log"
    log "profile: $pb N=$n $kind $st with CPU profiles"
    rc=0; t0=$EPOCHREALTIME
    (cd "$d" && CAPISCIO_REGISTRY_URL=$started_url CAPISCIO_PROVIDER_CPUPROFILE="$out/profiles/provider-$st" \
      /usr/bin/time -f '%M %U %S' -o "$work/tf.rss" "${cmd[@]}") >"$out/logs/profile-$pb-$n-$st.log" 2>&1 || rc=$?
    t1=$EPOCHREALTIME
    stop_pid "$profile_registry_pid" # SIGTERM: it writes its profile on the way out
    profile_registry_pid=""
    [ "$rc" -eq 0 ] || { tail -n 40 "$out/logs/profile-$pb-$n-$st.log" >&2; die "terraform $st failed in the profile run (exit $rc)"; }
    secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b - a}')
    tfcpu=$(tail -n 1 "$work/tf.rss" | awk '{printf "%.2f", $2 + $3}')
    pcpu=$(awk '$1 ~ /^[0-9]+$/ {s += $3 + $4} END {printf "%.2f", s}' "$work/rss/capiscio.log")
    launches=$(awk '$1 ~ /^[0-9]+$/ {c++} END {print c + 0}' "$work/rss/capiscio.log")
    local about="terraform $st of $n capiscio_server_identity, $pb backend, -parallelism=$parallelism: ${secs} s wall; CPU s: terraform and its plugins $tfcpu, plugins $pcpu ($launches provider processes)"
    local -a pfiles=("$out/profiles/provider-$st"/provider-*.pprof)
    [ -e "${pfiles[0]}" ] || die "the provider wrote no CPU profile for $st (see $out/logs/profile-$pb-$n-$st.log)"
    pprof_top "$out/profile-provider-$st.txt" "Provider CPU profile, ${#pfiles[@]} processes merged: $about" "${pfiles[@]}"
    pprof_top "$out/profile-registry-$st.txt" "Registry CPU profile (the registry process during this step only): $about" "$out/profiles/registry-$st.pprof"
    log "profile: $st ${secs}s; summaries in $out/profile-provider-$st.txt, $out/profile-registry-$st.txt"
  done
}
if [ "$profile" = 1 ]; then profile_run; fi

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
  echo "backends=$backends"
  if [ -n "$pg_version" ] && has_backend pg; then echo "pg=$pg_version"; fi
  if [ -n "$pg_skipped" ]; then echo "pg_skipped=$pg_skipped"; fi
  echo "repeats=$(for spec in $ns; do case "$spec" in *:*) printf '%s ' "N=${spec%%:*}: ${spec#*:}" ;; *) printf '%s ' "N=$spec: $repeats" ;; esac; done | sed 's/ $//')"
  echo "loadavg_start=$load_start"
  echo "loadavg_end=$load_end"
  echo "duration_s=$(( $(date +%s) - start_epoch ))"
} >"$out/machine.txt"
"$py" "$root/scripts/bench/bench.py" report --dir "$out" >"$out/bench-results.md"
cat "$out/bench-results.md"
log "results in $out/bench-results.md (raw: steps.tsv, routes.tsv, startup.tsv, logs/$(if [ "$profile" = 1 ]; then echo "; profiles: profile-*.txt, profiles/"; fi))"
