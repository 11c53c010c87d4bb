#!/usr/bin/env python3
"""Open time against the number of vectors: Quiver (maps its index file) vs hnswlib (load_index
reads the whole file), at N = 10k, 100k, 1M random 384-d normalized vectors.

  Tools/bench/.venv/bin/python Tools/bench/open_scaling.py [--ns 10000,100000,1000000]
        [--markdown BENCHMARKS.md]

Data: numpy default_rng(--seed) standard normal, generated in chunks of 10,000 rows (so each
smaller set is a prefix of the larger ones), L2-normalized in float64, stored float32 as
Tools/bench/.cache/scale_n{N}_d{dim}_s{seed}_base.npy; --nq queries from default_rng(seed+1).
Exact top-10 (benchlib.exact_topk, float64) is cached beside them for a recall sanity check.

Per N:
  Quiver   quiver-bench hnsw --efs 16 (QUIVER_BUILD_THREADS=--threads): build_seconds (CREATE
           INDEX), open_seconds (HNSWIndex.open of the written file), index file size, and
           recall@10 at ef 16.
  hnswlib  init_index + add_items (--threads), save_index, then load_index into a fresh Index
           --open-repeats times (median reported; each after the previous one is freed),
           file size, recall@10 at ef 16 on the loaded index.
Both opens are of a file just written, i.e. from a warm page cache.

ef_construction is 64 here (not 200 as in the QPS benchmark) to keep the 1M builds bounded;
it affects build time and recall, not what open has to do.

Writes Tools/bench/.cache/open-scaling.json and the <!-- open:begin --> ... <!-- open:end -->
section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import gc
import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib  # noqa: E402
import quiver_hnsw  # noqa: E402
import report_hnsw  # noqa: E402

BEGIN, END = "<!-- open:begin -->", "<!-- open:end -->"
CHUNK = 10_000


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--ns", default="10000,100000,1000000")
    p.add_argument("--dim", type=int, default=384)
    p.add_argument("--nq", type=int, default=100)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--m", type=int, default=16)
    p.add_argument("--ef-construction", type=int, default=64)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--open-repeats", type=int, default=3)
    p.add_argument("--bin", default=str(quiver_hnsw.DEFAULT_BIN))
    p.add_argument("--out", default=str(benchlib.CACHE_DIR / "open-scaling.json"))
    p.add_argument("--markdown", default=str(quiver_hnsw.REPO / "BENCHMARKS.md"))
    p.add_argument("--command", default="Tools/bench/.venv/bin/python Tools/bench/open_scaling.py")
    p.add_argument("--no-write", action="store_true")
    p.add_argument("--render-only", action="store_true",
                   help="no runs: render --out's JSON into the markdown again")
    return p.parse_args(argv)


# ---------------------------------------------------------------- resources and data

def mem_available() -> int:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return 0


def check_resources(n: int, dim: int, work: Path) -> str | None:
    """None when there is room; otherwise why not. Base file f = n*dim*4 bytes: on disk the
    base file, Quiver's rows and index (~2.2 f) and hnswlib's file (~1.1 f); in memory the
    peak of quiver-bench (decoded base, row bindings, build copy, mapped index: ~4.5 f)."""
    f = n * dim * 4
    free_disk = shutil.disk_usage(work).free
    avail = mem_available()
    if free_disk < 5 * f:
        return f"needs ~{5 * f / 2**30:.1f} GiB disk, {free_disk / 2**30:.1f} GiB free"
    if avail < 6 * f:
        return f"needs ~{6 * f / 2**30:.1f} GiB memory, {avail / 2**30:.1f} GiB available"
    return None


def normalized_rows(rng, rows, dim) -> np.ndarray:
    x = rng.standard_normal((rows, dim), dtype=np.float64)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x.astype(np.float32)


def base_file(n: int, dim: int, seed: int) -> Path:
    path = benchlib.CACHE_DIR / f"scale_n{n}_d{dim}_s{seed}_base.npy"
    if path.exists():
        return path
    benchlib.CACHE_DIR.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npy")
    out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(n, dim))
    rng = np.random.default_rng(seed)
    for start in range(0, n, CHUNK):
        rows = min(CHUNK, n - start)
        out[start:start + rows] = normalized_rows(rng, rows, dim)
    out.flush()
    del out
    os.replace(tmp, path)
    return path


def queries_file(nq: int, dim: int, seed: int) -> Path:
    path = benchlib.CACHE_DIR / f"scale_d{dim}_q{nq}_s{seed}_queries.npy"
    if not path.exists():
        q = normalized_rows(np.random.default_rng(seed + 1), nq, dim)
        tmp = path.with_suffix(".tmp.npy")
        np.save(tmp, q)
        os.replace(tmp, path)
    return path


def dataset(n: int, dim: int, nq: int, seed: int) -> tuple[benchlib.Dataset, Path, Path]:
    bpath, qpath = base_file(n, dim, seed), queries_file(nq, dim, seed)
    base = np.load(bpath, mmap_mode="r")
    queries = np.load(qpath)
    gpath = benchlib.CACHE_DIR / f"scale_n{n}_d{dim}_s{seed}_q{nq}_gt10.npz"
    if gpath.exists():
        g = np.load(gpath)
        gt_ids, gt_scores = g["ids"], g["scores"]
    else:
        gt_ids, gt64 = benchlib.exact_topk(base, queries, 10, block=32768)
        gt_scores = gt64.astype(np.float32)
        tmp = gpath.with_suffix(".tmp.npz")
        np.savez(tmp, ids=gt_ids, scores=gt_scores)
        os.replace(tmp, gpath)
    ds = benchlib.Dataset(f"scale{n}", base, queries, gt_ids, gt_scores,
                          {"seed": seed, "base": str(bpath), "queries": str(qpath)})
    return ds, bpath, qpath


# ---------------------------------------------------------------- engines

def run_quiver(a, ds, bpath, qpath) -> dict:
    work = benchlib.CACHE_DIR / "scale-quiver"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        qb = quiver_hnsw.run_quiver_bench(a.bin, bpath, qpath, work / "db", work / "ids", a.m,
                                          a.ef_construction, [16], a.threads, 10)
        ids = np.load(work / "ids" / qb["runs"][0]["ids"])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {"load_seconds": qb["load_seconds"], "build_seconds": qb["build_seconds"],
            "open_seconds": qb["open_seconds"], "file_bytes": qb["file_bytes"],
            "memory_bytes": qb["memory_bytes"], "recall_at_10_ef16": benchlib.recall_at_k(ds, ids),
            "qps_ef16": qb["runs"][0]["qps"], "wall_seconds": qb["wall_seconds"]}


def run_hnswlib(a, ds) -> dict:
    import hnswlib
    path = benchlib.CACHE_DIR / "scale-hnswlib.bin"
    gc.collect()
    index = hnswlib.Index(space="cosine", dim=ds.dim)
    with benchlib.Timer() as build:
        index.init_index(max_elements=ds.n, ef_construction=a.ef_construction, M=a.m,
                         random_seed=100)
        index.add_items(ds.base, np.arange(ds.n, dtype=np.int64), num_threads=a.threads)
    index.save_index(str(path))
    del index
    gc.collect()
    try:
        file_bytes = path.stat().st_size
        opens = []
        for _ in range(a.open_repeats):
            index = hnswlib.Index(space="cosine", dim=ds.dim)
            with benchlib.Timer() as op:
                index.load_index(str(path), max_elements=ds.n)
            opens.append(op.seconds)
            if len(opens) < a.open_repeats:
                del index
                gc.collect()
        index.set_num_threads(1)
        index.set_ef(16)
        labels, _ = index.knn_query(ds.queries, k=10, num_threads=1)
        del index
        gc.collect()
    finally:
        path.unlink(missing_ok=True)
    return {"build_seconds": build.seconds, "open_seconds": statistics.median(opens),
            "open_seconds_all": opens, "file_bytes": file_bytes,
            "recall_at_10_ef16": benchlib.recall_at_k(ds, labels)}


# ---------------------------------------------------------------- report

def load1(x) -> str:
    return "?" if not x else f"{x[0]:.2f}"


def fmt_n(n: int) -> str:
    return f"{n // 1_000_000}M" if n % 1_000_000 == 0 else (f"{n // 1000}k" if n % 1000 == 0 else str(n))


def render(result: dict, command: str) -> str:
    rows = result["rows"]
    p = result["params"]
    L = [BEGIN,
         "## Open time against index size",
         "",
         f"Generated {result['time']} by `{command}`. Random {p['dim']}-d L2-normalized "
         f"float32 vectors (numpy default_rng({p['seed']})), M = {p['m']}, "
         f"**ef_construction = {p['ef_construction']}** (not 200: keeps the 1M builds bounded; "
         f"it does not change what opening involves), build {p['threads']} threads, "
         f"Quiver source {result['quiver_version']}, hnswlib {result['hnswlib_version']}.",
         "",
         "Quiver open = `HNSWIndex.open` of the index file CREATE INDEX wrote (maps it); hnswlib "
         "open = `load_index` of the file `save_index` wrote (reads it into memory; median of "
         f"{p['open_repeats']}). Both from a warm page cache. Recall@10 at ef 16 against exact "
         f"top-10 of {p['nq']} queries is a sanity check only.",
         "",
         "| N | Quiver build | Quiver open | Quiver index file | hnswlib build | hnswlib open "
         "(load_index) | hnswlib index file | hnswlib open / Quiver open | recall@10 ef16 Quiver "
         "/ hnswlib | 1-min load: start → after Quiver → after hnswlib |",
         "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        q, h = r.get("quiver"), r.get("hnswlib")
        if r.get("skipped"):
            L.append(f"| {fmt_n(r['n'])} | skipped: {r['skipped']} |||||||||")
            continue
        ratio = (h["open_seconds"] / q["open_seconds"]) if q["open_seconds"] > 0 else None
        L.append(
            f"| {fmt_n(r['n'])} | {q['build_seconds']:.2f} s | {q['open_seconds'] * 1e3:.3f} ms "
            f"| {q['file_bytes'] / 2**20:,.1f} MiB | {h['build_seconds']:.2f} s "
            f"| {h['open_seconds'] * 1e3:,.1f} ms | {h['file_bytes'] / 2**20:,.1f} MiB "
            f"| {'—' if ratio is None else f'{ratio:,.0f}×'} "
            f"| {q['recall_at_10_ef16']:.3f} / {h['recall_at_10_ef16']:.3f} "
            f"| {load1(r.get('loadavg_at_start'))} → {load1(q.get('loadavg_at_end'))} "
            f"→ {load1(h.get('loadavg_at_end'))} |")
    L += ["", f"Machine: {result['machine']['cpu']}, {result['machine']['cores']} CPUs. The 1-min "
          "load average includes this run's own 2-thread builds (≈ 2); more than that means "
          "other work shared the cores and the build times are inflated (open times are not "
          "CPU-bound enough to matter).", END]
    return "\n".join(L) + "\n"


def main(argv=None) -> int:
    a = parse_args(argv)
    if a.render_only:
        section = render(json.loads(Path(a.out).read_text()), a.command)
        print(section)
        if not a.no_write:
            report_hnsw.replace_section(Path(a.markdown), section, BEGIN, END)
        return 0
    ns = [int(x) for x in a.ns.split(",") if x.strip()]
    import importlib.metadata
    # the source the binary was built from: run-hnsw records it right after its build
    recorded = benchlib.CACHE_DIR / "quiver-source.json"
    binary = Path(a.bin)
    if (recorded.exists() and binary.exists()
            and recorded.stat().st_mtime >= binary.stat().st_mtime):
        state = json.loads(recorded.read_text())
    else:
        state = quiver_hnsw.source_state()
    result = {"params": {"dim": a.dim, "nq": a.nq, "seed": a.seed, "m": a.m,
                         "ef_construction": a.ef_construction, "threads": a.threads,
                         "open_repeats": a.open_repeats},
              "quiver_version": state["version"],
              "hnswlib_version": importlib.metadata.version("hnswlib"),
              "machine": benchlib.machine_info(), "rows": []}
    benchlib.CACHE_DIR.mkdir(parents=True, exist_ok=True)
    for n in ns:
        why = check_resources(n, a.dim, benchlib.CACHE_DIR)
        if why:
            print(f"N={n}: skipped ({why})", flush=True)
            result["rows"].append({"n": n, "skipped": why})
            continue
        t0 = time.perf_counter()
        ds, bpath, qpath = dataset(n, a.dim, a.nq, a.seed)
        print(f"N={n}: data ready ({time.perf_counter() - t0:.1f} s); "
              f"disk free {shutil.disk_usage(benchlib.CACHE_DIR).free / 2**30:.1f} GiB, "
              f"memory available {mem_available() / 2**30:.1f} GiB", flush=True)
        row = {"n": n, "loadavg_at_start": os.getloadavg()}
        row["quiver"] = run_quiver(a, ds, bpath, qpath)
        row["quiver"]["loadavg_at_end"] = os.getloadavg()
        print(f"  quiver : build {row['quiver']['build_seconds']:.2f} s, open "
              f"{row['quiver']['open_seconds'] * 1e3:.3f} ms, file "
              f"{row['quiver']['file_bytes'] / 2**20:.1f} MiB, recall@10 ef16 "
              f"{row['quiver']['recall_at_10_ef16']:.3f}", flush=True)
        row["hnswlib"] = run_hnswlib(a, ds)
        row["hnswlib"]["loadavg_at_end"] = os.getloadavg()
        print(f"  hnswlib: build {row['hnswlib']['build_seconds']:.2f} s, open "
              f"{row['hnswlib']['open_seconds'] * 1e3:.1f} ms, file "
              f"{row['hnswlib']['file_bytes'] / 2**20:.1f} MiB, recall@10 ef16 "
              f"{row['hnswlib']['recall_at_10_ef16']:.3f}", flush=True)
        result["rows"].append(row)
        del ds
        gc.collect()
    result["time"] = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    out = Path(a.out)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=2) + "\n")
    os.replace(tmp, out)
    section = render(result, a.command)
    print()
    print(section)
    if not a.no_write:
        report_hnsw.replace_section(Path(a.markdown), section, BEGIN, END)
        print(f"wrote the open section of {a.markdown}")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
