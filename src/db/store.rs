//! The LMDB environment and its tables: opening, growing the map, writing and removing whole
//! tracks in one transaction each, and rebuilding the index.

use std::path::{Path, PathBuf};

use heed::byteorder::BigEndian;
use heed::types::{Bytes, SerdeBincode, Str, U32};
use heed::{CommitOrAbort, Env, EnvOpenOptions, MdbError, RoTxn, RwTxn, WithoutTls};
use serde::{Deserialize, Serialize};

use super::embedding::{E_PHRASE_DIMS, EmbeddingStats};
use super::index::{INDEX_DB_NAME, IndexDb, IndexParams, rebuild};
use super::schema::{
    BeatGrid, PhraseAudio, PhraseFeatures, PhraseId, PhraseMel, PhraseRecord, SCHEMA_VERSION,
    TrackId, TrackRecord,
};
use crate::{Error, Result};

type Id = U32<BigEndian>;
type Table<V> = heed::Database<'static, Id, V>;

/// The smallest map a database opens with; it doubles whenever a write needs more.
const MIN_MAP_BYTES: usize = 1 << 30;

/// Seed of the index's tree building: the same phrases always give the same index.
const INDEX_SEED: u64 = 0x6d65_6d73_796e_7468;

const FIX_REBUILD: &str = "run `memsynth db check` to see what is damaged, or delete the folder and run `memsynth analyze` again";

/// Database-wide bookkeeping, one record under the key `meta`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    /// [`SCHEMA_VERSION`] the database was made with.
    pub schema_version: u32,
    /// The next free track id.
    pub next_track: TrackId,
    /// The next free phrase id.
    pub next_phrase: PhraseId,
    /// Bumped by every change to the set of phrases.
    pub generation: u64,
    /// The generation the statistics and the index were last built from; behind
    /// `generation` after an interrupted run, until the next `analyze` finishes.
    pub index_generation: u64,
    /// Per-dimension statistics of the raw e_phrase over the whole database.
    pub stats: Option<EmbeddingStats>,
}

impl Default for Meta {
    fn default() -> Self {
        Self {
            schema_version: SCHEMA_VERSION,
            next_track: 0,
            next_phrase: 0,
            generation: 0,
            index_generation: 0,
            stats: None,
        }
    }
}

/// Everything stored about one phrase, as the analysis produces it.
#[derive(Debug, Clone, PartialEq)]
pub struct PhraseBundle {
    /// The record (its `track` is filled in when written).
    pub record: PhraseRecord,
    /// Raw e_phrase and beat-synchronous features.
    pub features: PhraseFeatures,
    /// Audio at the source's quality.
    pub audio: PhraseAudio,
    /// Standard log-mel with its context bar.
    pub mel: PhraseMel,
}

/// Everything stored about one track, written in one transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackBundle {
    /// The record (its `phrases` are filled in when written).
    pub record: TrackRecord,
    /// Beats and downbeats.
    pub grid: BeatGrid,
    /// Its phrases, in time order.
    pub phrases: Vec<PhraseBundle>,
}

impl TrackBundle {
    /// Roughly the bytes it takes in the database, to grow the map before writing.
    fn approx_bytes(&self) -> usize {
        let per_phrase: usize = self
            .phrases
            .iter()
            .map(|p| {
                2 * p.audio.samples.len()
                    + 4 * p.mel.frames.len()
                    + 4 * (p.features.beat_chroma.len()
                        + p.features.beat_mfcc.len()
                        + p.features.beat_onset.len()
                        + p.features.e_phrase_raw.len())
                    + 8 * p.record.beats.len()
                    + 4096
            })
            .sum();
        per_phrase + 8 * (self.grid.beats.len() + self.grid.downbeats.len()) + 4096
    }
}

#[derive(Clone, Copy)]
struct Tables {
    meta: heed::Database<'static, Str, SerdeBincode<Meta>>,
    paths: heed::Database<'static, Str, Id>,
    tracks: Table<SerdeBincode<TrackRecord>>,
    grids: Table<SerdeBincode<BeatGrid>>,
    phrases: Table<SerdeBincode<PhraseRecord>>,
    features: Table<SerdeBincode<PhraseFeatures>>,
    audio: Table<Bytes>,
    mel: Table<Bytes>,
    index: IndexDb,
}

