//! `memsynth motion record --out FILE [--port 9001] [--bind 0.0.0.0] [--forward HOST:PORT]
//! [--seconds S]`: records a phone's motion messages as JSON lines (the format is in
//! `memsynth_actors::runtime::motion_file`), for `memsynth render --motion` and for training
//! the phrase mapper.
//!
//! With `--forward`, every datagram is also sent on to a running `memsynth serve`, and the
//! recorder subscribes to it: its `/phrase` pushes (and a `/status` asked at start) say which
//! phrase was playing, and each line records it. Point the phone at the recorder instead of
//! the server; the server plays as before.

use std::net::{IpAddr, SocketAddr, ToSocketAddrs, UdpSocket};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use memsynth::osc::encode_reply;
use memsynth_actors::runtime::motion_file::{self, MotionWriter};
use rosc::{OscPacket, OscType};

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Sub,
}

#[derive(clap::Subcommand)]
enum Sub {
    /// Record motion messages from a phone (optionally forwarding them to a server).
    Record(RecordArgs),
}

#[derive(clap::Args)]
struct RecordArgs {
    /// The recording to write (JSON lines).
    #[arg(long)]
    out: PathBuf,
    /// UDP port to listen on (point the phone here).
    #[arg(long, default_value_t = 9001)]
    port: u16,
    /// Address to listen on.
    #[arg(long, default_value = "0.0.0.0")]
    bind: IpAddr,
    /// A running `memsynth serve` (HOST:PORT) to forward to and learn the playing phrase from.
    #[arg(long)]
    forward: Option<String>,
    /// Stop after this many seconds (default: until Ctrl-C; every line is already on disk).
    #[arg(long)]
    seconds: Option<f64>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    match args.command {
        Sub::Record(a) => record(a),
    }
}

fn record(args: RecordArgs) -> anyhow::Result<()> {
    let bind = SocketAddr::new(args.bind, args.port);
    let socket = UdpSocket::bind(bind).with_context(|| format!("cannot listen on {bind}"))?;
    socket.set_read_timeout(Some(Duration::from_millis(50)))?;
    let mut writer = MotionWriter::create(&args.out, "record")?;
    // −1: no phrase known.
    let phrase = Arc::new(AtomicI64::new(-1));
    let forward = match &args.forward {
        Some(server) => Some(connect(server, phrase.clone())?),
        None => None,
    };
    let started = Instant::now();
    println!(
        "recording motion from udp://{}:{} to {}{} (Ctrl-C stops)",
        args.bind,
        socket.local_addr()?.port(),
        args.out.display(),
        args.forward.as_deref().map(|s| format!(", forwarding to {s}")).unwrap_or_default()
    );
    let deadline = args.seconds.map(|s| started + Duration::from_secs_f64(s.max(0.0)));
    let mut buf = vec![0u8; 64 * 1024];
    let mut last_report = Instant::now();
    let mut messages = Vec::new();
    while deadline.is_none_or(|d| Instant::now() < d) {
        let n = match socket.recv_from(&mut buf) {
            Ok((n, _)) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                continue;
            }
            Err(e) => return Err(e).context("receiving"),
        };
        let t = started.elapsed().as_secs_f64();
        let bytes = &buf[..n];
        if let Some(f) = &forward {
            // A server that went away is not the recorder's problem.
            let _ = f.send(bytes);
        }
        let Ok((_, packet)) = rosc::decoder::decode_udp(bytes) else { continue };
        messages.clear();
        motion_file::messages(&packet, &mut messages);
        let p = u32::try_from(phrase.load(Ordering::Relaxed)).ok();
        for m in &messages {
            writer.write(t, m, p)?;
        }
        if last_report.elapsed() > Duration::from_secs(5) {
            last_report = Instant::now();
            eprintln!("{:.0} s: {} motion messages", t, writer.written);
        }
    }
    println!("{}: {} motion messages", args.out.display(), writer.written);
    Ok(())
}

/// A socket connected to the server, subscribed to its pushes; a thread keeps `phrase` up
/// to date from `/phrase` pushes and the `/status` reply.
fn connect(server: &str, phrase: Arc<AtomicI64>) -> anyhow::Result<UdpSocket> {
    let to = server
        .to_socket_addrs()
        .with_context(|| format!("--forward {server}: not a HOST:PORT"))?
        .next()
        .with_context(|| format!("--forward {server}: no address"))?;
    let local: SocketAddr = if to.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" }.parse()?;
    let socket = UdpSocket::bind(local)?;
    socket.connect(to).with_context(|| format!("cannot reach {to}"))?;
    socket.send(&encode_reply("/subscribe", vec![OscType::Int(0)]))?;
    socket.send(&encode_reply("/status", vec![]))?;
    let listen = socket.try_clone()?;
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 64 * 1024];
        while let Ok(n) = listen.recv(&mut buf) {
            let Ok((_, OscPacket::Message(m))) = rosc::decoder::decode_udp(&buf[..n]) else {
                continue;
            };
            let id = match (m.addr.as_str(), m.args.as_slice()) {
                ("/phrase", [OscType::Int(id), ..]) => i64::from(*id),
                ("/status", [_, _, _, _, OscType::Int(id), ..]) => i64::from(*id),
                _ => continue,
            };
            phrase.store(id, Ordering::Relaxed);
        }
    });
    Ok(socket)
}
