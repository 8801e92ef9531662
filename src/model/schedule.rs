//! The cosine noise schedule in continuous time (Nichol & Dhariwal 2021), as the training
//! code defines it (`diffusion.alpha_sigma`):
//!
//! ᾱ(t) = cos²(π/2 · (t + s)/(1 + s)) / cos²(π/2 · s/(1 + s)), clamped to [0, 1], s = 0.008;
//! α = √ᾱ, σ = √(1 − ᾱ); x_t = α x₀ + σ ε and the model predicts v = α ε − σ x₀.

/// The schedule's offset s of the training code.
pub const COSINE_S: f64 = 0.008;

/// The cosine schedule with offset `s`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CosineSchedule {
    /// The offset s that keeps α small but not zero near t = 0.
    pub s: f64,
}

impl Default for CosineSchedule {
    fn default() -> Self {
        Self { s: COSINE_S }
    }
}

impl CosineSchedule {
    /// (α, σ) at continuous time `t` ∈ [0, 1], computed in f64 as the Python sampler does.
    pub fn alpha_sigma(&self, t: f64) -> (f64, f64) {
        let half_pi = std::f64::consts::FRAC_PI_2;
        let f = ((t + self.s) / (1.0 + self.s) * half_pi).cos().powi(2);
        let f0 = (self.s / (1.0 + self.s) * half_pi).cos().powi(2);
        let abar = (f / f0).clamp(0.0, 1.0);
        (abar.sqrt(), (1.0 - abar).sqrt())
    }
}

/// DDIM's time steps with trailing spacing: `steps` pairs (t, t_next) from t = 1 (pure
/// noise) down to t_next = 0, equally spaced: t_k = k/N for k = N … 1, next (k − 1)/N.
pub fn ddim_timesteps(steps: usize) -> Vec<(f64, f64)> {
    let n = steps as f64;
    (0..steps).map(|i| ((steps - i) as f64 / n, (steps - i - 1) as f64 / n)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ends_are_clean_and_pure_noise() {
        let s = CosineSchedule::default();
        let (a0, s0) = s.alpha_sigma(0.0);
        assert!((a0 - 1.0).abs() < 1e-12 && s0.abs() < 1e-6, "{a0} {s0}");
        let (a1, s1) = s.alpha_sigma(1.0);
        assert!(a1.abs() < 1e-6 && (s1 - 1.0).abs() < 1e-12, "{a1} {s1}");
    }

    #[test]
    fn variance_is_preserved_and_alpha_falls() {
        let s = CosineSchedule::default();
        let mut last = f64::INFINITY;
        for k in 0..=100 {
            let (a, sg) = s.alpha_sigma(k as f64 / 100.0);
            assert!((a * a + sg * sg - 1.0).abs() < 1e-12);
            assert!(a <= last);
            last = a;
        }
        // Half-way: ᾱ = cos²(π/2 · 0.508/1.008) / cos²(π/2 · 0.008/1.008).
        let (a, _) = s.alpha_sigma(0.5);
        let want = (0.508f64 / 1.008 * std::f64::consts::FRAC_PI_2).cos()
            / (0.008f64 / 1.008 * std::f64::consts::FRAC_PI_2).cos();
        assert!((a - want).abs() < 1e-12);
    }

    #[test]
    fn trailing_spacing_starts_at_one_and_ends_at_zero() {
        assert_eq!(ddim_timesteps(4), vec![(1.0, 0.75), (0.75, 0.5), (0.5, 0.25), (0.25, 0.0)]);
        assert_eq!(ddim_timesteps(1), vec![(1.0, 0.0)]);
        assert!(ddim_timesteps(0).is_empty());
        let t = ddim_timesteps(7);
        assert!(t.windows(2).all(|w| w[0].1 == w[1].0));
    }
}
