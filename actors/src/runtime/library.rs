//! Retrieval and preparation against the phrase database: what the Retrieval and Vocoder
//! actors run on their blocking threads and the offline renderer runs inline.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use memsynth::db::embedding::GroupWeights;
use memsynth::db::index::IndexParams;
use memsynth::db::schema::PhraseId;
use memsynth::db::{Database, Query};
use memsynth::live::conductor::Candidate;
use memsynth::live::stretch::{SourceAudio, fit_to_bars, phrase_beats};
use memsynth::live::transport::{BEATS_PER_BAR, Tempo};

/// An open phrase database, read-only.
pub struct Library {
    db: Database,
    params: IndexParams,
}

impl Library {
    /// Opens the database in `dir`.
    pub fn open(dir: &Path) -> anyhow::Result<Self> {
        let db = Database::open(dir)
            .with_context(|| format!("cannot open the phrase database {}", dir.display()))?;
        Ok(Self { db, params: IndexParams::default() })
    }

    /// The database's first phrase (lowest id), the default query.
    pub fn first_phrase(&self) -> anyhow::Result<(PhraseId, f64)> {
        let rtxn = self.db.read_txn()?;
        let phrases = self.db.phrases(&rtxn)?;
        let (id, record) = phrases.into_iter().min_by_key(|(id, _)| *id).context(
            "the database has no phrases: run `memsynth analyze <library> --db <dir>` first",
        )?;
        Ok((id, record.tempo))
    }

    /// The tempo of phrase `id`, if it exists.
    pub fn phrase_tempo(&self, id: PhraseId) -> anyhow::Result<Option<f64>> {
        let rtxn = self.db.read_txn()?;
        Ok(self.db.phrase(&rtxn, id)?.map(|p| p.tempo))
    }

    /// Phrase `id`'s e_phrase as z-scores against the database statistics (the motion
    /// mapper's anchor); `None` if there is no such phrase.
    pub fn anchor_z(&self, id: PhraseId) -> Result<Option<Vec<f32>>, String> {
        let stats = self.db.meta().map_err(|e| e.to_string())?.stats;
        let Some(stats) = stats else { return Err("the database has no index yet".into()) };
        let rtxn = self.db.read_txn().map_err(|e| e.to_string())?;
        let Some(features) = self.db.phrase_features(&rtxn, id).map_err(|e| e.to_string())? else {
            return Ok(None);
        };
        let mut z = vec![0.0; features.e_phrase_raw.len()];
        memsynth::motion::anchor_z(&features.e_phrase_raw, &stats, &mut z);
        Ok(Some(z))
    }

    /// The `k` phrases nearest `query`, as the conductor takes them.
    pub fn candidates(
        &self,
        query: &Query,
        k: usize,
        weights: GroupWeights,
    ) -> Result<Vec<Candidate>, String> {
        let hits = self.db.query(query, k, weights, &self.params).map_err(|e| e.to_string())?;
        // The live grid is 4/4: phrases in another metre are left out. (Every stored phrase
        // holds whole bars of beats, so nothing else needs checking here.)
        Ok(hits
            .into_iter()
            .filter(|h| u32::from(h.beats_per_bar) == BEATS_PER_BAR)
            .map(|h| Candidate {
                phrase_id: h.phrase,
                distance: h.distance,
                bars: h.bars,
                tempo: h.tempo,
            })
            .collect())
    }

    /// Loads phrase `id` and fits it to `tempo` at `rate` Hz, stereo interleaved.
    pub fn prepare(&self, id: PhraseId, tempo: Tempo, rate: u32) -> Result<Arc<[f32]>, String> {
        let (record, audio) = {
            // A short read transaction: copy out and let go before the slow stretch.
            let rtxn = self.db.read_txn().map_err(|e| e.to_string())?;
            let record = self.db.phrase(&rtxn, id).map_err(|e| e.to_string())?;
            let audio = self.db.phrase_audio(&rtxn, id).map_err(|e| e.to_string())?;
            (record, audio)
        };
        let (Some(record), Some(audio)) = (record, audio) else {
            return Err(format!("phrase {id} is not in the database"));
        };
        let samples = audio.to_f32();
        let source = SourceAudio {
            sample_rate: audio.sample_rate,
            channels: audio.channels,
            samples: &samples,
        };
        let beats = phrase_beats(&record);
        fit_to_bars(&source, &beats, rate, 2, tempo, BEATS_PER_BAR)
            .map(Arc::from)
            .map_err(|e| format!("phrase {id}: {e}"))
    }
}
