//! Packets in, packets out: [`decode_packet`] turns one UDP datagram into timed commands
//! (walking nested bundles), the `encode_*` functions build replies and pushes, and
//! [`Counters`] tallies what came in.
//!
//! Nothing here panics on any input. Before `rosc` sees a packet, [`prescan`] refuses
//! bundles nested deeper than [`MAX_BUNDLE_DEPTH`] and argument arrays nested deeper than
//! [`MAX_ARRAY_DEPTH`]: `rosc` decodes bundles recursively and its arrays are recursive
//! values (encoded and dropped recursively), so a 64 KiB datagram of `#bundle` headers or
//! `[[[[…]]]]` type tags would otherwise overflow the stack.

use rosc::{OscBundle, OscMessage, OscPacket, OscTime, OscType};
use serde::Serialize;

use super::command::{self, Command, CommandError, ErrorKind, Sender};
use super::time::effective_time;

/// Deepest bundle nesting decoded (a bundle directly in the packet is depth 1).
pub const MAX_BUNDLE_DEPTH: usize = 8;

/// Deepest argument-array nesting decoded (memsynth uses no arrays; clients may send some).
pub const MAX_ARRAY_DEPTH: usize = 4;

/// Longest text sent in `/error` (bytes); longer messages are cut on a character boundary.
pub const MAX_ERROR_TEXT: usize = 512;

/// A value with the time tag of the bundle it came in (`None`: immediately, i.e. not in a
/// bundle or in one tagged "immediately"; see [`effective_time`] for nesting).
#[derive(Debug, Clone, PartialEq)]
pub struct Timed<T> {
    /// When it is due.
    pub time: Option<OscTime>,
    /// The value.
    pub value: T,
}

/// What one datagram decoded to.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Decoded {
    /// Every message in packet order, as a command or the error to send back.
    pub items: Vec<Timed<Result<Command, CommandError>>>,
    /// Button releases (a trigger address sent 0), which do nothing.
    pub ignored: usize,
    /// Why (part of) the packet could not be decoded. Messages before the damage are still
    /// in `items`.
    pub malformed: Option<String>,
}

/// Decodes one UDP datagram.
pub fn decode_packet(bytes: &[u8]) -> Decoded {
    let mut out = Decoded::default();
    if let Err(reason) = prescan(bytes) {
        out.malformed = Some(reason);
        return out;
    }
    match rosc::decoder::decode_udp(bytes) {
        Err(e) => out.malformed = Some(format!("not an OSC packet: {e}")),
        Ok((rest, packet)) => {
            walk(&packet, None, 0, &mut out);
            if !rest.is_empty() && out.malformed.is_none() {
                out.malformed = Some(format!(
                    "{} of {} bytes not decoded (a damaged bundle element or trailing data)",
                    rest.len(),
                    bytes.len()
                ));
            }
        }
    }
    out
}

fn walk(packet: &OscPacket, time: Option<OscTime>, depth: usize, out: &mut Decoded) {
    match packet {
        OscPacket::Message(msg) => match command::parse_message(msg) {
            Ok(Some(cmd)) => out.items.push(Timed { time, value: Ok(cmd) }),
            Ok(None) => out.ignored += 1,
            Err(e) => out.items.push(Timed { time, value: Err(e) }),
        },
        OscPacket::Bundle(bundle) => {
            // `prescan` already bounds the depth; this keeps the walk safe on its own.
            if depth >= MAX_BUNDLE_DEPTH {
                out.malformed = Some(too_deep());
                return;
            }
            let time = effective_time(time, bundle.timetag);
            for p in &bundle.content {
                walk(p, time, depth + 1, out);
            }
        }
    }
}

fn too_deep() -> String {
    format!("bundles nested deeper than {MAX_BUNDLE_DEPTH}")
}

const BUNDLE_TAG: &[u8] = b"#bundle\0";

/// Checks the nesting of a packet's bundles and argument arrays without decoding it,
/// mirroring how `rosc` walks it (strings padded to 4 bytes from the packet's start,
/// bundle elements bounded by their size). Anything this cannot follow is left for `rosc`
/// to refuse.
pub fn prescan(bytes: &[u8]) -> Result<(), String> {
    scan(bytes, 0, bytes.len(), 1)
}

