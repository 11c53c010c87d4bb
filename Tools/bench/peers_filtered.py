#!/usr/bin/env python3
"""Peer side of the filtered nearest-neighbour benchmark on the real set (../shared/data).

  Tools/bench/.venv/bin/python Tools/bench/peers_filtered.py --engines hnswlib,faiss,chroma,sqlite-vec

For each engine and each filter of filters.json (11 SQL WHERE expressions over the metadata,
selectivity ~50% down to 0.1%, `lang = 'zh'` anti-correlated with most queries): recall@10
against gt_filter_<name>.npy (tie rule of benchlib: a returned id is a hit when it is in the
true top-10 or its similarity ties the 10th true similarity within 1e-6; with -1 padding the
expected count is the number of valid ids, i.e. min(10, matching rows)), queries/s, p50/p99 ms
(one query per call, k=10, one search thread), "short results" (queries that returned fewer
than min(10, matching rows) ids) and "violations" (returned ids that do not satisfy the filter).

The allowed id set of a filter is computed here, in Python, by running the filter's WHERE
expression as-is over an in-memory sqlite3 table base(id, source, doc, section, lang, nchars,
position) loaded from base_meta.jsonl.gz; its size is checked against filters.json.

Engines, each with its natural filtered-search mechanism (build M=16, ef_construction=200 with
2 threads; search ef=64, 1 thread):
  hnswlib     Index(space='cosine'); knn_query(q, k=10, filter=allowed.__contains__, num_threads=1).
              The filter is a Python callable that hnswlib calls for every candidate it visits,
              so it pays a Python call per node (slow; reported as is). hnswlib 0.8.0 raises
              RuntimeError when it finds fewer than k allowed rows: counted as a short result
              with 0 rows returned.
  faiss       IndexHNSWFlat(dim, 16, METRIC_INNER_PRODUCT) on the normalized vectors,
              efConstruction=200; search(q, 10, params=SearchParametersHNSW(
              sel=IDSelectorBatch(allowed), efSearch=64)). The selector is built once per
              filter, outside the timed loop; its build time is reported separately
              (selector_ms) because an application whose filter changes per query pays it per query.
  chroma      chromadb PersistentClient (in-process, on disk under .cache), collection with
              hnsw space cosine, max_neighbors=16, ef_construction=200, ef_search=64, the six
              metadata fields; query(query_embeddings=[q], n_results=10, where=...). The WHERE
              expression is translated to Chroma's where ($eq/$ne/$lt/$lte/$gt/$gte/$in/$and);
              LIKE has no Chroma equivalent on metadata ($contains is array membership), so
              those filters are "not expressible" and skipped.
  sqlite-vec  vec0 virtual table (embedding float[384] distance_metric=cosine, plus the six
              metadata columns) in a SQLite file under .cache; SELECT rowid, distance ... WHERE
              embedding MATCH ? AND k = 10 AND <filter>. vec0 is brute force (exact): it scans
              every vector chunk, evaluating the metadata filter inside the scan. vec0 accepts
              =, !=, <, <=, >, >= and IN on metadata columns; LIKE raises an error, so those
              filters are "unsupported" and skipped.

Each filter gets one untimed warm-up pass over the queries (--warmup 0 to skip), then --repeats
timed passes (latencies pooled; recall and short counts from the first timed pass).
"""

from __future__ import annotations

import argparse
import gc
import gzip
import importlib.metadata
import json
import os
import re
import shutil
import sqlite3
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib  # noqa: E402

ENGINES = ("hnswlib", "faiss", "chroma", "sqlite-vec")
META_COLUMNS = ("source", "doc", "section", "lang", "nchars", "position")


# ---------------------------------------------------------------- data, filters

def load_metadata(data_dir: Path) -> sqlite3.Connection:
    con = sqlite3.connect(":memory:")
    con.execute("CREATE TABLE base (id INTEGER PRIMARY KEY, source TEXT, doc TEXT, "
                "section INTEGER, lang TEXT, nchars INTEGER, position INTEGER)")
    rows = []
    with gzip.open(data_dir / "base_meta.jsonl.gz", "rt", encoding="utf-8") as f:
        for i, line in enumerate(f):
            m = json.loads(line)
            if int(m["id"]) != i:
                raise ValueError(f"base_meta row {i} has id {m['id']}")
            rows.append((i, m["source"], m["doc"], int(m["section"]), m["lang"],
                         int(m["nchars"]), int(m["position"])))
    con.executemany("INSERT INTO base VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    con.commit()
    return con


def metadata_rows(con: sqlite3.Connection) -> list[tuple]:
    return con.execute("SELECT id, source, doc, section, lang, nchars, position FROM base "
                       "ORDER BY id").fetchall()


class Unsupported(Exception):
    pass


_TOKEN = re.compile(r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>-?\d+(?:\.\d+)?)"
                    r"|(?P<op><=|>=|!=|<>|=|<|>)|(?P<punc>[(),])"
                    r"|(?P<word>[A-Za-z_][A-Za-z0-9_]*))")


