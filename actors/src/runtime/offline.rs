//! The engine on one thread with a virtual clock: `memsynth render`.
//!
//! Block by block, [`Engine::step`] ticks the conductor with the mixer's position and
//! completes every action the tick produced — query, load and stretch, schedule — before
//! the block is rendered. Nothing waits on a wall clock, so the output depends only on the
//! inputs.

use std::collections::VecDeque;
use std::sync::Arc;

use memsynth::live::conductor::{Action, Conductor, Event, Source};
use memsynth::live::mixer::Mixer;
use memsynth::osc::Command;

use super::commands::{self, MixerChange, Outcome};
use super::library::Library;

/// Conductor, mixer and database on one thread.
pub struct Engine {
    /// The conductor (its transport is the render's clock).
    pub conductor: Conductor,
    /// The mixer.
    pub mixer: Mixer,
    library: Arc<Library>,
    /// Every event so far, in order.
    pub events: Vec<Event>,
}

impl Engine {
    /// An engine over `conductor` (configured, with its query set) and `library`.
    pub fn new(conductor: Conductor, library: Arc<Library>) -> Self {
        let rate = conductor.transport().rate();
        Self { conductor, mixer: Mixer::new(rate), library, events: Vec::new() }
    }

    /// Applies `command` at `now`, as the Conductor actor would.
    pub fn command(&mut self, now: u64, command: &Command) -> Outcome {
        let outcome = commands::apply(&mut self.conductor, now, command);
        if let Outcome::Mixer(change) = &outcome {
            apply_mixer(&mut self.mixer, *change);
        }
        outcome
    }

    /// Renders the block starting at `now` into `out` (stereo interleaved), after carrying
    /// out everything the conductor asks for at `now`.
    pub fn step(&mut self, now: u64, out: &mut [f32]) {
        let mut queue: VecDeque<Action> = self.conductor.tick(now).into();
        while let Some(action) = queue.pop_front() {
            match action {
                Action::Request { ticket, query, k, weights, .. } => {
                    let answer = match self.library.candidates(&query, k, weights) {
                        Ok(c) => self.conductor.on_candidates(now, ticket, c),
                        Err(reason) => self.conductor.on_failed(now, ticket, reason),
                    };
                    queue.extend(answer);
                }
                Action::Prepare { ticket, phrase_id, tempo, .. } => {
                    let rate = self.conductor.transport().rate();
                    let answer = match self.library.prepare(phrase_id, tempo, rate) {
                        Ok(audio) => {
                            self.conductor.on_prepared(now, ticket, Source::Retrieved, audio)
                        }
                        Err(reason) => self.conductor.on_failed(now, ticket, reason),
                    };
                    queue.extend(answer);
                }
                Action::Schedule { voice, fade_out } => schedule(&mut self.mixer, voice, fade_out),
                Action::Event(e) => self.events.push(e),
            }
        }
        self.mixer.process(now, out);
        drop(self.mixer.take_retired());
    }
}

/// Hands a scheduled voice to the mixer (and fades out its predecessor).
pub fn schedule(
    mixer: &mut Mixer,
    voice: memsynth::live::mixer::Voice,
    fade_out: Option<(memsynth::live::mixer::VoiceId, memsynth::live::mixer::FadeOut)>,
) {
    if let Some((id, fade)) = fade_out {
        mixer.fade_out(id, fade);
    }
    if let Err(voice) = mixer.add(voice) {
        eprintln!("mixer full: voice {} dropped", voice.id);
    }
}

/// Makes a mixer change.
pub fn apply_mixer(mixer: &mut Mixer, change: MixerChange) {
    match change {
        MixerChange::ChannelGain(channel, gain) => mixer.set_channel_gain(channel, gain),
        MixerChange::MasterGain(gain) => mixer.set_master_gain(gain),
    }
}
