//! Decoding any supported file to interleaved f32 at its own rate and channel count.

use std::io::{Cursor, Read};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use symphonia::core::codecs::audio::well_known as codec_ids;
use symphonia::core::codecs::audio::{AudioCodecId, AudioDecoder, AudioDecoderOptions};
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, FormatReader, TrackType};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;

use super::sniff::{self, Kind, NotAudio};
use super::{mp3_frames, ogg_pages};
use crate::{Error, Result};

/// Lowest and highest sample rates accepted from a file header. Outside this range a header
/// is far more likely to be damaged than real, and a resampler would need absurd filters.
const RATE_RANGE: std::ops::RangeInclusive<u32> = 1_000..=768_000;

/// Bytes read to recognise a file before reading the rest of it.
const SNIFF_LEN: u64 = 64 * 1024;

/// A decoded file at its native rate and channel count.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// Sample rate in Hz.
    pub sample_rate: u32,
    /// Number of channels (at least 1).
    pub channels: usize,
    /// Samples, interleaved by channel, in [-1, 1] for integer sources.
    pub samples: Vec<f32>,
}

impl Decoded {
    /// Number of frames (samples per channel).
    pub fn frames(&self) -> usize {
        self.samples.len() / self.channels.max(1)
    }

    /// Duration in seconds.
    pub fn duration_s(&self) -> f64 {
        self.frames() as f64 / f64::from(self.sample_rate)
    }
}

/// Decodes a whole WAV, FLAC, OGG Vorbis or MP3 file at its native rate and channel count.
///
/// The file is recognised by its first bytes (not its name), then decoded by symphonia with
/// every packet checked. What each kind of damage gives (each error names the file):
///
/// | the file | result |
/// |---|---|
/// | missing, a directory, unreadable | [`Error::Read`] with the OS reason |
/// | zero bytes long | [`Error::Empty`] (it holds no samples; it is not "some other format") |
/// | text, an image, random bytes, M4A, AIFF, … | [`Error::Unsupported`] saying what it looks like |
/// | OGG with a codec other than Vorbis (e.g. Opus), WAV with an unsupported encoding | [`Error::Unsupported`] |
/// | a header cut short (e.g. the first 30 bytes of a WAV) | [`Error::Corrupt`] |
/// | a valid header with no frames (WAV with an empty `data` chunk) | [`Error::Empty`] |
/// | WAV cut short: fewer frames than the `data` chunk promises | [`Error::Corrupt`] |
/// | FLAC cut short: fewer frames than STREAMINFO promises | [`Error::Corrupt`] |
/// | FLAC with damaged frames | [`Error::Corrupt`] (frames failing their CRC are dropped, so fewer frames than STREAMINFO states decode; changed audio fails STREAMINFO's MD5) |
/// | OGG cut short, or a stream without its end-of-stream page | [`Error::Corrupt`] (found by walking the pages) |
/// | OGG with any damaged byte (a page fails its CRC-32) | [`Error::Corrupt`] (same walk) |
/// | MP3 cut short: the last frame incomplete | [`Error::Corrupt`] (found by walking the frame headers) |
/// | MP3 with damaged bytes where a frame header should be | [`Error::Corrupt`] (same walk) |
/// | any packet the codec rejects (symphonia `DecodeError`) | [`Error::Corrupt`] |
/// | a panic inside symphonia | [`Error::Corrupt`] ("the decoder crashed on this file") |
/// | sample rate outside 1–768 kHz, or the format changing mid-file | [`Error::Unsupported`] / [`Error::Corrupt`] |
///
/// What cannot be detected: changed bytes inside the PCM data of a WAV or inside the audio
/// data of an MP3 frame (neither format carries a checksum; they decode as changed audio),
/// and an MP3 cut exactly on a frame boundary (it looks like a shorter, valid file). A FLAC
/// whose encoder left the MD5 signature empty is checked only by its frame CRCs and length.
pub fn decode(path: &Path) -> Result<Decoded> {
    decode_read(path, read_audio_file(path)?)
}

