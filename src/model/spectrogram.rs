//! A log-mel spectrogram as a PNG picture: time left to right, low bins at the bottom,
//! the top 10 natural-log units (≈ 87 dB) mapped through a dark-to-bright colour ramp.

use std::io::BufWriter;
use std::path::Path;

use crate::{Error, Result};

/// The dynamic range shown, in natural-log units below the loudest cell.
pub const RANGE_LN: f32 = 10.0;

/// RGB pixels (row-major, top row first) of a channel-first log-mel `[bins, frames]`.
pub fn render(mel: &[f32], bins: usize) -> (usize, usize, Vec<u8>) {
    let frames = mel.len().checked_div(bins).unwrap_or(0);
    let top = mel.iter().copied().filter(|x| x.is_finite()).fold(f32::NEG_INFINITY, f32::max);
    let floor = top - RANGE_LN;
    let mut rgb = vec![0u8; bins * frames * 3];
    for row in 0..bins {
        let bin = bins - 1 - row;
        for f in 0..frames {
            let v = mel[bin * frames + f];
            let x = if v.is_finite() { ((v - floor) / RANGE_LN).clamp(0.0, 1.0) } else { 0.0 };
            let [r, g, b] = ramp(x);
            let i = (row * frames + f) * 3;
            rgb[i..i + 3].copy_from_slice(&[r, g, b]);
        }
    }
    (frames, bins, rgb)
}

/// Black → purple → orange → pale yellow, perceptually ordered (close to matplotlib's
/// "magma"), piecewise linear between five stops.
fn ramp(x: f32) -> [u8; 3] {
    const STOPS: [[f32; 3]; 5] = [
        [0.0, 0.0, 4.0],
        [81.0, 18.0, 124.0],
        [183.0, 55.0, 121.0],
        [252.0, 137.0, 97.0],
        [252.0, 253.0, 191.0],
    ];
    let p = x * (STOPS.len() - 1) as f32;
    let i = (p.floor() as usize).min(STOPS.len() - 2);
    let t = p - i as f32;
    let mut out = [0u8; 3];
    for c in 0..3 {
        out[c] = (STOPS[i][c] + t * (STOPS[i + 1][c] - STOPS[i][c])).round() as u8;
    }
    out
}

/// Writes the spectrogram of a channel-first log-mel `[bins, frames]` as an 8-bit RGB PNG.
pub fn write_png(path: &Path, mel: &[f32], bins: usize) -> Result<()> {
    let (width, height, rgb) = render(mel, bins);
    let write_error = |reason: String| Error::Write { path: path.to_path_buf(), reason };
    if width == 0 {
        return Err(write_error("an empty spectrogram".into()));
    }
    let file = std::fs::File::create(path).map_err(|e| write_error(e.to_string()))?;
    let mut encoder = png::Encoder::new(BufWriter::new(file), width as u32, height as u32);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(|e| write_error(e.to_string()))?;
    writer.write_image_data(&rgb).map_err(|e| write_error(e.to_string()))?;
    writer.finish().map_err(|e| write_error(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loud_low_bin_is_bright_at_the_bottom() {
        // 4 bins × 3 frames; bin 0 loud, the rest at the floor.
        let mut mel = vec![-11.5; 12];
        mel[..3].fill(0.0);
        let (w, h, rgb) = render(&mel, 4);
        assert_eq!((w, h), (3, 4));
        let bottom = &rgb[3 * 3 * 3..3 * 3 * 3 + 3];
        let top = &rgb[..3];
        assert_eq!(bottom, &[252, 253, 191]);
        assert_eq!(top, &[0, 0, 4]);
    }

    #[test]
    fn writes_a_png_that_starts_with_the_signature() {
        let dir = std::env::temp_dir().join(format!("memsynth-spec-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("s.png");
        let mel: Vec<f32> = (0..128 * 20).map(|i| (i as f32 * 0.01).sin()).collect();
        write_png(&path, &mel, 128).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
