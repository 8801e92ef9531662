//! `memsynth serve --db DIR [--config configs/server.ron] [--osc-port 9000] [--bind
//! 127.0.0.1] [--no-audio] [--jack] [--tempo BPM]`: the live server. See
//! `memsynth_actors::runtime` for the actor layout and `memsynth_actors::config` for the
//! file. Ctrl-C (or SIGTERM) stops it cleanly: recordings are finished before it exits.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use actix::{Actor, AsyncContext, Supervisor, SyncArbiter};
use anyhow::Context;
use memsynth::db::Query;
use memsynth::live::conductor::{Conductor, ConductorConfig};
use memsynth::live::transport::{Tempo, Transport};
use memsynth_actors::audio_out::{AudioOutput, OutputConfig};
use memsynth_actors::config::{self, ServerConfig};
use memsynth_actors::runtime::conductor_actor::{AttachMotion, ConductorActor};
use memsynth_actors::runtime::library::Library;
use memsynth_actors::runtime::motion::{MotionInputActor, PhraseMapper};
use memsynth_actors::runtime::osc_server::{self, AllowList, OscServer, Recorders};
use memsynth_actors::runtime::patch_manager::PatchManager;
use memsynth_actors::runtime::recorder;
use memsynth_actors::runtime::shared::Shared;
use memsynth_actors::runtime::workers::{Retrieval, Vocoder};
use memsynth_actors::runtime::{BLOCK, RATE, mixer_thread};

use super::DEFAULT_DB;

#[derive(clap::Args)]
pub struct Args {
    /// The phrase database.
    #[arg(long, default_value = DEFAULT_DB)]
    pub(super) db: PathBuf,
    /// Server configuration: audio device and buffer size, OSC address, port and allow-list
    /// (default: configs/server.ron when it exists).
    #[arg(long)]
    pub(super) config: Option<PathBuf>,
    /// UDP port for OSC (default: the config's, 9000).
    #[arg(long)]
    pub(super) osc_port: Option<u16>,
    /// Address to listen on, 0.0.0.0 to accept phones on the network (default: the
    /// config's, 127.0.0.1).
    #[arg(long)]
    pub(super) bind: Option<std::net::IpAddr>,
    /// No sound card: run the clock on the paced null output.
    #[arg(long)]
    pub(super) no_audio: bool,
    /// Play through JACK instead of ALSA.
    #[arg(long)]
    pub(super) jack: bool,
    /// Output device id (`memsynth doctor` lists them; default: the config's, or the
    /// host's default device).
    #[arg(long)]
    pub(super) device: Option<String>,
    /// Frames per audio callback (default: the config's, 512).
    #[arg(long)]
    pub(super) buffer_frames: Option<u32>,
    /// Starting tempo, BPM.
    #[arg(long, default_value_t = 120.0)]
    pub(super) tempo: f64,
    /// Phrase to start the query from (default: the database's first phrase).
    #[arg(long)]
    pub(super) phrase: Option<u32>,
    /// TCP port for OSCQuery discovery (HTTP JSON of the address space and current values)
    /// on the same address as OSC; default: the OSC port + 1; 0 turns it off.
    #[arg(long)]
    pub(super) oscquery_port: Option<u16>,
    /// The active patch, watched and applied on the next bar line when saved (default:
    /// patches/default.ron when it exists); its folder is where `/patch/load` looks.
    #[arg(long)]
    pub(super) patch: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let settings = {
        let path = args.config.clone().unwrap_or_else(|| PathBuf::from(config::DEFAULT_PATH));
        ServerConfig::load(&path, args.config.is_some())?
    };
    let bind_ip = args.bind.unwrap_or(settings.osc.bind);
    let osc_port = args.osc_port.unwrap_or(settings.osc.port);
    let allow = AllowList { clients: settings.osc.allow.clone() };
    let library = Arc::new(Library::open(&args.db)?);
    let phrase = match args.phrase {
        Some(id) => id,
        None => library.first_phrase()?.0,
    };
    let tempo = Tempo::from_bpm(args.tempo)?;
    let recordings = args.db.parent().unwrap_or(&args.db).join("recordings");

