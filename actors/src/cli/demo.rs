//! `memsynth demo`: the main job. Makes the demo library on first run, analyses it into the
//! phrase database `data/demo-db` (a re-run analyses only what changed), and prints what the
//! database holds for every track beside the generator's ground truth; then serves that
//! database over OSC until Ctrl-C (`--no-serve` stops after the summary).

use std::path::{Path, PathBuf};

use anyhow::Context;
use memsynth::analysis::phrases::PhraseOptions;
use memsynth::db::Database;
use memsynth::db::schema::TrackRecord;
use memsynth::demolib::{DemoLibraryOptions, GENERATOR_VERSION, GroundTruth, LibraryIndex};

use super::analyze::Summary;

#[derive(clap::Args)]
pub struct Args {
    /// Folder for the demo library and what is built from it (git ignores `data/`).
    #[arg(long, default_value = "data")]
    data: PathBuf,
    /// Analysis threads (default: one per core).
    #[arg(long)]
    jobs: Option<usize>,
    /// Stop after the summary instead of serving the demo database.
    #[arg(long)]
    no_serve: bool,
    /// UDP port for OSC while serving.
    #[arg(long, default_value_t = 9000)]
    osc_port: u16,
    /// No sound card: serve on the paced null output.
    #[arg(long)]
    no_audio: bool,
    /// Play through JACK instead of ALSA.
    #[arg(long)]
    jack: bool,
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
    anyhow::ensure!(
        !index.tracks.is_empty(),
        "{} holds no tracks; delete it and run again",
        library.display()
    );

    let db_dir = args.data.join("demo-db");
    println!("analysing the demo library into the phrase database {} …", db_dir.display());
    let summary =
        super::analyze::build(&library, &db_dir, args.jobs, &PhraseOptions::default(), true)?;
    let db = Database::open(&db_dir)?;
    let rtxn = db.read_txn()?;
    let mut reports = Vec::new();
    for (id, track) in db.tracks(&rtxn)? {
        let path = PathBuf::from(&track.path);
        let truth: GroundTruth = serde_json::from_str(
            &std::fs::read_to_string(path.with_extension("json"))
                .with_context(|| format!("reading the ground truth of {}", path.display()))?,
        )
        .with_context(|| format!("parsing the ground truth of {}", path.display()))?;
        let bars = db.grid(&rtxn, id)?.map_or(0, |g| g.downbeats.len());
        reports.push(TrackReport { name: file_name(&path), truth, bars, track });
    }
    reports.sort_by(|a, b| a.name.cmp(&b.name));
    print_summary(&reports, &summary);
    drop(rtxn);
    drop(db);
    generate_sample(&db_dir, &args.data);
    if args.no_serve {
        return Ok(());
    }
    println!();
    println!("serving the demo database {} (Ctrl-C to stop) …", db_dir.display());
    // Through the parser, so the demo serves with every other `serve` default.
    let port = args.osc_port.to_string();
    let db = db_dir.display().to_string();
    let mut argv = vec!["serve", "--db", &db, "--osc-port", &port];
    if args.no_audio {
        argv.push("--no-audio");
    }
    if args.jack {
        argv.push("--jack");
    }
    let serve = <super::serve::Args as clap::FromArgMatches>::from_arg_matches(
        &<super::serve::Args as clap::Args>::augment_args(clap::Command::new("serve"))
            .get_matches_from(argv),
    )?;
    super::serve::run(serve)
}

/// What the demo reports for one track.
struct TrackReport {
    name: String,
    truth: GroundTruth,
    bars: usize,
    track: TrackRecord,
}

fn print_summary(reports: &[TrackReport], run: &Summary) {
    println!(
        "{:<30} {:<13} {:>5} {:>7} {:>7} {:>9} {:>9} {:>5} {:>7}",
        "track", "style", "min", "tempo", "found", "key", "found", "bars", "phrases"
    );
    for r in reports {
        println!(
            "{:<30} {:<13} {:>5.2} {:>7.1} {:>7.1} {:>9} {:>9} {:>5} {:>7}",
            r.name,
            r.truth.style,
            r.track.duration / 60.0,
            r.truth.tempo,
            r.track.tempo,
            r.truth.key,
            r.track.key,
            r.bars,
            r.track.phrases.len()
        );
    }
    let audio: f64 = reports.iter().map(|r| r.track.duration).sum();
    let keys = reports.iter().filter(|r| r.track.key == r.truth.key).count();
    let tempi =
        reports.iter().filter(|r| (r.track.tempo / r.truth.tempo - 1.0).abs() <= 0.02).count();
    let run_line = if run.analysed == 0 {
        format!("nothing changed since the last run ({} unchanged)", run.unchanged)
    } else {
        format!(
            "this run analysed {} ({:.1} min) in {:.1} s wall, {:.1} s CPU (CPU real-time factor {:.4})",
            run.analysed,
            run.audio_seconds / 60.0,
            run.wall_seconds,
            run.cpu_seconds,
            run.cpu_seconds / run.audio_seconds.max(1e-9)
        )
    };
    println!(
        "{} tracks, {:.1} min of audio in the database; {run_line}",
        reports.len(),
        audio / 60.0
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

/// Four new bars from the shipped models, conditioned on the demo database's phrase 1, as
/// `memsynth generate` makes them. The models are optional: without them (or without ONNX
/// Runtime) the demo says why and serves the retrieved phrases all the same.
fn generate_sample(db_dir: &Path, data: &Path) {
    if !Path::new("models/manifest.ron").is_file() {
        println!("models: none in models/ (no manifest.ron): skipping the generated sample");
        return;
    }
    let out = data.join("demo-generated.wav");
    let (db, out_s) = (db_dir.display().to_string(), out.display().to_string());
    let argv = ["generate", "--db", &db, "--phrase", "1", "--bars", "4", "--out", &out_s];
    println!();
    println!("generating 4 bars from phrase 1 with the shipped models …");
    let parsed = <super::generate::Args as clap::FromArgMatches>::from_arg_matches(
        &<super::generate::Args as clap::Args>::augment_args(clap::Command::new("generate"))
            .get_matches_from(argv),
    );
    match parsed.map_err(anyhow::Error::from).and_then(super::generate::run) {
        Ok(()) => println!("  listen: {out_s} (its spectrogram beside it, .png)"),
        Err(e) => println!("  no generated sample: {e:#}"),
    }
}
