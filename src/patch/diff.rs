//! What changed between two patches, section by section, and the changes that make the
//! running engine match the new one.
//!
//! Changes are expressed as the OSC [`Command`]s a client could have sent, so one path
//! (the runtime's `commands::apply`) changes the music whether a patch or a fader did it.
//! A field that did not change produces nothing: a patch that only moves the mixer leaves
//! the query, the playing phrase and the pick's random stream alone.

use std::fmt;

use super::schema::{Mode, Patch, db_to_gain};
use crate::osc::Command;

/// A patch section.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Section {
    /// `tempo`.
    Tempo,
    /// `conductor`.
    Conductor,
    /// `retrieval`.
    Retrieval,
    /// `motion`.
    Motion,
    /// `mixer`.
    Mixer,
    /// `osc`.
    Osc,
}

impl Section {
    /// Its name in a patch.
    pub fn name(self) -> &'static str {
        match self {
            Section::Tempo => "tempo",
            Section::Conductor => "conductor",
            Section::Retrieval => "retrieval",
            Section::Motion => "motion",
            Section::Mixer => "mixer",
            Section::Osc => "osc",
        }
    }
}

/// One thing the owner of the conductor must do to apply a patch.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// Apply this command as if a client had sent it.
    Command(Command),
    /// Set the conductor's look-ahead (bars); it has no OSC address.
    LookAhead(u32),
    /// Tell the performer (over `/error` and the log): a setting that is accepted but has
    /// no effect in this build.
    Notice(String),
}

/// The difference between a running patch and its successor.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Diff {
    /// The sections with at least one changed field, in patch order.
    pub sections: Vec<Section>,
    /// Each changed field: `mixer.master: 0 → -6`.
    pub fields: Vec<String>,
    /// What to do, in order.
    pub changes: Vec<Change>,
}

impl Diff {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    fn field(&mut self, section: Section, path: &str, old: impl fmt::Debug, new: impl fmt::Debug) {
        if self.sections.last() != Some(&section) {
            self.sections.push(section);
        }
        self.fields.push(format!("{path}: {old:?} → {new:?}"));
    }
}

impl fmt::Display for Diff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.fields.is_empty() {
            return f.write_str("no change");
        }
        f.write_str(&self.fields.join(", "))
    }
}

/// The notice for a mode that needs a model (none is loaded in this build).
pub fn mode_notice(mode: Mode) -> Option<String> {
    (mode != Mode::Retrieve).then(|| {
        format!(
            "conductor.mode {}: no generative model is loaded, so phrases come from \
             retrieval (retrieve mode) until one is",
            mode.as_str()
        )
    })
}

