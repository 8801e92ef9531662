//! e_phrase: the 256-D phrase embedding (rhythm 64 ‖ harmony 64 ‖ timbre 128).
//!
//! Every phrase of the database gets one vector, computed from the feature standard
//! ([`Features`]) over the phrase's frames and its beat grid. Retrieval is a cosine over the
//! *standardised* vector (see [`EmbeddingStats::standardise`]), so that a query can weight
//! the three groups ("match the rhythm, ignore the timbre", [`GroupWeights`]) while one
//! cosine ANN index serves every weighting ([`weighted_query`]).
//!
//! # What each dimension means
//!
//! A phrase is whole bars from a downbeat; the live server time-stretches it to the live
//! tempo, so everything rhythmic is measured in beats, not seconds, and every statistic
//! over time is a mean or a spread, never a sum. Only one dimension (60) knows the tempo.
//!
//! | dims | group | meaning |
//! |---|---|---|
//! | 0–15 | rhythm | onset pattern of the **low** band (onset bands 0–1, 0–400 Hz: kick, bass) at the 16 steps of the bar, averaged over the bars (see below) |
//! | 16–31 | rhythm | the same for the **mid** band (onset bands 2–3, 400 Hz–3 kHz: snare, chords, voice) |
//! | 32–47 | rhythm | the same for the **high** band (onset bands 4–5, 3–12 kHz: hats, cymbals) |
//! | 48–59 | rhythm | autocorrelation of the total onset on the beat grid at lags of 1/4, 1/3, 1/2, 2/3, 3/4, 1, 4/3, 3/2, 2, 5/2, 3 and 4 beats (Pearson over the overlap, −1..1) |
//! | 60 | rhythm | log2(tempo / 120 BPM) |
//! | 61 | rhythm | onset density: onset peaks per beat (0..6) |
//! | 62 | rhythm | syncopation: onset on a weak step minus onset on the next stronger step, times how much weaker it is (Longuet-Higgins and Lee), over 4 × the onset mass: 0 on the beats, ≈ 0.4 all on the "and"s |
//! | 63 | rhythm | pulse clarity: the largest autocorrelation at 1/2, 1 or 2 beats, floored at 0 |
//! | 64–75 | harmony | mean chroma over the beats, C first |
//! | 76–87 | harmony | standard deviation of the beat chroma over the beats |
//! | 88–93 | harmony | mean tonal centroid (Harte's tonnetz: fifths sin/cos, minor thirds sin/cos, major thirds sin/cos ×0.5) over the beats |
//! | 94–99 | harmony | its standard deviation over the beats |
//! | 100–111 | harmony | Pearson correlation of the mean chroma with the Krumhansl–Kessler **major** profile of each tonic, C major first |
//! | 112–123 | harmony | the same with the **minor** profile, C minor first |
//! | 124 | harmony | beat chroma flux: mean cosine distance between consecutive beats' chroma |
//! | 125 | harmony | bar chroma flux (harmonic-change rate): mean cosine distance between consecutive bars' chroma (0 for one bar) |
//! | 126 | harmony | key clarity: the largest of the 24 key correlations |
//! | 127 | harmony | pitch-class concentration: 1 − entropy(mean chroma) / ln 12 (0 flat, 1 one class) |
//! | 128–147 | timbre | MFCC mean over the frames (`N_MFCC` = 20) |
//! | 148–167 | timbre | MFCC standard deviation |
//! | 168–174 | timbre | spectral contrast mean (`N_CONTRAST` = 7 octave bands, dB) |
//! | 175–181 | timbre | spectral contrast standard deviation |
//! | 182–185 | timbre | mean of ln centroid, ln bandwidth, ln roll-off (Hz, floored at 1 Hz) and ln flatness (floored at 1e-10) |
//! | 186–189 | timbre | their standard deviations |
//! | 190–221 | timbre | log-mel averaged into 32 bands of 4 mel bins: mean (natural log) |
//! | 222–253 | timbre | the same 32 bands: standard deviation over the frames |
//! | 254 | timbre | loudness mean: dB of the frame's mean mel magnitude (each of the 32 bands at its geometric mean) |
//! | 255 | timbre | loudness standard deviation, dB |
//!
//! **The 16-step patterns.** Step `s` of bar `b` is the beat position
//! `b · beats_per_bar + s · beats_per_bar / 16` (sixteenth notes in 4/4; sixteen equal
//! divisions of the bar in other meters), turned into a frame by linear interpolation
//! between the beat frames, so the pattern follows the real beats and not a fixed tempo.
//! A step's value is the largest onset strength of the band within ± half a step of it (an
//! onset a little early or late still lands on its step). The steps are averaged over the
//! bars, then scaled so the 16 steps of a band have mean 1; a band whose onsets are weak
//! against the loudest band of the phrase is pulled towards the flat pattern (1 everywhere)
//! instead of having its noise blown up, and silence is flat.
//!
//! **The beat grid** for dims 48–63 holds 12 cells per beat (so sixteenths and triplets
//! both fall on cells), each the largest total onset within ± half a cell.
//!
//! The harmony group uses beat-synchronous chroma ([`beat_sync`] of [`Features::chroma`]):
//! each beat counts once whatever its length in frames. The timbre group is frame-wise.
//!
//! Only frames in `[beat_frames[0], beat_frames.last())`, clamped to the features, are read.
//! A phrase with no frame there gives zeros in the statistics and flat patterns; every value
//! is finite whatever the input.
//!
//! # Standardising and weighting
//!
//! [`EmbeddingStats`] holds a database-wide mean and standard deviation per dimension.
//! [`EmbeddingStats::standardise`] z-scores each dimension (clipped to ±[`Z_CLIP`], so one
//! odd dimension cannot own a group), scales each group to unit length and then by
//! 1/√3: the whole vector has unit length and the cosine of two standardised vectors is the
//! mean of their three group cosines. [`weighted_query`] multiplies the query's groups by
//! the weights; its cosine with a stored vector is proportional to Σ w_g cos_g, so the ANN
//! index ranks by the weighted similarity for any weights. [`weighted_distance`] reports
//! 1 − Σ w_g cos_g / Σ w_g.
//!
//! # Cost
//!
//! One pass over the phrase's frames and a few hundred beat-grid cells, no FFT: in a release
//! build about 0.15 ms for a 4-bar phrase at 120 BPM (768 frames), 0.25 ms for 8 bars.

use std::ops::Range;

use serde::{Deserialize, Serialize};

use crate::analysis::beat_sync;
use crate::dsp::{Features, FrameMatrix, N_CHROMA, N_CONTRAST, N_MELS, N_MFCC, N_ONSET_BANDS};
use crate::{Error, Result};

/// Dimensions of the rhythm group.
pub const RHYTHM_DIMS: usize = 64;
/// Dimensions of the harmony group.
pub const HARMONY_DIMS: usize = 64;
/// Dimensions of the timbre group.
pub const TIMBRE_DIMS: usize = 128;
/// Dimensions of e_phrase.
pub const E_PHRASE_DIMS: usize = RHYTHM_DIMS + HARMONY_DIMS + TIMBRE_DIMS;

