# Sourced by the bridges' test runners (ios/edgehide-ffi/tests/run.sh,
# android/edgehide/run-tests.sh): the Fashion-MNIST test frames they
# classify, what `edgehide eval` scores on them, and `edgehide serve` on a
# loopback port. Expects `model` and `work` set, and the debug edgehide
# binary built.

# The first $1 test frames (28x28 grey, raw) and labels into $work.
write_test_frames() {
  .venv/bin/python - "$1" "$work" <<'PY'
import gzip, sys, pathlib
n, out = int(sys.argv[1]), pathlib.Path(sys.argv[2])
d = pathlib.Path("/usr/share/datasets/fashion-mnist")
(out / "frames.raw").write_bytes(gzip.open(d / "t10k-images-idx3-ubyte.gz").read()[16:16 + n * 784])
(out / "labels.raw").write_bytes(gzip.open(d / "t10k-labels-idx1-ubyte.gz").read()[8:8 + n])
PY
}

# `edgehide eval`'s accuracy on the first $1 test frames, for `$model` or
# for the model and key (DisguisedNets) given after it.
eval_accuracy() {
  local n="$1"
  shift
  [ $# -gt 0 ] || set -- --model "$model"
  target/debug/edgehide eval "$@" --limit "$n" --backend cpu 2>/dev/null \
    | grep -oP '^accuracy: \K[0-9.]+'
}

# The DisguisedNets model the bridges' keyed tests classify with, beside
# `$model` on the same server (the server never holds the key).
dn_model=models/fashion-mnist-dn-b4.onnx
dn_key=models/fashion-mnist-dn-b4.ehkey

# Starts the server with `$model` and `$dn_model`; sets `server` (its pid)
# and `url`.
start_server() {
  target/debug/edgehide serve --model "$model" --model "$dn_model" --addr 127.0.0.1:0 \
    >"$work/serve.log" 2>&1 &
  server=$!
  for _ in $(seq 1 100); do
    grep -q "listening on" "$work/serve.log" && break
    sleep 0.1
  done
  url=$(grep -oP 'listening on \K\S+' "$work/serve.log")
}
