//! Motion recordings: raw sensor messages as JSON lines, written by `memsynth motion
//! record` and by the server's `/record/motion`, replayed by `memsynth render --motion`, and
//! read by training (the phrase mapper learns from which phrase played during which motion).
//!
//! The first line is a header, every other line one OSC message as the phone sent it:
//!
//! ```text
//! {"format":"memsynth-motion","version":1,"source":"record","started_unix":1764374400.25}
//! {"t":0.0,"addr":"/accxyz","args":[0.01,-0.02,-0.99],"phrase":null}
//! {"t":0.016671,"addr":"/ZIGSIM/phone/quaternion","args":[0.0,0.0,0.38,0.92],"phrase":12}
//! ```
//!
//! - `t`: seconds since the recording started (non-decreasing). A replay puts the message
//!   at sample `round(t · 48000)` after play.
//! - `addr`, `args`: the message as received (address, and its arguments: a JSON integer is
//!   an OSC `i`, any other number an `f`, a string `s`, `true`/`false` a `T`/`F`); other
//!   argument types are written as `null` and read back as OSC nil.
//! - `phrase`: the phrase playing when the message arrived (`null` before the first one or
//!   when unknown), from the server's `/phrase` pushes or its status.
//!
//! Only motion addresses (memsynth's `/motion/*` and the phone formats) are recorded. Lines
//! are flushed one by one, so a recorder stopped with Ctrl-C loses nothing.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;

use anyhow::{Context, bail};
use memsynth::osc::address::{self, Endpoint};
use memsynth::osc::{Command, parse_message};
use rosc::{OscMessage, OscPacket, OscType};
use serde_json::{Value, json};

/// The header's `format`.
pub const FORMAT: &str = "memsynth-motion";
/// The header's `version`.
pub const VERSION: u64 = 1;

/// One recorded message.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    /// Seconds since the recording started.
    pub t: f64,
    /// The message.
    pub message: OscMessage,
    /// The phrase playing, if known.
    pub phrase: Option<u32>,
}

/// Whether `addr` is a motion address: memsynth's `/motion/*` sensor addresses or a phone
/// format (not `/motion/calibrate`).
pub fn is_motion_address(addr: &str) -> bool {
    address::lookup(addr).is_some_and(|e| {
        e.sender != memsynth::osc::Sender::Memsynth
            || matches!(
                e.endpoint,
                Endpoint::MotionAccel
                    | Endpoint::MotionRawAccel
                    | Endpoint::MotionGyro
                    | Endpoint::MotionGravity
                    | Endpoint::MotionQuat
                    | Endpoint::MotionAttitude
            )
    })
}

/// The messages of a packet, bundles flattened, in order.
pub fn messages(packet: &OscPacket, out: &mut Vec<OscMessage>) {
    match packet {
        OscPacket::Message(m) => out.push(m.clone()),
        OscPacket::Bundle(b) => {
            for p in &b.content {
                messages(p, out);
            }
        }
    }
}

/// Writes a recording, one flushed line per message.
pub struct MotionWriter {
    out: BufWriter<File>,
    /// Messages written.
    pub written: u64,
}

impl MotionWriter {
    /// Creates `path` and writes the header (`source`: who records, e.g. `record`, `serve`).
    pub fn create(path: &Path, source: &str) -> anyhow::Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let file =
            File::create(path).with_context(|| format!("cannot write {}", path.display()))?;
        let started = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        let mut w = Self { out: BufWriter::new(file), written: 0 };
        let header = json!({
            "format": FORMAT,
            "version": VERSION,
            "source": source,
            "started_unix": started,
        });
        w.line(&header)?;
        Ok(w)
    }

    fn line(&mut self, v: &Value) -> anyhow::Result<()> {
        serde_json::to_writer(&mut self.out, v)?;
        self.out.write_all(b"\n")?;
        self.out.flush()?;
        Ok(())
    }

    /// Writes `message` received `t` seconds after the start while `phrase` played, if it
    /// is a motion message; returns whether it was written.
    pub fn write(
        &mut self,
        t: f64,
        message: &OscMessage,
        phrase: Option<u32>,
    ) -> anyhow::Result<bool> {
        if !is_motion_address(&message.addr) {
            return Ok(false);
        }
        let args: Vec<Value> = message.args.iter().map(arg_to_json).collect();
        // Microseconds are plenty, and keep the file readable.
        let t = (t.max(0.0) * 1e6).round() / 1e6;
        self.line(&json!({ "t": t, "addr": message.addr, "args": args, "phrase": phrase }))?;
        self.written += 1;
        Ok(true)
    }
}

