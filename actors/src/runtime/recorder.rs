//! The recorder thread: writes the master output, block by block, to a WAV file (48 kHz
//! stereo 32-bit float), updating the header every half second so the file is readable
//! while it grows.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread::JoinHandle;

use anyhow::Context;

/// Opens `dir/name` (adding `.wav` if it has no extension) and starts the writer; send it
/// blocks, then drop the sender to finish the file.
pub fn start(
    dir: &Path,
    name: &str,
    rate: u32,
) -> anyhow::Result<(PathBuf, Sender<Vec<f32>>, JoinHandle<()>)> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut path = dir.join(name);
    if path.extension().is_none() {
        path.set_extension("wav");
    }
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: rate,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut writer = hound::WavWriter::create(&path, spec)
        .with_context(|| format!("cannot write {}", path.display()))?;
    let (tx, rx): (Sender<Vec<f32>>, Receiver<Vec<f32>>) = channel();
    let shown = path.display().to_string();
    let handle = std::thread::Builder::new().name("recorder".into()).spawn(move || {
        let mut since_flush = 0usize;
        let result = (|| -> hound::Result<()> {
            for block in rx {
                for s in &block {
                    writer.write_sample(*s)?;
                }
                since_flush += block.len() / 2;
                if since_flush >= rate as usize / 2 {
                    writer.flush()?;
                    since_flush = 0;
                }
            }
            writer.finalize()
        })();
        match result {
            Ok(()) => eprintln!("recording {shown} finished"),
            Err(e) => eprintln!("recording {shown} failed: {e}"),
        }
    })?;
    Ok((path, tx, handle))
}
