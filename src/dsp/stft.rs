//! Short-time Fourier transform and its inverse, centred frames, Hann window.
//!
//! Conventions follow librosa (`center=True`, `pad_mode="constant"`): frame `t` is centred
//! on sample `t * hop`, the signal is zero outside its bounds, and a signal of `n` samples
//! has `1 + n / hop` frames.

use std::sync::Arc;

use realfft::num_complex::{Complex32, Complex64};
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};

/// The periodic Hann window of length `n` (`scipy.signal.get_window("hann", n)`), the
/// window every spectrogram of the standard uses.
/// Computed in f64 because its rounding matters: a window rounded to f32 leaks about 1e-7
/// of a tone into every bin, far above the quiet bins of a tonal frame.
pub fn hann_window(n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| {
            let phase = 2.0 * std::f64::consts::PI * i as f64 / n as f64;
            0.5 - 0.5 * phase.cos()
        })
        .collect()
}

/// Forward STFT: plans once, then turns frames into spectra without allocating.
///
/// The transform runs in f64 and hands out f32: a float32 FFT's rounding noise sits about
/// 1e-7 below the frame's peak, which for a loud tonal frame is above the log-mel floor
/// (1e-5) and would put quiet bands' log values off by more than the standard's 1e-3.
pub struct Stft {
    n_fft: usize,
    hop: usize,
    window: Vec<f64>,
    fft: Arc<dyn RealToComplex<f64>>,
    frame: Vec<f64>,
    spectrum: Vec<Complex64>,
    scratch: Vec<Complex64>,
}

impl Stft {
    /// Plans an STFT of `n_fft` points (window of the same length) and the given hop.
    pub fn new(n_fft: usize, hop: usize) -> Self {
        assert!(n_fft >= 2 && hop >= 1, "n_fft must be at least 2 and hop at least 1");
        let fft = RealFftPlanner::<f64>::new().plan_fft_forward(n_fft);
        Self {
            n_fft,
            hop,
            window: hann_window(n_fft),
            frame: vec![0.0; n_fft],
            spectrum: fft.make_output_vec(),
            scratch: fft.make_scratch_vec(),
            fft,
        }
    }

    /// FFT size.
    pub fn n_fft(&self) -> usize {
        self.n_fft
    }

    /// Frequency bins per frame (`n_fft / 2 + 1`).
    pub fn n_bins(&self) -> usize {
        self.n_fft / 2 + 1
    }

    /// Frames a signal of `n_samples` yields: `1 + n_samples / hop`.
    pub fn n_frames(&self, n_samples: usize) -> usize {
        1 + n_samples / self.hop
    }

    /// Spectrum of frame `t` of `signal` (centred on sample `t * hop`, zeros outside the
    /// signal) into `out` (`n_bins` values).
    pub fn frame_at(&mut self, signal: &[f32], t: usize, out: &mut [Complex32]) {
        self.transform_frame_at(signal, t);
        for (o, c) in out.iter_mut().zip(&self.spectrum) {
            *o = Complex32::new(c.re as f32, c.im as f32);
        }
    }

    /// Magnitude spectrum of frame `t` of `signal` into `out` (`n_bins` values).
    pub fn magnitude_at(&mut self, signal: &[f32], t: usize, out: &mut [f32]) {
        self.transform_frame_at(signal, t);
        for (m, c) in out.iter_mut().zip(&self.spectrum) {
            // The power needs f64 to be computed, not to be stored: f32 keeps its relative
            // precision, and an f32 square root is twice as fast.
            *m = (c.norm_sqr() as f32).sqrt();
        }
    }

    /// Spectrum of one window's worth of samples (`n_fft` of them, already positioned): the
    /// streaming entry point.
    pub fn process_frame(&mut self, samples: &[f32], out: &mut [Complex32]) {
        assert_eq!(samples.len(), self.n_fft, "a frame is n_fft samples");
        for ((x, s), w) in self.frame.iter_mut().zip(samples).zip(&self.window) {
            *x = f64::from(*s) * w;
        }
        self.transform();
        for (o, c) in out.iter_mut().zip(&self.spectrum) {
            *o = Complex32::new(c.re as f32, c.im as f32);
        }
    }