/// Largest |z-score| a dimension keeps in [`EmbeddingStats::standardise`].
pub const Z_CLIP: f32 = 5.0;

/// The three groups, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// Dims 0–63: onset patterns, periodicity, tempo, density, syncopation.
    Rhythm,
    /// Dims 64–127: chroma, tonal centroid, key correlations, harmonic change.
    Harmony,
    /// Dims 128–255: MFCC, spectral shape, coarse log-mel, loudness.
    Timbre,
}

impl Group {
    /// The groups in the order of their dimensions.
    pub const ALL: [Group; 3] = [Group::Rhythm, Group::Harmony, Group::Timbre];

    /// The group's dimensions within e_phrase.
    pub fn range(self) -> Range<usize> {
        match self {
            Group::Rhythm => 0..RHYTHM_DIMS,
            Group::Harmony => RHYTHM_DIMS..RHYTHM_DIMS + HARMONY_DIMS,
            Group::Timbre => RHYTHM_DIMS + HARMONY_DIMS..E_PHRASE_DIMS,
        }
    }

    /// Lower-case name, as patches and logs write it.
    pub fn name(self) -> &'static str {
        match self {
            Group::Rhythm => "rhythm",
            Group::Harmony => "harmony",
            Group::Timbre => "timbre",
        }
    }
}

// Layout, as in the module table.
const STEPS: usize = 16;
const N_BAND_GROUPS: usize = 3;
const AUTOCORR: usize = 48;
const TEMPO: usize = 60;
const DENSITY: usize = 61;
const SYNCOPATION: usize = 62;
const PULSE_CLARITY: usize = 63;
const CHROMA_MEAN: usize = 64;
const CHROMA_STD: usize = 76;
const TONNETZ_MEAN: usize = 88;
const TONNETZ_STD: usize = 94;
const KEY_MAJOR: usize = 100;
const KEY_MINOR: usize = 112;
const BEAT_FLUX: usize = 124;
const BAR_FLUX: usize = 125;
const KEY_CLARITY: usize = 126;
const CONCENTRATION: usize = 127;
const MFCC_MEAN: usize = 128;
const MFCC_STD: usize = MFCC_MEAN + N_MFCC;
const CONTRAST_MEAN: usize = MFCC_STD + N_MFCC;
const CONTRAST_STD: usize = CONTRAST_MEAN + N_CONTRAST;
const SHAPE_MEAN: usize = CONTRAST_STD + N_CONTRAST;
const SHAPE_STD: usize = SHAPE_MEAN + 4;
const MEL_BANDS: usize = 32;
const MEL_MEAN: usize = SHAPE_STD + 4;
const MEL_STD: usize = MEL_MEAN + MEL_BANDS;
const LOUDNESS_MEAN: usize = MEL_STD + MEL_BANDS;
const LOUDNESS_STD: usize = LOUDNESS_MEAN + 1;
const _: () = assert!(LOUDNESS_STD + 1 == E_PHRASE_DIMS);
const _: () = assert!(N_MELS.is_multiple_of(MEL_BANDS) && N_ONSET_BANDS == 2 * N_BAND_GROUPS);

/// Beat-grid cells per beat (sixteenths and eighth-note triplets both fall on cells).
const CELLS_PER_BEAT: usize = 12;
/// Autocorrelation lags, in grid cells (1/4 … 4 beats).
const LAGS: [usize; 12] = [3, 4, 6, 8, 9, 12, 16, 18, 24, 30, 36, 48];
/// Lags (cells) whose autocorrelation is the pulse clarity: 1/2, 1 and 2 beats.
const PULSE_LAGS: [usize; 3] = [6, 12, 24];
/// Metrical depth of the 16 steps of a bar (Longuet-Higgins and Lee): 0 the downbeat,
/// 1 the half bar, 2 the beats, 3 the eighths, 4 the sixteenths.
const DEPTH: [u8; STEPS] = [0, 4, 3, 4, 2, 4, 3, 4, 1, 4, 3, 4, 2, 4, 3, 4];
/// A band's pattern is blended towards flat by this share of the loudest band's level.
const PATTERN_FLOOR: f32 = 0.05;

/// Krumhansl–Kessler probe-tone ratings (Krumhansl 1990, *Cognitive Foundations of Musical
/// Pitch*, table 2.1), tonic first.
const KK_MAJOR: [f32; N_CHROMA] =
    [6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88];
/// Krumhansl–Kessler minor profile, tonic first.
const KK_MINOR: [f32; N_CHROMA] =
    [6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17];

/// dB per neper (20 / ln 10).
const DB_PER_NEPER: f32 = 20.0 / std::f32::consts::LN_10;

/// Raw (unstandardised) e_phrase of one phrase: [`E_PHRASE_DIMS`] values laid out as the
/// module table says, all finite, even for silence or a very short phrase.
///
/// `beat_frames`: frame indices of the phrase's beats, the first being its first downbeat
/// and the last element the frame where the phrase ends (so it spans
/// `beat_frames.len() - 1` beats, whole bars of `beats_per_bar` beats; 0 is taken as 4).
/// `tempo` in BPM (non-positive or non-finite counts as 120). Frames are read only within
/// `[beat_frames[0], beat_frames.last())`, clamped to the features.
pub fn raw_e_phrase(
    features: &Features,
    beat_frames: &[usize],
    beats_per_bar: usize,
    tempo: f64,
) -> Vec<f32> {
    let mut e = vec![0.0f32; E_PHRASE_DIMS];
    let beats_per_bar = if beats_per_bar == 0 { 4 } else { beats_per_bar };
    let n = features.n_frames();
    let (start, end) = match (beat_frames.first(), beat_frames.last()) {
        (Some(&first), Some(&last)) => (first.min(n), last.min(n)),
        _ => (0, 0),
    };
    let frames = start..end.max(start);
    let grid = BeatGrid::new(beat_frames);

    rhythm(features, &grid, frames.clone(), beats_per_bar, tempo, &mut e[Group::Rhythm.range()]);
    harmony(features, beat_frames, frames.clone(), beats_per_bar, &mut e[Group::Harmony.range()]);
    timbre(features, frames, &mut e[Group::Timbre.range()]);

    for v in &mut e {
        if !v.is_finite() {
            *v = 0.0;
        }
    }
    e
}

/// Beat positions (in beats from the phrase's first downbeat) to frame positions, by
/// linear interpolation between the beat frames.
struct BeatGrid {
    beats: Vec<f64>,
}

impl BeatGrid {
    fn new(beat_frames: &[usize]) -> Self {
        // A beat frame before its predecessor would run time backwards: hold it instead.
        let mut beats = Vec::with_capacity(beat_frames.len());
        let mut last = 0.0f64;
        for (i, &b) in beat_frames.iter().enumerate() {
            let b = b as f64;
            last = if i == 0 { b } else { b.max(last) };
            beats.push(last);
        }
        Self { beats }
    }

    fn n_beats(&self) -> usize {
        self.beats.len().saturating_sub(1)
    }

