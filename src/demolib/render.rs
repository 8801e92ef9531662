//! Rendering a planned track: harmony, then each part (drums, bass, chords, lead) placed on
//! the beat grid and mixed, then the effects and the master.

use rand::RngExt;
use rand::seq::IndexedRandom;
use rand_chacha::ChaCha8Rng;

use super::TrackSpec;
use super::arrange::{Section, SectionKind};
use super::style::{Drums, Kit, StyleDef};
use super::synth::{self, Patch, SR};
use super::theory::{self, Chord, Key};

/// Synthesises `spec` with randomness from `rng`: interleaved stereo within ±1.
pub(crate) fn render(spec: &TrackSpec, rng: &mut ChaCha8Rng) -> Vec<f32> {
    let mut track = Track::new(spec);
    let harmony = harmony(spec, rng);
    drums(&mut track, rng);
    bass(&mut track, &harmony, rng);
    chords(&mut track, &harmony, rng);
    lead(&mut track, &harmony, rng);
    track.finish()
}

/// The track being rendered: its grid and its mix buses.
struct Track<'a> {
    spec: &'a TrackSpec,
    style: &'static StyleDef,
    /// Seconds per sixteenth.
    step: f64,
    left: Vec<f32>,
    right: Vec<f32>,
    reverb: Vec<f32>,
    delay: Vec<f32>,
    /// Side-chain gain over one beat, sample by sample from the beat.
    duck: Vec<f32>,
    /// A note's samples before they are mixed.
    scratch: Vec<f32>,
}

/// One note (or chord) for [`Track::play`].
struct Note<'n> {
    /// MIDI notes.
    pitches: &'n [i32],
    /// Seconds until the release.
    gate: f32,
    /// The filter's cutoff scale at the start and the end of the gate.
    sweep: (f32, f32),
    velocity: f32,
    /// Whether the side-chain ducks it.
    duck: bool,
}

impl<'n> Note<'n> {
    fn new(pitches: &'n [i32], gate: f32) -> Note<'n> {
        Note { pitches, gate, sweep: (1.0, 1.0), velocity: 1.0, duck: false }
    }
}

/// How one sound goes into the mix.
#[derive(Clone, Copy)]
struct Send {
    gain: f32,
    pan: f32,
    reverb: f32,
    delay: f32,
    duck: bool,
}

impl Send {
    fn of(patch: &Patch, duck: bool) -> Send {
        Send { gain: patch.gain, pan: patch.pan, reverb: patch.reverb, delay: patch.delay, duck }
    }