fn scan(bytes: &[u8], start: usize, end: usize, depth: usize) -> Result<(), String> {
    let Some(elem) = bytes.get(start..end) else { return Ok(()) };
    if elem.starts_with(BUNDLE_TAG) {
        if depth > MAX_BUNDLE_DEPTH {
            return Err(too_deep());
        }
        // rosc pads after the "#bundle" string relative to the packet's start, so an
        // element at an unaligned offset has its time tag (and elements) further on.
        let mut pos = pad4(start + BUNDLE_TAG.len()) + 8;
        while let Some(elem_start) = pos.checked_add(4).filter(|&e| e <= end) {
            let Some(Ok(size)) = bytes.get(pos..elem_start).map(<[u8; 4]>::try_from) else {
                break;
            };
            let size = u32::from_be_bytes(size) as usize;
            let elem_end = elem_start.saturating_add(size);
            scan(bytes, elem_start, elem_end.min(end), depth + 1)?;
            pos = elem_end;
        }
        return Ok(());
    }
    // A message: the address string, padding, then the type tag string.
    let Some(nul) = elem.iter().position(|&b| b == 0) else { return Ok(()) };
    let tags_start = pad4(start + nul + 1);
    let Some(rest) = bytes.get(tags_start..end) else { return Ok(()) };
    let tags = rest.iter().position(|&b| b == 0).map_or(rest, |n| rest.get(..n).unwrap_or(rest));
    let mut level = 0usize;
    for &t in tags {
        match t {
            b'[' => {
                level += 1;
                if level > MAX_ARRAY_DEPTH {
                    return Err(format!("argument arrays nested deeper than {MAX_ARRAY_DEPTH}"));
                }
            }
            b']' => level = level.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

fn pad4(n: usize) -> usize {
    n.saturating_add(3) & !3
}

/// Encodes one packet. Writing into a `Vec` cannot fail.
pub fn encode_packet(packet: &OscPacket) -> Vec<u8> {
    let mut bytes = Vec::new();
    match rosc::encoder::encode_into(packet, &mut bytes) {
        Ok(_) => bytes,
        Err(never) => match never {},
    }
}

/// Encodes one message to `address` with `args`: the general reply and push builder.
pub fn encode_reply(address: &str, args: Vec<OscType>) -> Vec<u8> {
    encode_packet(&OscPacket::Message(OscMessage { addr: address.to_string(), args }))
}

/// Encodes messages in one bundle due at `time` (`None`: immediately).
pub fn encode_bundle(time: Option<OscTime>, messages: Vec<OscMessage>) -> Vec<u8> {
    encode_packet(&OscPacket::Bundle(OscBundle {
        timetag: time.unwrap_or(super::time::IMMEDIATE),
        content: messages.into_iter().map(OscPacket::Message).collect(),
    }))
}

/// `/error s`: the text, cut to [`MAX_ERROR_TEXT`] bytes.
pub fn encode_error(text: &str) -> Vec<u8> {
    let mut end = text.len().min(MAX_ERROR_TEXT);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    encode_reply("/error", vec![text.get(..end).unwrap_or("").into()])
}

/// The values of the `/status` reply.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Status {
    /// Whether the transport is playing.
    pub playing: bool,
    /// Current tempo, BPM.
    pub tempo: f32,
    /// Bars since play, from 0.
    pub bar: u32,
    /// Beat in the bar, from 0.
    pub beat: u32,
    /// The phrase playing, if any.
    pub phrase: Option<u32>,
    /// Output underruns since start.
    pub underruns: u64,
}

fn sat_i32(v: u64) -> OscType {
    OscType::Int(i32::try_from(v).unwrap_or(i32::MAX))
}

/// `/status i f i i i i`: playing (0/1), tempo, bar, beat, phrase id (-1 = none),
/// underruns (saturating at 2³¹−1).
pub fn encode_status(s: &Status) -> Vec<u8> {
    encode_reply(
        "/status",
        vec![
            OscType::Int(i32::from(s.playing)),
            OscType::Float(s.tempo),
            sat_i32(u64::from(s.bar)),
            sat_i32(u64::from(s.beat)),
            s.phrase.map_or(OscType::Int(-1), |p| sat_i32(u64::from(p))),
            sat_i32(s.underruns),
        ],
    )
}

/// `/beat i`: beat in the bar, from 0.
pub fn encode_beat(beat: u32) -> Vec<u8> {
    encode_reply("/beat", vec![sat_i32(u64::from(beat))])
}

/// `/bar i`: bars since play, from 0.
pub fn encode_bar(bar: u32) -> Vec<u8> {
    encode_reply("/bar", vec![sat_i32(u64::from(bar))])
}

/// `/phrase i f`: the phrase that started and its distance to the query.
pub fn encode_phrase(id: u32, distance: f32) -> Vec<u8> {
    encode_reply("/phrase", vec![sat_i32(u64::from(id)), OscType::Float(distance)])
}

/// `/levels f f`: output peak and RMS, dBFS.
pub fn encode_levels(peak_dbfs: f32, rms_dbfs: f32) -> Vec<u8> {
    encode_reply("/levels", vec![OscType::Float(peak_dbfs), OscType::Float(rms_dbfs)])
}

/// `/patch/value s f`: the answer to `/patch/get`.
pub fn encode_patch_value(path: &str, value: f32) -> Vec<u8> {
    encode_reply("/patch/value", vec![path.into(), OscType::Float(value)])
}

/// What the server has received, for its status and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Counters {
    /// Datagrams.
    pub packets: u64,
    /// Messages in them (commands, errors and ignored releases).
    pub messages: u64,
    /// Messages that became commands.
    pub commands: u64,
    /// Button releases ignored.
    pub ignored: u64,
    /// Errors: unknown addresses and patterns.
    pub unknown_address: u64,
    /// Errors: messages to read-only addresses.
    pub read_only: u64,
    /// Errors: wrong argument count or types.
    pub wrong_arguments: u64,
    /// Errors: values out of range or not finite.
    pub out_of_range: u64,
    /// Errors: refused names.
    pub bad_name: u64,
    /// Datagrams that were (partly) malformed.
    pub malformed: u64,
}

impl Counters {
    /// Adds one datagram's outcome.
    pub fn record(&mut self, d: &Decoded) {
        self.packets += 1;
        self.messages += (d.items.len() + d.ignored) as u64;
        self.ignored += d.ignored as u64;
        for item in &d.items {
            match &item.value {
                Ok(_) => self.commands += 1,
                Err(e) => {
                    let n = match e.kind() {
                        ErrorKind::UnknownAddress => &mut self.unknown_address,
                        ErrorKind::ReadOnly => &mut self.read_only,
                        ErrorKind::WrongArguments => &mut self.wrong_arguments,
                        ErrorKind::OutOfRange => &mut self.out_of_range,
                        ErrorKind::BadName => &mut self.bad_name,
                    };
                    *n += 1;
                }
            }
        }
        if d.malformed.is_some() {
            self.malformed += 1;
        }
    }

    /// All refused messages.
    pub fn errors(&self) -> u64 {
        self.unknown_address
            + self.read_only
            + self.wrong_arguments
            + self.out_of_range
            + self.bad_name
    }
}

/// The fuzz target: decodes `bytes`, re-encodes every command in memsynth's own format and
/// checks that it decodes to itself, and encodes every error reply. Panics only when that
/// round trip breaks (a bug), never on bad input.
pub fn fuzz_one(bytes: &[u8]) {
    let decoded = decode_packet(bytes);
    for item in &decoded.items {
        match &item.value {
            Ok(cmd) => {
                let again = decode_packet(&encode_packet(&OscPacket::Message(cmd.to_message())));
                let mut expected = cmd.clone();
                if let Command::Motion(m) = &mut expected {
                    m.sender = Sender::Memsynth;
                }
                let back = match again.items.as_slice() {
                    [one] => one.value.as_ref().ok(),
                    _ => None,
                };
                assert!(
                    again.malformed.is_none() && back == Some(&expected),
                    "{cmd:?} re-encoded decodes to {again:?}"
                );
            }
            Err(e) => {
                let reply = encode_error(&e.to_string());
                assert!(!reply.is_empty());
            }
        }
    }
    if let Some(reason) = &decoded.malformed {
        let _ = encode_error(reason);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundle(time: (u32, u32), content: Vec<OscPacket>) -> OscPacket {
        OscPacket::Bundle(OscBundle { timetag: time.into(), content })
    }

    fn message(addr: &str, args: Vec<OscType>) -> OscPacket {
        OscPacket::Message(OscMessage { addr: addr.to_string(), args })
    }

    #[test]
    fn deep_bundles_are_refused_before_rosc() {
        let mut p = message("/transport/play", vec![]);
        for _ in 0..MAX_BUNDLE_DEPTH {
            p = bundle((0, 1), vec![p]);
        }
        let ok = decode_packet(&encode_packet(&p));
        assert_eq!(ok.malformed, None);
        assert_eq!(ok.items.len(), 1);
        let p = bundle((0, 1), vec![p]);
        let deep = decode_packet(&encode_packet(&p));
        assert_eq!(deep.malformed, Some(too_deep()));
        assert!(deep.items.is_empty());
    }

    #[test]
    fn thousands_of_nested_bundles_do_not_overflow() {
        // 3000 nested "#bundle" headers, each claiming the rest of the packet.
        let depth = 3000;
        let mut bytes = Vec::new();
        for k in 0..depth {
            bytes.extend_from_slice(b"#bundle\0");
            bytes.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 1]);
            let remaining = (depth - k - 1) * 20;
            bytes.extend_from_slice(&(remaining as u32).to_be_bytes());
        }
        let d = decode_packet(&bytes);
        assert!(d.malformed.is_some());
    }

    #[test]
    fn deep_arrays_are_refused() {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(b"/x\0\0");
        let n = 20_000;
        let mut tags = vec![b','];
        tags.extend(std::iter::repeat_n(b'[', n));
        tags.extend(std::iter::repeat_n(b']', n));
        tags.push(0);
        while tags.len() % 4 != 0 {
            tags.push(0);
        }
        bytes.extend_from_slice(&tags);
        let d = decode_packet(&bytes);
        assert!(d.malformed.as_deref().is_some_and(|m| m.contains("arrays")), "{d:?}");
    }

    #[test]
    fn trailing_bytes_are_reported_but_messages_kept() {
        let mut bytes = encode_reply("/transport/play", vec![]);
        bytes.extend_from_slice(&[1, 2, 3, 4]);
        let d = decode_packet(&bytes);
        assert_eq!(d.items.len(), 1);
        assert!(d.malformed.is_some());
    }

    #[test]
    fn counters_tally_kinds() {
        let p = bundle(
            (0, 1),
            vec![
                message("/transport/play", vec![]),
                message("/transport/tap", vec![OscType::Float(0.0)]),
                message("/nope", vec![]),
                message("/transport/tempo", vec![OscType::Float(10.0)]),
                message("/patch/load", vec!["../x.ron".into()]),
            ],
        );
        let mut c = Counters::default();
        c.record(&decode_packet(&encode_packet(&p)));
        c.record(&decode_packet(b"garbage"));
        assert_eq!(c.packets, 2);
        assert_eq!(c.messages, 5);
        assert_eq!(c.commands, 1);
        assert_eq!(c.ignored, 1);
        assert_eq!((c.unknown_address, c.out_of_range, c.bad_name), (1, 1, 1));
        assert_eq!(c.errors(), 3);
        assert_eq!(c.malformed, 1);
    }

    #[test]
    fn error_text_is_cut_on_a_char_boundary() {
        let long = "é".repeat(1000);
        let bytes = encode_error(&long);
        let Ok((_, OscPacket::Message(m))) = rosc::decoder::decode_udp(&bytes) else { panic!() };
        let Some(OscType::String(s)) = m.args.first() else { panic!() };
        assert!(s.len() <= MAX_ERROR_TEXT && s.chars().all(|c| c == 'é'));
    }
}
