//! Patches as a performer uses them, against a tiny seeded database: `patch check`, a
//! patch applied at bar 0 of a render, live edits saved in place and by rename during a
//! followed render (the change lands on the next bar line, the bars before are the
//! no-edit render's, nothing goes silent), an invalid save that changes nothing, and the
//! server's `/patch/load` confinement, `/patch/set`/`/patch/get` and `/error` push.

mod common;

use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Served, memsynth, ok, s, scratch, text, tiny_db};
use memsynth::live::transport::Tempo;
use rosc::{OscMessage, OscPacket, OscType};

const RATE: u32 = 48_000;
const BPM: f64 = 120.0;
const BASE: &str = "(conductor: (seed: 4), retrieval: (k: 6), mixer: (master: -10.0))";
/// `BASE` 9 dB quieter.
const QUIETER: &str = "(conductor: (seed: 4), retrieval: (k: 6), mixer: (master: -19.0))";

/// A fresh patches folder holding `live.ron` = `content`.
fn folder(name: &str, content: &str) -> PathBuf {
    let dir = scratch().join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("live.ron"), content).unwrap();
    dir
}

fn read_wav(path: &Path) -> Vec<i16> {
    hound::WavReader::open(path).unwrap().samples::<i16>().map(Result::unwrap).collect()
}

fn bar_frame(bar: u64) -> usize {
    Tempo::from_bpm(BPM).unwrap().beat_offset(RATE, 4 * bar) as usize
}

/// A render of `bars` bars with `patch` (no follow); its samples and stdout.
fn render(name: &str, patch: &Path, bars: u64) -> (Vec<i16>, String) {
    let out = scratch().join(name);
    let bars = bars.to_string();
    let stdout = ok(&[
        "render",
        "--db",
        s(tiny_db()),
        "--tempo",
        "120",
        "--bars",
        &bars,
        "--patch",
        s(patch),
        "--out",
        s(&out),
    ]);
    (read_wav(&out), stdout)
}

/// A followed render at 8× real time during which `edit` runs after `after`; its samples,
/// stdout and stderr.
fn followed(
    name: &str,
    patch: &Path,
    bars: u64,
    after: Duration,
    edit: impl FnOnce(),
) -> (Vec<i16>, String, String) {
    let out = scratch().join(name);
    let child = Command::new(env!("CARGO_BIN_EXE_memsynth"))
        .args(["render", "--db", s(tiny_db()), "--tempo", "120", "--bars", &bars.to_string()])
        .args(["--patch", s(patch), "--follow", "--speed", "8", "--out", s(&out)])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(after);
    edit();
    let run = child.wait_with_output().unwrap();
    let (stdout, stderr) = (text(&run.stdout), text(&run.stderr));
    assert!(run.status.success(), "{stdout}\n{stderr}");
    (read_wav(&out), stdout, stderr)
}

fn phrases(stdout: &str) -> Vec<&str> {
    stdout.lines().filter(|l| l.starts_with("phrase ")).collect()
}

/// The bar a save was applied on, from `bar N: live.ron applied (…)`.
fn applied_bar(stdout: &str) -> u64 {
    let line = stdout
        .lines()
        .find(|l| {
            l.starts_with("bar ") && l.contains("live.ron applied") && !l.starts_with("bar 0:")
        })
        .unwrap_or_else(|| panic!("no applied save in:\n{stdout}"));
    line[4..line.find(':').unwrap()].parse().unwrap()
}

/// No 0.1-s block after the first bar is silent (below −60 dBFS).
fn never_silent(audio: &[i16]) {
    let block = 2 * 4_800;
    for (i, b) in audio.chunks(block).enumerate().skip(bar_frame(1) * 2 / block + 1) {
        let rms = (b.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / b.len() as f64).sqrt();
        assert!(rms / 32_768.0 > 0.001, "0.1 s block {i} is silent");
    }
}

