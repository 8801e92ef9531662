//! Fitting a phrase to the live grid: resample to the output rate (rubato, through
//! [`crate::audio::resample`]), then time-stretch beat by beat (signalsmith-stretch) so that
//! every source beat lands on a live beat.
//!
//! # How signalsmith-stretch is driven
//! The stretcher is a phase vocoder with an analysis block of 120 ms and a hop of 30 ms
//! (`preset_default`). It has an *input latency* `Lᵢ` (the analysis centre trails the last
//! input sample by `Lᵢ` frames) and an *output latency* `Lₒ` (output trails the synthesis
//! centre by `Lₒ`). This module does what the library's own `exact()` does, but with one
//! `process` call per beat so the time map is piecewise linear through the beats:
//!
//! 1. pre-roll: `seek` with the first `Lᵢ` frames, so the analysis centre sits on frame 0;
//! 2. every `process` call is fed input shifted `Lᵢ` frames ahead (zeros past the end) and
//!    asked for exactly the beat's output length; inside a call the stretcher maps output
//!    hops linearly onto the input, so a source beat boundary is reached exactly when the
//!    output reaches the live beat boundary;
//! 3. `flush` gives the last `Lₒ` frames; the first `Lₒ` frames (before time zero) are folded
//!    back onto the start, as `exact()` does, and dropped, so output frame `t` is aligned
//!    with the live grid.
//!
//! The stretch ratio of every beat must lie in [`MIN_RATIO`]..=[`MAX_RATIO`]: past ×2 the
//! library randomises phases from an unseeded `std::random_device`, which would make the
//! output differ between runs, and the sound degrades anyway. Pick a candidate whose tempo
//! (or its half or double) is within reach instead.
//!
//! Cost, measured (release, one core of the 2-core dev box): an 8-bar 48 kHz stereo phrase
//! at 110 BPM (17.5 s) fitted to 125 BPM in 0.18 s, to 100 BPM in 0.21 s; a 44.1 kHz mono
//! source in 0.11 s (resampled, stretched once, copied to both sides). Preparation runs
//! on a blocking worker thread, bars ahead of playback, never on the audio path.

use signalsmith_stretch::Stretch;

use super::transport::Tempo;
use crate::db::schema::PhraseRecord;
use crate::{Error, Result};

/// The most a beat may be compressed (output/input length).
pub const MIN_RATIO: f64 = 0.5;

/// The most a beat may be lengthened (output/input length).
pub const MAX_RATIO: f64 = 2.0;

/// A phrase's audio as stored: any rate, 1 or 2 channels, interleaved `f32`.
#[derive(Debug, Clone, Copy)]
pub struct SourceAudio<'a> {
    /// Sample rate, Hz.
    pub sample_rate: u32,
    /// Channels: 1 (played on both sides) or 2.
    pub channels: u16,
    /// Interleaved samples.
    pub samples: &'a [f32],
}

/// The phrase's beat times relative to its start, ending with its end: what
/// [`fit_to_bars`] takes (the stored beats drop their context bar and the track offset).
pub fn phrase_beats(record: &PhraseRecord) -> Vec<f64> {
    record.beats[usize::from(record.context_beats).min(record.beats.len())..]
        .iter()
        .map(|b| b - record.start)
        .collect()
}

/// Samples at `out_rate` spanned by `beats` beats at `tempo`: the length [`fit_to_bars`]
/// returns (per channel).
pub fn fitted_len(tempo: Tempo, out_rate: u32, beats: u64) -> usize {
    tempo.beat_offset(out_rate, beats) as usize
}

