//! The styles: each one a table of tempo range, drum patterns, drum sounds and patches.
//!
//! Patterns are 16 steps (sixteenth notes) per bar: `x` a hit, `o` a soft hit, `.` a rest.
//! Bass patterns also use `8` for the octave above and `5` for the fifth.

use serde::{Deserialize, Serialize};

use super::synth::{Adsr, NO_FILTER, Patch, Wave};

/// A style of music in the demo library.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Style {
    /// Four-on-the-floor techno with an acid lead, about 125–135 BPM.
    Techno,
    /// House with piano stabs and offbeat open hats, about 118–127 BPM.
    House,
    /// Swung hip-hop with electric piano and a sub bass, about 80–97 BPM.
    HipHop,
    /// Soft, pulsed ambient: pads, bells, a soft kick and rim, about 80–110 BPM.
    Ambient,
    /// Drum & bass: two-step breaks, reese bass and pads, about 160–170 BPM.
    DrumAndBass,
    /// Trance with gated supersaw chords, about 136–150 BPM.
    Trance,
}

impl Style {
    /// Every style, in a fixed order.
    pub const ALL: [Style; 6] = [
        Style::Techno,
        Style::House,
        Style::HipHop,
        Style::Ambient,
        Style::DrumAndBass,
        Style::Trance,
    ];

    /// The name as the ground truth and file names write it, e.g. `"hip-hop"`.
    pub fn name(self) -> &'static str {
        match self {
            Style::Techno => "techno",
            Style::House => "house",
            Style::HipHop => "hip-hop",
            Style::Ambient => "ambient",
            Style::DrumAndBass => "drum-and-bass",
            Style::Trance => "trance",
        }
    }

    /// The style's tempo range in BPM, both ends included.
    pub fn tempo_range(self) -> (u32, u32) {
        self.def().tempo
    }

    pub(crate) fn def(self) -> &'static StyleDef {
        match self {
            Style::Techno => &TECHNO,
            Style::House => &HOUSE,
            Style::HipHop => &HIP_HOP,
            Style::Ambient => &AMBIENT,
            Style::DrumAndBass => &DRUM_AND_BASS,
            Style::Trance => &TRANCE,
        }
    }
}

impl std::fmt::Display for Style {
    /// Writes [`Style::name`], honouring width and alignment.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.name())
    }
}

