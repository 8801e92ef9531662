//! Global tempo from the autocorrelation tempogram, with the metrical level chosen by a
//! harmonic score and a broad prior, and a confidence.

use crate::dsp::{FRAME_RATE, FrameMatrix, TEMPOGRAM_WIN};

/// Slowest and fastest tempo reported, BPM.
pub const TEMPO_RANGE: (f64, f64) = (60.0, 200.0);

/// Centre of the tempo prior, BPM, and its width in octaves. Broad: it only breaks near-ties
/// between metrical levels (a pulse at 170 BPM also repeats at 85).
const PRIOR_BPM: f64 = 120.0;
const PRIOR_OCTAVES: f64 = 1.0;
/// Mean rise, dB, below which a frame's onset strength is not evidence of an onset.
pub(crate) const ONSET_FLOOR_DB: f64 = 0.5;
/// Share of the loudest window's onset energy a window needs to count for confidence.
const MIN_WINDOW_ENERGY: f64 = 0.01;
/// How much more the low end must repeat at the doubled period to halve the tempo. On the
/// demo library 1.5 and 2.0 gave the same result (every tempo right); 1.2 halved a fast one.
const OCTAVE_RATIO: f64 = 1.5;
/// Normalised autocorrelation a window needs at its best lag to count as pulsed.
const MIN_PULSE: f64 = 0.1;
/// Multiples of a period that count as support for it.
const HARMONICS: usize = 4;

/// A tempo estimate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TempoEstimate {
    /// Beats per minute.
    pub bpm: f64,
    /// Beat period in frames (fractional).
    pub period: f64,
    /// Share (0..1) of 4-second windows whose own strongest tempo agrees with `bpm` within
    /// 4 % (or at double or half of it): 1 for a steady, clearly pulsed track, low for free
    /// time or a tempo that changes.
    pub confidence: f32,
}

/// Sum of squared onset strength above [`ONSET_FLOOR_DB`] within `half` frames of each
/// frame.
fn window_energy(onset: &[f32], half: usize) -> Vec<f64> {
    let mut prefix = vec![0.0f64; onset.len() + 1];
    for (i, v) in onset.iter().enumerate() {
        prefix[i + 1] = prefix[i] + (f64::from(*v) - ONSET_FLOOR_DB).max(0.0).powi(2);
    }
    (0..onset.len())
        .map(|t| prefix[(t + half).min(onset.len())] - prefix[t.saturating_sub(half)])
        .collect()
}

/// Chooses between a period and its double (half the tempo) by the kick, snare and bass:
/// hats and shakers often run at twice the beat, the low end rarely does. `low_onset` is
/// the onset strength below 1 kHz. The slower level wins when the low end repeats much
/// more strongly at its period than at the faster one.
pub fn settle_octave(tempo: TempoEstimate, low_onset: &[f32]) -> TempoEstimate {
    let slower = 2.0 * tempo.period;
    if bpm_of(slower) < TEMPO_RANGE.0 {
        return tempo;
    }
    let mean = low_onset.iter().map(|v| f64::from(*v)).sum::<f64>() / low_onset.len().max(1) as f64;
    let x: Vec<f64> = low_onset.iter().map(|v| f64::from(*v) - mean).collect();
    let ac = |lag: usize| -> f64 {
        if lag >= x.len() {
            return 0.0;
        }
        x.iter().zip(&x[lag..]).map(|(a, b)| a * b).sum::<f64>()
    };
    // The best of the lags around each (fractional) period.
    let around = |p: f64| -> f64 {
        (-1..=1).map(|d| ac((p.round() as isize + d).max(1) as usize)).fold(f64::MIN, f64::max)
    };
    if around(slower) > OCTAVE_RATIO * around(tempo.period).max(0.0) {
        TempoEstimate { bpm: bpm_of(slower), period: slower, ..tempo }
    } else {
        tempo
    }
}

/// BPM of a beat period in frames.
pub fn bpm_of(period: f64) -> f64 {
    60.0 * f64::from(FRAME_RATE) / period
}

/// Period in frames of a tempo in BPM.
pub fn period_of(bpm: f64) -> f64 {
    60.0 * f64::from(FRAME_RATE) / bpm
}

