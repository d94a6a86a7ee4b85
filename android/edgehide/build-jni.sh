#!/usr/bin/env bash
# Builds libedgehide_jni.so for the Android ABIs into src/main/jniLibs/,
# with cargo-ndk. Needs the Android NDK (ANDROID_NDK_HOME) and the targets:
#   rustup target add aarch64-linux-android armv7-linux-androideabi x86_64-linux-android
#   cargo install cargo-ndk
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/../.."
cargo ndk -t arm64-v8a -t armeabi-v7a -t x86_64 -o "$here/src/main/jniLibs" \
  build --locked --release -p edgehide-jni
echo "wrote $here/src/main/jniLibs"
