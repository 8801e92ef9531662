//! Writing WAV files: 32-bit float (the internal standard, bit-exact) and 16-bit PCM.
//!
//! Files are written to a temporary sibling and renamed into place, so a reader (or a crash)
//! never sees half a file under the final name.

use std::path::{Path, PathBuf};

use hound::{SampleFormat, WavSpec, WavWriter};

use crate::{Error, Result};

/// Writes mono samples as a 32-bit float WAV, bit-exact.
///
/// # Errors
/// [`Error::InvalidParameter`] for a zero rate, [`Error::Write`] if the file cannot be written.
pub fn write_f32_mono(path: &Path, sample_rate: u32, samples: &[f32]) -> Result<()> {
    let spec = WavSpec {
        channels: 1,
        sample_rate,
        bits_per_sample: 32,
        sample_format: SampleFormat::Float,
    };
    write(path, spec, |w| samples.iter().try_for_each(|&s| w.write_sample(s)))
}

/// Writes interleaved samples as 16-bit PCM, clamping to [-1, 1] (NaN becomes 0) and
/// rounding to the nearest step of 1/32767.
///
/// # Errors
/// [`Error::InvalidParameter`] for a zero rate, a channel count outside 1..=65535 or a sample
/// count that is not a whole number of frames; [`Error::Write`] if the file cannot be written.
pub fn write_pcm16(
    path: &Path,
    sample_rate: u32,
    channels: usize,
    interleaved: &[f32],
) -> Result<()> {
    let channel_count =
        u16::try_from(channels).ok().filter(|&c| c > 0).ok_or_else(|| Error::InvalidParameter {
            name: "channels",
            reason: format!("{channels}: must be 1..=65535"),
        })?;
    if !interleaved.len().is_multiple_of(channels) {
        return Err(Error::InvalidParameter {
            name: "interleaved",
            reason: format!(
                "{} samples is not a whole number of {channels}-channel frames",
                interleaved.len()
            ),
        });
    }
    let spec = WavSpec {
        channels: channel_count,
        sample_rate,
        bits_per_sample: 16,
        sample_format: SampleFormat::Int,
    };
    write(path, spec, |w| interleaved.iter().try_for_each(|&s| w.write_sample(to_i16(s))))
}

/// `s` in [-1, 1] to the nearest 16-bit step; out-of-range values clamp, NaN gives 0.
fn to_i16(s: f32) -> i16 {
    // `as` saturates and maps NaN to 0.
    (s.clamp(-1.0, 1.0) * 32767.0).round() as i16
}

type Writer = WavWriter<std::io::BufWriter<std::fs::File>>;

fn write(
    path: &Path,
    spec: WavSpec,
    body: impl FnOnce(&mut Writer) -> hound::Result<()>,
) -> Result<()> {
    if spec.sample_rate == 0 {
        return Err(Error::InvalidParameter {
            name: "sample rate",
            reason: "0 Hz: must be positive".into(),
        });
    }
    let tmp = temp_sibling(path);
    let failed = |reason: String| {
        // Best effort: the temporary file is ours and useless now.
        let _ = std::fs::remove_file(&tmp);
        Error::Write { path: path.to_path_buf(), reason }
    };
    let result = WavWriter::create(&tmp, spec).and_then(|mut w| {
        body(&mut w)?;
        w.finalize()
    });
    result.map_err(|e| failed(e.to_string()))?;
    std::fs::rename(&tmp, path).map_err(|e| failed(e.to_string()))
}

/// `dir/.name.tmp-<pid>` next to `path`, so the final rename stays on one file system.
fn temp_sibling(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_path(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("memsynth-wav-{}-{name}", std::process::id()))
    }

    #[test]
    fn float_round_trip_is_exact() {
        let path = temp_path("f32.wav");
        let x = [0.0, 0.5, -1.25, 1e-7, f32::MIN_POSITIVE];
        write_f32_mono(&path, 24_000, &x).unwrap();
        let mut r = hound::WavReader::open(&path).unwrap();
        assert_eq!(r.spec().sample_rate, 24_000);
        assert_eq!(r.spec().sample_format, SampleFormat::Float);
        let y: Vec<f32> = r.samples::<f32>().map(|s| s.unwrap()).collect();
        assert_eq!(y, x);
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn pcm16_clamps_and_rounds() {
        let path = temp_path("i16.wav");
        let x = [0.0, 1.0, -1.0, 2.0, -3.0, 0.5, f32::NAN, 0.75 / 32767.0];
        write_pcm16(&path, 44_100, 2, &x).unwrap();
        let mut r = hound::WavReader::open(&path).unwrap();
        assert_eq!(r.spec().channels, 2);
        let y: Vec<i16> = r.samples::<i16>().map(|s| s.unwrap()).collect();
        assert_eq!(y, [0, 32767, -32767, 32767, -32767, 16384, 0, 1]);
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn bad_arguments_and_paths_are_errors() {
        let path = temp_path("bad.wav");
        assert!(matches!(write_pcm16(&path, 44_100, 0, &[]), Err(Error::InvalidParameter { .. })));
        assert!(matches!(
            write_pcm16(&path, 44_100, 2, &[0.0; 3]),
            Err(Error::InvalidParameter { .. })
        ));
        assert!(matches!(write_f32_mono(&path, 0, &[0.0]), Err(Error::InvalidParameter { .. })));
        let missing_dir = temp_path("no-such-dir").join("x.wav");
        match write_f32_mono(&missing_dir, 24_000, &[0.0]) {
            Err(Error::Write { path, .. }) => assert_eq!(path, missing_dir),
            other => panic!("{other:?}"),
        }
        assert!(!path.exists());
    }
}
