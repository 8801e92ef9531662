//! The VQ-VAE's two halves: the encoder (raw log-mel → continuous latent, for a context bar
//! taken from real audio) and the decoder (latent → nearest codes and their log-mel, the
//! codebook inside the graph).

use super::manifest::Manifest;
use super::onnx::{Input, OnnxModel};
use super::runtime::Threads;
use crate::Result;

/// What the decoder gives for one latent chunk.
#[derive(Clone, Debug)]
pub struct Decoded {
    /// Log-mel `[128, mel_frames]`, channel-first.
    pub mel: Vec<f32>,
    /// The nearest code per latent frame.
    pub tokens: Vec<i64>,
}

/// `vqvae_decoder.onnx`.
pub struct VqDecoder {
    model: OnnxModel,
    channels: usize,
    latent_frames: usize,
}

impl VqDecoder {
    /// Opens the decoder named in the manifest.
    pub fn open(manifest: &Manifest, threads: Threads) -> Result<Self> {
        let channels = manifest.diffusion().map(|d| d.channels).unwrap_or(64);
        Ok(Self {
            model: OnnxModel::open(manifest, "vqvae_decoder", threads)?,
            channels,
            latent_frames: manifest.doc.chunk.latent_frames,
        })
    }

    /// Decodes one chunk's latent `[C, latent_frames]` (the VQ-VAE's scale, not the
    /// diffusion's).
    pub fn decode(&mut self, latent: &[f32]) -> Result<Decoded> {
        let out = self.model.run(
            &[Input {
                name: "latent",
                shape: vec![1, self.channels, self.latent_frames],
                data: latent,
            }],
            &["mel", "tokens"],
        )?;
        Ok(Decoded {
            mel: out[0].data.clone(),
            tokens: out[1].data.iter().map(|&x| x as i64).collect(),
        })
    }
}

/// `vqvae_encoder.onnx`.
pub struct VqEncoder {
    model: OnnxModel,
    mel_frames: usize,
}

impl VqEncoder {
    /// Opens the encoder named in the manifest.
    pub fn open(manifest: &Manifest, threads: Threads) -> Result<Self> {
        Ok(Self {
            model: OnnxModel::open(manifest, "vqvae_encoder", threads)?,
            mel_frames: manifest.doc.chunk.mel_frames,
        })
    }

    /// Encodes one chunk of raw log-mel `[128, mel_frames]` to its continuous latent.
    pub fn encode(&mut self, mel: &[f32]) -> Result<Vec<f32>> {
        let out = self.model.run(
            &[Input {
                name: "mel",
                shape: vec![1, crate::dsp::N_MELS, self.mel_frames],
                data: mel,
            }],
            &["latent"],
        )?;
        Ok(out.into_iter().next().map(|o| o.data).unwrap_or_default())
    }
}
