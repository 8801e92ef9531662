//! Phrase segmentation: novelty over beat-synchronous features, boundaries on downbeats.
//!
//! A track's bars are cut into phrases of `min_bars..=max_bars` whole bars (4–16 by
//! default; `--min-phrase-bars` and `--max-phrase-bars` on the command line) in two steps:
//!
//! 1. **Novelty decides where.** The features are averaged per beat (the beats of each bar
//!    spaced evenly between its downbeats), and a Gaussian-tapered checkerboard kernel
//!    slid along the beats' self-similarity scores each bar start by how different the
//!    bars before it are from the bars after it ([`super::novelty`]).
//! 2. **Structure decides how many and how long.** A dynamic programme over the bar starts
//!    picks the tiling of the track into phrases that maximises the novelty at the chosen
//!    boundaries, less a fixed cost per boundary (a boundary must be earned), plus a small
//!    prior for phrase lengths that are a multiple of 4 bars. Only lengths within the
//!    limits are ever considered, so the limits hold by construction, whatever the
//!    novelty says.

use super::novelty::{SelfSimilarity, checkerboard};
use crate::dsp::Features;
use crate::{Error, Result};

/// The limits on a phrase's length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhraseOptions {
    /// The shortest phrase, bars (at least 1).
    pub min_bars: usize,
    /// The longest phrase, bars (at least `min_bars`).
    pub max_bars: usize,
}

impl Default for PhraseOptions {
    fn default() -> Self {
        PhraseOptions { min_bars: 4, max_bars: 16 }
    }
}

impl PhraseOptions {
    /// Checks the limits.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if `min_bars` is 0 or greater than `max_bars`.
    pub fn validate(&self) -> Result<()> {
        if self.min_bars == 0 {
            return Err(Error::InvalidParameter {
                name: "min_bars",
                reason: "a phrase is at least 1 bar long; use 1 or more".into(),
            });
        }
        if self.min_bars > self.max_bars {
            return Err(Error::InvalidParameter {
                name: "min_bars",
                reason: format!(
                    "{} is more than max_bars ({}); the shortest phrase cannot be longer than the longest",
                    self.min_bars, self.max_bars
                ),
            });
        }
        Ok(())
    }
}

/// One phrase: a run of whole bars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Phrase {
    /// Its first bar (an index into the bars given to [`segment`]).
    pub start_bar: usize,
    /// Its length in bars.
    pub bars: usize,
}

// The three constants below were chosen on the demo library (24 tracks), from the middle
// of a plateau: mean boundary F stays within 0.02 of its best for half-widths of 5–7 bars
// and boundary costs of 0.2–0.3, so they are not tuned to a knife's edge.

/// Half-width of the checkerboard kernel, bars. With its Gaussian taper (σ = 3 bars) the
/// kernel weights mostly the 2–3 bars each side of a bar start, so a 4-bar section still
/// stands out from its neighbours, while its tails average over a whole chord cycle (4 or
/// 8 bars), so the chord changes inside a section do not look like section changes.
const KERNEL_BARS: usize = 6;

/// What a boundary costs, in novelty units. Novelty is −1..1, 0 where nothing changes; on
/// the demo library, section starts score a median 0.24, other bar starts a median 0.05
/// and 90 % of them below 0.18 (chord changes, a layer added inside a section). Net of
/// the 4-bar bonus, an optional boundary needs a novelty above 0.2. Many boundaries are
/// not optional, though: a 40-bar stretch needs at least two inside it when phrases are
/// at most 16 bars, and the programme puts those where the novelty is highest, so weaker
/// section changes are still found when the length limits call for a cut near them.
const BOUNDARY_COST: f32 = 0.25;

/// The bonus for a phrase whose length is a multiple of 4 bars. Most music is written in
/// 4-, 8- and 16-bar phrases, so where the novelty is ambiguous (two bar starts scoring
/// alike, a change that is spread over a bar or two), the DP prefers the common lengths.
/// Much smaller than [`BOUNDARY_COST`], so it never adds a boundary on its own: splitting
/// a 16-bar phrase into 8 + 8 gains one bonus and pays one cost.
const FOUR_BAR_BONUS: f32 = 0.05;

