//! `memsynth db {stats,check,query,export-dataset,export-vectors}`: look into a phrase database.

use std::path::PathBuf;

use anyhow::Context;
use memsynth::analysis::phrases::PhraseOptions;
use memsynth::db::embedding::GroupWeights;
use memsynth::db::index::IndexParams;
use memsynth::db::ingest::file_e_phrase;
use memsynth::db::{Database, Query};
use memsynth::dsp::FeatureExtractor;
use serde::Serialize;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Tracks, phrases, hours, keys and tempi in the database.
    Stats {
        #[arg(long, default_value = super::DEFAULT_DB)]
        db: PathBuf,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Checks every table, blob and the index; exits 1 if anything is inconsistent.
    Check {
        #[arg(long, default_value = super::DEFAULT_DB)]
        db: PathBuf,
    },
    /// The phrases nearest a stored phrase or an audio file.
    Query {
        #[arg(long, default_value = super::DEFAULT_DB)]
        db: PathBuf,
        /// A stored phrase's id (see `db stats --json` or an earlier query).
        #[arg(long, conflicts_with = "audio", required_unless_present = "audio")]
        phrase: Option<u32>,
        /// An audio file: its phrases' e_phrase is the query.
        #[arg(long)]
        audio: Option<PathBuf>,
        /// How many phrases.
        #[arg(short, default_value_t = 5)]
        k: usize,
        /// Weights of the rhythm, harmony and timbre groups, e.g. `1,1,0` to ignore timbre.
        #[arg(long, default_value = "1,1,1")]
        weights: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Writes safetensors shards for training (see `memsynth::db::export`).
    ExportDataset {
        #[arg(long, default_value = super::DEFAULT_DB)]
        db: PathBuf,
        /// Output folder.
        #[arg(long)]
        out: PathBuf,
    },
    /// Writes every phrase's standardised e_phrase to one safetensors file (tensor
    /// `vectors`, f32 [n, 256]; `ids`, u32 [n]) for the index benchmark.
    ExportVectors {
        #[arg(long, default_value = super::DEFAULT_DB)]
        db: PathBuf,
        /// Output file.
        #[arg(long)]
        out: PathBuf,
    },
}

pub fn run(args: Args) -> anyhow::Result<()> {
    match args.command {
        Command::Stats { db, json } => {
            let stats = Stats::read(&Database::open(&db)?)?;
            if json {
                println!("{}", serde_json::to_string(&stats)?);
            } else {
                stats.print();
            }
            Ok(())
        }
        Command::Check { db } => {
            let report = Database::open(&db)?.check()?;
            println!("{} tracks, {} phrases", report.tracks, report.phrases);
            for note in &report.notes {
                println!("note: {note}");
            }
            for problem in &report.problems {
                println!("problem: {problem}");
            }
            anyhow::ensure!(
                report.is_ok(),
                "{} inconsistencies in {}; delete the folder and run `memsynth analyze` again",
                report.problems.len(),
                db.display()
            );
            println!("consistent");
            Ok(())
        }
        Command::Query { db, phrase, audio, k, weights, json } => {
            let weights = parse_weights(&weights)?;
            let database = Database::open(&db)?;
            let query = match (phrase, audio) {
                (Some(id), _) => Query::Phrase(id),
                (None, Some(file)) => Query::Raw(file_e_phrase(
                    &file,
                    &mut FeatureExtractor::new(),
                    &PhraseOptions::default(),
                )?),
                (None, None) => anyhow::bail!("give --phrase ID or --audio FILE"),
            };
            let hits = database.query(&query, k, weights, &IndexParams::default())?;
            let rtxn = database.read_txn()?;
            let mut rows = Vec::new();
            for hit in hits {
                let path = database.track(&rtxn, hit.track)?.map(|t| t.path).unwrap_or_default();
                rows.push(QueryRow { hit, path });
            }
            if json {
                println!("{}", serde_json::to_string(&rows)?);
            } else {
                for r in &rows {
                    println!(
                        "phrase {:>6}  distance {:.4}  {:>3} bars  {:>6.1} BPM  {:<9}  {} @ {:.1}–{:.1} s",
                        r.hit.phrase,
                        r.hit.distance,
                        r.hit.bars,
                        r.hit.tempo,
                        r.hit.key,
                        r.path,
                        r.hit.start,
                        r.hit.end
                    );
                }
            }
            Ok(())
        }
        Command::ExportDataset { db, out } => {
            let database = Database::open(&db)?;
            let manifest = memsynth::db::export::export_dataset(&database, &out)
                .with_context(|| format!("exporting {} to {}", db.display(), out.display()))?;
            println!("{manifest}");
            Ok(())
        }
        Command::ExportVectors { db, out } => {
            let database = Database::open(&db)?;
            let (ids, vectors) = database.standardised_vectors()?;
            write_vectors(&out, &ids, &vectors)?;
            println!("{} vectors written to {}", ids.len(), out.display());
            Ok(())
        }
    }
}

#[derive(Serialize)]
struct QueryRow {
    #[serde(flatten)]
    hit: memsynth::db::Hit,
    path: String,
}

fn parse_weights(text: &str) -> anyhow::Result<GroupWeights> {
    let parts: Vec<f32> = text
        .split(',')
        .map(|p| p.trim().parse::<f32>())
        .collect::<Result<_, _>>()
        .with_context(|| format!("--weights {text:?}: three numbers, e.g. 1,1,0"))?;
    anyhow::ensure!(parts.len() == 3, "--weights {text:?}: three numbers, e.g. 1,1,0");
    Ok(GroupWeights::new(parts[0], parts[1], parts[2])?)
}

fn write_vectors(out: &std::path::Path, ids: &[u32], vectors: &[f32]) -> anyhow::Result<()> {
    use safetensors::tensor::{Dtype, TensorView};
    let n = ids.len();
    let id_bytes: Vec<u8> = ids.iter().flat_map(|i| i.to_le_bytes()).collect();
    let vec_bytes: Vec<u8> = vectors.iter().flat_map(|v| v.to_le_bytes()).collect();
    let dims = vectors.len().checked_div(n).unwrap_or(0);
    let tensors = [
        ("ids", TensorView::new(Dtype::U32, vec![n], &id_bytes)?),
        ("vectors", TensorView::new(Dtype::F32, vec![n, dims], &vec_bytes)?),
    ];
    safetensors::serialize_to_file(tensors, None, out)
        .with_context(|| format!("writing {}", out.display()))?;
    Ok(())
}

/// What `db stats` prints.
#[derive(Debug, Serialize)]
pub struct Stats {
    pub tracks: usize,
    pub phrases: usize,
    pub hours: f64,
    pub bars: u64,
    pub median_tempo: f64,
    pub keys: std::collections::BTreeMap<String, usize>,
    pub phrase_bars: std::collections::BTreeMap<u16, usize>,
    pub index_fresh: bool,
    pub bytes_on_disk: u64,
    pub first_phrase: Option<u32>,
}

impl Stats {
    pub fn read(db: &Database) -> anyhow::Result<Self> {
        let rtxn = db.read_txn()?;
        let tracks = db.tracks(&rtxn)?;
        let phrases = db.phrases(&rtxn)?;
        let mut tempi: Vec<f64> = tracks.iter().map(|(_, t)| t.tempo).collect();
        tempi.sort_by(f64::total_cmp);
        let mut keys = std::collections::BTreeMap::new();
        for (_, t) in &tracks {
            *keys.entry(t.key.clone()).or_default() += 1;
        }
        let mut phrase_bars = std::collections::BTreeMap::new();
        for (_, p) in &phrases {
            *phrase_bars.entry(p.bars).or_default() += 1;
        }
        Ok(Self {
            tracks: tracks.len(),
            phrases: phrases.len(),
            hours: tracks.iter().map(|(_, t)| t.duration).sum::<f64>() / 3600.0,
            bars: phrases.iter().map(|(_, p)| u64::from(p.bars)).sum(),
            median_tempo: tempi.get(tempi.len() / 2).copied().unwrap_or(0.0),
            keys,
            phrase_bars,
            index_fresh: db.index_is_fresh()?,
            bytes_on_disk: db.size()?.0,
            first_phrase: phrases.first().map(|(id, _)| *id),
        })
    }

    fn print(&self) {
        println!(
            "{} tracks, {:.2} h, {} phrases ({} bars), median tempo {:.1} BPM, {:.1} MiB on disk",
            self.tracks,
            self.hours,
            self.phrases,
            self.bars,
            self.median_tempo,
            self.bytes_on_disk as f64 / (1 << 20) as f64
        );
        let lengths: Vec<String> =
            self.phrase_bars.iter().map(|(bars, n)| format!("{n}×{bars}")).collect();
        println!("phrase lengths (count×bars): {}", lengths.join(", "));
        let keys: Vec<String> = self.keys.iter().map(|(k, n)| format!("{k} {n}")).collect();
        println!("keys: {}", keys.join(", "));
        if !self.index_fresh {
            println!(
                "the index is out of date: run `memsynth analyze` on the library to finish it"
            );
        }
    }
}
