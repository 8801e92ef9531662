//! Motion → query: the MotionInput and PhraseMapper actors of `memsynth serve`, and
//! [`MotionPath`], the same two stages inline for the offline engine.
//!
//! ```text
//!  OscServer ─MotionPacket─► MotionInput (encoder + normalizer; /record/motion)
//!                              │ on each beat line (the audible clock): e_motion of the bar
//!                              ▼
//!                           PhraseMapper (SyncArbiter: anchor phrase from the database,
//!                              │          mapper) ─► /motion/query push to subscribers
//!                              ▼
//!                           Conductor actor ◄─SetQuery(Query::Standard)
//! ```
//!
//! Motion is timed on the *audible* sample clock (what the performer hears): a reading is
//! stamped with the audible sample when it arrives, and the bar ending on each beat line is
//! encoded when the audible position reaches that line. The anchor is the phrase playing
//! (the music the performer moves to); the query is the anchor moved by the mapped motion,
//! so motion steers from where the music is. With no motion for a bar, no query is set and
//! the conductor keeps the one it has. Offline, [`MotionPath`] does the same on the virtual
//! clock, deterministically.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::{Actor, Addr, AsyncContext, Context, Handler, Message, Recipient, SyncContext};
use memsynth::db::Query;
use memsynth::db::embedding::{E_PHRASE_DIMS, Group, GroupWeights, weighted_distance};
use memsynth::db::schema::PhraseId;
use memsynth::live::transport::Transport;
use memsynth::motion::{
    E_MOTION_DIMS, LinearMap, MotionInput, MotionMapper, NormalizerConfig, QuerySmoother,
    standardise_z,
};
use memsynth::osc::{Command, MotionSample, Sender, decode_packet, encode_error, encode_reply};
use memsynth::patch::MotionSection;
use rosc::OscType;

use super::conductor_actor::{ConductorActor, Send, SetQuery};
use super::library::Library;
use super::motion_file::{self, MotionWriter};
use super::shared::Shared;
use super::supervise::guarded;

/// Bars `/motion/calibrate` records.
pub const CALIBRATE_BARS: u32 = 4;

/// What one motion update did: the query and what `/motion/query` reports.
#[derive(Debug, Clone, PartialEq)]
pub struct MotionUpdate {
    /// The new query (standardised).
    pub query: Query,
    /// Updates so far, this one included.
    pub update: u64,
    /// Motion readings received so far.
    pub received: u64,
    /// Cosine distance of each group (rhythm, harmony, timbre) from the anchor phrase.
    pub distance: [f32; 3],
}

impl MotionUpdate {
    /// The `/motion/query` push.
    pub fn encode(&self) -> Vec<u8> {
        let int = |v: u64| OscType::Int(i32::try_from(v).unwrap_or(i32::MAX));
        let mut args = vec![int(self.update), int(self.received)];
        args.extend(self.distance.iter().map(|&d| OscType::Float(d)));
        encode_reply("/motion/query", args)
    }
}

/// The mapping stage: a mapper and the anchors it has read.
pub struct PhraseMapping {
    mapper: Box<dyn MotionMapper + std::marker::Send>,
    anchors: HashMap<PhraseId, Vec<f32>>,
    smoother: QuerySmoother,
    updates: u64,
}

impl Default for PhraseMapping {
    fn default() -> Self {
        Self::new(Box::new(LinearMap::default_map()))
    }
}

impl PhraseMapping {
    /// Mapping with `mapper`, smoothed as the default patch says.
    pub fn new(mapper: Box<dyn MotionMapper + std::marker::Send>) -> Self {
        let smoother = QuerySmoother::new(E_PHRASE_DIMS, MotionSection::default().smoothing);
        Self { mapper, anchors: HashMap::new(), smoother, updates: 0 }
    }

    /// Sets the query smoothing's time constant, seconds (a patch's `motion.smoothing`;
    /// see [`QuerySmoother`]).
    pub fn set_smoothing(&mut self, seconds: f32) {
        self.smoother.set_time_constant(seconds);
    }

    /// Takes a patch's motion settings: the smoothing, and the mapper when it has one.
    pub fn set(&mut self, settings: &MotionSettings) {
        self.set_smoothing(settings.smoothing);
        if let Some(map) = &settings.mapper {
            self.set_mapper(Box::new(map.clone()));
        }
    }

    /// Replaces the mapper (a patch's `motion.mapper`).
    pub fn set_mapper(&mut self, mapper: Box<dyn MotionMapper + std::marker::Send>) {
        self.mapper = mapper;
    }

