//! `memsynth eval-generated --db DIR [--models models] [--phrases N] [--steps 20]
//! [--guidance 2.5] [--seed S] [--json]`: how well generated phrases follow their condition,
//! measured with memsynth's own analysis, against two baselines.
//!
//! The phrases are the training code's held-back split (`data.held_back`: ids that are
//! multiples of 10; all phrases, with a note, when none is), N of them spread evenly over
//! it. For each, three 4-bar clips at the phrase's own tempo (24 kHz mono):
//!
//! - **generated**: `memsynth generate --phrase ID --tempo T --seed S+i` (the same
//!   [`phrase_condition`] and [`Models::generate`]), no motion;
//! - **random phrase**: another phrase of the database, drawn with the seed, its first
//!   4 bars stretched onto the same grid as retrieval plays a phrase
//!   ([`fit_to_bars`]: resampled, beat by beat); drawn among phrases in 4/4 of at least 4
//!   bars whose tempo is within the stretcher's range of T;
//! - **unconditional**: the same request with guidance 0, i.e. v = v_uncond exactly: the
//!   U-Net under the all-zeros cond (the training code's dropped condition, bar position
//!   included), same seed and so the same noise;
//! - **phrase itself**: the conditioning phrase's own first 4 bars through the same fit (at
//!   its own tempo): the ceiling of the measurements themselves (beat tracker and key
//!   estimate on an 8-s clip, e_phrase of a clip against that of the phrase in its track).
//!
//! Every clip is measured the same way, by [`analyze_with_features`]:
//!
//! - **beat F**: mir_eval's F-measure (70 ms window) of the tracked beats against the grid
//!   the generation was asked for, beats at i · 60/T for i = 0…15. The whole clip is scored:
//!   mir_eval's 5 s trim would leave a handful of beats of an 8 s clip.
//! - **key**: the MIREX weighted score of the clip's key against the conditioning phrase's
//!   (its track's key, as stored): 1 same, 0.5 fifth above, 0.3 relative, 0.2 parallel;
//!   **key exact** is the share of exact matches.
//! - **e_phrase cos**: cosine between the clip's e_phrase and the phrase's, both
//!   standardised with the database's statistics. The clip's raw e_phrase is computed as
//!   `db query --audio` computes a file's ([`analysed_e_phrase`]: the analysed phrases' or
//!   beats' span); a clip where no two beats are found takes the requested grid instead
//!   (counted as "no beats" in the output).

use std::path::PathBuf;

use anyhow::{Context, bail};
use memsynth::analysis::frame_of;
use memsynth::analysis::phrases::PhraseOptions;
use memsynth::analysis::track::analyze_with_features;
use memsynth::db::Database;
use memsynth::db::embedding::{EmbeddingStats, raw_e_phrase};
use memsynth::db::ingest::analysed_e_phrase;
use memsynth::db::schema::{PhraseId, PhraseRecord};
use memsynth::dsp::{FeatureExtractor, SAMPLE_RATE};
use memsynth::eval::beats::{F_MEASURE_WINDOW, f_measure};
use memsynth::eval::key::{KeyRelation, parse_key, relation};
use memsynth::live::stretch::{MAX_RATIO, MIN_RATIO, SourceAudio, fit_to_bars, phrase_beats};
use memsynth::live::transport::Tempo;
use memsynth::model::phrase_condition::{PhraseCondition, database_stats, phrase_condition};
use memsynth::model::{Models, Request, Threads};
use serde::Serialize;

use super::DEFAULT_DB;

/// Bars per clip: one chunk of the models.
const BARS: usize = 4;
/// Beats per bar of the requested grid (the models are trained on 4/4).
const BEATS_PER_BAR: usize = 4;
/// The training code's split: phrase ids that are multiples of this are held back.
const HELD_BACK_EVERY: PhraseId = 10;

#[derive(clap::Args)]
pub struct Args {
    /// The phrase database the models were trained on (the demo database for the shipped ones).
    #[arg(long, default_value = DEFAULT_DB)]
    db: PathBuf,
    /// The models folder (manifest.ron and the ONNX files).
    #[arg(long, default_value = "models")]
    models: PathBuf,
    /// Held-back phrases to evaluate, spread evenly over the split.
    #[arg(long, default_value_t = 16)]
    phrases: usize,
    /// DDIM steps.
    #[arg(long, default_value_t = 20)]
    steps: usize,
    /// Classifier-free guidance scale of the conditional system.
    #[arg(long, default_value_t = 2.5)]
    guidance: f32,
    /// Base seed: phrase i is generated with seed + i and draws its random phrase with it.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// ONNX Runtime intra-op threads.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Print JSON (per phrase and summary) instead of the table.
    #[arg(long)]
    json: bool,
}

