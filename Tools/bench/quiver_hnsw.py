#!/usr/bin/env python3
"""Quiver side of the side-by-side HNSW benchmark: runs quiver-bench on the same data as
peers_hnsw.py and writes a results JSON of the same shape (engine "quiver").

  swift build -c release --scratch-path .build-bench --product quiver-bench
  Tools/bench/.venv/bin/python Tools/bench/quiver_hnsw.py --dataset real --out results.json

quiver-bench (Tools/Bench/QuiverBench.swift) goes through the product path: rows into a table,
CREATE INDEX ... USING hnsw (build_seconds), a fresh mapping of the index file (open_seconds),
then BatchSearch with one thread, one query at a time, per ef: 20 warm-up queries, 3 timed
passes over all queries, best pass kept (qps = queries / wall seconds of that pass; p50/p99
from that pass's per-query latencies, nearest rank). The hit ids of each ef land in
quiver-ef<EF>.npy; recall@10 is computed here from them with benchlib's tie rule.

Inputs handed to quiver-bench:
  real    ../shared/data/base_f16.npy as is (quiver-bench widens float16 to float32 exactly,
          like benchlib) and queries.npy.
  random  benchlib's cached random set (.cache/random_n..._{base,queries}.npy; created through
          benchlib.load_random if missing).

Build threads: quiver-bench echoes --threads but the index build takes its thread count from
$QUIVER_BUILD_THREADS (default: all cores), so this script sets QUIVER_BUILD_THREADS=--threads.

memory_bytes is quiver-bench's figure: RSS growth of its process from just before CREATE INDEX
to after the searches (so it includes the built index's touched pages and the reopened mapping;
not the same probe as hnswlib's RSS growth across load_index). index_file_bytes is the index
file's size, comparable to hnswlib's saved file.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib  # noqa: E402

REPO = benchlib.BENCH_DIR.parent.parent
DEFAULT_BIN = REPO / ".build-bench" / "release" / "quiver-bench"


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dataset", choices=("real", "random"), default="real")
    p.add_argument("--m", type=int, default=16)
    p.add_argument("--ef-construction", type=int, default=200)
    p.add_argument("--efs", default="16,32,64,128,256")
    p.add_argument("--threads", type=int, default=2, help="threads for the build only")
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--random-n", type=int, default=100_000)
    p.add_argument("--random-seed", type=int, default=42)
    p.add_argument("--bin", default=str(DEFAULT_BIN), help="quiver-bench executable")
    p.add_argument("--work-dir", default=None,
                   help="database and ids directory (default Tools/bench/.cache/quiver-DATASET)")
    p.add_argument("--keep-db", action="store_true", help="keep the database after the run")
    p.add_argument("--out", default=None,
                   help="JSON path (default Tools/bench/.cache/quiver-DATASET.json)")
    p.add_argument("--source-state", default=None,
                   help="JSON written by --print-source-state when the binary was built "
                        "(default: the source state now)")
    p.add_argument("--print-source-state", action="store_true",
                   help="print the engine source state (git HEAD + digest of changes) and exit")
    return p.parse_args(argv)


def source_state() -> dict:
    """Which engine source was measured: HEAD plus a digest of uncommitted changes."""
    def git(*args):
        return subprocess.run(["git", "-C", str(REPO), *args], capture_output=True,
                              text=True).stdout
    head = git("rev-parse", "--short=10", "HEAD").strip()
    diff = git("diff", "HEAD", "--", "Sources", "Tools/Bench", "Package.swift")
    untracked = git("ls-files", "--others", "--exclude-standard", "--", "Sources", "Tools/Bench")
    h = hashlib.sha256(diff.encode())
    for rel in untracked.split():
        try:
            h.update(rel.encode() + (REPO / rel).read_bytes())
        except OSError:
            pass
    dirty = bool(diff.strip() or untracked.strip())
    return {"head": head, "dirty": dirty, "changes_sha256": h.hexdigest()[:12] if dirty else None,
            "version": head + (f"+dirty.{h.hexdigest()[:8]}" if dirty else "")}


def dataset_files(a) -> tuple[benchlib.Dataset, Path, Path]:
    if a.dataset == "real":
        ds = benchlib.load_real()
        return ds, benchlib.REAL_DATA_DIR / "base_f16.npy", benchlib.REAL_DATA_DIR / "queries.npy"
    ds = benchlib.load_random(n=a.random_n, seed=a.random_seed)
    tag = Path(ds.info["cache"])
    base, queries = (tag.parent / f"{tag.name}_base.npy", tag.parent / f"{tag.name}_queries.npy")
    for path, arr in ((base, ds.base), (queries, ds.queries)):
        if not path.exists():
            tmp = path.with_suffix(".tmp.npy")
            np.save(tmp, arr)
            os.replace(tmp, path)
    return ds, base, queries


def run_quiver_bench(binary, base, queries, db, out_dir, m, ef_construction, efs, threads, k,
                     extra_env=None) -> dict:
    """Runs quiver-bench once and returns its JSON line (plus wall_seconds)."""
    cmd = [str(binary), "hnsw", "--base", str(base), "--queries", str(queries), "--db", str(db),
           "--out-dir", str(out_dir), "--m", str(m), "--ef-construction", str(ef_construction),
           "--efs", ",".join(str(e) for e in efs), "--threads", str(threads), "--k", str(k)]
    env = dict(os.environ, QUIVER_BUILD_THREADS=str(threads), **(extra_env or {}))
    print("$ QUIVER_BUILD_THREADS=%d %s" % (threads, " ".join(cmd)), flush=True)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"quiver-bench failed with exit code {proc.returncode}")
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip().startswith("{")]
    if not lines:
        raise SystemExit(f"quiver-bench printed no JSON:\n{proc.stdout}")
    out = json.loads(lines[-1])
    out["wall_seconds"] = wall
    out["command"] = cmd
    return out


def main(argv=None) -> int:
    a = parse_args(argv)
    if a.print_source_state:
        print(json.dumps(source_state()))
        return 0
    efs = [int(x) for x in a.efs.split(",") if x.strip()]
    binary = Path(a.bin)
    if not os.access(binary, os.X_OK):
        raise SystemExit(f"{binary} not found: swift build -c release --scratch-path .build-bench "
                         f"--product quiver-bench")
    load_at_start = os.getloadavg()
    t0 = time.perf_counter()
    ds, base_path, queries_path = dataset_files(a)
    print(f"loaded {ds.name}: n={ds.n} dim={ds.dim} queries={len(ds.queries)} "
          f"({time.perf_counter() - t0:.1f} s)", flush=True)

    work = Path(a.work_dir) if a.work_dir else benchlib.CACHE_DIR / f"quiver-{ds.name}"
    db, ids_dir = work / "db", work / "ids"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    state = json.loads(Path(a.source_state).read_text()) if a.source_state else source_state()
    qb = run_quiver_bench(binary, base_path, queries_path, db, ids_dir, a.m, a.ef_construction,
                          efs, a.threads, a.k)
    if (qb["n"], qb["dim"]) != (ds.n, ds.dim):
        raise SystemExit(f"quiver-bench saw {qb['n']}x{qb['dim']}, expected {ds.n}x{ds.dim}")
    print(f"load {qb['load_seconds']:.2f} s, build {qb['build_seconds']:.2f} s, "
          f"open {qb['open_seconds'] * 1e3:.3f} ms, file {qb['file_bytes'] / 2**20:.1f} MiB",
          flush=True)

    runs = []
    for r in qb["runs"]:
        ids = np.load(ids_dir / r["ids"])
        if ids.shape != (len(ds.queries), a.k):
            raise SystemExit(f"{r['ids']}: shape {ids.shape}, expected ({len(ds.queries)}, {a.k})")
        rec = benchlib.recall_at_k(ds, ids, k=a.k)
        run = {"ef": int(r["ef"]), "recall_at_10": rec, "qps": float(r["qps"]),
               "p50_ms": float(r["p50_ms"]), "p99_ms": float(r["p99_ms"]),
               "short_rows": int((ids < 0).any(axis=1).sum())}
        runs.append(run)
        print(f"  ef={run['ef']:<4} recall@{a.k}={rec:.4f} qps={run['qps']:.0f} "
              f"p50={run['p50_ms']:.3f} ms p99={run['p99_ms']:.3f} ms", flush=True)
    if not a.keep_db:
        shutil.rmtree(db, ignore_errors=True)

    result = {
        "engine": "quiver",
        "version": state["version"],
        "dataset": ds.name,
        "n": ds.n,
        "dim": ds.dim,
        "m": a.m,
        "ef_construction": a.ef_construction,
        "build_seconds": float(qb["build_seconds"]),
        "open_seconds": float(qb["open_seconds"]),
        "memory_bytes": int(qb["memory_bytes"]),
        "runs": runs,
        # extras (not part of the shared shape)
        "metric": "cosine",
        "k": a.k,
        "queries": int(len(ds.queries)),
        "build_threads": a.threads,
        "search_threads": 1,
        "repeats": 3,
        "load_seconds": float(qb["load_seconds"]),
        "index_file_bytes": int(qb["file_bytes"]),
        "quiver_bench_wall_seconds": qb["wall_seconds"],
        "memory_note": "RSS growth of quiver-bench from before CREATE INDEX to after the searches",
        "qps_note": "BatchSearch, one thread, native loop over all queries, best of 3 passes",
        "source": state,
        "binary": str(binary),
        "binary_mtime": time.strftime("%Y-%m-%dT%H:%M:%S%z",
                                      time.localtime(binary.stat().st_mtime)),
        "command": qb["command"],
        "dataset_info": ds.info,
        "machine": benchlib.machine_info(),
        "loadavg_at_start": load_at_start,
    }
    out = Path(a.out) if a.out else benchlib.CACHE_DIR / f"quiver-{ds.name}.json"
    return benchlib.finish(out, result)


if __name__ == "__main__":
    sys.exit(main())
