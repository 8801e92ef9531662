//! Evaluation metrics, ported from mir_eval, used by tests and comparison scripts.
