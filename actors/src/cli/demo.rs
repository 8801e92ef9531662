//! `memsynth demo`: the main job. Makes the demo library on first run, then decodes every
//! track and computes its features, and prints what it found.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use memsynth::demolib::{DemoLibraryOptions, GENERATOR_VERSION, GroundTruth, LibraryIndex};
use memsynth::dsp::{FRAME_RATE, FeatureExtractor, Features, N_CHROMA, SAMPLE_RATE, TEMPOGRAM_WIN};

const PITCHES: [&str; 12] = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"];

#[derive(clap::Args)]
pub struct Args {
    /// Folder for the demo library and what is built from it (git ignores `data/`).
    #[arg(long, default_value = "data")]
    data: PathBuf,
    /// Analysis threads (default: one per core).
    #[arg(long)]
    jobs: Option<usize>,
}

/// What the demo reports for one track.
struct TrackReport {
    name: String,
    truth: GroundTruth,
    seconds: f64,
    frames: usize,
    strongest_class: usize,
    tempogram_bpm: f32,
    cpu_s: f64,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let library = args.data.join("demo-library");
    let index = match read_index(&library) {
        Some(index) if index.generator_version == GENERATOR_VERSION => index,
        found => {
            let why = if found.is_some() {
                "it was made by an older generator"
            } else {
                "first run only"
            };
            println!("making the demo library in {} ({why}) …", library.display());
            super::demo_library::write_with_progress(&library, &DemoLibraryOptions::default())?;
            read_index(&library)
                .context("the demo library was written but its library.json cannot be read")?
        }
    };
    let tracks: Vec<PathBuf> = index.tracks.iter().map(|t| library.join(&t.audio)).collect();
    anyhow::ensure!(
        !tracks.is_empty(),
        "{} holds no tracks; delete it and run again",
        library.display()
    );

    let jobs =
        args.jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let bar = ProgressBar::new(tracks.len() as u64).with_style(
        ProgressStyle::with_template("analysing {bar:30} {pos}/{len} tracks, {elapsed} [{msg}]")
            .expect("valid template"),
    );
    let started = Instant::now();
    let next = Mutex::new(tracks.iter());
    let results = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, tracks.len()) {
            scope.spawn(|| {
                let mut extractor = FeatureExtractor::new();
                loop {
                    let Some(path) = next.lock().expect("queue").next() else { break };
                    bar.set_message(file_name(path));
                    let report = analyse(path, &mut extractor);
                    results.lock().expect("results").push((path.clone(), report));
                    bar.inc(1);
                }
            });
        }
    });
    bar.finish_and_clear();
    let wall = started.elapsed().as_secs_f64();

    let mut results = results.into_inner().expect("results");
    results.sort_by(|a, b| a.0.cmp(&b.0));
    let mut reports = Vec::new();
    for (path, report) in results {
        match report {
            Ok(r) => reports.push(r),
            Err(e) => eprintln!("skipped {}: {e:#}", path.display()),
        }
    }
    print_summary(&reports, wall);
    Ok(())
}

fn analyse(path: &Path, extractor: &mut FeatureExtractor) -> anyhow::Result<TrackReport> {
    let started = cpu_time::ThreadTime::now();
    let truth: GroundTruth = serde_json::from_str(
        &std::fs::read_to_string(path.with_extension("json"))
            .context("reading its ground truth")?,
    )
    .context("parsing its ground truth")?;
    let audio = memsynth::audio::load(path)?;
    let features = extractor.compute(&audio);
    Ok(TrackReport {
        name: file_name(path),
        seconds: audio.len() as f64 / SAMPLE_RATE as f64,
        frames: features.n_frames(),
        strongest_class: strongest_pitch_class(&features),
        tempogram_bpm: tempogram_peak_bpm(&features),
        cpu_s: started.elapsed().as_secs_f64(),
        truth,
    })
}

/// The pitch class with the most chroma over the whole track.
fn strongest_pitch_class(f: &Features) -> usize {
    let mut total = [0.0f32; N_CHROMA];
    for frame in f.chroma.frames() {
        for (t, c) in total.iter_mut().zip(frame) {
            *t += c;
        }
    }
    (0..N_CHROMA).max_by(|a, b| total[*a].total_cmp(&total[*b])).unwrap_or(0)
}

/// The tempo, 60–200 BPM, of the strongest lag of the mean tempogram.
fn tempogram_peak_bpm(f: &Features) -> f32 {
    let mut mean = vec![0.0f32; TEMPOGRAM_WIN];
    for frame in f.tempogram.frames() {
        for (m, v) in mean.iter_mut().zip(frame) {
            *m += v;
        }
    }
    let lag_of = |bpm: f32| (60.0 * FRAME_RATE / bpm).round() as usize;
    let best =
        (lag_of(200.0)..=lag_of(60.0)).max_by(|a, b| mean[*a].total_cmp(&mean[*b])).unwrap_or(1);
    60.0 * FRAME_RATE / best as f32
}

fn print_summary(reports: &[TrackReport], wall: f64) {
    println!(
        "{:<30} {:<13} {:>5} {:>7} {:>9} {:>10} {:>6} {:>8}",
        "track", "style", "min", "frames", "key", "top chroma", "tempo", "tg peak"
    );
    for r in reports {
        println!(
            "{:<30} {:<13} {:>5.2} {:>7} {:>9} {:>10} {:>6.1} {:>8.1}",
            r.name,
            r.truth.style,
            r.seconds / 60.0,
            r.frames,
            r.truth.key,
            PITCHES[r.strongest_class],
            r.truth.tempo,
            r.tempogram_bpm
        );
    }
    let audio: f64 = reports.iter().map(|r| r.seconds).sum();
    let cpu: f64 = reports.iter().map(|r| r.cpu_s).sum();
    println!(
        "{} tracks, {:.1} min of audio; decode + features took {wall:.1} s wall, {cpu:.1} s CPU \
         (CPU real-time factor {:.4})",
        reports.len(),
        audio / 60.0,
        cpu / audio.max(1e-9)
    );
    println!(
        "key and tempo are the generator's ground truth; 'top chroma' and 'tg peak' are what the features show"
    );
}

/// The library's index, if it is there and readable.
fn read_index(library: &Path) -> Option<LibraryIndex> {
    let text = std::fs::read_to_string(library.join("library.json")).ok()?;
    serde_json::from_str(&text).ok()
}

fn file_name(path: &Path) -> String {
    path.file_stem().map_or_else(String::new, |s| s.to_string_lossy().into_owned())
}
