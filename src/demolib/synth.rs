//! The synthesiser's parts: band-limited oscillators, envelopes, a state-variable filter,
//! noise, drum one-shots, and the effects (reverb, delay, master limiter).
//!
//! Everything is deterministic: the only randomness is a seeded xorshift noise source.

use std::f32::consts::{PI, TAU};

/// The demo library's sample rate, as f32.
pub(crate) const SR: f32 = super::SAMPLE_RATE as f32;

/// A subtractive (or FM) voice: oscillators into a low-pass filter with its own envelope.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Patch {
    /// Oscillators per note: wave, detune in semitones, level.
    pub oscs: &'static [(Wave, f32, f32)],
    pub amp: Adsr,
    /// Filter cutoff at rest, Hz; [`NO_FILTER`] or above (with no `env_hz`) bypasses it.
    pub cutoff: f32,
    /// Added to the cutoff at the note's start, decaying with `filter_decay` seconds.
    pub env_hz: f32,
    pub filter_decay: f32,
    /// 0..1.
    pub resonance: f32,
    /// Level in the mix.
    pub gain: f32,
    /// −1 (left) … 1 (right).
    pub pan: f32,
    /// Send levels to the reverb and the delay.
    pub reverb: f32,
    pub delay: f32,
}

/// A cutoff that means "no filter": the filter is left out.
pub(crate) const NO_FILTER: f32 = 0.45 * SR;

/// An oscillator's waveform.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Wave {
    Sine,
    /// PolyBLEP band-limited sawtooth.
    Saw,
    /// PolyBLEP band-limited square.
    Square,
    Triangle,
    /// Two-operator FM: a sine carrier phase-modulated by a sine at `ratio` times its
    /// frequency, with a modulation index that decays from `index` with time constant
    /// `decay` seconds (electric piano, bells).
    Fm {
        ratio: f32,
        index: f32,
        decay: f32,
    },
}

/// `sin(2π·cycles)` for any phase in cycles: a ninth-order Taylor polynomial after
/// reducing the phase to a quarter cycle (error below 2e-5, −94 dB), several times faster
/// than `f32::sin` and the same on every platform.
#[inline]
pub(crate) fn sin_cycles(cycles: f32) -> f32 {
    // sin(2πt) = −sin(2π(t − ½)); fold u = t − ½ into [−¼, ¼] by symmetry (branch-free,
    // so that loops over it vectorise).
    let u = fract(cycles) - 0.5;
    let a = u.abs();
    let u = if a > 0.25 { 0.5 - a } else { a }.copysign(u);
    let x = TAU * u;
    let x2 = x * x;
    -x * (1.0
        + x2 * (-1.0 / 6.0 + x2 * (1.0 / 120.0 + x2 * (-1.0 / 5040.0 + x2 * (1.0 / 362_880.0)))))
}

/// The PolyBLEP residual that removes most of the aliasing of a step at phase 0.
fn poly_blep(t: f32, dt: f32) -> f32 {
    if t < dt {
        let t = t / dt;
        t + t - t * t - 1.0
    } else if t > 1.0 - dt {
        let t = (t - 1.0) / dt;
        t * t + t + t + 1.0
    } else {
        0.0
    }
}

/// One oscillator: phase in cycles, `0..1`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Osc {
    wave: Wave,
    phase: f32,
    inc: f32,
    mod_phase: f32,
    index: f32,
    index_decay: f32,
}

impl Osc {
    pub fn new(wave: Wave, hz: f32, phase: f32) -> Osc {
        let (index, index_decay) = match wave {
            Wave::Fm { index, decay, .. } => (index, (-1.0 / (decay * SR)).exp()),
            _ => (0.0, 1.0),
        };
        Osc {
            wave,
            phase: phase.rem_euclid(1.0),
            inc: (hz / SR).min(0.45),
            mod_phase: 0.0,
            index,
            index_decay,
        }
    }

