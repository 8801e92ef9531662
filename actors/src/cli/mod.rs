//! The subcommands, one file each, each with its `Args` and `run`.

mod analyze;
mod analyze_file;
mod db;
mod decode;
mod demo;
mod demo_library;
mod doctor;
mod eval_generated;
mod generate;
mod motion;
mod patch;
mod render;
mod serve;

use clap::{Parser, Subcommand};

/// Where the phrase database lives unless `--db` says otherwise.
const DEFAULT_DB: &str = "data/db";

/// memsynth: a live-performance server that learns from your music library.
#[derive(Parser)]
#[command(name = "memsynth", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build or update the phrase database from a music library.
    Analyze(analyze::Args),
    /// Tempo, beats, downbeats, key and phrases of one audio file.
    AnalyzeFile(analyze_file::Args),
    /// Make the demo library (if absent), compute its features and print a summary.
    Demo(demo::Args),
    /// Synthesise the demo library: WAV tracks with ground-truth JSON.
    DemoLibrary(demo_library::Args),
    /// Check audio devices, the database, the models and the OSC port, with what to do.
    Doctor(doctor::Args),
    /// Generate new bars with the models: a phrase or audio file (+ motion) in, WAV + PNG out.
    Generate(generate::Args),
    /// Evaluate generated phrases on held-back phrases: beat F, key, e_phrase cosine vs baselines.
    EvalGenerated(eval_generated::Args),
    /// Look into a phrase database: stats, check, query, export.
    Db(db::Args),
    /// Decode any audio file to the internal standard (24 kHz mono) and write it as WAV.
    Decode(decode::Args),
    /// Patches: `patch check FILE` validates one offline.
    Patch(patch::Args),
    /// Motion: `motion record --out FILE` records a phone's motion messages.
    Motion(motion::Args),
    /// Render the live engine offline to a WAV file (deterministic, faster than real time).
    Render(render::Args),
    /// Run the live server: OSC in, audio out.
    Serve(serve::Args),
}

impl Cli {
    /// Runs the chosen subcommand.
    pub fn run(self) -> anyhow::Result<()> {
        match self.command {
            Command::Analyze(args) => analyze::run(args),
            Command::AnalyzeFile(args) => analyze_file::run(args),
            Command::Db(args) => db::run(args),
            Command::Demo(args) => demo::run(args),
            Command::DemoLibrary(args) => demo_library::run(args),
            Command::Decode(args) => decode::run(args),
            Command::Doctor(args) => doctor::run(args),
            Command::Generate(args) => generate::run(args),
            Command::EvalGenerated(args) => eval_generated::run(args),
            Command::Patch(args) => patch::run(args),
            Command::Motion(args) => motion::run(args),
            Command::Render(args) => render::run(args),
            Command::Serve(args) => serve::run(args),
        }
    }
}
