//! The Vocos-style vocoder: the network (`vocoder.onnx`, log-mel → STFT magnitude and
//! phase) and its head's inverse STFT, which runs here rather than in the graph.
//!
//! The head is `torch.istft` of the training code (`mel.istft`): S = mag · e^(i·phase) with
//! n_fft 1024, hop 250, periodic Hann, `center=True`, `length = frames · 250`, window-square
//! normalised overlap-add. [`crate::dsp::Istft`] implements exactly that convention
//! (frame t centred on sample 250 t, the first 512 samples of the padded grid dropped), so
//! the head only reorders the network's channel-first output into frames.

use super::manifest::Manifest;
use super::onnx::{Input, OnnxModel};
use super::runtime::Threads;
use crate::dsp::{Complex32, HOP, Istft, N_BINS, N_FFT, N_MELS};
use crate::{Error, Result};

/// The vocoder head: magnitude and phase `[513, frames]` → `frames · 250` samples.
pub struct VocosHead {
    istft: Istft,
    spectra: Vec<Complex32>,
}

impl Default for VocosHead {
    fn default() -> Self {
        Self::new()
    }
}

impl VocosHead {
    /// Plans the inverse STFT of the feature standard.
    pub fn new() -> Self {
        Self { istft: Istft::new(N_FFT, HOP), spectra: Vec::new() }
    }

    /// Samples of `frames` frames.
    pub fn output_len(frames: usize) -> usize {
        frames * HOP
    }

    /// Writes the waveform of channel-first `mag` and `phase` (`[513, frames]` each) into
    /// `out` (`frames · 250` samples). Allocates only when a longer input than any before
    /// arrives.
    pub fn process(&mut self, mag: &[f32], phase: &[f32], out: &mut [f32]) -> Result<()> {
        if mag.len() != phase.len() || !mag.len().is_multiple_of(N_BINS) {
            return Err(Error::InvalidParameter {
                name: "spectrum",
                reason: format!(
                    "magnitude ({}) and phase ({}) must both be [{N_BINS}, frames]",
                    mag.len(),
                    phase.len()
                ),
            });
        }
        let frames = mag.len() / N_BINS;
        if out.len() != Self::output_len(frames) {
            return Err(Error::InvalidParameter {
                name: "waveform",
                reason: format!("{} samples for {frames} frames of hop {HOP}", out.len()),
            });
        }
        self.spectra.resize(frames * N_BINS, Complex32::default());
        for k in 0..N_BINS {
            let (m_row, p_row) =
                (&mag[k * frames..(k + 1) * frames], &phase[k * frames..(k + 1) * frames]);
            for (t, (&m, &p)) in m_row.iter().zip(p_row).enumerate() {
                let (s, c) = p.sin_cos();
                self.spectra[t * N_BINS + k] = Complex32::new(m * c, m * s);
            }
        }
        self.istft.process(&self.spectra, out);
        Ok(())
    }
}

/// The vocoder network and its head.
pub struct Vocoder {
    model: OnnxModel,
    head: VocosHead,
}

/// The network's output for one mel.
#[derive(Clone, Debug)]
pub struct Spectrum {
    /// Linear magnitude `[513, frames]`.
    pub mag: Vec<f32>,
    /// Phase in radians `[513, frames]`.
    pub phase: Vec<f32>,
}

impl Vocoder {
    /// Opens `vocoder` from the manifest.
    pub fn open(manifest: &Manifest, threads: Threads) -> Result<Self> {
        Ok(Self { model: OnnxModel::open(manifest, "vocoder", threads)?, head: VocosHead::new() })
    }

    /// Raw log-mel `[128, frames]` → magnitude and phase (the network only).
    pub fn spectrum(&mut self, mel: &[f32]) -> Result<Spectrum> {
        let frames = mel.len() / N_MELS;
        let mut out = self.model.run(
            &[Input { name: "mel", shape: vec![1, N_MELS, frames], data: mel }],
            &["mag", "phase"],
        )?;
        let phase = out.pop().map(|o| o.data).unwrap_or_default();
        let mag = out.pop().map(|o| o.data).unwrap_or_default();
        Ok(Spectrum { mag, phase })
    }

