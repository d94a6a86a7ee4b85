#!/usr/bin/env bash
# Builds EdgeHideFFI.xcframework (the static Rust library for iOS devices and
# simulators, with edgehide.h and its module map) beside Package.swift.
# Needs a Mac with Xcode and the Rust targets:
#   rustup target add aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
for t in aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios; do
  echo "building edgehide-ffi for $t"
  cargo build --locked --release -p edgehide-ffi --target "$t"
done
work="$(mktemp -d)"
mkdir -p "$work/headers" "$work/sim"
cp ios/edgehide-ffi/include/edgehide.h "$here/ffi/module.modulemap" "$work/headers/"
lipo -create \
  target/aarch64-apple-ios-sim/release/libedgehide_ffi.a \
  target/x86_64-apple-ios/release/libedgehide_ffi.a \
  -output "$work/sim/libedgehide_ffi.a"
rm -rf "$here/EdgeHideFFI.xcframework"
xcodebuild -create-xcframework \
  -library target/aarch64-apple-ios/release/libedgehide_ffi.a -headers "$work/headers" \
  -library "$work/sim/libedgehide_ffi.a" -headers "$work/headers" \
  -output "$here/EdgeHideFFI.xcframework"
echo "wrote $here/EdgeHideFFI.xcframework"