    /// The frame (fractional) at `position` beats.
    fn frame_at(&self, position: f64) -> f64 {
        let n = self.n_beats();
        if n == 0 {
            return self.beats.first().copied().unwrap_or(0.0);
        }
        let k = (position.floor().max(0.0) as usize).min(n - 1);
        let span = self.beats[k + 1] - self.beats[k];
        self.beats[k] + (position - k as f64) * span
    }
}

/// The largest value of `curve` over the frames in `[lo, hi)` (fractional frame positions),
/// restricted to `frames`; `curve[i]` is frame `frames.start + i`. A window narrower than a
/// frame takes its nearest frame. `None` when the window holds no frame of `frames`.
fn window_max(curve: &[f32], frames: &Range<usize>, lo: f64, hi: f64) -> Option<f32> {
    let (mut first, mut last) = (lo.ceil(), hi.ceil());
    if last <= first {
        first = (0.5 * (lo + hi)).round();
        last = first + 1.0;
    }
    let first = (first.max(frames.start as f64) as usize).min(frames.end);
    let last = (last.max(0.0) as usize).min(frames.end);
    (first < last).then(|| {
        curve[first - frames.start..last - frames.start].iter().copied().fold(0.0, f32::max)
    })
}

fn rhythm(
    features: &Features,
    grid: &BeatGrid,
    frames: Range<usize>,
    beats_per_bar: usize,
    tempo: f64,
    out: &mut [f32],
) {
    // Onset of the low, mid and high band groups and the total, over the phrase's frames.
    let mut curves: [Vec<f32>; N_BAND_GROUPS + 1] = Default::default();
    for c in &mut curves {
        c.reserve(frames.len());
    }
    for t in frames.clone() {
        let bands = features.onset_bands.frame(t);
        for (g, c) in curves.iter_mut().take(N_BAND_GROUPS).enumerate() {
            c.push(0.5 * (bands[2 * g] + bands[2 * g + 1]));
        }
        curves[N_BAND_GROUPS].push(features.onset[t]);
    }
    for c in &mut curves {
        for v in c.iter_mut() {
            if !v.is_finite() {
                *v = 0.0;
            }
        }
    }

    // 16-step patterns, averaged over the bars.
    let n_beats = grid.n_beats();
    let bar = beats_per_bar as f64;
    let step = bar / STEPS as f64;
    let n_bars = n_beats.div_ceil(beats_per_bar);
    let mut pattern = [[0.0f32; STEPS]; N_BAND_GROUPS];
    let mut total = [0.0f32; STEPS];
    let mut counts = [0u32; STEPS];
    for b in 0..n_bars {
        for s in 0..STEPS {
            let at = b as f64 * bar + s as f64 * step;
            let lo = grid.frame_at(at - 0.5 * step);
            let hi = grid.frame_at(at + 0.5 * step);
            let mut any = false;
            for (g, p) in pattern.iter_mut().enumerate() {
                if let Some(v) = window_max(&curves[g], &frames, lo, hi) {
                    p[s] += v;
                    total[s] += v;
                    any = true;
                }
            }
            counts[s] += u32::from(any);
        }
    }
    for (s, &count) in counts.iter().enumerate() {
        let scale = 1.0 / count.max(1) as f32;
        for p in &mut pattern {
            p[s] *= scale;
        }
        total[s] *= scale;
    }
    let levels = pattern.map(|p| p.iter().sum::<f32>() / STEPS as f32);
    let floor = PATTERN_FLOOR * levels.iter().copied().fold(0.0, f32::max) + 1e-6;
    for (g, p) in pattern.iter().enumerate() {
        let norm = levels[g] + floor;
        for (o, v) in out[g * STEPS..(g + 1) * STEPS].iter_mut().zip(p) {
            *o = (v + floor) / norm;
        }
    }

    // Beat grid of the total onset, 12 cells per beat.
    let half_cell = 0.5 / CELLS_PER_BEAT as f64;
    let cells: Vec<f32> = (0..n_beats * CELLS_PER_BEAT)
        .map(|c| {
            let at = c as f64 / CELLS_PER_BEAT as f64;
            let (lo, hi) = (grid.frame_at(at - half_cell), grid.frame_at(at + half_cell));
            window_max(&curves[N_BAND_GROUPS], &frames, lo, hi).unwrap_or(0.0)
        })
        .collect();
    let mean = cells.iter().sum::<f32>() / cells.len().max(1) as f32;
    let centred: Vec<f32> = cells.iter().map(|c| c - mean).collect();
    for (o, &lag) in out[AUTOCORR..AUTOCORR + LAGS.len()].iter_mut().zip(&LAGS) {
        *o = autocorrelation(&centred, lag);
    }
    let pulse = PULSE_LAGS.iter().map(|&l| autocorrelation(&centred, l)).fold(0.0, f32::max);

    let bpm = if tempo.is_finite() && tempo > 0.0 { tempo } else { 120.0 };
    out[TEMPO] = (bpm / 120.0).log2() as f32;
    out[DENSITY] = onset_peaks(&cells) as f32 / n_beats.max(1) as f32;
    out[SYNCOPATION] = syncopation(&total);
    out[PULSE_CLARITY] = pulse;
}

/// Pearson correlation of `x` with itself `lag` cells later, over their overlap (0 when
/// either side is constant or there is no overlap).
fn autocorrelation(x: &[f32], lag: usize) -> f32 {
    if lag >= x.len() {
        return 0.0;
    }
    let (a, b) = (&x[..x.len() - lag], &x[lag..]);
    let dot: f64 = a.iter().zip(b).map(|(&p, &q)| f64::from(p) * f64::from(q)).sum();
    let ea: f64 = a.iter().map(|&p| f64::from(p).powi(2)).sum();
    let eb: f64 = b.iter().map(|&q| f64::from(q).powi(2)).sum();
    let norm = (ea * eb).sqrt();
    if norm > 1e-12 { (dot / norm) as f32 } else { 0.0 }
}

/// Local maxima of the onset grid that stand out: above half a standard deviation over the
/// mean and above a tenth of the largest cell.
fn onset_peaks(cells: &[f32]) -> usize {
    let n = cells.len().max(1) as f32;
    let mean = cells.iter().sum::<f32>() / n;
    let var = cells.iter().map(|c| (c - mean).powi(2)).sum::<f32>() / n;
    let max = cells.iter().copied().fold(0.0, f32::max);
    let threshold = (mean + 0.5 * var.sqrt()).max(0.1 * max);
    if max <= 0.0 {
        return 0;
    }
    (0..cells.len())
        .filter(|&i| {
            let c = cells[i];
            let before = if i > 0 { cells[i - 1] } else { 0.0 };
            let after = cells.get(i + 1).copied().unwrap_or(0.0);
            c > threshold && c > before && c >= after
        })
        .count()
}

