#!/usr/bin/env bash
# Builds the fuzz targets (fuzz/, cargo-fuzz on the nightly toolchain) and
# runs each for SECONDS (default 30): the server's request decoders (REST
# and gRPC), the client's response decoders, pool/IDX/sidecar files.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-30}"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked --version 0.13.2
for target in infer_request grpc_request pool_file; do
  echo "fuzz: $target for ${secs}s"
  # -s none: safe Rust, so AddressSanitizer adds little but build time;
  # 16 codegen units: a faster build of wgpu and ort for a 30 s run.
  log="$(mktemp)"
  if ! cargo +nightly fuzz run -s none --codegen-units 16 "$target" -- -max_total_time="$secs" -rss_limit_mb=2048 >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    echo "fuzz: $target failed (a crash input, if any, is in fuzz/artifacts/$target)" >&2
    exit 1
  fi
  grep -E "^Done" "$log"
done
