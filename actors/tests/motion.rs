//! Motion end to end: a synthetic recording in each phone format, replayed by `memsynth
//! render --motion`, moves the query (the audio differs from the render without motion) and
//! replays to the same bytes; `memsynth motion record` records and forwards; a live server
//! takes motion, pushes `/motion/query` and records `/record/motion`; the running patch's
//! `motion` section chooses the senders listened to (live) and smooths the query.

mod common;

use std::f64::consts::PI;
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Served, ok, s, tiny_db};
use rosc::{OscMessage, OscPacket, OscType};
use serde_json::{Value, json};

const BPM: f64 = 170.0;
const BARS: &str = "40";

/// One phone format: the messages it sends at `t` seconds, in that format's own units, of a
/// performer who holds the phone still for 8 s and then bounces on the beat and rocks it
/// (`moving`), or keeps it lying on the table (not `moving`).
type Format = fn(f64, bool) -> Vec<(String, Vec<f64>)>;

fn motion(t: f64, moving: bool) -> (f64, f64, f64) {
    let amp = if moving && t >= 8.0 { 2.5 } else { 0.0 };
    let beat = BPM / 60.0;
    // Up-down bounce on the beat (m/s²), roll rocking over two bars (rad), yaw rate (rad/s).
    let bounce = amp * 4.0 * (2.0 * PI * beat * t).sin();
    let roll = amp * 0.6 * (2.0 * PI * t / 4.0).sin();
    let spin = amp * 1.5 * (2.0 * PI * 0.7 * t).sin();
    (bounce, roll, spin)
}

const G: f64 = 9.80665;

fn touchosc(t: f64, moving: bool) -> Vec<(String, Vec<f64>)> {
    let (bounce, roll, _) = motion(t, moving);
    // Gravity included, in g, CoreMotion sign.
    vec![("/accxyz".into(), vec![0.0, -roll.sin(), -roll.cos() + bounce / G])]
}

fn zigsim(t: f64, moving: bool) -> Vec<(String, Vec<f64>)> {
    let (bounce, roll, spin) = motion(t, moving);
    let (s, c) = (roll / 2.0).sin_cos();
    vec![
        ("/ZIGSIM/phone-1/accel".into(), vec![0.0, 0.0, bounce / G]),
        ("/ZIGSIM/phone-1/gyro".into(), vec![0.0, 0.0, spin]),
        ("/ZIGSIM/phone-1/gravity".into(), vec![0.0, -roll.sin(), -roll.cos()]),
        ("/ZIGSIM/phone-1/quaternion".into(), vec![s, 0.0, 0.0, c]),
    ]
}

fn gyrosc(t: f64, moving: bool) -> Vec<(String, Vec<f64>)> {
    let (bounce, roll, spin) = motion(t, moving);
    vec![
        ("/gyrosc/accel".into(), vec![0.0, 0.0, bounce / G]),
        ("/gyrosc/rrate".into(), vec![0.0, 0.0, spin]),
        ("/gyrosc/grav".into(), vec![0.0, -roll.sin(), -roll.cos()]),
        ("/gyrosc/gyro".into(), vec![0.0, roll, 0.0]),
    ]
}

fn sensors2osc(t: f64, moving: bool) -> Vec<(String, Vec<f64>)> {
    let (bounce, roll, spin) = motion(t, moving);
    let (s, c) = (roll / 2.0).sin_cos();
    // Android: m/s², the reaction's sign.
    vec![
        ("/accelerometer".into(), vec![0.0, G * roll.sin(), G * roll.cos() - bounce]),
        ("/gyroscope".into(), vec![0.0, 0.0, spin]),
        ("/gravity".into(), vec![0.0, G * roll.sin(), G * roll.cos()]),
        ("/rotationvector".into(), vec![s, 0.0, 0.0, c]),
    ]
}

fn memsynth_own(t: f64, moving: bool) -> Vec<(String, Vec<f64>)> {
    let (bounce, roll, spin) = motion(t, moving);
    vec![
        ("/motion/accel".into(), vec![0.0, 0.0, bounce]),
        ("/motion/gyro".into(), vec![0.0, 0.0, spin]),
        ("/motion/attitude".into(), vec![0.0, roll, 0.0]),
    ]
}

const FORMATS: [(&str, Format); 5] = [
    ("touchosc", touchosc),
    ("zigsim", zigsim),
    ("gyrosc", gyrosc),
    ("sensors2osc", sensors2osc),
    ("memsynth", memsynth_own),
];

