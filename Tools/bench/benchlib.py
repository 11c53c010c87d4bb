"""Shared helpers for the side-by-side HNSW benchmark (peers_hnsw.py, quiver_hnsw.py).

Everything that decides a number both sides report lives here: the data sets, their exact
ground truth, recall@k with the tie rule, percentiles, memory probes and the JSON shape.

Data sets
  real    ../shared/data (override with $QUIVER_BENCH_DATA): 72,580 x 384 float16
          L2-normalized MiniLM vectors, 200 float32 queries, exact top-100 by inner product
          (ties: smaller id first) and their similarities.
  random  N x dim Gaussian vectors, L2-normalized, float32, seeded, with Q queries drawn the
          same way; exact top-100 computed here in float64 blocks (same tie order) and cached
          as .npy under Tools/bench/.cache/.

Similarity is the inner product of the stored float32 values (for "real", float16 widened to
float32 exactly), computed in float64: that is what the shipped ground truth uses (checked: it
matches gt_unfiltered_scores.npy to < 1e-6, whereas renormalizing the float16 rows does not).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

BENCH_DIR = Path(__file__).resolve().parent
CACHE_DIR = BENCH_DIR / ".cache"
REAL_DATA_DIR = Path(os.environ.get("QUIVER_BENCH_DATA", str((Path(__file__).resolve().parents[2] / ".." / "shared" / "data").resolve())))
TIE_EPS = 1e-6
GT_DEPTH = 100


@dataclasses.dataclass
class Dataset:
    name: str
    base: np.ndarray        # (n, dim) float32, C-contiguous; row i has id i
    queries: np.ndarray     # (q, dim) float32
    gt_ids: np.ndarray      # (q, 100) int32, exact top-100, ties smaller id first
    gt_scores: np.ndarray   # (q, 100) float32 similarities of gt_ids
    info: dict              # provenance (paths, seed, ...)

    @property
    def n(self) -> int:
        return int(self.base.shape[0])

    @property
    def dim(self) -> int:
        return int(self.base.shape[1])


# ---------------------------------------------------------------- data sets

def load_real(data_dir: Path = REAL_DATA_DIR) -> Dataset:
    base = np.ascontiguousarray(np.load(data_dir / "base_f16.npy").astype(np.float32))
    queries = np.ascontiguousarray(np.load(data_dir / "queries.npy").astype(np.float32))
    gt_ids = np.load(data_dir / "gt_unfiltered.npy")
    gt_scores = np.load(data_dir / "gt_unfiltered_scores.npy")
    return Dataset("real", base, queries, gt_ids, gt_scores,
                   {"source": str(data_dir), "base_file": "base_f16.npy (float16)"})


def exact_topk(base: np.ndarray, queries: np.ndarray, k: int = GT_DEPTH,
               block: int = 8192) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-k by inner product in float64, ties broken by smaller id.

    Blocked over base: the running best k are merged with every score of the next block and
    fully re-sorted (score descending, id ascending), so ties are never lost at a block edge.
    """
    q64 = queries.astype(np.float64)
    nq = q64.shape[0]
    best_s = np.empty((nq, 0))
    best_i = np.empty((nq, 0), dtype=np.int64)
    for start in range(0, base.shape[0], block):
        blk = base[start:start + block].astype(np.float64)
        s = q64 @ blk.T                                              # (nq, b)
        ids = np.broadcast_to(np.arange(start, start + blk.shape[0], dtype=np.int64), s.shape)
        cand_s = np.concatenate([best_s, s], axis=1)
        cand_i = np.concatenate([best_i, ids], axis=1)
        order = np.lexsort((cand_i, -cand_s), axis=1)[:, :k]
        best_s = np.take_along_axis(cand_s, order, 1)
        best_i = np.take_along_axis(cand_i, order, 1)
    return best_i.astype(np.int32), best_s


def _normalized_gaussian(rng: np.random.Generator, rows: int, dim: int) -> np.ndarray:
    x = rng.standard_normal((rows, dim), dtype=np.float64)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return np.ascontiguousarray(x.astype(np.float32))


def load_random(n: int = 100_000, dim: int = 384, nq: int = 200, seed: int = 42,
                cache_dir: Path = CACHE_DIR) -> Dataset:
    tag = f"random_n{n}_d{dim}_q{nq}_s{seed}"
    paths = {p: cache_dir / f"{tag}_{p}.npy" for p in ("base", "queries", "gt", "gt_scores")}
    if all(p.exists() for p in paths.values()):
        base, queries, gt_ids, gt_scores = (np.load(paths[p]) for p in
                                            ("base", "queries", "gt", "gt_scores"))
        cached = True
    else:
        rng = np.random.default_rng(seed)
        base = _normalized_gaussian(rng, n, dim)
        queries = _normalized_gaussian(rng, nq, dim)
        gt_ids, gt64 = exact_topk(base, queries, GT_DEPTH)
        gt_scores = gt64.astype(np.float32)
        cache_dir.mkdir(parents=True, exist_ok=True)
        for key, arr in (("base", base), ("queries", queries), ("gt", gt_ids),
                         ("gt_scores", gt_scores)):
            tmp = paths[key].with_suffix(".tmp.npy")
            np.save(tmp, arr)
            os.replace(tmp, paths[key])
        cached = False
    return Dataset("random", base, queries, gt_ids, gt_scores,
                   {"seed": seed, "cache": str(cache_dir / tag), "from_cache": cached,
                    "generator": "numpy default_rng(seed).standard_normal float64, "
                                 "base then queries, L2-normalized, stored float32"})


