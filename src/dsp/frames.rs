//! A frame-major matrix: one row of features per analysis frame.

/// `n_frames` rows of `width` values each, stored row after row (frame-major), the layout
/// that streaming code produces and that the database and the training shards store.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameMatrix {
    width: usize,
    data: Vec<f32>,
}

impl FrameMatrix {
    /// A matrix of `n_frames` rows of `width` zeros.
    pub fn zeros(n_frames: usize, width: usize) -> Self {
        Self { width, data: vec![0.0; n_frames * width] }
    }

    /// Wraps frame-major data; `data.len()` must be a multiple of `width`.
    pub fn from_vec(width: usize, data: Vec<f32>) -> Self {
        assert!(
            width > 0 && data.len().is_multiple_of(width),
            "data is not whole frames of {width}"
        );
        Self { width, data }
    }

    /// Number of frames (rows).
    pub fn n_frames(&self) -> usize {
        self.data.len() / self.width
    }

    /// Values per frame (columns).
    pub fn width(&self) -> usize {
        self.width
    }

    /// Frame `t`.
    pub fn frame(&self, t: usize) -> &[f32] {
        &self.data[t * self.width..(t + 1) * self.width]
    }

    /// Frame `t`, mutable.
    pub fn frame_mut(&mut self, t: usize) -> &mut [f32] {
        &mut self.data[t * self.width..(t + 1) * self.width]
    }

    /// All frames in order.
    pub fn frames(&self) -> std::slice::ChunksExact<'_, f32> {
        self.data.chunks_exact(self.width)
    }

    /// The whole frame-major buffer.
    pub fn as_slice(&self) -> &[f32] {
        &self.data
    }

    /// The values of column `c` over time.
    pub fn column(&self, c: usize) -> impl Iterator<Item = f32> + '_ {
        self.frames().map(move |f| f[c])
    }
}
