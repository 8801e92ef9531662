//! memsynth's runtime: actors, OSC, audio output, the server configuration, and the `memsynth` command.

pub mod audio_out;
pub mod config;
pub mod runtime;