def load_dataset(name: str, **kw) -> Dataset:
    if name == "real":
        return load_real(**kw)
    if name == "random":
        return load_random(**kw)
    raise ValueError(f"unknown dataset {name!r} (real|random)")


# ---------------------------------------------------------------- recall

def recall_at_k(ds: Dataset, results, k: int = 10, eps: float = TIE_EPS) -> float:
    """Mean recall@k over queries.

    results: one sequence of returned ids per query (array (q, >=k) or list of lists; ids < 0
    are ignored, only the first k are looked at, duplicates count once).
    A returned id is a hit when it is in the true top-k, or when its similarity to the query
    ties the k-th true similarity within eps (the corpus has real duplicates).
    """
    per_query = recall_per_query(ds, results, k, eps)
    return float(np.mean(per_query))


def recall_per_query(ds: Dataset, results, k: int = 10, eps: float = TIE_EPS) -> np.ndarray:
    nq = ds.queries.shape[0]
    if len(results) != nq:
        raise ValueError(f"{len(results)} result rows for {nq} queries")
    out = np.empty(nq)
    for qi in range(nq):
        got = []
        seen = set()
        for x in list(results[qi])[:k]:
            x = int(x)
            if x >= 0 and x not in seen:
                seen.add(x)
                got.append(x)
        truth = set(int(t) for t in ds.gt_ids[qi, :k])
        kth = float(ds.gt_scores[qi, k - 1])
        hits = 0
        for x in got:
            if x in truth:
                hits += 1
            else:
                sim = float(np.dot(ds.base[x].astype(np.float64),
                                   ds.queries[qi].astype(np.float64)))
                if sim >= kth - eps:
                    hits += 1
        out[qi] = min(hits, k) / k
    return out


# ---------------------------------------------------------------- timing, memory

def percentile(values, p: float) -> float:
    """p in [0, 100]; linear interpolation (numpy's default)."""
    return float(np.percentile(np.asarray(values, dtype=np.float64), p))


def latency_summary(seconds) -> dict:
    s = np.asarray(seconds, dtype=np.float64)
    return {
        "qps": float(len(s) / s.sum()) if s.sum() > 0 else float("inf"),
        "mean_ms": float(s.mean() * 1e3),
        "p50_ms": percentile(s, 50) * 1e3,
        "p90_ms": percentile(s, 90) * 1e3,
        "p99_ms": percentile(s, 99) * 1e3,
    }


def rss_bytes() -> int:
    """Current resident set size of this process (Linux /proc)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("VmRSS not found")


class Timer:
    def __enter__(self):
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.t0
        return False


# ---------------------------------------------------------------- output

RESULT_KEYS = ("engine", "version", "dataset", "n", "dim", "m", "ef_construction",
               "build_seconds", "open_seconds", "memory_bytes", "runs")
RUN_KEYS = ("ef", "recall_at_10", "qps", "p50_ms", "p99_ms")


def machine_info() -> dict:
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        load = os.getloadavg()
    except OSError:
        load = None
    return {"cpu": cpu, "cores": os.cpu_count(), "loadavg": load,
            "python": platform.python_version(),
            "numpy": np.__version__,
            "time": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}


def finish(path, result: dict) -> int:
    """Writes a runner's result, prints its table and where it went; the runners' exit status."""
    write_results(path, result)
    print()
    print(format_table(result))
    print(f"\nwrote {path}")
    return 0


def write_results(path, result: dict) -> None:
    missing = [k for k in RESULT_KEYS if k not in result]
    for run in result.get("runs", []):
        missing += [f"runs[].{k}" for k in RUN_KEYS if k not in run]
    if missing:
        raise ValueError(f"result is missing {sorted(set(missing))}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(result, indent=2) + "\n")
    os.replace(tmp, path)


def format_table(result: dict) -> str:
    head = (f"{result['engine']} {result['version']}  dataset={result['dataset']} "
            f"n={result['n']} dim={result['dim']} M={result['m']} "
            f"efC={result['ef_construction']}\n"
            f"build {result['build_seconds']:.2f} s   open {result['open_seconds'] * 1e3:.3f} ms   "
            f"memory {result['memory_bytes'] / 2**20:.1f} MiB\n")
    rows = [f"{'ef':>5} {'recall@10':>10} {'QPS':>9} {'p50 ms':>8} {'p99 ms':>8}"]
    for r in result["runs"]:
        rows.append(f"{r['ef']:>5} {r['recall_at_10']:>10.4f} {r['qps']:>9.0f} "
                    f"{r['p50_ms']:>8.3f} {r['p99_ms']:>8.3f}")
    return head + "\n".join(rows)
