"""The Python client against a live `quiver serve` (TCP and Unix socket).

The server binary is $QUIVER_BINARY, else the repository's .build/debug/quiver.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, os.path.join(HERE, "..", "examples"))

from quiver_client import Client, QuiverError  # noqa: E402
import rag_context  # noqa: E402

REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
SAMPLE = os.path.join(REPO, "Tools", "sample")


def quiver_binary():
    binary = os.environ.get("QUIVER_BINARY") or os.path.join(REPO, ".build", "debug", "quiver")
    if not os.access(binary, os.X_OK):
        raise unittest.SkipTest(f"no quiver binary at {binary}; build it with `swift build` or set QUIVER_BINARY")
    return binary


class Server:
    """`quiver serve` on an ephemeral port and a Unix socket, in a fresh database directory."""

    def __init__(self, *extra, env=None):
        self.directory = tempfile.mkdtemp(prefix="quiver-py-")
        self.socket = os.path.join(self.directory, "q.sock")
        environment = dict(os.environ)
        environment.pop("QUIVER_TOKEN", None)
        environment.update(env or {})
        self.output = open(os.path.join(self.directory, "out.txt"), "w+")
        self.process = subprocess.Popen(
            [quiver_binary(), "serve", "--db", os.path.join(self.directory, "db"), "--port", "0", "--socket", self.socket, *extra],
            stdout=self.output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=environment)
        deadline = time.time() + 30
        self.port = None
        while time.time() < deadline:
            self.output.seek(0)
            text = self.output.read()
            match = re.search(r"listening on http://127\.0\.0\.1:(\d+)", text)
            if match and "listening on unix:" in text:
                self.port = int(match.group(1))
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"quiver serve did not start: {text}")

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.output.close()
        shutil.rmtree(self.directory, ignore_errors=True)


class ClientTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def clients(self):
        return [Client(self.server.url), Client("unix:" + self.server.socket), Client("http+unix://" + self.server.socket.replace("/", "%2F"))]

    def test_tables_rows_queries_and_sql_over_tcp_and_unix(self):
        for n, client in enumerate(self.clients()):  # TCP, unix:PATH, http+unix://
            with client:
                table = f"items{n}"
                self.assertTrue(client.health())
                client.create_table(table, [
                    {"name": "id", "type": "INTEGER", "primary_key": True},
                    {"name": "tag", "type": "TEXT"},
                    {"name": "score", "type": "REAL"},
                    {"name": "v", "type": "VECTOR(3)"},
                ], indexes=[{"column": "v", "metric": "l2"}])
                self.assertIn(table, [t["name"] for t in client.tables()])
                rows = [{"id": i, "tag": "even" if i % 2 == 0 else "odd", "score": i / 10, "v": [float(i), 0.0, 1.0]} for i in range(1, 41)]
                self.assertEqual(client.upsert(table, rows, batch_size=16), 40)
                hits = client.query(table, [10.2, 0.0, 1.0], k=3, exact=True)
                self.assertEqual([h.id for h in hits], [10, 11, 9])
                self.assertAlmostEqual(hits[0].distance, 0.2, places=5)
                hits = client.query(table, [10.2, 0.0, 1.0], k=3, filter={"tag": "odd", "score": {"$lt": 1.0}})
                self.assertEqual([h.id for h in hits], [9, 7, 5])
                hits = client.query(table, [10.2, 0.0, 1.0], k=2, where="tag = :t AND id IN (SELECT id FROM " + table + " WHERE id > 20)",
                                    params={"t": "even"}, columns=["id", "tag"])
                self.assertEqual([h.id for h in hits], [22, 24])
                self.assertEqual(set(hits[0].row), {"id", "tag"})
                batch = client.query_batch(table, [{"vector": [1, 0, 1], "k": 1}, {"vector": [40, 0, 1], "k": 1, "filter": {"$not": {"id": 40}}}])
                self.assertEqual([[h.id for h in b] for b in batch], [[1], [39]])
                got = client.get(table, [3, 999, 4], columns=["id", "v"])
                self.assertEqual([r["id"] for r in got], [3, 4])
                self.assertEqual(got[0]["v"], [3.0, 0.0, 1.0])
                self.assertEqual(client.delete(table, [1, 2, 3]), 3)
                result = client.sql(f"SELECT count(*) AS n, min(id) FROM {table} WHERE tag = ?", ["odd"])
                self.assertEqual(result[0].columns, ["n", "min(id)"])
                self.assertEqual(result[0].rows, [[18, 5]])
                self.assertEqual(result[0].dicts()[0]["n"], 18)
                client.drop_table(table)
                self.assertNotIn(table, [t["name"] for t in client.tables()])

    def test_errors_carry_status_code_and_message(self):
        with Client(self.server.url) as client:
            client.create_table("errs", [{"name": "id", "type": "INTEGER", "primary_key": True}, {"name": "v", "type": "VECTOR(2)"}])
            with self.assertRaises(QuiverError) as caught:
                client.upsert("errs", [{"id": 1, "v": [1.0, 2.0, 3.0]}])
            self.assertEqual(caught.exception.status, 400)
            self.assertIn("expected 2 dimensions, got 3", caught.exception.message)
            with self.assertRaises(QuiverError) as caught:
                client.query("nope", [1.0, 2.0])
            self.assertEqual((caught.exception.status, caught.exception.code), (404, "not_found"))
            with self.assertRaises(QuiverError) as caught:
                client.sql("SELEC 1")
            self.assertEqual(caught.exception.code, "sql_error")
            self.assertEqual(client.sql("SELECT count(*) FROM errs")[0].rows, [[0]])
        with self.assertRaises(QuiverError) as caught, Client("http://127.0.0.1:1", timeout=2) as unreachable:
            unreachable.health()
        self.assertIsNone(caught.exception.status)

    def test_example_retrieves_the_expected_context(self):
        with Client("unix:" + self.server.socket) as client:
            self.assertEqual(rag_context.load_passages(client, table="passages", sample=SAMPLE), 1000)
            with open(os.path.join(SAMPLE, "expected_top5.json"), encoding="utf-8") as f:
                expected = {r["id"]: [h["id"] for h in r["top5"]] for r in json.load(f)["results"]}
            questions = rag_context.read_npy(os.path.join(SAMPLE, "questions.f32.npy"))
            found = total = 0
            for qid, ids in expected.items():
                exact = rag_context.retrieve_context(client, questions[qid - 1], k=5, exact=True)
                self.assertEqual([h.id for h in exact], ids, f"question {qid}")
                approximate = rag_context.retrieve_context(client, questions[qid - 1], k=5)
                found += len(set(h.id for h in approximate) & set(ids))
                total += len(ids)
            self.assertGreaterEqual(found / total, 0.9, "recall@5 through the HNSW index")
            one_doc = rag_context.retrieve_context(client, questions[0], k=3, doc="library/json.html")
            self.assertTrue(one_doc and all(h.row["doc"] == "library/json.html" for h in one_doc))

    def test_example_script_runs(self):
        result = subprocess.run([sys.executable, os.path.join(HERE, "..", "examples", "rag_context.py"), "--url", self.server.url,
                                 "--table", "script_passages", "--question", "2", "-k", "3"],
                                capture_output=True, text=True, timeout=120)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("loaded 1000 passages", result.stdout)
        self.assertEqual(len(re.findall(r"^  \[\d\] id=\d+ distance=", result.stdout, re.M)), 3, result.stdout)


class TokenTests(unittest.TestCase):
    def test_bearer_token(self):
        server = Server("--read-token", "r", env={"QUIVER_TOKEN": "w"})
        try:
            with Client(server.url) as anonymous, Client(server.url, token="w") as writer, Client(server.url, token="r") as reader:
                self.assertTrue(anonymous.health())
                with self.assertRaises(QuiverError) as caught:
                    anonymous.tables()
                self.assertEqual(caught.exception.status, 401)
                writer.create_table("t", [{"name": "a", "type": "TEXT"}])
                self.assertEqual(reader.sql("SELECT count(*) FROM t")[0].rows, [[0]])
                with self.assertRaises(QuiverError) as caught:
                    reader.sql("INSERT INTO t VALUES ('x')")
                self.assertEqual(caught.exception.status, 403)
        finally:
            server.stop()


if __name__ == "__main__":
    unittest.main()
