"""Synthetic motion for training until recorded sessions exist, and e_motion features.

`encode_bar` is a NumPy port of the Rust RPS encoder (`src/motion/encoder.rs`): 13 channels
(accel x/y/z, gyro x/y/z, gravity x/y/z, roll/pitch/yaw, accel magnitude) on a 100 Hz grid, one
bar → 8 features per channel (mean, deviation, range, jerk, beat_energy, dominant_freq,
centroid, zero_crossings) = 104-D e_motion.

`synthesize_bar` is the documented generator of one bar of phone motion from a window's
phrase features (e_phrase z-scored per dimension over the dataset, `ez`), its tempo and a
seeded RNG. It follows the direction of the server's default linear map
(`src/motion/mapper.rs`), so the mapper learns the same kind of relation a performer would
show:

| phrase feature (z) | drives |
|---|---|
| rhythm.low 0–15 (16-step onset pattern) | vertical bounce: accel_z impulses on those steps, amplitude ∝ energy |
| rhythm.mid 16–31 | accel_x impulses (arm swings) |
| rhythm.high 32–47 | accel_y impulses, short (wrist flicks): jerk |
| rhythm.density 61 | extra impulses on random steps |
| rhythm.pulse_clarity 63 | how exactly impulses land on the steps (timing jitter 5–40 ms) |
| timbre.loudness 254 | overall amplitude ("energy", 0.3–2.5 × ) |
| timbre.brightness 182 | pitch (phone tilted up) mean and gyro deviation |
| harmony.change 125 | roll rocking: amplitude of a half-bar roll oscillation |
| harmony.key_clarity 126 | roll mean (leaning), negated |

Impulses are damped 5 Hz sines (60 ms decay); gravity is 9.81 m/s² rotated by roll and
pitch; yaw drifts randomly; every channel gets Gaussian sensor noise; a random per-bar gain
(0.7–1.3) stands for how differently performers move.
"""

import numpy as np

GRID_HZ = 100
BAR_POINTS = 256
CHANNELS = 13
FEATURES = 8
E_MOTION_DIMS = CHANNELS * FEATURES
ANGLES = 9


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def encode_channel(x: np.ndarray, frame_rate: float, bars_per_second: float) -> np.ndarray:
    """The 8 features of one channel's bar, as `Encoder::channel` computes them: the same
    precision at each step (f32 values, resampling and zero-crossing test; f64 sums), so
    only the FFT (f64 here, f32 there) and summation order differ (tests/motion_parity.rs)."""
    f32 = np.float32
    n = len(x)
    x = np.asarray(x, dtype=f32)
    frame_rate, bars_per_second = f32(frame_rate), f32(bars_per_second)
    x64 = x.astype(np.float64)
    mean = float(np.sum(x64) / n)
    var = float(np.sum((x64 - mean) ** 2) / n)
    # Jerk: mean |Δ| per grid step (Δ taken in f32, summed in f64) × frame rate, i.e. total
    # variation per second — not an RMS derivative.
    jerk = f32(f32(np.sum(np.abs(np.diff(x)).astype(np.float64)) / (n - 1)) * frame_rate)
    m = f32(mean)
    eps = f32(1e-6)
    s = np.where(x > m + eps, 1, np.where(x < m - eps, -1, 0))
    s = s[s != 0]
    crossings = int(np.sum(s[1:] != s[:-1]))
    out = np.zeros(FEATURES, dtype=f32)
    out[0], out[1], out[2], out[3] = m, f32(np.sqrt(var)), x.max() - x.min(), jerk
    out[7] = f32(crossings) * frame_rate / f32(n)
    if var <= 1e-10:
        return out
    # The bar resampled linearly to BAR_POINTS (bin k = k cycles per bar), mean removed.
    pos = np.arange(BAR_POINTS, dtype=f32) * f32(n - 1) / f32(BAR_POINTS - 1)
    i = np.minimum(np.floor(pos).astype(np.int64), n - 1)
    frac = pos - i.astype(f32)
    a, b = x[i], x[np.minimum(i + 1, n - 1)]
    r = a + (b - a) * frac - m
    spec = np.fft.rfft(r.astype(np.float64))
    # One-sided power: every bin but DC and Nyquist stands for two; DC is dropped.
    power = np.abs(spec) ** 2
    power[1:-1] *= 2.0
    power[0] = 0.0
    total = power[1:].sum()
    if total <= 0:
        return out
    k = np.arange(len(power))
    out[4] = power[4::4].sum() / total
    out[5] = f32(int(np.argmax(power[1:]) + 1)) * bars_per_second
    out[6] = f32((power[1:] * k[1:]).sum() / total) * bars_per_second
    return out