/// Drum patterns: index 0 is the groove (section A), 1 the lift (section B).
pub(crate) struct Drums {
    pub kick: [&'static str; 2],
    pub snare: [&'static str; 2],
    pub clap: [&'static str; 2],
    pub closed: [&'static str; 2],
    pub open: [&'static str; 2],
    pub rim: [&'static str; 2],
    pub shaker: [&'static str; 2],
}

/// The drum sounds' parameters.
pub(crate) struct Kit {
    /// Start Hz, end Hz, pitch decay s, amplitude decay s, click level.
    pub kick: (f32, f32, f32, f32, f32),
    pub kick_gain: f32,
    /// Tone Hz, noise band Hz, decay s.
    pub snare: (f32, f32, f32),
    pub clap_decay: f32,
    pub hat_decay: f32,
    pub open_decay: f32,
    pub hat_hz: f32,
    pub rim_hz: f32,
}

/// Everything that makes a style sound like itself.
pub(crate) struct StyleDef {
    pub tempo: (u32, u32),
    pub drums: Drums,
    pub kit: Kit,
    /// Delay of every odd sixteenth, in sixteenths.
    pub swing: f64,
    /// Side-chain ducking depth of pads, stabs and bass on every beat (0 = none).
    pub sidechain: f32,
    pub bass: Patch,
    pub bass_patterns: &'static [&'static str],
    /// The lowest MIDI note a bass root may take.
    pub bass_low: i32,
    /// Bass note length in sixteenths; 0 holds each note to the next.
    pub bass_gate: f32,
    pub stab: Option<Patch>,
    pub stab_patterns: &'static [&'static str],
    /// Stab length in sixteenths; 0 holds each chord to the next.
    pub stab_gate: f32,
    pub stab_center: i32,
    pub pad: Patch,
    /// Whether the pad also plays under the groove (section A).
    pub pad_in_groove: bool,
    pub lead: Patch,
    /// 0..1: how many sixteenths of the lead carry a note.
    pub lead_density: f64,
    /// The lead's lowest MIDI note in section A (B sits a fourth higher).
    pub lead_low: i32,
    /// The longest lead note in sixteenths.
    pub lead_max: usize,
    pub bars_per_chord: usize,
    pub sevenths: bool,
    /// Reverb size (delay-line scale) and decay time in seconds.
    pub reverb: (f32, f32),
    pub reverb_gain: f32,
    /// The master's loudness target (RMS, full scale = 1).
    pub target_rms: f32,
    /// Level of the crash and the riser (soft styles keep their effects soft).
    pub fx: f32,
}

const FOUR: &str = "x...x...x...x...";
const BACKBEAT: &str = "....x.......x...";
const OFFBEAT: &str = "..x...x...x...x.";
const NONE: &str = "";

const SUPERSAW: &[(Wave, f32, f32)] =
    &[(Wave::Saw, -0.12, 0.35), (Wave::Saw, 0.0, 0.35), (Wave::Saw, 0.12, 0.35)];
const WARM_PAD: &[(Wave, f32, f32)] = &[(Wave::Saw, -0.09, 0.4), (Wave::Saw, 0.09, 0.4)];
const E_PIANO: &[(Wave, f32, f32)] =
    &[(Wave::Fm { ratio: 1.0, index: 1.6, decay: 0.45 }, 0.0, 0.7), (Wave::Sine, 12.0, 0.12)];

static TECHNO: StyleDef = StyleDef {
    tempo: (125, 135),
    drums: Drums {
        kick: [FOUR, "x...x...x...x..o"],
        snare: [NONE, NONE],
        clap: [BACKBEAT, BACKBEAT],
        closed: ["o.x.o.x.o.x.o.x.", "ooxoooxoooxoooxo"],
        open: [NONE, OFFBEAT],
        rim: ["...o.....o..o...", "...o..o..o..o..o"],
        shaker: [NONE, NONE],
    },
    kit: Kit {
        kick: (165.0, 48.0, 0.032, 0.12, 0.6),
        kick_gain: 1.0,
        snare: (190.0, 2000.0, 0.1),
        clap_decay: 0.09,
        hat_decay: 0.035,
        open_decay: 0.16,
        hat_hz: 7500.0,
        rim_hz: 900.0,
    },
    swing: 0.0,
    sidechain: 0.45,
    bass: Patch {
        oscs: &[(Wave::Saw, 0.0, 0.6), (Wave::Sine, 0.0, 0.6)],
        amp: Adsr::new(0.002, 0.12, 0.55, 0.04),
        cutoff: 230.0,
        env_hz: 900.0,
        filter_decay: 0.09,
        resonance: 0.5,
        gain: 0.5,
        pan: 0.0,
        reverb: 0.0,
        delay: 0.0,
    },
    bass_patterns: &["..x...x...x...x.", "..xx..x...xx..x.", "..x...8...x...8."],
    bass_low: 33,
    bass_gate: 1.6,
    stab: Some(Patch {
        oscs: &[(Wave::Saw, 0.0, 0.45), (Wave::Saw, 0.07, 0.45), (Wave::Square, 0.0, 0.25)],
        amp: Adsr::new(0.002, 0.16, 0.0, 0.08),
        cutoff: 500.0,
        env_hz: 2600.0,
        filter_decay: 0.12,
        resonance: 0.35,
        gain: 0.3,
        pan: -0.25,
        reverb: 0.25,
        delay: 0.15,
    }),
    stab_patterns: &["...x.....x....x.", "..x..x....x..x..", "x.....x.....x..."],
    stab_gate: 1.5,
    stab_center: 62,
    pad: Patch {
        oscs: WARM_PAD,
        amp: Adsr::new(0.6, 1.0, 0.8, 0.6),
        cutoff: 900.0,
        env_hz: 300.0,
        filter_decay: 1.0,
        resonance: 0.1,
        gain: 0.16,
        pan: 0.0,
        reverb: 0.5,
        delay: 0.0,
    },
    pad_in_groove: false,
    lead: Patch {
        oscs: &[(Wave::Saw, 0.0, 0.8)],
        amp: Adsr::new(0.003, 0.2, 0.6, 0.06),
        cutoff: 320.0,
        env_hz: 2800.0,
        filter_decay: 0.14,
        resonance: 0.72,
        gain: 0.26,
        pan: 0.2,
        reverb: 0.15,
        delay: 0.25,
    },
    lead_density: 0.55,
    lead_low: 55,
    lead_max: 2,
    bars_per_chord: 2,
    sevenths: false,
    reverb: (1.0, 1.4),
    reverb_gain: 0.5,
    target_rms: 0.19,
    fx: 1.0,
};

static HOUSE: StyleDef = StyleDef {
    tempo: (118, 127),
    drums: Drums {
        kick: [FOUR, FOUR],
        snare: [NONE, NONE],
        clap: [BACKBEAT, "....x.......x..o"],
        closed: ["o...o...o...o...", "o.o.o.o.o.o.o.o."],
        open: [OFFBEAT, OFFBEAT],
        rim: [NONE, NONE],
        shaker: [NONE, "ooxoooxoooxoooxo"],
    },
    kit: Kit {
        kick: (140.0, 50.0, 0.04, 0.13, 0.35),
        kick_gain: 0.95,
        snare: (190.0, 2000.0, 0.1),
        clap_decay: 0.12,
        hat_decay: 0.04,
        open_decay: 0.2,
        hat_hz: 8000.0,
        rim_hz: 900.0,
    },
    swing: 0.08,
    sidechain: 0.35,
    bass: Patch {
        oscs: &[(Wave::Saw, 0.0, 0.5), (Wave::Sine, 0.0, 0.7)],
        amp: Adsr::new(0.003, 0.2, 0.6, 0.05),
        cutoff: 400.0,
        env_hz: 700.0,
        filter_decay: 0.1,
        resonance: 0.25,
        gain: 0.55,
        pan: 0.0,
        reverb: 0.0,
        delay: 0.0,
    },
    bass_patterns: &["..x...8...x...8.", "x..x..x...x..x..", "..x..xx...x..x.5"],
    bass_low: 33,
    bass_gate: 1.8,
    stab: Some(Patch {
        oscs: E_PIANO,
        amp: Adsr::new(0.002, 0.35, 0.25, 0.15),
        cutoff: 4000.0,
        env_hz: 0.0,
        filter_decay: 1.0,
        resonance: 0.0,
        gain: 0.34,
        pan: -0.2,
        reverb: 0.25,
        delay: 0.1,
    }),
    stab_patterns: &["..x..x....x..x..", "x..x..x...x..x..", "...x..x....x..x."],
    stab_gate: 2.5,
    stab_center: 63,
    pad: Patch {
        oscs: WARM_PAD,
        amp: Adsr::new(0.4, 1.0, 0.8, 0.6),
        cutoff: 1500.0,
        env_hz: 300.0,
        filter_decay: 1.0,
        resonance: 0.1,
        gain: 0.14,
        pan: 0.0,
        reverb: 0.45,
        delay: 0.0,
    },
    pad_in_groove: false,
    lead: Patch {
        oscs: &[(Wave::Square, 0.0, 0.4), (Wave::Saw, 0.05, 0.4)],
        amp: Adsr::new(0.005, 0.3, 0.5, 0.12),
        cutoff: 1800.0,
        env_hz: 1500.0,
        filter_decay: 0.2,
        resonance: 0.2,
        gain: 0.22,
        pan: 0.2,
        reverb: 0.2,
        delay: 0.3,
    },
    lead_density: 0.5,
    lead_low: 67,
    lead_max: 4,
    bars_per_chord: 1,
    sevenths: true,
    reverb: (1.0, 1.5),
    reverb_gain: 0.5,
    target_rms: 0.19,
    fx: 1.0,
};

static HIP_HOP: StyleDef = StyleDef {
    tempo: (80, 97),
    drums: Drums {
        kick: ["x......x..x.....", "x......xx.x....."],
        snare: [BACKBEAT, "....x..o....x..."],
        clap: [NONE, NONE],
        closed: ["x.o.x.o.x.o.x.o.", "x.oox.o.x.oox.ox"],
        open: [NONE, "..............x."],
        rim: [NONE, "..........o....."],
        shaker: [NONE, NONE],
    },
    kit: Kit {
        kick: (120.0, 46.0, 0.05, 0.18, 0.3),
        kick_gain: 1.0,
        snare: (185.0, 2200.0, 0.12),
        clap_decay: 0.12,
        hat_decay: 0.03,
        open_decay: 0.15,
        hat_hz: 7000.0,
        rim_hz: 850.0,
    },
    swing: 0.2,
    sidechain: 0.0,
    bass: Patch {
        oscs: &[(Wave::Sine, 0.0, 0.9), (Wave::Triangle, 0.0, 0.25)],
        amp: Adsr::new(0.005, 0.4, 0.8, 0.12),
        cutoff: 600.0,
        env_hz: 200.0,
        filter_decay: 0.2,
        resonance: 0.0,
        gain: 0.6,
        pan: 0.0,
        reverb: 0.0,
        delay: 0.0,
    },
    bass_patterns: &["x......x..x.....", "x.....x...x..x..", "x.........x....."],
    bass_low: 33,
    bass_gate: 0.0,
    stab: Some(Patch {
        oscs: E_PIANO,
        amp: Adsr::new(0.003, 1.2, 0.3, 0.4),
        cutoff: 3000.0,
        env_hz: 0.0,
        filter_decay: 1.0,
        resonance: 0.0,
        gain: 0.36,
        pan: -0.2,
        reverb: 0.25,
        delay: 0.05,
    }),
    stab_patterns: &["x.........x.....", "x.......x.....x.", "x..........x...."],
    stab_gate: 0.0,
    stab_center: 62,
    pad: Patch {
        oscs: &[(Wave::Triangle, -0.06, 0.5), (Wave::Saw, 0.06, 0.25)],
        amp: Adsr::new(0.5, 1.0, 0.8, 0.6),
        cutoff: 900.0,
        env_hz: 200.0,
        filter_decay: 1.0,
        resonance: 0.1,
        gain: 0.13,
        pan: 0.0,
        reverb: 0.4,
        delay: 0.0,
    },
    pad_in_groove: false,
    lead: Patch {
        oscs: &[(Wave::Sine, 0.0, 0.7), (Wave::Triangle, 0.0, 0.3), (Wave::Sine, 12.0, 0.1)],
        amp: Adsr::new(0.03, 0.3, 0.7, 0.15),
        cutoff: 3000.0,
        env_hz: 0.0,
        filter_decay: 1.0,
        resonance: 0.0,
        gain: 0.26,
        pan: 0.25,
        reverb: 0.3,
        delay: 0.2,
    },
    lead_density: 0.4,
    lead_low: 67,
    lead_max: 6,
    bars_per_chord: 1,
    sevenths: true,
    reverb: (0.9, 1.2),
    reverb_gain: 0.45,
    target_rms: 0.18,
    fx: 1.0,
};

static AMBIENT: StyleDef = StyleDef {
    tempo: (80, 110),
    drums: Drums {
        kick: ["x...o...x...o...", "x...o...x...o..."],
        snare: [NONE, NONE],
        clap: [NONE, NONE],
        closed: ["..o...o...o...o.", "o.o.o.o.o.o.o.o."],
        open: [NONE, NONE],
        rim: [BACKBEAT, BACKBEAT],
        shaker: [NONE, "ooxoooxoooxoooxo"],
    },
    kit: Kit {
        kick: (95.0, 46.0, 0.05, 0.15, 0.05),
        kick_gain: 0.6,
        snare: (190.0, 2000.0, 0.1),
        clap_decay: 0.1,
        hat_decay: 0.03,
        open_decay: 0.2,
        hat_hz: 9000.0,
        rim_hz: 800.0,
    },
    swing: 0.0,
    sidechain: 0.15,
    bass: Patch {
        oscs: &[(Wave::Sine, 0.0, 0.8), (Wave::Triangle, 0.0, 0.2)],
        amp: Adsr::new(0.08, 1.0, 0.9, 0.6),
        cutoff: 400.0,
        env_hz: 0.0,
        filter_decay: 1.0,
        resonance: 0.0,
        gain: 0.45,
        pan: 0.0,
        reverb: 0.0,
        delay: 0.0,
    },
    bass_patterns: &["x...............", "x.......5......."],
    bass_low: 33,
    bass_gate: 0.0,
    stab: Some(Patch {
        oscs: &[(Wave::Fm { ratio: 3.0, index: 1.5, decay: 0.3 }, 0.0, 0.6)],
        amp: Adsr::new(0.002, 0.6, 0.0, 0.6),
        cutoff: NO_FILTER,
        env_hz: 0.0,
        filter_decay: 1.0,
        resonance: 0.0,
        gain: 0.16,
        pan: -0.35,
        reverb: 0.5,
        delay: 0.3,
    }),
    stab_patterns: &["x.....x.....x...", "x.......x.......", "x..x..x..x..x..."],
    stab_gate: 3.0,
    stab_center: 67,
    pad: Patch {
        oscs: &[(Wave::Saw, -0.1, 0.35), (Wave::Saw, 0.1, 0.35), (Wave::Triangle, 12.0, 0.2)],
        amp: Adsr::new(1.2, 2.0, 0.8, 1.2),
        cutoff: 1100.0,
        env_hz: 600.0,
        filter_decay: 2.0,
        resonance: 0.15,
        gain: 0.22,
        pan: 0.0,
        reverb: 0.6,
        delay: 0.0,
    },
    pad_in_groove: true,
    lead: Patch {
        oscs: &[
            (Wave::Fm { ratio: 2.0, index: 2.0, decay: 0.5 }, 0.0, 0.7),
            (Wave::Sine, 12.0, 0.15),
        ],
        amp: Adsr::new(0.002, 1.0, 0.2, 1.0),
        cutoff: NO_FILTER,
        env_hz: 0.0,
        filter_decay: 1.0,
        resonance: 0.0,
        gain: 0.24,
        pan: 0.25,
        reverb: 0.5,
        delay: 0.4,
    },
    lead_density: 0.3,
    lead_low: 69,
    lead_max: 8,
    bars_per_chord: 2,
    sevenths: false,
    reverb: (1.8, 4.0),
    reverb_gain: 0.6,
    target_rms: 0.13,
    fx: 0.45,
};

static DRUM_AND_BASS: StyleDef = StyleDef {
    tempo: (160, 170),
    drums: Drums {
        kick: ["x.........x.....", "x.........x..o.."],
        snare: [BACKBEAT, "....x..o....x.o."],
        clap: [NONE, NONE],
        closed: ["x.x.x.x.x.x.x.x.", "x.oxx.oxx.oxx.ox"],
        open: [NONE, OFFBEAT],
        rim: [NONE, NONE],
        shaker: [NONE, NONE],
    },
    kit: Kit {
        kick: (170.0, 55.0, 0.03, 0.1, 0.6),
        kick_gain: 1.0,
        snare: (200.0, 2500.0, 0.14),
        clap_decay: 0.1,
        hat_decay: 0.025,
        open_decay: 0.22,
        hat_hz: 8500.0,
        rim_hz: 900.0,
    },
    swing: 0.0,
    sidechain: 0.0,
    bass: Patch {
        oscs: &[(Wave::Saw, -0.12, 0.45), (Wave::Saw, 0.12, 0.45), (Wave::Sine, 0.0, 0.6)],
        amp: Adsr::new(0.01, 0.5, 0.8, 0.1),
        cutoff: 300.0,
        env_hz: 400.0,
        filter_decay: 0.3,
        resonance: 0.3,
        gain: 0.5,
        pan: 0.0,
        reverb: 0.0,
        delay: 0.0,
    },
    bass_patterns: &["x.........x.....", "x.....x...x.....", "x.........x..5.."],
    bass_low: 33,
    bass_gate: 0.0,
    stab: None,
    stab_patterns: &[],
    stab_gate: 0.0,
    stab_center: 62,
    pad: Patch {
        oscs: WARM_PAD,
        amp: Adsr::new(0.3, 1.0, 0.8, 0.6),
        cutoff: 1400.0,
        env_hz: 300.0,
        filter_decay: 1.0,
        resonance: 0.1,
        gain: 0.24,
        pan: 0.0,
        reverb: 0.5,
        delay: 0.0,
    },
    pad_in_groove: true,
    lead: Patch {
        oscs: &[(Wave::Saw, 0.0, 0.4), (Wave::Triangle, 0.04, 0.5)],
        amp: Adsr::new(0.01, 0.4, 0.6, 0.2),
        cutoff: 2000.0,
        env_hz: 1500.0,
        filter_decay: 0.3,
        resonance: 0.15,
        gain: 0.22,
        pan: 0.2,
        reverb: 0.25,
        delay: 0.3,
    },
    lead_density: 0.35,
    lead_low: 67,
    lead_max: 8,
    bars_per_chord: 2,
    sevenths: false,
    reverb: (1.2, 1.8),
    reverb_gain: 0.5,
    target_rms: 0.18,
    fx: 1.0,
};

static TRANCE: StyleDef = StyleDef {
    tempo: (136, 150),
    drums: Drums {
        kick: [FOUR, FOUR],
        snare: [NONE, NONE],
        clap: [BACKBEAT, BACKBEAT],
        closed: ["o.o.o.o.o.o.o.o.", "oooooooooooooooo"],
        open: [OFFBEAT, OFFBEAT],
        rim: [NONE, NONE],
        shaker: [NONE, NONE],
    },
    kit: Kit {
        kick: (150.0, 50.0, 0.03, 0.12, 0.5),
        kick_gain: 1.0,
        snare: (190.0, 2000.0, 0.1),
        clap_decay: 0.1,
        hat_decay: 0.03,
        open_decay: 0.15,
        hat_hz: 8000.0,
        rim_hz: 900.0,
    },
    swing: 0.0,
    sidechain: 0.5,
    bass: Patch {
        oscs: &[(Wave::Saw, 0.0, 0.6), (Wave::Sine, 0.0, 0.4)],
        amp: Adsr::new(0.002, 0.08, 0.4, 0.03),
        cutoff: 350.0,
        env_hz: 900.0,
        filter_decay: 0.06,
        resonance: 0.3,
        gain: 0.5,
        pan: 0.0,
        reverb: 0.0,
        delay: 0.0,
    },
    bass_patterns: &[".xxx.xxx.xxx.xxx", "..x...x...x...x.", ".x8x.x8x.x8x.x8x"],
    bass_low: 33,
    bass_gate: 0.9,
    stab: Some(Patch {
        oscs: SUPERSAW,
        amp: Adsr::new(0.002, 0.12, 0.1, 0.06),
        cutoff: 900.0,
        env_hz: 3500.0,
        filter_decay: 0.1,
        resonance: 0.2,
        gain: 0.22,
        pan: -0.25,
        reverb: 0.3,
        delay: 0.15,
    }),
    stab_patterns: &["x.xx.xx.x.xx.xx.", "..x...x...x...x.", "x..x..x..x..x.x."],
    stab_gate: 1.0,
    stab_center: 64,
    pad: Patch {
        oscs: SUPERSAW,
        amp: Adsr::new(0.5, 1.0, 0.85, 0.7),
        cutoff: 2200.0,
        env_hz: 300.0,
        filter_decay: 1.0,
        resonance: 0.1,
        gain: 0.15,
        pan: 0.0,
        reverb: 0.5,
        delay: 0.0,
    },
    pad_in_groove: false,
    lead: Patch {
        oscs: SUPERSAW,
        amp: Adsr::new(0.005, 0.3, 0.7, 0.15),
        cutoff: 2500.0,
        env_hz: 2000.0,
        filter_decay: 0.25,
        resonance: 0.1,
        gain: 0.2,
        pan: 0.2,
        reverb: 0.3,
        delay: 0.35,
    },
    lead_density: 0.6,
    lead_low: 67,
    lead_max: 3,
    bars_per_chord: 2,
    sevenths: false,
    reverb: (1.3, 2.0),
    reverb_gain: 0.5,
    target_rms: 0.19,
    fx: 1.0,
};
