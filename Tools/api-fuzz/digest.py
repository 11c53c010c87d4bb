"""Prints a SHA-256 of everything a database directory holds for its users: every table's
schema and rows (SQLite's own dump of rows.sqlite, read-only), so two digests taken before and
after a fuzzing run tell whether any request changed data. Used by Tools/api-fuzz/run."""

import hashlib
import sqlite3
import sys

path = sys.argv[1] + "/rows.sqlite"
connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
digest = hashlib.sha256()
for line in connection.iterdump():
    digest.update(line.encode("utf-8", "surrogatepass"))
    digest.update(b"\n")
print(digest.hexdigest())