    /// Adds `level` times the next `out.len()` samples to `out`.
    pub fn fill(&mut self, out: &mut [f32], level: f32) {
        // One loop per waveform, so the choice is made once per note, not per sample.
        let dt = self.inc;
        match self.wave {
            Wave::Sine => self.fill_with(out, |t| level * sin_cycles(t)),
            Wave::Saw => self.fill_with(out, |t| level * (2.0 * t - 1.0 - poly_blep(t, dt))),
            Wave::Square => self.fill_with(out, |t| {
                let naive = if t < 0.5 { 1.0 } else { -1.0 };
                level * (naive + poly_blep(t, dt) - poly_blep(fract(t + 0.5), dt))
            }),
            Wave::Triangle => self.fill_with(out, |t| level * (4.0 * (t - 0.5).abs() - 1.0)),
            Wave::Fm { ratio, .. } => {
                // The same block scheme for the modulator; its index decays per block.
                const BLOCK: usize = 64;
                let decay: [f32; BLOCK] = std::array::from_fn(|k| self.index_decay.powi(k as i32));
                for chunk in out.chunks_mut(BLOCK) {
                    let (start, mod_start, index) = (self.phase, self.mod_phase, self.index / TAU);
                    for (k, s) in chunk.iter_mut().enumerate() {
                        let modulator = sin_cycles(mod_start + k as f32 * dt * ratio);
                        *s += level
                            * sin_cycles(start + k as f32 * dt + index * decay[k] * modulator);
                    }
                    let n = chunk.len() as f32;
                    self.phase = fract(start + n * dt);
                    self.mod_phase = fract(mod_start + n * dt * ratio);
                    self.index *= self.index_decay.powi(chunk.len() as i32);
                }
            }
        }
    }

    /// Adds `shape(phase)` sample by sample. Phases count from each block's start, so no
    /// sample waits for the one before it and the loop vectorises.
    #[inline(always)]
    fn fill_with(&mut self, out: &mut [f32], shape: impl Fn(f32) -> f32) {
        const BLOCK: usize = 64;
        let dt = self.inc;
        for chunk in out.chunks_mut(BLOCK) {
            let start = self.phase;
            for (k, s) in chunk.iter_mut().enumerate() {
                *s += shape(fract(start + k as f32 * dt));
            }
            self.phase = fract(start + chunk.len() as f32 * dt);
        }
    }
}

/// `x − floor(x)` without a library call (|x| < 2³¹).
#[inline(always)]
fn fract(x: f32) -> f32 {
    let f = x - (x as i32) as f32;
    if f < 0.0 { f + 1.0 } else { f }
}

/// Attack / decay / sustain / release, in seconds (decay and release are time constants of
/// an exponential approach) and sustain level.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Adsr {
    pub attack: f32,
    pub decay: f32,
    pub sustain: f32,
    pub release: f32,
}

impl Adsr {
    pub const fn new(attack: f32, decay: f32, sustain: f32, release: f32) -> Adsr {
        Adsr { attack, decay, sustain, release }
    }
}

/// A running [`Adsr`].
pub(crate) struct Envelope {
    level: f32,
    attack_step: f32,
    decay_coef: f32,
    release_coef: f32,
    sustain: f32,
    attacking: bool,
}

impl Envelope {
    pub fn new(adsr: Adsr) -> Envelope {
        Envelope {
            level: 0.0,
            attack_step: 1.0 / (adsr.attack * SR).max(1.0),
            decay_coef: (-1.0 / (adsr.decay * SR).max(1.0)).exp(),
            release_coef: (-1.0 / (adsr.release * SR).max(1.0)).exp(),
            sustain: adsr.sustain,
            attacking: true,
        }
    }

    #[inline]
    pub fn next(&mut self, gate: bool) -> f32 {
        if !gate {
            self.attacking = false;
            self.level *= self.release_coef;
        } else if self.attacking {
            self.level += self.attack_step;
            if self.level >= 1.0 {
                self.level = 1.0;
                self.attacking = false;
            }
        } else {
            self.level = self.sustain + (self.level - self.sustain) * self.decay_coef;
        }
        self.level
    }
}

/// A topology-preserving-transform state-variable filter (Zavalishin / Simper).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Svf {
    ic1: f32,
    ic2: f32,
    a1: f32,
    a2: f32,
    a3: f32,
    k: f32,
}

/// The three outputs of one [`Svf`] step.
pub(crate) struct SvfOut {
    pub low: f32,
    pub band: f32,
    pub high: f32,
}

impl Svf {
    /// A filter at `hz` with resonance `0..1` (0 = Q 0.5, 1 = nearly self-oscillating).
    pub fn new(hz: f32, resonance: f32) -> Svf {
        let mut svf = Svf::default();
        svf.set(hz, resonance);
        svf
    }

    pub fn set(&mut self, hz: f32, resonance: f32) {
        let g = (PI * hz.clamp(20.0, 0.45 * SR) / SR).tan();
        self.k = 2.0 - 1.95 * resonance.clamp(0.0, 1.0);
        self.a1 = 1.0 / (1.0 + g * (g + self.k));
        self.a2 = g * self.a1;
        self.a3 = g * self.a2;
    }