    fn dry(gain: f32, pan: f32, reverb: f32) -> Send {
        Send { gain, pan, reverb, delay: 0.0, duck: false }
    }
}

impl<'a> Track<'a> {
    fn new(spec: &'a TrackSpec) -> Track<'a> {
        let style = spec.style.def();
        let frames = spec.frames();
        let beat = spec.beat_seconds() as f32;
        let duck = (0..(beat * SR).ceil() as usize + 1)
            .map(|n| {
                let t = n as f32 / SR;
                1.0 - style.sidechain * (-t / (0.18 * beat)).exp() * (t / 0.004).clamp(0.3, 1.0)
            })
            .collect();
        Track {
            spec,
            style,
            step: spec.beat_seconds() / 4.0,
            left: vec![0.0; frames],
            right: vec![0.0; frames],
            reverb: vec![0.0; frames],
            delay: vec![0.0; frames],
            duck,
            scratch: Vec::new(),
        }
    }

    /// The time of a sixteenth of a bar; odd sixteenths swing.
    fn time(&self, bar: usize, step: usize) -> f64 {
        let swing = if step % 2 == 1 { self.style.swing } else { 0.0 };
        self.spec.offset + ((bar * 16 + step) as f64 + swing) * self.step
    }

    fn sample(time: f64) -> usize {
        (time * SR as f64).round() as usize
    }

    /// Seconds of `steps` sixteenths.
    fn steps(&self, steps: f64) -> f32 {
        (steps * self.step) as f32
    }

    /// Mixes `sound` (the scratch buffer when `sound` is `None`) in at `time`.
    fn add(&mut self, time: f64, sound: Option<&[f32]>, send: Send) {
        let start = Self::sample(time);
        let sound = sound.unwrap_or(&self.scratch);
        let angle = (send.pan.clamp(-1.0, 1.0) + 1.0) * std::f32::consts::FRAC_PI_4;
        let (left_gain, right_gain) = (angle.cos() * send.gain, angle.sin() * send.gain);
        let end = (start + sound.len()).min(self.left.len());
        // Where in the beat the sound starts, for the side-chain gain, then sample by sample.
        let beat = self.spec.beat_seconds() * SR as f64;
        let offset = Self::sample(self.spec.offset);
        let mut beat_pos = if start >= offset { (start - offset) as f64 % beat } else { 0.0 };
        for (n, &x) in (start..end).zip(sound) {
            let duck = if send.duck && n >= offset { self.duck[beat_pos as usize] } else { 1.0 };
            beat_pos += 1.0;
            if beat_pos >= beat {
                beat_pos -= beat;
            }
            let x = x * duck;
            self.left[n] += x * left_gain;
            self.right[n] += x * right_gain;
            if send.reverb > 0.0 {
                self.reverb[n] += x * send.gain * send.reverb;
            }
            if send.delay > 0.0 {
                self.delay[n] += x * send.gain * send.delay;
            }
        }
    }

    /// Renders `note` on `patch` into the scratch buffer and mixes it in at `time`.
    fn play(&mut self, time: f64, patch: &Patch, note: Note, rng: &mut ChaCha8Rng) {
        let freqs: Vec<f32> = note.pitches.iter().map(|&n| theory::midi_hz(n)).collect();
        let mut scratch = std::mem::take(&mut self.scratch);
        synth::voice(patch, &freqs, note.gate, note.sweep, rng.random(), &mut scratch);
        self.scratch = scratch;
        let mut send = Send::of(patch, note.duck);
        send.gain *= note.velocity;
        self.add(time, None, send);
    }

    /// Every bar of every section: (section, bar number, bar within the section).
    fn bars(&self) -> impl Iterator<Item = (&'a Section, usize, usize)> + use<'a> {
        self.spec.sections.iter().flat_map(|s| (0..s.bars).map(move |b| (s, s.start_bar + b, b)))
    }

    /// The effects and the master: interleaved stereo within ±1.
    fn finish(mut self) -> Vec<f32> {
        let echo = (3.0 * self.step * SR as f64).round() as usize;
        synth::ping_pong(&self.delay, echo, 0.38, &mut self.left, &mut self.right, 0.55);
        let (size, decay) = self.style.reverb;
        synth::reverb(
            &self.reverb,
            size,
            decay,
            &mut self.left,
            &mut self.right,
            self.style.reverb_gain,
        );
        synth::master(&self.left, &self.right, self.style.target_rms)
    }
}

/// The hits of a 16-step pattern: (step, velocity).
fn hits(pattern: &str) -> impl Iterator<Item = (usize, f32)> + '_ {
    pattern.bytes().enumerate().filter_map(|(step, c)| match c {
        b'.' => None,
        b'o' => Some((step, 0.55)),
        _ => Some((step, 1.0)),
    })
}

/// The drums of a kit.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Drum {
    Kick,
    Snare,
    Clap,
    ClosedHat,
    OpenHat,
    Rim,
    Shaker,
}

impl Drum {
    /// How it goes into the mix: level, pan, reverb.
    fn send(self, kick_gain: f32) -> Send {
        match self {
            Drum::Kick => Send::dry(0.9 * kick_gain, 0.0, 0.0),
            Drum::Snare => Send::dry(0.42, 0.0, 0.15),
            Drum::Clap => Send::dry(0.42, 0.05, 0.2),
            Drum::ClosedHat => Send::dry(0.24, 0.25, 0.02),
            Drum::OpenHat => Send::dry(0.13, -0.2, 0.05),
            Drum::Rim => Send::dry(0.22, -0.3, 0.25),
            Drum::Shaker => Send::dry(0.09, 0.35, 0.05),
        }
    }

