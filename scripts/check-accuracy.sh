#!/usr/bin/env bash
# CI gate: the bundled default model, evaluated through the Rust pipeline on
# the first 2,000 Fashion-MNIST test images (fresh keys), must be within 2
# points of the figure docs/ACCURACY.md states for that subset.
set -euo pipefail
cd "$(dirname "$0")/.."
model=models/fashion-mnist-k8-digits.onnx
stated=$(grep -oP '^ci-gate: \K[0-9.]+' docs/ACCURACY.md)
got=$(target/release/edgehide eval --model "$model" --limit 2000 --backend cpu 2>/dev/null | grep -oP '^accuracy: \K[0-9.]+')
echo "default model on 2,000 test images: $got (docs/ACCURACY.md states $stated)"
python3 -c "import sys; g, s = float('$got'), float('$stated'); sys.exit(0 if g >= s - 0.02 else 1)" \
  || { echo "accuracy more than 2 points below the stated figure" >&2; exit 1; }
