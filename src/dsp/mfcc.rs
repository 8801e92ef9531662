//! Mel-frequency cepstral coefficients from the standard log-mel.
//!
//! MFCC = orthonormal DCT-II of the log-mel expressed in dB (`20 log10`), keeping the first
//! 20 coefficients: `librosa.feature.mfcc(S=librosa.amplitude_to_db(mel, amin=1e-5,
//! top_db=None), n_mfcc=20)`. Building it on the standard log-mel (instead of a second,
//! power mel) shares the filterbank work; the whole-clip `top_db` clip is left out because a
//! frame-wise feature cannot know the loudest frame of the clip.

use super::N_MELS;

/// Coefficients per frame.
pub const N_MFCC: usize = 20;

/// MFCC of a log-mel frame, as a dense DCT matrix planned once.
#[derive(Debug, Clone)]
pub struct Mfcc {
    /// Mel-major (128 × 20): each mel band adds into all coefficients at once (vectorised).
    dct: Vec<[f32; N_MFCC]>,
}

impl Default for Mfcc {
    fn default() -> Self {
        Self::new()
    }
}

impl Mfcc {
    /// Plans the DCT (type II, orthonormal), with the ln → dB factor folded in.
    pub fn new() -> Self {
        let n = N_MELS as f64;
        let db_per_neper = 20.0 / std::f64::consts::LN_10;
        let dct = (0..N_MELS)
            .map(|m| {
                std::array::from_fn(|k| {
                    let scale = if k == 0 { (1.0 / n).sqrt() } else { (2.0 / n).sqrt() };
                    let angle = std::f64::consts::PI * k as f64 * (2 * m + 1) as f64 / (2.0 * n);
                    (scale * angle.cos() * db_per_neper) as f32
                })
            })
            .collect();
        Self { dct }
    }

    /// MFCC of one standard log-mel frame (`N_MELS` values, natural log) into `out`
    /// (`N_MFCC` values).
    pub fn process(&self, log_mel: &[f32], out: &mut [f32]) {
        debug_assert_eq!(log_mel.len(), N_MELS);
        let mut sum = [0.0f32; N_MFCC];
        for (d, x) in self.dct.iter().zip(log_mel) {
            for (s, d) in sum.iter_mut().zip(d) {
                *s += d * x;
            }
        }
        out.copy_from_slice(&sum);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flat_log_mel_has_only_the_zeroth_coefficient() {
        let mut out = [0.0; N_MFCC];
        Mfcc::new().process(&[1.0; N_MELS], &mut out);
        let db = 20.0 / std::f32::consts::LN_10;
        assert!((out[0] - db * (N_MELS as f32).sqrt()).abs() < 1e-3, "{}", out[0]);
        assert!(out[1..].iter().all(|c| c.abs() < 1e-3), "{out:?}");
    }

    #[test]
    fn the_dct_is_orthonormal() {
        let mfcc = Mfcc::new();
        let db = 20.0 / std::f32::consts::LN_10;
        for a in 0..N_MFCC {
            for b in 0..N_MFCC {
                let dot: f32 = mfcc.dct.iter().map(|row| row[a] * row[b]).sum::<f32>() / (db * db);
                let want = if a == b { 1.0 } else { 0.0 };
                assert!((dot - want).abs() < 1e-4, "rows {a},{b}: {dot}");
            }
        }
    }
}
