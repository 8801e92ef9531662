//! What the phrase database stores, record by record.
//!
//! Small records are bincode (through heed's `SerdeBincode`); the large per-phrase arrays
//! (audio, log-mel) are raw little-endian bytes behind a fixed header, so a reader maps them
//! without decoding element by element.

use serde::{Deserialize, Serialize};

use crate::dsp::N_MELS;
use crate::{Error, Result};

/// Bumped whenever a table's layout changes: an older database is refused with a message
/// that says to rebuild it.
pub const SCHEMA_VERSION: u32 = 1;

/// Bumped whenever the analysis (beats, bars, key, phrases, e_phrase) changes its results:
/// `memsynth analyze` re-analyses tracks made by another version.
pub const ANALYSIS_VERSION: u32 = 2;

/// Identifies a track (LMDB key, big-endian so tracks iterate in insertion order).
pub type TrackId = u32;

/// Identifies a phrase; also its item id in the arroy index.
pub type PhraseId = u32;

/// One analysed audio file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrackRecord {
    /// The file as it was found (absolute), only for reports: nothing is read from it later.
    pub path: String,
    /// BLAKE3 of the file's bytes, hex.
    pub content_hash: String,
    /// File size, bytes.
    pub file_size: u64,
    /// Duration, seconds.
    pub duration: f64,
    /// The file's own sample rate, Hz (the stored phrase audio keeps it).
    pub source_sample_rate: u32,
    /// The file's own channel count (the stored phrase audio keeps it).
    pub source_channels: u16,
    /// Tempo, BPM.
    pub tempo: f64,
    /// Tempo confidence, 0..1.
    pub tempo_confidence: f32,
    /// Key, e.g. "F# minor".
    pub key: String,
    /// Key confidence, 0..1.
    pub key_confidence: f32,
    /// Beats per bar (4, or 3 when the track is not in 4/4).
    pub beats_per_bar: u8,
    /// [`ANALYSIS_VERSION`] of the analysis that made this record.
    pub analysis_version: u32,
    /// The track's phrases, in time order.
    pub phrases: Vec<PhraseId>,
}

/// A track's beat grid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BeatGrid {
    /// Beat times, seconds.
    pub beats: Vec<f64>,
    /// Downbeat times, seconds (a subset of `beats`).
    pub downbeats: Vec<f64>,
}

/// One phrase: whole bars starting on a downbeat.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhraseRecord {
    /// The track it comes from.
    pub track: TrackId,
    /// Its position among the track's phrases, from 0.
    pub ordinal: u16,
    /// Start (a downbeat), seconds into the track.
    pub start: f64,
    /// End: the beat after its `bars × beats_per_bar` beats (normally the next phrase's
    /// first downbeat; extrapolated at the very end of a track), seconds into the track.
    pub end: f64,
    /// Whole bars.
    pub bars: u16,
    /// Beats per bar.
    pub beats_per_bar: u8,
    /// Local tempo from the phrase's own beats, BPM.
    pub tempo: f64,
    /// The track's key, e.g. "F# minor".
    pub key: String,
    /// Beat times, seconds into the track: the context bar before `start` (up to
    /// `beats_per_bar` beats; fewer at the very start of a track), then the phrase's beats
    /// from `start`, then `end`.
    pub beats: Vec<f64>,
    /// How many of `beats` lie before `start` (the context bar).
    pub context_beats: u16,
}

/// Per-phrase features: the raw e_phrase and the beat-synchronous features it was made from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhraseFeatures {
    /// e_phrase before database-wide standardisation (see [`super::embedding`]).
    pub e_phrase_raw: Vec<f32>,
    /// Chroma per beat of the phrase, beat-major, 12 per beat.
    pub beat_chroma: Vec<f32>,
    /// MFCC per beat, beat-major, `N_MFCC` per beat.
    pub beat_mfcc: Vec<f32>,
    /// Onset strength per beat and band, beat-major, `N_ONSET_BANDS` per beat.
    pub beat_onset: Vec<f32>,
}

/// A phrase's audio at the source's sample rate and channel count, 16-bit PCM interleaved
/// (CD quality: a retrieved phrase plays back as the file sounded).
#[derive(Debug, Clone, PartialEq)]
pub struct PhraseAudio {
    /// Sample rate, Hz.
    pub sample_rate: u32,
    /// Channels.
    pub channels: u16,
    /// Interleaved samples.
    pub samples: Vec<i16>,
}

/// A phrase's standard log-mel (24 kHz, hop 250, 128 bins), from the start of its context
/// bar to its end.
#[derive(Debug, Clone, PartialEq)]
pub struct PhraseMel {
    /// Frames before the phrase's start (its context bar).
    pub context_frames: u32,
    /// Log-mel, frame-major, `N_MELS` per frame.
    pub frames: Vec<f32>,
}

impl PhraseMel {
    /// Number of frames.
    pub fn n_frames(&self) -> usize {
        self.frames.len() / N_MELS
    }
}

const AUDIO_MAGIC: &[u8; 4] = b"MSA1";
const MEL_MAGIC: &[u8; 4] = b"MSM1";