/// [`decode`] of `bytes` already read from `path` (named in errors): for a caller that
/// needed the bytes anyway, e.g. to hash them, so a large file is read from disk once.
pub fn decode_read(path: &Path, bytes: Vec<u8>) -> Result<Decoded> {
    if bytes.is_empty() {
        return Err(Error::Empty { path: path.to_path_buf() });
    }
    // Decoders of outside input do panic now and then; a damaged file must not take the
    // caller (an analysis run, a server) down with it.
    match catch_unwind(AssertUnwindSafe(|| check_and_decode(path, bytes))) {
        Ok(result) => result,
        Err(panic) => Err(crashed(path, panic.as_ref())),
    }
}

fn check_and_decode(path: &Path, bytes: Vec<u8>) -> Result<Decoded> {
    let kind = sniff::sniff(&bytes).map_err(|e| not_audio(path, e))?;
    // Damage that symphonia reads past without a word: check the structure first.
    let structure = match kind {
        Kind::Mpeg => mp3_frames::check(&bytes),
        Kind::Ogg => ogg_pages::check(&bytes),
        Kind::Wav | Kind::Flac => Ok(()),
    };
    structure.map_err(|reason| corrupt(path, reason))?;
    decode_bytes(path, kind, bytes)
}

/// The error for a decoder that panicked on `path`, with the panic's message.
fn crashed(path: &Path, panic: &(dyn std::any::Any + Send)) -> Error {
    let what = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string());
    corrupt(path, format!("the decoder crashed on this file ({what})"))
}

/// Reads the file, but only the first bytes of one that is plainly not audio.
fn read_audio_file(path: &Path) -> Result<Vec<u8>> {
    let read_err = |source| Error::Read { path: path.to_path_buf(), source };
    let mut file = std::fs::File::open(path).map_err(read_err)?;
    let mut bytes = Vec::new();
    (&mut file).take(SNIFF_LEN).read_to_end(&mut bytes).map_err(read_err)?;
    if bytes.is_empty() {
        return Err(Error::Empty { path: path.to_path_buf() });
    }
    // An ID3 tag may be longer than the sniffed window; the audio after it decides.
    let may_be_audio = bytes.starts_with(b"ID3") || sniff::sniff(&bytes).is_ok();
    if may_be_audio {
        file.read_to_end(&mut bytes).map_err(read_err)?;
    }
    Ok(bytes)
}

fn not_audio(path: &Path, why: NotAudio) -> Error {
    match why {
        NotAudio::Other(what) => {
            Error::Unsupported { path: path.to_path_buf(), reason: format!("it is {what}") }
        }
        NotAudio::CutShort(reason) => corrupt(path, reason),
    }
}

fn corrupt(path: &Path, reason: impl Into<String>) -> Error {
    Error::Corrupt { path: path.to_path_buf(), reason: reason.into() }
}

/// Maps a symphonia error to ours. `Unsupported` stays unsupported; everything else that the
/// data caused (malformed stream, early end, limits) means the file is damaged.
fn from_symphonia(path: &Path, err: SymphoniaError) -> Error {
    let path_buf: PathBuf = path.to_path_buf();
    match err {
        SymphoniaError::Unsupported(what) => {
            Error::Unsupported { path: path_buf, reason: what.to_string() }
        }
        SymphoniaError::IoError(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            corrupt(path, "the file ends in the middle of its data (cut short)")
        }
        SymphoniaError::IoError(source) => Error::Read { path: path_buf, source },
        other => corrupt(path, other.to_string()),
    }
}