    /// Its pattern in a style: `variant` 0 is the groove (A), 1 the lift (B).
    fn pattern(self, drums: &Drums, variant: usize) -> &'static str {
        let patterns = match self {
            Drum::Kick => drums.kick,
            Drum::Snare => drums.snare,
            Drum::Clap => drums.clap,
            Drum::ClosedHat => drums.closed,
            Drum::OpenHat => drums.open,
            Drum::Rim => drums.rim,
            Drum::Shaker => drums.shaker,
        };
        patterns[variant]
    }
}

/// The drum sounds of one track, rendered once and mixed in at every hit.
struct DrumKit {
    kick: Vec<f32>,
    snare: Vec<f32>,
    clap: Vec<f32>,
    /// Three closed hats that take turns, so that a run of hats is not a machine gun.
    closed: [Vec<f32>; 3],
    open: Vec<f32>,
    rim: Vec<f32>,
    shaker: Vec<f32>,
    crash: Vec<f32>,
}

impl DrumKit {
    fn new(def: &Kit, key: Key, rng: &mut ChaCha8Rng) -> DrumKit {
        // Tune the pitched drums, as producers do, to the key's tonic or fifth, so that
        // they do not pull the key elsewhere.
        let tune = |hz: f32| {
            let distance = |note: i32| (theory::midi_hz(note) / hz).ln().abs();
            let notes =
                (12..108).filter(|n| [0, 7].contains(&(n - key.tonic as i32).rem_euclid(12)));
            notes.min_by(|&a, &b| distance(a).total_cmp(&distance(b))).map_or(hz, theory::midi_hz)
        };
        let (start, end, pitch_decay, decay, click) = def.kick;
        let (start, end) = (start * tune(end) / end, tune(end));
        let (tone, band, snare_decay) = def.snare;
        let tone = tune(tone);
        let mut seed = || rng.random::<u32>();
        DrumKit {
            kick: synth::kick(start, end, pitch_decay, decay, click, seed()),
            snare: synth::snare(tone, band, snare_decay, seed()),
            clap: synth::clap(tune(1300.0), def.clap_decay, seed()),
            closed: [
                synth::hat(def.hat_decay, def.hat_hz, seed()),
                synth::hat(def.hat_decay * 0.85, def.hat_hz * 1.05, seed()),
                synth::hat(def.hat_decay * 1.15, def.hat_hz * 0.95, seed()),
            ],
            open: synth::hat(def.open_decay, def.hat_hz * 0.9, seed()),
            rim: synth::rim(tune(def.rim_hz), seed()),
            shaker: synth::hat(0.018, def.hat_hz * 1.2, seed()),
            crash: synth::hat(0.5, 4500.0, seed()),
        }
    }

    fn sound(&self, drum: Drum, rng: &mut ChaCha8Rng) -> &[f32] {
        match drum {
            Drum::Kick => &self.kick,
            Drum::Snare => &self.snare,
            Drum::Clap => &self.clap,
            Drum::ClosedHat => &self.closed[rng.random_range(0..3)],
            Drum::OpenHat => &self.open,
            Drum::Rim => &self.rim,
            Drum::Shaker => &self.shaker,
        }
    }
}

