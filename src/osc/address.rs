//! The address space: one table ([`ADDRESSES`]) that the decoder dispatches on, the error
//! messages quote, the module docs list and discovery serves ([`to_json`]).
//!
//! Every address a client may send to, every address the server sends, and every phone
//! format that is accepted is one [`Entry`]. Adding an address means adding an entry here,
//! an [`Endpoint`] for it and its arm in [`crate::osc::command`]'s parser; the tests check
//! that the three agree.

use serde_json::{Map, Value, json};

use super::command::Sender;

/// Standard gravity (m/s²), the factor from g (what iOS apps send) to SI.
pub const STANDARD_GRAVITY: f32 = 9.806_65;

/// Which way a value travels, in OSCQuery's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Access {
    /// The client sends it to the server (OSCQuery `ACCESS` 2).
    Write,
    /// The client asks with an argument-less message and the server answers on the same
    /// address with the values listed (OSCQuery `ACCESS` 1: the value can be read).
    Query,
    /// The server sends it (a reply or a push to subscribers); sending it to the server is an
    /// error (OSCQuery `ACCESS` 1).
    Read,
}

impl Access {
    /// The OSCQuery `ACCESS` number: 1 read-only, 2 write-only.
    pub fn oscquery(self) -> u8 {
        match self {
            Access::Write => 2,
            Access::Query | Access::Read => 1,
        }
    }
}

/// An argument's OSC type as the table declares it (what memsynth itself sends).
///
/// The decoder is lenient where clients are known to differ: a float argument also takes
/// `i`, `h` and `d`; an int argument also takes `h`, and `f`/`d` holding a whole number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ArgType {
    /// 32-bit float, tag `f`.
    Float,
    /// 32-bit int, tag `i`.
    Int,
    /// String, tag `s`.
    Str,
}

impl ArgType {
    /// The OSC type tag.
    pub fn tag(self) -> char {
        match self {
            ArgType::Float => 'f',
            ArgType::Int => 'i',
            ArgType::Str => 's',
        }
    }

    fn word(self) -> &'static str {
        match self {
            ArgType::Float => "float",
            ArgType::Int => "int",
            ArgType::Str => "string",
        }
    }
}

/// The valid values of one argument.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Range {
    /// Anything of the right type (strings are checked by their parser).
    Any,
    /// A float in `min..=max`; `max` infinite means no upper bound.
    Float {
        /// Smallest valid value.
        min: f32,
        /// Largest valid value.
        max: f32,
    },
    /// An integer in `min..=max`; `i64::MAX` means no upper bound.
    Int {
        /// Smallest valid value.
        min: i64,
        /// Largest valid value.
        max: i64,
    },
    /// One of these strings.
    Vals(&'static [&'static str]),
}

impl Range {
    /// The range as a reader sees it: `40–240`, `≥ 0`, `generate|retrieve|hybrid`, or empty.
    pub fn text(&self) -> String {
        match *self {
            Range::Any => String::new(),
            Range::Float { min, max } if max.is_infinite() => format!("≥ {min}"),
            Range::Float { min, max } => format!("{min}–{max}"),
            Range::Int { min, max } if max == i64::MAX => format!("≥ {min}"),
            Range::Int { min, max } => format!("{min}–{max}"),
            Range::Vals(vals) => vals.join("|"),
        }
    }

    fn oscquery(&self) -> Value {
        match *self {
            Range::Any => Value::Null,
            Range::Float { min, max } if max.is_infinite() => json!({ "MIN": min }),
            Range::Float { min, max } => json!({ "MIN": min, "MAX": max }),
            Range::Int { min, max } if max == i64::MAX => json!({ "MIN": min }),
            Range::Int { min, max } => json!({ "MIN": min, "MAX": max }),
            Range::Vals(vals) => json!({ "VALS": vals }),
        }
    }
}

