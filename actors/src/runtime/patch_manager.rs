//! Patches at run time: the folder watch with its debounce ([`FolderWatch`]), the
//! [`PatchManager`] actor that runs it for `memsynth serve`, and the [`PatchHost`] that the
//! conductor's owner (the Conductor actor, or the offline [`super::offline::Engine`])
//! keeps to stage patches and apply them on their bar line.
//!
//! ```text
//!  editor saves patches/live.ron ─► notify ─► FolderWatch (per-file debounce, 175 ms)
//!     ─► parse + validate the whole file ─┬─ ok ──► StagePatch ─► Conductor: PatchHost
//!                                         │            stages it; on the next bar line the
//!                                         │            diff runs through commands::apply
//!                                         └─ error ─► stderr + /error to subscribers
//!                                                     (the last good patch plays on)
//! ```
//!
//! `memsynth render --follow` polls the same [`FolderWatch`] between blocks, so a render
//! sees exactly the debounce, validation and bar-line rule the server has.

use std::collections::HashMap;
use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use actix::{Actor, AsyncContext, Context, Handler, Message, Recipient};
use memsynth::live::conductor::Conductor;
use memsynth::osc::{Command, encode_error};
use memsynth::patch::{self, Applied, Change, Patch, PatchSlot, params};
use notify::event::{AccessKind, AccessMode, CreateKind, ModifyKind, RenameMode};
use notify::{Event, EventKind, RecursiveMode, Watcher};

use super::commands::{self, MixerChange, Outcome};
use super::conductor_actor::Send;

/// Quiet time after a file's last event before it is read: editors that save by writing a
/// temporary file and renaming it emit a burst; 50 ms split one save in two here, 150–200 ms
/// merged every burst into one reload (FIELD-NOTES.md).
pub const DEBOUNCE: Duration = Duration::from_millis(175);

/// Reads and validates a patch file; `Err` is the one-line message for logs and `/error`
/// (`file:line:column: message`).
pub fn load_file(path: &Path) -> Result<Patch, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    patch::parse(&text).map_err(|e| e.one_line(&path.display().to_string()))
}

/// `/patch/load NAME`: the file in `folder` (confined to it) and its patch.
pub fn load_named(folder: &Path, name: &str) -> Result<(PathBuf, Patch), String> {
    let path = patch::folder::resolve(folder, name).map_err(|e| format!("/patch/load: {e}"))?;
    let patch = load_file(&path)?;
    Ok((path, patch))
}

/// What the owner of the conductor must still do after a patch was applied.
#[derive(Debug, Default)]
pub struct AppliedReport {
    /// The patch that was applied, and what changed.
    pub applied: Option<Applied>,
    /// Gain changes for the mixer.
    pub mixer: Vec<MixerChange>,
    /// Messages for `/error` and the log (notices and refused changes).
    pub errors: Vec<String>,
}

/// The running patch of one conductor, with the rule that applies staged patches.
#[derive(Debug, Default)]
pub struct PatchHost {
    /// The running and the staged patch.
    pub slot: PatchSlot,
}

/// What a `/patch/…` command came to.
#[derive(Debug, Clone, PartialEq)]
pub enum PatchReply {
    /// Staged for this bar.
    Staged(u64),
    /// `/patch/get`: the value.
    Value(String, f32),
    /// `/patch/load`: the owner must hand the name to whoever loads files.
    Load(String),
    /// Refused: the text for `/error`.
    Error(String),
}

impl PatchHost {
    /// Stages `patch` for the first bar line after `now`; returns that bar.
    pub fn stage(&mut self, conductor: &Conductor, now: u64, patch: Patch, origin: &str) -> u64 {
        self.slot.stage(patch, origin, conductor.transport(), now)
    }

    /// Handles `/patch/set` and `/patch/get` (a `/patch/load` is handed back as
    /// [`PatchReply::Load`]).
    pub fn command(&mut self, conductor: &Conductor, now: u64, command: &Command) -> PatchReply {
        match command {
            Command::PatchSet { path, value } => {
                match params::set(self.slot.latest(), path, f64::from(*value)) {
                    Ok(next) => {
                        let origin = format!("/patch/set {path} {value}");
                        PatchReply::Staged(self.stage(conductor, now, next, &origin))
                    }
                    Err(e) => PatchReply::Error(format!("/patch/set: {e}")),
                }
            }
            Command::Control { address, value } => {
                self.control(conductor, now, address, *value).unwrap_or_else(|| {
                    let address = address.clone();
                    PatchReply::Error(
                        memsynth::osc::CommandError::UnknownAddress { address }.to_string(),
                    )
                })
            }
            Command::PatchGet(path) => match params::get(self.slot.latest(), path) {
                Ok(v) => PatchReply::Value(path.clone(), v as f32),
                Err(params::ParamError::Unset) => {
                    let bpm = conductor.transport().tempo_at(now).bpm();
                    PatchReply::Value(path.clone(), bpm as f32)
                }
                Err(e) => PatchReply::Error(format!("/patch/get: {e}")),
            },
            Command::PatchLoad(name) => PatchReply::Load(name.clone()),
            other => PatchReply::Error(format!("{:?} is not a patch command", other)),
        }
    }