/// A recording of `seconds` of `format` at 50 messages per second per sensor.
fn write_recording(path: &Path, format: Format, moving: bool, seconds: f64) {
    let mut text = json!({"format": "memsynth-motion", "version": 1, "source": "test"}).to_string();
    text.push('\n');
    let mut k = 0;
    loop {
        let t = k as f64 / 50.0;
        if t > seconds {
            break;
        }
        for (addr, args) in format(t, moving) {
            let line = json!({"t": t, "addr": addr, "args": args, "phrase": Value::Null});
            text.push_str(&line.to_string());
            text.push('\n');
        }
        k += 1;
    }
    std::fs::write(path, text).unwrap();
}

fn dir() -> PathBuf {
    tiny_db().parent().unwrap().to_path_buf()
}

fn render(name: &str, extra: &[&str]) -> (Vec<u8>, String) {
    let out = dir().join(name);
    let mut args = vec!["render", "--db", s(tiny_db()), "--out", s(&out)];
    args.extend_from_slice(&["--bars", BARS, "--tempo", "170", "--phrase", "5", "--seed", "3"]);
    args.extend_from_slice(extra);
    let stdout = ok(&args);
    (std::fs::read(&out).unwrap(), stdout)
}

#[test]
fn each_phone_format_moves_the_query_and_replays_to_the_same_bytes() {
    let (none, _) = render("no-motion.wav", &[]);
    let seconds = 40.0 * 4.0 * 60.0 / BPM + 1.0;
    let mut flipped = Vec::new();
    for (name, format) in FORMATS {
        let moving = dir().join(format!("{name}.jsonl"));
        let still = dir().join(format!("{name}-still.jsonl"));
        write_recording(&moving, format, true, seconds);
        write_recording(&still, format, false, seconds);
        let (a, stdout) = render(&format!("{name}-a.wav"), &["--motion", s(&moving)]);
        let (b, _) = render(&format!("{name}-b.wav"), &["--motion", s(&moving)]);
        assert!(a == b, "{name}: replaying the same recording gave different audio");
        // The query moved: its distances from the anchor differ from a still phone's.
        let (c, still_out) = render(&format!("{name}-still.wav"), &["--motion", s(&still)]);
        let (q, q_still) = (query_distances(&stdout), query_distances(&still_out));
        let moved = q.iter().zip(&q_still).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
        assert!(moved > 0.05, "{name}: the query hardly moved\n{stdout}\n{still_out}");
        if a != c && a != none {
            flipped.push(name);
        }
    }
    // In an 18-phrase database a query that moves does not always change the phrase picked
    // (the neighbours are far apart); the music must change for some format.
    eprintln!("formats whose motion changed the phrases picked: {flipped:?}");
    assert!(!flipped.is_empty(), "no format's motion changed the music");
}

/// The rhythm, harmony and timbre distances of the last motion query from its anchor, as
/// `render` prints them.
fn query_distances(stdout: &str) -> Vec<f64> {
    let line = stdout.lines().find(|l| l.starts_with("motion:")).expect("a motion line");
    let tail = line.split("(last: ").nth(1).unwrap();
    tail.split(", ").map(|part| part.split_whitespace().nth(1).unwrap().parse().unwrap()).collect()
}

#[test]
fn a_bad_recording_is_refused_with_its_line() {
    let file = dir().join("bad.jsonl");
    std::fs::write(&file, "{\"format\":\"memsynth-motion\",\"version\":1}\n{\"t\":-1}\n").unwrap();
    let out = dir().join("bad.wav");
    let run = common::memsynth(&[
        "render",
        "--db",
        s(tiny_db()),
        "--bars",
        "2",
        "--out",
        s(&out),
        "--motion",
        s(&file),
    ]);
    assert!(!run.status.success());
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(err.contains("line 2"), "{err}");
}

fn send(socket: &UdpSocket, to: u16, addr: &str, args: Vec<OscType>) {
    let msg = OscPacket::Message(OscMessage { addr: addr.into(), args });
    socket.send_to(&rosc::encoder::encode(&msg).unwrap(), ("127.0.0.1", to)).unwrap();
}

fn floats(v: &[f64]) -> Vec<OscType> {
    v.iter().map(|&x| OscType::Float(x as f32)).collect()
}

/// Streams ZIG SIM motion to `port` for `seconds` at 100 Hz, answering nothing.
fn stream(socket: &UdpSocket, port: u16, seconds: f64) {
    stream_format(socket, port, seconds, zigsim);
}