def _tokens(where: str) -> list[tuple[str, object]]:
    out, pos = [], 0
    where = where.strip()
    while pos < len(where):
        m = _TOKEN.match(where, pos)
        if not m or m.end() == pos:
            raise Unsupported(f"cannot tokenize {where[pos:]!r}")
        pos = m.end()
        kind = m.lastgroup
        text = m.group(kind)
        if kind == "str":
            out.append(("lit", text[1:-1].replace("''", "'")))
        elif kind == "num":
            out.append(("lit", float(text) if "." in text else int(text)))
        elif kind == "word":
            out.append(("kw", text.upper()) if text.upper() in ("AND", "OR", "NOT", "IN", "LIKE",
                                                                 "BETWEEN", "IS", "NULL")
                       else ("col", text))
        else:
            out.append((kind, "!=" if text == "<>" else text))
    return out


def parse_conjunction(where: str) -> list[tuple[str, str, object]]:
    """`col OP lit [AND ...]` with OP in = != < <= > >= IN(...) LIKE -> [(col, op, value)].

    Anything else (OR, NOT, BETWEEN, parentheses grouping, functions) raises Unsupported: the
    translators below only need what filters.json uses, and say so when that changes."""
    toks = _tokens(where)
    preds, i = [], 0

    def take(kind=None, value=None):
        nonlocal i
        if i >= len(toks):
            raise Unsupported(f"unexpected end of {where!r}")
        t = toks[i]
        if (kind and t[0] != kind) or (value is not None and t[1] != value):
            raise Unsupported(f"unexpected {t[1]!r} in {where!r}")
        i += 1
        return t

    while True:
        col = take("col")[1]
        if col not in META_COLUMNS and col != "id":
            raise Unsupported(f"unknown column {col}")
        t = take()
        if t[0] == "op":
            preds.append((col, t[1], take("lit")[1]))
        elif t == ("kw", "IN"):
            take("punc", "(")
            vals = [take("lit")[1]]
            while toks[i] == ("punc", ","):
                i += 1
                vals.append(take("lit")[1])
            take("punc", ")")
            preds.append((col, "IN", vals))
        elif t == ("kw", "LIKE"):
            preds.append((col, "LIKE", take("lit")[1]))
        else:
            raise Unsupported(f"operator {t[1]!r} in {where!r}")
        if i == len(toks):
            return preds
        take("kw", "AND")


_CHROMA_OPS = {"=": "$eq", "!=": "$ne", "<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte",
               "IN": "$in"}


def to_chroma_where(where: str) -> dict:
    preds = parse_conjunction(where)
    clauses = []
    for col, op, val in preds:
        if op not in _CHROMA_OPS:
            raise Unsupported(f"{op} has no Chroma metadata operator "
                              "($contains matches array elements, not substrings)")
        clauses.append({col: {_CHROMA_OPS[op]: val}})
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def to_vec0_where(where: str) -> tuple[str, list]:
    preds = parse_conjunction(where)
    parts, params = [], []
    for col, op, val in preds:
        if op == "LIKE":
            raise Unsupported("vec0 metadata columns accept =, !=, <, <=, >, >=, IN "
                              "(LIKE: 'illegal WHERE constraint ... in a KNN query')")
        if op == "IN":
            parts.append(f"{col} IN ({', '.join('?' * len(val))})")
            params.extend(val)
        else:
            parts.append(f"{col} {op} ?")
            params.append(val)
    return " AND ".join(parts), params


# ---------------------------------------------------------------- scoring

