#!/usr/bin/env bash
# The committed C header is what cbindgen makes of the C ABI today:
# generated into a temporary file and compared (cbindgen's own --verify
# rewrites the header it checks).
set -euo pipefail
cd "$(dirname "$0")/../ios/edgehide-ffi"
command -v cbindgen >/dev/null || cargo install --locked --quiet cbindgen --version 0.29.2
tmp="$(mktemp)"
trap 'rm -f "$tmp"' EXIT
cbindgen --quiet --config cbindgen.toml --output "$tmp"
if ! cmp -s "$tmp" include/edgehide.h; then
  diff -u include/edgehide.h "$tmp" | head -40 >&2
  echo "check-header: include/edgehide.h is stale; regenerate it: (cd ios/edgehide-ffi && cbindgen --config cbindgen.toml --output include/edgehide.h)" >&2
  exit 1
fi
echo "check-header: include/edgehide.h matches the C ABI"
