//! `memsynth demo`: the main job. Makes the demo library on first run, then decodes and
//! analyses every track (features, tempo, beats, bars, key, phrases) and prints what it
//! found beside the generator's ground truth.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use memsynth::analysis::phrases::PhraseOptions;
use memsynth::analysis::track::{TrackAnalysis, analyze};
use memsynth::demolib::{DemoLibraryOptions, GENERATOR_VERSION, GroundTruth, LibraryIndex};
use memsynth::dsp::{FeatureExtractor, SAMPLE_RATE};

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
    found: TrackAnalysis,
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
    let found = analyze(&audio, extractor, &PhraseOptions::default())?;
    Ok(TrackReport {
        name: file_name(path),
        seconds: audio.len() as f64 / SAMPLE_RATE as f64,
        found,
        cpu_s: started.elapsed().as_secs_f64(),
        truth,
    })
}

fn print_summary(reports: &[TrackReport], wall: f64) {
    println!(
        "{:<30} {:<13} {:>5} {:>7} {:>7} {:>9} {:>9} {:>5} {:>7}",
        "track", "style", "min", "tempo", "found", "key", "found", "bars", "phrases"
    );
    for r in reports {
        println!(
            "{:<30} {:<13} {:>5.2} {:>7.1} {:>7.1} {:>9} {:>9} {:>5} {:>7}",
            r.name,
            r.truth.style,
            r.seconds / 60.0,
            r.truth.tempo,
            r.found.tempo,
            r.truth.key,
            r.found.key,
            r.found.downbeats.len(),
            r.found.phrases.len()
        );
    }
    let audio: f64 = reports.iter().map(|r| r.seconds).sum();
    let cpu: f64 = reports.iter().map(|r| r.cpu_s).sum();
    let keys = reports.iter().filter(|r| r.found.key == r.truth.key).count();
    let tempi =
        reports.iter().filter(|r| (r.found.tempo / r.truth.tempo - 1.0).abs() <= 0.02).count();
    println!(
        "{} tracks, {:.1} min of audio; decode + analysis took {wall:.1} s wall, {cpu:.1} s CPU \
         (CPU real-time factor {:.4})",
        reports.len(),
        audio / 60.0,
        cpu / audio.max(1e-9)
    );
    println!(
        "key right on {keys}/{n}, tempo within 2 % on {tempi}/{n} (tempo and key columns: ground truth, then found)",
        n = reports.len()
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