/// Cuts a track's bars into phrases.
///
/// `bar_frames` holds the frame of each downbeat (bar start), increasing; bar `i` runs to
/// bar `i + 1`'s downbeat, and the last bar to the track's end (at most one typical bar).
/// `beats_per_bar` divides each bar into beats for the features.
///
/// The phrases tile the bars in order, each `options.min_bars..=options.max_bars` long,
/// with two exceptions: a track of fewer than `min_bars` bars is one phrase, and where no
/// tiling within the limits exists (e.g. 6 bars with limits 4..=5) the last phrase is
/// shorter than `min_bars`. No bars, no phrases.
///
/// # Errors
/// [`Error::InvalidParameter`] if the options are invalid ([`PhraseOptions::validate`]),
/// `beats_per_bar` is 0 or `bar_frames` is not increasing.
pub fn segment(
    features: &Features,
    bar_frames: &[usize],
    beats_per_bar: usize,
    options: &PhraseOptions,
) -> Result<Vec<Phrase>> {
    options.validate()?;
    if beats_per_bar == 0 {
        return Err(Error::InvalidParameter {
            name: "beats_per_bar",
            reason: "a bar has at least one beat".into(),
        });
    }
    if bar_frames.windows(2).any(|w| w[0] >= w[1]) {
        return Err(Error::InvalidParameter {
            name: "bar_frames",
            reason: "downbeat frames must be strictly increasing".into(),
        });
    }
    let n_bars = bar_frames.len();
    if n_bars == 0 {
        return Ok(Vec::new());
    }
    let beat_frames = beat_grid(bar_frames, beats_per_bar, features.n_frames());
    let half_width = KERNEL_BARS * beats_per_bar;
    let ssm = SelfSimilarity::new(features, &beat_frames, half_width);
    let downbeats: Vec<usize> = (0..n_bars).map(|b| b * beats_per_bar).collect();
    let novelty = checkerboard(&ssm, &downbeats, half_width);
    Ok(best_tiling(&novelty, options))
}

/// Beat boundaries (frames): each bar split into `beats_per_bar` even parts, then the end
/// of the last bar. The last bar ends at the track's end, but at most one median bar after
/// its downbeat, so a long fade-out does not blur the last beats' features.
fn beat_grid(bar_frames: &[usize], beats_per_bar: usize, n_frames: usize) -> Vec<usize> {
    let mut lengths: Vec<usize> = bar_frames.windows(2).map(|w| w[1] - w[0]).collect();
    let last = bar_frames[bar_frames.len() - 1];
    let median = if lengths.is_empty() {
        n_frames.saturating_sub(last)
    } else {
        let mid = lengths.len() / 2;
        *lengths.select_nth_unstable(mid).1
    };
    let end = n_frames.min(last + median).max(last + beats_per_bar);
    let mut grid = Vec::with_capacity(bar_frames.len() * beats_per_bar + 1);
    for (i, &start) in bar_frames.iter().enumerate() {
        let next = bar_frames.get(i + 1).copied().unwrap_or(end);
        let length = (next - start) as f64;
        grid.extend(
            (0..beats_per_bar).map(|k| start + (length * k as f64 / beats_per_bar as f64) as usize),
        );
    }
    grid.push(end);
    grid
}

/// The tiling of `novelty.len()` bars into phrases that maximises
/// `Σ (novelty[boundary] - BOUNDARY_COST) + Σ prior(length)` over the inner boundaries and
/// the phrases, with every length within the limits. O(bars × (max_bars - min_bars + 1)).
///
/// `novelty[b]` scores a boundary at the start of bar `b`; `novelty[0]` is unused (bar 0
/// always starts a phrase).
fn best_tiling(novelty: &[f32], options: &PhraseOptions) -> Vec<Phrase> {
    let n = novelty.len();
    if n == 0 {
        return Vec::new();
    }
    let prior = |bars: usize| if bars.is_multiple_of(4) { FOUR_BAR_BONUS } else { 0.0 };
    // best[j]: the best score of a tiling of bars 0..j; from[j]: where its last phrase starts.
    let mut best = vec![f32::NEG_INFINITY; n + 1];
    let mut from = vec![0usize; n + 1];
    best[0] = 0.0;
    for j in options.min_bars..=n {
        let boundary = if j < n { novelty[j] - BOUNDARY_COST } else { 0.0 };
        for bars in options.min_bars..=options.max_bars.min(j) {
            let i = j - bars;
            let score = best[i] + prior(bars) + boundary;
            if best[i].is_finite() && score > best[j] {
                best[j] = score;
                from[j] = i;
            }
        }
    }
    // No tiling within the limits (a track shorter than min_bars, or lengths that cannot
    // add up to it): end with the best tiling of a prefix and a short last phrase. Some
    // prefix always tiles: a multiple of min_bars within min_bars of the end.
    let mut end = n;
    if !best[n].is_finite() {
        let start = (n.saturating_sub(options.min_bars - 1)..n)
            .filter(|&i| best[i].is_finite())
            .max_by(|&a, &b| best[a].total_cmp(&best[b]))
            .unwrap_or(0);
        end = start;
    }
    let mut phrases = Vec::new();
    if end < n {
        phrases.push(Phrase { start_bar: end, bars: n - end });
    }
    while end > 0 {
        let start = from[end];
        phrases.push(Phrase { start_bar: start, bars: end - start });
        end = start;
    }
    phrases.reverse();
    phrases
}

