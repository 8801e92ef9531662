import json
import math
from pathlib import Path

import numpy as np

from memsynth_train import motion as M


def _sine_bar(bpm, hz, amp=3.0):
    n = int(round(240 / bpm * M.GRID_HZ))
    t = np.arange(n) / M.GRID_HZ
    frames = np.zeros((n, M.CHANNELS), dtype=np.float32)
    frames[:, 0] = amp * np.sin(2 * np.pi * hz * t)
    return frames


def test_encoder_matches_the_rust_encoders_closed_form_values():
    # As src/motion/encoder.rs's test: 2 Hz at 120 BPM, amplitude 3 m/s².
    out = M.encode_bar(_sine_bar(120, 2.0), 120).reshape(13, 8)
    x = out[0]
    assert abs(x[0]) < 0.05 and abs(x[1] - 3 / math.sqrt(2)) < 0.05 and abs(x[2] - 6) < 0.1
    # Jerk is the mean |derivative| (total variation per second): 3·2π·2·2/π = 24.
    jerk = 24.0
    assert abs(x[3] - jerk) / jerk < 0.05
    assert x[4] > 0.9  # on the beat
    assert abs(x[5] - 2.0) < 0.01
    assert np.all(out[1] == 0)  # still channels have no spectrum


def test_off_tempo_motion_has_little_beat_energy():
    out = M.encode_bar(_sine_bar(120, 2.7), 120).reshape(13, 8)
    assert out[0, 4] < 0.5


def test_synthetic_motion_is_seeded_and_follows_energy():
    rng = np.random.default_rng(0)
    e = rng.standard_normal((6, 256)).astype(np.float32)
    tempo = np.full(6, 120.0, np.float32)
    a = M.synthetic_e_motion(e, tempo, 3)
    assert a.shape == (6, 104) and np.isfinite(a).all()
    assert np.array_equal(a, M.synthetic_e_motion(e, tempo, 3))
    loud, quiet = e.copy(), e.copy()
    loud[:, 254], quiet[:, 254] = 5.0, -5.0
    stats = (np.zeros(256), np.ones(256))
    dev = lambda em: em.reshape(-1, 13, 8)[:, 12, 1].mean()  # accel_mag deviation
    assert dev(M.synthetic_e_motion(loud, tempo, 1, stats)) > dev(M.synthetic_e_motion(quiet, tempo, 1, stats))


def test_the_committed_parity_fixture_is_what_this_encoder_computes():
    # tests/motion_parity.rs holds the Rust encoder to this fixture; this holds the NumPy
    # encoder to it, so a change on either side fails until the fixture is remade
    # (tests/fixtures/motion/make_motion_fixture.py) and both agree again.
    path = Path(__file__).resolve().parents[2] / "tests/fixtures/motion/motion_parity.json"
    fixture = json.loads(path.read_text())
    f32 = np.float32
    readings = [(r[0], r[1], [f32(v) / f32(1000) for v in r[2:]]) for r in fixture["readings"]]
    for bar in fixture["bars"]:
        e = M.encode_readings(readings, fixture["rate"], bar["end"], bar["bpm"])
        assert np.array_equal(e, np.array(bar["e_motion"], dtype=np.float32)), bar["bpm"]
