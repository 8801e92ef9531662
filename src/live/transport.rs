//! The musical clock: bars and beats over the output's sample counter.
//!
//! The output device's sample counter is the master clock (DESIGN §6); the transport only
//! says which bar and beat a sample falls on. A tempo is held in thousandths of a BPM, so a
//! beat's length in samples is the exact rational `rate · 60 000 / millibpm` and beat `n` of
//! a tempo segment starts at `round(n · rate · 60 000 / millibpm)` samples into it, computed
//! in integers: rounding never accumulates, and bar 1000 is within half a sample of its ideal
//! time. A tempo change opens a new segment on the next bar line, so every sample already
//! scheduled before that line keeps its bar and beat.

use crate::{Error, Result};

/// Beats per bar (4/4 throughout; phrases in the database are 4/4 too).
pub const BEATS_PER_BAR: u32 = 4;

/// The slowest tempo accepted, BPM.
pub const MIN_BPM: f64 = 40.0;

/// The fastest tempo accepted, BPM.
pub const MAX_BPM: f64 = 240.0;

/// Taps further apart than this (seconds) start a new tap-tempo measurement.
pub const TAP_RESET_SECONDS: u32 = 2;

/// How many of the latest taps tap tempo looks at (so 4 intervals).
const TAPS_KEPT: usize = 5;

/// A tempo in thousandths of a BPM, validated to [`MIN_BPM`]..=[`MAX_BPM`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Tempo {
    millibpm: u32,
}

impl Tempo {
    /// A tempo from BPM, rounded to 0.001 BPM.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] outside 40..=240 BPM (or not finite).
    pub fn from_bpm(bpm: f64) -> Result<Self> {
        if !bpm.is_finite() || !(MIN_BPM..=MAX_BPM).contains(&bpm) {
            return Err(Error::InvalidParameter {
                name: "tempo",
                reason: format!("{bpm} BPM; the transport runs from {MIN_BPM} to {MAX_BPM} BPM"),
            });
        }
        Ok(Self { millibpm: (bpm * 1000.0).round() as u32 })
    }

    /// The tempo in BPM.
    pub fn bpm(self) -> f64 {
        f64::from(self.millibpm) / 1000.0
    }

    /// The tempo in thousandths of a BPM (the exact value).
    pub fn millibpm(self) -> u32 {
        self.millibpm
    }

    /// Samples per beat at `rate` Hz (inexact; for display and estimates).
    pub fn samples_per_beat(self, rate: u32) -> f64 {
        f64::from(rate) * 60_000.0 / f64::from(self.millibpm)
    }

    /// Where beat `n` starts, in samples after beat 0: `round(n · rate · 60 000 / millibpm)`
    /// in exact integer arithmetic.
    pub fn beat_offset(self, rate: u32, n: u64) -> u64 {
        let num = u128::from(n) * u128::from(rate) * 60_000;
        let den = u128::from(self.millibpm);
        ((2 * num + den) / (2 * den)) as u64
    }

    /// The beat that `offset` samples after beat 0 falls in: the largest `n` with
    /// `beat_offset(n) <= offset`.
    pub fn beat_at(self, rate: u32, offset: u64) -> u64 {
        let estimate =
            (u128::from(offset) * u128::from(self.millibpm) / (u128::from(rate) * 60_000)) as u64;
        let mut n = estimate;
        while self.beat_offset(rate, n + 1) <= offset {
            n += 1;
        }
        while n > 0 && self.beat_offset(rate, n) > offset {
            n -= 1;
        }
        n
    }
}

/// A musical position.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Position {
    /// Bar, from 0 at [`Transport::play`].
    pub bar: u64,
    /// Beat in the bar, `0..BEATS_PER_BAR`.
    pub beat: u32,
    /// How far through the beat, `0.0..1.0`.
    pub fraction: f64,
}

/// A tempo change: which tempo, from which bar line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TempoChange {
    /// The new tempo.
    pub tempo: Tempo,
    /// The bar it takes effect on.
    pub bar: u64,
    /// That bar line's sample.
    pub sample: u64,
}

/// A stretch of constant tempo starting on a bar line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Segment {
    sample: u64,
    bar: u64,
    tempo: Tempo,
}

/// Tap tempo: the median interval of the last few taps.
#[derive(Debug, Clone, Default)]
struct Taps {
    samples: [u64; TAPS_KEPT],
    len: usize,
}

