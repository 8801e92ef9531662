//! The demo library: procedurally synthesised multi-track music with ground truth.
//!
//! [`plan`] chooses, from a seed, each track's style, tempo, key and sections; [`render`]
//! synthesises one planned track (drums, bass, chords, lead, with reverb, delay and a
//! master limiter) and returns its audio with its [`GroundTruth`]; [`write_library`] does
//! both for the whole library and writes WAV files, JSON truths and `library.json`.
//!
//! The default library is 24 tracks, one in each of the 24 major and minor keys, in six
//! styles (techno, house, hip-hop, ambient, drum & bass, trance) at 80–170 BPM, each 2–4
//! minutes of 4/4 in sections of 4, 8 and 16 bars. It is the demo's default music and the
//! ground truth of the analysis tests.
//!
//! Everything is deterministic: the same options give byte-identical files. Randomness
//! comes from ChaCha8 streams keyed by the seed and the track's index, so a track does not
//! depend on how many tracks the library has: the first 5 tracks of a 24-track library
//! are the 5 tracks of a 5-track library with the same seed.
//!
//! ```no_run
//! use memsynth::demolib::{self, DemoLibraryOptions};
//!
//! let options = DemoLibraryOptions { tracks: 2, seed: 7 };
//! let specs = demolib::plan(&options);
//! let (audio, truth) = demolib::render(&specs[0]);
//! assert_eq!(audio.len(), 2 * (truth.duration * 32_000.0).round() as usize);
//! println!("{} at {} BPM in {}", truth.title, truth.tempo, truth.key);
//! ```

mod arrange;
mod library;
mod render;
mod style;
mod synth;
mod theory;
mod truth;

#[cfg(test)]
mod tests;

use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub use arrange::{Section, SectionKind};
pub use library::{LibraryIndex, LibraryTrack, write_library};
pub use style::Style;
pub use theory::{Key, Mode};
pub use truth::{GroundTruth, TruthSection};

/// Sample rate of the library's WAV files, Hz.
pub const SAMPLE_RATE: u32 = 32_000;

/// Channels of the library's WAV files (interleaved stereo).
pub const CHANNELS: u16 = 2;

/// The generator's version: it changes whenever the same options would give different
/// files, so that a cached library can be recognised as stale.
pub const GENERATOR_VERSION: u32 = 1;

/// Seconds of silence before beat 1 of bar 1: at least this…
const MIN_OFFSET_SAMPLES: u32 = SAMPLE_RATE / 10;
/// …and at most this.
const MAX_OFFSET_SAMPLES: u32 = SAMPLE_RATE / 2;
/// Seconds after the last bar for the reverb and the last notes to ring out.
const TAIL_SECONDS: f64 = 2.0;

/// What library to make.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoLibraryOptions {
    /// How many tracks (default 24: one per key). Every 24 tracks use each key once.
    pub tracks: usize,
    /// The seed every choice derives from (default 7).
    pub seed: u64,
}

impl Default for DemoLibraryOptions {
    fn default() -> Self {
        DemoLibraryOptions { tracks: 24, seed: 7 }
    }
}

/// One planned track: everything [`render`] needs, and everything the ground truth says.
#[derive(Clone, Debug, PartialEq)]
pub struct TrackSpec {
    /// Position in the library, from 0.
    pub index: usize,
    /// The library seed.
    pub seed: u64,
    /// A made-up title, e.g. `"Velvet Harbor"`.
    pub title: String,
    /// The style.
    pub style: Style,
    /// Tempo in BPM (a whole number).
    pub tempo: f64,
    /// The key.
    pub key: Key,
    /// Time of beat 1 of bar 1, seconds: a whole number of samples, 0.1–0.5 s. The audio
    /// before it is silent.
    pub offset: f64,
    /// The sections in order, covering every bar.
    pub sections: Vec<Section>,
}

impl TrackSpec {
    /// The file stem: index, style and key, e.g. `"03-house-Fsharp-minor"`.
    pub fn stem(&self) -> String {
        format!("{:02}-{}-{}", self.index + 1, self.style.name(), self.key.file_name())
    }

    /// The number of bars.
    pub fn bars(&self) -> usize {
        self.sections.iter().map(|s| s.bars).sum()
    }

    /// Seconds per beat.
    pub fn beat_seconds(&self) -> f64 {
        60.0 / self.tempo
    }

    /// Seconds per bar.
    pub fn bar_seconds(&self) -> f64 {
        4.0 * self.beat_seconds()
    }

    /// Time of beat `beat` (0 = beat 1 of bar 1), seconds from the start of the file.
    pub fn beat_time(&self, beat: usize) -> f64 {
        self.offset + beat as f64 * self.beat_seconds()
    }

    /// Length of the audio in frames (samples per channel): offset, bars and a tail.
    pub fn frames(&self) -> usize {
        ((self.beat_time(self.bars() * 4) + TAIL_SECONDS) * SAMPLE_RATE as f64).ceil() as usize
    }

    /// Length of the audio in seconds.
    pub fn duration(&self) -> f64 {
        self.frames() as f64 / SAMPLE_RATE as f64
    }

    /// The track's ground truth (the same one [`render`] returns).
    pub fn ground_truth(&self) -> GroundTruth {
        GroundTruth::of(self)
    }
}