/// An edit saved during a followed render: from its bar line on the output follows the new
/// patch; before it, it is the no-edit render to the sample; the phrases are the same
/// (a mixer-only change does not re-pick or reset anything).
fn check_live_edit(name: &str, save: fn(&Path)) {
    let dir = folder(name, BASE);
    let live = dir.join("live.ron");
    let bars = 16;
    let (plain, plain_out) = render(&format!("{name}-plain.wav"), &live, bars);
    let edited_path = live.clone();
    let (edited, out, err) = followed(
        &format!("{name}-edit.wav"),
        &live,
        bars,
        Duration::from_millis(1_200),
        move || save(&edited_path),
    );
    assert_eq!(edited.len(), plain.len());
    let bar = applied_bar(&out);
    assert!((2..bars).contains(&bar), "applied on bar {bar}\n{out}\n{err}");
    let line = 2 * bar_frame(bar);
    // Applied on the sample before the line: everything before it is untouched.
    assert_eq!(edited[..line - 2], plain[..line - 2], "differs before bar {bar}");
    // From the line on, 9.5 dB quieter (the gain glides over ≈ 10 ms).
    let rms =
        |a: &[i16]| (a.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / a.len() as f64).sqrt();
    let next = 2 * bar_frame(bar + 1);
    let ratio = rms(&edited[line + 2_000..next]) / rms(&plain[line + 2_000..next]);
    assert!((ratio - 10f64.powf(-9.0 / 20.0)).abs() < 0.02, "level ratio {ratio} after bar {bar}");
    never_silent(&edited);
    assert_eq!(phrases(&out), phrases(&plain_out));
}

#[test]
fn an_edit_saved_in_place_lands_on_the_next_bar() {
    check_live_edit("in-place", |path| std::fs::write(path, QUIETER).unwrap());
}

#[test]
fn an_edit_saved_by_rename_lands_on_the_next_bar() {
    check_live_edit("by-rename", |path| {
        let tmp = path.with_extension("ron.swp");
        std::fs::write(&tmp, QUIETER).unwrap();
        std::fs::rename(&tmp, path).unwrap();
    });
}

#[test]
fn an_invalid_save_changes_nothing_and_says_where() {
    let dir = folder("invalid", BASE);
    let live = dir.join("live.ron");
    let (plain, _) = render("invalid-plain.wav", &live, 12);
    let path = live.clone();
    let (edited, out, err) =
        followed("invalid-edit.wav", &live, 12, Duration::from_millis(1_000), move || {
            std::fs::write(&path, "(\n  retrieval: (k: 0),\n  mixer: (master: -12.0),\n)").unwrap()
        });
    assert_eq!(edited, plain, "{out}");
    assert!(err.contains("/error"), "{err}");
    assert!(err.contains("live.ron:2:15: retrieval.k must be 1..=64, got 0"), "{err}");
}

#[test]
fn a_patch_at_bar_zero_is_reproducible_and_audible() {
    let dir = folder("bar0", BASE);
    let live = dir.join("live.ron");
    let (a, out) = render("bar0-a.wav", &live, 6);
    let (b, _) = render("bar0-b.wav", &live, 6);
    assert_eq!(a, b);
    assert!(out.contains("bar 0: live.ron applied"), "{out}");
    std::fs::write(&live, QUIETER).unwrap();
    let (c, _) = render("bar0-c.wav", &live, 6);
    assert_ne!(a, c);
}

#[test]
fn patch_check_reports_line_column_and_a_caret() {
    let good = common::repo().join("patches");
    for name in ["default", "groove", "drift", "harmony"] {
        let out = ok(&["patch", "check", s(&good.join(format!("{name}.ron")))]);
        assert!(out.contains(": valid"), "{out}");
    }
    let bad = scratch().join("bad.ron");
    std::fs::write(&bad, "(\n  mixer: (master: 0.0,\n    crosfade_beats: 2.0),\n)").unwrap();
    let run = memsynth(&["patch", "check", s(&bad)]);
    assert_eq!(run.status.code(), Some(1));
    let err = text(&run.stderr);
    assert!(err.contains("bad.ron:3:5:"), "{err}");
    assert!(err.contains("crosfade_beats"), "{err}");
    assert!(err.trim_end().ends_with('^'), "{err}");
}

/// A client subscribed to a server running `patches/live.ron` from a scratch folder.
struct Client {
    socket: UdpSocket,
    port: u16,
}

impl Client {
    fn send(&self, addr: &str, args: Vec<OscType>) {
        let msg = OscPacket::Message(OscMessage { addr: addr.into(), args });
        self.socket
            .send_to(&rosc::encoder::encode(&msg).unwrap(), ("127.0.0.1", self.port))
            .unwrap();
    }

