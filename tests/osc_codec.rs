//! The OSC codec from the outside: every address of the table decodes from real packets
//! (built with rosc) to the right command, bad messages get their specific errors, bundles
//! keep their time tags, phone formats land in SI units, and no byte string panics.

use memsynth::osc::address::{self, ArgType, Range};
use memsynth::osc::{
    ADDRESSES, Access, Command, CommandError, ConductorMode, Counters, Endpoint, MotionKind,
    MotionSample, Sender, Status, decode_packet, encode_bar, encode_beat, encode_error,
    encode_levels, encode_packet, encode_patch_value, encode_phrase, encode_status, fuzz_one,
};
use rand::{Rng, RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rosc::{OscBundle, OscMessage, OscPacket, OscTime, OscType};

const G: f32 = 9.806_65;

fn msg(addr: &str, args: Vec<OscType>) -> OscPacket {
    OscPacket::Message(OscMessage { addr: addr.to_string(), args })
}

fn bytes(p: &OscPacket) -> Vec<u8> {
    rosc::encoder::encode(p).expect("rosc encodes into a Vec")
}

/// Decodes one message that must give exactly one item.
fn decode_one(addr: &str, args: Vec<OscType>) -> Result<Command, CommandError> {
    let d = decode_packet(&bytes(&msg(addr, args)));
    assert_eq!(d.malformed, None, "{addr}");
    assert_eq!(d.items.len(), 1, "{addr}: {d:?}");
    d.items.into_iter().next().map(|t| t.value).expect("one item")
}

fn f(v: f32) -> OscType {
    OscType::Float(v)
}

fn s(v: &str) -> OscType {
    OscType::String(v.to_string())
}

fn motion(sender: Sender, kind: MotionKind, v: &[f32]) -> Command {
    let mut values = [0.0; 4];
    values[..v.len()].copy_from_slice(v);
    Command::Motion(MotionSample { sender, kind, values, len: v.len() as u8 })
}

/// One valid message for every address a client may send, and the command it must give.
fn valid_cases() -> Vec<(&'static str, Vec<OscType>, Command)> {
    use MotionKind as K;
    use Sender::*;
    vec![
        ("/transport/play", vec![], Command::Play),
        ("/transport/stop", vec![], Command::Stop),
        ("/transport/tempo", vec![f(128.0)], Command::Tempo(128.0)),
        ("/transport/tap", vec![], Command::Tap),
        (
            "/motion/accel",
            vec![f(0.1), f(-0.2), f(0.3)],
            motion(Memsynth, K::Accel, &[0.1, -0.2, 0.3]),
        ),
        (
            "/motion/rawaccel",
            vec![f(0.0), f(0.0), f(9.8)],
            motion(Memsynth, K::RawAccel, &[0.0, 0.0, 9.8]),
        ),
        ("/motion/gyro", vec![f(1.0), f(2.0), f(3.0)], motion(Memsynth, K::Gyro, &[1.0, 2.0, 3.0])),
        (
            "/motion/gravity",
            vec![f(0.0), f(-9.8), f(0.0)],
            motion(Memsynth, K::Gravity, &[0.0, -9.8, 0.0]),
        ),
        (
            "/motion/quat",
            vec![f(1.0), f(0.0), f(0.0), f(0.0)],
            motion(Memsynth, K::Quat, &[1.0, 0.0, 0.0, 0.0]),
        ),
        (
            "/motion/attitude",
            vec![f(0.1), f(0.2), f(0.3)],
            motion(Memsynth, K::Attitude, &[0.1, 0.2, 0.3]),
        ),
        ("/conductor/mode", vec![s("hybrid")], Command::ConductorMode(ConductorMode::Hybrid)),
        ("/conductor/steps", vec![OscType::Int(50)], Command::Steps(50)),
        ("/conductor/guidance", vec![f(3.5)], Command::Guidance(3.5)),
        ("/conductor/seed", vec![OscType::Int(42)], Command::Seed(42)),
        ("/retrieval/k", vec![OscType::Int(8)], Command::RetrievalK(8)),
        (
            "/retrieval/weights",
            vec![f(1.0), f(0.5), f(0.0)],
            Command::RetrievalWeights([1.0, 0.5, 0.0]),
        ),
        ("/retrieval/phrase", vec![OscType::Int(1234)], Command::QueryPhrase(1234)),
        (
            "/mixer/gain",
            vec![s("vocoder"), f(0.8)],
            Command::MixerGain { channel: "vocoder".into(), gain: 0.8 },
        ),
        ("/mixer/xfade", vec![f(4.0)], Command::Xfade(4.0)),
        ("/patch/load", vec![s("live set.ron")], Command::PatchLoad("live set.ron".into())),
        (
            "/patch/set",
            vec![s("conductor.guidance"), f(2.0)],
            Command::PatchSet { path: "conductor.guidance".into(), value: 2.0 },
        ),
        (
            "/patch/get",
            vec![s("conductor.guidance")],
            Command::PatchGet("conductor.guidance".into()),
        ),
        ("/record/start", vec![s("take1.wav")], Command::RecordStart(Some("take1.wav".into()))),
        ("/record/stop", vec![], Command::RecordStop),
        ("/motion/calibrate", vec![], Command::MotionCalibrate),
        ("/record/motion", vec![OscType::Int(0)], Command::RecordMotionStop),
        (
            "/record/motion",
            vec![OscType::Int(1), s("moves.jsonl")],
            Command::RecordMotionStart(Some("moves.jsonl".into())),
        ),
        ("/status", vec![], Command::Status),
        ("/subscribe", vec![OscType::Int(9001)], Command::Subscribe(9001)),
        ("/unsubscribe", vec![], Command::Unsubscribe),
        ("/accxyz", vec![f(0.0), f(0.0), f(-1.0)], motion(TouchOsc, K::RawAccel, &[0.0, 0.0, -G])),
        (
            "/ZIGSIM/abc123/accel",
            vec![f(0.5), f(0.0), f(0.0)],
            motion(ZigSim, K::Accel, &[0.5 * G, 0.0, 0.0]),
        ),
        (
            "/ZIGSIM/abc123/gyro",
            vec![f(0.1), f(0.2), f(0.3)],
            motion(ZigSim, K::Gyro, &[0.1, 0.2, 0.3]),
        ),
        (
            "/ZIGSIM/abc123/gravity",
            vec![f(0.0), f(-1.0), f(0.0)],
            motion(ZigSim, K::Gravity, &[0.0, -G, 0.0]),
        ),
        (
            "/ZIGSIM/abc123/quaternion",
            vec![f(0.1), f(0.2), f(0.3), f(0.9)],
            motion(ZigSim, K::Quat, &[0.9, 0.1, 0.2, 0.3]),
        ),
        (
            "/gyrosc/accel",
            vec![f(0.0), f(2.0), f(0.0)],
            motion(GyrOsc, K::Accel, &[0.0, 2.0 * G, 0.0]),
        ),
        (
            "/gyrosc/gyro",
            vec![f(0.1), f(-0.2), f(3.0)],
            motion(GyrOsc, K::Attitude, &[0.1, -0.2, 3.0]),
        ),
        (
            "/gyrosc/rrate",
            vec![f(1.0), f(0.0), f(-1.0)],
            motion(GyrOsc, K::Gyro, &[1.0, 0.0, -1.0]),
        ),
        (
            "/gyrosc/grav",
            vec![f(0.0), f(0.0), f(-1.0)],
            motion(GyrOsc, K::Gravity, &[0.0, 0.0, -G]),
        ),
        (
            "/gyrosc/quat",
            vec![f(0.9), f(0.1), f(0.2), f(0.3)],
            motion(GyrOsc, K::Quat, &[0.9, 0.1, 0.2, 0.3]),
        ),
        (
            "/accelerometer",
            vec![f(0.001), f(-0.001), f(9.79)],
            motion(Sensors2Osc, K::RawAccel, &[0.001, -0.001, 9.79]),
        ),
        (
            "/linearacceleration",
            vec![f(0.5), f(0.0), f(0.0)],
            motion(Sensors2Osc, K::Accel, &[0.5, 0.0, 0.0]),
        ),
        (
            "/gyroscope",
            vec![f(0.1), f(0.2), f(0.3)],
            motion(Sensors2Osc, K::Gyro, &[0.1, 0.2, 0.3]),
        ),
        (
            "/gravity",
            vec![f(0.0), f(9.81), f(0.0)],
            motion(Sensors2Osc, K::Gravity, &[0.0, 9.81, 0.0]),
        ),
        (
            "/rotationvector",
            vec![f(0.1), f(0.2), f(0.3), f(0.9), f(-1.0)],
            motion(Sensors2Osc, K::Quat, &[0.9, 0.1, 0.2, 0.3]),
        ),
        (
            "/gamerotationvector",
            vec![f(0.0), f(0.0), f(0.0), f(1.0)],
            motion(Sensors2Osc, K::Quat, &[1.0, 0.0, 0.0, 0.0]),
        ),
    ]
}

#[test]
fn every_table_entry_round_trips() {
    let cases = valid_cases();
    for (addr, args, expected) in &cases {
        assert_eq!(decode_one(addr, args.clone()), Ok(expected.clone()), "{addr}");
    }
    // The cases cover every address a client may send to.
    for entry in ADDRESSES.iter().filter(|e| e.access != Access::Read) {
        let covered = cases.iter().any(|(addr, _, _)| entry.matches(addr));
        assert!(covered, "no valid case for {}", entry.path);
    }
}

#[test]
fn every_command_reencodes_to_itself() {
    for (addr, args, expected) in valid_cases() {
        let again = decode_packet(&encode_packet(&OscPacket::Message(expected.to_message())));
        let mut want = expected.clone();
        if let Command::Motion(m) = &mut want {
            m.sender = Sender::Memsynth;
        }
        assert_eq!(again.items.first().map(|t| t.value.clone()), Some(Ok(want)), "{addr}");
        fuzz_one(&bytes(&msg(addr, args)));
    }
}

#[test]
fn server_addresses_are_read_only() {
    for entry in ADDRESSES.iter().filter(|e| e.access == Access::Read) {
        let err = decode_one(entry.path, vec![]).unwrap_err();
        assert!(matches!(err, CommandError::ReadOnly { .. }), "{}: {err}", entry.path);
    }
}

#[test]
fn ints_and_doubles_are_accepted_for_floats() {
    for entry in ADDRESSES.iter().filter(|e| e.access == Access::Write && !e.args.is_empty()) {
        let addr = entry.path.replace("<id>", "dev");
        let valid = |as_int: bool| -> Vec<OscType> {
            entry
                .args
                .iter()
                .map(|a| match (a.ty, a.range) {
                    (ArgType::Float, Range::Float { min, .. }) if as_int => {
                        OscType::Int(min.ceil().max(1.0) as i32)
                    }
                    (ArgType::Float, Range::Float { min, .. }) => {
                        OscType::Double(f64::from(min.max(0.5)))
                    }
                    (ArgType::Float, _) if as_int => OscType::Int(1),
                    (ArgType::Float, _) => OscType::Double(0.25),
                    (ArgType::Int, Range::Int { min, .. }) => OscType::Int(min.max(1) as i32),
                    (ArgType::Int, _) => OscType::Int(1),
                    (ArgType::Str, Range::Vals(v)) => s(v[0]),
                    (ArgType::Str, _) => s("main.ron"),
                })
                .collect()
        };
        for as_int in [true, false] {
            let got = decode_one(&addr, valid(as_int));
            assert!(got.is_ok(), "{addr} (ints: {as_int}): {got:?}");
        }
    }
}

#[test]
fn wrong_types_counts_and_ranges_get_specific_errors() {
    let cases: Vec<(&str, Vec<OscType>, &str)> = vec![
        (
            "/transport/tempo",
            vec![s("fast")],
            "/transport/tempo expects one float (tempo 40–240 BPM), got s",
        ),
        (
            "/transport/tempo",
            vec![f(120.0), f(1.0)],
            "/transport/tempo expects one float (tempo 40–240 BPM), got ff",
        ),
        ("/transport/tempo", vec![f(39.9)], "/transport/tempo: tempo 39.9 is outside 40–240"),
        (
            "/transport/tempo",
            vec![f(f32::NAN)],
            "/transport/tempo: tempo must be a finite number, got NaN",
        ),
        (
            "/motion/accel",
            vec![f(1.0), f(2.0)],
            "/motion/accel expects three floats (x, y, z in m/s^2), got ff",
        ),
        (
            "/motion/gyro",
            vec![f(1.0), f(f32::INFINITY), f(0.0)],
            "/motion/gyro: y must be a finite number, got inf",
        ),
        (
            "/conductor/mode",
            vec![s("random")],
            "/conductor/mode: mode random is outside generate|retrieve|hybrid",
        ),
        (
            "/conductor/mode",
            vec![OscType::Int(1)],
            "/conductor/mode expects one string (mode generate|retrieve|hybrid), got i",
        ),
        ("/conductor/steps", vec![OscType::Int(0)], "/conductor/steps: steps 0 is outside 1–200"),
        (
            "/conductor/steps",
            vec![OscType::Int(201)],
            "/conductor/steps: steps 201 is outside 1–200",
        ),
        (
            "/conductor/guidance",
            vec![f(20.5)],
            "/conductor/guidance: guidance 20.5 is outside 0–20",
        ),
        ("/retrieval/k", vec![OscType::Int(65)], "/retrieval/k: k 65 is outside 1–64"),
        ("/retrieval/k", vec![s("8")], "/retrieval/k expects one int (k 1–64), got s"),
        (
            "/retrieval/weights",
            vec![f(0.0), f(0.0), f(0.0)],
            "/retrieval/weights: the weights must not all be 0",
        ),
        (
            "/retrieval/weights",
            vec![f(1.0), f(-1.0), f(0.0)],
            "/retrieval/weights: harmony -1 is outside ≥ 0",
        ),
        (
            "/mixer/gain",
            vec![f(1.0), s("main")],
            "/mixer/gain expects a string (channel) and a float (gain 0–4), got fs",
        ),
        ("/mixer/gain", vec![s("main"), f(4.5)], "/mixer/gain: gain 4.5 is outside 0–4"),
        (
            "/mixer/gain",
            vec![s("a b"), f(1.0)],
            "/mixer/gain: refused \"a b\": only ASCII letters, digits, '_', '-' and '.' are allowed",
        ),
        ("/mixer/xfade", vec![f(17.0)], "/mixer/xfade: length 17 is outside 0–16"),
        ("/subscribe", vec![OscType::Int(70_000)], "/subscribe: port 70000 is outside 0–65535"),
        ("/status", vec![OscType::Int(1)], "/status expects no arguments, got i"),
        (
            "/transport/play",
            vec![s("go")],
            "/transport/play expects no arguments (or one button value, 0 = release), got s",
        ),
        ("/accxyz", vec![f(1.0), f(1.0)], "/accxyz expects three floats (x, y, z in g), got ff"),
        (
            "/ZIGSIM/d/quaternion",
            vec![f(0.0); 3],
            "/ZIGSIM/<id>/quaternion expects four floats (x, y, z, w), got fff",
        ),
        (
            "/rotationvector",
            vec![f(0.0); 6],
            "/rotationvector expects three to five floats (x, y, z, cos, accuracy rad), got ffffff",
        ),
        (
            "/no/such/address",
            vec![],
            "unknown address /no/such/address; the address list is in the discovery tree",
        ),
    ];
    for (addr, args, text) in cases {
        let err = decode_one(addr, args).unwrap_err();
        assert_eq!(err.to_string(), text);
    }
}

#[test]
fn path_escapes_are_refused() {
    for name in
        ["../x.ron", "/etc/passwd", "a/b.ron", "..", ".hidden.ron", "x\0y", "..\\x.ron", "C:\\x"]
    {
        for addr in ["/patch/load", "/record/start"] {
            let d = decode_packet(&bytes(&msg(addr, vec![s(name)])));
            // rosc ends a string at its first NUL: "x\0y" arrives as "x". A name with a
            // NUL can never reach the parser; check_file_name refuses one anyway (below).
            if name.contains('\0') {
                for t in &d.items {
                    if let Ok(Command::PatchLoad(n) | Command::RecordStart(Some(n))) = &t.value {
                        assert!(!n.contains('\0'), "{n:?}");
                    }
                }
                continue;
            }
            let err = d.items.first().map(|t| t.value.clone());
            assert!(
                matches!(err, Some(Err(CommandError::BadName { .. }))),
                "{addr} {name:?}: {err:?}"
            );
        }
    }
    // The NUL check itself, below the wire.
    assert!(memsynth::osc::command::check_file_name("x\0y").is_err());
}

fn at(seconds: u32) -> OscTime {
    OscTime { seconds, fractional: 0 }
}

fn bundle(time: OscTime, content: Vec<OscPacket>) -> OscPacket {
    OscPacket::Bundle(OscBundle { timetag: time, content })
}

#[test]
fn nested_bundles_keep_time_tags() {
    let immediate = OscTime { seconds: 0, fractional: 1 };
    let packet = bundle(
        at(1000),
        vec![
            msg("/transport/tempo", vec![f(100.0)]),
            bundle(
                at(1002),
                vec![
                    msg("/transport/play", vec![]),
                    bundle(immediate, vec![msg("/transport/tap", vec![])]),
                ],
            ),
            // Earlier than its container: raised to the container's time.
            bundle(at(999), vec![msg("/transport/stop", vec![])]),
            msg("/nope", vec![]),
        ],
    );
    let d = decode_packet(&bytes(&packet));
    assert_eq!(d.malformed, None);
    let got: Vec<(Option<OscTime>, Result<Command, CommandError>)> =
        d.items.into_iter().map(|t| (t.time, t.value)).collect();
    assert_eq!(got.len(), 5);
    assert_eq!(got[0], (Some(at(1000)), Ok(Command::Tempo(100.0))));
    assert_eq!(got[1], (Some(at(1002)), Ok(Command::Play)));
    assert_eq!(got[2], (Some(at(1002)), Ok(Command::Tap)));
    assert_eq!(got[3], (Some(at(1000)), Ok(Command::Stop)));
    assert_eq!(got[4].0, Some(at(1000)));
    assert!(matches!(got[4].1, Err(CommandError::UnknownAddress { .. })));

    let now = decode_packet(&bytes(&bundle(immediate, vec![msg("/transport/play", vec![])])));
    assert_eq!(now.items[0].time, None);
    let bare = decode_packet(&bytes(&msg("/transport/play", vec![])));
    assert_eq!(bare.items[0].time, None);
}

#[test]
fn phone_formats_decode_to_si() {
    let check = |addr: &str, args: Vec<OscType>, sender: Sender, kind: MotionKind, want: &[f32]| {
        let Ok(Command::Motion(m)) = decode_one(addr, args) else { panic!("{addr}") };
        assert_eq!((m.sender, m.kind), (sender, kind), "{addr}");
        assert_eq!(m.values().len(), want.len(), "{addr}");
        for (g, w) in m.values().iter().zip(want) {
            assert!((g - w).abs() < 1e-5, "{addr}: {:?} vs {want:?}", m.values());
        }
    };
    // A phone lying flat, screen up, in each app's own units.
    check(
        "/accxyz",
        vec![f(0.0), f(0.0), f(-1.0)],
        Sender::TouchOsc,
        MotionKind::RawAccel,
        &[0.0, 0.0, -9.80665],
    );
    // TouchOSC and SuperCollider sometimes send ints.
    check(
        "/accxyz",
        vec![OscType::Int(0), OscType::Int(1), OscType::Int(0)],
        Sender::TouchOsc,
        MotionKind::RawAccel,
        &[0.0, 9.80665, 0.0],
    );
    check(
        "/ZIGSIM/A1B2/gravity",
        vec![f(0.0), f(0.0), f(-1.0)],
        Sender::ZigSim,
        MotionKind::Gravity,
        &[0.0, 0.0, -9.80665],
    );
    check(
        "/ZIGSIM/A1B2/accel",
        vec![f(0.25), f(0.0), f(0.0)],
        Sender::ZigSim,
        MotionKind::Accel,
        &[2.4516625, 0.0, 0.0],
    );
    check(
        "/ZIGSIM/A1B2/gyro",
        vec![f(0.5), f(0.0), f(0.0)],
        Sender::ZigSim,
        MotionKind::Gyro,
        &[0.5, 0.0, 0.0],
    );
    // 90° about z: x y z w = 0 0 sin45 cos45.
    let h = std::f32::consts::FRAC_1_SQRT_2;
    check(
        "/ZIGSIM/A1B2/quaternion",
        vec![f(0.0), f(0.0), f(h), f(h)],
        Sender::ZigSim,
        MotionKind::Quat,
        &[h, 0.0, 0.0, h],
    );
    check(
        "/gyrosc/grav",
        vec![f(0.0), f(0.0), f(-1.0)],
        Sender::GyrOsc,
        MotionKind::Gravity,
        &[0.0, 0.0, -9.80665],
    );
    check(
        "/gyrosc/accel",
        vec![f(0.1), f(0.0), f(0.0)],
        Sender::GyrOsc,
        MotionKind::Accel,
        &[0.980665, 0.0, 0.0],
    );
    check(
        "/gyrosc/rrate",
        vec![f(3.0), f(0.0), f(0.0)],
        Sender::GyrOsc,
        MotionKind::Gyro,
        &[3.0, 0.0, 0.0],
    );
    check(
        "/gyrosc/gyro",
        vec![f(0.5), f(0.0), f(1.5)],
        Sender::GyrOsc,
        MotionKind::Attitude,
        &[0.5, 0.0, 1.5],
    );
    check(
        "/gyrosc/quat",
        vec![f(h), f(0.0), f(0.0), f(h)],
        Sender::GyrOsc,
        MotionKind::Quat,
        &[h, 0.0, 0.0, h],
    );
    check(
        "/accelerometer",
        vec![f(0.0), f(0.0), f(9.81)],
        Sender::Sensors2Osc,
        MotionKind::RawAccel,
        &[0.0, 0.0, 9.81],
    );
    check(
        "/gyroscope",
        vec![f(0.0), f(0.0), f(1.0)],
        Sender::Sensors2Osc,
        MotionKind::Gyro,
        &[0.0, 0.0, 1.0],
    );
    check(
        "/gravity",
        vec![f(0.0), f(0.0), f(9.81)],
        Sender::Sensors2Osc,
        MotionKind::Gravity,
        &[0.0, 0.0, 9.81],
    );
    // Android's rotation vector: 90° about z, with and without cos(θ/2) and accuracy.
    check(
        "/rotationvector",
        vec![f(0.0), f(0.0), f(h), f(h), f(0.1)],
        Sender::Sensors2Osc,
        MotionKind::Quat,
        &[h, 0.0, 0.0, h],
    );
    check(
        "/rotationvector",
        vec![f(0.0), f(0.0), f(h)],
        Sender::Sensors2Osc,
        MotionKind::Quat,
        &[h, 0.0, 0.0, h],
    );
    // Absurd g values overflow to infinity in SI: refused, not passed on.
    let err = decode_one("/accxyz", vec![f(3.0e38), f(0.0), f(0.0)]).unwrap_err();
    assert!(matches!(err, CommandError::NotFinite { .. }), "{err}");
}

#[test]
fn replies_match_the_table() {
    let status =
        Status { playing: true, tempo: 128.0, bar: 3, beat: 2, phrase: None, underruns: 1 << 40 };
    let replies = [
        (Endpoint::Status, encode_status(&status)),
        (Endpoint::Beat, encode_beat(2)),
        (Endpoint::Bar, encode_bar(3)),
        (Endpoint::Phrase, encode_phrase(77, 0.25)),
        (Endpoint::Levels, encode_levels(-3.0, -12.5)),
        (Endpoint::Error, encode_error("bad")),
        (Endpoint::PatchValue, encode_patch_value("conductor.guidance", 2.0)),
    ];
    for (endpoint, packet) in replies {
        let entry = address::find(endpoint).expect("in the table");
        let Ok((rest, OscPacket::Message(m))) = rosc::decoder::decode_udp(&packet) else {
            panic!("{endpoint:?}")
        };
        assert!(rest.is_empty());
        assert_eq!(m.addr, entry.path);
        let tags: String = memsynth::osc::command::type_tags(&m.args);
        assert_eq!(tags, entry.type_tags(), "{endpoint:?}");
    }
    let Ok((_, OscPacket::Message(m))) = rosc::decoder::decode_udp(&encode_status(&status)) else {
        panic!()
    };
    assert_eq!(
        m.args,
        vec![
            OscType::Int(1),
            OscType::Float(128.0),
            OscType::Int(3),
            OscType::Int(2),
            OscType::Int(-1),
            OscType::Int(i32::MAX)
        ]
    );
}

#[test]
fn discovery_json_lists_every_address() {
    fn leaves(node: &serde_json::Value, out: &mut Vec<String>) {
        if node.get("TYPE").is_some() {
            out.push(node["FULL_PATH"].as_str().unwrap_or_default().to_string());
            assert!(node.get("DESCRIPTION").is_some() && node.get("RANGE").is_some());
        }
        if let Some(contents) = node.get("CONTENTS").and_then(|c| c.as_object()) {
            for child in contents.values() {
                leaves(child, out);
            }
        }
    }
    let tree = address::to_json();
    assert_eq!(tree["FULL_PATH"], "/");
    let mut found = Vec::new();
    leaves(&tree, &mut found);
    let mut want: Vec<String> = ADDRESSES.iter().map(|e| e.path.to_string()).collect();
    found.sort();
    want.sort();
    assert_eq!(found, want);
    // It is valid JSON text too.
    let text = serde_json::to_string(&tree).expect("serialises");
    assert!(text.contains("\"/transport/tempo\""));
}

fn valid_packets() -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> =
        valid_cases().into_iter().map(|(a, args, _)| bytes(&msg(a, args))).collect();
    let all: Vec<OscPacket> = valid_cases().into_iter().map(|(a, args, _)| msg(a, args)).collect();
    out.push(bytes(&bundle(at(5), all.clone())));
    out.push(bytes(&bundle(at(5), vec![bundle(at(6), all), msg("/transport/tap", vec![f(1.0)])])));
    out
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = ChaCha8Rng::seed_from_u64(0x05C0_DEC0);
    let mut counters = Counters::default();
    for n in 0..10_000 {
        let len = rng.random_range(0..256usize);
        let mut buf = vec![0u8; len];
        rng.fill_bytes(&mut buf);
        // Every few, start like a message or a bundle so the decoder gets past the first
        // check.
        match n % 4 {
            1 if len > 8 => buf[..2].copy_from_slice(b"/t"),
            2 if len > 16 => buf[..8].copy_from_slice(b"#bundle\0"),
            _ => {}
        }
        let d = decode_packet(&buf);
        counters.record(&d);
        fuzz_one(&buf);
    }
    assert_eq!(counters.packets, 10_000);
    assert!(counters.malformed > 9_000, "{counters:?}");
}

