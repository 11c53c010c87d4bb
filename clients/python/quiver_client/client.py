"""The client: one keep-alive connection, JSON in and out, errors as QuiverError."""

import http.client
import json
import os
import socket
import urllib.parse
from typing import Any, Dict, Iterable, List, NamedTuple, Optional, Sequence, Union

JSON = Any


class QuiverError(Exception):
    """A request the server refused (status 4xx/5xx) or could not be sent."""

    def __init__(self, status: Optional[int], code: Optional[str], message: str):
        super().__init__(f"{status} {code}: {message}" if status else message)
        self.status = status
        self.code = code
        self.message = message


class ResultSet(NamedTuple):
    """The rows one SQL statement returned."""
    columns: List[str]
    rows: List[List[JSON]]

    def dicts(self) -> List[Dict[str, JSON]]:
        """The rows as dictionaries keyed by column name."""
        return [dict(zip(self.columns, row)) for row in self.rows]


class Match(NamedTuple):
    """One nearest-neighbour hit: the row's key, its distance and the columns asked for."""
    id: JSON
    distance: Optional[float]
    row: Dict[str, JSON]


class _UnixHTTPConnection(http.client.HTTPConnection):
    """HTTP over a Unix domain socket (http.client speaks only TCP by itself)."""

    def __init__(self, path: str, timeout: float):
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self._path)
        self.sock = sock


