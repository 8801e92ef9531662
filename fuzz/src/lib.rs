//! The fuzz targets' bodies, shared by the libFuzzer binaries (fuzz_targets/) and by the
//! regression test that replays every input a fuzzer ever crashed on
//! (tests/fuzz_regressions.rs includes this file).

use memsynth::live::conductor::{Conductor, ConductorConfig};
use memsynth::live::transport::{Tempo, Transport};
use memsynth::osc::{Counters, SampleAnchor, decode_packet, fuzz_one};
use memsynth::patch;
use memsynth_actors::runtime::{BLOCK, RATE, commands};
use rosc::OscTime;

/// The OSC dispatcher without sockets: bytes → `decode_packet` → each command applied to a
/// conductor at the sample its time tag maps to, as the server does. Besides "no panic",
/// every decoded command must re-encode to itself (`fuzz_one`).
pub fn osc_dispatch(bytes: &[u8]) {
    fuzz_one(bytes);

    let decoded = decode_packet(bytes);
    let mut counters = Counters::default();
    counters.record(&decoded);
    let _ = counters.errors();

    let Ok(tempo) = Tempo::from_bpm(120.0) else { return };
    let mut conductor = Conductor::new(ConductorConfig::default(), Transport::new(RATE, tempo));
    // An anchor in 2023: bundles tagged earlier are late (applied at once), later ones wait.
    let anchor = SampleAnchor {
        time: OscTime { seconds: 3_900_000_000, fractional: 0 },
        sample: u64::from(RATE),
        rate_hz: f64::from(RATE),
    };
    let mut now = anchor.sample;
    for item in decoded.items {
        let Ok(command) = item.value else { continue };
        // The server applies due commands in order and never in the past; a far-future tag
        // is capped so that the transport still gets exercised.
        let due = anchor.sample_at(item.time).unwrap_or(now);
        now = due.clamp(now, now + 60 * u64::from(RATE));
        let _ = commands::apply(&mut conductor, now, &command);
        let _ = conductor.tick(now);
        now += BLOCK as u64;
        let _ = conductor.tick(now);
    }
}

/// The patch parser: text → `patch::parse` (RON, validation, error location). Besides "no
/// panic": an error renders with its excerpt (which slices the text at the reported line
/// and column), and a valid patch written back as RON parses to itself.
pub fn patch_parse(bytes: &[u8]) {
    let Ok(text) = std::str::from_utf8(bytes) else { return };
    match patch::parse(text) {
        Ok(p) => {
            assert!(patch::diff(&p, &p).is_empty(), "a patch differs from itself");
            let written = ron::to_string(&p).expect("a parsed patch serialises");
            let again = patch::parse(&written);
            assert_eq!(again.as_ref().ok(), Some(&p), "{written} parses to {again:?}");
        }
        Err(e) => {
            let _ = e.excerpt("fuzz.ron", text);
        }
    }
}
