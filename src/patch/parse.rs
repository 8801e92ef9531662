//! Text to a valid [`Patch`], or a [`PatchError`] with the line and column to fix.
//!
//! Syntax errors come from ron with their span. Validation errors name a path; they are
//! located in the text by looking for that path's field names in order (best effort:
//! a field left at its default has no place in the text, and the error says so by having
//! no position).

use std::fmt;

use super::schema::Patch;
use super::validate::{ValidationError, validate};

/// A place in the patch text, 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// Line, from 1.
    pub line: usize,
    /// Column (characters), from 1.
    pub column: usize,
}

/// Why a patch was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PatchError {
    /// Not RON, or not the patch's shape (an unknown field, a wrong type).
    Syntax {
        /// Where.
        at: Position,
        /// ron's message.
        message: String,
    },
    /// Parsed, but a value is out of range.
    Invalid {
        /// Where the field is written, when it is.
        at: Option<Position>,
        /// The field and what is wrong.
        error: ValidationError,
    },
}

impl PatchError {
    /// Where the error is, if known.
    pub fn position(&self) -> Option<Position> {
        match self {
            PatchError::Syntax { at, .. } => Some(*at),
            PatchError::Invalid { at, .. } => *at,
        }
    }

    /// The message without the position.
    pub fn message(&self) -> String {
        match self {
            PatchError::Syntax { message, .. } => message.clone(),
            PatchError::Invalid { error, .. } => error.to_string(),
        }
    }

    /// `file:line:column: message` (or `file: message` with no position): one line for
    /// logs and `/error`.
    pub fn one_line(&self, file: &str) -> String {
        match self.position() {
            Some(p) => format!("{file}:{}:{}: {}", p.line, p.column, self.message()),
            None => format!("{file}: {}", self.message()),
        }
    }

    /// [`Self::one_line`] followed by the offending line of `text` and a caret under the
    /// column, as `patch check` prints it.
    pub fn excerpt(&self, file: &str, text: &str) -> String {
        let mut out = self.one_line(file);
        if let Some(p) = self.position()
            && let Some(line) = text.lines().nth(p.line.saturating_sub(1))
        {
            let gutter = p.line.to_string();
            let pad = " ".repeat(gutter.len());
            let caret: String = line
                .chars()
                .take(p.column.saturating_sub(1))
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            out.push_str(&format!("\n{pad} |\n{gutter} | {line}\n{pad} | {caret}^"));
        }
        out
    }
}

impl fmt::Display for PatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position() {
            Some(p) => write!(f, "{}:{}: {}", p.line, p.column, self.message()),
            None => f.write_str(&self.message()),
        }
    }
}

impl std::error::Error for PatchError {}

/// Parses and validates a whole patch.
pub fn parse(text: &str) -> Result<Patch, PatchError> {
    let options =
        ron::Options::default().with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME);
    let patch: Patch = options.from_str(text).map_err(|e| PatchError::Syntax {
        at: Position { line: e.span.start.line.max(1), column: e.span.start.col.max(1) },
        message: e.code.to_string(),
    })?;
    validate(&patch)
        .map_err(|error| PatchError::Invalid { at: locate(text, &error.path), error })?;
    Ok(patch)
}

/// Finds where the field at `path` (`retrieval.k`, `osc[1].range`) is written.
fn locate(text: &str, path: &str) -> Option<Position> {
    let mut from = 0;
    let mut found = None;
    let mut skip = 0usize;
    for segment in path.split('.') {
        let (name, index) = match segment.split_once('[') {
            Some((n, rest)) => (n, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (segment, None),
        };
        let mut at = None;
        for _ in 0..=skip {
            let hit = find_field(text, name, from)?;
            from = hit + name.len();
            at = Some(hit);
        }
        found = at;
        skip = index.unwrap_or(0);
    }
    let offset = found?;
    let before = text.get(..offset)?;
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    Some(Position { line, column })
}

/// The next `name` at or after `from` written as a field (`name:`) or a variant
/// (`Name(`), outside comments.
fn find_field(text: &str, name: &str, from: usize) -> Option<usize> {
    let is_ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let bytes = text.as_bytes();
    let mut start = from;
    while let Some(rel) = text.get(start..)?.find(name) {
        let hit = start + rel;
        let end = hit + name.len();
        start = end;
        if hit > 0 && is_ident(bytes[hit - 1]) {
            continue;
        }
        let line_start = text[..hit].rfind('\n').map_or(0, |i| i + 1);
        if text[line_start..hit].contains("//") {
            continue;
        }
        let rest = text[end..].trim_start();
        if rest.starts_with(':') || rest.starts_with('(') {
            return Some(hit);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_errors_have_line_and_column() {
        let text = "(\n    retrieval: (k: 5,\n        wieghts: (rhythm: 1.0)),\n)";
        let e = parse(text).unwrap_err();
        let PatchError::Syntax { at, message } = &e else { panic!("{e:?}") };
        assert_eq!(at.line, 3, "{e}");
        assert!(message.contains("wieghts"), "{message}");
        let shown = e.excerpt("x.ron", text);
        assert!(shown.starts_with("x.ron:3:"), "{shown}");
        assert!(shown.contains("3 |         wieghts"), "{shown}");
        assert!(shown.ends_with('^'), "{shown}");
    }

    #[test]
    fn validation_errors_name_the_path_and_find_the_line() {
        let text = "(\n  tempo: 120.0,\n  retrieval: (\n    k: 0,\n  ),\n)";
        let e = parse(text).unwrap_err();
        assert_eq!(e.message(), "retrieval.k must be 1..=64, got 0");
        assert_eq!(e.position(), Some(Position { line: 4, column: 5 }));
        let text = "(osc: [\n (address: \"/a\", param: \"retrieval.k\", range: (1.0, 8.0)),\n \
                    (address: \"/b\", param: \"retrieval.k\", range: (1.0, 80.0)),\n])";
        let e = parse(text).unwrap_err();
        assert_eq!(e.message(), "osc[1].range must be 1..=64, got 80");
        assert_eq!(e.position().map(|p| p.line), Some(3));
    }

    #[test]
    fn a_short_patch_is_the_defaults_and_tempo_may_be_bare() {
        assert_eq!(parse("()").unwrap(), Patch::default());
        assert_eq!(parse("(tempo: 128.0)").unwrap().tempo, Some(128.0));
        assert_eq!(parse("(tempo: Some(90.0))").unwrap().tempo, Some(90.0));
    }
}
