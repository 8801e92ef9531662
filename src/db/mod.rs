//! The phrase database: one LMDB environment (heed) per folder holding tracks, beat grids,
//! phrases, their features, audio and log-mel, and an arroy index over e_phrase (cosine).
//!
//! ```text
//! file ──ingest──► TrackBundle ──Database::put_track──► tables (one transaction per track)
//!                                 Database::refresh_index──► statistics + arroy index
//! query (phrase id | raw e_phrase, group weights) ──Database::query──► nearest phrases
//! ```
//!
//! Writes go through one [`Database`] per process; every track is one transaction, so a
//! crash at any moment leaves whole tracks or none. The index is rebuilt from the phrases
//! after a run changes them and records which generation of the data it was built from.
//! arroy builds its trees with rayon's global pool; the core itself starts no threads.

mod check;
pub mod embedding;
pub mod export;
pub mod index;
pub mod ingest;
mod query;
pub mod schema;
mod store;

pub use check::CheckReport;
pub use query::{Hit, Query};
pub use store::{Database, Meta, PhraseBundle, TrackBundle};