    /// The query for normalised `e_motion` around phrase `anchor`, for the beat line at
    /// `at` seconds on the output's clock (the smoothing's time); `Ok(None)` if the phrase
    /// is not in the database.
    pub fn map(
        &mut self,
        e_motion: &[f32],
        anchor: PhraseId,
        received: u64,
        at: f64,
        library: &Library,
    ) -> Result<Option<MotionUpdate>, String> {
        let z = match self.anchors.get(&anchor) {
            Some(z) => z,
            None => match library.anchor_z(anchor)? {
                Some(z) => self.anchors.entry(anchor).or_insert(z),
                None => return Ok(None),
            },
        };
        let mut query = vec![0.0; E_PHRASE_DIMS];
        self.mapper.map(e_motion, z, &mut query);
        self.smoother.process(at, &mut query);
        standardise_z(&mut query);
        let mut base = z.clone();
        standardise_z(&mut base);
        let one = |g: Group| {
            let w = [Group::Rhythm, Group::Harmony, Group::Timbre].map(|h| f32::from(h == g));
            GroupWeights::new(w[0], w[1], w[2]).unwrap_or_default()
        };
        let distance = [Group::Rhythm, Group::Harmony, Group::Timbre]
            .map(|g| weighted_distance(&query, &base, one(g)));
        self.updates += 1;
        Ok(Some(MotionUpdate {
            query: Query::Standard(query),
            update: self.updates,
            received,
            distance,
        }))
    }
}

/// The mapper a patch's `motion.mapper` asks for. `Linear` terms become a [`LinearMap`]
/// (`from` by the encoder's feature names, `to` a whole group or one dimension of it);
/// `Model(file)` is the learned mapper of a later stage: until it exists the default linear
/// map stands in, and the second value says so.
pub fn mapper_from_patch(
    mapper: &memsynth::patch::Mapper,
) -> Result<(LinearMap, Option<String>), String> {
    use memsynth::patch::{Group as G, Mapper, Target};
    let range = |g: G| match g {
        G::Rhythm => Group::Rhythm.range(),
        G::Harmony => Group::Harmony.range(),
        G::Timbre => Group::Timbre.range(),
    };
    match mapper {
        Mapper::Model(file) => Ok((
            LinearMap::default_map(),
            Some(format!(
                "motion.mapper Model({file:?}): no model mapper yet; the default linear map steers"
            )),
        )),
        Mapper::Linear(terms) => {
            let mut out = Vec::with_capacity(terms.len());
            for (i, t) in terms.iter().enumerate() {
                let feature =
                    memsynth::motion::mapper::feature_index(&t.from).ok_or_else(|| {
                        format!(
                            "motion.mapper.Linear[{i}].from: no motion feature {:?} (channels: {}; \
                         features: {})",
                            t.from,
                            memsynth::motion::CHANNEL_NAMES.join(", "),
                            memsynth::motion::FEATURE_NAMES.join(", ")
                        )
                    })?;
                let dims = match t.to {
                    Target::Group(g) => range(g),
                    Target::Dim(g, d) => {
                        let start = range(g).start + d as usize;
                        start..start + 1
                    }
                };
                out.push(memsynth::motion::mapper::Term {
                    feature,
                    dims: vec![dims],
                    gain: t.gain,
                });
            }
            Ok((LinearMap::from_terms(out), None))
        }
    }
}

/// A patch's `motion` section as the motion stages use it: which formats are listened to,
/// the query smoothing, and the mapper.
#[derive(Debug, Clone, PartialEq)]
pub struct MotionSettings {
    /// Formats whose readings are taken; the others are dropped before the sensor state
    /// (they neither move the query nor count as received).
    pub senders: Vec<Sender>,
    /// Time constant of the query smoothing, seconds.
    pub smoothing: f32,
    /// The mapper; `None` when the patch's could not be built (the running one stays).
    pub mapper: Option<LinearMap>,
}

impl Default for MotionSettings {
    fn default() -> Self {
        Self::from_patch(&MotionSection::default()).0
    }
}

impl MotionSettings {
    /// The settings of a patch's motion section, and what the performer should be told
    /// (the mapper could not be built, or a model mapper is stood in for).
    pub fn from_patch(motion: &MotionSection) -> (Self, Option<String>) {
        use memsynth::patch::SenderKind as K;
        let senders = motion
            .senders
            .iter()
            .map(|k| match k {
                K::TouchOsc => Sender::TouchOsc,
                K::ZigSim => Sender::ZigSim,
                K::GyrOsc => Sender::GyrOsc,
                K::Sensors2Osc => Sender::Sensors2Osc,
                K::Memsynth => Sender::Memsynth,
            })
            .collect();
        let (mapper, note) = match mapper_from_patch(&motion.mapper) {
            Ok((map, note)) => (Some(map), note),
            Err(e) => (None, Some(format!("{e}; the mapper stays as it was"))),
        };
        (Self { senders, smoothing: motion.smoothing, mapper }, note)
    }

