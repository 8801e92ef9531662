//! `models/manifest.ron`: the exported models' contract with the Rust side, written by
//! `python -m memsynth_train export` (training/memsynth_train/export.py).
//!
//! Only what the runtime needs is read; other fields (metrics, training commands) are
//! ignored. [`Manifest::load`] refuses a manifest whose feature-standard hash is not this
//! build's [`standard_hash`], so a model trained on other features never runs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::dsp::standard_hash;
use crate::{Error, Result};

/// The manifest's file name inside a models folder.
pub const MANIFEST_FILE: &str = "manifest.ron";

/// The manifest format this reader understands.
pub const FORMAT: &str = "memsynth-models";

/// A parsed `manifest.ron`, with the folder it came from.
#[derive(Clone, Debug)]
pub struct Manifest {
    /// The models folder.
    pub dir: PathBuf,
    /// The parsed document.
    pub doc: ManifestDoc,
}

/// The fields of `manifest.ron` the runtime reads.
#[derive(Clone, Debug, Deserialize)]
pub struct ManifestDoc {
    /// Always [`FORMAT`].
    pub format: String,
    /// Version of the layout (1).
    pub format_version: u32,
    /// BLAKE3 of the feature standard the training data was made with.
    pub standard_hash: String,
    /// The fixed chunk the models work on.
    pub chunk: Chunk,
    /// Per model key (`unet`, `vqvae_decoder`, `vocoder`, …) its file and tensors.
    pub models: BTreeMap<String, ModelEntry>,
    /// The diffusion's scale, schedule and sampler, when a U-Net was exported.
    pub diffusion: Option<DiffusionInfo>,
}

/// The fixed chunk length of the models (four bars and one context bar).
#[derive(Clone, Copy, Debug, Deserialize)]
pub struct Chunk {
    /// Mel frames of a chunk (768: four bars at 192 frames).
    pub mel_frames: usize,
    /// Latent frames of a chunk (mel / 4).
    pub latent_frames: usize,
    /// Mel frames of the context bar.
    pub context_mel_frames: usize,
    /// Latent frames of the context bar.
    pub context_latent_frames: usize,
}

/// One model file.
#[derive(Clone, Debug, Deserialize)]
pub struct ModelEntry {
    /// File name inside the models folder.
    pub file: String,
    /// SHA-256 of the file, as written by the export.
    pub sha256: String,
    /// Input tensors, in the order the model takes them.
    pub inputs: Vec<TensorSpec>,
    /// Output tensors.
    pub outputs: Vec<TensorSpec>,
}

/// A tensor's name, shape and element type.
#[derive(Clone, Debug, Deserialize)]
pub struct TensorSpec {
    /// Name in the ONNX graph.
    pub name: String,
    /// Dimensions: a size, or a name for a dynamic axis (`"batch"`, `"frames"`).
    pub shape: Vec<Dim>,
    /// `f32` or `i64`.
    pub dtype: String,
}

/// One dimension of a [`TensorSpec`].
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum Dim {
    /// A fixed size.
    Fixed(usize),
    /// A dynamic axis.
    Named(String),
}

/// The diffusion model's data scale and sampler settings.
#[derive(Clone, Debug, Deserialize)]
pub struct DiffusionInfo {
    /// `latent` (the VQ-VAE's continuous latent) or `mel`.
    pub mode: String,
    /// Channels of x (64 latent, 128 mel).
    pub channels: usize,
    /// Frames of x (192 latent, 768 mel).
    pub frames: usize,
    /// Frames of the context bar.
    pub context_frames: usize,
    /// x = latent / latent_scale (mel mode: (log-mel − mel_mean) / latent_scale).
    pub latent_scale: f32,
    /// Mel mode's offset.
    pub mel_mean: f32,
    /// The noise schedule.
    pub schedule: ScheduleInfo,
    /// The sampler's defaults.
    pub sampler: SamplerInfo,
}

/// The noise schedule as exported.
#[derive(Clone, Debug, Deserialize)]
pub struct ScheduleInfo {
    /// `cosine`.
    pub kind: String,
    /// The cosine schedule's offset s.
    pub s: f64,
    /// `v`.
    pub prediction: String,
}

/// The sampler as exported.
#[derive(Clone, Debug, Deserialize)]
pub struct SamplerInfo {
    /// `ddim`.
    pub kind: String,
    /// Steps the training evaluation used.
    pub default_steps: usize,
}

impl Manifest {
    /// Reads `dir/manifest.ron` and checks its format and feature-standard hash.
    pub fn load(dir: &Path) -> Result<Self> {
        let path = dir.join(MANIFEST_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| Error::Model {
            path: path.clone(),
            reason: format!("cannot read the models' manifest ({e})"),
        })?;
        let manifest = Self::parse(dir, &text)?;
        manifest.check_standard(&standard_hash())?;
        Ok(manifest)
    }

