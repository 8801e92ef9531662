//! `memsynth generate --db DIR (--phrase ID | --audio FILE) [--motion FILE] [--bars 4]
//! [--steps 20] [--guidance 2.5] [--tempo BPM] [--seed N] [--models models] --out FILE.wav`:
//! new bars from the models, offline and deterministic for a seed.
//!
//! The condition is the e_phrase of a stored phrase (`--phrase`) or of an audio file
//! analysed as `db query --audio` does (`--audio`), standardised with the database's
//! statistics; `--motion` replays a `motion record` file through the server's motion
//! pipeline at the output tempo, and chunk k (bars 4k…4k+3) takes the e_motion of the bar
//! before it (the first chunk that of bar 0). The WAV is 24 kHz mono float; a log-mel
//! spectrogram PNG of what the vocoder heard is written beside it. The time per stage
//! (process CPU time and wall time) goes to stderr.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::bail;
use memsynth::analysis::phrases::PhraseOptions;
use memsynth::db::Database;
use memsynth::db::ingest::file_e_phrase;
use memsynth::dsp::{FeatureExtractor, N_MELS, SAMPLE_RATE};
use memsynth::model::phrase_condition::{database_stats, phrase_condition};
use memsynth::model::{Models, Request, StageTimes, Threads, spectrogram};
use memsynth::motion::{MotionInput, NormalizerConfig};
use memsynth::osc::Command;
use memsynth_actors::runtime::{RATE, motion_file};

use super::DEFAULT_DB;

#[derive(clap::Args)]
pub struct Args {
    /// The phrase database (for e_phrase and its statistics).
    #[arg(long, default_value = DEFAULT_DB)]
    db: PathBuf,
    /// Condition on this stored phrase (ids: `db stats --json`, `db query`).
    #[arg(long, conflicts_with = "audio", required_unless_present = "audio")]
    phrase: Option<u32>,
    /// Condition on this audio file's e_phrase.
    #[arg(long)]
    audio: Option<PathBuf>,
    /// A `motion record` file to steer the generation with.
    #[arg(long)]
    motion: Option<PathBuf>,
    /// Bars to generate (sampled in chunks of 4).
    #[arg(long, default_value_t = 4)]
    bars: usize,
    /// DDIM steps.
    #[arg(long, default_value_t = 20)]
    steps: usize,
    /// Classifier-free guidance scale (1 = conditional only).
    #[arg(long, default_value_t = 2.5)]
    guidance: f32,
    /// Output tempo, BPM (default: the phrase's tempo with --phrase, else 120).
    #[arg(long)]
    tempo: Option<f64>,
    /// Noise seed: the same seed gives the same file.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// The models folder (manifest.ron and the ONNX files).
    #[arg(long, default_value = "models")]
    models: PathBuf,
    /// ONNX Runtime intra-op threads.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// WAV file to write (24 kHz mono float); the spectrogram goes to the same name .png.
    #[arg(long)]
    out: PathBuf,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    if args.bars == 0 {
        bail!("--bars must be at least 1");
    }
    let db = Database::open(&args.db)?;
    let stats = database_stats(&db)?;
    let (e_phrase, phrase_tempo) = match (args.phrase, &args.audio) {
        (Some(id), _) => {
            let phrase = phrase_condition(&db, &stats, id)?;
            (phrase.e_phrase, Some(phrase.tempo))
        }
        (None, Some(file)) => {
            let raw = file_e_phrase(file, &mut FeatureExtractor::new(), &PhraseOptions::default())?;
            (stats.standardise(&raw), None)
        }
        (None, None) => bail!("give --phrase ID or --audio FILE"),
    };
    let tempo = args.tempo.or(phrase_tempo).unwrap_or(120.0);
    let chunks = args.bars.div_ceil(memsynth::model::generator::CHUNK_BARS);
    let e_motion = match &args.motion {
        Some(path) => motion_per_chunk(path, tempo, chunks)?,
        None => Vec::new(),
    };

    let threads = Threads { intra_op: args.threads.max(1) };
    let wall = Instant::now();
    let cpu0 = cpu_time::ProcessTime::now();
    let mut models = Models::load(&args.models, threads)?;
    let load_cpu = cpu0.elapsed();
    let load_wall = wall.elapsed();
    let request = Request {
        e_phrase,
        e_motion,
        bars: args.bars,
        steps: args.steps,
        guidance: args.guidance,
        tempo: Some(tempo),
        seed: args.seed,
    };
    let cpu_clock = || cpu0.elapsed();
    let wall_start = Instant::now();
    let generated = models.generate(&request, &cpu_clock)?;
    let gen_wall = wall_start.elapsed();

    memsynth::audio::wav::write_f32_mono(&args.out, SAMPLE_RATE, &generated.audio)?;
    let png = args.out.with_extension("png");
    spectrogram::write_png(&png, &generated.mel, N_MELS)?;
    let seconds = generated.audio.len() as f64 / f64::from(SAMPLE_RATE);
    println!(
        "wrote {} ({seconds:.2} s, {} bars at {tempo:.1} BPM, {} steps, guidance {}, seed {}) and {}",
        args.out.display(),
        args.bars,
        args.steps,
        args.guidance,
        args.seed,
        png.display()
    );
    print_times(&generated.times, load_cpu, load_wall, gen_wall, seconds);
    Ok(())
}

/// The e_motion for each chunk from a motion recording replayed at `bpm`: chunk k takes the
/// normalised e_motion of the bar that ends where it starts (chunk 0: bar 0's).
fn motion_per_chunk(path: &Path, bpm: f64, chunks: usize) -> anyhow::Result<Vec<Option<Vec<f32>>>> {
    let recorded = motion_file::read(path)?;
    let (commands, skipped) = motion_file::to_commands(&recorded, RATE);
    if commands.is_empty() {
        bail!("{}: no motion messages ({skipped} others skipped)", path.display());
    }
    let mut input = MotionInput::new(RATE, NormalizerConfig::default());
    let beat = f64::from(RATE) * 60.0 / bpm;
    let bars = chunks * 4;
    let mut per_bar: Vec<Option<Vec<f32>>> = Vec::with_capacity(bars);
    let mut next = commands.iter().peekable();
    for b in 1..=bars * 4 {
        let line = (b as f64 * beat).round() as u64;
        while let Some((at, command)) = next.next_if(|(at, _)| *at <= line) {
            if let Command::Motion(sample) = command {
                input.push(*at, sample);
            }
        }
        // Encoding on every beat line keeps the normalizer's statistics as the server's.
        let e = input.encode(line, bpm).map(|e| e.to_vec());
        if b % 4 == 0 {
            per_bar.push(e);
        }
    }
    Ok((0..chunks).map(|k| per_bar[(4 * k).saturating_sub(1)].clone()).collect())
}

fn print_times(
    t: &StageTimes,
    load_cpu: Duration,
    load_wall: Duration,
    gen_wall: Duration,
    audio_s: f64,
) {
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    eprintln!("stage              CPU ms");
    eprintln!("model load      {:>9.1}  (wall {:.1} ms)", ms(load_cpu), ms(load_wall));
    eprintln!("DDIM sampling   {:>9.1}", ms(t.sampling));
    eprintln!("VQ decode       {:>9.1}", ms(t.decode));
    eprintln!("tempo stretch   {:>9.1}", ms(t.stretch));
    eprintln!("vocoder + iSTFT {:>9.1}", ms(t.vocoder));
    eprintln!(
        "total           {:>9.1}  (wall {:.1} ms for {audio_s:.2} s of audio)",
        ms(t.total()),
        ms(gen_wall)
    );
}
