//! `memsynth db export-dataset`: the phrase database as safetensors shards for training.
//!
//! ```text
//! out/
//!   manifest.json               the standard's text and hash, counts, shards, layout
//!   windows-00000.safetensors   tempo-normalised training windows (diffusion, VQ-VAE)
//!   windows-00001.safetensors   …
//!   vocoder-00000.safetensors   native-tempo audio with its aligned log-mel (vocoder)
//!   …
//! ```
//!
//! **Windows** (`windows-NNNNN.safetensors`, at most [`ExportOptions::windows_per_shard`]
//! rows each): every phrase in 4/4 of at least [`WINDOW_BARS`] bars gives one window per
//! bar it can start on (`bars − 3`: a 16-bar phrase gives 13), each with the bar before it
//! as context.
//!
//! | tensor | dtype | shape | meaning |
//! |---|---|---|---|
//! | `mel` | F32 | `[n, 960, 128]` | log-mel on the beat grid: 5 bars (context, then the window's 4) × 4 beats × 48 frames |
//! | `context_valid` | U8 | `[n]` | 1 when the context bar is real; 0 when it was extrapolated at a track's start |
//! | `e_phrase` | F32 | `[n, 256]` | the phrase's e_phrase, standardised with the database's statistics |
//! | `bar_position` | U16 | `[n, 2]` | the window's first bar within its phrase, and the phrase's bars |
//! | `track_id` | U32 | `[n]` | database track id |
//! | `phrase_id` | U32 | `[n]` | database phrase id |
//! | `tempo` | F32 | `[n]` | BPM of the window's 4 bars, from their beats |
//!
//! The beat grid: every bar of a phrase keeps its stored beats when it has exactly four
//! between its downbeats (the track's grid); a bar with a missed or an extra beat, or cut
//! short at a track's end, gets four even beats between its downbeats instead (counted in
//! the manifest as `spread_bars`). A phrase whose downbeats do not give its bars must have
//! exactly four stored beats per bar, or it is skipped.
//!
//! Tempo normalisation: for the beat interval `[b_i, b_{i+1}]` output frame `48 i + j` is
//! the stored log-mel at time `b_i + (j / 48)(b_{i+1} − b_i)`, linearly interpolated between
//! the two nearest mel frames (frame `k` of the track is centred on `k / 96` s). Before the
//! stored mel (only in an extrapolated context bar) the value is `ln(1e-5)`; after its last
//! frame the last frame holds. A context bar with fewer than 4 stored beats (a track's first
//! phrase) is completed backwards with the first stored beat period.
//!
//! **Vocoder segments** (`vocoder-NNNNN.safetensors`, at most
//! [`ExportOptions::segments_per_shard`] rows each): every phrase's audio at its own tempo,
//! mono and resampled to 24 kHz, cut into 2-s segments (segment `s` = samples
//! `48000 s .. 48000 (s + 1)` of the phrase; the last partial segment is dropped).
//!
//! | tensor | dtype | shape | meaning |
//! |---|---|---|---|
//! | `audio` | F32 | `[n, 48000]` | 24 kHz mono samples |
//! | `mel` | F32 | `[n, 192, 128]` | the standard log-mel of the phrase's 24 kHz audio, frames `192 s .. 192 (s + 1)` (frame `j` centred on the segment's sample `250 j`) |
//! | `phrase_id` | U32 | `[n]` | database phrase id |
//! | `track_id` | U32 | `[n]` | database track id |
//!
//! Rows follow the database: tracks in id order, phrases in time order, windows and segments
//! in time order. Every shard's safetensors metadata holds `kind` and `standard_hash`.
//!
//! The export reads one snapshot of the database (one read transaction), holds at most one
//! shard of each kind in memory, writes every file as `name.tmp` then renames it, and writes
//! `manifest.json` last with `"complete": true` (a killed export leaves `"complete": false`).
//! Exporting again into the same folder replaces the previous export, shards included; a
//! non-empty folder that holds no memsynth manifest is refused untouched. A database whose
//! e_phrase statistics are missing or older than its phrases is refused (run `memsynth
//! analyze` to finish it), so `e_phrase` always matches what the server's index uses.
//!
//! Cost, measured on a 27-track, 1.2-hour database (183 phrases) in a dev build: 1902 windows
//! and 1930 segments, 1.5 GB in 12 shards, about 10 s; at most 293 MB of the process's own
//! memory (the two shard buffers) beside LMDB's mapped pages.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::Permissions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use heed::{RoTxn, WithoutTls};
use safetensors::Dtype;
use safetensors::tensor::TensorView;
use serde::Serialize;

use super::embedding::{E_PHRASE_DIMS, EmbeddingStats};
use super::schema::{ANALYSIS_VERSION, PhraseId, PhraseMel, PhraseRecord, SCHEMA_VERSION, TrackId};
use super::store::{Database, Meta};
use crate::audio::resample;
use crate::dsp::{
    FEATURE_STANDARD, FRAME_RATE, FRAMES_PER_BEAT, FeatureExtractor, HOP, LOG_FLOOR, N_MELS,
    SAMPLE_RATE, standard_hash,
};
use crate::{Error, Result};

