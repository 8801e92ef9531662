//! What a message means: [`Command`], parsed and range-checked from one OSC message, or the
//! [`CommandError`] the client is sent back.
//!
//! Parsing is lenient about number types (clients differ: TouchOSC faders send `f`,
//! SuperCollider sends `i` for whole numbers, `d` from some libraries) and strict about
//! meaning: every value is checked against its range in [`ADDRESSES`](super::ADDRESSES), and
//! names that will become file names are confined to one folder.

use rosc::{OscMessage, OscType};

use super::address::{self, Endpoint, Entry, Range, STANDARD_GRAVITY};

/// Who sent a motion sample, in which format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Sender {
    /// TouchOSC (`/accxyz`).
    TouchOsc,
    /// ZIG SIM (`/ZIGSIM/<id>/…`).
    ZigSim,
    /// GyrOSC (`/gyrosc/…`).
    GyrOsc,
    /// Sensors2OSC (`/accelerometer`, `/gyroscope`, …).
    Sensors2Osc,
    /// memsynth's own `/motion/…` addresses (SuperCollider, scripts, the test client).
    Memsynth,
}

/// What a motion sample measures. All in SI units once decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum MotionKind {
    /// Acceleration with gravity removed ("user" or "linear" acceleration), m/s², x y z.
    Accel,
    /// Raw accelerometer reading, gravity included, m/s², x y z.
    RawAccel,
    /// Rotation rate, rad/s, x y z.
    Gyro,
    /// Gravity vector, m/s², x y z.
    Gravity,
    /// Attitude quaternion, w x y z (as sent; not normalised).
    Quat,
    /// Attitude as Euler angles in the sender's convention, rad: pitch, roll, yaw.
    Attitude,
}

/// One motion reading in SI units, whatever format it arrived in.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct MotionSample {
    /// Who sent it (the server knows which phone from the packet's source address).
    pub sender: Sender,
    /// What it measures.
    pub kind: MotionKind,
    /// The values, SI units, in the order [`MotionKind`] gives; unused ones are 0.
    pub values: [f32; 4],
    /// How many of `values` are used (3, or 4 for a quaternion).
    pub len: u8,
}

impl MotionSample {
    /// The used values.
    pub fn values(&self) -> &[f32] {
        self.values.get(..usize::from(self.len)).unwrap_or(&self.values)
    }
}

/// Where the conductor takes phrases from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum ConductorMode {
    /// From the generative model.
    Generate,
    /// From the phrase database.
    Retrieve,
    /// Retrieved phrases steered by the model.
    Hybrid,
}

impl ConductorMode {
    /// The name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ConductorMode::Generate => "generate",
            ConductorMode::Retrieve => "retrieve",
            ConductorMode::Hybrid => "hybrid",
        }
    }
}

/// One decoded, validated message. Phone formats decode to [`Command::Motion`] like
/// memsynth's own `/motion/…` addresses.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// `/transport/play`.
    Play,
    /// `/transport/stop`.
    Stop,
    /// `/transport/tempo`, BPM in 40–240.
    Tempo(f32),
    /// `/transport/tap`.
    Tap,
    /// `/motion/…` or a phone format.
    Motion(MotionSample),
    /// `/conductor/mode`.
    ConductorMode(ConductorMode),
    /// `/conductor/steps`, 1–200.
    Steps(u32),
    /// `/conductor/guidance`, 0–20.
    Guidance(f32),
    /// `/conductor/seed`.
    Seed(u64),
    /// `/retrieval/k`, 1–64.
    RetrievalK(u32),
    /// `/retrieval/weights`: rhythm, harmony, timbre; finite, ≥ 0, not all 0.
    RetrievalWeights([f32; 3]),
    /// `/retrieval/phrase`: query with this stored phrase.
    QueryPhrase(u32),
    /// `/mixer/gain`, linear gain 0–4.
    MixerGain {
        /// The channel's name (letters, digits, `_`, `-`, `.`).
        channel: String,
        /// Linear gain.
        gain: f32,
    },
    /// `/mixer/xfade`, beats 0–16.
    Xfade(f32),
    /// `/patch/load`: a plain file name inside the patches folder.
    PatchLoad(String),
    /// `/patch/set`.
    PatchSet {
        /// Dotted parameter path, e.g. `conductor.guidance`.
        path: String,
        /// The value (finite; the patch manager checks its range).
        value: f32,
    },
    /// `/patch/get`: answer with `/patch/value`.
    PatchGet(String),
    /// `/record/start`: a plain file name inside the recordings folder, or `None` to let
    /// the server name the take.
    RecordStart(Option<String>),
    /// `/record/stop`.
    RecordStop,
    /// `/motion/calibrate`.
    MotionCalibrate,
    /// `/record/motion 1 [name]`: record raw motion to a plain file name inside the
    /// recordings folder, or `None` to let the server name the take.
    RecordMotionStart(Option<String>),
    /// `/record/motion 0`.
    RecordMotionStop,
    /// A control-surface message outside the table with one number (`/1/fader1 0.7`):
    /// the running patch's OSC mappings decide what it sets; unmapped, it is refused as an
    /// unknown address.
    Control {
        /// The address as sent.
        address: String,
        /// Its number (an integer or boolean as a float).
        value: f32,
    },
    /// `/status`: answer with the status reply.
    Status,
    /// `/subscribe`: push to this UDP port of the sender; 0 = the port it sent from.
    Subscribe(u16),
    /// `/unsubscribe`.
    Unsubscribe,
}

