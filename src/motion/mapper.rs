//! The phrase mapper: normalised e_motion (104-D z-scores) + an anchor phrase → a query.
//!
//! Queries are built in the database's z-score space of e_phrase: the anchor phrase's raw
//! e_phrase z-scored with the database statistics ([`anchor_z`]), plus the mapper's offset
//! in units of *database standard deviations*, then standardised exactly as stored vectors
//! are ([`standardise_z`]: clip ±5, each group to unit length × 1/√3). So a gain of 1 means
//! "one standard deviation of motion moves that e_phrase dimension by one standard deviation
//! of the library", whatever the library.
//!
//! [`MotionMapper`] is the boundary: [`LinearMap`] (written in a patch, or the
//! [`LinearMap::default_map`]) implements it here; the learned ONNX mapper (a later issue)
//! implements the same trait in the model module and is chosen by the patch's
//! `mapper: Model(file)`.
//!
//! # The default map
//!
//! Gains are sized so that a motion two standard deviations from the performer's normal
//! moves the targeted group by a cosine distance of about 0.2–0.4 on a typical library
//! (a group of n dimensions has a z-score norm of about √n; an offset of g·z on k of them
//! turns it by about atan(g·z·√k / √n)). Single dimensions saturate at ±5 (the clip), so
//! each idea also moves a band of dimensions.
//!
//! | motion feature | → e_phrase | gain | why |
//! |---|---|---|---|
//! | `accel_mag.deviation` | `rhythm.density` (61) | +3 | moving more → more onsets |
//! | `accel_mag.deviation` | `rhythm.mid` (16–31), `rhythm.high` (32–47) | +0.6, +1 | … on the off-beats and hats |
//! | `accel_mag.beat_energy` | `rhythm.pulse_clarity` (63), `rhythm.low` (0–15) | +3, +0.8 | moving on the beat → a clear pulse, kick |
//! | `accel_mag.beat_energy` | `rhythm.syncopation` (62) | −2 | moving off the beat → syncopated |
//! | `accel_mag.mean` | `timbre.loudness` (254), `timbre.mel` (190–221) | +3, +0.4 | energy → loud, full |
//! | `gyro_x`/`gyro_y`/`gyro_z.deviation` | `timbre.brightness` (182, 184), `timbre.mel_high` (206–221) | +1.5, +0.5 each | rotating → brighter |
//! | `pitch.mean` | `timbre.brightness`, `timbre.mel_high` | +2, +0.7 | phone tilted up → brighter |
//! | `roll.deviation` | `harmony.change` (124, 125), `harmony.chroma_spread` (76–87) | +3, +0.7 | rocking → faster harmonic change |
//! | `roll.mean` | `harmony.key_clarity` (126) | −2 | leaning → less tonal |
//!
//! Named targets: `rhythm.low` 0–15, `rhythm.mid` 16–31, `rhythm.high` 32–47,
//! `rhythm.tempo` 60, `rhythm.density` 61, `rhythm.syncopation` 62, `rhythm.pulse_clarity`
//! 63, `harmony.chroma` 64–75, `harmony.chroma_spread` 76–87, `harmony.change` 124–125,
//! `harmony.key_clarity` 126, `timbre.mfcc` 128–147, `timbre.mel` 190–221, `timbre.mel_high`
//! 206–221, `timbre.brightness` 182 and 184, `timbre.bandwidth` 183,
//! `timbre.noisiness` 185, `timbre.loudness` 254, `timbre.dynamics` 255; also a whole group
//! (`rhythm`, `harmony`, `timbre`), one index (`61`) or a range (`190..222`).

// A target is a list of ranges (brightness has two); most lists hold one range, which is
// what they mean, not a list of indices.
#![allow(clippy::single_range_in_vec_init)]

use std::ops::Range;

use super::encoder::{E_MOTION_DIMS, FEATURE_NAMES, FEATURES};
use super::sensors::CHANNEL_NAMES;
use crate::db::embedding::{E_PHRASE_DIMS, EmbeddingStats, Group};
use crate::{Error, Result};

/// Turns a normalised e_motion into a query in e_phrase z-score space.
pub trait MotionMapper {
    /// Writes the query's z-scores into `query` (256), from the normalised e_motion (104)
    /// and the anchor phrase's z-scores (256).
    fn map(&mut self, e_motion: &[f32], anchor: &[f32], query: &mut [f32]);
}

/// The index of a motion feature by name: `channel.feature` (`accel_mag.beat_energy`,
/// `gyro_z.deviation`); `energy` is accepted for `beat_energy`.
pub fn feature_index(name: &str) -> Option<usize> {
    let (channel, feature) = name.split_once('.')?;
    let feature = if feature == "energy" { "beat_energy" } else { feature };
    let c = CHANNEL_NAMES.iter().position(|&n| n == channel)?;
    let f = FEATURE_NAMES.iter().position(|&n| n == feature)?;
    Some(c * FEATURES + f)
}

