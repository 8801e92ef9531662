//! `memsynth demo-library`: synthesise the demo library (WAV tracks with ground-truth JSON).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use memsynth::demolib::{self, DemoLibraryOptions};

#[derive(clap::Args)]
pub struct Args {
    /// The folder to write into (created if missing; existing tracks are overwritten).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// How many tracks; every 24 use each major and minor key once.
    #[arg(long, value_name = "N", default_value_t = 24)]
    tracks: usize,
    /// The seed: the same seed writes byte-identical files.
    #[arg(long, value_name = "S", default_value_t = 7)]
    seed: u64,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let options = DemoLibraryOptions { tracks: args.tracks, seed: args.seed };
    let started = Instant::now();
    let paths = write_with_progress(&args.out, &options)?;
    let seconds: f64 = demolib::plan(&options).iter().map(|spec| spec.duration()).sum();
    println!(
        "wrote {} tracks ({}:{:02} of music, seed {}) with their ground truth and library.json to {} in {:.1} s",
        paths.len(),
        (seconds / 60.0) as u64,
        (seconds % 60.0) as u64,
        options.seed,
        args.out.display(),
        started.elapsed().as_secs_f64(),
    );
    Ok(())
}

/// Writes the library into `out` behind a progress bar; returns the WAV files' paths.
pub fn write_with_progress(
    out: &Path,
    options: &DemoLibraryOptions,
) -> anyhow::Result<Vec<PathBuf>> {
    let bar = ProgressBar::new(options.tracks as u64);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:32} {pos}/{len} {msg}")?
            .progress_chars("=> "),
    );
    bar.set_message("synthesising");
    bar.enable_steady_tick(Duration::from_millis(200));
    let paths = demolib::write_library(out, options, |done, _, stem| {
        bar.set_position(done as u64);
        bar.set_message(format!("wrote {stem}"));
    })
    .with_context(|| format!("writing the demo library into {}", out.display()))?;
    bar.finish_and_clear();
    Ok(paths)
}
