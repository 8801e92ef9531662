//! Recall and latency of the e_phrase index (arroy) against brute force.
//!
//! ```text
//! RAYON_NUM_THREADS=1 cargo bench --bench ann -- --out target/ann
//! cargo bench --bench ann -- --out target/ann --sets clustered --n 10000
//! cargo bench --bench ann -- --out target/ann --vectors export.safetensors
//! ```
//!
//! For every set (synthetic `clustered` and `uniform`, or the vectors of a real database given
//! with `--vectors FILE`: tensor `vectors`, f32 [n, 256], and optionally `queries`, f32
//! [q, 256]; without it `--queries` rows are held out as queries) it builds the index in a
//! temporary LMDB environment for each tree count and reports the build time, recall@5
//! against brute force, and p50/p99 latency of [`index::search`] on one thread, for a few
//! settings and the default. It writes `<out>/<set>.safetensors` (vectors, queries, exact
//! neighbours) and `<out>/arroy.json` for `benches/compare_ann.py`, which runs faiss HNSW on
//! the same vectors. arroy builds its trees on rayon's global pool: `RAYON_NUM_THREADS=1`
//! makes the build single-threaded like faiss's in the script.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use memsynth::db::index::{self, IndexDb, IndexParams, synthetic};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use safetensors::{Dtype, SafeTensors, tensor::TensorView};
use serde_json::json;

const K: usize = 5;
const DIMS: usize = synthetic::DIMS;

struct Options {
    out: PathBuf,
    vectors: Option<PathBuf>,
    sets: Vec<String>,
    n: usize,
    queries: usize,
    trees: Vec<usize>,
    leaf_sizes: Vec<usize>,
    per_result: Vec<usize>,
    seed: u64,
    repeat: usize,
}

fn parse_args() -> Result<Options, String> {
    let mut o = Options {
        out: PathBuf::from("target/ann"),
        vectors: None,
        sets: vec!["clustered".into(), "uniform".into()],
        n: 100_000,
        queries: 1000,
        trees: vec![],
        leaf_sizes: vec![],
        per_result: vec![100, 400],
        seed: 7,
        repeat: 1,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--out" => o.out = value()?.into(),
            "--vectors" => o.vectors = Some(value()?.into()),
            "--sets" => o.sets = value()?.split(',').map(str::to_owned).collect(),
            "--n" => o.n = parse(&value()?)?,
            "--queries" => o.queries = parse(&value()?)?,
            "--trees" => o.trees = parse_list(&value()?)?,
            "--leaf-size" => o.leaf_sizes = parse_list(&value()?)?,
            "--repeat" => o.repeat = parse::<usize>(&value()?)?.max(1),
            "--search-k-per-result" => o.per_result = parse_list(&value()?)?,
            "--seed" => o.seed = parse(&value()?)?,
            // cargo bench passes --bench to harness = false targets.
            "--bench" => {}
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(o)
}

fn parse<T: std::str::FromStr>(s: &str) -> Result<T, String> {
    s.parse().map_err(|_| format!("cannot parse {s:?}"))
}

fn parse_list<T: std::str::FromStr>(s: &str) -> Result<Vec<T>, String> {
    s.split(',').filter(|x| !x.is_empty()).map(parse).collect()
}

/// One set of vectors to index and the queries to run against it.
struct Set {
    name: String,
    items: Vec<(u32, Vec<f32>)>,
    queries: Vec<Vec<f32>>,
}

fn main() {
    let o = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("ann: {e}");
            std::process::exit(2);
        }
    };
    std::fs::create_dir_all(&o.out).expect("create the output folder");
    let sets: Vec<Set> = match &o.vectors {
        Some(path) => vec![load_set(path, o.queries, o.seed)],
        None => o.sets.iter().map(|name| synthetic_set(name, &o)).collect(),
    };
    let rayon_threads = std::env::var("RAYON_NUM_THREADS").ok();
    let mut report = vec![];
    for set in &sets {
        report.push(run_set(set, &o));
    }
    let json = json!({
        "k": K,
        "rayon_num_threads": rayon_threads,
        "repeat": o.repeat,
        "sets": report,
    });
    let path = o.out.join("arroy.json");
    std::fs::write(&path, serde_json::to_string_pretty(&json).unwrap()).expect("write the JSON");
    println!("wrote {}", path.display());
}

fn synthetic_set(name: &str, o: &Options) -> Set {
    let total = o.n + o.queries;
    let vectors = match name {
        // About 100 phrases per cluster at 100k items, as in a library of ~1000 tracks.
        "clustered" => synthetic::clustered(total, (o.n / 100).max(1), o.seed),
        "uniform" => synthetic::uniform(total, o.seed),
        other => {
            eprintln!("ann: unknown set {other} (clustered, uniform)");
            std::process::exit(2);
        }
    };
    split_queries(format!("{name}-{}k", o.n / 1000), vectors, o.queries, None)
}

