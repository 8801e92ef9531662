//! `memsynth db check`: every cross-reference between the tables, every stored blob, and the
//! index against the phrases.

use std::collections::BTreeSet;

use serde::Serialize;

use super::embedding::E_PHRASE_DIMS;
use super::schema::{PhraseId, SCHEMA_VERSION};
use super::store::Database;
use crate::Result;

/// What the check found.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CheckReport {
    /// Tracks.
    pub tracks: usize,
    /// Phrases.
    pub phrases: usize,
    /// Inconsistencies: the database is damaged if any.
    pub problems: Vec<String>,
    /// States that are consistent but unfinished (an interrupted run), with what to do.
    pub notes: Vec<String>,
}

impl CheckReport {
    /// No problems (notes are allowed).
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

impl Database {
    /// Checks the whole database. Reads every record and blob once.
    pub fn check(&self) -> Result<CheckReport> {
        let mut report = CheckReport::default();
        let meta = self.meta()?;
        let rtxn = self.read_txn()?;
        if meta.schema_version != SCHEMA_VERSION {
            report
                .problems
                .push(format!("schema {} (expected {SCHEMA_VERSION})", meta.schema_version));
        }

        let tracks = self.tracks(&rtxn)?;
        let phrases = self.phrases(&rtxn)?;
        report.tracks = tracks.len();
        report.phrases = phrases.len();
        let mut listed: BTreeSet<PhraseId> = BTreeSet::new();
        for (id, track) in &tracks {
            if *id >= meta.next_track {
                report.problems.push(format!("track {id} is at or past the next free id"));
            }
            match self.track_at(&rtxn, &track.path)? {
                Some((found, _)) if found == *id => {}
                _ => report.problems.push(format!("track {id}: its path is not indexed to it")),
            }
            if self.grid(&rtxn, *id)?.is_none() {
                report.problems.push(format!("track {id}: no beat grid"));
            }
            for p in &track.phrases {
                if !listed.insert(*p) {
                    report.problems.push(format!("phrase {p} is listed by two tracks"));
                }
            }
        }
        for (id, phrase) in &phrases {
            let problem = |what: &str| format!("phrase {id} (track {}): {what}", phrase.track);
            if !listed.contains(id) {
                report.problems.push(problem("no track lists it"));
            }
            if *id >= meta.next_phrase {
                report.problems.push(problem("at or past the next free id"));
            }
            match self.phrase_features(&rtxn, *id)? {
                None => report.problems.push(problem("no features")),
                Some(f) if f.e_phrase_raw.len() != E_PHRASE_DIMS => {
                    report.problems.push(problem("e_phrase has the wrong length"))
                }
                Some(f) if f.e_phrase_raw.iter().any(|x| !x.is_finite()) => {
                    report.problems.push(problem("e_phrase is not finite"))
                }
                Some(_) => {}
            }
            match self.phrase_audio(&rtxn, *id) {
                Ok(Some(a)) if a.n_frames() > 0 => {}
                Ok(_) => report.problems.push(problem("no audio")),
                Err(e) => report.problems.push(problem(&e.to_string())),
            }
            match self.phrase_mel(&rtxn, *id) {
                Ok(Some(m)) if m.n_frames() > 0 => {}
                Ok(_) => report.problems.push(problem("no log-mel")),
                Err(e) => report.problems.push(problem(&e.to_string())),
            }
        }
        for p in listed.difference(&phrases.iter().map(|(id, _)| *id).collect()) {
            report.problems.push(format!("phrase {p} is listed by a track but missing"));
        }

        if meta.index_generation == meta.generation {
            let indexed = index_ids(self, &rtxn)?;
            let stored: BTreeSet<PhraseId> = phrases.iter().map(|(id, _)| *id).collect();
            if indexed != stored {
                report.problems.push(format!(
                    "the index holds {} phrases, the tables {} ({} differ)",
                    indexed.len(),
                    stored.len(),
                    indexed.symmetric_difference(&stored).count()
                ));
            }
            let counted = meta.stats.as_ref().map_or(0, |s| s.count as usize);
            if counted != stored.len() {
                report.problems.push(format!(
                    "the e_phrase statistics count {counted} phrases, the tables hold {}",
                    stored.len()
                ));
            }
        } else {
            report.notes.push(
                "the index is older than the phrases (a run was interrupted): \
                 `memsynth analyze` on the library finishes it"
                    .into(),
            );
        }
        Ok(report)
    }
}

fn index_ids(db: &Database, rtxn: &heed::RoTxn<heed::WithoutTls>) -> Result<BTreeSet<PhraseId>> {
    match arroy::Reader::open(rtxn, 0, db.index_db()) {
        Ok(reader) => Ok(reader.item_ids().iter().collect()),
        Err(arroy::Error::MissingMetadata(_)) => Ok(BTreeSet::new()),
        Err(e) => Err(crate::Error::Database {
            reason: format!("cannot open the index: {e}"),
            fix: "run `memsynth analyze` on the library to rebuild it",
        }),
    }
}