    let jack = args.jack || settings.audio.host == config::Host::Jack;
    let buffer_frames = args.buffer_frames.unwrap_or(settings.audio.buffer_frames);
    let config = OutputConfig {
        jack,
        device: args.device.clone().or(settings.audio.device.clone()),
        sample_rate: Some(RATE),
        buffer_frames: if jack { jack_period().unwrap_or(buffer_frames) } else { buffer_frames },
        no_audio: args.no_audio || settings.audio.host == config::Host::None,
    };
    // The ring holds the mixer's look-ahead plus a few device buffers.
    let ring_frames = 16 * BLOCK + 2 * config.buffer_frames as usize;
    let mut fell_back = false;
    let (output, producer) = match AudioOutput::start(&config, ring_frames) {
        Ok(started) => started,
        Err(e) => {
            fell_back = true;
            eprintln!(
                "no audio device ({e:#}): playing to the null output and recording everything \
                 (`memsynth doctor` says what to fix)"
            );
            AudioOutput::null(RATE, BLOCK as u32, ring_frames, "null output (no device)")
        }
    };
    let rate = output.sample_rate;
    println!("audio: {} at {rate} Hz", output.description);

    let shared = Arc::new(Shared::new(tempo.bpm() as f32, output.counters.clone()));
    let recorders: Recorders = Arc::default();
    let (mixer_tx, mixer_rx) = std::sync::mpsc::channel();
    let stop = Arc::new(AtomicBool::new(false));
    let mixer = mixer_thread::spawn(rate, producer, shared.clone(), mixer_rx, stop.clone())
        .context("cannot start the mixer thread")?;
    if fell_back {
        // Without a sound card nothing is heard: keep the show on disk instead.
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let (path, tx, thread) = recorder::start(&recordings, &format!("take-{secs}.wav"), rate)?;
        println!("recording the output to {}", path.display());
        let _ = mixer_tx.send(mixer_thread::MixerMsg::Record(Some(tx)));
        recorders.lock().unwrap_or_else(|p| p.into_inner()).push(thread);
    }

    // The active patch and the folder `/patch/load` and the watch look in.
    let patch_folder = {
        let default = PathBuf::from("patches/default.ron");
        let active = args.patch.clone().or_else(|| default.is_file().then_some(default));
        let folder = match &active {
            Some(file) => file.parent().filter(|p| !p.as_os_str().is_empty()).map(PathBuf::from),
            None => Some(PathBuf::from("patches")),
        }
        .unwrap_or_else(|| PathBuf::from("."));
        match &active {
            Some(file) => println!("patch: {} (watching {})", file.display(), folder.display()),
            None => println!("patch: none (patches/default.ron not found)"),
        }
        folder.is_dir().then_some((folder, active))
    };

    let bind = SocketAddr::new(bind_ip, osc_port);
    let system = actix::System::new();
    system.block_on(async {
        let std_socket = std::net::UdpSocket::bind(bind)
            .with_context(|| format!("cannot listen for OSC on {bind}"))?;
        std_socket.set_nonblocking(true)?;
        let socket = Arc::new(tokio::net::UdpSocket::from_std(std_socket)?);
        let port = socket.local_addr()?.port();
        start_oscquery(bind_ip, port, args.oscquery_port, shared.clone())?;

        let lib = library.clone();
        let retrieval = SyncArbiter::start(1, move || Retrieval { library: lib.clone() });
        let lib = library.clone();
        let vocoder = SyncArbiter::start(1, move || Vocoder { library: lib.clone() });

        // The OSC server and the conductor know each other: the conductor starts inside
        // the server's constructor, where the server's address already exists.
        let server_socket = socket.clone();
        let server_recorders = recorders.clone();
        let (motion_lib, motion_recordings) = (library.clone(), recordings.clone());
        let osc_addr = Supervisor::start(move |ctx: &mut actix::Context<OscServer>| {
            let osc = ctx.address().recipient();
            let motion_osc: actix::Recipient<_> = ctx.address().recipient();
            let motion_shared = shared.clone();
            let conductor_mixer = mixer_tx.clone();
            let conductor_shared = shared.clone();
            let conductor = Supervisor::start(move |ctx: &mut actix::Context<ConductorActor>| {
                let mut c = Conductor::new(ConductorConfig::default(), Transport::new(rate, tempo));
                c.set_query(Query::Phrase(phrase));
                let actor = ConductorActor::new(
                    c,
                    conductor_shared,
                    conductor_mixer,
                    retrieval,
                    vocoder,
                    osc.clone(),
                );
                match patch_folder {
                    Some((folder, active)) => {
                        let stage = ctx.address().recipient();
                        let manager = PatchManager::new(folder, active, stage, osc).start();
                        actor.with_patch_loader(manager.recipient())
                    }
                    None => actor,
                }
            });
            // Motion: MotionInput (encoder, normalizer) → PhraseMapper → the conductor.
            let (mapper_conductor, mapper_osc) = (conductor.clone(), motion_osc.clone());
            let mapper = SyncArbiter::start(1, move || {
                PhraseMapper::new(motion_lib.clone(), mapper_conductor.clone(), mapper_osc.clone())
            });
            let motion = Supervisor::start(move |_| {
                MotionInputActor::new(rate, motion_shared, mapper, motion_osc, motion_recordings)
            });
            conductor.do_send(AttachMotion(motion.clone().recipient()));
            OscServer::new(
                server_socket,
                conductor,
                mixer_tx,
                shared,
                recordings,
                server_recorders,
                rate,
                allow,
            )
            .with_motion(motion)
        });
        actix::spawn(osc_server::receive(socket, osc_addr));
        actix::spawn(stop_on_signal());

        println!(
            "OSC on udp://{}:{port} (phrase {phrase} as the query, {} BPM)",
            bind_ip,
            tempo.bpm()
        );
        println!("try (Ctrl-C stops the server):");
        println!(
            "  python-osc:     python3 -c \"from pythonosc.udp_client import SimpleUDPClient as C; \
             C('127.0.0.1', {port}).send_message('/transport/play', [])\""
        );
        println!("  liblo oscsend:  oscsend localhost {port} /transport/tempo f 128");
        println!("  SuperCollider:  NetAddr(\"127.0.0.1\", {port}).sendMsg(\"/subscribe\", 0);");
        anyhow::Ok(())
    })?;
    system.run().context("the actor system stopped")?;
    // The mixer thread owns the recorders' senders: once it is gone each recorder
    // finishes its file.
    stop.store(true, std::sync::atomic::Ordering::Release);
    let _ = mixer.join();
    drop(output);
    for thread in std::mem::take(&mut *recorders.lock().unwrap_or_else(|p| p.into_inner())) {
        let _ = thread.join();
    }
    println!("stopped");
    Ok(())
}

