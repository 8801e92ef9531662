//! What each OSC command does: one function both the Conductor actor and the offline
//! renderer call, so a script and a live client change the music the same way.

use memsynth::db::Query;
use memsynth::db::embedding::GroupWeights;
use memsynth::live::conductor::{Conductor, ConductorConfig};
use memsynth::live::mixer::Channel;
use memsynth::live::transport::Tempo;
use memsynth::osc::Command;

/// A change the mixer makes (the conductor's owner forwards it).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MixerChange {
    /// A channel's linear gain.
    ChannelGain(Channel, f32),
    /// The master gain.
    MasterGain(f32),
}

/// What became of a command.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The conductor took it.
    Applied,
    /// The mixer must make this change.
    Mixer(MixerChange),
    /// Handled by the server itself (status, subscriptions, recording), not here.
    Server,
    /// Understood but not available in this build: the text for `/error`.
    Unsupported(String),
    /// Refused: the text for `/error`.
    Refused(String),
    /// A `/patch/…` command: the owner's patch host handles it
    /// ([`super::patch_manager::PatchHost::command`]).
    Patch,
}

/// Applies `command` at sample `now` (the mixer's render position).
pub fn apply(conductor: &mut Conductor, now: u64, command: &Command) -> Outcome {
    let config = |c: &mut Conductor, f: &dyn Fn(&mut ConductorConfig)| {
        let mut next = c.config().clone();
        f(&mut next);
        c.set_config(next);
        Outcome::Applied
    };
    match command {
        Command::Play => {
            conductor.transport_mut().play(now);
            Outcome::Applied
        }
        Command::Stop => {
            conductor.transport_mut().stop(now);
            Outcome::Applied
        }
        Command::Tempo(bpm) => match Tempo::from_bpm(f64::from(*bpm)) {
            Ok(tempo) => match conductor.transport_mut().set_tempo(tempo, now) {
                Ok(_) => Outcome::Applied,
                Err(e) => Outcome::Refused(e.to_string()),
            },
            Err(e) => Outcome::Refused(e.to_string()),
        },
        Command::Tap => match conductor.transport_mut().tap(now) {
            Ok(_) => Outcome::Applied,
            Err(e) => Outcome::Refused(e.to_string()),
        },
        Command::QueryPhrase(id) => {
            conductor.set_query(Query::Phrase(*id));
            Outcome::Applied
        }
        Command::RetrievalK(k) => config(conductor, &|c| c.k = *k as usize),
        Command::RetrievalWeights([r, h, t]) => match GroupWeights::new(*r, *h, *t) {
            Ok(w) => config(conductor, &|c| c.weights = w),
            Err(e) => Outcome::Refused(e.to_string()),
        },
        Command::Xfade(beats) => config(conductor, &|c| c.crossfade_beats = f64::from(*beats)),
        Command::Seed(seed) => config(conductor, &|c| c.seed = *seed),
        Command::MixerGain { channel, gain } => match channel.as_str() {
            "retrieved" => Outcome::Mixer(MixerChange::ChannelGain(Channel::Retrieved, *gain)),
            "generated" => Outcome::Mixer(MixerChange::ChannelGain(Channel::Generated, *gain)),
            "master" => Outcome::Mixer(MixerChange::MasterGain(*gain)),
            other => Outcome::Refused(format!(
                "/mixer/gain: no channel {other:?}; use retrieved, generated or master"
            )),
        },
        Command::Status
        | Command::Subscribe(_)
        | Command::Unsubscribe
        | Command::RecordStart(_)
        | Command::RecordStop => Outcome::Server,
        // The motion input takes these (the MotionInput actor, or the offline engine's
        // motion path before it gets here).
        Command::Motion(_)
        | Command::MotionCalibrate
        | Command::RecordMotionStart(_)
        | Command::RecordMotionStop => Outcome::Server,
        Command::PatchLoad(_)
        | Command::PatchSet { .. }
        | Command::PatchGet(_)
        | Command::Control { .. } => Outcome::Patch,
        Command::ConductorMode(_) | Command::Steps(_) | Command::Guidance(_) => {
            Outcome::Unsupported(format!(
                "{}: not available yet (retrieval mode only)",
                command.to_message().addr
            ))
        }
    }
}
