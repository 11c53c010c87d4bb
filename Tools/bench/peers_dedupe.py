"""The dedupe benchmark's peers and report: all pairs of rows with cosine similarity >= t on the
real set, by

  numpy        blocked exact brute force: unit float32 rows, X[i:i+4096] @ X[i:].T on BLAS,
               entries >= t (the baseline every time is compared with);
  faiss-flat   FAISS IndexFlatIP.range_search over all rows (exact brute force in FAISS);
  faiss-ivf    FAISS IndexIVFFlat (as many lists as Quiver's cells, nprobe 4) range_search:
               FAISS's approximate answer, training included in its time;

beside Quiver's JSON and pair files from `quiver-bench dedupe` (run first, same run). Recall is
measured against the exact pair set, defined as Quiver defines similarity: the cosine of the
float32 rows (the float16 file widened), in float64. It is computed here from the numpy run's
candidates at >= t - 1e-3, re-scored in float64, so no method grades itself.

FAISS and numpy use both cores (OpenMP / OpenBLAS), as Quiver's BLAS does.

    peers_dedupe.py --data DIR --quiver-json Q.json --quiver-dir DIR --out REPORT.md [--command CMD]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

import benchlib


def unit_rows(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def numpy_blocked(x: np.ndarray, threshold: float, block: int = 4096) -> np.ndarray:
    """Pairs (i < j) with x_i . x_j >= threshold, upper triangle in row blocks."""
    found = []
    for start in range(0, x.shape[0], block):
        s = x[start:start + block] @ x[start:].T
        r, c = np.nonzero(s >= threshold)
        keep = c > r
        found.append(np.stack([r[keep] + start, c[keep] + start], axis=1))
    return np.concatenate(found) if found else np.empty((0, 2), dtype=np.int64)


def range_pairs(index, x: np.ndarray, threshold: float, chunk: int = 8192) -> np.ndarray:
    """FAISS range_search of every row (in chunks of queries), as pairs i < j."""
    found = []
    for start in range(0, x.shape[0], chunk):
        lims, _, ids = index.range_search(x[start:start + chunk], threshold)
        rows = np.repeat(np.arange(start, start + len(lims) - 1), np.diff(lims).astype(np.int64))
        keep = ids > rows
        found.append(np.stack([rows[keep], ids[keep]], axis=1))
    return np.concatenate(found)


def exact_pairs(raw: np.ndarray, unit: np.ndarray, threshold: float) -> set:
    """The oracle: candidates from a float32 pass with a wide margin, re-scored in float64."""
    candidates = numpy_blocked(unit, threshold - 1e-3)
    a = raw[candidates[:, 0]].astype(np.float64)
    b = raw[candidates[:, 1]].astype(np.float64)
    cos = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    same = (raw[candidates[:, 0]] == raw[candidates[:, 1]]).all(1)
    cos[same] = 1.0
    keep = candidates[cos >= threshold]
    return {(int(i), int(j)) for i, j in keep}


def exact_duplicate_rows(path: Path, n: int) -> int:
    """Rows whose normalized text another row (with a smaller id) already has."""
    import gzip
    import unicodedata
    seen = set()
    duplicates = 0
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            if row["id"] >= n:
                continue
            t = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", row["text"]).lower())
            t = " ".join(t.split())
            if t in seen:
                duplicates += 1
            seen.add(t)
    return duplicates


def pair_set(pairs: np.ndarray) -> set:
    return {(int(i), int(j)) for i, j in pairs}


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--data", default=str(benchlib.REAL_DATA_DIR))
    p.add_argument("--quiver-json", required=True)
    p.add_argument("--quiver-dir", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--command", default="Tools/bench/run-dedupe")
    args = p.parse_args()

    import faiss

    quiver = json.loads(Path(args.quiver_json).read_text())
    raw = np.load(Path(args.data) / "base_f16.npy").astype(np.float32)[: quiver["n"]]
    unit = unit_rows(raw)
    n, d = unit.shape
    faiss.omp_set_num_threads(2)
    machine = benchlib.machine_info()

    sections = []
    for run in quiver["runs"]:
        t = run["threshold"]
        truth = exact_pairs(raw, unit, t)
        rows = []

        def add(name, pairs, seconds, note="", load=None):
            found = pair_set(pairs) if not isinstance(pairs, set) else pairs
            hit = len(found & truth)
            rows.append({"name": name, "seconds": seconds, "pairs": len(found),
                         "recall": hit / len(truth) if truth else 1.0,
                         "false": len(found - truth), "note": note,
                         "load": load if load is not None else os.getloadavg()[0]})

        load = os.getloadavg()[0]
        numpy_pairs, numpy_seconds = timed(lambda: numpy_blocked(unit, t))
        add("numpy blocked exact", numpy_pairs, numpy_seconds, "float32 sgemm, blocks of 4096 rows", load=load)

        def flat():
            index = faiss.IndexFlatIP(d)
            index.add(unit)
            return range_pairs(index, unit, t)
        load = os.getloadavg()[0]
        flat_pairs, flat_seconds = timed(flat)
        add("FAISS IndexFlatIP range_search", flat_pairs, flat_seconds, "exact; returns scores > t", load=load)

        cells = run["kmeans_cells"]

        def ivf():
            quantizer = faiss.IndexFlatIP(d)
            index = faiss.IndexIVFFlat(quantizer, d, cells, faiss.METRIC_INNER_PRODUCT)
            index.train(unit)
            index.add(unit)
            index.nprobe = 4
            return range_pairs(index, unit, t)
        load = os.getloadavg()[0]
        ivf_pairs, ivf_seconds = timed(ivf)
        add(f"FAISS IndexIVFFlat range_search ({cells} lists, nprobe 4)", ivf_pairs, ivf_seconds,
            "approximate; training included", load=load)

        qdir = Path(args.quiver_dir)
        add("Quiver exact (blocked sgemm)", np.load(qdir / run["exact_file"]), run["exact_seconds"],
            "ExactPairSearch, confirmed in float64", load=run.get("load"))
        add(f"Quiver k-means blocking ({cells} cells)", np.load(qdir / run["kmeans_file"]), run["kmeans_seconds"],
            f"{run['kmeans_probes_per_row']:.2f} cells probed per row, "
            f"{100 * run['kmeans_compared_share']:.1f}% of all pairs scored; clustering included", load=run.get("load"))
        sections.append((t, len(truth), rows))

    out = []
    out.append(f"Machine: {machine['cpu']}, {machine['cores']} cores (shared with other work: load average "
               f"at each step below), numpy {np.__version__}, faiss-cpu {faiss.__version__}. "
               f"Data: {n:,} × {d} real MiniLM passage vectors (`../shared/data/base_f16.npy`, float16 widened to float32). "
               f"Similarity: cosine of the float32 rows; the exact pair set is re-scored in float64. "
               f"Command: `{args.command}` ({machine['time']}).")
    out.append("")
    for t, true_pairs, rows in sections:
        baseline = next(r["seconds"] for r in rows if r["name"].startswith("numpy"))
        out.append(f"**All pairs with cosine ≥ {t}** — {true_pairs:,} true pairs")
        out.append("")
        out.append("| method | time (s) | × numpy blocked exact | pairs found | recall of true pairs | false pairs | load at start | notes |")
        out.append("|---|---:|---:|---:|---:|---:|---:|---|")
        for r in rows:
            out.append(f"| {r['name']} | {r['seconds']:.2f} | {r['seconds'] / baseline:.2f} | {r['pairs']:,} | "
                       f"{r['recall']:.4f} | {r['false']} | {r['load']:.1f} | {r['note']} |")
        out.append("")
    sql = quiver.get("sql", [])
    if sql:
        out.append(f"End to end through SQL (`DEDUPE base ON embedding THRESHOLD t DRY RUN` on a table of the same rows, "
                   f"reading them from SQLite, searching, clustering; load of the table: {quiver['load_seconds']:.1f} s):")
        out.append("")
        out.append("| threshold | hint | strategy | time (s) | pairs | groups | duplicates |")
        out.append("|---:|---|---|---:|---:|---:|---:|")
        for s in sql:
            out.append(f"| {s['threshold']} | {s['hint'] or '—'} | {s['strategy']} | {s['seconds']:.2f} | {s['pairs']:,} | "
                       f"{s['clusters']:,} | {s['duplicates']:,} |")
        out.append("")
    texts = quiver.get("text", [])
    if texts:
        out.append("Text deduplication through SQL on the passages themselves (`body TEXT COMPRESSED`, "
                   "`DEDUPE base ON body … DRY RUN`); the EXACT count is checked against Python's own "
                   "normalization (unicodedata NFKC, lower(), NFKC, white space folded):")
        out.append("")
        oracle = exact_duplicate_rows(Path(args.data) / "base_text.jsonl.gz", quiver["n"])
        out.append("| method | rows | candidate pairs | pairs ≥ threshold | groups | duplicates | time (s) |")
        out.append("|---|---:|---:|---:|---:|---:|---:|")
        for r in texts:
            note = f" (Python: {oracle:,})" if r["method"] == "EXACT" else ""
            out.append(f"| `{r['method']}` | {r['rows']:,} | {r['candidates']:,} | {r['pairs']:,} | {r['clusters']:,} | "
                       f"{r['duplicates']:,}{note} | {r['seconds']:.2f} |")
        out.append("")
    text = "\n".join(out)
    Path(args.out).write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
