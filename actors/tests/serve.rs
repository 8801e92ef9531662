//! `memsynth serve --no-audio` as a client sees it, over real UDP against a tiny seeded
//! database: bar ticks at the tempo's period, a tempo change, bad packets answered with
//! `/error` while the server keeps answering `/status`, recording, and a conductor panic
//! that the mixer plays through.

use std::io::{BufRead, BufReader};
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use rosc::{OscMessage, OscPacket, OscType};

fn memsynth(args: &[&str]) {
    let run = Command::new(env!("CARGO_BIN_EXE_memsynth")).args(args).output().unwrap();
    assert!(run.status.success(), "{args:?}\n{}", String::from_utf8_lossy(&run.stderr));
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// One database for every test here: 2 demo tracks, seed 3.
fn db() -> &'static Path {
    static DB: OnceLock<PathBuf> = OnceLock::new();
    DB.get_or_init(|| {
        let root = std::env::temp_dir().join(format!("memsynth-serve-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        let (lib, db) = (root.join("library"), root.join("db"));
        memsynth(&["demo-library", "--out", s(&lib), "--tracks", "2", "--seed", "3"]);
        memsynth(&["analyze", s(&lib), "--db", s(&db), "--quiet"]);
        db
    })
}

/// A running server and a client socket; the server is killed on drop.
struct Server {
    child: Child,
    port: u16,
    client: UdpSocket,
    log: Arc<Mutex<String>>,
}

impl Server {
    fn start(env: &[(&str, &str)]) -> Self {
        // A port that was free a moment ago.
        let port = UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut child = Command::new(env!("CARGO_BIN_EXE_memsynth"))
            .args(["serve", "--db", s(db()), "--no-audio", "--osc-port", &port.to_string()])
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        loop {
            let line = lines.next().expect("serve printed its port").unwrap();
            if line.starts_with("OSC on") {
                assert!(line.contains(&port.to_string()), "{line}");
                break;
            }
        }
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        let log = Arc::new(Mutex::new(String::new()));
        let (stderr, sink) = (child.stderr.take().unwrap(), log.clone());
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("serve: {line}");
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let client = UdpSocket::bind("127.0.0.1:0").unwrap();
        client.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        Server { child, port, client, log }
    }

    fn send(&self, addr: &str, args: Vec<OscType>) {
        let msg = OscPacket::Message(OscMessage { addr: addr.into(), args });
        self.send_raw(&rosc::encoder::encode(&msg).unwrap());
    }

    fn send_raw(&self, bytes: &[u8]) {
        self.client.send_to(bytes, ("127.0.0.1", self.port)).unwrap();
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

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
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
    let file = db().parent().unwrap().join("recordings").join("take-one.wav");
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
    let log = server.log.lock().unwrap().clone();
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
}