/// The systems compared, in table order.
const SYSTEMS: [&str; 4] = ["generated", "random phrase", "unconditional", "phrase itself"];

/// One clip's measurements.
#[derive(Clone, Copy, Debug, Serialize)]
struct Scores {
    /// Beat F-measure against the requested grid, 0..1.
    beat_f: f64,
    /// MIREX weighted key score against the conditioning phrase, 0..1.
    key: f64,
    /// 1 when the key is the conditioning phrase's, else 0.
    key_exact: f64,
    /// Cosine of the standardised e_phrases, −1..1.
    e_phrase_cos: f64,
    /// Whether the beat tracker found fewer than two beats (e_phrase then on the grid).
    no_beats: bool,
}

#[derive(Serialize)]
struct PhraseRow {
    phrase: PhraseId,
    tempo: f64,
    key: String,
    seed: u64,
    random_phrase: PhraseId,
    /// In [`SYSTEMS`] order.
    scores: Vec<Scores>,
}

#[derive(Serialize)]
struct Stat {
    mean: f64,
    sd: f64,
}

#[derive(Serialize)]
struct Summary {
    system: &'static str,
    beat_f: Stat,
    key: Stat,
    key_exact: Stat,
    e_phrase_cos: Stat,
    no_beats: usize,
}

#[derive(Serialize)]
struct Report {
    db: String,
    models: String,
    held_back: bool,
    bars: usize,
    steps: usize,
    guidance: f32,
    seed: u64,
    summary: Vec<Summary>,
    phrases: Vec<PhraseRow>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    if args.phrases == 0 {
        bail!("--phrases must be at least 1");
    }
    let db = Database::open(&args.db)?;
    let stats = database_stats(&db)?;
    let records: Vec<(PhraseId, PhraseRecord)> = db.phrases(&db.read_txn()?)?;
    if records.len() < 2 {
        bail!(
            "{} holds {} phrase(s): the random-phrase baseline needs at least 2",
            args.db.display(),
            records.len()
        );
    }
    let held: Vec<PhraseId> =
        records.iter().map(|(id, _)| *id).filter(|id| id.is_multiple_of(HELD_BACK_EVERY)).collect();
    let held_back = !held.is_empty();
    let pool = if held_back {
        held
    } else {
        eprintln!(
            "no held-back phrase (no id is a multiple of {HELD_BACK_EVERY}): evaluating on all"
        );
        records.iter().map(|(id, _)| *id).collect()
    };
    let picked = spread(&pool, args.phrases);
    if picked.len() < args.phrases {
        eprintln!("only {} phrases in the split: evaluating those", picked.len());
    }

    let mut models = Models::load(&args.models, Threads { intra_op: args.threads.max(1) })?;
    let mut extractor = FeatureExtractor::new();
    let clock = || std::time::Duration::ZERO;
    let mut rows = Vec::with_capacity(picked.len());
    for (i, &id) in picked.iter().enumerate() {
        let cond = phrase_condition(&db, &stats, id)?;
        let reference_key = parse_key(&cond.key)
            .with_context(|| format!("phrase {id}: stored key {:?} is not a key name", cond.key))?;
        let seed = args.seed.wrapping_add(i as u64);
        let request = Request {
            e_phrase: cond.e_phrase.clone(),
            e_motion: Vec::new(),
            bars: BARS,
            steps: args.steps,
            guidance: args.guidance,
            tempo: Some(cond.tempo),
            seed,
        };
        let generated = models.generate(&request, &clock)?.audio;
        let unconditional = models.generate(&Request { guidance: 0.0, ..request }, &clock)?.audio;
        let (random_phrase, retrieved) = random_phrase_clip(&db, &records, &cond, seed)?;

        let mut measure = |clip: &[f32]| {
            measure(clip, cond.tempo, reference_key, &cond.e_phrase, &stats, &mut extractor)
        };
        let record = records.iter().find(|(r, _)| *r == id).map(|(_, r)| r);
        let itself = match record {
            Some(record) => fitted_clip(&db, id, record, cond.tempo)?,
            None => bail!("phrase {id} vanished from {}", args.db.display()),
        };
        let scores = vec![
            measure(&generated)?,
            measure(&retrieved)?,
            measure(&unconditional)?,
            measure(&itself)?,
        ];
        if !args.json {
            eprintln!(
                "phrase {id} ({:.1} BPM, {}): beat F {:.2} / {:.2} / {:.2}, e_phrase cos {:.2} / {:.2} / {:.2}",
                cond.tempo,
                cond.key,
                scores[0].beat_f,
                scores[1].beat_f,
                scores[2].beat_f,
                scores[0].e_phrase_cos,
                scores[1].e_phrase_cos,
                scores[2].e_phrase_cos,
            );
        }
        rows.push(PhraseRow {
            phrase: id,
            tempo: cond.tempo,
            key: cond.key,
            seed,
            random_phrase,
            scores,
        });
    }