    #[inline]
    pub fn process(&mut self, x: f32) -> SvfOut {
        let v3 = x - self.ic2;
        let v1 = self.a1 * self.ic1 + self.a2 * v3;
        let v2 = self.ic2 + self.a2 * self.ic1 + self.a3 * v3;
        self.ic1 = 2.0 * v1 - self.ic1;
        self.ic2 = 2.0 * v2 - self.ic2;
        SvfOut { low: v2, band: v1, high: x - self.k * v1 - v2 }
    }
}

/// White noise from a xorshift32 generator.
pub(crate) struct Noise(u32);

impl Noise {
    pub fn new(seed: u32) -> Noise {
        Noise(seed.max(1))
    }

    #[inline]
    pub fn next(&mut self) -> f32 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.0 = x;
        (x >> 8) as f32 / (1u32 << 23) as f32 - 1.0
    }
}

/// Samples for `seconds`.
fn samples(seconds: f32) -> usize {
    (seconds * SR).ceil() as usize
}

/// A kick drum: a sine swept from `start_hz` down to `end_hz`, a click, soft saturation.
pub(crate) fn kick(
    start_hz: f32,
    end_hz: f32,
    pitch_decay: f32,
    decay: f32,
    click: f32,
    seed: u32,
) -> Vec<f32> {
    let mut noise = Noise::new(seed);
    let mut click_filter = Svf::new(3000.0, 0.2);
    let mut phase = 0.0f32;
    let drive = 1.8;
    (0..samples(decay * 7.0))
        .map(|n| {
            let t = n as f32 / SR;
            let hz = end_hz + (start_hz - end_hz) * (-t / pitch_decay).exp();
            phase = (phase + hz / SR).fract();
            let body = sin_cycles(phase) * (-t / decay).exp() * (t / 0.001).min(1.0);
            let tick = click_filter.process(noise.next()).band * (-t / 0.004).exp() * click;
            (drive * (body + tick)).tanh() / drive.tanh()
        })
        .collect()
}

/// A snare: a decaying tone for the body plus band-passed noise for the wires.
pub(crate) fn snare(tone_hz: f32, noise_hz: f32, decay: f32, seed: u32) -> Vec<f32> {
    let mut noise = Noise::new(seed);
    let mut band = Svf::new(noise_hz, 0.1);
    let mut high = Svf::new(7000.0, 0.0);
    let mut phase = 0.0f32;
    (0..samples(decay * 6.0))
        .map(|n| {
            let t = n as f32 / SR;
            phase = (phase + tone_hz * (1.0 + 0.5 * (-t / 0.01).exp()) / SR).fract();
            let tone = sin_cycles(phase) * (-t / 0.045).exp() * 0.7;
            let x = noise.next();
            let wires =
                (band.process(x).band * 1.4 + high.process(x).high * 0.35) * (-t / decay).exp();
            (tone + wires) * (t / 0.0005).min(1.0)
        })
        .collect()
}

/// A hand clap: three quick noise bursts then a short tail, band-passed (broadly) around
/// `hz`.
pub(crate) fn clap(hz: f32, decay: f32, seed: u32) -> Vec<f32> {
    let mut noise = Noise::new(seed);
    let mut band = Svf::new(hz, 0.15);
    (0..samples(0.03 + decay * 6.0))
        .map(|n| {
            let t = n as f32 / SR;
            let bursts = [0.0f32, 0.011, 0.022]
                .iter()
                .filter(|&&start| t >= start)
                .map(|&start| (-(t - start) / 0.004).exp())
                .sum::<f32>();
            let tail = if t >= 0.03 { (-(t - 0.03) / decay).exp() } else { 0.0 };
            band.process(noise.next()).band * (bursts + tail) * 2.2
        })
        .collect()
}

/// A hi-hat or cymbal: high-passed noise with a touch of band-passed shimmer.
pub(crate) fn hat(decay: f32, high_hz: f32, seed: u32) -> Vec<f32> {
    let mut noise = Noise::new(seed);
    let mut high = Svf::new(high_hz, 0.1);
    let mut shimmer = Svf::new(high_hz * 1.35, 0.25);
    (0..samples(decay * 6.0))
        .map(|n| {
            let t = n as f32 / SR;
            let x = noise.next();
            let y = high.process(x).high * 0.8 + shimmer.process(x).band * 0.5;
            y * (-t / decay).exp() * (t / 0.0007).min(1.0)
        })
        .collect()
}

