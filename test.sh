#!/usr/bin/env bash
# The tests of the whole workspace: unit, integration (known-answer vectors,
# GPU vs CPU on the software Vulkan adapter, key statistics, YUV frames
# against OpenCV, bad input, CLI, server and client over real HTTP and gRPC,
# the client against real MLServer and KServe servers, attacks)
# and the benches run once each as smoke tests; the device library alone
# without default features (the CPU encryptor of an IoT board without a GPU
# or network stack); the C ABI's C tests, the Java API's JUnit tests on the
# host JVM, the C module map and the Swift sources' syntax; then the
# training pipeline's data path. EDGEHIDE_REQUIRE_GPU=1 makes a missing GPU
# adapter a failure instead of a skip (CI sets it).
set -euo pipefail
cd "$(dirname "$0")"
scripts/install-deps.sh
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
cargo test --locked --workspace --all-targets "$@"
cargo test --locked -p edgehide --doc "$@"
echo "device library without default features (no GPU, no client):"
cargo test --locked -p edgehide --no-default-features --lib --tests "$@"
# The C ABI from C (gcc, a real server), its clang module map, and the Swift
# package's syntax (there is no Swift toolchain here).
ios/edgehide-ffi/tests/run.sh
# The Java API on the host JVM under -Xcheck:jni (JUnit 5, a real server).
android/edgehide/run-tests.sh
scripts/check-modulemap.sh
.venv/bin/python scripts/check-swift.py
# The training pipeline's data path, without PyTorch (NumPy comes with the
# onnxruntime wheel in .venv).
EDGEHIDE_BIN="$PWD/target/debug/edgehide" PYTHONPATH=training \
  .venv/bin/python training/run_tests.py
