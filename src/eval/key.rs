//! Key agreement, as `mir_eval.key.weighted_score` (the MIREX key-detection score): 1 for
//! the same key, 0.5 for the estimate a perfect fifth above the reference in the same mode,
//! 0.3 for the relative key, 0.2 for the parallel key, 0 otherwise.
//!
//! Keys are numbered as [`crate::analysis::key::KeyEstimate::key_index`]: the tonic's pitch
//! class (0 = C … 11 = B), plus 12 for minor; [`parse_key`] reads the names the analysis
//! writes ("F# minor", flats accepted too).

/// How an estimated key relates to the reference, in `mir_eval`'s order of precedence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyRelation {
    /// The same tonic and mode.
    Same,
    /// Same mode, tonic a perfect fifth (7 semitones) above the reference's.
    Fifth,
    /// The relative major or minor (A minor for C major, C major for A minor).
    Relative,
    /// The same tonic in the other mode.
    Parallel,
    /// Anything else.
    Other,
}

impl KeyRelation {
    /// The MIREX weight of the relation.
    pub fn weight(self) -> f64 {
        match self {
            Self::Same => 1.0,
            Self::Fifth => 0.5,
            Self::Relative => 0.3,
            Self::Parallel => 0.2,
            Self::Other => 0.0,
        }
    }
}

/// The relation of `estimated` to `reference` (key indices 0..24).
pub fn relation(reference: usize, estimated: usize) -> KeyRelation {
    let (rt, rm) = (reference % 12, reference >= 12);
    let (et, em) = (estimated % 12, estimated >= 12);
    let up = (et + 12 - rt) % 12;
    match (rm == em, up) {
        (true, 0) => KeyRelation::Same,
        (true, 7) => KeyRelation::Fifth,
        (false, 9) if !rm => KeyRelation::Relative,
        (false, 3) if rm => KeyRelation::Relative,
        (false, 0) => KeyRelation::Parallel,
        _ => KeyRelation::Other,
    }
}

/// `mir_eval.key.weighted_score` of two key indices.
pub fn weighted_score(reference: usize, estimated: usize) -> f64 {
    relation(reference, estimated).weight()
}

/// A key name ("C major", "F# minor", "Bb minor") to its index; `None` if it is not one.
pub fn parse_key(name: &str) -> Option<usize> {
    let mut words = name.split_whitespace();
    let (tonic, mode) = (words.next()?, words.next()?);
    if words.next().is_some() {
        return None;
    }
    let mut chars = tonic.chars();
    let base: i32 = match chars.next()?.to_ascii_uppercase() {
        'C' => 0,
        'D' => 2,
        'E' => 4,
        'F' => 5,
        'G' => 7,
        'A' => 9,
        'B' => 11,
        _ => return None,
    };
    let accidental: i32 = match chars.as_str() {
        "" => 0,
        "#" | "♯" => 1,
        "b" | "♭" => -1,
        _ => return None,
    };
    let pc = (base + accidental).rem_euclid(12) as usize;
    match mode.to_ascii_lowercase().as_str() {
        "major" => Some(pc),
        "minor" => Some(pc + 12),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_as_the_analysis_writes_them() {
        assert_eq!(parse_key("C major"), Some(0));
        assert_eq!(parse_key("F# minor"), Some(18));
        assert_eq!(parse_key("Bb minor"), Some(22));
        assert_eq!(parse_key("Cb major"), Some(11));
        assert_eq!(parse_key("H major"), None);
        assert_eq!(parse_key("C dorian"), None);
        assert_eq!(parse_key("C"), None);
    }

    #[test]
    fn weights_follow_mir_eval() {
        let c = parse_key("C major").unwrap();
        let a_min = parse_key("A minor").unwrap();
        assert_eq!(weighted_score(c, c), 1.0);
        assert_eq!(weighted_score(c, parse_key("G major").unwrap()), 0.5);
        // mir_eval counts only the fifth above.
        assert_eq!(weighted_score(c, parse_key("F major").unwrap()), 0.0);
        assert_eq!(weighted_score(c, a_min), 0.3);
        assert_eq!(weighted_score(a_min, c), 0.3);
        assert_eq!(weighted_score(a_min, parse_key("E minor").unwrap()), 0.5);
        assert_eq!(weighted_score(c, parse_key("C minor").unwrap()), 0.2);
        assert_eq!(weighted_score(c, parse_key("D major").unwrap()), 0.0);
        // C minor's relative is Eb major, not A major.
        assert_eq!(
            weighted_score(parse_key("C minor").unwrap(), parse_key("A major").unwrap()),
            0.0
        );
    }
}
