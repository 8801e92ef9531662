//! Beat activation: how strongly each frame sounds like a beat, from the log-mel.
//!
//! The onset strength of the feature standard ([`crate::dsp::OnsetStrength`]) is the mean
//! rise in dB over all mel bins, floored at -100 dB. That weighs a rise from -90 to -80 dB
//! in an empty bin as much as a kick drum's rise in a loud one, so quiet, busy bands (the
//! shimmer of a pad, a hi-hat's air) steer the beat tracker: on the demo library's ambient
//! tracks it put every beat on the off-beat hat. Here each bin is first compressed as
//! `ln(1 + g·S)`, as madmom's spectral flux does with `log10(1 + λ·|X|)`: loud bins keep
//! their dB scale, bins well under the knee `1/g` count for little. The knee is the track's
//! mean mel magnitude, so the activation does not depend on the recording's gain.

use crate::dsp::{FrameMatrix, ONSET_DELAY_FRAMES};

const DB_PER_NEPER: f32 = 20.0 / std::f32::consts::LN_10;

/// Mean rise, dB of the compressed magnitude, of each frame's log-mel (natural-log standard
/// frames) over the previous frame; aligned like [`crate::dsp::Features::onset`] (the rise
/// between frames `t - 1` and `t` belongs to frame `t - 1 + ONSET_DELAY_FRAMES`).
pub fn beat_activation(log_mel: &FrameMatrix) -> Vec<f32> {
    let n = log_mel.n_frames();
    let mut activation = vec![0.0f32; n];
    let bins = log_mel.width();
    if n < 2 || bins == 0 {
        return activation;
    }
    let sum: f64 = log_mel.as_slice().iter().map(|v| f64::from(v.exp())).sum();
    let mean = sum / log_mel.as_slice().len() as f64;
    if mean <= 0.0 || !mean.is_finite() {
        return activation;
    }
    let gain = (1.0 / mean) as f32;
    let compress = |v: f32| DB_PER_NEPER * (gain * v.exp()).ln_1p();
    let mut previous: Vec<f32> = log_mel.frame(0).iter().map(|v| compress(*v)).collect();
    for t in 1..n {
        let mut rise = 0.0f32;
        for (p, v) in previous.iter_mut().zip(log_mel.frame(t)) {
            let c = compress(*v);
            rise += (c - *p).max(0.0);
            *p = c;
        }
        if let Some(a) = activation.get_mut(t - 1 + ONSET_DELAY_FRAMES) {
            *a = rise / bins as f32;
        }
    }
    activation
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_up_is_one_rise_at_the_onset_frame_and_gain_does_not_matter() {
        let step = |level: f32| {
            let mut m = FrameMatrix::zeros(20, 8);
            for t in 0..20 {
                let v = if t < 10 { level - 6.0 } else { level };
                m.frame_mut(t).fill(v);
            }
            beat_activation(&m)
        };
        let a = step(0.0);
        let peak = 10 - 1 + ONSET_DELAY_FRAMES;
        assert!(a[peak] > 1.0, "{a:?}");
        assert!(a.iter().enumerate().all(|(t, v)| t == peak || *v == 0.0), "{a:?}");
        // 40 dB quieter: the same activation, the knee follows the track's level.
        let quiet = step(-40.0 / DB_PER_NEPER);
        assert!((quiet[peak] - a[peak]).abs() < 1e-3 * a[peak], "{} vs {}", quiet[peak], a[peak]);
    }

    #[test]
    fn silence_and_tiny_inputs_give_zeros() {
        assert!(beat_activation(&FrameMatrix::zeros(50, 8)).iter().all(|v| *v == 0.0));
        assert_eq!(beat_activation(&FrameMatrix::zeros(1, 8)), vec![0.0]);
    }
}
