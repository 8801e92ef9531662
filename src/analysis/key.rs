//! Key estimation (24 major and minor keys) from beat-synchronous chroma.
//!
//! The method is Krumhansl–Schmuckler key finding (C. L. Krumhansl 1990, *Cognitive
//! Foundations of Musical Pitch*, ch. 4): correlate the track's pitch-class distribution
//! with a profile of each key and take the best. In three steps:
//!
//! 1. **A key chroma per frame**, from the log-mel frame rather than from
//!    [`Features::chroma`]. Each mel band's magnitude is shared among the pitch classes
//!    whose tones it would pick up, and only bands centred from [`LOW_HZ`] to [`HIGH_HZ`]
//!    count: below 150 Hz the 23 Hz bins of a 1024-point spectrum at 24 kHz are several
//!    semitones wide, and kick and bass energy there lands on pitch classes that have
//!    nothing to do with the key (the bass still counts through its harmonics). Before
//!    the mapping each band has the mean of its neighbourhood (±[`WHITEN_BANDS`]) taken
//!    off, clipped at 0: broadband sound (drums, noise, reverb wash) adds about as much
//!    to a band as to its neighbours and vanishes, while a partial stands out.
//! 2. **A beat-synchronous histogram.** The frames are averaged per beat, each beat is
//!    scaled so its loudest class is 1 (a quiet verse counts as much as a loud chorus),
//!    and the beats are summed weighted by their length in frames. Beats more than 60 dB
//!    below the loudest are left out (silence has no pitch classes).
//! 3. **Correlation with 24 key profiles**: Albrecht and Shanahan's major and minor
//!    profiles with the harmonics of each tone added (`harmonic_profile`), rotated to
//!    each tonic. [`KeyEstimate::scores`] holds the Pearson correlations; the best is the
//!    key. [`KeyEstimate::confidence`] says how far ahead of the runner-up it is, and how
//!    far from flat the histogram is (a correlation alone cannot tell noise from music).
//!    The runner-up is almost always a neighbour: the relative or parallel key, or a
//!    fifth away; no rule breaks such near-ties, the confidence reports them.
//!
//! Measured on the demo library (72 tracks: seeds 7, 8 and 9, each key three times) with
//! the ground-truth beats, every key is found, the right one at least 0.02 ahead of the
//! runner-up. Each choice above was compared there (every miss went to a closely related key):
//!
//! - [`Features::chroma`] instead of the mel chroma: 22–24 of the first 24, whichever of
//!   the Krumhansl–Kessler, Temperley or Albrecht–Shanahan profiles;
//! - each mel band given to the class nearest its centre instead of shared: 69–72 of 72
//!   depending on the exact cut-off between 185 and 265 Hz;
//! - no whitening: 71 of 72;
//! - harmonic slope 0.6 instead of 0.4: 69 of 72, all to the subdominant; no harmonics:
//!   72 of 72, but half the margin on low-register synthetic cadences and on the one real
//!   recording that pulls to its dominant (below).
//!
//! Real recordings (librosa's examples, no beats given): the Hungarian Dance No. 5
//! recording, which is in G minor (its title gives Brahms's original key, F# minor), is
//! G minor; the Dance of the Sugar Plum Fairy is E minor, 0.08 ahead of B major.
//!
//! Tuning is assumed to be A440, and there is no tuning estimate: half the demo tracks,
//! detuned, keep their keys from −30 to +20 cents (12, 11 of 12), 8 of 12 at +30 cents
//! and almost none at ±50 cents (a quarter-tone makes every class ambiguous).

use crate::dsp::{F_MAX, Features, FrameMatrix, LOG_FLOOR, N_CHROMA, N_MELS, hz_to_mel, mel_to_hz};

use super::beat_sync;

/// Pitch-class names, C first, as [`KeyEstimate::name`] writes them.
const PITCH_NAMES: [&str; N_CHROMA] =
    ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"];

