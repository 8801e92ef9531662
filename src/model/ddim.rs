//! The DDIM sampler (Song et al. 2021) for a v-predicting model: η = 0, trailing spacing,
//! any step count, classifier-free guidance — step for step what the training code's
//! `diffusion.ddim_sample` does, so the two agree on the same noise (tests/model_parity.rs).
//!
//! Per step from t to t_next, with (α, σ) from the [`CosineSchedule`] (computed in f64,
//! applied in f32 as torch applies a Python float to a float32 tensor):
//! v = v_u + g (v_c − v_u); x̂₀ = α x − σ v; ε̂ = σ x + α v; x ← α' x̂₀ + σ' ε̂.
//! With g ≠ 1 the conditional and unconditional (cond all zeros) predictions come from one
//! model call on a batch of two; with g = 1 one call on the conditional input.

use super::schedule::{CosineSchedule, ddim_timesteps};
use crate::{Error, Result};

/// The shape of one sample: `channels × frames`, plus the context bar's frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SampleShape {
    /// Channels of x (64 for the latent).
    pub channels: usize,
    /// Frames of x (192 latent frames = 4 bars).
    pub frames: usize,
    /// Frames of the context bar (48).
    pub context_frames: usize,
    /// Length of the condition vector (376).
    pub cond_dims: usize,
}

impl SampleShape {
    /// Values in one x.
    pub fn len(&self) -> usize {
        self.channels * self.frames
    }

    /// Whether a sample holds no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Values in one context.
    pub fn context_len(&self) -> usize {
        self.channels * self.context_frames
    }
}

/// A batch of U-Net inputs, channel-first and batch-major; batch = `t.len()`.
pub struct DenoiserInput<'a> {
    /// x_t `[B, C, L]`.
    pub x_t: &'a [f32],
    /// t `[B]` in [0, 1].
    pub t: &'a [f32],
    /// cond `[B, 376]` (all zeros = unconditional).
    pub cond: &'a [f32],
    /// The clean previous bar `[B, C, Lc]`.
    pub context: &'a [f32],
    /// `[B]`: 1 where the context bar is real, 0 where there is none.
    pub context_mask: &'a [f32],
}

/// A model that predicts v from x_t (the U-Net, or a closed-form stand-in in tests).
pub trait Denoiser {
    /// Writes v `[B, C, L]` for the batch into `v`.
    fn predict_v(&mut self, input: &DenoiserInput<'_>, v: &mut [f32]) -> Result<()>;
}

/// DDIM with η = 0: `steps` model evaluations (twice the work with guidance ≠ 1).
#[derive(Clone, Copy, Debug)]
pub struct Ddim {
    /// The noise schedule.
    pub schedule: CosineSchedule,
    /// Number of steps, at least 1.
    pub steps: usize,
    /// Guidance scale g: 1 = conditional only, 0 = unconditional, > 1 = amplified.
    pub guidance: f32,
}

impl Ddim {
    /// A sampler with the training code's cosine schedule.
    pub fn new(steps: usize, guidance: f32) -> Result<Self> {
        if steps == 0 {
            return Err(Error::InvalidParameter {
                name: "steps",
                reason: "DDIM needs at least 1 step".into(),
            });
        }
        if !guidance.is_finite() {
            return Err(Error::InvalidParameter {
                name: "guidance",
                reason: format!("{guidance} is not a finite number"),
            });
        }
        Ok(Self { schedule: CosineSchedule::default(), steps, guidance })
    }