/// Stops the actor system on Ctrl-C or SIGTERM, so `run` can finish the recordings.
async fn stop_on_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut int), Ok(mut term)) =
            (signal(SignalKind::interrupt()), signal(SignalKind::terminate()))
        else {
            eprintln!("cannot catch Ctrl-C: stopping the server will not finish recordings");
            return;
        };
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    if tokio::signal::ctrl_c().await.is_err() {
        return;
    }
    println!("stopping …");
    actix::System::current().stop();
}

/// Starts the OSCQuery endpoint next to OSC on `osc_port`. A taken default port only
/// costs discovery (a warning); a taken port the user asked for is an error.
fn start_oscquery(
    ip: std::net::IpAddr,
    osc_port: u16,
    asked: Option<u16>,
    shared: Arc<Shared>,
) -> anyhow::Result<()> {
    use memsynth_actors::runtime::oscquery::{self, HostInfo};
    let Some(port) = asked.or_else(|| osc_port.checked_add(1)).filter(|&p| p != 0) else {
        return Ok(());
    };
    let listener = match std::net::TcpListener::bind((ip, port)) {
        Ok(listener) => listener,
        Err(e) if asked.is_none() => {
            eprintln!(
                "no OSCQuery discovery: cannot listen on {ip}:{port} ({e}); see --oscquery-port"
            );
            return Ok(());
        }
        Err(e) => {
            return Err(e).with_context(|| format!("cannot listen for OSCQuery on {ip}:{port}"));
        }
    };
    listener.set_nonblocking(true)?;
    let url = format!("http://{}/", listener.local_addr()?);
    let listener = tokio::net::TcpListener::from_std(listener)?;
    let host = HostInfo { name: "memsynth".into(), osc_ip: ip, osc_port };
    actix::spawn(oscquery::serve(listener, shared, host));
    println!("OSCQuery on {url} (GET / for the address space, /?HOST_INFO)");
    Ok(())
}

/// The running JACK server's period: a JACK client must use exactly that buffer size.
fn jack_period() -> Option<u32> {
    use cpal::traits::{DeviceTrait, HostTrait};
    let host = cpal::host_from_id(cpal::HostId::Jack).ok()?;
    let config = host.default_output_device()?.default_output_config().ok()?;
    match *config.buffer_size() {
        cpal::SupportedBufferSize::Range { min, .. } => Some(min),
        cpal::SupportedBufferSize::Unknown => None,
    }
}