    fn transform_frame_at(&mut self, signal: &[f32], t: usize) {
        let start = (t * self.hop) as isize - (self.n_fft / 2) as isize;
        if start >= 0 && start as usize + self.n_fft <= signal.len() {
            let samples = &signal[start as usize..start as usize + self.n_fft];
            for ((x, s), w) in self.frame.iter_mut().zip(samples).zip(&self.window) {
                *x = f64::from(*s) * w;
            }
        } else {
            for (i, (x, w)) in self.frame.iter_mut().zip(&self.window).enumerate() {
                let n = start + i as isize;
                let inside = n >= 0 && (n as usize) < signal.len();
                *x = if inside { f64::from(signal[n as usize]) * w } else { 0.0 };
            }
        }
        self.transform();
    }

    fn transform(&mut self) {
        // Lengths are fixed at planning time, so the only possible error cannot happen.
        self.fft
            .process_with_scratch(&mut self.frame, &mut self.spectrum, &mut self.scratch)
            .expect("STFT buffers are sized by the plan");
    }
}

/// Inverse STFT by weighted overlap-add, normalised by the window's sum of squares, so that
/// `istft(stft(x)) == x` for any hop that leaves no gap (librosa's `istft` convention).
pub struct Istft {
    n_fft: usize,
    hop: usize,
    window: Vec<f32>,
    window_sq: Vec<f32>,
    ifft: Arc<dyn ComplexToReal<f32>>,
    spectrum: Vec<Complex32>,
    frame: Vec<f32>,
    scratch: Vec<Complex32>,
}

impl Istft {
    /// Plans the inverse of [`Stft::new`] with the same parameters.
    pub fn new(n_fft: usize, hop: usize) -> Self {
        assert!(hop <= n_fft, "hop must not exceed n_fft, or the overlap-add leaves gaps");
        let ifft = RealFftPlanner::<f32>::new().plan_fft_inverse(n_fft);
        let window: Vec<f32> = hann_window(n_fft).into_iter().map(|w| w as f32).collect();
        let window_sq = window.iter().map(|w| w * w).collect();
        Self {
            n_fft,
            hop,
            window,
            window_sq,
            spectrum: ifft.make_input_vec(),
            frame: ifft.make_output_vec(),
            scratch: ifft.make_scratch_vec(),
            ifft,
        }
    }

