#!/usr/bin/env bash
# The main job: make the demo library (first run), analyse it, print what it found, generate
# four bars with the shipped models, and serve the demo database over OSC.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
# ONNX Runtime for the shipped models: the library from the onnxruntime wheel, found in the
# repository's venvs (src/model/runtime.rs) unless ORT_DYLIB_PATH names one.
if [ -z "${ORT_DYLIB_PATH:-}" ] && ! ls .venv-*/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so* >/dev/null 2>&1; then
  echo "installing onnxruntime into .venv-test (for the models) …" >&2
  [ -x .venv-test/bin/python ] || python3 -m venv .venv-test
  .venv-test/bin/python -m pip install -q "onnxruntime>=1.31" python-osc
fi
cargo run --release --quiet -- demo "$@"
