//! The running patch and the one waiting for its bar line: what the conductor's owner keeps
//! so that every patch — a saved file, `/patch/load`, `/patch/set` — lands the same way.
//!
//! [`PatchSlot::stage`] picks the first bar line after `now`; the owner calls
//! [`PatchSlot::take_due`] as its clock moves and, once the line is within its horizon (the
//! block it is about to render), gets the [`Diff`] from the running patch to carry out
//! just before the line. A patch staged while another waits replaces it, and the diff is
//! always taken against what is actually running.

use super::diff::{Diff, diff};
use super::schema::Patch;
use crate::live::transport::Transport;

/// A patch waiting for its bar line.
#[derive(Debug, Clone, PartialEq)]
pub struct Staged {
    /// The patch.
    pub patch: Patch,
    /// Where it came from (a file name, `/patch/set conductor.seed`), for logs.
    pub origin: String,
    /// The bar it starts on (0 when the transport is stopped).
    pub bar: u64,
    /// That bar line's sample (the staging time when stopped: due at once).
    pub line: u64,
}

/// A patch applied on its bar line.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    /// What changed.
    pub diff: Diff,
    /// Where it came from.
    pub origin: String,
    /// The bar it starts on.
    pub bar: u64,
    /// The bar line's sample.
    pub line: u64,
}

/// The running patch and at most one staged successor.
#[derive(Debug, Clone, Default)]
pub struct PatchSlot {
    running: Patch,
    staged: Option<Staged>,
}

impl PatchSlot {
    /// A slot whose running patch describes the engine as it is now.
    pub fn new(running: Patch) -> Self {
        Self { running, staged: None }
    }

    /// The patch in force.
    pub fn running(&self) -> &Patch {
        &self.running
    }

    /// The patch an edit builds on: the staged one if any, else the running one (two
    /// `/patch/set`s in one bar both count).
    pub fn latest(&self) -> &Patch {
        self.staged.as_ref().map_or(&self.running, |s| &s.patch)
    }

    /// The patch waiting for its line, if any.
    pub fn staged(&self) -> Option<&Staged> {
        self.staged.as_ref()
    }

    /// Stages `patch` (valid) for the first bar line after `now`; returns that bar.
    pub fn stage(
        &mut self,
        patch: Patch,
        origin: impl Into<String>,
        transport: &Transport,
        now: u64,
    ) -> u64 {
        let (bar, line) = transport.next_bar_line(now + 1).unwrap_or((0, now));
        self.staged = Some(Staged { patch, origin: origin.into(), bar, line });
        bar
    }

    /// The sample of the staged patch's line, if one waits.
    pub fn due_at(&self) -> Option<u64> {
        self.staged.as_ref().map(|s| s.line)
    }

    /// The staged patch, made running, when its line is at or before `horizon`.
    pub fn take_due(&mut self, horizon: u64) -> Option<Applied> {
        if self.staged.as_ref()?.line > horizon {
            return None;
        }
        let staged = self.staged.take()?;
        let d = diff(&self.running, &staged.patch);
        self.running = staged.patch;
        Some(Applied { diff: d, origin: staged.origin, bar: staged.bar, line: staged.line })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::transport::Tempo;
    use crate::patch::parse;

    #[test]
    fn a_patch_waits_for_the_next_bar_line_and_the_latest_wins() {
        let mut t = Transport::new(48_000, Tempo::from_bpm(120.0).unwrap());
        t.play(0);
        let mut slot = PatchSlot::default();
        let a = parse("(mixer: (master: -6.0))").unwrap();
        let b = parse("(mixer: (master: -12.0))").unwrap();
        assert_eq!(slot.stage(a, "a.ron", &t, 10), 1);
        assert_eq!(slot.due_at(), Some(96_000));
        // Exactly on a line: the next one (the block at `now` is already being rendered).
        assert_eq!(slot.stage(b.clone(), "b.ron", &t, 96_000), 2);
        assert_eq!(slot.latest(), &b);
        assert!(slot.take_due(191_999).is_none());
        let applied = slot.take_due(192_000).unwrap();
        assert_eq!((applied.bar, applied.origin.as_str()), (2, "b.ron"));
        assert_eq!(applied.diff.fields, vec!["mixer.master: 0.0 → -12.0"]);
        assert_eq!(slot.running(), &b);
        assert!(slot.take_due(u64::MAX).is_none());
    }
}
