#!/usr/bin/env bash
# The C ABI's tests: builds the static library, compiles tests/test_edgehide.c
# against include/edgehide.h with gcc (C11, every warning an error), starts
# `edgehide serve` on loopback with the bundled model, and runs the test on
# N Fashion-MNIST test frames given as NV12 (default: all 10,000, so that
# two runs with fresh random keys differ by 0.6 points at one standard
# deviation, well inside the 2 points allowed), comparing its
# accuracy with `edgehide eval` on the same frames.
#   ios/edgehide-ffi/tests/run.sh [--valgrind] [N]
# --valgrind runs the test under valgrind (no leak, no invalid access).
# The output ends with "N passed, N failed".
set -euo pipefail
root="$(cd "$(dirname "$0")/../../.." && pwd)"
cd "$root"
valgrind=()
if [ "${1:-}" = "--valgrind" ]; then
  # Definite and indirect leaks are errors; "possibly lost" blocks are the
  # handle registry and thread-locals that live until exit.
  valgrind=(valgrind --quiet --error-exitcode=1 --leak-check=full --show-possibly-lost=no
    --errors-for-leak-kinds=definite,indirect)
  shift
fi
n="${1:-10000}"
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
model=models/fashion-mnist-k4.onnx
echo "c tests: building the static library and the edgehide binary"
cargo build --locked --quiet -p edgehide-ffi
cargo build --locked --quiet -p edgehide-cli
work="$(mktemp -d)"
server=""
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
gcc -std=c11 -Wall -Wextra -Werror -pedantic -g \
  -I ios/edgehide-ffi/include ios/edgehide-ffi/tests/test_edgehide.c \
  target/debug/libedgehide_ffi.a -lpthread -ldl -lm -o "$work/test_edgehide"
source scripts/bridge-test-env.sh
write_test_frames "$n"
# Under valgrind the run is short (accuracy over a few frames says little).
# The DisguisedNets model: at most 500 frames (its encryption is
# deterministic, so fewer frames suffice to compare with eval).
dn_n=$(( n < 500 ? n : 500 ))
accuracy=- dn_accuracy=-
if [ ${#valgrind[@]} -eq 0 ]; then
  accuracy=$(eval_accuracy "$n")
  dn_accuracy=$(eval_accuracy "$dn_n" --model "$dn_model" --key "$dn_key")
fi
start_server
"${valgrind[@]}" "$work/test_edgehide" "${model%.onnx}.json" "$url" \
  "$work/frames.raw" "$work/labels.raw" "$n" "$accuracy" \
  "${dn_model%.onnx}.json" "$dn_key" "$dn_n" "$dn_accuracy"
