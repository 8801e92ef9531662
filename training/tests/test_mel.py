import math

import numpy as np
import torch

from memsynth_train import data as D
from memsynth_train.mel import HOP, LogMel, hz_to_mel, istft, mel_filterbank, mel_to_hz


def test_slaney_scale_is_linear_below_1_khz_and_round_trips():
    assert abs(hz_to_mel(1000.0) - 15.0) < 1e-12
    for hz in (50.0, 999.0, 1000.0, 4000.0, 11999.0):
        assert abs(mel_to_hz(hz_to_mel(hz)) - hz) < 1e-9


def test_filterbank_areas_are_normalised():
    fb = mel_filterbank().astype(np.float64)
    assert fb.shape == (128, 513)
    assert (fb.sum(1) > 0).all()
    # Slaney norm: each triangle has unit area in Hz (bin width 23.4375 Hz), up to sampling.
    area = fb.sum(1) * 24000 / 1024
    assert abs(area[20:].mean() - 1.0) < 0.01 and np.allclose(area[90:], 1.0, atol=0.05)


def test_a_1_khz_sine_lands_in_the_band_centred_on_1_khz():
    t = torch.arange(24000) / 24000
    mel = LogMel()(torch.sin(2 * math.pi * 1000 * t)[None])
    assert mel.shape == (1, 128, 24000 // HOP + 1)
    band = int(mel[0, :, 48].argmax())
    lo, hi = hz_to_mel(0), hz_to_mel(12000)
    centre = mel_to_hz(lo + (hi - lo) * (band + 1) / 129)
    assert abs(centre - 1000) < 60, centre


def test_silence_is_the_log_floor():
    mel = LogMel()(torch.zeros(1, 2500))
    assert torch.allclose(mel, torch.full_like(mel, math.log(1e-5)))


def test_istft_inverts_the_stft():
    t = torch.arange(12000) / 24000
    x = (0.5 * torch.sin(2 * math.pi * 440 * t))[None]
    lm = LogMel()
    spec = torch.stft(x, 1024, HOP, 1024, lm.window, center=True, pad_mode="constant", return_complex=True)
    y = istft(spec.abs(), spec.angle(), x.shape[-1])
    assert (y - x)[:, 1024:-1024].abs().max() < 1e-4


def test_python_mel_matches_the_rust_export(real_dataset):
    """Parity with `src/dsp/` on real exported segments: ≤ 1e-3 wherever the mel is above
    ln(1e-5)+2 (f32 FFT rounding of near-silent bins moves the log a little more there), and
    never more than 5e-3. The first and last 3 frames see neighbouring audio in the export."""
    seg = D.load_segments(real_dataset, max_rows=16)
    ours = LogMel()(torch.from_numpy(seg.audio)).numpy()[:, :, :192].transpose(0, 2, 1)
    diff = np.abs(ours - seg.mel)[:, 3:-3]
    ref = seg.mel[:, 3:-3]
    assert diff[ref > -9.5].max() <= 1e-3
    assert diff.max() <= 5e-3
