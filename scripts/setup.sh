#!/usr/bin/env bash
# Installs what memsynth needs to build and test, and nothing that is already there.
# Sourced by scripts/demo.sh and scripts/test.sh; safe to run again.
set -euo pipefail

# System packages the build needs: pkg-config for -sys crates, libclang-dev for bindgen
# (signalsmith-stretch, the time-stretcher), ALSA and JACK headers for cpal (audio out).
# For the tests' real peers and devices: liblo-tools (oscsend), jackd2 (the JACK dummy
# driver) and python3-venv (scripts/test.sh makes .venv-test with python-osc).
MEMSYNTH_APT_PACKAGES=(pkg-config libclang-dev libasound2-dev libjack-jackd2-dev
  liblo-tools jackd2 python3-venv supercollider-language) # sclang: actors/tests/sclang.rs

missing=()
for pkg in "${MEMSYNTH_APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  if [ "$(id -u)" = 0 ]; then sudo=""; elif command -v sudo >/dev/null; then sudo="sudo"; else
    echo "memsynth needs these packages: ${missing[*]}; install them (apt-get install ${missing[*]}) and run again" >&2
    exit 1
  fi
  echo "installing ${missing[*]} …" >&2
  $sudo apt-get update -qq
  # jackd2 asks whether to enable real-time limits; answer no instead of prompting.
  echo "jackd2 jackd/tweak_rt_limits boolean false" | $sudo debconf-set-selections
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null; then
  echo "memsynth needs the Rust tool-chain (cargo); install it from rustup and run again" >&2
  exit 1
fi
