//! Real OSC peers against `memsynth serve --no-audio`, and `memsynth doctor`: liblo's
//! `oscsend` and a python-osc client (tests/fixtures/osc/status_client.py, run with
//! `<repo>/.venv-test/bin/python`). scripts/test.sh installs both; without them these tests
//! fail and say so.

use std::io::{BufRead, BufReader};
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn memsynth(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_memsynth")).args(args).output().expect("memsynth runs")
}

/// One database for every test here: 2 demo tracks, seed 3.
fn db() -> &'static Path {
    static DB: OnceLock<PathBuf> = OnceLock::new();
    DB.get_or_init(|| {
        let root = std::env::temp_dir().join(format!("memsynth-peers-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        let (lib, db) = (root.join("library"), root.join("db"));
        for args in [
            &["demo-library", "--out", s(&lib), "--tracks", "2", "--seed", "3"][..],
            &["analyze", s(&lib), "--db", s(&db), "--quiet"][..],
        ] {
            let run = memsynth(args);
            assert!(run.status.success(), "{args:?}\n{}", text(&run.stderr));
        }
        db
    })
}

fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

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

/// A `memsynth serve --no-audio` child, killed on drop, with its stderr collected.
struct Server {
    child: Child,
    port: u16,
    log: Arc<Mutex<String>>,
}

impl Server {
    fn start() -> Self {
        let port = free_port();
        let mut child = Command::new(env!("CARGO_BIN_EXE_memsynth"))
            .args(["serve", "--db", s(db()), "--no-audio", "--osc-port", &port.to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        loop {
            let line = lines.next().expect("serve printed its port").unwrap();
            if line.starts_with("OSC on") {
                break;
            }
        }
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
        Server { child, port, log }
    }

    /// Runs the python-osc client: subscribe, (play,) `bars` bar pushes, then `/status`.
    fn python_client(&self, bars: u32, play: bool) -> serde_json::Value {
        let script = repo().join("tests/fixtures/osc/status_client.py");
        let mut cmd = Command::new(python());
        cmd.arg(&script).arg(self.port.to_string()).arg(bars.to_string());
        if !play {
            cmd.arg("--no-play");
        }
        let run = cmd.output().unwrap();
        let out = text(&run.stdout);
        assert!(run.status.success(), "python-osc client: {out}\n{}", text(&run.stderr));
        serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"))
    }

    fn wait_for_log(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let log = self.log.lock().unwrap().clone();
            if log.contains(needle) || Instant::now() > deadline {
                return log;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn oscsend_sets_the_tempo_and_python_osc_gets_status_and_bar_pushes() {
    let server = Server::start();
    oscsend(server.port, &["/transport/tempo", "f", "100"]);
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
    oscsend(server.port, &["/no/such/address", "i", "1"]);
    let log = server.wait_for_log("1 refused");
    assert!(log.contains("/no/such/address"), "{log}");
    oscsend(server.port, &["/transport/tempo", "s", "fast"]);
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
    let run = memsynth(&["doctor", "--db", s(db()), "--osc-port", &port.to_string()]);
    let out = text(&run.stdout);
    assert!(run.status.success(), "{out}\n{}", text(&run.stderr));
    for section in ["audio", "database", "models", "osc"] {
        assert!(out.lines().any(|l| l.contains(section)), "no {section} line:\n{out}");
    }
    assert!(out.contains("consistent") && out.contains("index fresh"), "{out}");
    assert!(out.contains("ready to serve"), "{out}");

    let taken = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let run = memsynth(&["doctor", "--db", s(db()), "--osc-port", &port]);
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
}
