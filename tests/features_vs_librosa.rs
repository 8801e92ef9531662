//! The feature standard against librosa, on closed-form signals and real clips.
//!
//! Reference values come from `tests/fixtures/make_feature_fixtures.py` (librosa in float64
//! on the very samples analysed here). Each tolerance is explained where it is set.

use std::f64::consts::PI;
use std::path::{Path, PathBuf};

use memsynth::dsp::{Chroma, FeatureExtractor, Features, FrameMatrix, N_BINS, SAMPLE_RATE};
use safetensors::SafeTensors;

const SR: usize = SAMPLE_RATE as usize;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/features")
}

fn shared_data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data")
}

/// The closed-form signals of the fixture script, built the same way (f64, then f32).
fn closed_form(name: &str) -> Vec<f32> {
    let n = 2 * SR;
    let sine = |f: f64, i: usize| (2.0 * PI * f * i as f64 / SR as f64).sin();
    match name {
        "sine_1k" => (0..n).map(|i| (0.5 * sine(1000.0, i)) as f32).collect(),
        "a_minor_triad" => (0..n)
            .map(|i| [220.0, 261.63, 329.63].iter().map(|f| 0.2 * sine(*f, i)).sum::<f64>() as f32)
            .collect(),
        "clicks_128bpm" => {
            let mut y = vec![0.0f64; 4 * SR];
            // numpy.hanning(120): the symmetric Hann window.
            let burst: Vec<f64> = (0..120)
                .map(|i| (0.5 - 0.5 * (2.0 * PI * i as f64 / 119.0).cos()) * sine(2000.0, i))
                .collect();
            for k in 0..9 {
                let start = (k as f64 * 60.0 / 128.0 * SR as f64).round() as usize;
                for (j, b) in burst.iter().enumerate() {
                    if start + j < y.len() {
                        y[start + j] += b;
                    }
                }
            }
            y.into_iter().map(|v| v as f32).collect()
        }
        other => panic!("unknown closed-form case {other}"),
    }
}

fn tensor(st: &SafeTensors, name: &str) -> Vec<f32> {
    let view = st.tensor(name).unwrap_or_else(|e| panic!("fixture has no {name}: {e}"));
    view.data().chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().unwrap())).collect()
}

/// Largest absolute difference, and where.
fn max_abs_diff(ours: &[f32], theirs: &[f32]) -> (f32, usize) {
    assert_eq!(ours.len(), theirs.len(), "lengths differ");
    ours.iter()
        .zip(theirs)
        .map(|(a, b)| (a - b).abs())
        .enumerate()
        .fold((0.0, 0), |best, (i, d)| if d > best.0 { (d, i) } else { best })
}

struct Check<'a> {
    case: &'a str,
    failures: Vec<String>,
}

impl Check<'_> {
    fn close(&mut self, feature: &str, ours: &[f32], theirs: &[f32], tolerance: f32) {
        let (diff, at) = max_abs_diff(ours, theirs);
        println!(
            "{:>15} {feature:>12}: max |diff| {diff:.2e} (tolerance {tolerance:.0e})",
            self.case
        );
        if diff > tolerance || diff.is_nan() {
            self.failures.push(format!(
                "{}: {feature} differs by {diff:.3e} at index {at} (ours {}, librosa {}), tolerance {tolerance:.0e}",
                self.case, ours[at], theirs[at]
            ));
        }
    }
}

fn every_16th_frame(m: &FrameMatrix) -> Vec<f32> {
    (0..m.n_frames()).step_by(16).flat_map(|t| m.frame(t).iter().copied()).collect()
}

