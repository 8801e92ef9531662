//! Patches: the RON files a performer live-codes during a show (DESIGN.md §8).
//!
//! A patch is read in one go — [`parse`] turns text into a [`Patch`] whose every value is
//! in range, or into a [`PatchError`] with the line and column to fix — so a half-written
//! or wrong file is never partly applied. [`diff`] compares it with the running patch
//! section by section and expresses what changed as the OSC commands a client could have
//! sent; [`PatchSlot`] holds the running patch and the one waiting for its bar line.
//! [`params`] reads and sets single numbers by path (`/patch/set mixer.master -6`), and
//! [`folder`] keeps `/patch/load` names inside the patches folder.
//!
//! ```
//! use memsynth::patch::{self, Change, Section};
//!
//! let running = patch::parse("(retrieval: (k: 8))").unwrap();
//! let next = patch::parse("(retrieval: (k: 8), mixer: (master: -6.0))").unwrap();
//! let d = patch::diff(&running, &next);
//! assert_eq!(d.sections, vec![Section::Mixer]); // the query and the phrase are left alone
//! assert!(matches!(d.changes.as_slice(), [Change::Command(_)]));
//!
//! let err = patch::parse("(\n  retrieval: (k: 0),\n)").unwrap_err();
//! assert_eq!(err.to_string(), "2:15: retrieval.k must be 1..=64, got 0");
//! ```
//!
//! Nothing here touches threads or the clock: the runtime's patch manager watches the
//! folder and the conductor's owner applies what [`PatchSlot::take_due`] hands it.

pub mod diff;
pub mod folder;
pub mod params;
pub mod parse;
pub mod schema;
pub mod slot;
pub mod validate;

pub use diff::{Change, Diff, Section, diff};
pub use parse::{PatchError, Position, parse};
pub use schema::{
    ConductorSection, Curve, Group, LinearTerm, Mapper, MixerSection, Mode, MotionSection,
    OscMapping, Patch, RetrievalSection, SenderKind, Target, Weights, db_to_gain,
};
pub use slot::{Applied, PatchSlot, Staged};
pub use validate::{ValidationError, validate};
