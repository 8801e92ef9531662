//! The conductor: what to play next and when, as a state machine with no I/O.
//!
//! It owns the [`Transport`] and answers each input with plain [`Action`]s that its owner
//! carries out: ask the retrieval for candidates ([`Action::Request`]), fit a phrase to the
//! grid ([`Action::Prepare`], see [`super::stretch`]), hand a voice to the mixer
//! ([`Action::Schedule`]), report to OSC subscribers ([`Action::Event`]). Answers come back
//! through [`Conductor::on_candidates`], [`Conductor::on_prepared`] and
//! [`Conductor::on_failed`], each carrying the [`Ticket`] of its request, so a late answer
//! to a question no longer asked is ignored.
//!
//! # Never silent
//! Every phrase is scheduled as a *looping* voice that plays until a successor fades it
//! out. If candidates or audio are late, or fail, nothing has to happen for the music to go
//! on: the playing phrase simply continues bar by bar (from its first bar after its last),
//! the conductor moves its boundary one bar on, reports [`Event::Extended`] with the reason,
//! and asks again. Only before the first phrase is there silence.
//!
//! # Determinism
//! Time is the sample the owner passes in; candidates are ranked by (distance, id) and the
//! pick among close ones uses a ChaCha8 generator seeded from [`ConductorConfig::seed`]. The
//! same inputs in the same order give the same actions.
//!
//! # Generated audio
//! Generated 4-bar chunks (diffusion + vocoder, a later stage) plug in beside retrieval at
//! [`Conductor::on_prepared`]: the generator answers a `Prepare` (or a future `Generate`
//! action issued instead of `Request` in generate/hybrid mode) with [`Source::Generated`]
//! audio already at the live tempo; it is scheduled exactly like a retrieved phrase, on the
//! [`Channel::Generated`] mixer channel, and a generator that fails or is late falls back to
//! looping what plays, as above (the owner then asks retrieval, the safe source).

use std::fmt;
use std::sync::Arc;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::mixer::{Channel, FadeOut, Voice, VoiceId};
use super::stretch::{MAX_RATIO, MIN_RATIO, fitted_len};
use super::transport::{BEATS_PER_BAR, Tempo, Transport};
use crate::db::Query;
use crate::db::embedding::GroupWeights;
use crate::db::schema::PhraseId;

/// Identifies one request, so its answer can be matched (and stale answers ignored).
pub type Ticket = u64;

/// The conductor's settings (the patch's `conductor` and `retrieval` sections).
#[derive(Debug, Clone, PartialEq)]
pub struct ConductorConfig {
    /// How many bars ahead of the playing position a phrase is asked for (4).
    pub look_ahead_bars: u32,
    /// How many candidates to ask retrieval for (5).
    pub k: usize,
    /// Group weights of the query.
    pub weights: GroupWeights,
    /// Cross-fade length in beats (1.0); the fade starts on the bar line.
    pub crossfade_beats: f64,
    /// Seed of the pick among close candidates.
    pub seed: u64,
    /// Candidates within this distance of the best count as close (0.05).
    pub close_distance: f32,
    /// The playing phrase is chosen again only when no other candidate is within this
    /// distance of the best (0.25): an immediate repeat is the least musical choice, so a
    /// query that holds still still moves through its neighbourhood.
    pub repeat_margin: f32,
}

impl Default for ConductorConfig {
    fn default() -> Self {
        Self {
            look_ahead_bars: 4,
            k: 5,
            weights: GroupWeights::default(),
            crossfade_beats: 1.0,
            seed: 0,
            close_distance: 0.05,
            repeat_margin: 0.25,
        }
    }
}

/// One retrieval result, as the conductor needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// The phrase.
    pub phrase_id: PhraseId,
    /// Its distance to the query (0 is identical).
    pub distance: f32,
    /// Its length in bars.
    pub bars: u16,
    /// Its local tempo, BPM.
    pub tempo: f64,
}

/// Where prepared audio comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// A phrase from the library, stretched to the live tempo.
    Retrieved,
    /// Generated audio (diffusion + vocoder).
    Generated,
}

impl Source {
    /// The mixer channel this source plays through.
    pub fn channel(self) -> Channel {
        match self {
            Self::Retrieved => Channel::Retrieved,
            Self::Generated => Channel::Generated,
        }
    }
}

/// Why the playing phrase was extended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Late {
    /// No query is set, so nothing was asked for.
    NoQuery,
    /// The candidates had not come back.
    Candidates,
    /// The audio had not been prepared.
    Audio,
    /// No candidate was usable (none, or none within stretch range of the tempo).
    NoUsableCandidate,
    /// The request or preparation failed; the owner's reason.
    Failed(String),
}

