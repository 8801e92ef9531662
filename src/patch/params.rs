//! The numeric parameters of a patch by dotted path (`conductor.guidance`), for
//! `/patch/set`, `/patch/get` and OSC mappings: one table, so the three agree.

use super::schema::{Curve, OscMapping, Patch};
use super::validate::{self, ValidationError};

/// A parameter's kind: integers refuse fractions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A float.
    Float,
    /// A whole number.
    Int,
}

/// One settable parameter.
#[derive(Debug, Clone, Copy)]
pub struct Param {
    /// Its dotted path.
    pub path: &'static str,
    /// Float or integer.
    pub kind: Kind,
    /// Smallest valid value.
    pub min: f64,
    /// Largest valid value.
    pub max: f64,
}

const fn p(path: &'static str, kind: Kind, min: f64, max: f64) -> Param {
    Param { path, kind, min, max }
}

/// Every numeric parameter with its valid range (the same ranges [`validate`] checks).
pub const PARAMS: &[Param] = &[
    p("tempo", Kind::Float, 40.0, 240.0),
    p("conductor.steps", Kind::Int, 1.0, 200.0),
    p("conductor.guidance", Kind::Float, 0.0, 20.0),
    p("conductor.look_ahead_bars", Kind::Int, 1.0, 16.0),
    p("conductor.seed", Kind::Int, 0.0, 16_777_216.0),
    p("retrieval.k", Kind::Int, 1.0, 64.0),
    p("retrieval.weights.rhythm", Kind::Float, 0.0, 10.0),
    p("retrieval.weights.harmony", Kind::Float, 0.0, 10.0),
    p("retrieval.weights.timbre", Kind::Float, 0.0, 10.0),
    p("retrieval.blend", Kind::Float, 0.0, 1.0),
    p("motion.smoothing", Kind::Float, 0.0, 5.0),
    p("mixer.retrieved", Kind::Float, -80.0, 12.0),
    p("mixer.generated", Kind::Float, -80.0, 12.0),
    p("mixer.master", Kind::Float, -80.0, 12.0),
    p("mixer.crossfade_beats", Kind::Float, 0.0, 16.0),
];

/// The parameter at `path`, if there is one.
pub fn param(path: &str) -> Option<&'static Param> {
    PARAMS.iter().find(|p| p.path == path)
}

/// Why a parameter could not be read or set.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ParamError {
    /// No such parameter.
    #[error("no patch parameter {path:?}; numeric parameters: {}", names())]
    Unknown {
        /// The path as given.
        path: String,
    },
    /// `tempo` read while the patch leaves the tempo to the server.
    #[error("tempo is not set by the running patch")]
    Unset,
    /// The new value makes the patch invalid.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
}

fn names() -> String {
    PARAMS.iter().map(|p| p.path).collect::<Vec<_>>().join(", ")
}

/// The value of `path` in `patch`.
pub fn get(patch: &Patch, path: &str) -> Result<f64, ParamError> {
    let c = &patch.conductor;
    let r = &patch.retrieval;
    let m = &patch.mixer;
    Ok(match path {
        "tempo" => return patch.tempo.ok_or(ParamError::Unset),
        "conductor.steps" => f64::from(c.steps),
        "conductor.guidance" => f64::from(c.guidance),
        "conductor.look_ahead_bars" => f64::from(c.look_ahead_bars),
        "conductor.seed" => c.seed as f64,
        "retrieval.k" => f64::from(r.k),
        "retrieval.weights.rhythm" => f64::from(r.weights.rhythm),
        "retrieval.weights.harmony" => f64::from(r.weights.harmony),
        "retrieval.weights.timbre" => f64::from(r.weights.timbre),
        "retrieval.blend" => f64::from(r.blend),
        "motion.smoothing" => f64::from(patch.motion.smoothing),
        "mixer.retrieved" => f64::from(m.retrieved),
        "mixer.generated" => f64::from(m.generated),
        "mixer.master" => f64::from(m.master),
        "mixer.crossfade_beats" => f64::from(m.crossfade_beats),
        _ => return Err(ParamError::Unknown { path: path.into() }),
    })
}