/// The difference from `old` to `new` (both valid).
pub fn diff(old: &Patch, new: &Patch) -> Diff {
    let mut d = Diff::default();
    if new.tempo != old.tempo {
        d.field(Section::Tempo, "tempo", old.tempo, new.tempo);
        // `None` leaves the tempo where it is (a tap or a fader may have moved it).
        if let Some(bpm) = new.tempo {
            d.changes.push(Change::Command(Command::Tempo(bpm as f32)));
        }
    }

    let (o, n) = (&old.conductor, &new.conductor);
    if n.mode != o.mode {
        d.field(Section::Conductor, "conductor.mode", o.mode, n.mode);
        if let Some(notice) = mode_notice(n.mode) {
            d.changes.push(Change::Notice(notice));
        }
    }
    // Steps and guidance drive the diffusion sampler; they are kept in the running patch
    // (and `/patch/get` answers them) for when a model is loaded.
    if n.steps != o.steps {
        d.field(Section::Conductor, "conductor.steps", o.steps, n.steps);
    }
    if n.guidance != o.guidance {
        d.field(Section::Conductor, "conductor.guidance", o.guidance, n.guidance);
    }
    if n.look_ahead_bars != o.look_ahead_bars {
        d.field(
            Section::Conductor,
            "conductor.look_ahead_bars",
            o.look_ahead_bars,
            n.look_ahead_bars,
        );
        d.changes.push(Change::LookAhead(n.look_ahead_bars));
    }
    if n.seed != o.seed {
        d.field(Section::Conductor, "conductor.seed", o.seed, n.seed);
        d.changes.push(Change::Command(Command::Seed(n.seed)));
    }

    let (o, n) = (&old.retrieval, &new.retrieval);
    if n.k != o.k {
        d.field(Section::Retrieval, "retrieval.k", o.k, n.k);
        d.changes.push(Change::Command(Command::RetrievalK(n.k)));
    }
    if n.weights != o.weights {
        d.field(Section::Retrieval, "retrieval.weights", o.weights, n.weights);
        let w = n.weights;
        d.changes.push(Change::Command(Command::RetrievalWeights([w.rhythm, w.harmony, w.timbre])));
    }
    if n.blend != o.blend {
        d.field(Section::Retrieval, "retrieval.blend", o.blend, n.blend);
    }

    // The motion section is read by the motion input from the running patch.
    let (o, n) = (&old.motion, &new.motion);
    if n.senders != o.senders {
        d.field(Section::Motion, "motion.senders", &o.senders, &n.senders);
    }
    if n.smoothing != o.smoothing {
        d.field(Section::Motion, "motion.smoothing", o.smoothing, n.smoothing);
    }
    if n.mapper != o.mapper {
        d.field(Section::Motion, "motion.mapper", &o.mapper, &n.mapper);
    }

    let (o, n) = (&old.mixer, &new.mixer);
    for (name, old_db, new_db) in [
        ("retrieved", o.retrieved, n.retrieved),
        ("generated", o.generated, n.generated),
        ("master", o.master, n.master),
    ] {
        if new_db != old_db {
            d.field(Section::Mixer, &format!("mixer.{name}"), old_db, new_db);
            d.changes.push(Change::Command(Command::MixerGain {
                channel: name.to_string(),
                gain: db_to_gain(new_db),
            }));
        }
    }
    if n.crossfade_beats != o.crossfade_beats {
        d.field(Section::Mixer, "mixer.crossfade_beats", o.crossfade_beats, n.crossfade_beats);
        d.changes.push(Change::Command(Command::Xfade(n.crossfade_beats)));
    }

    if new.osc != old.osc {
        d.field(Section::Osc, "osc", old.osc.len(), new.osc.len());
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::patch::parse;

    #[test]
    fn only_changed_fields_become_changes() {
        let old = parse("(tempo: 120.0, retrieval: (k: 8), mixer: (master: 0.0))").unwrap();
        let new = parse("(tempo: 120.0, retrieval: (k: 8), mixer: (master: -6.0))").unwrap();
        let d = diff(&old, &new);
        assert_eq!(d.sections, vec![Section::Mixer]);
        assert_eq!(d.changes.len(), 1);
        let Change::Command(Command::MixerGain { channel, gain }) = &d.changes[0] else {
            panic!("{d:?}")
        };
        assert_eq!(channel, "master");
        assert!((gain - 0.501).abs() < 1e-3);
        assert!(diff(&new, &new).is_empty());
    }

    #[test]
    fn every_section_is_seen() {
        let old = Patch::default();
        let new = parse(
            "(tempo: 100.0, conductor: (mode: Hybrid, seed: 3, look_ahead_bars: 2),
              retrieval: (weights: (rhythm: 1.0, harmony: 0.0, timbre: 0.0)),
              motion: (smoothing: 1.0), mixer: (crossfade_beats: 4.0),
              osc: [(address: \"/1/fader1\", param: \"mixer.master\", range: (-40.0, 0.0))])",
        )
        .unwrap();
        let d = diff(&old, &new);
        use Section as S;
        assert_eq!(
            d.sections,
            vec![S::Tempo, S::Conductor, S::Retrieval, S::Motion, S::Mixer, S::Osc]
        );
        assert!(d.changes.contains(&Change::Command(Command::Tempo(100.0))));
        assert!(d.changes.contains(&Change::LookAhead(2)));
        assert!(d.changes.contains(&Change::Command(Command::Seed(3))));
        assert!(d.changes.contains(&Change::Command(Command::Xfade(4.0))));
        assert!(d.changes.iter().any(|c| matches!(c, Change::Notice(n) if n.contains("hybrid"))));
    }
}
