import Foundation
import QuiverClient
import QuiverJSON
import QuiverKernels
import Testing

/// End-to-end tests of `quiver serve`: each starts the built server on an ephemeral port
/// (and a Unix socket where it matters) and talks to it over real sockets with QuiverClient.
@Suite struct ServerTests {
    static let dimension = 8

    /// Creates `docs(id, lang, n, body, embedding VECTOR(8))` with an HNSW index and `count` rows.
    @discardableResult
    func loadDocs(_ client: QuiverClient, count: Int, seed: UInt64 = 7) throws -> [(
        id: Int64, lang: String, n: Int, vector: [Float]
    )] {
        try client.call(
            "POST", "/tables",
            [
                "name": "docs",
                "columns": [
                    ["name": "id", "type": "INTEGER", "primary_key": true],
                    ["name": "lang", "type": "TEXT", "not_null": true],
                    ["name": "n", "type": "INTEGER"],
                    ["name": "body", "type": "TEXT"],
                    ["name": "embedding", "type": .string("VECTOR(\(Self.dimension))")],
                ],
                "indexes": [["column": "embedding", "metric": "cosine", "m": 8, "ef_construction": 40]],
            ])
        var random = SeededRandom(seed: seed)
        let rows = (1...count).map { i in
            (id: Int64(i), lang: i % 3 == 0 ? "zh" : "en", n: i % 10, vector: random.vector(Self.dimension))
        }
        try client.call(
            "POST", "/tables/docs/rows",
            [
                "rows": .array(
                    rows.map { row in
                        [
                            "id": .integer(row.id), "lang": .string(row.lang), "n": .integer(Int64(row.n)),
                            "body": .string("passage k\(row.id)q in \(row.lang)"), "embedding": .vector(row.vector),
                        ]
                    })
            ])
        return rows
    }

