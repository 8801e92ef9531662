//! The OSC server: decodes each datagram with the core codec, answers bad messages with
//! `/error`, counts everything, answers `/status`, keeps the subscriber list and pushes to
//! it, starts and stops the recorder, and hands the rest to the Conductor actor.
//!
//! Time tags are not honoured yet: every command applies when it arrives.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::time::Duration;

use actix::{Actor, Addr, AsyncContext, Context, Handler, Message, Supervised};
use memsynth::osc::{Command, Counters, decode_packet, encode_error, encode_levels, encode_status};
use tokio::net::UdpSocket;

use super::conductor_actor::{Apply, ConductorActor, Send};
use super::mixer_thread::MixerMsg;
use super::recorder;
use super::shared::Shared;
use super::supervise::guarded;
use crate::audio_out;

/// Largest datagram read (rosc's own MTU constant is too small for real bundles).
pub const RECEIVE_BUFFER: usize = 64 * 1024;

/// One datagram from `from`.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Datagram {
    /// The bytes.
    pub bytes: Vec<u8>,
    /// The sender.
    pub from: SocketAddr,
}

/// The actor.
pub struct OscServer {
    socket: Arc<UdpSocket>,
    conductor: Addr<ConductorActor>,
    mixer: mpsc::Sender<MixerMsg>,
    shared: Arc<Shared>,
    clock: Arc<audio_out::Counters>,
    recordings: PathBuf,
    rate: u32,
    /// What has been received.
    pub counters: Counters,
    subscribers: Vec<SocketAddr>,
}

impl OscServer {
    /// A server answering on `socket`; recordings go to `recordings`.
    pub fn new(
        socket: Arc<UdpSocket>,
        conductor: Addr<ConductorActor>,
        mixer: mpsc::Sender<MixerMsg>,
        shared: Arc<Shared>,
        clock: Arc<audio_out::Counters>,
        recordings: PathBuf,
        rate: u32,
    ) -> Self {
        Self {
            socket,
            conductor,
            mixer,
            shared,
            clock,
            recordings,
            rate,
            counters: Counters::default(),
            subscribers: Vec::new(),
        }
    }

    fn send_to(&self, to: SocketAddr, bytes: &[u8]) {
        // UDP to a client that went away is not the server's problem.
        let _ = self.socket.try_send_to(bytes, to);
    }

    fn datagram(&mut self, d: Datagram) {
        let decoded = decode_packet(&d.bytes);
        self.counters.record(&decoded);
        if let Some(why) = &decoded.malformed {
            self.refused(d.from, why);
        }
        for item in decoded.items {
            match item.value {
                Err(e) => self.refused(d.from, &e.to_string()),
                Ok(command) => self.command(command, d.from),
            }
        }
    }

    /// Answers a bad packet or message with `/error`, and logs it with the running counts.
    fn refused(&self, from: SocketAddr, why: &str) {
        self.send_to(from, &encode_error(why));
        eprintln!(
            "OSC from {from}: {why} ({} malformed packets, {} refused messages so far)",
            self.counters.malformed,
            self.counters.errors()
        );
    }

    fn command(&mut self, command: Command, from: SocketAddr) {
        match command {
            Command::Status => {
                let mut status = self.shared.status();
                status.underruns = self.clock.underruns.load(Ordering::Relaxed);
                self.send_to(from, &encode_status(&status));
            }
            Command::Subscribe(port) => {
                let to = if port == 0 { from } else { SocketAddr::new(from.ip(), port) };
                if !self.subscribers.contains(&to) {
                    self.subscribers.push(to);
                }
            }
            Command::Unsubscribe => self.subscribers.retain(|s| s.ip() != from.ip()),
            Command::RecordStart(name) => {
                let name = name.unwrap_or_else(|| {
                    let secs = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.as_secs());
                    format!("take-{secs}.wav")
                });
                match recorder::start(&self.recordings, &name, self.rate) {
                    Ok((path, tx, _)) => {
                        eprintln!("recording to {}", path.display());
                        let _ = self.mixer.send(MixerMsg::Record(Some(tx)));
                    }
                    Err(e) => self.send_to(from, &encode_error(&format!("{e:#}"))),
                }
            }
            Command::RecordStop => {
                let _ = self.mixer.send(MixerMsg::Record(None));
            }
            command => self.conductor.do_send(Apply { command, from }),
        }
    }
}

impl Actor for OscServer {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.run_interval(Duration::from_millis(100), |act, _| {
            if !act.subscribers.is_empty() {
                let (peak, rms) = act.shared.levels_dbfs();
                let bytes = encode_levels(peak, rms);
                for s in &act.subscribers {
                    act.send_to(*s, &bytes);
                }
            }
        });
    }
}

impl Supervised for OscServer {
    fn restarting(&mut self, _: &mut Context<Self>) {
        eprintln!("OSC server restarted");
    }
}

impl Handler<Datagram> for OscServer {
    type Result = ();
    fn handle(&mut self, d: Datagram, ctx: &mut Context<Self>) {
        guarded("OSC server", self, ctx, |act, _| act.datagram(d));
    }
}

impl Handler<Send> for OscServer {
    type Result = ();
    fn handle(&mut self, m: Send, _: &mut Context<Self>) {
        match m.to {
            Some(to) => self.send_to(to, &m.bytes),
            None => {
                for s in &self.subscribers {
                    self.send_to(*s, &m.bytes);
                }
            }
        }
    }
}

/// Reads datagrams forever and hands each to the server.
pub async fn receive(socket: Arc<UdpSocket>, server: Addr<OscServer>) {
    let mut buf = vec![0u8; RECEIVE_BUFFER];
    loop {
        match socket.recv_from(&mut buf).await {
            Ok((n, from)) => server.do_send(Datagram { bytes: buf[..n].to_vec(), from }),
            // e.g. ICMP port unreachable from a gone subscriber, reported on Linux.
            Err(e) => eprintln!("OSC receive: {e}"),
        }
    }
}
