//! Writing the library to disk: WAV files, their JSON truths and `library.json`.

use std::fs;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{CHANNELS, DemoLibraryOptions, GENERATOR_VERSION, SAMPLE_RATE, Style, plan, render};
use crate::{Error, Result};

/// The most tracks one library may have.
const MAX_TRACKS: usize = 999;

/// `library.json`: what the generator made. It is written last, so a library without it
/// is incomplete.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LibraryIndex {
    /// Always `"memsynth demo-library"`.
    pub generator: String,
    /// [`GENERATOR_VERSION`] of the generator that wrote it.
    pub generator_version: u32,
    /// The seed.
    pub seed: u64,
    /// Sample rate of every WAV file, Hz.
    pub sample_rate: u32,
    /// Channels of every WAV file.
    pub channels: u16,
    /// The tracks, in order.
    pub tracks: Vec<LibraryTrack>,
}

/// One track in `library.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LibraryTrack {
    /// The WAV file's name, relative to the library folder.
    pub audio: String,
    /// The ground-truth JSON file's name, relative to the library folder.
    pub truth: String,
    /// The title.
    pub title: String,
    /// The style.
    pub style: Style,
    /// Tempo, BPM.
    pub tempo: f64,
    /// The key, e.g. `"F# minor"`.
    pub key: String,
    /// Length, seconds.
    pub duration: f64,
}

/// Synthesises the library into `out` (created if missing; existing files are
/// overwritten): for each track `NN-style-Key-mode.wav` (16-bit PCM stereo at
/// [`SAMPLE_RATE`]) and `NN-style-Key-mode.json` (its [`GroundTruth`](super::GroundTruth)),
/// then `library.json` ([`LibraryIndex`]). Returns the WAV files' paths in track order.
///
/// `progress(done, total, stem)` is called after each track is written.
///
/// # Errors
///
/// [`Error::InvalidParameter`] when `tracks` is 0 or above 999, [`Error::Write`] when a
/// file or the folder cannot be written.
pub fn write_library(
    out: &Path,
    options: &DemoLibraryOptions,
    mut progress: impl FnMut(usize, usize, &str),
) -> Result<Vec<PathBuf>> {
    if options.tracks == 0 || options.tracks > MAX_TRACKS {
        return Err(Error::InvalidParameter {
            name: "tracks",
            reason: format!("{} tracks asked for; choose 1 to {MAX_TRACKS}", options.tracks),
        });
    }
    fs::create_dir_all(out).map_err(|e| write_error(out, e))?;
    let specs = plan(options);
    let mut index = LibraryIndex {
        generator: "memsynth demo-library".to_string(),
        generator_version: GENERATOR_VERSION,
        seed: options.seed,
        sample_rate: SAMPLE_RATE,
        channels: CHANNELS,
        tracks: Vec::with_capacity(specs.len()),
    };
    let mut paths = Vec::with_capacity(specs.len());
    for (done, spec) in specs.iter().enumerate() {
        let stem = spec.stem();
        let (audio, truth) = render(spec);
        let wav = out.join(format!("{stem}.wav"));
        let json = out.join(format!("{stem}.json"));
        write_wav(&wav, &audio)?;
        write_json(&json, &truth)?;
        index.tracks.push(LibraryTrack {
            audio: format!("{stem}.wav"),
            truth: format!("{stem}.json"),
            title: truth.title.clone(),
            style: truth.style,
            tempo: truth.tempo,
            key: truth.key.clone(),
            duration: truth.duration,
        });
        paths.push(wav);
        progress(done + 1, specs.len(), &stem);
    }
    write_json(&out.join("library.json"), &index)?;
    Ok(paths)
}

fn write_error(path: &Path, error: impl std::fmt::Display) -> Error {
    Error::Write { path: path.to_path_buf(), reason: error.to_string() }
}

/// Writes to `path.tmp` and renames, so an interrupted run never leaves a short file
/// under the real name.
fn write_atomically(path: &Path, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    write(&tmp)?;
    fs::rename(&tmp, path).map_err(|e| write_error(path, e))
}

/// Writes interleaved stereo samples within ±1 as 16-bit PCM.
fn write_wav(path: &Path, audio: &[f32]) -> Result<()> {
    write_atomically(path, |tmp| {
        let spec = hound::WavSpec {
            channels: CHANNELS,
            sample_rate: SAMPLE_RATE,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut writer = hound::WavWriter::create(tmp, spec).map_err(|e| write_error(path, e))?;
        for chunk in audio.chunks(1 << 16) {
            let mut samples = writer.get_i16_writer(chunk.len() as u32);
            for &x in chunk {
                samples.write_sample(to_i16(x));
            }
            samples.flush().map_err(|e| write_error(path, e))?;
        }
        writer.finalize().map_err(|e| write_error(path, e))
    })
}

/// A sample within ±1 as 16-bit PCM, rounded.
pub(crate) fn to_i16(x: f32) -> i16 {
    (x.clamp(-1.0, 1.0) * i16::MAX as f32).round() as i16
}

fn write_json(path: &Path, value: &impl Serialize) -> Result<()> {
    write_atomically(path, |tmp| {
        let file = fs::File::create(tmp).map_err(|e| write_error(path, e))?;
        let mut writer = BufWriter::new(file);
        serde_json::to_writer_pretty(&mut writer, value).map_err(|e| write_error(path, e))?;
        writer.write_all(b"\n").and_then(|()| writer.flush()).map_err(|e| write_error(path, e))
    })
}
