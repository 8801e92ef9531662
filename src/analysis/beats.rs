//! Beat tracking: dynamic programming over a beat activation (Ellis, "Beat Tracking by
//! Dynamic Programming", JNMR 2007), held to one constant-tempo grid when the track keeps
//! one.
//!
//! The DP finds the beat sequence that best combines strong onsets with inter-beat
//! intervals close to the period. It follows tempo drift, but it also drifts onto the
//! off-beat wherever the off-beat is louder for a while (a ride cymbal or hi-hat on the
//! "and"): a half-beat slip costs it a few intervals, and a 30-second section repays that.
//! Music played to a click never slips, so when the DP's own beats stay on one constant
//! grid ([`fit_grid`]) or on its off-beats, the track is taken to keep that grid: the phase
//! is chosen once for the whole track, and the DP runs again pulled towards it. Beats then
//! still sit on the onsets, but a section cannot flip the phase. A track that drifts
//! (a ramp, a live band) leaves the grid in between and keeps the free DP's beats.

use super::activation::beat_activation;
use super::grid::{Grid, fit_grid};
use super::tempo::{ONSET_FLOOR_DB, TempoEstimate};
use crate::dsp::{Features, FrameMatrix};

/// How strictly intervals keep to the period: the penalty is `TIGHTNESS * ln(interval /
/// period)²`. Ellis and librosa use 100; steadier grids suit produced music, where tempo
/// drifts slowly if at all.
const TIGHTNESS: f64 = 400.0;
/// A free-DP beat within this many beats of a grid beat or off-beat counts as on the grid.
const LOCK_TOLERANCE: f64 = 0.15;
/// Share of the free DP's beats that must be on the grid for the track to be held to it.
/// Measured: at least 0.95 on the five Frets on Fire songs and 1.0 on all 24 demo tracks;
/// at most 0.84 on four of the songs time-warped by ±2 % (20 s period) or ramped by
/// ±6 %, and 0.87 on a click track wobbling by ±2 %.
const LOCK_SHARE: f64 = 0.92;
/// Strength of the pull towards the grid, in mean beat scores per squared beat of offset:
/// half a beat off costs 1.5 beats' worth of onsets. From 4 to 12 the songs' beat F moved
/// by 0.002 and the demo library's not at all; at 2 and 3 part of an off-beat section
/// still came through.
const PULL: f64 = 6.0;
/// Fewest free-DP beats that can show a track keeps a grid (four bars).
const MIN_LOCK_BEATS: usize = 16;
/// A held grid carries on past the first and last onsets through frames whose level is
/// within this many dB of the track's loud level ([`LOUD_PERCENTILE`]): the beat does not
/// stop when the drums do (a pad intro, a held last chord). Annotators keep counting there
/// (the Frets on Fire grids run 40 dB down a final chord's ring-out), but the demo
/// library's reverb tails are only 5–10 dB down a beat after its last annotated beat. At
/// 10 dB the songs gain 0.007 beat F and the demo tracks 0.003; at 12–20 dB the songs gain
/// up to 0.015, but a demo track's bar of reverb tail moves its phrase boundaries.
const SOUNDING_DB: f32 = 10.0;
/// Percentile of the frame levels taken as the track's loud level.
const LOUD_PERCENTILE: f64 = 0.9;

/// Beat frames (fractional, increasing) of a track at its estimated tempo: onsets from
/// [`beat_activation`] of the log-mel, chords from the chroma (they change on beats far
/// more often than between them, which helps choose between the beat and the off-beat),
/// and the log-mel's level to carry a held grid through quiet ends.
pub fn track_beats(features: &Features, tempo: &TempoEstimate) -> Vec<f64> {
    let activation = beat_activation(&features.log_mel);
    let level = frame_levels(&features.log_mel);
    let cues =
        Cues { activation: &activation, harmony: Some(&features.chroma), level: Some(&level) };
    track(&cues, tempo)
}

