//! What a generation conditioned on a stored phrase takes from the database: the phrase's
//! e_phrase standardised with the database's statistics (the U-Net's cond[0:256]), its
//! local tempo (the default output tempo) and its track's key. `memsynth generate --phrase`
//! and `memsynth eval-generated` both start here, so they condition identically.

use crate::db::Database;
use crate::db::embedding::EmbeddingStats;
use crate::db::schema::PhraseId;
use crate::{Error, Result};

/// A stored phrase as a generation condition.
#[derive(Clone, Debug, PartialEq)]
pub struct PhraseCondition {
    /// The phrase.
    pub id: PhraseId,
    /// e_phrase standardised with the database's statistics.
    pub e_phrase: Vec<f32>,
    /// The phrase's local tempo, BPM.
    pub tempo: f64,
    /// Its track's key, e.g. "F# minor".
    pub key: String,
}

/// The database's e_phrase statistics, or an error that says to run `memsynth analyze`.
pub fn database_stats(db: &Database) -> Result<EmbeddingStats> {
    db.meta()?.stats.ok_or_else(|| Error::Database {
        reason: format!("{} has no e_phrase statistics yet", db.dir().display()),
        fix: "run `memsynth analyze` on it",
    })
}

/// Reads phrase `id` as a condition, standardising with `stats` (from [`database_stats`]).
pub fn phrase_condition(
    db: &Database,
    stats: &EmbeddingStats,
    id: PhraseId,
) -> Result<PhraseCondition> {
    let rtxn = db.read_txn()?;
    let missing = || Error::InvalidParameter {
        name: "phrase",
        reason: format!(
            "no phrase {id} in {} (ids: `memsynth db stats --json`)",
            db.dir().display()
        ),
    };
    let features = db.phrase_features(&rtxn, id)?.ok_or_else(missing)?;
    let record = db.phrase(&rtxn, id)?.ok_or_else(missing)?;
    Ok(PhraseCondition {
        id,
        e_phrase: stats.standardise(&features.e_phrase_raw),
        tempo: record.tempo,
        key: record.key,
    })
}
