#!/usr/bin/env bash
# Runs memsynth's fuzz targets for a while each, on the stable tool-chain:
#   fuzz/run.sh [SECONDS=30] [TARGET…]        (targets: osc_dispatch patch_parse)
# Installs cargo-fuzz into ~/.cargo/bin once. New corpus entries go to fuzz/corpus/TARGET
# (not committed); a crash leaves its input in fuzz/artifacts/TARGET/ and fails the run:
# keep it as a test in tests/fuzz_regressions.rs once fixed.
set -euo pipefail
cd "$(dirname "$0")"
secs="${1:-30}"
shift || true
targets=("$@")
((${#targets[@]})) || targets=(osc_dispatch patch_parse)

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "installing cargo-fuzz (once) …" >&2
  cargo install --locked cargo-fuzz --version 0.13.2
fi
# cargo-fuzz asks for nightly; with --sanitizer none it only needs the stable compiler's
# sanitizer-coverage passes, which RUSTC_BOOTSTRAP lets it use.
export RUSTC_BOOTSTRAP=1
flags=(--sanitizer none --debug-assertions)

declare -A seeds=([osc_dispatch]="seeds/osc_dispatch" [patch_parse]="seeds/patch_parse ../patches")
for target in "${targets[@]}"; do
  mkdir -p "corpus/$target"
  echo "fuzzing $target for ${secs} s …" >&2
  # shellcheck disable=SC2086 # the seed folders are a list
  cargo fuzz run "${flags[@]}" "$target" "corpus/$target" ${seeds[$target]} -- \
    -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    2>"corpus/$target.log" || {
    tail -40 "corpus/$target.log" >&2
    echo "fuzz target $target failed: the input is in fuzz/artifacts/$target/" >&2
    exit 1
  }
  grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb|^#[0-9]+.*DONE" \
    "corpus/$target.log" >&2 || true
done
