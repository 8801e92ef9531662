//! The mixer thread: owns the [`Mixer`], keeps the output ring a few blocks ahead of the
//! device, publishes its position, and hands each rendered block to the recorder. Voices
//! retired by the mixer are dropped here, never in the audio callback.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, TryRecvError};
use std::thread::JoinHandle;
use std::time::Duration;

use memsynth::live::mixer::{FadeOut, Mixer, Voice, VoiceId};

use super::BLOCK;
use super::commands::MixerChange;
use super::offline::{apply_mixer, schedule};
use super::shared::Shared;
use crate::audio_out::CHANNELS;

/// How far ahead of the device the mixer renders, frames (≈ 43 ms at 48 kHz).
pub const AHEAD_FRAMES: u64 = 4 * BLOCK as u64;

/// What the mixer thread is told.
#[derive(Debug)]
pub enum MixerMsg {
    /// A voice from the conductor, and the fade of its predecessor.
    Schedule {
        /// The new voice.
        voice: Voice,
        /// The outgoing voice's fade.
        fade_out: Option<(VoiceId, FadeOut)>,
    },
    /// A gain change.
    Change(MixerChange),
    /// Fade every voice out over `len` samples (the transport stopped).
    FadeAll {
        /// Fade length, samples.
        len: u64,
    },
    /// Start (`Some`) or stop (`None`) sending each rendered block to a recorder.
    Record(Option<Sender<Vec<f32>>>),
}

/// Starts the mixer thread; it runs until `stop` is set.
pub fn spawn(
    rate: u32,
    mut ring: rtrb::Producer<f32>,
    shared: Arc<Shared>,
    inbox: Receiver<MixerMsg>,
    stop: Arc<AtomicBool>,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new().name("mixer".into()).spawn(move || {
        raise_priority();
        let mut mixer = Mixer::new(rate);
        let mut block = vec![0.0f32; CHANNELS * BLOCK];
        let mut recorder: Option<Sender<Vec<f32>>> = None;
        let mut rendered = 0u64;
        let capacity = ring.buffer().capacity();
        while !stop.load(Ordering::Acquire) {
            loop {
                match inbox.try_recv() {
                    Ok(MixerMsg::Schedule { voice, fade_out }) => {
                        schedule(&mut mixer, voice, fade_out)
                    }
                    Ok(MixerMsg::Change(change)) => apply_mixer(&mut mixer, change),
                    Ok(MixerMsg::FadeAll { len }) => {
                        let ids: Vec<VoiceId> = mixer.voice_ids().collect();
                        for id in ids {
                            mixer.fade_out(id, FadeOut { start: rendered, len });
                        }
                    }
                    Ok(MixerMsg::Record(r)) => recorder = r,
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => return,
                }
            }
            while ring.slots() >= block.len()
                && (capacity - ring.slots()) / CHANNELS < AHEAD_FRAMES as usize
            {
                mixer.process(rendered, &mut block);
                for &s in &block {
                    // `slots()` was checked above: this cannot fail.
                    let _ = ring.push(s);
                }
                if let Some(r) = &recorder
                    && r.send(block.clone()).is_err()
                {
                    recorder = None;
                }
                rendered += BLOCK as u64;
                let levels = mixer.levels();
                shared.peak.store(levels.peak[0].max(levels.peak[1]).to_bits(), Ordering::Relaxed);
                shared.rms.store(levels.rms[0].max(levels.rms[1]).to_bits(), Ordering::Relaxed);
                shared.rendered.store(rendered, Ordering::Release);
            }
            let queued = ((capacity - ring.slots()) / CHANNELS) as u64;
            shared.audible.store(rendered.saturating_sub(queued), Ordering::Release);
            drop(mixer.take_retired());
            std::thread::sleep(Duration::from_millis(2));
        }
    })
}

/// Puts the mixer thread above every ordinary thread (real-time FIFO at the lowest
/// real-time priority, still below the audio server's own threads), so a busy machine —
/// an analysis run, a build — cannot starve it for longer than the ring's look-ahead.
/// Without the privilege (no `rtprio` limit) it says so once and plays on as it is.
fn raise_priority() {
    use thread_priority::unix::{
        RealtimeThreadSchedulePolicy, ThreadSchedulePolicy, set_thread_priority_and_policy,
        thread_native_id,
    };
    let fifo = ThreadSchedulePolicy::Realtime(RealtimeThreadSchedulePolicy::Fifo);
    if let Err(e) = set_thread_priority_and_policy(
        thread_native_id(),
        thread_priority::ThreadPriority::Min,
        fifo,
    ) {
        eprintln!(
            "mixer: no real-time priority ({e:?}); a loaded machine may cause dropouts \
             (allow `rtprio` for your user in /etc/security/limits.d/)"
        );
    }
}
