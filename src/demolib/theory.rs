//! Keys, scales and chords: the little music theory the demo library composes with.

use serde::{Deserialize, Serialize};

/// The names of the twelve pitch classes, `C` = 0, as the ground truth writes them.
pub(crate) const PITCH_NAMES: [&str; 12] =
    ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"];

/// The same names spelled for file names (ASCII, no `#`).
const FILE_PITCH_NAMES: [&str; 12] =
    ["C", "Csharp", "D", "Dsharp", "E", "F", "Fsharp", "G", "Gsharp", "A", "Asharp", "B"];

const MAJOR_SCALE: [i32; 7] = [0, 2, 4, 5, 7, 9, 11];
const NATURAL_MINOR_SCALE: [i32; 7] = [0, 2, 3, 5, 7, 8, 10];
const HARMONIC_MINOR_SCALE: [i32; 7] = [0, 2, 3, 5, 7, 8, 11];

/// Major or minor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// The major mode (Ionian).
    Major,
    /// The minor mode: natural minor, with the raised seventh (harmonic minor) over the
    /// dominant so that the leading tone points home.
    Minor,
}

/// One of the 24 major and minor keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Key {
    /// The tonic's pitch class, 0 = C … 11 = B.
    pub tonic: u8,
    /// Major or minor.
    pub mode: Mode,
}

impl Key {
    /// How many keys there are.
    pub const COUNT: usize = 24;

    /// The key with this index: the tonic's pitch class, plus 12 for minor (0 = C major,
    /// 21 = A minor). `None` past 23.
    pub fn from_index(index: usize) -> Option<Key> {
        (index < Self::COUNT).then_some(Key {
            tonic: (index % 12) as u8,
            mode: if index < 12 { Mode::Major } else { Mode::Minor },
        })
    }

    /// All 24 keys in index order: C major … B major, then C minor … B minor.
    pub fn all() -> impl Iterator<Item = Key> {
        (0..Self::COUNT).filter_map(Key::from_index)
    }

    /// The index [`Key::from_index`] takes: tonic pitch class, plus 12 for minor.
    pub fn index(self) -> usize {
        self.tonic as usize % 12
            + match self.mode {
                Mode::Major => 0,
                Mode::Minor => 12,
            }
    }

    /// The name as the ground truth writes it, e.g. `"F# minor"`.
    pub fn name(self) -> String {
        format!("{} {}", PITCH_NAMES[self.tonic as usize % 12], self.mode_name())
    }

    /// The name spelled for a file name, e.g. `"Fsharp-minor"`.
    pub fn file_name(self) -> String {
        format!("{}-{}", FILE_PITCH_NAMES[self.tonic as usize % 12], self.mode_name())
    }

    fn mode_name(self) -> &'static str {
        match self.mode {
            Mode::Major => "major",
            Mode::Minor => "minor",
        }
    }

    /// The scale's seven semitone offsets from the tonic. Over the dominant chord a minor
    /// key uses the harmonic minor scale.
    pub(crate) fn scale(self, over_dominant: bool) -> [i32; 7] {
        match (self.mode, over_dominant) {
            (Mode::Major, _) => MAJOR_SCALE,
            (Mode::Minor, false) => NATURAL_MINOR_SCALE,
            (Mode::Minor, true) => HARMONIC_MINOR_SCALE,
        }
    }

    /// The chord on a scale degree (0 = tonic … 6), as pitch classes, root first. In minor
    /// the dominant (degree 4) is major, with the leading tone.
    pub(crate) fn chord(self, degree: usize, seventh: bool) -> Chord {
        let scale = self.scale(degree == 4);
        let tone = |step: usize| {
            let octave = (degree + step) / 7;
            (self.tonic as i32 + scale[(degree + step) % 7] + 12 * octave as i32).rem_euclid(12)
        };
        let mut tones = vec![tone(0), tone(2), tone(4)];
        if seventh {
            tones.push(tone(6));
        }
        Chord { degree, tones }
    }
}

/// A chord of a key: its scale degree and pitch classes, root first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Chord {
    /// 0 = tonic … 6.
    pub degree: usize,
    /// Pitch classes 0..12, root first.
    pub tones: Vec<i32>,
}

impl Chord {
    /// The root's pitch class.
    pub fn root(&self) -> i32 {
        self.tones[0]
    }

    /// The chord voiced close around `center` (MIDI note): each tone in
    /// `center - 6 .. center + 6`, sorted upwards.
    pub fn voiced(&self, center: i32) -> Vec<i32> {
        let mut notes: Vec<i32> =
            self.tones.iter().map(|&pc| center - 6 + (pc - (center - 6)).rem_euclid(12)).collect();
        notes.sort_unstable();
        notes
    }
}

/// Chord progressions (scale degrees, one chord each) for the body of a track. Every one
/// starts on the tonic; the dominant comes at most once, the subdominant and submediant
/// carry the rest, and the supertonic and mediant (which pull a key detector towards the
/// dominant or the relative key) are left out, so that the key is unmistakable.
pub(crate) fn progressions(mode: Mode) -> &'static [[usize; 4]] {
    match mode {
        // I V vi IV, I IV V I, I vi IV V, I IV I V, I vi IV I, I I IV V
        Mode::Major => {
            &[[0, 4, 5, 3], [0, 3, 4, 0], [0, 5, 3, 4], [0, 3, 0, 4], [0, 5, 3, 0], [0, 0, 3, 4]]
        }
        // i iv V i, i VI iv V, i VII VI V, i iv i V, i VI VII i, i i iv V
        Mode::Minor => {
            &[[0, 3, 4, 0], [0, 5, 3, 4], [0, 6, 5, 4], [0, 3, 0, 4], [0, 5, 6, 0], [0, 0, 3, 4]]
        }
    }
}

/// The nearest MIDI note at or above `low` with this pitch class.
pub(crate) fn note_at_or_above(pitch_class: i32, low: i32) -> i32 {
    low + (pitch_class - low).rem_euclid(12)
}

/// Equal-tempered frequency of a MIDI note (A4 = 69 = 440 Hz).
pub(crate) fn midi_hz(note: i32) -> f32 {
    440.0 * 2f32.powf((note - 69) as f32 / 12.0)
}
