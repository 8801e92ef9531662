//! The TouchOSC layout (examples/touchosc/memsynth.tosc): it decompresses to valid XML that
//! its generator still produces, and every message its controls send at either end of
//! their range is accepted by a live `memsynth serve --no-audio --patch patches/default.ron`
//! (no `/error`), the `/1/faderN` addresses through the default patch's mappings, which the
//! README must list.

mod common;

use std::net::UdpSocket;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{Served, repo, s, text};
use rosc::{OscMessage, OscPacket, OscType};
use serde_json::Value;

fn layout(arg: &str) -> String {
    let script = repo().join("examples/touchosc/make_layout.py");
    let run = Command::new("python3").arg(&script).arg(arg).output().expect("python3 runs");
    assert!(run.status.success(), "make_layout.py {arg}: {}", text(&run.stderr));
    text(&run.stdout)
}

/// Every message that arrives within `window` after the last one.
fn drain(socket: &UdpSocket, window: Duration) -> Vec<OscMessage> {
    let mut buf = vec![0u8; 65_536];
    let mut got = Vec::new();
    socket.set_read_timeout(Some(window)).unwrap();
    while let Ok(n) = socket.recv(&mut buf) {
        if let Ok((_, OscPacket::Message(m))) = rosc::decoder::decode_udp(&buf[..n]) {
            got.push(m);
        }
    }
    got
}

#[test]
fn the_shipped_layout_is_valid_xml_and_up_to_date() {
    assert!(layout("--check").contains("valid, up to date"));
}

#[test]
fn every_control_sends_what_memsynth_accepts() {
    let messages: Vec<Value> = serde_json::from_str(&layout("--messages")).unwrap();
    assert!(messages.len() >= 16, "{messages:?}");
    let readme = std::fs::read_to_string(repo().join("examples/touchosc/README.md")).unwrap();

    let patch = repo().join("patches/default.ron");
    let served = Served::start(&["--no-audio", "--patch", s(&patch)], &[]);
    let client = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut sent = Vec::new();
    for m in &messages {
        let address = m["address"].as_str().unwrap();
        if address.starts_with("/1/") {
            assert!(readme.contains(address), "README.md does not list the mapping of {address}");
        }
        let args = m["args"].as_array().unwrap();
        let args = args.iter().map(|a| OscType::Float(a.as_f64().unwrap() as f32)).collect();
        let packet = OscPacket::Message(OscMessage { addr: address.into(), args });
        client
            .send_to(&rosc::encoder::encode(&packet).unwrap(), ("127.0.0.1", served.port))
            .unwrap();
        sent.push(address.to_string());
        std::thread::sleep(Duration::from_millis(20));
    }
    // The server answers in order: once /status is back, every refusal has been sent.
    let status = OscPacket::Message(OscMessage { addr: "/status".into(), args: vec![] });
    client.send_to(&rosc::encoder::encode(&status).unwrap(), ("127.0.0.1", served.port)).unwrap();
    let start = Instant::now();
    let replies = drain(&client, Duration::from_millis(500));
    assert!(replies.iter().any(|m| m.addr == "/status"), "no /status within {:?}", start.elapsed());
    let errors: Vec<_> = replies.iter().filter(|m| m.addr == "/error").collect();
    assert!(errors.is_empty(), "sent {sent:?}, refused: {errors:?}");
    assert!(sent.iter().any(|a| a == "/retrieval/weights") && sent.len() >= 12, "{sent:?}");
}