    /// Every answer the test's clients received matched Schemas/quiver-api.openapi.json.
    func expectContractHeld(
        _ server: ServerProcess, atLeast minimum: Int, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        guard let contract = server.contract else {
            Issue.record("Schemas/quiver-api.openapi.json is missing or not JSON", sourceLocation: sourceLocation)
            return
        }
        #expect(
            contract.problems.isEmpty, "\(contract.problems.prefix(10).joined(separator: "\n"))",
            sourceLocation: sourceLocation)
        #expect(
            contract.checked >= minimum, "only \(contract.checked) answers were checked", sourceLocation: sourceLocation
        )
    }

    func ids(_ answer: JSONValue) -> [Int64] {
        answer["results"]?.arrayValue?.compactMap { $0["id"]?.integerValue } ?? []
    }

    // MARK: - Every endpoint, over TCP and over a Unix socket

    @Test func everyEndpointAnswersOverTCPAndUnixSocket() throws {
        let directory = TemporaryDirectory("quiver-serve")
        let server = try ServerProcess(
            database: directory.file("db"), ["--port", "0", "--socket", directory.file("q.sock")])
        for unix in [false, true] {
            let client = server.client(unix: unix)
            #expect(try client.health())
            let rows = try loadDocs(client, count: 60)

            // Tables: list and describe.
            let list = try client.call("GET", "/tables")
            #expect(list["tables"]?.arrayValue?.compactMap { $0["name"]?.stringValue } == ["docs"])
            let table = try client.call("GET", "/tables/docs")
            #expect(table["rows"]?.integerValue == 60)
            #expect(table["indexes"]?[0]?["metric"]?.stringValue == "cosine")
            #expect(table["columns"]?[4]?["dimension"]?.integerValue == Int64(Self.dimension))

            // Nearest neighbours, exact and through the index, against brute force.
            let query = rows[5].vector
            let expected = bruteForce(rows.map { ($0.id, $0.vector) }, query: query, metric: .cosine, k: 5).map(\.id)
            let exact = try client.call(
                "POST", "/tables/docs/query", ["vector": .vector(query), "k": 5, "exact": true])
            #expect(ids(exact) == expected)
            #expect(exact["results"]?[0]?["row"]?["lang"]?.stringValue == rows[5].lang)
            #expect(exact["results"]?[0]?["row"]?["embedding"] == nil, "vectors are returned only when asked for")
            let viaIndex = try client.call("POST", "/tables/docs/query", ["vector": .vector(query), "k": 5, "ef": 200])
            #expect(ids(viaIndex) == expected)

            // Structured filter and WHERE expression agree with brute force over the matching rows.
            let zh = rows.filter { $0.lang == "zh" && $0.n >= 3 }
            let expectedZh = bruteForce(zh.map { ($0.id, $0.vector) }, query: query, metric: .cosine, k: 4).map(\.id)
            let filtered = try client.call(
                "POST", "/tables/docs/query",
                [
                    "vector": .vector(query), "k": 4, "filter": ["lang": "zh", "n": ["$gte": 3]],
                    "columns": ["id", "n"],
                ])
            #expect(ids(filtered) == expectedZh)
            #expect(filtered["results"]?[0]?["row"]?.objectValue?.keys.sorted() == ["id", "n"])
            let whered = try client.call(
                "POST", "/tables/docs/query",
                [
                    "vector": .vector(query), "k": 4, "where": "lang = :lang AND n >= 3", "params": ["lang": "zh"],
                ])
            #expect(ids(whered) == expectedZh)
            let either = try client.call(
                "POST", "/tables/docs/query",
                [
                    "vector": .vector(query), "k": 60,
                    "filter": ["$or": [["n": ["$in": [1, 2]]], ["$not": ["lang": "en"]]]],
                ])
            #expect(Set(ids(either)) == Set(rows.filter { [1, 2].contains($0.n) || $0.lang != "en" }.map(\.id)))

            // A batch of queries answers each as a single query would.
            let batch = try client.call(
                "POST", "/tables/docs/query/batch",
                [
                    "queries": [
                        ["vector": .vector(rows[0].vector), "k": 3, "exact": true],
                        ["vector": .vector(query), "k": 4, "filter": ["lang": "zh", "n": ["$gte": 3]]],
                    ]
                ])
            #expect(
                batch["results"]?[0]?.arrayValue?.compactMap { $0["id"]?.integerValue }
                    == bruteForce(rows.map { ($0.id, $0.vector) }, query: rows[0].vector, metric: .cosine, k: 3).map(
                        \.id))
            #expect(batch["results"]?[1]?.arrayValue?.compactMap { $0["id"]?.integerValue } == expectedZh)

            // Rows: get (with a missing key), upsert as update, delete.
            let got = try client.call(
                "POST", "/tables/docs/rows/get", ["ids": [3, 999, 1], "columns": ["id", "lang", "embedding"]])
            #expect(got["rows"]?.arrayValue?.compactMap { $0["id"]?.integerValue } == [3, 1])
            #expect(got["missing"] == [999])
            let stored = got["rows"]?[0]?["embedding"]?.arrayValue?.compactMap { $0.doubleValue }.map { Float($0) }
            #expect(stored == rows[2].vector, "vectors round-trip bit for bit")
            try client.call("POST", "/tables/docs/rows", ["rows": [["id": 3, "lang": "fr"]]])
            let updated = try client.call("POST", "/tables/docs/rows/get", ["ids": [3]])
            #expect(updated["rows"]?[0]?["lang"] == "fr")
            #expect(updated["rows"]?[0]?["body"] == "passage k3q in zh", "an upsert leaves columns it does not give")
            let deleted = try client.call("POST", "/tables/docs/rows/delete", ["ids": [1, 2, 999]])
            #expect(deleted["deleted"] == 2)

            // Raw SQL: several statements, parameters, vectors in results.
            let sets = try client.sql(
                "INSERT INTO docs (id, lang) VALUES (?1, 'de'); SELECT id, lang FROM docs WHERE id = ?1; SELECT count(*) AS n FROM docs",
                parameters: [500])
            #expect(sets.count == 2)
            #expect(sets[0].columns == ["id", "lang"])
            #expect(sets[0].rows == [[500, "de"]])
            #expect(sets[1].rows == [[59]])
            let named = try client.sql(
                "SELECT id FROM docs WHERE lang = :lang ORDER BY embedding <=> :q LIMIT 1",
                named: ["lang": "fr", "q": .string("[" + rows[2].vector.map { "\($0)" }.joined(separator: ",") + "]")])
            #expect(named.first?.rows == [[3]])

            // Hybrid: an FTS5 table beside the rows, fused with the vector ranking.
            try client.sql(
                "CREATE VIRTUAL TABLE docs_fts USING fts5(body, tokenize = 'trigram'); INSERT INTO docs_fts (rowid, body) SELECT id, body FROM docs WHERE body IS NOT NULL"
            )
            let hybrid = try client.call(
                "POST", "/tables/docs/hybrid",
                [
                    "vector": .vector(rows[40].vector), "text": "k17q", "k": 3, "candidates": 50,
                    "columns": ["id", "body"],
                ])
            let hybridIDs = hybrid["results"]?.arrayValue?.compactMap { $0["id"]?.integerValue } ?? []
            // Row 41 is the vector's nearest, row 17 the only text match: each scores 1/61 from
            // its first place, more than any row ranked second in one list and absent from the other.
            #expect(hybridIDs.count == 3)
            #expect(
                Set(hybridIDs.prefix(2)) == [41, 17],
                "the vector's own row and the text's own row rank first: \(hybridIDs)")
            #expect(hybrid["results"]?[0]?["vector_rank"] != nil || hybrid["results"]?[0]?["text_rank"] != nil)
            _ = expectStatus(400) {
                try client.call(
                    "POST", "/tables/docs/hybrid", ["vector": .vector(query), "text": "x", "text_table": "docs"])
            }

            // Metrics in Prometheus' text format count what happened.
            let metrics = try client.send("GET", "/metrics")
            #expect(metrics.status == 200 && metrics.contentType.hasPrefix("text/plain"))
            #expect(
                metrics.text.contains(
                    "quiver_http_requests_total{method=\"POST\",route=\"/tables/{table}/query\",status=\"200\"}"))
            #expect(metrics.text.contains("# TYPE quiver_http_request_duration_seconds histogram"))

            // Empty batches are valid and change nothing; an unknown table is still 404.
            #expect(try client.call("POST", "/tables/docs/rows", ["rows": []])["upserted"] == 0)
            #expect(try client.call("POST", "/tables/docs/rows/get", ["ids": []])["rows"] == [])
            // No columns asked for: which ids exist, and which are missing.
            let exists = try client.call("POST", "/tables/docs/rows/get", ["ids": [41, 999_999], "columns": []])
            #expect(exists["rows"] == [[:]] && exists["missing"] == [999_999], "\(exists)")
            #expect(try client.call("POST", "/tables/docs/rows/delete", ["ids": []])["deleted"] == 0)
            #expect(try client.call("POST", "/tables/docs/query/batch", ["queries": []])["results"] == [])
            _ = expectStatus(404, code: "not_found") { try client.call("POST", "/tables/nope/rows", ["rows": []]) }

            // Unknown things: 404 with a message; undeclared methods: 405 with Allow.
            _ = expectStatus(404, code: "not_found") { try client.call("GET", "/tables/nope") }
            _ = expectStatus(404, code: "not_found") {
                try client.call("POST", "/tables/nope/query", ["vector": [1, 2]])
            }
            _ = expectStatus(404) { try client.call("GET", "/no/such/path") }
            let put = try client.send("PUT", "/tables")
            #expect(put.status == 405)
            #expect(put.headers["allow"] == "GET, POST, HEAD")
            #expect(put.json?["error"]?["code"] == "method_not_allowed")
            #expect(try client.send("DELETE", "/sql").status == 405)
            // Methods outside the router's usual set too, on paths with a parameter as well.
            let trace = try client.send("TRACE", "/health")
            #expect(trace.status == 405)
            #expect(trace.headers["allow"] == "GET, HEAD")
            let patch = try client.send("PATCH", "/tables/docs/rows")
            #expect(patch.status == 405)
            #expect(patch.headers["allow"] == "POST")
            _ = expectStatus(404) { try client.call("TRACE", "/tables/docs/nothing/here") }

            let dropped = try client.call("DELETE", "/tables/docs")
            #expect(dropped["dropped"] == "docs")
            try client.sql("DROP TABLE docs_fts")
            #expect(try client.call("GET", "/tables")["tables"] == [])
        }
        expectContractHeld(server, atLeast: 50)
        #expect(server.stop() == 0)
        #expect(
            !FileManager.default.fileExists(atPath: directory.file("q.sock")), "a clean exit removes the socket file")
    }

    // MARK: - Authentication and access

    @Test func tokensGateEveryRequestButHealthAndTheReadTokenOnlyReads() throws {
        let directory = TemporaryDirectory("quiver-serve")
        let server = try ServerProcess(
            database: directory.file("db"), ["--port", "0", "--read-token", "reader-secret"],
            environment: ["QUIVER_TOKEN": "writer-secret"])
        let anonymous = server.client()
        #expect(try anonymous.health(), "GET /health needs no token")
        let denied = expectStatus(401, code: "unauthorized") { try anonymous.call("GET", "/tables") }
        #expect(denied?.message.contains("bearer token") == true)
        _ = expectStatus(401) { try server.client(token: "writer-secreT").call("GET", "/tables") }
        _ = expectStatus(401) { try server.client(token: "writer-secret-and-more").call("GET", "/tables") }
        _ = expectStatus(401) { try anonymous.call("GET", "/metrics") }
        let raw = try anonymous.send("GET", "/tables", headers: [("Authorization", "Basic d3JpdGVyLXNlY3JldA==")])
        #expect(raw.status == 401 && raw.headers["www-authenticate"]?.hasPrefix("Bearer") == true)

        let writer = server.client(token: "writer-secret")
        let rows = try loadDocs(writer, count: 20)
        let reader = server.client(token: "reader-secret")
        // The read token queries and reads…
        #expect(
            ids(
                try reader.call(
                    "POST", "/tables/docs/query", ["vector": .vector(rows[0].vector), "k": 1, "exact": true])) == [1])
        #expect(try reader.sql("SELECT count(*) FROM docs").first?.rows == [[20]])
        #expect(try reader.call("POST", "/tables/docs/rows/get", ["ids": [1]])["rows"]?.arrayValue?.count == 1)
        #expect(try reader.sql("PRAGMA table_info(docs)").first?.rows.count == 5)
        // …and changes nothing, however it tries.
        _ = expectStatus(403) { try reader.call("POST", "/tables/docs/rows", ["rows": [["id": 100, "lang": "en"]]]) }
        _ = expectStatus(403) { try reader.call("POST", "/tables/docs/rows/delete", ["ids": [1]]) }
        _ = expectStatus(403) {
            try reader.call("POST", "/tables", ["name": "t", "columns": [["name": "a", "type": "TEXT"]]])
        }
        _ = expectStatus(403) { try reader.call("DELETE", "/tables/docs") }
        let insert = expectStatus(403, code: "forbidden") {
            try reader.sql("INSERT INTO docs (id, lang) VALUES (100, 'en')")
        }
        #expect(insert?.message.contains("read-only") == true, "\(String(describing: insert))")
        _ = expectStatus(403) { try reader.sql("WITH x AS (SELECT 1) DELETE FROM docs") }
        _ = expectStatus(403) { try reader.sql("CREATE TABLE t (a)") }
        _ = expectStatus(403) { try reader.sql("CREATE INDEX docs_n ON docs (n)") }
        _ = expectStatus(403) { try reader.sql("PRAGMA user_version = 3") }
        _ = expectStatus(403) {
            try reader.call(
                "POST", "/tables/docs/query",
                [
                    "vector": .vector(rows[0].vector), "where": "id > 0 AND load_extension('/tmp/nothing.so') IS NULL",
                ])
        }
        #expect(try writer.sql("SELECT count(*) FROM docs").first?.rows == [[20]], "nothing changed")

        // Every token: no ATTACH, no extensions, no weakening of durability.
        for client in [writer, reader] {
            _ = expectStatus(403) { try client.sql("ATTACH DATABASE '\(directory.file("other.db"))' AS other") }
            _ = expectStatus(403) { try client.sql("VACUUM INTO '\(directory.file("copy.db"))'") }
            _ = expectStatus(403) { try client.sql("SELECT load_extension('/tmp/nothing.so')") }
            _ = expectStatus(403) { try client.sql("PRAGMA synchronous = OFF") }
            _ = expectStatus(403) { try client.sql("PRAGMA journal_mode = DELETE") }
            _ = expectStatus(403) { try client.sql("PRAGMA writable_schema = ON") }
        }
        #expect(!FileManager.default.fileExists(atPath: directory.file("other.db")))
        #expect(!FileManager.default.fileExists(atPath: directory.file("copy.db")))
        #expect(try writer.sql("PRAGMA journal_mode").first?.rows == [["wal"]], "reading a setting is fine")
        #expect(try writer.sql("PRAGMA synchronous").first?.rows == [[2]], "still FULL")
        expectContractHeld(server, atLeast: 30)
    }

    @Test func aReadTokenWithoutAFullTokenIsRefused() throws {
        let directory = TemporaryDirectory("quiver-serve")
        let binary = try #require(ServerProcess.located.path)
        let outcome = try ProcessRunner.run(
            binary, ["serve", "--db", directory.file("db"), "--port", "0", "--read-token", "r"],
            environment: ProcessInfo.processInfo.environment.filter { $0.key != "QUIVER_TOKEN" })
        #expect(!outcome.succeeded)
        #expect(outcome.stderr.contains("--read-token needs --token"), "\(outcome)")
    }

    // MARK: - Limits and bad input

    /// An upsert that gives the key and some columns updates those columns of an existing row,
    /// even when it leaves out a NOT NULL column (SQLite checks NOT NULL before ON CONFLICT).
    @Test func upsertsUpdateTheGivenColumnsOfRowsWithNotNullColumns() throws {
        let directory = TemporaryDirectory("quiver-serve")
        let server = try ServerProcess(database: directory.file("db"), ["--port", "0"])
        let client = server.client()
        try client.sql(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER NOT NULL, b INTEGER, name TEXT NOT NULL DEFAULT 'x')")
        #expect(
            try client.call(
                "POST", "/tables/t/rows", ["rows": [["id": 1, "a": 10, "b": 100], ["id": 2, "a": 20, "b": 200]]])[
                    "upserted"] == 2)
        #expect(
            try client.call(
                "POST", "/tables/t/rows",
                ["rows": [["id": 1, "b": 101], ["id": 2, "name": "two"], ["id": 3, "a": 30]]])["upserted"] == 3)
        // Only the key, of an existing row: nothing to change, and no error.
        #expect(try client.call("POST", "/tables/t/rows", ["rows": [["id": 1]]])["upserted"] == 0)
        let rows = try client.sql("SELECT id, a, b, name FROM t ORDER BY id")[0].rows
        #expect(rows == [[1, 10, 101, "x"], [2, 20, 200, "two"], [3, 30, nil, "x"]])
        // A new key without its NOT NULL column is refused, naming the row, and the whole batch is undone.
        let refused = expectStatus(409) {
            try client.call("POST", "/tables/t/rows", ["rows": [["id": 1, "b": 999], ["id": 4, "b": 4]]])
        }
        #expect(
            refused?.message.contains("rows[1]") == true && refused?.message.contains("NOT NULL") == true,
            "\(String(describing: refused))")
        #expect(try client.sql("SELECT b FROM t WHERE id = 1")[0].rows == [[101]])
        expectContractHeld(server, atLeast: 5)
    }

    /// A checkpoint that cannot be written (here: a directory squats on its temporary file name,
    /// which stops root as well as anyone) loses no acknowledged row; /health says degraded, the
    /// log names the file, and the next commit after the cause is gone checkpoints again.
    @Test func aFailingIndexCheckpointDegradesHealthAndLosesNothing() throws {
        let directory = TemporaryDirectory("quiver-serve")
        let database = directory.file("db")
        let server = try ServerProcess(database: database, ["--port", "0"])
        let client = server.client()
        _ = try client.call(
            "POST", "/tables",
            [
                "name": "t",
                "columns": [
                    ["name": "id", "type": "INTEGER", "primary_key": true],
                    ["name": "emb", "type": "VECTOR(4)"],
                ],
                "indexes": [["column": "emb", "metric": "l2"]],
            ])
        let indexes = database + "/indexes"
        let files = try FileManager.default.contentsOfDirectory(atPath: indexes).filter { !$0.hasPrefix(".") }
        let indexFile = try #require(files.count == 1 ? files[0] : nil, "one index file: \(files)")
        try FileManager.default.createDirectory(
            atPath: "\(indexes)/\(indexFile).tmp", withIntermediateDirectories: false)

        // A checkpoint is due after 10,000 changes; two batches of 6,000 cross it.
        func vector(_ i: Int) -> [Float] {
            var random = SeededRandom(seed: UInt64(i) + 1)
            return random.vector(4)
        }
        func batch(_ start: Int) -> JSONValue {
            [
                "rows": .array(
                    (start..<start + 6_000).map { i in ["id": .integer(Int64(i)), "emb": .vector(vector(i))] })
            ]
        }
        func found(_ i: Int, _ client: QuiverClient) throws -> Bool {
            let near = try client.call("POST", "/tables/t/query", ["vector": .vector(vector(i)), "k": 5])
            return near["results"]?.arrayValue?.contains { $0["id"] == .integer(Int64(i)) } == true
        }
        #expect(try client.call("POST", "/tables/t/rows", batch(0))["upserted"] == 6_000)
        #expect(try client.call("GET", "/health")["status"] == "ok")
        #expect(try client.call("POST", "/tables/t/rows", batch(6_000))["upserted"] == 6_000)
        #expect(try client.call("GET", "/health")["status"] == "degraded")
        #expect(try client.send("GET", "/metrics").text.contains("quiver_index_checkpoint_failing 1"))
        #expect(
            server.stderr.contains("index checkpoint failed") && server.stderr.contains("\(indexFile).tmp"),
            "\(server.stderr)")
        // Every acknowledged row is there and found through the index.
        #expect(try client.sql("SELECT count(*) FROM t")[0].rows == [[12_000]])
        #expect(try found(11_999, client) && found(6_000, client))

        try FileManager.default.removeItem(atPath: "\(indexes)/\(indexFile).tmp")
        #expect(
            try client.call("POST", "/tables/t/rows", ["rows": [["id": 12_000, "emb": .vector([0, 0, 0, 0])]]])[
                "upserted"] == 1)
        #expect(try client.call("GET", "/health")["status"] == "ok")
        #expect(try client.send("GET", "/metrics").text.contains("quiver_index_checkpoint_failing 0"))
        #expect(server.stop(signal: SIGKILL) != nil)
        // Reopened after kill -9: the new checkpoint plus the log hold every row.
        let reopened = try ServerProcess(database: database, ["--port", "0"])
        #expect(try reopened.client().sql("SELECT count(*) FROM t")[0].rows == [[12_001]])
        #expect(try found(6_000, reopened.client()) && found(11_999, reopened.client()))
        expectContractHeld(server, atLeast: 8)
    }

    @Test func limitsAnswer413AndBadInputAnswers4xxWithoutChangingAnything() throws {
        let directory = TemporaryDirectory("quiver-serve")
        let server = try ServerProcess(
            database: directory.file("db"),
            [
                "--port", "0", "--max-body-bytes", "20000",
                "--max-batch-rows", "30", "--max-k", "50",
                "--max-batch-queries", "3",
            ])
        let client = server.client()
        let rows = try loadDocs(client, count: 30)
        let query: JSONValue = .vector(rows[0].vector)

        let big = Data(("{\"sql\": \"SELECT '" + String(repeating: "x", count: 30_000) + "'\"}").utf8)
        let tooBig = try client.send("POST", "/sql", body: big)
        #expect(tooBig.status == 413 && tooBig.json?["error"]?["code"] == "too_large", "\(tooBig.text)")
        _ = expectStatus(413) {
            try client.call(
                "POST", "/tables/docs/rows",
                ["rows": .array((100..<131).map { ["id": .integer(Int64($0)), "lang": "en"] })])
        }
        _ = expectStatus(413) {
            try client.call("POST", "/tables/docs/rows/get", ["ids": .array((0..<31).map { .integer(Int64($0)) })])
        }
        _ = expectStatus(413) { try client.call("POST", "/tables/docs/query", ["vector": query, "k": 51]) }
        _ = expectStatus(413) {
            try client.call(
                "POST", "/tables/docs/query/batch", ["queries": .array(Array(repeating: ["vector": query], count: 4))])
        }

        // Malformed and mistyped bodies say what and where.
        let malformed = try client.send("POST", "/tables/docs/query", body: Data("{\"vector\": [1, 2".utf8))
        #expect(malformed.status == 400 && malformed.text.contains("malformed JSON"), "\(malformed.text)")
        let missing = expectStatus(400) { try client.call("POST", "/tables/docs/query", ["k": 3]) }
        #expect(missing?.message.contains("vector") == true)
        let mistyped = expectStatus(400) {
            try client.call("POST", "/tables/docs/query", ["vector": query, "k": "ten"])
        }
        #expect(mistyped?.message.contains("k") == true, "\(String(describing: mistyped))")
        #expect(try client.send("POST", "/sql").status == 400, "no body")

        // A misspelt field is refused, at any depth, rather than ignored: "filters" would
        // otherwise return unfiltered matches. Free-form parts (row values, filters) are not checked.
        let misspelt = expectStatus(400) {
            try client.call("POST", "/tables/docs/query", ["vector": query, "filters": ["lang": "en"]])
        }
        #expect(
            misspelt?.message.contains("unknown field \"filters\" at the top level") == true,
            "\(String(describing: misspelt))")
        #expect(
            misspelt?.message.contains("filter,") == true,
            "it lists the fields the object takes: \(String(describing: misspelt))")
        let nested = expectStatus(400) {
            try client.call(
                "POST", "/tables/docs/query/batch", ["queries": [["vector": query], ["vector": query, "topk": 3]]])
        }
        #expect(
            nested?.message.contains("unknown field \"topk\" at queries[1]") == true, "\(String(describing: nested))")
        let inSpec = expectStatus(400) {
            try client.call(
                "POST", "/tables", ["name": "t2", "columns": [["name": "id", "type": "INTEGER", "primary": true]]])
        }
        #expect(
            inSpec?.message.contains("unknown field \"primary\" at columns[0]") == true, "\(String(describing: inSpec))"
        )
        #expect(
            try client.call(
                "POST", "/tables/docs/query",
                ["vector": query, "k": 2, "filter": ["lang": "en", "$or": [["n": 1], ["n": 2]]]])["results"]?
                .arrayValue?.count == 2)

        // Wrong dimensions, out-of-range elements, unknown columns, bad SQL, bad filters.
        let dims = expectStatus(400) { try client.call("POST", "/tables/docs/query", ["vector": [1, 2, 3]]) }
        #expect(dims?.message.contains("expected 8 dimensions, got 3") == true, "\(String(describing: dims))")
        let rowDims = expectStatus(400) {
            try client.call("POST", "/tables/docs/rows", ["rows": [["id": 200, "lang": "en", "embedding": [1, 2]]]])
        }
        #expect(rowDims?.message.contains("rows[0].embedding") == true, "\(String(describing: rowDims))")
        let huge = expectStatus(400) {
            try client.call(
                "POST", "/tables/docs/rows",
                [
                    "rows": [
                        ["id": 201, "lang": "en"],
                        ["id": 202, "lang": "en", "embedding": .array([1e39] + Array(repeating: 0.5, count: 7))],
                    ]
                ])
        }
        #expect(
            huge?.message.contains("rows[1]") == true && huge?.message.contains("float32") == true,
            "\(String(describing: huge))")
        let textVector = expectStatus(400) {
            try client.call("POST", "/tables/docs/rows", ["rows": [["id": 203, "lang": "en", "embedding": "oops"]]])
        }
        #expect(textVector?.message.contains("VECTOR(8)") == true)
        _ = expectStatus(400) {
            try client.call("POST", "/tables/docs/rows", ["rows": [["id": 204, "colour": "red"]]])
        }
        let constraint = expectStatus(409) {
            try client.call("POST", "/tables/docs/rows", ["rows": [["id": 205, "lang": "en"], ["id": 206, "n": 1]]])
        }
        #expect(
            constraint?.message.contains("rows[1]") == true && constraint?.message.contains("NOT NULL") == true,
            "\(String(describing: constraint))")
        let badSQL = expectStatus(400, code: "sql_error") { try client.sql("SELEC id FROM docs") }
        #expect(badSQL?.message.contains("syntax error") == true, "\(String(describing: badSQL))")
        _ = expectStatus(400) { try client.sql("SELECT nope FROM docs") }
        _ = expectStatus(400) { try client.sql("SELECT 1; INSERT INTO docs (id, lang) VALUES (207, 'en'); SELEC 2") }
        _ = expectStatus(400) {
            try client.call("POST", "/tables/docs/query", ["vector": query, "filter": ["lang": ["$regex": "e"]]])
        }
        _ = expectStatus(400) {
            try client.call("POST", "/tables/docs/query", ["vector": query, "filter": ["colour": "red"]])
        }
        _ = expectStatus(400) {
            try client.call("POST", "/tables/docs/query", ["vector": query, "filter": ["embedding": 1]])
        }
        _ = expectStatus(400) {
            try client.call("POST", "/tables/docs/query", ["vector": query, "where": "1); DELETE FROM docs; --"])
        }
        _ = expectStatus(400) { try client.call("POST", "/tables/docs/query", ["vector": query, "where": "lang = "]) }
        _ = expectStatus(400) { try client.call("POST", "/tables/docs/query", ["vector": query, "k": 0]) }
        _ = expectStatus(400) { try client.call("POST", "/tables/docs/query", ["vector": query, "metric": "hamming"]) }
        _ = expectStatus(400) {
            try client.call(
                "POST", "/tables", ["name": "t", "columns": [["name": "a", "type": "TEXT); DROP TABLE docs; --"]]])
        }
        _ = expectStatus(400) {
            try client.call("POST", "/tables", ["name": "t", "columns": [["name": "v", "type": "VECTOR(0)"]]])
        }
        _ = expectStatus(409) {
            try client.call("POST", "/tables", ["name": "docs", "columns": [["name": "a", "type": "TEXT"]]])
        }
        #expect(
            try client.call(
                "POST", "/tables", ["name": "docs", "columns": [["name": "a", "type": "TEXT"]], "if_not_exists": true])[
                    "name"] == "docs")

        #expect(
            try client.sql("SELECT count(*), max(id) FROM docs").first?.rows == [[30, 30]],
            "no bad request changed anything")
        #expect(try client.health(), "the server is still up")
        expectContractHeld(server, atLeast: 30)
    }

    @Test func aRunawayStatementIsStoppedAtTheTimeLimitAndKeepsNothing() throws {
        let directory = TemporaryDirectory("quiver-serve")
        let server = try ServerProcess(database: directory.file("db"), ["--port", "0", "--statement-timeout", "0.5"])
        let client = server.client()
        try client.sql("CREATE TABLE t (a INTEGER)")
        let endless = "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c) SELECT count(*) FROM c"
        let started = Date()
        let stopped = expectStatus(503, code: "unavailable") { try client.sql(endless) }
        #expect(stopped?.message.contains("--statement-timeout") == true, "\(String(describing: stopped))")
        #expect(Date().timeIntervalSince(started) < 30)
        _ = expectStatus(503) { try client.sql("INSERT INTO t VALUES (1); \(endless)") }
        #expect(try client.sql("SELECT count(*) FROM t").first?.rows == [[0]], "the interrupted script kept nothing")
        try client.sql("INSERT INTO t VALUES (2)")
        #expect(try client.sql("SELECT a FROM t").first?.rows == [[2]], "the writer works after an interrupt")
        expectContractHeld(server, atLeast: 5)
    }

    // MARK: - DEDUPE

    @Test func dedupeFindsGroupsOnADryRunAndRemovesThemInOneTransaction() throws {
        let directory = TemporaryDirectory("quiver-serve")
        let server = try ServerProcess(
            database: directory.file("db"), ["--port", "0", "--token", "w", "--read-token", "r"])
        let writer = server.client(token: "w")
        let reader = server.client(token: "r")
        let rows = try loadDocs(writer, count: 30)
        // Rows 101…110 copy the vectors of rows 1…10 and the text of rows 11…20 (case and spacing changed).
        try writer.call(
            "POST", "/tables/docs/rows",
            [
                "rows": .array(
                    (1...10).map { i in
                        [
                            "id": .integer(Int64(100 + i)), "lang": "en", "n": .integer(Int64(i)),
                            "body": .string("PASSAGE   k\(i + 10)q IN \(rows[i + 9].lang.uppercased())"),
                            "embedding": .vector(rows[i - 1].vector),
                        ]
                    })
            ])
        let dry = try reader.call(
            "POST", "/tables/docs/dedupe", ["column": "embedding", "threshold": 0.999, "dry_run": true])
        #expect(dry["groups"] == 10 && dry["changed"] == 0 && dry["dry_run"] == true, "\(dry.jsonText)")
        let pairs = Set(
            dry["duplicates"]?.arrayValue?.compactMap { d -> [Int64]? in
                guard let kept = d["kept_id"]?.integerValue, let duplicate = d["duplicate_id"]?.integerValue else {
                    return nil
                }
                return [kept, duplicate]
            } ?? [])
        #expect(pairs == Set((1...10).map { [Int64($0), Int64(100 + $0)] }), "\(pairs)")
        #expect(try writer.sql("SELECT count(*) FROM docs").first?.rows == [[40]], "a dry run changes nothing")
        _ = expectStatus(403) {
            try reader.call("POST", "/tables/docs/dedupe", ["column": "embedding", "threshold": 0.999])
        }
        _ = expectStatus(400) { try writer.call("POST", "/tables/docs/dedupe", ["column": "embedding"]) }
        _ = expectStatus(400) {
            try writer.call("POST", "/tables/docs/dedupe", ["column": "embedding", "threshold": 1.5])
        }
        _ = expectStatus(400) {
            try writer.call("POST", "/tables/docs/dedupe", ["column": "body", "method": "vector", "threshold": 0.9])
        }
        _ = expectStatus(400) { try writer.call("POST", "/tables/docs/dedupe", ["column": "nope"]) }
        let unused = expectStatus(400) {
            try writer.call(
                "POST", "/tables/docs/dedupe", ["column": "embedding", "threshold": 0.9, "ngram": 3, "dry_run": true])
        }
        #expect(unused?.message.contains("ngram: only method minhash") == true, "\(String(describing: unused))")
        _ = expectStatus(400) {
            try writer.call(
                "POST", "/tables/docs/dedupe", ["column": "body", "method": "exact", "threshold": 0.9, "dry_run": true])
        }

        // Exact text, within a filter, marking instead of deleting; keep the larger id.
        let marked = try writer.call(
            "POST", "/tables/docs/dedupe",
            [
                "column": "body", "method": "exact", "keep": "last",
                "filter": ["id": ["$gt": 10]], "mark_column": "dup_of",
            ])
        #expect(marked["groups"] == 10 && marked["changed"] == 10, "\(marked.jsonText)")
        #expect(try writer.sql("SELECT count(*) FROM docs WHERE dup_of IS NOT NULL").first?.rows == [[10]])
        #expect(try writer.sql("SELECT dup_of FROM docs WHERE id = 11").first?.rows == [[101]])

        // Semantic, deleting: the copies go, and the index no longer returns them.
        let removed = try writer.call(
            "POST", "/tables/docs/dedupe", ["column": "embedding", "threshold": 0.999, "exact": true])
        #expect(removed["changed"] == 10)
        #expect(try writer.sql("SELECT count(*) FROM docs").first?.rows == [[30]])
        let nearest = try writer.call(
            "POST", "/tables/docs/query", ["vector": .vector(rows[0].vector), "k": 2, "ef": 100])
        #expect(ids(nearest).first == 1 && !ids(nearest).contains(101))
        expectContractHeld(server, atLeast: 10)
    }

    // MARK: - Concurrency and durability

    @Test func concurrentReadersNeverSeeHalfABatch() throws {
        let directory = TemporaryDirectory("quiver-serve")
        let server = try ServerProcess(database: directory.file("db"))
        let setup = server.client()
        try loadDocs(setup, count: 50)
        let batchSize = 100
        let batches = 12
        let failures = Failures()
        let writerDone = Flag()
        let group = DispatchGroup()
        DispatchQueue.global().async(group: group) {
            let writer = server.client()
            var random = SeededRandom(seed: 99)
            for batch in 0..<batches {
                let rows: [JSONValue] = (0..<batchSize).map { i in
                    [
                        "id": .integer(Int64(1000 + batch * batchSize + i)), "lang": "en", "n": .integer(Int64(batch)),
                        "embedding": .vector(random.vector(Self.dimension)),
                    ]
                }
                do { try writer.call("POST", "/tables/docs/rows", ["rows": .array(rows)]) } catch {
                    failures.add("write: \(error)")
                }
            }
            writerDone.set()
        }
        var random = SeededRandom(seed: 5)
        let probe = random.vector(Self.dimension)
        for r in 0..<4 {
            DispatchQueue.global().async(group: group) {
                let reader = server.client()
                var last = 0
                var reads = 0
                while !writerDone.isSet || reads < 3 {
                    reads += 1
                    do {
                        let count = Int(
                            try reader.sql("SELECT count(*) FROM docs WHERE id >= 1000").first?.rows.first?.first?
                                .integerValue ?? -1)
                        if count % batchSize != 0 { failures.add("reader \(r) saw \(count) rows: part of a batch") }
                        if count < last { failures.add("reader \(r) saw \(count) after \(last)") }
                        last = count
                        let answer = try reader.call(
                            "POST", "/tables/docs/query",
                            ["vector": .vector(probe), "k": 5, "filter": ["n": ["$gte": 0]]])
                        if answer["results"]?.arrayValue?.count != 5 {
                            failures.add("reader \(r): query answered \(answer)")
                        }
                    } catch {
                        failures.add("reader \(r): \(error)")
                    }
                }
            }
        }
        #expect(group.wait(timeout: .now() + 120) == .success)
        #expect(failures.all.isEmpty, "\(failures.all.prefix(5))")
        #expect(
            try setup.sql("SELECT count(*) FROM docs WHERE id >= 1000").first?.rows == [
                [.integer(Int64(batchSize * batches))]
            ])
        expectContractHeld(server, atLeast: 20)
    }

    @Test func acknowledgedWritesSurviveKill9() throws {
        let directory = TemporaryDirectory("quiver-serve")
        let database = directory.file("db")
        var server: ServerProcess? = try ServerProcess(database: database)
        let rows = try loadDocs(server!.client(), count: 40)
        // Keep writing batches from another thread; kill -9 the server while it writes.
        let acknowledged = Failures() // (used as a list of acknowledged batch numbers)
        let started = DispatchSemaphore(value: 0)
        let port = server!.port!
        let writing = Thread {
            let writer = QuiverClient(endpoint: .tcp(host: "127.0.0.1", port: port), timeout: 10)
            var random = SeededRandom(seed: 11)
            for batch in 0..<10_000 {
                let rows: [JSONValue] = (0..<50).map { i in
                    [
                        "id": .integer(Int64(10_000 + batch * 50 + i)), "lang": "en", "n": .integer(Int64(batch)),
                        "embedding": .vector(random.vector(Self.dimension)),
                    ]
                }
                do {
                    try writer.call("POST", "/tables/docs/rows", ["rows": .array(rows)])
                    acknowledged.add("\(batch)")
                    if batch == 5 { started.signal() }
                } catch {
                    return // the server is gone
                }
            }
        }
        writing.start()
        #expect(started.wait(timeout: .now() + 60) == .success)
        Thread.sleep(forTimeInterval: 0.2)
        server!.stop(signal: SIGKILL)
        while writing.isExecuting { Thread.sleep(forTimeInterval: 0.01) }
        server = nil
        let batches = acknowledged.all.compactMap { Int($0) }
        #expect(batches.count > 5)

        let restarted = try ServerProcess(database: database)
        let client = restarted.client()
        let present = Set(
            try client.sql("SELECT id FROM docs WHERE id >= 10000").first?.rows.compactMap { $0.first?.integerValue }
                ?? [])
        for batch in batches {
            let expected = (0..<50).map { Int64(10_000 + batch * 50 + $0) }
            #expect(expected.allSatisfy(present.contains), "acknowledged batch \(batch) lost rows")
        }
        #expect(present.count % 50 == 0, "no batch is half there: \(present.count) rows")
        // The index agrees with the rows: each original row is its own nearest neighbour.
        for row in rows.prefix(10) {
            let answer = try client.call(
                "POST", "/tables/docs/query",
                ["vector": .vector(row.vector), "k": 1, "filter": ["id": ["$lt": 10_000]]])
            #expect(ids(answer) == [row.id])
        }
        let count = try client.sql("SELECT count(*) FROM docs").first?.rows.first?.first?.integerValue ?? 0
        let viaIndex = try client.call(
            "POST", "/tables/docs/query", ["vector": .vector(rows[0].vector), "k": .integer(count), "ef": 400])
        #expect(Int64(ids(viaIndex).count) == count, "every row is in the index once")
    }

    @Test func sigtermFinishesRequestsInFlightAndExitsCleanly() throws {
        let directory = TemporaryDirectory("quiver-serve")
        let server = try ServerProcess(database: directory.file("db"), ["--socket", directory.file("s.sock")])
        let slowSQL =
            "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 3000000) SELECT count(*) FROM c"
        let answered = Failures()
        let done = DispatchSemaphore(value: 0)
        let path = server.socketPath!
        Thread {
            let client = QuiverClient(endpoint: .unix(path: path))
            do {
                let rows = try client.sql(slowSQL).first?.rows
                answered.add(rows == [[3_000_000]] ? "ok" : "wrong answer \(String(describing: rows))")
            } catch {
                answered.add("failed: \(error)")
            }
            done.signal()
        }.start()
        Thread.sleep(forTimeInterval: 0.3)
        let status = server.stop(signal: SIGTERM)
        #expect(done.wait(timeout: .now() + 30) == .success)
        #expect(answered.all == ["ok"], "the request in flight finished: \(answered.all)")
        #expect(status == 0, "exit status after SIGTERM: \(String(describing: status)); \(server.stderr)")
        #expect(!FileManager.default.fileExists(atPath: path))
    }
}

/// A thread-safe list of messages, for failures seen on background threads.
final class Failures: @unchecked Sendable {
    private let lock = NSLock()
    private var messages: [String] = []
    func add(_ message: String) { lock.withLock { messages.append(message) } }
    var all: [String] { lock.withLock { messages } }
}

final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
}