/// The name of motion feature `index` (`channel.feature`).
pub fn feature_name(index: usize) -> Option<String> {
    let c = CHANNEL_NAMES.get(index / FEATURES)?;
    let f = FEATURE_NAMES.get(index % FEATURES)?;
    Some(format!("{c}.{f}"))
}

const NAMED: &[(&str, &[Range<usize>])] = &[
    ("rhythm.low", &[0..16]),
    ("rhythm.mid", &[16..32]),
    ("rhythm.high", &[32..48]),
    ("rhythm.tempo", &[60..61]),
    ("rhythm.density", &[61..62]),
    ("rhythm.syncopation", &[62..63]),
    ("rhythm.pulse_clarity", &[63..64]),
    ("harmony.chroma", &[64..76]),
    ("harmony.chroma_spread", &[76..88]),
    ("harmony.change", &[124..126]),
    ("harmony.key_clarity", &[126..127]),
    ("timbre.mfcc", &[128..148]),
    ("timbre.brightness", &[182..183, 184..185]),
    ("timbre.bandwidth", &[183..184]),
    ("timbre.noisiness", &[185..186]),
    ("timbre.mel", &[190..222]),
    ("timbre.mel_high", &[206..222]),
    ("timbre.loudness", &[254..255]),
    ("timbre.dynamics", &[255..256]),
];

/// The e_phrase dimensions a target name stands for (see the module docs).
pub fn target_dims(name: &str) -> Option<Vec<Range<usize>>> {
    if let Some((_, ranges)) = NAMED.iter().find(|(n, _)| *n == name) {
        return Some(ranges.to_vec());
    }
    if let Some(g) = Group::ALL.into_iter().find(|g| g.name() == name) {
        return Some(vec![g.range()]);
    }
    if let Ok(d) = name.parse::<usize>() {
        return (d < E_PHRASE_DIMS).then(|| vec![d..d + 1]);
    }
    let (a, b) = name.split_once("..")?;
    let (a, b) = (a.parse::<usize>().ok()?, b.parse::<usize>().ok()?);
    (a < b && b <= E_PHRASE_DIMS).then(|| vec![a..b])
}

/// One term: `gain × e_motion[feature]` added to each dimension in `dims`.
#[derive(Debug, Clone, PartialEq)]
pub struct Term {
    /// Motion feature index (0–103).
    pub feature: usize,
    /// e_phrase dimensions.
    pub dims: Vec<Range<usize>>,
    /// Gain, e_phrase standard deviations per motion standard deviation.
    pub gain: f32,
}

/// A sparse linear map from motion features to e_phrase dimensions.
#[derive(Debug, Clone, PartialEq)]
pub struct LinearMap {
    terms: Vec<Term>,
}

impl LinearMap {
    /// A map from `(feature name, target name, gain)` terms; `Err` names the bad term.
    pub fn from_names(terms: &[(&str, &str, f32)]) -> Result<Self> {
        let mut out = Vec::with_capacity(terms.len());
        for (n, &(from, to, gain)) in terms.iter().enumerate() {
            let invalid = |reason: String| Error::InvalidParameter { name: "mapper", reason };
            let feature = feature_index(from).ok_or_else(|| {
                invalid(format!(
                    "term {n}: no motion feature {from:?}; use channel.feature with a channel \
                     of {} and a feature of {}",
                    CHANNEL_NAMES.join(", "),
                    FEATURE_NAMES.join(", ")
                ))
            })?;
            let dims = target_dims(to).ok_or_else(|| {
                invalid(format!(
                    "term {n}: no e_phrase target {to:?}; use a group, a named target (e.g. \
                     rhythm.density), an index 0–255 or a range a..b"
                ))
            })?;
            if !gain.is_finite() {
                return Err(invalid(format!("term {n}: gain {gain} is not finite")));
            }
            out.push(Term { feature, dims, gain });
        }
        Ok(Self { terms: out })
    }

    /// A map from terms already resolved to indices (e.g. from a patch's `Group`/`Dim`
    /// targets). Terms whose feature or dimensions are out of range are left out.
    pub fn from_terms(terms: Vec<Term>) -> Self {
        let terms = terms
            .into_iter()
            .filter(|t| {
                t.feature < E_MOTION_DIMS
                    && t.gain.is_finite()
                    && t.dims.iter().all(|r| r.start < r.end && r.end <= E_PHRASE_DIMS)
            })
            .collect();
        Self { terms }
    }