/// The decode loop proper, on a file already recognised as `kind`.
fn decode_bytes(path: &Path, kind: Kind, bytes: Vec<u8>) -> Result<Decoded> {
    let sym = |e| from_symphonia(path, e);
    let byte_len = bytes.len();
    let mss = MediaSourceStream::new(Box::new(Cursor::new(bytes)), Default::default());
    let mut hint = Hint::new();
    hint.with_extension(match kind {
        Kind::Wav => "wav",
        Kind::Flac => "flac",
        Kind::Ogg => "ogg",
        Kind::Mpeg => "mp3",
    });
    let mut format = symphonia::default::get_probe()
        .probe(&hint, mss, FormatOptions::default(), MetadataOptions::default())
        .map_err(sym)?;

    let mut stream = Stream::open(path, format.as_ref())?;
    let (sample_rate, channels) = (stream.sample_rate, stream.channels);
    let mut samples: Vec<f32> = Vec::new();
    if let Some(frames) = stream.expected_frames {
        // A header may lie; reserve only what the file could plausibly hold.
        samples
            .reserve((frames as usize).saturating_mul(channels).min(byte_len.saturating_mul(16)));
    }
    // Each packet consumes at least one byte of the file; more packets than bytes means a
    // reader that no longer advances.
    let max_packets = byte_len + 1024;
    let mut packets = 0usize;
    loop {
        let packet = match format.next_packet() {
            Ok(Some(packet)) => packet,
            Ok(None) => break,
            Err(SymphoniaError::ResetRequired) => {
                // A chained Ogg file: a new logical stream begins. Accept it only if it
                // continues in the same format; its length joins what is expected.
                let next = Stream::open(path, format.as_ref())?;
                if (next.sample_rate, next.channels) != (sample_rate, channels) {
                    return Err(Error::Unsupported {
                        path: path.to_path_buf(),
                        reason: format!(
                            "the file chains streams of different formats ({sample_rate} Hz × {channels} then {} Hz × {})",
                            next.sample_rate, next.channels
                        ),
                    });
                }
                let decoded = (samples.len() / channels) as u64;
                stream.check_complete(path, decoded, kind)?;
                stream =
                    Stream { expected_frames: next.expected_frames.map(|n| n + decoded), ..next };
                continue;
            }
            Err(e) => return Err(sym(e)),
        };
        packets += 1;
        if packets > max_packets {
            return Err(corrupt(path, "the demuxer stopped advancing through the file"));
        }
        if packet.track_id != stream.track_id {
            continue;
        }
        let at_s = samples.len() as f64 / (channels * sample_rate as usize) as f64;
        let buf = stream.decoder.decode(&packet).map_err(|e| match e {
            SymphoniaError::Unsupported(_) => sym(e),
            e => corrupt(path, format!("{e} at {at_s:.2} s")),
        })?;
        let spec = buf.spec();
        if spec.rate() != sample_rate || spec.channels().count() != channels {
            return Err(corrupt(
                path,
                format!(
                    "the format changes at {at_s:.2} s ({sample_rate} Hz × {channels} to {} Hz × {})",
                    spec.rate(),
                    spec.channels().count()
                ),
            ));
        }
        let start = samples.len();
        samples.resize(start + buf.samples_interleaved(), 0.0);
        buf.copy_to_slice_interleaved(&mut samples[start..]);
    }
    if stream.decoder.finalize().verify_ok == Some(false) {
        return Err(corrupt(path, "the decoded audio does not match the file's MD5 checksum"));
    }
    stream.check_complete(path, (samples.len() / channels) as u64, kind)?;
    if samples.is_empty() {
        return Err(Error::Empty { path: path.to_path_buf() });
    }
    Ok(Decoded { sample_rate, channels, samples })
}

/// The audio track being decoded and what its container says about it.
struct Stream {
    track_id: u32,
    sample_rate: u32,
    channels: usize,
    /// Frames the container states (for MP3 possibly an estimate from the bit rate).
    expected_frames: Option<u64>,
    decoder: Box<dyn AudioDecoder>,
}