    /// Whether a reading from `sender` is listened to.
    pub fn accepts(&self, sender: Sender) -> bool {
        self.senders.contains(&sender)
    }
}

/// Motion → query inline, on a virtual clock (the offline engine's motion input).
pub struct MotionPath {
    input: MotionInput,
    mapping: PhraseMapping,
    last_line: Option<u64>,
    pending: Option<Query>,
    /// The running patch's motion settings (the default patch's until one is applied).
    settings: MotionSettings,
    /// Every update so far, for the render's report.
    pub updates: Vec<MotionUpdate>,
}

impl MotionPath {
    /// A path on a `rate` Hz clock with the default linear map.
    pub fn new(rate: u32) -> Self {
        Self {
            input: MotionInput::new(rate, NormalizerConfig::default()),
            mapping: PhraseMapping::default(),
            last_line: None,
            pending: None,
            settings: MotionSettings::default(),
            updates: Vec::new(),
        }
    }

    /// Replaces the mapper.
    pub fn set_mapper(&mut self, mapper: Box<dyn MotionMapper + std::marker::Send>) {
        self.mapping.set_mapper(mapper);
    }

    /// Takes the running patch's `motion` section: its senders, its smoothing and its
    /// mapper (an error leaves the mapper as it was), as the live server's motion actors
    /// do. Returns what the performer should be told, if anything.
    pub fn set_patch(&mut self, motion: &MotionSection) -> Option<String> {
        let (settings, note) = MotionSettings::from_patch(motion);
        self.mapping.set(&settings);
        self.settings = settings;
        note
    }

    /// Takes a motion command at sample `at` (after closing any beat line before it); other
    /// commands are not motion's and are returned.
    pub fn command<'c>(
        &mut self,
        at: u64,
        command: &'c Command,
        transport: &Transport,
        anchor: Option<PhraseId>,
        library: &Library,
    ) -> Option<&'c Command> {
        match command {
            Command::Motion(sample) => {
                if self.settings.accepts(sample.sender) {
                    self.push(at, sample, transport, anchor, library);
                }
                None
            }
            Command::MotionCalibrate => {
                self.input.calibrate(CALIBRATE_BARS);
                None
            }
            other => Some(other),
        }
    }

    fn push(
        &mut self,
        at: u64,
        sample: &MotionSample,
        transport: &Transport,
        anchor: Option<PhraseId>,
        library: &Library,
    ) {
        // A line this reading is later than is encoded before the reading counts.
        self.clock(at, transport, anchor, library);
        self.input.push(at, sample);
    }

    /// The query motion set since the last call, if any: the owner gives it to the
    /// conductor.
    pub fn take_query(&mut self) -> Option<Query> {
        self.pending.take()
    }

    /// Encodes the bar ending on the latest beat line at or before `now`, if not done yet,
    /// and maps it around `anchor` (the phrase playing) into the query
    /// [`Self::take_query`] hands out.
    pub fn clock(
        &mut self,
        now: u64,
        transport: &Transport,
        anchor: Option<PhraseId>,
        library: &Library,
    ) {
        if let Some(update) = self.update(now, transport, anchor, library) {
            self.pending = Some(update.query.clone());
            self.updates.push(update);
        }
    }

    fn update(
        &mut self,
        now: u64,
        transport: &Transport,
        anchor: Option<PhraseId>,
        library: &Library,
    ) -> Option<MotionUpdate> {
        let p = transport.position(now)?;
        let line = transport.beat_sample(p.bar, p.beat)?;
        if self.last_line.is_some_and(|l| l >= line) {
            return None;
        }
        self.last_line = Some(line);
        let bpm = transport.tempo_at(line).bpm();
        let received = self.input.received();
        let e = *self.input.encode(line, bpm)?;
        let anchor = anchor?;
        let at = line as f64 / f64::from(transport.rate());
        match self.mapping.map(&e, anchor, received, at, library) {
            Ok(update) => update,
            Err(e) => {
                eprintln!("motion: {e}");
                None
            }
        }
    }
}

/// One datagram that holds motion, with the audible sample it arrived at.
#[derive(Message)]
#[rtype(result = "()")]
pub struct MotionPacket {
    /// The datagram.
    pub bytes: Vec<u8>,
    /// Who sent it (gets any `/error`).
    pub from: SocketAddr,
    /// The audible sample when it arrived.
    pub at: u64,
}