/// The drums that play in a bar, with their pattern variant and level.
fn drum_layers(
    kind: SectionKind,
    in_section: usize,
    bars: usize,
    keeps_pulse: bool,
) -> Vec<(Drum, usize, f32)> {
    use Drum::*;
    let all = [Kick, Snare, Clap, ClosedHat, OpenHat, Rim, Shaker];
    match kind {
        SectionKind::Intro if in_section < bars / 2 => vec![(Kick, 0, 1.0), (ClosedHat, 0, 1.0)],
        SectionKind::Intro => {
            vec![(Kick, 0, 1.0), (ClosedHat, 0, 1.0), (Rim, 0, 1.0), (OpenHat, 0, 1.0)]
        }
        SectionKind::A => all.iter().map(|&d| (d, 0, 1.0)).collect(),
        SectionKind::B => all.iter().map(|&d| (d, 1, 1.0)).collect(),
        // Styles without a four-on-the-floor keep a soft pulse through the break.
        SectionKind::Break if keeps_pulse => vec![(ClosedHat, 0, 0.4), (Rim, 1, 1.0)],
        SectionKind::Break => vec![],
        SectionKind::Build => vec![(ClosedHat, 0, 1.0)],
        SectionKind::Outro if in_section + 2 >= bars => vec![(Kick, 0, 1.0), (ClosedHat, 0, 1.0)],
        SectionKind::Outro => vec![
            (Kick, 0, 1.0),
            (Snare, 0, 1.0),
            (Clap, 0, 1.0),
            (ClosedHat, 0, 1.0),
            (Rim, 0, 1.0),
        ],
    }
}

/// The drums: each section's patterns, fills at the end of long sections, a snare roll
/// and a riser in builds, a crash on section starts.
fn drums(track: &mut Track, rng: &mut ChaCha8Rng) {
    let style = track.style;
    let kit = DrumKit::new(&style.kit, track.spec.key, rng);
    let keeps_pulse = style.sidechain < 0.3;
    for (section, bar, in_section) in track.bars() {
        for (drum, variant, level) in
            drum_layers(section.kind, in_section, section.bars, keeps_pulse)
        {
            for (step, velocity) in hits(drum.pattern(&style.drums, variant)) {
                let mut send = drum.send(style.kit.kick_gain);
                send.gain *= level * velocity;
                if drum == Drum::ClosedHat {
                    send.gain *= rng.random_range(0.8..1.0);
                }
                track.add(track.time(bar, step), Some(kit.sound(drum, rng)), send);
            }
        }
        let snare = |gain: f32| Send::dry(gain, 0.0, 0.2);
        // A snare fill closes long sections that lead into more groove.
        let next =
            track.spec.sections.iter().find(|s| s.start_bar == section.start_bar + section.bars);
        let leads_on = next.is_some_and(|n| {
            matches!(n.kind, SectionKind::A | SectionKind::B | SectionKind::Break)
        });
        let long_groove =
            matches!(section.kind, SectionKind::A | SectionKind::B) && section.bars >= 8;
        if long_groove && in_section + 1 == section.bars && leads_on {
            for (step, velocity) in [(13, 0.45), (14, 0.6), (15, 0.8)] {
                track.add(track.time(bar, step), Some(&kit.snare), snare(0.42 * velocity));
            }
        }
        if section.kind == SectionKind::Build {
            // Kick on every beat, and a snare roll from quarters to sixteenths, rising.
            for step in (0..16).step_by(4) {
                track.add(
                    track.time(bar, step),
                    Some(&kit.kick),
                    Drum::Kick.send(style.kit.kick_gain),
                );
            }
            let every = [4, 2, 1, 1][(in_section * 4 / section.bars).min(3)];
            for step in (0..16).step_by(every) {
                let rise = (in_section * 16 + step) as f32 / (section.bars * 16) as f32;
                track.add(
                    track.time(bar, step),
                    Some(&kit.snare),
                    snare(0.42 * (0.3 + 0.7 * rise)),
                );
            }
            if in_section == 0 {
                let riser = synth::riser(track.steps(section.bars as f64 * 16.0), rng.random());
                track.add(track.time(bar, 0), Some(&riser), Send::dry(0.25 * style.fx, 0.0, 0.35));
            }
        }
        if in_section == 0 && section.kind != SectionKind::Intro {
            track.add(track.time(bar, 0), Some(&kit.crash), Send::dry(0.16 * style.fx, 0.15, 0.1));
        }
    }
}