    /// The built-in map (the table in the module docs).
    pub fn default_map() -> Self {
        Self::from_names(&[
            ("accel_mag.deviation", "rhythm.density", 3.0),
            ("accel_mag.deviation", "rhythm.mid", 0.6),
            ("accel_mag.deviation", "rhythm.high", 1.0),
            ("accel_mag.beat_energy", "rhythm.pulse_clarity", 3.0),
            ("accel_mag.beat_energy", "rhythm.low", 0.8),
            ("accel_mag.beat_energy", "rhythm.syncopation", -2.0),
            ("accel_mag.mean", "timbre.loudness", 3.0),
            ("accel_mag.mean", "timbre.mel", 0.4),
            ("gyro_x.deviation", "timbre.brightness", 1.5),
            ("gyro_y.deviation", "timbre.brightness", 1.5),
            ("gyro_z.deviation", "timbre.brightness", 1.5),
            ("gyro_x.deviation", "timbre.mel_high", 0.5),
            ("gyro_y.deviation", "timbre.mel_high", 0.5),
            ("gyro_z.deviation", "timbre.mel_high", 0.5),
            ("pitch.mean", "timbre.brightness", 2.0),
            ("pitch.mean", "timbre.mel_high", 0.7),
            ("roll.deviation", "harmony.change", 3.0),
            ("roll.deviation", "harmony.chroma_spread", 0.7),
            ("roll.mean", "harmony.key_clarity", -2.0),
        ])
        .expect("the default map's names exist")
    }

    /// The terms.
    pub fn terms(&self) -> &[Term] {
        &self.terms
    }
}

impl MotionMapper for LinearMap {
    fn map(&mut self, e_motion: &[f32], anchor: &[f32], query: &mut [f32]) {
        query.copy_from_slice(anchor);
        for t in &self.terms {
            let v = t.gain * e_motion.get(t.feature).copied().unwrap_or(0.0);
            for r in &t.dims {
                for q in &mut query[r.clone()] {
                    *q += v;
                }
            }
        }
    }
}

/// The z-scores of a raw e_phrase against the database statistics (a non-finite value
/// counts as the mean), as [`EmbeddingStats::standardise`] computes them.
pub fn anchor_z(raw: &[f32], stats: &EmbeddingStats, out: &mut [f32]) {
    for (((o, &x), &m), &s) in out.iter_mut().zip(raw).zip(&stats.mean).zip(&stats.std) {
        let v = (x - m) / s;
        *o = if v.is_finite() { v } else { 0.0 };
    }
}

pub use crate::db::embedding::standardise_z;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::embedding::{GroupWeights, weighted_distance};

    #[test]
    fn names_resolve_both_ways() {
        assert_eq!(feature_index("accel_x.mean"), Some(0));
        assert_eq!(feature_index("accel_mag.beat_energy"), Some(12 * 8 + 4));
        assert_eq!(feature_index("accel_mag.energy"), Some(12 * 8 + 4));
        assert_eq!(feature_index("yaw.zero_crossings"), Some(11 * 8 + 7));
        assert_eq!(feature_index("nope.mean"), None);
        for i in 0..E_MOTION_DIMS {
            assert_eq!(feature_index(&feature_name(i).unwrap()), Some(i));
        }
        assert_eq!(target_dims("rhythm.density"), Some(vec![61..62]));
        assert_eq!(target_dims("timbre"), Some(vec![128..256]));
        assert_eq!(target_dims("190..222"), Some(vec![190..222]));
        assert_eq!(target_dims("256"), None);
        let err = LinearMap::from_names(&[("accel_mag.deviation", "rhythm.nope", 1.0)]);
        assert!(err.unwrap_err().to_string().contains("rhythm.nope"));
    }

    #[test]
    fn no_motion_keeps_the_anchor_and_motion_moves_the_query() {
        let stats = EmbeddingStats {
            count: 10,
            mean: vec![0.0; E_PHRASE_DIMS],
            std: vec![1.0; E_PHRASE_DIMS],
        };
        // Typical z-scores: about ±1.
        let raw: Vec<f32> =
            (0..E_PHRASE_DIMS).map(|i| ((i * 37) % 11) as f32 / 5.0 - 1.0).collect();
        let mut anchor = vec![0.0; E_PHRASE_DIMS];
        anchor_z(&raw, &stats, &mut anchor);
        let stored = stats.standardise(&raw);
        let mut map = LinearMap::default_map();
        let mut q = vec![0.0; E_PHRASE_DIMS];
        map.map(&[0.0; E_MOTION_DIMS], &anchor, &mut q);
        standardise_z(&mut q);
        let w = GroupWeights::default();
        assert!(weighted_distance(&q, &stored, w) < 1e-5);
        // Moving a lot: the rhythm group moves, harmony stays.
        let mut e = [0.0; E_MOTION_DIMS];
        e[feature_index("accel_mag.deviation").unwrap()] = 3.0;
        map.map(&e, &anchor, &mut q);
        standardise_z(&mut q);
        let rhythm = GroupWeights::new(1.0, 0.0, 0.0).unwrap();
        let harmony = GroupWeights::new(0.0, 1.0, 0.0).unwrap();
        assert!(weighted_distance(&q, &stored, rhythm) > 0.01);
        assert!(weighted_distance(&q, &stored, harmony) < 1e-5);
    }
}