/// Beats per bar of every exported window (only 4/4 phrases are windowed).
pub const BEATS_PER_BAR: usize = 4;
/// Bars of a training window.
pub const WINDOW_BARS: usize = 4;
/// Bars of context before a window.
pub const CONTEXT_BARS: usize = 1;
/// Frames of a window's `mel`: context and window bars on the beat grid (960).
pub const WINDOW_FRAMES: usize = (CONTEXT_BARS + WINDOW_BARS) * BEATS_PER_BAR * FRAMES_PER_BEAT;
/// Samples of a vocoder segment: 2 s at 24 kHz.
pub const SEGMENT_SAMPLES: usize = 2 * SAMPLE_RATE as usize;
/// Log-mel frames of a vocoder segment (192).
pub const SEGMENT_FRAMES: usize = SEGMENT_SAMPLES / HOP;
/// The largest [`ExportOptions::windows_per_shard`].
pub const MAX_WINDOWS_PER_SHARD: usize = 1024;
/// The manifest's file name.
pub const MANIFEST: &str = "manifest.json";
/// The manifest's `format` field: how a folder is recognised as an export.
pub const FORMAT: &str = "memsynth-dataset";
/// The manifest's `format_version`, bumped whenever the files' layout changes.
pub const FORMAT_VERSION: u32 = 1;

const _: () = assert!(SEGMENT_SAMPLES.is_multiple_of(HOP), "a segment is whole frames");
const BEAT_GRID_LEN: usize = (CONTEXT_BARS + WINDOW_BARS) * BEATS_PER_BAR + 1;

/// Shard sizes.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportOptions {
    /// Windows per `windows-*` shard, 1 to [`MAX_WINDOWS_PER_SHARD`]. The default, 256, is
    /// a 126 MB shard: one shard of each kind is held in memory while it fills.
    pub windows_per_shard: usize,
    /// Segments per `vocoder-*` shard, at least 1. The default, 512, is a 151 MB shard.
    pub segments_per_shard: usize,
}

impl Default for ExportOptions {
    fn default() -> Self {
        Self { windows_per_shard: 256, segments_per_shard: 512 }
    }
}

/// Writes the training dataset of `db` into `out` (see the module notes) with the default
/// [`ExportOptions`] and returns a one-line summary.
///
/// # Errors
/// [`Error::Database`] for an empty database, one whose statistics are missing or older
/// than its phrases (both say to run `memsynth analyze`), and for read failures;
/// [`Error::Write`] when `out` is a non-empty folder without a manifest of ours, or a file
/// cannot be written.
pub fn export_dataset(db: &Database, out: &Path) -> Result<String> {
    export_dataset_with(db, out, &ExportOptions::default())
}

/// [`export_dataset`] with chosen shard sizes.
///
/// # Errors
/// Those of [`export_dataset`], and [`Error::InvalidParameter`] for a shard size out of range.
pub fn export_dataset_with(db: &Database, out: &Path, options: &ExportOptions) -> Result<String> {
    if !(1..=MAX_WINDOWS_PER_SHARD).contains(&options.windows_per_shard) {
        return Err(Error::InvalidParameter {
            name: "windows per shard",
            reason: format!("{} is outside 1..={MAX_WINDOWS_PER_SHARD}", options.windows_per_shard),
        });
    }
    if options.segments_per_shard == 0 {
        return Err(Error::InvalidParameter {
            name: "segments per shard",
            reason: "0: a shard holds at least one segment".into(),
        });
    }
    let started = Instant::now();
    let (meta, rtxn) = snapshot(db)?;
    let tracks = db.tracks(&rtxn)?;
    let n_phrases: usize = tracks.iter().map(|(_, t)| t.phrases.len()).sum();
    if n_phrases == 0 {
        return Err(Error::Database {
            reason: format!("{} holds no phrases to export", db.dir().display()),
            fix: "run `memsynth analyze <library> --db <folder>` first",
        });
    }
    let stats = usable_stats(db, &meta)?;

    claim_folder(out)?;
    let mut manifest = Manifest {
        format: FORMAT,
        format_version: FORMAT_VERSION,
        complete: false,
        feature_standard: FEATURE_STANDARD,
        standard_hash: standard_hash(),
        database: DatabaseInfo {
            generation: meta.generation,
            schema_version: SCHEMA_VERSION,
            analysis_version: ANALYSIS_VERSION,
            track_analysis_versions: tracks.iter().map(|(_, t)| t.analysis_version).collect(),
        },
        counts: Counts::new(tracks.len(), n_phrases),
        e_phrase_stats: stats,
        shards: Vec::new(),
        layout: Layout::new(),
    };
    // The unfinished manifest keeps the folder recognisably ours while old shards go.
    write_manifest(out, &manifest)?;
    remove_previous_export(out)?;
    let permissions = std::fs::metadata(out.join(MANIFEST))
        .map_err(|e| write_error(&out.join(MANIFEST), e.to_string()))?
        .permissions();

    let mut run = Run {
        db,
        rtxn: &rtxn,
        stats,
        extractor: FeatureExtractor::new(),
        window_mel: Vec::with_capacity(WINDOW_FRAMES * N_MELS),
        windows: Shards::new(out, Kind::Windows, options.windows_per_shard, permissions.clone()),
        vocoder: Shards::new(out, Kind::Vocoder, options.segments_per_shard, permissions),
        counts: &mut manifest.counts,
    };
    for (track, record) in &tracks {
        let downbeats = db.grid(&rtxn, *track)?.map(|g| g.downbeats).unwrap_or_default();
        for &phrase in &record.phrases {
            run.phrase(*track, phrase, &downbeats)?;
        }
    }
    let Run { windows, vocoder, .. } = run;
    drop(rtxn);
    manifest.counts.windows = windows.total;
    manifest.counts.vocoder_segments = vocoder.total;
    manifest.shards = windows.finish()?;
    manifest.shards.extend(vocoder.finish()?);
    manifest.complete = true;
    write_manifest(out, &manifest)?;
    Ok(summary(&manifest, out, started.elapsed().as_secs_f64()))
}