/// Why a message was refused. Its text is what the client gets in `/error`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum CommandError {
    /// No such address.
    #[error("unknown address {address}; the address list is in the discovery tree")]
    UnknownAddress {
        /// The address as sent (shortened if long).
        address: String,
    },
    /// An OSC address pattern (`*`, `?`, `[]`, `{}`): not dispatched.
    #[error("{address}: address patterns (* ? [ ] {{ }}) are not supported; send the full address")]
    Pattern {
        /// The address as sent (shortened if long).
        address: String,
    },
    /// The server sends this address; clients cannot set it.
    #[error("{address} is sent by the server, not to it (use /subscribe or a query)")]
    ReadOnly {
        /// The address.
        address: &'static str,
    },
    /// Wrong number or types of arguments.
    #[error("{address} expects {expected}, got {got}")]
    WrongArguments {
        /// The address (the table's pattern for phone formats).
        address: &'static str,
        /// What it takes, from the table.
        expected: String,
        /// The type tags received (`nothing` when none).
        got: String,
    },
    /// A value outside its range.
    #[error("{address}: {arg} {value} is outside {range}")]
    OutOfRange {
        /// The address.
        address: &'static str,
        /// Which argument.
        arg: &'static str,
        /// The value received.
        value: String,
        /// The valid range.
        range: String,
    },
    /// NaN or infinity where a number is needed.
    #[error("{address}: {arg} must be a finite number, got {value}")]
    NotFinite {
        /// The address.
        address: &'static str,
        /// Which argument.
        arg: &'static str,
        /// The value received.
        value: String,
    },
    /// `/retrieval/weights` all zero.
    #[error("{address}: the weights must not all be 0")]
    AllZero {
        /// The address.
        address: &'static str,
    },
    /// A name that is refused (a path escape, an unsafe character).
    #[error("{address}: refused {name:?}: {reason}")]
    BadName {
        /// The address.
        address: &'static str,
        /// The name received (shortened if long).
        name: String,
        /// Why, and what is accepted.
        reason: &'static str,
    },
}

/// The kinds of [`CommandError`], for counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum ErrorKind {
    /// [`CommandError::UnknownAddress`] and [`CommandError::Pattern`].
    UnknownAddress,
    /// [`CommandError::ReadOnly`].
    ReadOnly,
    /// [`CommandError::WrongArguments`].
    WrongArguments,
    /// [`CommandError::OutOfRange`], [`CommandError::NotFinite`], [`CommandError::AllZero`].
    OutOfRange,
    /// [`CommandError::BadName`].
    BadName,
}

impl CommandError {
    /// Its kind, for counters.
    pub fn kind(&self) -> ErrorKind {
        match self {
            CommandError::UnknownAddress { .. } | CommandError::Pattern { .. } => {
                ErrorKind::UnknownAddress
            }
            CommandError::ReadOnly { .. } => ErrorKind::ReadOnly,
            CommandError::WrongArguments { .. } => ErrorKind::WrongArguments,
            CommandError::OutOfRange { .. }
            | CommandError::NotFinite { .. }
            | CommandError::AllZero { .. } => ErrorKind::OutOfRange,
            CommandError::BadName { .. } => ErrorKind::BadName,
        }
    }
}

