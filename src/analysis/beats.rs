//! Beat tracking by dynamic programming over the onset strength (Ellis, "Beat Tracking by
//! Dynamic Programming", JNMR 2007): the beat sequence that best combines strong onsets
//! with inter-beat intervals close to the tempo's period. Gentle drift is followed because
//! each interval is only softly held to the period.

use super::tempo::{ONSET_FLOOR_DB, TempoEstimate};

/// How strictly intervals keep to the period: the penalty is `TIGHTNESS * ln(interval /
/// period)²`. Ellis and librosa use 100; steadier grids suit produced music, where tempo
/// drifts slowly if at all.
const TIGHTNESS: f64 = 400.0;

/// Beat frames (fractional, increasing) of an onset curve at the estimated tempo.
pub fn track_beats(onset: &[f32], tempo: &TempoEstimate) -> Vec<f64> {
    let n = onset.len();
    let period = tempo.period;
    if n < 2 || period < 2.0 {
        return Vec::new();
    }
    // Rises under half a dB are the ripple of held tones, not onsets; the rest is taken in
    // units of its standard deviation, so the score is scale-free.
    let onset: Vec<f64> = onset.iter().map(|v| (f64::from(*v) - ONSET_FLOOR_DB).max(0.0)).collect();
    let mean = onset.iter().sum::<f64>() / n as f64;
    let var = onset.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64;
    if var <= 1e-12 {
        return Vec::new();
    }
    let std = var.sqrt();
    // Smooth with a Gaussian a thirty-second of a beat wide so beats may sit a little off
    // the exact onset frame.
    let half = period.round() as isize;
    let kernel: Vec<f64> =
        (-half..=half).map(|i| (-0.5 * (i as f64 * 32.0 / period).powi(2)).exp()).collect();
    let local: Vec<f64> = (0..n as isize)
        .map(|t| {
            kernel
                .iter()
                .enumerate()
                .map(|(k, w)| {
                    let i = t + k as isize - half;
                    if (0..n as isize).contains(&i) { w * onset[i as usize] / std } else { 0.0 }
                })
                .sum()
        })
        .collect();

    // cumulative[t]: best score of a beat sequence ending with a beat at t.
    let mut cumulative = vec![0.0f64; n];
    let mut previous = vec![usize::MAX; n];
    let (min_gap, max_gap) = ((period / 2.0).round() as usize, (2.0 * period).round() as usize);
    for t in 0..n {
        let mut best = 0.0;
        let mut arg = usize::MAX;
        for gap in min_gap.max(1)..=max_gap.min(t) {
            let j = t - gap;
            let penalty = TIGHTNESS * (gap as f64 / period).ln().powi(2);
            let score = cumulative[j] - penalty;
            if arg == usize::MAX || score > best {
                best = score;
                arg = j;
            }
        }
        // Starting a new sequence here is allowed when nothing before helps.
        if arg != usize::MAX && best > 0.0 {
            cumulative[t] = local[t] + best;
            previous[t] = arg;
        } else {
            cumulative[t] = local[t];
        }
    }

    // The last beat: the best-scoring local maximum in the final period.
    let tail = n.saturating_sub(period.ceil() as usize + 1);
    let mut last =
        (tail..n).max_by(|a, b| cumulative[*a].total_cmp(&cumulative[*b])).unwrap_or(n - 1);
    let mut beats = Vec::new();
    loop {
        beats.push(last);
        match previous[last] {
            usize::MAX => break,
            p => last = p,
        }
    }
    beats.reverse();
    trim_silent_ends(&mut beats, &local);
    beats.into_iter().map(|b| b as f64).collect()
}

/// Drops beats at either end where the music has not started or has stopped: the DP keeps
/// ticking through silence, a person would not.
fn trim_silent_ends(beats: &mut Vec<usize>, local: &[f64]) {
    if beats.is_empty() {
        return;
    }
    let strengths: Vec<f64> = beats.iter().map(|b| local[*b]).collect();
    let rms = (strengths.iter().map(|s| s * s).sum::<f64>() / strengths.len() as f64).sqrt();
    let threshold = 0.5 * rms;
    let first = strengths.iter().position(|s| *s >= threshold).unwrap_or(0);
    let last = strengths.iter().rposition(|s| *s >= threshold).unwrap_or(beats.len() - 1);
    beats.truncate(last + 1);
    beats.drain(..first);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::tempo::tests::pulses as clicks;
    use crate::analysis::tempo::{estimate_tempo, period_of};
    use crate::dsp::Tempogram;

    #[test]
    fn a_click_track_is_tracked_on_every_click() {
        let period = period_of(128.0);
        let onset = clicks(period, 20.0, 3000);
        let tempo = estimate_tempo(&onset, &Tempogram::new().compute(&onset));
        let beats = track_beats(&onset, &tempo);
        let truth: Vec<usize> = (0..)
            .map(|k| (20.0 + k as f64 * period).round() as usize)
            .take_while(|t| *t < 3000)
            .collect();
        assert_eq!(beats.len(), truth.len(), "{beats:?}");
        for (b, t) in beats.iter().zip(&truth) {
            assert!((b - *t as f64).abs() <= 1.0, "{b} vs {t}");
        }
    }

    #[test]
    fn silence_before_and_after_is_not_beaten() {
        let period = period_of(100.0);
        let mut onset = vec![0.0; 600];
        onset.extend(clicks(period, 0.0, 2000));
        onset.extend(vec![0.0; 600]);
        let tempo = estimate_tempo(&onset, &Tempogram::new().compute(&onset));
        let beats = track_beats(&onset, &tempo);
        assert!(
            beats[0] >= 599.0 && *beats.last().unwrap() < 2600.0,
            "{:?}",
            (beats[0], beats.last())
        );
    }

    #[test]
    fn silence_has_no_beats() {
        let onset = vec![0.0; 1000];
        let tempo = estimate_tempo(&onset, &Tempogram::new().compute(&onset));
        assert!(track_beats(&onset, &tempo).is_empty());
    }
}
