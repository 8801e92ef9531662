//! From a track's features to its musical structure: tempo, beats, downbeats and bars, key,
//! and phrases of whole bars.

mod beat_sync;
pub mod key;
pub mod phrases;

pub use beat_sync::{beat_sync, frame_of, time_of};