impl Taps {
    /// Records a tap; the median of the kept intervals, in samples, once there are two.
    fn tap(&mut self, sample: u64, reset_after: u64) -> Option<u64> {
        let last = self.len.checked_sub(1).map(|i| self.samples[i]);
        if last.is_none_or(|last| sample <= last || sample - last > reset_after) {
            self.len = 0;
        }
        if self.len == TAPS_KEPT {
            self.samples.copy_within(1.., 0);
            self.len -= 1;
        }
        self.samples[self.len] = sample;
        self.len += 1;
        if self.len < 3 {
            return None;
        }
        let mut intervals = [0u64; TAPS_KEPT - 1];
        let n = self.len - 1;
        for (i, w) in self.samples[..self.len].windows(2).enumerate() {
            intervals[i] = w[1] - w[0];
        }
        let intervals = &mut intervals[..n];
        intervals.sort_unstable();
        // An even count takes the mean of the middle two, rounded.
        Some(if n % 2 == 1 {
            intervals[n / 2]
        } else {
            (intervals[n / 2 - 1] + intervals[n / 2]).div_ceil(2)
        })
    }
}

/// The transport: play/stop, tempo, tap tempo, and sample ↔ bar/beat arithmetic.
///
/// No wall clock: every method takes the sample it happens at, so an offline renderer
/// drives it with a virtual clock and gets the same answers.
///
/// ```
/// use memsynth::live::transport::{Tempo, Transport};
/// let mut t = Transport::new(48_000, Tempo::from_bpm(120.0)?);
/// t.play(0);
/// assert_eq!(t.bar_sample(1), Some(96_000)); // 4 beats of 24 000 samples
/// let change = t.set_tempo(Tempo::from_bpm(100.0)?, 10)?; // waits for bar 1
/// assert_eq!((change.bar, change.sample), (1, 96_000));
/// assert_eq!(t.bar_sample(2), Some(96_000 + 4 * 28_800));
/// # Ok::<(), memsynth::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Transport {
    rate: u32,
    playing: bool,
    /// The tempo to start with on the next `play`.
    tempo: Tempo,
    /// Tempo segments since `play`, in time order; the first starts at bar 0.
    segments: Vec<Segment>,
    taps: Taps,
}

impl Transport {
    /// A stopped transport at `rate` Hz (the output rate) and `tempo`.
    pub fn new(rate: u32, tempo: Tempo) -> Self {
        Self { rate, playing: false, tempo, segments: Vec::new(), taps: Taps::default() }
    }

    /// The sample rate the transport counts in.
    pub fn rate(&self) -> u32 {
        self.rate
    }

    /// Whether it is playing.
    pub fn is_playing(&self) -> bool {
        self.playing
    }

    /// Starts playing with bar 0 on `sample`. Already playing: nothing changes.
    pub fn play(&mut self, sample: u64) {
        if self.playing {
            return;
        }
        self.playing = true;
        self.segments.clear();
        self.segments.push(Segment { sample, bar: 0, tempo: self.tempo });
    }

    /// Stops; the tempo in force is kept for the next `play`.
    pub fn stop(&mut self, sample: u64) {
        if self.playing {
            self.tempo = self.tempo_at(sample);
        }
        self.playing = false;
    }

    /// The tempo in force at `sample` (the tempo the next `play` starts at when stopped).
    pub fn tempo_at(&self, sample: u64) -> Tempo {
        self.segment_at_sample(sample).map_or(self.tempo, |s| s.tempo)
    }

    /// The tempo in force on `bar`.
    pub fn tempo_at_bar(&self, bar: u64) -> Tempo {
        self.segment_at_bar(bar).map_or(self.tempo, |s| s.tempo)
    }

    /// Changes the tempo on the first bar line after `now` (stopped: at once), so that
    /// everything already scheduled before that line stays on the grid. A second change
    /// before that line replaces the first.
    ///
    /// # Errors
    /// None today; the `Result` leaves room for refusing a change (e.g. while recording).
    pub fn set_tempo(&mut self, tempo: Tempo, now: u64) -> Result<TempoChange> {
        if !self.playing {
            self.tempo = tempo;
            return Ok(TempoChange { tempo, bar: 0, sample: now });
        }
        // A change still waiting for its line is replaced.
        while self.segments.len() > 1 && self.segments.last().is_some_and(|s| s.sample > now) {
            self.segments.pop();
        }
        let (bar, sample) = self.next_bar_line(now + 1).expect("playing");
        let last = *self.segments.last().expect("playing has a segment");
        if last.tempo != tempo {
            self.segments.push(Segment { sample, bar, tempo });
        }
        Ok(TempoChange { tempo, bar, sample })
    }