/// Longest name or address quoted back in an error.
const QUOTE_MAX: usize = 64;

fn quote(s: &str) -> String {
    if s.len() <= QUOTE_MAX {
        return s.to_string();
    }
    let mut end = QUOTE_MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", s.get(..end).unwrap_or(""))
}

/// Decodes one message: `Ok(None)` for a button release (a trigger address sent 0 or
/// false), which does nothing.
pub fn parse_message(msg: &OscMessage) -> Result<Option<Command>, CommandError> {
    let Some(entry) = address::lookup(&msg.addr) else {
        if msg.addr.contains(['*', '?', '[', ']', '{', '}']) {
            return Err(CommandError::Pattern { address: quote(&msg.addr) });
        }
        // One number to an address of plain words: a fader or button of a control surface,
        // for the patch's mappings to place.
        let plain = msg.addr.len() <= QUOTE_MAX && msg.addr.starts_with('/');
        let value = match msg.args[..] {
            [OscType::Float(v)] => Some(v),
            [OscType::Double(v)] => Some(v as f32),
            [OscType::Int(v)] => Some(v as f32),
            [OscType::Bool(v)] => Some(f32::from(u8::from(v))),
            _ => None,
        };
        return match value {
            Some(value) if plain && value.is_finite() => {
                Ok(Some(Command::Control { address: msg.addr.clone(), value }))
            }
            _ => Err(CommandError::UnknownAddress { address: quote(&msg.addr) }),
        };
    };
    parse(entry, &msg.args)
}

