"""A small synthetic dataset in the `memsynth db export-dataset` format, so the tests need no
Rust build; set MEMSYNTH_DATASET to an export folder to also run the tests against real data
(the mel parity test needs it)."""

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.numpy import save_file

from memsynth_train.mel import LogMel

torch.set_num_threads(1)

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "configs"
HASH = "0" * 64


def _windows(n, rng):
    t = np.arange(960)[None, :, None]
    f = np.arange(128)[None, None, :]
    phase = rng.uniform(0, 2 * np.pi, (n, 1, 1))
    beats = np.cos(2 * np.pi * t / 48 + phase) * np.exp(-f / 40)
    mel = (-6 + 2 * beats + 0.3 * rng.standard_normal((n, 960, 128))).astype(np.float32)
    pid = np.repeat(np.arange(1, n // 2 + 1), 2)[:n].astype(np.uint32)
    return {
        "mel": mel,
        "context_valid": (np.arange(n) % 3 != 0).astype(np.uint8),
        "e_phrase": rng.standard_normal((n, 256)).astype(np.float32) * 0.1,
        "bar_position": np.stack([np.arange(n) % 2, np.full(n, 5)], 1).astype(np.uint16),
        "track_id": (pid // 4).astype(np.uint32),
        "phrase_id": pid,
        "tempo": rng.uniform(90, 150, n).astype(np.float32),
    }


def _segments(n, rng):
    sr = 24000
    t = np.arange(48000) / sr
    audio = np.stack([0.3 * np.sin(2 * np.pi * rng.uniform(100, 2000) * t) * (1 + np.sin(2 * np.pi * 2 * t))
                      + 0.01 * rng.standard_normal(48000) for _ in range(n)]).astype(np.float32)
    mel = LogMel()(torch.from_numpy(audio)).numpy()[:, :, :192].transpose(0, 2, 1).copy()
    pid = np.repeat(np.arange(5, 5 + n // 2), 2)[:n].astype(np.uint32)  # 10 is held back
    return {"audio": audio, "mel": mel, "phrase_id": pid, "track_id": (pid // 4).astype(np.uint32)}


@pytest.fixture(scope="session")
def dataset(tmp_path_factory) -> Path:
    if os.environ.get("MEMSYNTH_DATASET"):
        return Path(os.environ["MEMSYNTH_DATASET"])
    d = tmp_path_factory.mktemp("dataset")
    rng = np.random.default_rng(0)
    w = _windows(24, rng)
    s = _segments(12, rng)
    meta = {"kind": "windows", "standard_hash": HASH}
    save_file({k: v[:12] for k, v in w.items()}, str(d / "windows-00000.safetensors"), metadata=meta)
    save_file({k: v[12:] for k, v in w.items()}, str(d / "windows-00001.safetensors"), metadata=meta)
    save_file(s, str(d / "vocoder-00000.safetensors"), metadata={"kind": "vocoder", "standard_hash": HASH})
    (d / "manifest.json").write_text(json.dumps({
        "format": "memsynth-dataset", "format_version": 1, "complete": True,
        "feature_standard": "synthetic test data\n", "standard_hash": HASH,
        "database": {"generation": 1},
        "counts": {"tracks": 4, "phrases": 12, "windows": 24, "vocoder_segments": 12}}))
    return d


@pytest.fixture(scope="session")
def real_dataset() -> Path:
    if not os.environ.get("MEMSYNTH_DATASET"):
        pytest.skip("set MEMSYNTH_DATASET to a `memsynth db export-dataset` folder")
    return Path(os.environ["MEMSYNTH_DATASET"])


def train(model, dataset, out, steps, *extra, config=None):
    from memsynth_train.__main__ import main
    cfg = config or str(CONFIGS / f"{model}-tiny.yaml")
    args = [model, "--config", cfg, "--data", str(dataset), "--out", str(out), "--steps", str(steps), *extra]
    assert main(args) == 0
    return out


@pytest.fixture(scope="session")
def tiny_runs(dataset, tmp_path_factory) -> Path:
    """Every model trained a few steps from its tiny config, in one runs folder."""
    runs = tmp_path_factory.mktemp("runs")
    train("vqvae", dataset, runs / "vqvae", 6)
    train("vocoder", dataset, runs / "vocoder", 4)
    train("diffusion", dataset, runs / "diffusion", 4, "--vqvae", str(runs / "vqvae"))
    train("mapper", dataset, runs / "mapper", 6)
    return runs
