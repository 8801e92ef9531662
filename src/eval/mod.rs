//! Evaluation metrics, ported from mir_eval, used by tests and comparison scripts.
//!
//! [`beats`] holds the beat-tracking metrics (`mir_eval.beat`) and a downbeat F-measure;
//! [`match_events`] is mir_eval's maximum matching of event times within a window, which
//! the F-measure counts on.

pub mod beats;
pub mod key;
mod matching;

pub use beats::{BeatScores, CemgilScores, ContinuityScores};
pub use matching::match_events;
