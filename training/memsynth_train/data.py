"""Reading `memsynth db export-dataset` output (see `src/db/export.rs` for the format).

Everything is loaded into memory (the demo export is small; a 1.2-hour library is ~1.5 GB of
f32, held here as f16 when `half=True`). Batches are drawn by a generator seeded with
(seed, step, rank), so a resumed run sees exactly the batches an uninterrupted one would.
"""

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from safetensors import safe_open

CONTEXT_FRAMES = 192  # one 4/4 bar at 48 frames per beat
WINDOW_FRAMES = 768  # four bars
BAR_POS_DIMS = 16
E_PHRASE_DIMS = 256
E_MOTION_DIMS = 104
COND_DIMS = E_PHRASE_DIMS + E_MOTION_DIMS + BAR_POS_DIMS


def read_manifest(data_dir: str | Path) -> dict:
    path = Path(data_dir) / "manifest.json"
    manifest = json.loads(path.read_text())
    if manifest.get("format") != "memsynth-dataset":
        raise ValueError(f"{path} is not a memsynth dataset export")
    if not manifest.get("complete", False):
        raise ValueError(f"{path}: the export did not finish; run `memsynth db export-dataset` again")
    return manifest


def _load_kind(data_dir: Path, prefix: str, max_rows: int | None = None) -> dict[str, np.ndarray]:
    """All shards of one kind, concatenated; with `max_rows`, rows spread evenly over the
    shards (so a quick run still sees every part of the library), at most that many."""
    files = sorted(data_dir.glob(f"{prefix}-*.safetensors"))
    parts: dict[str, list[np.ndarray]] = {}
    per_file = None if not max_rows else max(1, -(-max_rows // max(len(files), 1)))
    for f in files:
        with safe_open(str(f), framework="np") as st:
            for k in st.keys():
                sl = st.get_slice(k)
                n = sl.get_shape()[0]
                parts.setdefault(k, []).append(sl[: n if per_file is None else min(n, per_file)])
    out = {k: np.concatenate(v) for k, v in parts.items()}
    if max_rows:
        out = {k: v[:max_rows] for k, v in out.items()}
    return out


def held_back(phrase_id: np.ndarray, every: int) -> np.ndarray:
    """The evaluation split: phrases whose id is a multiple of `every` are held back
    (deterministic, the same for every model; 0 or 1 holds back nothing)."""
    if every <= 1:
        return np.zeros(phrase_id.shape, dtype=bool)
    return (phrase_id.astype(np.int64) % every) == 0


def bar_position_encoding(first_bar: np.ndarray, phrase_bars: np.ndarray) -> np.ndarray:
    """The 16-D bar-position code of a 4-bar window (the U-Net's cond[360:376]).

    With w = the window's first bar in its phrase (0-based) and n = the phrase's bars:
      0..8   sin, cos of 2π·w/P for P = 2, 4, 8, 16 (the window's phase in the hypermeter)
      8..12  sin, cos of π·k·w/max(n − 4, 1) for k = 1, 2 (relative position, 0 at the start)
      12     1 if w == 0 (the phrase's opening window)
      13     1 if w + 4 == n (its closing window)
      14     min(w, 16) / 16
      15     min(n, 32) / 32
    """
    w = np.asarray(first_bar, dtype=np.float64)
    n = np.asarray(phrase_bars, dtype=np.float64)
    out = np.zeros(w.shape + (BAR_POS_DIMS,), dtype=np.float64)
    for i, period in enumerate((2, 4, 8, 16)):
        out[..., 2 * i] = np.sin(2 * math.pi * w / period)
        out[..., 2 * i + 1] = np.cos(2 * math.pi * w / period)
    rel = w / np.maximum(n - 4, 1)
    for k in (1, 2):
        out[..., 8 + 2 * (k - 1)] = np.sin(math.pi * k * rel)
        out[..., 9 + 2 * (k - 1)] = np.cos(math.pi * k * rel)
    out[..., 12] = w == 0
    out[..., 13] = (w + 4) == n
    out[..., 14] = np.minimum(w, 16) / 16
    out[..., 15] = np.minimum(n, 32) / 32
    return out.astype(np.float32)


@dataclass
class Windows:
    """Tempo-normalised 5-bar windows (context bar + 4 bars), mel [n, 960, 128]."""

    mel: np.ndarray
    context_valid: np.ndarray
    e_phrase: np.ndarray
    bar_position: np.ndarray
    track_id: np.ndarray
    phrase_id: np.ndarray
    tempo: np.ndarray

    def __len__(self) -> int:
        return len(self.phrase_id)

    def subset(self, mask: np.ndarray) -> "Windows":
        return Windows(**{k: getattr(self, k)[mask] for k in self.__dataclass_fields__})

    def bar_code(self) -> np.ndarray:
        return bar_position_encoding(self.bar_position[:, 0], self.bar_position[:, 1])


@dataclass
class Segments:
    """2-s vocoder segments: audio [n, 48000] and their log-mel [n, 192, 128]."""

    audio: np.ndarray
    mel: np.ndarray
    phrase_id: np.ndarray
    track_id: np.ndarray

    def __len__(self) -> int:
        return len(self.phrase_id)

    def subset(self, mask: np.ndarray) -> "Segments":
        return Segments(**{k: getattr(self, k)[mask] for k in self.__dataclass_fields__})


def load_windows(data_dir: str | Path, half: bool = False, max_rows: int | None = None) -> Windows:
    data_dir = Path(data_dir)
    read_manifest(data_dir)
    t = _load_kind(data_dir, "windows", max_rows)
    if not t:
        raise ValueError(f"{data_dir} holds no windows-*.safetensors (no 4/4 phrases of 4 bars?)")
    mel = t["mel"].astype(np.float16) if half else t["mel"]
    return Windows(mel=mel, context_valid=t["context_valid"].astype(bool), e_phrase=t["e_phrase"],
                   bar_position=t["bar_position"].astype(np.int64), track_id=t["track_id"],
                   phrase_id=t["phrase_id"], tempo=t["tempo"])


def load_segments(data_dir: str | Path, max_rows: int | None = None) -> Segments:
    data_dir = Path(data_dir)
    read_manifest(data_dir)
    t = _load_kind(data_dir, "vocoder", max_rows)
    if not t:
        raise ValueError(f"{data_dir} holds no vocoder-*.safetensors")
    return Segments(audio=t["audio"], mel=t["mel"], phrase_id=t["phrase_id"], track_id=t["track_id"])


def split(ds, every: int):
    """(train, held back) by phrase id; when everything would be held back, or nothing is,
    training uses all rows and the held-back set is what `held_back` gives (possibly empty)."""
    mask = held_back(ds.phrase_id, every)
    train = ds.subset(~mask) if (~mask).any() else ds
    return train, ds.subset(mask)


def batch_indices(n: int, batch: int, seed: int, step: int, rank: int = 0) -> np.ndarray:
    rng = np.random.default_rng([seed, step, rank])
    return rng.integers(0, n, size=batch)


def step_rng(seed: int, step: int, rank: int = 0) -> np.random.Generator:
    return np.random.default_rng([seed, step, rank, 7])
