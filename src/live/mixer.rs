//! The mixer: voices placed on absolute samples, equal-power cross-fades, channel and master
//! gains, a soft-knee limiter, and level meters.
//!
//! [`Mixer::process`] renders one interleaved stereo block and never allocates: voices go in
//! through [`Mixer::add`] into room reserved in [`Mixer::new`], and voices that have ended are
//! moved to a reserved retire list that the owner empties with [`Mixer::take_retired`] on a
//! control thread, so the last `Arc` of a buffer is never dropped on the audio path.
//!
//! Everything is per sample (fades, gain smoothing, the limiter), so rendering in blocks of
//! any size gives the same bits.

use std::f64::consts::FRAC_PI_2;
use std::sync::Arc;

/// Most voices alive at once (a cross-fade needs two; fallbacks and re-fits add a few).
pub const MAX_VOICES: usize = 32;

/// Mixer channels (groups with their own gain): see [`Channel`].
pub const CHANNELS: usize = 2;

/// The limiter's ceiling, dBFS.
pub const CEILING_DBFS: f32 = -0.3;

/// Identifies a voice; chosen by whoever schedules it (the conductor counts from 1).
pub type VoiceId = u64;

/// Which mixer channel a voice plays through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    /// Phrases retrieved from the library.
    Retrieved = 0,
    /// Generated audio (diffusion model + vocoder).
    Generated = 1,
}

/// An equal-power fade-out: `cos(π/2 · t)` from `start` over `len` samples; silent after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FadeOut {
    /// Absolute sample the fade starts on.
    pub start: u64,
    /// Length in samples (0 cuts at `start`).
    pub len: u64,
}

/// One sound to play: a stereo buffer at the output rate placed on the sample clock.
#[derive(Debug, Clone, PartialEq)]
pub struct Voice {
    /// Its id (for fading it out later).
    pub id: VoiceId,
    /// Interleaved stereo at the output rate.
    pub audio: Arc<[f32]>,
    /// Absolute sample on which frame `offset` of `audio` plays.
    pub start: u64,
    /// First frame of `audio` to play.
    pub offset: usize,
    /// Whether to wrap around to frame 0 at the end (a phrase loops until faded out, so
    /// a late successor never leaves silence).
    pub looping: bool,
    /// Linear gain.
    pub gain: f32,
    /// Equal-power fade-in `sin(π/2 · t)` over this many samples from `start`.
    pub fade_in: u64,
    /// Optional fade-out.
    pub fade_out: Option<FadeOut>,
    /// The mixer channel.
    pub channel: Channel,
}

impl Voice {
    fn frames(&self) -> usize {
        self.audio.len() / 2
    }

    /// The first sample after which the voice is silent for good, if any.
    fn end(&self) -> Option<u64> {
        let fade_end = self.fade_out.map(|f| f.start + f.len);
        let play_end =
            (!self.looping).then(|| self.start + self.frames().saturating_sub(self.offset) as u64);
        match (fade_end, play_end) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The voice's gain envelope at absolute sample `t` (fades only).
    fn envelope(&self, t: u64) -> f32 {
        let mut g = 1.0f64;
        let since = t - self.start;
        if since < self.fade_in {
            g *= (FRAC_PI_2 * since as f64 / self.fade_in as f64).sin();
        }
        if let Some(f) = self.fade_out
            && t >= f.start
        {
            let into = t - f.start;
            g *= if into >= f.len { 0.0 } else { (FRAC_PI_2 * into as f64 / f.len as f64).cos() };
        }
        g as f32
    }
}

/// Peak and RMS of one block, per side, after the limiter (linear, 1.0 = 0 dBFS).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Levels {
    /// Peak |sample|, left and right.
    pub peak: [f32; 2],
    /// RMS, left and right.
    pub rms: [f32; 2],
    /// Limiter gain reduction at the block's end, dB (≥ 0).
    pub reduction_db: f32,
}