/// `patch` with `path` set to `value`, validated as a whole like a loaded patch; the
/// original is untouched when the value is refused.
pub fn set(patch: &Patch, path: &str, value: f64) -> Result<Patch, ParamError> {
    let Some(spec) = param(path) else {
        return Err(ParamError::Unknown { path: path.into() });
    };
    let invalid = |message: String| ValidationError { path: spec.path.to_string(), message };
    if !value.is_finite() {
        return Err(invalid(format!("must be a finite number, got {value}")).into());
    }
    if spec.kind == Kind::Int && value.fract() != 0.0 {
        return Err(invalid(format!("must be a whole number, got {value}")).into());
    }
    if !(spec.min..=spec.max).contains(&value) {
        return Err(invalid(format!("must be {}..={}, got {value}", spec.min, spec.max)).into());
    }
    let mut next = patch.clone();
    let n = &mut next;
    let f = value as f32;
    let i = value as u32;
    match path {
        "tempo" => n.tempo = Some(value),
        "conductor.steps" => n.conductor.steps = i,
        "conductor.guidance" => n.conductor.guidance = f,
        "conductor.look_ahead_bars" => n.conductor.look_ahead_bars = i,
        "conductor.seed" => n.conductor.seed = value as u64,
        "retrieval.k" => n.retrieval.k = i,
        "retrieval.weights.rhythm" => n.retrieval.weights.rhythm = f,
        "retrieval.weights.harmony" => n.retrieval.weights.harmony = f,
        "retrieval.weights.timbre" => n.retrieval.weights.timbre = f,
        "retrieval.blend" => n.retrieval.blend = f,
        "motion.smoothing" => n.motion.smoothing = f,
        "mixer.retrieved" => n.mixer.retrieved = f,
        "mixer.generated" => n.mixer.generated = f,
        "mixer.master" => n.mixer.master = f,
        "mixer.crossfade_beats" => n.mixer.crossfade_beats = f,
        _ => return Err(ParamError::Unknown { path: path.into() }),
    }
    validate::validate(&next)?;
    Ok(next)
}

impl OscMapping {
    /// The parameter value for a control input `x` (clamped to 0–1), rounded for integer
    /// parameters.
    pub fn value(&self, x: f32) -> f64 {
        let x = f64::from(if x.is_finite() { x.clamp(0.0, 1.0) } else { 0.0 });
        let (lo, hi) = (f64::from(self.range.0), f64::from(self.range.1));
        let v = match self.curve {
            Curve::Linear => lo + x * (hi - lo),
            Curve::Exp => lo * (hi / lo).powf(x),
        };
        match param(&self.param) {
            Some(Param { kind: Kind::Int, .. }) => v.round(),
            _ => v,
        }
    }
}

/// The `(param, value)` that an incoming message to `address` with first float `x` sets,
/// through the patch's first mapping for that address.
pub fn map_osc<'a>(patch: &'a Patch, address: &str, x: f32) -> Option<(&'a str, f64)> {
    let m = patch.osc.iter().find(|m| m.address == address)?;
    Some((m.param.as_str(), m.value(x)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::patch::parse;

    #[test]
    fn set_validates_like_a_file_and_get_reads_back() {
        let p = Patch::default();
        let q = set(&p, "mixer.master", -6.0).unwrap();
        assert_eq!(get(&q, "mixer.master"), Ok(-6.0));
        assert_eq!(p.mixer.master, 0.0, "the original is untouched");
        let e = set(&p, "retrieval.k", 0.0).unwrap_err();
        assert_eq!(e.to_string(), "retrieval.k must be 1..=64, got 0");
        assert!(set(&p, "retrieval.k", 2.5).is_err());
        assert!(set(&p, "conductor.guidance", f64::NAN).is_err());
        // The whole patch is checked: the last weight cannot go to 0 with the others at 0.
        let r = parse("(retrieval: (weights: (rhythm: 0.0, harmony: 0.0, timbre: 1.0)))").unwrap();
        let e = set(&r, "retrieval.weights.timbre", 0.0).unwrap_err();
        assert!(e.to_string().starts_with("retrieval.weights must not all be 0"), "{e}");
        assert!(matches!(get(&p, "nope"), Err(ParamError::Unknown { .. })));
        assert_eq!(get(&p, "tempo"), Err(ParamError::Unset));
        // Every parameter in the table reads and sets.
        for param in PARAMS {
            let v = (param.min + param.max) / 2.0;
            let v = if param.kind == Kind::Int { v.round() } else { v };
            let q = set(&p, param.path, v).unwrap();
            assert_eq!(get(&q, param.path), Ok(v), "{}", param.path);
        }
    }

    #[test]
    fn mappings_spread_the_input_over_their_range() {
        let p = parse(
            "(osc: [(address: \"/1/fader1\", param: \"conductor.guidance\", range: (1.0, 4.0)),
                    (address: \"/t\", param: \"tempo\", range: (80.0, 160.0), curve: Exp),
                    (address: \"/k\", param: \"retrieval.k\", range: (1.0, 10.0))])",
        )
        .unwrap();
        assert_eq!(map_osc(&p, "/1/fader1", 0.5), Some(("conductor.guidance", 2.5)));
        assert_eq!(map_osc(&p, "/1/fader1", 7.0), Some(("conductor.guidance", 4.0)));
        let (_, t) = map_osc(&p, "/t", 0.5).unwrap();
        assert!((t - 80.0 * 2f64.sqrt()).abs() < 1e-3);
        assert_eq!(map_osc(&p, "/k", 0.5), Some(("retrieval.k", 6.0)));
        assert_eq!(map_osc(&p, "/nope", 0.5), None);
    }
}
