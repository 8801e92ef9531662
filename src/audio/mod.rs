//! Audio in and out: decode, downmix, resample, write WAV.
//!
//! Every later stage reads audio through [`load`] (or [`load_segment`]): any WAV, FLAC,
//! OGG Vorbis or MP3 file becomes the internal standard, [`SAMPLE_RATE`] mono `f32`.
//! The steps are public too, for the places that need them alone:
//!
//! ```text
//! file ──decode──► Decoded { native rate, channels, interleaved } ──downmix──► mono
//!      ──resample──► 24 kHz mono
//! ```
//!
//! A file that is missing, not audio, empty or damaged gives an error that names it and says
//! why (see [`decode`] for each case); no input makes these functions panic.
//!
//! ```no_run
//! # fn main() -> memsynth::Result<()> {
//! let track = memsynth::audio::load(std::path::Path::new("library/song.flac"))?;
//! let seconds = track.len() as f64 / f64::from(memsynth::audio::SAMPLE_RATE);
//! # let _ = seconds; Ok(()) }
//! ```

mod decode;
mod downmix;
mod mp3_frames;
mod ogg_pages;
mod resample;
mod sniff;
pub mod wav;

use std::path::Path;

pub use decode::{Decoded, decode, decode_read};
pub use downmix::downmix;
pub use resample::resample;

use crate::{Error, Result};

/// The internal sample rate, in Hz: every stage after [`load`] works at this rate.
pub const SAMPLE_RATE: u32 = 24_000;

/// Decodes a file, downmixes it to mono and resamples it to [`SAMPLE_RATE`].
///
/// # Errors
/// Those of [`decode`], and [`Error::Resample`] if resampling fails.
pub fn load(path: &Path) -> Result<Vec<f32>> {
    to_standard(decode(path)?)
}

/// Turns decoded audio into the internal standard: mono, [`SAMPLE_RATE`].
///
/// For callers that also want the source's rate and channel count (the `decode` command
/// prints them): `decode` once, read the fields, then call this.
///
/// # Errors
/// [`Error::Resample`] if resampling fails.
pub fn to_standard(decoded: Decoded) -> Result<Vec<f32>> {
    let mono = downmix(&decoded.samples, decoded.channels);
    // Free the interleaved copy before the resampler allocates its output.
    drop(decoded.samples);
    resample(&mono, decoded.sample_rate, SAMPLE_RATE)
}

/// Like [`load`], then keeps `duration_s` seconds from `start_s` (see [`segment`]).
/// The slice is cut after resampling, so its first samples are filtered with the audio
/// before them, exactly as in the whole file.
///
/// # Errors
/// Those of [`segment`] (checked before the file is read), then those of [`load`].
pub fn load_segment(path: &Path, start_s: f64, duration_s: f64) -> Result<Vec<f32>> {
    segment_range(0, start_s, duration_s)?;
    let mut audio = load(path)?;
    let range = segment_range(audio.len(), start_s, duration_s)?;
    audio.truncate(range.end);
    audio.drain(..range.start);
    Ok(audio)
}

/// The `duration_s` seconds from `start_s` of audio at [`SAMPLE_RATE`], times rounded to the
/// nearest sample. A segment reaching past the end is shortened (possibly to nothing); an
/// infinite `duration_s` means "to the end".
///
/// # Errors
/// [`Error::InvalidParameter`] if `start_s` is negative or not finite, or `duration_s` is
/// negative or NaN.
pub fn segment(audio: &[f32], start_s: f64, duration_s: f64) -> Result<&[f32]> {
    let range = segment_range(audio.len(), start_s, duration_s)?;
    Ok(&audio[range])
}

fn segment_range(len: usize, start_s: f64, duration_s: f64) -> Result<std::ops::Range<usize>> {
    if !start_s.is_finite() || start_s < 0.0 {
        return Err(Error::InvalidParameter {
            name: "start_s",
            reason: format!("{start_s}: must be ≥ 0 seconds"),
        });
    }
    if duration_s.is_nan() || duration_s < 0.0 {
        return Err(Error::InvalidParameter {
            name: "duration_s",
            reason: format!("{duration_s}: must be ≥ 0 seconds"),
        });
    }
    let rate = f64::from(SAMPLE_RATE);
    // Float-to-int casts saturate: a huge or infinite time lands past the end.
    let start = ((start_s * rate).round() as usize).min(len);
    let end = start.saturating_add((duration_s * rate).round() as usize).min(len);
    Ok(start..end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_round_to_samples_and_clamp() {
        let audio: Vec<f32> = (0..48_000).map(|i| i as f32).collect();
        let expected: Vec<f32> = (12_000..12_024).map(|i| i as f32).collect();
        assert_eq!(segment(&audio, 0.5, 0.001).unwrap(), expected);
        assert_eq!(segment(&audio, 1.5, f64::INFINITY).unwrap().len(), 12_000);
        assert_eq!(segment(&audio, 1.9, 1.0).unwrap().len(), 2_400);
        assert!(segment(&audio, 5.0, 1.0).unwrap().is_empty());
        assert!(segment(&audio, 1e300, 1e300).unwrap().is_empty());
        assert_eq!(segment(&audio, 0.0, 0.0).unwrap().len(), 0);
    }

    #[test]
    fn bad_times_are_rejected() {
        let audio = [0.0f32; 10];
        for (start, duration) in
            [(-1.0, 1.0), (f64::NAN, 1.0), (f64::INFINITY, 1.0), (0.0, -0.5), (0.0, f64::NAN)]
        {
            assert!(
                matches!(segment(&audio, start, duration), Err(Error::InvalidParameter { .. })),
                "{start} {duration}"
            );
        }
        // Checked before the file is touched.
        let missing = Path::new("/nonexistent/memsynth/file.wav");
        assert!(matches!(load_segment(missing, -1.0, 1.0), Err(Error::InvalidParameter { .. })));
        assert!(matches!(load_segment(missing, 0.0, 1.0), Err(Error::Read { .. })));
    }
}
