#!/usr/bin/env bash
# make registry: run the local registry in the foreground, with a data directory that
# survives restarts, and print what a shell needs to point Terraform at it.
#
#   make registry                                  # 127.0.0.1:8080, data in .registry/
#   CAPISCIO_REGISTRY_DEV_API_KEY=sk_test_$(openssl rand -hex 32) make registry
#   REGISTRY_LISTEN=127.0.0.1:9090 REGISTRY_DATA=/tmp/reg REGISTRY_FLAGS='--rate-limit 60' make registry
#
# The registry prints its development API key once, on the first start of a data directory
# (it stores only a hash of it). A key given in CAPISCIO_REGISTRY_DEV_API_KEY is never printed.
# Ctrl-C stops the registry cleanly; the data stays in REGISTRY_DATA.
set -euo pipefail
cd "$(dirname "$0")/.."

listen=${REGISTRY_LISTEN:-127.0.0.1:8080}
data=${REGISTRY_DATA:-.registry}
read -r -a extra <<<"${REGISTRY_FLAGS:-}"

[ -x bin/capiscio-registry ] || { echo "registry.sh: bin/capiscio-registry is missing: run make build (make registry does)" >&2; exit 1; }

exports() { # URL KEY-TEXT
  printf '\nIn another shell, point Terraform (or OpenTofu) at it:\n\n'
  printf '  export CAPISCIO_REGISTRY_URL=%s\n' "$1"
  printf '  export CAPISCIO_API_KEY=%s\n\n' "$2"
}

# serve prints "capiscio-registry listening on URL", then "dev API key: KEY" only when it
# minted the key in this run. One second after the first line, the second has come or will
# not: either way the export lines follow.
# shellcheck disable=SC2016 # lines with $(...) and $VAR are printed for the user to run
announce() {
  local line url=""
  while IFS= read -r line; do
    printf '%s\n' "$line"
    case "$line" in
      "capiscio-registry listening on "*) url=${line#capiscio-registry listening on } ;;
      *) continue ;;
    esac
    if IFS= read -r -t 1 line; then
      case "$line" in
        "dev API key: "*)
          printf '%s\n' "$line"
          exports "$url" "${line#dev API key: }"
          printf 'The key is shown only this once (only its hash is stored): keep it.\n' ;;
        *) printf '%s\n' "$line" ;;
      esac
    elif [ -n "${CAPISCIO_REGISTRY_DEV_API_KEY:-}" ]; then
      exports "$url" '"$CAPISCIO_REGISTRY_DEV_API_KEY"   # the key you started it with (never printed)'
    else
      exports "$url" '<the dev API key printed on the first start of this data directory>'
      printf 'Only a hash of that key is stored, so it is not printed again. To pin a key you can\n'
      printf 'always export, restart with one (at least 22 characters of A-Z a-z 0-9 - _ after an\n'
      printf 'optional sk_test_ or sk_live_ prefix; it is added beside the earlier key):\n\n'
      printf '  export CAPISCIO_REGISTRY_DEV_API_KEY=sk_test_$(openssl rand -hex 32)\n'
      printf '  make registry\n\n'
    fi
    printf 'Data: %s (kept between runs; delete it to start afresh). Ctrl-C stops the registry.\n\n' "$data"
  done
}

mkdir -p "$data"
chmod 700 "$data"
bin/capiscio-registry serve --listen "$listen" --data "$data" ${extra[@]+"${extra[@]}"} | announce
