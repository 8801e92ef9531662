//! Key estimation (24 major and minor keys) from beat-synchronous chroma.
