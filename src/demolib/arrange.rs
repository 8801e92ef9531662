//! The arrangement: a track's sections, each 4, 8 or 16 bars of 4/4.

use rand::RngExt;
use rand::seq::IndexedRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// What a section does in the arrangement. Each kind has its own instrumentation, drum
/// pattern, chord progression or filter, so every boundary is audible.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SectionKind {
    /// Drums and a filtered pad; no bass, no lead.
    Intro,
    /// The groove: full drums, bass, chords and the first melody.
    A,
    /// The lift: busier drums, a second progression, pad and a higher melody.
    B,
    /// The breakdown: no kick or bass, pad and melody.
    Break,
    /// The build-up: a snare roll, a riser and a rising filter over the dominant.
    Build,
    /// Thinner drums, bass and pad, settling on the tonic.
    Outro,
}

impl SectionKind {
    /// The label the ground truth writes: `intro`, `A`, `B`, `break`, `build` or `outro`.
    pub fn label(self) -> &'static str {
        match self {
            SectionKind::Intro => "intro",
            SectionKind::A => "A",
            SectionKind::B => "B",
            SectionKind::Break => "break",
            SectionKind::Build => "build",
            SectionKind::Outro => "outro",
        }
    }
}

/// One section of a track.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    /// What it does.
    pub kind: SectionKind,
    /// Its first bar, counting from 0.
    pub start_bar: usize,
    /// Its length in bars: 4, 8 or 16.
    pub bars: usize,
}

/// The shortest and longest track the arranger accepts, in seconds of music.
pub(crate) const MIN_SECONDS: f64 = 125.0;
pub(crate) const MAX_SECONDS: f64 = 232.0;

/// Chooses a track's sections for a bar of `bar_seconds`: an intro, cycles of A and B
/// with breaks and builds between them, and an outro, about 2¼–3 minutes of music long.
/// Every track has sections of 4, 8 and 16 bars.
pub(crate) fn plan_sections(rng: &mut ChaCha8Rng, bar_seconds: f64) -> Vec<Section> {
    loop {
        let sections = draw_sections(rng, bar_seconds);
        let bars: usize = sections.iter().map(|s| s.bars).sum();
        let seconds = bars as f64 * bar_seconds;
        if (MIN_SECONDS..=MAX_SECONDS).contains(&seconds) {
            return sections;
        }
    }
}

fn draw_sections(rng: &mut ChaCha8Rng, bar_seconds: f64) -> Vec<Section> {
    let target_bars = (rng.random_range(135.0..170.0) / bar_seconds).round() as usize;
    let outro = 8;
    let mut sections = Vec::new();
    let intro = if bar_seconds < 1.8 { 16 } else { *[8, 8, 16].choose(rng).unwrap_or(&8) };
    push(&mut sections, SectionKind::Intro, intro);
    let mut first = true;
    loop {
        let a = if first { 16 } else { *[16, 16, 8].choose(rng).unwrap_or(&16) };
        if push(&mut sections, SectionKind::A, a) + outro >= target_bars && !first {
            break;
        }
        let b = *[8, 8, 16].choose(rng).unwrap_or(&8);
        if push(&mut sections, SectionKind::B, b) + outro >= target_bars && !first {
            break;
        }
        // The first cycle always has a 4-bar break, so every track has all three lengths.
        if first || rng.random_bool(0.5) {
            let bars = if first { 4 } else { *[4, 8].choose(rng).unwrap_or(&4) };
            push(&mut sections, SectionKind::Break, bars);
            if rng.random_bool(0.6) {
                push(&mut sections, SectionKind::Build, 4);
            }
        }
        first = false;
    }
    push(&mut sections, SectionKind::Outro, outro);
    sections
}

/// Appends a section after the last one and returns the bars so far.
fn push(sections: &mut Vec<Section>, kind: SectionKind, bars: usize) -> usize {
    let start_bar = sections.last().map_or(0, |s| s.start_bar + s.bars);
    sections.push(Section { kind, start_bar, bars });
    start_bar + bars
}
