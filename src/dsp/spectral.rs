//! Spectral shape of a magnitude frame: centroid, bandwidth, roll-off, flatness, contrast.
//!
//! Each follows librosa's definition on the same magnitude spectrogram
//! (`librosa.feature.spectral_*` with `S=|X|`, `n_fft=1024`):
//! - centroid: the magnitude-weighted mean frequency, Hz;
//! - bandwidth: the magnitude-weighted standard deviation around the centroid, Hz (`p=2`);
//! - roll-off: the lowest frequency below which 85 % of the magnitude lies, Hz;
//! - flatness: geometric over arithmetic mean of the power spectrum (floor 1e-10), 0..1;
//! - contrast: per octave band (below 200 Hz, then 6 octaves from 200 Hz), the dB
//!   difference between the mean of the top and bottom 2 % of the band's magnitudes.
//!   librosa also clips each of peak and valley to 80 dB below its loudest value over the
//!   whole clip; a frame-wise feature cannot, so that clip is left out.

use super::{N_BINS, N_FFT, SAMPLE_RATE};

/// Contrast values per frame (octave bands + 1).
pub const N_CONTRAST: usize = 7;

const ROLL_PERCENT: f32 = 0.85;
const CONTRAST_FMIN: f64 = 200.0;
const CONTRAST_QUANTILE: f64 = 0.02;
const FLATNESS_FLOOR: f32 = 1e-10;
const CONTRAST_FLOOR: f32 = 1e-10;

/// The spectral shape of one frame.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SpectralShape {
    /// Centroid, Hz.
    pub centroid: f32,
    /// Bandwidth, Hz.
    pub bandwidth: f32,
    /// 85 % roll-off, Hz.
    pub rolloff: f32,
    /// Flatness, 0 (tonal) to 1 (white noise).
    pub flatness: f32,
    /// Contrast per band, dB.
    pub contrast: [f32; N_CONTRAST],
}

/// Computes [`SpectralShape`]; plans the band layout and sort scratch once.
#[derive(Debug, Clone)]
pub struct SpectralStats {
    freqs: Vec<f32>,
    /// (first bin, bins in the sub-band, bins averaged at each end) per contrast band.
    bands: Vec<(usize, usize, usize)>,
    sorted: Vec<f32>,
}

impl Default for SpectralStats {
    fn default() -> Self {
        Self::new()
    }
}

impl SpectralStats {
    /// Plans for the standard spectrum (24 kHz, 1024-point FFT).
    pub fn new() -> Self {
        let freqs: Vec<f32> =
            (0..N_BINS).map(|k| (k as f64 * SAMPLE_RATE as f64 / N_FFT as f64) as f32).collect();
        let mut edges = vec![0.0];
        edges.extend((0..N_CONTRAST).map(|i| CONTRAST_FMIN * 2f64.powi(i as i32)));
        let bands = edges
            .windows(2)
            .enumerate()
            .map(|(k, e)| {
                let inside = |f: &f32| (*f as f64) >= e[0] && (*f as f64) <= e[1];
                let first_in = freqs.iter().position(inside).expect("every band holds a bin");
                let last_in = freqs.iter().rposition(inside).expect("every band holds a bin");
                // As librosa: each band after the first also takes the bin just below it;
                // the last takes every bin above it; the others drop their top bin.
                let start = if k > 0 { first_in - 1 } else { first_in };
                let end = if k == N_CONTRAST - 1 { N_BINS } else { last_in + 1 };
                let marked = end - start;
                let len = if k < N_CONTRAST - 1 { marked - 1 } else { marked };
                let ends = ((CONTRAST_QUANTILE * marked as f64).round_ties_even() as usize).max(1);
                (start, len, ends)
            })
            .collect();
        Self { freqs, bands, sorted: vec![0.0; N_BINS] }
    }