/// What happened, for OSC subscribers (`/phrase`, `/error`).
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A phrase starts on `bar`.
    PhraseStarts {
        /// The phrase.
        phrase_id: PhraseId,
        /// Where its audio came from.
        source: Source,
        /// The bar it starts on.
        bar: u64,
    },
    /// Bar `bar` plays the previous phrase on (or silence before the first phrase),
    /// because its successor was not ready: an `/error` for the performer.
    Extended {
        /// The bar that was filled.
        bar: u64,
        /// The phrase that goes on, if any.
        phrase_id: Option<PhraseId>,
        /// Why.
        reason: Late,
    },
    /// A request or preparation failed (the show goes on; see `Extended`).
    Failed {
        /// The owner's reason.
        reason: String,
    },
    /// The tempo changed: the playing phrase is being fitted again from `bar`.
    Refit {
        /// The phrase.
        phrase_id: PhraseId,
        /// The bar from which the refitted audio will play.
        bar: u64,
        /// The new tempo.
        tempo: Tempo,
    },
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::PhraseStarts { phrase_id, source, bar } => {
                write!(f, "phrase {phrase_id} ({source:?}) starts on bar {bar}")
            }
            Self::Extended { bar, phrase_id: Some(id), reason } => {
                write!(f, "bar {bar}: phrase {id} plays on ({reason:?})")
            }
            Self::Extended { bar, phrase_id: None, reason } => {
                write!(f, "bar {bar}: nothing to play yet ({reason:?})")
            }
            Self::Failed { reason } => write!(f, "next phrase failed: {reason}"),
            Self::Refit { phrase_id, bar, tempo } => {
                write!(f, "phrase {phrase_id} refitted to {} BPM from bar {bar}", tempo.bpm())
            }
        }
    }
}

/// What the owner must do.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Ask retrieval for `k` candidates; answer with [`Conductor::on_candidates`].
    Request {
        /// Echo this back.
        ticket: Ticket,
        /// What to search near.
        query: Query,
        /// How many.
        k: usize,
        /// Group weights.
        weights: GroupWeights,
        /// The bar the chosen phrase should start on.
        for_bar: u64,
    },
    /// Load `phrase_id`'s audio and fit it to `bars` bars at `tempo`
    /// ([`super::stretch::fit_to_bars`]); answer with [`Conductor::on_prepared`].
    Prepare {
        /// Echo this back.
        ticket: Ticket,
        /// The phrase.
        phrase_id: PhraseId,
        /// Its whole length in bars.
        bars: u16,
        /// The live tempo to fit it to.
        tempo: Tempo,
        /// The bar it is meant to start on.
        for_bar: u64,
    },
    /// Give `voice` to the mixer and, if set, fade out the outgoing voice.
    Schedule {
        /// The new voice (its `start` is a bar line sample).
        voice: Voice,
        /// The outgoing voice and its fade, on the same bar line.
        fade_out: Option<(VoiceId, FadeOut)>,
    },
    /// Report to OSC subscribers.
    Event(Event),
}

#[derive(Debug, Clone)]
struct Playing {
    phrase_id: PhraseId,
    voice: VoiceId,
    /// The bar on which its first bar plays (or would have, for a refit that starts inside).
    start_bar: u64,
    bars: u16,
    tempo: Tempo,
}

#[derive(Debug, Clone, PartialEq)]
enum Pending {
    Idle,
    Requested {
        ticket: Ticket,
    },
    Preparing {
        ticket: Ticket,
        phrase_id: PhraseId,
        bars: u16,
        tempo: Tempo,
        refit: bool,
    },
    /// The last try for the current boundary failed: wait for the next bar.
    Failed {
        reason: Late,
    },
}

/// The first phrase, prepared while the transport is stopped, so `play` starts with music
/// on bar 0 instead of a silent bar while retrieval and the stretch run.
#[derive(Debug, Clone)]
struct Cued {
    phrase_id: PhraseId,
    bars: u16,
    tempo: Tempo,
    source: Source,
    audio: Arc<[f32]>,
}

/// The conductor. Owned by one actor; see the module notes.
#[derive(Debug)]
pub struct Conductor {
    config: ConductorConfig,
    transport: Transport,
    query: Option<Query>,
    playing: Option<Playing>,
    /// The bar the next phrase starts on (`None` until playing starts).
    boundary: Option<u64>,
    pending: Pending,
    /// Ready for bar 0 of the next `play`.
    cued: Option<Cued>,
    next_ticket: Ticket,
    next_voice: VoiceId,
    rng: ChaCha8Rng,
}

impl Conductor {
    /// A conductor over `transport` (which it owns from now on).
    pub fn new(config: ConductorConfig, transport: Transport) -> Self {
        let rng = ChaCha8Rng::seed_from_u64(config.seed);
        Self {
            config,
            transport,
            query: None,
            playing: None,
            boundary: None,
            pending: Pending::Idle,
            cued: None,
            next_ticket: 1,
            next_voice: 1,
            rng,
        }
    }

    /// The transport (read).
    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    /// The transport (play, stop, tempo, tap).
    pub fn transport_mut(&mut self) -> &mut Transport {
        &mut self.transport
    }

    /// The settings.
    pub fn config(&self) -> &ConductorConfig {
        &self.config
    }

