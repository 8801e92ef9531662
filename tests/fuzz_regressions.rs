//! Every input the fuzzers (fuzz/, `fuzz/run.sh`) ever crashed on, replayed through the
//! same target bodies (fuzz/src/lib.rs), plus the seed corpora, so a fixed crash stays
//! fixed without libFuzzer. A new crash: copy `fuzz/artifacts/TARGET/crash-…` to
//! `fuzz/regressions/TARGET/` with a name that says what it was, fix it, and add a line
//! below if the input says more as bytes than as a file.

use std::path::{Path, PathBuf};

#[allow(dead_code)] // shared with the fuzz crate, which uses every function
#[path = "../fuzz/src/lib.rs"]
mod targets;

fn files(dir: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && p.file_name().is_none_or(|n| n != ".gitkeep"))
        .collect();
    files.sort();
    files
}

fn replay(dir: &str, target: fn(&[u8])) -> usize {
    let files = files(dir);
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        let run = std::panic::catch_unwind(|| target(&bytes));
        assert!(run.is_ok(), "{} panics again", file.display());
    }
    files.len()
}

#[test]
fn osc_dispatch_regressions_and_seeds() {
    replay("fuzz/regressions/osc_dispatch", targets::osc_dispatch);
    assert!(replay("fuzz/seeds/osc_dispatch", targets::osc_dispatch) >= 30);
}

#[test]
fn patch_parse_regressions_and_seeds() {
    replay("fuzz/regressions/patch_parse", targets::patch_parse);
    assert!(replay("fuzz/seeds/patch_parse", targets::patch_parse) >= 3);
    assert!(replay("patches", targets::patch_parse) >= 1);
}

#[test]
fn patch_seeds_are_what_they_say() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/patch_parse");
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap();
    assert!(memsynth::patch::parse(&read("mapped.ron")).is_ok(), "a valid, full patch");
    assert!(memsynth::patch::parse(&read("invalid.ron")).is_err());
    assert!(memsynth::patch::parse(&read("syntax.ron")).is_err());
}
