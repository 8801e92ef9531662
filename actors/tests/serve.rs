//! `memsynth serve --no-audio` as a client sees it, over real UDP against a tiny seeded
//! database: bar ticks at the tempo's period, a tempo change, bad packets answered with
//! `/error` while the server keeps answering `/status`, recording, and a conductor panic
//! that the mixer plays through, time-tagged bundles, Ctrl-C and the allow-list.

mod common;

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use common::{Served, tiny_db};
use rosc::{OscMessage, OscPacket, OscType};

/// A running server and a client socket.
struct Server {
    served: Served,
    client: UdpSocket,
}

impl Server {
    fn start(env: &[(&str, &str)]) -> Self {
        let served = Served::start(&["--no-audio"], env);
        let client = UdpSocket::bind("127.0.0.1:0").unwrap();
        client.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        Server { served, client }
    }

    fn send(&self, addr: &str, args: Vec<OscType>) {
        let msg = OscPacket::Message(OscMessage { addr: addr.into(), args });
        self.send_raw(&rosc::encoder::encode(&msg).unwrap());
    }

    fn send_raw(&self, bytes: &[u8]) {
        self.client.send_to(bytes, ("127.0.0.1", self.served.port)).unwrap();
    }

    /// The next message whose address is `addr`, with when it came.
    fn next(&self, addr: &str) -> (OscMessage, Instant) {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut buf = vec![0u8; 65_536];
        while Instant::now() < deadline {
            let n = self.client.recv(&mut buf).expect("the server answers");
            let at = Instant::now();
            if let Ok((_, OscPacket::Message(m))) = rosc::decoder::decode_udp(&buf[..n])
                && m.addr == addr
            {
                return (m, at);
            }
        }
        panic!("no {addr} within 10 s");
    }

    fn next_bar(&self) -> (i32, Instant) {
        let (m, at) = self.next("/bar");
        match m.args[..] {
            [OscType::Int(bar)] => (bar, at),
            _ => panic!("{m:?}"),
        }
    }
}

fn within(measured: Duration, expected: f64) -> bool {
    (measured.as_secs_f64() - expected).abs() <= 0.2 * expected
}

#[test]
fn bars_tick_at_the_tempo_and_bad_packets_get_errors() {
    let server = Server::start(&[]);
    server.send("/subscribe", vec![]);
    server.send("/transport/play", vec![]);

    // 120 BPM: a bar every 2 s.
    let (first, mut last) = server.next_bar();
    for _ in 0..2 {
        let (bar, at) = server.next_bar();
        assert!(within(at - last, 2.0), "bar {bar} after {:?}", at - last);
        last = at;
        assert!(bar > first);
    }

    // 100 BPM from the next bar line on: 2.4 s.
    server.send("/transport/tempo", vec![OscType::Float(100.0)]);
    let (_, mut last) = server.next_bar();
    let (bar, at) = server.next_bar();
    assert!(within(at - last, 2.4), "bar {bar} after {:?} at 100 BPM", at - last);
    last = at;

    // A malformed packet and an unknown address: each answered with /error.
    server.send_raw(b"not osc at all");
    let (err, _) = server.next("/error");
    assert!(matches!(&err.args[..], [OscType::String(t)] if t.contains("not an OSC packet")));
    server.send("/no/such/address", vec![]);
    let (err, _) = server.next("/error");
    assert!(matches!(&err.args[..], [OscType::String(t)] if t.contains("/no/such/address")));

    // And it still answers, playing at 100 BPM.
    server.send("/status", vec![]);
    let (status, _) = server.next("/status");
    assert!(
        matches!(status.args[..], [OscType::Int(1), OscType::Float(t), ..] if t == 100.0),
        "{status:?}"
    );
    let (_, at) = server.next_bar();
    assert!(within(at - last, 2.4) || within(at - last, 4.8), "{:?}", at - last);
}