/// Whether a command is the motion input's (the OSC server forwards its packet).
pub fn is_motion_command(command: &Command) -> bool {
    matches!(
        command,
        Command::Motion(_)
            | Command::MotionCalibrate
            | Command::RecordMotionStart(_)
            | Command::RecordMotionStop
    )
}

/// Encode this bar for the mapper.
#[derive(Message)]
#[rtype(result = "()")]
pub struct MapMotion {
    /// Normalised e_motion.
    pub e_motion: Box<[f32; E_MOTION_DIMS]>,
    /// The phrase playing.
    pub anchor: PhraseId,
    /// Readings received so far.
    pub received: u64,
    /// The beat line, seconds on the output's clock (the smoothing's time).
    pub at: f64,
}

/// The running patch's `motion` section, sent by the conductor when a patch that changes
/// it is applied on its bar line (and once when the motion input is attached).
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct MotionPatch(pub MotionSection);

/// The mapper's part of a patch's motion settings, from the motion input to the mapper.
#[derive(Message)]
#[rtype(result = "()")]
pub struct MapperSettings(pub MotionSettings);

/// The MotionInput actor: sensor state, encoder and normalizer, and `/record/motion`.
pub struct MotionInputActor {
    rate: u32,
    input: MotionInput,
    shared: Arc<Shared>,
    mapper: Addr<PhraseMapper>,
    osc: Recipient<Send>,
    recordings: PathBuf,
    recording: Option<(MotionWriter, Instant, PathBuf)>,
    heard: Option<(u32, u32)>,
    settings: MotionSettings,
}

impl MotionInputActor {
    /// The actor; recordings go to `recordings`.
    pub fn new(
        rate: u32,
        shared: Arc<Shared>,
        mapper: Addr<PhraseMapper>,
        osc: Recipient<Send>,
        recordings: PathBuf,
    ) -> Self {
        Self {
            rate,
            input: MotionInput::new(rate, NormalizerConfig::default()),
            shared,
            mapper,
            osc,
            recordings,
            recording: None,
            heard: None,
            settings: MotionSettings::default(),
        }
    }

    fn error(&self, to: SocketAddr, why: &str) {
        self.osc.do_send(Send { to: Some(to), bytes: encode_error(why) });
    }

    fn packet(&mut self, p: MotionPacket) {
        let phrase = self.shared.status().phrase;
        if let Some((writer, started, path)) = &mut self.recording
            && let Ok((_, packet)) = rosc::decoder::decode_udp(&p.bytes)
        {
            let mut messages = Vec::new();
            motion_file::messages(&packet, &mut messages);
            let t = started.elapsed().as_secs_f64();
            for m in &messages {
                if let Err(e) = writer.write(t, m, phrase) {
                    eprintln!("motion recording {}: {e:#}; stopped", path.display());
                    self.recording = None;
                    break;
                }
            }
        }
        for item in decode_packet(&p.bytes).items {
            match item.value {
                // A format the running patch does not list is dropped here, before it
                // counts or reaches the sensor state.
                Ok(Command::Motion(sample)) if self.settings.accepts(sample.sender) => {
                    self.input.push(p.at, &sample);
                }
                Ok(Command::MotionCalibrate) => {
                    self.input.calibrate(CALIBRATE_BARS);
                    eprintln!("motion: calibrating on the next {CALIBRATE_BARS} bars");
                }
                Ok(Command::RecordMotionStart(name)) => self.start_recording(name, p.from),
                Ok(Command::RecordMotionStop) => {
                    if let Some((w, _, path)) = self.recording.take() {
                        eprintln!("motion recording {}: {} messages", path.display(), w.written);
                    }
                }
                // Everything else in the packet is the OSC server's.
                _ => {}
            }
        }
    }

    fn start_recording(&mut self, name: Option<String>, from: SocketAddr) {
        let name = name.unwrap_or_else(|| {
            let secs = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            format!("motion-{secs}.jsonl")
        });
        let path = self.recordings.join(&name);
        match MotionWriter::create(&path, "serve") {
            Ok(w) => {
                eprintln!("recording motion to {}", path.display());
                self.recording = Some((w, Instant::now(), path));
            }
            Err(e) => self.error(from, &format!("/record/motion: {e:#}")),
        }
    }