/// The chord of every bar.
pub(super) fn harmony(spec: &TrackSpec, rng: &mut ChaCha8Rng) -> Vec<Chord> {
    let style = spec.style.def();
    let progressions = theory::progressions(spec.key.mode);
    let groove = *progressions.choose(rng).unwrap_or(&progressions[0]);
    let others: Vec<[usize; 4]> = progressions.iter().copied().filter(|p| *p != groove).collect();
    let lift = *others.choose(rng).unwrap_or(&groove);
    let mut chords = Vec::with_capacity(spec.bars());
    for section in &spec.sections {
        let progression = match section.kind {
            SectionKind::Intro => [0, 3, 0, 3],
            SectionKind::A => groove,
            SectionKind::B => lift,
            SectionKind::Break => [0, 5, 3, 3],
            SectionKind::Build => [3, 3, 4, 4],
            SectionKind::Outro => [0, 3, 0, 0],
        };
        for b in 0..section.bars {
            let degree = if section.kind == SectionKind::Build {
                progression[b * 4 / section.bars]
            } else {
                progression[(b / style.bars_per_chord) % 4]
            };
            chords.push(spec.key.chord(degree, style.sevenths && degree != 0));
        }
    }
    if let Some(last) = chords.last_mut() {
        *last = spec.key.chord(0, false);
    }
    chords
}

/// The filter sweep of a section at `progress` (0..1 through it).
fn brightness(kind: SectionKind, progress: f32) -> f32 {
    match kind {
        SectionKind::Intro => 0.3 * (progress * (1.0f32 / 0.3).ln()).exp(),
        SectionKind::A => 1.0,
        SectionKind::B => 1.3,
        SectionKind::Break => 0.75,
        SectionKind::Build => 0.5 * 4f32.powf(progress),
        SectionKind::Outro => 1.0 - 0.5 * progress,
    }
}

/// The bass: the chord's root on the style's pattern, in grooves and the outro.
fn bass(track: &mut Track, harmony: &[Chord], rng: &mut ChaCha8Rng) {
    let style = track.style;
    let (groove, lift) = two_of(style.bass_patterns, rng);
    for (section, bar, _) in track.bars() {
        let pattern = match section.kind {
            SectionKind::A | SectionKind::Outro => groove,
            SectionKind::B => lift,
            _ => continue,
        };
        let root = theory::note_at_or_above(harmony[bar].root(), style.bass_low);
        let onsets: Vec<(usize, u8)> =
            pattern.bytes().enumerate().filter(|&(_, c)| c != b'.').collect();
        for (i, &(step, c)) in onsets.iter().enumerate() {
            let note = root
                + match c {
                    b'8' => 12,
                    b'5' => 7,
                    _ => 0,
                };
            let until_next = onsets.get(i + 1).map_or(16, |&(next, _)| next) - step;
            let length = if style.bass_gate > 0.0 {
                style.bass_gate as f64
            } else {
                until_next as f64 - 0.2
            };
            let gate = track.steps(length);
            let time = track.time(bar, step);
            track.play(time, &style.bass, Note { duck: true, ..Note::new(&[note], gate) }, rng);
        }
    }
}

/// Two different patterns from `patterns` (the same one twice if there is only one).
fn two_of(patterns: &'static [&'static str], rng: &mut ChaCha8Rng) -> (&'static str, &'static str) {
    let first = *patterns.choose(rng).unwrap_or(&"");
    let others: Vec<&'static str> = patterns.iter().copied().filter(|p| *p != first).collect();
    (first, *others.choose(rng).unwrap_or(&first))
}

