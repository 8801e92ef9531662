//! `memsynth render --db DIR --bars N --out FILE.wav [--tempo BPM] [--phrase ID] [--seed S]
//! [--osc-script FILE] [--float] [--patch FILE [--follow [--speed X]]]`: the live engine
//! offline, faster than real time and deterministic — the same inputs give the same bytes.
//!
//! `--patch` applies a patch at bar 0 (its tempo and seed override `--tempo` and `--seed`).
//! `--follow` paces the virtual clock to wall time (`--speed` times faster) and watches the
//! patch file as `serve` does — same debounce, validation and next-bar rule — so a patch
//! can be live-coded into a render; with no edit the output is the unfollowed render's.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use memsynth::db::Query;
use memsynth::live::conductor::{Conductor, ConductorConfig, Event};
use memsynth::live::transport::{Tempo, Transport};
use memsynth::patch::{Patch, PatchSlot};
use memsynth_actors::runtime::commands::Outcome;
use memsynth_actors::runtime::library::Library;
use memsynth_actors::runtime::offline::Engine;
use memsynth_actors::runtime::patch_manager::{DEBOUNCE, FolderWatch};
use memsynth_actors::runtime::{BLOCK, RATE, motion_file, script};

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
    /// A motion recording (`memsynth motion record`, `/record/motion`) to replay: each
    /// message at `t` seconds lands on sample `t · 48000` after play.
    #[arg(long)]
    motion: Option<PathBuf>,
    /// A patch applied at bar 0 (`patches/NAME.ron`); its folder serves `/patch/load`.
    #[arg(long)]
    patch: Option<PathBuf>,
    /// Pace the render to wall time and apply saved edits of `--patch` on the next bar.
    #[arg(long, requires = "patch")]
    follow: bool,
    /// With `--follow`: how many times faster than real time.
    #[arg(long, default_value_t = 1.0, requires = "follow")]
    speed: f64,
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
    let mut motion = match &args.motion {
        Some(path) => {
            let recorded = motion_file::read(path)?;
            let (commands, skipped) = motion_file::to_commands(&recorded, RATE);
            if skipped > 0 {
                eprintln!("{}: {skipped} messages are not motion; skipped", path.display());
            }
            commands
        }
        None => Vec::new(),
    }
    .into_iter()
    .peekable();

    let config = ConductorConfig { seed: args.seed, ..Default::default() };
    let mut conductor = Conductor::new(config, Transport::new(RATE, tempo));
    conductor.set_query(Query::Phrase(phrase));
    let mut engine = Engine::new(conductor, library);
    let mut watch = match &args.patch {
        Some(path) => Some(start_patch(&mut engine, path, args.seed, args.follow)?),
        None => None,
    }
    .flatten();
    if !(args.speed.is_finite() && args.speed > 0.0) {
        bail!("--speed must be above 0");
    }
    let mut saves: Vec<(Instant, Instant)> = Vec::new();
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
        if let Some(w) = &mut watch {
            follow(w, &mut engine, now, began, args.speed, &mut saves);
        }
        // Motion in this block, each reading at its own sample.
        while let Some((at, command)) = motion.next_if(|(at, _)| *at < now + BLOCK as u64) {
            engine.command(at, &command);
        }
        engine.step(now, &mut block);
        report_patches(&mut engine, began, args.speed, &mut saves);
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
    if let Some(u) = engine.motion.updates.last() {
        println!(
            "motion: {} readings, {} query updates (last: rhythm {:.3}, harmony {:.3}, timbre \
             {:.3} from the anchor)",
            u.received, u.update, u.distance[0], u.distance[1], u.distance[2]
        );
    }
    println!(
        "{}: {} bars, {seconds:.2} s at 48 kHz stereo, rendered in {took:.2} s ({:.0}× real time)",
        args.out.display(),
        args.bars,
        seconds / took.max(1e-9)
    );
    Ok(())
}

/// Loads `path`, applies it at bar 0 and, with `follow`, starts watching its folder.
fn start_patch(
    engine: &mut Engine,
    path: &std::path::Path,
    seed: u64,
    follow: bool,
) -> anyhow::Result<Option<FolderWatch>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let patch = memsynth::patch::parse(&text)
        .map_err(|e| anyhow::anyhow!("{}", e.excerpt(&path.display().to_string(), &text)))?;
    let folder = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(".".as_ref());
    engine.patch_folder = Some(folder.to_path_buf());
    // The running patch describes the engine as the command line set it up.
    let mut base = Patch::default();
    base.conductor.seed = seed;
    engine.patches.slot = PatchSlot::new(base);
    let origin = path.file_name().map_or_else(String::new, |n| n.to_string_lossy().into());
    engine.patches.stage(&engine.conductor, 0, patch, &origin);
    engine.apply_patch_now(0, 0);
    if !follow {
        return Ok(None);
    }
    let mut watch = FolderWatch::new(folder, DEBOUNCE)
        .with_context(|| format!("cannot watch {}", folder.display()))?;
    watch.set_active(path, Some(text));
    Ok(Some(watch))
}

/// Waits until the wall clock reaches sample `now` (at `speed`), then stages what was
/// saved meanwhile.
fn follow(
    watch: &mut FolderWatch,
    engine: &mut Engine,
    now: u64,
    began: Instant,
    speed: f64,
    saves: &mut Vec<(Instant, Instant)>,
) {
    let due = began + Duration::from_secs_f64(now as f64 / f64::from(RATE) / speed);
    if let Some(wait) = due.checked_duration_since(Instant::now()) {
        std::thread::sleep(wait);
    }
    for reload in watch.poll(Instant::now()) {
        match reload.result {
            Ok(patch) => {
                let origin = reload
                    .path
                    .file_name()
                    .map_or_else(String::new, |n| n.to_string_lossy().into());
                let bar = engine.patches.stage(&engine.conductor, now, patch, &origin);
                println!("{origin}: saved, staged for bar {bar}");
                saves.push((reload.saved, Instant::now()));
            }
            Err(e) => eprintln!("/error {e} (the last good patch plays on)"),
        }
    }
}

/// Prints the patches applied in the last block; when they came from a save, the swap
/// latency from the save to the bar line (as the paced clock plays it).
fn report_patches(
    engine: &mut Engine,
    began: Instant,
    speed: f64,
    saves: &mut Vec<(Instant, Instant)>,
) {
    for (_, report) in std::mem::take(&mut engine.applied) {
        let Some(applied) = &report.applied else { continue };
        let mut line =
            format!("bar {}: {} applied ({})", applied.bar, applied.origin, applied.diff);
        if let Some((saved, staged)) = saves.pop() {
            saves.clear();
            let at = began + Duration::from_secs_f64(applied.line as f64 / f64::from(RATE) / speed);
            let ms = |d: Duration| d.as_secs_f64() * 1e3;
            line.push_str(&format!(
                "; swap latency: save → staged {:.1} ms, save → bar line {:.1} ms",
                ms(staged.saturating_duration_since(saved)),
                ms(at.saturating_duration_since(saved))
            ));
        }
        println!("{line}");
        for e in &report.errors {
            eprintln!("/error {e}");
        }
    }
}

fn apply(engine: &mut Engine, now: u64, cue: &script::Cue) -> anyhow::Result<()> {
    match engine.command(now, &cue.command) {
        Outcome::Applied | Outcome::Mixer(_) | Outcome::Patch => Ok(()),
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
