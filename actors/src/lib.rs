//! memsynth's runtime: actors, OSC, audio output (built in later stages), and the `memsynth` command.

pub mod audio_out;
pub mod runtime;