    /// Parses a manifest's text (no hash check).
    pub fn parse(dir: &Path, text: &str) -> Result<Self> {
        let path = dir.join(MANIFEST_FILE);
        // The exporter writes an optional section bare (`diffusion: (…)`), not `Some((…))`.
        let options = ron::Options::default()
            .with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME);
        let doc: ManifestDoc = options.from_str(text).map_err(|e| Error::Model {
            path: path.clone(),
            reason: format!("not a models manifest: {e}"),
        })?;
        if doc.format != FORMAT || doc.format_version != 1 {
            return Err(Error::Model {
                path,
                reason: format!(
                    "format {} version {}, this memsynth reads {FORMAT} version 1",
                    doc.format, doc.format_version
                ),
            });
        }
        Ok(Self { dir: dir.to_path_buf(), doc })
    }

    /// Refuses the models when they were trained on another feature standard than `server`.
    pub fn check_standard(&self, server: &str) -> Result<()> {
        if self.doc.standard_hash == server {
            Ok(())
        } else {
            Err(Error::ModelStandard {
                dir: self.dir.clone(),
                models: self.doc.standard_hash.clone(),
                server: server.to_string(),
            })
        }
    }

    /// The entry of model `key`, or an error naming what is missing.
    pub fn model(&self, key: &str) -> Result<&ModelEntry> {
        self.doc.models.get(key).ok_or_else(|| Error::Model {
            path: self.dir.join(MANIFEST_FILE),
            reason: format!(
                "no `{key}` model (the manifest has {})",
                self.doc.models.keys().cloned().collect::<Vec<_>>().join(", ")
            ),
        })
    }

    /// The file of model `key`.
    pub fn model_path(&self, key: &str) -> Result<PathBuf> {
        Ok(self.dir.join(&self.model(key)?.file))
    }

    /// The diffusion section, or an error when no U-Net was exported.
    pub fn diffusion(&self) -> Result<&DiffusionInfo> {
        let d = self.doc.diffusion.as_ref().ok_or_else(|| Error::Model {
            path: self.dir.join(MANIFEST_FILE),
            reason: "no `diffusion` section (was the U-Net exported?)".into(),
        })?;
        if d.schedule.kind != "cosine" || d.schedule.prediction != "v" || d.sampler.kind != "ddim" {
            return Err(Error::Model {
                path: self.dir.join(MANIFEST_FILE),
                reason: format!(
                    "schedule {} / prediction {} / sampler {}: this memsynth runs cosine, v, ddim",
                    d.schedule.kind, d.schedule.prediction, d.sampler.kind
                ),
            });
        }
        Ok(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"// comment
(
    format: "memsynth-models",
    format_version: 1,
    standard_hash: "abc",
    opset: 18,
    chunk: (mel_frames: 768, latent_frames: 192, context_mel_frames: 192, context_latent_frames: 48),
    models: {
        "unet": (
            file: "unet.onnx", sha256: "00", bytes: 1,
            inputs: [(name: "x_t", shape: ["batch", 64, 192], dtype: "f32")],
            outputs: [(name: "v", shape: ["batch", 64, 192], dtype: "f32")],
            metrics: {"a": 1.0},
        ),
    },
    diffusion: (
        mode: "latent", channels: 64, frames: 192, context_frames: 48,
        latent_scale: 0.5, mel_mean: 0.0,
        schedule: (kind: "cosine", s: 0.008, prediction: "v"),
        sampler: (kind: "ddim", default_steps: 20),
    ),
)"#;

    #[test]
    fn reads_the_contract_and_ignores_the_rest() {
        let m = Manifest::parse(Path::new("models"), DOC).unwrap();
        let unet = m.model("unet").unwrap();
        assert_eq!(
            unet.inputs[0].shape,
            [Dim::Named("batch".into()), Dim::Fixed(64), Dim::Fixed(192)]
        );
        assert_eq!(m.diffusion().unwrap().latent_scale, 0.5);
        assert_eq!(m.model_path("unet").unwrap(), Path::new("models/unet.onnx"));
    }

    #[test]
    fn another_standard_is_refused_with_what_to_do() {
        let m = Manifest::parse(Path::new("models"), DOC).unwrap();
        let err = m.check_standard("def").unwrap_err().to_string();
        assert!(err.contains("abc") && err.contains("def"), "{err}");
        assert!(err.contains("retrain"), "{err}");
        assert!(m.check_standard("abc").is_ok());
    }

    #[test]
    fn a_missing_model_names_the_ones_there() {
        let m = Manifest::parse(Path::new("models"), DOC).unwrap();
        let err = m.model("vocoder").unwrap_err().to_string();
        assert!(err.contains("unet"), "{err}");
    }
}