    /// Changes the settings; they apply from the next request (the seed restarts the pick).
    pub fn set_config(&mut self, config: ConductorConfig) {
        if config.seed != self.config.seed {
            self.rng = ChaCha8Rng::seed_from_u64(config.seed);
        }
        self.config = config;
    }

    /// Sets what to search near from the next request on.
    pub fn set_query(&mut self, query: Query) {
        if self.query.as_ref() != Some(&query) {
            self.cued = None;
        }
        self.query = Some(query);
    }

    /// The playing phrase, if any.
    pub fn playing(&self) -> Option<PhraseId> {
        self.playing.as_ref().map(|p| p.phrase_id)
    }

    /// The bar the next phrase is due on.
    pub fn next_boundary(&self) -> Option<u64> {
        self.boundary
    }

    /// Advances to `now` (the next sample the mixer will render): asks for the next phrase
    /// when its bar enters the look-ahead, extends the playing phrase past boundaries that
    /// came before its successor, and refits it after a tempo change. While stopped it
    /// cues the first phrase, which the first tick after `play` starts on bar 0 — call
    /// `tick` right after `play`, before the mixer renders the play sample.
    pub fn tick(&mut self, now: u64) -> Vec<Action> {
        let mut out = Vec::new();
        if !self.transport.is_playing() {
            self.cue(&mut out);
            return out;
        }
        self.pass_boundaries(now, &mut out);
        let Some(boundary) = self.boundary else {
            return out;
        };
        if let Some(cued) = self.cued.take() {
            // The first phrase, if it still fits: same tempo, and its bar is still to come.
            let tempo = self.transport.tempo_at_bar(boundary);
            if self.playing.is_none() && cued.tempo == tempo {
                let Cued { phrase_id, bars, tempo, source, audio } = cued;
                self.place(boundary, phrase_id, bars, tempo, source, audio, false, &mut out);
                return out;
            }
        }
        let bar_now = self.transport.position(now).map_or(0, |p| p.bar);

        // After a tempo change the playing phrase is off the grid: fit it again.
        if let Some(p) = &self.playing
            && let Some((line, _)) = self.transport.next_bar_line(now)
            && self.transport.tempo_at_bar(line) != p.tempo
            && !matches!(self.pending, Pending::Preparing { .. })
        {
            let tempo = self.transport.tempo_at_bar(line);
            let (phrase_id, bars) = (p.phrase_id, p.bars);
            let ticket = self.ticket();
            self.pending = Pending::Preparing { ticket, phrase_id, bars, tempo, refit: true };
            out.push(Action::Event(Event::Refit { phrase_id, bar: line, tempo }));
            out.push(Action::Prepare { ticket, phrase_id, bars, tempo, for_bar: line });
            return out;
        }

        if self.pending == Pending::Idle
            && boundary <= bar_now + u64::from(self.config.look_ahead_bars)
            && let Some(query) = self.query.clone()
        {
            out.push(self.request(query, boundary));
        }
        out
    }

    /// Retrieval's answer: picks a phrase and asks for it to be prepared.
    ///
    /// The pick: candidates whose tempo is within stretch range, ranked by (distance, id);
    /// those within [`ConductorConfig::close_distance`] of the best are close; the playing
    /// phrase is dropped from them if another is close; one is drawn from the seeded
    /// generator.
    pub fn on_candidates(
        &mut self,
        now: u64,
        ticket: Ticket,
        mut candidates: Vec<Candidate>,
    ) -> Vec<Action> {
        let mut out = Vec::new();
        if self.pending != (Pending::Requested { ticket }) {
            return out;
        }
        self.pass_boundaries(now, &mut out);
        // Stopped: the pick is cued for bar 0 at the tempo play will start at.
        let (boundary, tempo) = match self.boundary {
            _ if !self.transport.is_playing() => (0, self.transport.tempo_at(now)),
            Some(b) => (b, self.transport.tempo_at_bar(b)),
            None => return out,
        };
        // A 10 % margin: a phrase's beats vary around its mean tempo.
        let reach = (MIN_RATIO * 1.1)..=(MAX_RATIO / 1.1);
        candidates
            .retain(|c| c.bars > 0 && c.tempo > 0.0 && reach.contains(&(c.tempo / tempo.bpm())));
        candidates
            .sort_by(|a, b| a.distance.total_cmp(&b.distance).then(a.phrase_id.cmp(&b.phrase_id)));
        let Some(best) = candidates.first().map(|c| c.distance) else {
            self.pending = Pending::Failed { reason: Late::NoUsableCandidate };
            return out;
        };
        let mut close: Vec<&Candidate> = candidates
            .iter()
            .take_while(|c| c.distance <= best + self.config.close_distance)
            .collect();
        if let Some(playing) = self.playing()
            && close.iter().any(|c| c.phrase_id == playing)
        {
            if close.len() > 1 {
                close.retain(|c| c.phrase_id != playing);
            } else if let Some(other) = candidates
                .iter()
                .find(|c| c.phrase_id != playing && c.distance <= best + self.config.repeat_margin)
            {
                close = vec![other];
            }
        }
        let pick = close[self.rng.random_range(0..close.len())].clone();
        let ticket = self.ticket();
        self.pending = Pending::Preparing {
            ticket,
            phrase_id: pick.phrase_id,
            bars: pick.bars,
            tempo,
            refit: false,
        };
        out.push(Action::Prepare {
            ticket,
            phrase_id: pick.phrase_id,
            bars: pick.bars,
            tempo,
            for_bar: boundary,
        });
        out
    }