/// Onset mass on each step that the next stronger step (cyclically) does not match, weighted
/// by how much weaker the step is, as a share of the mass times the deepest gap.
fn syncopation(pattern: &[f32; STEPS]) -> f32 {
    let mass: f32 = pattern.iter().sum();
    if mass <= 1e-9 {
        return 0.0;
    }
    let mut sum = 0.0;
    for s in 1..STEPS {
        let depth = DEPTH[s];
        let next = (1..=STEPS).map(|k| (s + k) % STEPS).find(|&t| DEPTH[t] < depth).unwrap_or(0);
        let gap = f32::from(depth - DEPTH[next]);
        sum += (pattern[s] - pattern[next]).max(0.0) * gap;
    }
    sum / (mass * 4.0)
}

fn harmony(
    features: &Features,
    beat_frames: &[usize],
    frames: Range<usize>,
    beats_per_bar: usize,
    out: &mut [f32],
) {
    // Beat boundaries inside the phrase's frames: a beat that starts past the end of the
    // features is dropped, one that runs past it is cut there.
    let mut bounds: Vec<usize> = Vec::with_capacity(beat_frames.len());
    if !frames.is_empty() {
        for &b in beat_frames {
            let b = b.clamp(frames.start, frames.end);
            if bounds.last().is_some_and(|&l| l >= frames.end) {
                break;
            }
            bounds.push(b.max(bounds.last().copied().unwrap_or(b)));
        }
    }
    let beats: FrameMatrix = beat_sync(&features.chroma, &bounds);
    let n_beats = beats.n_frames();
    let chroma: Vec<[f32; N_CHROMA]> = beats
        .frames()
        .map(|f| {
            let mut c = [0.0; N_CHROMA];
            for (o, v) in c.iter_mut().zip(f) {
                *o = if v.is_finite() { v.max(0.0) } else { 0.0 };
            }
            c
        })
        .collect();

    let mut mean = [0.0f32; N_CHROMA];
    let (chroma_mean, chroma_std) = mean_std(chroma.iter().map(|c| &c[..]), N_CHROMA);
    mean.copy_from_slice(&chroma_mean);
    out[CHROMA_MEAN - RHYTHM_DIMS..][..N_CHROMA].copy_from_slice(&chroma_mean);
    out[CHROMA_STD - RHYTHM_DIMS..][..N_CHROMA].copy_from_slice(&chroma_std);

    let tonnetz: Vec<[f32; 6]> = chroma.iter().map(tonal_centroid).collect();
    let (t_mean, t_std) = mean_std(tonnetz.iter().map(|c| &c[..]), 6);
    out[TONNETZ_MEAN - RHYTHM_DIMS..][..6].copy_from_slice(&t_mean);
    out[TONNETZ_STD - RHYTHM_DIMS..][..6].copy_from_slice(&t_std);

    let mut clarity = 0.0f32;
    for tonic in 0..N_CHROMA {
        for (base, profile) in [(KEY_MAJOR, &KK_MAJOR), (KEY_MINOR, &KK_MINOR)] {
            let rotated: [f32; N_CHROMA] =
                std::array::from_fn(|c| profile[(c + N_CHROMA - tonic) % N_CHROMA]);
            let r = pearson(&mean, &rotated);
            out[base - RHYTHM_DIMS + tonic] = r;
            clarity = clarity.max(r);
        }
    }

    let beat_flux = chroma.windows(2).map(|w| cosine_distance(&w[0], &w[1])).sum::<f32>()
        / n_beats.saturating_sub(1).max(1) as f32;
    let bars: Vec<[f32; N_CHROMA]> = chroma
        .chunks(beats_per_bar)
        .map(|bar| {
            let mut m = [0.0; N_CHROMA];
            for c in bar {
                for (o, v) in m.iter_mut().zip(c) {
                    *o += v / bar.len() as f32;
                }
            }
            m
        })
        .collect();
    let bar_flux = bars.windows(2).map(|w| cosine_distance(&w[0], &w[1])).sum::<f32>()
        / bars.len().saturating_sub(1).max(1) as f32;

    let sum: f32 = mean.iter().sum();
    let concentration = if sum > 1e-9 {
        let entropy: f32 =
            mean.iter().map(|m| m / sum).filter(|&p| p > 0.0).map(|p| -p * p.ln()).sum();
        1.0 - entropy / (N_CHROMA as f32).ln()
    } else {
        0.0
    };

    out[BEAT_FLUX - RHYTHM_DIMS] = beat_flux;
    out[BAR_FLUX - RHYTHM_DIMS] = bar_flux;
    out[KEY_CLARITY - RHYTHM_DIMS] = clarity;
    out[CONCENTRATION - RHYTHM_DIMS] = concentration;
}

/// Harte, Sandler and Gasser (2006) tonal centroid of a chroma vector (L1-normalised first):
/// circle of fifths, minor thirds (radius 1) and major thirds (radius 0.5), sin and cos.
fn tonal_centroid(chroma: &[f32; N_CHROMA]) -> [f32; 6] {
    use std::f32::consts::PI;
    let sum: f32 = chroma.iter().sum();
    let mut t = [0.0f32; 6];
    if sum <= 1e-9 {
        return t;
    }
    for (l, &c) in chroma.iter().enumerate() {
        let w = c / sum;
        let l = l as f32;
        let angles =
            [(l * 7.0 * PI / 6.0, 1.0), (l * 3.0 * PI / 2.0, 1.0), (l * 2.0 * PI / 3.0, 0.5)];
        for (k, (a, r)) in angles.into_iter().enumerate() {
            t[2 * k] += w * r * a.sin();
            t[2 * k + 1] += w * r * a.cos();
        }
    }
    t
}

fn pearson(a: &[f32; N_CHROMA], b: &[f32; N_CHROMA]) -> f32 {
    let n = N_CHROMA as f32;
    let (ma, mb) = (a.iter().sum::<f32>() / n, b.iter().sum::<f32>() / n);
    let (mut ab, mut aa, mut bb) = (0.0f32, 0.0f32, 0.0f32);
    for (x, y) in a.iter().zip(b) {
        let (x, y) = (x - ma, y - mb);
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    let norm = (aa * bb).sqrt();
    if norm > 1e-12 { ab / norm } else { 0.0 }
}

/// 1 − cosine; 0 between two silences, 1 between silence and sound.
fn cosine_distance(a: &[f32; N_CHROMA], b: &[f32; N_CHROMA]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    match (na > 1e-9, nb > 1e-9) {
        (true, true) => (1.0 - dot / (na * nb)).max(0.0),
        (false, false) => 0.0,
        _ => 1.0,
    }
}

/// Per-column mean and population standard deviation of rows of `width` values (f64
/// accumulation); zeros for no rows.
fn mean_std<'a>(rows: impl Iterator<Item = &'a [f32]>, width: usize) -> (Vec<f32>, Vec<f32>) {
    let mut sum = vec![0.0f64; width];
    let mut sq = vec![0.0f64; width];
    let mut n = 0usize;
    for row in rows {
        for ((s, q), &v) in sum.iter_mut().zip(sq.iter_mut()).zip(row) {
            let v = f64::from(v);
            *s += v;
            *q += v * v;
        }
        n += 1;
    }
    let n = n.max(1) as f64;
    let mean: Vec<f32> = sum.iter().map(|s| (s / n) as f32).collect();
    let std = sum.iter().zip(&sq).map(|(s, q)| (q / n - (s / n).powi(2)).max(0.0).sqrt() as f32);
    (mean, std.collect())
}