/// What the tracker listens to, one value or row per frame.
struct Cues<'a> {
    /// Beat activation, dB of rise: [`beat_activation`], or any onset strength.
    activation: &'a [f32],
    /// Chroma, to choose between the beat and the off-beat; without it onsets decide.
    harmony: Option<&'a FrameMatrix>,
    /// Frame level, dB; without it beats stop at the first and last onsets.
    level: Option<&'a [f32]>,
}

/// The free DP's beats, or, when they keep one grid, the DP's beats pulled to that grid
/// (see the module documentation).
fn track(cues: &Cues, tempo: &TempoEstimate) -> Vec<f64> {
    if tempo.period < 2.0 {
        return Vec::new();
    }
    let Some(x) = onset_evidence(cues.activation) else {
        return Vec::new();
    };
    let grid = fit_grid(&local_score(&x, tempo.period), tempo.period);
    let local = local_score(&x, grid.period);
    let mut free = best_sequence(&local, grid.period);
    trim_silent_ends(&mut free, &local);
    if free.len() < MIN_LOCK_BEATS || !keeps_grid(&free, &grid) {
        return free.into_iter().map(|b| b as f64).collect();
    }

    let grid = beat_or_off_beat(&grid, &local, cues.harmony);
    let pull = PULL * free.iter().map(|b| local[*b]).sum::<f64>() / free.len() as f64;
    let pulled: Vec<f64> =
        local.iter().enumerate().map(|(t, s)| s - pull * grid.offset(t as f64).powi(2)).collect();
    let mut beats = best_sequence(&pulled, grid.period);
    trim_silent_ends(&mut beats, &local);
    if let Some(level) = cues.level {
        extend_while_sounding(&mut beats, &grid, level);
    }
    beats.into_iter().map(|b| b as f64).collect()
}

/// Level of each log-mel frame: its mean mel magnitude, dB.
fn frame_levels(log_mel: &FrameMatrix) -> Vec<f32> {
    log_mel
        .frames()
        .map(|f| {
            let mean = f.iter().map(|v| v.exp()).sum::<f32>() / f.len().max(1) as f32;
            20.0 * mean.max(f32::MIN_POSITIVE).log10()
        })
        .collect()
}

/// Adds grid beats before the first beat and after the last while the frame at each is
/// within [`SOUNDING_DB`] of the track's loud level.
fn extend_while_sounding(beats: &mut Vec<usize>, grid: &Grid, level: &[f32]) {
    let (Some(&first), Some(&last)) = (beats.first(), beats.last()) else {
        return;
    };
    if level.is_empty() {
        return;
    }
    let mut sorted = level.to_vec();
    let k = ((sorted.len() - 1) as f64 * LOUD_PERCENTILE).round() as usize;
    let loud = *sorted.select_nth_unstable_by(k, f32::total_cmp).1;
    let sounding = |t: f64| -> Option<usize> {
        let f = t.round();
        (f >= 0.0 && (f as usize) < level.len() && level[f as usize] >= loud - SOUNDING_DB)
            .then_some(f as usize)
    };
    let before: Vec<usize> =
        (1..).map_while(|k| sounding(first as f64 - k as f64 * grid.period)).collect();
    let after: Vec<usize> =
        (1..).map_while(|k| sounding(last as f64 + k as f64 * grid.period)).collect();
    beats.splice(0..0, before.into_iter().rev());
    beats.extend(after);
}

/// The activation above [`ONSET_FLOOR_DB`] in units of its standard deviation, so scores
/// are scale-free; `None` when nothing rises above the floor. Rises under half a dB are the
/// ripple of held tones, not onsets.
fn onset_evidence(activation: &[f32]) -> Option<Vec<f64>> {
    let n = activation.len();
    if n < 2 {
        return None;
    }
    let x: Vec<f64> =
        activation.iter().map(|v| (f64::from(*v) - ONSET_FLOOR_DB).max(0.0)).collect();
    let mean = x.iter().sum::<f64>() / n as f64;
    let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64;
    if var <= 1e-12 {
        return None;
    }
    let std = var.sqrt();
    Some(x.iter().map(|v| v / std).collect())
}

