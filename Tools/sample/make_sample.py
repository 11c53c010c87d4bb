#!/usr/bin/env python3
"""Build the small text sample shipped in Tools/sample/ (demo data and test oracle).

Usage (from the repo root):
    python3 Tools/sample/make_sample.py [DATA_DIR]

DATA_DIR defaults to ../shared/data relative to the repo root and must hold the
embedding set described in its README.md (base_f16.npy, base_meta.jsonl.gz,
base_text.jsonl.gz, queries.npy, queries_meta.jsonl.gz, queries_text.jsonl.gz).
Needs numpy; everything else is the standard library. The output is deterministic.

Writes, next to this script:
    passages.jsonl      1000 Python-documentation passages, ids 1..1000
    passages.f16.npy    1000 x 384 float16, row i = passage id i+1
    questions.jsonl     8 held-out passages used as questions, ids 1..8
    questions.f32.npy   8 x 384 float32, row i = question id i+1
    expected_top5.json  exact cosine top-5 per question (the tests' oracle)
    ATTRIBUTION.md      where the text and vectors come from
"""

import gzip
import json
import os
import sys

import numpy as np

N_PASSAGES = 1000
N_QUESTIONS = 8
DIM = 384
MIN_TOP1 = 0.60     # a question's nearest sample passage must be at least this similar
MAX_TOP1 = 0.90     # ... but not a near-copy of it
MIN_GAP = 1e-4      # distinct similarities among a question's top 6, so the oracle is stable
MAX_Q_CHARS = 650   # keep questions readable

# Themes of related documents, so that passages form coherent neighbourhoods across
# several documents. Whole documents are taken in this order while they fit in
# N_PASSAGES; if the total falls short, the next document is cut to its first passages.
THEMES = [
    ("compression", ["library/gzip.html", "library/bz2.html", "library/lzma.html",
                     "library/zlib.html", "library/zipfile.html", "library/tarfile.html"]),
    ("data formats", ["library/json.html", "library/csv.html", "library/struct.html",
                      "library/pprint.html", "library/shelve.html", "library/dbm.html"]),
    ("dates and times", ["library/time.html", "library/zoneinfo.html"]),
    ("numbers", ["library/math.html", "library/cmath.html", "library/fractions.html",
                 "library/random.html", "library/bisect.html", "library/heapq.html"]),
    ("tutorial", ["tutorial/datastructures.html", "tutorial/errors.html",
                  "tutorial/inputoutput.html", "tutorial/floatingpoint.html",
                  "tutorial/venv.html"]),
    ("internet", ["library/http.client.html", "library/http.server.html",
                  "library/urllib.parse.html", "howto/urllib2.html", "howto/sockets.html"]),
    ("email", ["library/email.html", "library/email.parser.html",
               "library/email.examples.html", "library/smtplib.html"]),
    ("concurrency", ["library/concurrent.futures.html", "library/queue.html",
                     "library/asyncio-sync.html", "library/asyncio-queue.html"]),
    ("debugging", ["library/pdb.html", "library/timeit.html", "library/traceback.html",
                   "library/tracemalloc.html"]),
    ("files", ["library/os.path.html", "library/tempfile.html", "library/glob.html",
               "library/fnmatch.html"]),
]


def read_jsonl_gz(path):
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def write_jsonl(path, rows):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n")


def cosine_sims(q, p):
    """Cosine similarities in float64 between rows of q (m x d) and p (n x d)."""
    q = q.astype(np.float64)
    p = p.astype(np.float64)
    qn = q / np.linalg.norm(q, axis=1, keepdims=True)
    pn = p / np.linalg.norm(p, axis=1, keepdims=True)
    return qn @ pn.T