impl PhraseAudio {
    /// Frames (samples per channel).
    pub fn n_frames(&self) -> usize {
        self.samples.len() / usize::from(self.channels.max(1))
    }

    /// Duration, seconds.
    pub fn duration(&self) -> f64 {
        self.n_frames() as f64 / f64::from(self.sample_rate.max(1))
    }

    /// Quantises interleaved `f32` samples to 16 bits with TPDF dither from a fixed seed, so
    /// the same input always gives the same bytes.
    pub fn from_f32(sample_rate: u32, channels: u16, samples: &[f32], seed: u64) -> Self {
        let mut state = seed | 1;
        let mut uniform = move || {
            // xorshift64*: cheap, deterministic, plenty for dither.
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            (state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 40) as f32 / (1u64 << 24) as f32
        };
        let samples = samples
            .iter()
            .map(|s| {
                let dither = uniform() - uniform();
                (s * 32767.0 + dither).round().clamp(-32768.0, 32767.0) as i16
            })
            .collect();
        Self { sample_rate, channels, samples }
    }

    /// Interleaved samples as `f32` in -1..1.
    pub fn to_f32(&self) -> Vec<f32> {
        self.samples.iter().map(|s| f32::from(*s) / 32768.0).collect()
    }

    /// The mono mix as `f32`.
    pub fn mono(&self) -> Vec<f32> {
        let c = usize::from(self.channels.max(1));
        self.samples
            .chunks_exact(c)
            .map(|f| f.iter().map(|s| f32::from(*s)).sum::<f32>() / (32768.0 * c as f32))
            .collect()
    }

    /// The stored bytes: magic, rate (u32), channels (u16), then the samples, little-endian.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(10 + 2 * self.samples.len());
        out.extend_from_slice(AUDIO_MAGIC);
        out.extend_from_slice(&self.sample_rate.to_le_bytes());
        out.extend_from_slice(&self.channels.to_le_bytes());
        for s in &self.samples {
            out.extend_from_slice(&s.to_le_bytes());
        }
        out
    }

    /// Reads what [`Self::encode`] wrote.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let body = header(bytes, AUDIO_MAGIC, 6, "phrase audio")?;
        let sample_rate = u32::from_le_bytes(body[0..4].try_into().expect("4 bytes"));
        let channels = u16::from_le_bytes(body[4..6].try_into().expect("2 bytes"));
        let data = &body[6..];
        if channels == 0 || data.len() % (2 * usize::from(channels)) != 0 {
            return Err(corrupt("phrase audio", "its length is not a whole number of frames"));
        }
        let samples = data.chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])).collect();
        Ok(Self { sample_rate, channels, samples })
    }
}

impl PhraseMel {
    /// The stored bytes: magic, context frames (u32), then the values, little-endian.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(8 + 4 * self.frames.len());
        out.extend_from_slice(MEL_MAGIC);
        out.extend_from_slice(&self.context_frames.to_le_bytes());
        for v in &self.frames {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out
    }

    /// Reads what [`Self::encode`] wrote.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let body = header(bytes, MEL_MAGIC, 4, "phrase log-mel")?;
        let context_frames = u32::from_le_bytes(body[0..4].try_into().expect("4 bytes"));
        let data = &body[4..];
        if data.len() % (4 * N_MELS) != 0 {
            return Err(corrupt("phrase log-mel", "its length is not a whole number of frames"));
        }
        let frames = data
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes")))
            .collect();
        Ok(Self { context_frames, frames })
    }
}

/// The body after a magic number and `fixed` header bytes.
fn header<'a>(bytes: &'a [u8], magic: &[u8; 4], fixed: usize, what: &str) -> Result<&'a [u8]> {
    if bytes.len() < 4 + fixed || &bytes[..4] != magic {
        return Err(corrupt(what, "its header is missing or from another version"));
    }
    Ok(&bytes[4..])
}

fn corrupt(what: &str, why: &str) -> Error {
    Error::Database {
        reason: format!("a stored {what} is damaged: {why}"),
        fix: "run `memsynth db check`, then rebuild with `memsynth analyze`",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audio_round_trips_and_dither_is_deterministic() {
        let x: Vec<f32> = (0..1000).map(|i| (i as f32 * 0.01).sin() * 0.5).collect();
        let a = PhraseAudio::from_f32(44100, 2, &x, 9);
        assert_eq!(a, PhraseAudio::from_f32(44100, 2, &x, 9));
        assert_eq!(PhraseAudio::decode(&a.encode()).unwrap(), a);
        assert_eq!(a.n_frames(), 500);
        let err: f32 = a.to_f32().iter().zip(&x).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
        assert!(err < 3.0 / 32768.0, "{err}");
    }

    #[test]
    fn mel_round_trips_and_damage_is_caught() {
        let m =
            PhraseMel { context_frames: 3, frames: (0..N_MELS * 5).map(|i| i as f32).collect() };
        let bytes = m.encode();
        assert_eq!(PhraseMel::decode(&bytes).unwrap(), m);
        assert!(PhraseMel::decode(&bytes[..bytes.len() - 1]).is_err());
        assert!(PhraseAudio::decode(&bytes).is_err());
    }
}