/// Independent random streams: one per library-wide choice, two per track.
#[derive(Clone, Copy)]
enum Stream {
    Keys,
    Styles,
    Tempi,
    Titles,
    Plan(usize),
    Render(usize),
}

/// The ChaCha8 generator for one stream of one seed.
fn rng(seed: u64, stream: Stream) -> ChaCha8Rng {
    let id = match stream {
        Stream::Keys => 1,
        Stream::Styles => 2,
        Stream::Tempi => 3,
        Stream::Titles => 4,
        Stream::Plan(index) => (1 << 32) | index as u64,
        Stream::Render(index) => (2 << 32) | index as u64,
    };
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(id);
    rng
}

/// Plans the library: one [`TrackSpec`] per track. Each run of 24 tracks uses every key
/// once (in a shuffled order) and each run of 6 tracks every style once; within a style,
/// tempi are spread over its range.
pub fn plan(options: &DemoLibraryOptions) -> Vec<TrackSpec> {
    let keys = shuffled_blocks(&mut rng(options.seed, Stream::Keys), Key::COUNT, options.tracks);
    let styles =
        shuffled_blocks(&mut rng(options.seed, Stream::Styles), Style::ALL.len(), options.tracks);
    // Where each style's tempi start on its range; the k-th track of a style then steps
    // by the golden ratio so that any number of tracks spreads evenly.
    let mut tempo_rng = rng(options.seed, Stream::Tempi);
    let tempo_phase: Vec<f64> =
        Style::ALL.iter().map(|_| tempo_rng.random_range(0.0..1.0)).collect();
    let all_keys: Vec<Key> = Key::all().collect();
    let mut title_rng = rng(options.seed, Stream::Titles);
    let words = shuffled_blocks(&mut title_rng, TITLE_WORDS.len(), TITLE_WORDS.len());
    let nouns = shuffled_blocks(&mut title_rng, TITLE_NOUNS.len(), TITLE_NOUNS.len());
    let mut seen = [0usize; Style::ALL.len()];
    (0..options.tracks)
        .map(|index| {
            let style = Style::ALL[styles[index]];
            let occurrence = seen[styles[index]];
            seen[styles[index]] += 1;
            let position =
                (tempo_phase[styles[index]] + occurrence as f64 * 0.618_033_988_75).fract();
            // Each run of 24 titles pairs the words differently: 576 titles before a repeat.
            let n = TITLE_WORDS.len();
            let title = format!(
                "{} {}",
                TITLE_WORDS[words[index % n]],
                TITLE_NOUNS[nouns[(index + index / n) % n]]
            );
            plan_track(options.seed, index, style, all_keys[keys[index]], position, title)
        })
        .collect()
}

/// `count` values from `0..n` made of consecutive shuffled blocks of `0..n`.
fn shuffled_blocks(rng: &mut ChaCha8Rng, n: usize, count: usize) -> Vec<usize> {
    let mut out = Vec::with_capacity(count + n);
    while out.len() < count {
        let mut block: Vec<usize> = (0..n).collect();
        block.shuffle(rng);
        out.extend(block);
    }
    out.truncate(count);
    out
}

const TITLE_WORDS: [&str; 24] = [
    "Amber", "Copper", "Velvet", "Neon", "Hollow", "Silver", "Midnight", "Paper", "Glass", "Lunar",
    "Quiet", "Electric", "Golden", "Distant", "Static", "Northern", "Crimson", "Slow", "Broken",
    "Hidden", "Violet", "Open", "Iron", "Solar",
];
const TITLE_NOUNS: [&str; 24] = [
    "Harbor",
    "Circuit",
    "Garden",
    "Signal",
    "Engine",
    "Tide",
    "Orbit",
    "Lantern",
    "Drift",
    "Motion",
    "Canyon",
    "Pulse",
    "Mirror",
    "Current",
    "Avenue",
    "Meadow",
    "Satellite",
    "Window",
    "River",
    "Machine",
    "Horizon",
    "Station",
    "Echo",
    "Forest",
];

fn plan_track(
    seed: u64,
    index: usize,
    style: Style,
    key: Key,
    tempo_position: f64,
    title: String,
) -> TrackSpec {
    let mut rng = rng(seed, Stream::Plan(index));
    let (low, high) = style.tempo_range();
    let jitter = rng.random_range(-0.04..0.04);
    let tempo =
        (low as f64 + (high - low) as f64 * (tempo_position + jitter).clamp(0.0, 1.0)).round();
    let offset =
        rng.random_range(MIN_OFFSET_SAMPLES..=MAX_OFFSET_SAMPLES) as f64 / SAMPLE_RATE as f64;
    let sections = arrange::plan_sections(&mut rng, 240.0 / tempo);
    TrackSpec { index, seed, title, style, tempo, key, offset, sections }
}

/// Synthesises a planned track: interleaved stereo f32 at [`SAMPLE_RATE`], within ±1, and
/// its ground truth. The same spec always gives the same samples.
pub fn render(spec: &TrackSpec) -> (Vec<f32>, GroundTruth) {
    (render::render(spec, &mut rng(spec.seed, Stream::Render(spec.index))), spec.ground_truth())
}