    /// Denoises `noise` (`[C, L]`) into x₀ under `cond`, with the previous bar `context`
    /// (`[C, Lc]`) weighted by `context_mask` (1 real, 0 none).
    pub fn sample(
        &self,
        model: &mut dyn Denoiser,
        shape: SampleShape,
        noise: &[f32],
        cond: &[f32],
        context: &[f32],
        context_mask: f32,
    ) -> Result<Vec<f32>> {
        let n = shape.len();
        let check = |name: &'static str, got: usize, want: usize| {
            if got == want {
                Ok(())
            } else {
                Err(Error::InvalidParameter {
                    name,
                    reason: format!("{got} values, the model takes {want}"),
                })
            }
        };
        check("noise", noise.len(), n)?;
        check("cond", cond.len(), shape.cond_dims)?;
        check("context", context.len(), shape.context_len())?;
        let guided = self.guidance != 1.0;
        let batch = if guided { 2 } else { 1 };
        // Batch inputs that do not change between steps: [cond, 0] and the context twice.
        let mut cond_b = vec![0.0f32; batch * shape.cond_dims];
        cond_b[..shape.cond_dims].copy_from_slice(cond);
        let context_b: Vec<f32> =
            context.iter().copied().cycle().take(batch * context.len()).collect();
        let mask_b = vec![context_mask; batch];
        let mut x = noise.to_vec();
        let mut x_b = vec![0.0f32; batch * n];
        let mut v_b = vec![0.0f32; batch * n];
        let mut t_b = vec![0.0f32; batch];
        let g = self.guidance;
        for (t, t_next) in ddim_timesteps(self.steps) {
            for chunk in x_b.chunks_exact_mut(n) {
                chunk.copy_from_slice(&x);
            }
            t_b.fill(t as f32);
            let input = DenoiserInput {
                x_t: &x_b,
                t: &t_b,
                cond: &cond_b,
                context: &context_b,
                context_mask: &mask_b,
            };
            model.predict_v(&input, &mut v_b)?;
            if guided {
                let (v_c, v_u) = v_b.split_at_mut(n);
                for (c, u) in v_c.iter_mut().zip(v_u.iter()) {
                    *c = *u + g * (*c - *u);
                }
            }
            let (a, s) = self.schedule.alpha_sigma(t);
            let (an, sn) = self.schedule.alpha_sigma(t_next);
            let (a, s, an, sn) = (a as f32, s as f32, an as f32, sn as f32);
            for (xi, &vi) in x.iter_mut().zip(&v_b[..n]) {
                let x0 = a * *xi - s * vi;
                let eps = s * *xi + a * vi;
                *xi = an * x0 + sn * eps;
            }
        }
        Ok(x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::noise::GaussianNoise;

    const SHAPE: SampleShape =
        SampleShape { channels: 3, frames: 8, context_frames: 2, cond_dims: 4 };

    /// The ideal model for one known x₀: v = α ε − σ x₀ with ε = (x_t − α x₀)/σ.
    struct Perfect {
        x0: Vec<f32>,
        schedule: CosineSchedule,
        calls: usize,
    }

    impl Denoiser for Perfect {
        fn predict_v(&mut self, input: &DenoiserInput<'_>, v: &mut [f32]) -> Result<()> {
            self.calls += 1;
            let n = self.x0.len();
            for (b, &t) in input.t.iter().enumerate() {
                let (a, s) = self.schedule.alpha_sigma(t as f64);
                for i in 0..n {
                    let (xt, x0) = (input.x_t[b * n + i] as f64, self.x0[i] as f64);
                    let eps = (xt - a * x0) / s.max(1e-12);
                    v[b * n + i] = (a * eps - s * x0) as f32;
                }
            }
            Ok(())
        }
    }

    fn perfect() -> Perfect {
        Perfect {
            x0: GaussianNoise::new(9).vec(SHAPE.len()),
            schedule: CosineSchedule::default(),
            calls: 0,
        }
    }

    #[test]
    fn a_perfect_denoiser_returns_x0_for_any_step_count() {
        let noise = GaussianNoise::new(1).vec(SHAPE.len());
        for steps in [1, 2, 5, 20, 50] {
            let mut model = perfect();
            let out = Ddim::new(steps, 1.0)
                .unwrap()
                .sample(&mut model, SHAPE, &noise, &[0.0; 4], &[0.0; 6], 0.0)
                .unwrap();
            assert_eq!(model.calls, steps);
            for (a, b) in out.iter().zip(&model.x0) {
                assert!((a - b).abs() < 1e-4, "{steps} steps: {a} vs {b}");
            }
        }
    }

    #[test]
    fn guidance_of_agreeing_predictions_changes_nothing() {
        // Conditional and unconditional predictions agree, so any g gives x0.
        let noise = GaussianNoise::new(2).vec(SHAPE.len());
        let mut model = perfect();
        let out = Ddim::new(10, 4.0)
            .unwrap()
            .sample(&mut model, SHAPE, &noise, &[1.0; 4], &[0.5; 6], 1.0)
            .unwrap();
        assert_eq!(model.calls, 10, "one batched call per step");
        for (a, b) in out.iter().zip(&model.x0) {
            assert!((a - b).abs() < 1e-4);
        }
    }

    /// Returns v_c = 1 for the conditional row and v_u = 0 for the unconditional one, and
    /// records the batches it saw.
    struct TwoRows {
        seen_cond: Vec<Vec<f32>>,
    }

    impl Denoiser for TwoRows {
        fn predict_v(&mut self, input: &DenoiserInput<'_>, v: &mut [f32]) -> Result<()> {
            let n = v.len() / input.t.len();
            for (b, row) in v.chunks_exact_mut(n).enumerate() {
                let c = &input.cond[b * 4..b * 4 + 4];
                self.seen_cond.push(c.to_vec());
                row.fill(if b == 0 { 1.0 } else { 0.0 });
            }
            assert_eq!(input.context.len(), input.t.len() * 6);
            assert!(input.context_mask.iter().all(|&m| m == 1.0));
            Ok(())
        }
    }

    #[test]
    fn guidance_extrapolates_from_the_unconditional_row() {
        // One step from t = 1 (α ≈ 0, σ = 1) to 0 (α = 1, σ = 0): x = x̂₀ = α x − σ v ≈ −v,
        // and v = v_u + g (v_c − v_u) = g.
        let mut model = TwoRows { seen_cond: Vec::new() };
        let out = Ddim::new(1, 2.5)
            .unwrap()
            .sample(&mut model, SHAPE, &[0.0; 24], &[1.0, 2.0, 3.0, 4.0], &[7.0; 6], 1.0)
            .unwrap();
        assert!(out.iter().all(|&x| (x + 2.5).abs() < 1e-5), "{out:?}");
        assert_eq!(model.seen_cond, vec![vec![1.0, 2.0, 3.0, 4.0], vec![0.0; 4]]);
    }

    #[test]
    fn wrong_sizes_and_zero_steps_are_errors() {
        assert!(Ddim::new(0, 1.0).is_err());
        assert!(Ddim::new(4, f32::NAN).is_err());
        let mut model = perfect();
        let err = Ddim::new(2, 1.0)
            .unwrap()
            .sample(&mut model, SHAPE, &[0.0; 23], &[0.0; 4], &[0.0; 6], 0.0)
            .unwrap_err();
        assert!(err.to_string().contains("noise"), "{err}");
    }
}
