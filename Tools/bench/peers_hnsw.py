#!/usr/bin/env python3
"""Peer side of the side-by-side HNSW benchmark: hnswlib on the same data, same metric, same
JSON shape as quiver_hnsw.py.

  Tools/bench/setup-peers
  Tools/bench/.venv/bin/python Tools/bench/peers_hnsw.py --dataset real --out results.json

Build: space 'cosine', M, ef_construction, add_items with --threads threads (wall time).
Open:  save_index to a temp file, then load_index into a fresh Index (wall time).
Memory: RSS growth of this process across load_index (the opened index, after the built one is
        freed); the built index's RSS growth and the saved file size are reported too.
Search: on the loaded index, set_num_threads(1), k=10; each ef gets one untimed warm-up pass.
        qps (the number compared with Quiver): one knn_query over the whole (q, dim) query
        matrix with num_threads=1 -- hnswlib's own C++ loop, no per-query Python overhead --
        timed --repeats times, best pass (queries / wall seconds). That matches quiver-bench,
        which times its native loop over all queries and keeps the best of 3 passes.
        Latencies (p50/p99) and qps_per_call: one knn_query per single vector, perf_counter
        around each call, --repeats passes (they include ~µs of Python call overhead).
        recall@10 uses the ids of the first per-call pass and benchlib's tie rule (the
        batched ids are checked to be identical).
"""

from __future__ import annotations

import argparse
import gc
import importlib.metadata
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib  # noqa: E402

import hnswlib  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dataset", choices=("real", "random"), default="real")
    p.add_argument("--m", type=int, default=16)
    p.add_argument("--ef-construction", type=int, default=200)
    p.add_argument("--efs", default="16,32,64,128,256")
    p.add_argument("--threads", type=int, default=2, help="threads for the build only")
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--repeats", type=int, default=3, help="timed passes over the queries per ef")
    p.add_argument("--seed", type=int, default=100, help="hnswlib random_seed")
    p.add_argument("--random-n", type=int, default=100_000)
    p.add_argument("--random-seed", type=int, default=42)
    p.add_argument("--out", default=None,
                   help="JSON path (default Tools/bench/.cache/hnswlib-DATASET.json)")
    return p.parse_args(argv)


def main(argv=None) -> int:
    a = parse_args(argv)
    efs = [int(x) for x in a.efs.split(",") if x.strip()]
    if a.k != 10:
        print("note: JSON field recall_at_10 holds recall@k for k=%d" % a.k, file=sys.stderr)

    load_at_start = os.getloadavg()
    t0 = time.perf_counter()
    if a.dataset == "random":
        ds = benchlib.load_random(n=a.random_n, seed=a.random_seed)
    else:
        ds = benchlib.load_real()
    print(f"loaded {ds.name}: n={ds.n} dim={ds.dim} queries={len(ds.queries)} "
          f"({time.perf_counter() - t0:.1f} s)", flush=True)

    # ---- build
    gc.collect()
    rss0 = benchlib.rss_bytes()
    index = hnswlib.Index(space="cosine", dim=ds.dim)
    ids = np.arange(ds.n, dtype=np.int64)
    with benchlib.Timer() as build:
        index.init_index(max_elements=ds.n, ef_construction=a.ef_construction, M=a.m,
                         random_seed=a.seed)
        index.add_items(ds.base, ids, num_threads=a.threads)
    build_rss = benchlib.rss_bytes() - rss0
    print(f"build {build.seconds:.2f} s ({a.threads} threads), RSS +{build_rss / 2**20:.1f} MiB",
          flush=True)

    # ---- save, free, open
    with tempfile.TemporaryDirectory(dir=benchlib.CACHE_DIR if benchlib.CACHE_DIR.exists()
                                     else None) as tmp:
        path = os.path.join(tmp, "index.hnsw")
        with benchlib.Timer() as save:
            index.save_index(path)
        file_bytes = os.path.getsize(path)
        del index
        gc.collect()
        rss1 = benchlib.rss_bytes()
        index = hnswlib.Index(space="cosine", dim=ds.dim)
        with benchlib.Timer() as open_:
            index.load_index(path, max_elements=ds.n)
        mem = benchlib.rss_bytes() - rss1
    print(f"save {save.seconds:.3f} s, open {open_.seconds:.3f} s, RSS +{mem / 2**20:.1f} MiB, "
          f"file {file_bytes / 2**20:.1f} MiB", flush=True)

    # ---- search
    index.set_num_threads(1)
    queries = [ds.queries[i:i + 1] for i in range(len(ds.queries))]
    runs = []
    for ef in efs:
        index.set_ef(max(ef, a.k))
        for q in queries:                                   # warm-up
            index.knn_query(q, k=a.k)
        lat = []
        first = None
        for rep in range(a.repeats):
            got = []
            for q in queries:
                t = time.perf_counter()
                labels, _ = index.knn_query(q, k=a.k)
                lat.append(time.perf_counter() - t)
                got.append(labels[0])
            if first is None:
                first = got
        rec = benchlib.recall_at_k(ds, first, k=a.k)
        per_call = benchlib.latency_summary(lat)
        # native loop: one call over all queries, one thread, best of --repeats passes
        index.knn_query(ds.queries, k=a.k, num_threads=1)    # warm-up
        best = float("inf")
        for rep in range(a.repeats):
            t = time.perf_counter()
            labels, _ = index.knn_query(ds.queries, k=a.k, num_threads=1)
            best = min(best, time.perf_counter() - t)
        same = bool(np.array_equal(labels, np.stack(first)))
        if not same:
            print(f"  note: ef={ef} batched ids differ from per-call ids", file=sys.stderr)
        run = {"ef": ef, "recall_at_10": rec, **per_call,
               "qps": len(ds.queries) / best, "qps_per_call": per_call["qps"],
               "batch_ids_match": same}
        runs.append(run)
        print(f"  ef={ef:<4} recall@{a.k}={rec:.4f} qps={run['qps']:.0f} "
              f"(per call {run['qps_per_call']:.0f}) "
              f"p50={run['p50_ms']:.3f} ms p99={run['p99_ms']:.3f} ms", flush=True)

    result = {
        "engine": "hnswlib",
        "version": importlib.metadata.version("hnswlib"),
        "dataset": ds.name,
        "n": ds.n,
        "dim": ds.dim,
        "m": a.m,
        "ef_construction": a.ef_construction,
        "build_seconds": build.seconds,
        "open_seconds": open_.seconds,
        "memory_bytes": int(mem),
        "runs": runs,
        # extras (not part of the shared shape)
        "metric": "cosine",
        "k": a.k,
        "queries": int(len(ds.queries)),
        "build_threads": a.threads,
        "search_threads": 1,
        "repeats": a.repeats,
        "save_seconds": save.seconds,
        "index_file_bytes": int(file_bytes),
        "build_rss_bytes": int(build_rss),
        "memory_note": "RSS growth across load_index of the saved index",
        "qps_note": "qps: one knn_query over all queries, num_threads=1, best of repeats; "
                    "qps_per_call and latencies: one Python call per query",
        "dataset_info": ds.info,
        "machine": benchlib.machine_info(),
        "loadavg_at_start": load_at_start,
    }
    out = Path(a.out) if a.out else benchlib.CACHE_DIR / f"hnswlib-{ds.name}.json"
    return benchlib.finish(out, result)


if __name__ == "__main__":
    sys.exit(main())
