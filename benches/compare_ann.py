"""arroy (the e_phrase index) beside faiss HNSW and brute force, on the same vectors.

Run the Rust bench first; it writes the vectors, the queries, their exact neighbours and
arroy's figures into one folder, then this script measures faiss on the same files:

    RAYON_NUM_THREADS=1 cargo bench --bench ann -- --out target/ann
    .venv-ref/bin/python benches/compare_ann.py target/ann

(`.venv-ref/bin/pip install faiss-cpu` once; the venv already has numpy and safetensors.)
The bench takes `--vectors FILE` (tensor "vectors", f32 [n, 256]) to use a real database's
e_phrase export instead of the synthetic sets; this script reads whatever sets it wrote.

faiss runs on one thread (`faiss.omp_set_num_threads(1)`), one query per call, like
`index::search`: IndexHNSWFlat with inner product on the unit vectors (= cosine), M 32,
efConstruction 200, and efSearch raised until recall@5 reaches 0.95 (the smallest such ef
is marked). Brute force is IndexFlatIP; its neighbours are checked against the bench's.
Latencies are wall-clock per query; on a shared machine p99 picks up preemption, which the
bench's `--repeat 3` (and this script's `--repeat 3`) remove by keeping each query's fastest
pass. Build times: faiss single-threaded; arroy as the bench ran it (see rayon_num_threads).
"""

import argparse
import json
import time
from pathlib import Path

import faiss
import numpy as np
from safetensors.numpy import load_file

TARGET_RECALL = 0.95


def timed_queries(index, queries, k, repeat):
    """Per-query latency in ms (fastest of `repeat` passes) and the ids of the first pass."""
    ms = np.full(len(queries), np.inf)
    found = np.zeros((len(queries), k), dtype=np.int64)
    for q in queries[: min(100, len(queries))]:  # warm up
        index.search(q[None, :], k)
    for r in range(repeat):
        for i, q in enumerate(queries):
            start = time.perf_counter()
            _, ids = index.search(q[None, :], k)
            ms[i] = min(ms[i], (time.perf_counter() - start) * 1e3)
            if r == 0:
                found[i] = ids[0]
    return ms, found


def recall(found, exact):
    k = exact.shape[1]
    hits = sum(len(set(f) & set(e)) for f, e in zip(found.tolist(), exact.tolist()))
    return hits / (k * len(exact))


def percentiles(ms):
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99))


def row(method, params, build_s, rec, p50, p99, note=""):
    build = "-" if build_s is None else f"{build_s:.1f}"
    return f"{method:<8} {params:<28} {build:>7} {rec:>7.3f} {p50:>7.3f} {p99:>7.3f}  {note}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder", nargs="?", default="target/ann", help="the bench's --out folder")
    ap.add_argument("--ef", default="16,24,32,48,64,96,128,192,256,384,512", help="efSearch values to try")
    ap.add_argument("--m", type=int, default=32)
    ap.add_argument("--ef-construction", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=1, help="passes per query; latency = fastest")
    ap.add_argument("--all-arroy", action="store_true", help="list every arroy setting, not only the default and its best")
    args = ap.parse_args()

    faiss.omp_set_num_threads(1)
    folder = Path(args.folder)
    report = json.loads((folder / "arroy.json").read_text())
    k = report["k"]
    header = f"{'method':<8} {'params':<28} {'build s':>7} {'recall':>7} {'p50 ms':>7} {'p99 ms':>7}"
    out = {"k": k, "sets": []}
    for s in report["sets"]:
        t = load_file(str(folder / s["file"]))
        vectors = np.ascontiguousarray(t["vectors"], dtype=np.float32)
        queries = np.ascontiguousarray(t["queries"], dtype=np.float32)
        exact_ids = t["exact"].astype(np.int64)
        ids = t["ids"].astype(np.int64)
        # faiss returns positions; the bench's exact neighbours are item ids.
        faiss.normalize_L2(vectors)
        faiss.normalize_L2(queries)
        n, d = vectors.shape
        print(f"\n{s['name']}: {n} items, {len(queries)} queries, {d}-D, k = {k}, one thread")
        print(header)

        flat = faiss.IndexFlatIP(d)
        flat.add(vectors)
        ms, found = timed_queries(flat, queries, k, args.repeat)
        flat_recall = recall(ids[found], exact_ids)
        p50, p99 = percentiles(ms)
        rows = [dict(method="faiss", params="flat (brute force)", build_s=None, recall=flat_recall, p50_ms=p50, p99_ms=p99)]
        print(row("faiss", "flat (brute force)", None, flat_recall, p50, p99, "vs the bench's exact neighbours"))
        bf = s["brute_force"]
        print(row("rust", "brute_force()", None, 1.0, bf["p50_ms"], bf["p99_ms"]))

        runs = s["runs"]
        default = next(r for r in runs if r["default"])
        reaching = [r for r in runs if r["recall_at_5"] >= TARGET_RECALL]
        best = min(reaching, key=lambda r: r["p99_ms"]) if reaching else max(runs, key=lambda r: r["recall_at_5"])
        shown = runs if args.all_arroy else ([default] if best is default else [default, best])
        for r in shown:
            params = f"trees {r['n_trees']} leaf {r['leaf_size']} search_k {r['search_k']}"
            note = "default" if r["default"] else ("fastest ≥ 0.95" if r is best and reaching else "")
            if r is best and not reaching:
                note = "best recall"
            print(row("arroy", params, r["build_s"], r["recall_at_5"], r["p50_ms"], r["p99_ms"], note))
            rows.append(dict(method="arroy", params=params, build_s=r["build_s"], recall=r["recall_at_5"],
                             p50_ms=r["p50_ms"], p99_ms=r["p99_ms"], note=note))

        hnsw = faiss.IndexHNSWFlat(d, args.m, faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = args.ef_construction
        start = time.perf_counter()
        hnsw.add(vectors)
        build_s = time.perf_counter() - start
        chosen = None
        for ef in [int(x) for x in args.ef.split(",")]:
            hnsw.hnsw.efSearch = ef
            ms, found = timed_queries(hnsw, queries, k, args.repeat)
            rec = recall(ids[found], exact_ids)
            p50, p99 = percentiles(ms)
            note = ""
            if chosen is None and rec >= TARGET_RECALL:
                chosen = ef
                note = "smallest ef ≥ 0.95"
            params = f"HNSW M {args.m} efC {args.ef_construction} ef {ef}"
            print(row("faiss", params, build_s, rec, p50, p99, note))
            rows.append(dict(method="faiss", params=params, build_s=build_s, recall=rec, p50_ms=p50, p99_ms=p99, note=note))
            if chosen is not None and ef >= 2 * chosen:
                break
        out["sets"].append(dict(name=s["name"], n=n, rows=rows))
    (folder / "compare.json").write_text(json.dumps(out, indent=2))
    print(f"\nwrote {folder / 'compare.json'}")


if __name__ == "__main__":
    main()
