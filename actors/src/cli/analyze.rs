//! `memsynth analyze <library> [--db DIR] [--jobs N]`: builds or updates the phrase database.
//!
//! Workers hash, decode and analyse files in parallel; this thread is the one writer and
//! commits each track in its own transaction, so `kill -9` at any moment leaves whole tracks.
//! Unchanged files (same content hash, same analysis version) are not analysed again, moved
//! files keep their analysis, removed files are dropped, and the index is rebuilt at the end.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::mpsc::sync_channel;
use std::time::Instant;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use memsynth::analysis::phrases::PhraseOptions;
use memsynth::db::ingest::{ingest_file, read_file};
use memsynth::db::schema::{ANALYSIS_VERSION, TrackId};
use memsynth::db::{Database, TrackBundle, index::IndexParams};
use memsynth::dsp::FeatureExtractor;

/// File extensions analysed; anything else in the library is counted and left alone.
const AUDIO_EXTENSIONS: [&str; 6] = ["wav", "wave", "flac", "ogg", "oga", "mp3"];

#[derive(clap::Args)]
pub struct Args {
    /// The music library: a folder, searched recursively.
    library: PathBuf,
    /// The database folder (created if absent).
    #[arg(long, default_value = super::DEFAULT_DB)]
    db: PathBuf,
    /// Analysis threads (default: one per core).
    #[arg(long)]
    jobs: Option<usize>,
    /// Shortest phrase, bars.
    #[arg(long, default_value_t = 4)]
    min_phrase_bars: usize,
    /// Longest phrase, bars.
    #[arg(long, default_value_t = 16)]
    max_phrase_bars: usize,
    /// Print only the final report (no progress bar).
    #[arg(long)]
    quiet: bool,
}

/// What a worker sends the writer.
enum Outcome {
    Unchanged,
    Moved { id: TrackId, path: String },
    Analysed { bundle: Box<TrackBundle>, seconds: f64, cpu_s: f64 },
    Skipped { path: PathBuf, reason: String },
}

/// What one run did, for the final report.
#[derive(Default)]
pub struct Summary {
    pub analysed: usize,
    pub unchanged: usize,
    pub moved: usize,
    pub removed: usize,
    pub skipped: Vec<(PathBuf, String)>,
    pub ignored: BTreeMap<String, usize>,
    pub audio_seconds: f64,
    pub cpu_seconds: f64,
    pub wall_seconds: f64,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let options = PhraseOptions { min_bars: args.min_phrase_bars, max_bars: args.max_phrase_bars };
    let summary = build(&args.library, &args.db, args.jobs, &options, !args.quiet)?;
    print_report(&args.db, &summary)
}