fn arg_to_json(a: &OscType) -> Value {
    match a {
        OscType::Int(i) => json!(i),
        OscType::Long(i) => json!(i),
        OscType::Float(f) => {
            // An integral float must stay a float: serde_json writes 1.0 as `1.0`.
            json!(f64::from(*f))
        }
        OscType::Double(d) => json!(d),
        OscType::String(s) => json!(s),
        OscType::Bool(b) => json!(b),
        _ => Value::Null,
    }
}

fn json_to_arg(v: &Value) -> OscType {
    match v {
        Value::Number(n) if n.is_i64() || n.is_u64() => {
            let i = n.as_i64().unwrap_or(i64::MAX);
            i32::try_from(i).map_or(OscType::Long(i), OscType::Int)
        }
        Value::Number(n) => OscType::Float(n.as_f64().unwrap_or(0.0) as f32),
        Value::String(s) => OscType::String(s.clone()),
        Value::Bool(b) => OscType::Bool(*b),
        _ => OscType::Nil,
    }
}

/// Reads a recording; `Err` names the line that is wrong.
pub fn read(path: &Path) -> anyhow::Result<Vec<Recorded>> {
    let file = File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut lines = BufReader::new(file).lines().enumerate();
    let at = |n: usize| format!("{} line {}", path.display(), n + 1);
    let Some((n, header)) = lines.next() else {
        bail!("{} is empty: not a motion recording", path.display());
    };
    let header: Value = serde_json::from_str(&header?).with_context(|| at(n))?;
    if header["format"] != FORMAT {
        bail!("{}: not a motion recording (the header needs \"format\":\"{FORMAT}\")", at(n));
    }
    if header["version"].as_u64() != Some(VERSION) {
        bail!(
            "{}: version {} is not supported (this build reads {VERSION})",
            at(n),
            header["version"]
        );
    }
    let mut out = Vec::new();
    let mut last = 0.0f64;
    for (n, line) in lines {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let v: Value = serde_json::from_str(&line).with_context(|| at(n))?;
        let t = v["t"].as_f64().filter(|t| t.is_finite() && *t >= 0.0);
        let Some(t) = t else { bail!("{}: \"t\" must be seconds ≥ 0", at(n)) };
        if t < last {
            bail!("{}: t {t} goes back in time (after {last})", at(n));
        }
        last = t;
        let Some(addr) = v["addr"].as_str() else { bail!("{}: \"addr\" is missing", at(n)) };
        let args = v["args"].as_array().map(|a| a.iter().map(json_to_arg).collect());
        let Some(args) = args else { bail!("{}: \"args\" must be an array", at(n)) };
        let phrase = v["phrase"].as_u64().and_then(|p| u32::try_from(p).ok());
        out.push(Recorded { t, message: OscMessage { addr: addr.to_string(), args }, phrase });
    }
    Ok(out)
}

/// The recording as commands on a sample clock at `rate`: each message decoded by the
/// server's own parser and put at `round(t · rate)`. Messages that do not decode to motion
/// are skipped and counted.
pub fn to_commands(recorded: &[Recorded], rate: u32) -> (Vec<(u64, Command)>, usize) {
    let mut out = Vec::with_capacity(recorded.len());
    let mut skipped = 0;
    for r in recorded {
        match parse_message(&r.message) {
            Ok(Some(c @ Command::Motion(_))) => {
                out.push(((r.t * f64::from(rate)).round() as u64, c));
            }
            _ => skipped += 1,
        }
    }
    (out, skipped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recording_reads_back_exactly() {
        let dir = std::env::temp_dir().join(format!("memsynth-motion-file-{}", std::process::id()));
        let path = dir.join("take.jsonl");
        let mut w = MotionWriter::create(&path, "test").unwrap();
        let msg = |addr: &str, args: Vec<OscType>| OscMessage { addr: addr.into(), args };
        let a =
            msg("/accxyz", vec![OscType::Float(0.1), OscType::Float(1.0), OscType::Float(-0.3)]);
        let b = msg("/ZIGSIM/p/quaternion", vec![OscType::Float(0.0); 4]);
        assert!(w.write(0.0, &a, None).unwrap());
        assert!(w.write(0.0166666, &b, Some(12)).unwrap());
        assert!(!w.write(0.02, &msg("/transport/play", vec![]), None).unwrap());
        drop(w);
        let back = read(&path).unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!(back[0].message, a);
        assert_eq!(back[1], Recorded { t: 0.016667, message: b, phrase: Some(12) });
        let (commands, skipped) = to_commands(&back, 48_000);
        assert_eq!(skipped, 0);
        assert_eq!(commands[1].0, 800);
        std::fs::write(&path, "{\"format\":\"memsynth-motion\",\"version\":1}\n{\"t\":1}\n")
            .unwrap();
        assert!(read(&path).unwrap_err().to_string().contains("line 2"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
