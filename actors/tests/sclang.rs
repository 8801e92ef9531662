//! A real SuperCollider client: `sclang` runs examples/supercollider/selftest.scd headless
//! against `memsynth serve --no-audio`, through the example `Memsynth` class (subscribe,
//! /bar ticks driving a TempoClock, tempo set and read back with /status, an /error).
//!
//! scripts/setup.sh installs sclang (Debian `supercollider-language`); where it is not
//! installed the test passes after printing why it did not run.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Served, repo, s, scratch, text};

/// Where sclang is, or `None` with the reason printed.
fn sclang() -> Option<&'static str> {
    let found = Command::new("sclang")
        .arg("-h")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !found {
        eprintln!(
            "SKIPPED: sclang is not installed (Debian: apt-get install supercollider-language; \
             scripts/setup.sh does it)"
        );
    }
    found.then_some("sclang")
}

#[test]
fn sclang_client_subscribes_syncs_a_clock_and_sets_the_tempo() {
    let Some(sclang) = sclang() else { return };
    let served = Served::start(&["--no-audio"], &[]);

    // sclang writes its config and caches under HOME/XDG folders: keep them in scratch.
    let home = scratch().join("sclang-home");
    std::fs::create_dir_all(&home).unwrap();
    let classes = repo().join("examples/supercollider");
    let conf = home.join("sclang_conf.yaml");
    let yaml = format!(
        "includePaths:\n    - {}\nexcludePaths:\n    []\npostInlineWarnings: false\n",
        classes.display()
    );
    std::fs::write(&conf, yaml).unwrap();

    let mut cmd = Command::new(sclang);
    cmd.arg("-l")
        .arg(&conf)
        .arg(classes.join("selftest.scd"))
        .current_dir(&home)
        .env("MEMSYNTH_PORT", served.port.to_string())
        .env("HOME", &home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_RUNTIME_DIR", &home)
        .env("QT_QPA_PLATFORM", "offscreen")
        // Qt WebEngine refuses to start as root without it.
        .env("QTWEBENGINE_DISABLE_SANDBOX", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();

    // The script stops itself after 60 s; this is the backstop if sclang itself hangs.
    let deadline = Instant::now() + Duration::from_secs(90);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    let ok = stdout.lines().find(|l| l.starts_with("MEMSYNTH-SCLANG-OK"));
    assert!(
        out.status.success() && ok.is_some(),
        "sclang {} ({}):\n{stdout}\n{stderr}\nserver log:\n{}",
        s(&classes.join("selftest.scd")),
        out.status,
        served.log.lock().unwrap()
    );
    eprintln!("{}", ok.unwrap_or_default());
}