    /// The next message at `addr` whose first string argument contains `needle`.
    fn expect(&self, addr: &str, needle: &str) -> OscMessage {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut buf = vec![0u8; 65_536];
        while Instant::now() < deadline {
            let Ok(n) = self.socket.recv(&mut buf) else { continue };
            if let Ok((_, OscPacket::Message(m))) = rosc::decoder::decode_udp(&buf[..n])
                && m.addr == addr
                && matches!(m.args.first(), Some(OscType::String(t)) if t.contains(needle))
            {
                return m;
            }
        }
        panic!("no {addr} containing {needle:?} within 10 s");
    }
}

#[test]
fn the_server_confines_loads_answers_gets_and_pushes_patch_errors() {
    let dir = folder("served", BASE);
    let secret = scratch().join("secret.ron");
    std::fs::write(&secret, QUIETER).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(&secret, dir.join("link.ron")).unwrap();
    let live = dir.join("live.ron");
    let served = Served::start(&["--no-audio", "--patch", s(&live)], &[]);
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
    let client = Client { socket, port: served.port };
    client.send("/subscribe", vec![]);
    client.send("/transport/play", vec![]);

    // Escapes: refused by name, or by where the link leads.
    client.send("/patch/load", vec!["../secret".into()]);
    client.expect("/error", "/patch/load");
    client.send("/patch/load", vec!["/etc/passwd".into()]);
    client.expect("/error", "/patch/load");
    #[cfg(unix)]
    {
        client.send("/patch/load", vec!["link".into()]);
        client.expect("/error", "leads outside");
    }
    client.send("/patch/load", vec!["nope".into()]);
    client.expect("/error", "no patch");
    // A good name loads, becomes the watched patch and applies on a bar line.
    std::fs::write(dir.join("other.ron"), "(mixer: (crossfade_beats: 2.0))").unwrap();
    client.send("/patch/load", vec!["other".into()]);
    let log = served.wait_for_log("other.ron applied on bar");
    assert!(log.contains("crossfade_beats: 1.0 → 2.0"), "{log}");
    client.send("/patch/load", vec!["live.ron".into()]);
    let log = served.wait_for_log("crossfade_beats: 2.0 → 1.0");
    assert!(log.contains("crossfade_beats: 2.0 → 1.0"), "{log}");

    // One number of the running patch.
    client.send("/patch/set", vec!["mixer.master".into(), OscType::Float(-6.0)]);
    client.send("/patch/get", vec!["mixer.master".into()]);
    let value = client.expect("/patch/value", "mixer.master");
    assert_eq!(value.args[1], OscType::Float(-6.0));
    client.send("/patch/set", vec!["retrieval.k".into(), OscType::Float(0.0)]);
    client.expect("/error", "retrieval.k must be 1..=64");

    // A control surface's fader, placed by the patch's OSC mapping; an unmapped one is an
    // unknown address.
    let mapping = r#"(osc: [(address: "/1/fader2", param: "mixer.master", range: (-40.0, 0.0))])"#;
    std::fs::write(dir.join("mapped.ron"), mapping).unwrap();
    client.send("/patch/load", vec!["mapped".into()]);
    served.wait_for_log("mapped.ron applied on bar");
    client.send("/1/fader2", vec![OscType::Float(0.25)]);
    client.send("/patch/get", vec!["mixer.master".into()]);
    let value = client.expect("/patch/value", "mixer.master");
    assert_eq!(value.args[1], OscType::Float(-30.0));
    client.send("/9/fader9", vec![OscType::Float(0.5)]);
    client.expect("/error", "unknown address /9/fader9");
    client.send("/patch/load", vec!["live".into()]);
    served.wait_for_log("live.ron applied on bar");

    // A broken save: pushed to subscribers with file, line and column; the server goes on.
    std::fs::write(&live, "(\n  mixer: (master: 99.0),\n)").unwrap();
    client.expect("/error", "live.ron:2:");
    let log = served.wait_for_log("the last good patch plays on");
    assert!(log.contains("mixer.master must be -80.0..=12.0, got 99.0"), "{log}");
    // A good save after it is applied on a bar line.
    std::fs::write(&live, QUIETER).unwrap();
    let log = served.wait_for_log("→ -19.0");
    assert!(log.contains("live.ron applied on bar"), "{log}");
}
