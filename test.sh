#!/usr/bin/env bash
# The tests: unit, integration (known-answer vectors, GPU vs CPU on the
# software Vulkan adapter, key statistics, bad input, CLI) and the benches
# run once each as smoke tests. EDGEHIDE_REQUIRE_GPU=1 makes a missing GPU
# adapter a failure instead of a skip (CI sets it).
set -euo pipefail
cd "$(dirname "$0")"
scripts/install-deps.sh
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
cargo test --locked --all-targets "$@"
# The training pipeline's data path, without PyTorch (NumPy comes with the
# onnxruntime wheel in .venv).
EDGEHIDE_BIN="$PWD/target/debug/edgehide" PYTHONPATH=training \
  .venv/bin/python -m unittest -q training/test_edgehide_data.py
