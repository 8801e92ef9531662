//! Seeded Gaussian noise: the same seed gives the same noise on every machine.
//!
//! ChaCha8 (portable, stream-stable) feeding the Box–Muller transform in f64, so the
//! numbers do not depend on the platform's libm beyond `ln`, `sqrt`, `sin` and `cos`.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A deterministic source of standard normal samples.
pub struct GaussianNoise {
    rng: ChaCha8Rng,
    spare: Option<f64>,
}

impl GaussianNoise {
    /// The stream for `seed`.
    pub fn new(seed: u64) -> Self {
        Self { rng: ChaCha8Rng::seed_from_u64(seed), spare: None }
    }

    /// One N(0, 1) sample.
    pub fn sample(&mut self) -> f64 {
        if let Some(z) = self.spare.take() {
            return z;
        }
        // u1 in (0, 1] so that ln(u1) is finite.
        let u1 = 1.0 - self.rng.random::<f64>();
        let u2: f64 = self.rng.random();
        let r = (-2.0 * u1.ln()).sqrt();
        let (s, c) = (std::f64::consts::TAU * u2).sin_cos();
        self.spare = Some(r * s);
        r * c
    }

    /// Fills `out` with N(0, 1) samples.
    pub fn fill(&mut self, out: &mut [f32]) {
        for x in out {
            *x = self.sample() as f32;
        }
    }

    /// `n` N(0, 1) samples.
    pub fn vec(&mut self, n: usize) -> Vec<f32> {
        let mut v = vec![0.0; n];
        self.fill(&mut v);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_noise_other_seed_other_noise() {
        assert_eq!(GaussianNoise::new(3).vec(100), GaussianNoise::new(3).vec(100));
        assert_ne!(GaussianNoise::new(3).vec(100), GaussianNoise::new(4).vec(100));
    }

    #[test]
    fn moments_are_standard_normal() {
        let x = GaussianNoise::new(1).vec(200_000);
        let n = x.len() as f64;
        let mean = x.iter().map(|&v| v as f64).sum::<f64>() / n;
        let var = x.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n;
        let kurt = x.iter().map(|&v| (v as f64 - mean).powi(4)).sum::<f64>() / n / (var * var);
        assert!(mean.abs() < 0.01, "{mean}");
        assert!((var - 1.0).abs() < 0.01, "{var}");
        assert!((kurt - 3.0).abs() < 0.05, "{kurt}");
    }
}
