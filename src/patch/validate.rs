//! Range and shape checks of a parsed patch. The first problem is reported, named by its
//! path (`retrieval.k must be 1..=64, got 0`), so the performer can find it at once.

use super::params::{self, Kind};
use super::schema::{Curve, Mapper, Patch, Target};

/// What is wrong with a patch, and where (a dotted path, `osc[2].range`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path} {message}")]
pub struct ValidationError {
    /// The field, as a dotted path.
    pub path: String,
    /// What is wrong and what is accepted.
    pub message: String,
}

fn err(path: impl Into<String>, message: impl Into<String>) -> ValidationError {
    ValidationError { path: path.into(), message: message.into() }
}

/// Checks one number against its table range ([`params::PARAMS`]).
fn range(path: &str, value: f64) -> Result<(), ValidationError> {
    let Some(p) = params::param(path) else {
        return Ok(());
    };
    if !value.is_finite() {
        return Err(err(path, format!("must be a finite number, got {value}")));
    }
    if !(p.min..=p.max).contains(&value) {
        let shown = |v: f64| match p.kind {
            Kind::Int => format!("{v}"),
            Kind::Float => format!("{v:?}"),
        };
        return Err(err(
            path,
            format!("must be {}..={}, got {}", shown(p.min), shown(p.max), shown(value)),
        ));
    }
    Ok(())
}

/// Checks every field; `Ok` means the patch can be applied as it is.
pub fn validate(patch: &Patch) -> Result<(), ValidationError> {
    if let Some(t) = patch.tempo {
        range("tempo", t)?;
    }
    let c = &patch.conductor;
    range("conductor.steps", f64::from(c.steps))?;
    range("conductor.guidance", f64::from(c.guidance))?;
    range("conductor.look_ahead_bars", f64::from(c.look_ahead_bars))?;

    let r = &patch.retrieval;
    range("retrieval.k", f64::from(r.k))?;
    let w = r.weights;
    range("retrieval.weights.rhythm", f64::from(w.rhythm))?;
    range("retrieval.weights.harmony", f64::from(w.harmony))?;
    range("retrieval.weights.timbre", f64::from(w.timbre))?;
    if w.rhythm + w.harmony + w.timbre <= 0.0 {
        return Err(err("retrieval.weights", "must not all be 0: give one group a weight above 0"));
    }
    range("retrieval.blend", f64::from(r.blend))?;

    let m = &patch.motion;
    if m.senders.is_empty() {
        return Err(err("motion.senders", "must list at least one sender (or leave it out: all)"));
    }
    for (i, s) in m.senders.iter().enumerate() {
        if m.senders[..i].contains(s) {
            return Err(err(format!("motion.senders[{i}]"), format!("{s:?} is listed twice")));
        }
    }
    range("motion.smoothing", f64::from(m.smoothing))?;
    validate_mapper(&m.mapper)?;

    let x = &patch.mixer;
    range("mixer.retrieved", f64::from(x.retrieved))?;
    range("mixer.generated", f64::from(x.generated))?;
    range("mixer.master", f64::from(x.master))?;
    range("mixer.crossfade_beats", f64::from(x.crossfade_beats))?;

    for (i, map) in patch.osc.iter().enumerate() {
        let at = |field: &str| format!("osc[{i}].{field}");
        let a = &map.address;
        if !a.starts_with('/')
            || a.len() > 128
            || a.contains(['*', '?', '[', ']', '{', '}', ' ', '#', ','])
        {
            return Err(err(
                at("address"),
                format!("must be a plain OSC address like \"/1/fader1\", got {a:?}"),
            ));
        }
        if patch.osc[..i].iter().any(|o| o.address == *a) {
            return Err(err(at("address"), format!("{a:?} is mapped twice")));
        }
        if params::param(&map.param).is_none() {
            return Err(err(
                at("param"),
                format!(
                    "{:?} is not a numeric parameter; one of: {}",
                    map.param,
                    params::PARAMS.iter().map(|p| p.path).collect::<Vec<_>>().join(", ")
                ),
            ));
        }
        let (lo, hi) = map.range;
        for v in [lo, hi] {
            range(&map.param, f64::from(v)).map_err(|e| err(at("range"), e.message))?;
        }
        if lo == hi {
            return Err(err(at("range"), "must span some values (its two ends are equal)"));
        }
        if map.curve == Curve::Exp && (lo <= 0.0 || hi <= 0.0) {
            return Err(err(at("range"), "an Exp curve needs both ends above 0"));
        }
    }
    Ok(())
}

fn validate_mapper(mapper: &Mapper) -> Result<(), ValidationError> {
    match mapper {
        Mapper::Model(file) => {
            if crate::osc::command::check_file_name(file).is_err() || !file.ends_with(".onnx") {
                return Err(err(
                    "motion.mapper",
                    format!("Model({file:?}): a file name in models/ ending in .onnx is needed"),
                ));
            }
        }
        Mapper::Linear(terms) => {
            for (i, t) in terms.iter().enumerate() {
                let at = |field: &str| format!("motion.mapper.Linear[{i}].{field}");
                let mut parts = t.from.split('.');
                let ok_word = |w: Option<&str>| {
                    w.is_some_and(|w| {
                        !w.is_empty()
                            && w.bytes()
                                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
                    })
                };
                if !(ok_word(parts.next()) && ok_word(parts.next()) && parts.next().is_none()) {
                    return Err(err(
                        at("from"),
                        format!(
                            "must be channel.feature in lower case (e.g. \"accel_mag.energy\"), got {:?}",
                            t.from
                        ),
                    ));
                }
                if let Target::Dim(g, d) = t.to
                    && d >= g.dims()
                {
                    return Err(err(
                        at("to"),
                        format!("{} has dimensions 0..{}, got {d}", g.name(), g.dims()),
                    ));
                }
                if !t.gain.is_finite() || t.gain.abs() > 100.0 {
                    return Err(err(at("gain"), format!("must be -100..=100, got {}", t.gain)));
                }
            }
        }
    }
    Ok(())
}
