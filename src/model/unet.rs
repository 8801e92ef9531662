//! The diffusion U-Net (`unet.onnx`) as a [`Denoiser`]: x_t, t, cond, context,
//! context_mask → v, batch-major and channel-first.

use super::ddim::{Denoiser, DenoiserInput, SampleShape};
use super::manifest::Manifest;
use super::onnx::{Input, OnnxModel};
use super::runtime::Threads;
use crate::{Error, Result};

/// The exported U-Net.
pub struct UNet {
    model: OnnxModel,
    shape: SampleShape,
}

impl UNet {
    /// Opens `unet` from the manifest, with the sample shape of its diffusion section.
    pub fn open(manifest: &Manifest, threads: Threads) -> Result<Self> {
        let d = manifest.diffusion()?;
        let cond_dims = manifest
            .model("unet")?
            .inputs
            .iter()
            .find(|s| s.name == "cond")
            .and_then(|s| match s.shape.get(1) {
                Some(super::manifest::Dim::Fixed(n)) => Some(*n),
                _ => None,
            })
            .unwrap_or(super::cond::COND_DIMS);
        let shape = SampleShape {
            channels: d.channels,
            frames: d.frames,
            context_frames: d.context_frames,
            cond_dims,
        };
        Ok(Self { model: OnnxModel::open(manifest, "unet", threads)?, shape })
    }

    /// The shape of one sample.
    pub fn shape(&self) -> SampleShape {
        self.shape
    }
}

impl Denoiser for UNet {
    fn predict_v(&mut self, input: &DenoiserInput<'_>, v: &mut [f32]) -> Result<()> {
        let b = input.t.len();
        let s = self.shape;
        let out = self.model.run(
            &[
                Input { name: "x_t", shape: vec![b, s.channels, s.frames], data: input.x_t },
                Input { name: "t", shape: vec![b], data: input.t },
                Input { name: "cond", shape: vec![b, s.cond_dims], data: input.cond },
                Input {
                    name: "context",
                    shape: vec![b, s.channels, s.context_frames],
                    data: input.context,
                },
                Input { name: "context_mask", shape: vec![b], data: input.context_mask },
            ],
            &["v"],
        )?;
        let got = &out[0].data;
        if got.len() != v.len() {
            return Err(Error::Model {
                path: self.model.path().to_path_buf(),
                reason: format!("v has {} values, expected {}", got.len(), v.len()),
            });
        }
        v.copy_from_slice(got);
        Ok(())
    }
}
