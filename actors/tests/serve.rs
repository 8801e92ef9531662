//! `memsynth serve --no-audio` as a client sees it, over real UDP against a tiny seeded
//! database: bar ticks at the tempo's period, a tempo change, bad packets answered with
//! `/error` while the server keeps answering `/status`, recording, and a conductor panic
//! that the mixer plays through.

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
}
