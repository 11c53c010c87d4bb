"""Client for `quiver serve`: HTTP/1.1 + JSON over TCP or a Unix domain socket.

Standard library only::

    from quiver_client import Client
    db = Client("http://127.0.0.1:7070", token="s3cret")      # or Client("unix:/tmp/quiver.sock")
    db.create_table("docs", [{"name": "id", "type": "INTEGER", "primary_key": True},
                             {"name": "body", "type": "TEXT"},
                             {"name": "embedding", "type": "VECTOR(384)"}],
                    indexes=[{"column": "embedding", "metric": "cosine"}])
    db.upsert("docs", [{"id": 1, "body": "…", "embedding": [0.1, …]}])
    hits = db.query("docs", vector, k=5, filter={"lang": "en"}, columns=["id", "body"])
    rows = db.sql("SELECT count(*) FROM docs")[0].rows
"""

from .client import Client, QuiverError, ResultSet, Match

__all__ = ["Client", "QuiverError", "ResultSet", "Match"]
__version__ = "0.1.0"
