#!/usr/bin/env bash
# The device library's dependency budget: what a phone app or an IoT board
# links. Fails when a server, CLI or lab crate reaches it.
set -euo pipefail
cd "$(dirname "$0")/.."
tree() { cargo tree --locked -p edgehide -e normal --prefix none "$@" | sed 's/ .*//' | sort -u; }
check() {
  local what="$1" banned="$2"; shift 2
  local deps; deps="$(tree "$@")"
  for bad in $banned; do
    if grep -qx "$bad" <<<"$deps"; then
      echo "check-deps: the device library ($what) depends on $bad" >&2
      exit 1
    fi
  done
  echo "check-deps: $what: $(wc -l <<<"$deps") crates, none of: $banned"
}
server_side="axum ort clap indicatif tracing-subscriber criterion edgehide-server edgehide-lab edgehide-cli"
# gRPC (tonic, prost) is the opt-in `grpc` feature.
check "default features" "$server_side tonic prost"
check "--no-default-features" "$server_side reqwest tokio wgpu" --no-default-features
