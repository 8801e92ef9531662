#!/usr/bin/env bash
# Training CI: the venv (made only when missing), a dataset exported from the demo database,
# every tiny config trained a few steps, ONNX export (+ parity fixtures), eval, pytest.
#
#   bash training/ci.sh
#
# Needs a memsynth binary (MEMSYNTH_BIN, else the newer of target/{release,debug}/memsynth,
# else a debug build). Keeps the demo database, the exported tiny models and their parity
# fixtures in target/training-ci/ (MEMSYNTH_CI_DIR) for the Rust parity tests; the dataset
# export (1.3 GB) is deleted at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
VENV=${MEMSYNTH_TRAIN_VENV:-.venv-train}
PY=$VENV/bin/python
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} OMP_WAIT_POLICY=PASSIVE PYTHONWARNINGS=ignore
CI_DIR=${MEMSYNTH_CI_DIR:-target/training-ci}
step() { echo "[training/ci $(( $(date +%s) - started ))s] $*" >&2; }

if ! "$PY" -c "import memsynth_train, torch, onnx, onnxruntime, onnxscript, accelerate, safetensors, yaml, pytest, tensorboard" 2>/dev/null; then
  step "making $VENV (torch from PyPI: ~3 min, ~3 GB)"
  [ -x "$PY" ] || python3 -m venv "$VENV"
  "$PY" -m pip install -q --upgrade pip
  "$PY" -m pip install -q -e "training[test]"
fi

BIN=${MEMSYNTH_BIN:-}
if [ -z "$BIN" ]; then
  BIN=$(ls -t target/release/memsynth target/debug/memsynth 2>/dev/null | head -n 1 || true)
fi
if [ -z "$BIN" ]; then
  step "building memsynth (debug)"
  cargo build -q -p memsynth-actors
  BIN=target/debug/memsynth
fi

mkdir -p "$CI_DIR"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/memsynth-training-ci.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
step "demo database and dataset export with $BIN"
"$BIN" demo --no-serve --data "$CI_DIR/demo" > "$WORK/demo.log" 2>&1 || { cat "$WORK/demo.log"; exit 1; }
"$BIN" db export-dataset --db "$CI_DIR/demo/demo-db" --out "$WORK/ds" | tail -n 1

RUNS=$WORK/runs
for model in vqvae vocoder mapper; do
  step "training $model (tiny)"
  "$PY" -m memsynth_train "$model" --config "configs/$model-tiny.yaml" --data "$WORK/ds" --out "$RUNS/$model" \
    | tail -n 1
done
step "training diffusion (tiny)"
"$PY" -m memsynth_train diffusion --config configs/diffusion-tiny.yaml --data "$WORK/ds" --out "$RUNS/diffusion" \
  --vqvae "$RUNS/vqvae" | tail -n 1

step "export (ONNX checked against torch in onnxruntime) and parity fixtures"
rm -rf "$CI_DIR/models" "$CI_DIR/fixtures"
"$PY" -m memsynth_train eval --runs "$RUNS" --data "$WORK/ds" --out "$RUNS/eval.json" --max-items 8 --max-rows 128 \
  > "$WORK/eval.log"
"$PY" -m memsynth_train export --runs "$RUNS" --data "$WORK/ds" --out "$CI_DIR/models" \
  --fixtures "$CI_DIR/fixtures" --eval "$RUNS/eval.json" 2>&1 | grep -E "^wrote"

step "pytest"
(cd training && MEMSYNTH_DATASET="$WORK/ds" "../$PY" -m pytest -q -p no:cacheprovider -W ignore)
step "done"