#[test]
fn mutated_packets_never_panic() {
    let seeds = valid_packets();
    let mut rng = ChaCha8Rng::seed_from_u64(0xB00_5EED);
    let mut counters = Counters::default();
    for _ in 0..10_000 {
        let mut buf = seeds[rng.random_range(0..seeds.len())].clone();
        for _ in 0..rng.random_range(1..4) {
            match rng.random_range(0..10) {
                // Flip a byte (keeps the structure most of the time: values, tags, names).
                0..5 if !buf.is_empty() => {
                    let i = rng.random_range(0..buf.len());
                    buf[i] = rng.random();
                }
                // Write a type tag or a structural character.
                5 | 6 if !buf.is_empty() => {
                    let i = rng.random_range(0..buf.len());
                    buf[i] = b"ifsbhdtcrmTFNI[],#/"[rng.random_range(0..19)];
                }
                // Set a size or count field to an extreme.
                7 if buf.len() >= 4 => {
                    let i = rng.random_range(0..buf.len() - 3) & !3;
                    let v =
                        [0u32, 1, 0x7fff_ffff, 0xffff_ffff, 0x8000_0000][rng.random_range(0..5)];
                    buf[i..i + 4].copy_from_slice(&v.to_be_bytes());
                }
                // Truncate.
                8 => buf.truncate(rng.random_range(0..=buf.len())),
                // Insert a byte.
                _ => {
                    let i = rng.random_range(0..=buf.len());
                    buf.insert(i, rng.random());
                }
            }
        }
        let d = decode_packet(&buf);
        counters.record(&d);
        fuzz_one(&buf);
    }
    // The mutations leave many packets decodable: the test exercises the command parser,
    // not only rosc's refusals.
    assert!(counters.commands > 5_000, "{counters:?}");
    assert!(counters.errors() > 200 && counters.malformed > 1_000, "{counters:?}");
}
