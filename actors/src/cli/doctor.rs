//! `memsynth doctor [--db DIR] [--config FILE] [--osc-port N] [--models DIR]`: checks what
//! the live server needs, one line each, `OK` or `PROBLEM` with what to do: the server
//! configuration (configs/server.ron), audio hosts and output devices (cpal's default host,
//! its default output device and configuration, JACK), the phrase database, the models, and
//! the OSC port. Exits 1 when a required thing fails: a configuration that does not parse,
//! a database that was named but does not open or is inconsistent, or an OSC port that is
//! taken.
//! Audio and models are never required: without them the server uses the null output and
//! plays retrieved phrases only.

use std::net::{IpAddr, UdpSocket};
use std::path::{Path, PathBuf};

use cpal::traits::{DeviceTrait, HostTrait};
use memsynth::db::Database;
use memsynth_actors::config::{self, ServerConfig};

use super::DEFAULT_DB;

#[derive(clap::Args)]
pub struct Args {
    /// The phrase database to check (required to be sound when given; default: data/db if it exists).
    #[arg(long)]
    db: Option<PathBuf>,
    /// The server configuration `serve` would read (default: configs/server.ron if it exists).
    #[arg(long)]
    config: Option<PathBuf>,
    /// The UDP port `serve` would listen on (default: the configuration's).
    #[arg(long)]
    osc_port: Option<u16>,
    /// The models folder.
    #[arg(long, default_value = "models")]
    models: PathBuf,
}

/// Whether a required check failed; the lines go straight to stdout.
#[derive(Default)]
struct Report {
    failed_required: bool,
}

impl Report {
    fn ok(&mut self, section: &str, what: impl AsRef<str>) {
        println!("OK       {section:<9} {}", what.as_ref());
    }

    /// A problem; `required` ones make doctor exit 1.
    fn problem(&mut self, section: &str, what: impl AsRef<str>, required: bool) {
        println!("PROBLEM  {section:<9} {}", what.as_ref());
        self.failed_required |= required;
    }
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let mut r = Report::default();
    let settings = server_config(&mut r, args.config.as_deref());
    audio(&mut r);
    database(&mut r, args.db.as_deref());
    models(&mut r, &args.models);
    osc_port(&mut r, settings.osc.bind, args.osc_port.unwrap_or(settings.osc.port));
    if r.failed_required {
        println!("doctor: a required check failed (see PROBLEM above)");
        std::process::exit(1);
    }
    println!("doctor: ready to serve");
    Ok(())
}

fn audio(r: &mut Report) {
    let hosts: Vec<&str> = cpal::available_hosts().iter().map(|h| h.name()).collect();
    r.ok("audio", format!("audio hosts compiled in: {}", hosts.join(", ")));

    let host = cpal::default_host();
    let name = host.id().name();
    match host.default_output_device() {
        None => r.problem(
            "audio",
            format!(
                "{name}: no default output device; `serve` falls back to the null output \
                 (use --no-audio to say so, or --jack with a running JACK server)"
            ),
            false,
        ),
        Some(device) => {
            let id = device.id().map(|id| id.to_string()).unwrap_or_else(|_| "output".into());
            match device.default_output_config() {
                Ok(c) => r.ok(
                    "audio",
                    format!(
                        "{name}: default output {id}, {} ch, {} Hz, {:?}",
                        c.channels(),
                        c.sample_rate(),
                        c.sample_format()
                    ),
                ),
                Err(e) => r.problem(
                    "audio",
                    format!(
                        "{name}: default output {id} has no usable configuration ({e}): no sound \
                         card? `serve` falls back to the null output; `--jack` with JACK's dummy \
                         driver, or ALSA's file plugin, make a paced or recorded output"
                    ),
                    false,
                ),
            }
            if let Ok(devices) = host.output_devices() {
                let ids: Vec<String> =
                    devices.filter_map(|d| d.id().ok()).map(|id| id.to_string()).take(12).collect();
                if !ids.is_empty() {
                    r.ok("audio", format!("{name} output devices: {}", ids.join(", ")));
                }
            }
        }
    }

    let jack = cpal::host_from_id(cpal::HostId::Jack)
        .ok()
        .and_then(|h| h.default_output_device().map(|d| (h, d)));
    match jack {
        Some((_, device)) => {
            let rate = device.default_output_config().map(|c| c.sample_rate()).unwrap_or(0);
            r.ok("audio", format!("JACK server reachable ({rate} Hz): `serve --jack` plays there"))
        }
        None => r.problem(
            "audio",
            "JACK not reachable: start one (e.g. `jackd -d dummy -r 48000 -p 256 &`) \
             if you want `serve --jack`",
            false,
        ),
    }
}

