//! memsynth's core library: audio in, the feature standard, and (in later stages) analysis,
//! the phrase database and model inference.
//!
//! The core has no threads, sockets or globals: every stage is a plain function or a struct
//! you can test alone. The runtime (actors, OSC, audio output) lives in `memsynth-actors`.
//!
//! The data's path: [`audio`] decodes and resamples any file to the internal standard
//! (24 kHz mono f32), [`dsp`] turns it into the features every later stage uses, and
//! [`demolib`] synthesises the demo library with its ground truth.
#![warn(missing_docs)]

pub mod analysis;
pub mod audio;
pub mod demolib;
pub mod db;
pub mod dsp;
mod error;
pub mod eval;
pub mod live;
pub mod osc;

pub use error::{Error, Result};

// Unit tests run under an allocator that aborts when code inside `assert_no_alloc` allocates,
// so the DSP objects' "no allocation after `new`" promise is checked, not just stated.
#[cfg(test)]
#[global_allocator]
static ALLOCATOR: assert_no_alloc::AllocDisabler = assert_no_alloc::AllocDisabler;
