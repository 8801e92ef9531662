//! `memsynth render` as a person runs it, against a tiny seeded database: reproducible to
//! the byte, never silent once the first phrase is in, exactly N bars long, and a scripted
//! tempo change moves the bar lines from its bar on.

mod common;

use std::path::PathBuf;

use common::{memsynth, ok, s, tiny_db};
use memsynth::live::transport::Tempo;

const RATE: u64 = 48_000;

fn render(name: &str, extra: &[&str]) -> (PathBuf, Vec<i16>) {
    let out = tiny_db().parent().unwrap().join(name);
    let mut args = vec!["render", "--db", s(tiny_db()), "--out", s(&out)];
    args.extend_from_slice(extra);
    ok(&args);
    let mut wav = hound::WavReader::open(&out).unwrap();
    let spec = wav.spec();
    assert_eq!((spec.channels, spec.sample_rate, spec.bits_per_sample), (2, 48_000, 16));
    let samples = wav.samples::<i16>().map(Result::unwrap).collect();
    (out, samples)
}

fn frames(bpm: f64, bars: u64) -> u64 {
    Tempo::from_bpm(bpm).unwrap().beat_offset(RATE as u32, 4 * bars)
}

#[test]
fn reproducible_never_silent_and_n_bars_long() {
    let args = ["--bars", "12", "--tempo", "160", "--seed", "7"];
    let (a_path, a) = render("a.wav", &args);
    let (b_path, _) = render("b.wav", &args);
    assert_eq!(std::fs::read(&a_path).unwrap(), std::fs::read(&b_path).unwrap());

    assert_eq!(a.len() as u64, 2 * frames(160.0, 12));
    let bar = frames(160.0, 1) as usize;
    for (i, block) in a.chunks(2 * 4_800).enumerate().skip(bar / 4_800 + 1) {
        let rms = (block.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / block.len() as f64)
            .sqrt()
            / 32_768.0;
        // Silence, not a quiet passage: below -60 dBFS.
        assert!(rms > 0.001, "0.1 s block {i} is silent (RMS {rms})");
    }
}

#[test]
fn a_scripted_tempo_change_moves_the_bar_lines_from_its_bar() {
    let script = tiny_db().parent().unwrap().join("tempo.txt");
    std::fs::write(&script, "# slower from bar 8\n8 /transport/tempo 140.0\n").unwrap();
    let (_, audio) =
        render("tempo.wav", &["--bars", "12", "--tempo", "170", "--osc-script", s(&script)]);
    assert_eq!(audio.len() as u64, 2 * (frames(170.0, 8) + frames(140.0, 4)));
    let (_, plain) = render("plain.wav", &["--bars", "12", "--tempo", "170"]);
    assert_eq!(plain.len() as u64, 2 * frames(170.0, 12));
    // Up to the change the two renders are the same music.
    let before = 2 * frames(170.0, 7) as usize;
    assert_eq!(audio[..before], plain[..before]);
}

#[test]
fn a_bad_script_line_is_refused_with_its_number() {
    let script = tiny_db().parent().unwrap().join("bad.txt");
    std::fs::write(&script, "2 /transport/tempo 120.0\n3 /no/such/address\n").unwrap();
    let out = tiny_db().parent().unwrap().join("bad.wav");
    let run = memsynth(&[
        "render",
        "--db",
        s(tiny_db()),
        "--bars",
        "4",
        "--out",
        s(&out),
        "--osc-script",
        s(&script),
    ]);
    assert!(!run.status.success());
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(err.contains("line 2"), "{err}");
}
