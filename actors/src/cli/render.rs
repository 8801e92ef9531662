//! `memsynth render --db DIR --bars N --out FILE.wav [--tempo BPM] [--phrase ID] [--seed S]
//! [--osc-script FILE] [--float]`: the live engine offline, faster than real time and
//! deterministic — the same inputs give the same bytes.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use memsynth::db::Query;
use memsynth::live::conductor::{Conductor, ConductorConfig, Event};
use memsynth::live::transport::{Tempo, Transport};
use memsynth_actors::runtime::commands::Outcome;
use memsynth_actors::runtime::library::Library;
use memsynth_actors::runtime::offline::Engine;
use memsynth_actors::runtime::{BLOCK, RATE, script};

use super::DEFAULT_DB;

#[derive(clap::Args)]
pub struct Args {
    /// The phrase database.
    #[arg(long, default_value = DEFAULT_DB)]
    db: PathBuf,
    /// Bars to render.
    #[arg(long)]
    bars: u64,
    /// WAV file to write: 48 kHz stereo, 16-bit (or 32-bit float with `--float`).
    #[arg(long)]
    out: PathBuf,
    /// Tempo, BPM (default: the starting phrase's tempo).
    #[arg(long)]
    tempo: Option<f64>,
    /// Phrase to start the query from (default: the database's first phrase).
    #[arg(long)]
    phrase: Option<u32>,
    /// Seed of the pick among close candidates.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// OSC commands to apply at given bars: lines of `bar address args…`.
    #[arg(long)]
    osc_script: Option<PathBuf>,
    /// Write 32-bit float samples instead of 16-bit.
    #[arg(long)]
    float: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    if args.bars == 0 {
        bail!("--bars must be at least 1");
    }
    let library = Arc::new(Library::open(&args.db)?);
    let (phrase, phrase_tempo) = match args.phrase {
        Some(id) => {
            let tempo = library.phrase_tempo(id)?.with_context(|| {
                format!("no phrase {id} in {} (`memsynth db stats`)", args.db.display())
            })?;
            (id, tempo)
        }
        None => library.first_phrase()?,
    };
    let bpm = args.tempo.unwrap_or((phrase_tempo * 10.0).round() / 10.0);
    let tempo = Tempo::from_bpm(bpm)?;
    let mut cues = match &args.osc_script {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            script::parse(&text)?
        }
        None => Vec::new(),
    }
    .into_iter()
    .peekable();

    let config = ConductorConfig { seed: args.seed, ..Default::default() };
    let mut conductor = Conductor::new(config, Transport::new(RATE, tempo));
    conductor.set_query(Query::Phrase(phrase));
    let mut engine = Engine::new(conductor, library);
    let began = Instant::now();

    let mut audio: Vec<f32> = Vec::new();
    let mut block = vec![0.0f32; 2 * BLOCK];
    let mut now = 0u64;
    // Script lines for bar 0 apply before play; the rest in the block holding the last
    // sample before their bar line, so bar-quantised commands land on that line.
    while let Some(cue) = cues.next_if(|c| c.bar == 0) {
        apply(&mut engine, 0, &cue)?;
    }
    engine.conductor.transport_mut().play(0);
    loop {
        let end = engine.conductor.transport().bar_sample(args.bars).unwrap_or(now);
        if now >= end {
            break;
        }
        while let Some(cue) = cues.next_if(|c| {
            let transport = engine.conductor.transport();
            transport.bar_sample(c.bar).is_none_or(|line| now + BLOCK as u64 >= line)
        }) {
            apply(&mut engine, now, &cue)?;
        }
        engine.step(now, &mut block);
        let frames = (end - now).min(BLOCK as u64) as usize;
        audio.extend_from_slice(&block[..2 * frames]);
        now += frames as u64;
    }
    write_wav(&args.out, &audio, args.float)?;

    let seconds = now as f64 / f64::from(RATE);
    let took = began.elapsed().as_secs_f64();
    for e in &engine.events {
        if matches!(e, Event::PhraseStarts { .. } | Event::Failed { .. }) {
            println!("{e}");
        }
    }
    println!(
        "{}: {} bars, {seconds:.2} s at 48 kHz stereo, rendered in {took:.2} s ({:.0}× real time)",
        args.out.display(),
        args.bars,
        seconds / took.max(1e-9)
    );
    Ok(())
}

fn apply(engine: &mut Engine, now: u64, cue: &script::Cue) -> anyhow::Result<()> {
    match engine.command(now, &cue.command) {
        Outcome::Applied | Outcome::Mixer(_) => Ok(()),
        Outcome::Server => {
            eprintln!("bar {}: {:?} has no effect in a render", cue.bar, cue.command);
            Ok(())
        }
        Outcome::Unsupported(why) | Outcome::Refused(why) => bail!("bar {}: {why}", cue.bar),
    }
}

fn write_wav(path: &std::path::Path, audio: &[f32], float: bool) -> anyhow::Result<()> {
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: RATE,
        bits_per_sample: if float { 32 } else { 16 },
        sample_format: if float { hound::SampleFormat::Float } else { hound::SampleFormat::Int },
    };
    let mut w = hound::WavWriter::create(path, spec)
        .with_context(|| format!("cannot write {}", path.display()))?;
    for &s in audio {
        if float {
            w.write_sample(s)?;
        } else {
            w.write_sample((s.clamp(-1.0, 1.0) * 32_767.0).round() as i16)?;
        }
    }
    w.finalize().with_context(|| format!("cannot finish {}", path.display()))?;
    Ok(())
}