class Client:
    """A connection to `quiver serve`.

    ``url`` is ``http://HOST:PORT``, ``unix:/path/to.sock``, ``unix:///path/to.sock`` or
    ``http+unix://%2Fpath%2Fto.sock``. ``token`` (default: ``$QUIVER_TOKEN``) is sent as a bearer
    token. Not thread-safe: use one Client per thread.
    """

    def __init__(self, url: str = "http://127.0.0.1:7070", token: Optional[str] = None, timeout: float = 60.0):
        self.url = url
        self.token = token if token is not None else os.environ.get("QUIVER_TOKEN") or None
        self.timeout = timeout
        if url.startswith("unix:") and not url.startswith("unix://"):
            self._unix_path: Optional[str] = url[len("unix:"):]
        elif url.startswith("unix://"):
            self._unix_path = url[len("unix://"):]
        elif url.startswith("http+unix://"):
            self._unix_path = urllib.parse.unquote(url[len("http+unix://"):].split("/", 1)[0])
        else:
            parsed = urllib.parse.urlsplit(url)
            if parsed.scheme != "http" or not parsed.hostname:
                raise ValueError(f"expected http://HOST:PORT or unix:/path/to/socket, got {url!r}")
            self._unix_path = None
            self._host = parsed.hostname
            self._port = parsed.port or 7070
        self._connection: Optional[http.client.HTTPConnection] = None

    # -- plumbing ---------------------------------------------------------------------------

    def _connect(self) -> http.client.HTTPConnection:
        if self._connection is None:
            if self._unix_path is not None:
                self._connection = _UnixHTTPConnection(self._unix_path, self.timeout)
            else:
                self._connection = http.client.HTTPConnection(self._host, self._port, timeout=self.timeout)
        return self._connection

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def request(self, method: str, path: str, body: JSON = None) -> JSON:
        """Calls an endpoint; returns the decoded JSON (or text) answer, raises QuiverError otherwise."""
        payload = None if body is None else json.dumps(body, allow_nan=False).encode("utf-8")
        headers = {"Accept": "application/json"}
        if payload is not None:
            headers["Content-Type"] = "application/json"
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        for attempt in (0, 1):
            connection = self._connect()
            try:
                connection.request(method, path, body=payload, headers=headers)
                response = connection.getresponse()
                data = response.read()
                break
            except (ConnectionError, http.client.RemoteDisconnected, http.client.CannotSendRequest, BrokenPipeError) as error:
                # A kept-alive connection the server closed: reconnect once.
                self.close()
                if attempt == 1:
                    raise QuiverError(None, "connection", f"cannot reach {self.url}: {error}") from error
            except OSError as error:
                self.close()
                raise QuiverError(None, "connection", f"cannot reach {self.url}: {error}") from error
        if response.getheader("Connection", "").lower() == "close":
            self.close()
        content_type = response.getheader("Content-Type", "")
        if not 200 <= response.status < 300:
            code, message = None, data.decode("utf-8", "replace")
            if content_type.startswith("application/json"):
                try:
                    error = json.loads(data)["error"]
                    code, message = error.get("code"), error.get("message", message)
                except (ValueError, KeyError, TypeError):
                    pass
            raise QuiverError(response.status, code, message)
        if content_type.startswith("application/json"):
            return json.loads(data)
        return data.decode("utf-8")

    @staticmethod
    def _table_path(table: str, suffix: str = "") -> str:
        return "/tables/" + urllib.parse.quote(table, safe="") + suffix

    # -- the API ----------------------------------------------------------------------------

    def health(self) -> bool:
        return self.request("GET", "/health").get("status") == "ok"

    def metrics(self) -> str:
        """Prometheus text."""
        return self.request("GET", "/metrics")

    def tables(self) -> List[Dict[str, JSON]]:
        return self.request("GET", "/tables")["tables"]

    def table(self, name: str) -> Dict[str, JSON]:
        return self.request("GET", self._table_path(name))

    def create_table(self, name: str, columns: Sequence[Dict[str, JSON]], indexes: Optional[Sequence[Dict[str, JSON]]] = None,
                     if_not_exists: bool = False) -> Dict[str, JSON]:
        """Columns: ``{"name", "type", "primary_key"?, "not_null"?, "unique"?}``; types include
        ``VECTOR(n)`` and ``TEXT COMPRESSED``. Indexes: ``{"column", "metric"?, "m"?, "ef_construction"?, "name"?}``."""
        body: Dict[str, JSON] = {"name": name, "columns": list(columns), "if_not_exists": if_not_exists}
        if indexes:
            body["indexes"] = list(indexes)
        return self.request("POST", "/tables", body)

    def drop_table(self, name: str) -> None:
        self.request("DELETE", self._table_path(name))

    def upsert(self, table: str, rows: Iterable[Dict[str, JSON]], batch_size: int = 1000) -> int:
        """Inserts rows, or updates the columns given where the key exists. Each batch of
        ``batch_size`` rows is one transaction. Returns the number of rows written."""
        written, batch = 0, []
        for row in rows:
            batch.append(_plain(row))
            if len(batch) >= batch_size:
                written += self.request("POST", self._table_path(table, "/rows"), {"rows": batch})["upserted"]
                batch = []
        if batch:
            written += self.request("POST", self._table_path(table, "/rows"), {"rows": batch})["upserted"]
        return written

    def get(self, table: str, ids: Sequence[JSON], columns: Optional[Sequence[str]] = None) -> List[Dict[str, JSON]]:
        """The rows with these keys, in the order asked (missing keys are left out)."""
        body: Dict[str, JSON] = {"ids": list(ids)}
        if columns is not None:
            body["columns"] = list(columns)
        return self.request("POST", self._table_path(table, "/rows/get"), body)["rows"]

    def delete(self, table: str, ids: Sequence[JSON]) -> int:
        return self.request("POST", self._table_path(table, "/rows/delete"), {"ids": list(ids)})["deleted"]

    @staticmethod
    def _query_body(vector: Sequence[float], k: int, filter: Optional[Dict[str, JSON]], where: Optional[str],
                    params: JSON, columns: Optional[Sequence[str]], ef: Optional[int], metric: Optional[str],
                    exact: bool, column: Optional[str]) -> Dict[str, JSON]:
        body: Dict[str, JSON] = {"vector": [float(x) for x in vector], "k": k}
        for key, value in (("filter", filter), ("where", where), ("params", params), ("ef", ef),
                           ("metric", metric), ("column", column)):
            if value is not None:
                body[key] = value
        if columns is not None:
            body["columns"] = list(columns)
        if exact:
            body["exact"] = True
        return body

    def query(self, table: str, vector: Sequence[float], k: int = 10, filter: Optional[Dict[str, JSON]] = None,
              where: Optional[str] = None, params: JSON = None, columns: Optional[Sequence[str]] = None,
              ef: Optional[int] = None, metric: Optional[str] = None, exact: bool = False,
              column: Optional[str] = None) -> List[Match]:
        """The k nearest rows to ``vector``. ``filter`` is structured (``{"lang": "en", "year": {"$gte": 2020}}``,
        ``$and``/``$or``/``$not``, ``$in``, ``$like`` …); ``where`` a SQL expression with ``params``."""
        body = self._query_body(vector, k, filter, where, params, columns, ef, metric, exact, column)
        answer = self.request("POST", self._table_path(table, "/query"), body)
        return [Match(m["id"], m.get("distance"), m["row"]) for m in answer["results"]]

    def query_batch(self, table: str, queries: Sequence[Dict[str, JSON]]) -> List[List[Match]]:
        """Several queries (dicts with the arguments of ``query``) in one request."""
        bodies = []
        for q in queries:
            q = dict(q)
            bodies.append(self._query_body(q.pop("vector"), q.pop("k", 10), q.pop("filter", None), q.pop("where", None),
                                           q.pop("params", None), q.pop("columns", None), q.pop("ef", None),
                                           q.pop("metric", None), q.pop("exact", False), q.pop("column", None)))
            if q:
                raise TypeError(f"unknown query arguments: {sorted(q)}")
        answer = self.request("POST", self._table_path(table, "/query/batch"), {"queries": bodies})
        return [[Match(m["id"], m.get("distance"), m["row"]) for m in results] for results in answer["results"]]

    def hybrid(self, table: str, vector: Sequence[float], text: str, k: int = 10, text_table: Optional[str] = None,
               candidates: Optional[int] = None, filter: Optional[Dict[str, JSON]] = None,
               columns: Optional[Sequence[str]] = None) -> List[Dict[str, JSON]]:
        """Full-text (FTS5 table ``<table>_fts`` or ``text_table``) and vector rankings fused by reciprocal rank."""
        body: Dict[str, JSON] = {"vector": [float(x) for x in vector], "text": text, "k": k}
        for key, value in (("text_table", text_table), ("candidates", candidates), ("filter", filter)):
            if value is not None:
                body[key] = value
        if columns is not None:
            body["columns"] = list(columns)
        return self.request("POST", self._table_path(table, "/hybrid"), body)["results"]

    def sql(self, sql: str, params: Union[Sequence[JSON], Dict[str, JSON], None] = None) -> List[ResultSet]:
        """Runs a script (all or nothing); one ResultSet per statement that returns rows."""
        body: Dict[str, JSON] = {"sql": sql}
        if params is not None:
            body["params"] = params if isinstance(params, dict) else list(params)
        answer = self.request("POST", "/sql", body)
        return [ResultSet(r["columns"], r["rows"]) for r in answer["results"]]


def _plain(row: Dict[str, JSON]) -> Dict[str, JSON]:
    """Makes sequences such as array('f') or numpy arrays JSON-ready (lists of floats)."""
    out = {}
    for key, value in row.items():
        if hasattr(value, "tolist"):
            value = value.tolist()
        elif not isinstance(value, (str, bytes, dict, list)) and hasattr(value, "__iter__"):
            value = list(value)
        out[key] = value
    return out
