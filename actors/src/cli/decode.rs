//! `memsynth decode <INPUT> <OUTPUT.wav> [--start S] [--duration S]`: any supported file to
//! the internal standard (24 kHz mono) as a 32-bit float WAV, bit-exact, so that other tools
//! (the Python fixture scripts, librosa) see exactly the samples memsynth analyses.

use std::path::PathBuf;

use anyhow::Context;
use memsynth::audio;

#[derive(clap::Args)]
pub struct Args {
    /// Audio file to decode (WAV, FLAC, OGG Vorbis or MP3).
    input: PathBuf,
    /// WAV file to write: 24 kHz, mono, 32-bit float.
    output: PathBuf,
    /// Start of the segment to keep, in seconds.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    start: f64,
    /// Length of the segment to keep, in seconds (default: to the end).
    #[arg(long, allow_negative_numbers = true)]
    duration: Option<f64>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let duration = args.duration.unwrap_or(f64::INFINITY);
    // Check the times before spending a decode on them.
    audio::segment(&[], args.start, duration)?;
    let decoded = audio::decode(&args.input)?;
    println!(
        "{}: {} Hz, {} channel{}, {:.3} s",
        args.input.display(),
        decoded.sample_rate,
        decoded.channels,
        if decoded.channels == 1 { "" } else { "s" },
        decoded.duration_s()
    );
    let standard = audio::to_standard(decoded)?;
    let kept = audio::segment(&standard, args.start, duration)?;
    audio::wav::write_f32_mono(&args.output, audio::SAMPLE_RATE, kept)
        .with_context(|| format!("writing the decoded audio of {}", args.input.display()))?;
    println!(
        "{}: {} Hz mono f32, {} samples ({:.3} s)",
        args.output.display(),
        audio::SAMPLE_RATE,
        kept.len(),
        kept.len() as f64 / f64::from(audio::SAMPLE_RATE)
    );
    Ok(())
}