/// Running sums of one scalar (f64).
#[derive(Default, Clone, Copy)]
struct Moments {
    n: f64,
    sum: f64,
    sq: f64,
}

impl Moments {
    fn add(&mut self, v: f32) {
        let v = f64::from(v);
        self.n += 1.0;
        self.sum += v;
        self.sq += v * v;
    }

    fn mean_std(&self) -> (f32, f32) {
        if self.n == 0.0 {
            return (0.0, 0.0);
        }
        let mean = self.sum / self.n;
        (mean as f32, (self.sq / self.n - mean * mean).max(0.0).sqrt() as f32)
    }
}

fn timbre(features: &Features, frames: Range<usize>, out: &mut [f32]) {
    let base = RHYTHM_DIMS + HARMONY_DIMS;

    let (m, s) = mean_std(frames.clone().map(|t| features.mfcc.frame(t)), N_MFCC);
    out[MFCC_MEAN - base..][..N_MFCC].copy_from_slice(&m);
    out[MFCC_STD - base..][..N_MFCC].copy_from_slice(&s);
    let (m, s) = mean_std(frames.clone().map(|t| features.contrast.frame(t)), N_CONTRAST);
    out[CONTRAST_MEAN - base..][..N_CONTRAST].copy_from_slice(&m);
    out[CONTRAST_STD - base..][..N_CONTRAST].copy_from_slice(&s);

    let mut shape = [Moments::default(); 4];
    let mut mel = [Moments::default(); MEL_BANDS];
    let mut loudness = Moments::default();
    let per_band = N_MELS / MEL_BANDS;
    for t in frames {
        let hz = [features.centroid[t], features.bandwidth[t], features.rolloff[t]];
        for (m, h) in shape.iter_mut().zip(hz) {
            m.add(h.max(1.0).ln());
        }
        shape[3].add(features.flatness[t].max(1e-10).ln());

        let frame = features.log_mel.frame(t);
        // Each band's magnitude at its geometric mean: 32 exponentials a frame instead of
        // 128, and adjacent mel bins differ little.
        let mut magnitude = 0.0f32;
        for (m, band) in mel.iter_mut().zip(frame.chunks_exact(per_band)) {
            let level = band.iter().sum::<f32>() / per_band as f32;
            m.add(level);
            magnitude += level.exp();
        }
        loudness.add(DB_PER_NEPER * (magnitude / MEL_BANDS as f32).max(f32::MIN_POSITIVE).ln());
    }
    for (k, m) in shape.iter().enumerate() {
        let (mean, std) = m.mean_std();
        out[SHAPE_MEAN - base + k] = mean;
        out[SHAPE_STD - base + k] = std;
    }
    for (k, m) in mel.iter().enumerate() {
        let (mean, std) = m.mean_std();
        out[MEL_MEAN - base + k] = mean;
        out[MEL_STD - base + k] = std;
    }
    let (mean, std) = loudness.mean_std();
    out[LOUDNESS_MEAN - base] = mean;
    out[LOUDNESS_STD - base] = std;
}

/// Database-wide per-dimension statistics of raw e_phrase vectors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingStats {
    /// Number of vectors the statistics were taken over.
    pub count: u64,
    /// Mean per dimension.
    pub mean: Vec<f32>,
    /// Population standard deviation per dimension, floored (see [`EmbeddingStats::from_raw`]).
    pub std: Vec<f32>,
}

impl EmbeddingStats {
    /// Mean and standard deviation per dimension over raw e_phrase vectors (f64
    /// accumulation). The standard deviation is floored at `1e-3 · (1 + |mean|)`, so a
    /// dimension that is constant over the database standardises to 0 instead of blowing
    /// up. With no vectors, mean 0 and standard deviation 1 (standardising then only
    /// scales the groups); with one, every dimension is constant. A non-finite value
    /// is left out of its dimension's statistics.
    ///
    /// # Panics
    ///
    /// When a vector is not [`E_PHRASE_DIMS`] long.
    pub fn from_raw<'a>(raw: impl IntoIterator<Item = &'a [f32]>) -> Self {
        let mut moments = vec![Moments::default(); E_PHRASE_DIMS];
        let mut count = 0u64;
        for v in raw {
            assert_eq!(v.len(), E_PHRASE_DIMS, "an e_phrase has {E_PHRASE_DIMS} dims");
            for (m, &x) in moments.iter_mut().zip(v) {
                if x.is_finite() {
                    m.add(x);
                }
            }
            count += 1;
        }
        if count == 0 {
            return Self { count, mean: vec![0.0; E_PHRASE_DIMS], std: vec![1.0; E_PHRASE_DIMS] };
        }
        let (mean, std) = moments
            .iter()
            .map(|m| {
                let (mean, std) = m.mean_std();
                (mean, std.max(1e-3 * (1.0 + mean.abs())))
            })
            .unzip();
        Self { count, mean, std }
    }

    /// The standardised e_phrase: each dimension z-scored (and clipped to ±[`Z_CLIP`]; a
    /// non-finite value counts as the mean), then each group scaled to unit length and by
    /// 1/√3, so the whole vector has unit length and a cosine over it is the mean of the
    /// three group cosines. A group exactly at the database mean has no direction; it
    /// becomes the flat unit vector (1/√n each), which on average is orthogonal to the
    /// database's z-scores.
    ///
    /// # Panics
    ///
    /// When `raw` or the statistics are not [`E_PHRASE_DIMS`] long.
    pub fn standardise(&self, raw: &[f32]) -> Vec<f32> {
        assert_eq!(raw.len(), E_PHRASE_DIMS, "an e_phrase has {E_PHRASE_DIMS} dims");
        assert!(
            self.mean.len() == E_PHRASE_DIMS && self.std.len() == E_PHRASE_DIMS,
            "embedding statistics must have {E_PHRASE_DIMS} dims"
        );
        let mut z: Vec<f32> = raw
            .iter()
            .zip(self.mean.iter().zip(&self.std))
            .map(|(&x, (&m, &s))| (x - m) / s)
            .collect();
        standardise_z(&mut z);
        z
    }
}

/// Turns z-scores into a standardised e_phrase in place: each dimension clipped to
/// ±[`Z_CLIP`] (non-finite → 0), each group scaled to unit length and by 1/√3 (a group with
/// no direction becomes the flat unit vector). [`EmbeddingStats::standardise`] ends here,
/// and so does the motion mapper's query.
pub fn standardise_z(z: &mut [f32]) {
    let scale = 1.0 / 3f32.sqrt();
    for v in z.iter_mut() {
        *v = if v.is_finite() { v.clamp(-Z_CLIP, Z_CLIP) } else { 0.0 };
    }
    for g in Group::ALL {
        let part = &mut z[g.range()];
        let norm = part.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>().sqrt() as f32;
        if norm > 1e-6 {
            part.iter_mut().for_each(|v| *v *= scale / norm);
        } else {
            let flat = scale / (part.len() as f32).sqrt();
            part.fill(flat);
        }
    }
}