/// The chords: a pad (intro, break, build, lift, outro; under the groove in some styles)
/// and stabs on the style's rhythm in grooves, lifts and the outro's first half.
fn chords(track: &mut Track, harmony: &[Chord], rng: &mut ChaCha8Rng) {
    let style = track.style;
    let per_chord = style.bars_per_chord;
    for section in &track.spec.sections {
        let pad = match section.kind {
            SectionKind::A => style.pad_in_groove,
            _ => true,
        };
        if !pad {
            continue;
        }
        let ducked = !matches!(section.kind, SectionKind::Break);
        // The pad steps back under the groove and swells in the breakdown.
        let level = match section.kind {
            SectionKind::A | SectionKind::B => 0.8,
            SectionKind::Break => 2.0,
            _ => 1.0,
        };
        let mut b = 0;
        while b < section.bars {
            let bars = if section.kind == SectionKind::Build {
                1
            } else {
                per_chord.min(section.bars - b)
            };
            let bar = section.start_bar + b;
            let chord = &harmony[bar];
            let mut notes = chord.voiced(60);
            notes.insert(0, theory::note_at_or_above(chord.root(), 48));
            let progress = |b: usize| b as f32 / section.bars as f32;
            let sweep = (
                brightness(section.kind, progress(b)),
                brightness(section.kind, progress(b + bars)),
            );
            let gate = track.steps(bars as f64 * 16.0);
            let note = Note { sweep, velocity: level, duck: ducked, ..Note::new(&notes, gate) };
            track.play(track.time(bar, 0), &style.pad, note, rng);
            b += bars;
        }
    }
    let Some(stab) = style.stab else {
        return;
    };
    let (groove, lift) = two_of(style.stab_patterns, rng);
    for (section, bar, in_section) in track.bars() {
        let pattern = match section.kind {
            SectionKind::A => groove,
            SectionKind::B => lift,
            SectionKind::Outro if in_section < section.bars / 2 => groove,
            _ => continue,
        };
        let notes = harmony[bar].voiced(style.stab_center);
        let onsets: Vec<usize> = hits(pattern).map(|(step, _)| step).collect();
        for (i, &step) in onsets.iter().enumerate() {
            let until_next = onsets.get(i + 1).map_or(16, |&next| next) - step;
            let length = if style.stab_gate > 0.0 {
                style.stab_gate as f64
            } else {
                until_next as f64 - 0.3
            };
            let gate = track.steps(length);
            let bright = brightness(section.kind, 0.0);
            let velocity = if step.is_multiple_of(4) { 1.0 } else { 0.85 };
            let note =
                Note { sweep: (bright, bright), velocity, duck: true, ..Note::new(&notes, gate) };
            track.play(track.time(bar, step), &stab, note, rng);
        }
    }
}

/// One note of a melodic motif, four bars long.
struct MotifNote {
    /// Sixteenth within the four bars.
    step: usize,
    /// Length in sixteenths.
    length: usize,
    /// The note's random choice, 0..1, kept so that the motif repeats.
    choice: f32,
}

/// A four-bar motif: bar 1, bar 2, bar 1 again, and an ending bar that rests at its end.
fn motif(rng: &mut ChaCha8Rng, density: f64, longest: usize) -> Vec<MotifNote> {
    let mut bar = |ending: bool| -> Vec<(usize, f32)> {
        (0..16usize)
            .filter_map(|step| {
                let chance = match step {
                    0 => 1.0,
                    s if s.is_multiple_of(4) => 0.65 * density * 1.5,
                    s if s.is_multiple_of(2) => 0.45 * density * 1.5,
                    _ => 0.18 * density * 1.5,
                };
                let hit = rng.random_bool(chance.min(1.0)) && !(ending && step >= 12);
                let choice = rng.random::<f32>();
                hit.then_some((step, choice))
            })
            .collect()
    };
    let first = bar(false);
    let second = bar(false);
    let ending = bar(true);
    let onsets: Vec<(usize, f32)> = [&first, &second, &first, &ending]
        .iter()
        .enumerate()
        .flat_map(|(b, notes)| notes.iter().map(move |&(step, choice)| (b * 16 + step, choice)))
        .collect();
    onsets
        .iter()
        .enumerate()
        .map(|(i, &(step, choice))| {
            let next = onsets.get(i + 1).map_or(64, |&(next, _)| next);
            MotifNote { step, length: (next - step).min(longest), choice }
        })
        .collect()
}

