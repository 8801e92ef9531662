//! The OSC server: refuses senders outside the allow-list, decodes each datagram with the
//! core codec, answers bad messages with `/error`, counts everything, keeps the subscriber
//! list and pushes to it, starts and stops the recorder, and hands the rest — `/status`
//! included, so its answer follows every command sent before it — to the Conductor actor.
//!
//! Time tags: a bundle's time is mapped to the output's sample clock through an anchor
//! re-taken against the system clock every second ([`SampleAnchor::retake`]); the conductor
//! applies the message when the mixer reaches that sample. Late and "immediately" messages
//! apply at once.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use actix::dev::SendError;
use actix::{Actor, Addr, AsyncContext, Context, Handler, Message, Supervised};
use memsynth::osc::time::from_unix;
use memsynth::osc::{Command, Counters, SampleAnchor, decode_packet, encode_error, encode_levels};
use rosc::OscTime;
use tokio::net::UdpSocket;

use super::conductor_actor::{Apply, ConductorActor, Send};
use super::mixer_thread::MixerMsg;
use super::recorder;
use super::shared::Shared;
use super::supervise::guarded;

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

/// Who may send commands.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AllowList {
    /// Client addresses allowed besides this machine (127.0.0.1 and ::1); empty: anyone
    /// who can reach the bound address.
    pub clients: Vec<IpAddr>,
}

impl AllowList {
    /// Whether `ip` may send.
    pub fn allows(&self, ip: IpAddr) -> bool {
        let this_machine = ip == Ipv4Addr::LOCALHOST || ip == Ipv6Addr::LOCALHOST;
        self.clients.is_empty() || this_machine || self.clients.contains(&ip)
    }
}

/// Recorder threads still writing; joined at shutdown so no take is cut short.
pub type Recorders = Arc<Mutex<Vec<JoinHandle<()>>>>;

/// The actor.
pub struct OscServer {
    socket: Arc<UdpSocket>,
    conductor: Addr<ConductorActor>,
    mixer: mpsc::Sender<MixerMsg>,
    shared: Arc<Shared>,
    recordings: PathBuf,
    recorders: Recorders,
    rate: u32,
    allow: AllowList,
    /// Senders refused so far (each is logged once).
    refused_senders: HashSet<IpAddr>,
    /// OSC time ↔ output sample, and when it was last re-taken.
    anchor: Option<(SampleAnchor, Instant)>,
    /// What has been received.
    pub counters: Counters,
    subscribers: Vec<SocketAddr>,
    /// Where motion goes (packets holding motion are forwarded whole; see `with_motion`).
    motion: Option<Addr<super::motion::MotionInputActor>>,
}

impl OscServer {
    /// A server answering on `socket` to the clients `allow` lets in; recordings go to
    /// `recordings`, their threads to `recorders`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        socket: Arc<UdpSocket>,
        conductor: Addr<ConductorActor>,
        mixer: mpsc::Sender<MixerMsg>,
        shared: Arc<Shared>,
        recordings: PathBuf,
        recorders: Recorders,
        rate: u32,
        allow: AllowList,
    ) -> Self {
        Self {
            socket,
            conductor,
            mixer,
            shared,
            recordings,
            recorders,
            rate,
            allow,
            refused_senders: HashSet::new(),
            anchor: None,
            counters: Counters::default(),
            subscribers: Vec::new(),
            motion: None,
        }
    }

    /// Sends motion (`/motion/*`, phone formats, `/motion/calibrate`, `/record/motion`) to
    /// the MotionInput actor: each packet holding any, whole, with the audible sample it
    /// arrived at.
    pub fn with_motion(mut self, motion: Addr<super::motion::MotionInputActor>) -> Self {
        self.motion = Some(motion);
        self
    }

    /// The output sample a message tagged `time` is due on (`None`: at once).
    fn due(&mut self, time: Option<OscTime>) -> Option<u64> {
        let time = time?;
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        let now = from_unix(now);
        let audible = self.shared.audible.load(Ordering::Acquire);
        let anchor = match self.anchor {
            Some((a, taken)) if taken.elapsed() < Duration::from_secs(1) => a,
            Some((a, _)) => a.retake(now, audible),
            None => SampleAnchor { time: now, sample: audible, rate_hz: f64::from(self.rate) },
        };
        if self.anchor.is_none_or(|(a, _)| a != anchor) {
            self.anchor = Some((anchor, Instant::now()));
        }
        anchor.sample_at(Some(time))
    }

    fn send_to(&self, to: SocketAddr, bytes: &[u8]) {
        // UDP to a client that went away is not the server's problem.
        let _ = self.socket.try_send_to(bytes, to);
    }

    fn datagram(&mut self, d: Datagram) {
        if !self.allow.allows(d.from.ip()) {
            if self.refused_senders.insert(d.from.ip()) {
                eprintln!(
                    "OSC from {}: not in the allow-list of configs/server.ron; ignored \
                     (add it to `osc.allow` to let this device play)",
                    d.from.ip()
                );
            }
            return;
        }
        let decoded = decode_packet(&d.bytes);
        self.counters.record(&decoded);
        if let Some(why) = &decoded.malformed {
            self.refused(d.from, why);
        }
        let motion =
            |c: &Result<Command, _>| c.as_ref().is_ok_and(super::motion::is_motion_command);
        if let Some(m) = &self.motion
            && decoded.items.iter().any(|i| motion(&i.value))
        {
            let at = self.shared.audible.load(Ordering::Acquire);
            m.do_send(super::motion::MotionPacket { bytes: d.bytes.clone(), from: d.from, at });
        }
        for item in decoded.items {
            match item.value {
                Err(e) => self.refused(d.from, &e.to_string()),
                Ok(command)
                    if self.motion.is_some() && super::motion::is_motion_command(&command) => {}
                Ok(command) => {
                    let at = self.due(item.time);
                    self.command(command, d.from, at);
                }
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

    fn command(&mut self, command: Command, from: SocketAddr, at: Option<u64>) {
        match command {
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
                    Ok((path, tx, thread)) => {
                        eprintln!("recording to {}", path.display());
                        let _ = self.mixer.send(MixerMsg::Record(Some(tx)));
                        let mut recorders =
                            self.recorders.lock().unwrap_or_else(|p| p.into_inner());
                        recorders.retain(|t| !t.is_finished());
                        recorders.push(thread);
                    }
                    Err(e) => self.send_to(from, &encode_error(&format!("{e:#}"))),
                }
            }
            Command::RecordStop => {
                let _ = self.mixer.send(MixerMsg::Record(None));
            }
            command => match self.conductor.try_send(Apply { command, from, at }) {
                Ok(()) => {}
                // Back-pressure: a flood the conductor cannot keep up with is refused and
                // said so, instead of queueing without bound while the music lags.
                Err(SendError::Full(m)) => self.refused(
                    m.from,
                    &format!("{}: server busy, message dropped", m.command.to_message().addr),
                ),
                Err(SendError::Closed(_)) => eprintln!("OSC: the conductor is restarting"),
            },
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
            // `send` waits for the server to take the datagram: while it is busy, packets
            // wait in the kernel's socket buffer (and beyond it are dropped there), never
            // in an unbounded queue here.
            Ok((n, from)) => {
                let _ = server.send(Datagram { bytes: buf[..n].to_vec(), from }).await;
            }
            // e.g. ICMP port unreachable from a gone subscriber, reported on Linux.
            Err(e) => eprintln!("OSC receive: {e}"),
        }
    }
}