    /// Tap tempo: call on every tap. From the third tap on (taps less than
    /// [`TAP_RESET_SECONDS`] apart), the median interval of the last four sets the tempo on
    /// the next bar line; the change is returned.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if the tapped tempo is outside 40..=240 BPM (nothing
    /// changes).
    pub fn tap(&mut self, sample: u64) -> Result<Option<TempoChange>> {
        let reset = u64::from(TAP_RESET_SECONDS) * u64::from(self.rate);
        let Some(interval) = self.taps.tap(sample, reset) else {
            return Ok(None);
        };
        let bpm = 60.0 * f64::from(self.rate) / interval as f64;
        let tempo = Tempo::from_bpm(bpm)?;
        self.set_tempo(tempo, sample).map(Some)
    }

    /// The bar, beat and fraction at `sample`; `None` when stopped or before bar 0.
    pub fn position(&self, sample: u64) -> Option<Position> {
        let seg = self.segment_at_sample(sample)?;
        let bpb = u64::from(BEATS_PER_BAR);
        let offset = sample - seg.sample;
        let beat = seg.tempo.beat_at(self.rate, offset);
        let from = seg.tempo.beat_offset(self.rate, beat);
        let to = seg.tempo.beat_offset(self.rate, beat + 1);
        Some(Position {
            bar: seg.bar + beat / bpb,
            beat: (beat % bpb) as u32,
            fraction: (offset - from) as f64 / (to - from) as f64,
        })
    }

    /// The sample `bar` starts on; `None` when stopped.
    pub fn bar_sample(&self, bar: u64) -> Option<u64> {
        self.beat_sample(bar, 0)
    }

    /// The sample beat `beat` of `bar` starts on; `None` when stopped.
    pub fn beat_sample(&self, bar: u64, beat: u32) -> Option<u64> {
        let seg = self.segment_at_bar(bar)?;
        let n = (bar - seg.bar) * u64::from(BEATS_PER_BAR) + u64::from(beat);
        Some(seg.sample + seg.tempo.beat_offset(self.rate, n))
    }

    /// The first bar line at or after `sample`: `(bar, its sample)`; `None` when stopped.
    pub fn next_bar_line(&self, sample: u64) -> Option<(u64, u64)> {
        if !self.playing {
            return None;
        }
        let bar = match self.position(sample) {
            None => 0,
            Some(p) if p.beat == 0 && p.fraction == 0.0 => p.bar,
            Some(p) => p.bar + 1,
        };
        Some((bar, self.bar_sample(bar)?))
    }

    fn segment_at_sample(&self, sample: u64) -> Option<&Segment> {
        if !self.playing {
            return None;
        }
        self.segments.iter().rev().find(|s| s.sample <= sample)
    }

