#!/usr/bin/env python3
"""Retrieval for a RAG app: load passages with their embeddings into Quiver, then fetch the
context for a question and print it as a prompt would use it.

    quiver serve --db /tmp/rag-db &                    # or with --socket /tmp/quiver.sock
    python3 clients/python/examples/rag_context.py --question 3
    python3 clients/python/examples/rag_context.py --url unix:/tmp/quiver.sock --question 3 --doc library/json.html

The data is Tools/sample: 1,000 passages of the Python documentation with all-MiniLM-L6-v2
embeddings, and 32 questions embedded the same way (question vectors are precomputed, so
the example needs no model).
"""

import argparse
import json
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from quiver_client import Client  # noqa: E402

SAMPLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "Tools", "sample")


def read_npy(path):
    """A 2-D float16 or float32 NumPy file as a list of lists (standard library only)."""
    with open(path, "rb") as f:
        if f.read(6) != b"\x93NUMPY":
            raise ValueError(f"{path} is not a .npy file")
        major = f.read(2)[0]
        header_length = struct.unpack("<H" if major == 1 else "<I", f.read(2 if major == 1 else 4))[0]
        header = eval(f.read(header_length).decode("latin1"), {"__builtins__": {}}, {"True": True, "False": False})
        if header["fortran_order"]:
            raise ValueError("Fortran-ordered arrays are not supported")
        code = {"<f2": "e", "<f4": "f"}[header["descr"]]
        rows, columns = header["shape"]
        width = struct.calcsize(code)
        data = f.read(rows * columns * width)
    values = struct.unpack(f"<{rows * columns}{code}", data)
    return [list(values[i * columns:(i + 1) * columns]) for i in range(rows)]


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def load_passages(client, table="passages", sample=SAMPLE, batch_size=250):
    """Creates the table (with an HNSW index) and upserts every passage with its vector."""
    passages = read_jsonl(os.path.join(sample, "passages.jsonl"))
    vectors = read_npy(os.path.join(sample, "passages.f16.npy"))
    client.create_table(table, [
        {"name": "id", "type": "INTEGER", "primary_key": True},
        {"name": "doc", "type": "TEXT", "not_null": True},
        {"name": "position", "type": "INTEGER"},
        {"name": "text", "type": "TEXT COMPRESSED"},
        {"name": "embedding", "type": "VECTOR(384)"},
    ], indexes=[{"column": "embedding", "metric": "cosine"}], if_not_exists=True)
    rows = ({"id": p["id"], "doc": p["doc"], "position": p["position"], "text": p["text"],
             "embedding": vectors[p["id"] - 1]} for p in passages)
    return client.upsert(table, rows, batch_size=batch_size)


def retrieve_context(client, question_vector, k=5, table="passages", doc=None, exact=False):
    """The k passages nearest the question, optionally from one document only."""
    return client.query(table, question_vector, k=k, filter={"doc": doc} if doc else None,
                        columns=["id", "doc", "text"], exact=exact)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=os.environ.get("QUIVER_URL", "http://127.0.0.1:7070"))
    parser.add_argument("--token", default=None, help="bearer token (default: $QUIVER_TOKEN)")
    parser.add_argument("--sample", default=SAMPLE, help="folder with passages.jsonl, passages.f16.npy, questions.*")
    parser.add_argument("--table", default="passages")
    parser.add_argument("--question", type=int, default=1, help="question number (1-based) in questions.jsonl")
    parser.add_argument("-k", type=int, default=5)
    parser.add_argument("--doc", default=None, help="only passages of this document, e.g. library/json.html")
    parser.add_argument("--skip-load", action="store_true", help="the passages are loaded already")
    args = parser.parse_args()

    with Client(args.url, token=args.token) as client:
        if not args.skip_load:
            written = load_passages(client, args.table, args.sample)
            print(f"loaded {written} passages into {args.table}")
        questions = read_jsonl(os.path.join(args.sample, "questions.jsonl"))
        vectors = read_npy(os.path.join(args.sample, "questions.f32.npy"))
        if not 1 <= args.question <= len(questions):
            parser.error(f"--question must be between 1 and {len(questions)}")
        question = questions[args.question - 1]
        hits = retrieve_context(client, vectors[args.question - 1], k=args.k, table=args.table, doc=args.doc)
        print(f"question: {question['text'][:200]}")
        print(f"context ({len(hits)} passages):")
        for rank, hit in enumerate(hits, 1):
            snippet = " ".join(hit.row["text"].split())[:160]
            print(f"  [{rank}] id={hit.id} distance={hit.distance:.4f} {hit.row['doc']}: {snippet}…")


if __name__ == "__main__":
    main()