/// Estimates the track's tempo from its onset curve and that curve's tempogram
/// (`TEMPOGRAM_WIN` lags per frame, one frame per onset value).
pub fn estimate_tempo(onset: &[f32], tempogram: &FrameMatrix) -> TempoEstimate {
    let n = tempogram.n_frames().max(1) as f64;
    let mut mean = vec![0.0f64; TEMPOGRAM_WIN];
    for frame in tempogram.frames() {
        for (m, v) in mean.iter_mut().zip(frame) {
            *m += f64::from(*v) / n;
        }
    }
    let period = best_period(&mean);
    // Windows with (almost) no onsets carry no evidence: their normalised autocorrelation
    // is the ripple of a held tone (its leakage shifts with phase from frame to frame,
    // a regular rise of a tenth of a dB) or the ramp of the edge padding, and both can
    // look periodic.
    let energy = window_energy(onset, TEMPOGRAM_WIN / 2);
    let loudest = energy.iter().copied().fold(0.0, f64::max);
    let agree = tempogram
        .frames()
        .zip(&energy)
        .filter(|(_, e)| **e > MIN_WINDOW_ENERGY * loudest)
        .map(|(frame, _)| frame)
        .filter(|frame| {
            let local: Vec<f64> = frame.iter().map(|v| f64::from(*v)).collect();
            let p = best_period(&local);
            // A window without a pulse (silence, a held chord) agrees with nothing.
            let pulsed = local[p.round() as usize] > MIN_PULSE;
            pulsed && [0.5, 1.0, 2.0].iter().any(|k| (p / (period * k) - 1.0).abs() < 0.04)
        })
        .count();
    TempoEstimate { bpm: bpm_of(period), period, confidence: agree as f32 / n as f32 }
}

/// The beat period (fractional frames) that best explains an autocorrelation `ac` (lag 0
/// first): each candidate lag scores its autocorrelation plus that at its multiples
/// (weighted 1/k), times the log-normal prior; the winner is refined by a parabola.
fn best_period(ac: &[f64]) -> f64 {
    let lo = period_of(TEMPO_RANGE.1).floor() as usize;
    let hi = (period_of(TEMPO_RANGE.0).ceil() as usize).min(ac.len() - 1);
    let at = |lag: f64| -> f64 {
        // Linear interpolation between lags, zero beyond the window.
        let i = lag.floor() as usize;
        if i + 1 >= ac.len() {
            return 0.0;
        }
        let f = lag - i as f64;
        ac[i] * (1.0 - f) + ac[i + 1] * f
    };
    let score = |lag: f64| -> f64 {
        let support: f64 = (1..=HARMONICS).map(|k| at(lag * k as f64) / k as f64).sum();
        let octaves = (bpm_of(lag) / PRIOR_BPM).log2() / PRIOR_OCTAVES;
        support.max(0.0) * (-0.5 * octaves * octaves).exp()
    };
    let best = (lo..=hi).max_by(|a, b| score(*a as f64).total_cmp(&score(*b as f64))).unwrap_or(lo);
    // Refine between neighbouring lags: 1 frame is 3 % of a beat at 170 BPM.
    if best > lo && best < hi {
        let (a, b, c) = (score(best as f64 - 1.0), score(best as f64), score(best as f64 + 1.0));
        let denom = a - 2.0 * b + c;
        if denom < 0.0 {
            return best as f64 + (0.5 * (a - c) / denom).clamp(-0.5, 0.5);
        }
    }
    best as f64
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::dsp::Tempogram;

    /// An onset curve of unit pulses every `period` frames from frame `start`.
    pub(crate) fn pulses(period: f64, start: f64, frames: usize) -> Vec<f32> {
        let mut onset = vec![0.0; frames];
        let mut t = start;
        while (t.round() as usize) < frames {
            onset[t.round() as usize] = 1.0;
            t += period;
        }
        onset
    }

    #[test]
    fn pulse_trains_give_their_tempo() {
        for bpm in [70.0, 98.0, 120.0, 128.0, 140.0, 174.0, 190.0] {
            let onset = pulses(period_of(bpm), 10.0, 3000);
            let est = estimate_tempo(&onset, &Tempogram::new().compute(&onset));
            assert!((est.bpm / bpm - 1.0).abs() < 0.02, "{bpm} BPM estimated as {}", est.bpm);
            assert!(est.confidence > 0.9, "{bpm}: confidence {}", est.confidence);
        }
    }

    #[test]
    fn the_low_end_decides_between_a_tempo_and_its_half() {
        let fast = TempoEstimate { bpm: 180.0, period: period_of(180.0), confidence: 1.0 };
        // Kick and snare every other tick of the fast grid: the beat is at 90.
        let every_other = pulses(2.0 * period_of(180.0), 10.0, 3000);
        assert!((settle_octave(fast, &every_other).bpm - 90.0).abs() < 0.5);
        // Low end on every tick: the fast tempo stands.
        let every = pulses(period_of(180.0), 10.0, 3000);
        assert_eq!(settle_octave(fast, &every).bpm, 180.0);
        // Too slow to halve.
        let slow = TempoEstimate { bpm: 100.0, period: period_of(100.0), confidence: 1.0 };
        assert_eq!(settle_octave(slow, &pulses(2.0 * period_of(100.0), 10.0, 3000)).bpm, 100.0);
    }

    #[test]
    fn silence_has_no_confidence_and_does_not_panic() {
        let onset = vec![0.0; 2000];
        let est = estimate_tempo(&onset, &Tempogram::new().compute(&onset));
        assert!(est.bpm >= TEMPO_RANGE.0 && est.bpm <= TEMPO_RANGE.1);
        assert_eq!(est.confidence, 0.0);
    }
}
