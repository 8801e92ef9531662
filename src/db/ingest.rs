//! From an audio file to everything the database stores about it: the track record, its beat
//! grid, and per phrase its record, features, e_phrase, source-quality audio and log-mel.
//!
//! Pure computation (no database access), so many files can be ingested in parallel and one
//! writer commits the bundles.

use std::path::Path;

use super::embedding::raw_e_phrase;
use super::schema::{
    ANALYSIS_VERSION, BeatGrid, PhraseAudio, PhraseFeatures, PhraseMel, PhraseRecord, TrackRecord,
};
use super::store::{PhraseBundle, TrackBundle};
use crate::analysis::phrases::PhraseOptions;
use crate::analysis::track::{TrackAnalysis, analyze_with_features};
use crate::analysis::{beat_sync, frame_of};
use crate::audio::{Decoded, decode_read, downmix, resample};
use crate::dsp::{FeatureExtractor, Features, N_MELS, SAMPLE_RATE};
use crate::{Error, Result};

/// A file's bytes and their BLAKE3 hash (hex), read once: the hash is how a re-run
/// recognises unchanged files, and the bytes are what [`ingest_file`] decodes.
pub struct FileContents {
    /// The bytes.
    pub bytes: Vec<u8>,
    /// BLAKE3 of the bytes, hex.
    pub hash: String,
}

/// Reads and hashes a file.
pub fn read_file(path: &Path) -> Result<FileContents> {
    let bytes =
        std::fs::read(path).map_err(|source| Error::Read { path: path.to_path_buf(), source })?;
    let hash = blake3::hash(&bytes).to_hex().to_string();
    Ok(FileContents { bytes, hash })
}

/// Decodes and analyses a file read by [`read_file`] (first, so the caller can skip
/// unchanged files) and builds its bundle.
pub fn ingest_file(
    path: &Path,
    contents: FileContents,
    extractor: &mut FeatureExtractor,
    options: &PhraseOptions,
) -> Result<TrackBundle> {
    let FileContents { bytes, hash } = contents;
    let size = bytes.len() as u64;
    let decoded = decode_read(path, bytes)?;
    let mono = downmix(&decoded.samples, decoded.channels);
    let audio = resample(&mono, decoded.sample_rate, SAMPLE_RATE)?;
    drop(mono);
    let (mut analysis, features) = analyze_with_features(&audio, extractor, options)?;
    // A track shorter than the shortest phrase still gets one (the analysis reports it), but
    // the database only holds phrases a performance can use.
    analysis.phrases.retain(|p| p.bars >= options.min_bars);
    Ok(bundle(path.to_string_lossy().into_owned(), &hash, size, &decoded, &analysis, &features))
}

/// The raw e_phrase of a whole file (from its first phrase's downbeat to its last phrase's
/// end): what `db query --audio FILE` searches with.
pub fn file_e_phrase(
    path: &Path,
    extractor: &mut FeatureExtractor,
    options: &PhraseOptions,
) -> Result<Vec<f32>> {
    let audio = crate::audio::load(path)?;
    let (analysis, features) = analyze_with_features(&audio, extractor, options)?;
    analysed_e_phrase(&analysis, &features).ok_or_else(|| Error::InvalidParameter {
        name: "query audio",
        reason: format!(
            "{}: no beat found; query with at least a few bars of music with a pulse",
            path.display()
        ),
    })
}

/// The raw e_phrase of analysed audio, as [`file_e_phrase`] takes it: from the first
/// phrase's downbeat to the last phrase's end, or from the first to the last beat when no
/// phrase was found; `None` without two beats.
pub fn analysed_e_phrase(analysis: &TrackAnalysis, features: &Features) -> Option<Vec<f32>> {
    let span = match (analysis.phrases.first(), analysis.phrases.last()) {
        (Some(first), Some(last)) => (first.start, last.end),
        _ => match (analysis.beats.first(), analysis.beats.last()) {
            (Some(a), Some(b)) if b > a => (*a, *b),
            _ => return None,
        },
    };
    let frames = beat_frames_in(&analysis.beats, span.0, span.1);
    Some(raw_e_phrase(features, &frames, analysis.beats_per_bar, analysis.tempo))
}