fn database(r: &mut Report, given: Option<&Path>) {
    let (dir, required) = match given {
        Some(dir) => (dir.to_path_buf(), true),
        None => (PathBuf::from(DEFAULT_DB), false),
    };
    let shown = dir.display();
    if !required && !dir.join("data.mdb").is_file() {
        r.problem(
            "database",
            format!(
                "no database at {shown}: run `memsynth demo` (serves data/demo-db) or \
                 `memsynth analyze LIBRARY --db {shown}`, or name one with --db"
            ),
            false,
        );
        return;
    }
    let db = match Database::open(&dir) {
        Ok(db) => db,
        Err(e) => {
            r.problem("database", format!("{shown} does not open: {e}"), required);
            return;
        }
    };
    match db.check() {
        Ok(report) if report.is_ok() => {
            r.ok(
                "database",
                format!(
                    "{shown}: {} tracks, {} phrases, consistent",
                    report.tracks, report.phrases
                ),
            );
            for note in &report.notes {
                r.ok("database", format!("note: {note}"));
            }
            if report.phrases == 0 {
                r.problem(
                    "database",
                    format!("{shown} holds no phrases: analyse a library into it"),
                    required,
                );
            }
        }
        Ok(report) => r.problem(
            "database",
            format!(
                "{shown}: {} inconsistencies (first: {}); delete the folder and run \
                 `memsynth analyze` again",
                report.problems.len(),
                report.problems[0]
            ),
            required,
        ),
        Err(e) => r.problem("database", format!("{shown}: the check failed: {e}"), required),
    }
    match db.index_is_fresh() {
        Ok(true) => r.ok("database", "index fresh"),
        Ok(false) => r.problem(
            "database",
            "the index is out of date: run `memsynth analyze` on the library to finish it",
            required,
        ),
        Err(e) => r.problem("database", format!("cannot read the index state: {e}"), required),
    }
}

fn models(r: &mut Report, dir: &Path) {
    let manifest = dir.join("manifest.ron");
    if manifest.is_file() {
        r.ok("models", format!("{} present", manifest.display()));
    } else {
        r.ok(
            "models",
            format!(
                "no models yet ({} absent): the conductor plays retrieved phrases only",
                manifest.display()
            ),
        );
    }
}

fn server_config(r: &mut Report, path: Option<&Path>) -> ServerConfig {
    let explicit = path.is_some();
    let path = path.unwrap_or(Path::new(config::DEFAULT_PATH));
    match ServerConfig::load(path, explicit) {
        Ok(c) => {
            let allow = if c.osc.allow.is_empty() {
                "any client that reaches it".to_owned()
            } else {
                format!("this machine and {:?}", c.osc.allow)
            };
            let from = if path.is_file() { path.display().to_string() } else { "defaults".into() };
            r.ok(
                "config",
                format!(
                    "{from}: {:?} audio, {} frames per buffer; OSC on {}:{} for {allow}",
                    c.audio.host, c.audio.buffer_frames, c.osc.bind, c.osc.port
                ),
            );
            c
        }
        Err(e) => {
            r.problem("config", format!("{e:#}: fix the file or pass --config"), true);
            ServerConfig::default()
        }
    }
}

fn osc_port(r: &mut Report, ip: IpAddr, port: u16) {
    match UdpSocket::bind((ip, port)) {
        Ok(_) => r.ok("osc", format!("udp://{ip}:{port} is free for `serve`")),
        Err(e) => r.problem(
            "osc",
            format!(
                "cannot bind udp://{ip}:{port} ({e}): another server is on it, or the address \
                 is not this machine's; stop it or pick another with --osc-port / --bind"
            ),
            true,
        ),
    }
}
