#!/usr/bin/env bash
# The main job: make the demo library (first run), analyse it, and print what it found.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
cargo run --release --quiet -- demo "$@"