fn bundle(
    path: String,
    hash: &str,
    size: u64,
    decoded: &Decoded,
    analysis: &TrackAnalysis,
    features: &Features,
) -> TrackBundle {
    let seed = u64::from_str_radix(&hash[..16.min(hash.len())], 16).unwrap_or(0);
    let phrases = analysis
        .phrases
        .iter()
        .enumerate()
        .map(|(ordinal, span)| {
            phrase(ordinal, span.start, span.bars, decoded, analysis, features, seed)
        })
        .collect();
    TrackBundle {
        record: TrackRecord {
            path,
            content_hash: hash.to_owned(),
            file_size: size,
            duration: decoded.frames() as f64 / f64::from(decoded.sample_rate),
            source_sample_rate: decoded.sample_rate,
            source_channels: decoded.channels as u16,
            tempo: analysis.tempo,
            tempo_confidence: analysis.tempo_confidence,
            key: analysis.key.clone(),
            key_confidence: analysis.key_confidence,
            beats_per_bar: analysis.beats_per_bar as u8,
            analysis_version: ANALYSIS_VERSION,
            phrases: Vec::new(),
        },
        grid: BeatGrid { beats: analysis.beats.clone(), downbeats: analysis.downbeats.clone() },
        phrases,
    }
}

#[allow(clippy::too_many_arguments)]
fn phrase(
    ordinal: usize,
    start: f64,
    bars: usize,
    decoded: &Decoded,
    analysis: &TrackAnalysis,
    features: &Features,
    seed: u64,
) -> PhraseBundle {
    let bpb = analysis.beats_per_bar;
    // Exactly `bars × bpb` beats from the phrase's first downbeat, then the beat that ends it:
    // the phrase's length in beats is what playback stretches and the models learn, so it
    // is made whole here rather than trusted to line up with the next phrase's downbeat.
    let first = nearest(&analysis.beats, start);
    let grid = extended_grid(&analysis.beats, first, bars * bpb);
    let (start, end) = (grid[0], grid[grid.len() - 1]);
    let context: Vec<f64> = analysis.beats[first.saturating_sub(bpb)..first].to_vec();
    let mut beats = context.clone();
    beats.extend_from_slice(&grid);

    let frames: Vec<usize> = grid.iter().map(|b| frame_of(*b)).collect();
    let tempo = local_tempo(&grid[..grid.len() - 1], end).unwrap_or(analysis.tempo);
    let sync = |m| beat_sync(m, &frames).as_slice().to_vec();
    let phrase_features = PhraseFeatures {
        e_phrase_raw: raw_e_phrase(features, &frames, bpb, tempo),
        beat_chroma: sync(&features.chroma),
        beat_mfcc: sync(&features.mfcc),
        beat_onset: sync(&features.onset_bands),
    };

    let rate = f64::from(decoded.sample_rate);
    let channels = decoded.channels;
    let first = ((start * rate).round() as usize).min(decoded.frames());
    let last = ((end * rate).round() as usize).clamp(first, decoded.frames());
    let audio = PhraseAudio::from_f32(
        decoded.sample_rate,
        channels as u16,
        &decoded.samples[first * channels..last * channels],
        seed ^ ordinal as u64,
    );

    let n = features.log_mel.n_frames();
    let mel_start = frame_of(context.first().copied().unwrap_or(start)).min(n);
    let mel_end = frame_of(end).clamp(mel_start, n);
    let mel = PhraseMel {
        context_frames: (frame_of(start).clamp(mel_start, mel_end) - mel_start) as u32,
        frames: features.log_mel.as_slice()[mel_start * N_MELS..mel_end * N_MELS].to_vec(),
    };

    PhraseBundle {
        record: PhraseRecord {
            track: 0,
            ordinal: ordinal as u16,
            start,
            end,
            bars: bars as u16,
            beats_per_bar: bpb as u8,
            tempo,
            key: analysis.key.clone(),
            beats,
            context_beats: context.len() as u16,
        },
        features: phrase_features,
        audio,
        mel,
    }
}