    /// A control-surface message the OSC table does not know (`/1/fader1 0.7`): when the
    /// running patch maps `address`, the mapped parameter is set as `/patch/set` would
    /// (staged for the next bar line). `None`: not mapped, the caller answers `/error`.
    pub fn control(
        &mut self,
        conductor: &Conductor,
        now: u64,
        address: &str,
        x: f32,
    ) -> Option<PatchReply> {
        let (path, value) = params::map_osc(self.slot.latest(), address, x)?;
        let command = Command::PatchSet { path: path.to_string(), value: value as f32 };
        Some(self.command(conductor, now, &command))
    }

    /// Applies the staged patch when its bar line is at or before `horizon` (the end of
    /// the block about to be rendered): each change goes through [`commands::apply`] at
    /// `now`, which must be before the line so that a tempo change lands on it.
    pub fn apply_due(
        &mut self,
        conductor: &mut Conductor,
        now: u64,
        horizon: u64,
    ) -> Option<AppliedReport> {
        let applied = self.slot.take_due(horizon)?;
        let mut report = AppliedReport::default();
        for change in &applied.diff.changes {
            match change {
                Change::Command(command) => match commands::apply(conductor, now, command) {
                    Outcome::Applied | Outcome::Server | Outcome::Patch => {}
                    Outcome::Mixer(m) => report.mixer.push(m),
                    Outcome::Unsupported(why) | Outcome::Refused(why) => {
                        report.errors.push(format!("{}: {why}", applied.origin))
                    }
                },
                Change::LookAhead(bars) => {
                    let mut config = conductor.config().clone();
                    config.look_ahead_bars = *bars;
                    conductor.set_config(config);
                }
                Change::Notice(text) => report.errors.push(format!("{}: {text}", applied.origin)),
            }
        }
        report.applied = Some(applied);
        Some(report)
    }
}

/// One debounced reload of the active patch file.
#[derive(Debug)]
pub struct Reload {
    /// The file.
    pub path: PathBuf,
    /// The first event of the burst (≈ when the editor saved).
    pub saved: Instant,
    /// The patch, or the one-line error.
    pub result: Result<Patch, String>,
}

/// The patches folder under watch: events filtered to writes and renames of `*.ron`,
/// debounced per file; only the active file is read.
pub struct FolderWatch {
    // Kept alive for its events; dropped with the watch.
    _watcher: notify::RecommendedWatcher,
    events: Receiver<(PathBuf, Instant)>,
    /// File name → (first event, last event) of the burst under way.
    bursts: HashMap<OsString, (Instant, Instant)>,
    folder: PathBuf,
    active: Option<OsString>,
    /// The text last read from the active file: a burst that leaves it unchanged (an
    /// editor touching the file, a save with no edit) reloads nothing.
    last_text: Option<String>,
    debounce: Duration,
}

/// Whether an event can mean "this file has new content". notify 8 also reports opens and
/// reads (`Access(Open)`): reacting to those would re-read forever.
fn is_write(kind: &EventKind) -> bool {
    matches!(
        kind,
        EventKind::Create(CreateKind::File | CreateKind::Any)
            | EventKind::Modify(
                ModifyKind::Data(_)
                    | ModifyKind::Any
                    | ModifyKind::Name(RenameMode::To | RenameMode::Both | RenameMode::Any)
            )
            | EventKind::Access(AccessKind::Close(AccessMode::Write))
    )
}

impl FolderWatch {
    /// Watches `folder` (the folder, not the file: a rename-replace leaves a file watch
    /// silent).
    pub fn new(folder: &Path, debounce: Duration) -> notify::Result<Self> {
        let folder = folder.canonicalize().map_err(notify::Error::io)?;
        let (tx, events) = channel();
        let mut watcher = notify::recommended_watcher(move |res: notify::Result<Event>| {
            let Ok(event) = res else { return };
            if !is_write(&event.kind) {
                return;
            }
            let at = Instant::now();
            for path in event.paths {
                if path.extension().is_some_and(|e| e == "ron") {
                    let _ = tx.send((path, at));
                }
            }
        })?;
        watcher.watch(&folder, RecursiveMode::NonRecursive)?;
        Ok(Self {
            _watcher: watcher,
            events,
            bursts: HashMap::new(),
            folder,
            active: None,
            last_text: None,
            debounce,
        })
    }

    /// The folder (canonical).
    pub fn folder(&self) -> &Path {
        &self.folder
    }

    /// Makes `path` (a file in the folder) the active patch; `text` is what was loaded
    /// from it, so an identical re-save is not applied again.
    pub fn set_active(&mut self, path: &Path, text: Option<String>) {
        self.active = path.file_name().map(OsString::from);
        self.last_text = text;
    }

    /// The active file, if any.
    pub fn active(&self) -> Option<PathBuf> {
        self.active.as_ref().map(|name| self.folder.join(name))
    }