/// One argument of an address.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Arg {
    /// What it is, in a word or two (`tempo`, `x`, `channel`).
    pub name: &'static str,
    /// Its OSC type.
    pub ty: ArgType,
    /// Its valid values.
    pub range: Range,
    /// Its unit, as the sender sends it (phone formats list the phone's unit, not SI).
    pub unit: Option<&'static str>,
    /// Whether it may be left off (only trailing arguments are optional).
    pub optional: bool,
}

impl Arg {
    const fn new(name: &'static str, ty: ArgType, range: Range, unit: Option<&'static str>) -> Arg {
        Arg { name, ty, range, unit, optional: false }
    }

    const fn float(name: &'static str, range: Range, unit: Option<&'static str>) -> Arg {
        Arg::new(name, ArgType::Float, range, unit)
    }

    const fn int(name: &'static str, range: Range, unit: Option<&'static str>) -> Arg {
        Arg::new(name, ArgType::Int, range, unit)
    }

    const fn string(name: &'static str, range: Range) -> Arg {
        Arg::new(name, ArgType::Str, range, None)
    }

    const fn optional(self) -> Arg {
        Arg { optional: true, ..self }
    }

    fn detail(&self) -> String {
        let mut out = self.name.to_string();
        let range = self.range.text();
        if !range.is_empty() {
            out.push(' ');
            out.push_str(&range);
        }
        if let Some(unit) = self.unit {
            out.push(' ');
            out.push_str(unit);
        }
        out
    }
}

/// What an address does: the decoder's dispatch key. One variant per table entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[allow(missing_docs)] // Each variant is documented by its table entry's description.
pub enum Endpoint {
    Play,
    Stop,
    Tempo,
    Tap,
    MotionAccel,
    MotionRawAccel,
    MotionGyro,
    MotionGravity,
    MotionQuat,
    MotionAttitude,
    MotionCalibrate,
    MotionQuery,
    ConductorMode,
    Steps,
    Guidance,
    Seed,
    RetrievalK,
    RetrievalWeights,
    RetrievalPhrase,
    MixerGain,
    Xfade,
    PatchLoad,
    PatchSet,
    PatchGet,
    RecordStart,
    RecordStop,
    RecordMotion,
    Status,
    Subscribe,
    Unsubscribe,
    Beat,
    Bar,
    Phrase,
    Levels,
    Error,
    PatchValue,
    TouchOscAccxyz,
    ZigSimAccel,
    ZigSimGyro,
    ZigSimGravity,
    ZigSimQuaternion,
    GyrOscAccel,
    GyrOscGyro,
    GyrOscRrate,
    GyrOscGrav,
    GyrOscQuat,
    Sensors2OscAccelerometer,
    Sensors2OscLinearAcceleration,
    Sensors2OscGyroscope,
    Sensors2OscGravity,
    Sensors2OscRotationVector,
    Sensors2OscGameRotationVector,
}

/// One address of the table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Entry {
    /// The OSC address. A segment `<id>` matches any one segment (ZIG SIM's device id).
    pub path: &'static str,
    /// The arguments, in order (for [`Access::Query`], the reply's values).
    pub args: &'static [Arg],
    /// One line: what it does, and for phone formats the conversion to SI.
    pub description: &'static str,
    /// Which way it travels.
    pub access: Access,
    /// Who sends it in this format ([`Sender::Memsynth`] for memsynth's own addresses).
    pub sender: Sender,
    /// A button address: also takes one number or bool, where 0/false (a TouchOSC button's
    /// release) is ignored and anything else triggers it.
    pub button: bool,
    /// The decoder's dispatch key.
    pub endpoint: Endpoint,
}

impl Entry {
    /// The OSC type tag string of the arguments (`"fff"`; `""` for none), OSCQuery's `TYPE`.
    pub fn type_tags(&self) -> String {
        self.args.iter().map(|a| a.ty.tag()).collect()
    }

    /// Whether clients can only read it (a query, a reply or a push).
    pub fn read_only(&self) -> bool {
        self.access != Access::Write
    }