/// A read transaction and the bookkeeping record of the same state: the record is read in a
/// transaction of its own, so it is read before and after and must not change in between.
fn snapshot(db: &Database) -> Result<(Meta, RoTxn<'_, WithoutTls>)> {
    for _ in 0..8 {
        let before = db.meta()?;
        let rtxn = db.read_txn()?;
        if db.meta()? == before {
            return Ok((before, rtxn));
        }
    }
    Err(Error::Database {
        reason: format!("{} kept changing while the export started", db.dir().display()),
        fix: "run the export again when `memsynth analyze` has finished",
    })
}

fn usable_stats<'m>(db: &Database, meta: &'m Meta) -> Result<&'m EmbeddingStats> {
    let dir = db.dir().display();
    let Some(stats) = &meta.stats else {
        return Err(Error::Database {
            reason: format!(
                "{dir} has no e_phrase statistics yet (its last analysis did not finish)"
            ),
            fix: "run `memsynth analyze <library> --db <folder>` to build or finish it",
        });
    };
    if meta.index_generation != meta.generation {
        return Err(Error::Database {
            reason: format!("{dir}'s e_phrase statistics are older than its phrases"),
            fix: "run `memsynth analyze <library> --db <folder>` to finish it",
        });
    }
    Ok(stats)
}

/// One export in progress: the snapshot it reads, its scratch and the shards it fills.
struct Run<'a> {
    db: &'a Database,
    rtxn: &'a RoTxn<'a, WithoutTls>,
    stats: &'a EmbeddingStats,
    extractor: FeatureExtractor,
    /// One window's log-mel on the beat grid.
    window_mel: Vec<f32>,
    windows: Shards,
    vocoder: Shards,
    counts: &'a mut Counts,
}

impl Run<'_> {
    fn phrase(&mut self, track: TrackId, id: PhraseId, downbeats: &[f64]) -> Result<()> {
        let record =
            self.db.phrase(self.rtxn, id)?.ok_or_else(|| missing(self.db, id, "record"))?;
        match window_grid(&record, downbeats) {
            Ok(grid) => {
                self.windows_of(track, id, &record, &grid)?;
                self.counts.window_phrases += 1;
                self.counts.spread_bars += grid.spread_bars;
            }
            Err(skip) => *self.counts.window_skipped.entry(skip.name()).or_default() += 1,
        }
        if self.segments_of(track, id)? > 0 {
            self.counts.vocoder_phrases += 1;
        } else {
            *self.counts.vocoder_skipped.entry(SHORTER_THAN_A_SEGMENT).or_default() += 1;
        }
        Ok(())
    }

    fn windows_of(
        &mut self,
        track: TrackId,
        id: PhraseId,
        record: &PhraseRecord,
        grid: &WindowGrid,
    ) -> Result<()> {
        let (db, rtxn) = (self.db, self.rtxn);
        let features = db.phrase_features(rtxn, id)?.ok_or_else(|| missing(db, id, "features"))?;
        if features.e_phrase_raw.len() != E_PHRASE_DIMS {
            return Err(missing(db, id, "e_phrase of 256 dimensions"));
        }
        let e_phrase = self.stats.standardise(&features.e_phrase_raw);
        let mel = db.phrase_mel(rtxn, id)?.ok_or_else(|| missing(db, id, "log-mel"))?;
        let first_frame = mel_first_frame(record, &mel);
        let bars = record.bars;
        for w in 0..=usize::from(bars) - WINDOW_BARS {
            let beats = &grid.beats[w * BEATS_PER_BAR..][..BEAT_GRID_LEN];
            self.window_mel.clear();
            sample_on_beats(&mel, first_frame, beats, &mut self.window_mel);
            let seconds = beats[BEAT_GRID_LEN - 1] - beats[CONTEXT_BARS * BEATS_PER_BAR];
            let tempo = (60.0 * (WINDOW_BARS * BEATS_PER_BAR) as f64 / seconds) as f32;
            let out = &mut self.windows;
            out.put_f32(&self.window_mel);
            out.put_bytes(&[u8::from(w > 0 || grid.context_valid)]);
            out.put_f32(&e_phrase);
            out.put_bytes(&[(w as u16).to_le_bytes(), bars.to_le_bytes()].concat());
            out.put_bytes(&track.to_le_bytes());
            out.put_bytes(&id.to_le_bytes());
            out.put_bytes(&tempo.to_le_bytes());
            out.end_row()?;
        }
        Ok(())
    }

    /// Writes the phrase's vocoder segments and returns how many.
    fn segments_of(&mut self, track: TrackId, id: PhraseId) -> Result<usize> {
        let audio =
            self.db.phrase_audio(self.rtxn, id)?.ok_or_else(|| missing(self.db, id, "audio"))?;
        let signal = resample(&audio.mono(), audio.sample_rate, SAMPLE_RATE)?;
        let segments = signal.len() / SEGMENT_SAMPLES;
        if segments == 0 {
            return Ok(0);
        }
        let mel = self.extractor.log_mel(&signal);
        let mel_len = SEGMENT_FRAMES * N_MELS;
        for s in 0..segments {
            let out = &mut self.vocoder;
            out.put_f32(&signal[s * SEGMENT_SAMPLES..][..SEGMENT_SAMPLES]);
            out.put_f32(&mel.as_slice()[s * mel_len..][..mel_len]);
            out.put_bytes(&id.to_le_bytes());
            out.put_bytes(&track.to_le_bytes());
            out.end_row()?;
        }
        Ok(segments)
    }
}

