//! `memsynth db export-dataset` on a synthetic database: the manifest, the windows' shapes,
//! labels and tempo normalisation, the vocoder segments' alignment, re-exports and refusals.
//!
//! The stored log-mel encodes time: frame `k` of a track holds `0.01 k + 0.001 bin`, so a
//! tempo-normalised frame must hold `0.96 t + 0.001 bin` for its time `t` (seconds).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use memsynth::audio::resample;
use memsynth::db::export::{ExportOptions, export_dataset, export_dataset_with};
use memsynth::db::index::IndexParams;
use memsynth::db::schema::{
    BeatGrid, PhraseAudio, PhraseFeatures, PhraseMel, PhraseRecord, TrackRecord,
};
use memsynth::db::{Database, PhraseBundle, TrackBundle};
use memsynth::dsp::{FEATURE_STANDARD, FeatureExtractor, N_MELS, standard_hash};
use safetensors::{Dtype, SafeTensors};

const FLOOR: f32 = -11.512_925; // ln(1e-5)

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("memsynth-export-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn frame_of(t: f64) -> usize {
    (t * 96.0).round().max(0.0) as usize
}

/// One phrase of a synthetic track: its first beat's index in the track's beats, its bars
/// and beats per bar.
struct Spec {
    first_beat: usize,
    bars: usize,
    beats_per_bar: usize,
}

/// A track with the given beat times whose stored log-mel is the time ramp and whose audio
/// is two tones per channel.
fn track(path: &str, beats: &[f64], specs: &[Spec], rate: u32, channels: u16) -> TrackBundle {
    let phrases = specs
        .iter()
        .enumerate()
        .map(|(ordinal, s)| {
            let last = s.first_beat + s.bars * s.beats_per_bar;
            let (start, end) = (beats[s.first_beat], beats[last]);
            let context = &beats[s.first_beat.saturating_sub(s.beats_per_bar)..s.first_beat];
            let mel_start = frame_of(context.first().copied().unwrap_or(start));
            let mel_end = frame_of(end);
            let frames = (mel_start..mel_end)
                .flat_map(|k| (0..N_MELS).map(move |bin| 0.01 * k as f32 + 0.001 * bin as f32))
                .collect();
            let first = (start * f64::from(rate)).round() as usize;
            let last_sample = (end * f64::from(rate)).round() as usize;
            let samples: Vec<f32> = (first..last_sample)
                .flat_map(|i| {
                    let t = i as f64 / f64::from(rate);
                    (0..channels).map(move |c| {
                        let f = 220.0 + 110.0 * f64::from(c);
                        (0.3 * (std::f64::consts::TAU * f * t).sin()
                            + 0.1 * (std::f64::consts::TAU * 3000.0 * t).sin() * (t % 1.0))
                            as f32
                    })
                })
                .collect();
            let raw = (0..256).map(|d| (d as f32 * 0.37 + ordinal as f32 + start as f32).sin());
            PhraseBundle {
                record: PhraseRecord {
                    track: 0,
                    ordinal: ordinal as u16,
                    start,
                    end,
                    bars: s.bars as u16,
                    beats_per_bar: s.beats_per_bar as u8,
                    tempo: 0.0,
                    key: "A minor".into(),
                    beats: beats[s.first_beat - context.len()..=last].to_vec(),
                    context_beats: context.len() as u16,
                },
                features: PhraseFeatures {
                    e_phrase_raw: raw.collect(),
                    beat_chroma: Vec::new(),
                    beat_mfcc: Vec::new(),
                    beat_onset: Vec::new(),
                },
                audio: PhraseAudio::from_f32(rate, channels, &samples, ordinal as u64),
                mel: PhraseMel { context_frames: (frame_of(start) - mel_start) as u32, frames },
            }
        })
        .collect();
    TrackBundle {
        record: TrackRecord {
            path: path.into(),
            content_hash: path.into(),
            file_size: 1,
            duration: *beats.last().unwrap(),
            source_sample_rate: rate,
            source_channels: channels,
            tempo: 100.0,
            tempo_confidence: 0.9,
            key: "A minor".into(),
            key_confidence: 0.8,
            beats_per_bar: specs[0].beats_per_bar as u8,
            analysis_version: 1,
            phrases: Vec::new(),
        },
        grid: BeatGrid { beats: beats.to_vec(), downbeats: Vec::new() },
        phrases,
    }
}

