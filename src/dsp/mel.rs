//! The Slaney mel filterbank and the standard log-mel frame.

use super::{F_MAX, LOG_FLOOR, N_BINS, N_FFT, N_MELS, SAMPLE_RATE};

// Slaney's Auditory Toolbox scale: linear below 1 kHz, logarithmic above.
const F_SP: f64 = 200.0 / 3.0;
const MIN_LOG_HZ: f64 = 1000.0;
const MIN_LOG_MEL: f64 = MIN_LOG_HZ / F_SP;

fn log_step() -> f64 {
    6.4f64.ln() / 27.0
}

/// Hz to mel on the Slaney scale (`librosa.hz_to_mel(htk=False)`).
pub fn hz_to_mel(hz: f64) -> f64 {
    if hz >= MIN_LOG_HZ { MIN_LOG_MEL + (hz / MIN_LOG_HZ).ln() / log_step() } else { hz / F_SP }
}

/// Mel to Hz on the Slaney scale (`librosa.mel_to_hz(htk=False)`).
pub fn mel_to_hz(mel: f64) -> f64 {
    if mel >= MIN_LOG_MEL {
        MIN_LOG_HZ * (log_step() * (mel - MIN_LOG_MEL)).exp()
    } else {
        F_SP * mel
    }
}

/// Triangular mel filters with Slaney area normalisation (`librosa.filters.mel(norm="slaney")`),
/// stored sparsely: each band keeps only the bins where its weight is non-zero.
#[derive(Debug, Clone)]
pub struct MelFilterbank {
    bands: Vec<(usize, Vec<f32>)>,
    n_bins: usize,
}

impl MelFilterbank {
    /// Plans `n_mels` bands from `f_min` to `f_max` Hz over an `n_fft`-point spectrum.
    pub fn new(sample_rate: u32, n_fft: usize, n_mels: usize, f_min: f64, f_max: f64) -> Self {
        let n_bins = n_fft / 2 + 1;
        let bin_hz = |k: usize| k as f64 * sample_rate as f64 / n_fft as f64;
        let (lo, hi) = (hz_to_mel(f_min), hz_to_mel(f_max));
        let edges: Vec<f64> = (0..n_mels + 2)
            .map(|i| mel_to_hz(lo + (hi - lo) * i as f64 / (n_mels + 1) as f64))
            .collect();
        let bands = (0..n_mels)
            .map(|m| {
                let (left, centre, right) = (edges[m], edges[m + 1], edges[m + 2]);
                let area_norm = 2.0 / (right - left);
                let weights: Vec<(usize, f32)> = (0..n_bins)
                    .filter_map(|k| {
                        let f = bin_hz(k);
                        let rising = (f - left) / (centre - left);
                        let falling = (right - f) / (right - centre);
                        let w = rising.min(falling).max(0.0) * area_norm;
                        (w > 0.0).then_some((k, w as f32))
                    })
                    .collect();
                let start = weights.first().map_or(0, |(k, _)| *k);
                (start, weights.into_iter().map(|(_, w)| w).collect())
            })
            .collect();
        Self { bands, n_bins }
    }

    /// The filterbank of the standard: 24 kHz, 1024-point FFT, 128 bands, 0 Hz to 12 kHz.
    pub fn standard() -> Self {
        Self::new(SAMPLE_RATE, N_FFT, N_MELS, 0.0, F_MAX as f64)
    }

    /// Number of bands.
    pub fn n_mels(&self) -> usize {
        self.bands.len()
    }

    /// Weighted sums of `spectrum` (`n_fft / 2 + 1` values) into `out` (`n_mels` values).
    pub fn apply(&self, spectrum: &[f32], out: &mut [f32]) {
        debug_assert_eq!(spectrum.len(), self.n_bins);
        for (o, (start, weights)) in out.iter_mut().zip(&self.bands) {
            *o = weights.iter().zip(&spectrum[*start..]).map(|(w, s)| w * s).sum();
        }
    }

