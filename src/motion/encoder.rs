//! The RPS encoder: 13 channels on a 100 Hz control grid → the 104-D e_motion of one bar.
//!
//! Phones send at their own, irregular rates (TouchOSC ~30 Hz, ZIG SIM up to 60 Hz,
//! Sensors2OSC whatever Android delivers). [`Encoder::advance`] samples the
//! [`SensorState`](super::SensorState) onto a fixed grid of [`GRID_HZ`] frames on the
//! sample clock (sample-and-hold: a frame holds the latest reading at or before its time),
//! into a ring of [`MAX_FRAMES`]. [`Encoder::encode`] reads the frames of the bar that ends
//! at a given sample and computes 8 features per channel (see the [module docs](super) for
//! the table). Everything is allocated in [`Encoder::new`]; encoding allocates nothing.
//!
//! Tempo-aware: the bar is also resampled to [`BAR_POINTS`] points, so the spectrum's bin
//! `k` is "k cycles per bar" at any tempo, the beat is exactly bin 4 and its harmonics are
//! bins 8, 12, …: motion periodic with the beat puts all its variance there.

use std::sync::Arc;

use realfft::num_complex::Complex32;
use realfft::{RealFftPlanner, RealToComplex};

use super::sensors::{ANGLES, CHANNELS, SensorState};
use crate::live::transport::BEATS_PER_BAR;

/// Control grid rate, frames per second.
pub const GRID_HZ: u32 = 100;

/// Frames kept: 10.24 s, more than a bar at the slowest tempo (40 BPM: 6 s).
pub const MAX_FRAMES: usize = 1024;

/// Points the bar is resampled to for its spectrum (64 per beat in 4/4).
pub const BAR_POINTS: usize = 256;

/// Features per channel.
pub const FEATURES: usize = 8;

/// Dimensions of e_motion: 13 channels × 8 features.
pub const E_MOTION_DIMS: usize = CHANNELS * FEATURES;

/// The features of each channel, in order.
pub const FEATURE_NAMES: [&str; FEATURES] = [
    "mean",
    "deviation",
    "range",
    "jerk",
    "beat_energy",
    "dominant_freq",
    "centroid",
    "zero_crossings",
];

/// Index of a feature within a channel's 8.
pub mod feature {
    /// Mean over the bar.
    pub const MEAN: usize = 0;
    /// Standard deviation over the bar.
    pub const DEVIATION: usize = 1;
    /// Largest minus smallest value.
    pub const RANGE: usize = 2;
    /// Mean absolute time derivative (total variation per second).
    pub const JERK: usize = 3;
    /// Share of the variance periodic with the beat (0–1).
    pub const BEAT_ENERGY: usize = 4;
    /// Frequency of the strongest spectral bin, Hz.
    pub const DOMINANT_FREQ: usize = 5;
    /// Spectral centroid, Hz.
    pub const CENTROID: usize = 6;
    /// Crossings of the bar's mean per second.
    pub const ZERO_CROSSINGS: usize = 7;
}

/// Bars shorter than this many grid frames are not encoded (above 240 BPM is refused by
/// the transport anyway).
const MIN_FRAMES: usize = 8;

/// The encoder. See the module docs.
pub struct Encoder {
    rate: u32,
    /// Samples per grid frame (`rate / GRID_HZ`).
    step: u64,
    frames: Vec<[f32; CHANNELS]>,
    /// Frames written since the first reading.
    written: u64,
    /// The sample of the next frame to write; `None` before the first reading.
    next: Option<u64>,
    fft: Arc<dyn RealToComplex<f32>>,
    window: Vec<f32>,
    resampled: Vec<f32>,
    spectrum: Vec<Complex32>,
    scratch: Vec<Complex32>,
    power: Vec<f32>,
}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encoder")
            .field("rate", &self.rate)
            .field("written", &self.written)
            .field("next", &self.next)
            .finish_non_exhaustive()
    }
}