fn missing(db: &Database, id: PhraseId, what: &str) -> Error {
    Error::Database {
        reason: format!("{}: phrase {id} has no {what}", db.dir().display()),
        fix: "run `memsynth db check`, then rebuild with `memsynth analyze`",
    }
}

/// Why a phrase gives no training window.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Skip {
    NotFourFour,
    TooShort,
    BeatsMismatch,
}

impl Skip {
    const ALL: [Skip; 3] = [Skip::NotFourFour, Skip::TooShort, Skip::BeatsMismatch];

    fn name(self) -> &'static str {
        match self {
            Skip::NotFourFour => "not_4_4",
            Skip::TooShort => "shorter_than_4_bars",
            Skip::BeatsMismatch => "beats_do_not_match_bars",
        }
    }

    fn text(self) -> &'static str {
        match self {
            Skip::NotFourFour => "not in 4/4",
            Skip::TooShort => "shorter than 4 bars",
            Skip::BeatsMismatch => "with beats that do not match their bars",
        }
    }
}

const SHORTER_THAN_A_SEGMENT: &str = "shorter_than_2_seconds";

/// A phrase's beat grid with exactly one context bar before its first beat.
#[derive(Debug)]
struct WindowGrid {
    /// `BEATS_PER_BAR` context beats, `BEATS_PER_BAR` per bar of the phrase, then its end.
    beats: Vec<f64>,
    /// Whether the context beats were all stored (none extrapolated).
    context_valid: bool,
    /// Bars whose stored beats were not 4 and were replaced by 4 even beats.
    spread_bars: usize,
}

/// The grid the windows of a phrase are sampled on, from its stored beats and the track's
/// downbeats (seconds).
///
/// With the downbeats, each bar of the phrase keeps its stored beats when it has exactly
/// four; a bar with a missed or an extra beat (or cut short at a track's end) gets four even
/// beats between its downbeats instead. Without downbeats that match the phrase's bars, the
/// stored beats must be four per bar.
fn window_grid(record: &PhraseRecord, downbeats: &[f64]) -> std::result::Result<WindowGrid, Skip> {
    if usize::from(record.beats_per_bar) != BEATS_PER_BAR {
        return Err(Skip::NotFourFour);
    }
    let bars = usize::from(record.bars);
    if bars < WINDOW_BARS {
        return Err(Skip::TooShort);
    }
    let stored = &record.beats;
    let context = usize::from(record.context_beats);
    let increasing = stored.windows(2).all(|w| w[1] > w[0]) && stored.iter().all(|b| b.is_finite());
    if context > BEATS_PER_BAR || stored.len() < context + 2 || !increasing {
        return Err(Skip::BeatsMismatch);
    }
    let (context_beats, phrase_beats) = stored.split_at(context);
    let (phrase_beats, spread_bars) = match bar_lines(record, downbeats) {
        Some(lines) => four_per_bar(phrase_beats, &lines),
        None if phrase_beats.len() == bars * BEATS_PER_BAR + 1 => (phrase_beats.to_vec(), 0),
        None => return Err(Skip::BeatsMismatch),
    };
    let mut beats = context_beats.to_vec();
    beats.extend(phrase_beats);
    // At a track's start, continue the grid backwards with its first beat period.
    let (first, period) = (beats[0], beats[1] - beats[0]);
    let missing = BEATS_PER_BAR - context;
    beats.splice(0..0, (1..=missing).rev().map(|k| first - k as f64 * period));
    Ok(WindowGrid { beats, context_valid: missing == 0, spread_bars })
}

/// Half a frame: beat times are frame centres, phrase bounds are beat times (as in `ingest`).
const EPS: f64 = 0.5 / FRAME_RATE as f64;

/// The phrase's bar lines (its downbeats, then its end) when the downbeats give its bars.
fn bar_lines(record: &PhraseRecord, downbeats: &[f64]) -> Option<Vec<f64>> {
    let mut lines: Vec<f64> = downbeats
        .iter()
        .copied()
        .filter(|d| *d >= record.start - EPS && *d < record.end - EPS)
        .collect();
    lines.push(record.end);
    let fits =
        lines.len() == usize::from(record.bars) + 1 && (lines[0] - record.start).abs() <= EPS;
    fits.then_some(lines)
}

/// Four beats per bar between `lines` from `beats` (ending with the phrase's end), and how
/// many bars had to be spread evenly.
fn four_per_bar(beats: &[f64], lines: &[f64]) -> (Vec<f64>, usize) {
    let mut out = Vec::with_capacity((lines.len() - 1) * BEATS_PER_BAR + 1);
    let mut spread = 0;
    for bar in lines.windows(2) {
        let (from, to) = (bar[0], bar[1]);
        let inside: Vec<f64> =
            beats.iter().copied().filter(|b| *b >= from - EPS && *b < to - EPS).collect();
        if inside.len() == BEATS_PER_BAR {
            out.extend(inside);
        } else {
            spread += 1;
            out.extend(
                (0..BEATS_PER_BAR).map(|i| from + (to - from) * i as f64 / BEATS_PER_BAR as f64),
            );
        }
    }
    out.push(lines[lines.len() - 1]);
    (out, spread)
}