    fn segment_at_bar(&self, bar: u64) -> Option<&Segment> {
        if !self.playing {
            return None;
        }
        self.segments.iter().rev().find(|s| s.bar <= bar)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bpm(b: f64) -> Tempo {
        Tempo::from_bpm(b).unwrap()
    }

    #[test]
    fn tempo_is_validated() {
        assert!(Tempo::from_bpm(39.9).is_err());
        assert!(Tempo::from_bpm(240.1).is_err());
        assert!(Tempo::from_bpm(f64::NAN).is_err());
        assert_eq!(bpm(40.0).millibpm(), 40_000);
        assert_eq!(bpm(123.4567).millibpm(), 123_457);
    }

    #[test]
    fn beat_offsets_and_inverse_agree() {
        for b in [40.0, 97.0, 120.0, 123.457, 239.999] {
            let t = bpm(b);
            for n in 0..2000u64 {
                let o = t.beat_offset(48_000, n);
                assert_eq!(t.beat_at(48_000, o), n, "{b} beat {n}");
                if o > 0 {
                    assert_eq!(t.beat_at(48_000, o - 1), n - 1);
                }
            }
        }
    }

    #[test]
    fn bar_1000_has_no_drift() {
        let mut t = Transport::new(48_000, bpm(123.457));
        t.play(777);
        let ideal = 777.0 + 1000.0 * 4.0 * 60.0 * 48_000.0 / 123.457;
        let got = t.bar_sample(1000).unwrap() as f64;
        assert!((got - ideal).abs() <= 0.5 + 1e-6, "{got} vs {ideal}");
        // The sum of the bar lengths is the same bar line: no per-bar rounding.
        let sum: u64 =
            (0..1000).map(|b| t.bar_sample(b + 1).unwrap() - t.bar_sample(b).unwrap()).sum();
        assert_eq!(777 + sum, t.bar_sample(1000).unwrap());
    }

    #[test]
    fn tempo_change_waits_for_the_bar_line() {
        let mut t = Transport::new(48_000, bpm(120.0));
        t.play(1000);
        // Bar 2 of 96 000 samples at 120 BPM starts at 193 000.
        let before = t.bar_sample(2).unwrap();
        assert_eq!(before, 193_000);
        let change = t.set_tempo(bpm(100.0), 150_000).unwrap();
        assert_eq!((change.bar, change.sample), (2, 193_000));
        // Everything up to the line is unchanged.
        assert_eq!(t.tempo_at(192_999), bpm(120.0));
        assert_eq!(t.position(192_999).unwrap().bar, 1);
        assert_eq!(t.tempo_at(193_000), bpm(100.0));
        assert_eq!(t.bar_sample(3).unwrap(), 193_000 + 4 * 28_800);
        let p = t.position(193_000 + 28_800 + 14_400).unwrap();
        assert_eq!((p.bar, p.beat), (2, 1));
        assert!((p.fraction - 0.5).abs() < 1e-12);
        // A second change before the line replaces the first.
        let again = t.set_tempo(bpm(90.0), 160_000).unwrap();
        assert_eq!(again.bar, 2);
        assert_eq!(t.tempo_at_bar(2), bpm(90.0));
        // Exactly on a bar line, the change waits for the next one.
        let on_line = t.set_tempo(bpm(140.0), 193_000).unwrap();
        assert_eq!(on_line.bar, 3);
        assert_eq!(t.tempo_at_bar(2), bpm(90.0));
    }

    #[test]
    fn next_bar_line_and_stop() {
        let mut t = Transport::new(48_000, bpm(120.0));
        assert_eq!(t.next_bar_line(0), None);
        assert_eq!(t.position(0), None);
        t.play(500);
        assert_eq!(t.next_bar_line(0), Some((0, 500)));
        assert_eq!(t.next_bar_line(500), Some((0, 500)));
        assert_eq!(t.next_bar_line(501), Some((1, 96_500)));
        t.stop(1000);
        assert!(!t.is_playing());
        assert_eq!(t.bar_sample(1), None);
    }

    #[test]
    fn tap_tempo_takes_the_median_and_resets_after_a_gap() {
        let mut t = Transport::new(48_000, bpm(120.0));
        t.play(0);
        // 100 BPM = 28 800 samples, with one wild tap the median ignores.
        let taps = [10_000u64, 38_800, 67_600, 90_000, 125_200];
        let mut last = None;
        for s in taps {
            last = t.tap(s).unwrap();
        }
        // Intervals 28 800, 28 800, 22 400, 35 200: median (28 800 + 28 800) / 2.
        let change = last.expect("a tempo after three taps");
        assert_eq!(change.tempo, bpm(100.0));
        assert_eq!(change.bar, 2); // 125 200 is in bar 1
        // A 2-s gap starts over: two taps give nothing yet.
        assert_eq!(t.tap(125_200 + 96_001).unwrap(), None);
        assert_eq!(t.tap(125_200 + 96_001 + 24_000).unwrap(), None);
        let c = t.tap(125_200 + 96_001 + 48_000).unwrap().unwrap();
        assert_eq!(c.tempo, bpm(120.0));
        // Too fast to be a tempo: an error, nothing changes.
        let mut t2 = Transport::new(48_000, bpm(120.0));
        t2.play(0);
        t2.tap(0).unwrap();
        t2.tap(5_000).unwrap();
        assert!(t2.tap(10_000).is_err());
        assert_eq!(t2.tempo_at_bar(5), bpm(120.0));
    }
}
