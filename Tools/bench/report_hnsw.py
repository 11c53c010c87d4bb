#!/usr/bin/env python3
"""Markdown report of the side-by-side HNSW benchmark (Quiver vs hnswlib).

  Tools/bench/.venv/bin/python Tools/bench/report_hnsw.py [--results-dir Tools/bench/.cache]
        [--datasets real,random] [--markdown BENCHMARKS.md] [--command "Tools/bench/run-hnsw"]

Reads hnswlib-DATASET.json (peers_hnsw.py) and quiver-DATASET.json (quiver_hnsw.py), prints the
tables and writes them into the markdown file between <!-- hnsw:begin --> and <!-- hnsw:end -->
(only that section is replaced; the file or section is created when missing).

Headline: QPS at recall@10 >= 0.95 for each engine, linearly interpolated in log(QPS) between
the two efs that bracket 0.95 (and, beside it, the QPS of the smallest ef reaching 0.95);
target Quiver >= 1.2x hnswlib's, and Quiver's build time <= hnswlib's.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib  # noqa: E402

REPO = benchlib.BENCH_DIR.parent.parent
BEGIN, END = "<!-- hnsw:begin -->", "<!-- hnsw:end -->"
TARGET_RECALL = 0.95
TARGET_QPS_RATIO = 1.2


# ---------------------------------------------------------------- environment

def sh(*cmd) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def machine() -> dict:
    lscpu = {}
    for line in sh("lscpu").splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            lscpu[k.strip()] = v.strip()
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            kib = int(f.readline().split()[1])
            mem = f"{kib / 2**20:.1f} GiB"
    except OSError:
        pass
    return {"model": lscpu.get("Model name", "?"), "cpus": lscpu.get("CPU(s)", "?"),
            "threads_per_core": lscpu.get("Thread(s) per core", "?"),
            "hypervisor": lscpu.get("Hypervisor vendor", ""), "l3": lscpu.get("L3 cache", ""),
            "avx512": "avx512f" in lscpu.get("Flags", ""), "mem": mem}


def blas() -> str:
    lib = os.path.realpath("/usr/lib/x86_64-linux-gnu/libblas.so.3")
    pkgs = []
    for pkg in ("libopenblas0-pthread", "libopenblas0-openmp", "libblas3", "libatlas3-base"):
        v = sh("dpkg-query", "-W", "-f=${Status} ${Version}", pkg)
        if v.startswith("install ok installed"):
            pkgs.append(f"{pkg} {v.split()[-1]}")
    return f"libblas.so.3 -> {lib} ({', '.join(pkgs) or 'unknown package'})"


def swift_version() -> str:
    for swift in ("swift", "/opt/swift/usr/bin/swift"):
        out = sh(swift, "--version")
        if out:
            return out.splitlines()[0]
    return "?"


# ---------------------------------------------------------------- numbers

def qps_at_recall(runs, target=TARGET_RECALL) -> dict:
    """QPS at recall >= target: interpolated (log QPS linear in recall between the bracketing
    efs) and the smallest ef reaching it. 'bound' marks that the first ef already exceeds the
    target, so the interpolated value is only a lower bound on that engine's QPS at target."""
    runs = sorted(runs, key=lambda r: r["ef"])
    for i, r in enumerate(runs):
        if r["recall_at_10"] >= target:
            first = {"ef": r["ef"], "qps": r["qps"], "recall": r["recall_at_10"]}
            if i == 0:
                return {"interp": r["qps"], "bound": True, "first": first,
                        "between": (r["ef"], r["ef"])}
            p = runs[i - 1]
            span = r["recall_at_10"] - p["recall_at_10"]
            t = (target - p["recall_at_10"]) / span if span > 0 else 1.0
            q = math.exp(math.log(p["qps"]) + t * (math.log(r["qps"]) - math.log(p["qps"])))
            return {"interp": q, "bound": False, "first": first, "between": (p["ef"], r["ef"])}
    return {"interp": None, "bound": False, "first": None, "between": None}


def fmt_qps(x) -> str:
    return "—" if x is None else f"{x:,.0f}"


def fmt_ratio(a, b) -> str:
    if a is None or b is None or b == 0:
        return "—"
    r = a / b
    return f"{r:.2f}×" if r >= 0.1 else f"{r:.2g}×"


