//! OSCQuery discovery against a live `memsynth serve --no-audio`: the namespace tree, the
//! host info, one node, and a value that follows an OSC `/transport/tempo`. The HTTP
//! client is a plain `TcpStream`, so the test needs nothing but the server.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use common::Served;
use rosc::{OscMessage, OscPacket, OscType};
use serde_json::Value;

/// A TCP port that was free a moment ago.
fn free_tcp_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `GET target` over HTTP/1.1: the status code and the body.
fn get(port: u16, target: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let request = format!("GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let code = head.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (code, body.to_string())
}

fn get_json(port: u16, target: &str) -> Value {
    let (code, body) = get(port, target);
    assert_eq!(code, 200, "GET {target}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {target}: {e}: {body}"))
}

#[test]
fn oscquery_serves_the_address_space_and_live_values() {
    let http = free_tcp_port();
    let served = Served::start(&["--no-audio", "--oscquery-port", &http.to_string()], &[]);

    let tree = get_json(http, "/");
    assert_eq!(tree["FULL_PATH"], "/");
    let tempo = &tree["CONTENTS"]["transport"]["CONTENTS"]["tempo"];
    assert_eq!(tempo["FULL_PATH"], "/transport/tempo");
    assert_eq!(tempo["TYPE"], "f");
    assert_eq!(tempo["RANGE"][0]["MIN"], 40.0);
    assert_eq!(tempo["VALUE"][0], 120.0, "serve's default tempo");
    assert!(tempo["DESCRIPTION"].as_str().is_some_and(|d| !d.is_empty()));
    assert_eq!(tree["CONTENTS"]["status"]["VALUE"][0], 0, "not playing yet");
    assert_eq!(tree["CONTENTS"]["status"]["TYPE"], "ifiiii");

    let info = get_json(http, "/?HOST_INFO");
    assert_eq!(info["OSC_PORT"], served.port);
    assert_eq!(info["OSC_TRANSPORT"], "UDP");
    assert_eq!(info["NAME"], "memsynth");
    assert!(info["EXTENSIONS"].is_object());

    assert_eq!(get_json(http, "/transport/tempo")["FULL_PATH"], "/transport/tempo");
    assert_eq!(get(http, "/no/such/node").0, 404);

    // The value follows OSC.
    let client = UdpSocket::bind("127.0.0.1:0").unwrap();
    let msg = OscPacket::Message(OscMessage {
        addr: "/transport/tempo".into(),
        args: vec![OscType::Float(97.0)],
    });
    client.send_to(&rosc::encoder::encode(&msg).unwrap(), ("127.0.0.1", served.port)).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let value = get_json(http, "/transport/tempo?VALUE");
        if value["VALUE"][0] == 97.0 {
            break;
        }
        assert!(Instant::now() < deadline, "tempo never reached 97 BPM: {value}");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(get_json(http, "/status")["VALUE"][1], 97.0);
}

#[test]
fn oscquery_port_zero_turns_it_off() {
    let served = Served::start(&["--no-audio", "--oscquery-port", "0"], &[]);
    // The default would be the OSC port + 1; nothing listens there (nor anywhere else new).
    let refused = TcpStream::connect(("127.0.0.1", served.port + 1));
    assert!(refused.is_err(), "something answers on {}", served.port + 1);
}
