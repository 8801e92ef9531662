//! The `memsynth` command as a person runs it: real processes, real files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn memsynth(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_memsynth")).args(args).output().expect("memsynth runs")
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("memsynth-cli-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    v.sort();
    v
}

#[test]
fn demo_library_is_byte_identical_for_a_seed_and_the_demo_analyses_it() {
    let root = scratch("demo");
    let (a, b) = (root.join("a/demo-library"), root.join("b"));
    for out in [&a, &b] {
        let run = memsynth(&[
            "demo-library",
            "--out",
            out.to_str().unwrap(),
            "--tracks",
            "2",
            "--seed",
            "3",
        ]);
        assert!(run.status.success(), "{}", text(&run.stderr));
    }
    let (fa, fb) = (files(&a), files(&b));
    assert_eq!(fa.len(), 5, "2 WAV + 2 JSON + library.json: {fa:?}");
    for (x, y) in fa.iter().zip(&fb) {
        assert_eq!(x.file_name(), y.file_name());
        assert!(std::fs::read(x).unwrap() == std::fs::read(y).unwrap(), "{} differs", x.display());
    }

    // `demo` finds the library already made under its data folder and analyses it.
    let run = memsynth(&["demo", "--no-serve", "--data", root.join("a").to_str().unwrap()]);
    let out = text(&run.stdout);
    assert!(run.status.success(), "{}\n{}", out, text(&run.stderr));
    assert!(out.contains("2 tracks"), "{out}");
    assert!(out.contains("real-time factor"), "{out}");
    let _ = std::fs::remove_dir_all(root);
}

#[test]
fn decode_writes_the_24k_mono_standard() {
    let root = scratch("decode");
    let input = root.join("in.wav");
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: 48_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&input, spec).unwrap();
    for n in 0..48_000 {
        let s = ((n as f32 * 0.05).sin() * 10_000.0) as i16;
        w.write_sample(s).unwrap();
        w.write_sample(s).unwrap();
    }
    w.finalize().unwrap();
    let output = root.join("out.wav");
    let run = memsynth(&[
        "decode",
        input.to_str().unwrap(),
        output.to_str().unwrap(),
        "--start",
        "0.25",
        "--duration",
        "0.5",
    ]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let reader = hound::WavReader::open(&output).unwrap();
    assert_eq!(reader.spec().sample_rate, 24_000);
    assert_eq!(reader.spec().channels, 1);
    assert_eq!(reader.len(), 12_000);
    let _ = std::fs::remove_dir_all(root);
}

#[test]
fn a_bad_file_is_a_clear_error_not_a_crash() {
    let root = scratch("bad");
    let notes = root.join("setlist.wav");
    std::fs::write(&notes, "1. intro\n2. drop\n").unwrap();
    let run = memsynth(&["decode", notes.to_str().unwrap(), root.join("x.wav").to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(1));
    let err = text(&run.stderr);
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains("setlist.wav"), "{err}");
    assert!(!err.contains("panicked") && !err.contains("backtrace"), "{err}");
    let _ = std::fs::remove_dir_all(root);
}