/// Major key profile, tonic first: Albrecht and Shanahan (2013), "The use of large corpora
/// to train a new type of key-finding algorithm", *Music Perception* 31(1), 59–67, table 1
/// (pitch-class distributions of a corpus of 490 common-practice pieces).
const MAJOR_PROFILE: [f32; N_CHROMA] =
    [0.238, 0.006, 0.111, 0.006, 0.137, 0.094, 0.016, 0.214, 0.009, 0.080, 0.008, 0.081];

/// Minor key profile, tonic first: Albrecht and Shanahan (2013), as [`MAJOR_PROFILE`].
const MINOR_PROFILE: [f32; N_CHROMA] =
    [0.220, 0.006, 0.104, 0.123, 0.019, 0.103, 0.012, 0.214, 0.062, 0.022, 0.061, 0.052];

/// Lowest mel-band centre, Hz, that counts towards the key (see the module docs).
pub const LOW_HZ: f64 = 150.0;

/// Highest mel-band centre, Hz, that counts towards the key: above it there are few
/// partials and much noise.
pub const HIGH_HZ: f64 = 5000.0;

/// Neighbouring mel bands on each side whose mean is taken off a band (spectral whitening).
pub const WHITEN_BANDS: usize = 2;

/// Harmonics of each profile tone that the key's template includes (see
/// [`harmonic_profile`]).
const HARMONICS: usize = 4;

/// Amplitude of harmonic h relative to the fundamental: `HARMONIC_SLOPE^(h − 1)`.
const HARMONIC_SLOPE: f32 = 0.4;

/// Scale of the score margin in [`KeyEstimate::confidence`]: the runner-up this far behind
/// gives a factor 1 − 1/e (0.63).
const MARGIN_SCALE: f32 = 0.1;

/// Coefficient of variation of the histogram up to which it counts as flat (no key): white
/// and pink noise give 0.05–0.11.
const NOISE_CV: f32 = 0.12;

/// Coefficient of variation from which the histogram counts as fully tonal: every demo
/// library track and the librosa example recordings give 0.27–0.72.
const TONAL_CV: f32 = 0.25;

/// Beats this far below the loudest (energy ratio, −60 dB) are left out of the histogram.
const SILENT_BEAT: f32 = 1e-6;

/// Pitch steps over which a mel band's response is summed to share it among the classes.
const PITCH_STEPS: usize = 256;

/// Frames per fixed span when there are too few beats: 0.5 s at 96 frames per second.
const FALLBACK_SPAN_FRAMES: usize = 48;

/// A track's key.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KeyEstimate {
    /// The key as the demo library's ground truth numbers it: the tonic's pitch class
    /// (0 = C … 11 = B), plus 12 for minor. C major (0) when nothing tonal was heard.
    pub key_index: usize,
    /// How sure the estimate is, 0..1: the product of three factors, each 0..1:
    /// the best score r₁ (negative counts as 0); how far the runner-up r₂ is behind,
    /// `1 − exp(−(r₁ − r₂) / 0.1)` (0 for a tie, 0.63 at 0.1 behind, 0.95 at 0.3); and
    /// how far the pitch-class histogram is from flat (0 for noise, 1 for music, see
    /// `contrast`). Silence gives 0. The runner-up is usually the relative or parallel
    /// key or one a fifth away, so a low confidence with a good r₁ means "this key or a
    /// close neighbour". The demo library's tracks get 0.14–0.9.
    pub confidence: f32,
    /// The Pearson correlation (−1..1) of the track's pitch-class histogram with each
    /// key's profile, indexed like `key_index`. All 0 when nothing tonal was heard.
    pub scores: [f32; 24],
}

impl KeyEstimate {
    /// The key's name, e.g. `"F# minor"` (sharps only, as the demo library's ground truth).
    pub fn name(&self) -> String {
        let mode = if self.key_index < N_CHROMA { "major" } else { "minor" };
        format!("{} {mode}", PITCH_NAMES[self.key_index % N_CHROMA])
    }
}

