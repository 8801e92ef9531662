//! The live engine's core: the musical clock, fitting phrases to it, and the mixer (see
//! each module). No threads, sockets or globals.
pub mod mixer;
pub mod stretch;
pub mod transport;
