//! `memsynth patch check FILE`: validates a patch offline, as the server would on save.
//! An error is printed with its line, column and a caret under the spot (exit code 1); a
//! valid patch gets a one-screen summary of what it sets.

use std::path::PathBuf;

use anyhow::Context;
use memsynth::patch::{self, Mapper, Patch, diff};

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Sub,
}

#[derive(clap::Subcommand)]
enum Sub {
    /// Parse and validate FILE; print the error with line:column, or a summary.
    Check {
        /// The patch file (RON).
        file: PathBuf,
    },
}

pub fn run(args: Args) -> anyhow::Result<()> {
    match args.command {
        Sub::Check { file } => check(&file),
    }
}

fn check(file: &std::path::Path) -> anyhow::Result<()> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    match patch::parse(&text) {
        Ok(p) => {
            print!("{}", summary(&file.display().to_string(), &p));
            Ok(())
        }
        Err(e) => {
            eprintln!("{}", e.excerpt(&file.display().to_string(), &text));
            std::process::exit(1);
        }
    }
}

fn summary(name: &str, p: &Patch) -> String {
    let c = &p.conductor;
    let r = &p.retrieval;
    let m = &p.mixer;
    let mut out = format!("{name}: valid\n");
    let tempo = p.tempo.map_or("kept (not set)".to_string(), |t| format!("{t} BPM"));
    out.push_str(&format!("  tempo      {tempo}\n"));
    out.push_str(&format!(
        "  conductor  mode {}, steps {}, guidance {}, look-ahead {} bars, seed {}\n",
        c.mode.as_str(),
        c.steps,
        c.guidance,
        c.look_ahead_bars,
        c.seed
    ));
    out.push_str(&format!(
        "  retrieval  k {}, weights rhythm {} harmony {} timbre {}, blend {}\n",
        r.k, r.weights.rhythm, r.weights.harmony, r.weights.timbre, r.blend
    ));
    let mapper = match &p.motion.mapper {
        Mapper::Model(f) => format!("model {f}"),
        Mapper::Linear(terms) => format!("linear, {} terms", terms.len()),
    };
    out.push_str(&format!(
        "  motion     senders {:?}, smoothing {} s, mapper {mapper}\n",
        p.motion.senders, p.motion.smoothing
    ));
    out.push_str(&format!(
        "  mixer      retrieved {} dB, generated {} dB, master {} dB, cross-fade {} beats\n",
        m.retrieved, m.generated, m.master, m.crossfade_beats
    ));
    out.push_str(&format!("  osc        {} mappings\n", p.osc.len()));
    for o in &p.osc {
        out.push_str(&format!(
            "    {} → {} over {:?} ({:?})\n",
            o.address, o.param, o.range, o.curve
        ));
    }
    if let Some(notice) = patch::diff::mode_notice(c.mode) {
        out.push_str(&format!("  note: {notice}\n"));
    }
    let changed = diff(&Patch::default(), p);
    out.push_str(&format!("  differs from the defaults in: {changed}\n"));
    out
}
