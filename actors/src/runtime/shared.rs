//! What the mixer thread, the actors and the OSC server read of each other: atomics and
//! one small status snapshot.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use memsynth::osc::Status;

use crate::audio_out;

/// State published between threads.
#[derive(Debug)]
pub struct Shared {
    /// The next sample the mixer will render: the conductor's "now".
    pub rendered: AtomicU64,
    /// The sample being heard (rendered minus what waits in the ring).
    pub audible: AtomicU64,
    /// Output peak of the latest block, linear (`f32` bits).
    pub peak: AtomicU32,
    /// Output RMS of the latest block, linear (`f32` bits).
    pub rms: AtomicU32,
    /// The conductor's latest status (tempo, bar, beat, phrase), for `/status` replies.
    pub status: Mutex<Status>,
    /// The output's counters (master clock, underruns).
    pub clock: Arc<audio_out::Counters>,
}

impl Shared {
    /// Nothing rendered yet, at `tempo` BPM, playing to the output counting on `clock`.
    pub fn new(tempo: f32, clock: Arc<audio_out::Counters>) -> Self {
        Self {
            rendered: AtomicU64::new(0),
            audible: AtomicU64::new(0),
            peak: AtomicU32::new(0),
            rms: AtomicU32::new(0),
            status: Mutex::new(Status {
                playing: false,
                tempo,
                bar: 0,
                beat: 0,
                phrase: None,
                underruns: 0,
            }),
            clock,
        }
    }

    /// The next sample the mixer renders.
    pub fn now(&self) -> u64 {
        self.rendered.load(Ordering::Acquire)
    }

    /// A copy of the status with the output's underruns so far (a poisoned lock still
    /// holds the last good value).
    pub fn status(&self) -> Status {
        let status = *self.status.lock().unwrap_or_else(|p| p.into_inner());
        Status { underruns: self.clock.underruns.load(Ordering::Relaxed), ..status }
    }

    /// Replaces the status.
    pub fn set_status(&self, status: Status) {
        *self.status.lock().unwrap_or_else(|p| p.into_inner()) = status;
    }

    /// Output peak and RMS in dBFS.
    pub fn levels_dbfs(&self) -> (f32, f32) {
        let db = |bits: &AtomicU32| {
            let v = f32::from_bits(bits.load(Ordering::Relaxed));
            20.0 * v.max(1e-6).log10()
        };
        (db(&self.peak), db(&self.rms))
    }
}
