//! The feature standard (DESIGN.md §3): one definition of every frame-wise feature, shared
//! by analysis, the database, the models and the Python training code.
//!
//! Every object here plans in `new` (FFT plans, windows, filterbanks, scratch) and then
//! processes without allocating. Frame-wise objects take one spectrum frame at a time, so
//! the same code serves a whole track and a live stream. [`FeatureExtractor`] runs them all
//! over a track.
//!
//! Where librosa has the same feature, the numbers match librosa's (fixtures made by
//! `tests/fixtures/make_feature_fixtures.py`, compared in `tests/features_vs_librosa.rs`).

mod chroma;
mod features;
mod frames;
mod mel;
mod mfcc;
mod onset;
mod spectral;
mod stft;
mod tempogram;

pub use chroma::{Chroma, N_CHROMA};
pub use features::{FeatureExtractor, Features};
pub use frames::FrameMatrix;
pub use mel::{LogMel, MelFilterbank, hz_to_mel, mel_to_hz};
pub use mfcc::{Mfcc, N_MFCC};
pub use onset::{N_ONSET_BANDS, ONSET_BAND_EDGES, ONSET_DELAY_FRAMES, OnsetStrength};
/// A complex spectrum value (re-exported from `realfft`, whose FFTs the STFT uses).
pub use realfft::num_complex::Complex32;
pub use spectral::{N_CONTRAST, SpectralShape, SpectralStats};
pub use stft::{Istft, Stft, hann_window};
pub use tempogram::{TEMPOGRAM_WIN, Tempogram};
mod standard;
pub use standard::{FEATURE_STANDARD, standard_hash};

/// The internal sample rate, Hz.
pub const SAMPLE_RATE: u32 = 24_000;
/// FFT size and window length (Hann) of every spectrogram.
pub const N_FFT: usize = 1024;
/// Hop between frames: 250 samples, 96 frames per second.
pub const HOP: usize = 250;
/// Frames per second (`SAMPLE_RATE / HOP`).
pub const FRAME_RATE: f32 = SAMPLE_RATE as f32 / HOP as f32;
/// Frequency bins of a spectrum frame (`N_FFT / 2 + 1`).
pub const N_BINS: usize = N_FFT / 2 + 1;
/// Mel bands (Slaney scale and area normalisation, 0 Hz to [`F_MAX`]).
pub const N_MELS: usize = 128;
/// Upper edge of the mel filterbank, Hz.
pub const F_MAX: f32 = 12_000.0;
/// Floor applied before the logarithm of the mel magnitude: `ln(max(x, LOG_FLOOR))`.
pub const LOG_FLOOR: f32 = 1e-5;
/// Frames per beat of the tempo-normalised grid (120 BPM at [`HOP`]).
pub const FRAMES_PER_BEAT: usize = 48;