/// How much each group counts in a query; (1, 1, 1) by default.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GroupWeights {
    /// Weight of the rhythm group.
    pub rhythm: f32,
    /// Weight of the harmony group.
    pub harmony: f32,
    /// Weight of the timbre group.
    pub timbre: f32,
}

impl Default for GroupWeights {
    fn default() -> Self {
        Self { rhythm: 1.0, harmony: 1.0, timbre: 1.0 }
    }
}

impl GroupWeights {
    /// Weights for the three groups: each finite and at least 0, not all 0.
    pub fn new(rhythm: f32, harmony: f32, timbre: f32) -> Result<Self> {
        let invalid = |reason: String| Error::InvalidParameter { name: "weights", reason };
        for (g, w) in Group::ALL.into_iter().zip([rhythm, harmony, timbre]) {
            if !w.is_finite() || w < 0.0 {
                return Err(invalid(format!(
                    "the {} weight is {w}; each weight must be a finite number ≥ 0",
                    g.name()
                )));
            }
        }
        if rhythm + harmony + timbre <= 0.0 {
            return Err(invalid(
                "all three weights are 0; give at least one group a weight above 0".into(),
            ));
        }
        Ok(Self { rhythm, harmony, timbre })
    }

    /// The weight of group `g`.
    pub fn get(&self, g: Group) -> f32 {
        match g {
            Group::Rhythm => self.rhythm,
            Group::Harmony => self.harmony,
            Group::Timbre => self.timbre,
        }
    }

    /// The weights as given when they are valid, else the default (weights read from a
    /// file bypass [`GroupWeights::new`]).
    fn valid(self) -> Self {
        Self::new(self.rhythm, self.harmony, self.timbre).unwrap_or_default()
    }
}

/// The query vector for a standardised e_phrase and weights: group g multiplied by w_g.
/// Because every stored vector has unit-length groups scaled equally, the cosine between
/// this query and a stored vector ranks stored vectors exactly by Σ w_g cos_g, so one ANN
/// index serves every weighting. Invalid weights (possible only through deserialisation)
/// count as the default.
pub fn weighted_query(standardised: &[f32], weights: GroupWeights) -> Vec<f32> {
    debug_assert_eq!(standardised.len(), E_PHRASE_DIMS);
    let weights = weights.valid();
    let mut q = standardised.to_vec();
    for g in Group::ALL {
        let w = weights.get(g);
        if let Some(part) = q.get_mut(g.range()) {
            part.iter_mut().for_each(|v| *v *= w);
        }
    }
    q
}

/// The reported distance between two standardised vectors: 1 − Σ w_g cos_g / Σ w_g, from 0
/// (identical up to scale in every weighted group) to 2. A group that is all zeros in
/// either vector has cosine 0. Invalid weights count as the default.
pub fn weighted_distance(a: &[f32], b: &[f32], weights: GroupWeights) -> f32 {
    debug_assert_eq!(a.len(), E_PHRASE_DIMS);
    debug_assert_eq!(b.len(), E_PHRASE_DIMS);
    let weights = weights.valid();
    let (mut similarity, mut total) = (0.0f64, 0.0f64);
    for g in Group::ALL {
        let w = f64::from(weights.get(g));
        let (Some(x), Some(y)) = (a.get(g.range()), b.get(g.range())) else {
            continue;
        };
        let (mut xy, mut xx, mut yy) = (0.0f64, 0.0f64, 0.0f64);
        for (&p, &q) in x.iter().zip(y) {
            let (p, q) = (f64::from(p), f64::from(q));
            xy += p * q;
            xx += p * p;
            yy += q * q;
        }
        let norm = (xx * yy).sqrt();
        let cos = if norm > 0.0 && norm.is_finite() { (xy / norm).clamp(-1.0, 1.0) } else { 0.0 };
        similarity += w * cos;
        total += w;
    }
    if total <= 0.0 {
        return 1.0;
    }
    (1.0 - similarity / total).clamp(0.0, 2.0) as f32
}

#[cfg(test)]
mod tests {
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::analysis::frame_of;
    use crate::dsp::{FeatureExtractor, SAMPLE_RATE};

    const SR: f64 = SAMPLE_RATE as f64;
    /// Where the test phrases start, seconds (the first frames have no onset).
    const LEAD: f64 = 0.5;

    /// A 15 ms burst of decaying noise (broadband: every onset band hears it) at each time.
    fn clicks(times: &[f64], seconds: f64) -> Vec<f32> {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut signal = vec![0.0f32; (seconds * SR) as usize];
        let len = (0.015 * SR) as usize;
        for &t in times {
            let at = (t * SR) as usize;
            for (i, s) in signal.iter_mut().skip(at).take(len).enumerate() {
                *s += (rng.random::<f32>() - 0.5) * (-(i as f32) / (0.003 * SR as f32)).exp();
            }
        }
        signal
    }

    /// Beat frames of `bars` 4/4 bars at `bpm` from `LEAD`, the phrase's end included.
    fn beats(bpm: f64, bars: usize) -> Vec<usize> {
        (0..=4 * bars).map(|i| frame_of(LEAD + i as f64 * 60.0 / bpm)).collect()
    }

    /// e_phrase of a click on every beat (`offset` 0) or on every "and" (`offset` 0.5).
    fn click_phrase(bpm: f64, offset: f64) -> Vec<f32> {
        let bars = 4;
        let beat = 60.0 / bpm;
        let times: Vec<f64> = (0..4 * bars).map(|i| LEAD + (i as f64 + offset) * beat).collect();
        let features = FeatureExtractor::new().compute(&clicks(&times, LEAD + 16.0 * beat + 1.0));
        raw_e_phrase(&features, &beats(bpm, bars), 4, bpm)
    }

    /// A chord of sines (with two harmonics each) for `seconds`.
    fn chord(hz: &[f64], seconds: f64) -> Vec<f32> {
        (0..(seconds * SR) as usize)
            .map(|i| {
                let t = i as f64 / SR;
                let s: f64 = hz
                    .iter()
                    .flat_map(|&f| [(f, 1.0), (2.0 * f, 0.5), (3.0 * f, 0.25)])
                    .map(|(f, a)| a * (std::f64::consts::TAU * f * t).sin())
                    .sum();
                (0.1 * s) as f32
            })
            .collect()
    }

    fn chord_phrase(hz: &[f64]) -> Vec<f32> {
        let features = FeatureExtractor::new().compute(&chord(hz, 5.0));
        raw_e_phrase(&features, &beats(120.0, 2), 4, 120.0)
    }

    fn cosine(a: &[f32], b: &[f32]) -> f32 {
        let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
        dot / (a.iter().map(|x| x * x).sum::<f32>() * b.iter().map(|x| x * x).sum::<f32>()).sqrt()
    }

    fn norm(a: &[f32]) -> f32 {
        a.iter().map(|x| x * x).sum::<f32>().sqrt()
    }

    fn assert_valid(e: &[f32]) {
        assert_eq!(e.len(), E_PHRASE_DIMS);
        assert!(e.iter().all(|v| v.is_finite()), "{e:?}");
    }

