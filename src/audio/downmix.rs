//! Many channels to one.

/// The mean of the channels of each frame of `interleaved`.
///
/// The mean (not the sum) keeps a full-scale signal in range and keeps a mono file's level
/// when it was stored as two identical channels. A trailing partial frame is dropped;
/// `channels == 0` gives nothing, `channels == 1` a copy.
pub fn downmix(interleaved: &[f32], channels: usize) -> Vec<f32> {
    match channels {
        0 => Vec::new(),
        1 => interleaved.to_vec(),
        2 => interleaved.chunks_exact(2).map(|f| 0.5 * (f[0] + f[1])).collect(),
        n => {
            let scale = 1.0 / n as f32;
            interleaved.chunks_exact(n).map(|f| f.iter().sum::<f32>() * scale).collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::downmix;

    #[test]
    fn mean_of_channels() {
        assert_eq!(downmix(&[1.0, 0.0, 0.5, 0.5, -1.0, 1.0], 2), [0.5, 0.5, 0.0]);
        assert_eq!(downmix(&[0.25, 0.5, 0.75, 0.5, 1.0, -1.0, 0.0, 0.0], 4), [0.5, 0.0]);
        assert_eq!(downmix(&[0.1, 0.2], 1), [0.1, 0.2]);
        // Identical channels keep their level.
        assert_eq!(downmix(&[0.7, 0.7, -0.2, -0.2], 2), [0.7, -0.2]);
    }

    #[test]
    fn odd_inputs() {
        assert!(downmix(&[1.0, 2.0], 0).is_empty());
        assert_eq!(downmix(&[1.0, 1.0, 5.0], 2), [1.0]);
        assert!(downmix(&[], 2).is_empty());
    }
}