impl Encoder {
    /// An encoder for timestamps on a `rate` Hz sample clock (a multiple of [`GRID_HZ`]
    /// keeps the grid exact; others round the frame length).
    pub fn new(rate: u32) -> Self {
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(BAR_POINTS);
        let spectrum = fft.make_output_vec();
        let scratch = fft.make_scratch_vec();
        Self {
            rate,
            step: u64::from((rate / GRID_HZ).max(1)),
            frames: vec![[0.0; CHANNELS]; MAX_FRAMES],
            written: 0,
            next: None,
            fft,
            window: vec![0.0; MAX_FRAMES],
            resampled: vec![0.0; BAR_POINTS],
            power: vec![0.0; spectrum.len()],
            spectrum,
            scratch,
        }
    }

    /// Writes the grid frames before sample `to` from `state`; the first call only starts
    /// the grid at the first frame at or after `to` (nothing is known before it).
    pub fn advance(&mut self, to: u64, state: &SensorState) {
        let next = match self.next {
            Some(n) => n,
            None => {
                self.next = Some(to.div_ceil(self.step) * self.step);
                return;
            }
        };
        let mut next = next;
        while next < to {
            let slot = (self.written % MAX_FRAMES as u64) as usize;
            self.frames[slot] = *state.values();
            self.written += 1;
            next += self.step;
        }
        self.next = Some(next);
    }

    /// Frames written so far.
    pub fn frames_written(&self) -> u64 {
        self.written
    }

    /// Encodes the bar that ends at sample `end` at `bpm` into `out` (104 values, see the
    /// module docs), after advancing the grid to `end` from `state`. `false` (and `out`
    /// untouched) when fewer than half the bar's frames exist yet.
    ///
    /// # Panics
    ///
    /// When `out` is not [`E_MOTION_DIMS`] long.
    pub fn encode(&mut self, end: u64, bpm: f64, state: &SensorState, out: &mut [f32]) -> bool {
        assert_eq!(out.len(), E_MOTION_DIMS, "e_motion has {E_MOTION_DIMS} dims");
        if self.next.is_none() {
            return false;
        }
        self.advance(end, state);
        let bar_seconds = 60.0 * f64::from(BEATS_PER_BAR) / bpm.max(1.0);
        let step_seconds = self.step as f64 / f64::from(self.rate);
        let want = ((bar_seconds / step_seconds).round() as usize).clamp(MIN_FRAMES, MAX_FRAMES);
        let have = self.written.min(want as u64) as usize;
        if have < want / 2 || have < MIN_FRAMES {
            return false;
        }
        let bars_per_second = (1.0 / bar_seconds) as f32;
        let frame_rate = (1.0 / step_seconds) as f32;
        for c in 0..CHANNELS {
            for k in 0..have {
                let frame = (self.written - have as u64 + k as u64) % MAX_FRAMES as u64;
                self.window[k] = self.frames[frame as usize][c];
            }
            let f = &mut out[c * FEATURES..(c + 1) * FEATURES];
            self.channel(have, frame_rate, bars_per_second, f);
            if (ANGLES..ANGLES + 3).contains(&c) {
                // Angles are unwrapped on the grid; their mean is reported as an angle.
                f[feature::MEAN] = super::sensors::wrap(f[feature::MEAN]);
            }
        }
        true
    }