    let summary: Vec<Summary> = SYSTEMS
        .iter()
        .enumerate()
        .map(|(s, &system)| {
            let of = |f: fn(&Scores) -> f64| stat(rows.iter().map(|r| f(&r.scores[s])));
            Summary {
                system,
                beat_f: of(|x| x.beat_f),
                key: of(|x| x.key),
                key_exact: of(|x| x.key_exact),
                e_phrase_cos: of(|x| x.e_phrase_cos),
                no_beats: rows.iter().filter(|r| r.scores[s].no_beats).count(),
            }
        })
        .collect();
    let report = Report {
        db: args.db.display().to_string(),
        models: args.models.display().to_string(),
        held_back,
        bars: BARS,
        steps: args.steps,
        guidance: args.guidance,
        seed: args.seed,
        summary,
        phrases: rows,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_table(&report);
    }
    Ok(())
}

/// `n` ids spread evenly over `ids` (all of them when there are no more than `n`).
fn spread(ids: &[PhraseId], n: usize) -> Vec<PhraseId> {
    if ids.len() <= n {
        return ids.to_vec();
    }
    if n == 1 {
        return vec![ids[0]];
    }
    (0..n).map(|k| ids[k * (ids.len() - 1) / (n - 1)]).collect()
}

/// The random-phrase baseline: another phrase drawn with `seed`, its first [`BARS`] bars
/// fitted to the conditioning phrase's tempo as retrieval plays them (24 kHz mono).
fn random_phrase_clip(
    db: &Database,
    records: &[(PhraseId, PhraseRecord)],
    cond: &PhraseCondition,
    seed: u64,
) -> anyhow::Result<(PhraseId, Vec<f32>)> {
    let mut candidates: Vec<&(PhraseId, PhraseRecord)> = records
        .iter()
        .filter(|(id, r)| {
            // The stretch ratio: output beat length over the source's.
            let ratio = r.tempo / cond.tempo;
            *id != cond.id
                && usize::from(r.beats_per_bar) == BEATS_PER_BAR
                && usize::from(r.bars) >= BARS
                && (MIN_RATIO..=MAX_RATIO).contains(&ratio)
        })
        .collect();
    // A seeded shuffle: order by a hash of (seed, id).
    candidates.sort_by_key(|(id, _)| splitmix64(seed ^ u64::from(*id).rotate_left(32)));
    let mut last_error = None;
    for (id, record) in candidates {
        // A beat of uneven length can still fall outside the stretcher's range: next one.
        match fitted_clip(db, *id, record, cond.tempo) {
            Ok(clip) => return Ok((*id, clip)),
            Err(e) => last_error = Some(e),
        }
    }
    match last_error {
        Some(e) => Err(e.context(format!("no phrase fits {:.1} BPM", cond.tempo))),
        None => bail!(
            "no other 4/4 phrase of ≥ {BARS} bars within ×{MIN_RATIO}..×{MAX_RATIO} of {:.1} BPM",
            cond.tempo
        ),
    }
}