    /// The arguments as an error message names them: "one float (tempo 40–240 BPM)".
    pub fn expects(&self) -> String {
        let args = match self.access {
            // A query is sent without arguments; its `args` are the reply's.
            Access::Query => &[][..],
            Access::Write | Access::Read => self.args,
        };
        let Some(first) = args.first() else {
            return if self.button {
                "no arguments (or one button value, 0 = release)".to_string()
            } else {
                "no arguments".to_string()
            };
        };
        let required = args.iter().filter(|a| !a.optional).count();
        let total = args.len();
        if args.iter().all(|a| a.ty == first.ty) {
            let count = if required == total {
                number_word(total).to_string()
            } else {
                format!("{} to {}", number_word(required), number_word(total))
            };
            let plural = if total > 1 { "s" } else { "" };
            let same = args.iter().all(|a| a.range == first.range && a.unit == first.unit);
            let details = if total == 1 {
                first.detail()
            } else if same {
                let names: Vec<&str> = args.iter().map(|a| a.name).collect();
                let mut d = names.join(", ");
                let range = first.range.text();
                if !range.is_empty() {
                    d.push(' ');
                    d.push_str(&range);
                }
                if let Some(unit) = first.unit {
                    d.push_str(" in ");
                    d.push_str(unit);
                }
                d
            } else {
                args.iter().map(Arg::detail).collect::<Vec<_>>().join(", ")
            };
            format!("{count} {}{plural} ({details})", first.ty.word())
        } else {
            let parts: Vec<String> = args
                .iter()
                .map(|a| {
                    let article = if a.ty == ArgType::Int { "an" } else { "a" };
                    let opt = if a.optional { "optionally " } else { "" };
                    format!("{opt}{article} {} ({})", a.ty.word(), a.detail())
                })
                .collect();
            parts.join(" and ")
        }
    }

    /// Whether `address` is this entry's address (`<id>` segments match any one segment).
    pub fn matches(&self, address: &str) -> bool {
        let mut pattern = self.path.split('/');
        let mut given = address.split('/');
        loop {
            match (pattern.next(), given.next()) {
                (None, None) => return true,
                (Some("<id>"), Some(seg)) if !seg.is_empty() => {}
                (Some(p), Some(seg)) if p == seg => {}
                _ => return false,
            }
        }
    }
}

fn number_word(n: usize) -> &'static str {
    match n {
        0 => "no",
        1 => "one",
        2 => "two",
        3 => "three",
        4 => "four",
        5 => "five",
        _ => "several",
    }
}

const fn f(min: f32, max: f32) -> Range {
    Range::Float { min, max }
}

const fn i(min: i64, max: i64) -> Range {
    Range::Int { min, max }
}

const ANY: Range = Range::Any;
const NON_NEG: Range = Range::Int { min: 0, max: i64::MAX };
const MS2: Option<&str> = Some("m/s^2");
const RAD_S: Option<&str> = Some("rad/s");
const G: Option<&str> = Some("g");
const RAD: Option<&str> = Some("rad");
const DBFS: Option<&str> = Some("dBFS");

const XYZ_MS2: &[Arg] =
    &[Arg::float("x", ANY, MS2), Arg::float("y", ANY, MS2), Arg::float("z", ANY, MS2)];
const XYZ_RAD_S: &[Arg] =
    &[Arg::float("x", ANY, RAD_S), Arg::float("y", ANY, RAD_S), Arg::float("z", ANY, RAD_S)];
const XYZ_G: &[Arg] = &[Arg::float("x", ANY, G), Arg::float("y", ANY, G), Arg::float("z", ANY, G)];
const WXYZ: &[Arg] = &[
    Arg::float("w", ANY, None),
    Arg::float("x", ANY, None),
    Arg::float("y", ANY, None),
    Arg::float("z", ANY, None),
];
const XYZW: &[Arg] = &[
    Arg::float("x", ANY, None),
    Arg::float("y", ANY, None),
    Arg::float("z", ANY, None),
    Arg::float("w", ANY, None),
];
const PITCH_ROLL_YAW: &[Arg] =
    &[Arg::float("pitch", ANY, RAD), Arg::float("roll", ANY, RAD), Arg::float("yaw", ANY, RAD)];
