//! Phrase segmentation: novelty over beat-synchronous features, boundaries on downbeats.