/// Items are the first `len − n_queries` vectors (ids 0..), queries the rest; a `seed`
/// shuffles them first (for real vectors, which come grouped by track).
fn split_queries(
    name: String,
    mut vectors: Vec<Vec<f32>>,
    n_queries: usize,
    seed: Option<u64>,
) -> Set {
    if let Some(seed) = seed {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        for i in (1..vectors.len()).rev() {
            vectors.swap(i, rng.random_range(0..=i));
        }
    }
    let n_queries = n_queries.min(vectors.len() / 2);
    let queries = vectors.split_off(vectors.len() - n_queries);
    let items = vectors.into_iter().enumerate().map(|(i, v)| (i as u32, v)).collect();
    Set { name, items, queries }
}

fn load_set(path: &Path, n_queries: usize, seed: u64) -> Set {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let st = SafeTensors::deserialize(&bytes).expect("a safetensors file");
    let rows = |name: &str| -> Option<Vec<Vec<f32>>> {
        let t = st.tensor(name).ok()?;
        assert_eq!(t.dtype(), Dtype::F32, "{name} must be f32");
        assert!(t.shape().len() == 2 && t.shape()[1] == DIMS, "{name} must be [n, {DIMS}]");
        let values: Vec<f32> = t
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        Some(values.chunks_exact(DIMS).map(<[f32]>::to_vec).collect())
    };
    let vectors = rows("vectors").expect("tensor \"vectors\"");
    let stem = path.file_stem().map_or("vectors".into(), |s| s.to_string_lossy().into_owned());
    match rows("queries") {
        Some(queries) => Set {
            name: stem,
            items: vectors.into_iter().enumerate().map(|(i, v)| (i as u32, v)).collect(),
            queries,
        },
        None => split_queries(stem, vectors, n_queries, Some(seed)),
    }
}

fn run_set(set: &Set, o: &Options) -> serde_json::Value {
    let n = set.items.len();
    println!("\n{}: {n} items, {} queries, {DIMS}-D, k = {K}", set.name, set.queries.len());

    let mut exact = Vec::with_capacity(set.queries.len());
    let mut brute_ms = Vec::with_capacity(set.queries.len());
    for q in &set.queries {
        let start = Instant::now();
        let found = index::brute_force(&set.items, q, K, None);
        brute_ms.push(start.elapsed().as_secs_f64() * 1e3);
        exact.push(found.into_iter().map(|(id, _)| id).collect::<Vec<u32>>());
    }
    let brute = percentiles(&mut brute_ms);
    let file = o.out.join(format!("{}.safetensors", set.name));
    write_set(&file, set, &exact);

    let default = IndexParams::default();
    let mut builds: Vec<IndexParams> = vec![default];
    for &t in &o.trees {
        builds.push(IndexParams { n_trees: Some(t), ..default });
    }
    let base = builds.clone();
    for &l in o.leaf_sizes.iter().filter(|&&l| l != default.leaf_size) {
        builds.extend(base.iter().map(|b| IndexParams { leaf_size: l, ..*b }));
    }
    let mut searches: Vec<IndexParams> = vec![default];
    for &p in &o.per_result {
        searches.push(IndexParams { search_k_per_result: p, ..default });
    }

    println!(
        "{:<6} {:>5} {:>7} {:>8} {:>9} {:>7} {:>7} {:>7}",
        "trees", "leaf", "build s", "per-res", "search_k", "recall", "p50 ms", "p99 ms"
    );
    println!(
        "{:<6} {:>5} {:>7} {:>8} {:>9} {:>7.3} {:>7.3} {:>7.3}",
        "brute", "-", "-", "-", n, 1.0, brute.0, brute.1
    );
    let mut runs = vec![];
    for build in &builds {
        let env = TempEnv::new(&set.name);
        let db = env.db;
        let start = Instant::now();
        let mut wtxn = env.env.write_txn().unwrap();
        index::rebuild(&mut wtxn, db, DIMS, set.items.iter().cloned(), build, o.seed)
            .expect("build the index");
        wtxn.commit().unwrap();
        let build_s = start.elapsed().as_secs_f64();
        let n_trees = build.trees_for(n);
        let leaf = build.leaf_size;
        for search in &searches {
            let params =
                IndexParams { n_trees: build.n_trees, leaf_size: build.leaf_size, ..*search };
            let is_default = params == default;
            let run = |q: &[f32]| {
                let start = Instant::now();
                let rtxn = env.env.read_txn().unwrap();
                let found = index::search(&rtxn, db, q, K, None, &params).unwrap();
                drop(rtxn);
                (start.elapsed().as_secs_f64() * 1e3, found)
            };
            // Warm the page cache and the allocator before timing.
            for q in set.queries.iter().take(100) {
                run(q);
            }
            let mut ms = vec![f64::INFINITY; set.queries.len()];
            let mut hits = 0;
            for pass in 0..o.repeat {
                for ((q, truth), ms) in set.queries.iter().zip(&exact).zip(&mut ms) {
                    let (took, found) = run(q);
                    *ms = ms.min(took);
                    if pass == 0 {
                        hits += found.iter().filter(|(id, _)| truth.contains(id)).count();
                    }
                }
            }
            let recall = hits as f64 / (K * set.queries.len()) as f64;
            let (p50, p99) = percentiles(&mut ms);
            let search_k = params.search_k_for(K);
            println!(
                "{:<6} {:>5} {:>7.1} {:>8} {:>9} {:>7.3} {:>7.3} {:>7.3}{}",
                n_trees,
                leaf,
                build_s,
                params.search_k_per_result,
                search_k,
                recall,
                p50,
                p99,
                if is_default { "  default" } else { "" }
            );
            runs.push(json!({
                "n_trees": n_trees,
                "leaf_size": leaf,
                "search_k_per_result": params.search_k_per_result,
                "search_k": search_k,
                "default": is_default,
                "build_s": build_s,
                "recall_at_5": recall,
                "p50_ms": p50,
                "p99_ms": p99,
            }));
        }
    }
    json!({
        "name": set.name,
        "n": n,
        "dims": DIMS,
        "queries": set.queries.len(),
        "file": file.file_name().unwrap().to_string_lossy(),
        "brute_force": { "p50_ms": brute.0, "p99_ms": brute.1 },
        "runs": runs,
    })
}

