//! The audio output: a cpal stream whose callback only copies from a lock-free ring, or,
//! without a sound card (or with `--no-audio`), a paced null output that drains the ring in
//! real time. Either way the frames it has consumed are the master clock.
//!
//! The mixer (a control thread) writes stereo interleaved `f32` at the output rate into the
//! ring's producer; the callback never allocates, locks or logs: on underrun it writes
//! silence and counts it. In debug builds the callback runs inside `assert_no_alloc`, which
//! aborts on any allocation.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};

/// Channels the mixer writes (interleaved).
pub const CHANNELS: usize = 2;

/// Which device to open, and how.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputConfig {
    /// Use cpal's JACK host instead of the system default (ALSA on Linux).
    pub jack: bool,
    /// Output device id (`memsynth doctor` lists them); the host's default if `None`.
    pub device: Option<String>,
    /// Sample rate; the device's default if `None`.
    pub sample_rate: Option<u32>,
    /// Frames per callback.
    pub buffer_frames: u32,
    /// Run the clock without any device (tests, headless boxes).
    pub no_audio: bool,
}

impl Default for OutputConfig {
    fn default() -> Self {
        Self { jack: false, device: None, sample_rate: None, buffer_frames: 512, no_audio: false }
    }
}

/// Counters shared with the callback: atomics only.
#[derive(Debug, Default)]
pub struct Counters {
    /// Frames handed to the device (or the null output): the master clock.
    pub frames: AtomicU64,
    /// Callbacks that found the ring short and padded with silence, once audio had begun
    /// (the silence before the mixer's first block is not a dropout).
    pub underruns: AtomicU64,
    /// Set by the first callback that found a whole block in the ring.
    pub started: AtomicBool,
}

/// A running output. Dropping it stops the stream.
pub struct AudioOutput {
    /// What is playing: the device's name, or why there is none.
    pub description: String,
    /// Output sample rate.
    pub sample_rate: u32,
    /// Frames per callback.
    pub buffer_frames: u32,
    /// The clock and the underrun count.
    pub counters: Arc<Counters>,
    stop: Arc<AtomicBool>,
    owner: Option<std::thread::JoinHandle<()>>,
}

impl Drop for AudioOutput {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(owner) = self.owner.take() {
            let _ = owner.join();
        }
    }
}

impl AudioOutput {
    /// Opens the configured device, or the null output when `no_audio` is set. Returns the
    /// output and the ring's producer, which the mixer fills. When the device cannot be
    /// opened the error says why; the caller decides whether to fall back to [`Self::null`].
    pub fn start(
        config: &OutputConfig,
        ring_frames: usize,
    ) -> anyhow::Result<(Self, rtrb::Producer<f32>)> {
        if config.no_audio {
            let rate = config.sample_rate.unwrap_or(48_000);
            return Ok(Self::null(
                rate,
                config.buffer_frames,
                ring_frames,
                "no audio (--no-audio)",
            ));
        }
        let (producer, consumer) = rtrb::RingBuffer::new(ring_frames * CHANNELS);
        let counters = Arc::new(Counters::default());
        let stop = Arc::new(AtomicBool::new(false));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let thread_config = config.clone();
        let (thread_counters, thread_stop) = (counters.clone(), stop.clone());
        // cpal's stream is not `Send` on every platform: one thread opens, owns and closes it.
        let owner = std::thread::Builder::new()
            .name("audio-output".into())
            .spawn(move || match open_stream(&thread_config, consumer, thread_counters) {
                Ok((stream, description, rate)) => {
                    let _ = ready_tx.send(Ok((description, rate)));
                    while !thread_stop.load(Ordering::Acquire) {
                        std::thread::park_timeout(Duration::from_millis(50));
                    }
                    drop(stream);
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                }
            })
            .context("cannot start the audio thread")?;
        match ready_rx.recv().context("the audio thread stopped before opening the device")? {
            Ok((description, sample_rate)) => Ok((
                Self {
                    description,
                    sample_rate,
                    buffer_frames: config.buffer_frames,
                    counters,
                    stop,
                    owner: Some(owner),
                },
                producer,
            )),
            Err(e) => {
                let _ = owner.join();
                Err(e)
            }
        }
    }

