//! From a track's features to its musical structure: tempo, beats, downbeats and bars, key,
//! and phrases of whole bars.

pub mod activation;
mod beat_sync;
pub mod beats;
pub mod downbeats;
mod grid;
pub mod key;
mod novelty;
pub mod phrases;
pub mod tempo;
pub mod track;

pub use beat_sync::{beat_sync, frame_of, time_of};