def score_filter(base: np.ndarray, queries: np.ndarray, gt_ids: np.ndarray,
                 gt_scores: np.ndarray, results: list[list[int]], allowed: set[int],
                 k: int = 10, eps: float = benchlib.TIE_EPS) -> dict:
    """recall@k with benchlib's tie rule, -1 padding aware, plus short results and violations."""
    per_query, short, empty, violations, hits_total, expected_total = [], 0, 0, 0, 0, 0
    for qi, got_raw in enumerate(results):
        got, seen = [], set()
        for x in list(got_raw)[:k]:
            x = int(x)
            if x >= 0 and x not in seen:
                seen.add(x)
                got.append(x)
        truth_row = [int(t) for t in gt_ids[qi, :k] if t >= 0]
        expected = len(truth_row)                       # = min(k, matching rows)
        violations += sum(1 for x in got if x not in allowed)
        if len(got) < expected:
            short += 1
        if not got:
            empty += 1
        if expected == 0:
            per_query.append(1.0)
            continue
        truth = set(truth_row)
        kth = float(gt_scores[qi, expected - 1])
        q64 = queries[qi].astype(np.float64)
        hits = 0
        for x in got:
            if x in truth:
                hits += 1
            elif x in allowed and float(np.dot(base[x].astype(np.float64), q64)) >= kth - eps:
                hits += 1
        hits = min(hits, expected)
        hits_total += hits
        expected_total += expected
        per_query.append(hits / expected)
    return {"recall_at_10": float(np.mean(per_query)),
            "recall_hits": hits_total, "recall_expected": expected_total,
            "short_results": short, "empty_results": empty, "violations": violations}


# ---------------------------------------------------------------- engines

class HnswlibEngine:
    name = "hnswlib"

    def __init__(self, a, base, meta):
        import hnswlib
        self.version = importlib.metadata.version("hnswlib")
        self.index = hnswlib.Index(space="cosine", dim=base.shape[1])
        with benchlib.Timer() as t:
            self.index.init_index(max_elements=base.shape[0], ef_construction=a.ef_construction,
                                  M=a.m, random_seed=100)
            self.index.add_items(base, np.arange(base.shape[0]), num_threads=a.threads)
        self.build_seconds = t.seconds
        self.index.set_num_threads(1)
        self.index.set_ef(a.ef)
        self.k = a.k
        self.params = {"space": "cosine", "M": a.m, "ef_construction": a.ef_construction,
                       "ef": a.ef, "filter": "Python callable allowed_set.__contains__"}

    def prepare(self, f):
        f["native"] = "filter=allowed_set.__contains__ (Python callback per visited node)"
        fn = f["allowed"].__contains__
        k, index = self.k, self.index

        def search(q):
            try:
                labels, _ = index.knn_query(q, k=k, filter=fn, num_threads=1)
                return labels[0].tolist()
            except RuntimeError:        # fewer than k allowed rows found: no partial result
                return []
        return search


class FaissEngine:
    name = "faiss"

    def __init__(self, a, base, meta):
        import faiss
        self.faiss = faiss
        self.version = faiss.__version__
        faiss.omp_set_num_threads(a.threads)
        self.index = faiss.IndexHNSWFlat(base.shape[1], a.m, faiss.METRIC_INNER_PRODUCT)
        self.index.hnsw.efConstruction = a.ef_construction
        with benchlib.Timer() as t:
            self.index.add(base)
        self.build_seconds = t.seconds
        faiss.omp_set_num_threads(1)
        self.k, self.ef = a.k, a.ef
        self.params = {"index": f"IndexHNSWFlat(M={a.m}, METRIC_INNER_PRODUCT)",
                       "efConstruction": a.ef_construction, "efSearch": a.ef,
                       "selector": "IDSelectorBatch(allowed ids), built once per filter"}

    def prepare(self, f):
        faiss = self.faiss
        ids = np.fromiter(sorted(f["allowed"]), dtype=np.int64, count=len(f["allowed"]))
        times = []
        for _ in range(5):
            t = time.perf_counter()
            sel = faiss.IDSelectorBatch(ids)
            times.append(time.perf_counter() - t)
        f["selector_ms"] = float(np.median(times) * 1e3)
        f["native"] = "SearchParametersHNSW(sel=IDSelectorBatch(allowed), efSearch=%d)" % self.ef
        params = faiss.SearchParametersHNSW(sel=sel, efSearch=self.ef)
        index, k = self.index, self.k

        def search(q):
            _, labels = index.search(q, k, params=params)
            return [int(x) for x in labels[0] if x >= 0]
        return search