    /// Prepared audio (interleaved stereo at the transport's rate, `bars` bars at the
    /// prepared tempo): schedules it on the next due bar line, cross-fading the outgoing
    /// phrase there. Audio for a tempo no longer in force is prepared again; audio of the
    /// wrong length is refused (reported, and the playing phrase goes on).
    pub fn on_prepared(
        &mut self,
        now: u64,
        ticket: Ticket,
        source: Source,
        audio: Arc<[f32]>,
    ) -> Vec<Action> {
        let mut out = Vec::new();
        let Pending::Preparing { ticket: t, phrase_id, bars, tempo, refit } = self.pending.clone()
        else {
            return out;
        };
        if t != ticket {
            return out;
        }
        self.pass_boundaries(now, &mut out);
        if !self.transport.is_playing() {
            self.pending = Pending::Idle;
            if !refit && tempo == self.transport.tempo_at(now) {
                self.cued = Some(Cued { phrase_id, bars, tempo, source, audio });
            }
            return out;
        }
        let rate = self.transport.rate();
        // A refit starts on the next bar line; a new phrase on its boundary.
        let bar = if refit {
            match self.transport.next_bar_line(now) {
                Some((bar, _)) => bar,
                None => return out,
            }
        } else {
            match self.boundary {
                Some(b) => b,
                None => return out,
            }
        };
        let current = self.transport.tempo_at_bar(bar);
        if current != tempo {
            let ticket = self.ticket();
            self.pending = Pending::Preparing { ticket, phrase_id, bars, tempo: current, refit };
            out.push(Action::Prepare { ticket, phrase_id, bars, tempo: current, for_bar: bar });
            return out;
        }
        let beats = u64::from(bars) * u64::from(BEATS_PER_BAR);
        let frames = fitted_len(tempo, rate, beats);
        if audio.len() != 2 * frames {
            let reason = format!(
                "phrase {phrase_id}: prepared {} frames, expected {frames} ({bars} bars at {} BPM)",
                audio.len() / 2,
                tempo.bpm()
            );
            out.push(Action::Event(Event::Failed { reason: reason.clone() }));
            self.pending = Pending::Failed { reason: Late::Failed(reason) };
            return out;
        }
        self.place(bar, phrase_id, bars, tempo, source, audio, refit, &mut out);
        out
    }

    /// Schedules prepared audio on `bar` (a refit enters it where the old fit would be),
    /// cross-fading from the playing phrase; the first phrase after `play` comes in at
    /// once, so its downbeat is heard.
    #[allow(clippy::too_many_arguments)]
    fn place(
        &mut self,
        bar: u64,
        phrase_id: PhraseId,
        bars: u16,
        tempo: Tempo,
        source: Source,
        audio: Arc<[f32]>,
        refit: bool,
        out: &mut Vec<Action>,
    ) {
        let rate = self.transport.rate();
        let xfade = self.crossfade_samples(tempo);
        // A refit enters the phrase where the old fit would be; a new phrase at its start.
        // (A refit of a phrase that has not started yet replaces it on its own bar.)
        let (offset_bars, phrase_start) = match (&self.playing, refit) {
            (Some(p), true) if bar > p.start_bar => {
                let m = (bar - p.start_bar) % u64::from(p.bars);
                (m, bar - m)
            }
            (Some(p), true) => (0, p.start_bar),
            _ => (0, bar),
        };
        let start = self.transport.bar_sample(phrase_start + offset_bars).expect("playing");
        let offset = fitted_len(tempo, rate, offset_bars * u64::from(BEATS_PER_BAR));
        let voice = Voice {
            id: self.next_voice,
            audio,
            start,
            offset,
            looping: true,
            gain: 1.0,
            fade_in: if self.playing.is_some() { xfade } else { u64::from(rate) / 200 },
            fade_out: None,
            channel: source.channel(),
        };
        self.next_voice += 1;
        let fade_out = self.playing.as_ref().map(|p| {
            // An outgoing voice that has not started yet is cut before it sounds.
            let len = if refit && bar <= p.start_bar { 0 } else { xfade };
            (p.voice, FadeOut { start, len })
        });
        if !refit {
            out.push(Action::Event(Event::PhraseStarts { phrase_id, source, bar: phrase_start }));
        }
        let end = phrase_start + u64::from(bars);
        self.playing =
            Some(Playing { phrase_id, voice: voice.id, start_bar: phrase_start, bars, tempo });
        if !refit {
            self.boundary = Some(end);
        }
        self.pending = Pending::Idle;
        out.insert(0, Action::Schedule { voice, fade_out });
    }

