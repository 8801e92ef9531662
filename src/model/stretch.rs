//! Tempo stretch of a generated grid to the live tempo.
//!
//! The models work on the tempo-normalised beat grid of the feature standard: 48 frames per
//! beat at 96 frames/s, i.e. 120 BPM (DESIGN.md §3). Before the vocoder the generated mel is
//! resampled along time so that a beat lasts `96 · 60 / bpm` frames: output frame j reads
//! the grid at position j · r with r = bpm / 120 (grid frames per output frame), linearly
//! interpolated between the two neighbouring frames and held at the last frame past the end.
//! The output has round(T / r) frames, so beat b (grid frame 48 b) lands on output frame
//! 48 b / r and a 4-bar chunk lasts exactly 16 beats at the live tempo. Each channel (mel
//! bin or latent channel) is interpolated independently; pitch is untouched because the
//! vocoder always synthesises at the standard hop.

use crate::dsp::{FRAME_RATE, FRAMES_PER_BEAT};
use crate::{Error, Result};

/// The tempo of the models' grid: 48 frames per beat at 96 frames/s.
pub const GRID_BPM: f64 = 60.0 * FRAME_RATE as f64 / FRAMES_PER_BEAT as f64;

/// Frames of a `frames`-long grid stretched to `bpm`.
pub fn stretched_len(frames: usize, bpm: f64) -> usize {
    ((frames as f64) * GRID_BPM / bpm).round().max(1.0) as usize
}

/// Stretches a channel-first grid (`channels × frames`, row-major) from [`GRID_BPM`] to
/// `bpm`; returns `channels × stretched_len(frames, bpm)` values.
pub fn stretch_to_tempo(grid: &[f32], channels: usize, bpm: f64) -> Result<Vec<f32>> {
    if !(bpm.is_finite() && (20.0..=400.0).contains(&bpm)) {
        return Err(Error::InvalidParameter {
            name: "tempo",
            reason: format!("{bpm} BPM; give 20 to 400"),
        });
    }
    if channels == 0 || grid.is_empty() || !grid.len().is_multiple_of(channels) {
        return Err(Error::InvalidParameter {
            name: "grid",
            reason: format!("{} values are not whole rows of {channels} channels", grid.len()),
        });
    }
    let frames = grid.len() / channels;
    let out_frames = stretched_len(frames, bpm);
    let r = bpm / GRID_BPM;
    let mut out = vec![0.0f32; channels * out_frames];
    for j in 0..out_frames {
        let pos = (j as f64 * r).min((frames - 1) as f64);
        let i0 = pos.floor() as usize;
        let i1 = (i0 + 1).min(frames - 1);
        let frac = (pos - i0 as f64) as f32;
        for c in 0..channels {
            let row = &grid[c * frames..(c + 1) * frames];
            out[c * out_frames + j] = row[i0] + frac * (row[i1] - row[i0]);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grid_is_120_bpm() {
        assert_eq!(GRID_BPM, 120.0);
    }

    #[test]
    fn grid_tempo_is_the_identity() {
        let g: Vec<f32> = (0..2 * 768).map(|i| (i as f32 * 0.37).sin()).collect();
        assert_eq!(stretch_to_tempo(&g, 2, 120.0).unwrap(), g);
    }

    #[test]
    fn beats_land_on_the_live_tempo() {
        // A ramp (value = grid frame) read back at 96 BPM: output frame j holds j · 0.8.
        let ramp: Vec<f32> = (0..768).map(|i| i as f32).collect();
        let out = stretch_to_tempo(&ramp, 1, 96.0).unwrap();
        assert_eq!(out.len(), 960); // 16 beats of 60 frames
        assert!((out[60] - 48.0).abs() < 1e-4, "beat 1 at frame 60: {}", out[60]);
        assert!((out[61] - 48.8).abs() < 1e-4);
        // Faster: 150 BPM gives 16 beats of 38.4 frames.
        let fast = stretch_to_tempo(&ramp, 1, 150.0).unwrap();
        assert_eq!(fast.len(), 614);
        assert!((fast[384] - 480.0).abs() < 1e-3);
        assert_eq!(*fast.last().unwrap(), 766.25);
    }

    #[test]
    fn channels_stay_apart_and_bad_tempi_are_refused() {
        let g = [0.0, 1.0, 2.0, 3.0, 10.0, 10.0, 10.0, 10.0];
        let out = stretch_to_tempo(&g, 2, 60.0).unwrap();
        assert_eq!(out.len(), 16);
        assert_eq!(&out[..8], &[0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.0]);
        assert!(out[8..].iter().all(|&x| x == 10.0));
        assert!(stretch_to_tempo(&g, 2, 0.0).is_err());
        assert!(stretch_to_tempo(&g, 3, 120.0).is_err());
    }
}
