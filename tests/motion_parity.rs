//! The Rust motion encoder against the training package's NumPy port
//! (`training/memsynth_train/motion.py`), on the same sensor stream: the project's rule that
//! training and inference share one feature standard.
//!
//! Fixture: `tests/fixtures/motion/motion_parity.json`, made by
//! `tests/fixtures/motion/make_motion_fixture.py` (a synthetic phone stream in memsynth's own
//! `/motion/*` format, four bars to encode at different tempos, one only partly filled, and
//! Python's e_motion for each). The readings go through [`MotionInput`] — sensor state, the
//! 100 Hz sample-and-hold grid and the encoder — as the server and `render --motion` use it.
//!
//! Tolerance, per value: `1e-5 + 1e-4 × |python|`. Both sides start from the same f32
//! readings and keep the same precision at each step (f32 grid, resampling and
//! zero-crossing test; f64 sums), so the statistics (mean, deviation, range, jerk) differ
//! only by summation order, ~1e-7 relative. The spectral ratios and frequencies come from a
//! 256-point FFT in f32 here (realfft) and f64 there (NumPy): the f32 FFT's error is about
//! log2(256) × 6e-8 ≈ 5e-7 of the bar's energy, and a ratio of sums of such powers moves
//! by a few 1e-6. The margin is ~10× that. The discrete features — the dominant bin and
//! the zero-crossing count — must be equal: the fixture script refuses a stream with a
//! near tie between two bins or a value within 1e-4 of the mean.

use memsynth::motion::{CHANNEL_NAMES, encoder::feature};
use memsynth::motion::{E_MOTION_DIMS, FEATURE_NAMES, FEATURES, MotionInput, NormalizerConfig};
use memsynth::osc::{MotionKind, MotionSample, Sender};
use serde_json::Value;

fn fixture() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/motion/motion_parity.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("the motion fixture")).unwrap()
}

fn reading(row: &Value) -> (u64, MotionSample) {
    let row = row.as_array().unwrap();
    let at = row[0].as_u64().unwrap();
    let kind = match row[1].as_u64().unwrap() {
        0 => MotionKind::Accel,
        1 => MotionKind::Gyro,
        2 => MotionKind::Gravity,
        3 => MotionKind::Attitude,
        k => panic!("kind {k}"),
    };
    // Thousandths → f32 exactly as the script does: one correctly rounded f32 division.
    let v = |i: usize| row[2 + i].as_i64().unwrap() as f32 / 1000.0;
    let values = [v(0), v(1), v(2), 0.0];
    (at, MotionSample { sender: Sender::Memsynth, kind, values, len: 3 })
}

#[test]
fn rust_encoder_matches_the_training_encoder() {
    let f = fixture();
    let rate = f["rate"].as_u64().unwrap() as u32;
    let readings: Vec<(u64, MotionSample)> =
        f["readings"].as_array().unwrap().iter().map(reading).collect();
    let bars = f["bars"].as_array().unwrap();
    assert!(bars.len() >= 4);
    let mut worst = (0.0f64, String::new());
    for bar in bars {
        let end = bar["end"].as_u64().unwrap();
        let bpm = bar["bpm"].as_f64().unwrap();
        let want: Vec<f32> = bar["e_motion"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap() as f32)
            .collect();
        assert_eq!(want.len(), E_MOTION_DIMS);
        let mut input = MotionInput::new(rate, NormalizerConfig::default());
        for (at, sample) in readings.iter().filter(|(at, _)| *at < end) {
            input.push(*at, sample);
        }
        assert!(input.encode(end, bpm).is_some(), "bar ending {end} at {bpm} BPM");
        let got = input.raw();
        for (d, (&g, &w)) in got.iter().zip(&want).enumerate() {
            let name = format!(
                "{}.{} (bar ending {end} at {bpm} BPM)",
                CHANNEL_NAMES[d / FEATURES],
                FEATURE_NAMES[d % FEATURES]
            );
            if matches!(d % FEATURES, feature::DOMINANT_FREQ | feature::ZERO_CROSSINGS) {
                assert_eq!(g, w, "{name}: Rust {g}, Python {w}");
                continue;
            }
            let err = f64::from((g - w).abs());
            let tol = 1e-5 + 1e-4 * f64::from(w.abs());
            assert!(err <= tol, "{name}: Rust {g}, Python {w}, |Δ| {err:e} > {tol:e}");
            let rel = err / (1e-5 + 1e-4 * f64::from(w.abs()));
            if rel > worst.0 {
                worst = (rel, format!("{name}: |Δ| {err:e}"));
            }
        }
    }
    eprintln!("largest difference, as a share of its tolerance: {:.3} ({})", worst.0, worst.1);
}
