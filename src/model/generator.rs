//! Offline generation: condition → DDIM on the latent (per 4-bar chunk, the previous bar as
//! masked context) → VQ decode → tempo stretch → vocoder → waveform.
//!
//! Deterministic for a seed: the noise of every chunk comes from one seeded Gaussian
//! stream ([`GaussianNoise`]), and ONNX Runtime on the CPU gives the same numbers for the
//! same inputs and thread count.

use std::path::Path;
use std::time::Duration;

use super::cond::{COND_DIMS, bar_position, condition};
use super::ddim::{Ddim, SampleShape};
use super::manifest::Manifest;
use super::noise::GaussianNoise;
use super::runtime::Threads;
use super::stretch::{GRID_BPM, stretch_to_tempo};
use super::unet::UNet;
use super::vocoder::Vocoder;
use super::vqvae::VqDecoder;
use crate::dsp::N_MELS;
use crate::{Error, Result};

/// Bars in one generated chunk (the models' fixed window).
pub const CHUNK_BARS: usize = 4;

/// The models a generation needs, opened once.
pub struct Models {
    /// The parsed, hash-checked manifest.
    pub manifest: Manifest,
    unet: UNet,
    decoder: VqDecoder,
    vocoder: Vocoder,
    latent_scale: f32,
}

/// What to generate.
#[derive(Clone, Debug)]
pub struct Request {
    /// Standardised e_phrase (256).
    pub e_phrase: Vec<f32>,
    /// Z-scored e_motion (104) per 4-bar chunk; a chunk past the end of the list, or a
    /// `None`, has no motion (zeros, as the training code's motion dropout).
    pub e_motion: Vec<Option<Vec<f32>>>,
    /// Bars of output (rounded up to whole chunks for sampling, cut back after).
    pub bars: usize,
    /// DDIM steps.
    pub steps: usize,
    /// Classifier-free guidance scale.
    pub guidance: f32,
    /// Live tempo, BPM; `None` keeps the grid's 120 BPM.
    pub tempo: Option<f64>,
    /// Noise seed.
    pub seed: u64,
}

/// Time spent per stage, by the clock the caller gave.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StageTimes {
    /// DDIM sampling (every U-Net call, guidance included).
    pub sampling: Duration,
    /// VQ decode.
    pub decode: Duration,
    /// Tempo stretch of the mel.
    pub stretch: Duration,
    /// Vocoder network and its inverse STFT.
    pub vocoder: Duration,
}

impl StageTimes {
    /// All stages together.
    pub fn total(&self) -> Duration {
        self.sampling + self.decode + self.stretch + self.vocoder
    }
}

/// A generated phrase and its intermediate grids.
#[derive(Clone, Debug)]
pub struct Generated {
    /// The sampled latent per chunk, diffusion scale, `[C, L]` each.
    pub latents: Vec<Vec<f32>>,
    /// Log-mel on the 120 BPM grid, `[128, bars · 192]`.
    pub grid_mel: Vec<f32>,
    /// Log-mel at the live tempo, `[128, frames]`: what the vocoder heard.
    pub mel: Vec<f32>,
    /// Mono waveform at 24 kHz.
    pub audio: Vec<f32>,
    /// VQ tokens per chunk.
    pub tokens: Vec<Vec<i64>>,
    /// Time per stage.
    pub times: StageTimes,
}

impl Models {
    /// Opens `dir/manifest.ron` (refusing another feature standard) and the U-Net, VQ
    /// decoder and vocoder it names.
    pub fn load(dir: &Path, threads: Threads) -> Result<Self> {
        let manifest = Manifest::load(dir)?;
        let d = manifest.diffusion()?;
        if d.mode != "latent" {
            return Err(Error::Model {
                path: dir.join(super::manifest::MANIFEST_FILE),
                reason: format!("diffusion mode `{}`: generation runs the latent mode", d.mode),
            });
        }
        let latent_scale = d.latent_scale;
        Ok(Self {
            unet: UNet::open(&manifest, threads)?,
            decoder: VqDecoder::open(&manifest, threads)?,
            vocoder: Vocoder::open(&manifest, threads)?,
            latent_scale,
            manifest,
        })
    }

    /// The diffusion sample's shape.
    pub fn shape(&self) -> SampleShape {
        self.unet.shape()
    }