/// Builds or updates the database in `db_dir` from `library`.
pub fn build(
    library: &Path,
    db_dir: &Path,
    jobs: Option<usize>,
    options: &PhraseOptions,
    progress: bool,
) -> anyhow::Result<Summary> {
    let started = Instant::now();
    let library = library
        .canonicalize()
        .with_context(|| format!("cannot open the library folder {}", library.display()))?;
    let mut db = Database::create(db_dir)?;
    let db_canonical = db_dir.canonicalize().unwrap_or_else(|_| db_dir.to_path_buf());
    let mut summary = Summary::default();
    let files = walk(&library, &db_canonical, &mut summary.ignored)?;

    // What the database already holds, and which of it is no longer in the library.
    let (known, mut gone) = {
        let rtxn = db.read_txn()?;
        let tracks = db.tracks(&rtxn)?;
        let present: std::collections::HashSet<String> =
            files.iter().map(|f| f.to_string_lossy().into_owned()).collect();
        let mut known: HashMap<String, (String, u32)> = HashMap::new();
        let mut gone: HashMap<String, TrackId> = HashMap::new();
        for (id, t) in tracks {
            if present.contains(&t.path) {
                known.insert(t.path.clone(), (t.content_hash.clone(), t.analysis_version));
            } else if t.analysis_version == ANALYSIS_VERSION {
                gone.insert(t.content_hash.clone(), id);
            } else {
                gone.insert(format!("stale {id}"), id);
            }
        }
        (known, gone)
    };

    let jobs = jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .clamp(1, files.len().max(1));
    let bar = if progress { ProgressBar::new(files.len() as u64) } else { ProgressBar::hidden() };
    bar.set_style(
        ProgressStyle::with_template("analysing {bar:30} {pos}/{len} files, {elapsed} [{msg}]")
            .expect("valid template"),
    );
    let queue = Mutex::new(files.iter());
    let claims = Mutex::new(&mut gone);
    // Two finished tracks waiting at most: bounded memory however fast the workers are.
    let (send, receive) = sync_channel::<Outcome>(2);
    let written: anyhow::Result<()> = std::thread::scope(|scope| {
        for _ in 0..jobs {
            let send = send.clone();
            let (queue, claims, known, bar) = (&queue, &claims, &known, &bar);
            scope.spawn(move || {
                let mut extractor = FeatureExtractor::new();
                loop {
                    let Some(path) = queue.lock().expect("queue").next() else { break };
                    bar.set_message(file_name(path));
                    let outcome = examine(path, known, claims, &mut extractor, options);
                    if send.send(outcome).is_err() {
                        break; // the writer stopped on an error
                    }
                }
            });
        }
        drop(send);
        for outcome in receive {
            match outcome {
                Outcome::Unchanged => summary.unchanged += 1,
                Outcome::Moved { id, path } => {
                    db.move_track(id, &path)?;
                    summary.moved += 1;
                }
                Outcome::Analysed { bundle, seconds, cpu_s } => {
                    db.put_track(&bundle)?;
                    summary.analysed += 1;
                    summary.audio_seconds += seconds;
                    summary.cpu_seconds += cpu_s;
                }
                Outcome::Skipped { path, reason } => {
                    bar.suspend(|| eprintln!("skipped {}: {reason}", path.display()));
                    summary.skipped.push((path, reason));
                }
            }
            bar.inc(1);
        }
        Ok(())
    });
    bar.finish_and_clear();
    written?;

    for id in gone.values() {
        db.remove_track(*id)?;
        summary.removed += 1;
    }
    if progress && !db.index_is_fresh()? {
        eprintln!("rebuilding the phrase index …");
    }
    db.refresh_index(&IndexParams::default())?;
    summary.wall_seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

/// Decides what to do with one file and does the work (hash, and analysis if needed).
fn examine(
    path: &Path,
    known: &HashMap<String, (String, u32)>,
    gone: &Mutex<&mut HashMap<String, TrackId>>,
    extractor: &mut FeatureExtractor,
    options: &PhraseOptions,
) -> Outcome {
    let cpu = cpu_time::ThreadTime::now();
    let key = path.to_string_lossy().into_owned();
    let contents = match read_file(path) {
        Ok(found) => found,
        Err(e) => return Outcome::Skipped { path: path.to_path_buf(), reason: e.to_string() },
    };
    if known.get(&key) == Some(&(contents.hash.clone(), ANALYSIS_VERSION)) {
        return Outcome::Unchanged;
    }
    if let Some(id) = gone.lock().expect("claims").remove(&contents.hash) {
        return Outcome::Moved { id, path: key };
    }
    match ingest_file(path, contents, extractor, options) {
        Ok(bundle) => Outcome::Analysed {
            seconds: bundle.record.duration,
            bundle: Box::new(bundle),
            cpu_s: cpu.elapsed().as_secs_f64(),
        },
        Err(e) => Outcome::Skipped { path: path.to_path_buf(), reason: e.to_string() },
    }
}

/// Audio files under `root` in path order, skipping hidden entries and the database itself;
/// other files are counted by extension in `ignored`.
fn walk(
    root: &Path,
    db_dir: &Path,
    ignored: &mut BTreeMap<String, usize>,
) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        if dir == db_dir {
            continue;
        }
        let entries = std::fs::read_dir(&dir)
            .with_context(|| format!("cannot list the library folder {}", dir.display()))?;
        for entry in entries {
            let path = entry?.path();
            if path.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')) {
                continue;
            }
            if path.is_dir() {
                stack.push(path);
            } else {
                let ext = path
                    .extension()
                    .map(|e| e.to_string_lossy().to_lowercase())
                    .unwrap_or_default();
                if AUDIO_EXTENSIONS.contains(&ext.as_str()) {
                    files.push(path);
                } else {
                    *ignored
                        .entry(if ext.is_empty() { "(none)".into() } else { ext })
                        .or_default() += 1;
                }
            }
        }
    }
    files.sort();
    Ok(files)
}

fn print_report(db_dir: &Path, s: &Summary) -> anyhow::Result<()> {
    let db = Database::open(db_dir)?;
    let stats = super::db::Stats::read(&db)?;
    println!(
        "{}: {} tracks, {} phrases, {:.2} h of music",
        db_dir.display(),
        stats.tracks,
        stats.phrases,
        stats.hours
    );
    println!(
        "this run: {} analysed, {} unchanged, {} moved, {} removed, {} skipped",
        s.analysed,
        s.unchanged,
        s.moved,
        s.removed,
        s.skipped.len()
    );
    for (path, reason) in &s.skipped {
        println!("  skipped {}: {reason}", path.display());
    }
    if !s.ignored.is_empty() {
        let kinds: Vec<String> = s.ignored.iter().map(|(ext, n)| format!("{n} .{ext}")).collect();
        println!("  not audio, left alone: {}", kinds.join(", "));
    }
    println!(
        "{:.1} s wall; analysis {:.1} min of audio in {:.1} CPU s (CPU real-time factor {:.4})",
        s.wall_seconds,
        s.audio_seconds / 60.0,
        s.cpu_seconds,
        s.cpu_seconds / s.audio_seconds.max(1e-9)
    );
    Ok(())
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(String::new, |s| s.to_string_lossy().into_owned())
}
