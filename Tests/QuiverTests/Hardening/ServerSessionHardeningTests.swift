import Foundation
import QuiverClient
import QuiverJSON
import Testing

/// Attacks on `POST /sql` of a real `quiver serve` over a real socket, with the write token and
/// with the read token: nothing a request does may escape the database or outlive the request
/// on a pooled connection (one reader, so every read lands on the connection attacked), and a
/// script is all or nothing.
@Suite struct ServerSessionHardeningTests {
    static let writeToken = "session-writer"
    static let readToken = "session-reader"

    func server(_ directory: TemporaryDirectory, _ extra: [String] = []) throws -> ServerProcess {
        try ServerProcess(
            database: directory.file("db"), ["--readers", "1", "--read-token", Self.readToken] + extra,
            environment: ["QUIVER_TOKEN": Self.writeToken])
    }

    func count(_ client: QuiverClient, _ table: String = "t") throws -> JSONValue? {
        try client.sql("SELECT count(*) FROM \(table)").first?.rows.first?.first
    }

    @Test func fts3TokenizerPointersAreUnreachable() throws {
        let directory = TemporaryDirectory("quiver-session")
        let server = try server(directory)
        defer { _ = server.stop() }
        let writer = server.client(token: Self.writeToken)
        let reader = server.client(token: Self.readToken)
        let leak = expectStatus(403) { try reader.sql("SELECT hex(fts3_tokenizer('simple'))") }
        #expect(leak?.message.contains("fts3_tokenizer is not allowed") == true, "\(String(describing: leak))")
        _ = expectStatus(403) { try writer.sql("SELECT fts3_tokenizer('simple', X'4141414141414141')") }
        _ = expectStatus(403) { try writer.sql("SELECT fts5(NULL)") }
        // FTS3 itself works and the server is alive.
        try writer.sql("CREATE VIRTUAL TABLE notes USING fts3(body); INSERT INTO notes VALUES ('hello world')")
        #expect(try reader.sql("SELECT count(*) FROM notes WHERE notes MATCH 'hello'").first?.rows == [[1]])
        #expect(try writer.health())
    }

