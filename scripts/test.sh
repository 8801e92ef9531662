#!/usr/bin/env bash
# Every test: formatting, lints, and the whole test suite (unit, integration, doc tests).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

# python-osc for the OSC peer tests (actors/tests/peers.rs), in its own venv.
if ! .venv-test/bin/python -c "import pythonosc" 2>/dev/null; then
  echo "making .venv-test with python-osc …" >&2
  python3 -m venv .venv-test
  .venv-test/bin/python -m pip install -q python-osc
fi

# --- model (issue 7): ONNX Runtime's shared library for tests/model_parity.rs, which finds it
# by itself in ORT_DYLIB_PATH or .venv-{train,test,ref} (src/model/runtime.rs). cargo test runs
# before training/ci.sh makes .venv-train, so on a fresh checkout the onnxruntime wheel
# (~24 MB; ort 2.0.0-rc.15 needs ONNX Runtime >= 1.31) goes into .venv-test.
if [ -z "${ORT_DYLIB_PATH:-}" ] && ! ls .venv-*/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so* >/dev/null 2>&1; then
  echo "installing onnxruntime into .venv-test (model tests) …" >&2
  .venv-test/bin/python -m pip install -q "onnxruntime>=1.31"
fi
python3 -m py_compile tests/fixtures/model/*.py
# --- end model ---

if cargo fmt --version >/dev/null 2>&1; then
  cargo fmt --all --check
fi
if cargo clippy --version >/dev/null 2>&1; then
  cargo clippy --all-targets --locked -- -D warnings
fi
# The Python scripts (fixtures, comparisons) at least parse.
python3 -m py_compile tests/fixtures/*.py tests/fixtures/osc/*.py tests/fixtures/motion/*.py benches/*.py
cargo test --locked "$@"

# --- training (issue 7): tiny training of every model, ONNX export + parity fixtures, pytest.
# Runs after cargo test (set -e stops before it on a failure); makes .venv-train (torch from
# PyPI, ~3 min) only when it is missing. MEMSYNTH_SKIP_TRAINING=1 skips it.
if [ -z "${MEMSYNTH_SKIP_TRAINING:-}" ]; then
  bash training/ci.sh
fi
# --- end training ---

# --- fuzz (issue 6): each fuzz target for MEMSYNTH_FUZZ_SECONDS (default 30; 0 skips), 0
# crashes allowed (fuzz/run.sh; crashes are kept in tests/fuzz_regressions.rs). cargo-fuzz
# is installed once into ~/.cargo/bin; fuzz/target and fuzz/corpus persist between runs.
# sclang (actors/tests/sclang.rs) comes from setup.sh's package list.
python3 -m py_compile examples/touchosc/make_layout.py fuzz/seeds/make_seeds.py
if [ "${MEMSYNTH_FUZZ_SECONDS:-30}" != 0 ]; then
  fuzz/run.sh "${MEMSYNTH_FUZZ_SECONDS:-30}"
fi
# --- end fuzz ---
