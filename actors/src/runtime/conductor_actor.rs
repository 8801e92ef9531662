//! The Conductor actor: owns the [`Conductor`], ticks it every 5 ms with the mixer's
//! position, applies OSC commands, sends requests to the workers and voices to the mixer
//! thread, and pushes `/bar`, `/beat`, `/phrase` and `/error` to subscribers.
//!
//! Supervised: a panic in a handler stops it and its `Supervisor` restarts it with the same
//! state; the mixer thread keeps playing the looping voice meanwhile. For tests,
//! `MEMSYNTH_TEST_PANIC_AT_BAR=N` makes the tick panic once on bar N.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::mpsc::Sender;
use std::time::Duration;

use actix::{Actor, Addr, AsyncContext, Context, Handler, Message, Supervised};
use memsynth::db::schema::PhraseId;
use memsynth::live::conductor::{Action, Conductor, Event, Source};
use memsynth::osc::{
    Command, Status, encode_bar, encode_beat, encode_error, encode_patch_value, encode_phrase,
    encode_status,
};

use super::commands::{self, Outcome};
use super::mixer_thread::MixerMsg;
use super::motion::MotionPatch;
use super::patch_manager::{LoadPatch, PatchHost, PatchReply, StagePatch};
use super::shared::Shared;
use super::supervise::guarded;
use super::workers::{Candidates, Prepare, Prepared, Retrieval, Retrieve, Vocoder};

/// How often the conductor looks at the clock.
pub const TICK: Duration = Duration::from_millis(5);

/// Bytes for OSC: to every subscriber (`to: None`) or one client.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Send {
    /// One client, or every subscriber.
    pub to: Option<SocketAddr>,
    /// The encoded packet.
    pub bytes: Vec<u8>,
}

/// A command from a client (`from` gets any `/error`, and the `/status` reply).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Apply {
    /// The command.
    pub command: Command,
    /// Who sent it.
    pub from: SocketAddr,
    /// The output sample it is due on (from its bundle's time tag); `None`: at once.
    pub at: Option<u64>,
}

/// Commands take effect this many samples after the mixer's position (one block, 11 ms),
/// so what they schedule reaches the mixer thread before it renders that sample.
pub const AHEAD: u64 = super::BLOCK as u64;

/// Commands waiting for their time tag, at most this many (a client flooding the future
/// gets `/error` instead of growing the server without bound).
pub const MAX_SCHEDULED: usize = 4096;

/// How many messages may wait in the conductor's mailbox before the OSC server refuses
/// more (its `try_send` fails): at 1 000 messages/s this is a second of backlog.
pub const MAILBOX: usize = 1024;

/// The actor.
pub struct ConductorActor {
    conductor: Conductor,
    shared: Arc<Shared>,
    mixer: Sender<MixerMsg>,
    retrieval: Addr<Retrieval>,
    vocoder: Addr<Vocoder>,
    osc: actix::Recipient<Send>,
    /// Distances of the latest candidates, for `/phrase`.
    distances: HashMap<PhraseId, f32>,
    /// The last (bar, beat) pushed.
    heard: Option<(u64, u32)>,
    /// Time-tagged commands not yet due, in order of (sample, arrival).
    scheduled: Vec<(u64, Apply)>,
    panic_at_bar: Option<u64>,
    /// The running patch and the one waiting for its bar line.
    patches: PatchHost,
    /// Who loads `/patch/load` names (the patch manager).
    patch_loader: Option<actix::Recipient<LoadPatch>>,
    /// When the staged patch's file was saved, for the swap-latency log line.
    patch_saved: Option<std::time::Instant>,
    /// The motion input, told the running patch's `motion` section, and the section it
    /// was last told.
    motion: Option<(actix::Recipient<MotionPatch>, Option<memsynth::patch::MotionSection>)>,
}