const ROTATION_VECTOR: &[Arg] = &[
    Arg::float("x", ANY, None),
    Arg::float("y", ANY, None),
    Arg::float("z", ANY, None),
    Arg::float("cos", ANY, None).optional(),
    Arg::float("accuracy", ANY, RAD).optional(),
];
const FILE_NAME: Range = Range::Any;
const PARAM: Range = Range::Any;

/// The modes of `/conductor/mode`.
pub const MODES: &[&str] = &["generate", "retrieve", "hybrid"];

const fn entry(
    path: &'static str,
    args: &'static [Arg],
    access: Access,
    endpoint: Endpoint,
    description: &'static str,
) -> Entry {
    Entry { path, args, description, access, sender: Sender::Memsynth, button: false, endpoint }
}

const fn button(path: &'static str, endpoint: Endpoint, description: &'static str) -> Entry {
    Entry { button: true, ..entry(path, &[], Access::Write, endpoint, description) }
}

const fn phone(
    sender: Sender,
    path: &'static str,
    args: &'static [Arg],
    endpoint: Endpoint,
    description: &'static str,
) -> Entry {
    Entry { sender, ..entry(path, args, Access::Write, endpoint, description) }
}

use Access::{Query, Read, Write};
use Endpoint as E;

/// Every address memsynth receives or sends, memsynth's own first, then the phone formats.
pub static ADDRESSES: &[Entry] = &[
    // Transport.
    button("/transport/play", E::Play, "Start playing on the next bar."),
    button("/transport/stop", E::Stop, "Stop at the end of the current bar."),
    entry(
        "/transport/tempo",
        &[Arg::float("tempo", f(40.0, 240.0), Some("BPM"))],
        Write,
        E::Tempo,
        "Set the tempo, applied on the next bar.",
    ),
    button("/transport/tap", E::Tap, "Tap tempo: one tap per beat."),
    // Motion, memsynth's own format (SI units).
    entry(
        "/motion/accel",
        XYZ_MS2,
        Write,
        E::MotionAccel,
        "Device acceleration with gravity removed (user acceleration), m/s^2.",
    ),
    entry(
        "/motion/rawaccel",
        XYZ_MS2,
        Write,
        E::MotionRawAccel,
        "Raw accelerometer reading, gravity included, m/s^2.",
    ),
    entry("/motion/gyro", XYZ_RAD_S, Write, E::MotionGyro, "Rotation rate, rad/s."),
    entry("/motion/gravity", XYZ_MS2, Write, E::MotionGravity, "Gravity vector, m/s^2."),
    entry("/motion/quat", WXYZ, Write, E::MotionQuat, "Attitude as a quaternion, w first."),
    entry(
        "/motion/attitude",
        PITCH_ROLL_YAW,
        Write,
        E::MotionAttitude,
        "Attitude as Euler angles in the sender's convention (CoreMotion's for iOS), rad.",
    ),
    button(
        "/motion/calibrate",
        E::MotionCalibrate,
        "Calibrate the motion normalizer on the next 4 bars of the performer's typical motion.",
    ),
    // Conductor.
    entry(
        "/conductor/mode",
        &[Arg::string("mode", Range::Vals(MODES))],
        Write,
        E::ConductorMode,
        "Where phrases come from: the model, the database, or both.",
    ),
    entry(
        "/conductor/steps",
        &[Arg::int("steps", i(1, 200), None)],
        Write,
        E::Steps,
        "Sampling steps of the generative model per phrase (more is slower and finer).",
    ),
    entry(
        "/conductor/guidance",
        &[Arg::float("guidance", f(0.0, 20.0), None)],
        Write,
        E::Guidance,
        "Guidance scale of the generative model.",
    ),
    entry(
        "/conductor/seed",
        &[Arg::int("seed", NON_NEG, None)],
        Write,
        E::Seed,
        "Seed of the generative model (h is accepted for seeds above 2^31).",
    ),
    // Retrieval.
    entry(
        "/retrieval/k",
        &[Arg::int("k", i(1, 64), None)],
        Write,
        E::RetrievalK,
        "How many nearest phrases a query retrieves.",
    ),
    entry(
        "/retrieval/weights",
        &[
            Arg::float("rhythm", f(0.0, f32::INFINITY), None),
            Arg::float("harmony", f(0.0, f32::INFINITY), None),
            Arg::float("timbre", f(0.0, f32::INFINITY), None),
        ],
        Write,
        E::RetrievalWeights,
        "Weights of the e_phrase groups in the distance; not all 0.",
    ),
    entry(
        "/retrieval/phrase",
        &[Arg::int("phrase id", NON_NEG, None)],
        Write,
        E::RetrievalPhrase,
        "Set the retrieval query to a stored phrase.",
    ),
    // Mixer.
    entry(
        "/mixer/gain",
        &[Arg::string("channel", PARAM), Arg::float("gain", f(0.0, 4.0), None)],
        Write,
        E::MixerGain,
        "Linear gain of a mixer channel (1 = unity).",
    ),
    entry(
        "/mixer/xfade",
        &[Arg::float("length", f(0.0, 16.0), Some("beats"))],
        Write,
        E::Xfade,
        "Cross-fade length of the next switch.",
    ),
    // Patches.
    entry(
        "/patch/load",
        &[Arg::string("name", FILE_NAME)],
        Write,
        E::PatchLoad,
        "Load patches/<name> on the next bar; a plain file name, no folders.",
    ),
    entry(
        "/patch/set",
        &[Arg::string("parameter", PARAM), Arg::float("value", ANY, None)],
        Write,
        E::PatchSet,
        "Set one parameter of the running patch (e.g. conductor.guidance).",
    ),
    entry(
        "/patch/get",
        &[Arg::string("parameter", PARAM)],
        Write,
        E::PatchGet,
        "Ask for one parameter of the running patch; answered by /patch/value.",
    ),
    // Recording.
    entry(
        "/record/start",
        &[Arg::string("name", FILE_NAME).optional()],
        Write,
        E::RecordStart,
        "Start recording the output to recordings/<name> (the server names it if omitted).",
    ),
    button("/record/stop", E::RecordStop, "Stop recording and close the file."),
    entry(
        "/record/motion",
        &[Arg::int("on", i(0, 1), None), Arg::string("name", FILE_NAME).optional()],
        Write,
        E::RecordMotion,
        "1: record raw motion messages to recordings/<name> (JSON lines; the server names it \
         if omitted); 0: stop.",
    ),
    // Session.
    entry(
        "/status",
        &[
            Arg::int("playing", i(0, 1), None),
            Arg::float("tempo", f(40.0, 240.0), Some("BPM")),
            Arg::int("bar", NON_NEG, None),
            Arg::int("beat", NON_NEG, None),
            Arg::int("phrase id", i(-1, i32::MAX as i64), None),
            Arg::int("underruns", NON_NEG, None),
        ],
        Query,
        E::Status,
        "Send without arguments; the reply carries playing, tempo, bar, beat, phrase id \
         (-1 = none) and underruns.",
    ),
    entry(
        "/subscribe",
        &[Arg::int("port", i(0, 65535), None).optional()],
        Write,
        E::Subscribe,
        "Receive /beat, /bar, /phrase, /levels and /error on this port (0 or none: the \
         sender's port).",
    ),
    entry("/unsubscribe", &[], Write, E::Unsubscribe, "Stop the pushes to the sender."),
    // Replies and pushes.
    entry(
        "/beat",
        &[Arg::int("beat", NON_NEG, None)],
        Read,
        E::Beat,
        "Push: a beat started; its index in the bar, from 0.",
    ),
    entry(
        "/bar",
        &[Arg::int("bar", NON_NEG, None)],
        Read,
        E::Bar,
        "Push: a bar started; bars since play, from 0.",
    ),
    entry(
        "/phrase",
        &[Arg::int("phrase id", NON_NEG, None), Arg::float("distance", f(0.0, 2.0), None)],
        Read,
        E::Phrase,
        "Push: a phrase started; its id and its cosine distance to the query.",
    ),
    entry(
        "/levels",
        &[Arg::float("peak", ANY, DBFS), Arg::float("rms", ANY, DBFS)],
        Read,
        E::Levels,
        "Push: output peak and RMS level of the last block.",
    ),
    entry(
        "/error",
        &[Arg::string("message", ANY)],
        Read,
        E::Error,
        "Reply or push: what was wrong with a message, or a patch error with line and column.",
    ),
    entry(
        "/motion/query",
        &[
            Arg::int("update", NON_NEG, None),
            Arg::int("received", NON_NEG, None),
            Arg::float("rhythm", f(0.0, 2.0), None),
            Arg::float("harmony", f(0.0, 2.0), None),
            Arg::float("timbre", f(0.0, 2.0), None),
        ],
        Read,
        E::MotionQuery,
        "Push: motion set a new query; updates so far, motion messages received so far, and \
         the cosine distance of each group from the anchor phrase.",
    ),
    entry(
        "/patch/value",
        &[Arg::string("parameter", PARAM), Arg::float("value", ANY, None)],
        Read,
        E::PatchValue,
        "Reply to /patch/get.",
    ),
    // TouchOSC (mk1 layouts' accelerometer).
    phone(
        Sender::TouchOsc,
        "/accxyz",
        XYZ_G,
        E::TouchOscAccxyz,
        "TouchOSC accelerometer, gravity included, in g (×9.80665 to m/s^2).",
    ),
    // ZIG SIM: /ZIGSIM/<device id>/<sensor>.
    phone(
        Sender::ZigSim,
        "/ZIGSIM/<id>/accel",
        XYZ_G,
        E::ZigSimAccel,
        "ZIG SIM user acceleration (gravity removed), in g (×9.80665 to m/s^2).",
    ),
    phone(
        Sender::ZigSim,
        "/ZIGSIM/<id>/gyro",
        XYZ_RAD_S,
        E::ZigSimGyro,
        "ZIG SIM rotation rate, rad/s (taken as is).",
    ),
    phone(
        Sender::ZigSim,
        "/ZIGSIM/<id>/gravity",
        XYZ_G,
        E::ZigSimGravity,
        "ZIG SIM gravity, in g (×9.80665 to m/s^2).",
    ),
    phone(
        Sender::ZigSim,
        "/ZIGSIM/<id>/quaternion",
        XYZW,
        E::ZigSimQuaternion,
        "ZIG SIM attitude quaternion, x y z w (reordered to w x y z).",
    ),
    // GyrOSC (iOS).
    phone(
        Sender::GyrOsc,
        "/gyrosc/accel",
        XYZ_G,
        E::GyrOscAccel,
        "GyrOSC acceleration (taken as gravity removed), in g (×9.80665 to m/s^2).",
    ),
    phone(
        Sender::GyrOsc,
        "/gyrosc/gyro",
        PITCH_ROLL_YAW,
        E::GyrOscGyro,
        "GyrOSC attitude (not a rate): pitch, roll, yaw in rad.",
    ),
    phone(
        Sender::GyrOsc,
        "/gyrosc/rrate",
        XYZ_RAD_S,
        E::GyrOscRrate,
        "GyrOSC rotation rate, rad/s (taken as is).",
    ),
    phone(
        Sender::GyrOsc,
        "/gyrosc/grav",
        XYZ_G,
        E::GyrOscGrav,
        "GyrOSC gravity, in g (×9.80665 to m/s^2).",
    ),
    phone(
        Sender::GyrOsc,
        "/gyrosc/quat",
        WXYZ,
        E::GyrOscQuat,
        "GyrOSC attitude quaternion, w x y z.",
    ),
    // Sensors2OSC (Android, 0.3.0 and later: one message per sensor, SI units).
    phone(
        Sender::Sensors2Osc,
        "/accelerometer",
        XYZ_MS2,
        E::Sensors2OscAccelerometer,
        "Sensors2OSC accelerometer, gravity included, m/s^2.",
    ),
    phone(
        Sender::Sensors2Osc,
        "/linearacceleration",
        XYZ_MS2,
        E::Sensors2OscLinearAcceleration,
        "Sensors2OSC linear acceleration (gravity removed), m/s^2.",
    ),
    phone(
        Sender::Sensors2Osc,
        "/gyroscope",
        XYZ_RAD_S,
        E::Sensors2OscGyroscope,
        "Sensors2OSC rotation rate, rad/s.",
    ),
    phone(
        Sender::Sensors2Osc,
        "/gravity",
        XYZ_MS2,
        E::Sensors2OscGravity,
        "Sensors2OSC gravity, m/s^2.",
    ),
    phone(
        Sender::Sensors2Osc,
        "/rotationvector",
        ROTATION_VECTOR,
        E::Sensors2OscRotationVector,
        "Sensors2OSC rotation vector (Android: x, y, z = axis·sin(θ/2), cos(θ/2), heading \
         accuracy) to a w x y z quaternion.",
    ),
    phone(
        Sender::Sensors2Osc,
        "/gamerotationvector",
        ROTATION_VECTOR,
        E::Sensors2OscGameRotationVector,
        "Sensors2OSC game rotation vector (no magnetometer), as /rotationvector.",
    ),
];