    @Test func temporaryObjectsAreRefusedSoNoneOutlivesItsRequest() throws {
        let directory = TemporaryDirectory("quiver-session")
        let server = try server(directory)
        defer { _ = server.stop() }
        let writer = server.client(token: Self.writeToken)
        let reader = server.client(token: Self.readToken)
        try writer.sql("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO t VALUES (1, 'real')")
        for sql in [
            "CREATE TEMP TABLE secret (id INTEGER PRIMARY KEY, v TEXT)",
            "CREATE TABLE temp.secret (id INTEGER PRIMARY KEY)",
            "CREATE TEMP TABLE t (id INTEGER PRIMARY KEY, name TEXT)", "CREATE TEMP VIEW v AS SELECT 1",
            "CREATE TEMP TRIGGER tr AFTER INSERT ON t BEGIN DELETE FROM t; END",
        ] {
            let refused = expectStatus(403) { try writer.sql(sql) }
            #expect(
                refused?.message.contains("TEMP tables, views, triggers and indexes are not allowed") == true,
                "\(sql): \(String(describing: refused))")
            _ = expectStatus(403) { try reader.sql(sql) }
        }
        // No shadow table, no vanishing upserts: the next requests see the database as it is.
        _ = expectStatus(404) { try writer.call("POST", "/tables/secret/rows", ["rows": [["id": 1, "v": "x"]]]) }
        #expect(try writer.call("POST", "/tables/t/rows", ["rows": [["id": 2, "name": "two"]]])["upserted"] == 1)
        #expect(try reader.sql("SELECT id, name FROM t ORDER BY id").first?.rows == [[1, "real"], [2, "two"]])
        #expect(try writer.sql("SELECT count(*) FROM temp.sqlite_schema").first?.rows == [[0]])
        // Nor does the last row id another request inserted.
        try writer.sql("INSERT INTO t VALUES (77, 'seventy-seven')")
        // (The UPDATE, which changes nothing, sends the script to the writer that inserted.)
        #expect(try writer.sql("UPDATE t SET name = name WHERE 0; SELECT last_insert_rowid()").first?.rows == [[0]])
        #expect(try writer.sql("INSERT INTO t VALUES (78, 'x'); SELECT last_insert_rowid()").first?.rows == [[78]])
    }

    /// Every PRAGMA of the attack that set a setting is refused for both tokens, and the
    /// settings are as a fresh connection has them.
    @Test func settingsCannotBeChangedByARequest() throws {
        let directory = TemporaryDirectory("quiver-session")
        let server = try server(directory)
        defer { _ = server.stop() }
        let writer = server.client(token: Self.writeToken)
        let reader = server.client(token: Self.readToken)
        try writer.sql(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT); CREATE TABLE a (id INTEGER PRIMARY KEY, salary INTEGER)"
        )
        let attempts = [
            "hard_heap_limit = 10000", "soft_heap_limit = 10000", "max_page_count = 1", "wal_autocheckpoint = 0",
            "case_sensitive_like = 1", "reverse_unordered_selects = 1", "busy_timeout = 0", "cache_size = 1",
            "threads = 4", "analysis_limit = 1", "schema_version = 1000", "temp_store = 2", "cache_spill = 0",
            "automatic_index = 0", "query_only = 1", "foreign_keys = OFF", "recursive_triggers = 1",
            "legacy_alter_table = 1", "main.cache_size = 5",
        ]
        let before = try writer.sql("PRAGMA schema_version").first?.rows
        for pragma in attempts {
            for client in [writer, reader] {
                let refused = expectStatus(403) { try client.sql("PRAGMA \(pragma)") }
                #expect(
                    refused?.message.contains("cannot be set here") == true, "\(pragma): \(String(describing: refused))"
                )
            }
        }
        #expect(try writer.sql("PRAGMA schema_version").first?.rows == before)
        for client in [writer, reader] {
            #expect(try client.sql("SELECT 'a' LIKE 'A'").first?.rows == [[1]], "case_sensitive_like stays off")
            #expect(try client.sql("PRAGMA busy_timeout").first?.rows == [[10000]])
            #expect(try client.sql("PRAGMA wal_autocheckpoint").first?.rows == [[1000]])
        }
        for i in 0..<50 { try writer.sql("INSERT INTO a VALUES (\(i), \(i * 1000))") }
        #expect(try reader.sql("SELECT count(*), sum(salary) FROM a").first?.rows == [[50, 1_225_000]])
        // Allowed: the database's own user_version with the write token; a reading with either.
        try writer.sql("PRAGMA user_version = 5")
        _ = expectStatus(403) { try reader.sql("PRAGMA user_version = 6") }
        #expect(try reader.sql("PRAGMA user_version").first?.rows == [[5]])
        #expect(try writer.health())
    }

    @Test func setEfSearchLastsForItsRequest() throws {
        let directory = TemporaryDirectory("quiver-session")
        let server = try server(directory)
        defer { _ = server.stop() }
        let writer = server.client(token: Self.writeToken)
        let reader = server.client(token: Self.readToken)
        try writer.sql(
            "CREATE TABLE docs (id INTEGER PRIMARY KEY, e VECTOR(2)); INSERT INTO docs VALUES (1, '[1, 0]'), (2, '[0, 1]'), (3, '[-1, 0]'); CREATE INDEX docs_e ON docs USING hnsw (e vector_l2_ops)"
        )
        for client in [reader, writer] {
            #expect(
                try client.sql("SET hnsw.ef_search = 1; SHOW hnsw.ef_search").first?.rows == [[1]], "within the request"
            )
            #expect(try client.sql("SHOW hnsw.ef_search").first?.rows == [[40]], "the next request starts afresh")
            #expect(try client.sql("SET LOCAL hnsw.ef_search = 3; SHOW hnsw.ef_search").first?.rows == [[3]])
            #expect(
                try client.sql("SET hnsw.ef_search = 7; RESET hnsw.ef_search; SHOW hnsw.ef_search").first?.rows == [
                    [40]
                ])
        }
        let hinted = try reader.sql(
            "SET hnsw.ef_search = 2; SELECT /*+ hnsw.ef_search = 200 */ id FROM docs ORDER BY e <-> '[0.9, 0.1]' LIMIT 2"
        )
        #expect(hinted.first?.rows == [[1], [2]])
        #expect(try reader.sql("SHOW hnsw.ef_search").first?.rows == [[40]])
        #expect(
            try reader.call("POST", "/tables/docs/query", ["vector": .vector([0.9, 0.1]), "k": 1, "ef": 5])["results"]?
                .arrayValue?.first?["id"] == 1)
    }

    /// `INSERT 400; BEGIN; INSERT 401; COMMIT; INSERT 400` used to answer 409 with 400 and 401
    /// committed: a script is one transaction and may not end it.
    @Test func aScriptIsAllOrNothingWhateverItHolds() throws {
        let directory = TemporaryDirectory("quiver-session")
        let server = try server(directory)
        defer { _ = server.stop() }
        let writer = server.client(token: Self.writeToken)
        try writer.sql("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)")
        let refused = expectStatus(403) {
            try writer.sql(
                "INSERT INTO t VALUES (400, 'a'); BEGIN; INSERT INTO t VALUES (401, 'b'); COMMIT; INSERT INTO t VALUES (400, 'dup')"
            )
        }
        #expect(
            refused?.message.contains("statement 2: BEGIN is not allowed here") == true,
            "\(String(describing: refused))")
        for control in [
            "COMMIT", "END", "ROLLBACK", "BEGIN IMMEDIATE", "PRAGMA synchronous = OFF", "PRAGMA foreign_keys = OFF",
        ] {
            _ = expectStatus(403) {
                try writer.sql("INSERT INTO t VALUES (402, 'c'); \(control); INSERT INTO t VALUES (403, 'd')")
            }
        }
        let vacuum = expectStatus(403) { try writer.sql("VACUUM") }
        #expect(
            vacuum?.message.contains("VACUUM is not allowed here: it cannot run inside the transaction") == true,
            "\(String(describing: vacuum))")
        #expect(try count(writer) == 0, "nothing of a refused script ran")
        // A failing statement after savepoints undoes the whole script.
        _ = expectStatus(409) {
            try writer.sql(
                "INSERT INTO t VALUES (1, 'a'); SAVEPOINT s; INSERT INTO t VALUES (2, 'b'); RELEASE s; INSERT INTO t VALUES (1, 'dup')"
            )
        }
        #expect(try count(writer) == 0)
        try writer.sql(
            "INSERT INTO t VALUES (1, 'a'); SAVEPOINT s; INSERT INTO t VALUES (2, 'b'); ROLLBACK TO s; RELEASE s")
        #expect(try writer.sql("SELECT id FROM t").first?.rows == [[1]])
    }

    /// `quiver shell --connect` keeps SET's meaning although the server forgets it after each
    /// request: the shell sends it ahead of later statements, and errors still point into the
    /// statement as written.
    @Test func theRemoteShellKeepsItsSetAcrossStatements() throws {
        let directory = TemporaryDirectory("quiver-session")
        let server = try server(directory)
        defer { _ = server.stop() }
        try server.client(token: Self.writeToken).sql("CREATE TABLE t (id INTEGER PRIMARY KEY)")
        let out = try ShellTests().script(
            ["--connect", server.url, "--token", Self.readToken],
            stdin: """
                .mode csv
                SET hnsw.ef_search = 7;
                SHOW hnsw.ef_search;
                SELECT id FROM t WHERE nosuch = 1;
                RESET hnsw.ef_search;
                SHOW hnsw.ef_search;
                """)
        #expect(out.stdout == "hnsw.ef_search\r\n7\r\nhnsw.ef_search\r\n40\r\n", "\(out)")
        #expect(out.stderr.contains("no such column: nosuch") && !out.stderr.contains("statement 2"), "\(out.stderr)")
        #expect(out.stderr.contains("LINE 4: SELECT id FROM t WHERE nosuch = 1;"), "\(out.stderr)")
        let caret = try #require(out.stderr.split(separator: "\n").last)
        #expect(caret.count - 1 == "LINE 4: SELECT id FROM t WHERE ".count, "\(out.stderr)")
    }

    @Test func parameterValuesNoStatementUsesAreRefused() throws {
        let directory = TemporaryDirectory("quiver-session")
        let server = try server(directory)
        defer { _ = server.stop() }
        let reader = server.client(token: Self.readToken)
        let positional = expectStatus(400) { try reader.sql("SELECT ?1", parameters: [1, 2]) }
        #expect(
            positional?.message.contains("?2 given but used by no statement") == true,
            "\(String(describing: positional))")
        let named = expectStatus(400) { try reader.sql("SELECT :a", named: ["a": 1, "lang": "en"]) }
        #expect(named?.message.contains(":lang given but used by no statement") == true, "\(String(describing: named))")
        #expect(try reader.sql("SELECT ?2, ?1", parameters: [1, 2]).first?.rows == [[2, 1]])
    }

    @Test func answersAreBoundedByMaxResponseBytes() throws {
        let directory = TemporaryDirectory("quiver-session")
        let server = try server(directory, ["--max-response-bytes", "1000000"])
        defer { _ = server.stop() }
        let reader = server.client(token: Self.readToken)
        let blob = expectStatus(413) { try reader.sql("SELECT randomblob(2000000)") }
        #expect(
            blob?.message.contains("larger than the limit of 1000000 bytes") == true
                && blob?.message.contains("--max-response-bytes") == true,
            "\(String(describing: blob))")
        let rows = expectStatus(413) {
            try reader.sql(
                "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c) SELECT i, printf('%.50c', 'x') FROM c")
        }
        #expect(
            rows?.message.contains("passed at row") == true,
            "an endless result stops at the bound: \(String(describing: rows))")
        // No single value a request makes may pass it either, so SQLite never builds it.
        let made = expectStatus(413) { try reader.sql("SELECT length(randomblob(2000000))") }
        #expect(
            made?.message.contains("larger than the limit of 1000000 bytes (--max-response-bytes)") == true,
            "\(String(describing: made))")
        #expect(try reader.sql("SELECT length(randomblob(500000))").first?.rows == [[500_000]])
        // The other routes that return rows are bounded the same way.
        let writer = server.client(token: Self.writeToken)
        try writer.sql(
            "CREATE TABLE big (id INTEGER PRIMARY KEY, body TEXT, e VECTOR(2)); WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 30) INSERT INTO big SELECT i, printf('%.50000c', 'x'), '[1, 0]' FROM c"
        )
        let ids = JSONValue.array((1...30).map { .integer($0) })
        _ = expectStatus(413) { try reader.call("POST", "/tables/big/rows/get", ["ids": ids]) }
        _ = expectStatus(413) {
            try reader.call("POST", "/tables/big/query", ["vector": .vector([1, 0]), "k": 30, "columns": ["body"]])
        }
        #expect(try reader.call("POST", "/tables/big/rows/get", ["ids": [1, 2]])["rows"]?.arrayValue?.count == 2)
        #expect(try reader.health())
    }

    @Test func theDefaultBoundIs64MB() throws {
        let directory = TemporaryDirectory("quiver-session")
        let server = try server(directory)
        defer { _ = server.stop() }
        let huge = expectStatus(413) { try server.client(token: Self.readToken).sql("SELECT randomblob(70000000)") }
        #expect(huge?.message.contains("limit of 67108864 bytes") == true, "\(String(describing: huge))")
    }
}
