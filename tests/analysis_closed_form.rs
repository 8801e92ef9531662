//! The whole analysis on signals whose answer is known by construction: click tracks at
//! several tempi, a tempo ramp, silence, a single held note.

use std::f64::consts::PI;

use memsynth::analysis::phrases::PhraseOptions;
use memsynth::analysis::track::{TrackAnalysis, analyze};
use memsynth::dsp::{FeatureExtractor, SAMPLE_RATE};
use memsynth::eval::beats::{evaluate, f_measure};

const SR: f64 = SAMPLE_RATE as f64;

/// A click (a 5 ms, 2 kHz Hann-shaped burst) at each time, louder on every fourth.
fn clicks(times: &[f64], seconds: f64) -> Vec<f32> {
    let mut y = vec![0.0f32; (seconds * SR) as usize];
    for (k, t) in times.iter().enumerate() {
        let start = (t * SR).round() as usize;
        let gain = if k % 4 == 0 { 0.9 } else { 0.5 };
        for j in 0..120 {
            if let Some(s) = y.get_mut(start + j) {
                let w = 0.5 - 0.5 * (2.0 * PI * j as f64 / 119.0).cos();
                *s += (gain * w * (2.0 * PI * 2000.0 * j as f64 / SR).sin()) as f32;
            }
        }
    }
    y
}

fn run(audio: &[f32]) -> TrackAnalysis {
    analyze(audio, &mut FeatureExtractor::new(), &PhraseOptions::default()).expect("analysis runs")
}

#[test]
fn click_tracks_at_several_tempi() {
    for bpm in [72.0, 96.0, 128.0, 150.0, 174.0] {
        let period = 60.0 / bpm;
        let truth: Vec<f64> =
            (0..).map(|k| 0.5 + k as f64 * period).take_while(|t| *t < 39.0).collect();
        let analysis = run(&clicks(&truth, 40.0));
        assert!((analysis.tempo / bpm - 1.0).abs() < 0.02, "{bpm} BPM heard as {}", analysis.tempo);
        let f = f_measure(&truth, &analysis.beats, 0.07).unwrap();
        assert!(f > 0.98, "{bpm} BPM: beat F {f}");
        // Accented every fourth click: those are the downbeats.
        let downbeats: Vec<f64> = truth.iter().step_by(4).copied().collect();
        let fd = f_measure(&downbeats, &analysis.downbeats, 0.07).unwrap();
        assert!(fd > 0.95, "{bpm} BPM: downbeat F {fd}");
        assert!(analysis.four_four);
    }
}

#[test]
fn a_gentle_tempo_ramp_is_followed() {
    // 110 → 125 BPM over a minute: the beat period shrinks linearly.
    let mut truth = vec![0.5];
    while *truth.last().unwrap() < 60.0 {
        let t = *truth.last().unwrap();
        let bpm = 110.0 + 15.0 * t / 60.0;
        truth.push(t + 60.0 / bpm);
    }
    let analysis = run(&clicks(&truth, 61.0));
    let scores = evaluate(&truth, &analysis.beats).unwrap();
    assert!(scores.f_measure > 0.9, "F {} on a ramp", scores.f_measure);
}

#[test]
fn silence_has_no_beats_and_says_so() {
    let analysis = run(&vec![0.0; 10 * SAMPLE_RATE as usize]);
    assert!(analysis.beats.is_empty(), "{:?}", analysis.beats);
    assert!(analysis.tempo_confidence < 0.1);
    assert!(analysis.phrases.is_empty());
}

#[test]
fn a_single_held_note_does_not_invent_a_groove() {
    let n = 12 * SAMPLE_RATE as usize;
    let note: Vec<f32> = (0..n)
        .map(|i| {
            let t = i as f64 / SR;
            let attack = (t / 0.01).min(1.0);
            (0.4 * attack * (2.0 * PI * 440.0 * t).sin()) as f32
        })
        .collect();
    let analysis = run(&note);
    assert!(analysis.tempo_confidence < 0.5, "confidence {}", analysis.tempo_confidence);
    assert!(analysis.beats.len() < 4, "{} beats in a held note", analysis.beats.len());
}
