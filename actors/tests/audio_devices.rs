//! `memsynth serve` through cpal to real (software) devices, no sound card needed:
//! - ALSA's `file` plugin over `null` (FIELD-NOTES "Audio with no sound card"): the ALSA
//!   default device opens and S16 frames reach the file. The null slave is not paced, so the
//!   output clock runs ~100× real time and no phrase is heard there (the file holds only
//!   silence); music is checked on the paced JACK output and by serve.rs's recorder;
//! - a JACK server with the dummy driver (paced in real time): `serve --jack` plays ~10 s and
//!   `/status` reports no underruns, and `jack_rec` on cpal's ports records music.
//!
//! `jackd` (jackd2) and the python-osc venv come from scripts/test.sh; without them the JACK
//! test fails and says so.

mod common;

use std::io::{BufRead, BufReader};
use std::net::UdpSocket;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{free_port, repo, s, scratch, text, tiny_db};

/// The two tests run one at a time: the unpaced ALSA output takes a whole core, which would
/// starve the paced JACK run of the CPU it is measured on.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A child process killed on drop.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        // SIGTERM first: a SIGKILLed jackd leaves its shared-memory registry entry behind,
        // and after a few such runs jackd refuses to start ("Too many servers").
        let _ = Command::new("kill").args(["-TERM", &self.0.id().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `serve` (via `sh` so a file-size limit can bound an unpaced output), waits for its
/// port line and returns the child with its `audio:` line.
fn serve(port: u16, extra: &[&str], env: &[(&str, &str)], max_file_mib: u64) -> (Killed, String) {
    let blocks = max_file_mib * 2048; // `ulimit -f` counts 512-byte blocks
    let script = format!(
        "trap '' XFSZ; ulimit -f {blocks}; db=$1; port=$2; shift 2; \
         exec \"$0\" serve --db \"$db\" --osc-port \"$port\" \"$@\""
    );
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_memsynth"))
        .args([s(tiny_db()), &port.to_string()])
        .args(extra)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut audio = String::new();
    // Until the port line, or the end of output: an unpaced file output can reach its size
    // cap (and ALSA abort the process) before a slow start-up gets that far, after the
    // `audio:` line, which is what the file-plugin test needs.
    for line in lines.by_ref() {
        let line = line.unwrap();
        if line.starts_with("audio:") {
            audio = line;
        } else if line.starts_with("OSC on") {
            break;
        }
    }
    assert!(!audio.is_empty(), "serve exited before opening its output");
    std::thread::spawn(move || for _ in lines {});
    (Killed(child), audio)
}

#[test]
fn the_alsa_default_device_through_the_file_plugin_receives_s16_frames() {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let conf = scratch().join("alsa-file.conf");
    std::fs::write(
        &conf,
        r#"pcm.!default { type plug
  slave { pcm "memsynth_file" format S16_LE rate 48000 channels 2 } }
pcm.memsynth_file { type file
  slave.pcm { type null }
  file { @func getenv vars [ MEMSYNTH_ALSA_OUT ] default "alsa-out.raw" }
  format "raw" truncate true }
"#,
    )
    .unwrap();
    let raw = scratch().join("alsa-out.raw");
    let port = free_port();
    // The null slave is not paced: the file grows at hundreds of MB/s, so cap it at 64 MiB.
    let (_server, audio) =
        serve(port, &[], &[("ALSA_CONFIG_PATH", s(&conf)), ("MEMSYNTH_ALSA_OUT", s(&raw))], 64);
    assert!(audio.contains("alsa:default"), "cpal did not open the ALSA device: {audio}");
    let client = UdpSocket::bind("127.0.0.1:0").unwrap();
    let play = rosc::encoder::encode(&rosc::OscPacket::Message(rosc::OscMessage {
        addr: "/transport/play".into(),
        args: vec![],
    }))
    .unwrap();
    client.send_to(&play, ("127.0.0.1", port)).unwrap();

    let deadline = Instant::now() + Duration::from_secs(3);
    let mut size = 0;
    while Instant::now() < deadline && size < 48_000 * 4 {
        std::thread::sleep(Duration::from_millis(100));
        size = std::fs::metadata(&raw).map_or(0, |m| m.len());
    }
    assert!(size >= 48_000 * 4, "{size} bytes in {} (want a second of frames)", raw.display());
    let bytes = std::fs::read(&raw).unwrap();
    let frames = bytes.len() / 4;
    assert!(frames >= 48_000, "{frames} S16 stereo frames");
    let _ = std::fs::remove_file(&raw);
}

#[test]
fn a_paced_jack_dummy_server_plays_ten_seconds_without_underruns() {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let name = format!("memsynth-test-{}", std::process::id());
    let jackd = Command::new("jackd")
        .args(["-n", &name, "-d", "dummy", "-r", "48000", "-p", "256"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("jackd (jackd2) is missing ({e}): run scripts/test.sh (it installs it)")
        });
    let _jackd = Killed(jackd);
    let env = [("JACK_DEFAULT_SERVER", name.as_str())];
    let waited = Command::new("jack_wait").args(["-w", "-t", "30"]).envs(env).output().unwrap();
    assert!(waited.status.success(), "jackd -n {name} did not start: {}", text(&waited.stdout));

    let port = free_port();
    let (_server, audio) = serve(port, &["--jack"], &env, 1024);
    assert!(audio.contains("jack:"), "serve --jack did not open JACK: {audio}");

    // Record what reaches JACK (cpal's ports) with jack_rec while it plays: 8 s from play.
    let lsp = Command::new("jack_lsp").envs(env).output().unwrap();
    let ports: Vec<String> = text(&lsp.stdout)
        .lines()
        .filter(|l| l.starts_with("cpal_client") && l.contains(":out_"))
        .map(str::to_owned)
        .collect();
    assert_eq!(ports.len(), 2, "cpal's JACK ports: {}", text(&lsp.stdout));
    let wav = scratch().join("jack-rec.wav");
    let rec = Command::new("jack_rec")
        .arg("-f")
        .arg(&wav)
        .args(["-d", "8"])
        .args(&ports)
        .envs(env)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut rec = Killed(rec);

    // The python-osc client plays, takes 5 bar pushes (120 BPM: 10 s), then asks /status.
    let python = repo().join(".venv-test/bin/python");
    assert!(python.is_file(), "{} is missing: run scripts/test.sh", python.display());
    let run = Command::new(&python)
        .arg(repo().join("tests/fixtures/osc/status_client.py"))
        .args([port.to_string(), "5".into()])
        .output()
        .unwrap();
    let out = text(&run.stdout);
    assert!(run.status.success(), "{out}\n{}", text(&run.stderr));
    let got: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let status = got["status"].as_array().unwrap();
    assert_eq!(status[0].as_i64(), Some(1), "playing: {got}");
    assert!(status[2].as_i64().unwrap() >= 4, "bars: {got}");
    assert_eq!(status[5].as_i64(), Some(0), "underruns on a paced JACK output: {got}");

    // The music reached JACK: most of the 8 s recording is sound, at a sane level.
    assert!(rec.0.wait().unwrap().success(), "jack_rec failed");
    let mut reader = hound::WavReader::open(&wav).unwrap();
    assert_eq!(reader.spec().channels, 2);
    let samples: Vec<i32> = reader.samples::<i32>().map(Result::unwrap).collect();
    let full = f64::from(1u32 << (reader.spec().bits_per_sample - 1));
    let peak = samples.iter().map(|s| s.unsigned_abs()).max().unwrap_or(0) as f64 / full;
    let sounding = samples.iter().filter(|&&s| s != 0).count() as f64 / samples.len() as f64;
    assert!(samples.len() >= 2 * 48_000 * 7, "{} samples recorded", samples.len());
    assert!(peak > 0.05 && peak <= 1.0, "peak {peak}");
    assert!(sounding > 0.5, "only {:.0} % of the recording is not silent", sounding * 100.0);
}