/// (p50, p99) of `ms`.
fn percentiles(ms: &mut [f64]) -> (f64, f64) {
    ms.sort_by(f64::total_cmp);
    let at = |p: f64| ms[((ms.len() - 1) as f64 * p).round() as usize];
    (at(0.50), at(0.99))
}

fn write_set(path: &Path, set: &Set, exact: &[Vec<u32>]) {
    let f32_bytes = |rows: &mut dyn Iterator<Item = &[f32]>| -> Vec<u8> {
        rows.flat_map(|r| r.iter().flat_map(|x| x.to_le_bytes())).collect()
    };
    let vectors = f32_bytes(&mut set.items.iter().map(|(_, v)| v.as_slice()));
    let queries = f32_bytes(&mut set.queries.iter().map(Vec::as_slice));
    let ids: Vec<u8> = set.items.iter().flat_map(|(id, _)| id.to_le_bytes()).collect();
    let truth: Vec<u8> = exact
        .iter()
        .flat_map(|row| (0..K).map(move |i| row.get(i).copied().unwrap_or(u32::MAX)))
        .flat_map(u32::to_le_bytes)
        .collect();
    let n = set.items.len();
    let q = set.queries.len();
    let tensors = vec![
        ("vectors", TensorView::new(Dtype::F32, vec![n, DIMS], &vectors).unwrap()),
        ("queries", TensorView::new(Dtype::F32, vec![q, DIMS], &queries).unwrap()),
        ("ids", TensorView::new(Dtype::U32, vec![n], &ids).unwrap()),
        ("exact", TensorView::new(Dtype::U32, vec![q, K], &truth).unwrap()),
    ];
    let info = HashMap::from([("k".to_string(), K.to_string())]);
    safetensors::serialize_to_file(tensors, Some(info), path).expect("write the vectors");
}

/// An LMDB environment in a fresh temporary folder, removed on drop.
struct TempEnv {
    env: heed::Env,
    db: IndexDb,
    dir: PathBuf,
}

impl TempEnv {
    fn new(name: &str) -> TempEnv {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dir = std::env::temp_dir()
            .join(format!("memsynth-ann-{name}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // SAFETY: the folder is new and private to this process; nothing else opens it.
        let env =
            unsafe { heed::EnvOpenOptions::new().map_size(8 << 30).max_dbs(4).open(&dir).unwrap() };
        let wtxn = env.write_txn().unwrap();
        let db: IndexDb = env
            .create_databases_and_commit(wtxn, |opener, wtxn| -> heed::Result<_> {
                let db = opener.create_database(wtxn, Some(index::INDEX_DB_NAME))?;
                Ok(heed::CommitOrAbort::<_, ()>::Commit(db))
            })
            .unwrap()
            .unwrap_commit();
        TempEnv { env, db, dir }
    }
}

impl Drop for TempEnv {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
