#!/usr/bin/env python3
"""Full-text search side by side on the real set: Quiver's full-text index (CJK bigrams), SQLite
FTS5 with the trigram and unicode61 tokenizers, and LanceDB's full-text index with its default
and n-gram tokenizers, over the same 72,580 texts.

Per engine: the index build time and size, recall and precision of Chinese terms of 1-4
characters against a substring oracle and of English words against a whole-word oracle (both
after NFKC and case folding), and the median query time. Terms are drawn from the texts with a
fixed seed, so every engine answers the same ones.

    fts_bench.py --data ../shared/data --quiver-bench .build-bench/release/quiver-bench \
                 --quiver .build-bench/release/quiver --out Tools/bench/.cache/fts/results.json
"""
import argparse
import gzip
import json
import os
import random
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import unicodedata

CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
CJK_RUN = re.compile(f"[{CJK}]+")
WORD = re.compile(f"[^\\W_{CJK}]+")


def normalized(text):
    """NFKC_Casefold, as Quiver compares text."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())


def load_texts(data):
    rows = []
    with gzip.open(os.path.join(data, "base_text.jsonl.gz"), "rt", encoding="utf-8") as f:
        for line in f:
            record = json.loads(line)
            rows.append((int(record["id"]), record["text"]))
    rows.sort()
    return rows


def sample_terms(rows, seed, per_length=50, english=100):
    """Chinese substrings of 1-4 characters (uniform over positions in CJK runs, so common words
    come up as often as they occur) and English words (half by occurrence, half by vocabulary)."""
    rng = random.Random(seed)
    runs = [run for _, text in rows for run in CJK_RUN.findall(normalized(text))]
    chinese = {}
    for length in range(1, 5):
        candidates = [run for run in runs if len(run) >= length]
        picked = set()
        while len(picked) < per_length:
            run = rng.choice(candidates)
            start = rng.randrange(len(run) - length + 1)
            picked.add(run[start:start + length])
        chinese[length] = sorted(picked)
    occurrences = [w for _, text in rows for w in WORD.findall(normalized(text)) if len(w) >= 3 and w.isalpha()]
    vocabulary = sorted(set(occurrences))
    words = set()
    while len(words) < english // 2:
        words.add(rng.choice(occurrences))
    while len(words) < english:
        words.add(rng.choice(vocabulary))
    return {"chinese": {str(k): v for k, v in chinese.items()}, "english": sorted(words)}


def oracles(rows, terms):
    texts = [(i, normalized(t)) for i, t in rows]
    words = [(i, set(WORD.findall(t))) for i, t in texts]
    truth = {}
    for length, group in terms["chinese"].items():
        for term in group:
            truth[term] = {i for i, t in texts if term in t}
    for word in terms["english"]:
        truth[word] = {i for i, w in words if word in w}
    return truth


def dir_bytes(path):
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            total += os.path.getsize(os.path.join(root, name))
    return total


def all_terms(terms):
    return [t for group in terms["chinese"].values() for t in group] + terms["english"]


def fts5_quote(term):
    return '"' + term.replace('"', '""') + '"'


def run_fts5(rows, terms, tokenizer, contentless, workdir):
    path = os.path.join(workdir, f"fts5-{tokenizer}-{int(contentless)}.sqlite")
    if os.path.exists(path):
        os.remove(path)
    db = sqlite3.connect(path)
    options = f"tokenize='{tokenizer}'" + (", content=''" if contentless else "")
    db.execute(f"CREATE VIRTUAL TABLE ft USING fts5(body, {options})")
    start = time.perf_counter()
    with db:
        db.executemany("INSERT INTO ft(rowid, body) VALUES (?, ?)", rows)
    build = time.perf_counter() - start
    size = db.execute("SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'ft%'").fetchone()[0]
    found, times = {}, []
    for term in all_terms(terms):
        start = time.perf_counter()
        found[term] = [r for (r,) in db.execute("SELECT rowid FROM ft WHERE ft MATCH ?", (fts5_quote(term),))]
        times.append(time.perf_counter() - start)
    db.close()
    return {"build_seconds": build, "index_bytes": size, "found": found, "query_ms_p50": statistics.median(times) * 1e3}


def run_lancedb(rows, terms, base_tokenizer, workdir):
    import lancedb
    import pyarrow as pa
    path = os.path.join(workdir, f"lance-{base_tokenizer}")
    shutil.rmtree(path, ignore_errors=True)
    db = lancedb.connect(path)
    table = db.create_table("t", pa.table({"id": [i for i, _ in rows], "body": [t for _, t in rows]}))
    before = dir_bytes(path)
    start = time.perf_counter()
    table.create_fts_index("body", base_tokenizer=base_tokenizer, with_position=True)
    build = time.perf_counter() - start
    size = dir_bytes(path) - before
    found, times = {}, []
    for term in all_terms(terms):
        start = time.perf_counter()
        hits = table.search(term, query_type="fts").select(["id"]).limit(len(rows)).to_list()
        times.append(time.perf_counter() - start)
        found[term] = [h["id"] for h in hits]
    return {"build_seconds": build, "index_bytes": size, "found": found, "query_ms_p50": statistics.median(times) * 1e3}


def run_quiver(args, terms, workdir):
    """`quiver-bench fulltext`: loads the texts, times CREATE INDEX … USING fts, measures its size
    and runs every term as `WHERE body MATCH ?` (the query syntax users write)."""
    terms_path = os.path.join(workdir, "terms.json")
    with open(terms_path, "w", encoding="utf-8") as f:
        json.dump(all_terms(terms), f, ensure_ascii=False)
    out = os.path.join(workdir, "quiver.json")
    db = os.path.join(workdir, "quiver-db")
    shutil.rmtree(db, ignore_errors=True)
    subprocess.run([args.quiver_bench, "fulltext", "--data", args.data, "--db", db, "--terms", terms_path,
                    "--out", out], check=True)
    with open(out, encoding="utf-8") as f:
        return json.load(f)


def score(found, truth, terms):
    def group(names):
        recalls, precisions, misses = [], [], []
        for term in names:
            got, want = set(found.get(term, [])), truth[term]
            hit = len(got & want)
            recalls.append(hit / len(want) if want else 1.0)
            precisions.append(hit / len(got) if got else (1.0 if not want else 0.0))
            if want and hit < len(want):
                misses.append(term)
        return {"recall_mean": statistics.mean(recalls), "recall_min": min(recalls),
                "precision_mean": statistics.mean(precisions), "precision_min": min(precisions),
                "terms_missing_rows": len(misses), "example_misses": misses[:5]}
    result = {f"zh{length}": group(names) for length, names in terms["chinese"].items()}
    result["en"] = group(terms["english"])
    return result


def peer_versions():
    import importlib.metadata as metadata
    versions = {}
    for package in ("lancedb", "pyarrow"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            pass
    return versions


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "../../../shared/data"))
    p.add_argument("--quiver-bench", default=".build-bench/release/quiver-bench")
    p.add_argument("--engines", default="quiver,fts5-trigram,fts5-unicode61,lancedb,lancedb-ngram")
    p.add_argument("--seed", type=int, default=18)
    p.add_argument("--workdir", default=None)
    p.add_argument("--out", default="Tools/bench/.cache/fts/results.json")
    args = p.parse_args()
    workdir = args.workdir or tempfile.mkdtemp(prefix="quiver-fts-bench-")
    os.makedirs(workdir, exist_ok=True)
    rows = load_texts(args.data)
    terms = sample_terms(rows, args.seed)
    truth = oracles(rows, terms)
    results = {"rows": len(rows), "text_bytes": sum(len(t.encode()) for _, t in rows), "terms": terms,
               "oracle_rows": {t: len(v) for t, v in truth.items()}, "engines": {},
               "machine": {"cpus": os.cpu_count(), "uname": " ".join(os.uname())},
               "sqlite": sqlite3.sqlite_version, "versions": peer_versions()}
    for engine in args.engines.split(","):
        load = open("/proc/loadavg").read().split()[:3]
        print(f"== {engine}   (load: {' '.join(load)})", flush=True)
        if engine == "quiver":
            r = run_quiver(args, terms, workdir)
        elif engine == "fts5-trigram":
            r = run_fts5(rows, terms, "trigram", contentless=False, workdir=workdir)
            r["contentless_bytes"] = run_fts5(rows, terms, "trigram", True, workdir)["index_bytes"]
        elif engine == "fts5-unicode61":
            r = run_fts5(rows, terms, "unicode61", contentless=False, workdir=workdir)
            r["contentless_bytes"] = run_fts5(rows, terms, "unicode61", True, workdir)["index_bytes"]
        elif engine == "lancedb":
            r = run_lancedb(rows, terms, "simple", workdir)
        elif engine == "lancedb-ngram":
            r = run_lancedb(rows, terms, "ngram", workdir)
        else:
            sys.exit(f"unknown engine {engine}")
        r["scores"] = score(r.pop("found"), truth, terms)
        r["load"] = load
        results["engines"][engine] = r
        s = r["scores"]
        print(f"   build {r['build_seconds']:.1f} s, index {r['index_bytes'] / 1e6:.1f} MB, "
              f"p50 {r['query_ms_p50']:.2f} ms; recall zh1-4 "
              + " ".join(f"{s[f'zh{n}']['recall_mean']:.3f}" for n in range(1, 5))
              + f", en {s['en']['recall_mean']:.3f}; precision zh "
              + " ".join(f"{s[f'zh{n}']['precision_mean']:.3f}" for n in range(1, 5))
              + f", en {s['en']['precision_mean']:.3f}", flush=True)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(results, f, ensure_ascii=False, indent=1)
    print(f"results: {args.out}")


if __name__ == "__main__":
    main()