/// Decodes the arguments of a message sent to `entry`'s address.
pub fn parse(entry: &'static Entry, args: &[OscType]) -> Result<Option<Command>, CommandError> {
    let a = Args { entry, args };
    if entry.access == address::Access::Read {
        return Err(CommandError::ReadOnly { address: entry.path });
    }
    if entry.button {
        return a.button().map(|pressed| pressed.then(|| trigger(entry.endpoint)).flatten());
    }
    if entry.access == address::Access::Query {
        a.count(0, 0)?;
    } else {
        let required = entry.args.iter().filter(|x| !x.optional).count();
        a.count(required, entry.args.len())?;
    }
    use Endpoint as E;
    let command = match entry.endpoint {
        E::Tempo => Command::Tempo(a.float_in(0)?),
        E::MotionAccel => motion(&a, Sender::Memsynth, MotionKind::Accel, 1.0)?,
        E::MotionRawAccel => motion(&a, Sender::Memsynth, MotionKind::RawAccel, 1.0)?,
        E::MotionGyro => motion(&a, Sender::Memsynth, MotionKind::Gyro, 1.0)?,
        E::MotionGravity => motion(&a, Sender::Memsynth, MotionKind::Gravity, 1.0)?,
        E::MotionQuat => motion(&a, Sender::Memsynth, MotionKind::Quat, 1.0)?,
        E::MotionAttitude => motion(&a, Sender::Memsynth, MotionKind::Attitude, 1.0)?,
        E::ConductorMode => {
            let s = a.string(0)?;
            let mode = [ConductorMode::Generate, ConductorMode::Retrieve, ConductorMode::Hybrid]
                .into_iter()
                .find(|m| m.as_str().eq_ignore_ascii_case(s));
            match mode {
                Some(m) => Command::ConductorMode(m),
                None => return Err(a.out_of_range(0, quote(s))),
            }
        }
        E::Steps => Command::Steps(a.int_in(0)?),
        E::Guidance => Command::Guidance(a.float_in(0)?),
        E::Seed => Command::Seed(a.int_in(0)?),
        E::RetrievalK => Command::RetrievalK(a.int_in(0)?),
        E::RetrievalWeights => {
            let w = [a.float_in(0)?, a.float_in(1)?, a.float_in(2)?];
            if w.iter().all(|&x| x == 0.0) {
                return Err(CommandError::AllZero { address: entry.path });
            }
            Command::RetrievalWeights(w)
        }
        E::RetrievalPhrase => Command::QueryPhrase(a.int_in(0)?),
        E::MixerGain => {
            let channel = a.name(0, check_identifier)?;
            Command::MixerGain { channel, gain: a.float_in(1)? }
        }
        E::Xfade => Command::Xfade(a.float_in(0)?),
        E::PatchLoad => Command::PatchLoad(a.name(0, check_file_name)?),
        E::PatchSet => {
            let path = a.name(0, check_identifier)?;
            Command::PatchSet { path, value: a.float_in(1)? }
        }
        E::PatchGet => Command::PatchGet(a.name(0, check_identifier)?),
        E::RecordStart => match args.first() {
            None => Command::RecordStart(None),
            Some(_) => Command::RecordStart(Some(a.name(0, check_file_name)?)),
        },
        E::RecordMotion => match (a.int_in::<u8>(0)?, args.get(1)) {
            (0, None) => Command::RecordMotionStop,
            (0, Some(_)) => return Err(a.wrong()),
            (_, None) => Command::RecordMotionStart(None),
            (_, Some(_)) => Command::RecordMotionStart(Some(a.name(1, check_file_name)?)),
        },
        E::Status => Command::Status,
        E::Subscribe => match args.first() {
            None => Command::Subscribe(0),
            Some(_) => Command::Subscribe(a.int_in(0)?),
        },
        E::Unsubscribe => Command::Unsubscribe,
        E::TouchOscAccxyz => motion(&a, Sender::TouchOsc, MotionKind::RawAccel, STANDARD_GRAVITY)?,
        E::ZigSimAccel => motion(&a, Sender::ZigSim, MotionKind::Accel, STANDARD_GRAVITY)?,
        E::ZigSimGyro => motion(&a, Sender::ZigSim, MotionKind::Gyro, 1.0)?,
        E::ZigSimGravity => motion(&a, Sender::ZigSim, MotionKind::Gravity, STANDARD_GRAVITY)?,
        E::ZigSimQuaternion => {
            let [x, y, z, w] = a.finite4()?;
            quat(Sender::ZigSim, [w, x, y, z])
        }
        E::GyrOscAccel => motion(&a, Sender::GyrOsc, MotionKind::Accel, STANDARD_GRAVITY)?,
        E::GyrOscGyro => motion(&a, Sender::GyrOsc, MotionKind::Attitude, 1.0)?,
        E::GyrOscRrate => motion(&a, Sender::GyrOsc, MotionKind::Gyro, 1.0)?,
        E::GyrOscGrav => motion(&a, Sender::GyrOsc, MotionKind::Gravity, STANDARD_GRAVITY)?,
        E::GyrOscQuat => motion(&a, Sender::GyrOsc, MotionKind::Quat, 1.0)?,
        E::Sensors2OscAccelerometer => motion(&a, Sender::Sensors2Osc, MotionKind::RawAccel, 1.0)?,
        E::Sensors2OscLinearAcceleration => {
            motion(&a, Sender::Sensors2Osc, MotionKind::Accel, 1.0)?
        }
        E::Sensors2OscGyroscope => motion(&a, Sender::Sensors2Osc, MotionKind::Gyro, 1.0)?,
        E::Sensors2OscGravity => motion(&a, Sender::Sensors2Osc, MotionKind::Gravity, 1.0)?,
        E::Sensors2OscRotationVector | E::Sensors2OscGameRotationVector => {
            let x = a.finite(0)?;
            let y = a.finite(1)?;
            let z = a.finite(2)?;
            // Android before API 18 may leave out cos(θ/2); it follows from a unit quaternion.
            let w = match args.get(3) {
                Some(_) => a.finite(3)?,
                None => (1.0 - (x * x + y * y + z * z)).max(0.0).sqrt(),
            };
            // The fifth value (heading accuracy) is not part of the attitude.
            if args.get(4).is_some() {
                a.finite(4)?;
            }
            quat(Sender::Sensors2Osc, [w, x, y, z])
        }
        // Buttons and read-only entries returned above.
        E::Play
        | E::Stop
        | E::Tap
        | E::RecordStop
        | E::MotionCalibrate
        | E::MotionQuery
        | E::Beat
        | E::Bar
        | E::Phrase
        | E::Levels
        | E::Error
        | E::PatchValue => return Err(a.wrong()),
    };
    Ok(Some(command))
}

fn trigger(endpoint: Endpoint) -> Option<Command> {
    match endpoint {
        Endpoint::Play => Some(Command::Play),
        Endpoint::Stop => Some(Command::Stop),
        Endpoint::Tap => Some(Command::Tap),
        Endpoint::RecordStop => Some(Command::RecordStop),
        Endpoint::MotionCalibrate => Some(Command::MotionCalibrate),
        _ => None,
    }
}