    /// The 8 features of `self.window[..n]`.
    fn channel(&mut self, n: usize, frame_rate: f32, bars_per_second: f32, out: &mut [f32]) {
        let x = &self.window[..n];
        let mean = x.iter().map(|&v| f64::from(v)).sum::<f64>() / n as f64;
        let var = x.iter().map(|&v| (f64::from(v) - mean).powi(2)).sum::<f64>() / n as f64;
        let (lo, hi) = x
            .iter()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| (lo.min(v), hi.max(v)));
        // Total variation per second: unlike an RMS derivative it is the same whether a
        // phone's readings land on the grid as many small steps or fewer large ones.
        let jerk = (x.windows(2).map(|w| f64::from((w[1] - w[0]).abs())).sum::<f64>()
            / (n - 1) as f64) as f32
            * frame_rate;
        let m = mean as f32;
        let mut crossings = 0u32;
        let mut sign = 0i8;
        for &v in x {
            let s = if v > m + 1e-6 {
                1
            } else if v < m - 1e-6 {
                -1
            } else {
                0
            };
            if s != 0 {
                if sign != 0 && s != sign {
                    crossings += 1;
                }
                sign = s;
            }
        }
        out[feature::MEAN] = m;
        out[feature::DEVIATION] = var.sqrt() as f32;
        out[feature::RANGE] = hi - lo;
        out[feature::JERK] = jerk;
        out[feature::ZERO_CROSSINGS] = crossings as f32 * frame_rate / n as f32;

        // The bar resampled to BAR_POINTS (linear), mean removed: bin k = k cycles per bar.
        // A bar only partly filled is stretched over the whole: its spectrum is approximate.
        for (j, r) in self.resampled.iter_mut().enumerate() {
            let pos = j as f32 * (n - 1) as f32 / (BAR_POINTS - 1) as f32;
            let i = (pos.floor() as usize).min(n - 1);
            let frac = pos - i as f32;
            let a = x[i];
            let b = x[(i + 1).min(n - 1)];
            *r = a + (b - a) * frac - m;
        }
        let spectral = var > 1e-10
            && self
                .fft
                .process_with_scratch(&mut self.resampled, &mut self.spectrum, &mut self.scratch)
                .is_ok();
        if !spectral {
            out[feature::BEAT_ENERGY] = 0.0;
            out[feature::DOMINANT_FREQ] = 0.0;
            out[feature::CENTROID] = 0.0;
            return;
        }
        let last = self.spectrum.len() - 1;
        for (k, (p, s)) in self.power.iter_mut().zip(&self.spectrum).enumerate() {
            // One-sided spectrum: every bin but DC and Nyquist stands for two.
            let weight = if k == 0 || k == last { 1.0 } else { 2.0 };
            *p = if k == 0 { 0.0 } else { weight * s.norm_sqr() };
        }
        let beat_bin = BEATS_PER_BAR as usize;
        let (mut total, mut beat, mut moment) = (0.0f64, 0.0f64, 0.0f64);
        let (mut best, mut best_k) = (0.0f32, 0usize);
        for (k, &p) in self.power.iter().enumerate().skip(1) {
            total += f64::from(p);
            moment += f64::from(p) * k as f64;
            if k % beat_bin == 0 {
                beat += f64::from(p);
            }
            if p > best {
                best = p;
                best_k = k;
            }
        }
        if total <= 0.0 {
            out[feature::BEAT_ENERGY] = 0.0;
            out[feature::DOMINANT_FREQ] = 0.0;
            out[feature::CENTROID] = 0.0;
            return;
        }
        out[feature::BEAT_ENERGY] = (beat / total) as f32;
        out[feature::DOMINANT_FREQ] = best_k as f32 * bars_per_second;
        out[feature::CENTROID] = (moment / total) as f32 * bars_per_second;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::motion::sensors::{ACCEL, ACCEL_MAG};
    use crate::osc::{MotionKind, MotionSample, Sender};

    const RATE: u32 = 48_000;

