//! `memsynth analyze-file <audio> [--json]`: tempo, beats, downbeats, key and phrases of one
//! file; with `--json`, machine-readable, for comparisons with other tools.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use memsynth::analysis::phrases::PhraseOptions;
use memsynth::analysis::track::analyze;
use memsynth::dsp::FeatureExtractor;

#[derive(clap::Args)]
pub struct Args {
    /// The audio file (WAV, FLAC, OGG Vorbis or MP3).
    audio: PathBuf,
    /// Print one JSON object instead of a summary.
    #[arg(long)]
    json: bool,
    /// Shortest phrase, bars.
    #[arg(long, default_value_t = 4)]
    min_phrase_bars: usize,
    /// Longest phrase, bars.
    #[arg(long, default_value_t = 16)]
    max_phrase_bars: usize,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let started = Instant::now();
    let audio = memsynth::audio::load(&args.audio)?;
    let decode = started.elapsed().as_secs_f64();
    let options = PhraseOptions { min_bars: args.min_phrase_bars, max_bars: args.max_phrase_bars };
    let analysis = analyze(&audio, &mut FeatureExtractor::new(), &options)
        .with_context(|| format!("analysing {}", args.audio.display()))?;
    if args.json {
        let mut value = serde_json::to_value(&analysis)?;
        value["timings"]["decode"] = decode.into();
        value["duration"] = (audio.len() as f64 / f64::from(memsynth::dsp::SAMPLE_RATE)).into();
        println!("{}", serde_json::to_string(&value)?);
        return Ok(());
    }
    println!("{}", args.audio.display());
    println!(
        "  tempo {:.1} BPM (confidence {:.2}), {} beats, {} bars of {}{}",
        analysis.tempo,
        analysis.tempo_confidence,
        analysis.beats.len(),
        analysis.downbeats.len(),
        analysis.beats_per_bar,
        if analysis.four_four { "" } else { " (not 4/4)" }
    );
    println!("  key {} (confidence {:.2})", analysis.key, analysis.key_confidence);
    let lengths: Vec<String> = analysis.phrases.iter().map(|p| p.bars.to_string()).collect();
    println!("  {} phrases of {} bars", analysis.phrases.len(), lengths.join(", "));
    Ok(())
}
