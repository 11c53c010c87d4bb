#!/usr/bin/env python3
"""Bulk import, side by side: `quiver import` (without and with an HNSW index), Chroma and
sqlite-vec loading the same passages with their metadata and 384-dim vectors, and hnswlib
building the same index alone (the yardstick for "import with index").

  Tools/bench/.venv/bin/python Tools/bench/import_bench.py --quiver .build-bench/release/quiver \
      --scales 1 --reps 2

Data: ../shared/data (override with --data): base_meta.jsonl.gz joined with base_text.jsonl.gz
by id into one JSONL (id, source, doc, section, lang, nchars, position, text) plus
base_f16.npy as the side vector file, row i with record i. --scales 14 repeats the 72,580
passages 14 times (1,016,120 rows) with new ids and vectors perturbed by Gaussian noise
(sigma 0.01 per element, renormalized), written once to Tools/bench/.cache/import/.

Every engine starts from files on disk and ends with the rows durable on disk:
  quiver      `quiver import --db D --table passages FILE.jsonl --vectors FILE.npy` (one
              process; wall time of the process). With index: the same with --schema naming an
              HNSW index (cosine, m 16, ef_construction 200), built on 2 threads at the end.
  chroma      chromadb PersistentClient: parse the JSONL (json.loads), np.load the vectors, then
              collection.add in batches of get_max_batch_size() (ids, embeddings, documents =
              text, metadatas); Chroma indexes as it adds (cosine, max_neighbors 16,
              ef_construction 200, num_threads 2).
  sqlite-vec  parse the same way, then one transaction: executemany into a plain table of the
              metadata and text, and into a vec0(embedding float[384] distance_metric=cosine)
              virtual table (sqlite-vec stores vectors; it has no ANN index to build).
  hnswlib     init_index + add_items on 2 threads (M 16, ef_construction 200) over the vectors
              already in memory: index build only, no rows, no parsing.
Peers run in their own processes, interleaved with Quiver's runs; the best of --reps runs is
reported, every run's time in the JSON.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

BENCH_DIR = Path(__file__).resolve().parent
CACHE = BENCH_DIR / ".cache" / "import"
DEFAULT_DATA = (BENCH_DIR.parents[1] / ".." / "shared" / "data").resolve()
COLUMNS = ("id", "source", "doc", "section", "lang", "nchars", "position", "text")


# ---------------------------------------------------------------- data

def prepare(data: Path, scale: int) -> tuple[Path, Path, int]:
    """The JSONL and .npy for `scale` copies of the corpus (cached)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    jsonl = CACHE / f"passages-x{scale}.jsonl"
    vectors = CACHE / f"vectors-x{scale}.npy"
    if jsonl.exists() and vectors.exists():
        return jsonl, vectors, sum(1 for _ in open(jsonl, "rb"))
    texts = {}
    with gzip.open(data / "base_text.jsonl.gz", "rt", encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            texts[r["id"]] = r["text"]
    metas = []
    with gzip.open(data / "base_meta.jsonl.gz", "rt", encoding="utf-8") as f:
        for line in f:
            metas.append(json.loads(line))
    base = np.load(data / "base_f16.npy")
    n = len(metas)
    assert base.shape[0] == n
    rng = np.random.default_rng(7)
    tmp = jsonl.with_suffix(".tmp")
    parts = []
    with open(tmp, "w", encoding="utf-8") as out:
        for copy in range(scale):
            for i, m in enumerate(metas):
                rec = {c: m[c] for c in COLUMNS if c in m}
                rec["id"] = copy * n + m["id"]
                rec["text"] = texts[m["id"]]
                out.write(json.dumps(rec, ensure_ascii=False) + "\n")
            if copy == 0:
                parts.append(base)
            else:
                noisy = base.astype(np.float32) + rng.normal(0, 0.01, base.shape).astype(np.float32)
                noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
                parts.append(noisy.astype(np.float16))
    os.replace(tmp, jsonl)
    np.save(vectors.with_suffix(".tmp.npy"), np.concatenate(parts))
    os.replace(vectors.with_suffix(".tmp.npy"), vectors)
    return jsonl, vectors, n * scale


def read_records(jsonl: Path) -> list[dict]:
    with open(jsonl, encoding="utf-8") as f:
        return [json.loads(line) for line in f]


# ---------------------------------------------------------------- engines (child processes)

def run_chroma(jsonl: Path, vectors: Path, workdir: Path) -> dict:
    import chromadb
    start = time.perf_counter()
    records = read_records(jsonl)
    emb = np.load(vectors).astype(np.float32)
    client = chromadb.PersistentClient(path=str(workdir), settings=chromadb.Settings(anonymized_telemetry=False))
    col = client.create_collection("passages", embedding_function=None,
                                   configuration={"hnsw": {"space": "cosine", "ef_construction": 200,
                                                           "max_neighbors": 16, "num_threads": 2}})
    batch = client.get_max_batch_size()
    for s in range(0, len(records), batch):
        chunk = records[s:s + batch]
        col.add(ids=[str(r["id"]) for r in chunk], embeddings=emb[s:s + len(chunk)],
                documents=[r["text"] for r in chunk],
                metadatas=[{c: r[c] for c in COLUMNS[1:-1]} for r in chunk])
    count = col.count()
    return {"seconds": time.perf_counter() - start, "rows": count, "version": chromadb.__version__,
            "batch_size": batch}


def run_sqlite_vec(jsonl: Path, vectors: Path, workdir: Path) -> dict:
    import sqlite3
    import sqlite_vec
    start = time.perf_counter()
    records = read_records(jsonl)
    emb = np.load(vectors).astype(np.float32)
    workdir.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(str(workdir / "passages.db"))
    con.enable_load_extension(True)
    sqlite_vec.load(con)
    con.enable_load_extension(False)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("CREATE TABLE passages (id INTEGER PRIMARY KEY, source TEXT, doc TEXT, section INTEGER, "
                "lang TEXT, nchars INTEGER, position INTEGER, text TEXT)")
    con.execute(f"CREATE VIRTUAL TABLE vec USING vec0(id INTEGER PRIMARY KEY, embedding float[{emb.shape[1]}] "
                "distance_metric=cosine)")
    with con:
        con.executemany("INSERT INTO passages VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (tuple(r.get(c) for c in COLUMNS) for r in records))
        con.executemany("INSERT INTO vec VALUES (?, ?)",
                        ((r["id"], emb[i].tobytes()) for i, r in enumerate(records)))
    count = con.execute("SELECT count(*) FROM vec").fetchone()[0]
    version = con.execute("SELECT vec_version()").fetchone()[0]
    con.close()
    return {"seconds": time.perf_counter() - start, "rows": count, "version": version, "sqlite": sqlite3.sqlite_version}


def run_hnswlib(jsonl: Path, vectors: Path, workdir: Path) -> dict:
    import hnswlib
    emb = np.ascontiguousarray(np.load(vectors).astype(np.float32))
    start = time.perf_counter()
    index = hnswlib.Index(space="cosine", dim=emb.shape[1])
    index.init_index(max_elements=emb.shape[0], ef_construction=200, M=16)
    index.set_num_threads(2)
    index.add_items(emb, np.arange(emb.shape[0]))
    return {"seconds": time.perf_counter() - start, "rows": index.get_current_count(), "version": "0.8.0",
            "note": "index build only: vectors already in memory"}


PEERS = {"chroma": run_chroma, "sqlite-vec": run_sqlite_vec, "hnswlib": run_hnswlib}


def quiver_run(binary: str, jsonl: Path, vectors: Path, workdir: Path, index: bool) -> dict:
    shutil.rmtree(workdir, ignore_errors=True)
    args = [binary, "import", "--db", str(workdir), "--table", "passages", str(jsonl), "--vectors", str(vectors),
            "--vector-column", "embedding", "--quiet"]
    if index:
        schema = workdir.with_suffix(".schema.json")
        schema.write_text(json.dumps({
            "key": "id",
            "columns": [{"name": "id", "type": "INTEGER"}, {"name": "source", "type": "TEXT"}, {"name": "doc", "type": "TEXT"},
                        {"name": "section", "type": "INTEGER"}, {"name": "lang", "type": "TEXT"},
                        {"name": "nchars", "type": "INTEGER"}, {"name": "position", "type": "INTEGER"},
                        {"name": "text", "type": "TEXT"}, {"name": "embedding", "type": "VECTOR(384)"}],
            "indexes": [{"name": "passages_embedding", "column": "embedding", "metric": "cosine", "m": 16,
                         "ef_construction": 200}]}))
        args += ["--schema", str(schema)]
    env = dict(os.environ, QUIVER_BUILD_THREADS="2")
    start = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"quiver import failed: {done.stderr}")
    return {"seconds": seconds, "summary": done.stdout.strip()}


def peer_in_child(engine: str, jsonl: Path, vectors: Path, workdir: Path) -> dict:
    shutil.rmtree(workdir, ignore_errors=True)
    out = subprocess.run([sys.executable, __file__, "--child", engine, "--jsonl", str(jsonl), "--vectors", str(vectors),
                          "--workdir", str(workdir)], capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"{engine} failed: {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--quiver", default=str(BENCH_DIR.parents[1] / ".build-bench" / "release" / "quiver"))
    p.add_argument("--data", default=str(DEFAULT_DATA))
    p.add_argument("--scales", default="1")
    p.add_argument("--reps", type=int, default=2)
    p.add_argument("--engines", default="quiver,quiver+index,chroma,sqlite-vec,hnswlib")
    p.add_argument("--out", default=str(CACHE / "results.json"))
    p.add_argument("--child")
    p.add_argument("--jsonl")
    p.add_argument("--vectors")
    p.add_argument("--workdir")
    a = p.parse_args()
    if a.child:
        print(json.dumps(PEERS[a.child](Path(a.jsonl), Path(a.vectors), Path(a.workdir))))
        return 0

    engines = a.engines.split(",")
    results = {"machine": {"cpus": os.cpu_count(), "uname": " ".join(os.uname())}, "runs": {}}
    for scale in (int(s) for s in a.scales.split(",")):
        jsonl, vectors, rows = prepare(Path(a.data), scale)
        size = jsonl.stat().st_size + vectors.stat().st_size
        key = f"x{scale}"
        results["runs"][key] = {"rows": rows, "input_bytes": size, "engines": {e: [] for e in engines}}
        print(f"== scale x{scale}: {rows:,} rows, {size / 1e6:.0f} MB of input", flush=True)
        for rep in range(a.reps):
            for engine in engines:
                work = CACHE / f"work-{engine}"
                load = loadavg()
                if engine.startswith("quiver"):
                    r = quiver_run(a.quiver, jsonl, vectors, work, index=engine == "quiver+index")
                else:
                    r = peer_in_child(engine, jsonl, vectors, work)
                r["load"] = load
                results["runs"][key]["engines"][engine].append(r)
                print(f"   {engine:13s} rep {rep + 1}: {r['seconds']:8.2f} s  ({rows / r['seconds']:,.0f} rows/s)  load {load}", flush=True)
                shutil.rmtree(work, ignore_errors=True)
        Path(a.out).write_text(json.dumps(results, indent=1))
    Path(a.out).write_text(json.dumps(results, indent=1))
    print(f"results: {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
