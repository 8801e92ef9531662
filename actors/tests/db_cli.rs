//! `memsynth analyze` and `memsynth db …` as a person runs them: a tiny seeded library with a
//! broken file in it, re-runs, `kill -9` in the middle of a build, queries.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{ok, s};
use memsynth::db::Database;

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("memsynth-dbcli-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn library(root: &Path, tracks: usize, seed: u64) -> PathBuf {
    let lib = root.join("library");
    ok(&[
        "demo-library",
        "--out",
        lib.to_str().unwrap(),
        "--tracks",
        &tracks.to_string(),
        "--seed",
        &seed.to_string(),
    ]);
    lib
}

/// The state a snapshot compares: what a person would notice if it changed.
fn snapshot(db: &Path) -> String {
    let db = Database::open(db).unwrap();
    let rtxn = db.read_txn().unwrap();
    let mut lines = Vec::new();
    for (_, t) in db.tracks(&rtxn).unwrap() {
        let name = Path::new(&t.path).file_name().unwrap().to_string_lossy().into_owned();
        let bars: Vec<String> = t
            .phrases
            .iter()
            .map(|p| db.phrase(&rtxn, *p).unwrap().unwrap().bars.to_string())
            .collect();
        lines.push(format!(
            "{name}: {:.0} BPM, {}, {}/4, {:.1} s at {} Hz × {}, phrases [{}]",
            t.tempo,
            t.key,
            t.beats_per_bar,
            t.duration,
            t.source_sample_rate,
            t.source_channels,
            bars.join(" ")
        ));
    }
    // By name, not id: parallel workers finish in any order.
    lines.sort();
    lines.join("\n") + "\n"
}

#[test]
fn analyze_builds_skips_broken_files_reruns_incrementally_and_answers_queries() {
    let root = scratch("build");
    let lib = library(&root, 2, 3);
    std::fs::write(lib.join("broken.wav"), b"this is not audio").unwrap();
    std::fs::write(lib.join("notes.txt"), b"set list").unwrap();
    let db = root.join("db");

    let out = ok(&["analyze", s(&lib), "--db", s(&db), "--jobs", "2", "--quiet"]);
    assert!(out.contains("2 analysed, 0 unchanged, 0 moved, 0 removed, 1 skipped"), "{out}");
    assert!(out.contains("skipped") && out.contains("broken.wav"), "{out}");
    assert!(out.contains("1 .txt"), "{out}");
    assert!(ok(&["db", "check", "--db", s(&db)]).contains("consistent"));

    // The state of the database, against the snapshot kept beside this test.
    let state = snapshot(&db);
    let expected_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/tiny_db.txt");
    if std::env::var_os("MEMSYNTH_UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&expected_path, &state).unwrap();
    }
    let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
    assert_eq!(
        state, expected,
        "the tiny library's database changed; if the analysis improved on purpose, rerun with \
         MEMSYNTH_UPDATE_SNAPSHOTS=1 and commit tests/snapshots/tiny_db.txt"
    );

    // Nothing changed: nothing analysed.
    let out = ok(&["analyze", s(&lib), "--db", s(&db), "--quiet"]);
    assert!(out.contains("0 analysed, 2 unchanged"), "{out}");

    // A moved file keeps its analysis; a removed one is dropped.
    let wavs: Vec<PathBuf> = {
        let mut v: Vec<PathBuf> = std::fs::read_dir(&lib)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "wav") && !p.ends_with("broken.wav"))
            .collect();
        v.sort();
        v
    };
    std::fs::create_dir_all(lib.join("moved")).unwrap();
    std::fs::rename(&wavs[0], lib.join("moved/first.wav")).unwrap();
    let out = ok(&["analyze", s(&lib), "--db", s(&db), "--quiet"]);
    assert!(out.contains("0 analysed, 1 unchanged, 1 moved, 0 removed"), "{out}");

    // Queries by phrase and by audio, as JSON.
    let stats: serde_json::Value =
        serde_json::from_str(&ok(&["db", "stats", "--db", s(&db), "--json"])).unwrap();
    let first = stats["first_phrase"].as_u64().unwrap().to_string();
    let hits: serde_json::Value = serde_json::from_str(&ok(&[
        "db",
        "query",
        "--db",
        s(&db),
        "--phrase",
        &first,
        "-k",
        "3",
        "--json",
    ]))
    .unwrap();
    let hits = hits.as_array().unwrap();
    assert_eq!(hits.len(), 3);
    assert!(hits.iter().all(|h| h["phrase"].as_u64().unwrap().to_string() != first));
    let by_audio: serde_json::Value = serde_json::from_str(&ok(&[
        "db",
        "query",
        "--db",
        s(&db),
        "--audio",
        s(&wavs[1]),
        "-k",
        "2",
        "--weights",
        "1,0,0",
        "--json",
    ]))
    .unwrap();
    assert_eq!(by_audio.as_array().unwrap().len(), 2);

    std::fs::remove_file(&wavs[1]).unwrap();
    let out = ok(&["analyze", s(&lib), "--db", s(&db), "--quiet"]);
    assert!(out.contains("0 analysed, 1 unchanged, 0 moved, 1 removed"), "{out}");
    assert!(ok(&["db", "check", "--db", s(&db)]).contains("consistent"));
    let _ = std::fs::remove_dir_all(root);
}

#[test]
fn kill_9_during_analyze_leaves_a_consistent_database_that_resumes() {
    let root = scratch("kill");
    let lib = library(&root, 3, 11);
    let db = root.join("db");

    // Killed before anything was committed, then again after the first track was.
    for wait_for_tracks in [0, 1] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_memsynth"))
            .args(["analyze", s(&lib), "--db", s(&db), "--jobs", "1", "--quiet"])
            .spawn()
            .unwrap();
        let started = Instant::now();
        loop {
            let tracks = Database::open(&db)
                .ok()
                .and_then(|d| d.read_txn().ok().map(|r| d.tracks(&r).map_or(0, |t| t.len())))
                .unwrap_or(0);
            if tracks >= wait_for_tracks.max(1) || wait_for_tracks == 0 {
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(120), "no track committed");
            std::thread::sleep(Duration::from_millis(20));
        }
        if wait_for_tracks == 0 {
            std::thread::sleep(Duration::from_millis(300));
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        if db.join("data.mdb").exists() {
            let out = ok(&["db", "check", "--db", s(&db)]);
            assert!(out.contains("consistent"), "{out}");
        }
    }
    let before = snapshot(&db);
    assert!(before.lines().count() >= 1, "{before}");

    let out = ok(&["analyze", s(&lib), "--db", s(&db), "--quiet"]);
    let done = before.lines().count();
    assert!(out.contains(&format!("{} analysed, {done} unchanged", 3 - done)), "{out}");
    let after = snapshot(&db);
    assert!(before.lines().all(|l| after.contains(l)), "finished tracks are kept as they were");
    assert_eq!(after.lines().count(), 3);
    let out = ok(&["db", "check", "--db", s(&db)]);
    assert!(out.contains("consistent") && !out.contains("note:"), "{out}");
    let _ = std::fs::remove_dir_all(root);
}