/// A rim shot / woodblock: a short pitched click.
pub(crate) fn rim(hz: f32, seed: u32) -> Vec<f32> {
    let mut noise = Noise::new(seed);
    let mut band = Svf::new(hz * 2.0, 0.4);
    let mut phase = 0.0f32;
    (0..samples(0.12))
        .map(|n| {
            let t = n as f32 / SR;
            phase = (phase + hz / SR).fract();
            let tone = sin_cycles(phase) * (-t / 0.018).exp();
            let click = band.process(noise.next()).band * (-t / 0.006).exp();
            tone * 0.8 + click * 1.2
        })
        .collect()
}

/// A rising noise sweep over `seconds` (the build-up before a drop).
pub(crate) fn riser(seconds: f32, seed: u32) -> Vec<f32> {
    let mut noise = Noise::new(seed);
    let mut band = Svf::new(400.0, 0.5);
    let len = samples(seconds);
    (0..len)
        .map(|n| {
            let x = n as f32 / len as f32;
            if n % 32 == 0 {
                band.set(400.0 * 20f32.powf(x), 0.5);
            }
            band.process(noise.next()).band * x * x
        })
        .collect()
}

/// A Schroeder all-pass diffuser.
struct AllPass {
    buffer: Vec<f32>,
    pos: usize,
    gain: f32,
}

impl AllPass {
    fn new(len: usize, gain: f32) -> AllPass {
        AllPass { buffer: vec![0.0; len], pos: 0, gain }
    }

    #[inline]
    fn process(&mut self, x: f32) -> f32 {
        let delayed = self.buffer[self.pos];
        let v = x + self.gain * delayed;
        self.buffer[self.pos] = v;
        self.pos = (self.pos + 1) % self.buffer.len();
        delayed - self.gain * v
    }
}

/// A mono-in, stereo-out reverb: two all-pass diffusers into a four-line feedback delay
/// network with a Householder mix and damping.
pub(crate) fn reverb(
    input: &[f32],
    size: f32,
    decay_s: f32,
    left: &mut [f32],
    right: &mut [f32],
    gain: f32,
) {
    const LENGTHS: [f32; 4] = [1153.0, 1427.0, 1741.0, 2083.0];
    let mut diffusers = (AllPass::new(142, 0.65), AllPass::new(379, 0.6));
    let mut lines: Vec<Vec<f32>> =
        LENGTHS.iter().map(|&l| vec![0.0; (l * size) as usize]).collect();
    let feedback: Vec<f32> =
        lines.iter().map(|line| 10f32.powf(-3.0 * line.len() as f32 / (SR * decay_s))).collect();
    let mut damp = [0.0f32; 4];
    let mut pos = [0usize; 4];
    let damping = 0.35;
    for (n, &x) in input.iter().enumerate() {
        let diffused = diffusers.1.process(diffusers.0.process(x));
        let outs: [f32; 4] = std::array::from_fn(|i| lines[i][pos[i]]);
        let sum = (outs[0] + outs[1] + outs[2] + outs[3]) * 0.5;
        left[n] += (outs[0] - outs[2] + outs[1] * 0.5) * gain;
        right[n] += (outs[1] - outs[3] + outs[2] * 0.5) * gain;
        for i in 0..4 {
            damp[i] += (1.0 - damping) * ((outs[i] - sum) * feedback[i] - damp[i]);
            lines[i][pos[i]] = diffused + damp[i];
            pos[i] = (pos[i] + 1) % lines[i].len();
        }
    }
}

/// A ping-pong delay: the first echo on the left, the next on the right, and so on.
pub(crate) fn ping_pong(
    input: &[f32],
    delay: usize,
    feedback: f32,
    left: &mut [f32],
    right: &mut [f32],
    gain: f32,
) {
    let mut line_l = vec![0.0f32; delay.max(1)];
    let mut line_r = vec![0.0f32; delay.max(1)];
    let mut tone = 0.0f32;
    let mut pos = 0;
    for (n, &x) in input.iter().enumerate() {
        let out_l = line_l[pos];
        let out_r = line_r[pos];
        left[n] += out_l * gain;
        right[n] += out_r * gain;
        // Each pass through the loop loses some treble, like a tape echo.
        tone += 0.45 * (out_r - tone);
        line_l[pos] = x + tone * feedback;
        line_r[pos] = out_l;
        pos = (pos + 1) % line_l.len();
    }
}