/// The table entry for an address, if any.
pub fn lookup(address: &str) -> Option<&'static Entry> {
    ADDRESSES.iter().find(|e| e.matches(address))
}

/// The table entry of an endpoint.
pub fn find(endpoint: Endpoint) -> Option<&'static Entry> {
    ADDRESSES.iter().find(|e| e.endpoint == endpoint)
}

/// The table as an OSCQuery namespace tree: `{ "FULL_PATH": "/", "CONTENTS": { … } }`, each
/// method node with `FULL_PATH`, `TYPE`, `DESCRIPTION`, `ACCESS`, `RANGE` (one item per
/// argument, `null` where unbounded) and, where any argument has one, `UNIT`.
pub fn to_json() -> Value {
    let mut root = Map::new();
    root.insert("FULL_PATH".into(), json!("/"));
    root.insert("DESCRIPTION".into(), json!("memsynth OSC address space"));
    root.insert("CONTENTS".into(), Value::Object(Map::new()));
    for entry in ADDRESSES {
        insert(&mut root, entry);
    }
    Value::Object(root)
}

fn insert(root: &mut Map<String, Value>, entry: &Entry) {
    let mut node = root;
    let mut full = String::new();
    for segment in entry.path.split('/').filter(|s| !s.is_empty()) {
        full.push('/');
        full.push_str(segment);
        let contents =
            node.entry("CONTENTS").or_insert_with(|| Value::Object(Map::new())).as_object_mut();
        let Some(contents) = contents else { return };
        let child = contents.entry(segment.to_string()).or_insert_with(|| {
            let mut m = Map::new();
            m.insert("FULL_PATH".into(), json!(full));
            Value::Object(m)
        });
        let Some(child) = child.as_object_mut() else { return };
        node = child;
    }
    node.insert("TYPE".into(), json!(entry.type_tags()));
    node.insert("DESCRIPTION".into(), json!(entry.description));
    node.insert("ACCESS".into(), json!(entry.access.oscquery()));
    node.insert(
        "RANGE".into(),
        Value::Array(entry.args.iter().map(|a| a.range.oscquery()).collect()),
    );
    if entry.args.iter().any(|a| a.unit.is_some()) {
        let units = entry.args.iter().map(|a| a.unit.map_or(Value::Null, |u| json!(u))).collect();
        node.insert("UNIT".into(), Value::Array(units));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_unique_and_well_formed() {
        for (n, a) in ADDRESSES.iter().enumerate() {
            assert!(a.path.starts_with('/'), "{}", a.path);
            assert!(!a.path.ends_with('/'), "{}", a.path);
            for b in ADDRESSES.iter().skip(n + 1) {
                assert_ne!(a.path, b.path);
                assert_ne!(a.endpoint, b.endpoint, "{} and {}", a.path, b.path);
            }
            // Optional arguments only at the end.
            let first_optional = a.args.iter().position(|x| x.optional).unwrap_or(a.args.len());
            assert!(a.args.iter().skip(first_optional).all(|x| x.optional), "{}", a.path);
        }
    }

    #[test]
    fn lookup_matches_exact_paths_and_device_ids() {
        assert_eq!(lookup("/transport/tempo").map(|e| e.endpoint), Some(Endpoint::Tempo));
        assert_eq!(
            lookup("/ZIGSIM/phone-7/accel").map(|e| e.endpoint),
            Some(Endpoint::ZigSimAccel)
        );
        assert!(lookup("/ZIGSIM//accel").is_none());
        assert!(lookup("/ZIGSIM/a/b/accel").is_none());
        assert!(lookup("/transport/tempo/").is_none());
        assert!(lookup("/transport").is_none());
        assert!(lookup("").is_none());
        assert!(lookup("/Transport/Tempo").is_none());
    }

    #[test]
    fn expects_reads_like_the_spec() {
        let tempo = find(Endpoint::Tempo).map(Entry::expects);
        assert_eq!(tempo.as_deref(), Some("one float (tempo 40–240 BPM)"));
        let accel = find(Endpoint::MotionAccel).map(Entry::expects);
        assert_eq!(accel.as_deref(), Some("three floats (x, y, z in m/s^2)"));
        let gain = find(Endpoint::MixerGain).map(Entry::expects);
        assert_eq!(gain.as_deref(), Some("a string (channel) and a float (gain 0–4)"));
        let rv = find(Endpoint::Sensors2OscRotationVector).map(Entry::expects);
        assert_eq!(rv.as_deref(), Some("three to five floats (x, y, z, cos, accuracy rad)"));
        let status = find(Endpoint::Status).map(Entry::expects);
        assert_eq!(status.as_deref(), Some("no arguments"));
        let weights = find(Endpoint::RetrievalWeights).map(Entry::expects);
        assert_eq!(weights.as_deref(), Some("three floats (rhythm, harmony, timbre ≥ 0)"));
    }

    #[test]
    fn json_tree_has_oscquery_fields() {
        let tree = to_json();
        assert_eq!(tree["FULL_PATH"], "/");
        let tempo = &tree["CONTENTS"]["transport"]["CONTENTS"]["tempo"];
        assert_eq!(tempo["FULL_PATH"], "/transport/tempo");
        assert_eq!(tempo["TYPE"], "f");
        assert_eq!(tempo["ACCESS"], 2);
        assert_eq!(tempo["RANGE"][0]["MIN"], 40.0);
        assert_eq!(tempo["RANGE"][0]["MAX"], 240.0);
        assert_eq!(tempo["UNIT"][0], "BPM");
        let mode = &tree["CONTENTS"]["conductor"]["CONTENTS"]["mode"];
        assert_eq!(mode["RANGE"][0]["VALS"][1], "retrieve");
        let beat = &tree["CONTENTS"]["beat"];
        assert_eq!(beat["ACCESS"], 1);
        let transport = &tree["CONTENTS"]["transport"];
        assert_eq!(transport["FULL_PATH"], "/transport");
        assert!(transport.get("TYPE").is_none());
    }
}