#[cfg(test)]
mod tests {
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::dsp::{FRAMES_PER_BEAT, FrameMatrix, N_CHROMA, N_MELS, N_MFCC, N_ONSET_BANDS};

    const BAR: usize = 4 * FRAMES_PER_BEAT;

    /// Features of `n_bars` bars of 4/4 at 120 BPM: every group holds one random pattern per
    /// section (`section_bars` long) plus frame-to-frame noise a tenth as large, so the
    /// sections are obvious and the bars within one are alike but not identical.
    fn sectioned_features(n_bars: usize, section_bars: usize, seed: u64) -> Features {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let n_frames = n_bars * BAR;
        let n_sections = n_bars.div_ceil(section_bars);
        let mut group = |width: usize| {
            let patterns: Vec<f32> =
                (0..n_sections * width).map(|_| rng.random_range(-1.0..1.0)).collect();
            let data = (0..n_frames * width)
                .map(|k| {
                    let (t, c) = (k / width, k % width);
                    let section = t / BAR / section_bars;
                    patterns[section * width + c] + rng.random_range(-0.1..0.1)
                })
                .collect();
            FrameMatrix::from_vec(width, data)
        };
        let log_mel = group(N_MELS);
        let chroma = group(N_CHROMA);
        let mfcc = group(N_MFCC);
        let onset_bands = group(N_ONSET_BANDS);
        let zeros = vec![0.0; n_frames];
        Features {
            log_mel,
            chroma,
            mfcc,
            centroid: zeros.clone(),
            bandwidth: zeros.clone(),
            rolloff: zeros.clone(),
            flatness: zeros.clone(),
            contrast: FrameMatrix::zeros(n_frames, 7),
            onset: zeros,
            onset_bands,
            tempogram: FrameMatrix::zeros(0, 1),
        }
    }

    fn bar_frames(n_bars: usize) -> Vec<usize> {
        (0..n_bars).map(|b| b * BAR).collect()
    }

    fn starts(phrases: &[Phrase]) -> Vec<usize> {
        phrases.iter().map(|p| p.start_bar).collect()
    }

    #[test]
    fn boundaries_fall_exactly_on_a_change_every_8_bars() {
        for seed in 0..3 {
            let features = sectioned_features(40, 8, seed);
            let phrases =
                segment(&features, &bar_frames(40), 4, &PhraseOptions::default()).unwrap();
            assert_eq!(starts(&phrases), [0, 8, 16, 24, 32], "seed {seed}");
        }
    }

    #[test]
    fn a_change_is_found_off_the_four_bar_grid_too() {
        // Sections of 6 bars: the novelty must beat the prior for multiples of 4.
        let features = sectioned_features(30, 6, 1);
        let phrases = segment(&features, &bar_frames(30), 4, &PhraseOptions::default()).unwrap();
        assert_eq!(starts(&phrases), [0, 6, 12, 18, 24]);
    }

    #[test]
    fn uniform_music_is_cut_only_as_the_longest_phrase_requires() {
        let features = sectioned_features(32, 32, 5);
        let phrases = segment(&features, &bar_frames(32), 4, &PhraseOptions::default()).unwrap();
        assert_eq!(phrases.len(), 2, "{phrases:?}");
        assert!(phrases.iter().all(|p| p.bars % 4 == 0), "{phrases:?}");
    }

    /// Whether `n` bars can be cut into phrases of `min..=max` bars: some count `k` of
    /// phrases has `k min <= n <= k max`.
    fn tileable(n: usize, min: usize, max: usize) -> bool {
        (1..=n / min).any(|k| k * min <= n && n <= k * max)
    }

    #[test]
    fn length_limits_hold_for_any_novelty() {
        let mut rng = ChaCha8Rng::seed_from_u64(42);
        for case in 0..3000 {
            let n = rng.random_range(0..120usize);
            let min_bars = rng.random_range(1..10usize);
            let max_bars = min_bars + rng.random_range(0..20usize);
            let options = PhraseOptions { min_bars, max_bars };
            // Novelty anywhere from flat to wild, including values far outside −1..1.
            let spread = [0.0, 0.3, 1.0, 100.0][case % 4];
            let novelty: Vec<f32> = (0..n).map(|_| rng.random_range(-1.0..1.0) * spread).collect();
            let phrases = best_tiling(&novelty, &options);
            let what = format!("n {n}, limits {min_bars}..={max_bars}: {phrases:?}");

            let mut next = 0;
            for p in &phrases {
                assert_eq!(p.start_bar, next, "phrases tile the bars in order; {what}");
                assert!(p.bars > 0, "{what}");
                next += p.bars;
            }
            assert_eq!(next, n, "phrases cover every bar; {what}");
            if n == 0 {
                assert!(phrases.is_empty());
            } else if n < min_bars {
                assert_eq!(phrases, [Phrase { start_bar: 0, bars: n }], "{what}");
            } else if tileable(n, min_bars, max_bars) {
                let ok = phrases.iter().all(|p| (min_bars..=max_bars).contains(&p.bars));
                assert!(ok, "every phrase within the limits; {what}");
            } else {
                let (last, rest) = phrases.split_last().unwrap();
                assert!(last.bars < min_bars, "only the last phrase is short; {what}");
                let ok = rest.iter().all(|p| (min_bars..=max_bars).contains(&p.bars));
                assert!(ok, "{what}");
            }
        }
    }