    /// Takes the events so far and returns the reloads of the active file whose burst
    /// has been quiet for the debounce time at `now`.
    pub fn poll(&mut self, now: Instant) -> Vec<Reload> {
        while let Ok((path, at)) = self.events.try_recv() {
            if path.parent().and_then(|p| p.canonicalize().ok()).as_deref() != Some(&self.folder)
                && path.parent() != Some(self.folder.as_path())
            {
                continue;
            }
            let Some(name) = path.file_name() else { continue };
            let burst = self.bursts.entry(name.to_os_string()).or_insert((at, at));
            burst.1 = at;
        }
        let quiet: Vec<OsString> = self
            .bursts
            .iter()
            .filter(|(_, (_, last))| now.saturating_duration_since(*last) >= self.debounce)
            .map(|(name, _)| name.clone())
            .collect();
        let mut out = Vec::new();
        for name in quiet {
            let Some((saved, _)) = self.bursts.remove(&name) else { continue };
            if self.active.as_ref() != Some(&name) {
                continue;
            }
            let path = self.folder.join(&name);
            let text = match std::fs::read_to_string(&path) {
                Ok(t) => t,
                // Renamed away mid-save: the rename onto it comes as its own event.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => {
                    let result = Err(format!("{}: cannot read: {e}", path.display()));
                    out.push(Reload { path, saved, result });
                    continue;
                }
            };
            if self.last_text.as_deref() == Some(text.as_str()) {
                continue;
            }
            let result = patch::parse(&text).map_err(|e| e.one_line(&path.display().to_string()));
            // Only a good patch becomes the reference: re-saving the last good text after
            // a broken one must apply it again (nothing to apply, but it is reported).
            if result.is_ok() {
                self.last_text = Some(text);
            }
            out.push(Reload { path, saved, result });
        }
        out
    }
}

/// A valid patch for the conductor to stage for its next bar line.
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct StagePatch {
    /// The patch.
    pub patch: Patch,
    /// Where it came from (the file), for logs.
    pub origin: String,
    /// When its file was saved, for the swap-latency log line.
    pub saved: Option<Instant>,
}

/// `/patch/load NAME` from `from` (who gets any `/error`).
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct LoadPatch {
    /// The name, a plain file name in the patches folder (`.ron` may be left out).
    pub name: String,
    /// Who asked.
    pub from: SocketAddr,
}

/// The actor: watches the folder, reloads the active patch and sends it to the conductor;
/// answers `/patch/load`.
pub struct PatchManager {
    watch: Option<FolderWatch>,
    folder: PathBuf,
    initial: Option<PathBuf>,
    conductor: Recipient<StagePatch>,
    osc: Recipient<Send>,
}

impl PatchManager {
    /// A manager of `folder` whose active patch starts as `initial` (loaded at start).
    pub fn new(
        folder: PathBuf,
        initial: Option<PathBuf>,
        conductor: Recipient<StagePatch>,
        osc: Recipient<Send>,
    ) -> Self {
        Self { watch: None, folder, initial, conductor, osc }
    }

    fn error(&self, to: Option<SocketAddr>, text: &str) {
        eprintln!("patch: {text}");
        self.osc.do_send(Send { to, bytes: encode_error(text) });
    }

    fn activate(&mut self, path: &Path, patch: Patch, saved: Option<Instant>) {
        let text = std::fs::read_to_string(path).ok();
        if let Some(w) = &mut self.watch {
            w.set_active(path, text);
        }
        let origin = path
            .file_name()
            .map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned());
        eprintln!("patch: {origin} loaded; applies on the next bar line");
        self.conductor.do_send(StagePatch { patch, origin, saved });
    }
}

impl Actor for PatchManager {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        match FolderWatch::new(&self.folder, DEBOUNCE) {
            Ok(w) => self.watch = Some(w),
            Err(e) => self.error(
                None,
                &format!(
                    "cannot watch {}: {e}; patches load only by /patch/load",
                    self.folder.display()
                ),
            ),
        }
        if let Some(path) = self.initial.take() {
            match load_file(&path) {
                Ok(p) => self.activate(&path, p, None),
                Err(e) => {
                    // Still the active file: fixing it on stage brings it in.
                    if let Some(w) = &mut self.watch {
                        w.set_active(&path, None);
                    }
                    self.error(None, &e);
                }
            }
        }
        ctx.run_interval(Duration::from_millis(20), |act, _| {
            let Some(w) = &mut act.watch else { return };
            for reload in w.poll(Instant::now()) {
                match reload.result {
                    Ok(p) => {
                        let origin = reload
                            .path
                            .file_name()
                            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
                        act.conductor.do_send(StagePatch {
                            patch: p,
                            origin,
                            saved: Some(reload.saved),
                        });
                    }
                    Err(e) => act.error(None, &format!("{e} (the last good patch plays on)")),
                }
            }
        });
    }
}

impl Handler<LoadPatch> for PatchManager {
    type Result = ();
    fn handle(&mut self, m: LoadPatch, _: &mut Context<Self>) {
        match load_named(&self.folder, &m.name) {
            Ok((path, p)) => self.activate(&path, p, None),
            Err(e) => self.error(Some(m.from), &e),
        }
    }
}