    /// Rebuilds `out.len()` samples from frame-major spectra (`n_fft / 2 + 1` bins a frame,
    /// frame `t` centred on sample `t * hop`). Samples no frame covers are zero.
    pub fn process(&mut self, spectra: &[Complex32], out: &mut [f32]) {
        let n_bins = self.n_fft / 2 + 1;
        assert_eq!(spectra.len() % n_bins, 0, "spectra are whole frames of n_fft/2+1 bins");
        let n_frames = spectra.len() / n_bins;
        let half = (self.n_fft / 2) as isize;
        let scale = 1.0 / self.n_fft as f32;
        out.fill(0.0);
        for (t, spectrum) in spectra.chunks_exact(n_bins).enumerate() {
            self.spectrum.copy_from_slice(spectrum);
            // A real signal's spectrum has no imaginary part at DC and Nyquist.
            self.spectrum[0].im = 0.0;
            self.spectrum[n_bins - 1].im = 0.0;
            self.ifft
                .process_with_scratch(&mut self.spectrum, &mut self.frame, &mut self.scratch)
                .expect("iSTFT buffers are sized by the plan");
            let start = (t * self.hop) as isize - half;
            for (i, (x, w)) in self.frame.iter().zip(&self.window).enumerate() {
                let n = start + i as isize;
                if n >= 0 && (n as usize) < out.len() {
                    out[n as usize] += x * w * scale;
                }
            }
        }
        // Divide by the sum of squared windows over the frames that cover each sample.
        for (n, y) in out.iter_mut().enumerate() {
            let p = n as isize + half;
            let last = (p / self.hop as isize).min(n_frames as isize - 1);
            let mut t = last;
            let mut norm = 0.0;
            while t >= 0 {
                let i = p - t * self.hop as isize;
                if i >= self.n_fft as isize {
                    break;
                }
                norm += self.window_sq[i as usize];
                t -= 1;
            }
            *y = if norm > 1e-8 { *y / norm } else { 0.0 };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::{HOP, N_FFT};

    #[test]
    fn periodic_hann_matches_its_closed_form() {
        let w = hann_window(8);
        let want = [0.0, 0.146_446_6, 0.5, 0.853_553_4, 1.0, 0.853_553_4, 0.5, 0.146_446_6];
        for (a, b) in w.iter().zip(want) {
            assert!((a - b).abs() < 1e-7, "{w:?}");
        }
    }

    #[test]
    fn frame_count_follows_librosa() {
        let stft = Stft::new(N_FFT, HOP);
        assert_eq!(stft.n_frames(0), 1);
        assert_eq!(stft.n_frames(249), 1);
        assert_eq!(stft.n_frames(250), 2);
        assert_eq!(stft.n_frames(24_000), 97);
    }

    #[test]
    fn sine_peaks_in_its_bin() {
        let mut stft = Stft::new(N_FFT, HOP);
        // Bin 64 of a 1024-point FFT at 24 kHz is 1500 Hz.
        let x: Vec<f32> = (0..24_000)
            .map(|n| (2.0 * std::f32::consts::PI * 1500.0 * n as f32 / 24_000.0).sin())
            .collect();
        let mut mag = vec![0.0; N_FFT / 2 + 1];
        stft.magnitude_at(&x, 40, &mut mag);
        let peak = mag.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).unwrap().0;
        assert_eq!(peak, 64);
        // A unit sine under a Hann window of N points peaks at N/4.
        assert!((mag[64] - 256.0).abs() < 0.5, "{}", mag[64]);
    }

    #[test]
    fn inverse_reconstructs_to_minus_80_db() {
        let x: Vec<f32> = (0..30_000u32)
            .map(|n| {
                let n = n as f32;
                0.5 * (n * 0.031).sin()
                    + 0.3 * (n * 0.0071).cos()
                    + 0.1 * ((n * 12.9898).sin() * 43758.55).fract()
            })
            .collect();
        let mut stft = Stft::new(N_FFT, HOP);
        let n_bins = stft.n_bins();
        let n_frames = stft.n_frames(x.len());
        let mut spectra = vec![Complex32::default(); n_frames * n_bins];
        for (t, out) in spectra.chunks_exact_mut(n_bins).enumerate() {
            stft.frame_at(&x, t, out);
        }
        let mut y = vec![0.0; x.len()];
        Istft::new(N_FFT, HOP).process(&spectra, &mut y);
        let signal: f64 = x.iter().map(|v| (*v as f64).powi(2)).sum();
        let error: f64 = x.iter().zip(&y).map(|(a, b)| ((a - b) as f64).powi(2)).sum();
        let db = 10.0 * (error / signal).log10();
        assert!(db < -80.0, "reconstruction error {db:.1} dB");
    }

    #[test]
    fn processing_does_not_allocate() {
        let mut stft = Stft::new(N_FFT, HOP);
        let x = vec![0.25f32; 5000];
        let mut spec = vec![Complex32::default(); stft.n_bins()];
        let mut mag = vec![0.0; stft.n_bins()];
        assert_no_alloc::assert_no_alloc(|| {
            for t in 0..stft.n_frames(x.len()) {
                stft.magnitude_at(&x, t, &mut mag);
                stft.frame_at(&x, t, &mut spec);
            }
        });
    }
}
