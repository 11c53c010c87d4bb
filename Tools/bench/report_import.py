#!/usr/bin/env python3
"""Markdown tables for the import benchmark (import_bench.py results JSON).

  Tools/bench/.venv/bin/python Tools/bench/report_import.py --results Tools/bench/.cache/import/results.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

LABEL = {
    "quiver": "Quiver `quiver import` (no index)",
    "quiver+index": "Quiver `quiver import` + HNSW index (m 16, ef_construction 200, 2 threads)",
    "chroma": "Chroma (adds to its HNSW index as it loads)",
    "sqlite-vec": "sqlite-vec (vec0 table, no ANN index)",
    "hnswlib": "hnswlib index build alone (vectors in memory, 2 threads)",
}


def best(runs: list[dict]) -> float | None:
    return min(r["seconds"] for r in runs) if runs else None


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--results", required=True)
    p.add_argument("--command", default="Tools/bench/run-import")
    a = p.parse_args()
    r = json.loads(Path(a.results).read_text())
    out = []
    for scale, run in r["runs"].items():
        rows = run["rows"]
        eng = run["engines"]
        t = {e: best(v) for e, v in eng.items()}
        out.append(f"#### {rows:,} rows ({scale}), {run['input_bytes'] / 1e6:,.0f} MB of JSONL + .npy\n")
        out.append("| engine | time (best) | every run | rows/s | time ÷ Quiver's (no index) |")
        out.append("|---|---|---|---|---|")
        for e in ("quiver", "quiver+index", "chroma", "sqlite-vec", "hnswlib"):
            if e not in eng or not eng[e]:
                continue
            runs = ", ".join(f"{x['seconds']:.2f}" for x in eng[e])
            ratio = f"{t[e] / t['quiver']:.1f}×" if t.get("quiver") and e != "quiver" else "–"
            out.append(f"| {LABEL[e]} | {t[e]:.2f} s | {runs} | {rows / t[e]:,.0f} | {ratio} |")
        out.append("")
        checks = []
        if t.get("quiver") and t.get("chroma"):
            checks.append(f"- Import throughput vs Chroma: **{t['chroma'] / t['quiver']:.1f}×** without an index "
                          f"(target ≥ 3×)" + (f", **{t['chroma'] / t['quiver+index']:.1f}×** with Quiver also building its index"
                                              if t.get("quiver+index") else ""))
        if t.get("quiver+index") and t.get("hnswlib"):
            checks.append(f"- Import with index ÷ hnswlib building the same index alone: **{t['quiver+index'] / t['hnswlib']:.2f}×** "
                          f"(target ≤ 1.2×)")
        if t.get("quiver") and t.get("sqlite-vec"):
            checks.append(f"- sqlite-vec takes {t['sqlite-vec'] / t['quiver']:.2f}× Quiver's time (no index on either side)")
        out += checks
        loads = sorted({x.get("load", "") for v in eng.values() for x in v})
        out.append(f"- 1-min load averages at the runs' starts: {', '.join(l.split()[0] for l in loads if l)}")
        versions = {e: v[0].get("version") for e, v in eng.items() if v and v[0].get("version")}
        if versions:
            out.append("- Versions: " + ", ".join(f"{e} {v}" for e, v in versions.items()))
        out.append("")
    out.append(f"Command: `{a.command}`; machine: {r['machine']['cpus']} cores, `{r['machine']['uname']}`.")
    text = "\n".join(out)
    print(text)
    Path(a.results).with_suffix(".md").write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
