#!/usr/bin/env bash
# Creates training/.venv with PyTorch (CPU use; the PyPI wheel), ONNX export
# support and NumPy. Training only: CI and the product never need it.
set -euo pipefail
cd "$(dirname "$0")"
python3 -m venv .venv
.venv/bin/pip install --quiet --upgrade pip
.venv/bin/pip install --quiet -r requirements.txt
.venv/bin/python -c "import torch, onnx; print('torch', torch.__version__, 'onnx', onnx.__version__)"