    /// Raw log-mel `[128, frames]` → `frames · 250` samples at 24 kHz.
    pub fn waveform(&mut self, mel: &[f32]) -> Result<Vec<f32>> {
        if mel.is_empty() || !mel.len().is_multiple_of(N_MELS) {
            return Err(Error::InvalidParameter {
                name: "mel",
                reason: format!("{} values are not whole frames of {N_MELS} bins", mel.len()),
            });
        }
        let spec = self.spectrum(mel)?;
        let mut out = vec![0.0; VocosHead::output_len(mel.len() / N_MELS)];
        self.head.process(&spec.mag, &spec.phase, &mut out)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::Stft;

    /// The STFT of a signal, channel-first magnitude and phase, as the network would give.
    fn analyse(x: &[f32], frames: usize) -> (Vec<f32>, Vec<f32>) {
        let mut stft = Stft::new(N_FFT, HOP);
        let mut mag = vec![0.0; N_BINS * frames];
        let mut phase = vec![0.0; N_BINS * frames];
        let mut frame = vec![Complex32::default(); N_BINS];
        for t in 0..frames {
            stft.frame_at(x, t, &mut frame);
            for (k, c) in frame.iter().enumerate() {
                mag[k * frames + t] = c.norm();
                phase[k * frames + t] = c.arg();
            }
        }
        (mag, phase)
    }

    #[test]
    fn head_inverts_the_stft() {
        let frames = 96;
        let x: Vec<f32> = (0..frames * HOP)
            .map(|n| {
                let n = n as f32;
                0.4 * (n * 0.05).sin()
                    + 0.2 * (n * 0.31).cos()
                    + 0.05 * ((n * 12.9898).sin() * 43758.5).fract()
            })
            .collect();
        let (mag, phase) = analyse(&x, frames);
        let mut y = vec![0.0; frames * HOP];
        VocosHead::new().process(&mag, &phase, &mut y).unwrap();
        let err = x.iter().zip(&y).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        assert!(err < 1e-4, "max error {err}");
    }

    #[test]
    fn a_windowed_cosine_spectrum_gives_the_cosine() {
        // A unit 1500 Hz cosine (bin 64) under the periodic Hann window has three bins per
        // frame: 256·e^(iφ) at bin 64 and 128·e^(i(φ+π)) at bins 63 and 65, with φ
        // advancing by 2π·64·250/1024 per frame (the frame's first sample is 250 t − 512).
        let frames = 40;
        let mut mag = vec![0.0; N_BINS * frames];
        let mut phase = vec![0.0; N_BINS * frames];
        for t in 0..frames {
            let phi = std::f64::consts::TAU * 64.0 * (t * HOP) as f64 / N_FFT as f64
                % std::f64::consts::TAU;
            mag[64 * frames + t] = 256.0;
            phase[64 * frames + t] = phi as f32;
            for k in [63, 65] {
                mag[k * frames + t] = 128.0;
                phase[k * frames + t] = (phi + std::f64::consts::PI) as f32;
            }
        }
        let mut y = vec![0.0; frames * HOP];
        VocosHead::new().process(&mag, &phase, &mut y).unwrap();
        for (n, &v) in y.iter().enumerate() {
            let want = (std::f64::consts::TAU * 1500.0 * n as f64 / 24_000.0).cos() as f32;
            assert!((v - want).abs() < 1e-3, "sample {n}: {v} vs {want}");
        }
    }

    #[test]
    fn mismatched_sizes_are_errors() {
        let mut head = VocosHead::new();
        let mut y = vec![0.0; 250];
        assert!(head.process(&[0.0; N_BINS], &[0.0; N_BINS - 1], &mut y).is_err());
        assert!(head.process(&[0.0; N_BINS], &[0.0; N_BINS], &mut [0.0; 10]).is_err());
        assert!(head.process(&[0.0; N_BINS], &[0.0; N_BINS], &mut y).is_ok());
    }
}