impl Stream {
    fn open(path: &Path, format: &dyn FormatReader) -> Result<Stream> {
        let unsupported = |reason: String| Error::Unsupported { path: path.to_path_buf(), reason };
        let track = format.default_track(TrackType::Audio).ok_or_else(|| {
            unsupported("no audio track in a codec memsynth decodes (OGG must hold Vorbis)".into())
        })?;
        let params = track
            .codec_params
            .as_ref()
            .and_then(|p| p.audio())
            .ok_or_else(|| unsupported("the audio track has no codec parameters".into()))?;
        let decoder = symphonia::default::get_codecs()
            .make_audio_decoder(params, &AudioDecoderOptions::default().verify(true))
            .map_err(|e| match e {
                SymphoniaError::Unsupported(_) => unsupported(format!(
                    "its audio is {}, which memsynth does not decode (convert it to FLAC, OGG Vorbis or WAV)",
                    codec_name(params.codec)
                )),
                e => from_symphonia(path, e),
            })?;
        // The decoder's view is the more complete one (some set the rate or channel layout
        // only once they have read their own headers).
        let decoder_params = decoder.codec_params();
        let sample_rate = decoder_params.sample_rate.or(params.sample_rate);
        let channels =
            decoder_params.channels.as_ref().or(params.channels.as_ref()).map(|c| c.count());
        let (Some(sample_rate), Some(channels)) = (sample_rate, channels) else {
            return Err(corrupt(path, "the header states no sample rate or channel count"));
        };
        if !RATE_RANGE.contains(&sample_rate) {
            return Err(unsupported(format!(
                "sample rate {sample_rate} Hz is outside 1 kHz – 768 kHz"
            )));
        }
        if channels == 0 {
            return Err(corrupt(path, "the header states zero channels"));
        }
        Ok(Stream {
            track_id: track.id,
            sample_rate,
            channels,
            expected_frames: track.num_frames,
            decoder,
        })
    }

    /// A file that decodes to fewer frames than its container states was cut short or lost
    /// packets to damage. MP3 is exempt: its count may be an estimate from the bit rate, and
    /// its frame walk has already checked it.
    fn check_complete(&self, path: &Path, decoded: u64, kind: Kind) -> Result<()> {
        let Some(expected) = self.expected_frames else { return Ok(()) };
        if kind == Kind::Mpeg || decoded >= expected {
            return Ok(());
        }
        let rate = f64::from(self.sample_rate);
        Err(corrupt(
            path,
            format!(
                "the file is cut short or damaged: its header promises {expected} frames ({:.2} s) \
                 but only {decoded} ({:.2} s) decode",
                expected as f64 / rate,
                decoded as f64 / rate
            ),
        ))
    }
}

/// A name for the codecs a performer's files are most likely to hold that memsynth does not read.
fn codec_name(id: AudioCodecId) -> String {
    let name = match id {
        codec_ids::CODEC_ID_OPUS => "Opus",
        codec_ids::CODEC_ID_SPEEX => "Speex",
        codec_ids::CODEC_ID_AAC => "AAC",
        codec_ids::CODEC_ID_MP1 => "MPEG Layer I",
        codec_ids::CODEC_ID_MP2 => "MPEG Layer II",
        codec_ids::CODEC_ID_WMA => "Windows Media Audio",
        codec_ids::CODEC_ID_AC3 => "AC-3",
        _ => return format!("in codec {id}"),
    };
    name.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_corrupt_with_its_message() {
        let path = Path::new("song.flac");
        let payload = catch_unwind(|| panic!("index out of bounds: {}", 7)).unwrap_err();
        let err = crashed(path, payload.as_ref());
        assert!(matches!(err, Error::Corrupt { .. }));
        assert!(err.to_string().contains("song.flac"), "{err}");
        assert!(err.to_string().contains("crashed on this file (index out of bounds: 7)"), "{err}");
        let payload = catch_unwind(|| std::panic::panic_any(42)).unwrap_err();
        assert!(crashed(path, payload.as_ref()).to_string().contains("unknown panic"));
    }
}
