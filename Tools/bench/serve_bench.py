"""Server benchmark: `quiver serve` and Chroma's HTTP server (`chroma run`) on the real set,
the same k=10 filtered queries replayed by the same compiled load generator
(`quiver-bench http-load`) at 1, 8 and 64 concurrent keep-alive connections.

    Tools/bench/.venv/bin/python Tools/bench/serve_bench.py --quiver .build-bench/release/quiver \
        --load .build-bench/release/quiver-bench [--connections 1,8,64] [--seconds 10] [--ef 64]
        [--quiver before=/path/to/older/quiver ...] [--rounds 2]

`--quiver` may be given several times as LABEL=PATH (builds compared side by side; each keeps its
own database, as index formats differ between versions), and `--rounds N` repeats the whole
sequence of servers N times, interleaved, so a noisy machine affects them alike.

Both servers hold the 72,580 x 384 vectors with the six metadata columns, an HNSW index with
M=16, ef_construction=200, cosine, and search with ef=64. The queries: the 200 held-out queries
under each filter of filters.json that Chroma can express (LIKE filters are left out), 1,800
request bodies, identical JSON filters for both servers (Chroma's where syntax, which Quiver's
filter syntax also reads). One server runs at a time. Before the timed runs, one pass over every
body on one connection records the answers, scored for recall@10 against the exact filtered
ground truth (benchlib's tie rule). Loading is through each server's own API and not timed here.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1] / "clients" / "python"))
import benchlib  # noqa: E402
import peers_filtered  # noqa: E402
from quiver_client import Client  # noqa: E402

META = peers_filtered.META_COLUMNS


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def load_avg() -> str:
    return " ".join(open("/proc/loadavg").read().split()[:3])


def run_load(load_bin, url, path, bodies, connections, seconds, warmup, responses) -> list[dict]:
    cmd = [str(load_bin), "http-load", "--url", url, "--path", path, "--bodies", str(bodies),
           "--connections", connections, "--seconds", str(seconds), "--warmup", str(warmup),
           "--responses", str(responses)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def wait_http(url: str, seconds: float = 60) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {seconds} s")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# ---------------------------------------------------------------- Quiver

def run_quiver(a, label, binary, ds, meta_rows, bodies_path, cache: Path) -> dict:
    suffix = "" if label == "quiver" else f"-{label}"
    db = cache / f"serve-quiver{suffix}"
    log = open(cache / f"serve-quiver{suffix}.log", "w")
    port = free_port()
    proc = subprocess.Popen([str(binary), "serve", "--db", str(db), "--port", str(port)],
                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url + "/health")
        client = Client(url, timeout=3600)
        tables = {t["name"]: t for t in client.tables()}
        loaded = tables.get("base", {}).get("rows") == ds.n and tables["base"]["indexes"]
        load_seconds = None
        if not loaded:
            if "base" in tables:
                client.drop_table("base")
            client.create_table("base", [{"name": "id", "type": "INTEGER", "primary_key": True}]
                                + [{"name": c, "type": "TEXT" if c in ("source", "doc", "lang") else "INTEGER"} for c in META]
                                + [{"name": "embedding", "type": "VECTOR(384)"}])
            with benchlib.Timer() as t:
                batch = 2000
                for s in range(0, ds.n, batch):
                    rows = []
                    for i in range(s, min(s + batch, ds.n)):
                        row = dict(zip(("id",) + META, meta_rows[i]))
                        row["embedding"] = ds.base[i].tolist()
                        rows.append(row)
                    client.upsert("base", rows, batch_size=batch)
                client.sql(f"CREATE INDEX base_embedding ON base USING hnsw (embedding vector_cosine_ops) "
                           f"WITH (m = {a.m}, ef_construction = {a.ef_construction})")
            load_seconds = t.seconds
        client.close()
        print(f"   quiver loaded ({'reused' if loaded else f'{load_seconds:.0f} s through the API'}); load {load_avg()}", flush=True)
        runs = run_load(a.load, url, "/tables/base/query", bodies_path, a.connections, a.seconds, a.warmup,
                        cache / "serve-quiver-responses.jsonl")
        answers = [[int(m["id"]) for m in json.loads(line)["results"]]
                   for line in open(cache / "serve-quiver-responses.jsonl")]
        version = label if label != "quiver" else subprocess.run(
            ["git", "-C", str(HERE.parents[1]), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
        return {"engine": "quiver serve", "version": version, "runs": runs, "answers": answers, "load_seconds": load_seconds,
                "params": {"m": a.m, "ef_construction": a.ef_construction, "ef": a.ef, "readers": "default (2 x cores)"}}
    finally:
        stop(proc)
        log.close()


# ---------------------------------------------------------------- Chroma

def run_chroma(a, ds, meta_rows, bodies_template, cache: Path) -> dict:
    import chromadb
    path = cache / "serve-chroma"
    port = free_port()
    chroma = Path(sys.executable).parent / "chroma"
    env = dict(os.environ, ANONYMIZED_TELEMETRY="False")
    log = open(cache / "serve-chroma.log", "w")
    proc = subprocess.Popen([str(chroma), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
    try:
        wait_http(f"http://127.0.0.1:{port}/api/v2/heartbeat")
        client = chromadb.HttpClient(host="127.0.0.1", port=port, settings=chromadb.Settings(anonymized_telemetry=False))
        name = "quiver_serve_bench"
        existing = [c.name for c in client.list_collections()]
        col = client.get_collection(name) if name in existing else None
        load_seconds = None
        if col is None or col.count() != ds.n:
            if col is not None:
                client.delete_collection(name)
            config = {"hnsw": {"space": "cosine", "ef_construction": a.ef_construction, "ef_search": a.ef,
                               "max_neighbors": a.m, "num_threads": 2}}
            col = client.create_collection(name, embedding_function=None, configuration=config)
            batch = min(client.get_max_batch_size(), 2000)
            with benchlib.Timer() as t:
                for s in range(0, ds.n, batch):
                    e = min(s + batch, ds.n)
                    col.add(ids=[str(i) for i in range(s, e)], embeddings=ds.base[s:e],
                            metadatas=[dict(zip(META, r[1:])) for r in meta_rows[s:e]])
            load_seconds = t.seconds
        print(f"   chroma loaded ({'reused' if load_seconds is None else f'{load_seconds:.0f} s through its API'}); load {load_avg()}", flush=True)
        collection_path = f"/api/v2/tenants/default_tenant/databases/default_database/collections/{col.id}/query"
        bodies = cache / "serve-chroma-bodies.jsonl"
        bodies.write_text(bodies_template)
        runs = run_load(a.load, f"http://127.0.0.1:{port}", collection_path, bodies, a.connections, a.seconds, a.warmup,
                        cache / "serve-chroma-responses.jsonl")
        answers = [[int(x) for x in json.loads(line)["ids"][0]] for line in open(cache / "serve-chroma-responses.jsonl")]
        return {"engine": "Chroma (chroma run)", "version": chromadb.__version__, "runs": runs, "answers": answers,
                "load_seconds": load_seconds,
                "params": {"configuration": (col.configuration.get("hnsw") or {}) if hasattr(col, "configuration") else {}}}
    finally:
        stop(proc)
        log.close()


# ---------------------------------------------------------------- main

def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=benchlib.REAL_DATA_DIR)
    p.add_argument("--quiver", action="append", required=True,
                   help="the quiver executable (release); LABEL=PATH, repeatable, to compare builds")
    p.add_argument("--load", type=Path, required=True, help="the quiver-bench executable (release)")
    p.add_argument("--connections", default="1,8,64")
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--warmup", type=float, default=2)
    p.add_argument("--ef", type=int, default=64)
    p.add_argument("--m", type=int, default=16)
    p.add_argument("--ef-construction", type=int, default=200)
    p.add_argument("--engines", default="quiver,chroma")
    p.add_argument("--rounds", type=int, default=1, help="repeat every server this many times, interleaved")
    p.add_argument("--out", type=Path, default=benchlib.CACHE_DIR / "serve.json")
    a = p.parse_args(argv)
    cache = benchlib.CACHE_DIR
    cache.mkdir(parents=True, exist_ok=True)

    ds = benchlib.load_real(a.data)
    con = peers_filtered.load_metadata(a.data)
    meta_rows = peers_filtered.metadata_rows(con)
    filters = json.load(open(a.data / "filters.json"))["filters"]
    usable = []
    for f in filters:
        try:
            where = peers_filtered.to_chroma_where(f["where"])
        except peers_filtered.Unsupported:
            continue
        allowed = {r[0] for r in con.execute(f"SELECT id FROM base WHERE {f['where']}")}
        gt = np.load(a.data / f["gt_file"])
        gt_scores = np.load(a.data / f["gt_scores_file"])
        usable.append((f, where, allowed, gt, gt_scores))

    quiver_lines, chroma_lines = [], []
    for f, where, _, _, _ in usable:
        for q in ds.queries:
            vector = [float(x) for x in q]
            quiver_lines.append(json.dumps({"vector": vector, "k": 10, "ef": a.ef, "filter": where, "columns": ["id"]}))
            chroma_lines.append(json.dumps({"query_embeddings": [vector], "n_results": 10, "where": where,
                                            "include": ["distances"]}))
    quiver_bodies = cache / "serve-quiver-bodies.jsonl"
    quiver_bodies.write_text("\n".join(quiver_lines) + "\n")

    quivers = [q.split("=", 1) if "=" in q else ("quiver", q) for q in a.quiver]
    servers = []
    for engine in a.engines.split(","):
        if engine == "quiver":
            servers += [("quiver", label, Path(path)) for label, path in quivers]
        else:
            servers.append((engine, engine, None))
    results = []
    for round_number in range(1, a.rounds + 1):
        for engine, label, binary in servers:
            print(f"== {label} (round {round_number})   (load: {load_avg()})", flush=True)
            load_before = load_avg()
            if engine == "quiver":
                r = run_quiver(a, label, binary, ds, meta_rows, quiver_bodies, cache)
            elif engine == "chroma":
                r = run_chroma(a, ds, meta_rows, "\n".join(chroma_lines) + "\n", cache)
            else:
                raise SystemExit(f"unknown engine {engine}")
            r["load_before"] = load_before
            r["round"] = round_number
            # Recall@10 of the recorded answers, filter by filter, against the exact filtered truth.
            per_filter, start = {}, 0
            for f, _, allowed, gt, gt_scores in usable:
                answers = r["answers"][start:start + len(ds.queries)]
                start += len(ds.queries)
                per_filter[f["name"]] = peers_filtered.score_filter(ds.base, ds.queries, gt, gt_scores, answers, allowed)
            r["recall_at_10"] = float(np.mean([s["recall_at_10"] for s in per_filter.values()]))
            r["violations"] = sum(s["violations"] for s in per_filter.values())
            r["per_filter_recall"] = {k: v["recall_at_10"] for k, v in per_filter.items()}
            del r["answers"]
            for run in r["runs"]:
                print(f"   {run['connections']:>3} connections: {run['qps']:8.1f} q/s  p50 {run['p50_ms']} ms  "
                      f"p99 {run['p99_ms']} ms  errors {run['errors']}", flush=True)
            print(f"   recall@10 {r['recall_at_10']:.4f}  filter violations {r['violations']}", flush=True)
            results.append(r)

    report = {"machine": benchlib.machine_info(), "filters": [f["name"] for f, *_ in usable],
              "queries": len(quiver_lines), "seconds": a.seconds, "warmup": a.warmup, "ef": a.ef,
              "engines": results, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    a.out.write_text(json.dumps(report, indent=2))
    print(markdown(report))
    return 0


def markdown(report: dict) -> str:
    def ms(value) -> str:
        return "—" if value is None else f"{value:.2f}"

    engines = report["engines"]
    lines = ["| server | round | connections | q/s | p50 ms | p99 ms | errors | recall@10 |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for e in engines:
        for run in e["runs"]:
            lines.append(f"| {e['engine']} {e['version']} | {e.get('round', 1)} | {run['connections']} | {run['qps']:.0f} | "
                         f"{ms(run['p50_ms'])} | {ms(run['p99_ms'])} | {run['errors']} | {e['recall_at_10']:.3f} |")
    # Ratios of medians over the rounds, each Quiver build against Chroma.
    by: dict[str, dict[int, list[dict]]] = {}
    for e in engines:
        name = "chroma" if e["engine"].lower().startswith("chroma") else f"quiver {e['version']}"
        for run in e["runs"]:
            by.setdefault(name, {}).setdefault(run["connections"], []).append(run)

    def median(runs: list[dict], key: str):
        values = sorted(r[key] for r in runs if r[key] is not None)
        return values[len(values) // 2] if values else None

    if "chroma" in by:
        lines += ["", "| server | connections | q/s ÷ Chroma q/s | p99 ÷ Chroma p99 |", "|---|---:|---:|---:|"]
        for name in (n for n in by if n != "chroma"):
            for c in sorted(by[name]):
                if c not in by["chroma"]:
                    continue
                q, ch = median(by[name][c], "qps"), median(by["chroma"][c], "qps")
                qp, chp = median(by[name][c], "p99_ms"), median(by["chroma"][c], "p99_ms")
                qps_ratio = f"{q / ch:.2f}×" if q and ch else "—"
                p99_ratio = f"{qp / chp:.2f}×" if qp and chp else "—"
                lines.append(f"| {name} | {c} | {qps_ratio} | {p99_ratio} |")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