    /// The U-Net, for sampling outside [`Models::generate`].
    pub fn unet(&mut self) -> &mut UNet {
        &mut self.unet
    }

    /// The VQ decoder.
    pub fn decoder(&mut self) -> &mut VqDecoder {
        &mut self.decoder
    }

    /// The vocoder.
    pub fn vocoder(&mut self) -> &mut Vocoder {
        &mut self.vocoder
    }

    /// Runs the whole pipeline; `clock` measures the stages (wall or CPU time, the
    /// caller's choice).
    pub fn generate(&mut self, req: &Request, clock: &dyn Fn() -> Duration) -> Result<Generated> {
        if req.bars == 0 {
            return Err(Error::InvalidParameter { name: "bars", reason: "at least 1 bar".into() });
        }
        let shape = self.shape();
        if shape.cond_dims != COND_DIMS {
            return Err(Error::Model {
                path: self.manifest.dir.clone(),
                reason: format!(
                    "the U-Net takes cond of {}, memsynth makes {COND_DIMS}",
                    shape.cond_dims
                ),
            });
        }
        let ddim = Ddim::new(req.steps, req.guidance)?;
        let chunks = req.bars.div_ceil(CHUNK_BARS);
        let phrase_bars = chunks * CHUNK_BARS;
        let mel_chunk = self.manifest.doc.chunk.mel_frames;
        let mut noise = GaussianNoise::new(req.seed);
        let mut times = StageTimes::default();
        let mut latents = Vec::with_capacity(chunks);
        let mut tokens = Vec::with_capacity(chunks);
        let mut grid_mel_chunks: Vec<Vec<f32>> = Vec::with_capacity(chunks);
        let mut context = vec![0.0f32; shape.context_len()];
        for k in 0..chunks {
            let cond = condition(
                &req.e_phrase,
                req.e_motion.get(k).and_then(|m| m.as_deref()),
                &bar_position(k * CHUNK_BARS, phrase_bars),
            )?;
            let x_t = noise.vec(shape.len());
            // The first chunk has no previous bar (as a phrase's opening window in training).
            let mask = if k == 0 { 0.0 } else { 1.0 };
            let t0 = clock();
            let x0 = ddim.sample(&mut self.unet, shape, &x_t, &cond, &context, mask)?;
            times.sampling += clock().saturating_sub(t0);
            // The next chunk's context: this chunk's last bar, in the diffusion's scale.
            for c in 0..shape.channels {
                let row = &x0[c * shape.frames..(c + 1) * shape.frames];
                context[c * shape.context_frames..(c + 1) * shape.context_frames]
                    .copy_from_slice(&row[shape.frames - shape.context_frames..]);
            }
            let t0 = clock();
            let latent: Vec<f32> = x0.iter().map(|&x| x * self.latent_scale).collect();
            let decoded = self.decoder.decode(&latent)?;
            times.decode += clock().saturating_sub(t0);
            if decoded.mel.len() != N_MELS * mel_chunk {
                return Err(Error::Model {
                    path: self.manifest.dir.clone(),
                    reason: format!(
                        "the decoder gave {} mel values, expected {}",
                        decoded.mel.len(),
                        N_MELS * mel_chunk
                    ),
                });
            }
            grid_mel_chunks.push(decoded.mel);
            tokens.push(decoded.tokens);
            latents.push(x0);
        }
        // Join the chunks along time and cut to the bars asked for.
        let frames_per_bar = mel_chunk / CHUNK_BARS;
        let frames = req.bars * frames_per_bar;
        let mut grid_mel = vec![0.0f32; N_MELS * frames];
        for m in 0..N_MELS {
            for f in 0..frames {
                let (k, i) = (f / mel_chunk, f % mel_chunk);
                grid_mel[m * frames + f] = grid_mel_chunks[k][m * mel_chunk + i];
            }
        }
        let t0 = clock();
        let mel = match req.tempo {
            Some(bpm) if bpm != GRID_BPM => stretch_to_tempo(&grid_mel, N_MELS, bpm)?,
            _ => grid_mel.clone(),
        };
        times.stretch += clock().saturating_sub(t0);
        let t0 = clock();
        let audio = self.vocoder.waveform(&mel)?;
        times.vocoder += clock().saturating_sub(t0);
        Ok(Generated { latents, grid_mel, mel, audio, tokens, times })
    }
}