def topk(sims_row, k):
    """Indices of the k largest similarities; ties broken by smaller index."""
    order = np.lexsort((np.arange(sims_row.size), -sims_row))
    return order[:k]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.dirname(os.path.dirname(here))
    data = os.path.abspath(sys.argv[1] if len(sys.argv) > 1
                           else os.path.join(repo, "..", "shared", "data"))
    print(f"data: {data}")

    meta = read_jsonl_gz(os.path.join(data, "base_meta.jsonl.gz"))
    base = np.load(os.path.join(data, "base_f16.npy"), mmap_mode="r")
    assert base.shape == (len(meta), DIM) and base.dtype == np.float16, base.shape
    for i, m in enumerate(meta):
        assert m["id"] == i, "base_meta rows must be in id order"

    pydoc = [m for m in meta if m["source"] == "pydoc"]
    by_doc = {}
    for m in pydoc:
        by_doc.setdefault(m["doc"], []).append(m)
    for rows in by_doc.values():
        rows.sort(key=lambda m: m["position"])

    # --- choose the passages: whole documents, theme by theme ---
    chosen, theme_of_doc, skipped = [], {}, []
    for theme, docs in THEMES:
        for doc in docs:
            rows = by_doc[doc]  # KeyError means the data set changed
            if len(chosen) + len(rows) <= N_PASSAGES:
                chosen.extend(rows)
                theme_of_doc[doc] = theme
            else:
                skipped.append((theme, doc))
    for theme, doc in skipped:  # fill up with the start of a document that did not fit
        if len(chosen) == N_PASSAGES:
            break
        chosen.extend(by_doc[doc][: N_PASSAGES - len(chosen)])
        theme_of_doc[doc] = theme
    assert len(chosen) == N_PASSAGES, f"themes give only {len(chosen)} passages"

    wanted = {m["id"] for m in pydoc}
    text = {}
    with gzip.open(os.path.join(data, "base_text.jsonl.gz"), "rt", encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            if r["id"] in wanted:
                text[r["id"]] = r["text"]

    src_ids = np.array([m["id"] for m in chosen])
    pvec = np.ascontiguousarray(base[src_ids], dtype="<f2")
    passages = [{"id": i + 1, "doc": m["doc"], "section": m["section"], "lang": m["lang"],
                 "position": m["position"], "nchars": m["nchars"], "text": text[m["id"]]}
                for i, m in enumerate(chosen)]

    # --- choose the questions ---
    # The shipped queries (queries_*.jsonl.gz) hold no pydoc rows, so the questions are
    # held-out pydoc passages: rows of documents NOT in the sample (e.g. tutorial/stdlib.html
    # about the compression or json modules). Their float16 base vectors are cast to float32.
    sample_docs = set(theme_of_doc)
    sample_texts = {p["text"] for p in passages}
    cand = [m for m in pydoc if m["doc"] not in sample_docs
            and m["nchars"] <= MAX_Q_CHARS and text[m["id"]] not in sample_texts]
    cvec = np.asarray(base[np.array([m["id"] for m in cand])], dtype=np.float32)
    sims = cosine_sims(cvec, pvec.astype(np.float32))

    best = {}  # theme -> (score, candidate index); score = mean similarity of top 5
    for ci in range(len(cand)):
        s = sims[ci]
        top6 = topk(s, 6)
        v = s[top6]
        if not (MIN_TOP1 <= v[0] <= MAX_TOP1) or np.min(v[:-1] - v[1:]) < MIN_GAP:
            continue
        theme = theme_of_doc[passages[top6[0]]["doc"]]
        score = float(v[:5].mean())
        if theme not in best or score > best[theme][0]:
            best[theme] = (score, ci)
    ranked = sorted(best.values(), key=lambda t: (-t[0], cand[t[1]]["id"]))
    assert len(ranked) >= N_QUESTIONS, f"only {len(ranked)} themes have a good question"
    picked = sorted((ci for _, ci in ranked[:N_QUESTIONS]), key=lambda ci: cand[ci]["id"])

    questions = [{"id": i + 1, "text": text[cand[ci]["id"]]} for i, ci in enumerate(picked)]
    qvec = np.ascontiguousarray(cvec[picked], dtype="<f4")

    # --- the oracle: exact cosine top 5 in float64 from the shipped vectors ---
    osims = cosine_sims(qvec.astype(np.float32), pvec.astype(np.float32))
    oracle = []
    for qi, q in enumerate(questions):
        top = topk(osims[qi], 6)
        dist = 1.0 - osims[qi][top]
        oracle.append({"id": q["id"],
                       "top5": [{"id": int(pi) + 1, "distance": float(d)}
                                for pi, d in zip(top[:5], dist[:5])],
                       "distance_6th": float(dist[5])})

    # --- write ---
    write_jsonl(os.path.join(here, "passages.jsonl"), passages)
    np.save(os.path.join(here, "passages.f16.npy"), pvec)
    write_jsonl(os.path.join(here, "questions.jsonl"), questions)
    np.save(os.path.join(here, "questions.f32.npy"), qvec)
    with open(os.path.join(here, "expected_top5.json"), "w", encoding="utf-8") as f:
        json.dump({"metric": "cosine",
                   "distance": "1 - cos(q, p), computed in float64 from the shipped vectors "
                               "(passages float16 widened to float32, questions float32)",
                   "ties": "smaller passage id first",
                   "passages": "passages.jsonl / passages.f16.npy",
                   "questions": "questions.jsonl / questions.f32.npy",
                   "results": oracle}, f, indent=1)
        f.write("\n")

    docs_used = sorted(sample_docs)
    q_lines = "\n".join(f"| {q['id']} | `{cand[ci]['doc']}` | {cand[ci]['position']} |"
                        for q, ci in zip(questions, picked))
    attribution = f"""# Sample data: attribution and provenance

The text in `passages.jsonl` and `questions.jsonl` is taken from the **Python
documentation** (docs.python.org), Copyright © Python Software Foundation, licensed under
the PSF License Agreement (https://docs.python.org/3/license.html). The passages are
300–800 character chunks of {len(docs_used)} documentation pages; `doc` names the page and
`position` the chunk's index within it.

The vectors were computed with **sentence-transformers/all-MiniLM-L6-v2** (384 dimensions,
L2-normalized, so cosine similarity equals the inner product). `passages.f16.npy` stores
them as float16 (row i = passage id i+1); `questions.f32.npy` stores the question vectors
as float32 (their float16 source values widened, not re-normalized).

## How it was made

Taken from the project's shared embedding set (72,580 passages of man pages, Python
documentation and Chinese text) with

    python3 Tools/sample/make_sample.py /path/to/shared/data

(run from the repository root; numpy only; deterministic). The script takes whole
documents from the `pydoc` rows, grouped into related themes
({", ".join(t for t, _ in THEMES if t in theme_of_doc.values())}),
until there are {N_PASSAGES} passages. The shared query set has no Python-documentation
queries, so the {N_QUESTIONS} questions are held-out passages from pages that are *not* in the
sample, each with a nearest sample passage at cosine similarity between {MIN_TOP1} and
{MAX_TOP1}, with distinct similarities (gap ≥ {MIN_GAP}) among its top 6, one per theme:

| question | source page | position |
|---|---|---|
{q_lines}

`expected_top5.json` holds the exact top-5 passage ids per question by cosine distance
(1 − cos, float64 from the shipped vectors, ties broken by smaller id) plus the 6th
distance, for use as a test oracle.
"""
    with open(os.path.join(here, "ATTRIBUTION.md"), "w", encoding="utf-8") as f:
        f.write(attribution)

    # --- summary ---
    total = 0
    for name in ("passages.jsonl", "passages.f16.npy", "questions.jsonl",
                 "questions.f32.npy", "expected_top5.json", "ATTRIBUTION.md"):
        size = os.path.getsize(os.path.join(here, name))
        total += size
        print(f"{name:20s} {size:9,d} bytes")
    print(f"{'total':20s} {total:9,d} bytes; {len(passages)} passages from {len(docs_used)} docs")
    for q, r, ci in zip(questions, oracle, picked):
        t = r["top5"][0]
        print(f"q{q['id']} ({cand[ci]['doc']}#{cand[ci]['position']}): top-1 passage {t['id']} "
              f"({passages[t['id'] - 1]['doc']}) cos={1 - t['distance']:.3f}")


if __name__ == "__main__":
    main()
