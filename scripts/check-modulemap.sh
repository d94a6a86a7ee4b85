#!/usr/bin/env bash
# The Swift package's C module (ios/EdgeHide/ffi/module.modulemap over
# edgehide.h) loads as a clang module, as Swift will import it (checked with
# Objective-C's @import, the same module machinery).
set -euo pipefail
cd "$(dirname "$0")/.."
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/include" "$work/cache"
cp ios/edgehide-ffi/include/edgehide.h ios/EdgeHide/ffi/module.modulemap "$work/include/"
cat >"$work/use.m" <<'C'
@import EdgeHideFFI;
int main(void) {
    EhFrame frame = {0};
    frame.format = EH_FORMAT_NV12;
    return eh_version() == 0 || frame.format != 1;
}
C
clang -fmodules -fmodules-cache-path="$work/cache" -fsyntax-only -Werror -I "$work/include" "$work/use.m"
echo "check-modulemap: EdgeHideFFI imports as a clang module"
