//! The phrase database's tables on synthetic bundles: round trips, replacement, removal, the
//! index's freshness, queries, the check, and the map's growth.

use std::path::PathBuf;

use memsynth::db::embedding::{E_PHRASE_DIMS, GroupWeights};
use memsynth::db::index::IndexParams;
use memsynth::db::schema::{
    BeatGrid, PhraseAudio, PhraseFeatures, PhraseMel, PhraseRecord, TrackRecord,
};
use memsynth::db::{Database, PhraseBundle, Query, TrackBundle};
use memsynth::dsp::N_MELS;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("memsynth-db-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// A track of `n` phrases whose raw e_phrase is `base + ordinal` in every dimension, plus a
/// per-dimension wiggle so the vectors are not all parallel.
fn bundle(path: &str, n: usize, base: f32, seconds_each: usize) -> TrackBundle {
    let phrases = (0..n)
        .map(|i| {
            let raw: Vec<f32> = (0..E_PHRASE_DIMS)
                .map(|d| base + i as f32 + ((d * 7 + i * 13) % 11) as f32 * 0.1 * (1.0 + base))
                .collect();
            let start = (i * seconds_each) as f64;
            PhraseBundle {
                record: PhraseRecord {
                    track: 0,
                    ordinal: i as u16,
                    start,
                    end: start + seconds_each as f64,
                    bars: 4,
                    beats_per_bar: 4,
                    tempo: 120.0,
                    key: "C major".into(),
                    beats: (0..=16).map(|b| start + b as f64 * 0.5).collect(),
                    context_beats: 0,
                },
                features: PhraseFeatures {
                    e_phrase_raw: raw,
                    beat_chroma: vec![0.5; 16 * 12],
                    beat_mfcc: vec![1.0; 16 * 20],
                    beat_onset: vec![0.1; 16 * 7],
                },
                audio: PhraseAudio::from_f32(
                    44_100,
                    2,
                    &vec![0.25; 2 * 44_100 * seconds_each],
                    i as u64,
                ),
                mel: PhraseMel {
                    context_frames: 0,
                    frames: vec![-3.0; N_MELS * 96 * seconds_each],
                },
            }
        })
        .collect();
    TrackBundle {
        record: TrackRecord {
            path: path.into(),
            content_hash: format!("{base}"),
            file_size: 1,
            duration: (n * seconds_each) as f64,
            source_sample_rate: 44_100,
            source_channels: 2,
            tempo: 120.0,
            tempo_confidence: 0.9,
            key: "C major".into(),
            key_confidence: 0.8,
            beats_per_bar: 4,
            analysis_version: 1,
            phrases: Vec::new(),
        },
        grid: BeatGrid { beats: vec![0.0, 0.5], downbeats: vec![0.0] },
        phrases,
    }
}

#[test]
fn tracks_round_trip_replace_and_remove_with_a_consistent_index() {
    let dir = temp_dir("round-trip");
    let params = IndexParams::default();
    let mut db = Database::create(&dir).unwrap();
    let a = db.put_track(&bundle("/lib/a.wav", 3, 0.0, 2)).unwrap();
    let b = db.put_track(&bundle("/lib/b.wav", 4, 10.0, 2)).unwrap();
    assert!(!db.index_is_fresh().unwrap());
    assert!(db.check().unwrap().is_ok());
    assert_eq!(db.check().unwrap().notes.len(), 1, "a stale index is noted");
    assert!(db.refresh_index(&params).unwrap());
    assert!(!db.refresh_index(&params).unwrap(), "nothing changed, nothing rebuilt");
    let report = db.check().unwrap();
    assert!(report.is_ok() && report.notes.is_empty(), "{report:?}");
    assert_eq!((report.tracks, report.phrases), (2, 7));
    drop(db);

    // Reopened for reading: everything is there.
    let db = Database::open(&dir).unwrap();
    let rtxn = db.read_txn().unwrap();
    let track_b = db.track(&rtxn, b).unwrap().unwrap();
    assert_eq!(track_b.phrases.len(), 4);
    let first = track_b.phrases[0];
    let phrase = db.phrase(&rtxn, first).unwrap().unwrap();
    assert_eq!(phrase.track, b);
    let stored = bundle("/lib/b.wav", 4, 10.0, 2);
    assert_eq!(db.phrase_audio(&rtxn, first).unwrap().unwrap(), stored.phrases[0].audio);
    assert_eq!(db.phrase_mel(&rtxn, first).unwrap().unwrap(), stored.phrases[0].mel);
    drop(rtxn);

    // The nearest phrase to b's first is b's second (the next offset), never itself.
    let hits = db.query(&Query::Phrase(first), 3, GroupWeights::default(), &params).unwrap();
    assert_eq!(hits.len(), 3);
    assert!(hits.iter().all(|h| h.phrase != first));
    assert_eq!(hits[0].phrase, first + 1);
    assert!(hits.windows(2).all(|w| w[0].distance <= w[1].distance));
    drop(db);

    // Re-analysing a.wav replaces its phrases; removing b drops its phrases.
    let mut db = Database::create(&dir).unwrap();
    let a2 = db.put_track(&bundle("/lib/a.wav", 2, 5.0, 2)).unwrap();
    assert_ne!(a, a2);
    db.remove_track(b).unwrap();
    let rtxn = db.read_txn().unwrap();
    assert!(db.track(&rtxn, a).unwrap().is_none());
    assert_eq!(db.tracks(&rtxn).unwrap().len(), 1);
    assert_eq!(db.phrases(&rtxn).unwrap().len(), 2);
    drop(rtxn);
    // Before the rebuild, queries skip phrases that no longer exist.
    let phrase_ids: Vec<u32> = {
        let rtxn = db.read_txn().unwrap();
        db.phrases(&rtxn).unwrap().into_iter().map(|(id, _)| id).collect()
    };
    let hits =
        db.query(&Query::Phrase(phrase_ids[0]), 5, GroupWeights::default(), &params).unwrap();
    assert!(hits.iter().all(|h| phrase_ids.contains(&h.phrase)), "{hits:?}");
    assert!(db.refresh_index(&params).unwrap());
    let report = db.check().unwrap();
    assert!(report.is_ok() && report.notes.is_empty(), "{report:?}");
    assert_eq!((report.tracks, report.phrases), (1, 2));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_map_grows_instead_of_failing() {
    let dir = temp_dir("grow");
    let mut db = Database::create_with_map(&dir, 1 << 20).unwrap();
    let (_, first_map) = db.size().unwrap();
    // ~1.8 MB per track (two 4-s phrases of 44.1 kHz stereo 16-bit plus log-mel), 8 tracks.
    for i in 0..8 {
        db.put_track(&bundle(&format!("/lib/{i}.wav"), 2, i as f32, 4)).unwrap();
    }
    db.refresh_index(&IndexParams::default()).unwrap();
    let (used, map) = db.size().unwrap();
    assert!(map >= 8 * first_map && used > 12 << 20, "map {first_map} -> {map}, used {used}");
    assert!(db.check().unwrap().is_ok());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_folder_that_is_not_a_database_says_what_to_do() {
    let dir = temp_dir("missing");
    let err = Database::open(&dir).unwrap_err().to_string();
    assert!(err.contains("memsynth analyze"), "{err}");
}
