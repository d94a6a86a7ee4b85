#!/usr/bin/env bash
# The Java API's tests on the host JVM: builds libedgehide_jni for
# linux-x86_64 with its test-only keys, compiles org.edgehide and its JUnit 5
# tests (javac --release 17; Debian's junit5 console launcher, no Gradle),
# starts `edgehide serve` on loopback with the bundled model, and runs the
# tests under -Xcheck:jni, which must print no JNI warning.
#   android/edgehide/run-tests.sh [--bench] [N]
# N Fashion-MNIST test frames go through Java -> JNI -> client -> server
# (default: all 10,000); --bench times the bridge (benches/RESULTS.md).
# The output ends with "N passed, N failed".
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
bench=false
if [ "${1:-}" = "--bench" ]; then
  bench=true
  shift
fi
n="${1:-10000}"
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
model=models/fashion-mnist-k4.onnx
junit=/usr/share/java/junit-platform-console-standalone.jar
echo "java tests: building libedgehide_jni (test keys) and the edgehide binary"
profile=debug
cargo_flags=()
if $bench; then
  profile=release
  cargo_flags=(--release)
fi
cargo build --locked --quiet "${cargo_flags[@]}" -p edgehide-jni --features test-keys
cargo build --locked --quiet -p edgehide-cli
work="$(mktemp -d)"
server=""
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
source scripts/bridge-test-env.sh
write_test_frames "$n"
target/debug/edgehide pool build /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz \
  --limit 16 --out "$work/small.ehpool" >/dev/null
accuracy=$(eval_accuracy "$n")
dn_n=$(( n < 500 ? n : 500 ))
dn_accuracy=$(eval_accuracy "$dn_n" --model "$dn_model" --key "$dn_key")
start_server
mkdir -p "$work/classes"
javac --release 17 -Xlint:all -Werror -cp "$junit" -d "$work/classes" \
  android/edgehide/src/main/java/org/edgehide/*.java android/edgehide/src/test/java/org/edgehide/*.java
set +e
java -Xcheck:jni -Djava.library.path="target/$profile" \
  -Dedgehide.sidecar="${model%.onnx}.json" -Dedgehide.url="$url" \
  -Dedgehide.frames="$work/frames.raw" -Dedgehide.labels="$work/labels.raw" \
  -Dedgehide.n="$n" -Dedgehide.eval="$accuracy" -Dedgehide.pool="$work/small.ehpool" \
  -Dedgehide.bench="$bench" \
  -Dedgehide.dn.sidecar="${dn_model%.onnx}.json" -Dedgehide.dn.key="$dn_key" \
  -Dedgehide.dn.n="$dn_n" -Dedgehide.dn.eval="$dn_accuracy" \
  -jar "$junit" --class-path "$work/classes" --scan-class-path \
  --disable-banner --disable-ansi-colors --details=tree >"$work/junit.log" 2>&1
set -e
cat "$work/junit.log"
passed=$(grep -oP '\[\s*\K[0-9]+(?= tests successful)' "$work/junit.log" || echo 0)
failed=$(grep -oP '\[\s*\K[0-9]+(?= tests failed)' "$work/junit.log" || echo 0)
if grep -q "WARNING in native method\|FATAL ERROR in native method" "$work/junit.log"; then
  echo "java tests: -Xcheck:jni reported a JNI misuse" >&2
  failed=$((failed + 1))
fi
[ "$passed" -gt 0 ] || failed=$((failed + 1))
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
