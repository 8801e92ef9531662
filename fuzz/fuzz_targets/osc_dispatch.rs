//! The OSC dispatcher: see `memsynth_fuzz::osc_dispatch`.
#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| memsynth_fuzz::osc_dispatch(bytes));
