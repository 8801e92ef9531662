//! `memsynth eval-generated` on the tiny seeded database with the committed tiny models
//! (tests/fixtures/model/models): the table has its four systems and every figure is a
//! finite number in its metric's range; the JSON says the same and is the same on a rerun
//! (the generation is seeded, the analysis deterministic). Skipped, with the reason printed,
//! where ONNX Runtime cannot be loaded (as tests/model_parity.rs).

mod common;

use common::{ok, repo, s, tiny_db};

const SYSTEMS: [&str; 4] = ["generated", "random phrase", "unconditional", "phrase itself"];

/// Metric columns in table order, with their valid ranges.
const RANGES: [(&str, f64, f64); 4] =
    [("beat_f", 0.0, 1.0), ("key", 0.0, 1.0), ("key_exact", 0.0, 1.0), ("e_phrase_cos", -1.0, 1.0)];

fn ort_available(test: &str) -> bool {
    match memsynth::model::runtime::init() {
        Ok(_) => true,
        Err(e) => {
            eprintln!("SKIPPED {test}: {e}");
            false
        }
    }
}

fn eval_args<'a>(db: &'a str, models: &'a str) -> Vec<&'a str> {
    vec![
        "eval-generated",
        "--db",
        db,
        "--models",
        models,
        "--phrases",
        "2",
        "--steps",
        "2",
        "--threads",
        "1",
    ]
}

fn in_range(what: &str, x: f64, lo: f64, hi: f64) {
    assert!(
        x.is_finite() && (lo - 1e-9..=hi + 1e-9).contains(&x),
        "{what} = {x}, not in {lo}..{hi}"
    );
}

#[test]
fn eval_generated_prints_a_table_of_finite_scores_and_the_same_json_twice() {
    if !ort_available("eval_generated_prints_a_table_of_finite_scores_and_the_same_json_twice") {
        return;
    }
    let db = tiny_db();
    let models = repo().join("tests/fixtures/model/models");
    let args = eval_args(s(db), s(&models));

    let table = ok(&args);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 2 + SYSTEMS.len(), "{table}");
    assert!(lines[0].starts_with("2 held-back phrases (0 10)"), "{table}");
    for (line, system) in lines[2..].iter().zip(SYSTEMS) {
        assert!(line.starts_with(system), "{line}");
        let cells: Vec<&str> = line[system.len()..].split_whitespace().collect();
        // mean ± sd per metric, then the count of clips without beats.
        assert_eq!(cells.len(), 3 * RANGES.len() + 1, "{line}");
        for (k, (name, lo, hi)) in RANGES.iter().enumerate() {
            assert_eq!(cells[3 * k + 1], "±", "{line}");
            let mean: f64 = cells[3 * k].parse().unwrap();
            let sd: f64 = cells[3 * k + 2].parse().unwrap();
            in_range(&format!("{system} {name} mean"), mean, *lo, *hi);
            in_range(&format!("{system} {name} sd"), sd, 0.0, hi - lo);
        }
        let no_beats: usize = cells[3 * RANGES.len()].parse().unwrap();
        assert!(no_beats <= 2, "{line}");
    }

    let mut json_args = args.clone();
    json_args.push("--json");
    let first = ok(&json_args);
    assert_eq!(first, ok(&json_args), "the same seed gives the same report");
    let report: serde_json::Value = serde_json::from_str(&first).unwrap();
    let phrases = report["phrases"].as_array().unwrap();
    assert_eq!(phrases.len(), 2);
    for row in phrases {
        assert_eq!(row["phrase"].as_u64().unwrap() % 10, 0, "held back: ids multiple of 10");
        assert_ne!(row["random_phrase"], row["phrase"]);
        let scores = row["scores"].as_array().unwrap();
        assert_eq!(scores.len(), SYSTEMS.len());
        for (score, system) in scores.iter().zip(SYSTEMS) {
            for (name, lo, hi) in RANGES {
                in_range(&format!("{system} {name}"), score[name].as_f64().unwrap(), lo, hi);
            }
        }
    }
    let summary = report["summary"].as_array().unwrap();
    let names: Vec<&str> = summary.iter().map(|s| s["system"].as_str().unwrap()).collect();
    assert_eq!(names, SYSTEMS);
    // The table shows the JSON's means.
    for (line, entry) in lines[2..].iter().zip(summary) {
        let mean = entry["beat_f"]["mean"].as_f64().unwrap();
        assert!(line.contains(&format!("{mean:.3} ±")), "{line} vs {entry}");
    }
}