    /// The dense weight matrix, band-major (`n_mels × n_bins`), for export and tests.
    pub fn to_dense(&self) -> Vec<f32> {
        let mut dense = vec![0.0; self.bands.len() * self.n_bins];
        for (row, (start, weights)) in dense.chunks_exact_mut(self.n_bins).zip(&self.bands) {
            row[*start..*start + weights.len()].copy_from_slice(weights);
        }
        dense
    }
}

/// The standard log-mel frame: `ln(max(mel(|X|), 1e-5))` over the magnitude spectrum.
#[derive(Debug, Clone)]
pub struct LogMel {
    filterbank: MelFilterbank,
}

impl Default for LogMel {
    fn default() -> Self {
        Self { filterbank: MelFilterbank::standard() }
    }
}

impl LogMel {
    /// The standard log-mel (DESIGN.md §3).
    pub fn new() -> Self {
        Self::default()
    }

    /// Log-mel of one magnitude spectrum (`N_BINS` values) into `out` (`N_MELS` values).
    pub fn process(&self, magnitude: &[f32], out: &mut [f32]) {
        debug_assert_eq!(magnitude.len(), N_BINS);
        self.filterbank.apply(magnitude, out);
        for x in out.iter_mut() {
            *x = x.max(LOG_FLOOR).ln();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slaney_scale_round_trips_and_is_linear_below_1_khz() {
        assert!((hz_to_mel(1000.0) - 15.0).abs() < 1e-12);
        assert!((hz_to_mel(200.0) - 3.0).abs() < 1e-12);
        for hz in [0.0, 55.0, 440.0, 999.0, 1000.0, 4000.0, 12_000.0] {
            assert!((mel_to_hz(hz_to_mel(hz)) - hz).abs() < 1e-9);
        }
    }

    #[test]
    fn every_band_has_weight_and_areas_are_normalised() {
        let fb = MelFilterbank::standard();
        assert_eq!(fb.n_mels(), N_MELS);
        let dense = fb.to_dense();
        for row in dense.chunks_exact(N_BINS) {
            assert!(row.iter().any(|w| *w > 0.0));
        }
        // Slaney normalisation: each triangle's area in Hz is 1, so a flat spectrum of 1
        // gives about 1 / bin width in Hz in bands much wider than a bin.
        let bin_hz = SAMPLE_RATE as f32 / N_FFT as f32;
        let flat = vec![1.0; N_BINS];
        let mut out = vec![0.0; N_MELS];
        fb.apply(&flat, &mut out);
        assert!((out[100] * bin_hz - 1.0).abs() < 0.02, "{}", out[100] * bin_hz);
    }

    #[test]
    fn a_1_khz_sine_lands_in_the_band_centred_on_1_khz() {
        let fb = MelFilterbank::standard();
        // The magnitude spectrum of a 1 kHz sine: a spike in the nearest bins.
        let bin = 1000.0 * N_FFT as f64 / SAMPLE_RATE as f64; // 42.67
        let mut spectrum = vec![0.0f32; N_BINS];
        spectrum[bin.floor() as usize] = 1.0 - bin.fract() as f32;
        spectrum[bin.ceil() as usize] = bin.fract() as f32;
        let mut mel = vec![0.0; N_MELS];
        fb.apply(&spectrum, &mut mel);
        let peak = mel.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).unwrap().0;
        let (lo, hi) = (hz_to_mel(0.0), hz_to_mel(F_MAX as f64));
        let centre_hz = |m: usize| mel_to_hz(lo + (hi - lo) * (m + 1) as f64 / (N_MELS + 1) as f64);
        let nearest = (0..N_MELS)
            .min_by(|a, b| {
                (centre_hz(*a) - 1000.0).abs().total_cmp(&(centre_hz(*b) - 1000.0).abs())
            })
            .unwrap();
        assert_eq!(peak, nearest);
        assert_eq!(peak, 37);
    }
}