/// Track A: 100 BPM with swing (odd beats 20 ms late), a 4-bar phrase from its first beat
/// (no context) then a 6-bar one. Track B: 109 BPM, two pickup beats before a 5-bar phrase.
/// Track C: a 4-bar phrase in 3/4 and a 2-bar, 1.6-s phrase in 4/4.
fn tracks() -> Vec<TrackBundle> {
    let a: Vec<f64> =
        (0..=40).map(|k| 0.25 + 0.6 * k as f64 + if k % 2 == 1 { 0.02 } else { 0.0 }).collect();
    let b: Vec<f64> = (0..=22).map(|k| 0.1 + 0.55 * k as f64).collect();
    let c: Vec<f64> = (0..=20)
        .map(|k| if k <= 12 { 0.5 * k as f64 } else { 6.0 + 0.2 * (k - 12) as f64 })
        .collect();
    let spec = |first_beat, bars, beats_per_bar| Spec { first_beat, bars, beats_per_bar };
    vec![
        track("/lib/a.flac", &a, &[spec(0, 4, 4), spec(16, 6, 4)], 44_100, 2),
        track("/lib/b.wav", &b, &[spec(2, 5, 4)], 32_000, 1),
        track("/lib/c.wav", &c, &[spec(0, 4, 3), spec(12, 2, 4)], 24_000, 1),
    ]
}

/// The database of [`tracks`] with its statistics, in a fresh folder.
fn database(name: &str) -> (PathBuf, Database) {
    let dir = temp_dir(name);
    let mut db = Database::create(&dir.join("db")).unwrap();
    for t in tracks() {
        db.put_track(&t).unwrap();
    }
    db.refresh_index(&IndexParams::default()).unwrap();
    (dir, db)
}

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

fn manifest(out: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap()
}

/// A tensor of every shard of `kind`, concatenated: dtype, shape (rows summed), bytes.
fn tensor(out: &Path, kind: &str, name: &str) -> (Dtype, Vec<usize>, Vec<u8>) {
    let mut found: Option<(Dtype, Vec<usize>, Vec<u8>)> = None;
    for file in files(out).iter().filter(|f| f.starts_with(kind) && f.ends_with(".safetensors")) {
        let bytes = std::fs::read(out.join(file)).unwrap();
        let st = SafeTensors::deserialize(&bytes).unwrap();
        let t = st.tensor(name).unwrap();
        match &mut found {
            None => found = Some((t.dtype(), t.shape().to_vec(), t.data().to_vec())),
            Some((dtype, shape, data)) => {
                assert_eq!(*dtype, t.dtype());
                assert_eq!(shape[1..], t.shape()[1..]);
                shape[0] += t.shape()[0];
                data.extend_from_slice(t.data());
            }
        }
    }
    found.unwrap_or_else(|| panic!("no {kind} shard holds {name}"))
}

fn f32s(bytes: &[u8]) -> Vec<f32> {
    bytes.chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().unwrap())).collect()
}

fn u32s(bytes: &[u8]) -> Vec<u32> {
    bytes.chunks_exact(4).map(|b| u32::from_le_bytes(b.try_into().unwrap())).collect()
}

fn u16s(bytes: &[u8]) -> Vec<u16> {
    bytes.chunks_exact(2).map(|b| u16::from_le_bytes(b.try_into().unwrap())).collect()
}