const META_KEY: &str = "meta";

/// A phrase database folder, open for reading, or for writing when made with
/// [`Database::create`].
pub struct Database {
    env: Env<WithoutTls>,
    tables: Tables,
    dir: PathBuf,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database").field("dir", &self.dir).finish_non_exhaustive()
    }
}

impl Database {
    /// Opens the database in `dir`, creating the folder and its tables if needed.
    pub fn create(dir: &Path) -> Result<Self> {
        Self::create_with_map(dir, MIN_MAP_BYTES)
    }

    /// [`Database::create`] with a smaller first map (tests of the map's growth).
    #[doc(hidden)]
    pub fn create_with_map(dir: &Path, first_map: usize) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| Error::Write {
            path: dir.to_path_buf(),
            reason: format!("cannot create the database folder: {e}"),
        })?;
        let env = open_env(dir, first_map)?;
        let tables = create_tables(&env, dir)?;
        let db = Self { env, tables, dir: dir.to_path_buf() };
        db.check_schema()?;
        Ok(db)
    }

    /// Opens an existing database for reading (writes still work, but a reader never needs
    /// the writer's lock to open).
    pub fn open(dir: &Path) -> Result<Self> {
        if !dir.join("data.mdb").is_file() {
            return Err(Error::Database {
                reason: format!("no database in {}", dir.display()),
                fix: "build one with `memsynth analyze <library> --db <folder>`",
            });
        }
        let env = open_env(dir, MIN_MAP_BYTES)?;
        let rtxn = env.read_txn().map_err(|e| db_error(dir, "cannot start a read", e))?;
        let tables = env
            .open_databases_and_commit(rtxn, |dbo, rtxn| -> heed::Result<_> {
                let found = (
                    dbo.open_database(rtxn, Some("meta"))?,
                    dbo.open_database(rtxn, Some("paths"))?,
                    dbo.open_database(rtxn, Some("tracks"))?,
                    dbo.open_database(rtxn, Some("grids"))?,
                    dbo.open_database(rtxn, Some("phrases"))?,
                    dbo.open_database(rtxn, Some("features"))?,
                    dbo.open_database(rtxn, Some("audio"))?,
                    dbo.open_database(rtxn, Some("mel"))?,
                    dbo.open_database(rtxn, Some(INDEX_DB_NAME))?,
                );
                Ok(CommitOrAbort::<_, ()>::Commit(match found {
                    (
                        Some(a),
                        Some(b),
                        Some(c),
                        Some(d),
                        Some(e),
                        Some(f),
                        Some(g),
                        Some(h),
                        Some(i),
                    ) => Some((a, b, c, d, e, f, g, h, i)),
                    _ => None,
                }))
            })
            .map_err(|e| db_error(dir, "cannot open its tables", e))?
            .unwrap_commit();
        let tables = match tables {
            Some(tables) => Tables::from_tuple(tables),
            // An environment with nothing in it is a creation killed before its first commit.
            None if env.unnamed_database_stat().entries == 0 => create_tables(&env, dir)?,
            None => {
                return Err(Error::Database {
                    reason: format!("{} is not a memsynth database", dir.display()),
                    fix: "point --db at a folder made by `memsynth analyze`",
                });
            }
        };
        let db = Self { env, tables, dir: dir.to_path_buf() };
        db.check_schema()?;
        Ok(db)
    }

    /// The database folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Starts a read transaction (any thread; many may run beside one writer).
    pub fn read_txn(&self) -> Result<RoTxn<'_, WithoutTls>> {
        self.env.read_txn().map_err(|e| db_error(&self.dir, "cannot start a read", e))
    }

    /// The bookkeeping record.
    pub fn meta(&self) -> Result<Meta> {
        self.read_meta()?.ok_or_else(|| Error::Database {
            reason: format!("{} has no bookkeeping record", self.dir.display()),
            fix: FIX_REBUILD,
        })
    }

    /// All tracks, in id order.
    pub fn tracks(&self, rtxn: &RoTxn<WithoutTls>) -> Result<Vec<(TrackId, TrackRecord)>> {
        let iter = self.tables.tracks.iter(rtxn).map_err(|e| self.read_error(e))?;
        iter.map(|r| r.map_err(|e| self.read_error(e))).collect()
    }

    /// The track last analysed from `path`, if any.
    pub fn track_at(
        &self,
        rtxn: &RoTxn<WithoutTls>,
        path: &str,
    ) -> Result<Option<(TrackId, TrackRecord)>> {
        let Some(id) = self.tables.paths.get(rtxn, path).map_err(|e| self.read_error(e))? else {
            return Ok(None);
        };
        Ok(self.track(rtxn, id)?.map(|t| (id, t)))
    }

    /// One track.
    pub fn track(&self, rtxn: &RoTxn<WithoutTls>, id: TrackId) -> Result<Option<TrackRecord>> {
        self.tables.tracks.get(rtxn, &id).map_err(|e| self.read_error(e))
    }

    /// A track's beats and downbeats.
    pub fn grid(&self, rtxn: &RoTxn<WithoutTls>, id: TrackId) -> Result<Option<BeatGrid>> {
        self.tables.grids.get(rtxn, &id).map_err(|e| self.read_error(e))
    }

    /// One phrase.
    pub fn phrase(&self, rtxn: &RoTxn<WithoutTls>, id: PhraseId) -> Result<Option<PhraseRecord>> {
        self.tables.phrases.get(rtxn, &id).map_err(|e| self.read_error(e))
    }

    /// All phrases, in id order.
    pub fn phrases(&self, rtxn: &RoTxn<WithoutTls>) -> Result<Vec<(PhraseId, PhraseRecord)>> {
        let iter = self.tables.phrases.iter(rtxn).map_err(|e| self.read_error(e))?;
        iter.map(|r| r.map_err(|e| self.read_error(e))).collect()
    }

    /// A phrase's raw e_phrase and beat-synchronous features.
    pub fn phrase_features(
        &self,
        rtxn: &RoTxn<WithoutTls>,
        id: PhraseId,
    ) -> Result<Option<PhraseFeatures>> {
        self.tables.features.get(rtxn, &id).map_err(|e| self.read_error(e))
    }

    /// A phrase's audio at the source's quality.
    pub fn phrase_audio(
        &self,
        rtxn: &RoTxn<WithoutTls>,
        id: PhraseId,
    ) -> Result<Option<PhraseAudio>> {
        match self.tables.audio.get(rtxn, &id).map_err(|e| self.read_error(e))? {
            Some(bytes) => PhraseAudio::decode(bytes).map(Some),
            None => Ok(None),
        }
    }

    /// A phrase's standard log-mel, with its context bar.
    pub fn phrase_mel(&self, rtxn: &RoTxn<WithoutTls>, id: PhraseId) -> Result<Option<PhraseMel>> {
        match self.tables.mel.get(rtxn, &id).map_err(|e| self.read_error(e))? {
            Some(bytes) => PhraseMel::decode(bytes).map(Some),
            None => Ok(None),
        }
    }

    /// The arroy index's database handle (for queries through [`super::index`]).
    pub fn index_db(&self) -> IndexDb {
        self.tables.index
    }

    /// Writes a track and all its phrases in one transaction, replacing whatever was stored
    /// for the same path. Returns the new track id.
    pub fn put_track(&mut self, bundle: &TrackBundle) -> Result<TrackId> {
        self.make_room(bundle.approx_bytes())?;
        self.write(|db, wtxn| {
            if let Some(old) = db.tables.paths.get(wtxn, &bundle.record.path)? {
                db.delete_track(wtxn, old)?;
            }
            let mut meta = db.meta_in(wtxn)?;
            let track = meta.next_track;
            let first = meta.next_phrase;
            let mut record = bundle.record.clone();
            record.phrases = (first..first + bundle.phrases.len() as PhraseId).collect();
            for (id, phrase) in record.phrases.iter().zip(&bundle.phrases) {
                let mut p = phrase.record.clone();
                p.track = track;
                db.tables.phrases.put(wtxn, id, &p)?;
                db.tables.features.put(wtxn, id, &phrase.features)?;
                db.tables.audio.put(wtxn, id, &phrase.audio.encode())?;
                db.tables.mel.put(wtxn, id, &phrase.mel.encode())?;
            }
            db.tables.tracks.put(wtxn, &track, &record)?;
            db.tables.grids.put(wtxn, &track, &bundle.grid)?;
            db.tables.paths.put(wtxn, &record.path, &track)?;
            meta.next_track += 1;
            meta.next_phrase += bundle.phrases.len() as PhraseId;
            meta.generation += 1;
            db.put_meta(wtxn, &meta)?;
            Ok(track)
        })
    }

    /// Points a stored track at a new path (the file moved; its content is unchanged).
    pub fn move_track(&mut self, id: TrackId, new_path: &str) -> Result<()> {
        self.write(|db, wtxn| {
            let Some(mut record) = db.tables.tracks.get(wtxn, &id)? else { return Ok(()) };
            db.tables.paths.delete(wtxn, &record.path)?;
            if let Some(other) = db.tables.paths.get(wtxn, new_path)? {
                db.delete_track(wtxn, other)?;
            }
            record.path = new_path.to_owned();
            db.tables.tracks.put(wtxn, &id, &record)?;
            db.tables.paths.put(wtxn, new_path, &id)?;
            Ok(())
        })
    }

    /// Removes a track and its phrases in one transaction.
    pub fn remove_track(&mut self, id: TrackId) -> Result<()> {
        self.write(|db, wtxn| Ok(db.delete_track(wtxn, id)?))
    }

    /// Whether the statistics and index match the stored phrases.
    pub fn index_is_fresh(&self) -> Result<bool> {
        let meta = self.meta()?;
        Ok(meta.index_generation == meta.generation)
    }

    /// Recomputes the database-wide e_phrase statistics and rebuilds the index from every
    /// stored phrase, in one transaction, if the phrases changed since the last build.
    /// Returns whether it rebuilt.
    pub fn refresh_index(&mut self, params: &IndexParams) -> Result<bool> {
        if self.index_is_fresh()? {
            return Ok(false);
        }
        let (ids, raws) = {
            let rtxn = self.read_txn()?;
            let iter = self.tables.features.iter(&rtxn).map_err(|e| self.read_error(e))?;
            let mut ids = Vec::new();
            let mut raws = Vec::new();
            for item in iter {
                let (id, f) = item.map_err(|e| self.read_error(e))?;
                ids.push(id);
                raws.push(f.e_phrase_raw);
            }
            (ids, raws)
        };
        let stats = EmbeddingStats::from_raw(raws.iter().map(Vec::as_slice));
        let items: Vec<(PhraseId, Vec<f32>)> =
            ids.into_iter().zip(raws.iter().map(|r| stats.standardise(r))).collect();
        // The index holds a copy of every vector plus its trees: room for a few times that.
        self.make_room(items.len() * E_PHRASE_DIMS * 4 * 4)?;
        let dir = self.dir.clone();
        self.write(|db, wtxn| {
            let mut meta = db.meta_in(wtxn)?;
            rebuild(
                wtxn,
                db.tables.index,
                E_PHRASE_DIMS,
                items.iter().cloned(),
                params,
                INDEX_SEED,
            )?;
            meta.index_generation = meta.generation;
            meta.stats = Some(stats.clone());
            Ok(db.put_meta(wtxn, &meta)?)
        })
        .map_err(|e| match e {
            Error::Database { reason, .. } => Error::Database {
                reason: format!("rebuilding the index of {}: {reason}", dir.display()),
                fix: "run `memsynth analyze` again to finish it",
            },
            other => other,
        })?;
        Ok(true)
    }

    /// Every phrase's standardised e_phrase with the database's statistics, ids ascending:
    /// ids and a row-major `[n, E_PHRASE_DIMS]` matrix.
    pub fn standardised_vectors(&self) -> Result<(Vec<PhraseId>, Vec<f32>)> {
        let stats = self.meta()?.stats.ok_or_else(|| Error::Database {
            reason: format!("{} has no e_phrase statistics yet", self.dir.display()),
            fix: "run `memsynth analyze` on the library to finish it",
        })?;
        let rtxn = self.read_txn()?;
        let mut ids = Vec::new();
        let mut vectors = Vec::new();
        for item in self.tables.features.iter(&rtxn).map_err(|e| self.read_error(e))? {
            let (id, f) = item.map_err(|e| self.read_error(e))?;
            ids.push(id);
            vectors.extend(stats.standardise(&f.e_phrase_raw));
        }
        Ok((ids, vectors))
    }

    /// Bytes in use and the map's current size.
    pub fn size(&self) -> Result<(u64, usize)> {
        let used = self.env.real_disk_size().map_err(|e| self.read_error(e))?;
        Ok((used, self.env.info().map_size))
    }

    fn delete_track(&self, wtxn: &mut RwTxn, id: TrackId) -> heed::Result<()> {
        let Some(record) = self.tables.tracks.get(wtxn, &id)? else { return Ok(()) };
        for p in &record.phrases {
            self.tables.phrases.delete(wtxn, p)?;
            self.tables.features.delete(wtxn, p)?;
            self.tables.audio.delete(wtxn, p)?;
            self.tables.mel.delete(wtxn, p)?;
        }
        self.tables.grids.delete(wtxn, &id)?;
        self.tables.tracks.delete(wtxn, &id)?;
        if self.tables.paths.get(wtxn, &record.path)? == Some(id) {
            self.tables.paths.delete(wtxn, &record.path)?;
        }
        let mut meta = self.meta_in(wtxn)?;
        meta.generation += 1;
        self.put_meta(wtxn, &meta)
    }

    /// Runs `f` in a write transaction and commits it; when the map is full, aborts, doubles
    /// the map and runs `f` again.
    fn write<T>(&mut self, f: impl Fn(&Self, &mut RwTxn) -> Result<T, TxnError>) -> Result<T> {
        loop {
            let mut wtxn =
                self.env.write_txn().map_err(|e| db_error(&self.dir, "cannot start a write", e))?;
            let done = f(self, &mut wtxn)
                .and_then(|value| wtxn.commit().map(|()| value).map_err(TxnError::from));
            match done {
                Ok(value) => return Ok(value),
                Err(TxnError::Heed(heed::Error::Mdb(MdbError::MapFull))) => {
                    let size = self.env.info().map_size;
                    self.resize(size.saturating_mul(2))?;
                }
                Err(TxnError::Heed(e)) => return Err(db_error(&self.dir, "a write failed", e)),
                Err(TxnError::Core(e)) => return Err(e),
            }
        }
    }

    /// Grows the map so that `bytes` more fit with room to spare.
    fn make_room(&mut self, bytes: usize) -> Result<()> {
        let info = self.env.info();
        let page = self.env.unnamed_database_stat().page_size as usize;
        let used = (info.last_page_number + 1) * page;
        // LMDB's copy-on-write needs free pages beside the live ones: keep twice the write free.
        let needed = used + 2 * bytes;
        if needed > info.map_size {
            self.resize(grown_map(info.map_size, needed))?;
        }
        Ok(())
    }

    fn resize(&mut self, bytes: usize) -> Result<()> {
        let bytes = bytes.next_multiple_of(MAP_GRAIN);
        // SAFETY: `&mut self` and no transaction outlives the methods that start one, so no
        // transaction of this environment is active in this process.
        unsafe { self.env.resize(bytes) }.map_err(|e| db_error(&self.dir, "cannot grow its map", e))
    }

    fn check_schema(&self) -> Result<()> {
        match self.read_meta()? {
            Some(meta) if meta.schema_version != SCHEMA_VERSION => Err(Error::Database {
                reason: format!(
                    "{} was made by another memsynth (schema {}, this one reads {SCHEMA_VERSION})",
                    self.dir.display(),
                    meta.schema_version
                ),
                fix: "delete the folder and run `memsynth analyze` again",
            }),
            _ => Ok(()),
        }
    }

    fn read_meta(&self) -> Result<Option<Meta>> {
        let rtxn = self.read_txn()?;
        self.tables.meta.get(&rtxn, META_KEY).map_err(|e| self.read_error(e))
    }

    fn meta_in(&self, wtxn: &RwTxn) -> heed::Result<Meta> {
        Ok(self.tables.meta.get(wtxn, META_KEY)?.unwrap_or_default())
    }

    fn put_meta(&self, wtxn: &mut RwTxn, meta: &Meta) -> heed::Result<()> {
        self.tables.meta.put(wtxn, META_KEY, meta)
    }

    fn read_error(&self, e: heed::Error) -> Error {
        db_error(&self.dir, "a read failed", e)
    }
}