    #[test]
    fn groups_tile_the_vector() {
        assert_eq!(E_PHRASE_DIMS, 256);
        let mut next = 0;
        for (g, len) in Group::ALL.into_iter().zip([RHYTHM_DIMS, HARMONY_DIMS, TIMBRE_DIMS]) {
            assert_eq!(g.range(), next..next + len, "{}", g.name());
            next += len;
        }
        assert_eq!(next, E_PHRASE_DIMS);
        assert_eq!(Group::ALL.map(Group::name), ["rhythm", "harmony", "timbre"]);
    }

    #[test]
    fn dims_are_finite_for_silence_short_phrases_and_beats_past_the_end() {
        let mut extractor = FeatureExtractor::new();
        let silence = extractor.compute(&vec![0.0; 3 * SAMPLE_RATE as usize]);
        let music = extractor.compute(&chord(&[220.0, 277.18, 329.63], 3.0));
        let n = music.n_frames();
        for features in [&silence, &music] {
            assert_valid(&raw_e_phrase(features, &beats(120.0, 1), 4, 120.0));
            assert_valid(&raw_e_phrase(features, &[10, 20, 30, 40, 50], 4, 600.0));
            assert_valid(&raw_e_phrase(
                features,
                &[n - 10, n + 40, n + 90, n + 140, n + 190],
                4,
                120.0,
            ));
            assert_valid(&raw_e_phrase(features, &[n + 5, n + 50, n + 95], 2, 120.0));
            assert_valid(&raw_e_phrase(features, &[40], 4, 120.0));
            assert_valid(&raw_e_phrase(features, &[], 0, f64::NAN));
            assert_valid(&raw_e_phrase(features, &[90, 60, 60, 30, 120], 4, -3.0));
        }
        // Silence has flat onset patterns and no periodicity.
        let e = raw_e_phrase(&silence, &beats(120.0, 2), 4, 120.0);
        assert!(e[..48].iter().all(|&v| (v - 1.0).abs() < 1e-4), "{:?}", &e[..48]);
        assert!(e[48..60].iter().all(|&v| v == 0.0));
    }

    #[test]
    fn only_the_phrases_frames_are_read() {
        let mut features = FeatureExtractor::new().compute(&chord(&[261.63, 329.63, 392.0], 4.0));
        let phrase = beats(120.0, 1);
        let before = raw_e_phrase(&features, &phrase, 4, 120.0);
        let (start, end) = (phrase[0], *phrase.last().unwrap());
        for t in (0..start).chain(end..features.n_frames()) {
            features.log_mel.frame_mut(t).fill(3.0);
            features.chroma.frame_mut(t).fill(0.5);
            features.mfcc.frame_mut(t).fill(-7.0);
            features.onset_bands.frame_mut(t).fill(50.0);
            features.onset[t] = 50.0;
            features.centroid[t] = 9000.0;
        }
        assert_eq!(raw_e_phrase(&features, &phrase, 4, 120.0), before);
    }

    #[test]
    fn clicks_on_and_off_the_beat_differ_and_the_pattern_ignores_tempo() {
        let on_100 = click_phrase(100.0, 0.0);
        let on_140 = click_phrase(140.0, 0.0);
        let off_100 = click_phrase(100.0, 0.5);
        let pattern = 0..48;
        // On the beat: steps 0, 4, 8, 12 of every band carry the onsets.
        for band in 0..3 {
            let p = &on_100[16 * band..16 * (band + 1)];
            for s in 0..16 {
                if s % 4 == 0 {
                    assert!(p[s] > 2.5, "band {band} step {s}: {p:?}");
                } else {
                    assert!(p[s] < 0.5, "band {band} step {s}: {p:?}");
                }
            }
            let q = &off_100[16 * band..16 * (band + 1)];
            assert!((0..16).all(|s| (q[s] > 2.5) == (s % 4 == 2)), "band {band}: {q:?}");
        }
        let same = cosine(&on_100[pattern.clone()], &on_140[pattern.clone()]);
        let shifted = cosine(&on_100[pattern.clone()], &off_100[pattern]);
        assert!(same > 0.99, "100 vs 140 BPM: {same}");
        assert!(shifted < 0.5, "on vs off the beat: {shifted}");
        // Beat-normalised periodicity does not see the tempo either: strong at 1 beat.
        for e in [&on_100, &on_140, &off_100] {
            assert!(e[AUTOCORR + 5] > 0.8 && e[AUTOCORR + 2] < 0.2, "{:?}", &e[48..60]);
            assert!(e[PULSE_CLARITY] > 0.8);
            assert!((e[DENSITY] - 1.0).abs() < 0.1, "density {}", e[DENSITY]);
        }
        let dims: Vec<usize> = (48..64).filter(|&d| d != TEMPO).collect();
        for d in dims {
            assert!((on_100[d] - on_140[d]).abs() < 0.1, "dim {d}: {} {}", on_100[d], on_140[d]);
        }
        assert!((on_140[TEMPO] - (140.0f32 / 120.0).log2()).abs() < 1e-6);
        assert!(on_100[SYNCOPATION] < 0.05, "{}", on_100[SYNCOPATION]);
        assert!(off_100[SYNCOPATION] > 0.15, "{}", off_100[SYNCOPATION]);
    }

    #[test]
    fn a_c_major_chord_and_an_f_sharp_major_chord_differ_in_harmony() {
        let c = chord_phrase(&[261.63, 329.63, 392.0]);
        let c_low = chord_phrase(&[130.81, 329.63, 392.0, 523.25]);
        let f_sharp = chord_phrase(&[369.99, 466.16, 554.37]);
        let top3 = |e: &[f32]| {
            let mut idx: Vec<usize> = (0..12).collect();
            idx.sort_by(|&a, &b| e[CHROMA_MEAN + b].total_cmp(&e[CHROMA_MEAN + a]));
            let mut top = idx[..3].to_vec();
            top.sort();
            top
        };
        assert_eq!(top3(&c), [0, 4, 7]);
        assert_eq!(top3(&f_sharp), [1, 6, 10]);
        // The best major key is the chord's own (over all 24, a lone triad with its
        // harmonics may go to the minor key a third below or above, which shares two tones).
        let best_major = |e: &[f32]| {
            (0..12).max_by(|&a, &b| e[KEY_MAJOR + a].total_cmp(&e[KEY_MAJOR + b])).unwrap()
        };
        assert_eq!(best_major(&c), 0, "C major: {:?}", &c[KEY_MAJOR..KEY_MAJOR + 24]);
        assert_eq!(best_major(&f_sharp), 6, "F# major: {:?}", &f_sharp[KEY_MAJOR..KEY_MAJOR + 24]);
        assert!(c[KEY_MAJOR] > 0.6 && c[KEY_MAJOR + 6] < 0.0);
        let harmony = Group::Harmony.range();
        let d = |a: &[f32], b: &[f32]| {
            a[harmony.clone()]
                .iter()
                .zip(&b[harmony.clone()])
                .map(|(x, y)| (x - y).powi(2))
                .sum::<f32>()
        };
        assert!(d(&c, &c_low) * 4.0 < d(&c, &f_sharp), "{} {}", d(&c, &c_low), d(&c, &f_sharp));
        // A held chord does not change.
        assert!(c[BEAT_FLUX] < 0.01 && c[BAR_FLUX] < 0.01);
    }

