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

if cargo fmt --version >/dev/null 2>&1; then
  cargo fmt --all --check
fi
if cargo clippy --version >/dev/null 2>&1; then
  cargo clippy --all-targets --locked -- -D warnings
fi
# The Python scripts (fixtures, comparisons) at least parse.
python3 -m py_compile tests/fixtures/*.py tests/fixtures/osc/*.py benches/*.py
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