fn motion(
    a: &Args<'_>,
    sender: Sender,
    kind: MotionKind,
    scale: f32,
) -> Result<Command, CommandError> {
    let n = a.entry.args.len().min(4);
    let mut values = [0.0; 4];
    for (k, v) in values.iter_mut().enumerate().take(n) {
        *v = a.finite(k)? * scale;
    }
    // g × 9.80665 can overflow to infinity for absurd inputs.
    if let Some(k) = values.iter().position(|v| !v.is_finite()) {
        return Err(a.not_finite(k, format!("{}", values.get(k).copied().unwrap_or(f32::NAN))));
    }
    Ok(Command::Motion(MotionSample { sender, kind, values, len: n as u8 }))
}

fn quat(sender: Sender, values: [f32; 4]) -> Command {
    Command::Motion(MotionSample { sender, kind: MotionKind::Quat, values, len: 4 })
}

/// The arguments of one message and the entry they are checked against.
struct Args<'a> {
    entry: &'static Entry,
    args: &'a [OscType],
}

impl Args<'_> {
    fn wrong(&self) -> CommandError {
        CommandError::WrongArguments {
            address: self.entry.path,
            expected: self.entry.expects(),
            got: type_tags(self.args),
        }
    }

    fn count(&self, min: usize, max: usize) -> Result<(), CommandError> {
        if (min..=max).contains(&self.args.len()) { Ok(()) } else { Err(self.wrong()) }
    }

    fn arg_name(&self, k: usize) -> &'static str {
        self.entry.args.get(k).map_or("value", |a| a.name)
    }

    fn range(&self, k: usize) -> Range {
        self.entry.args.get(k).map_or(Range::Any, |a| a.range)
    }

    fn out_of_range(&self, k: usize, value: String) -> CommandError {
        CommandError::OutOfRange {
            address: self.entry.path,
            arg: self.arg_name(k),
            value,
            range: self.range(k).text(),
        }
    }

    fn not_finite(&self, k: usize, value: String) -> CommandError {
        CommandError::NotFinite { address: self.entry.path, arg: self.arg_name(k), value }
    }

    /// A button value: `Ok(true)` pressed (or no value), `Ok(false)` released.
    fn button(&self) -> Result<bool, CommandError> {
        match self.args {
            [] => Ok(true),
            [OscType::Float(v)] => Ok(*v != 0.0),
            [OscType::Double(v)] => Ok(*v != 0.0),
            [OscType::Int(v)] => Ok(*v != 0),
            [OscType::Long(v)] => Ok(*v != 0),
            [OscType::Bool(v)] => Ok(*v),
            _ => Err(self.wrong()),
        }
    }

    /// Argument `k` as a float: `f`, `d`, `i` and `h` are accepted.
    fn float(&self, k: usize) -> Result<f32, CommandError> {
        match self.args.get(k) {
            Some(OscType::Float(v)) => Ok(*v),
            Some(OscType::Double(v)) => Ok(*v as f32),
            Some(OscType::Int(v)) => Ok(*v as f32),
            Some(OscType::Long(v)) => Ok(*v as f32),
            _ => Err(self.wrong()),
        }
    }

    fn finite(&self, k: usize) -> Result<f32, CommandError> {
        let v = self.float(k)?;
        if v.is_finite() { Ok(v) } else { Err(self.not_finite(k, format!("{v}"))) }
    }

    fn finite4(&self) -> Result<[f32; 4], CommandError> {
        Ok([self.finite(0)?, self.finite(1)?, self.finite(2)?, self.finite(3)?])
    }

    /// A float checked against its table range.
    fn float_in(&self, k: usize) -> Result<f32, CommandError> {
        let v = self.float(k)?;
        if !v.is_finite() {
            return Err(self.not_finite(k, format!("{v}")));
        }
        match self.range(k) {
            Range::Float { min, max } if !(min..=max).contains(&v) => {
                Err(self.out_of_range(k, format!("{v}")))
            }
            _ => Ok(v),
        }
    }

    /// Argument `k` as an integer: `i`, `h`, and `f`/`d` holding a whole number.
    fn int(&self, k: usize) -> Result<i64, CommandError> {
        let whole = |v: f64| {
            if v.is_finite() && v.fract() == 0.0 && v.abs() < 9.0e18 {
                Ok(v as i64)
            } else {
                Err(self.wrong())
            }
        };
        match self.args.get(k) {
            Some(OscType::Int(v)) => Ok(i64::from(*v)),
            Some(OscType::Long(v)) => Ok(*v),
            Some(OscType::Float(v)) => whole(f64::from(*v)),
            Some(OscType::Double(v)) => whole(*v),
            _ => Err(self.wrong()),
        }
    }

    /// An integer checked against its table range and converted to the command's type.
    fn int_in<T: TryFrom<i64>>(&self, k: usize) -> Result<T, CommandError> {
        let v = self.int(k)?;
        let in_range = match self.range(k) {
            Range::Int { min, max } => (min..=max).contains(&v),
            _ => true,
        };
        match T::try_from(v) {
            Ok(t) if in_range => Ok(t),
            _ => Err(self.out_of_range(k, v.to_string())),
        }
    }

    fn string(&self, k: usize) -> Result<&str, CommandError> {
        match self.args.get(k) {
            Some(OscType::String(s)) => Ok(s),
            _ => Err(self.wrong()),
        }
    }

    fn name(
        &self,
        k: usize,
        check: fn(&str) -> Result<(), &'static str>,
    ) -> Result<String, CommandError> {
        let s = self.string(k)?;
        match check(s) {
            Ok(()) => Ok(s.to_string()),
            Err(reason) => {
                Err(CommandError::BadName { address: self.entry.path, name: quote(s), reason })
            }
        }
    }
}

