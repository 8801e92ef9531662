//! memsynth's core library: audio in, the feature standard, analysis, the phrase database,
//! the live engine and the OSC codec (model inference in a later stage).
//!
//! The core has no threads, sockets or globals: every stage is a plain function or a struct
//! you can test alone. The runtime (actors, sockets, the audio device) lives in
//! `memsynth-actors` and drives these pieces.
//!
//! The data's path offline: [`audio`] decodes and resamples any file to the internal
//! standard (24 kHz mono f32), [`dsp`] turns it into the features every later stage uses,
//! [`analysis`] finds tempo, beats, bars, key and phrases, and [`db`] stores phrases with
//! their audio, log-mel and e_phrase and answers nearest-phrase queries. On stage:
//! [`osc`] decodes what performers send, [`live`] keeps the clock, chooses and stretches
//! phrases and mixes them. [`demolib`] synthesises the demo library with its ground truth;
//! [`eval`] scores beats like mir_eval.
#![warn(missing_docs)]

pub mod analysis;
pub mod audio;
pub mod db;
pub mod demolib;
pub mod dsp;
mod error;
pub mod eval;
pub mod live;
pub mod model;
pub mod motion;
pub mod osc;
pub mod patch;

pub use error::{Error, Result};

// Unit tests run under an allocator that aborts when code inside `assert_no_alloc` allocates,
// so the DSP objects' "no allocation after `new`" promise is checked, not just stated.
#[cfg(test)]
#[global_allocator]
static ALLOCATOR: assert_no_alloc::AllocDisabler = assert_no_alloc::AllocDisabler;