/// Estimates the key of a track from its features.
///
/// `beat_frames` are the frame indices of the beats, increasing; the histogram covers the
/// spans between consecutive beats. With fewer than 2 beats the track is cut into fixed
/// 0.5 s spans instead. Silence gets C major with confidence 0 and all scores 0; noise
/// gets some key with confidence near 0.
pub fn estimate_key(features: &Features, beat_frames: &[usize]) -> KeyEstimate {
    let n = features.n_frames();
    let fallback: Vec<usize>;
    let boundaries = if beat_frames.len() >= 2 {
        beat_frames
    } else {
        fallback = (0..n).step_by(FALLBACK_SPAN_FRAMES).chain(std::iter::once(n)).collect();
        &fallback
    };
    let chroma = KeyChroma::new().compute(&features.log_mel);
    key_of_histogram(&beat_histogram(&chroma, boundaries))
}

/// Maps whitened log-mel frames to pitch-class energy. Planned once per call of
/// [`estimate_key`] (128 × 12 weights).
struct KeyChroma {
    /// For each mel band whose centre lies in `LOW_HZ..=HIGH_HZ`: the band and its weight
    /// on each pitch class.
    bands: Vec<(usize, [f32; N_CHROMA])>,
}

impl KeyChroma {
    fn new() -> Self {
        // The standard filterbank's band edges (`MelFilterbank::new` with f_min 0, f_max
        // F_MAX): evenly spaced in mel; band m rises from edge m to edge m + 1 and falls
        // to edge m + 2.
        let top = hz_to_mel(f64::from(F_MAX));
        let edge = |i: usize| mel_to_hz(top * i as f64 / (N_MELS + 1) as f64);
        let semitones = |hz: f64| 12.0 * (hz / 440.0).log2() + 69.0;
        let mut bands = (0..N_MELS)
            .filter(|&m| (LOW_HZ..=HIGH_HZ).contains(&edge(m + 1)))
            .map(|m| {
                let (left, centre, right) = (edge(m), edge(m + 1), edge(m + 2));
                // A band's energy is shared among the pitch classes in proportion to how
                // strongly a tone of each would excite it: the band's triangular response
                // summed over its span in fine pitch steps, each step counting for its
                // nearest pitch class. A narrow band high up goes to one or two classes;
                // a wide one low down (26 Hz is 3 semitones at 150 Hz) is split between
                // the classes it cannot tell apart instead of going to the nearest.
                let (low, high) = (semitones(left), semitones(right));
                let mut w = [0.0f32; N_CHROMA];
                for i in 0..PITCH_STEPS {
                    let pitch = low + (high - low) * (i as f64 + 0.5) / PITCH_STEPS as f64;
                    let hz = 440.0 * 2f64.powf((pitch - 69.0) / 12.0);
                    let response =
                        ((hz - left) / (centre - left)).min((right - hz) / (right - centre));
                    w[(pitch.round() as i64).rem_euclid(N_CHROMA as i64) as usize] +=
                        response.max(0.0) as f32;
                }
                let sum: f32 = w.iter().sum();
                (m, w.map(|x| x / sum))
            })
            .collect::<Vec<_>>();
        // The bands do not cover the pitch classes evenly (below 1 kHz they are 26 Hz
        // apart, whatever the semitone), so scale each class so that a flat spectrum gives a
        // flat chroma: otherwise noise alone would look like a key.
        let mut coverage = [0.0f32; N_CHROMA];
        for (_, w) in &bands {
            for (c, w) in coverage.iter_mut().zip(w) {
                *c += w;
            }
        }
        let mean = coverage.iter().sum::<f32>() / N_CHROMA as f32;
        for (_, w) in &mut bands {
            for (w, c) in w.iter_mut().zip(&coverage) {
                *w *= mean / c;
            }
        }
        Self { bands }
    }

    /// Key chroma of every frame of a standard log-mel (`N_MELS` per frame).
    fn compute(&self, log_mel: &FrameMatrix) -> FrameMatrix {
        let mut out = FrameMatrix::zeros(log_mel.n_frames(), N_CHROMA);
        let mut magnitude = [0.0f32; N_MELS];
        // Bands at the log floor are silent: 0, not 1e-5 give or take a rounding error,
        // which the whitening would turn into pitch classes.
        let floor = LOG_FLOOR.ln() + 1e-3;
        for (t, frame) in log_mel.frames().enumerate() {
            for (m, &x) in magnitude.iter_mut().zip(frame) {
                *m = if x > floor { x.exp() } else { 0.0 };
            }
            let row = out.frame_mut(t);
            for (m, w) in &self.bands {
                let lo = m.saturating_sub(WHITEN_BANDS);
                let hi = (m + WHITEN_BANDS + 1).min(N_MELS);
                let mean = magnitude[lo..hi].iter().sum::<f32>() / (hi - lo) as f32;
                let tonal = (magnitude[*m] - mean).max(0.0);
                for (r, w) in row.iter_mut().zip(w) {
                    *r += w * tonal;
                }
            }
        }
        out
    }
}