class ChromaEngine:
    name = "chroma"

    def __init__(self, a, base, meta):
        import chromadb
        self.version = chromadb.__version__
        path = benchlib.CACHE_DIR / "chroma-filtered"
        shutil.rmtree(path, ignore_errors=True)
        self.client = chromadb.PersistentClient(
            path=str(path), settings=chromadb.Settings(anonymized_telemetry=False))
        config = {"hnsw": {"space": "cosine", "ef_construction": a.ef_construction,
                           "ef_search": a.ef, "max_neighbors": a.m, "num_threads": a.threads}}
        self.col = self.client.create_collection("quiver-filtered", embedding_function=None,
                                                 configuration=config)
        metas = [dict(zip(META_COLUMNS, r[1:])) for r in meta]
        batch = self.client.get_max_batch_size()
        with benchlib.Timer() as t:
            for s in range(0, base.shape[0], batch):
                e = min(s + batch, base.shape[0])
                self.col.add(ids=[str(i) for i in range(s, e)], embeddings=base[s:e],
                             metadatas=metas[s:e])
        self.build_seconds = t.seconds
        self.k = a.k
        self.params = {"client": "PersistentClient (in-process, on disk)",
                       "configuration": {k: v for k, v in
                                         (self.col.configuration.get("hnsw") or {}).items()},
                       "requested_num_threads": a.threads, "batch_size": batch}

    def prepare(self, f):
        w = to_chroma_where(f["where"])          # raises Unsupported for LIKE
        f["native"] = json.dumps(w)
        col, k = self.col, self.k

        def search(q):
            r = col.query(query_embeddings=q, n_results=k, where=w, include=["distances"])
            return [int(x) for x in r["ids"][0]]
        return search


class SqliteVecEngine:
    name = "sqlite-vec"

    def __init__(self, a, base, meta):
        import sqlite_vec
        path = benchlib.CACHE_DIR / "sqlite-vec-filtered.db"
        for p in (path, Path(str(path) + "-journal"), Path(str(path) + "-wal")):
            p.unlink(missing_ok=True)
        self.con = sqlite3.connect(str(path))
        self.con.enable_load_extension(True)
        sqlite_vec.load(self.con)
        self.con.enable_load_extension(False)
        self.version = self.con.execute("SELECT vec_version()").fetchone()[0]
        self.con.execute(f"CREATE VIRTUAL TABLE vbase USING vec0(id INTEGER PRIMARY KEY, "
                         f"embedding float[{base.shape[1]}] distance_metric=cosine, source TEXT, "
                         f"doc TEXT, section INTEGER, lang TEXT, nchars INTEGER, position INTEGER)")
        with benchlib.Timer() as t:
            with self.con:
                self.con.executemany("INSERT INTO vbase VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                                     ((r[0], base[r[0]].tobytes()) + tuple(r[1:]) for r in meta))
        self.build_seconds = t.seconds
        self.k = a.k
        self.params = {"table": "vec0(embedding float[384] distance_metric=cosine, "
                                "+ 6 metadata columns)", "search": "brute force (exact)",
                       "sqlite": sqlite3.sqlite_version, "storage": str(path.name)}

    def prepare(self, f):
        cond, params = to_vec0_where(f["where"])  # raises Unsupported for LIKE
        sql = (f"SELECT id FROM vbase WHERE embedding MATCH ? AND k = {self.k} AND {cond}")
        f["native"] = f"... AND {cond}  params={params}"
        con = self.con
        params = tuple(params)

        def search(q):
            return [r[0] for r in con.execute(sql, (q.tobytes(),) + params)]
        return search


ENGINE_CLASSES = {c.name: c for c in (HnswlibEngine, FaissEngine, ChromaEngine, SqliteVecEngine)}


# ---------------------------------------------------------------- driver

def run_engine(name, a, data_dir, base, queries, meta_rows, filters) -> dict:
    load_at_start = os.getloadavg()
    gc.collect()
    print(f"== {name}: build (load {load_at_start[0]:.2f} {load_at_start[1]:.2f} "
          f"{load_at_start[2]:.2f})", flush=True)
    eng = ENGINE_CLASSES[name](a, base, meta_rows)
    print(f"   {name} {eng.version}: build {eng.build_seconds:.1f} s", flush=True)
    qs = [np.ascontiguousarray(queries[i:i + 1]) for i in range(len(queries))]
    out_filters = []
    for f in filters:
        rec = {"name": f["name"], "where": f["where"], "count": f["count_here"],
               "selectivity": f["selectivity"]}
        fd = dict(f)
        try:
            search = eng.prepare(fd)
        except Unsupported as e:
            rec.update({"expressible": False, "reason": str(e)})
            out_filters.append(rec)
            print(f"   {f['name']:<15} not expressible: {e}", flush=True)
            continue
        rec["expressible"] = True
        rec["native"] = fd.get("native")
        if "selector_ms" in fd:
            rec["selector_ms"] = fd["selector_ms"]
        for _ in range(a.warmup):
            for q in qs:
                search(q)
        lat, first = [], None
        for rep in range(a.repeats):
            got = []
            for q in qs:
                t = time.perf_counter()
                ids = search(q)
                lat.append(time.perf_counter() - t)
                got.append(ids)
            if first is None:
                first = got
        rec.update(score_filter(base, queries, fd["gt_ids"], fd["gt_scores"], first,
                                f["allowed"], k=a.k))
        rec.update(benchlib.latency_summary(lat))
        if "selector_ms" in rec:
            rec["qps_with_selector"] = 1e3 / (rec["mean_ms"] + rec["selector_ms"])
        out_filters.append(rec)
        print(f"   {f['name']:<15} sel={f['selectivity']:.4f} recall@10={rec['recall_at_10']:.4f} "
              f"qps={rec['qps']:.0f} p50={rec['p50_ms']:.3f} p99={rec['p99_ms']:.3f} "
              f"short={rec['short_results']} viol={rec['violations']}"
              + (f" selector={rec['selector_ms']:.3f} ms" if "selector_ms" in rec else ""),
              flush=True)
    result = {
        "engine": name, "version": eng.version, "dataset": "real", "data": str(data_dir),
        "n": int(base.shape[0]), "dim": int(base.shape[1]), "queries": int(len(queries)),
        "k": a.k, "m": a.m, "ef_construction": a.ef_construction, "ef_search": a.ef,
        "build_threads": a.threads, "search_threads": 1, "warmup_passes": a.warmup,
        "repeats": a.repeats, "build_seconds": eng.build_seconds, "params": eng.params,
        "filters": out_filters, "machine": benchlib.machine_info(),
        "loadavg_at_start": load_at_start, "loadavg_at_end": os.getloadavg(),
    }
    del eng
    gc.collect()
    return result


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--engines", default=",".join(ENGINES),
                   help=f"comma-separated subset of {','.join(ENGINES)}")
    p.add_argument("--data", default=str(benchlib.REAL_DATA_DIR))
    p.add_argument("--filters", default="", help="comma-separated filter names (default all)")
    p.add_argument("--m", type=int, default=16)
    p.add_argument("--ef-construction", type=int, default=200)
    p.add_argument("--ef", type=int, default=64, help="ef_search")
    p.add_argument("--threads", type=int, default=2, help="build threads (search uses 1)")
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--warmup", type=int, default=1, help="untimed passes per filter")
    p.add_argument("--repeats", type=int, default=1, help="timed passes per filter")
    p.add_argument("--out-dir", default=str(benchlib.CACHE_DIR))
    return p.parse_args(argv)