/// Index of the beat nearest `t`.
fn nearest(beats: &[f64], t: f64) -> usize {
    let after = beats.partition_point(|b| *b < t);
    match (after.checked_sub(1), beats.get(after)) {
        (Some(before), Some(b)) if t - beats[before] < b - t => before,
        (Some(before), None) => before,
        _ => after,
    }
}

/// `n + 1` beat times from `beats[first]`: the track's beats, continued past its last beat
/// with the median period of its last bar's worth of beats (a phrase that ends with the
/// track).
fn extended_grid(beats: &[f64], first: usize, n: usize) -> Vec<f64> {
    let known = &beats[first.min(beats.len())..beats.len().min(first + n + 1)];
    let mut grid = known.to_vec();
    if grid.len() < n + 1 {
        let tail = &beats[beats.len().saturating_sub(5)..];
        let mut periods: Vec<f64> = tail.windows(2).map(|w| w[1] - w[0]).collect();
        periods.sort_by(f64::total_cmp);
        let period = periods.get(periods.len() / 2).copied().unwrap_or(0.5);
        let mut last = grid.last().copied().unwrap_or(0.0);
        while grid.len() < n + 1 {
            last += period;
            grid.push(last);
        }
    }
    grid
}

/// Frames of the beats in `[start, end)` followed by the frame of `end`.
fn beat_frames_in(beats: &[f64], start: f64, end: f64) -> Vec<usize> {
    let eps = 0.5 / f64::from(crate::dsp::FRAME_RATE);
    let mut frames: Vec<usize> = beats
        .iter()
        .filter(|b| **b >= start - eps && **b < end - eps)
        .map(|b| frame_of(*b))
        .collect();
    frames.push(frame_of(end));
    frames
}

/// BPM from the median beat period of `beats` followed by `end`.
fn local_tempo(beats: &[f64], end: f64) -> Option<f64> {
    let mut periods: Vec<f64> =
        beats.windows(2).map(|w| w[1] - w[0]).chain(beats.last().map(|b| end - b)).collect();
    if periods.is_empty() {
        return None;
    }
    periods.sort_by(f64::total_cmp);
    let median = periods[periods.len() / 2];
    (median > 0.0).then(|| 60.0 / median)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_tempo_is_the_median_period() {
        assert_eq!(local_tempo(&[0.0, 0.5, 1.0, 1.6], 2.0), Some(120.0));
        assert_eq!(local_tempo(&[], 1.0), None);
    }

    #[test]
    fn phrases_get_whole_bars_of_beats_even_past_the_last_beat() {
        let beats: Vec<f64> = (0..10).map(|i| f64::from(i) * 0.5).collect();
        assert_eq!(nearest(&beats, 1.02), 2);
        assert_eq!(nearest(&beats, 9.0), 9);
        assert_eq!(extended_grid(&beats, 2, 4), vec![1.0, 1.5, 2.0, 2.5, 3.0]);
        assert_eq!(extended_grid(&beats, 6, 8), vec![3.0, 3.5, 4.0, 4.5, 5.0, 5.5, 6.0, 6.5, 7.0]);
    }

    #[test]
    fn beat_frames_end_with_the_phrase_end() {
        let beats = [0.0, 0.5, 1.0, 1.5, 2.0, 2.5];
        assert_eq!(beat_frames_in(&beats, 0.5, 2.5), vec![48, 96, 144, 192, 240]);
    }
}
