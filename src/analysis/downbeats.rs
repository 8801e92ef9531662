//! Downbeats: which beat of the bar is "one", and whether the bar has four beats.
//!
//! Two cues mark the first beat of a bar in most produced music: the low end hits (kick,
//! bass notes) and the harmony changes (chords change on the bar line). Each beat gets a
//! salience from both, standardised over the track; the bar phase whose beats are most
//! salient wins. The same score over 3-beat bars tells a waltz from 4/4.

use super::beat_sync;
use crate::dsp::Features;

/// Result of the bar analysis.
#[derive(Debug, Clone, PartialEq)]
pub struct Bars {
    /// Beats per bar that fit best (4 unless the track is clearly in 3).
    pub beats_per_bar: usize,
    /// Index (into the beats) of every downbeat.
    pub downbeats: Vec<usize>,
    /// How much more salient the chosen phase is than the others (standard deviations of
    /// beat salience); above ~0.5 the downbeats are clear.
    pub contrast: f32,
}

/// Finds the bar phase (and metre, 3 or 4) of a beat sequence (frame of each beat).
pub fn find_bars(features: &Features, beat_frames: &[usize]) -> Bars {
    let salience = beat_salience(features, beat_frames);
    let (phase4, contrast4) = best_phase(&salience, 4);
    let (phase3, contrast3) = best_phase(&salience, 3);
    // 4/4 unless 3 is clearly better: most produced music is in 4, and a weak 3 is more
    // often a 4 with syncopation than a waltz.
    let (beats_per_bar, phase, contrast) = if contrast3 > 1.5 * contrast4 + 0.2 {
        (3, phase3, contrast3)
    } else {
        (4, phase4, contrast4)
    };
    let downbeats = (phase..beat_frames.len()).step_by(beats_per_bar).collect();
    Bars { beats_per_bar, downbeats, contrast }
}

/// Per beat: standardised low-band onset plus standardised harmonic change into the beat.
fn beat_salience(features: &Features, beats: &[usize]) -> Vec<f64> {
    let n = features.n_frames();
    if beats.is_empty() || n == 0 {
        return Vec::new();
    }
    let near = |b: usize| b.saturating_sub(2)..(b + 3).min(n);
    let low: Vec<f64> = beats
        .iter()
        .map(|&b| {
            near(b)
                .map(|t| {
                    f64::from(features.onset_bands.frame(t)[0] + features.onset_bands.frame(t)[1])
                })
                .fold(0.0, f64::max)
        })
        .collect();
    // Mean chroma over each beat span, then the cosine distance from the previous beat's.
    let mut boundaries = beats.to_vec();
    boundaries.push(beats[beats.len() - 1] + 1);
    let spans = beat_sync(&features.chroma, &boundaries);
    let as_f64 = |i: usize| -> Vec<f64> { spans.frame(i).iter().map(|c| f64::from(*c)).collect() };
    let change: Vec<f64> = (0..beats.len())
        .map(|i| if i == 0 { 0.0 } else { 1.0 - cosine(&as_f64(i - 1), &as_f64(i)) })
        .collect();
    let (low, change) = (standardise(&low), standardise(&change));
    low.iter().zip(&change).map(|(a, b)| a + b).collect()
}

fn cosine(a: &[f64], b: &[f64]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na = a.iter().map(|x| x * x).sum::<f64>().sqrt();
    let nb = b.iter().map(|x| x * x).sum::<f64>().sqrt();
    if na * nb > 0.0 { dot / (na * nb) } else { 1.0 }
}

fn standardise(x: &[f64]) -> Vec<f64> {
    let n = x.len().max(1) as f64;
    let mean = x.iter().sum::<f64>() / n;
    let std = (x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
    x.iter().map(|v| if std > 0.0 { (v - mean) / std } else { 0.0 }).collect()
}

/// The phase (0..m) whose beats have the highest mean salience, and by how much it beats
/// the mean of the other phases.
fn best_phase(salience: &[f64], m: usize) -> (usize, f32) {
    let means: Vec<f64> = (0..m)
        .map(|p| {
            let v: Vec<f64> = salience.iter().skip(p).step_by(m).copied().collect();
            if v.is_empty() { f64::MIN } else { v.iter().sum::<f64>() / v.len() as f64 }
        })
        .collect();
    let best = (0..m).max_by(|a, b| means[*a].total_cmp(&means[*b])).unwrap_or(0);
    let others =
        means.iter().enumerate().filter(|(p, v)| *p != best && **v > f64::MIN).map(|(_, v)| *v);
    let (sum, count) = others.fold((0.0, 0), |(s, c), v| (s + v, c + 1));
    let contrast = if count > 0 { means[best] - sum / count as f64 } else { 0.0 };
    (best, contrast as f32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_phase_with_accents_wins() {
        // Accents on beats 2, 6, 10, … (phase 2 of 4).
        let salience: Vec<f64> = (0..64).map(|i| if i % 4 == 2 { 2.0 } else { -0.5 }).collect();
        assert_eq!(best_phase(&salience, 4).0, 2);
        let (p3, c3) = best_phase(&salience, 3);
        let (_, c4) = best_phase(&salience, 4);
        assert!(c4 > c3, "{p3} {c3} {c4}");
    }
}
