//! Chroma: the energy of each of the 12 pitch classes, from the power spectrum.
//!
//! The filterbank is librosa's (`librosa.filters.chroma`, after Ellis' `chromagram_E`):
//! every FFT bin spreads over the pitch classes as a Gaussian bump two semitones wide,
//! weighted by a broad Gaussian over octaves centred on C5 (`ctroct=5`, `octwidth=2`).
//! Tuning is A440 (`tuning=0`); frames are scaled so their loudest class is 1
//! (`librosa.feature.chroma_stft(tuning=0)`), class 0 is C.

use super::{N_BINS, N_FFT, SAMPLE_RATE};

/// Pitch classes per frame, C first.
pub const N_CHROMA: usize = 12;

const CENTRE_OCTAVE: f64 = 5.0;
const OCTAVE_WIDTH: f64 = 2.0;

/// Chroma of a power spectrum frame. Dense weights, planned once.
#[derive(Debug, Clone)]
pub struct Chroma {
    /// Bin-major (`N_BINS` × 12): each bin adds into all 12 classes at once, which the
    /// compiler vectorises; a class-major dot product per class is four times slower.
    weights: Vec<[f32; N_CHROMA]>,
}

impl Default for Chroma {
    fn default() -> Self {
        Self::new()
    }
}

impl Chroma {
    /// Plans the chroma filterbank of the standard (24 kHz, 1024-point FFT, A440).
    pub fn new() -> Self {
        let n = N_CHROMA as f64;
        // Fractional chroma position of every FFT bin (0..n_fft, aliases dropped later);
        // bin 0 is given a value 1.5 octaves below bin 1.
        let mut position: Vec<f64> = (1..N_FFT)
            .map(|k| {
                let hz = k as f64 * SAMPLE_RATE as f64 / N_FFT as f64;
                n * (hz / (440.0 / 16.0)).log2()
            })
            .collect();
        position.insert(0, position[0] - 1.5 * n);
        let width: Vec<f64> = position
            .windows(2)
            .map(|w| (w[1] - w[0]).max(1.0))
            .chain(std::iter::once(1.0))
            .collect();

        let half = (n / 2.0).round();
        let mut dense = vec![0.0f64; N_CHROMA * N_FFT];
        for k in 0..N_FFT {
            let mut column = [0.0f64; N_CHROMA];
            for (c, w) in column.iter_mut().enumerate() {
                // Distance from bin k to class c, wrapped into -n/2..n/2 semitones.
                let d = (position[k] - c as f64 + half + 10.0 * n).rem_euclid(n) - half;
                *w = (-0.5 * (2.0 * d / width[k]).powi(2)).exp();
            }
            let norm = column.iter().map(|w| w * w).sum::<f64>().sqrt();
            let octave = (-0.5 * ((position[k] / n - CENTRE_OCTAVE) / OCTAVE_WIDTH).powi(2)).exp();
            for (c, w) in column.iter().enumerate() {
                // Rows above are A-based (A440 / 16 is class 0); roll so that class 0 is C.
                let row = (c + N_CHROMA - 3) % N_CHROMA;
                dense[row * N_FFT + k] = if norm > 0.0 { w / norm * octave } else { 0.0 };
            }
        }
        let weights =
            (0..N_BINS).map(|k| std::array::from_fn(|c| dense[c * N_FFT + k] as f32)).collect();
        Self { weights }
    }

    /// Chroma of one power spectrum (`|X|²`, `N_BINS` values) into `out` (12 values, the
    /// loudest 1; a silent frame stays 0).
    pub fn process(&self, power: &[f32], out: &mut [f32]) {
        debug_assert_eq!(power.len(), N_BINS);
        let mut sum = [0.0f32; N_CHROMA];
        for (w, p) in self.weights.iter().zip(power) {
            for (s, w) in sum.iter_mut().zip(w) {
                *s += w * p;
            }
        }
        out.copy_from_slice(&sum);
        let peak = out.iter().fold(0.0f32, |m, x| m.max(x.abs()));
        if peak >= f32::MIN_POSITIVE {
            for x in out.iter_mut() {
                *x /= peak;
            }
        }
    }

    /// The weights, class-major (12 × `N_BINS`), for export and tests.
    pub fn to_dense(&self) -> Vec<f32> {
        (0..N_CHROMA).flat_map(|c| self.weights.iter().map(move |w| w[c])).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine_power(hz: f64) -> Vec<f32> {
        let bin = hz * N_FFT as f64 / SAMPLE_RATE as f64;
        let mut p = vec![0.0; N_BINS];
        p[bin.round() as usize] = 1.0;
        p
    }

    #[test]
    fn a440_is_class_a_and_middle_c_is_class_c() {
        let chroma = Chroma::new();
        let mut out = [0.0; N_CHROMA];
        for (hz, class) in [(440.0, 9), (261.63, 0), (1046.5, 0), (392.0, 7)] {
            chroma.process(&sine_power(hz), &mut out);
            let peak = out.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).unwrap().0;
            assert_eq!(peak, class, "{hz} Hz: {out:?}");
            assert_eq!(out[class], 1.0);
        }
    }

    #[test]
    fn silence_stays_zero() {
        let mut out = [1.0; N_CHROMA];
        Chroma::new().process(&[0.0; N_BINS], &mut out);
        assert_eq!(out, [0.0; N_CHROMA]);
    }
}