    /// Feeds 4 bars of `accel_x = sin(2π f t)` at 60 messages per second (a phone's rate,
    /// off the grid), and encodes the last bar.
    fn encode_sine(bpm: f64, hz: f64) -> Vec<f32> {
        let mut state = SensorState::new(RATE);
        let mut enc = Encoder::new(RATE);
        let bar = (f64::from(RATE) * 240.0 / bpm) as u64;
        let end = 4 * bar;
        let mut k = 0u64;
        loop {
            let at = k * u64::from(RATE) / 60;
            if at >= end {
                break;
            }
            let t = at as f64 / f64::from(RATE);
            let v = (2.0 * std::f64::consts::PI * hz * t).sin() as f32 * 3.0;
            enc.advance(at, &state);
            state.update(
                at,
                &MotionSample {
                    sender: Sender::Memsynth,
                    kind: MotionKind::Accel,
                    values: [v, 0.0, 0.0, 0.0],
                    len: 3,
                },
            );
            k += 1;
        }
        let mut out = vec![0.0; E_MOTION_DIMS];
        let ok = assert_no_alloc::assert_no_alloc(|| enc.encode(end, bpm, &state, &mut out));
        assert!(ok);
        out
    }

    #[test]
    fn motion_on_the_beat_shows_beat_energy_and_off_tempo_does_not() {
        let x = ACCEL * FEATURES;
        for bpm in [90.0, 120.0, 150.0] {
            let beat_hz = bpm / 60.0;
            let on = encode_sine(bpm, beat_hz);
            let twice = encode_sine(bpm, 2.0 * beat_hz);
            let off = encode_sine(bpm, beat_hz * 1.37);
            let slow = encode_sine(bpm, beat_hz * 0.61);
            let e = feature::BEAT_ENERGY;
            assert!(on[x + e] > 0.9, "{bpm} BPM on the beat: {}", on[x + e]);
            assert!(twice[x + e] > 0.9, "{bpm} BPM on eighths: {}", twice[x + e]);
            assert!(off[x + e] < 0.3, "{bpm} BPM at 1.37× the beat: {}", off[x + e]);
            assert!(slow[x + e] < 0.3, "{bpm} BPM at 0.61× the beat: {}", slow[x + e]);
            // The dominant frequency is the motion's, within a bin (bars per second).
            let bin = (bpm / 240.0) as f32;
            assert!((on[x + feature::DOMINANT_FREQ] - beat_hz as f32).abs() <= bin);
        }
    }

    #[test]
    fn sine_statistics_are_closed_form() {
        // 2 Hz at 120 BPM, amplitude 3 m/s²: mean 0, deviation 3/√2, range 6, mean
        // |derivative| 3·2π·2·2/π = 24, 4 zero crossings per second.
        let out = encode_sine(120.0, 2.0);
        let x = ACCEL * FEATURES;
        assert!(out[x + feature::MEAN].abs() < 0.05, "{out:?}");
        assert!((out[x + feature::DEVIATION] - 3.0 / 2f32.sqrt()).abs() < 0.1);
        assert!((out[x + feature::RANGE] - 6.0).abs() < 0.1);
        let jerk = 24.0;
        assert!((out[x + feature::JERK] - jerk).abs() / jerk < 0.05, "{}", out[x + 3]);
        assert!((out[x + feature::ZERO_CROSSINGS] - 4.0).abs() <= 0.5);
        assert!((out[x + feature::CENTROID] - 2.0).abs() < 0.5);
        // Magnitude of a sine along x: |sin|, mean 3·2/π.
        let m = ACCEL_MAG * FEATURES;
        assert!((out[m + feature::MEAN] - 6.0 / std::f32::consts::PI).abs() < 0.1);
        // Still channels have no spectrum.
        assert_eq!(out[(ACCEL + 1) * FEATURES + feature::BEAT_ENERGY], 0.0);
    }

    #[test]
    fn nothing_before_half_a_bar() {
        let state = SensorState::new(RATE);
        let mut enc = Encoder::new(RATE);
        let mut out = vec![0.0; E_MOTION_DIMS];
        assert!(!enc.encode(96_000, 120.0, &state, &mut out));
        enc.advance(0, &state);
        assert!(!enc.encode(30_000, 120.0, &state, &mut out));
        assert!(enc.encode(60_000, 120.0, &state, &mut out));
    }
}