/// The track frame of the stored mel's first frame: `context_frames` before the frame of
/// the phrase's start (as `ingest` cuts it).
fn mel_first_frame(record: &PhraseRecord, mel: &PhraseMel) -> f64 {
    (record.start * f64::from(FRAME_RATE)).round().max(0.0) - f64::from(mel.context_frames)
}

/// Appends `FRAMES_PER_BEAT` frames per interval of `beats` (seconds), each the stored mel
/// linearly interpolated at its time; `first_frame` is the track frame of the mel's frame 0.
fn sample_on_beats(mel: &PhraseMel, first_frame: f64, beats: &[f64], out: &mut Vec<f32>) {
    const FLOOR_ROW: [f32; N_MELS] = [LOG_FLOOR_LN; N_MELS];
    let n = mel.n_frames();
    let row = |k: f64| -> &[f32] {
        if k < 0.0 || n == 0 {
            &FLOOR_ROW
        } else {
            let k = (k as usize).min(n - 1);
            &mel.frames[k * N_MELS..(k + 1) * N_MELS]
        }
    };
    for pair in beats.windows(2) {
        for j in 0..FRAMES_PER_BEAT {
            let t = pair[0] + (j as f64 / FRAMES_PER_BEAT as f64) * (pair[1] - pair[0]);
            let f = t * f64::from(FRAME_RATE) - first_frame;
            let k = f.floor();
            let frac = (f - k) as f32;
            let (a, b) = (row(k), row(k + 1.0));
            out.extend(a.iter().zip(b).map(|(a, b)| a + frac * (b - a)));
        }
    }
}

/// `ln(LOG_FLOOR)`, the log-mel of silence (`f32::ln` is not `const`).
const LOG_FLOOR_LN: f32 = -11.512_925;
const _: () = assert!(LOG_FLOOR == 1e-5, "LOG_FLOOR_LN is ln(1e-5)");

/// The two kinds of shard.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Windows,
    Vocoder,
}

/// One tensor of a shard: its name, dtype and the shape of one row.
struct Column {
    name: &'static str,
    dtype: Dtype,
    row_shape: &'static [usize],
    about: &'static str,
}

const WINDOW_COLUMNS: &[Column] = &[
    Column {
        name: "mel",
        dtype: Dtype::F32,
        row_shape: &[WINDOW_FRAMES, N_MELS],
        about: "log-mel on the beat grid, frame-major: 5 bars (the context bar, then the window's 4) x 4 beats x 48 frames; frame 48 i + j of beat interval [b_i, b_i+1] is the stored log-mel at b_i + (j / 48)(b_i+1 - b_i), linear between mel frames; ln(1e-5) before the stored mel",
    },
    Column {
        name: "context_valid",
        dtype: Dtype::U8,
        row_shape: &[],
        about: "1 when the context bar (frames 0..192) is real; 0 when its beats were extrapolated backwards with the first beat period at a track's start",
    },
    Column {
        name: "e_phrase",
        dtype: Dtype::F32,
        row_shape: &[E_PHRASE_DIMS],
        about: "the phrase's e_phrase (rhythm 64, harmony 64, timbre 128), standardised with the database statistics in e_phrase_stats",
    },
    Column {
        name: "bar_position",
        dtype: Dtype::U16,
        row_shape: &[2],
        about: "[index of the window's first bar within its phrase, bars in the phrase]",
    },
    Column { name: "track_id", dtype: Dtype::U32, row_shape: &[], about: "database track id" },
    Column { name: "phrase_id", dtype: Dtype::U32, row_shape: &[], about: "database phrase id" },
    Column {
        name: "tempo",
        dtype: Dtype::F32,
        row_shape: &[],
        about: "BPM of the window's 4 bars (16 beats over their duration), context excluded",
    },
];

const VOCODER_COLUMNS: &[Column] = &[
    Column {
        name: "audio",
        dtype: Dtype::F32,
        row_shape: &[SEGMENT_SAMPLES],
        about: "24 kHz mono samples s * 48000 .. (s + 1) * 48000 of the phrase (native tempo)",
    },
    Column {
        name: "mel",
        dtype: Dtype::F32,
        row_shape: &[SEGMENT_FRAMES, N_MELS],
        about: "standard log-mel of the phrase's whole 24 kHz audio, frames 192 s .. 192 (s + 1), frame-major; frame j is centred on the segment's sample 250 j",
    },
    Column { name: "phrase_id", dtype: Dtype::U32, row_shape: &[], about: "database phrase id" },
    Column { name: "track_id", dtype: Dtype::U32, row_shape: &[], about: "database track id" },
];

impl Kind {
    fn prefix(self) -> &'static str {
        match self {
            Kind::Windows => "windows",
            Kind::Vocoder => "vocoder",
        }
    }

    fn columns(self) -> &'static [Column] {
        match self {
            Kind::Windows => WINDOW_COLUMNS,
            Kind::Vocoder => VOCODER_COLUMNS,
        }
    }

    fn about(self) -> &'static str {
        match self {
            Kind::Windows => {
                "training windows: every 4/4 phrase of at least 4 bars, one window of 4 bars per bar it can start on (bars - 3), with the bar before as context; a bar without exactly 4 stored beats between its downbeats gets 4 even beats (counts.spread_bars); rows in database order (tracks by id, phrases and windows in time order)"
            }
            Kind::Vocoder => {
                "vocoder segments: every phrase's audio at native tempo, 24 kHz mono, cut into aligned 2-s segments (the last partial one dropped), with the log-mel the model will see"
            }
        }
    }
}

