#!/usr/bin/env python3
"""Markdown section for the filtered nearest-neighbour benchmark (run-filtered).

Reads Tools/bench/.cache/filtered-<engine>.json (peers_filtered.py) and filtered-quiver.md (the
table `quiver-bench filtered` prints), writes one section between
<!-- filtered:begin --> and <!-- filtered:end --> to --out (default .cache/filtered.md) and
prints it.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib  # noqa: E402

PEERS = ("hnswlib", "faiss", "chroma", "sqlite-vec")
LABEL = {"hnswlib": "hnswlib", "faiss": "FAISS", "chroma": "Chroma", "sqlite-vec": "sqlite-vec",
         "quiver": "Quiver"}
LOW_RECALL = 0.9


def parse_quiver(path: Path) -> dict[str, dict]:
    """`| \`where\` | 51.67% | strategy (n/200) | recall | qps | p50 | p99 |` -> by where."""
    out = {}
    if not path.exists():
        return out
    for line in path.read_text().splitlines():
        if not line.startswith("| `"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 7:
            continue
        where = cells[0].strip("`")
        m = re.match(r"(.*?)\s*\((\d+)/(\d+)\)\s*$", cells[2])
        out[where] = {"strategy": m.group(1) if m else cells[2],
                      "strategy_share": f"{m.group(2)}/{m.group(3)}" if m else "",
                      "recall_at_10": float(cells[3]), "qps": float(cells[4]),
                      "p50_ms": float(cells[5]), "p99_ms": float(cells[6])}
    return out


def fmt_qps(x) -> str:
    if x is None:
        return "–"
    return f"{x:,.0f}" if x >= 10 else f"{x:.1f}"


def fmt_ratio(q, p) -> str:
    if q is None or p is None or p <= 0:
        return "–"
    r = q / p
    if r >= 100:
        return f"{r:,.0f}×"
    if r >= 1:
        return f"{r:.1f}×"
    return f"{r:.2f}×" if r >= 0.1 else f"{r:.2g}×"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--results-dir", default=str(benchlib.CACHE_DIR))
    ap.add_argument("--out", default=str(benchlib.CACHE_DIR / "filtered.md"))
    ap.add_argument("--ef", type=int, default=64)
    ap.add_argument("--command", default="Tools/bench/run-filtered")
    a = ap.parse_args(argv)
    rd = Path(a.results_dir)

    peers = {}
    for e in PEERS:
        p = rd / f"filtered-{e}.json"
        if p.exists():
            peers[e] = json.loads(p.read_text())
    quiver = parse_quiver(rd / "filtered-quiver.md")
    if not peers:
        raise SystemExit(f"no filtered-<engine>.json in {rd}")
    spec_src = next(iter(peers.values()))
    filters = [(f["name"], f["where"], f["selectivity"], f["count"]) for f in spec_src["filters"]]
    by = {e: {f["name"]: f for f in r["filters"]} for e, r in peers.items()}
    engines = [e for e in PEERS if e in peers]

    def peer(e, name):
        f = by[e].get(name)
        return f if f and f.get("expressible") else None

    L = []
    L.append("<!-- filtered:begin -->")
    L.append("## Filtered nearest-neighbour search: Quiver vs "
             + ", ".join(LABEL[e] for e in engines))
    L.append("")
    L.append(f"Real set: {spec_src['n']:,} × {spec_src['dim']} MiniLM passages, "
             f"{spec_src['queries']} held-out queries, 11 SQL WHERE filters from "
             "`filters.json` (selectivity 52% down to 0.14%; `lang = 'zh'` is anti-correlated "
             "with ~98% of the queries). Cosine, k = 10, M = 16, ef_construction = 200 "
             f"(build 2 threads), ef_search = {a.ef}, one query at a time on one thread. "
             "recall@10 is against the exact filtered top-10 (`gt_filter_<name>.npy`); a returned "
             "row also counts when its similarity ties the 10th true one within 1e-6. "
             "**short** = queries that returned fewer than min(10, matching rows) ids "
             + ("(every filter here matches ≥ 10 rows, so: fewer than 10). "
                if all(c >= 10 for _, _, _, c in filters) else ". ") +
             "The ids every peer returned were checked against the filter: "
             + ("no peer returned a row outside it."
                if all(f.get("violations", 0) == 0 for r in peers.values()
                       for f in r["filters"] if f.get("expressible"))
                else "**some peers returned rows outside the filter (see JSON).**"))
    L.append("")

    # --- table 1: recall and QPS
    head = ["filter", "selectivity", "Quiver recall", "Quiver q/s"]
    for e in engines:
        head += [f"{LABEL[e]} recall", f"{LABEL[e]} q/s"]
    L.append("| " + " | ".join(head) + " |")
    L.append("|---|---:|" + "---:|" * (len(head) - 2))
    for name, where, sel, count in filters:
        q = quiver.get(where)
        row = [f"`{where}`", f"{100 * sel:.2f}% ({count:,})",
               f"{q['recall_at_10']:.3f}" if q else "–", fmt_qps(q["qps"]) if q else "–"]
        for e in engines:
            f = peer(e, name)
            if f is None:
                row += ["n/e", "n/e"]
            else:
                rc = f"{f['recall_at_10']:.3f}"
                if f["recall_at_10"] < LOW_RECALL:
                    rc = f"**{rc}**"
                row += [rc, fmt_qps(f["qps"])]
        L.append("| " + " | ".join(row) + " |")
    L.append("")
    L.append("n/e = not expressible in that engine's filter language (LIKE); skipped. "
             "**bold** recall: below 0.9.")
    L.append("")

    # --- table 2: ratios and short results
    head = ["filter", "Quiver strategy (queries)"]
    head += [f"Quiver ÷ {LABEL[e]}" for e in engines]
    if "faiss" in engines:
        head.insert(2 + engines.index("faiss") + 1, "Quiver ÷ FAISS incl. selector")
    head += [f"short: {LABEL[e]}" for e in engines]
    L.append("| " + " | ".join(head) + " |")
    L.append("|---|---|" + "---:|" * (len(head) - 2))
    for name, where, sel, count in filters:
        q = quiver.get(where)
        row = [f"`{name}`", f"{q['strategy']} ({q['strategy_share']})" if q else "–"]
        for e in engines:
            f = peer(e, name)
            cell = fmt_ratio(q["qps"] if q else None, f["qps"] if f else None) if f else "n/e"
            if f and f["recall_at_10"] < LOW_RECALL and cell != "–":
                cell += " †"
            row.append(cell)
            if e == "faiss":
                fs = f.get("qps_with_selector") if f else None
                c2 = fmt_ratio(q["qps"] if q else None, fs) if f else "n/e"
                if f and f["recall_at_10"] < LOW_RECALL and c2 != "–":
                    c2 += " †"
                row.append(c2)
        for e in engines:
            f = peer(e, name)
            row.append(f"{f['short_results']}/{spec_src['queries']}" if f else "n/e")
        L.append("| " + " | ".join(row) + " |")
    L.append("")
    L.append("Ratios are Quiver's queries/s over the peer's (> 1: Quiver faster). "
             "† the peer's recall is below 0.9 there, so the ratio compares against an engine that "
             "returned short or wrong top-10s. Quiver's short-result count is not reported by "
             "`quiver-bench filtered` (its recall column counts hits over the expected 10 per query).")
    L.append("")

    # --- table 3: latencies
    head = ["filter", "Quiver p50/p99 ms"] + [f"{LABEL[e]} p50/p99 ms" for e in engines]
    if "faiss" in engines:
        head.append("FAISS selector build ms")
    L.append("| " + " | ".join(head) + " |")
    L.append("|---|" + "---:|" * (len(head) - 1))
    for name, where, sel, count in filters:
        q = quiver.get(where)
        row = [f"`{name}`", f"{q['p50_ms']:.3f} / {q['p99_ms']:.3f}" if q else "–"]
        for e in engines:
            f = peer(e, name)
            row.append(f"{f['p50_ms']:.3f} / {f['p99_ms']:.3f}" if f else "n/e")
        if "faiss" in engines:
            f = peer("faiss", name)
            row.append(f"{f['selector_ms']:.3f}" if f and "selector_ms" in f else "–")
        L.append("| " + " | ".join(row) + " |")
    L.append("")

    # --- how each engine filters
    L.append("How each engine filters:")
    L.append("")
    L.append("- **Quiver**: `SELECT id, embedding <=> ?1 FROM base WHERE <filter> ORDER BY "
             "embedding <=> ?1 LIMIT 10` through SQL; the planner picks the strategy per query "
             "(column above: the most common one and on how many of the 200 queries). Timed per "
             "query inside `quiver-bench` (no Python); one pass, no warm-up. Its recall is computed "
             "by `quiver-bench` itself: hits over expected summed across queries, a tie when "
             "|similarity − 10th true similarity| < 1e-6 with Quiver's own distance (the peers use "
             "benchlib's rule: similarity ≥ 10th − 1e-6 in float64, averaged per query; with "
             "10 expected per query both give the same mean).")
    if "hnswlib" in peers:
        r = peers["hnswlib"]
        L.append(f"- **hnswlib {r['version']}**: `knn_query(q, k=10, filter=allowed_set.__contains__)`"
                 " — a Python callable invoked for every node the search visits, so its cost grows "
                 "as the filter gets more selective (the search keeps going until ef allowed rows "
                 "are found). hnswlib raises when it finds fewer than k allowed rows; that would "
                 "count as a short result with 0 rows.")
    if "faiss" in peers:
        r = peers["faiss"]
        L.append(f"- **FAISS {r['version']}**: `IndexHNSWFlat` (inner product on the normalized "
                 f"vectors), `search(q, 10, params=SearchParametersHNSW(sel=IDSelectorBatch(allowed), "
                 f"efSearch={r['ef_search']}))`. The selector is built once per filter outside the "
                 "timed loop; the *selector build ms* column is what an application whose filter "
                 "changes per query pays on top (and *÷ FAISS incl. selector* adds it). FAISS's HNSW "
                 "applies the selector to what the ef-bounded search reaches, so selective or "
                 "anti-correlated filters return short top-10s — the post-filtering failure "
                 "(a known FAISS behaviour: facebookresearch/faiss issues #3186, #4727).")
    if "chroma" in peers:
        r = peers["chroma"]
        cfg = r["params"].get("configuration", {})
        L.append(f"- **Chroma {r['version']}**: in-process `PersistentClient` (on disk), "
                 f"collection configuration {json.dumps(cfg)}; "
                 "`query(query_embeddings=[q], n_results=10, where=...)` with the filter translated "
                 "to `$eq/$in/$gt/$lt/$and`. LIKE has no metadata operator in Chroma "
                 "(`$contains` is array membership), so the two LIKE filters are skipped. "
                 "The requested `num_threads: 2` is not kept in the collection configuration.")
    if "sqlite-vec" in peers:
        r = peers["sqlite-vec"]
        L.append(f"- **sqlite-vec {r['version']}** (SQLite {r['params'].get('sqlite', '?')}): "
                 "`vec0(embedding float[384] distance_metric=cosine, source, doc, section, lang, "
                 "nchars, position)` in a SQLite file; `WHERE embedding MATCH ? AND k = 10 AND "
                 "<filter>`. **Brute force (exact)**: every query scans all vectors with the "
                 "metadata filter applied inside the scan, so recall is 1 and the cost is nearly flat "
                 "in selectivity. vec0 rejects LIKE on metadata columns (\"illegal WHERE constraint\"), "
                 "so those two filters are skipped.")
    L.append("")
    L.append("Peers: one process per engine, one untimed warm-up pass over the 200 queries per "
             "filter, then one timed pass; q/s = 200 / sum of per-call times (Python call "
             "overhead included, ~µs).")
    L.append("")

    # --- machine, builds, load
    m = spec_src["machine"]
    L.append(f"Machine: {m['cpu']}, {m['cores']} cores, Python {m['python']}, numpy {m['numpy']}. "
             "Build seconds (2 threads): "
             + ", ".join(f"{LABEL[e]} {peers[e]['build_seconds']:.1f}" for e in engines) + ".")
    loads = [f"{LABEL[e]} {peers[e]['loadavg_at_start'][0]:.2f}→{peers[e]['loadavg_at_end'][0]:.2f}"
             for e in engines]
    ql = rd / "filtered-quiver.load"
    if ql.exists():
        v = ql.read_text().split()
        if len(v) >= 4:
            loads.append(f"Quiver {float(v[0]):.2f}→{float(v[3]):.2f}")
    L.append("Load average (1 min) at start→end of each engine's run: " + ", ".join(loads)
             + ". On a 2-core machine anything above ~1 means the timed thread shared a core; "
             "compare ratios from runs with similar load.")
    qc = rd / "filtered-quiver.commit"
    if qc.exists():
        lines = qc.read_text().split("\n")
        dirty = [x for x in lines[1:] if x.strip()]
        L.append(f"Quiver source: {lines[0][:12]}" + (f" plus {len(dirty)} uncommitted change(s)"
                                                       if dirty else "") + ".")
    L.append("")
    L.append("Reproduce: `" + a.command + "` (peers: `Tools/bench/.venv/bin/python "
             "Tools/bench/peers_filtered.py --engines hnswlib,faiss,chroma,sqlite-vec`; Quiver: "
             "`swift build -c release --scratch-path .build-bench --product quiver-bench && "
             f".build-bench/release/quiver-bench filtered --data ../shared/data --db "
             f"Tools/bench/.cache/quiver-filtered --ef {a.ef}`; report: "
             "`Tools/bench/.venv/bin/python Tools/bench/report_filtered.py`). Per-filter JSON: "
             "`Tools/bench/.cache/filtered-<engine>.json`.")
    L.append("<!-- filtered:end -->")
    text = "\n".join(L) + "\n"
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(text)
    print(f"wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