/// The type tags of some arguments as an error names them: `"sf"`, `"nothing"`.
pub fn type_tags(args: &[OscType]) -> String {
    fn push(out: &mut String, arg: &OscType) {
        let tag = match arg {
            OscType::Int(_) => 'i',
            OscType::Float(_) => 'f',
            OscType::String(_) => 's',
            OscType::Blob(_) => 'b',
            OscType::Time(_) => 't',
            OscType::Long(_) => 'h',
            OscType::Double(_) => 'd',
            OscType::Char(_) => 'c',
            OscType::Color(_) => 'r',
            OscType::Midi(_) => 'm',
            OscType::Bool(true) => 'T',
            OscType::Bool(false) => 'F',
            OscType::Nil => 'N',
            OscType::Inf => 'I',
            OscType::Array(a) => {
                // Arrays are nested at most `codec::MAX_ARRAY_DEPTH` deep here (the codec
                // refuses deeper ones before decoding), so this recursion is bounded.
                out.push('[');
                for x in &a.content {
                    push(out, x);
                }
                ']'
            }
        };
        out.push(tag);
    }
    if args.is_empty() {
        return "nothing".to_string();
    }
    let mut out = String::new();
    for arg in args {
        push(&mut out, arg);
    }
    out
}

/// Longest file name accepted (the common file-system limit).
pub const MAX_FILE_NAME: usize = 255;

/// Checks that `name` is a plain file name that stays inside the folder it is joined to:
/// no separators, no `..`, no hidden files, no NUL or control characters, no drive or
/// stream names (`:`), and not ending in a dot or space (Windows drops those).
pub fn check_file_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("a file name is needed");
    }
    if name.len() > MAX_FILE_NAME {
        return Err("longer than 255 bytes");
    }
    if name.contains('\0') {
        return Err("contains a NUL byte");
    }
    if name.contains(['/', '\\']) {
        return Err("a plain file name is needed, without folders (no / or \\)");
    }
    if name.contains("..") {
        return Err("contains '..'");
    }
    if name.starts_with('.') {
        return Err("hidden files (a leading dot) are not loaded");
    }
    if name.contains(':') {
        return Err("contains ':' (a drive or stream name)");
    }
    if name.chars().any(char::is_control) {
        return Err("contains a control character");
    }
    if name.ends_with(['.', ' ']) {
        return Err("ends with a dot or a space");
    }
    Ok(())
}

/// Longest channel name or parameter path accepted.
pub const MAX_IDENTIFIER: usize = 128;