/// Streams moving `format` to `port` for `seconds` at 100 Hz, answering nothing.
fn stream_format(socket: &UdpSocket, port: u16, seconds: f64, format: Format) {
    let start = Instant::now();
    let mut k = 0u32;
    while start.elapsed().as_secs_f64() < seconds {
        for (addr, args) in format(f64::from(k) / 100.0 + 8.0, true) {
            send(socket, port, &addr, floats(&args));
        }
        k += 1;
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_live_server_takes_motion_pushes_the_query_and_records_it() {
    let served = Served::start(&["--no-audio", "--tempo", "240"], &[]);
    let client = UdpSocket::bind("127.0.0.1:0").unwrap();
    client.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
    send(&client, served.port, "/subscribe", vec![]);
    send(&client, served.port, "/transport/play", vec![]);
    let take = "test-take.jsonl";
    send(&client, served.port, "/record/motion", vec![OscType::Int(1), take.into()]);
    stream(&client, served.port, 3.0);
    send(&client, served.port, "/record/motion", vec![OscType::Int(0)]);

    // Pushes arrived while streaming; read what is queued.
    let mut buf = vec![0u8; 65_536];
    let mut updates = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        let Ok(n) = client.recv(&mut buf) else { continue };
        if let Ok((_, OscPacket::Message(m))) = rosc::decoder::decode_udp(&buf[..n])
            && m.addr == "/motion/query"
        {
            updates.push(m);
        }
    }
    assert!(!updates.is_empty(), "no /motion/query push\n{}", served.wait_for_log("zzz"));
    let last = updates.last().unwrap();
    assert!(
        matches!(last.args[..], [OscType::Int(u), OscType::Int(r), _, _, _] if u >= 1 && r > 100),
        "{last:?}"
    );

    let recorded = dir().join("recordings").join(take);
    let text = served.wait_for_log("motion recording");
    let lines = std::fs::read_to_string(&recorded).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let lines: Vec<&str> = lines.lines().collect();
    assert!(lines.len() > 400, "{} lines", lines.len());
    assert!(lines[1].contains("/ZIGSIM/phone-1/"), "{}", lines[1]);
    // The playing phrase is known once the first one started.
    assert!(
        lines.last().unwrap().contains("\"phrase\":") && !lines.last().unwrap().contains("null")
    );
}

#[test]
fn motion_record_records_and_forwards_to_the_server() {
    let served = Served::start(&["--no-audio", "--tempo", "240"], &[]);
    let client = UdpSocket::bind("127.0.0.1:0").unwrap();
    send(&client, served.port, "/transport/play", vec![]);
    let port = common::free_port();
    let out = dir().join("recorded.jsonl");
    let mut recorder = Command::new(env!("CARGO_BIN_EXE_memsynth"))
        .args(["motion", "record", "--out", s(&out), "--port", &port.to_string()])
        .args(["--bind", "127.0.0.1", "--seconds", "4"])
        .args(["--forward", &format!("127.0.0.1:{}", served.port)])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    stream(&client, port, 2.5);
    let status = recorder.wait().unwrap();
    assert!(status.success());
    let text = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines[0]["format"], "memsynth-motion");
    assert!(lines.len() > 400, "{} lines", lines.len());
    // Forwarded: the server's motion input saw it, and the phrase came back from its pushes.
    assert!(lines.last().unwrap()["phrase"].is_u64(), "{}", lines.last().unwrap());
    let t: Vec<f64> = lines[1..].iter().map(|l| l["t"].as_f64().unwrap()).collect();
    assert!(t.windows(2).all(|w| w[0] <= w[1]));
    // And it replays.
    let wav = dir().join("recorded.wav");
    ok(&["render", "--db", s(tiny_db()), "--bars", "4", "--out", s(&wav), "--motion", s(&out)]);
}

/// The `/motion/query` pushes that reach `client` within `seconds`.
fn motion_queries(client: &UdpSocket, seconds: f64) -> Vec<OscMessage> {
    let mut buf = vec![0u8; 65_536];
    let mut updates = Vec::new();
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    while Instant::now() < deadline {
        let Ok(n) = client.recv(&mut buf) else { continue };
        if let Ok((_, OscPacket::Message(m))) = rosc::decoder::decode_udp(&buf[..n])
            && m.addr == "/motion/query"
        {
            updates.push(m);
        }
    }
    updates
}

