//! `memsynth db export-dataset`: safetensors shards for training.
