//! Running statistics of e_motion: each dimension as a z-score against how *this* performer
//! moves, so a small dancer and a big one both reach the whole query space.
//!
//! Exponentially weighted mean and variance (West's incremental form) with a forgetting
//! horizon of [`NormalizerConfig::horizon`] updates. Before there is any data the
//! statistics are a prior ([`prior`]: mean 0 and a typical spread per feature, e.g. 2 m/s²
//! for acceleration), weighted as [`NormalizerConfig::prior_weight`] updates, so the first
//! bar already maps to something sensible and the prior fades as the performer moves.
//!
//! **Calibration** (`/motion/calibrate`): [`Normalizer::calibrate`] collects the next N
//! updates (the performer's neutral or typical motion) and then replaces the statistics
//! with theirs (deviation floored at 5 % of the prior, so a still channel does not blow
//! up), counting them as N updates. Nothing here allocates after `new`.

use super::encoder::{E_MOTION_DIMS, FEATURES, feature};
use super::sensors::{ACCEL, ACCEL_MAG, ANGLES, GRAVITY, ROT};

/// Largest |z| the normalizer outputs.
pub const Z_CLIP: f32 = 4.0;

/// The normalizer's settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NormalizerConfig {
    /// Effective number of updates remembered (256: 64 bars at one update per beat, a few
    /// minutes: a performer who keeps moving wildly is heard doing so for a while, not
    /// normalised away within a phrase).
    pub horizon: f64,
    /// How many updates the prior counts as (32: 8 bars).
    pub prior_weight: f64,
}

impl Default for NormalizerConfig {
    fn default() -> Self {
        Self { horizon: 256.0, prior_weight: 32.0 }
    }
}

/// The prior mean and standard deviation of each e_motion dimension: what a phone held in a
/// moving hand typically shows. Means are 0 except where a feature cannot be negative.
pub fn prior() -> ([f32; E_MOTION_DIMS], [f32; E_MOTION_DIMS]) {
    let mut mean = [0.0; E_MOTION_DIMS];
    let mut std = [1.0; E_MOTION_DIMS];
    // Typical level of each channel group: m/s², rad/s, m/s², rad.
    let scale = |c: usize| match c {
        c if (ACCEL..ACCEL + 3).contains(&c) || c == ACCEL_MAG => 2.0,
        c if (ROT..ROT + 3).contains(&c) => 1.5,
        c if (GRAVITY..GRAVITY + 3).contains(&c) => 5.0,
        c if (ANGLES..ANGLES + 3).contains(&c) => 1.0,
        _ => 1.0,
    };
    for c in 0..E_MOTION_DIMS / FEATURES {
        let s = scale(c);
        let d = c * FEATURES;
        mean[d + feature::MEAN] = if c == ACCEL_MAG { s } else { 0.0 };
        std[d + feature::MEAN] = s;
        mean[d + feature::DEVIATION] = 0.5 * s;
        std[d + feature::DEVIATION] = 0.5 * s;
        mean[d + feature::RANGE] = 2.0 * s;
        std[d + feature::RANGE] = 2.0 * s;
        // Jerk: the level changing at a few Hz.
        mean[d + feature::JERK] = 5.0 * s;
        std[d + feature::JERK] = 5.0 * s;
        mean[d + feature::BEAT_ENERGY] = 0.2;
        std[d + feature::BEAT_ENERGY] = 0.25;
        mean[d + feature::DOMINANT_FREQ] = 2.0;
        std[d + feature::DOMINANT_FREQ] = 2.0;
        mean[d + feature::CENTROID] = 4.0;
        std[d + feature::CENTROID] = 3.0;
        mean[d + feature::ZERO_CROSSINGS] = 3.0;
        std[d + feature::ZERO_CROSSINGS] = 3.0;
    }
    (mean, std)
}

/// Running statistics and the calibration gesture. See the module docs.
#[derive(Debug, Clone)]
pub struct Normalizer {
    config: NormalizerConfig,
    mean: [f64; E_MOTION_DIMS],
    var: [f64; E_MOTION_DIMS],
    floor: [f64; E_MOTION_DIMS],
    weight: f64,
    calibration: Option<Calibration>,
}

#[derive(Debug, Clone)]
struct Calibration {
    left: u32,
    count: u32,
    sum: [f64; E_MOTION_DIMS],
    sum_sq: [f64; E_MOTION_DIMS],
}

impl Normalizer {
    /// Statistics at the [`prior`].
    pub fn new(config: NormalizerConfig) -> Self {
        let (mean, std) = prior();
        Self {
            config,
            mean: mean.map(f64::from),
            var: std.map(|s| f64::from(s).powi(2)),
            floor: std.map(|s| (0.05 * f64::from(s)).powi(2)),
            weight: config.prior_weight,
            calibration: None,
        }
    }

