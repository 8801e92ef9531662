//! The ground truth written next to every track: beats, downbeats, tempo, key, sections.

use serde::{Deserialize, Serialize};

use super::{CHANNELS, GENERATOR_VERSION, SAMPLE_RATE, Style, TrackSpec};

/// What is true of one synthesised track, as its JSON file holds it. Times are in seconds
/// from the start of the file, rounded to the microsecond.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroundTruth {
    /// The track's title.
    pub title: String,
    /// The style it was made in.
    pub style: Style,
    /// The library seed it was made from.
    pub seed: u64,
    /// Its position in the library, from 0.
    pub index: usize,
    /// The generator version ([`GENERATOR_VERSION`]) that made it.
    pub generator_version: u32,
    /// Sample rate of the WAV file, Hz.
    pub sample_rate: u32,
    /// Channels of the WAV file.
    pub channels: u16,
    /// Length of the WAV file in seconds (frames / sample rate, exact).
    pub duration: f64,
    /// Tempo in beats per minute, constant through the track.
    pub tempo: f64,
    /// The key, e.g. `"F# minor"`: tonic `C C# D D# E F F# G G# A A# B`, then `major` or
    /// `minor`.
    pub key: String,
    /// The key as a number: tonic pitch class (0 = C … 11 = B), plus 12 for minor.
    pub key_index: usize,
    /// Beats per bar and the beat's note value: always `[4, 4]`.
    pub time_signature: [u32; 2],
    /// Every beat, from beat 1 of bar 1 to the last beat of the last bar.
    pub beats: Vec<f64>,
    /// Beat 1 of every bar.
    pub downbeats: Vec<f64>,
    /// The sections, in order, covering every bar.
    pub sections: Vec<TruthSection>,
}

/// One section in the ground truth.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TruthSection {
    /// `intro`, `A`, `B`, `break`, `build` or `outro`; repeated letters are repeats.
    pub label: String,
    /// Its first downbeat, seconds.
    pub start: f64,
    /// The downbeat after its last bar, seconds.
    pub end: f64,
    /// Its first bar, counting from 0.
    pub start_bar: usize,
    /// Its length in bars.
    pub bars: usize,
}

/// Rounds a time to the microsecond so the JSON stays readable.
fn micros(seconds: f64) -> f64 {
    (seconds * 1e6).round() / 1e6
}

impl GroundTruth {
    /// The ground truth of a planned track (no rendering needed: it follows from the plan).
    pub fn of(spec: &TrackSpec) -> GroundTruth {
        let bars = spec.bars();
        let beats: Vec<f64> = (0..bars * 4).map(|i| micros(spec.beat_time(i))).collect();
        let downbeats = beats.iter().step_by(4).copied().collect();
        let sections = spec
            .sections
            .iter()
            .map(|s| TruthSection {
                label: s.kind.label().to_string(),
                start: micros(spec.beat_time(s.start_bar * 4)),
                end: micros(spec.beat_time((s.start_bar + s.bars) * 4)),
                start_bar: s.start_bar,
                bars: s.bars,
            })
            .collect();
        GroundTruth {
            title: spec.title.clone(),
            style: spec.style,
            seed: spec.seed,
            index: spec.index,
            generator_version: GENERATOR_VERSION,
            sample_rate: SAMPLE_RATE,
            channels: CHANNELS,
            duration: spec.duration(),
            tempo: spec.tempo,
            key: spec.key.name(),
            key_index: spec.key.index(),
            time_signature: [4, 4],
            beats,
            downbeats,
            sections,
        }
    }
}
