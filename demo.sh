#!/usr/bin/env bash
# The main job: the end-to-end demo on the embedded defaults (bundled corpus,
# Fashion-MNIST geometry, GPU through wgpu with CPU fallback). Extra arguments
# go to `edgehide demo` (e.g. image paths, --n 32, --backend cpu).
set -euo pipefail
cd "$(dirname "$0")"
scripts/install-deps.sh
echo "building the edgehide binary (release; a few minutes the first time)" >&2
cargo build --release --locked -p edgehide-cli
exec target/release/edgehide demo "$@"
