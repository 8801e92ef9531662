//! Real OSC peers against `memsynth serve --no-audio`, and `memsynth doctor`: liblo's
//! `oscsend` and a python-osc client (tests/fixtures/osc/status_client.py, run with
//! `<repo>/.venv-test/bin/python`). scripts/test.sh installs both; without them these tests
//! fail and say so.

mod common;

use std::net::UdpSocket;
use std::path::PathBuf;
use std::process::Command;

use common::{Served, free_port, memsynth, repo, s, text, tiny_db};

/// The test venv's Python, or a failure that says how to make it.
fn python() -> PathBuf {
    let python = repo().join(".venv-test/bin/python");
    let ok = Command::new(&python)
        .args(["-c", "import pythonosc"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "{} with python-osc is missing: run scripts/test.sh (it makes .venv-test)",
        python.display()
    );
    python
}

/// Runs liblo's `oscsend`, or fails saying how to install it.
fn oscsend(port: u16, args: &[&str]) {
    let run = Command::new("oscsend").arg("localhost").arg(port.to_string()).args(args).output();
    let run = run.unwrap_or_else(|e| {
        panic!("oscsend (liblo-tools) is missing ({e}): run scripts/test.sh (it installs it)")
    });
    assert!(run.status.success(), "oscsend {args:?}: {}", text(&run.stderr));
}

/// A `memsynth serve --no-audio` child and the python-osc client that talks to it.
struct Server(Served);

impl Server {
    fn start() -> Self {
        Server(Served::start(&["--no-audio"], &[]))
    }

    /// Runs the python-osc client: subscribe, (play,) `bars` bar pushes, then `/status`.
    fn python_client(&self, bars: u32, play: bool) -> serde_json::Value {
        let script = repo().join("tests/fixtures/osc/status_client.py");
        let mut cmd = Command::new(python());
        cmd.arg(&script).arg(self.0.port.to_string()).arg(bars.to_string());
        if !play {
            cmd.arg("--no-play");
        }
        let run = cmd.output().unwrap();
        let out = text(&run.stdout);
        assert!(run.status.success(), "python-osc client: {out}\n{}", text(&run.stderr));
        serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"))
    }

    fn wait_for_log(&self, needle: &str) -> String {
        self.0.wait_for_log(needle)
    }
}

#[test]
fn oscsend_sets_the_tempo_and_python_osc_gets_status_and_bar_pushes() {
    let server = Server::start();
    oscsend(server.0.port, &["/transport/tempo", "f", "100"]);
    let got = server.python_client(2, true);

    let bars: Vec<i64> =
        got["bars"].as_array().unwrap().iter().map(|b| b[0].as_i64().unwrap()).collect();
    assert!(bars.len() >= 2 && bars.windows(2).all(|w| w[1] > w[0]), "{got}");
    let status = got["status"].as_array().unwrap();
    assert_eq!(status.len(), 6, "playing, tempo, bar, beat, phrase, underruns: {got}");
    assert_eq!(status[0].as_i64(), Some(1), "playing: {got}");
    assert_eq!(status[1].as_f64(), Some(100.0), "the tempo oscsend set: {got}");
}

#[test]
fn oscsend_of_an_unknown_address_and_a_wrong_type_is_counted_and_the_server_still_answers() {
    let server = Server::start();
    // (One number to an unknown address would be a control-surface fader for the patch's
    // mappings: a string is plainly wrong.)
    oscsend(server.0.port, &["/no/such/address", "s", "one"]);
    let log = server.wait_for_log("1 refused");
    assert!(log.contains("/no/such/address"), "{log}");
    oscsend(server.0.port, &["/transport/tempo", "s", "fast"]);
    let log = server.wait_for_log("2 refused");
    assert!(log.contains("0 malformed packets, 2 refused messages so far"), "{log}");

    let got = server.python_client(0, false);
    let status = got["status"].as_array().unwrap();
    assert_eq!(status[0].as_i64(), Some(0), "not playing: {got}");
    assert_eq!(status[1].as_f64(), Some(120.0), "the wrong type changed nothing: {got}");
}

#[test]
fn doctor_checks_each_section_and_reports_a_taken_port() {
    let port = free_port();
    let run = memsynth(&["doctor", "--db", s(tiny_db()), "--osc-port", &port.to_string()]);
    let out = text(&run.stdout);
    assert!(run.status.success(), "{out}\n{}", text(&run.stderr));
    for section in ["config", "audio", "database", "models", "osc"] {
        assert!(out.lines().any(|l| l.contains(section)), "no {section} line:\n{out}");
    }
    assert!(out.contains("consistent") && out.contains("index fresh"), "{out}");
    assert!(out.contains("ready to serve"), "{out}");

    let taken = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let run = memsynth(&["doctor", "--db", s(tiny_db()), "--osc-port", &port]);
    let out = text(&run.stdout);
    assert_eq!(run.status.code(), Some(1), "{out}");
    assert!(
        out.lines().any(|l| l.starts_with("PROBLEM") && l.contains(&format!(":{port}"))),
        "{out}"
    );

    // A named database that is not there is a required failure too.
    let missing = std::env::temp_dir().join(format!("memsynth-peers-none-{}", std::process::id()));
    let run = memsynth(&["doctor", "--db", s(&missing), "--osc-port", "0"]);
    let out = text(&run.stdout);
    assert_eq!(run.status.code(), Some(1), "{out}");
    assert!(out.lines().any(|l| l.starts_with("PROBLEM") && l.contains("database")), "{out}");

    // So is a server configuration with a mistake, named with its place.
    let config = missing.with_extension("ron");
    std::fs::write(&config, "(osc: (prot: 9001))").unwrap();
    let run = memsynth(&["doctor", "--config", s(&config), "--osc-port", "0"]);
    let out = text(&run.stdout);
    assert_eq!(run.status.code(), Some(1), "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("PROBLEM") && l.contains("config") && l.contains("line 1")),
        "{out}"
    );
}