#[test]
fn a_recording_grows_and_plays_through_a_conductor_restart() {
    let server = Server::start(&[("MEMSYNTH_TEST_PANIC_AT_BAR", "3")]);
    let file = tiny_db().parent().unwrap().join("recordings").join("take-one.wav");
    let _ = std::fs::remove_file(&file);
    server.send("/subscribe", vec![]);
    server.send("/record/start", vec![OscType::String("take-one.wav".into())]);
    server.send("/transport/play", vec![]);

    let size = |_: ()| std::fs::metadata(&file).map_or(0, |m| m.len());
    let mut bar = server.next_bar().0;
    let early = size(());
    while bar < 5 {
        bar = server.next_bar().0;
    }
    let later = size(());
    assert!(later > early && later > 4 * 48_000 * 8, "{early} then {later} bytes");
    server.send("/record/stop", vec![]);
    std::thread::sleep(Duration::from_millis(500));

    // The panic happened on bar 3 and the conductor came back: the bars went on.
    let log = server.served.log.lock().unwrap().clone();
    assert!(log.contains("conductor panicked"), "{log}");
    assert!(log.contains("conductor restarted"), "{log}");

    // From the first phrase on, no 50-ms window of the recording is silent.
    let mut wav = hound::WavReader::open(&file).unwrap();
    assert_eq!((wav.spec().channels, wav.spec().sample_rate), (2, 48_000));
    let samples: Vec<f32> = wav.samples::<f32>().map(Result::unwrap).collect();
    let rms: Vec<f32> = samples
        .chunks(2 * 2_400)
        .map(|w| (w.iter().map(|v| v * v).sum::<f32>() / w.len() as f32).sqrt())
        .collect();
    let first = rms.iter().position(|&r| r > 0.01).expect("the recording has music");
    let last_full = rms.len() - 1; // the last window may be short
    for (i, r) in rms.iter().enumerate().take(last_full).skip(first) {
        assert!(*r > 0.001, "window {i} ({:.2} s) is silent: {r}", i as f64 * 0.05);
    }
    assert!((last_full - first) as f64 * 0.05 > 4.0, "{} windows of music", last_full - first);

    // A dropout is digital silence: no run of all-zero frames longer than one buffer
    // (512 frames) once the music has begun.
    let frames = samples.chunks_exact(2);
    let start = frames.clone().skip(first * 2_400).position(|f| f != [0.0, 0.0]).unwrap();
    let mut run = 0usize;
    let mut longest = 0usize;
    for frame in frames.skip(first * 2_400 + start) {
        run = if frame == [0.0, 0.0] { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    assert!(longest <= 512, "a gap of {longest} silent frames");
}

/// The OSC time `after` from now.
fn osc_time_in(after: Duration) -> rosc::OscTime {
    let unix = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap() + after;
    let frac = (f64::from(unix.subsec_nanos()) * 4.294_967_296) as u32;
    rosc::OscTime { seconds: (unix.as_secs() + 2_208_988_800) as u32, fractional: frac }
}

#[test]
fn a_time_tagged_bundle_plays_on_its_time() {
    let server = Server::start(&[]);
    server.send("/subscribe", vec![]);
    let due = Duration::from_millis(1_500);
    let bundle = OscPacket::Bundle(rosc::OscBundle {
        timetag: osc_time_in(due),
        content: vec![OscPacket::Message(OscMessage {
            addr: "/transport/play".into(),
            args: vec![],
        })],
    });
    let sent = Instant::now();
    server.send_raw(&rosc::encoder::encode(&bundle).unwrap());

    // Not yet: the status (answered after the bundle was taken) still says stopped.
    server.send("/status", vec![]);
    let (status, _) = server.next("/status");
    assert!(matches!(status.args[..], [OscType::Int(0), ..]), "{status:?}");

    // Bar 0 is heard on the tag's time: within a block or two and the push's 5-ms tick.
    let (bar, at) = server.next_bar();
    assert_eq!(bar, 0);
    let late = (at - sent).as_secs_f64() - due.as_secs_f64();
    assert!((-0.03..0.08).contains(&late), "bar 0 came {late:+.3} s from its time tag");
}

#[test]
fn ctrl_c_finishes_the_recording_and_exits() {
    let mut server = Server::start(&[]);
    let file = tiny_db().parent().unwrap().join("recordings").join("take-sigint.wav");
    let _ = std::fs::remove_file(&file);
    server.send("/subscribe", vec![]);
    server.send("/record/start", vec![OscType::String("take-sigint.wav".into())]);
    server.send("/transport/play", vec![]);
    server.next_bar();
    server.next_bar();

    let pid = server.served.child.id().to_string();
    assert!(std::process::Command::new("kill").args(["-INT", &pid]).status().unwrap().success());
    let status = server.served.child.wait().unwrap();
    assert!(status.success(), "serve exited with {status}");
    // Finished: the header's length matches the samples (hound checks it).
    let wav = hound::WavReader::open(&file).unwrap();
    let frames = wav.duration() as usize;
    assert_eq!(wav.into_samples::<f32>().count(), 2 * frames);
    assert!(frames > 48_000, "{frames} frames");
    assert!(server.served.wait_for_log("finished").contains("recording"));
}

#[test]
fn senders_outside_the_allow_list_are_ignored() {
    let config = tiny_db().parent().unwrap().join("allow-one.ron");
    std::fs::write(&config, r#"(osc: (allow: ["10.9.8.7"]))"#).unwrap();
    let served = Served::start(&["--no-audio", "--config", common::s(&config)], &[]);
    let talk = |from: &str| {
        let client = UdpSocket::bind((from, 0)).unwrap();
        client.set_read_timeout(Some(Duration::from_millis(700))).unwrap();
        let msg = OscPacket::Message(OscMessage { addr: "/status".into(), args: vec![] });
        client.send_to(&rosc::encoder::encode(&msg).unwrap(), ("127.0.0.1", served.port)).unwrap();
        let mut buf = [0u8; 1024];
        client.recv(&mut buf).is_ok()
    };
    assert!(talk("127.0.0.1"), "this machine is always allowed");
    assert!(!talk("127.0.0.2"), "another address is not");
    assert!(served.wait_for_log("allow-list").contains("127.0.0.2"));
}

#[test]
fn play_starts_with_music_on_bar_zero() {
    let server = Server::start(&[]);
    let file = tiny_db().parent().unwrap().join("recordings").join("take-downbeat.wav");
    let _ = std::fs::remove_file(&file);
    server.send("/subscribe", vec![]);
    server.send("/record/start", vec![OscType::String("take-downbeat.wav".into())]);
    // While stopped the first phrase is cued, so play needs no time to find it.
    std::thread::sleep(Duration::from_secs(1));
    server.send("/transport/play", vec![]);
    assert_eq!(server.next_bar().0, 0);
    server.next_bar();
    server.send("/record/stop", vec![]);
    assert!(server.served.wait_for_log("finished").contains("take-downbeat"));

    let mut wav = hound::WavReader::open(&file).unwrap();
    let samples: Vec<f32> = wav.samples::<f32>().map(Result::unwrap).collect();
    let window = 2 * 480; // 10 ms
    let first = samples
        .chunks(window)
        .position(|w| w.iter().map(|v| v * v).sum::<f32>() / w.len() as f32 > 1e-4)
        .expect("music") as f64
        * 0.01;
    // Play was sent 1 s into the take; bar 0 sounds then, not a bar (2 s) later.
    assert!((0.95..1.25).contains(&first), "music begins {first:.2} s into the take");
}