#[test]
fn the_manifest_names_the_standard_the_counts_and_every_shard() {
    let (dir, db) = database("manifest");
    let out = dir.join("out");
    let summary = export_dataset(&db, &out).unwrap();
    assert!(summary.contains("6 windows") && summary.contains("19 vocoder segments"), "{summary}");
    let m = manifest(&out);
    assert_eq!(m["format"], "memsynth-dataset");
    assert_eq!(m["complete"], true);
    assert_eq!(m["standard_hash"], standard_hash().as_str());
    assert_eq!(m["feature_standard"], FEATURE_STANDARD);
    assert_eq!(m["database"]["generation"], db.meta().unwrap().generation);
    assert_eq!(m["database"]["schema_version"], memsynth::db::schema::SCHEMA_VERSION);
    assert_eq!(m["database"]["analysis_version"], memsynth::db::schema::ANALYSIS_VERSION);
    let counts = &m["counts"];
    assert_eq!((counts["tracks"].as_u64(), counts["phrases"].as_u64()), (Some(3), Some(5)));
    assert_eq!((counts["windows"].as_u64(), counts["window_phrases"].as_u64()), (Some(6), Some(3)));
    assert_eq!(counts["window_skipped"]["not_4_4"], 1);
    assert_eq!(counts["window_skipped"]["shorter_than_4_bars"], 1);
    assert_eq!(counts["window_skipped"]["beats_do_not_match_bars"], 0);
    assert_eq!(counts["vocoder_segments"], 19);
    assert_eq!(counts["vocoder_phrases"], 4);
    assert_eq!(counts["vocoder_skipped"]["shorter_than_2_seconds"], 1);
    assert!(m["layout"]["windows"]["about"].is_string());
    assert_eq!(m["e_phrase_stats"]["mean"].as_array().unwrap().len(), 256);

    // Every shard listed is on disk with the tensors, dtypes and shapes listed, and only those.
    let shards = m["shards"].as_array().unwrap();
    let listed: Vec<&str> = shards.iter().map(|s| s["file"].as_str().unwrap()).collect();
    assert_eq!(listed, ["windows-00000.safetensors", "vocoder-00000.safetensors"]);
    assert_eq!(
        files(&out),
        ["manifest.json", "vocoder-00000.safetensors", "windows-00000.safetensors"]
    );
    for shard in shards {
        let bytes = std::fs::read(out.join(shard["file"].as_str().unwrap())).unwrap();
        assert_eq!(shard["bytes"], bytes.len());
        let st = SafeTensors::deserialize(&bytes).unwrap();
        let tensors = shard["tensors"].as_array().unwrap();
        assert_eq!(st.names().len(), tensors.len());
        for t in tensors {
            let view = st.tensor(t["name"].as_str().unwrap()).unwrap();
            assert_eq!(format!("{:?}", view.dtype()), t["dtype"].as_str().unwrap());
            let shape: Vec<usize> = t["shape"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.as_u64().unwrap() as usize)
                .collect();
            assert_eq!(view.shape(), shape);
        }
        let (_, meta) = SafeTensors::read_metadata(&bytes).unwrap();
        let meta = meta.metadata().clone().unwrap();
        assert_eq!(meta["standard_hash"], standard_hash());
        assert_eq!(meta["kind"], shard["kind"].as_str().unwrap());
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn windows_have_the_documented_shapes_and_labels() {
    let (dir, db) = database("labels");
    let out = dir.join("out");
    export_dataset(&db, &out).unwrap();

    let shapes: BTreeMap<&str, (Dtype, Vec<usize>)> =
        ["mel", "context_valid", "e_phrase", "bar_position", "track_id", "phrase_id", "tempo"]
            .into_iter()
            .map(|name| {
                let (dtype, shape, _) = tensor(&out, "windows", name);
                (name, (dtype, shape))
            })
            .collect();
    assert_eq!(shapes["mel"], (Dtype::F32, vec![6, 960, 128]));
    assert_eq!(shapes["context_valid"], (Dtype::U8, vec![6]));
    assert_eq!(shapes["e_phrase"], (Dtype::F32, vec![6, 256]));
    assert_eq!(shapes["bar_position"], (Dtype::U16, vec![6, 2]));
    assert_eq!(shapes["track_id"], (Dtype::U32, vec![6]));
    assert_eq!(shapes["phrase_id"], (Dtype::U32, vec![6]));
    assert_eq!(shapes["tempo"], (Dtype::F32, vec![6]));

    // Phrases 0 (4 bars: 1 window) and 1 (6 bars: 3) of track 0, phrase 2 (5 bars: 2) of
    // track 1; track 2's phrases are in 3/4 or too short.
    let phrase_id = u32s(&tensor(&out, "windows", "phrase_id").2);
    assert_eq!(phrase_id, [0, 1, 1, 1, 2, 2]);
    assert_eq!(u32s(&tensor(&out, "windows", "track_id").2), [0, 0, 0, 0, 1, 1]);
    assert_eq!(
        u16s(&tensor(&out, "windows", "bar_position").2),
        [0, 4, 0, 6, 1, 6, 2, 6, 0, 5, 1, 5]
    );
    // Real context except at a track's start: phrase 0 has no beat before it, phrase 2 two.
    assert_eq!(tensor(&out, "windows", "context_valid").2, [0, 1, 1, 1, 0, 1]);
    // Swing cancels over whole bars: track 0 is 100 BPM, track 1 60 / 0.55.
    let tempo = f32s(&tensor(&out, "windows", "tempo").2);
    for (t, want) in tempo.iter().zip([100.0, 100.0, 100.0, 100.0, 60.0 / 0.55, 60.0 / 0.55]) {
        assert!((t - want).abs() < 1e-3, "{tempo:?}");
    }
    // e_phrase is the database's standardised vector of the window's phrase.
    let (ids, vectors) = db.standardised_vectors().unwrap();
    let e_phrase = f32s(&tensor(&out, "windows", "e_phrase").2);
    for (row, id) in e_phrase.chunks_exact(256).zip(&phrase_id) {
        let at = ids.iter().position(|i| i == id).unwrap();
        assert_eq!(row, &vectors[at * 256..(at + 1) * 256]);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn window_mel_is_the_stored_mel_sampled_on_the_beats() {
    let (dir, db) = database("tempo");
    let out = dir.join("out");
    export_dataset(&db, &out).unwrap();
    let mel = f32s(&tensor(&out, "windows", "mel").2);
    let rows: Vec<&[f32]> = mel.chunks_exact(960 * 128).collect();
    let frame = |row: usize, f: usize, bin: usize| rows[row][f * 128 + bin];

    // By hand: window 0 (phrase 0, first beat 0.25 s, next 0.87 s), frame 24 of its first
    // beat after the context bar is at 0.25 + 0.5 · 0.62 = 0.56 s: 0.96 · 0.56 + 0.001 bin.
    assert!((frame(0, 192 + 24, 5) - (0.5376 + 0.005)).abs() < 1e-4, "{}", frame(0, 216, 5));
    // Its context bar lies before the track (beats extended back by 0.62 s): silence.
    assert_eq!(frame(0, 0, 0), FLOOR);
    assert_eq!(frame(0, 150, 77), FLOOR);

    // Every frame: the stored ramp interpolated at b_i + (j / 48)(b_i+1 − b_i), where beats
    // before the stored ones continue the first beat period.
    let stored = tracks();
    let windows = [(0, 0, 0), (0, 1, 0), (0, 1, 1), (0, 1, 2), (1, 0, 0), (1, 0, 1)];
    for (row, &(t, p, w)) in windows.iter().enumerate() {
        let phrase = &stored[t].phrases[p];
        let r = &phrase.record;
        let beats = &r.beats;
        let c = r.context_beats as i64;
        let beat = |i: i64| -> f64 {
            // i counts from the phrase's first beat.
            let k = i + c;
            if k >= 0 { beats[k as usize] } else { beats[0] + k as f64 * (beats[1] - beats[0]) }
        };
        let first = frame_of(r.start) as i64 - i64::from(phrase.mel.context_frames);
        let n = phrase.mel.n_frames() as i64;
        let value = |k: i64, bin: usize| -> f32 {
            if k < 0 {
                FLOOR
            } else {
                let k = k.min(n - 1);
                0.01 * (first + k) as f32 + 0.001 * bin as f32
            }
        };
        for i in 0..20 {
            let (b0, b1) = (beat(4 * w + i - 4), beat(4 * w + i - 3));
            for j in 0..48 {
                let t = b0 + j as f64 / 48.0 * (b1 - b0);
                let f = t * 96.0 - first as f64;
                let k = f.floor() as i64;
                let frac = (f - f.floor()) as f32;
                for bin in [0, 63, 127] {
                    let want = value(k, bin) + frac * (value(k + 1, bin) - value(k, bin));
                    let got = frame(row, 48 * i as usize + j, bin);
                    assert!(
                        (got - want).abs() < 1e-4,
                        "row {row} beat {i} frame {j}: {got} vs {want}"
                    );
                    if (0..n - 1).contains(&k) {
                        let ramp = (0.96 * t) as f32 + 0.001 * bin as f32;
                        assert!((got - ramp).abs() < 1e-4, "{got} vs the ramp {ramp}");
                    }
                }
            }
        }
    }
    // The windows of the 6-bar phrase step by one bar: window 1's context bar is window 0's
    // first bar.
    assert_eq!(rows[2][..192 * 128], rows[1][192 * 128..384 * 128]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn vocoder_segments_are_aligned_audio_and_log_mel() {
    let (dir, db) = database("vocoder");
    let out = dir.join("out");
    export_dataset(&db, &out).unwrap();
    let (dtype, shape, audio) = tensor(&out, "vocoder", "audio");
    assert_eq!((dtype, shape), (Dtype::F32, vec![19, 48_000]));
    let (dtype, shape, mel) = tensor(&out, "vocoder", "mel");
    assert_eq!((dtype, shape), (Dtype::F32, vec![19, 192, 128]));
    let (dtype, shape, phrase_id) = tensor(&out, "vocoder", "phrase_id");
    assert_eq!((dtype, shape), (Dtype::U32, vec![19]));
    let (dtype, shape, track_id) = tensor(&out, "vocoder", "track_id");
    assert_eq!((dtype, shape), (Dtype::U32, vec![19]));
    let (audio, mel, phrase_id) = (f32s(&audio), f32s(&mel), u32s(&phrase_id));
    // 9.6 s, 14.4 s, 11 s, 6 s and 1.6 s of audio.
    let segments = [4, 7, 5, 3, 0];
    let want_ids: Vec<u32> =
        segments.iter().enumerate().flat_map(|(p, n)| std::iter::repeat_n(p as u32, *n)).collect();
    assert_eq!(phrase_id, want_ids);
    assert_eq!(u32s(&track_id), [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2]);

    let mut extractor = FeatureExtractor::new();
    let rtxn = db.read_txn().unwrap();
    let mut row = 0;
    for (p, n) in segments.iter().enumerate() {
        let stored = db.phrase_audio(&rtxn, p as u32).unwrap().unwrap();
        let signal = resample(&stored.mono(), stored.sample_rate, 24_000).unwrap();
        assert_eq!(signal.len() / 48_000, *n);
        let log_mel = extractor.log_mel(&signal);
        for s in 0..*n {
            let got_audio = &audio[row * 48_000..(row + 1) * 48_000];
            assert_eq!(got_audio, &signal[s * 48_000..(s + 1) * 48_000]);
            let got_mel = &mel[row * 192 * 128..(row + 1) * 192 * 128];
            let want = &log_mel.as_slice()[s * 192 * 128..(s + 1) * 192 * 128];
            let diff = got_mel.iter().zip(want).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
            assert!(diff < 1e-5, "phrase {p} segment {s}: {diff}");
            // Aligned: away from its edges, the segment's own log-mel is the same frames.
            let own = extractor.log_mel(got_audio);
            let inner = 3 * 128..189 * 128;
            let diff = own.as_slice()[inner.clone()]
                .iter()
                .zip(&got_mel[inner])
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f32::max);
            assert!(diff < 1e-4, "phrase {p} segment {s} is misaligned: {diff}");
            row += 1;
        }
    }
    drop(rtxn);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_re_export_replaces_every_shard_and_sharding_keeps_the_rows() {
    let (dir, db) = database("again");
    let out = dir.join("out");
    let small = ExportOptions { windows_per_shard: 4, segments_per_shard: 8 };
    export_dataset_with(&db, &out, &small).unwrap();
    assert_eq!(
        files(&out),
        [
            "manifest.json",
            "vocoder-00000.safetensors",
            "vocoder-00001.safetensors",
            "vocoder-00002.safetensors",
            "windows-00000.safetensors",
            "windows-00001.safetensors",
        ]
    );
    let m = manifest(&out);
    let rows: Vec<(u64, u64)> = m["shards"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["rows"].as_u64().unwrap(), s["first_row"].as_u64().unwrap()))
        .collect();
    assert_eq!(rows, [(4, 0), (2, 4), (8, 0), (8, 8), (3, 16)]);
    let sharded = ["mel", "phrase_id", "tempo"].map(|t| tensor(&out, "windows", t));
    let sharded_audio = tensor(&out, "vocoder", "audio");

    // Leftovers of a killed export and a file of the user's.
    std::fs::write(out.join("windows-00007.safetensors.tmp"), b"partial").unwrap();
    std::fs::write(out.join(".tmpK1ll3d"), b"partial").unwrap();
    std::fs::write(out.join("README.txt"), b"mine").unwrap();
    export_dataset(&db, &out).unwrap();
    assert_eq!(
        files(&out),
        ["README.txt", "manifest.json", "vocoder-00000.safetensors", "windows-00000.safetensors"]
    );
    assert_eq!(manifest(&out)["shards"].as_array().unwrap().len(), 2);
    assert_eq!(["mel", "phrase_id", "tempo"].map(|t| tensor(&out, "windows", t)), sharded);
    assert_eq!(tensor(&out, "vocoder", "audio"), sharded_audio);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_folder_of_something_else_is_refused_untouched() {
    let (dir, db) = database("foreign");
    let out = dir.join("photos");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("windows-00000.safetensors"), b"not ours").unwrap();
    let err = export_dataset(&db, &out).unwrap_err();
    assert!(matches!(err, memsynth::Error::Write { .. }), "{err}");
    assert!(err.to_string().contains("manifest.json"), "{err}");
    assert_eq!(files(&out), ["windows-00000.safetensors"]);
    // A manifest.json of another tool does not make the folder ours either.
    std::fs::write(out.join("manifest.json"), br#"{"name": "holiday"}"#).unwrap();
    assert!(matches!(export_dataset(&db, &out), Err(memsynth::Error::Write { .. })));
    assert_eq!(std::fs::read(out.join("windows-00000.safetensors")).unwrap(), b"not ours");
    // A file where the folder should be.
    assert!(export_dataset(&db, &out.join("manifest.json")).is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_empty_or_unfinished_database_says_to_run_analyze() {
    let dir = temp_dir("unfinished");
    let out = dir.join("out");
    let mut db = Database::create(&dir.join("db")).unwrap();
    let err = export_dataset(&db, &out).unwrap_err().to_string();
    assert!(err.contains("memsynth analyze"), "{err}");
    // Phrases whose statistics were never computed (an interrupted analyze).
    db.put_track(&tracks().remove(1)).unwrap();
    let err = export_dataset(&db, &out).unwrap_err().to_string();
    assert!(err.contains("memsynth analyze") && err.contains("statistics"), "{err}");
    assert!(!out.exists(), "nothing is written for a database that cannot be exported");
    db.refresh_index(&IndexParams::default()).unwrap();
    assert!(export_dataset(&db, &out).unwrap().contains("2 windows"));
    // A track added since the statistics were computed.
    db.put_track(&tracks().remove(2)).unwrap();
    let err = export_dataset(&db, &out).unwrap_err().to_string();
    assert!(err.contains("memsynth analyze") && err.contains("older"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_bar_with_a_missed_or_an_extra_beat_gets_even_beats_between_its_downbeats() {
    // 120 BPM from 1 s; the phrase's bar 1 has an extra beat and bar 3 lost one.
    let beats: Vec<f64> = (0..=24).map(|k| 1.0 + 0.5 * k as f64).collect();
    let mut bundle = track(
        "/lib/d.wav",
        &beats,
        &[Spec { first_beat: 4, bars: 5, beats_per_bar: 4 }],
        24_000,
        1,
    );
    bundle.grid.downbeats = beats.iter().step_by(4).copied().collect();
    let record = &mut bundle.phrases[0].record;
    let regular = record.beats.clone();
    record.beats.insert(4 + 5, 5.25);
    record.beats.remove(4 + 1 + 14);
    assert_eq!(record.beats.len(), regular.len(), "the count alone cannot tell");

    let dir = temp_dir("spread");
    let mut db = Database::create(&dir.join("db")).unwrap();
    db.put_track(&bundle).unwrap();
    db.refresh_index(&IndexParams::default()).unwrap();
    let out = dir.join("out");
    export_dataset(&db, &out).unwrap();
    assert_eq!(manifest(&out)["counts"]["spread_bars"], 2);
    // The spread bars fall back on the regular grid, so every frame is on the ramp.
    let mel = f32s(&tensor(&out, "windows", "mel").2);
    assert_eq!(mel.len(), 2 * 960 * 128);
    for (w, row) in mel.chunks_exact(960 * 128).enumerate() {
        for f in 0..960 {
            let t = regular[4 * w] + 0.5 * f as f64 / 48.0;
            let want = (0.96 * t) as f32 + 0.001 * 7.0;
            assert!((row[f * 128 + 7] - want).abs() < 1e-4, "window {w} frame {f}");
        }
    }
    // Shards are as readable as the manifest (not the safetensors crate's private 0600).
    let mode = |name: &str| std::fs::metadata(out.join(name)).unwrap().permissions();
    assert_eq!(mode("windows-00000.safetensors"), mode("manifest.json"));
    std::fs::remove_dir_all(&dir).unwrap();
}