/// Phrase `id`'s first [`BARS`] bars fitted to `bpm` as retrieval plays a phrase, 24 kHz
/// mono.
fn fitted_clip(
    db: &Database,
    id: PhraseId,
    record: &PhraseRecord,
    bpm: f64,
) -> anyhow::Result<Vec<f32>> {
    let beats = phrase_beats(record);
    let beats = beats
        .get(..=BARS * BEATS_PER_BAR)
        .with_context(|| format!("phrase {id} has fewer than {BARS} bars of beats"))?;
    let audio = db
        .phrase_audio(&db.read_txn()?, id)?
        .with_context(|| format!("phrase {id} has no audio in {}", db.dir().display()))?;
    let samples = audio.to_f32();
    let source =
        SourceAudio { sample_rate: audio.sample_rate, channels: audio.channels, samples: &samples };
    let tempo = Tempo::from_bpm(bpm)?;
    Ok(fit_to_bars(&source, beats, SAMPLE_RATE, 1, tempo, BEATS_PER_BAR as u32)?)
}

/// One clip's [`Scores`] against the conditioning phrase.
fn measure(
    clip: &[f32],
    tempo: f64,
    reference_key: usize,
    reference_e: &[f32],
    stats: &EmbeddingStats,
    extractor: &mut FeatureExtractor,
) -> anyhow::Result<Scores> {
    let (analysis, features) = analyze_with_features(clip, extractor, &PhraseOptions::default())?;
    let period = 60.0 / tempo;
    let grid: Vec<f64> = (0..=BARS * BEATS_PER_BAR).map(|i| i as f64 * period).collect();
    let beat_f = f_measure(&grid[..grid.len() - 1], &analysis.beats, F_MEASURE_WINDOW)?;
    let key = parse_key(&analysis.key).map(|k| relation(reference_key, k));
    let analysed = analysed_e_phrase(&analysis, &features);
    let no_beats = analysed.is_none();
    let raw = analysed.unwrap_or_else(|| {
        let frames: Vec<usize> = grid.iter().map(|t| frame_of(*t)).collect();
        raw_e_phrase(&features, &frames, BEATS_PER_BAR, tempo)
    });
    Ok(Scores {
        beat_f,
        key: key.map_or(0.0, KeyRelation::weight),
        key_exact: f64::from(u8::from(key == Some(KeyRelation::Same))),
        e_phrase_cos: cosine(&stats.standardise(&raw), reference_e),
        no_beats,
    })
}

fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| f64::from(*x) * f64::from(*y)).sum();
    let norm = |v: &[f32]| v.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    let denominator = norm(a) * norm(b);
    if denominator > 0.0 { dot / denominator } else { 0.0 }
}

/// Mean and sample standard deviation (0 for a single value).
fn stat(values: impl Iterator<Item = f64>) -> Stat {
    let v: Vec<f64> = values.collect();
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let sd = if v.len() > 1 {
        (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
    } else {
        0.0
    };
    Stat { mean, sd }
}

fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn print_table(report: &Report) {
    let ids: Vec<String> = report.phrases.iter().map(|r| r.phrase.to_string()).collect();
    println!(
        "{} {} phrases ({}) of {}, models {}: {} bars, {} DDIM steps, guidance {}, seed {}",
        report.phrases.len(),
        if report.held_back { "held-back" } else { "(no held-back split)" },
        ids.join(" "),
        report.db,
        report.models,
        report.bars,
        report.steps,
        report.guidance,
        report.seed
    );
    println!(
        "{:<14} {:>15} {:>15} {:>15} {:>15} {:>8}",
        "system", "beat F", "key (MIREX)", "key exact", "e_phrase cos", "no beats"
    );
    let cell = |s: &Stat| format!("{:.3} ± {:.3}", s.mean, s.sd);
    for s in &report.summary {
        println!(
            "{:<14} {:>15} {:>15} {:>15} {:>15} {:>8}",
            s.system,
            cell(&s.beat_f),
            cell(&s.key),
            cell(&s.key_exact),
            cell(&s.e_phrase_cos),
            s.no_beats
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_keeps_both_ends() {
        let ids: Vec<PhraseId> = (0..10).map(|i| i * 10).collect();
        assert_eq!(spread(&ids, 3), vec![0, 40, 90]);
        assert_eq!(spread(&ids, 20), ids);
        assert_eq!(spread(&ids, 1), vec![0]);
    }

    #[test]
    fn cosine_and_stat() {
        assert!((cosine(&[1.0, 0.0], &[1.0, 1.0]) - 0.5f64.sqrt()).abs() < 1e-12);
        assert_eq!(cosine(&[0.0, 0.0], &[1.0, 1.0]), 0.0);
        let s = stat([1.0, 3.0].into_iter());
        assert_eq!((s.mean, s.sd), (2.0, 2f64.sqrt()));
    }
}