    /// Shape of one magnitude spectrum (`N_BINS` values).
    pub fn process(&mut self, magnitude: &[f32]) -> SpectralShape {
        debug_assert_eq!(magnitude.len(), N_BINS);
        // Sums in f64: 513 bins spanning 100 dB lose the quiet ones in f32.
        let total: f64 = magnitude.iter().map(|m| f64::from(*m)).sum();
        let (centroid, bandwidth) = if total >= f64::from(f32::MIN_POSITIVE) {
            let weighted = |g: &dyn Fn(f64) -> f64| -> f64 {
                magnitude
                    .iter()
                    .zip(&self.freqs)
                    .map(|(m, f)| f64::from(*m) * g(f64::from(*f)))
                    .sum()
            };
            let centroid = weighted(&|f| f) / total;
            let variance = weighted(&|f| (f - centroid).powi(2)) / total;
            (centroid as f32, variance.sqrt() as f32)
        } else {
            (0.0, 0.0)
        };

        let threshold = f64::from(ROLL_PERCENT) * total;
        let mut cumulative = 0.0;
        let mut rolloff = 0.0;
        for (m, f) in magnitude.iter().zip(&self.freqs) {
            cumulative += f64::from(*m);
            if cumulative >= threshold {
                rolloff = *f;
                break;
            }
        }

        let (mut log_sum, mut sum) = (0.0f64, 0.0f64);
        for m in magnitude {
            let p = (m * m).max(FLATNESS_FLOOR);
            log_sum += (p as f64).ln();
            sum += p as f64;
        }
        let n = N_BINS as f64;
        let flatness = ((log_sum / n).exp() / (sum / n)) as f32;

        let mut contrast = [0.0; N_CONTRAST];
        for (c, &(start, len, ends)) in contrast.iter_mut().zip(&self.bands) {
            let sorted = &mut self.sorted[..len];
            sorted.copy_from_slice(&magnitude[start..start + len]);
            sorted.sort_unstable_by(f32::total_cmp);
            let valley = sorted[..ends].iter().sum::<f32>() / ends as f32;
            let peak = sorted[len - ends..].iter().sum::<f32>() / ends as f32;
            // librosa converts these magnitudes with power_to_db (10 log10), so do we.
            *c = 10.0 * (peak.max(CONTRAST_FLOOR).log10() - valley.max(CONTRAST_FLOOR).log10());
        }

        SpectralShape { centroid, bandwidth, rolloff, flatness, contrast }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_single_bin_has_its_frequency_as_centroid_and_rolloff_and_no_bandwidth() {
        let mut stats = SpectralStats::new();
        let mut m = vec![0.0; N_BINS];
        m[100] = 1.0;
        let s = stats.process(&m);
        let hz = 100.0 * SAMPLE_RATE as f32 / N_FFT as f32;
        assert_eq!(s.centroid, hz);
        assert_eq!(s.rolloff, hz);
        assert_eq!(s.bandwidth, 0.0);
        assert!(s.flatness < 1e-3);
    }

    #[test]
    fn white_spectrum_is_flat_and_centred() {
        let mut stats = SpectralStats::new();
        let s = stats.process(&vec![1.0; N_BINS]);
        assert!((s.flatness - 1.0).abs() < 1e-5);
        assert!((s.centroid - 6000.0).abs() < 1.0);
        assert!(s.contrast.iter().all(|c| c.abs() < 1e-5));
        // 85 % of a flat spectrum lies below 85 % of Nyquist.
        assert!((s.rolloff - 0.85 * 12_000.0).abs() < 24.0, "{}", s.rolloff);
    }

    #[test]
    fn silence_gives_zeros_not_nans() {
        let s = SpectralStats::new().process(&[0.0; N_BINS]);
        assert_eq!((s.centroid, s.bandwidth, s.rolloff), (0.0, 0.0, 0.0));
        assert!((s.flatness - 1.0).abs() < 1e-6);
        assert!(s.contrast.iter().all(|c| *c == 0.0));
    }
}
