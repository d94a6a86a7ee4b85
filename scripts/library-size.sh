#!/usr/bin/env bash
# The release size of a minimal program linking the device library, per
# feature set (benches/RESULTS.md, "Device library size"): the encryption
# example with default features and with none, and the client example with
# the client but no GPU, and with default features; then a minimal C program
# (ios/edgehide-ffi/tests/minimal.c) linked with the C ABI's static library,
# with and without the GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
measure() {
  local name="$1" example="$2"; shift 2
  cargo build --release --locked --quiet -p edgehide --example "$example" "$@"
  local bin="target/release/examples/$example" tmp
  tmp="$(mktemp)"
  strip -o "$tmp" "$bin"
  printf '| %s | `%s` | %s | %s |\n' "$name" "$example $*" \
    "$(numfmt --to=iec-i --suffix=B "$(stat -c %s "$tmp")")" \
    "$(numfmt --to=iec-i --suffix=B "$(stat -c %s "$bin")")"
  rm -f "$tmp"
}
echo "| features | example and flags | stripped | with debug info |"
echo "|---|---|---|---|"
measure "default (gpu, client)" encrypt_frame
measure "none" encrypt_frame --no-default-features
measure "client, no gpu" classify --no-default-features --features client
measure "default, using the client" classify
echo
echo "| C ABI static library | program | stripped |"
echo "|---|---|---|"
c_program() {
  local name="$1"; shift
  cargo build --release --locked --quiet -p edgehide-ffi "$@"
  local tmp
  tmp="$(mktemp -d)"
  gcc -std=c11 -O2 -Wl,--gc-sections -I ios/edgehide-ffi/include ios/edgehide-ffi/tests/minimal.c \
    target/release/libedgehide_ffi.a -lpthread -ldl -lm -o "$tmp/minimal"
  strip "$tmp/minimal"
  printf '| %s | `minimal.c` | %s |\n' "$name" \
    "$(numfmt --to=iec-i --suffix=B "$(stat -c %s "$tmp/minimal")")"
  rm -rf "$tmp"
}
c_program "default (gpu)"
c_program "--no-default-features (CPU only)" --no-default-features