/// Fills shards of one kind column by column, row by row, and writes each when it is full.
struct Shards {
    dir: PathBuf,
    kind: Kind,
    capacity: usize,
    /// Those of a file created in the folder (the user's umask), for the shards, which the
    /// safetensors crate creates private.
    permissions: Permissions,
    data: Vec<Vec<u8>>,
    /// The next column a `put_*` fills.
    column: usize,
    rows: usize,
    total: usize,
    written: Vec<ShardInfo>,
}

impl Shards {
    fn new(dir: &Path, kind: Kind, capacity: usize, permissions: Permissions) -> Self {
        Self {
            dir: dir.to_path_buf(),
            kind,
            capacity,
            permissions,
            data: kind.columns().iter().map(|_| Vec::new()).collect(),
            column: 0,
            rows: 0,
            total: 0,
            written: Vec::new(),
        }
    }

    /// The next column's buffer, sized for a whole shard when first used (growing by
    /// doubling would hold up to twice a shard).
    fn next_column(&mut self) -> &mut Vec<u8> {
        let column = self.column;
        self.column += 1;
        let buf = &mut self.data[column];
        if buf.capacity() == 0 {
            buf.reserve_exact(self.capacity * row_bytes(&self.kind.columns()[column]));
        }
        buf
    }

    fn put_f32(&mut self, values: &[f32]) {
        let buf = self.next_column();
        for v in values {
            buf.extend_from_slice(&v.to_le_bytes());
        }
    }

    /// Little-endian bytes of the next column.
    fn put_bytes(&mut self, bytes: &[u8]) {
        self.next_column().extend_from_slice(bytes);
    }

    fn end_row(&mut self) -> Result<()> {
        self.rows += 1;
        self.total += 1;
        debug_assert_eq!(self.column, self.data.len(), "a row fills every column");
        debug_assert!(
            self.kind
                .columns()
                .iter()
                .zip(&self.data)
                .all(|(c, d)| d.len() == self.rows * row_bytes(c)),
            "a column got the wrong number of values"
        );
        self.column = 0;
        if self.rows == self.capacity { self.flush() } else { Ok(()) }
    }

    fn flush(&mut self) -> Result<()> {
        if self.rows == 0 {
            return Ok(());
        }
        let file = format!("{}-{:05}.safetensors", self.kind.prefix(), self.written.len());
        let path = self.dir.join(&file);
        let mut tensors = Vec::new();
        let mut views = Vec::new();
        for (column, data) in self.kind.columns().iter().zip(&self.data) {
            let shape: Vec<usize> =
                [self.rows].into_iter().chain(column.row_shape.iter().copied()).collect();
            tensors.push(TensorInfo {
                name: column.name,
                dtype: dtype_name(column.dtype),
                shape: shape.clone(),
            });
            let view = TensorView::new(column.dtype, shape, data)
                .map_err(|e| write_error(&path, format!("tensor {}: {e}", column.name)))?;
            views.push((column.name, view));
        }
        let metadata =
            [("kind", self.kind.prefix().to_owned()), ("standard_hash", standard_hash())]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect();
        let tmp = tmp_path(&path);
        safetensors::serialize_to_file(views, Some(metadata), &tmp)
            .map_err(|e| write_error(&tmp, e.to_string()))?;
        let bytes = std::fs::metadata(&tmp).map_err(|e| write_error(&tmp, e.to_string()))?.len();
        std::fs::set_permissions(&tmp, self.permissions.clone())
            .map_err(|e| write_error(&tmp, e.to_string()))?;
        std::fs::rename(&tmp, &path).map_err(|e| write_error(&path, e.to_string()))?;
        self.written.push(ShardInfo {
            file,
            kind: self.kind.prefix(),
            rows: self.rows,
            first_row: self.total - self.rows,
            bytes,
            tensors,
        });
        self.rows = 0;
        for d in &mut self.data {
            d.clear();
        }
        Ok(())
    }

    fn finish(mut self) -> Result<Vec<ShardInfo>> {
        self.flush()?;
        Ok(self.written)
    }
}

fn row_bytes(column: &Column) -> usize {
    column.row_shape.iter().product::<usize>() * column.dtype.bitsize() / 8
}

/// The dtype as safetensors' header spells it.
fn dtype_name(dtype: Dtype) -> &'static str {
    match dtype {
        Dtype::F32 => "F32",
        Dtype::U8 => "U8",
        Dtype::U16 => "U16",
        Dtype::U32 => "U32",
        _ => unreachable!("the export writes F32, U8, U16 and U32 only"),
    }
}

#[derive(Serialize)]
struct Manifest<'a> {
    format: &'static str,
    format_version: u32,
    /// False while an export runs (and after one was killed).
    complete: bool,
    feature_standard: &'static str,
    standard_hash: String,
    database: DatabaseInfo,
    counts: Counts,
    e_phrase_stats: &'a EmbeddingStats,
    shards: Vec<ShardInfo>,
    layout: Layout,
}

#[derive(Serialize)]
struct DatabaseInfo {
    generation: u64,
    schema_version: u32,
    analysis_version: u32,
    track_analysis_versions: BTreeSet<u32>,
}