/// Resamples `audio` to `out_rate` and stretches it beat by beat onto the live grid of
/// `live_tempo`: source beat `i` (`beats[i]` seconds after the phrase's start) lands on
/// output frame `live_tempo.beat_offset(out_rate, i)`, and the output (interleaved,
/// `out_channels` = 2) is exactly `fitted_len(live_tempo, out_rate, beats.len() − 1)` frames
/// long. Pitch is kept.
///
/// # Errors
/// [`Error::InvalidParameter`] for fewer than two beats, beats not increasing from ≥ 0, a
/// beat count that is not whole bars of `beats_per_bar`, a channel count other than 1 or 2
/// (in or out), or a beat whose stretch ratio is outside [`MIN_RATIO`]..=[`MAX_RATIO`];
/// [`Error::Resample`] if rubato fails.
pub fn fit_to_bars(
    audio: &SourceAudio<'_>,
    beats: &[f64],
    out_rate: u32,
    out_channels: usize,
    live_tempo: Tempo,
    beats_per_bar: u32,
) -> Result<Vec<f32>> {
    let invalid = |name, reason: String| Err(Error::InvalidParameter { name, reason });
    if beats.len() < 2 || beats[0] < 0.0 || beats.windows(2).any(|w| w[1] <= w[0]) {
        return invalid("phrase beats", "need two or more increasing times ≥ 0".into());
    }
    let n_beats = beats.len() - 1;
    if beats_per_bar == 0 || !n_beats.is_multiple_of(beats_per_bar as usize) {
        return invalid(
            "phrase beats",
            format!("{n_beats} beats is not whole bars of {beats_per_bar}"),
        );
    }
    if !(1..=2).contains(&audio.channels) || !(1..=2).contains(&out_channels) {
        return invalid(
            "channels",
            format!("{} in, {out_channels} out: 1 or 2 each", audio.channels),
        );
    }
    let grid: Vec<usize> =
        (0..=n_beats as u64).map(|i| fitted_len(live_tempo, out_rate, i)).collect();
    let source: Vec<usize> =
        beats.iter().map(|b| (b * f64::from(out_rate)).round() as usize).collect();
    for i in 0..n_beats {
        let ratio = (grid[i + 1] - grid[i]) as f64 / (source[i + 1] - source[i]).max(1) as f64;
        if !(MIN_RATIO..=MAX_RATIO).contains(&ratio) {
            return invalid(
                "stretch ratio",
                format!(
                    "beat {i} would stretch ×{ratio:.3}; only ×{MIN_RATIO}..×{MAX_RATIO} \
                     is clean (choose a phrase nearer {:.1} BPM, or its half/double)",
                    live_tempo.bpm()
                ),
            );
        }
    }

    // Resample each source channel; a mono source is stretched once and copied to both sides.
    let in_ch = usize::from(audio.channels);
    let mut planar = Vec::with_capacity(in_ch);
    for c in 0..in_ch {
        let channel: Vec<f32> = audio.samples.iter().skip(c).step_by(in_ch).copied().collect();
        planar.push(crate::audio::resample(&channel, audio.sample_rate, out_rate)?);
    }
    let work_ch = if out_channels == 1 { 1 } else { in_ch };
    let frames = planar[0].len();
    let mut interleaved = vec![0.0f32; frames * work_ch];
    for (f, frame) in interleaved.chunks_exact_mut(work_ch).enumerate() {
        if work_ch == 1 {
            frame[0] = planar.iter().map(|p| p[f]).sum::<f32>() / in_ch as f32;
        } else {
            frame[0] = planar[0][f];
            frame[1] = planar[1][f];
        }
    }

    let stretched = stretch_beats(&interleaved, work_ch, out_rate, &source, &grid);
    if work_ch == out_channels {
        return Ok(stretched);
    }
    // Mono work, stereo out.
    Ok(stretched.iter().flat_map(|&s| [s, s]).collect())
}

