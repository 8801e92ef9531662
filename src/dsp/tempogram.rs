//! Autocorrelation tempogram of the onset strength curve.
//!
//! librosa's `feature.tempogram` (`win_length=384` frames = 4 s, Hann window, centred with
//! linear ramps to zero at both ends, each frame scaled so its largest lag is 1). Lag `l`
//! frames is a tempo of `60 * FRAME_RATE / l` BPM.

use std::sync::Arc;

use realfft::num_complex::Complex32;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};

use super::{FrameMatrix, hann_window};

/// Window of the tempogram in onset frames (4 s); also the number of lags per frame.
pub const TEMPOGRAM_WIN: usize = 384;

/// Windowed autocorrelation by FFT (length `2 × TEMPOGRAM_WIN`, enough for linear lags).
pub struct Tempogram {
    window: Vec<f32>,
    forward: Arc<dyn RealToComplex<f32>>,
    inverse: Arc<dyn ComplexToReal<f32>>,
    buffer: Vec<f32>,
    spectrum: Vec<Complex32>,
    scratch: Vec<Complex32>,
}

impl Default for Tempogram {
    fn default() -> Self {
        Self::new()
    }
}

impl Tempogram {
    /// Plans the FFTs and the window.
    pub fn new() -> Self {
        let mut planner = RealFftPlanner::<f32>::new();
        let n = 2 * TEMPOGRAM_WIN;
        let forward = planner.plan_fft_forward(n);
        let inverse = planner.plan_fft_inverse(n);
        let scratch_len = forward.get_scratch_len().max(inverse.get_scratch_len());
        Self {
            window: hann_window(TEMPOGRAM_WIN).into_iter().map(|w| w as f32).collect(),
            buffer: vec![0.0; n],
            spectrum: forward.make_output_vec(),
            scratch: vec![Complex32::default(); scratch_len],
            forward,
            inverse,
        }
    }

    /// Normalised autocorrelation of one window of onset strength (`TEMPOGRAM_WIN` values,
    /// oldest first) into `out` (`TEMPOGRAM_WIN` lags, lag 0 first).
    pub fn process(&mut self, onset_window: &[f32], out: &mut [f32]) {
        assert_eq!(onset_window.len(), TEMPOGRAM_WIN);
        for (i, (x, w)) in onset_window.iter().zip(&self.window).enumerate() {
            self.buffer[i] = x * w;
        }
        self.autocorrelate(out);
    }

    /// The tempogram of a whole onset curve: one frame per onset frame, each centred on it.
    pub fn compute(&mut self, onset: &[f32]) -> FrameMatrix {
        let mut tempogram = FrameMatrix::zeros(onset.len(), TEMPOGRAM_WIN);
        let half = TEMPOGRAM_WIN / 2;
        for t in 0..onset.len() {
            for i in 0..TEMPOGRAM_WIN {
                let x = padded(onset, (t + i) as isize - half as isize, half);
                self.buffer[i] = x * self.window[i];
            }
            self.autocorrelate(tempogram.frame_mut(t));
        }
        tempogram
    }

    fn autocorrelate(&mut self, out: &mut [f32]) {
        self.buffer[TEMPOGRAM_WIN..].fill(0.0);
        self.forward
            .process_with_scratch(&mut self.buffer, &mut self.spectrum, &mut self.scratch)
            .expect("tempogram buffers are sized by the plan");
        for c in self.spectrum.iter_mut() {
            *c = Complex32::new(c.norm_sqr(), 0.0);
        }
        self.inverse
            .process_with_scratch(&mut self.spectrum, &mut self.buffer, &mut self.scratch)
            .expect("tempogram buffers are sized by the plan");
        let lags = &self.buffer[..TEMPOGRAM_WIN];
        let peak = lags.iter().fold(0.0f32, |m, x| m.max(x.abs()));
        // A silent window stays silent rather than being blown up to 1.
        let scale = if peak >= f32::MIN_POSITIVE { 1.0 / peak } else { 0.0 };
        for (o, x) in out.iter_mut().zip(lags) {
            *o = x * scale;
        }
    }
}

/// The onset curve extended by `pad` values each side that ramp linearly to zero
/// (`numpy.pad(mode="linear_ramp", end_values=0)`), read at index `n` of the original.
fn padded(onset: &[f32], n: isize, pad: usize) -> f32 {
    let len = onset.len() as isize;
    if (0..len).contains(&n) {
        onset[n as usize]
    } else if n < 0 {
        // Outermost padded value (n = -pad) is 0, rising towards onset[0].
        onset[0] * (n + pad as isize).max(0) as f32 / pad as f32
    } else {
        let beyond = n - len; // 0 right next to the end
        onset[len as usize - 1] * (pad as isize - 1 - beyond).max(0) as f32 / pad as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::FRAME_RATE;

    #[test]
    fn a_pulse_train_peaks_at_its_period() {
        // 120 BPM at 96 frames/s: a pulse every 48 frames.
        let onset: Vec<f32> = (0..2000).map(|t| if t % 48 == 0 { 1.0 } else { 0.0 }).collect();
        let tg = Tempogram::new().compute(&onset);
        let frame = tg.frame(1000);
        assert!((frame[0] - 1.0).abs() < 1e-5);
        let best = (20..TEMPOGRAM_WIN).max_by(|a, b| frame[*a].total_cmp(&frame[*b])).unwrap();
        assert_eq!(best, 48);
        assert!((60.0 * FRAME_RATE / best as f32 - 120.0).abs() < 1e-3);
    }

    #[test]
    fn linear_ramp_padding_matches_numpy() {
        // numpy.pad([4, 8], 4, mode="linear_ramp") == [0, 1, 2, 3, 4, 8, 6, 4, 2, 0]
        let x = [4.0, 8.0];
        let got: Vec<f32> = (-4..6).map(|n| padded(&x, n, 4)).collect();
        assert_eq!(got, [0.0, 1.0, 2.0, 3.0, 4.0, 8.0, 6.0, 4.0, 2.0, 0.0]);
    }
}
