//! The core library's one error type.

use std::path::PathBuf;

/// Everything the core library can fail with. Each message names the file and says what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file could not be opened or read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// The file is not audio in a format memsynth reads.
    #[error(
        "{path}: not a supported audio file ({reason}); memsynth reads WAV, FLAC, OGG Vorbis and MP3"
    )]
    Unsupported {
        /// The file.
        path: PathBuf,
        /// What the decoder said.
        reason: String,
    },
    /// The file starts as audio but its data is damaged or cut short.
    #[error("{path}: corrupt or truncated audio ({reason}); re-export or re-download the file")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What the decoder said.
        reason: String,
    },
    /// The file decodes but holds no samples.
    #[error("{path}: the file holds no audio samples")]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// Resampling to the internal rate failed.
    #[error("resampling {from_hz} Hz to {to_hz} Hz failed: {reason}")]
    Resample {
        /// Source rate.
        from_hz: u32,
        /// Target rate.
        to_hz: u32,
        /// What the resampler said.
        reason: String,
    },
    /// A file could not be written.
    #[error("cannot write {path}: {reason}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A parameter is out of its valid range.
    #[error("invalid {name}: {reason}")]
    InvalidParameter {
        /// The parameter.
        name: &'static str,
        /// Why it is invalid, and what range is valid.
        reason: String,
    },
    /// The phrase database cannot be opened, read or written.
    #[error("phrase database: {reason}; {fix}")]
    Database {
        /// What went wrong.
        reason: String,
        /// What to do about it.
        fix: &'static str,
    },
    /// ONNX Runtime's shared library cannot be found or loaded.
    #[error(
        "ONNX Runtime: {reason}; set ORT_DYLIB_PATH to libonnxruntime.so, or install it with \
         `python3 -m venv .venv-train && .venv-train/bin/pip install onnxruntime` (bash scripts/test.sh does)"
    )]
    OnnxRuntime {
        /// What went wrong.
        reason: String,
    },
    /// The models were built for another feature standard than this memsynth's.
    #[error(
        "models in {dir} were built for feature standard {models}, this memsynth uses {server}: \
         re-export the dataset (`memsynth db export-dataset`) and retrain, or use models made for this standard"
    )]
    ModelStandard {
        /// The models folder.
        dir: PathBuf,
        /// The hash in its `manifest.ron`.
        models: String,
        /// [`crate::dsp::standard_hash`].
        server: String,
    },
    /// A model file or its manifest is missing, unreadable or does not fit the contract.
    #[error(
        "{path}: {reason}; re-export the models with `python -m memsynth_train export` (training/README.md)"
    )]
    Model {
        /// The model or manifest file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// The core library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