/// The beat-wise stretch of `input` (`ch` channels interleaved), from source frames
/// `source[i]` to output frames `grid[i]`, aligned as the module notes describe.
fn stretch_beats(
    input: &[f32],
    ch: usize,
    rate: u32,
    source: &[usize],
    grid: &[usize],
) -> Vec<f32> {
    let mut st = Stretch::preset_default(ch as u32, rate);
    let lat_in = st.input_latency();
    let lat_out = st.output_latency();
    let total = *grid.last().expect("two or more beats");

    // Input shifted by `lat_in` with zeros after the end (and after the last beat).
    let last_frame = source.last().copied().unwrap_or(0) + lat_in;
    let frame = |f: usize| -> &[f32] {
        let at = f * ch;
        if at + ch <= input.len() { &input[at..at + ch] } else { &[0.0, 0.0][..ch] }
    };
    let mut padded = Vec::with_capacity((last_frame + 1) * ch);
    for f in 0..last_frame {
        padded.extend_from_slice(frame(f));
    }

    let first_ratio = (source[1] - source[0]) as f64 / (grid[1] - grid[0]) as f64;
    st.seek(&padded[source[0] * ch..(source[0] + lat_in) * ch], first_ratio);

    let mut out = vec![0.0f32; (total + lat_out) * ch];
    for i in 0..grid.len() - 1 {
        let from = (source[i] + lat_in) * ch;
        let to = (source[i + 1] + lat_in) * ch;
        st.process(&padded[from..to], &mut out[grid[i] * ch..grid[i + 1] * ch]);
    }
    st.flush(&mut out[total * ch..]);

    // Fold the output from before time zero back onto the start, then drop it.
    for i in 0..lat_out.min(total) {
        for c in 0..ch {
            let before = out[(lat_out - 1 - i) * ch + c];
            out[(i + lat_out) * ch + c] -= before;
        }
    }
    out.drain(..lat_out * ch);
    out.truncate(total * ch);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bpm(b: f64) -> Tempo {
        Tempo::from_bpm(b).unwrap()
    }

    /// A click (a 2-ms decaying 2 kHz burst) on every beat at `tempo` BPM.
    pub(crate) fn click_track(rate: u32, tempo: f64, beats: usize) -> (Vec<f32>, Vec<f64>) {
        let period = 60.0 / tempo;
        let len = (beats as f64 * period * f64::from(rate)).round() as usize;
        let mut x = vec![0.0f32; len];
        let times: Vec<f64> = (0..=beats).map(|i| i as f64 * period).collect();
        for t in &times[..beats] {
            let at = (t * f64::from(rate)).round() as usize;
            for k in 0..(rate as usize / 500) {
                let s = k as f64 / f64::from(rate);
                let v = (std::f64::consts::TAU * 2000.0 * s).sin() * (-s / 0.0005).exp();
                if at + k < len {
                    x[at + k] += 0.8 * v as f32;
                }
            }
        }
        (x, times)
    }

    /// Onset times (frames) found as the first sample of each burst of energy above a
    /// threshold, with a refractory period of `gap` frames.
    fn onsets(x: &[f32], ch: usize, threshold: f32, gap: usize) -> Vec<usize> {
        let mut found = Vec::new();
        let mut last: Option<usize> = None;
        for (f, frame) in x.chunks_exact(ch).enumerate() {
            let e = frame.iter().map(|s| s.abs()).fold(0.0, f32::max);
            if e > threshold && last.is_none_or(|l| f - l > gap) {
                found.push(f);
            }
            if e > threshold {
                last = Some(f);
            }
        }
        found
    }

    #[test]
    fn clicks_land_on_the_live_grid() {
        // 100 BPM at 44.1 kHz mono, 2 bars, to 125 BPM at 48 kHz stereo.
        let (x, beats) = click_track(44_100, 100.0, 8);
        let audio = SourceAudio { sample_rate: 44_100, channels: 1, samples: &x };
        let y = fit_to_bars(&audio, &beats, 48_000, 2, bpm(125.0), 4).unwrap();
        assert_eq!(y.len(), 2 * 8 * 23_040);
        let peak = y.iter().fold(0.0f32, |m, s| m.max(s.abs()));
        // Peak of each click's envelope, searched ±10 ms around each expected beat.
        for i in 0..8 {
            let expected: usize = i * 23_040;
            let lo = expected.saturating_sub(480);
            let hi = (expected + 480).min(y.len() / 2);
            let (at, v) = (lo..hi)
                .map(|f| (f, y[2 * f].abs()))
                .fold((lo, 0.0f32), |a, b| if b.1 > a.1 { b } else { a });
            assert!(v > 0.3 * peak, "beat {i}: weak click {v}");
            let err_ms = (at as f64 - expected as f64).abs() / 48.0;
            assert!(err_ms <= 2.0, "beat {i}: click {err_ms:.2} ms off the grid");
        }
        let found = onsets(&y, 2, 0.3 * peak, 4800);
        assert_eq!(found.len(), 8, "{found:?}");
    }

    #[test]
    fn sine_keeps_its_pitch() {
        let rate = 48_000;
        let beats: Vec<f64> = (0..=8).map(|i| i as f64 * 0.6).collect(); // 100 BPM
        let x: Vec<f32> = (0..(4.8 * 48_000.0) as usize)
            .map(|i| (0.5 * (std::f64::consts::TAU * 440.0 * i as f64 / 48_000.0).sin()) as f32)
            .collect();
        for live in [60.0, 125.0, 190.0] {
            let audio = SourceAudio { sample_rate: rate, channels: 1, samples: &x };
            let y = fit_to_bars(&audio, &beats, rate, 2, bpm(live), 4).unwrap();
            let left: Vec<f32> = y.iter().step_by(2).copied().collect();
            // Middle part, away from the edges.
            let mid = &left[left.len() / 8..left.len() * 7 / 8];
            let crossings = mid.windows(2).filter(|w| (w[0] < 0.0) != (w[1] < 0.0)).count();
            let freq = crossings as f64 / 2.0 / (mid.len() as f64 / f64::from(rate));
            assert!((freq / 440.0 - 1.0).abs() < 0.01, "{live} BPM: {freq:.1} Hz");
        }
    }

    #[test]
    fn lengths_are_exact_and_bad_input_is_refused() {
        let (x, beats) = click_track(48_000, 120.0, 4);
        let stereo: Vec<f32> = x.iter().flat_map(|&s| [s, -s]).collect();
        let audio = SourceAudio { sample_rate: 48_000, channels: 2, samples: &stereo };
        // 97 BPM: a beat is 29 690.72 samples; 4 beats round to 118 763.
        let y = fit_to_bars(&audio, &beats, 48_000, 2, bpm(97.0), 4).unwrap();
        assert_eq!(y.len(), 2 * 118_763);
        assert_eq!(fitted_len(bpm(97.0), 48_000, 4), 118_763);
        // Stereo stays stereo: the right channel is the left inverted.
        let diff = y.chunks_exact(2).map(|f| (f[0] + f[1]).abs()).fold(0.0f32, f32::max);
        assert!(diff < 1e-4, "{diff}");
        // ×2.4: refused (the library would randomise phases).
        assert!(fit_to_bars(&audio, &beats, 48_000, 2, bpm(50.0), 4).is_err());
        // 3 beats is not a 4/4 bar.
        assert!(fit_to_bars(&audio, &beats[..4], 48_000, 2, bpm(120.0), 4).is_err());
        let bad = SourceAudio { channels: 3, ..audio };
        assert!(fit_to_bars(&bad, &beats, 48_000, 2, bpm(120.0), 4).is_err());
    }

    #[test]
    fn same_input_same_output() {
        let (x, beats) = click_track(44_100, 110.0, 4);
        let audio = SourceAudio { sample_rate: 44_100, channels: 1, samples: &x };
        let a = fit_to_bars(&audio, &beats, 48_000, 2, bpm(128.0), 4).unwrap();
        let b = fit_to_bars(&audio, &beats, 48_000, 2, bpm(128.0), 4).unwrap();
        assert!(a.iter().zip(&b).all(|(p, q)| p.to_bits() == q.to_bits()));
    }
}
