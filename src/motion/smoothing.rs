//! Query smoothing: an exponential moving average of the mapped query, with a time
//! constant in seconds (a patch's `motion.smoothing`).
//!
//! The query is updated on beat lines (every beat, over the bar that ends there), so it
//! would jump four times a bar; smoothing makes it glide. Each update at time `t` (seconds on
//! the output's sample clock: the beat line's sample / rate) moves the smoothed query `s`
//! towards the newly mapped one `q` by
//!
//! ```text
//! s ← s + α (q − s),   α = 1 − exp(−Δt / τ)
//! ```
//!
//! where `Δt` is the time since the previous update and `τ` the time constant. Because `α`
//! comes from the elapsed time, not the update count, a step in the motion is followed to
//! `1 − e^(−t/τ)` of the way after `t` seconds at any tempo (63 % after τ, 95 % after 3τ),
//! and a pause in the motion (no update for a while) lets the next update land almost at
//! once. `τ = 0` follows every update exactly. The first update is taken as it is.
//!
//! The smoothing runs on the mapper's output in e_phrase z-score space, before
//! [`standardise_z`](super::standardise_z), so the smoothed query is still a standardised
//! vector like the stored ones. It smooths whatever moves the query: motion, and the anchor
//! (the phrase playing) changing under it. Nothing here reads a clock: the same updates
//! give the same queries, so a render with a motion recording stays deterministic.
//!
//! ```
//! use memsynth::motion::QuerySmoother;
//!
//! let mut s = QuerySmoother::new(1, 0.5);
//! let mut q = [0.0];
//! s.process(0.0, &mut q);
//! // A step to 1 at 0.5 s, one time constant later: 1 − 1/e of the way.
//! let mut q = [1.0];
//! s.process(0.5, &mut q);
//! assert!((q[0] - (1.0 - (-1.0f32).exp())).abs() < 1e-6);
//! ```

/// Exponential smoothing of a query vector on irregular updates (see the module docs).
/// Allocates only in [`QuerySmoother::new`].
#[derive(Debug, Clone)]
pub struct QuerySmoother {
    tau: f32,
    state: Vec<f32>,
    /// Time of the last update, seconds; `None` before the first.
    last: Option<f64>,
}

impl QuerySmoother {
    /// A smoother of `dims`-long queries with time constant `tau` seconds (negative or not
    /// finite counts as 0: no smoothing).
    pub fn new(dims: usize, tau: f32) -> Self {
        let mut s = Self { tau: 0.0, state: vec![0.0; dims], last: None };
        s.set_time_constant(tau);
        s
    }

    /// Changes the time constant (seconds); the smoothed query so far is kept.
    pub fn set_time_constant(&mut self, tau: f32) {
        self.tau = if tau.is_finite() { tau.max(0.0) } else { 0.0 };
    }

    /// The time constant, seconds.
    pub fn time_constant(&self) -> f32 {
        self.tau
    }

    /// Forgets the smoothed query: the next update is taken as it is.
    pub fn reset(&mut self) {
        self.last = None;
    }

    /// Smooths `query` in place: the update at `t` seconds (non-decreasing from call to
    /// call; an earlier `t` counts as no time passing). Writes the smoothed query back.
    ///
    /// # Panics
    ///
    /// When `query` is not as long as the smoother's `dims`.
    pub fn process(&mut self, t: f64, query: &mut [f32]) {
        assert_eq!(query.len(), self.state.len(), "query length");
        let alpha = match self.last {
            None => 1.0,
            Some(_) if self.tau <= 0.0 => 1.0,
            Some(last) => {
                let dt = (t - last).max(0.0);
                (1.0 - (-dt / f64::from(self.tau)).exp()) as f32
            }
        };
        self.last = Some(self.last.map_or(t, |last| last.max(t)));
        for (s, q) in self.state.iter_mut().zip(query.iter_mut()) {
            // A non-finite value would stick forever: the state takes the new value.
            *s = if s.is_finite() { *s + alpha * (*q - *s) } else { *q };
            *q = *s;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The step response of updates every `dt` seconds, 3 s long.
    fn step(tau: f32, dt: f64) -> Vec<(f64, f32)> {
        let mut s = QuerySmoother::new(2, tau);
        let mut q = [0.0, 0.0];
        s.process(0.0, &mut q);
        let mut out = Vec::new();
        let mut t = 0.0;
        while t < 3.0 {
            t += dt;
            let mut q = [1.0, -2.0];
            s.process(t, &mut q);
            assert!((q[1] + 2.0 * q[0]).abs() < 1e-6, "each dimension alike");
            out.push((t, q[0]));
        }
        out
    }

    #[test]
    fn a_step_is_followed_as_one_minus_exp_at_any_update_rate() {
        for dt in [0.1, 0.25, 0.5, 0.375] {
            for (t, y) in step(0.5, dt) {
                let want = 1.0 - (-t / 0.5).exp();
                assert!((f64::from(y) - want).abs() < 1e-5, "dt {dt}, t {t}: {y} vs {want}");
            }
        }
    }

    #[test]
    fn zero_follows_at_once_and_longer_is_slower() {
        assert!(step(0.0, 0.25).iter().all(|&(_, y)| y == 1.0));
        let (fast, slow) = (step(0.25, 0.25), step(2.0, 0.25));
        assert!(fast.iter().zip(&slow).all(|(a, b)| a.1 > b.1));
        // The first update is taken as it is, and a reset starts over.
        let mut s = QuerySmoother::new(1, 2.0);
        let mut q = [3.0];
        s.process(10.0, &mut q);
        assert_eq!(q, [3.0]);
        s.reset();
        let mut q = [-1.0];
        s.process(10.5, &mut q);
        assert_eq!(q, [-1.0]);
    }

    #[test]
    fn the_same_updates_give_the_same_queries() {
        let run = || {
            let mut s = QuerySmoother::new(3, 0.7);
            (0..20)
                .map(|k| {
                    let mut q = [k as f32, (k * k) as f32 * 0.1, -1.0];
                    s.process(f64::from(k) * 0.3, &mut q);
                    q
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(run(), run());
    }
}