impl Tables {
    #[allow(clippy::type_complexity)]
    fn from_tuple(
        (meta, paths, tracks, grids, phrases, features, audio, mel, index): (
            heed::Database<'static, Str, SerdeBincode<Meta>>,
            heed::Database<'static, Str, Id>,
            Table<SerdeBincode<TrackRecord>>,
            Table<SerdeBincode<BeatGrid>>,
            Table<SerdeBincode<PhraseRecord>>,
            Table<SerdeBincode<PhraseFeatures>>,
            Table<Bytes>,
            Table<Bytes>,
            IndexDb,
        ),
    ) -> Self {
        Self { meta, paths, tracks, grids, phrases, features, audio, mel, index }
    }
}

/// Creates every table and the bookkeeping record in one transaction, so a database either
/// has all of them or is empty.
fn create_tables(env: &Env<WithoutTls>, dir: &Path) -> Result<Tables> {
    let wtxn = env.write_txn().map_err(|e| db_error(dir, "cannot start a write", e))?;
    let tables = env
        .create_databases_and_commit(wtxn, |dbo, wtxn| -> heed::Result<_> {
            let meta: heed::Database<'_, Str, SerdeBincode<Meta>> =
                dbo.create_database(wtxn, Some("meta"))?;
            if meta.get(wtxn, META_KEY)?.is_none() {
                meta.put(wtxn, META_KEY, &Meta::default())?;
            }
            Ok(CommitOrAbort::<_, ()>::Commit((
                meta,
                dbo.create_database(wtxn, Some("paths"))?,
                dbo.create_database(wtxn, Some("tracks"))?,
                dbo.create_database(wtxn, Some("grids"))?,
                dbo.create_database(wtxn, Some("phrases"))?,
                dbo.create_database(wtxn, Some("features"))?,
                dbo.create_database(wtxn, Some("audio"))?,
                dbo.create_database(wtxn, Some("mel"))?,
                dbo.create_database(wtxn, Some(INDEX_DB_NAME))?,
            )))
        })
        .map_err(|e| db_error(dir, "cannot create its tables", e))?
        .unwrap_commit();
    Ok(Tables::from_tuple(tables))
}