/// A soft-knee peak limiter without look-ahead.
///
/// A stereo-linked envelope jumps to any larger |sample| at once, holds for 20 ms (a cycle
/// of 50 Hz, so a steady tone sees a constant gain and is not distorted) and falls back
/// with a 150-ms release. The gain is `f(e)/e` for the envelope `e`, where `f` is the identity
/// up to the knee (6 dB under the ceiling) and `knee + (ceiling − knee)·tanh((e −
/// knee)/(ceiling − knee))` above it: smooth (same slope at the knee) and never above the
/// ceiling. Since `e ≥ |x|` on every sample, `|x|·f(e)/e ≤ f(e) < ceiling`: no overshoot
/// without look-ahead. The gain only moves as fast as the signal's own envelope rises or
/// as the release lets it recover, so it adds no steps (clicks).
#[derive(Debug, Clone)]
struct Limiter {
    ceiling: f32,
    knee: f32,
    release: f32,
    hold: u32,
    held: u32,
    env: f32,
}

impl Limiter {
    fn new(rate: u32) -> Self {
        let ceiling = 10f32.powf(CEILING_DBFS / 20.0);
        Self {
            ceiling,
            knee: ceiling * 0.5,
            release: (-1.0 / (0.150 * rate as f32)).exp(),
            hold: rate / 50,
            held: 0,
            env: 0.0,
        }
    }

    #[inline]
    fn gain(&mut self, peak: f32) -> f32 {
        if peak >= self.env {
            self.env = peak;
            self.held = 0;
        } else if self.held < self.hold {
            self.held += 1;
        } else {
            self.env = peak.max(self.env * self.release);
        }
        if self.env <= self.knee {
            return 1.0;
        }
        let span = self.ceiling - self.knee;
        let shaped = self.knee + span * ((self.env - self.knee) / span).tanh();
        shaped / self.env
    }
}

/// Smooths a gain toward its target, per sample (≈ 10 ms), so gain moves never click.
#[derive(Debug, Clone, Copy)]
struct Smoothed {
    value: f32,
    target: f32,
}

impl Smoothed {
    fn new(v: f32) -> Self {
        Self { value: v, target: v }
    }

    #[inline]
    fn next(&mut self, coef: f32) -> f32 {
        self.value += (self.target - self.value) * coef;
        if (self.target - self.value).abs() < 1e-7 {
            self.value = self.target;
        }
        self.value
    }
}

/// The mixer. Owned by one actor; see the module notes for the real-time rules.
///
/// ```
/// use std::sync::Arc;
/// use memsynth::live::mixer::{Channel, Mixer, Voice};
/// let mut mixer = Mixer::new(48_000);
/// let audio: Arc<[f32]> = vec![0.25f32; 2 * 1000].into();
/// let voice = Voice { id: 1, audio, start: 100, offset: 0, looping: false, gain: 1.0,
///                     fade_in: 0, fade_out: None, channel: Channel::Retrieved };
/// mixer.add(voice).unwrap();
/// let mut block = [0.0f32; 2 * 512];
/// mixer.process(0, &mut block);
/// assert_eq!(block[2 * 99], 0.0);
/// assert_eq!(block[2 * 100], 0.25);
/// ```
#[derive(Debug)]
pub struct Mixer {
    voices: Vec<Voice>,
    retired: Vec<Voice>,
    channel_gain: [Smoothed; CHANNELS],
    master: Smoothed,
    smoothing: f32,
    limiter: Limiter,
    levels: Levels,
}

impl Mixer {
    /// A mixer for output at `rate` Hz, with room for [`MAX_VOICES`] voices.
    pub fn new(rate: u32) -> Self {
        Self {
            voices: Vec::with_capacity(MAX_VOICES),
            retired: Vec::with_capacity(MAX_VOICES),
            channel_gain: [Smoothed::new(1.0); CHANNELS],
            master: Smoothed::new(1.0),
            smoothing: 1.0 - (-1.0 / (0.010 * rate as f32)).exp(),
            limiter: Limiter::new(rate),
            levels: Levels::default(),
        }
    }

    /// Adds a voice; a full mixer (or a voice with an odd-length buffer) hands it back.
    pub fn add(&mut self, voice: Voice) -> Result<(), Voice> {
        if self.voices.len() + self.retired.len() >= MAX_VOICES
            || !voice.audio.len().is_multiple_of(2)
        {
            return Err(voice);
        }
        self.voices.push(voice);
        Ok(())
    }

