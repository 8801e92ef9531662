//! Beat-synchronous aggregation and frame/time conversion.

use crate::dsp::{FRAME_RATE, FrameMatrix};

/// The analysis frame nearest to `seconds` (frame `t` is centred on `t / FRAME_RATE` s).
pub fn frame_of(seconds: f64) -> usize {
    (seconds * f64::from(FRAME_RATE)).round().max(0.0) as usize
}

/// The time, seconds, at the centre of frame `t`.
pub fn time_of(frame: usize) -> f64 {
    frame as f64 / f64::from(FRAME_RATE)
}

/// The mean of `frames` over each span between consecutive `boundaries` (frame indices,
/// increasing): one row per span, `boundaries.len() - 1` rows. A span is `[b_i, b_{i+1})`,
/// clipped to the matrix; an empty span (repeated boundary) takes its start frame.
pub fn beat_sync(frames: &FrameMatrix, boundaries: &[usize]) -> FrameMatrix {
    let width = frames.width();
    let n = frames.n_frames();
    let rows = boundaries.len().saturating_sub(1);
    let mut out = FrameMatrix::zeros(rows, width);
    if n == 0 {
        return out;
    }
    for (i, span) in boundaries.windows(2).enumerate() {
        let start = span[0].min(n - 1);
        let end = span[1].clamp(start + 1, n);
        let row = out.frame_mut(i);
        for t in start..end {
            for (r, v) in row.iter_mut().zip(frames.frame(t)) {
                *r += v;
            }
        }
        let count = (end - start) as f32;
        for r in row.iter_mut() {
            *r /= count;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn means_over_spans() {
        let m = FrameMatrix::from_vec(2, vec![0.0, 10.0, 2.0, 20.0, 4.0, 30.0, 6.0, 40.0]);
        let s = beat_sync(&m, &[0, 2, 4]);
        assert_eq!(s.as_slice(), &[1.0, 15.0, 5.0, 35.0]);
        assert_eq!(beat_sync(&m, &[1, 1, 9]).as_slice(), &[2.0, 20.0, 4.0, 30.0]);
    }

    #[test]
    fn frames_and_times_agree() {
        assert_eq!(frame_of(1.0), 96);
        assert!((time_of(96) - 1.0).abs() < 1e-12);
    }
}
