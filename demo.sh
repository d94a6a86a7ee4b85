#!/usr/bin/env bash
# The main job: the end-to-end demo on the embedded defaults (bundled corpus,
# Fashion-MNIST geometry, GPU through wgpu with CPU fallback). Extra arguments
# go to `edgehide demo` (e.g. image paths, --n 32, --backend cpu).
set -euo pipefail
cd "$(dirname "$0")"
scripts/install-deps.sh
cargo build --release --locked --quiet
exec target/release/edgehide demo "$@"
