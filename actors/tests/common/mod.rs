//! What the command-line tests share: running the binary, one tiny seeded database per test
//! binary, and a `memsynth serve` child that is killed on drop.
#![allow(dead_code)] // each test file uses its own part

use std::io::{BufRead, BufReader};
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs `memsynth ARGS`.
pub fn memsynth(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_memsynth")).args(args).output().expect("memsynth runs")
}

/// Runs `memsynth ARGS`, asserts it succeeded and returns its stdout.
pub fn ok(args: &[&str]) -> String {
    let run = memsynth(args);
    let out = text(&run.stdout);
    assert!(run.status.success(), "{args:?}\n{out}\n{}", text(&run.stderr));
    out
}

/// A temporary folder for this test binary, under cargo's `target/tmp` and emptied at the
/// start of each run, so runs do not pile up folders in the system's temp directory.
pub fn scratch() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let root = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("memsynth-tests-{}", env!("CARGO_CRATE_NAME")));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        root
    })
}

/// One database for every test in a binary: 2 demo tracks, seed 3.
pub fn tiny_db() -> &'static Path {
    static DB: OnceLock<PathBuf> = OnceLock::new();
    DB.get_or_init(|| {
        let (lib, db) = (scratch().join("library"), scratch().join("db"));
        ok(&["demo-library", "--out", s(&lib), "--tracks", "2", "--seed", "3"]);
        ok(&["analyze", s(&lib), "--db", s(&db), "--quiet"]);
        db
    })
}

/// A UDP port that was free a moment ago.
pub fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `memsynth serve --db <tiny_db> --osc-port <free> EXTRA…`, killed on drop, its stderr
/// collected (and echoed) in `log`.
pub struct Served {
    pub child: Child,
    pub port: u16,
    pub log: Arc<Mutex<String>>,
}

impl Served {
    pub fn start(extra: &[&str], env: &[(&str, &str)]) -> Self {
        let port = free_port();
        let mut child = Command::new(env!("CARGO_BIN_EXE_memsynth"))
            .args(["serve", "--db", s(tiny_db()), "--osc-port", &port.to_string()])
            .args(extra)
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
        Served { child, port, log }
    }

    /// The log once it contains `needle`, or as it is after 5 s.
    pub fn wait_for_log(&self, needle: &str) -> String {
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

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