    fn random_raw(rng: &mut ChaCha8Rng, n: usize) -> Vec<Vec<f32>> {
        let scale: Vec<f32> = (0..E_PHRASE_DIMS).map(|d| 0.1 + d as f32).collect();
        (0..n).map(|_| scale.iter().map(|s| s * (rng.random::<f32>() - 0.3)).collect()).collect()
    }

    #[test]
    fn standardised_vectors_have_unit_groups_of_equal_length() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let mut raw = random_raw(&mut rng, 50);
        for v in &mut raw {
            v[5] = 3.0; // constant over the database
        }
        let stats = EmbeddingStats::from_raw(raw.iter().map(Vec::as_slice));
        assert_eq!(stats.count, 50);
        assert!(stats.std[5] > 0.0 && stats.std[5] < 0.01);
        let mut query = random_raw(&mut rng, 1).remove(0);
        query[5] = 4.0;
        for v in raw.iter().chain([&query]) {
            let z = stats.standardise(v);
            assert_valid(&z);
            assert!((norm(&z) - 1.0).abs() < 1e-5);
            for g in Group::ALL {
                assert!((norm(&z[g.range()]) - 1.0 / 3f32.sqrt()).abs() < 1e-5);
            }
        }
        // Mean of the group cosines.
        let (a, b) = (stats.standardise(&raw[0]), stats.standardise(&raw[1]));
        let mean_cos =
            Group::ALL.iter().map(|g| cosine(&a[g.range()], &b[g.range()])).sum::<f32>() / 3.0;
        assert!((cosine(&a, &b) - mean_cos).abs() < 1e-5);
    }

    #[test]
    fn statistics_of_no_vector_and_of_one() {
        let none = EmbeddingStats::from_raw(std::iter::empty());
        assert_eq!(none.count, 0);
        assert!(none.std.iter().all(|&s| s == 1.0));
        let v: Vec<f32> = (0..E_PHRASE_DIMS).map(|d| d as f32).collect();
        let z = none.standardise(&v);
        assert!((norm(&z) - 1.0).abs() < 1e-5);

        let one = EmbeddingStats::from_raw([v.as_slice()]);
        assert_eq!(one.mean, v);
        assert!(one.std.iter().all(|s| s.is_finite() && *s > 0.0));
        let z = one.standardise(&v);
        assert!((norm(&z) - 1.0).abs() < 1e-5);
        let other = one.standardise(&vec![1e6; E_PHRASE_DIMS]);
        assert_valid(&other);
        assert!(other.iter().all(|x| x.abs() <= 1.0));

        let json = serde_json::to_string(&one).unwrap();
        assert_eq!(serde_json::from_str::<EmbeddingStats>(&json).unwrap(), one);
    }

    #[test]
    fn the_weighted_query_ranks_by_the_weighted_group_cosines() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let raw = random_raw(&mut rng, 300);
        let stats = EmbeddingStats::from_raw(raw.iter().map(Vec::as_slice));
        let stored: Vec<Vec<f32>> = raw.iter().map(|v| stats.standardise(v)).collect();
        for trial in 0..8 {
            let weights = match trial {
                0 => GroupWeights::default(),
                1 => GroupWeights::new(1.0, 0.0, 0.0).unwrap(),
                2 => GroupWeights::new(0.0, 0.3, 2.0).unwrap(),
                _ => GroupWeights::new(
                    rng.random::<f32>(),
                    rng.random::<f32>(),
                    rng.random::<f32>() + 0.01,
                )
                .unwrap(),
            };
            let probe = stats.standardise(&random_raw(&mut rng, 1)[0]);
            let query = weighted_query(&probe, weights);
            let brute = |v: &[f32]| -> f32 {
                Group::ALL
                    .iter()
                    .map(|&g| weights.get(g) * cosine(&probe[g.range()], &v[g.range()]))
                    .sum()
            };
            let rank = |score: &dyn Fn(&[f32]) -> f32| {
                let mut idx: Vec<usize> = (0..stored.len()).collect();
                idx.sort_by(|&a, &b| score(&stored[b]).total_cmp(&score(&stored[a])));
                idx
            };
            let by_query = rank(&|v| cosine(&query, v));
            let by_groups = rank(&brute);
            assert_eq!(by_query, by_groups, "weights {weights:?}");
            // The reported distance agrees too.
            let total = weights.rhythm + weights.harmony + weights.timbre;
            for v in stored.iter().take(20) {
                let d = weighted_distance(&probe, v, weights);
                assert!((d - (1.0 - brute(v) / total)).abs() < 1e-5);
            }
        }
    }

    #[test]
    fn distance_to_itself_is_zero_and_ignored_groups_do_not_count() {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let raw = random_raw(&mut rng, 20);
        let stats = EmbeddingStats::from_raw(raw.iter().map(Vec::as_slice));
        let a = stats.standardise(&raw[0]);
        let b = stats.standardise(&raw[1]);
        assert!(weighted_distance(&a, &a, GroupWeights::default()).abs() < 1e-6);
        let d = weighted_distance(&a, &b, GroupWeights::default());
        assert!(d > 0.1 && d <= 2.0);
        let mut c = a.clone();
        c[Group::Timbre.range()].copy_from_slice(&b[Group::Timbre.range()]);
        let no_timbre = GroupWeights::new(1.0, 1.0, 0.0).unwrap();
        assert!(weighted_distance(&a, &c, no_timbre).abs() < 1e-6);
        assert!(weighted_distance(&a, &c, GroupWeights::default()) > 0.01);
        let negated: Vec<f32> = a.iter().map(|x| -x).collect();
        assert!((weighted_distance(&a, &negated, GroupWeights::default()) - 2.0).abs() < 1e-5);
    }

    #[test]
    fn weights_must_be_finite_non_negative_and_not_all_zero() {
        assert_eq!(GroupWeights::default(), GroupWeights::new(1.0, 1.0, 1.0).unwrap());
        assert!(GroupWeights::new(0.0, 0.0, 2.0).is_ok());
        for (r, h, t) in [
            (-1.0, 1.0, 1.0),
            (1.0, f32::NAN, 1.0),
            (1.0, 1.0, f32::INFINITY),
            (0.0, 0.0, 0.0),
            (0.0, -0.0, 0.0),
        ] {
            let e = GroupWeights::new(r, h, t).unwrap_err();
            assert!(matches!(e, Error::InvalidParameter { name: "weights", .. }), "{e}");
        }
        let w = GroupWeights::new(0.5, 2.0, 0.0).unwrap();
        assert_eq!(Group::ALL.map(|g| w.get(g)), [0.5, 2.0, 0.0]);
    }

    #[test]
    fn the_same_phrase_gives_the_same_vector() {
        let a = click_phrase(128.0, 0.25);
        assert_eq!(a, click_phrase(128.0, 0.25));
    }
}