impl ConductorActor {
    /// A conductor actor; `panic_at_bar` is the test hook (see the module docs).
    pub fn new(
        conductor: Conductor,
        shared: Arc<Shared>,
        mixer: Sender<MixerMsg>,
        retrieval: Addr<Retrieval>,
        vocoder: Addr<Vocoder>,
        osc: actix::Recipient<Send>,
    ) -> Self {
        let panic_at_bar =
            std::env::var("MEMSYNTH_TEST_PANIC_AT_BAR").ok().and_then(|v| v.parse().ok());
        Self {
            conductor,
            shared,
            mixer,
            retrieval,
            vocoder,
            osc,
            distances: HashMap::new(),
            heard: None,
            scheduled: Vec::new(),
            panic_at_bar,
            patches: PatchHost::default(),
            patch_loader: None,
            patch_saved: None,
            motion: None,
        }
    }

    fn push(&self, bytes: Vec<u8>) {
        self.osc.do_send(Send { to: None, bytes });
    }

    fn tick(&mut self, ctx: &mut Context<Self>) {
        let now = self.shared.now();
        self.apply_due(now, ctx);
        self.apply_due_patch(now);
        let actions = self.conductor.tick(now);
        self.carry_out(actions, ctx);

        let transport = self.conductor.transport();
        let audible = self.shared.audible.load(std::sync::atomic::Ordering::Acquire);
        let position = transport.position(audible);
        if let Some(p) = position
            && self.heard != Some((p.bar, p.beat))
        {
            if self.heard.is_none_or(|(bar, _)| bar != p.bar) {
                self.push(encode_bar(p.bar as u32));
            }
            self.push(encode_beat(p.beat));
            self.heard = Some((p.bar, p.beat));
            if self.panic_at_bar.is_some_and(|n| p.bar >= n) {
                self.panic_at_bar = None;
                panic!("MEMSYNTH_TEST_PANIC_AT_BAR: injected panic on bar {}", p.bar);
            }
        }
        if position.is_none() {
            self.heard = None;
        }
        self.publish_status(now);
    }

    /// Refreshes the snapshot `/status` answers from: on every tick, and as soon as a
    /// command is applied (so a `/status` right after a command already shows it).
    fn publish_status(&self, now: u64) {
        let transport = self.conductor.transport();
        let audible = self.shared.audible.load(std::sync::atomic::Ordering::Acquire);
        let position = transport.position(audible);
        self.shared.set_status(Status {
            playing: transport.is_playing(),
            tempo: transport.tempo_at(now).bpm() as f32,
            bar: position.map_or(0, |p| p.bar as u32),
            beat: position.map_or(0, |p| p.beat),
            phrase: self.conductor.playing(),
            underruns: 0,
        });
    }

    /// Applies the scheduled commands due before the next tick has rendered past them,
    /// each at its own sample (a play lands exactly on it; a tempo change on the bar line
    /// after it).
    fn apply_due(&mut self, now: u64, ctx: &mut Context<Self>) {
        let earliest = now + AHEAD;
        let horizon = earliest
            + TICK.as_micros() as u64 * u64::from(self.conductor.transport().rate()) / 1_000_000;
        let due = self.scheduled.partition_point(|(at, _)| *at <= horizon);
        let due: Vec<(u64, Apply)> = self.scheduled.drain(..due).collect();
        for (at, m) in due {
            self.apply(at.max(earliest), m, ctx);
        }
    }

    /// Applies one command at sample `now`.
    fn apply(&mut self, now: u64, m: Apply, ctx: &mut Context<Self>) {
        let stop = matches!(m.command, Command::Stop);
        let play = matches!(m.command, Command::Play);
        match commands::apply(&mut self.conductor, now, &m.command) {
            Outcome::Applied => {}
            Outcome::Server => {
                if m.command == Command::Status {
                    // Answered here, after every command that arrived before it.
                    self.publish_status(now);
                    let status = encode_status(&self.shared.status());
                    self.osc.do_send(Send { to: Some(m.from), bytes: status });
                }
            }
            Outcome::Mixer(change) => {
                let _ = self.mixer.send(MixerMsg::Change(change));
            }
            Outcome::Unsupported(why) | Outcome::Refused(why) => {
                self.osc.do_send(Send { to: Some(m.from), bytes: encode_error(&why) });
            }
            Outcome::Patch => self.patch_command(now, &m),
        }
        if stop {
            let transport = self.conductor.transport();
            let beat = transport.tempo_at(now).beat_offset(transport.rate(), 1);
            let _ = self.mixer.send(MixerMsg::FadeAll { len: beat });
        }
        if play {
            // The phrase cued while stopped goes to the mixer now, to start on `now`.
            let actions = self.conductor.tick(now);
            self.carry_out(actions, ctx);
        }
        self.publish_status(now);
    }

