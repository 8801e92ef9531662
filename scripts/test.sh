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