#[test]
fn a_live_patch_listens_only_to_its_senders() {
    let folder = dir().join("zig-only");
    std::fs::create_dir_all(&folder).unwrap();
    let patch = folder.join("zig.ron");
    std::fs::write(&patch, "(motion: (senders: [ZigSim], smoothing: 0.0))\n").unwrap();
    let served = Served::start(&["--no-audio", "--tempo", "240", "--patch", s(&patch)], &[]);
    let log = served.wait_for_log("motion: senders");
    assert!(log.contains("senders [ZigSim]"), "the patch's motion section was not applied\n{log}");
    let client = UdpSocket::bind("127.0.0.1:0").unwrap();
    client.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
    send(&client, served.port, "/subscribe", vec![]);
    send(&client, served.port, "/transport/play", vec![]);

    // TouchOSC is not listened to: three bars (240 BPM) of it push no query.
    stream_format(&client, served.port, 3.0, touchosc);
    let touch = motion_queries(&client, 0.5);
    assert!(touch.is_empty(), "TouchOSC moved the query: {touch:?}");

    // ZIG SIM is: its readings count and the query moves.
    stream_format(&client, served.port, 3.0, zigsim);
    let zig = motion_queries(&client, 1.5);
    assert!(!zig.is_empty(), "ZIG SIM did not move the query\n{}", served.wait_for_log("zzz"));
    let last = zig.last().unwrap();
    // Received readings: ZIG SIM's alone (4 a frame at 100 Hz for 3 s, most of them).
    assert!(
        matches!(last.args[..], [OscType::Int(_), OscType::Int(r), _, _, _] if r > 100 && r <= 1200),
        "{last:?}"
    );
}

#[test]
fn smoothing_slows_the_query_down() {
    use memsynth::live::transport::{Tempo, Transport};
    use memsynth::osc::{Command as Osc, MotionKind, MotionSample, Sender};
    use memsynth::patch::MotionSection;
    use memsynth_actors::runtime::library::Library;
    use memsynth_actors::runtime::motion::MotionPath;

    let library = Library::open(tiny_db()).unwrap();
    let rate = 48_000;
    let mut transport = Transport::new(rate, Tempo::from_bpm(120.0).unwrap());
    transport.play(0);
    // Still for 6 s, then bouncing hard on the beat and spinning: the query's distance from
    // the anchor per update.
    let run = |smoothing: f32| {
        let mut path = MotionPath::new(rate);
        path.set_patch(&MotionSection { smoothing, ..MotionSection::default() });
        for k in 0..600u64 {
            let t = k as f64 / 50.0;
            let at = k * u64::from(rate) / 50;
            let amp = if t >= 6.0 { 1.0 } else { 0.0 };
            let accel = [0.0, 0.0, (amp * 6.0 * (2.0 * PI * 2.0 * t).sin()) as f32, 0.0];
            let gyro = [0.0, 0.0, (amp * 3.0 * (2.0 * PI * 0.7 * t).sin()) as f32, 0.0];
            for (kind, values) in [(MotionKind::Accel, accel), (MotionKind::Gyro, gyro)] {
                let m =
                    Osc::Motion(MotionSample { sender: Sender::Memsynth, kind, values, len: 3 });
                path.command(at, &m, &transport, Some(5), &library);
            }
        }
        path.updates
            .iter()
            .map(|u| match &u.query {
                memsynth::db::Query::Standard(q) => q.clone(),
                other => panic!("{other:?}"),
            })
            .collect::<Vec<_>>()
    };
    let (sharp, smooth) = (run(0.0), run(3.0));
    assert_eq!(sharp.len(), smooth.len());
    assert!(sharp.len() > 16);
    let dist = |a: &[f32], b: &[f32]| {
        a.iter().zip(b).map(|(x, y)| f64::from(x - y).powi(2)).sum::<f64>().sqrt()
    };
    // How far the query travels from update to update (beat lines, 0.5 s apart), in all:
    // less when smoothed, though not by α (the smoothed query keeps travelling after the
    // motion settles, to catch up).
    let travel = |q: &[Vec<f32>]| q.windows(2).map(|w| dist(&w[0], &w[1])).sum::<f64>();
    let (t_sharp, t_smooth) = (travel(&sharp), travel(&smooth));
    eprintln!("query travel: unsmoothed {t_sharp:.3}, smoothed (3 s) {t_smooth:.3}");
    assert!(t_sharp > 0.1, "the motion hardly moved the query");
    assert!(t_smooth < 0.8 * t_sharp, "smoothing: {t_smooth} vs {t_sharp}");
    // One bar into the motion (updates 6.5 s and 7 s), the smoothed query has covered less
    // of the way from where the still phone held it (the last update before 6 s).
    let onset = sharp.len() - 12;
    for i in [onset + 1, onset + 2] {
        let (a, b) = (dist(&sharp[i], &sharp[onset - 1]), dist(&smooth[i], &smooth[onset - 1]));
        eprintln!("update {i}: unsmoothed moved {a:.3}, smoothed {b:.3}");
        assert!(b < 0.4 * a, "update {i}: smoothed moved {b}, unsmoothed {a}");
    }
}