    /// Sets (or moves) the fade-out of voice `id`; `false` if no such voice is playing.
    pub fn fade_out(&mut self, id: VoiceId, fade: FadeOut) -> bool {
        match self.voices.iter_mut().find(|v| v.id == id) {
            Some(v) => {
                v.fade_out = Some(fade);
                true
            }
            None => false,
        }
    }

    /// Ids of the voices still playing, in the order they were added.
    pub fn voice_ids(&self) -> impl Iterator<Item = VoiceId> + '_ {
        self.voices.iter().map(|v| v.id)
    }

    /// Voices that have ended, to be dropped off the audio thread.
    pub fn take_retired(&mut self) -> Vec<Voice> {
        std::mem::replace(&mut self.retired, Vec::with_capacity(MAX_VOICES))
    }

    /// Sets a channel's gain (linear; smoothed over ≈ 10 ms).
    pub fn set_channel_gain(&mut self, channel: Channel, gain: f32) {
        self.channel_gain[channel as usize].target = gain.max(0.0);
    }

    /// Sets the master gain (linear; smoothed over ≈ 10 ms).
    pub fn set_master_gain(&mut self, gain: f32) {
        self.master.target = gain.max(0.0);
    }

    /// The levels of the last block.
    pub fn levels(&self) -> Levels {
        self.levels
    }

    /// Renders the stereo block starting at absolute sample `block_start` into `out`
    /// (interleaved, overwritten). Never allocates.
    pub fn process(&mut self, block_start: u64, out: &mut [f32]) {
        out.fill(0.0);
        let frames = out.len() / 2;
        let block_end = block_start + frames as u64;
        // Per-sample channel gains, computed once into the output's own layout would need
        // scratch; instead voices are summed per channel pass, in voice order.
        for ch in 0..CHANNELS {
            let mut gain = self.channel_gain[ch];
            let any = self.voices.iter().any(|v| v.channel as usize == ch);
            if !any {
                for _ in 0..frames {
                    gain.next(self.smoothing);
                }
                self.channel_gain[ch] = gain;
                continue;
            }
            for (f, frame) in out.chunks_exact_mut(2).enumerate() {
                let t = block_start + f as u64;
                let g = gain.next(self.smoothing);
                let (mut l, mut r) = (0.0f32, 0.0f32);
                for v in self.voices.iter().filter(|v| v.channel as usize == ch) {
                    if t < v.start || v.end().is_some_and(|e| t >= e) {
                        continue;
                    }
                    let n = v.frames();
                    if n == 0 {
                        continue;
                    }
                    let mut i = v.offset + (t - v.start) as usize;
                    if v.looping {
                        i %= n;
                    } else if i >= n {
                        continue;
                    }
                    let a = v.gain * v.envelope(t);
                    l += a * v.audio[2 * i];
                    r += a * v.audio[2 * i + 1];
                }
                frame[0] += g * l;
                frame[1] += g * r;
            }
            self.channel_gain[ch] = gain;
        }

        let (mut peak, mut sq) = ([0.0f32; 2], [0.0f64; 2]);
        let mut reduction = 1.0;
        for frame in out.chunks_exact_mut(2) {
            let m = self.master.next(self.smoothing);
            let (l, r) = (frame[0] * m, frame[1] * m);
            reduction = self.limiter.gain(l.abs().max(r.abs()));
            frame[0] = l * reduction;
            frame[1] = r * reduction;
            for c in 0..2 {
                peak[c] = peak[c].max(frame[c].abs());
                sq[c] += f64::from(frame[c]) * f64::from(frame[c]);
            }
        }
        let n = frames.max(1) as f64;
        self.levels = Levels {
            peak,
            rms: [(sq[0] / n).sqrt() as f32, (sq[1] / n).sqrt() as f32],
            reduction_db: -20.0 * reduction.max(1e-9).log10(),
        };

        // Retire voices that are over; `remove` keeps the others' order (and so the sum's).
        let mut i = 0;
        while i < self.voices.len() {
            if self.voices[i].end().is_some_and(|e| e <= block_end) {
                let v = self.voices.remove(i);
                // Capacity was reserved in `new`/`take_retired`, and `add` keeps the total
                // within it, so this push does not allocate.
                self.retired.push(v);
            } else {
                i += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn voice(id: VoiceId, audio: Vec<f32>, start: u64) -> Voice {
        Voice {
            id,
            audio: audio.into(),
            start,
            offset: 0,
            looping: false,
            gain: 1.0,
            fade_in: 0,
            fade_out: None,
            channel: Channel::Retrieved,
        }
    }

    fn noise(seed: u64, frames: usize, amp: f32) -> Vec<f32> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..2 * frames).map(|_| amp * rng.random_range(-1.0f32..1.0)).collect()
    }

    fn render(m: &mut Mixer, from: u64, frames: usize, block: usize) -> Vec<f32> {
        let mut out = vec![0.0f32; 2 * frames];
        for (b, chunk) in out.chunks_mut(2 * block).enumerate() {
            m.process(from + (b * block) as u64, chunk);
        }
        out
    }

    #[test]
    fn voice_starts_on_its_exact_sample() {
        let mut m = Mixer::new(48_000);
        // A start in the middle of the third 512-frame block.
        m.add(voice(1, vec![0.25; 2 * 100], 1_234)).unwrap();
        let out = render(&mut m, 0, 4096, 512);
        let first = out.chunks_exact(2).position(|f| f[0] != 0.0).unwrap();
        assert_eq!(first, 1_234);
        assert_eq!(out[2 * 1_234], 0.25);
        let last = out.chunks_exact(2).rposition(|f| f[0] != 0.0).unwrap();
        assert_eq!(last, 1_333);
        // It ended, so it was retired, and handed back.
        assert_eq!(m.voice_ids().count(), 0);
        assert_eq!(m.take_retired().len(), 1);
    }

    #[test]
    fn equal_power_crossfade_of_uncorrelated_noise_keeps_its_level() {
        // Two independent noises of equal RMS: sin² + cos² = 1 keeps the power constant.
        // (For identical signals the amplitudes add, sin + cos, +3 dB mid-fade: equal power
        // is the right law for unrelated phrases, which is what the conductor joins.)
        let len = 48_000;
        let fade = 24_000u64;
        let mut m = Mixer::new(48_000);
        let mut a = voice(1, noise(1, len, 0.25), 0);
        a.fade_out = Some(FadeOut { start: 12_000, len: fade });
        let mut b = voice(2, noise(2, len, 0.25), 12_000);
        b.fade_in = fade;
        m.add(a).unwrap();
        m.add(b).unwrap();
        let out = render(&mut m, 0, len, 512);
        let rms = |x: &[f32]| (x.iter().map(|v| v * v).sum::<f32>() / x.len() as f32).sqrt();
        let reference = rms(&out[..2 * 12_000]);
        for w in out[2 * 12_000..2 * 36_000].chunks(2 * 2_400) {
            let db = 20.0 * (rms(w) / reference).log10();
            assert!(db.abs() < 0.5, "{db:.2} dB");
        }
    }

    #[test]
    fn limiter_holds_the_ceiling_without_clicks() {
        let mut m = Mixer::new(48_000);
        // A 100-Hz sine at +12 dBFS (amplitude 4) after a quiet second; the level rises in
        // 5 ms (raised cosine) so the input itself has no click.
        let frames = 96_000;
        let x: Vec<f32> = (0..frames)
            .flat_map(|i| {
                let rise = ((i as f32 - 48_000.0) / 240.0).clamp(0.0, 1.0);
                let amp = 0.1 + 3.9 * (0.5 - 0.5 * (std::f32::consts::PI * rise).cos());
                let s = amp * (std::f32::consts::TAU * 100.0 * i as f32 / 48_000.0).sin();
                [s, s]
            })
            .collect();
        m.add(voice(1, x.clone(), 0)).unwrap();
        let out = render(&mut m, 0, frames, 256);
        let ceiling = 10f32.powf(-0.3 / 20.0);
        let peak = out.iter().fold(0.0f32, |p, v| p.max(v.abs()));
        assert!(peak <= ceiling, "peak {peak}");
        assert!(peak > 0.9 * ceiling, "the limiter should not pump down: {peak}");
        // Quiet input is untouched.
        assert!((out[2 * 1000] - x[2 * 1000]).abs() < 1e-6);
        // No click: a click is a sudden change of slope, i.e. a large second difference.
        // A hard clip of the same input at the ceiling changes slope by ≈ 0.05 in one
        // sample; the soft knee must stay far below that.
        let second = |x: &[f32]| {
            x.windows(3).map(|w| (w[2] - 2.0 * w[1] + w[0]).abs()).fold(0.0f32, f32::max)
        };
        let left: Vec<f32> = out.chunks_exact(2).map(|f| f[0]).collect();
        let clipped: Vec<f32> = x.iter().step_by(2).map(|v| v.clamp(-ceiling, ceiling)).collect();
        let (soft, hard) = (second(&left), second(&clipped));
        assert!(hard > 0.04, "the reference clip should click: {hard}");
        assert!(soft < 0.01, "second difference {soft} (hard clip {hard})");
        assert!(m.levels().reduction_db > 11.0);
    }

    #[test]
    fn process_does_not_allocate() {
        let mut m = Mixer::new(48_000);
        let mut a = voice(1, noise(3, 10_000, 0.5), 0);
        a.looping = true;
        a.fade_out = Some(FadeOut { start: 3_000, len: 1_000 });
        m.add(a).unwrap();
        let mut b = voice(2, noise(4, 10_000, 0.5), 3_000);
        b.fade_in = 1_000;
        b.channel = Channel::Generated;
        m.add(b).unwrap();
        m.set_channel_gain(Channel::Generated, 0.5);
        let mut out = vec![0.0f32; 2 * 512];
        assert_no_alloc::assert_no_alloc(|| {
            for block in 0..40u64 {
                m.process(block * 512, &mut out);
            }
        });
        // Voice 1 was retired inside `process`, without allocating.
        assert_eq!(m.voice_ids().count(), 0);
        assert_eq!(m.take_retired().len(), 2);
    }

    #[test]
    fn block_size_does_not_change_the_bits() {
        let build = || {
            let mut m = Mixer::new(48_000);
            let mut a = voice(1, noise(5, 20_000, 1.5), 100);
            a.looping = true;
            a.fade_out = Some(FadeOut { start: 9_000, len: 4_000 });
            m.add(a).unwrap();
            let mut b = voice(2, noise(6, 20_000, 1.5), 9_000);
            b.fade_in = 4_000;
            m.add(b).unwrap();
            m.set_master_gain(0.7);
            m
        };
        let x = render(&mut build(), 0, 30_000, 512);
        let y = render(&mut build(), 0, 30_000, 77);
        assert!(x.iter().zip(&y).all(|(a, b)| a.to_bits() == b.to_bits()));
    }

    #[test]
    fn gains_and_meters() {
        let mut m = Mixer::new(48_000);
        let mut v = voice(1, vec![0.5; 2 * 48_000], 0);
        v.channel = Channel::Generated;
        m.add(v).unwrap();
        m.set_channel_gain(Channel::Generated, 0.5);
        let _ = render(&mut m, 0, 9_600, 512);
        let lv = m.levels();
        assert!((lv.peak[0] - 0.25).abs() < 1e-3, "{lv:?}");
        assert!((lv.rms[1] - 0.25).abs() < 1e-3, "{lv:?}");
        m.set_master_gain(0.0);
        let _ = render(&mut m, 9_600, 9_600, 512);
        assert!(m.levels().peak[0] < 1e-4);
        // A full mixer hands the voice back.
        for id in 2..=MAX_VOICES as u64 {
            m.add(voice(id, vec![0.0; 2], 1_000_000)).unwrap();
        }
        assert!(m.add(voice(99, vec![0.0; 2], 0)).is_err());
    }
}