def wrap(a) -> np.float32:
    """`a` wrapped into (−π, π] in f32, as `sensors::wrap`."""
    pi = np.float32(np.pi)
    y = np.fmod(np.float32(a) + pi, np.float32(2) * pi)
    if y < 0:
        y = y + np.float32(2) * pi
    y = y - pi
    return pi if y == -pi else np.float32(y)


def encode_bar(frames: np.ndarray, bpm: float, frame_rate: float = GRID_HZ) -> np.ndarray:
    """frames [n, 13] on the 100 Hz grid, one bar → e_motion [104] (raw, not normalised)."""
    bars_per_second = np.float32(1.0 / (240.0 / max(bpm, 1.0)))
    out = np.zeros(E_MOTION_DIMS, dtype=np.float32)
    for c in range(CHANNELS):
        f = encode_channel(frames[:, c], frame_rate, bars_per_second)
        if ANGLES <= c < ANGLES + 3:
            f[0] = wrap(f[0])
        out[c * FEATURES:(c + 1) * FEATURES] = f
    return out


# memsynth's own sensor kinds (`/motion/accel`, `/motion/gyro`, `/motion/gravity`,
# `/motion/attitude`), as a reading stream gives them: kind index → name.
READING_KINDS = ("accel", "gyro", "gravity", "attitude")
FRESH_SECONDS = 1.0


def grid_frames(readings, rate: int, end: int) -> np.ndarray:
    """The 100 Hz grid frames [written, 13] (f32) that `MotionInput` holds at sample `end`
    after taking `readings`, a time-ordered list of `(at, kind, (v0, v1, v2))` in memsynth's
    own format (SI, CoreMotion signs; attitude is pitch, roll, yaw), `at` on a `rate` Hz
    sample clock. Sample-and-hold as `Encoder::advance`: the grid starts at the first frame
    at or after the first reading, and frame F holds every reading at or before F. Channel
    values as `SensorState::update` (acceleration magnitude in f32, angles unwrapped).
    Gravity must come with a fresh attitude (sent within FRESH_SECONDS): tilt derived from
    gravity is not ported."""
    f32 = np.float32
    step = max(rate // GRID_HZ, 1)
    values = np.zeros(CHANNELS, dtype=f32)
    wrapped = None
    attitude_at = None
    frames = []
    nxt = None

    def advance(to):
        nonlocal nxt
        if nxt is None:
            nxt = -(-to // step) * step
            return
        while nxt < to:
            frames.append(values.copy())
            nxt += step

    for at, kind, v in readings:
        if at >= end:
            break
        advance(at)
        v = np.asarray(v, dtype=f32)
        name = READING_KINDS[kind]
        if name == "accel":
            values[0:3] = v
            values[12] = np.sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2])
        elif name == "gyro":
            values[3:6] = v
        elif name == "gravity":
            if attitude_at is None or at - attitude_at > FRESH_SECONDS * rate:
                raise ValueError("gravity without a fresh attitude: tilt from gravity is not ported")
            values[6:9] = v
        else:
            angles = np.array([v[1], v[0], v[2]], dtype=f32)
            if wrapped is None:
                values[9:12] = angles
            else:
                for k in range(3):
                    values[9 + k] = values[9 + k] + wrap(angles[k] - wrapped[k])
            wrapped = angles
            attitude_at = at
    if nxt is not None:
        advance(end)
    return np.array(frames, dtype=f32).reshape(-1, CHANNELS)


