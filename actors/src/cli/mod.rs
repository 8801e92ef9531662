//! The subcommands, one file each, each with its `Args` and `run`.

mod analyze_file;
mod decode;
mod demo;
mod demo_library;

use clap::{Parser, Subcommand};

/// memsynth: a live-performance server that learns from your music library.
#[derive(Parser)]
#[command(name = "memsynth", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Tempo, beats, downbeats, key and phrases of one audio file.
    AnalyzeFile(analyze_file::Args),
    /// Make the demo library (if absent), compute its features and print a summary.
    Demo(demo::Args),
    /// Synthesise the demo library: WAV tracks with ground-truth JSON.
    DemoLibrary(demo_library::Args),
    /// Decode any audio file to the internal standard (24 kHz mono) and write it as WAV.
    Decode(decode::Args),
}

impl Cli {
    /// Runs the chosen subcommand.
    pub fn run(self) -> anyhow::Result<()> {
        match self.command {
            Command::AnalyzeFile(args) => analyze_file::run(args),
            Command::Demo(args) => demo::run(args),
            Command::DemoLibrary(args) => demo_library::run(args),
            Command::Decode(args) => decode::run(args),
        }
    }
}