def fmt_bytes(x) -> str:
    return "—" if x is None else f"{x / 2**20:,.1f} MiB"


def fmt_s(x) -> str:
    if x is None:
        return "—"
    return f"{x * 1e3:.3f} ms" if x < 0.1 else f"{x:.2f} s"


def verdict(ok) -> str:
    return "—" if ok is None else ("**met**" if ok else "**not met**")


def merge(results: list[dict]) -> dict:
    """One engine's repeated runs on one dataset folded into one result: build and open = the
    fastest run, memory = median, per ef QPS = the best run (p50/p99 of that run), recall =
    mean over runs (each run builds its own graph)."""
    out = dict(results[0])
    out["runs_merged"] = len(results)
    out["build_all"] = [r["build_seconds"] for r in results]
    out["open_all"] = [r["open_seconds"] for r in results]
    out["build_seconds"] = min(out["build_all"])
    out["open_seconds"] = min(out["open_all"])
    mems = sorted(r["memory_bytes"] for r in results)
    out["memory_bytes"] = mems[len(mems) // 2]
    out["loadavg_all"] = [r.get("loadavg_at_start") for r in results]
    by_ef: dict[int, list[dict]] = {}
    for r in results:
        for run in r["runs"]:
            by_ef.setdefault(run["ef"], []).append(run)
    merged = []
    for ef in sorted(by_ef):
        rs = by_ef[ef]
        best = max(rs, key=lambda x: x["qps"])
        m = dict(best)
        m["recall_at_10"] = sum(x["recall_at_10"] for x in rs) / len(rs)
        m["recall_all"] = [x["recall_at_10"] for x in rs]
        m["qps_all"] = [x["qps"] for x in rs]
        merged.append(m)
    out["runs"] = merged
    return out


def load_pair(results_dir: Path, ds: str):
    """Repeated runs from results_dir/runs/ENGINE-DS-REP.json, else results_dir/ENGINE-DS.json."""
    pair = []
    for e in ("hnswlib", "quiver"):
        paths = sorted((results_dir / "runs").glob(f"{e}-{ds}-*.json"))
        if not paths and (results_dir / f"{e}-{ds}.json").exists():
            paths = [results_dir / f"{e}-{ds}.json"]
        if not paths:
            raise SystemExit(f"missing results for {e} on {ds} in {results_dir}")
        pair.append(merge([json.loads(p.read_text()) for p in paths]))
    return tuple(pair)


def headline(h, q) -> dict:
    ha, qa = qps_at_recall(h["runs"]), qps_at_recall(q["runs"])
    ratio = (qa["interp"] / ha["interp"]) if ha["interp"] and qa["interp"] else None
    first_ratio = (qa["first"]["qps"] / ha["first"]["qps"]) if ha["first"] and qa["first"] else None
    build_ratio = q["build_seconds"] / h["build_seconds"]
    return {"h": ha, "q": qa, "ratio": ratio, "first_ratio": first_ratio,
            "build_ratio": build_ratio,
            "qps_ok": None if ratio is None else ratio >= TARGET_QPS_RATIO,
            "build_ok": build_ratio <= 1.0}


def at_text(a) -> str:
    if a["interp"] is None:
        return "never reaches 0.95"
    if a["bound"]:
        return f"≥ {a['interp']:,.0f} (ef {a['first']['ef']} already at {a['first']['recall']:.4f})"
    lo, hi = a["between"]
    return f"{a['interp']:,.0f} (ef {lo}–{hi})"


# ---------------------------------------------------------------- markdown

def dataset_section(ds: str, h: dict, q: dict, hl: dict) -> list[str]:
    out = []
    info = q.get("dataset_info", {})
    if ds == "real":
        desc = (f"real MiniLM embeddings, {h['n']:,} × {h['dim']} (float16 file widened to "
                f"float32), {h.get('queries', '?')} held-out queries")
    else:
        desc = (f"random, {h['n']:,} × {h['dim']} Gaussian L2-normalized float32 "
                f"(seed {info.get('seed', '?')}), {h.get('queries', '?')} queries")
    out.append(f"### {ds}: {desc}")
    out.append("")
    out.append(f"M = {h['m']}, ef_construction = {h['ef_construction']}, cosine, k = 10; "
               f"build {h.get('build_threads', '?')} threads, search 1 thread.")
    out.append("")
    out.append("| ef | recall@10 hnswlib | recall@10 Quiver | QPS hnswlib | QPS Quiver "
               "| QPS Quiver/hnswlib | p50 ms hnswlib* | p50 ms Quiver | p99 ms hnswlib* "
               "| p99 ms Quiver |")
    out.append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    hr = {r["ef"]: r for r in h["runs"]}
    qr = {r["ef"]: r for r in q["runs"]}
    for ef in sorted(set(hr) | set(qr)):
        a, b = hr.get(ef), qr.get(ef)
        cells = [str(ef),
                 f"{a['recall_at_10']:.4f}" if a else "—", f"{b['recall_at_10']:.4f}" if b else "—",
                 fmt_qps(a["qps"]) if a else "—", fmt_qps(b["qps"]) if b else "—",
                 fmt_ratio(b["qps"], a["qps"]) if a and b else "—",
                 f"{a['p50_ms']:.3f}" if a else "—", f"{b['p50_ms']:.3f}" if b else "—",
                 f"{a['p99_ms']:.3f}" if a else "—", f"{b['p99_ms']:.3f}" if b else "—"]
        out.append("| " + " | ".join(cells) + " |")
    out.append("")
    out.append("| | hnswlib | Quiver | Quiver/hnswlib |")
    out.append("|---|---:|---:|---:|")
    ratio = "—" if hl["ratio"] is None else f"{hl['ratio']:.2f}×"
    first_ratio = "—" if hl["first_ratio"] is None else f"{hl['first_ratio']:.2f}×"
    fh, fq = hl["h"]["first"], hl["q"]["first"]
    first_h = f"{fmt_qps(fh['qps'])} (ef {fh['ef']})" if fh else "—"
    first_q = f"{fmt_qps(fq['qps'])} (ef {fq['ef']})" if fq else "—"
    out.append(f"| QPS at recall@10 ≥ 0.95, interpolated | {at_text(hl['h'])} "
               f"| {at_text(hl['q'])} | **{ratio}** |")
    out.append(f"| QPS at the smallest ef with recall@10 ≥ 0.95 | {first_h} | {first_q} "
               f"| {first_ratio} |")
    out.append(f"| build (CREATE INDEX for Quiver){' — fastest run' if h['runs_merged'] > 1 else ''} "
               f"| {fmt_s(h['build_seconds'])}{all_s(h['build_all'])} "
               f"| {fmt_s(q['build_seconds'])}{all_s(q['build_all'])} | **{hl['build_ratio']:.2f}×** |")
    out.append(f"| open (hnswlib load_index; Quiver maps the file) | {fmt_s(h['open_seconds'])} "
               f"| {fmt_s(q['open_seconds'])} | {fmt_ratio(q['open_seconds'], h['open_seconds'])} |")
    out.append(f"| memory (RSS growth, see notes) | {fmt_bytes(h['memory_bytes'])} "
               f"| {fmt_bytes(q['memory_bytes'])} | {fmt_ratio(q['memory_bytes'], h['memory_bytes'])} |")
    out.append(f"| index file | {fmt_bytes(h.get('index_file_bytes'))} "
               f"| {fmt_bytes(q.get('index_file_bytes'))} "
               f"| {fmt_ratio(q.get('index_file_bytes'), h.get('index_file_bytes'))} |")
    out.append(f"| rows into the table (Quiver only, not in build) | — "
               f"| {fmt_s(q.get('load_seconds'))} | |")
    out.append("")
    if max(r["recall_at_10"] for r in h["runs"] + q["runs"]) < TARGET_RECALL:
        note = ""
        if ds == "random":
            try:
                rd = benchlib.load_random(n=h["n"], dim=h["dim"], seed=info.get("seed", 42))
                note = (f" (mean similarity of the 10th true neighbour "
                        f"{rd.gt_scores[:, 9].mean():.3f}, of the 100th "
                        f"{rd.gt_scores[:, 99].mean():.3f})")
            except Exception:  # noqa: BLE001 - the note is optional
                pass
        out.append(f"Neither engine reaches recall@10 {TARGET_RECALL} at these efs: isotropic "
                   f"Gaussian vectors in {h['dim']} dimensions have almost no neighbourhood "
                   f"structure{note}, so a graph walk needs a far larger ef. This set compares "
                   f"speed at equal ef and equal recall, and build time; the recall target is "
                   f"judged on the real set.")
        out.append("")
    lh, lq = h.get("loadavg_all", []), q.get("loadavg_all", [])
    out.append(f"1-min load average at the start of each run: hnswlib {load1s(lh)}, Quiver "
               f"{load1s(lq)} (includes this benchmark's own preceding 2-thread steps). "
               f"QPS per run at ef {h['runs'][0]['ef']}: hnswlib "
               f"{', '.join(fmt_qps(x) for x in h['runs'][0].get('qps_all', []))}; Quiver "
               f"{', '.join(fmt_qps(x) for x in q['runs'][0].get('qps_all', []))}.")
    out.append("")
    return out


def all_s(xs) -> str:
    return "" if len(xs) < 2 else " (" + ", ".join(f"{x:.2f}" for x in xs) + ")"


def load1s(xs) -> str:
    return ", ".join("?" if not x else f"{x[0]:.2f}" for x in xs) or "?"


def fmt_load(x) -> str:
    return "?" if not x else " / ".join(f"{v:.2f}" for v in x)


def render(results_dir: Path, datasets: list[str], command: str) -> tuple[str, list]:
    pairs = {ds: load_pair(results_dir, ds) for ds in datasets}
    heads = {ds: headline(*pairs[ds]) for ds in datasets}
    m = machine()
    any_h, any_q = next(iter(pairs.values()))
    src = any_q.get("source", {})
    now = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    L = [BEGIN,
         "## HNSW: Quiver vs hnswlib",
         "",
         f"Generated {now} by `{command}` (all numbers below come from one run of it).",
         "",
         f"**Target:** Quiver QPS ≥ {TARGET_QPS_RATIO}× hnswlib's at recall@10 ≥ "
         f"{TARGET_RECALL}, and Quiver build time ≤ hnswlib's (same M, ef_construction, "
         f"build threads).",
         "",
         "| dataset | Quiver QPS @ recall ≥ 0.95 | hnswlib QPS @ recall ≥ 0.95 | ratio "
         "| QPS target ≥ 1.2× | build Quiver | build hnswlib | build ratio | build target ≤ 1× |",
         "|---|---:|---:|---:|---|---:|---:|---:|---|"]
    for ds in datasets:
        h, q = pairs[ds]
        hl = heads[ds]
        bound = " (lower bound: hnswlib's ef 16 already ≥ 0.95)" if hl["h"]["bound"] else ""
        bound += " (Quiver's ef 16 already ≥ 0.95: its QPS is a lower bound)" if hl["q"]["bound"] else ""
        if hl["ratio"] is None:
            mh = max(r["recall_at_10"] for r in h["runs"])
            mq = max(r["recall_at_10"] for r in q["runs"])
            bound += (f" (recall@10 ≥ 0.95 not reached at ef ≤ {max(r['ef'] for r in q['runs'])}: "
                      f"best Quiver {mq:.3f}, hnswlib {mh:.3f})")
        L.append(f"| {ds} | {fmt_qps(hl['q']['interp'])} | {fmt_qps(hl['h']['interp'])} "
                 f"| **{'—' if hl['ratio'] is None else format(hl['ratio'], '.2f') + '×'}**{bound} "
                 f"| {verdict(hl['qps_ok'])} | {fmt_s(q['build_seconds'])} "
                 f"| {fmt_s(h['build_seconds'])} | **{hl['build_ratio']:.2f}×** "
                 f"| {verdict(hl['build_ok'])} |")
    L += ["",
          "Setup:",
          "",
          f"- Machine: {m['model']}, {m['cpus']} CPUs ({m['threads_per_core']} thread per core"
          f"{', ' + m['hypervisor'] + ' VM' if m['hypervisor'] else ''}), L3 {m['l3']}, "
          f"{m['mem']} RAM, AVX-512 {'yes' if m['avx512'] else 'no'}.",
          f"- BLAS: {blas()}. Linked into quiver-bench, but neither HNSW build nor HNSW search "
          f"calls it (only the exact scan does).",
          f"- Quiver: source {src.get('version', any_q.get('version'))}"
          f"{' (HEAD plus uncommitted changes in Sources/, digest shown)' if src.get('dirty') else ''}, "
          f"{swift_version()}, `swift build -c release --scratch-path .build-bench --product "
          f"quiver-bench`.",
          f"- hnswlib {any_h.get('version')} (pip, built from source with -march=native), "
          f"Python {any_h.get('machine', {}).get('python', '?')}, "
          f"numpy {any_h.get('machine', {}).get('numpy', '?')}.",
          "- Data: real = ../shared/data (base_f16.npy, queries.npy, exact top-100 "
          "gt_unfiltered*.npy); random = benchlib.load_random (numpy default_rng(42), "
          "Gaussian, L2-normalized, exact ground truth computed in float64).",
          "- recall@10: benchlib.recall_at_k — a hit is a returned id in the true top 10 or one "
          "whose similarity ties the 10th true similarity within 1e-6.",
          f"- Runs: each engine ran {any_q['runs_merged']} time(s) per dataset, interleaved "
          "(hnswlib, Quiver, hnswlib, Quiver, …), each run building its own index. Reported: "
          "build and open = the fastest run (every run's build time in brackets), QPS per ef = "
          "the best run, recall@10 = mean over runs, memory = median. The machine is shared "
          "with other work; repeating keeps a passing burst of it out of the figures.",
          "- QPS, both engines: one thread, the engine's native loop over all queries "
          "(quiver-bench: BatchSearch through the table's index; hnswlib: one knn_query over "
          "the query matrix with num_threads=1), best of 3 passes after a warm-up. "
          "*hnswlib p50/p99 are per-call Python timings (one knn_query per vector, includes "
          "the Python call overhead); Quiver's are per query inside its loop.",
          "- Build: hnswlib init_index + add_items with 2 threads; Quiver `CREATE INDEX … USING "
          "hnsw` with QUIVER_BUILD_THREADS=2 (reads the vectors from the table and writes the "
          "index file). Open: hnswlib load_index of the saved file (reads it into memory); "
          "Quiver HNSWIndex.open (maps the file). Both from a warm page cache.",
          "- Memory: hnswlib = RSS growth across load_index; Quiver = quiver-bench's RSS growth "
          "from before CREATE INDEX to after the searches (built index and reopened mapping, "
          "touched pages). Not the same probe; the index file sizes are the like-for-like figure.",
          "",
          "Exact per-engine commands:",
          "",
          "```"]
    for ds in datasets:
        h, q = pairs[ds]
        L.append(f"Tools/bench/.venv/bin/python Tools/bench/peers_hnsw.py --dataset {ds} --m {h['m']} "
                 f"--ef-construction {h['ef_construction']} "
                 f"--efs {','.join(str(r['ef']) for r in h['runs'])} --threads {h.get('build_threads', 2)} "
                 f"--out Tools/bench/.cache/hnswlib-{ds}.json")
        L.append(f"Tools/bench/.venv/bin/python Tools/bench/quiver_hnsw.py --dataset {ds} --m {q['m']} "
                 f"--ef-construction {q['ef_construction']} "
                 f"--efs {','.join(str(r['ef']) for r in q['runs'])} --threads {q.get('build_threads', 2)} "
                 f"--out Tools/bench/.cache/quiver-{ds}.json")
        cmd = q.get("command")
        if cmd:
            rel = [os.path.relpath(c, REPO) if c.startswith(str(REPO)) else c for c in cmd]
            L.append(f"  # runs: QUIVER_BUILD_THREADS={q.get('build_threads', 2)} {' '.join(rel)}")
    L += ["```", ""]
    for ds in datasets:
        L += dataset_section(ds, *pairs[ds], heads[ds])
    L.append(END)
    return "\n".join(L) + "\n", heads


def replace_section(path: Path, section: str, begin: str = BEGIN, end: str = END) -> None:
    """Replaces the text from begin to end (inclusive) with section; appends when absent."""
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end) + r"\n?", re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: section, text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--results-dir", default=str(benchlib.CACHE_DIR))
    p.add_argument("--datasets", default="real,random")
    p.add_argument("--markdown", default=str(REPO / "BENCHMARKS.md"))
    p.add_argument("--command", default="Tools/bench/run-hnsw")
    p.add_argument("--no-write", action="store_true", help="print only")
    a = p.parse_args(argv)
    datasets = [d for d in a.datasets.split(",") if d]
    section, _ = render(Path(a.results_dir), datasets, a.command)
    print(section)
    if not a.no_write:
        replace_section(Path(a.markdown), section)
        print(f"wrote the hnsw section of {a.markdown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