    /// A request or preparation failed: reported; the playing phrase goes on and the next
    /// bar asks again.
    pub fn on_failed(&mut self, now: u64, ticket: Ticket, reason: String) -> Vec<Action> {
        let mut out = Vec::new();
        let matches = match self.pending {
            Pending::Requested { ticket: t } | Pending::Preparing { ticket: t, .. } => t == ticket,
            _ => false,
        };
        if !matches {
            return out;
        }
        self.pass_boundaries(now, &mut out);
        out.push(Action::Event(Event::Failed { reason: reason.clone() }));
        self.pending = Pending::Failed { reason: Late::Failed(reason) };
        out
    }

    /// Moves the boundary past bar lines that `now` has reached with no successor
    /// scheduled (one bar at a time, each reported), and starts it on the first bar line
    /// after playing starts.
    fn pass_boundaries(&mut self, now: u64, out: &mut Vec<Action>) {
        let Some((next_line, _)) = self.transport.next_bar_line(now) else {
            return;
        };
        let mut boundary = *self.boundary.get_or_insert(next_line);
        while boundary < next_line {
            let reason = match &self.pending {
                _ if self.query.is_none() => Late::NoQuery,
                Pending::Idle | Pending::Requested { .. } => Late::Candidates,
                Pending::Preparing { .. } => Late::Audio,
                Pending::Failed { reason } => reason.clone(),
            };
            out.push(Action::Event(Event::Extended {
                bar: boundary,
                phrase_id: self.playing(),
                reason,
            }));
            boundary += 1;
            // A failure was for the boundary just passed: ask again for the next.
            if matches!(self.pending, Pending::Failed { .. }) {
                self.pending = Pending::Idle;
            }
        }
        self.boundary = Some(boundary);
    }

    /// While stopped: forgets the last performance (the next `play` starts from bar 0)
    /// and asks for the first phrase, unless it is cued or on its way.
    fn cue(&mut self, out: &mut Vec<Action>) {
        let played = self.playing.take().is_some();
        if self.boundary.take().is_some() || played {
            self.pending = Pending::Idle;
        }
        if let Some(c) = &self.cued
            && c.tempo != self.transport.tempo_at(0)
        {
            self.cued = None;
        }
        if self.cued.is_some() || self.pending != Pending::Idle {
            return;
        }
        if let Some(query) = self.query.clone() {
            out.push(self.request(query, 0));
        }
    }

    /// Asks retrieval for the phrase of `for_bar` (one request out at a time).
    fn request(&mut self, query: Query, for_bar: u64) -> Action {
        let ticket = self.ticket();
        self.pending = Pending::Requested { ticket };
        Action::Request { ticket, query, k: self.config.k, weights: self.config.weights, for_bar }
    }

    fn crossfade_samples(&self, tempo: Tempo) -> u64 {
        let beats = self.config.crossfade_beats.max(0.0);
        (beats * tempo.samples_per_beat(self.transport.rate())).round() as u64
    }