#[derive(Serialize)]
struct Counts {
    tracks: usize,
    phrases: usize,
    windows: usize,
    /// Phrases that gave at least one window.
    window_phrases: usize,
    window_skipped: BTreeMap<&'static str, usize>,
    /// Bars of windowed phrases whose beats were spread evenly between their downbeats.
    spread_bars: usize,
    vocoder_segments: usize,
    /// Phrases that gave at least one segment.
    vocoder_phrases: usize,
    vocoder_skipped: BTreeMap<&'static str, usize>,
}

impl Counts {
    fn new(tracks: usize, phrases: usize) -> Self {
        Self {
            tracks,
            phrases,
            windows: 0,
            window_phrases: 0,
            window_skipped: Skip::ALL.iter().map(|s| (s.name(), 0)).collect(),
            spread_bars: 0,
            vocoder_segments: 0,
            vocoder_phrases: 0,
            vocoder_skipped: [(SHORTER_THAN_A_SEGMENT, 0)].into_iter().collect(),
        }
    }
}

#[derive(Serialize)]
struct ShardInfo {
    file: String,
    kind: &'static str,
    rows: usize,
    /// Index of the shard's first row among all rows of its kind.
    first_row: usize,
    bytes: u64,
    tensors: Vec<TensorInfo>,
}

#[derive(Serialize)]
struct TensorInfo {
    name: &'static str,
    dtype: &'static str,
    shape: Vec<usize>,
}

#[derive(Serialize)]
struct Layout {
    files: &'static str,
    byte_order: &'static str,
    windows: KindLayout,
    vocoder: KindLayout,
}

#[derive(Serialize)]
struct KindLayout {
    about: &'static str,
    tensors: Vec<TensorLayout>,
}

#[derive(Serialize)]
struct TensorLayout {
    name: &'static str,
    dtype: &'static str,
    /// The shape with `n` for the rows of a shard.
    shape: String,
    about: &'static str,
}

impl Layout {
    fn new() -> Self {
        let kind = |k: Kind| KindLayout {
            about: k.about(),
            tensors: k
                .columns()
                .iter()
                .map(|c| TensorLayout {
                    name: c.name,
                    dtype: dtype_name(c.dtype),
                    shape: std::iter::once("n".to_owned())
                        .chain(c.row_shape.iter().map(usize::to_string))
                        .collect::<Vec<_>>()
                        .join(", "),
                    about: c.about,
                })
                .collect(),
        };
        Self {
            files: "windows-NNNNN.safetensors and vocoder-NNNNN.safetensors, numbered from 00000; shards lists each with its rows and first_row; rows of a kind continue across its shards in order",
            byte_order: "little-endian, C order (last index fastest)",
            windows: kind(Kind::Windows),
            vocoder: kind(Kind::Vocoder),
        }
    }
}

/// Creates `out`, or accepts it when it is empty or holds a previous export.
fn claim_folder(out: &Path) -> Result<()> {
    let mut entries = match std::fs::read_dir(out) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return std::fs::create_dir_all(out)
                .map_err(|e| write_error(out, format!("cannot create the folder: {e}")));
        }
        Err(e) => return Err(write_error(out, format!("cannot list the folder: {e}"))),
    };
    if entries.next().is_none() {
        return Ok(());
    }
    let ours = std::fs::read(out.join(MANIFEST))
        .ok()
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .is_some_and(|m| m.get("format").and_then(|f| f.as_str()) == Some(FORMAT));
    if ours {
        Ok(())
    } else {
        Err(write_error(
            out,
            format!(
                "the folder is not empty and holds no memsynth dataset ({MANIFEST}); export into a new or empty folder, or into a previous export's folder"
            ),
        ))
    }
}

/// Removes the shards and temporary files of a previous export (never anything else).
fn remove_previous_export(out: &Path) -> Result<()> {
    let entries = std::fs::read_dir(out)
        .map_err(|e| write_error(out, format!("cannot list the folder: {e}")))?;
    for entry in entries {
        let entry = entry.map_err(|e| write_error(out, format!("cannot list the folder: {e}")))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if is_export_file(name) && entry.file_type().is_ok_and(|t| t.is_file()) {
            let path = entry.path();
            std::fs::remove_file(&path)
                .map_err(|e| write_error(&path, format!("cannot remove the old file: {e}")))?;
        }
    }
    Ok(())
}

/// A shard, or a temporary file an interrupted export left (ours `name.tmp`, safetensors'
/// own `.tmpXXXXXX`); not the manifest itself.
fn is_export_file(name: &str) -> bool {
    if name.starts_with(".tmp") {
        return true;
    }
    let base = name.strip_suffix(".tmp").unwrap_or(name);
    if base == MANIFEST {
        return base != name;
    }
    [Kind::Windows, Kind::Vocoder].iter().any(|k| {
        base.strip_prefix(k.prefix())
            .and_then(|r| r.strip_prefix('-'))
            .and_then(|r| r.strip_suffix(".safetensors"))
            .is_some_and(|n| n.len() >= 5 && n.bytes().all(|b| b.is_ascii_digit()))
    })
}

fn write_manifest(out: &Path, manifest: &Manifest) -> Result<()> {
    let path = out.join(MANIFEST);
    let tmp = tmp_path(&path);
    let mut text = serde_json::to_vec_pretty(manifest)
        .map_err(|e| write_error(&path, format!("cannot encode the manifest: {e}")))?;
    text.push(b'\n');
    let written = std::fs::File::create(&tmp).and_then(|mut f| {
        f.write_all(&text)?;
        f.sync_all()
    });
    written.map_err(|e| write_error(&tmp, e.to_string()))?;
    std::fs::rename(&tmp, &path).map_err(|e| write_error(&path, e.to_string()))
}

fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

fn write_error(path: &Path, reason: String) -> Error {
    Error::Write { path: path.to_path_buf(), reason }
}

fn summary(manifest: &Manifest, out: &Path, seconds: f64) -> String {
    let c = &manifest.counts;
    let shards = |kind: Kind| manifest.shards.iter().filter(|s| s.kind == kind.prefix()).count();
    let bytes: u64 = manifest.shards.iter().map(|s| s.bytes).sum();
    let skipped: Vec<String> = Skip::ALL
        .iter()
        .filter_map(|s| c.window_skipped.get(s.name()).filter(|n| **n > 0).map(|n| (s, n)))
        .map(|(s, n)| format!("{n} {}", s.text()))
        .collect();
    let skipped = if skipped.is_empty() {
        "none skipped".to_owned()
    } else {
        format!("skipped: {}", skipped.join(", "))
    };
    format!(
        "{} windows in {} shards from {} of {} phrases ({skipped}), {} vocoder segments in {} shards; {:.1} MB in {} in {seconds:.1} s; standard {}",
        c.windows,
        shards(Kind::Windows),
        c.window_phrases,
        c.phrases,
        c.vocoder_segments,
        shards(Kind::Vocoder),
        bytes as f64 / 1e6,
        out.display(),
        &manifest.standard_hash[..12],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(beats: Vec<f64>, context_beats: u16, bars: u16, beats_per_bar: u8) -> PhraseRecord {
        PhraseRecord {
            track: 0,
            ordinal: 0,
            start: beats[usize::from(context_beats)],
            end: *beats.last().unwrap(),
            bars,
            beats_per_bar,
            tempo: 100.0,
            key: "C major".into(),
            beats,
            context_beats,
        }
    }

    #[test]
    fn the_window_shape_agrees_with_the_standard_text() {
        let fields: BTreeMap<&str, &str> =
            FEATURE_STANDARD.lines().filter_map(|l| l.split_once(" = ")).collect();
        assert_eq!(fields["beats_per_bar"], BEATS_PER_BAR.to_string());
        assert_eq!(fields["bars_per_window"], WINDOW_BARS.to_string());
        assert_eq!(fields["context_bars"], CONTEXT_BARS.to_string());
        assert_eq!(WINDOW_FRAMES, 960);
        assert_eq!(SEGMENT_FRAMES, 192);
        assert!((LOG_FLOOR_LN - LOG_FLOOR.ln()).abs() < 1e-6);
    }

    #[test]
    fn grids_get_one_context_bar_or_a_reason() {
        let beats =
            |from: i32, n: i32| (from..from + n).map(|k| 1.0 + 0.5 * f64::from(k)).collect();
        let full = window_grid(&record(beats(0, 4 + 16 + 1), 4, 4, 4), &[]).unwrap();
        assert!(full.context_valid && full.beats.len() == 21);
        let partial = window_grid(&record(beats(2, 2 + 20 + 1), 2, 5, 4), &[]).unwrap();
        assert!(!partial.context_valid);
        assert_eq!(partial.beats[..3], [1.0, 1.5, 2.0]);
        assert_eq!(
            window_grid(&record(beats(0, 13), 0, 4, 3), &[]).unwrap_err(),
            Skip::NotFourFour
        );
        assert_eq!(window_grid(&record(beats(0, 13), 0, 3, 4), &[]).unwrap_err(), Skip::TooShort);
        assert_eq!(
            window_grid(&record(beats(0, 16), 0, 4, 4), &[]).unwrap_err(),
            Skip::BeatsMismatch
        );
    }

    #[test]
    fn a_bar_without_four_beats_is_spread_between_its_downbeats() {
        // Four bars of 0.5-s beats from 1 s; bar 1 has an extra beat, bar 3 misses one.
        let regular: Vec<f64> = (0..=16).map(|k| 1.0 + 0.5 * f64::from(k)).collect();
        let mut beats = regular.clone();
        beats.insert(6, 3.75);
        beats.remove(15);
        let downbeats = [1.0, 3.0, 5.0, 7.0, 9.0];
        let grid = window_grid(&record(beats.clone(), 0, 4, 4), &downbeats).unwrap();
        assert_eq!(grid.spread_bars, 2);
        assert!(!grid.context_valid);
        assert_eq!(grid.beats[4..], regular[..]);
        // Without downbeats the count is right but the bars are not: nothing to go by.
        let mut short = beats.clone();
        short.remove(3);
        let no_lines = window_grid(&record(short, 0, 4, 4), &[]);
        assert_eq!(no_lines.unwrap_err(), Skip::BeatsMismatch);
        // Downbeats that do not give the phrase's bars are not used.
        let wrong = window_grid(&record(beats, 0, 4, 4), &downbeats[1..]).unwrap();
        assert_eq!(wrong.spread_bars, 0);
    }

    #[test]
    fn export_files_are_recognised_and_nothing_else() {
        for ours in [
            "windows-00000.safetensors",
            "vocoder-00012.safetensors",
            "windows-00003.safetensors.tmp",
            "manifest.json.tmp",
            ".tmpA1b2C3",
        ] {
            assert!(is_export_file(ours), "{ours}");
        }
        for theirs in [
            "manifest.json",
            "windows.safetensors",
            "windows-1.safetensors",
            "notes.txt",
            "vocoder-0000x.safetensors",
        ] {
            assert!(!is_export_file(theirs), "{theirs}");
        }
    }
}
