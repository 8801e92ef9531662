//! Nearest phrases by e_phrase, with the three groups weighted: the query API of `db query`
//! and of the live server's Retrieval actor.

use heed::{RoTxn, WithoutTls};
use serde::Serialize;

use super::embedding::{
    E_PHRASE_DIMS, EmbeddingStats, GroupWeights, weighted_distance, weighted_query,
};
use super::index::{IndexParams, search};
use super::schema::{PhraseId, PhraseRecord, TrackId};
use super::store::Database;
use crate::{Error, Result};

/// What to search near.
#[derive(Debug, Clone, PartialEq)]
pub enum Query {
    /// A stored phrase (it is left out of the results).
    Phrase(PhraseId),
    /// A raw (unstandardised) e_phrase, e.g. from [`super::ingest::file_e_phrase`] or the
    /// phrase mapper.
    Raw(Vec<f32>),
    /// An already standardised e_phrase (unit-length groups scaled by 1/√3, as
    /// [`super::embedding::EmbeddingStats::standardise`] makes them), e.g. from the motion
    /// mapper, which builds its query in the database's z-score space.
    Standard(Vec<f32>),
}

/// One result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hit {
    /// The phrase.
    pub phrase: PhraseId,
    /// Its track.
    pub track: TrackId,
    /// 1 − Σ w_g cos_g / Σ w_g over the standardised groups: 0 is identical.
    pub distance: f32,
    /// Start, seconds into its track.
    pub start: f64,
    /// End, seconds into its track.
    pub end: f64,
    /// Bars.
    pub bars: u16,
    /// Beats per bar.
    pub beats_per_bar: u8,
    /// Local tempo, BPM.
    pub tempo: f64,
    /// Key.
    pub key: String,
}

impl Database {
    /// The `k` phrases nearest `query`, nearest first, by the weighted distance.
    ///
    /// One index serves every weighting: stored vectors have unit-length groups, so the
    /// cosine to the weighted query vector ranks them by Σ w_g cos_g (see
    /// [`super::embedding::weighted_query`]). Distances are then computed exactly.
    pub fn query(
        &self,
        query: &Query,
        k: usize,
        weights: GroupWeights,
        params: &IndexParams,
    ) -> Result<Vec<Hit>> {
        let stats = self.meta()?.stats.ok_or_else(|| Error::Database {
            reason: format!("{} has no index yet", self.dir().display()),
            fix: "run `memsynth analyze` on the library to build it",
        })?;
        let rtxn = self.read_txn()?;
        let (standard, exclude) = match query {
            Query::Phrase(id) => {
                let features =
                    self.phrase_features(&rtxn, *id)?.ok_or_else(|| Error::InvalidParameter {
                        name: "phrase",
                        reason: format!("no phrase {id} in the database (`memsynth db stats`)"),
                    })?;
                (stats.standardise(&features.e_phrase_raw), Some(*id))
            }
            Query::Raw(raw) => (stats.standardise(raw), None),
            Query::Standard(v) if v.len() == E_PHRASE_DIMS => (v.clone(), None),
            Query::Standard(v) => {
                return Err(Error::InvalidParameter {
                    name: "query",
                    reason: format!(
                        "a standardised query has {E_PHRASE_DIMS} dims, got {}",
                        v.len()
                    ),
                });
            }
        };
        let ask = weighted_query(&standard, weights);
        // A few more than asked: phrases removed since the index was built are skipped.
        let found = search(&rtxn, self.index_db(), &ask, k + 8, exclude, params)?;
        let mut hits = Vec::with_capacity(k);
        for (id, _) in found {
            if hits.len() == k {
                break;
            }
            if let Some(hit) = self.hit(&rtxn, &stats, &standard, id, weights)? {
                hits.push(hit);
            }
        }
        hits.sort_by(|a, b| a.distance.total_cmp(&b.distance));
        Ok(hits)
    }

    fn hit(
        &self,
        rtxn: &RoTxn<WithoutTls>,
        stats: &EmbeddingStats,
        standard: &[f32],
        id: PhraseId,
        weights: GroupWeights,
    ) -> Result<Option<Hit>> {
        let (Some(record), Some(features)) =
            (self.phrase(rtxn, id)?, self.phrase_features(rtxn, id)?)
        else {
            return Ok(None);
        };
        let distance =
            weighted_distance(standard, &stats.standardise(&features.e_phrase_raw), weights);
        Ok(Some(hit_of(id, &record, distance)))
    }
}

fn hit_of(id: PhraseId, p: &PhraseRecord, distance: f32) -> Hit {
    Hit {
        phrase: id,
        track: p.track,
        distance,
        start: p.start,
        end: p.end,
        bars: p.bars,
        beats_per_bar: p.beats_per_bar,
        tempo: p.tempo,
        key: p.key.clone(),
    }
}