    /// A paced null output: drains the ring at real-time speed, a buffer at a time, as a
    /// device would, so the clock runs and underruns are counted without a sound card.
    pub fn null(
        sample_rate: u32,
        buffer_frames: u32,
        ring_frames: usize,
        why: &str,
    ) -> (Self, rtrb::Producer<f32>) {
        let (producer, mut consumer) = rtrb::RingBuffer::new(ring_frames * CHANNELS);
        let counters = Arc::new(Counters::default());
        let stop = Arc::new(AtomicBool::new(false));
        let (thread_counters, thread_stop) = (counters.clone(), stop.clone());
        let period = Duration::from_secs_f64(f64::from(buffer_frames) / f64::from(sample_rate));
        let owner = std::thread::Builder::new()
            .name("null-output".into())
            .spawn(move || {
                let mut block = vec![0.0f32; buffer_frames as usize * CHANNELS];
                let mut deadline = Instant::now();
                while !thread_stop.load(Ordering::Acquire) {
                    fill(&mut block, CHANNELS, &mut consumer, &thread_counters);
                    deadline += period;
                    let now = Instant::now();
                    if deadline > now {
                        std::thread::sleep(deadline - now);
                    } else if now - deadline > 10 * period {
                        deadline = now; // the machine stalled: do not race to catch up
                    }
                }
            })
            .expect("spawning the null output thread");
        (
            Self {
                description: why.to_owned(),
                sample_rate,
                buffer_frames,
                counters,
                stop,
                owner: Some(owner),
            },
            producer,
        )
    }
}

/// Copies what the ring holds into `out` (device channel layout), silence for the rest.
/// Runs in the audio callback: no allocation, no lock, no logging.
fn fill(out: &mut [f32], device_channels: usize, ring: &mut rtrb::Consumer<f32>, c: &Counters) {
    let frames = out.len() / device_channels.max(1);
    let mut short = false;
    if device_channels == CHANNELS {
        let (_, rest) = ring.pop_partial_slice(out);
        short = !rest.is_empty();
        rest.fill(0.0);
    } else {
        for frame in out.chunks_exact_mut(device_channels) {
            let (l, r) = match (ring.pop(), ring.pop()) {
                (Ok(l), Ok(r)) => (l, r),
                _ => {
                    short = true;
                    (0.0, 0.0)
                }
            };
            if device_channels == 1 {
                frame[0] = 0.5 * (l + r);
            } else {
                frame[0] = l;
                frame[1] = r;
                frame[2..].fill(0.0);
            }
        }
    }
    if short {
        if c.started.load(Ordering::Relaxed) {
            c.underruns.fetch_add(1, Ordering::Relaxed);
        }
    } else {
        c.started.store(true, Ordering::Relaxed);
    }
    c.frames.fetch_add(frames as u64, Ordering::Release);
}

fn open_stream(
    config: &OutputConfig,
    mut ring: rtrb::Consumer<f32>,
    counters: Arc<Counters>,
) -> anyhow::Result<(cpal::Stream, String, u32)> {
    let host = if config.jack {
        cpal::host_from_id(cpal::HostId::Jack).context(
            "cannot reach JACK: start it first (e.g. `jackd -d dummy -r 48000 -p 256 &`), \
             or drop --jack to use the default sound card",
        )?
    } else {
        cpal::default_host()
    };
    let device = match &config.device {
        Some(id) => {
            let parsed = id.parse().map_err(|e| anyhow::anyhow!("bad device id {id:?}: {e}"))?;
            host.device_by_id(&parsed).with_context(|| {
                format!("no output device {id:?}; `memsynth doctor` lists the devices")
            })?
        }
        None => host.default_output_device().context("no default output device")?,
    };
    let name = device.id().map(|id| id.to_string()).unwrap_or_else(|_| "output".into());
    let default = device
        .default_output_config()
        .with_context(|| format!("{name} has no usable output configuration (no sound card?)"))?;
    let sample_rate = config.sample_rate.unwrap_or(default.sample_rate());
    let channels = default.channels();
    let stream_config = cpal::StreamConfig {
        channels,
        sample_rate,
        buffer_size: cpal::BufferSize::Fixed(config.buffer_frames),
    };
    let device_channels = usize::from(channels);
    let stream = device
        .build_output_stream(
            stream_config,
            move |data: &mut [f32], _: &cpal::OutputCallbackInfo| {
                #[cfg(debug_assertions)]
                assert_no_alloc::assert_no_alloc(|| {
                    fill(data, device_channels, &mut ring, &counters)
                });
                #[cfg(not(debug_assertions))]
                fill(data, device_channels, &mut ring, &counters);
            },
            |e| eprintln!("audio output: {e}"),
            None,
        )
        .with_context(|| format!("cannot open an f32 stream on {name} at {sample_rate} Hz"))?;
    stream.play().with_context(|| format!("cannot start {name}"))?;
    Ok((stream, format!("{name} ({channels} ch, {sample_rate} Hz)"), sample_rate))
}