    fn ticket(&mut self) -> Ticket {
        let t = self.next_ticket;
        self.next_ticket += 1;
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RATE: u32 = 48_000;
    const BAR: u64 = 96_000; // 120 BPM

    fn conductor(seed: u64) -> Conductor {
        let mut t = Transport::new(RATE, Tempo::from_bpm(120.0).unwrap());
        t.play(0);
        let config = ConductorConfig { seed, ..ConductorConfig::default() };
        let mut c = Conductor::new(config, t);
        c.set_query(Query::Raw(vec![0.5; 256]));
        c
    }

    fn cand(phrase_id: PhraseId, distance: f32, tempo: f64) -> Candidate {
        Candidate { phrase_id, distance, bars: 4, tempo }
    }

    /// Audio of the length a `Prepare` for `bars` bars at `tempo` must return.
    fn audio(bars: u16, tempo: Tempo) -> Arc<[f32]> {
        vec![0.1f32; 2 * fitted_len(tempo, RATE, u64::from(bars) * 4)].into()
    }

    fn only_request(actions: &[Action]) -> (Ticket, u64) {
        match actions {
            [Action::Request { ticket, for_bar, k: 5, .. }] => (*ticket, *for_bar),
            other => panic!("expected one request: {other:?}"),
        }
    }

    fn prepare(actions: &[Action]) -> (Ticket, PhraseId, Tempo, u64) {
        let found = actions.iter().find_map(|a| match a {
            Action::Prepare { ticket, phrase_id, tempo, for_bar, .. } => {
                Some((*ticket, *phrase_id, *tempo, *for_bar))
            }
            _ => None,
        });
        found.unwrap_or_else(|| panic!("expected a prepare: {actions:?}"))
    }

    fn schedule(actions: &[Action]) -> (Voice, Option<(VoiceId, FadeOut)>) {
        let found = actions.iter().find_map(|a| match a {
            Action::Schedule { voice, fade_out } => Some((voice.clone(), *fade_out)),
            _ => None,
        });
        found.unwrap_or_else(|| panic!("expected a schedule: {actions:?}"))
    }

    fn events(actions: &[Action]) -> Vec<Event> {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::Event(e) => Some(e.clone()),
                _ => None,
            })
            .collect()
    }

    /// The scripted show of the first test, returning every action in order.
    fn script(seed: u64) -> Vec<Action> {
        let mut c = conductor(seed);
        let mut all = Vec::new();
        let t120 = Tempo::from_bpm(120.0).unwrap();
        let a = c.tick(0);
        let (t1, _) = only_request(&a);
        all.extend(a);
        let a = c.on_candidates(10, t1, vec![cand(10, 0.1, 118.0), cand(11, 0.5, 121.0)]);
        let (t2, ..) = prepare(&a);
        all.extend(a);
        all.extend(c.on_prepared(20, t2, Source::Retrieved, audio(4, t120)));
        let a = c.tick(BAR);
        let (t3, _) = only_request(&a);
        all.extend(a);
        let cands = vec![cand(10, 0.1, 120.0), cand(12, 0.12, 125.0), cand(13, 0.13, 90.0)];
        let a = c.on_candidates(BAR + 10, t3, cands);
        let (t4, ..) = prepare(&a);
        all.extend(a);
        all.extend(c.on_prepared(2 * BAR, t4, Source::Retrieved, audio(4, t120)));
        all
    }

    /// Plays `first`, then answers the next request with `cands`; returns the second pick.
    fn second_pick(cands: Vec<Candidate>) -> PhraseId {
        let mut c = conductor(3);
        let t120 = Tempo::from_bpm(120.0).unwrap();
        let (t1, _) = only_request(&c.tick(0));
        let (t2, first, ..) = prepare(&c.on_candidates(10, t1, vec![cand(10, 0.1, 120.0)]));
        assert_eq!(first, 10);
        c.on_prepared(20, t2, Source::Retrieved, audio(4, t120));
        let (t3, _) = only_request(&c.tick(BAR));
        prepare(&c.on_candidates(BAR + 10, t3, cands)).1
    }

    #[test]
    fn the_playing_phrase_repeats_only_when_nothing_else_is_near() {
        // The playing phrase is the best, another is 0.2 further: move on.
        assert_eq!(second_pick(vec![cand(10, 0.1, 120.0), cand(11, 0.3, 120.0)]), 11);
        // Another is 0.4 further: the query really wants this phrase again.
        assert_eq!(second_pick(vec![cand(10, 0.1, 120.0), cand(11, 0.5, 120.0)]), 10);
    }

    #[test]
    fn play_starts_with_the_phrase_cued_while_stopped() {
        let t120 = Tempo::from_bpm(120.0).unwrap();
        let mut c = Conductor::new(ConductorConfig::default(), Transport::new(RATE, t120));
        c.set_query(Query::Phrase(3));
        // Stopped: the first phrase is asked for, picked and prepared; nothing is scheduled.
        let (t1, for_bar) = only_request(&c.tick(0));
        assert_eq!(for_bar, 0);
        assert!(c.tick(100).is_empty(), "one request at a time");
        let (t2, id, tempo, _) = prepare(&c.on_candidates(200, t1, vec![cand(10, 0.1, 119.0)]));
        assert_eq!((id, tempo), (10, t120));
        assert!(c.on_prepared(300, t2, Source::Retrieved, audio(4, t120)).is_empty());
        assert!(c.tick(400).is_empty(), "cued: nothing more to ask");

        // Play at 5 000: the tick right after schedules it on that very sample, bar 0.
        c.transport_mut().play(5_000);
        let a = c.tick(5_000);
        let (v, fade) = schedule(&a);
        assert_eq!((v.start, v.offset, fade), (5_000, 0, None));
        assert!(events(&a).contains(&Event::PhraseStarts {
            phrase_id: 10,
            source: Source::Retrieved,
            bar: 0
        }));
        assert_eq!(c.next_boundary(), Some(4));

        // Stop, change the tempo and play again: the cue is prepared anew, at the new tempo.
        c.transport_mut().stop(BAR);
        let t100 = Tempo::from_bpm(100.0).unwrap();
        c.transport_mut().set_tempo(t100, BAR).unwrap();
        let (t3, _) = only_request(&c.tick(BAR));
        assert_eq!(c.playing(), None);
        let (t4, _, tempo, _) = prepare(&c.on_candidates(BAR, t3, vec![cand(11, 0.1, 100.0)]));
        assert_eq!(tempo, t100);
        c.on_prepared(BAR, t4, Source::Retrieved, audio(4, t100));
        c.transport_mut().play(2 * BAR);
        let (v, _) = schedule(&c.tick(2 * BAR));
        assert_eq!(v.start, 2 * BAR);
    }

    #[test]
    fn a_scripted_show_gives_the_expected_requests_and_schedules() {
        let mut c = conductor(1);
        let t120 = Tempo::from_bpm(120.0).unwrap();
        // The first bar line is bar 0, in the look-ahead at once.
        let (t1, for_bar) = only_request(&c.tick(0));
        assert_eq!(for_bar, 0);
        // Nothing new is asked while a request is out; bar 0's line passes unfilled.
        let a = c.tick(512);
        assert_eq!(
            events(&a),
            vec![Event::Extended { bar: 0, phrase_id: None, reason: Late::Candidates }]
        );
        assert_eq!(a.len(), 1);
        // The answer: the phrase is for bar 1.
        let a = c.on_candidates(1_000, t1, vec![cand(10, 0.1, 118.0), cand(11, 0.5, 121.0)]);
        assert!(events(&a).is_empty());
        let (t2, id, tempo, for_bar) = prepare(&a);
        assert_eq!((id, tempo, for_bar), (10, t120, 1)); // 11 is not close to the best
        let a = c.on_prepared(2_000, t2, Source::Retrieved, audio(4, t120));
        let (v1, fade) = schedule(&a);
        // The first phrase comes in over 5 ms (no click), not a beat: its downbeat counts.
        assert_eq!((v1.start, v1.offset, v1.fade_in, v1.looping), (BAR, 0, 240, true));
        assert_eq!(fade, None);
        assert_eq!(c.next_boundary(), Some(5));
        assert!(events(&a).contains(&Event::PhraseStarts {
            phrase_id: 10,
            source: Source::Retrieved,
            bar: 1
        }));
        // Bar 5 enters the 4-bar look-ahead on bar 1.
        assert!(c.tick(BAR - 1).is_empty());
        let (t3, for_bar) = only_request(&c.tick(BAR));
        assert_eq!(for_bar, 5);
        // 10 is playing and 12 is close: 12 is chosen (13 is too far, even if its tempo fits).
        let cands = vec![cand(10, 0.1, 120.0), cand(12, 0.12, 125.0), cand(13, 0.5, 120.0)];
        let (t4, id, ..) = prepare(&c.on_candidates(BAR + 10, t3, cands));
        assert_eq!(id, 12);
        let (v2, fade) = schedule(&c.on_prepared(2 * BAR, t4, Source::Retrieved, audio(4, t120)));
        assert_eq!(v2.start, 5 * BAR);
        assert_eq!(fade, Some((v1.id, FadeOut { start: 5 * BAR, len: 24_000 })));
        assert_eq!(c.next_boundary(), Some(9));
        // Stale answers are ignored.
        assert!(c.on_candidates(3 * BAR, t3, vec![cand(1, 0.0, 120.0)]).is_empty());
        assert!(c.on_prepared(3 * BAR, t2, Source::Retrieved, audio(4, t120)).is_empty());
    }

    #[test]
    fn a_missing_answer_extends_the_playing_phrase_bar_by_bar() {
        let mut c = conductor(2);
        let t120 = Tempo::from_bpm(120.0).unwrap();
        let (t1, _) = only_request(&c.tick(0));
        let (t2, ..) = prepare(&c.on_candidates(0, t1, vec![cand(10, 0.1, 120.0)]));
        let (v1, _) = schedule(&c.on_prepared(0, t2, Source::Retrieved, audio(4, t120)));
        assert_eq!(v1.start, 0);
        let (t3, for_bar) = only_request(&c.tick(1));
        assert_eq!(for_bar, 4);
        // No answer: bar 4's line passes, then bar 5's.
        assert!(c.tick(4 * BAR).is_empty());
        let a = c.tick(4 * BAR + 1);
        assert_eq!(
            events(&a),
            vec![Event::Extended { bar: 4, phrase_id: Some(10), reason: Late::Candidates }]
        );
        assert!(!a.iter().any(|a| matches!(a, Action::Schedule { .. })));
        // The playing voice loops on its own: nothing needs scheduling to avoid silence.
        assert!(v1.looping && v1.fade_out.is_none());
        let a = c.tick(5 * BAR + 1);
        assert_eq!(events(&a).len(), 1);
        // The late answer is used on the next bar line.
        let (t4, _, _, for_bar) =
            prepare(&c.on_candidates(5 * BAR + 2, t3, vec![cand(11, 0.1, 120.0)]));
        assert_eq!(for_bar, 6);
        let (v2, fade) =
            schedule(&c.on_prepared(5 * BAR + 3, t4, Source::Retrieved, audio(4, t120)));
        assert_eq!(v2.start, 6 * BAR);
        assert_eq!(fade.unwrap().0, v1.id);
        assert_eq!(c.next_boundary(), Some(10));
    }

    #[test]
    fn failures_are_reported_and_retried_on_the_next_bar() {
        let mut c = conductor(3);
        let t120 = Tempo::from_bpm(120.0).unwrap();
        let (t1, _) = only_request(&c.tick(0));
        let (t2, ..) = prepare(&c.on_candidates(0, t1, vec![cand(10, 0.1, 120.0)]));
        schedule(&c.on_prepared(0, t2, Source::Retrieved, audio(4, t120)));
        let (t3, _) = only_request(&c.tick(1));
        let a = c.on_failed(10, t3, "index busy".into());
        assert_eq!(events(&a), vec![Event::Failed { reason: "index busy".into() }]);
        // No retry storm before the boundary.
        assert!(c.tick(2 * BAR).is_empty());
        // Past the boundary: reported with the reason, and asked again for bar 5.
        let a = c.tick(4 * BAR + 1);
        assert_eq!(
            events(&a),
            vec![Event::Extended {
                bar: 4,
                phrase_id: Some(10),
                reason: Late::Failed("index busy".into())
            }]
        );
        let (t4, for_bar) = match a.as_slice() {
            [_, Action::Request { ticket, for_bar, .. }] => (*ticket, *for_bar),
            other => panic!("{other:?}"),
        };
        assert_eq!(for_bar, 5);
        // Only phrases out of stretch range: nothing usable, reported at the boundary.
        assert!(prepare_or_none(&c.on_candidates(4 * BAR + 2, t4, vec![cand(20, 0.0, 50.0)])));
        let a = c.tick(5 * BAR + 1);
        assert!(events(&a).contains(&Event::Extended {
            bar: 5,
            phrase_id: Some(10),
            reason: Late::NoUsableCandidate
        }));
        // Audio of the wrong length is refused, not played.
        let (t5, _) = only_request(&a[1..]);
        let (t6, ..) = prepare(&c.on_candidates(5 * BAR + 2, t5, vec![cand(11, 0.1, 120.0)]));
        let a = c.on_prepared(5 * BAR + 3, t6, Source::Retrieved, audio(2, t120));
        assert!(matches!(events(&a).as_slice(), [Event::Failed { .. }]));
        assert!(!a.iter().any(|a| matches!(a, Action::Schedule { .. })));
    }

    fn prepare_or_none(actions: &[Action]) -> bool {
        !actions.iter().any(|a| matches!(a, Action::Prepare { .. }))
    }

    #[test]
    fn a_tempo_change_refits_the_playing_phrase() {
        let mut c = conductor(4);
        let t120 = Tempo::from_bpm(120.0).unwrap();
        let t100 = Tempo::from_bpm(100.0).unwrap();
        let (t1, _) = only_request(&c.tick(0));
        let (t2, ..) = prepare(&c.on_candidates(0, t1, vec![cand(10, 0.1, 120.0)]));
        let (v1, _) = schedule(&c.on_prepared(0, t2, Source::Retrieved, audio(4, t120)));
        let (_t3, _) = only_request(&c.tick(1));
        // In bar 1, the tempo changes from bar 2 on.
        let change = c.transport_mut().set_tempo(t100, BAR + 5).unwrap();
        assert_eq!(change.bar, 2);
        let a = c.tick(BAR + 6);
        assert_eq!(events(&a), vec![Event::Refit { phrase_id: 10, bar: 2, tempo: t100 }]);
        let (t4, id, tempo, for_bar) = prepare(&a);
        assert_eq!((id, tempo, for_bar), (10, t100, 2));
        let (v2, fade) = schedule(&c.on_prepared(BAR + 7, t4, Source::Retrieved, audio(4, t100)));
        // Enters the refitted phrase at its bar 2, on bar 2's line.
        assert_eq!(v2.start, 2 * BAR);
        assert_eq!(v2.offset, 2 * 4 * 28_800);
        assert_eq!(fade.unwrap(), (v1.id, FadeOut { start: 2 * BAR, len: 28_800 }));
        // The boundary is unchanged; the next request is at the new tempo.
        assert_eq!(c.next_boundary(), Some(4));
        let (t5, for_bar) = only_request(&c.tick(2 * BAR));
        assert_eq!(for_bar, 4);
        let (.., tempo, _) = prepare(&c.on_candidates(2 * BAR, t5, vec![cand(11, 0.1, 98.0)]));
        assert_eq!(tempo, t100);
    }

    #[test]
    fn same_inputs_same_outputs_and_the_seed_matters() {
        assert_eq!(script(9), script(9));
        // With several close candidates, the pick depends on the seed (some seed differs).
        let picks: Vec<PhraseId> = (0..16)
            .map(|seed| {
                let mut c = conductor(seed);
                let (t, _) = only_request(&c.tick(0));
                let cands: Vec<_> = (0..5).map(|i| cand(30 + i, 0.1, 120.0)).collect();
                prepare(&c.on_candidates(0, t, cands)).1
            })
            .collect();
        assert!(picks.iter().any(|p| *p != picks[0]), "{picks:?}");
        // Candidate order does not matter.
        let pick = |order: &[u32]| {
            let mut c = conductor(5);
            let (t, _) = only_request(&c.tick(0));
            let cands: Vec<_> = order.iter().map(|&i| cand(i, 0.1, 120.0)).collect();
            prepare(&c.on_candidates(0, t, cands)).1
        };
        assert_eq!(pick(&[1, 2, 3, 4]), pick(&[4, 2, 3, 1]));
    }
}