/// The duration-weighted sum of the beats' chroma, each beat scaled to a loudest class of
/// 1; beats more than 60 dB below the loudest beat are left out.
fn beat_histogram(chroma: &FrameMatrix, boundaries: &[usize]) -> [f32; N_CHROMA] {
    let beats = beat_sync(chroma, boundaries);
    let energy = |row: &[f32]| row.iter().map(|x| x * x).sum::<f32>();
    let loudest = beats.frames().map(energy).fold(0.0f32, f32::max);
    let mut histogram = [0.0f32; N_CHROMA];
    if loudest <= 0.0 {
        return histogram;
    }
    for (row, span) in beats.frames().zip(boundaries.windows(2)) {
        if energy(row) <= SILENT_BEAT * loudest {
            continue;
        }
        let peak = row.iter().fold(0.0f32, |m, &x| m.max(x));
        let weight = span[1].saturating_sub(span[0]) as f32 / peak;
        for (h, x) in histogram.iter_mut().zip(row) {
            *h += weight * x;
        }
    }
    histogram
}

/// A key profile as audio shows it: each pitch class also sounds through its harmonics,
/// harmonic h with amplitude `HARMONIC_SLOPE^(h − 1)` on the pitch class
/// `12 log2 h` semitones up (the octaves on itself, the third harmonic a fifth up). These
/// are Gómez's polyphonic profiles (E. Gómez 2006, *Tonal description of music audio
/// signals*, PhD thesis, Universitat Pompeu Fabra, ch. 4; Essentia's `Key` builds them
/// with 4 harmonics and slope 0.6). Without them a chroma of harmonic-rich sound leans
/// to the dominant key; slope 0.6 overshoots to the subdominant on the demo library, 0.4
/// does neither (see the module docs).
fn harmonic_profile(profile: &[f32; N_CHROMA]) -> [f32; N_CHROMA] {
    let mut out = [0.0f32; N_CHROMA];
    for (c, p) in profile.iter().enumerate() {
        for h in 1..=HARMONICS {
            let up = (12.0 * (h as f32).log2()).round() as usize;
            out[(c + up) % N_CHROMA] += p * HARMONIC_SLOPE.powi(h as i32 - 1);
        }
    }
    out
}

/// Correlates a pitch-class histogram (C first) with the 24 key profiles.
fn key_of_histogram(histogram: &[f32; N_CHROMA]) -> KeyEstimate {
    let major = harmonic_profile(&MAJOR_PROFILE);
    let minor = harmonic_profile(&MINOR_PROFILE);
    let scores: [f32; 24] = std::array::from_fn(|k| {
        let profile = if k < N_CHROMA { &major } else { &minor };
        correlation(histogram, profile, k % N_CHROMA)
    });
    let mut order: [usize; 24] = std::array::from_fn(|k| k);
    // Stable: a tie goes to the lower index, so a silent track is C major.
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let (best, second) = (scores[order[0]], scores[order[1]]);
    let margin = 1.0 - (-(best - second) / MARGIN_SCALE).exp();
    let confidence = best.max(0.0) * margin * contrast(histogram);
    KeyEstimate { key_index: order[0], confidence: confidence.clamp(0.0, 1.0), scores }
}