    fn carry_out(&mut self, actions: Vec<Action>, ctx: &mut Context<Self>) {
        let rate = self.conductor.transport().rate();
        for action in actions {
            match action {
                Action::Request { ticket, query, k, weights, .. } => {
                    let reply = ctx.address().recipient();
                    self.retrieval.do_send(Retrieve { ticket, query, k, weights, reply });
                }
                Action::Prepare { ticket, phrase_id, tempo, .. } => {
                    let reply = ctx.address().recipient();
                    self.vocoder.do_send(Prepare { ticket, phrase_id, tempo, rate, reply });
                }
                Action::Schedule { voice, fade_out } => {
                    let _ = self.mixer.send(MixerMsg::Schedule { voice, fade_out });
                }
                Action::Event(event) => {
                    match &event {
                        Event::PhraseStarts { phrase_id, .. } => {
                            let d = self.distances.get(phrase_id).copied().unwrap_or(0.0);
                            self.push(encode_phrase(*phrase_id, d));
                        }
                        Event::Extended { .. } | Event::Failed { .. } => {
                            self.push(encode_error(&event.to_string()));
                        }
                        Event::Refit { .. } => {}
                    }
                    eprintln!("{event}");
                }
            }
        }
    }
}

impl Actor for ConductorActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.set_mailbox_capacity(MAILBOX);
        ctx.run_interval(TICK, |act, ctx| {
            guarded("conductor", act, ctx, |act, ctx| act.tick(ctx));
        });
    }
}

impl Supervised for ConductorActor {
    fn restarting(&mut self, _: &mut Context<Self>) {
        eprintln!("conductor restarted (the mixer played on)");
    }
}

impl Handler<Apply> for ConductorActor {
    type Result = ();
    fn handle(&mut self, m: Apply, ctx: &mut Context<Self>) {
        guarded("conductor", self, ctx, |act, ctx| {
            let now = act.shared.now() + AHEAD;
            match m.at {
                Some(at) if at > now && m.command != Command::Status => {
                    if act.scheduled.len() >= MAX_SCHEDULED {
                        let why = format!(
                            "{MAX_SCHEDULED} time-tagged messages already wait; \
                             this one is dropped (send fewer, or closer to their time)"
                        );
                        act.osc.do_send(Send { to: Some(m.from), bytes: encode_error(&why) });
                        return;
                    }
                    let i = act.scheduled.partition_point(|(t, _)| *t <= at);
                    act.scheduled.insert(i, (at, m));
                }
                _ => act.apply(now, m, ctx),
            }
        });
    }
}

impl Handler<Candidates> for ConductorActor {
    type Result = ();
    fn handle(&mut self, m: Candidates, ctx: &mut Context<Self>) {
        guarded("conductor", self, ctx, |act, ctx| {
            let now = act.shared.now();
            let actions = match m.result {
                Ok(c) => {
                    act.distances = c.iter().map(|c| (c.phrase_id, c.distance)).collect();
                    act.conductor.on_candidates(now, m.ticket, c)
                }
                Err(reason) => act.conductor.on_failed(now, m.ticket, reason),
            };
            act.carry_out(actions, ctx);
        });
    }
}

impl Handler<Prepared> for ConductorActor {
    type Result = ();
    fn handle(&mut self, m: Prepared, ctx: &mut Context<Self>) {
        guarded("conductor", self, ctx, |act, ctx| {
            let now = act.shared.now();
            let actions = match m.result {
                Ok(audio) => act.conductor.on_prepared(now, m.ticket, Source::Retrieved, audio),
                Err(reason) => act.conductor.on_failed(now, m.ticket, reason),
            };
            act.carry_out(actions, ctx);
        });
    }
}

impl ConductorActor {
    /// Sends `/patch/load` names to `loader` (the patch manager).
    pub fn with_patch_loader(mut self, loader: actix::Recipient<LoadPatch>) -> Self {
        self.patch_loader = Some(loader);
        self
    }

