//! The live engine's core: the musical clock, the conductor that decides what plays next,
//! fitting phrases to the live grid, and the mixer. Plain structs and functions, no threads,
//! sockets or globals: the actors (`memsynth-actors`) own one part each, and the offline
//! renderer drives the same code with a virtual clock.
//!
//! # The data path
//! ```text
//! query (e_phrase 256-D or a phrase id)
//!   └─ Conductor::tick ─► Action::Request ─► retrieval (db::Database::query, k-NN)
//!   └─ Conductor::on_candidates ─► Action::Prepare ─► load the phrase's audio and beats,
//!        stretch::fit_to_bars (rubato to the output rate, signalsmith-stretch beat by beat)
//!   └─ Conductor::on_prepared ─► Action::Schedule { voice, fade_out } ─► Mixer::add/fade_out
//!   └─ Mixer::process (one block at a time, sample-exact starts, fades, limiter, meters)
//!   └─ lock-free ring ─► audio callback ─► device            (in memsynth-actors)
//! ```
//!
//! # Who owns what
//! - The **Conductor actor** owns the [`conductor::Conductor`], which owns the
//!   [`transport::Transport`] (play/stop/tempo/tap arrive there as OSC). It ticks with the
//!   mixer's render position and turns each [`conductor::Action`] into a message.
//! - **Retrieval** and **preparation** run on blocking (`SyncArbiter`) threads: they hold the
//!   database, call [`stretch::fit_to_bars`] and send the `Arc<[f32]>` back.
//! - The **Mixer actor** owns the [`mixer::Mixer`], renders blocks ahead into the ring, and
//!   drops the voices [`mixer::Mixer::take_retired`] hands back — on its thread, never in the
//!   audio callback, which only copies from the ring.
//!
//! # What is deterministic
//! Everything here, given the same inputs in the same order: time is a sample count passed
//! in (no wall clock); beat positions are exact integer arithmetic; candidates are ranked
//! by (distance, id) and picked with a seeded ChaCha8; answers are matched by ticket; the
//! mixer works per sample, so any block size gives the same bits; the stretcher is
//! deterministic within its ×0.5–×2 range (beyond it the C++ library randomises phases
//! from an unseeded source, so [`stretch::fit_to_bars`] refuses such ratios). The
//! end-to-end test renders 16 bars twice and compares the bytes.
//!
//! # Generated audio
//! Generated chunks join at [`conductor::Conductor::on_prepared`] with
//! [`conductor::Source::Generated`]; see [`conductor`] for how, and how the conductor falls
//! back to retrieved audio.
pub mod conductor;
pub mod mixer;
pub mod stretch;
pub mod transport;