def main(argv=None) -> int:
    a = parse_args(argv)
    engines = [e.strip() for e in a.engines.split(",") if e.strip()]
    for e in engines:
        if e not in ENGINE_CLASSES:
            raise SystemExit(f"unknown engine {e!r} (choose from {', '.join(ENGINES)})")
    data_dir = Path(a.data)
    t0 = time.perf_counter()
    base = np.ascontiguousarray(np.load(data_dir / "base_f16.npy").astype(np.float32))
    queries = np.ascontiguousarray(np.load(data_dir / "queries.npy").astype(np.float32))
    con = load_metadata(data_dir)
    meta_rows = metadata_rows(con)
    spec = json.loads((data_dir / "filters.json").read_text())
    wanted = {x.strip() for x in a.filters.split(",") if x.strip()}
    filters = []
    for f in spec["filters"]:
        if wanted and f["name"] not in wanted:
            continue
        allowed = {r[0] for r in con.execute(f"SELECT id FROM base WHERE {f['where']}")}
        if len(allowed) != f["count"]:
            raise SystemExit(f"filter {f['name']}: {len(allowed)} rows here, "
                             f"filters.json says {f['count']}")
        filters.append({**f, "allowed": allowed, "count_here": len(allowed),
                        "gt_ids": np.load(data_dir / f["gt_file"]),
                        "gt_scores": np.load(data_dir / f["gt_scores_file"])})
    print(f"loaded n={base.shape[0]} dim={base.shape[1]} queries={len(queries)} "
          f"filters={len(filters)} ({time.perf_counter() - t0:.1f} s)", flush=True)
    for name in engines:
        result = run_engine(name, a, data_dir, base, queries, meta_rows, filters)
        out = Path(a.out_dir) / f"filtered-{name}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(result, indent=2) + "\n")
        os.replace(tmp, out)
        print(f"   wrote {out}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