    /// Starts a calibration over the next `updates` updates (at least 1); a running one
    /// starts again.
    pub fn calibrate(&mut self, updates: u32) {
        self.calibration = Some(Calibration {
            left: updates.max(1),
            count: 0,
            sum: [0.0; E_MOTION_DIMS],
            sum_sq: [0.0; E_MOTION_DIMS],
        });
    }

    /// Updates left in a running calibration.
    pub fn calibrating(&self) -> Option<u32> {
        self.calibration.as_ref().map(|c| c.left)
    }

    /// The current mean of each dimension.
    pub fn mean(&self) -> [f32; E_MOTION_DIMS] {
        self.mean.map(|m| m as f32)
    }

    /// Normalises `x` in place (z-scores against the statistics *before* this update,
    /// clipped to ±[`Z_CLIP`]) and then takes it into the statistics.
    pub fn process(&mut self, x: &mut [f32]) {
        debug_assert_eq!(x.len(), E_MOTION_DIMS);
        let n = (self.weight + 1.0).min(self.config.horizon.max(1.0));
        let alpha = 1.0 / n;
        self.weight = n;
        for (d, v) in x.iter_mut().enumerate() {
            let raw = if v.is_finite() { f64::from(*v) } else { self.mean[d] };
            let std = self.var[d].max(self.floor[d]).sqrt();
            *v = ((raw - self.mean[d]) / std).clamp(-f64::from(Z_CLIP), f64::from(Z_CLIP)) as f32;
            let delta = raw - self.mean[d];
            self.mean[d] += alpha * delta;
            self.var[d] = (1.0 - alpha) * (self.var[d] + alpha * delta * delta);
            if let Some(c) = &mut self.calibration {
                c.sum[d] += raw;
                c.sum_sq[d] += raw * raw;
            }
        }
        let done = match &mut self.calibration {
            Some(c) => {
                c.count += 1;
                c.left -= 1;
                c.left == 0
            }
            None => false,
        };
        if done && let Some(c) = self.calibration.take() {
            let n = f64::from(c.count);
            for d in 0..E_MOTION_DIMS {
                let mean = c.sum[d] / n;
                self.mean[d] = mean;
                self.var[d] = (c.sum_sq[d] / n - mean * mean).max(self.floor[d]);
            }
            self.weight = n.min(self.config.horizon);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prior_gives_sensible_z_scores_from_the_first_update() {
        let mut n = Normalizer::new(NormalizerConfig::default());
        let (mean, _) = prior();
        let mut x = mean;
        n.process(&mut x);
        assert!(x.iter().all(|&z| z.abs() < 1e-6), "{x:?}");
        // A still phone: gravity 9.8 on one axis is about 2 prior deviations (5 m/s², a
        // little narrower after the first update).
        let mut y = mean;
        y[GRAVITY * FEATURES + feature::MEAN] = 9.8;
        n.process(&mut y);
        assert!((y[GRAVITY * FEATURES] - 1.99).abs() < 0.05, "{}", y[GRAVITY * FEATURES]);
    }

    #[test]
    fn running_statistics_adapt_and_calibration_resets_them() {
        let mut n = Normalizer::new(NormalizerConfig::default());
        let d = ACCEL_MAG * FEATURES + feature::DEVIATION;
        // The performer always moves a lot: after a while that is their normal.
        let mut last = 0.0;
        for _ in 0..1000 {
            let (mut x, _) = prior();
            x[d] = 6.0;
            n.process(&mut x);
            last = x[d];
        }
        assert!(last.abs() < 0.5, "{last}");
        // Calibrate on 4 updates of small motion: now 6 is far out again.
        n.calibrate(4);
        for v in [0.9, 1.0, 1.1, 1.0] {
            let (mut x, _) = prior();
            x[d] = v;
            n.process(&mut x);
        }
        assert_eq!(n.calibrating(), None);
        assert!((n.mean()[d] - 1.0).abs() < 1e-5);
        let (mut x, _) = prior();
        x[d] = 6.0;
        n.process(&mut x);
        assert_eq!(x[d], Z_CLIP);
    }

    #[test]
    fn processing_does_not_allocate() {
        let mut n = Normalizer::new(NormalizerConfig::default());
        n.calibrate(2);
        let mut x = [1.0; E_MOTION_DIMS];
        assert_no_alloc::assert_no_alloc(|| {
            for _ in 0..3 {
                n.process(&mut x);
            }
        });
    }
}
