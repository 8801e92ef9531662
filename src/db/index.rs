//! The arroy index over standardised e_phrase vectors.
