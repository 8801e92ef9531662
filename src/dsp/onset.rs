//! Onset strength: positive spectral flux of the log-mel in dB, per band and over all bands.
//!
//! librosa's `onset.onset_strength` / `onset_strength_multi` with `S` = the standard log-mel
//! in dB (`20 log10`), `lag=1`, `max_size=1`, mean over bins: the mean rise in dB from one
//! frame to the next. librosa delays the curve by `lag + n_fft / (2 hop)` = 3 frames and
//! so does [`OnsetStrength`]'s whole-signal use ([`ONSET_DELAY_FRAMES`]); that lines the
//! peaks up with the sample where the onset happens, since a centred window first sees an
//! onset half a window early.

use super::{HOP, N_FFT, N_MELS};

/// Mel-bin edges of the onset bands: roughly 0–130 Hz (kick), 130–400 Hz (bass, snare
/// body), 400 Hz–1 kHz, 1–3 kHz, 3–7 kHz, 7–12 kHz (hats, cymbals).
pub const ONSET_BAND_EDGES: [usize; 7] = [0, 5, 16, 38, 70, 100, N_MELS];
/// Number of onset bands.
pub const N_ONSET_BANDS: usize = ONSET_BAND_EDGES.len() - 1;
/// Frames by which the whole-signal onset curve lags the raw flux (librosa's centring).
pub const ONSET_DELAY_FRAMES: usize = 1 + N_FFT / (2 * HOP);

const DB_PER_NEPER: f32 = 20.0 / std::f32::consts::LN_10;

/// Frame-to-frame onset strength; remembers the previous log-mel frame.
#[derive(Debug, Clone)]
pub struct OnsetStrength {
    previous: [f32; N_MELS],
    primed: bool,
}

impl Default for OnsetStrength {
    fn default() -> Self {
        Self::new()
    }
}

impl OnsetStrength {
    /// A detector that has seen no frame yet.
    pub fn new() -> Self {
        Self { previous: [0.0; N_MELS], primed: false }
    }

    /// Forgets the previous frame.
    pub fn reset(&mut self) {
        self.primed = false;
    }

    /// Flux of `log_mel` (natural-log standard frame) against the previous frame: mean dB
    /// rise per band into `bands` ([`N_ONSET_BANDS`] values), and over all bins (returned).
    /// The first frame after `new`/`reset` has no predecessor and gives zeros.
    pub fn process(&mut self, log_mel: &[f32], bands: &mut [f32]) -> f32 {
        debug_assert_eq!(log_mel.len(), N_MELS);
        let mut total = 0.0;
        for (b, edges) in bands.iter_mut().zip(ONSET_BAND_EDGES.windows(2)) {
            let rise: f32 = (edges[0]..edges[1])
                .map(|m| (DB_PER_NEPER * (log_mel[m] - self.previous[m])).max(0.0))
                .sum();
            total += rise;
            *b = if self.primed { rise / (edges[1] - edges[0]) as f32 } else { 0.0 };
        }
        let primed = std::mem::replace(&mut self.primed, true);
        self.previous.copy_from_slice(log_mel);
        if primed { total / N_MELS as f32 } else { 0.0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_up_gives_its_size_in_db_once() {
        let mut onset = OnsetStrength::new();
        let mut bands = [0.0; N_ONSET_BANDS];
        let quiet = [0.0f32; N_MELS];
        let loud = [1.0f32; N_MELS]; // one neper louder = 8.686 dB
        assert_eq!(onset.process(&quiet, &mut bands), 0.0);
        assert_eq!(onset.process(&quiet, &mut bands), 0.0);
        let rise = onset.process(&loud, &mut bands);
        assert!((rise - DB_PER_NEPER).abs() < 1e-5);
        assert!(bands.iter().all(|b| (b - DB_PER_NEPER).abs() < 1e-5));
        assert_eq!(onset.process(&loud, &mut bands), 0.0);
        // A fall is not an onset.
        assert_eq!(onset.process(&quiet, &mut bands), 0.0);
    }

    #[test]
    fn the_delay_is_librosas() {
        assert_eq!(ONSET_DELAY_FRAMES, 3);
    }
}