/// The master bus: scale to a loudness target, then a look-ahead peak limiter so that no
/// sample exceeds −1 dBFS, and interleave.
pub(crate) fn master(left: &[f32], right: &[f32], target_rms: f32) -> Vec<f32> {
    let energy: f64 = left.iter().chain(right).map(|&x| (x as f64) * (x as f64)).sum();
    let rms = (energy / (2 * left.len().max(1)) as f64).sqrt() as f32;
    let gain = if rms > 1e-9 { target_rms / rms } else { 1.0 };
    let ceiling = 0.891;
    let lookahead = (0.004 * SR) as usize;
    let release = (-1.0 / (0.12 * SR)).exp();
    let mut gains: Vec<f32> = left
        .iter()
        .zip(right)
        .map(|(&l, &r)| (ceiling / (l.abs().max(r.abs()) * gain).max(1e-9)).min(1.0))
        .collect();
    // Backward pass: start pulling the gain down `lookahead` samples before each peak.
    let step = 1.0 / lookahead as f32;
    for n in (0..gains.len().saturating_sub(1)).rev() {
        gains[n] = gains[n].min(gains[n + 1] + step);
    }
    // Forward pass: let it recover smoothly, never above what the peaks allow.
    let mut g = 1.0f32;
    for value in gains.iter_mut() {
        g = value.min(1.0 - (1.0 - g) * release);
        *value = g;
    }
    let mut out = Vec::with_capacity(left.len() * 2);
    for ((&l, &r), &g) in left.iter().zip(right).zip(&gains) {
        out.push((l * gain * g).clamp(-1.0, 1.0));
        out.push((r * gain * g).clamp(-1.0, 1.0));
    }
    out
}

/// Renders one note (or a chord sharing one filter and envelope) of `patch` into `out`:
/// the gate lasts `gate` seconds, then the release rings out. The filter's cutoff is
/// scaled from `sweep.0` at the start to `sweep.1` at the end of the gate. `seed` sets
/// the free-running oscillators' start phases.
pub(crate) fn voice(
    patch: &Patch,
    freqs: &[f32],
    gate: f32,
    sweep: (f32, f32),
    seed: u32,
    out: &mut Vec<f32>,
) {
    // The envelope first: it says how long the note rings (down to −60 dB).
    out.clear();
    let gate_len = (gate * SR) as usize;
    let mut envelope = Envelope::new(patch.amp);
    for n in 0..gate_len + (patch.amp.release * 7.0 * SR) as usize {
        let level = envelope.next(n < gate_len);
        if n > gate_len && level < 1e-3 {
            break;
        }
        out.push(level);
    }
    let mut signal = vec![0.0f32; out.len()];
    let mut noise = Noise::new(seed);
    for &hz in freqs {
        for &(wave, detune, level) in patch.oscs {
            // Detuned saws and squares start anywhere, as free-running analogue ones do;
            // sines and FM start at zero so that they do not click.
            let phase = match wave {
                Wave::Saw | Wave::Square => 0.5 + 0.5 * noise.next(),
                _ => 0.0,
            };
            Osc::new(wave, hz * 2f32.powf(detune / 12.0), phase).fill(&mut signal, level);
        }
    }
    let norm = 1.0 / (freqs.len().max(1) as f32).sqrt();
    let mut filter = Svf::new(patch.cutoff, patch.resonance);
    const CONTROL: usize = 16;
    let filter_env_coef = (-(CONTROL as f32) / (patch.filter_decay * SR)).exp();
    let mut filter_env = patch.env_hz;
    let sweep_ratio = (sweep.1 / sweep.0).ln();
    if patch.cutoff >= NO_FILTER && patch.env_hz == 0.0 {
        out.iter_mut().zip(&signal).for_each(|(y, &x)| *y *= x * norm);
        return;
    }
    for (block, (signal, out)) in signal.chunks(CONTROL).zip(out.chunks_mut(CONTROL)).enumerate() {
        let progress = ((block * CONTROL) as f32 / gate_len.max(1) as f32).min(1.0);
        filter.set(
            (patch.cutoff + filter_env) * sweep.0 * (sweep_ratio * progress).exp(),
            patch.resonance,
        );
        filter_env *= filter_env_coef;
        for (&x, y) in signal.iter().zip(out) {
            *y *= filter.process(x).low * norm;
        }
    }
}
