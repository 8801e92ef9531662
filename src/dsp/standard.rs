//! The feature standard as one canonical text, and its hash.
//!
//! Models are trained on data made with one standard and run against features made with
//! another only by mistake; the hash makes the mistake loud. [`FEATURE_STANDARD`] names every
//! parameter that changes the numbers a model sees (audio, STFT, mel, log, beat grid and
//! window shape), [`standard_hash`] is the BLAKE3 of its bytes. The dataset export writes
//! both into its `manifest.json`, the training code copies the hash into
//! `models/manifest.ron`, and the server refuses models whose hash differs from its own.
//!
//! The Python training code must hash the same text, byte for byte (ASCII, `\n` line ends,
//! a final newline): `blake3.blake3(FEATURE_STANDARD.encode()).hexdigest()`. It takes the
//! text from the export's manifest (`feature_standard`) or a copy of this constant, never a
//! retyped version.
//!
//! Changing any line changes the hash and so retires every trained model: do it only when
//! the standard really changes, together with the constants in [`crate::dsp`].

/// Every parameter of the audio and feature standard and of the beat grid (DESIGN.md §3), one
/// `key = value` per line. A unit test checks it against the constants of [`crate::dsp`] and
/// the dataset export checks it against its window shape.
pub const FEATURE_STANDARD: &str = "\
memsynth feature standard 1
sample_rate = 24000
channels = 1 (mono mix)
n_fft = 1024
win_length = 1024
window = hann periodic
hop_length = 250
frame_rate = 96
center = true, zero padding (frame t centred on sample 250 t)
n_mels = 128
mel_scale = slaney
mel_norm = slaney
fmin = 0
fmax = 12000
spectrum = magnitude
log = ln(max(x, 1e-5))
frames_per_beat = 48
beats_per_bar = 4
bars_per_window = 4
context_bars = 1
beat_sampling = linear in time between beats and between frames
";

/// BLAKE3 of [`FEATURE_STANDARD`]'s bytes, 64 lowercase hex digits.
pub fn standard_hash() -> String {
    blake3::hash(FEATURE_STANDARD.as_bytes()).to_hex().to_string()
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::dsp::{
        F_MAX, FRAME_RATE, FRAMES_PER_BEAT, HOP, LOG_FLOOR, N_FFT, N_MELS, SAMPLE_RATE,
        hann_window, hz_to_mel,
    };

    fn fields() -> HashMap<&'static str, &'static str> {
        FEATURE_STANDARD.lines().skip(1).filter_map(|l| l.split_once(" = ")).collect()
    }

    fn number(key: &str) -> f64 {
        let fields = fields();
        let value = fields.get(key).unwrap_or_else(|| panic!("{key} is missing"));
        value.parse().unwrap_or_else(|_| panic!("{key} = {value} is not a number"))
    }

    #[test]
    fn the_text_agrees_with_the_constants() {
        assert_eq!(number("sample_rate"), f64::from(SAMPLE_RATE));
        assert_eq!(number("sample_rate"), f64::from(crate::audio::SAMPLE_RATE));
        assert_eq!(number("n_fft"), N_FFT as f64);
        assert_eq!(number("win_length"), N_FFT as f64);
        assert_eq!(number("hop_length"), HOP as f64);
        assert_eq!(number("frame_rate"), f64::from(FRAME_RATE));
        assert_eq!(number("n_mels"), N_MELS as f64);
        assert_eq!(number("fmin"), 0.0);
        assert_eq!(number("fmax"), f64::from(F_MAX));
        assert_eq!(number("frames_per_beat"), FRAMES_PER_BEAT as f64);
        assert_eq!(fields()["log"], format!("ln(max(x, {LOG_FLOOR:e}))"));
        // Slaney's scale is linear below 1 kHz (15 mels at 1 kHz); HTK's is not.
        assert_eq!(fields()["mel_scale"], "slaney");
        assert!((hz_to_mel(1000.0) - 15.0).abs() < 1e-12);
        // Periodic Hann: the window of n points is one period of n + 1 samples cut short.
        assert_eq!(fields()["window"], "hann periodic");
        let window = hann_window(4);
        assert!(window.iter().zip([0.0, 0.5, 1.0, 0.5]).all(|(w, want)| (w - want).abs() < 1e-12));
        assert!(FEATURE_STANDARD.is_ascii() && FEATURE_STANDARD.ends_with('\n'));
        assert!(!FEATURE_STANDARD.contains('\r'));
    }

    #[test]
    fn the_hash_is_blake3_hex_of_the_text() {
        let hash = standard_hash();
        assert_eq!(hash.len(), 64);
        assert!(hash.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert_eq!(hash, blake3::hash(FEATURE_STANDARD.as_bytes()).to_hex().as_str());
        assert_ne!(hash, blake3::hash(FEATURE_STANDARD.trim_end().as_bytes()).to_hex().as_str());
    }
}