def encode_readings(readings, rate: int, end: int, bpm: float) -> np.ndarray | None:
    """e_motion [104] of the bar ending at sample `end` at `bpm`, as `MotionInput::encode`
    then `raw()`: the last bar's grid frames (fewer if fewer exist, stretched over the bar's
    spectrum); `None` when less than half a bar (or 8 frames) exists, or nothing arrived in
    the last bar (the phone went quiet)."""
    taken = [r[0] for r in readings if r[0] < end]
    if not taken or end - taken[-1] > int(rate * 240.0 / max(bpm, 1.0)):
        return None
    frames = grid_frames(readings, rate, end)
    step = max(rate // GRID_HZ, 1)
    step_seconds = step / rate
    bar_seconds = 240.0 / max(bpm, 1.0)
    want = min(max(int(np.floor(bar_seconds / step_seconds + 0.5)), 8), 1024)
    have = min(len(frames), want)
    if have < want // 2 or have < 8:
        return None
    return encode_bar(frames[-have:], bpm, frame_rate=np.float32(1.0 / step_seconds))


def _impulses(pattern, steps_t, n, amp, jitter_s, rng, freq=5.0, decay=0.06):
    t = np.arange(n) / GRID_HZ
    y = np.zeros(n)
    for k, st in enumerate(steps_t):
        a = amp * pattern[k % 16] ** 2
        if a < 1e-3:
            continue
        t0 = st + rng.normal(0, jitter_s)
        d = t - t0
        on = d >= 0
        y[on] += a * np.sin(2 * np.pi * freq * d[on]) * np.exp(-d[on] / decay)
    return y


def synthesize_bar(ez: np.ndarray, bpm: float, rng: np.random.Generator) -> np.ndarray:
    """One bar of 13-channel motion frames [n, 13] from a window's z-scored e_phrase."""
    bar_s = 240.0 / bpm
    n = max(8, int(round(bar_s * GRID_HZ)))
    t = np.arange(n) / GRID_HZ
    steps_t = np.arange(16) * bar_s / 16
    energy = 0.3 + 2.2 * _sigmoid(ez[254]) * rng.uniform(0.7, 1.3)
    jitter = 0.005 + 0.035 * (1 - _sigmoid(ez[63]))
    low, mid, high = _sigmoid(ez[0:16]), _sigmoid(ez[16:32]), _sigmoid(ez[32:48])
    extra = rng.random(16) < 0.25 * _sigmoid(ez[61])
    low = np.maximum(low, extra * 0.8)
    acc = np.zeros((n, 3))
    acc[:, 0] = _impulses(mid, steps_t, n, 3.0 * energy, jitter, rng)
    acc[:, 1] = _impulses(high, steps_t, n, 2.0 * energy, jitter, rng, freq=9.0, decay=0.03)
    acc[:, 2] = _impulses(low, steps_t, n, 6.0 * energy, jitter, rng)
    roll_amp = 0.05 + 0.4 * _sigmoid(ez[125])
    roll = -0.3 * (_sigmoid(ez[126]) - 0.5) + roll_amp * np.sin(2 * np.pi * 2 * t / bar_s + rng.uniform(0, 2 * np.pi))
    pitch = 0.6 * (_sigmoid(ez[182]) - 0.5) + 0.05 * energy * np.sin(2 * np.pi * 4 * t / bar_s)
    yaw = np.cumsum(rng.normal(0, 0.01, n)) + rng.uniform(-np.pi, np.pi)
    gyro = np.stack([np.gradient(roll) * GRID_HZ, np.gradient(pitch) * GRID_HZ, np.gradient(yaw) * GRID_HZ], 1)
    gyro += (0.1 + 0.5 * _sigmoid(ez[182])) * energy * rng.normal(0, 0.3, (n, 3))
    grav = 9.81 * np.stack([-np.sin(pitch), np.sin(roll) * np.cos(pitch), np.cos(roll) * np.cos(pitch)], 1)
    frames = np.zeros((n, CHANNELS))
    frames[:, 0:3] = acc + rng.normal(0, 0.05, (n, 3))
    frames[:, 3:6] = gyro + rng.normal(0, 0.02, (n, 3))
    frames[:, 6:9] = grav + rng.normal(0, 0.02, (n, 3))
    frames[:, 9], frames[:, 10], frames[:, 11] = roll, pitch, yaw
    frames[:, 12] = np.linalg.norm(frames[:, 0:3], axis=1)
    return frames.astype(np.float32)


def zscore_params(e_phrase: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mu = e_phrase.mean(0)
    sd = e_phrase.std(0)
    return mu, np.where(sd > 1e-8, sd, 1.0)


def synthetic_e_motion(e_phrase: np.ndarray, tempo: np.ndarray, seed: int,
                       stats: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Raw e_motion [n, 104] of one synthetic bar per row (seeded per row index)."""
    mu, sd = stats if stats is not None else zscore_params(e_phrase)
    ez = (e_phrase - mu) / sd
    out = np.zeros((len(e_phrase), E_MOTION_DIMS), dtype=np.float32)
    for i in range(len(e_phrase)):
        rng = np.random.default_rng([seed, i])
        out[i] = encode_bar(synthesize_bar(ez[i], float(tempo[i]), rng), float(tempo[i]))
    return out


class MotionNormalizer:
    """z-scores of e_motion with fixed statistics (the server's Normalizer does this with a
    performer's running statistics); deviations floored so still channels stay finite."""

    def __init__(self, mean: np.ndarray, std: np.ndarray):
        self.mean, self.std = mean.astype(np.float32), np.maximum(std, 1e-3).astype(np.float32)

    @classmethod
    def fit(cls, e_motion: np.ndarray) -> "MotionNormalizer":
        return cls(e_motion.mean(0), e_motion.std(0))

    def __call__(self, e_motion: np.ndarray) -> np.ndarray:
        return ((e_motion - self.mean) / self.std).astype(np.float32)