fn compare(ours: &Features, st: &SafeTensors, check: &mut Check) {
    // Both sides compute the spectrum in f64 from the same f32 samples and round to f32, so
    // agreement is at f32 precision (measured max differences: log-mel 1e-6, chroma 2e-6,
    // MFCC 2e-3 on values up to ~1500, Hz features 3e-4, contrast 8e-6 dB, onset 4e-6,
    // tempogram 4e-7). Tolerances leave an order of magnitude or more above that.
    // DESIGN.md's bar for log-mel is 1e-3 on the log scale; we hold it to 1e-4.
    check.close("log_mel", ours.log_mel.as_slice(), &tensor(st, "log_mel"), 1e-4);
    check.close("chroma", ours.chroma.as_slice(), &tensor(st, "chroma"), 1e-5);
    // MFCC sums 128 dB values (|c| up to ~1500), so its f32 rounding is ~1e-3 absolute.
    check.close("mfcc", ours.mfcc.as_slice(), &tensor(st, "mfcc"), 1e-2);
    check.close("centroid", &ours.centroid, &tensor(st, "centroid"), 1e-2);
    check.close("bandwidth", &ours.bandwidth, &tensor(st, "bandwidth"), 1e-2);
    // Roll-off is a bin frequency: a frame whose 85 % line falls on a bin edge may round
    // either way, so one bin (23.4 Hz) is allowed; measured: identical.
    check.close("rolloff", &ours.rolloff, &tensor(st, "rolloff"), 23.5);
    check.close("flatness", &ours.flatness, &tensor(st, "flatness"), 1e-6);
    check.close("contrast", ours.contrast.as_slice(), &tensor(st, "contrast"), 1e-3);
    check.close("onset", &ours.onset, &tensor(st, "onset"), 1e-4);
    check.close("onset_bands", ours.onset_bands.as_slice(), &tensor(st, "onset_bands"), 1e-4);
    check.close(
        "tempogram",
        &every_16th_frame(&ours.tempogram),
        &tensor(st, "tempogram_every16"),
        1e-5,
    );
}

#[test]
fn features_match_librosa() {
    let index: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures().join("index.json")).unwrap())
            .unwrap();
    let mut extractor = FeatureExtractor::new();
    let mut failures = Vec::new();
    let mut compared = 0;
    for case in index["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let signal = match case["source"].as_str() {
            None => closed_form(name),
            Some(rel) => {
                let path = shared_data().join(rel);
                if !path.exists() {
                    println!("{name}: {} is absent, case skipped", path.display());
                    continue;
                }
                let start = case["start"].as_f64().unwrap();
                let duration = case["duration"].as_f64().unwrap();
                memsynth::audio::load_segment(&path, start, duration).unwrap()
            }
        };
        let bytes = std::fs::read(fixtures().join(format!("{name}.safetensors"))).unwrap();
        let st = SafeTensors::deserialize(&bytes).unwrap();
        // Same input as the reference, or the comparison means nothing.
        let head = tensor(&st, "input_head");
        let energy = tensor(&st, "input_energy")[0] as f64;
        let ours_energy: f64 = signal.iter().map(|x| (*x as f64).powi(2)).sum();
        assert_eq!(signal.len(), case["samples"].as_u64().unwrap() as usize, "{name}: length");
        assert!(
            max_abs_diff(&signal[..head.len()], &head).0 < 1e-6
                && (ours_energy - energy).abs() <= 1e-4 * energy.max(1e-9),
            "{name}: the decoded input differs from the fixture's; if decoding changed on purpose, \
             regenerate with tests/fixtures/make_feature_fixtures.py"
        );
        let features = extractor.compute(&signal);
        let mut check = Check { case: name, failures: Vec::new() };
        compare(&features, &st, &mut check);
        failures.extend(check.failures);
        compared += 1;
    }
    assert!(compared >= 3, "only {compared} cases compared");
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn chroma_filterbank_matches_librosa() {
    let bytes = std::fs::read(fixtures().join("filterbanks.safetensors")).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let theirs = tensor(&st, "chroma_filterbank");
    assert_eq!(theirs.len(), 12 * N_BINS);
    let (diff, at) = max_abs_diff(&Chroma::new().to_dense(), &theirs);
    assert!(diff < 1e-6, "chroma weight {at} differs by {diff}");
}