    #[test]
    fn the_programme_takes_the_strongest_boundaries() {
        let mut novelty = vec![0.0; 24];
        novelty[8] = 0.9;
        novelty[9] = 0.6; // a shoulder of the peak: too close to it to be a boundary too
        novelty[16] = 0.5;
        novelty[20] = 0.1; // below the cost: not worth a boundary
        let phrases = best_tiling(&novelty, &PhraseOptions::default());
        assert_eq!(starts(&phrases), [0, 8, 16]);
    }

    #[test]
    fn min_above_max_is_an_invalid_parameter() {
        let features = sectioned_features(8, 8, 0);
        let options = PhraseOptions { min_bars: 8, max_bars: 4 };
        let error = segment(&features, &bar_frames(8), 4, &options).unwrap_err();
        assert!(matches!(error, Error::InvalidParameter { name: "min_bars", .. }), "{error}");
        assert!(PhraseOptions { min_bars: 0, max_bars: 4 }.validate().is_err());
        assert!(PhraseOptions::default().validate().is_ok());
        let options = PhraseOptions::default();
        assert!(segment(&features, &bar_frames(8), 0, &options).is_err());
        assert!(segment(&features, &[0, 192, 192], 4, &options).is_err());
    }

    #[test]
    fn a_track_shorter_than_min_bars_is_one_phrase() {
        let features = sectioned_features(3, 1, 0);
        let phrases = segment(&features, &bar_frames(3), 4, &PhraseOptions::default()).unwrap();
        assert_eq!(phrases, [Phrase { start_bar: 0, bars: 3 }]);
        let phrases = segment(&features, &[], 4, &PhraseOptions::default()).unwrap();
        assert!(phrases.is_empty());
        let phrases = segment(&features, &[0], 4, &PhraseOptions::default()).unwrap();
        assert_eq!(phrases, [Phrase { start_bar: 0, bars: 1 }]);
    }

    #[test]
    fn downbeats_past_the_features_do_not_panic() {
        let features = sectioned_features(8, 4, 0);
        let bars: Vec<usize> = (0..20).map(|b| b * BAR).collect();
        let phrases = segment(&features, &bars, 4, &PhraseOptions::default()).unwrap();
        assert_eq!(phrases.iter().map(|p| p.bars).sum::<usize>(), 20);
    }

    #[test]
    fn demo_track_phrases_match_its_sections() {
        use crate::analysis::frame_of;
        use crate::audio::{downmix, resample};
        use crate::demolib::{self, DemoLibraryOptions};
        use crate::dsp::FeatureExtractor;

        let spec = &demolib::plan(&DemoLibraryOptions { tracks: 2, seed: 7 })[0];
        let (audio, truth) = demolib::render(spec);
        let mono = downmix(&audio, usize::from(demolib::CHANNELS));
        let signal = resample(&mono, demolib::SAMPLE_RATE, crate::dsp::SAMPLE_RATE).unwrap();
        let features = FeatureExtractor::new().compute(&signal);
        let bars: Vec<usize> = truth.downbeats.iter().map(|&t| frame_of(t)).collect();
        let phrases = segment(&features, &bars, 4, &PhraseOptions::default()).unwrap();

        // Inner boundaries only: the first bar starts a phrase and a section by definition.
        let found: Vec<usize> = phrases.iter().map(|p| p.start_bar).filter(|&b| b > 0).collect();
        let sections: Vec<usize> =
            truth.sections.iter().map(|s| s.start_bar).filter(|&b| b > 0).collect();
        let hits = found.iter().filter(|b| sections.contains(b)).count() as f64;
        let precision = hits / found.len().max(1) as f64;
        let recall = hits / sections.len() as f64;
        let f = 2.0 * precision * recall / (precision + recall).max(f64::EPSILON);
        assert!(f >= 0.8, "F {f:.3}: phrases at {found:?}, sections at {sections:?}");
    }
}