    /// On each beat line the performer hears: the bar that ends there.
    fn tick(&mut self) {
        let status = self.shared.status();
        if !status.playing {
            self.heard = None;
            return;
        }
        if self.heard == Some((status.bar, status.beat)) {
            return;
        }
        let first = self.heard.is_none();
        self.heard = Some((status.bar, status.beat));
        if first {
            return;
        }
        let line = self.shared.audible.load(std::sync::atomic::Ordering::Acquire);
        let received = self.input.received();
        let Some(e) = self.input.encode(line, f64::from(status.tempo)) else { return };
        let Some(anchor) = status.phrase else { return };
        let at = line as f64 / f64::from(self.rate);
        self.mapper.do_send(MapMotion { e_motion: Box::new(*e), anchor, received, at });
    }
}

impl Actor for MotionInputActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.run_interval(Duration::from_millis(2), |act, ctx| {
            guarded("motion input", act, ctx, |act, _| act.tick());
        });
    }
}

impl actix::Supervised for MotionInputActor {
    fn restarting(&mut self, _: &mut Context<Self>) {
        eprintln!("motion input restarted");
    }
}

impl Handler<MotionPatch> for MotionInputActor {
    type Result = ();
    fn handle(&mut self, m: MotionPatch, ctx: &mut Context<Self>) {
        guarded("motion input", self, ctx, |act, _| {
            let (settings, note) = MotionSettings::from_patch(&m.0);
            if settings != act.settings {
                if let Some(note) = note {
                    eprintln!("motion: {note}");
                }
                eprintln!(
                    "motion: senders {:?}, smoothing {} s, mapper {}",
                    settings.senders,
                    settings.smoothing,
                    if settings.mapper.is_some() { "set" } else { "unchanged" }
                );
            }
            act.mapper.do_send(MapperSettings(settings.clone()));
            act.settings = settings;
        });
    }
}

impl Handler<MotionPacket> for MotionInputActor {
    type Result = ();
    fn handle(&mut self, p: MotionPacket, ctx: &mut Context<Self>) {
        guarded("motion input", self, ctx, |act, _| act.packet(p));
    }
}

/// The PhraseMapper actor (on a `SyncArbiter` thread: it reads anchors from the database).
pub struct PhraseMapper {
    mapping: PhraseMapping,
    library: Arc<Library>,
    conductor: Addr<ConductorActor>,
    osc: Recipient<Send>,
}

impl PhraseMapper {
    /// The actor, with the default linear map.
    pub fn new(
        library: Arc<Library>,
        conductor: Addr<ConductorActor>,
        osc: Recipient<Send>,
    ) -> Self {
        Self { mapping: PhraseMapping::default(), library, conductor, osc }
    }
}

impl Actor for PhraseMapper {
    type Context = SyncContext<Self>;
}

impl Handler<MapMotion> for PhraseMapper {
    type Result = ();
    fn handle(&mut self, m: MapMotion, _: &mut SyncContext<Self>) {
        let mapped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.mapping.map(&m.e_motion[..], m.anchor, m.received, m.at, &self.library)
        }));
        match mapped {
            Ok(Ok(Some(update))) => {
                self.conductor.do_send(SetQuery(update.query.clone()));
                self.osc.do_send(Send { to: None, bytes: update.encode() });
            }
            Ok(Ok(None)) => {}
            Ok(Err(e)) => eprintln!("phrase mapper: {e}"),
            Err(_) => eprintln!("phrase mapper panicked; the query is left as it was"),
        }
    }
}

impl Handler<MapperSettings> for PhraseMapper {
    type Result = ();
    fn handle(&mut self, m: MapperSettings, _: &mut SyncContext<Self>) {
        self.mapping.set(&m.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use memsynth::patch::{Group as G, LinearTerm, Mapper, Target};

    #[test]
    fn a_patch_linear_map_becomes_terms() {
        let mapper = Mapper::Linear(vec![
            LinearTerm { from: "accel_mag.energy".into(), to: Target::Group(G::Rhythm), gain: 0.8 },
            LinearTerm { from: "gyro_z.mean".into(), to: Target::Dim(G::Timbre, 12), gain: -0.5 },
        ]);
        let (map, note) = mapper_from_patch(&mapper).unwrap();
        assert_eq!(note, None);
        assert_eq!(map.terms()[0].feature, 12 * 8 + 4);
        assert_eq!(map.terms()[0].dims, vec![0..64]);
        assert_eq!(map.terms()[1].dims, vec![140..141]);
        let bad = Mapper::Linear(vec![LinearTerm {
            from: "elbow.mean".into(),
            to: Target::Group(G::Rhythm),
            gain: 1.0,
        }]);
        assert!(mapper_from_patch(&bad).unwrap_err().contains("elbow.mean"));
        let (_, note) = mapper_from_patch(&Mapper::Model("phrase_mapper.onnx".into())).unwrap();
        assert!(note.unwrap().contains("no model mapper yet"));
    }
}
