//! OSC scripts for offline renders: one `bar address args…` line per command, e.g.
//! `8 /transport/tempo 128.0` or `4 /retrieval/phrase 12`. Blank lines and `#` comments are
//! skipped. Each line is encoded as an OSC message and decoded by the server's own codec,
//! so a script is checked exactly as a client's packet would be.

use anyhow::{Context, bail};
use memsynth::osc::{Command, decode_packet, encode_reply};
use rosc::OscType;

/// One scripted command.
#[derive(Debug, Clone, PartialEq)]
pub struct Cue {
    /// The bar it takes effect on (bar-quantised commands land on its line).
    pub bar: u64,
    /// The command.
    pub command: Command,
}

/// Parses a script; `Err` names the line and what is wrong with it.
pub fn parse(text: &str) -> anyhow::Result<Vec<Cue>> {
    let mut cues = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let at = || format!("script line {}: {line:?}", n + 1);
        let mut words = line.split_whitespace();
        let bar: u64 = words
            .next()
            .unwrap_or("")
            .parse()
            .with_context(|| format!("{}: the first word must be a bar number", at()))?;
        let Some(address) = words.next() else {
            bail!("{}: an OSC address must follow the bar", at());
        };
        let args = words.map(argument).collect();
        let decoded = decode_packet(&encode_reply(address, args));
        if let Some(why) = decoded.malformed {
            bail!("{}: {why}", at());
        }
        for item in decoded.items {
            match item.value {
                Ok(command) => cues.push(Cue { bar, command }),
                Err(e) => bail!("{}: {e}", at()),
            }
        }
    }
    // Stable: lines for the same bar keep their order.
    cues.sort_by_key(|c| c.bar);
    Ok(cues)
}

/// A word as an OSC argument: an integer, a float (with `.` or an exponent), or a string
/// (quotes, if any, removed).
fn argument(word: &str) -> OscType {
    if let Ok(i) = word.parse::<i32>() {
        return OscType::Int(i);
    }
    if let Ok(f) = word.parse::<f32>()
        && word.contains(['.', 'e', 'E'])
    {
        return OscType::Float(f);
    }
    OscType::String(word.trim_matches('"').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_become_commands_in_bar_order() {
        let cues =
            parse("# tempo up\n8 /transport/tempo 128.0\n\n4 /retrieval/phrase 12\n").unwrap();
        assert_eq!(
            cues,
            [
                Cue { bar: 4, command: Command::QueryPhrase(12) },
                Cue { bar: 8, command: Command::Tempo(128.0) },
            ]
        );
    }

    #[test]
    fn bad_lines_say_which() {
        let e = parse("1 /transport/tempo 500.0").unwrap_err().to_string();
        assert!(e.contains("line 1"), "{e}");
        assert!(parse("x /transport/play").is_err());
        assert!(parse("2 /no/such").is_err());
    }
}
