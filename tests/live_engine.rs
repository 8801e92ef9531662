//! The live engine end to end, offline: the conductor schedules synthetic phrases (click
//! tracks over a soft tone, at tempi other than the live one) over 16 bars at 120 BPM; each
//! is stretched to the grid and mixed into a buffer by a virtual-clock owner loop, the way
//! the actors and the offline renderer drive the same code.

use std::collections::VecDeque;
use std::f64::consts::TAU;
use std::sync::Arc;

use memsynth::db::Query;
use memsynth::live::conductor::{
    Action, Candidate, Conductor, ConductorConfig, Event, Late, Source,
};
use memsynth::live::mixer::Mixer;
use memsynth::live::stretch::{SourceAudio, fit_to_bars};
use memsynth::live::transport::{BEATS_PER_BAR, Tempo, Transport};

const RATE: u32 = 48_000;
const BLOCK: usize = 512;
const BARS: u64 = 16;
const BAR: u64 = 96_000; // 120 BPM at 48 kHz
const BEAT: u64 = BAR / 4;

/// A library phrase (id = index + 1): 44.1 kHz mono, 4 bars of clicks at `tempo` over a 110-Hz tone.
struct Phrase {
    tempo: f64,
    samples: Vec<f32>,
    beats: Vec<f64>,
}

fn phrase(tempo: f64) -> Phrase {
    let rate = 44_100.0;
    let period = 60.0 / tempo;
    let n_beats = 16;
    let len = (n_beats as f64 * period * rate).round() as usize;
    let mut samples: Vec<f32> =
        (0..len).map(|i| (0.1 * (TAU * 110.0 * i as f64 / rate).sin()) as f32).collect();
    let beats: Vec<f64> = (0..=n_beats).map(|i| i as f64 * period).collect();
    for t in &beats[..n_beats] {
        let at = (t * rate).round() as usize;
        for k in 0..88 {
            let s = k as f64 / rate;
            let v = 0.7 * (TAU * 2000.0 * s).sin() * (-s / 0.0005).exp();
            samples[at + k] += v as f32;
        }
    }
    Phrase { tempo, samples, beats }
}

/// Everything one run produced.
#[derive(Debug, PartialEq)]
struct Run {
    audio: Vec<f32>,
    actions: Vec<String>,
    events: Vec<Event>,
}

/// The owner loop: tick per block, answer requests from a fixed table (the second one
/// 4.5 bars late, past its bar line), prepare by stretching, schedule, render.
fn run() -> Run {
    let library: Vec<Phrase> = [100.0, 110.0, 130.0, 140.0].map(phrase).into();
    let tempo = Tempo::from_bpm(120.0).unwrap();
    let mut transport = Transport::new(RATE, tempo);
    transport.play(0);
    let mut conductor =
        Conductor::new(ConductorConfig { seed: 42, ..Default::default() }, transport);
    conductor.set_query(Query::Raw(vec![0.0; 256]));
    let mut mixer = Mixer::new(RATE);

    let total = (BARS * BAR) as usize;
    let mut audio = vec![0.0f32; 2 * total];
    let mut log = Vec::new();
    let mut events = Vec::new();
    let mut requests = 0;
    let mut delayed: Option<(u64, u64)> = None; // (answer at sample, ticket)
    let answer = |ticket| {
        let table = [(1, 0.10), (2, 0.11), (3, 0.12), (4, 0.13)];
        let cands: Vec<Candidate> = table
            .iter()
            .map(|&(id, distance)| Candidate {
                phrase_id: id,
                distance,
                bars: 4,
                tempo: library[id as usize - 1].tempo,
            })
            .collect();
        (ticket, cands)
    };

    for (b, block) in audio.chunks_mut(2 * BLOCK).enumerate() {
        let now = (b * BLOCK) as u64;
        let mut queue: VecDeque<Action> = conductor.tick(now).into();
        if let Some((at, ticket)) = delayed
            && now >= at
        {
            delayed = None;
            let (t, c) = answer(ticket);
            queue.extend(conductor.on_candidates(now, t, c));
        }
        while let Some(action) = queue.pop_front() {
            log.push(match &action {
                Action::Schedule { voice, fade_out } => format!(
                    "schedule voice {} at {} offset {} fade-in {} fade-out {:?}",
                    voice.id, voice.start, voice.offset, voice.fade_in, fade_out
                ),
                other => format!("{other:?}"),
            });
            match action {
                Action::Request { ticket, .. } => {
                    requests += 1;
                    if requests == 2 {
                        delayed = Some((now + BAR * 9 / 2, ticket));
                    } else {
                        let (t, c) = answer(ticket);
                        queue.extend(conductor.on_candidates(now, t, c));
                    }
                }
                Action::Prepare { ticket, phrase_id, bars, tempo, .. } => {
                    let p = &library[phrase_id as usize - 1];
                    assert_eq!(usize::from(bars) * BEATS_PER_BAR as usize, p.beats.len() - 1);
                    let src = SourceAudio { sample_rate: 44_100, channels: 1, samples: &p.samples };
                    let fitted =
                        fit_to_bars(&src, &p.beats, RATE, 2, tempo, BEATS_PER_BAR).unwrap();
                    let fitted: Arc<[f32]> = fitted.into();
                    queue.extend(conductor.on_prepared(now, ticket, Source::Retrieved, fitted));
                }
                Action::Schedule { voice, fade_out } => {
                    if let Some((id, fade)) = fade_out {
                        assert!(mixer.fade_out(id, fade), "voice {id} should still play");
                    }
                    mixer.add(voice).unwrap();
                }
                Action::Event(e) => events.push(e),
            }
        }
        mixer.process(now, block);
        drop(mixer.take_retired());
    }
    Run { audio, actions: log, events }
}