/// How far the histogram is from flat, 0..1: its coefficient of variation (standard
/// deviation over mean) mapped linearly from [`NOISE_CV`] (0) to [`TONAL_CV`] (1). The
/// correlations cannot tell: they ignore scale, so the few per cent by which noise
/// strays from flat correlate with some key as well as music does.
fn contrast(histogram: &[f32; N_CHROMA]) -> f32 {
    let mean = histogram.iter().sum::<f32>() / N_CHROMA as f32;
    if mean <= 0.0 {
        return 0.0;
    }
    let variance = histogram.iter().map(|h| (h - mean).powi(2)).sum::<f32>() / N_CHROMA as f32;
    ((variance.sqrt() / mean - NOISE_CV) / (TONAL_CV - NOISE_CV)).clamp(0.0, 1.0)
}

/// Pearson correlation of `histogram` with `profile` moved to start on pitch class `tonic`;
/// 0 when the histogram is flat.
fn correlation(histogram: &[f32; N_CHROMA], profile: &[f32; N_CHROMA], tonic: usize) -> f32 {
    let mean_h = histogram.iter().sum::<f32>() / N_CHROMA as f32;
    let mean_p = profile.iter().sum::<f32>() / N_CHROMA as f32;
    let (mut hp, mut hh, mut pp) = (0.0, 0.0, 0.0);
    for (i, p) in profile.iter().enumerate() {
        let h = histogram[(i + tonic) % N_CHROMA] - mean_h;
        let p = p - mean_p;
        hp += h * p;
        hh += h * h;
        pp += p * p;
    }
    if hh <= f32::MIN_POSITIVE { 0.0 } else { hp / (hh * pp).sqrt() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::frame_of;
    use crate::dsp::{FeatureExtractor, SAMPLE_RATE};

    /// Equal-tempered frequency of a MIDI note.
    fn midi_hz(note: i32) -> f32 {
        440.0 * 2f32.powf((note - 69) as f32 / 12.0)
    }

    /// Chords of half a second each (MIDI notes), with a bass note an octave below each
    /// chord's first note, as tones with five harmonics: 24 kHz mono.
    fn chords(progression: &[&[i32]], repeats: usize) -> Vec<f32> {
        let span = SAMPLE_RATE as usize / 2;
        let mut out = vec![0.0f32; span * progression.len() * repeats];
        for (i, chord) in progression.iter().cycle().take(progression.len() * repeats).enumerate() {
            let bass = chord[0] - 12;
            for &note in chord.iter().chain(std::iter::once(&bass)) {
                let hz = midi_hz(note);
                for (j, x) in out[i * span..(i + 1) * span].iter_mut().enumerate() {
                    let t = j as f32 / SAMPLE_RATE as f32;
                    let envelope = (-3.0 * t).exp() * (1.0 - (-200.0 * t).exp());
                    for h in 1..=5 {
                        let phase = std::f32::consts::TAU * hz * h as f32 * t;
                        *x += 0.05 * envelope * phase.sin() / h as f32;
                    }
                }
            }
        }
        out
    }

    /// I–IV–V–I in C (C4 = 60), transposed by `shift` semitones.
    fn major_cadence(shift: i32) -> Vec<f32> {
        let t = |c: [i32; 3]| c.map(|n| n + shift);
        let (i, iv, v) = (t([60, 64, 67]), t([65, 69, 72]), t([67, 71, 74]));
        chords(&[&i, &iv, &v, &i], 3)
    }

    /// i–iv–V–i in A minor, the dominant with the raised seventh (G#).
    fn minor_cadence() -> Vec<f32> {
        chords(&[&[57, 60, 64], &[62, 65, 69], &[64, 68, 71], &[57, 60, 64]], 3)
    }

    /// Features and a beat every half second (on the chord changes).
    fn analyse(signal: &[f32]) -> KeyEstimate {
        let features = FeatureExtractor::new().compute(signal);
        let beats: Vec<usize> = (0..=features.n_frames()).step_by(48).collect();
        estimate_key(&features, &beats)
    }

    #[test]
    fn c_major_cadence_is_c_major() {
        let key = analyse(&major_cadence(0));
        assert_eq!(key.name(), "C major", "{key:?}");
        assert!(key.confidence > 0.3, "{key:?}");
    }

    #[test]
    fn a_minor_cadence_with_raised_seventh_is_a_minor() {
        let key = analyse(&minor_cadence());
        assert_eq!(key.name(), "A minor", "{key:?}");
        assert_eq!(key.key_index, 21);
        assert!(key.confidence > 0.2, "{key:?}");
    }

    #[test]
    fn transposing_the_audio_rotates_the_key() {
        for shift in 0..12 {
            let key = analyse(&major_cadence(shift - 5));
            assert_eq!(key.key_index, (shift as usize + 7) % 12, "shift {shift}: {key:?}");
        }
    }

    #[test]
    fn rotating_the_histogram_rotates_the_scores() {
        let histogram = [5.0, 0.5, 3.0, 0.2, 4.0, 2.5, 0.3, 4.5, 0.4, 2.0, 0.1, 1.5];
        let base = key_of_histogram(&histogram);
        assert_eq!(base.key_index, 0);
        for k in 1..12 {
            let rotated: [f32; 12] = std::array::from_fn(|c| histogram[(c + 12 - k) % 12]);
            let key = key_of_histogram(&rotated);
            assert_eq!(key.key_index, k);
            for (i, s) in base.scores.iter().enumerate() {
                let j = (i % 12 + k) % 12 + 12 * (i / 12);
                assert!((key.scores[j] - s).abs() < 1e-5, "k {k}, key {i}");
            }
            assert!((key.confidence - base.confidence).abs() < 1e-5);
        }
    }

    #[test]
    fn silence_has_no_key_and_does_not_panic() {
        let silent = FeatureExtractor::new().compute(&vec![0.0; 3 * SAMPLE_RATE as usize]);
        for beats in [&[][..], &[5], &[0, 48, 96, 144]] {
            let key = estimate_key(&silent, beats);
            assert_eq!(key.confidence, 0.0, "{key:?}");
            assert_eq!(key.scores, [0.0; 24]);
        }
        let empty = FeatureExtractor::new().compute(&[]);
        assert_eq!(estimate_key(&empty, &[]).confidence, 0.0);
        assert_eq!(estimate_key(&empty, &[0, 48]).confidence, 0.0);
    }

    #[test]
    fn white_noise_has_low_confidence() {
        // A xorshift generator: uniform noise at about -15 dBFS.
        let mut state = 0x2545_f491_u32;
        let noise: Vec<f32> = (0..4 * SAMPLE_RATE)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                (state as f32 / u32::MAX as f32 - 0.5) * 0.6
            })
            .collect();
        let key = analyse(&noise);
        assert!(key.confidence < 0.05, "{key:?}");
    }

    #[test]
    fn fewer_than_two_beats_use_fixed_spans() {
        let features = FeatureExtractor::new().compute(&minor_cadence());
        for beats in [&[][..], &[30]] {
            assert_eq!(estimate_key(&features, beats).name(), "A minor");
        }
    }

    #[test]
    fn names_follow_the_ground_truth() {
        let named = |key_index| KeyEstimate { key_index, confidence: 0.0, scores: [0.0; 24] };
        assert_eq!(named(0).name(), "C major");
        assert_eq!(named(18).name(), "F# minor");
        assert_eq!(named(22).name(), "A# minor");
        assert_eq!(named(11).name(), "B major");
    }

    #[test]
    fn demo_track_key_is_its_ground_truth() {
        use crate::audio::{downmix, resample};
        use crate::demolib::{self, DemoLibraryOptions};

        let specs = demolib::plan(&DemoLibraryOptions { tracks: 2, seed: 7 });
        let (audio, truth) = demolib::render(&specs[0]);
        let mono = downmix(&audio, demolib::CHANNELS as usize);
        let signal = resample(&mono, demolib::SAMPLE_RATE, SAMPLE_RATE).expect("resample");
        let features = FeatureExtractor::new().compute(&signal);
        let beats: Vec<usize> = truth.beats.iter().map(|&t| frame_of(t)).collect();
        let key = estimate_key(&features, &beats);
        assert_eq!(key.key_index, truth.key_index, "{} vs {}: {key:?}", key.name(), truth.key);
        assert_eq!(key.name(), truth.key);
        assert!(key.confidence > 0.3, "{key:?}");
    }
}
