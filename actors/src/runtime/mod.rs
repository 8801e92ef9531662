//! The live engine's runtime: the pieces `memsynth serve` (actors, real time) and
//! `memsynth render` (one thread, virtual clock) share, and the actors themselves.
//!
//! ```text
//!  UDP ─► OscServer ─► Conductor actor ──Request──► Retrieval (SyncArbiter)
//!            ▲  │          │  ▲ ◄────Candidates─────┘
//!            │  │          │  └────◄ Prepared ── Vocoder (SyncArbiter: load + stretch)
//!    pushes ─┘  │          └─Schedule─► mixer thread ─► ring ─► audio output (master clock)
//!               └── gain, record ──────►      └─ blocks ─► recorder thread ─► WAV
//! ```
//!
//! Shared by both: [`library`] (retrieval and preparation against the database) and
//! [`commands`] (what each OSC command does to the conductor and the mixer). The offline
//! [`offline::Engine`] completes every action a tick produces before it renders the next
//! block, so a render is byte-identical for identical inputs.

pub mod commands;
pub mod conductor_actor;
pub mod library;
pub mod mixer_thread;
pub mod motion;
pub mod motion_file;
pub mod offline;
pub mod osc_server;
pub mod oscquery;
pub mod patch_manager;
pub mod recorder;
pub mod script;
pub mod shared;
pub mod supervise;
pub mod workers;

/// Output sample rate, Hz (render and serve).
pub const RATE: u32 = 48_000;

/// Frames per mixer block.
pub const BLOCK: usize = 512;