/// The activation smoothed by a Gaussian a thirty-second of a beat wide, so beats may sit
/// a little off the exact onset frame.
fn local_score(x: &[f64], period: f64) -> Vec<f64> {
    let n = x.len() as isize;
    let half = period.round() as isize;
    let kernel: Vec<f64> =
        (-half..=half).map(|i| (-0.5 * (i as f64 * 32.0 / period).powi(2)).exp()).collect();
    (0..n)
        .map(|t| {
            kernel
                .iter()
                .enumerate()
                .map(|(k, w)| {
                    let i = t + k as isize - half;
                    if (0..n).contains(&i) { w * x[i as usize] } else { 0.0 }
                })
                .sum()
        })
        .collect()
}

/// Ellis' DP: the beat frames maximising the sum of `local` at the beats minus the
/// interval penalty.
fn best_sequence(local: &[f64], period: f64) -> Vec<usize> {
    let n = local.len();
    let (min_gap, max_gap) =
        ((period / 2.0).round().max(1.0) as usize, (2.0 * period).round() as usize);
    let penalty: Vec<f64> =
        (0..=max_gap).map(|gap| TIGHTNESS * (gap as f64 / period).ln().powi(2)).collect();
    // cumulative[t]: best score of a beat sequence ending with a beat at t.
    let mut cumulative = vec![0.0f64; n];
    let mut previous = vec![usize::MAX; n];
    for t in 0..n {
        let mut best = 0.0;
        let mut arg = usize::MAX;
        for gap in min_gap..=max_gap.min(t) {
            let score = cumulative[t - gap] - penalty[gap];
            if arg == usize::MAX || score > best {
                best = score;
                arg = t - gap;
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

    // The last beat: the best-scoring frame in the final period.
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
    beats
}

/// Whether the beats stay on the grid or its off-beats throughout (see [`LOCK_SHARE`]).
fn keeps_grid(beats: &[usize], grid: &Grid) -> bool {
    let on = beats
        .iter()
        .filter(|b| {
            let d = grid.offset(**b as f64).abs();
            !(LOCK_TOLERANCE..=0.5 - LOCK_TOLERANCE).contains(&d)
        })
        .count();
    on as f64 >= LOCK_SHARE * beats.len() as f64
}

/// The grid or its off-beats, whichever has the stronger onsets and harmony changes (the
/// product of the two means). The onsets alone decide when there is no harmony or it never
/// changes. On two of the Frets on Fire songs the onsets lean to the right phase by only
/// 5–13 %, and a slightly different activation tips them the other way; harmony leans the
/// right way by 15–24 % there and never tips the demo library the wrong way.
fn beat_or_off_beat(grid: &Grid, local: &[f64], harmony: Option<&FrameMatrix>) -> Grid {
    let off = grid.off_beat();
    let (mut on_change, mut off_change) = (1.0, 1.0);
    if let Some(h) = harmony {
        let (a, b) = (harmonic_change(h, grid), harmonic_change(h, &off));
        if a + b > 0.0 {
            (on_change, off_change) = (a, b);
        }
    }
    if grid.mean_score(local) * on_change >= off.mean_score(local) * off_change {
        *grid
    } else {
        off
    }
}

/// Mean cosine distance between the mean harmony of the half beat before and the half beat
/// after each beat of the grid.
fn harmonic_change(harmony: &FrameMatrix, grid: &Grid) -> f64 {
    let n = harmony.n_frames();
    let half = (grid.period / 2.0).round() as usize;
    let width = harmony.width();
    let (mut before, mut after) = (vec![0.0f64; width], vec![0.0f64; width]);
    let (mut sum, mut count) = (0.0, 0usize);
    for f in grid.frames(n).filter(|f| *f >= half && f + half <= n && half > 0) {
        before.fill(0.0);
        after.fill(0.0);
        for t in f - half..f {
            before.iter_mut().zip(harmony.frame(t)).for_each(|(s, v)| *s += f64::from(*v));
        }
        for t in f..f + half {
            after.iter_mut().zip(harmony.frame(t)).for_each(|(s, v)| *s += f64::from(*v));
        }
        let dot: f64 = before.iter().zip(&after).map(|(a, b)| a * b).sum();
        let norms = before.iter().map(|a| a * a).sum::<f64>().sqrt()
            * after.iter().map(|b| b * b).sum::<f64>().sqrt();
        sum += if norms > 0.0 { 1.0 - dot / norms } else { 0.0 };
        count += 1;
    }
    if count > 0 { sum / count as f64 } else { 0.0 }
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

    fn track_onset(onset: &[f32]) -> Vec<f64> {
        let tempo = estimate_tempo(onset, &Tempogram::new().compute(onset));
        track(&Cues { activation: onset, harmony: None, level: None }, &tempo)
    }

    #[test]
    fn a_click_track_is_tracked_on_every_click() {
        let period = period_of(128.0);
        let onset = clicks(period, 20.0, 3000);
        let beats = track_onset(&onset);
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
        let beats = track_onset(&onset);
        assert!(
            beats[0] >= 599.0 && *beats.last().unwrap() < 2600.0,
            "{:?}",
            (beats[0], beats.last())
        );
    }

    #[test]
    fn silence_has_no_beats() {
        assert!(track_onset(&vec![0.0; 1000]).is_empty());
    }

    /// Clicks on every beat, and louder ones on the off-beats for the middle third: the
    /// free DP follows the loud clicks there, the grid keeps the beat.
    #[test]
    fn a_louder_off_beat_section_does_not_flip_the_phase() {
        let period = period_of(140.0);
        let n = 9000;
        let mut onset = clicks(period, 10.0, n);
        for (t, v) in clicks(period, 10.0 + period / 2.0, n).iter().enumerate() {
            if (3000..6000).contains(&t) && *v > 0.0 {
                onset[t] = 1.3;
            }
        }
        let grid = Grid { period, phase: 10.0 };
        // The premise: on its own, the DP takes the louder off-beats.
        let x = onset_evidence(&onset).unwrap();
        let free = best_sequence(&local_score(&x, period), period);
        let flipped = free.iter().filter(|b| grid.offset(**b as f64).abs() > 0.4).count();
        assert!(flipped > 50, "only {flipped} free-DP beats on the off-beat");

        let beats = track_onset(&onset);
        let off = beats.iter().filter(|b| grid.offset(**b).abs() > 0.1).count();
        assert!(off == 0, "{off} of {} beats off the grid", beats.len());
        assert!(beats.len() as f64 > 0.95 * (n as f64 - 10.0) / period, "{}", beats.len());
    }

    #[test]
    fn harmony_that_changes_on_the_beat_marks_the_beat() {
        let grid = Grid { period: 40.0, phase: 0.0 };
        // A chord per beat, alternating C and G: changes exactly at the grid's beats.
        let mut chroma = FrameMatrix::zeros(4000, 12);
        for t in 0..4000 {
            let class = if (t / 40) % 2 == 0 { 0 } else { 7 };
            chroma.frame_mut(t)[class] = 1.0;
        }
        assert!(harmonic_change(&chroma, &grid) > 0.9);
        assert!(harmonic_change(&chroma, &grid.off_beat()) < 0.1);
        // Equal onsets on beats and off-beats: the harmony decides.
        let local = vec![1.0; 4000];
        assert_eq!(beat_or_off_beat(&grid.off_beat(), &local, Some(&chroma)), grid);
    }
}
