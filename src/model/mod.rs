//! The generative models, run from Rust (DESIGN.md §5): ONNX Runtime sessions through `ort`,
//! and everything around the networks that the training code also defines — the cosine
//! noise schedule, the DDIM sampler with classifier-free guidance, the condition vector,
//! the tempo stretch of the generated grid and the vocoder head's inverse STFT.
//!
//! The networks come from `python -m memsynth_train export` (training/): `manifest.ron`
//! says which files, which tensors and which feature standard; [`manifest::Manifest::load`]
//! refuses models trained on another standard. The parts without a network are plain
//! functions tested alone; `tests/model_parity.rs` checks sampler and vocoder against the
//! Python ones on the same inputs.
//!
//! The pipeline of [`generator::Models::generate`]: cond = e_phrase ‖ e_motion ‖ bar
//! position ([`cond`]) → DDIM over the U-Net on the VQ-VAE latent, one 4-bar chunk at a
//! time with the previous bar as masked context ([`ddim`], [`unet`]) → VQ decode to log-mel
//! ([`vqvae`]) → stretch from the 120 BPM grid to the live tempo ([`stretch`]) → vocoder
//! network and inverse STFT ([`vocoder`]).
//!
//! ```no_run
//! use memsynth::model::{Models, Request, Threads};
//!
//! # fn main() -> memsynth::Result<()> {
//! // Finds ONNX Runtime (ORT_DYLIB_PATH or a repo venv), checks the feature standard.
//! let mut models = Models::load("models".as_ref(), Threads { intra_op: 2 })?;
//! let request = Request {
//!     e_phrase: vec![0.0; 256], // a standardised e_phrase from the database
//!     e_motion: Vec::new(),     // no motion
//!     bars: 4,
//!     steps: 20,
//!     guidance: 2.5,
//!     tempo: Some(128.0),
//!     seed: 7,
//! };
//! let wall = std::time::Instant::now();
//! let out = models.generate(&request, &|| wall.elapsed())?;
//! memsynth::audio::wav::write_f32_mono("out.wav".as_ref(), 24_000, &out.audio)?;
//! # Ok(())
//! # }
//! ```

pub mod cond;
pub mod ddim;
pub mod generator;
pub mod manifest;
pub mod noise;
pub mod onnx;
pub mod phrase_condition;
pub mod runtime;
pub mod schedule;
pub mod spectrogram;
pub mod stretch;
pub mod unet;
pub mod vocoder;
pub mod vqvae;

pub use ddim::{Ddim, Denoiser, DenoiserInput, SampleShape};
pub use generator::{Generated, Models, Request, StageTimes};
pub use manifest::Manifest;
pub use runtime::Threads;
