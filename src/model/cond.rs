//! The U-Net's condition vector: cond = e_phrase 256 ‖ e_motion 104 ‖ bar position 16
//! (DESIGN.md §5), laid out as the training code's `diffusion.cond_of`.
//!
//! All zeros is the unconditional condition classifier-free guidance extrapolates from;
//! e_motion all zeros means "no motion" (the training code drops motion in half the
//! batches so).

use crate::{Error, Result};

/// Dimensions of e_phrase (standardised with the database's statistics).
pub const E_PHRASE_DIMS: usize = 256;
/// Dimensions of e_motion (the RPS encoder's features, z-scored).
pub const E_MOTION_DIMS: usize = 104;
/// Dimensions of the bar-position code.
pub const BAR_POS_DIMS: usize = 16;
/// Dimensions of cond.
pub const COND_DIMS: usize = E_PHRASE_DIMS + E_MOTION_DIMS + BAR_POS_DIMS;

/// The 16-D bar-position code of a 4-bar window whose first bar is `first_bar` (0-based) in
/// a phrase of `phrase_bars` bars — `data.bar_position_encoding` of the training code:
/// `[0:8]` sin, cos of 2πw/P for P = 2, 4, 8, 16; `[8:12]` sin, cos of πkw/max(n − 4, 1) for
/// k = 1, 2; `[12]` w = 0; `[13]` w + 4 = n; `[14]` min(w, 16)/16; `[15]` min(n, 32)/32.
pub fn bar_position(first_bar: usize, phrase_bars: usize) -> [f32; BAR_POS_DIMS] {
    let w = first_bar as f64;
    let n = phrase_bars as f64;
    let mut out = [0.0f64; BAR_POS_DIMS];
    for (i, period) in [2.0, 4.0, 8.0, 16.0].into_iter().enumerate() {
        let phase = std::f64::consts::TAU * w / period;
        out[2 * i] = phase.sin();
        out[2 * i + 1] = phase.cos();
    }
    let rel = w / (n - 4.0).max(1.0);
    for k in 1..=2 {
        let phase = std::f64::consts::PI * k as f64 * rel;
        out[8 + 2 * (k - 1)] = phase.sin();
        out[9 + 2 * (k - 1)] = phase.cos();
    }
    out[12] = f64::from(u8::from(first_bar == 0));
    out[13] = f64::from(u8::from(first_bar + 4 == phrase_bars));
    out[14] = w.min(16.0) / 16.0;
    out[15] = n.min(32.0) / 32.0;
    out.map(|x| x as f32)
}

/// Assembles cond from its parts; `e_motion = None` is "no motion" (zeros).
pub fn condition(
    e_phrase: &[f32],
    e_motion: Option<&[f32]>,
    bar_position: &[f32; BAR_POS_DIMS],
) -> Result<Vec<f32>> {
    if e_phrase.len() != E_PHRASE_DIMS {
        return Err(Error::InvalidParameter {
            name: "e_phrase",
            reason: format!("{} dimensions, the model takes {E_PHRASE_DIMS}", e_phrase.len()),
        });
    }
    let mut cond = Vec::with_capacity(COND_DIMS);
    cond.extend_from_slice(e_phrase);
    match e_motion {
        Some(m) if m.len() == E_MOTION_DIMS => cond.extend_from_slice(m),
        Some(m) => {
            return Err(Error::InvalidParameter {
                name: "e_motion",
                reason: format!("{} dimensions, the model takes {E_MOTION_DIMS}", m.len()),
            });
        }
        None => cond.resize(E_PHRASE_DIMS + E_MOTION_DIMS, 0.0),
    }
    cond.extend_from_slice(bar_position);
    Ok(cond)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opening_window_of_a_four_bar_phrase() {
        let c = bar_position(0, 4);
        let want = [0., 1., 0., 1., 0., 1., 0., 1., 0., 1., 0., 1., 1., 1., 0., 0.125];
        for (a, b) in c.iter().zip(want) {
            assert!((a - b).abs() < 1e-7, "{c:?}");
        }
    }

    #[test]
    fn bar_five_of_sixteen() {
        let c = bar_position(5, 16);
        // Period 4: phase 2π·5/4 → sin = 1, cos = 0; relative 5/12.
        assert!((c[2] - 1.0).abs() < 1e-6 && c[3].abs() < 1e-6);
        assert!((c[8] - (std::f32::consts::PI * 5.0 / 12.0).sin()).abs() < 1e-6);
        assert_eq!((c[12], c[13], c[14], c[15]), (0.0, 0.0, 5.0 / 16.0, 0.5));
    }

    #[test]
    fn cond_layout_and_no_motion() {
        let e = vec![1.0; E_PHRASE_DIMS];
        let c = condition(&e, None, &bar_position(0, 4)).unwrap();
        assert_eq!(c.len(), COND_DIMS);
        assert!(c[256..360].iter().all(|&x| x == 0.0));
        assert_eq!(c[360 + 15], 0.125);
        assert!(condition(&e[1..], None, &bar_position(0, 4)).is_err());
        assert!(condition(&e, Some(&[0.0; 3]), &bar_position(0, 4)).is_err());
    }
}