/// The lead: a motif per section kind, its pitches drawn each time from the bar's chord
/// and the key's scale, so that it follows the harmony and repeats with its section.
fn lead(track: &mut Track, harmony: &[Chord], rng: &mut ChaCha8Rng) {
    let style = track.style;
    let groove = motif(rng, style.lead_density, style.lead_max);
    let lift = motif(rng, style.lead_density, style.lead_max);
    let key = track.spec.key;
    for section in &track.spec.sections {
        let (motif, low, level) = match section.kind {
            SectionKind::A => (&groove, style.lead_low, 1.0),
            SectionKind::B => (&lift, style.lead_low + 5, 1.0),
            SectionKind::Break => (&groove, style.lead_low, 1.0),
            _ => continue,
        };
        let high = low + 16;
        let mut previous = theory::note_at_or_above(key.tonic as i32, low + 4);
        for phrase in (0..section.bars).step_by(4) {
            for note in motif {
                let bar = section.start_bar + phrase + note.step / 16;
                if bar >= section.start_bar + section.bars {
                    break;
                }
                let step = note.step % 16;
                let pitch = pick_pitch(key, &harmony[bar], previous, step, note.choice, low, high);
                previous = pitch;
                let gate = track.steps(note.length as f64 * 0.85);
                let velocity = level * if step.is_multiple_of(4) { 1.0 } else { 0.8 };
                let pitches = [pitch];
                let note = Note { velocity, ..Note::new(&pitches, gate) };
                track.play(track.time(bar, step), &style.lead, note, rng);
            }
        }
    }
}

/// A melody note: on the beat, often the tonic when the chord holds it (always on the
/// tonic chord's downbeat), otherwise a chord tone near the last note; between beats a
/// step or two along the scale.
fn pick_pitch(
    key: Key,
    chord: &Chord,
    previous: i32,
    step: usize,
    choice: f32,
    low: i32,
    high: i32,
) -> i32 {
    let nearest = |candidates: Vec<i32>, skip_same: bool| -> Vec<i32> {
        let mut sorted: Vec<i32> =
            candidates.into_iter().filter(|&n| !(skip_same && n == previous)).collect();
        sorted.sort_by_key(|&n| ((n - previous).abs(), n));
        sorted
    };
    let tonic = key.tonic as i32;
    let range = low..=high;
    if step.is_multiple_of(4) {
        // The tonic, whenever the chord holds it: on the tonic chord's first beat always.
        if chord.tones.contains(&tonic) && (step == 0 && chord.degree == 0 || choice < 0.4) {
            return nearest(range.filter(|n| n.rem_euclid(12) == tonic).collect(), false)[0];
        }
        let tones = nearest(
            range.filter(|n| chord.tones.contains(&n.rem_euclid(12))).collect(),
            choice >= 0.3,
        );
        return tones[if choice < 0.75 { 0 } else { 1.min(tones.len() - 1) }];
    }
    let scale = key.scale(chord.degree == 4);
    let notes: Vec<i32> = range.filter(|n| scale.contains(&(n - tonic).rem_euclid(12))).collect();
    let here =
        notes.iter().enumerate().min_by_key(|&(_, &n)| (n - previous).abs()).map_or(0, |(i, _)| i)
            as i32;
    let delta = [-2, -1, -1, 1, 1, 2][((choice * 6.0) as usize).min(5)];
    let mut next = here + delta;
    if next < 0 || next >= notes.len() as i32 {
        next = here - delta;
    }
    notes[next.clamp(0, notes.len() as i32 - 1) as usize]
}
