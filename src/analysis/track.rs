//! The whole analysis of one track: features → tempo → beats → bars → key → phrases.

use std::time::Instant;

use serde::Serialize;

use super::beats::track_beats;
use super::downbeats::find_bars;
use super::key::estimate_key;
use super::phrases::{PhraseOptions, segment};
use super::tempo::{estimate_tempo, settle_octave};
use super::time_of;
use crate::Result;
use crate::dsp::{FeatureExtractor, Features, SAMPLE_RATE};

/// A phrase in seconds and bars.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PhraseSpan {
    /// Start (a downbeat), seconds.
    pub start: f64,
    /// End (the next phrase's first downbeat, or the track's last beat), seconds.
    pub end: f64,
    /// Whole bars in the phrase.
    pub bars: usize,
}

/// Seconds spent in each stage.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Timings {
    /// STFT and every frame-wise feature.
    pub features: f64,
    /// Tempo and beat tracking.
    pub beats: f64,
    /// Downbeats and metre.
    pub downbeats: f64,
    /// Key.
    pub key: f64,
    /// Phrase segmentation.
    pub phrases: f64,
}

/// What the analysis found in a track (the JSON of `memsynth analyze-file`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrackAnalysis {
    /// Tempo, BPM.
    pub tempo: f64,
    /// Tempo confidence, 0..1 (see [`super::tempo::TempoEstimate::confidence`]).
    pub tempo_confidence: f32,
    /// Beat times, seconds.
    pub beats: Vec<f64>,
    /// Downbeat times, seconds.
    pub downbeats: Vec<f64>,
    /// Beats per bar (4, or 3 when the track is clearly not in 4/4).
    pub beats_per_bar: usize,
    /// False when the metre did not look like 4/4: bars and phrases are then in threes.
    pub four_four: bool,
    /// Key, e.g. "F# minor".
    pub key: String,
    /// Key confidence, 0..1.
    pub key_confidence: f32,
    /// Phrases of whole bars, starting on downbeats.
    pub phrases: Vec<PhraseSpan>,
    /// Seconds per stage.
    pub timings: Timings,
}

/// Analyses a 24 kHz mono signal.
pub fn analyze(
    audio: &[f32],
    extractor: &mut FeatureExtractor,
    phrase_options: &PhraseOptions,
) -> Result<TrackAnalysis> {
    analyze_with_features(audio, extractor, phrase_options).map(|(analysis, _)| analysis)
}

/// [`analyze`], also returning the features it was made from (the phrase database stores
/// per-phrase features and log-mel).
pub fn analyze_with_features(
    audio: &[f32],
    extractor: &mut FeatureExtractor,
    phrase_options: &PhraseOptions,
) -> Result<(TrackAnalysis, Features)> {
    let mut timings = Timings::default();
    let mut clock = Instant::now();
    let mut lap = |slot: &mut f64| {
        let now = Instant::now();
        *slot = (now - clock).as_secs_f64();
        clock = now;
    };

    let features = extractor.compute(audio);
    lap(&mut timings.features);

    let low_onset: Vec<f32> = features.onset_bands.frames().map(|b| b[..3].iter().sum()).collect();
    let tempo = settle_octave(estimate_tempo(&features.onset, &features.tempogram), &low_onset);
    let beat_positions = track_beats(&features, &tempo);
    let beat_frames: Vec<usize> = beat_positions.iter().map(|b| b.round() as usize).collect();
    lap(&mut timings.beats);

    let bars = find_bars(&features, &beat_frames);
    lap(&mut timings.downbeats);

    let key = estimate_key(&features, &beat_frames);
    lap(&mut timings.key);

    let bar_frames: Vec<usize> = bars.downbeats.iter().map(|i| beat_frames[*i]).collect();
    let phrases = phrase_spans(
        &features,
        &bar_frames,
        &beat_frames,
        bars.beats_per_bar,
        phrase_options,
        audio.len(),
    )?;
    lap(&mut timings.phrases);

    let analysis = TrackAnalysis {
        tempo: mean_tempo(&beat_positions).unwrap_or(tempo.bpm),
        tempo_confidence: tempo.confidence,
        beats: beat_frames.iter().map(|f| time_of(*f)).collect(),
        downbeats: bar_frames.iter().map(|f| time_of(*f)).collect(),
        beats_per_bar: bars.beats_per_bar,
        four_four: bars.beats_per_bar == 4,
        key: key.name(),
        key_confidence: key.confidence,
        phrases,
        timings,
    };
    Ok((analysis, features))
}

/// The tempo the beats keep on average, BPM: finer than the tempogram's estimate (its lag
/// grid), which only guides the tracker. `None` for fewer than 8 beats.
fn mean_tempo(beat_frames: &[f64]) -> Option<f64> {
    let (first, last) = (beat_frames.first()?, beat_frames.last()?);
    (beat_frames.len() >= 8 && last > first).then(|| {
        60.0 * f64::from(crate::dsp::FRAME_RATE) * (beat_frames.len() - 1) as f64 / (last - first)
    })
}

/// Phrases as spans of seconds; the last phrase ends one bar after its last downbeat (or at
/// the track's end, if sooner).
fn phrase_spans(
    features: &Features,
    bar_frames: &[usize],
    beat_frames: &[usize],
    beats_per_bar: usize,
    options: &PhraseOptions,
    samples: usize,
) -> Result<Vec<PhraseSpan>> {
    if bar_frames.is_empty() {
        return Ok(Vec::new());
    }
    let track_end = samples as f64 / SAMPLE_RATE as f64;
    let bar_len = match beat_frames.len() {
        0 | 1 => 0.0,
        n => {
            (time_of(beat_frames[n - 1]) - time_of(beat_frames[0])) / (n - 1) as f64
                * beats_per_bar as f64
        }
    };
    let bar_start = |i: usize| -> f64 {
        match bar_frames.get(i) {
            Some(f) => time_of(*f),
            None => (time_of(bar_frames[bar_frames.len() - 1]) + bar_len).min(track_end),
        }
    };
    Ok(segment(features, bar_frames, beats_per_bar, options)?
        .into_iter()
        .map(|p| PhraseSpan {
            start: bar_start(p.start_bar),
            end: bar_start(p.start_bar + p.bars),
            bars: p.bars,
        })
        .collect())
}
