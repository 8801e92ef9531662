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
use super::patch_manager::{AppliedReport, PatchHost, PatchReply, load_named};

/// Conductor, mixer and database on one thread.
pub struct Engine {
    /// The conductor (its transport is the render's clock).
    pub conductor: Conductor,
    /// The mixer.
    pub mixer: Mixer,
    library: Arc<Library>,
    /// Every event so far, in order.
    pub events: Vec<Event>,
    /// The running patch and the one waiting for its bar line.
    pub patches: PatchHost,
    /// Where `/patch/load` finds patches (none: refused).
    pub patch_folder: Option<std::path::PathBuf>,
    /// Patches applied since the owner last took them, with the sample they were applied
    /// at (just before their bar line).
    pub applied: Vec<(u64, AppliedReport)>,
    /// Motion → query (`/motion/*`, phone formats, `memsynth render --motion`).
    pub motion: super::motion::MotionPath,
}

impl Engine {
    /// An engine over `conductor` (configured, with its query set) and `library`.
    pub fn new(conductor: Conductor, library: Arc<Library>) -> Self {
        let rate = conductor.transport().rate();
        Self {
            conductor,
            mixer: Mixer::new(rate),
            library,
            events: Vec::new(),
            patches: PatchHost::default(),
            patch_folder: None,
            applied: Vec::new(),
            motion: super::motion::MotionPath::new(rate),
        }
    }

    /// Applies `command` at `now`, as the Conductor actor would.
    pub fn command(&mut self, now: u64, command: &Command) -> Outcome {
        let (transport, playing) = (self.conductor.transport(), self.conductor.playing());
        let Some(command) = self.motion.command(now, command, transport, playing, &self.library)
        else {
            if let Some(query) = self.motion.take_query() {
                self.conductor.set_query(query);
            }
            return Outcome::Applied;
        };
        let outcome = commands::apply(&mut self.conductor, now, command);
        if let Outcome::Mixer(change) = &outcome {
            apply_mixer(&mut self.mixer, *change);
        }
        if outcome == Outcome::Patch {
            return match self.patches.command(&self.conductor, now, command) {
                PatchReply::Staged(_) => Outcome::Applied,
                PatchReply::Value(path, value) => {
                    println!("/patch/value {path} {value}");
                    Outcome::Applied
                }
                PatchReply::Load(name) => match &self.patch_folder {
                    Some(folder) => match load_named(folder, &name) {
                        Ok((_, patch)) => {
                            self.patches.stage(&self.conductor, now, patch, &name);
                            Outcome::Applied
                        }
                        Err(e) => Outcome::Refused(e),
                    },
                    None => Outcome::Refused("/patch/load: no patches folder (use --patch)".into()),
                },
                PatchReply::Error(e) => Outcome::Refused(e),
            };
        }
        outcome
    }

    /// Applies the staged patch now if its bar line is at or before `horizon` (render
    /// start, or a stopped transport), recording it in [`Self::applied`].
    pub fn apply_patch_now(&mut self, now: u64, horizon: u64) {
        if let Some(report) = self.patches.apply_due(&mut self.conductor, now, horizon) {
            for change in &report.mixer {
                apply_mixer(&mut self.mixer, *change);
            }
            if let Some(note) = self.motion.set_patch(&self.patches.slot.running().motion) {
                eprintln!("{note}");
            }
            self.applied.push((now, report));
        }
    }

    /// Renders the block starting at `now` into `out` (stereo interleaved), after carrying
    /// out everything the conductor asks for at `now`.
    ///
    /// A staged patch whose bar line falls in the block is applied on the sample just
    /// before the line (so a tempo change lands on the line and gains move on it): the
    /// block is rendered in two parts around it, which gives the same bits as one block.
    pub fn step(&mut self, now: u64, out: &mut [f32]) {
        let end = now + (out.len() / 2) as u64;
        match self.patches.slot.due_at() {
            Some(line) if line <= end => {
                let at = line.saturating_sub(1).max(now);
                let (first, rest) = out.split_at_mut(2 * (at - now) as usize);
                if !first.is_empty() {
                    self.step_block(now, first);
                }
                self.apply_patch_now(at, line);
                self.step_block(at, rest);
            }
            _ => self.step_block(now, out),
        }
    }

    fn step_block(&mut self, now: u64, out: &mut [f32]) {
        let (transport, playing) = (self.conductor.transport(), self.conductor.playing());
        self.motion.clock(now, transport, playing, &self.library);
        if let Some(query) = self.motion.take_query() {
            self.conductor.set_query(query);
        }
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
