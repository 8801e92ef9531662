//! [`MotionInput`]: sensor state, encoder and normalizer together, fed message by message
//! and asked for an e_motion on each beat line. The live server's MotionInput actor and the
//! offline renderer both drive this one struct, so a replayed recording steers a render
//! exactly as it steered the server.

use super::encoder::{E_MOTION_DIMS, Encoder};
use super::normalizer::{Normalizer, NormalizerConfig};
use super::sensors::SensorState;
use crate::live::transport::BEATS_PER_BAR;
use crate::osc::MotionSample;

/// Updates per bar: e_motion is encoded on every beat line, over the bar that ends there.
pub const UPDATES_PER_BAR: u32 = BEATS_PER_BAR;

/// The motion pipeline up to the normalised e_motion. Allocates only in `new`.
#[derive(Debug)]
pub struct MotionInput {
    rate: u32,
    state: SensorState,
    encoder: Encoder,
    normalizer: Normalizer,
    received: u64,
    last_at: Option<u64>,
    raw: [f32; E_MOTION_DIMS],
    normalised: [f32; E_MOTION_DIMS],
}

impl MotionInput {
    /// A pipeline on a `rate` Hz sample clock.
    pub fn new(rate: u32, config: NormalizerConfig) -> Self {
        Self {
            rate,
            state: SensorState::new(rate),
            encoder: Encoder::new(rate),
            normalizer: Normalizer::new(config),
            received: 0,
            last_at: None,
            raw: [0.0; E_MOTION_DIMS],
            normalised: [0.0; E_MOTION_DIMS],
        }
    }

    /// Takes one reading that arrived at sample `at`. Timestamps must not go back; one
    /// that does counts as arriving at the latest time seen.
    pub fn push(&mut self, at: u64, sample: &MotionSample) {
        let at = self.last_at.map_or(at, |last| at.max(last));
        self.encoder.advance(at, &self.state);
        self.state.update(at, sample);
        self.received += 1;
        self.last_at = Some(at);
    }

    /// Readings taken so far.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// Sample of the latest reading.
    pub fn last_at(&self) -> Option<u64> {
        self.last_at
    }

    /// The sensor state (SI channels now).
    pub fn state(&self) -> &SensorState {
        &self.state
    }

    /// Recalibrates the normalizer on the next `bars` bars of motion (see
    /// [`Normalizer::calibrate`]).
    pub fn calibrate(&mut self, bars: u32) {
        self.normalizer.calibrate(bars.max(1) * UPDATES_PER_BAR);
    }

    /// Whether a calibration is running.
    pub fn calibrating(&self) -> bool {
        self.normalizer.calibrating().is_some()
    }

    /// The normalised e_motion of the bar that ends at sample `end` at `bpm`, or `None`
    /// when there is no motion to speak of: nothing received yet, less than half a bar of
    /// it, or nothing for a whole bar (the phone went quiet: the query is left alone).
    pub fn encode(&mut self, end: u64, bpm: f64) -> Option<&[f32; E_MOTION_DIMS]> {
        let last = self.last_at?;
        let bar = (f64::from(self.rate) * 60.0 * f64::from(BEATS_PER_BAR) / bpm.max(1.0)) as u64;
        if end.saturating_sub(last) > bar {
            return None;
        }
        if !self.encoder.encode(end, bpm, &self.state, &mut self.raw) {
            return None;
        }
        self.normalised = self.raw;
        self.normalizer.process(&mut self.normalised);
        Some(&self.normalised)
    }

    /// The features of the latest encoded bar before normalising (SI units, Hz, ratios).
    pub fn raw(&self) -> &[f32; E_MOTION_DIMS] {
        &self.raw
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::osc::{MotionKind, Sender};

    fn accel(x: f32) -> MotionSample {
        MotionSample {
            sender: Sender::Memsynth,
            kind: MotionKind::Accel,
            values: [x, 0.0, 0.0, 0.0],
            len: 3,
        }
    }

    #[test]
    fn quiet_phones_leave_the_query_alone_and_replays_are_identical() {
        let run = || {
            let mut m = MotionInput::new(48_000, NormalizerConfig::default());
            assert!(m.encode(96_000, 120.0).is_none());
            let mut out = Vec::new();
            for k in 0..400u64 {
                m.push(k * 800, &accel((k as f32 * 0.3).sin()));
                if k % 30 == 29 {
                    out.push(m.encode(k * 800 + 1, 120.0).map(|e| e.to_vec()));
                }
            }
            // Two bars of silence later: nothing.
            out.push(m.encode(400 * 800 + 2 * 96_000, 120.0).map(|e| e.to_vec()));
            out
        };
        let a = run();
        assert!(a.iter().filter(|e| e.is_some()).count() > 5);
        assert!(a.last().unwrap().is_none());
        assert_eq!(a, run());
    }
}
