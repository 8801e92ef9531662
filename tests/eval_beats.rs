//! The beat metrics against mir_eval's own regression data: ten reference/estimate pairs and
//! the scores `mir_eval.beat.evaluate` gives for them (`outputNN.json`), from mir_eval's
//! repository (`tests/data/beat/`), kept in `../shared/data/mir_eval_beat/`.
//!
//! Every score must agree within 1e-6, the tolerance of mir_eval's own test.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use memsynth::eval::beats::{self, F_MEASURE_WINDOW, MIN_BEAT_TIME};
use memsynth::eval::match_events;

const TOLERANCE: f64 = 1e-6;

fn data_dir() -> Option<PathBuf> {
    let dir =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/mir_eval_beat/tests/data/beat");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("note: {} is absent; skipping the mir_eval comparison", dir.display());
        None
    }
}

/// mir_eval's `io.load_events`: one time per line, lines starting with `#` skipped.
fn load_events(path: &Path) -> Vec<f64> {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(|line| {
            line.trim().parse().unwrap_or_else(|e| panic!("{}: {line:?}: {e}", path.display()))
        })
        .collect()
}

fn load_case(dir: &Path, i: usize) -> (Vec<f64>, Vec<f64>, BTreeMap<String, f64>) {
    let reference = load_events(&dir.join(format!("ref{i:02}.txt")));
    let estimated = load_events(&dir.join(format!("est{i:02}.txt")));
    let path = dir.join(format!("output{i:02}.json"));
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let expected =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (reference, estimated, expected)
}

#[test]
fn evaluate_matches_mir_eval_outputs() {
    let Some(dir) = data_dir() else { return };
    // Largest |ours - mir_eval| per metric over the ten cases.
    let mut worst: BTreeMap<String, f64> = BTreeMap::new();
    let mut failures = Vec::new();
    for i in 0..10 {
        let (reference, estimated, expected) = load_case(&dir, i);
        let scores = beats::evaluate(&reference, &estimated).unwrap();
        // BeatScores serializes with mir_eval's key names.
        let ours: BTreeMap<String, f64> =
            serde_json::from_value(serde_json::to_value(scores).unwrap()).unwrap();
        assert_eq!(
            ours.keys().collect::<Vec<_>>(),
            expected.keys().collect::<Vec<_>>(),
            "case {i}: metric names differ from mir_eval's"
        );
        for (name, &theirs) in &expected {
            let diff = (ours[name] - theirs).abs();
            let entry = worst.entry(name.clone()).or_insert(0.0);
            *entry = entry.max(diff);
            if diff > TOLERANCE || diff.is_nan() {
                failures.push(format!("case {i:02} {name}: ours {} mir_eval {theirs}", ours[name]));
            }
        }
    }
    for (name, diff) in &worst {
        eprintln!("{name:>32}: max |diff| {diff:.3e}");
    }
    assert!(failures.is_empty(), "scores differ from mir_eval:\n{}", failures.join("\n"));
}

/// The per-metric functions, called as mir_eval's docs show (trim, then the metric), give
/// what `evaluate` gives.
#[test]
fn metric_functions_agree_with_evaluate() {
    let Some(dir) = data_dir() else { return };
    for i in 0..10 {
        let (reference, estimated, _) = load_case(&dir, i);
        let all = beats::evaluate(&reference, &estimated).unwrap();
        let r = beats::trim_beats(&reference, MIN_BEAT_TIME);
        let e = beats::trim_beats(&estimated, MIN_BEAT_TIME);
        assert_eq!(beats::f_measure(&r, &e, F_MEASURE_WINDOW).unwrap(), all.f_measure);
        let continuity = beats::continuity(&r, &e, 0.175, 0.175).unwrap();
        assert_eq!(
            (continuity.cmlc, continuity.cmlt, continuity.amlc, continuity.amlt),
            (all.cmlc, all.cmlt, all.amlc, all.amlt)
        );
        assert_eq!(beats::information_gain(&r, &e, 41).unwrap(), all.information_gain);
    }
}

/// A matching is valid (each event once, every pair within the window) and no greedy pass
/// finds more pairs, on the real beat lists.
#[test]
fn matching_is_valid_and_maximal_on_mir_eval_data() {
    let Some(dir) = data_dir() else { return };
    for i in 0..10 {
        let (reference, estimated, _) = load_case(&dir, i);
        let pairs = match_events(&reference, &estimated, F_MEASURE_WINDOW);
        let mut used_ref = vec![false; reference.len()];
        let mut used_est = vec![false; estimated.len()];
        for &(r, e) in &pairs {
            assert!(!used_ref[r] && !used_est[e], "case {i}: ({r}, {e}) reuses an event");
            used_ref[r] = true;
            used_est[e] = true;
            assert!((reference[r] - estimated[e]).abs() <= F_MEASURE_WINDOW + 1e-12);
        }
        // On sorted lists, pairing each estimate with the earliest free reference in the
        // window is optimal (an interval scheduling argument), so it bounds the size.
        let mut greedy = 0;
        let mut next = 0;
        for &e in &estimated {
            while next < reference.len() && reference[next] < e - F_MEASURE_WINDOW {
                next += 1;
            }
            if next < reference.len() && reference[next] <= e + F_MEASURE_WINDOW {
                greedy += 1;
                next += 1;
            }
        }
        assert_eq!(pairs.len(), greedy, "case {i}");
    }
}

#[test]
fn downbeat_f_measure_is_the_beat_f_measure_on_downbeats() {
    // Bars of four at 120 bpm from 5 s; the tracker finds the downbeats 30 ms late and
    // adds one spurious downbeat mid-bar.
    let reference: Vec<f64> = (0..20).map(|bar| 5.0 + 2.0 * bar as f64).collect();
    let mut estimated: Vec<f64> = reference.iter().map(|t| t + 0.03).collect();
    estimated.insert(5, 14.0);
    let f = beats::downbeat_f_measure(&reference, &estimated, F_MEASURE_WINDOW).unwrap();
    // 20 of 21 estimates correct, all 20 references found.
    let (precision, recall) = (20.0 / 21.0, 1.0);
    assert!((f - 2.0 * precision * recall / (precision + recall)).abs() < 1e-12, "{f}");
}