#[test]
fn sixteen_bars_on_the_grid_never_silent_and_reproducible() {
    let a = run();

    // The owner answers at once, so the first phrase starts on bar 0; the second answer
    // comes after bar 4's line, which the first phrase fills by playing on, and its phrase
    // starts on bar 5.
    let starts: Vec<u64> = a
        .events
        .iter()
        .filter_map(|e| match e {
            Event::PhraseStarts { bar, .. } => Some(*bar),
            _ => None,
        })
        .collect();
    assert_eq!(starts[..4], [0, 5, 9, 13], "{:?}", a.events);
    assert!(
        a.events.iter().any(|e| matches!(
            e,
            Event::Extended { bar: 4, phrase_id: Some(_), reason: Late::Candidates }
        )),
        "{:?}",
        a.events
    );

    // No silent block after the first bar.
    for (b, block) in a.audio.chunks(2 * BLOCK).enumerate() {
        let start = (b * BLOCK) as u64;
        if start < BAR {
            continue;
        }
        let rms = (block.iter().map(|v| v * v).sum::<f32>() / block.len() as f32).sqrt();
        assert!(rms > 0.02, "block at {start} is silent (RMS {rms})");
    }

    // A click on every beat from bar 1 on, within 2 ms of the grid: the loudest sample
    // within ±20 ms of each beat is the click.
    let left: Vec<f32> = a.audio.iter().step_by(2).copied().collect();
    for beat in (BAR / BEAT)..(BARS * BAR / BEAT) {
        let grid = (beat * BEAT) as usize;
        let (lo, hi) = (grid - 960, (grid + 960).min(left.len()));
        let (at, peak) = (lo..hi)
            .map(|i| (i, left[i].abs()))
            .fold((lo, 0.0f32), |m, x| if x.1 > m.1 { x } else { m });
        assert!(peak > 0.3, "beat {beat}: no click ({peak})");
        let err_ms = (at as f64 - grid as f64).abs() / 48.0;
        assert!(err_ms <= 2.0, "beat {beat}: click {err_ms:.2} ms off the grid");
    }

    // The same inputs give the same bytes and the same decisions.
    let b = run();
    assert_eq!(a.actions, b.actions);
    assert_eq!(a.events, b.events);
    assert!(a.audio.iter().zip(&b.audio).all(|(x, y)| x.to_bits() == y.to_bits()));
}
