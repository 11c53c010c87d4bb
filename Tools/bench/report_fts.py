#!/usr/bin/env python3
"""The full-text benchmark's table (fts_bench.py results JSON), written between
<!-- fts:begin --> and <!-- fts:end --> in BENCHMARKS.md (appended when the section is new).

  Tools/bench/.venv/bin/python Tools/bench/report_fts.py --results Tools/bench/.cache/fts/results.json
"""
from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

LABEL = {
    "quiver": "Quiver `USING fts` (CJK bigrams, contentless FTS5)",
    "fts5-trigram": "SQLite FTS5, `trigram`",
    "fts5-unicode61": "SQLite FTS5, `unicode61`",
    "lancedb": "LanceDB FTS, default tokenizer",
    "lancedb-ngram": "LanceDB FTS, `ngram` tokenizer",
}
ROOT = Path(__file__).resolve().parents[2]


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--results", required=True)
    p.add_argument("--command", default="Tools/bench/run-fts")
    p.add_argument("--benchmarks", default=str(ROOT / "BENCHMARKS.md"))
    a = p.parse_args()
    r = json.loads(Path(a.results).read_text())
    engines = r["engines"]
    trigram = engines.get("fts5-trigram")
    L = ["<!-- fts:begin -->", "", "### Full-text search: Chinese and English terms", ""]
    L.append(f"Command: `{a.command}`; machine: {r['machine']['cpus']} cores, `{r['machine']['uname']}`; "
             f"SQLite {r['sqlite']}"
             + "".join(f", {name} {version}" for name, version in r.get("versions", {}).items())
             + ". Data: the real set's {r['rows']:,} texts ({r['text_bytes'] / 1e6:.1f} MB of "
             "UTF-8). Terms sampled with a fixed seed: 50 Chinese substrings of each length 1-4 (uniform over "
             "positions in CJK runs) and 100 English words; oracles after NFKC and case folding: every row "
             "containing the Chinese substring, every row holding the English word as a word. Recall and "
             "precision are means over terms (min in brackets); a term's query is the quoted term.")
    L.append("")
    L.append("| engine | build s | × FTS5-trigram's | index MB | × FTS5-trigram's (with text / contentless) "
             "| zh 1 char | zh 2 | zh 3 | zh 4 | zh precision (min) | en recall (min) | en precision | query p50 ms |")
    L.append("|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, e in engines.items():
        s = e["scores"]
        build_ratio = f"{e['build_seconds'] / trigram['build_seconds']:.2f}" if trigram else "—"
        size_ratio = (f"{e['index_bytes'] / trigram['index_bytes']:.2f} / "
                      f"{e['index_bytes'] / trigram['contentless_bytes']:.2f}") if trigram else "—"
        zh_precision = min(s[f"zh{n}"]["precision_mean"] for n in range(1, 5))
        zh_precision_min = min(s[f"zh{n}"]["precision_min"] for n in range(1, 5))
        L.append(
            f"| {LABEL.get(name, name)} | {e['build_seconds']:.1f} | {build_ratio} | {e['index_bytes'] / 1e6:.1f} | "
            f"{size_ratio} | "
            + " | ".join(f"{s[f'zh{n}']['recall_mean']:.3f} ({s[f'zh{n}']['recall_min']:.2f})" for n in range(1, 5))
            + f" | {zh_precision:.3f} ({zh_precision_min:.2f}) | {s['en']['recall_mean']:.3f} "
              f"({s['en']['recall_min']:.2f}) | {s['en']['precision_mean']:.3f} | {e['query_ms_p50']:.2f} |")
    L.append("")
    L.append("Load average at the start of each engine: "
             + "; ".join(f"{n} {' '.join(e['load'])}" for n, e in engines.items()) + ".")
    L.append("")
    L.append("<!-- fts:end -->")
    section = "\n".join(L)
    print(section)
    path = Path(a.benchmarks)
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    pattern = re.compile(r"<!-- fts:begin -->.*?<!-- fts:end -->", re.S)
    text = pattern.sub(lambda _: section, text, count=1) if pattern.search(text) else text.rstrip() + "\n\n" + section + "\n"
    path.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