/// Checks a channel name or a dotted parameter path: ASCII letters, digits, `_`, `-`, `.`.
pub fn check_identifier(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("a name is needed");
    }
    if name.len() > MAX_IDENTIFIER {
        return Err("longer than 128 bytes");
    }
    if !name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.')) {
        return Err("only ASCII letters, digits, '_', '-' and '.' are allowed");
    }
    Ok(())
}

fn int_arg(v: u64) -> OscType {
    match i32::try_from(v) {
        Ok(i) => OscType::Int(i),
        Err(_) => OscType::Long(i64::try_from(v).unwrap_or(i64::MAX)),
    }
}

impl Command {
    /// The message that sends this command in memsynth's own format (motion from phones
    /// becomes `/motion/…` in SI units). Decoding it gives the command back, with
    /// [`Sender::Memsynth`] for motion.
    pub fn to_message(&self) -> OscMessage {
        let (addr, args): (&str, Vec<OscType>) = match self {
            Command::Play => ("/transport/play", vec![]),
            Command::Stop => ("/transport/stop", vec![]),
            Command::Tempo(v) => ("/transport/tempo", vec![OscType::Float(*v)]),
            Command::Tap => ("/transport/tap", vec![]),
            Command::Motion(m) => {
                let addr = match m.kind {
                    MotionKind::Accel => "/motion/accel",
                    MotionKind::RawAccel => "/motion/rawaccel",
                    MotionKind::Gyro => "/motion/gyro",
                    MotionKind::Gravity => "/motion/gravity",
                    MotionKind::Quat => "/motion/quat",
                    MotionKind::Attitude => "/motion/attitude",
                };
                (addr, m.values().iter().map(|&v| OscType::Float(v)).collect())
            }
            Command::ConductorMode(m) => ("/conductor/mode", vec![m.as_str().into()]),
            Command::Steps(v) => ("/conductor/steps", vec![int_arg(u64::from(*v))]),
            Command::Guidance(v) => ("/conductor/guidance", vec![OscType::Float(*v)]),
            Command::Seed(v) => ("/conductor/seed", vec![int_arg(*v)]),
            Command::RetrievalK(v) => ("/retrieval/k", vec![int_arg(u64::from(*v))]),
            Command::RetrievalWeights(w) => {
                ("/retrieval/weights", w.iter().map(|&v| OscType::Float(v)).collect())
            }
            Command::QueryPhrase(v) => ("/retrieval/phrase", vec![int_arg(u64::from(*v))]),
            Command::MixerGain { channel, gain } => {
                ("/mixer/gain", vec![channel.as_str().into(), OscType::Float(*gain)])
            }
            Command::Xfade(v) => ("/mixer/xfade", vec![OscType::Float(*v)]),
            Command::PatchLoad(name) => ("/patch/load", vec![name.as_str().into()]),
            Command::PatchSet { path, value } => {
                ("/patch/set", vec![path.as_str().into(), OscType::Float(*value)])
            }
            Command::PatchGet(path) => ("/patch/get", vec![path.as_str().into()]),
            Command::Control { address, value } => (address.as_str(), vec![OscType::Float(*value)]),
            Command::RecordStart(name) => {
                ("/record/start", name.iter().map(|n| n.as_str().into()).collect())
            }
            Command::RecordStop => ("/record/stop", vec![]),
            Command::MotionCalibrate => ("/motion/calibrate", vec![]),
            Command::RecordMotionStart(name) => (
                "/record/motion",
                std::iter::once(OscType::Int(1))
                    .chain(name.iter().map(|n| n.as_str().into()))
                    .collect(),
            ),
            Command::RecordMotionStop => ("/record/motion", vec![OscType::Int(0)]),
            Command::Status => ("/status", vec![]),
            Command::Subscribe(port) => ("/subscribe", vec![int_arg(u64::from(*port))]),
            Command::Unsubscribe => ("/unsubscribe", vec![]),
        };
        OscMessage { addr: addr.to_string(), args }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(addr: &str, args: Vec<OscType>) -> OscMessage {
        OscMessage { addr: addr.to_string(), args }
    }

    fn one(addr: &str, args: Vec<OscType>) -> Result<Option<Command>, CommandError> {
        parse_message(&msg(addr, args))
    }

    #[test]
    fn tempo_error_names_what_was_expected() {
        let err = one("/transport/tempo", vec!["fast".into()]).unwrap_err();
        assert_eq!(err.to_string(), "/transport/tempo expects one float (tempo 40–240 BPM), got s");
        let err = one("/transport/tempo", vec![]).unwrap_err();
        assert!(err.to_string().ends_with("got nothing"), "{err}");
        let err = one("/transport/tempo", vec![OscType::Float(300.0)]).unwrap_err();
        assert_eq!(err.to_string(), "/transport/tempo: tempo 300 is outside 40–240");
        assert_eq!(err.kind(), ErrorKind::OutOfRange);
    }

    #[test]
    fn numbers_are_coerced_where_clients_differ() {
        assert_eq!(
            one("/transport/tempo", vec![OscType::Int(120)]),
            Ok(Some(Command::Tempo(120.0)))
        );
        assert_eq!(
            one("/transport/tempo", vec![OscType::Double(99.5)]),
            Ok(Some(Command::Tempo(99.5)))
        );
        assert_eq!(
            one("/conductor/steps", vec![OscType::Float(50.0)]),
            Ok(Some(Command::Steps(50)))
        );
        assert_eq!(
            one("/conductor/seed", vec![OscType::Long(1 << 40)]),
            Ok(Some(Command::Seed(1 << 40)))
        );
        let err = one("/conductor/steps", vec![OscType::Float(2.5)]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::WrongArguments);
        let err = one("/conductor/seed", vec![OscType::Int(-1)]).unwrap_err();
        assert_eq!(err.to_string(), "/conductor/seed: seed -1 is outside ≥ 0");
    }

    #[test]
    fn buttons_ignore_release() {
        assert_eq!(one("/transport/play", vec![]), Ok(Some(Command::Play)));
        assert_eq!(one("/transport/tap", vec![OscType::Float(1.0)]), Ok(Some(Command::Tap)));
        assert_eq!(one("/transport/tap", vec![OscType::Float(0.0)]), Ok(None));
        assert_eq!(one("/record/stop", vec![OscType::Bool(false)]), Ok(None));
        let err = one("/transport/play", vec![OscType::Int(1), OscType::Int(1)]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::WrongArguments);
    }

    #[test]
    fn read_only_and_unknown_addresses() {
        let err = one("/beat", vec![OscType::Int(1)]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ReadOnly);
        let err = one("/nope", vec![]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnknownAddress);
        let err = one("/transport/*", vec![]).unwrap_err();
        assert!(matches!(err, CommandError::Pattern { .. }), "{err}");
        let long = format!("/{}", "x".repeat(10_000));
        let text = one(&long, vec![]).unwrap_err().to_string();
        assert!(text.len() < 200, "{text}");
    }

    #[test]
    fn file_names_are_confined() {
        for bad in [
            "../x.ron",
            "/etc/passwd",
            "a/b.ron",
            "..",
            ".hidden.ron",
            "x\0y",
            "a\\b",
            "",
            "C:x",
            "x.ron.",
        ] {
            assert!(check_file_name(bad).is_err(), "{bad:?}");
        }
        for good in ["set.ron", "live set 2.ron", "düster.ron", "a.b.ron"] {
            assert_eq!(check_file_name(good), Ok(()), "{good:?}");
        }
        assert!(check_file_name(&"a".repeat(256)).is_err());
    }

    #[test]
    fn weights_must_not_all_be_zero() {
        let z = vec![OscType::Float(0.0); 3];
        assert!(matches!(one("/retrieval/weights", z), Err(CommandError::AllZero { .. })));
        let neg = vec![OscType::Float(1.0), OscType::Float(-0.5), OscType::Float(0.0)];
        assert_eq!(one("/retrieval/weights", neg).unwrap_err().kind(), ErrorKind::OutOfRange);
        let nan = vec![OscType::Float(1.0), OscType::Float(f32::NAN), OscType::Float(0.0)];
        assert!(matches!(one("/retrieval/weights", nan), Err(CommandError::NotFinite { .. })));
    }

    #[test]
    fn rotation_vector_without_cos_gets_unit_w() {
        let args = vec![OscType::Float(0.0), OscType::Float(0.0), OscType::Float(0.6)];
        let Ok(Some(Command::Motion(m))) = one("/rotationvector", args) else { panic!() };
        assert_eq!(m.kind, MotionKind::Quat);
        assert!((m.values[0] - 0.8).abs() < 1e-6);
        assert_eq!(m.values(), &[m.values[0], 0.0, 0.0, 0.6]);
    }
}
