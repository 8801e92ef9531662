"""The standard log-mel (DESIGN.md §3), matching `src/dsp/` exactly.

24 kHz mono, n_fft = win = 1024 periodic Hann, hop 250, centre padding with zeros, magnitude
spectrum, 128 Slaney mel bands with Slaney area norm from 0 to 12 kHz, ln(max(x, 1e-5)).
The filterbank is built the way `src/dsp/mel.rs` builds it (in float64, then f32).
"""

import math

import numpy as np
import torch

SAMPLE_RATE = 24000
N_FFT = 1024
HOP = 250
N_MELS = 128
F_MAX = 12000.0
LOG_FLOOR = 1e-5
FRAME_RATE = 96
FRAMES_PER_BEAT = 48
N_BINS = N_FFT // 2 + 1

_F_SP = 200.0 / 3.0
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP
_LOG_STEP = math.log(6.4) / 27.0


def hz_to_mel(hz: float) -> float:
    """Slaney scale (librosa htk=False)."""
    return _MIN_LOG_MEL + math.log(hz / _MIN_LOG_HZ) / _LOG_STEP if hz >= _MIN_LOG_HZ else hz / _F_SP


def mel_to_hz(mel: float) -> float:
    return _MIN_LOG_HZ * math.exp(_LOG_STEP * (mel - _MIN_LOG_MEL)) if mel >= _MIN_LOG_MEL else _F_SP * mel


def mel_filterbank(sr: int = SAMPLE_RATE, n_fft: int = N_FFT, n_mels: int = N_MELS,
                   fmin: float = 0.0, fmax: float = F_MAX) -> np.ndarray:
    """[n_mels, n_fft/2+1] float32 Slaney filterbank, as `MelFilterbank::new`."""
    n_bins = n_fft // 2 + 1
    lo, hi = hz_to_mel(fmin), hz_to_mel(fmax)
    edges = [mel_to_hz(lo + (hi - lo) * i / (n_mels + 1)) for i in range(n_mels + 2)]
    freqs = np.arange(n_bins, dtype=np.float64) * sr / n_fft
    fb = np.zeros((n_mels, n_bins), dtype=np.float64)
    for m in range(n_mels):
        left, centre, right = edges[m], edges[m + 1], edges[m + 2]
        rising = (freqs - left) / (centre - left)
        falling = (right - freqs) / (right - centre)
        fb[m] = np.maximum(np.minimum(rising, falling), 0.0) * (2.0 / (right - left))
    return fb.astype(np.float32)


def hann_periodic(n: int = N_FFT) -> torch.Tensor:
    return torch.hann_window(n, periodic=True, dtype=torch.float32)


class LogMel(torch.nn.Module):
    """Waveform [B, S] → log-mel [B, 128, 1 + S // 250] (channel-first)."""

    def __init__(self):
        super().__init__()
        self.register_buffer("window", hann_periodic(), persistent=False)
        self.register_buffer("fb", torch.from_numpy(mel_filterbank()), persistent=False)

    def magnitude(self, audio: torch.Tensor) -> torch.Tensor:
        spec = torch.stft(audio, N_FFT, HOP, N_FFT, self.window, center=True,
                          pad_mode="constant", return_complex=True)
        return spec.abs()

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        mag = self.magnitude(audio)
        mel = torch.einsum("mf,bft->bmt", self.fb, mag)
        return torch.log(torch.clamp(mel, min=LOG_FLOOR))


def istft(mag: torch.Tensor, phase: torch.Tensor, length: int | None = None) -> torch.Tensor:
    """The vocoder head's inverse STFT (the Rust side does the same): S = mag·e^{i·phase},
    [B, 513, T] → [B, length] with the periodic Hann window, hop 250, centre=True and
    window-square normalised overlap-add (torch.istft)."""
    spec = torch.polar(mag, phase)
    if length is None:
        length = mag.shape[-1] * HOP
    return torch.istft(spec, N_FFT, HOP, N_FFT, hann_periodic().to(mag.device), center=True,
                       length=length)