fn open_env(dir: &Path, first_map: usize) -> Result<Env<WithoutTls>> {
    let on_disk = std::fs::metadata(dir.join("data.mdb")).map_or(0, |m| m.len() as usize);
    let map = grown_map(first_map, 2 * on_disk).next_multiple_of(MAP_GRAIN);
    // SAFETY: LMDB's rule is that one process opens an environment once and nobody truncates
    // its files while open; heed refuses a second open in this process.
    unsafe { EnvOpenOptions::new().read_txn_without_tls().map_size(map).max_dbs(16).open(dir) }
        .map_err(|e| db_error(dir, "cannot open", e))
}

/// The map size after growing from `current` to hold at least `needed`: doubling, so a large
/// library grows in a few steps.
fn grown_map(current: usize, needed: usize) -> usize {
    let mut size = current.max(MAP_GRAIN);
    while size < needed {
        size = size.saturating_mul(2);
    }
    size
}

/// Map sizes are multiples of this (a multiple of every page size Linux and macOS use).
const MAP_GRAIN: usize = 1 << 16;

/// What a write transaction's body can fail with: LMDB (a full map is retried after growing
/// it) or the core (the index builder).
enum TxnError {
    Heed(heed::Error),
    Core(Error),
}

impl From<heed::Error> for TxnError {
    fn from(e: heed::Error) -> Self {
        Self::Heed(e)
    }
}

impl From<Error> for TxnError {
    fn from(e: Error) -> Self {
        Self::Core(e)
    }
}

fn db_error(dir: &Path, what: &str, e: heed::Error) -> Error {
    let fix = match &e {
        heed::Error::Mdb(MdbError::Invalid | MdbError::Corrupted | MdbError::VersionMismatch) => {
            "the folder is damaged or not an LMDB database: delete it and run `memsynth analyze` again"
        }
        heed::Error::Io(_) => "check the folder's permissions and free disk space",
        heed::Error::Decoding(_) => FIX_REBUILD,
        _ => "check free disk space, then run the command again",
    };
    Error::Database { reason: format!("{} ({}): {what}: {e}", dir.display(), "LMDB"), fix }
}