    /// Applies the staged patch when its bar line falls in the next block the mixer
    /// renders (so a tempo change still lands on that line).
    fn apply_due_patch(&mut self, now: u64) {
        let horizon = now + super::BLOCK as u64;
        let Some(report) = self.patches.apply_due(&mut self.conductor, now, horizon) else {
            return;
        };
        for change in report.mixer {
            let _ = self.mixer.send(MixerMsg::Change(change));
        }
        if let Some(applied) = &report.applied {
            let latency = self.patch_saved.take().map_or_else(String::new, |saved| {
                let rate = f64::from(self.conductor.transport().rate());
                let ahead = applied.line.saturating_sub(now) as f64 / rate;
                let ms = (saved.elapsed().as_secs_f64() + ahead) * 1e3;
                format!("; save → bar line {ms:.1} ms")
            });
            eprintln!(
                "patch: {} applied on bar {} ({}){latency}",
                applied.origin, applied.bar, applied.diff
            );
        }
        for e in &report.errors {
            eprintln!("patch: {e}");
            self.push(encode_error(e));
        }
        self.send_motion();
    }

    /// Tells the motion input the running patch's `motion` section if it changed since it
    /// was last told (senders, smoothing and mapper take effect on the same bar line as the
    /// rest of the patch).
    fn send_motion(&mut self) {
        let Some((input, sent)) = &mut self.motion else { return };
        let running = &self.patches.slot.running().motion;
        if sent.as_ref() != Some(running) {
            input.do_send(MotionPatch(running.clone()));
            *sent = Some(running.clone());
        }
    }

    /// `/patch/set`, `/patch/get` and `/patch/load` from `m.from`.
    fn patch_command(&mut self, now: u64, m: &Apply) {
        let reply = |act: &Self, bytes| act.osc.do_send(Send { to: Some(m.from), bytes });
        match self.patches.command(&self.conductor, now, &m.command) {
            PatchReply::Staged(bar) => eprintln!("patch: {:?} staged for bar {bar}", m.command),
            PatchReply::Value(path, value) => reply(self, encode_patch_value(&path, value)),
            PatchReply::Load(name) => match &self.patch_loader {
                Some(loader) => loader.do_send(LoadPatch { name, from: m.from }),
                None => reply(self, encode_error("/patch/load: no patches folder")),
            },
            PatchReply::Error(e) => {
                eprintln!("OSC from {}: {e}", m.from);
                reply(self, encode_error(&e));
            }
        }
    }
}

impl Handler<StagePatch> for ConductorActor {
    type Result = ();
    fn handle(&mut self, m: StagePatch, ctx: &mut Context<Self>) {
        guarded("conductor", self, ctx, |act, _| {
            let now = act.shared.now();
            let bar = act.patches.stage(&act.conductor, now, m.patch, &m.origin);
            act.patch_saved = m.saved;
            let since = m.saved.map_or_else(String::new, |saved| {
                format!(" (save → staged {:.1} ms)", saved.elapsed().as_secs_f64() * 1e3)
            });
            eprintln!("patch: {} staged for bar {bar}{since}", m.origin);
            // Stopped: nothing renders bar lines, so it applies at once.
            if !act.conductor.transport().is_playing() {
                act.apply_due_patch(now);
            }
        });
    }
}

/// The motion input to tell about the running patch's `motion` section: told at once, then
/// whenever an applied patch changes it.
#[derive(Message)]
#[rtype(result = "()")]
pub struct AttachMotion(pub actix::Recipient<MotionPatch>);

impl Handler<AttachMotion> for ConductorActor {
    type Result = ();
    fn handle(&mut self, m: AttachMotion, _: &mut Context<Self>) {
        self.motion = Some((m.0, None));
        self.send_motion();
    }
}

/// A query from the phrase mapper (motion): used from the next request on.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SetQuery(pub memsynth::db::Query);

impl Handler<SetQuery> for ConductorActor {
    type Result = ();
    fn handle(&mut self, m: SetQuery, _: &mut Context<Self>) {
        self.conductor.set_query(m.0);
    }
}
