#!/usr/bin/env bash
# Every test: formatting, lints, and the whole test suite (unit, integration, doc tests).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

if cargo fmt --version >/dev/null 2>&1; then
  cargo fmt --all --check
fi
if cargo clippy --version >/dev/null 2>&1; then
  cargo clippy --all-targets --locked -- -D warnings
fi
# The Python scripts (fixtures, comparisons) at least parse.
python3 -m py_compile tests/fixtures/*.py benches/*.py
cargo test --locked "$@"
