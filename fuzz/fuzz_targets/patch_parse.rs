//! The patch parser: see `memsynth_fuzz::patch_parse`.
#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| memsynth_fuzz::patch_parse(bytes));
