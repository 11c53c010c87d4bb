import Foundation
import QuiverClient
import QuiverEngine
import QuiverImport
import QuiverKernels
import QuiverQuery
import QuiverStorage
import Testing

/// Nearest-neighbour queries at their edges: rows without a distance (zero vectors under
/// cosine) rank last in every strategy; a query vector that ranks nothing is refused; vector
/// values never change silently; tables whose columns are named rowid, _rowid_ or oid; result
/// columns named as written.
@Suite struct NearestNeighbourEdgeTests {
    // MARK: - Rows without a distance rank last, whatever the strategy

    /// The finding: [0,0], [1,0], [0,1], [-1,0] with a cosine index.
    @Test func theZeroVectorRanksLastWithACosineIndex() throws {
        let directory = TemporaryDirectory("quiver-edges")
        let db = try Database(path: directory.file("db"))
        try db.execute(
            """
            CREATE TABLE t (id INTEGER PRIMARY KEY, e VECTOR(2));
            INSERT INTO t VALUES (1, '[0,0]'), (2, '[1,0]'), (3, '[0,1]'), (4, '[-1,0]');
            CREATE INDEX t_e ON t USING hnsw (e vector_cosine_ops);
            """)
        for hint in ["", "/*+ exact */ "] {
            #expect(try db.integers("SELECT \(hint)id FROM t ORDER BY e <=> '[1,0]' LIMIT 3") == [2, 3, 4], "\(hint)")
            #expect(
                try db.integers("SELECT \(hint)id FROM t ORDER BY e <=> '[1,0]' LIMIT 4") == [2, 3, 4, 1], "\(hint)")
        }
        // Rows that become zero later leave the index; rows that stop being zero come back.
        try db.execute("UPDATE t SET e = '[0,0]' WHERE id = 3; UPDATE t SET e = '[0.5,0.5]' WHERE id = 1")
        #expect(try db.integers("SELECT id FROM t ORDER BY e <=> '[1,0]' LIMIT 3") == [2, 1, 4])
        #expect(try db.integers("SELECT id FROM t ORDER BY e <=> '[1,0]' LIMIT 4") == [2, 1, 4, 3])
    }

    /// Every strategy — index walk, post-filter, filter then exact, allow-set walks, exact
    /// scan, nested queries, batch search — against the exact answer on the same data, with
    /// zero vectors among the rows and LIMITs that need them.
    @Test func rowsWithoutADistanceRankLastInEveryStrategy() throws {
        let directory = TemporaryDirectory("quiver-edges")
        let path = directory.file("db")
        let db = try Database(path: path)
        let dimension = 8
        let count = 3000
        var vectors = clusteredVectors(count: count, dimension: dimension, seed: 0x2E80)
        for i in stride(from: 0, to: count, by: 37) { vectors[i] = Array(repeating: 0, count: dimension) }
        func tag(_ i: Int) -> String {
            i % 500 == 3 || i % 37 == 0 && i % 2 == 0 ? "rare" : i % 2 == 0 ? "even" : "odd"
        }
        try db.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, tag TEXT, emb VECTOR(\(dimension)))")
        try db.execute("BEGIN")
        for (i, v) in vectors.enumerated() {
            try db.execute(
                "INSERT INTO items VALUES (?, ?, ?)", SQLBindings([.integer(Int64(i + 1)), .text(tag(i)), .vector(v)]))
        }
        try db.execute("COMMIT")
        try db.execute(
            "CREATE INDEX items_emb ON items USING hnsw (emb vector_cosine_ops) WITH (m = 16, ef_construction = 200)")
        let rows = vectors.enumerated().map { (id: Int64($0.offset + 1), vector: $0.element, tag: tag($0.offset)) }
        func exact(_ query: [Float], k: Int, where keep: (String) -> Bool = { _ in true }) -> [Int64] {
            bruteForce(rows.filter { keep($0.tag) }.map { ($0.id, $0.vector) }, query: query, metric: .cosine, k: k)
                .map(\.id)
        }
        var random = SeededRandom(seed: 0x51)
        var strategies: Set<String> = []
        for q in 0..<6 {
            let query = random.vector(dimension)
            let literal = vectorLiteral(query)
            let rareCount = rows.filter { $0.tag == "rare" }.count
            let cases: [(sql: String, k: Int, keep: (String) -> Bool)] = [
                (
                    "SELECT /*+ hnsw.ef_search = 3000 */ id FROM items ORDER BY emb <=> '\(literal)' LIMIT 10", 10,
                    { _ in true }
                ),
                (
                    "SELECT /*+ hnsw.ef_search = 3000 */ id FROM items WHERE tag = 'even' ORDER BY emb <=> '\(literal)' LIMIT 10",
                    10, { $0 == "even" }
                ),
                (
                    "SELECT /*+ hnsw.ef_search = 3000 */ id FROM items WHERE tag <> 'rare' ORDER BY emb <=> '\(literal)' LIMIT 10",
                    10, { $0 != "rare" }
                ),
                (
                    "SELECT id FROM items WHERE tag = 'rare' ORDER BY emb <=> '\(literal)' LIMIT \(rareCount)",
                    rareCount, { $0 == "rare" }
                ),
                ("SELECT id FROM items WHERE tag = 'rare' ORDER BY emb <=> '\(literal)' LIMIT 8", 8, { $0 == "rare" }),
                ("SELECT /*+ exact */ id FROM items ORDER BY emb <=> '\(literal)' LIMIT 10", 10, { _ in true }),
                ("SELECT id FROM items ORDER BY emb <=> '\(literal)' LIMIT \(count)", count, { _ in true }),
            ]
            for (sql, k, keep) in cases {
                let found = try db.integers(sql)
                strategies.insert("\(db.lastReport.strategy)")
                #expect(
                    found == exact(query, k: k, where: keep),
                    "query \(q): \(sql.prefix(90)) [\("\(db.lastReport.strategy)")]")
            }
            // Nested in a CTE, answered the same way.
            let nested = try db.integers(
                "WITH near AS (SELECT id FROM items WHERE tag = 'rare' ORDER BY emb <=> '\(literal)' LIMIT \(rareCount)) SELECT id FROM near"
            )
            #expect(Set(nested) == Set(exact(query, k: rareCount, where: { $0 == "rare" })))
        }
        #expect(strategies.count >= 3, "strategies exercised: \(strategies)")

        // Batch search, through the index and exactly, with k past the rows that have a distance.
        let queries = (0..<4).map { _ in random.vector(dimension) }
        let rare = rows.filter { $0.tag == "rare" }.count
        for exactScan in [false, true] {
            let everything = try BatchSearch(
                table: "items", column: "emb", k: count, metric: .cosine, exact: exactScan, ef: count
            )
            .run(on: db, queries: queries.flatMap { $0 }, queryCount: queries.count)
            let filtered = try BatchSearch(
                table: "items", column: "emb", k: rare, filter: "tag = 'rare'", metric: .cosine, exact: exactScan
            )
            .run(on: db, queries: queries.flatMap { $0 }, queryCount: queries.count)
            for (q, query) in queries.enumerated() {
                #expect(
                    Array(everything.keys[(q * count)..<((q + 1) * count)]) == exact(query, k: count),
                    "batch, exact \(exactScan)")
                #expect(
                    Array(filtered.keys[(q * rare)..<((q + 1) * rare)])
                        == exact(query, k: rare, where: { $0 == "rare" }),
                    "filtered batch, exact \(exactScan)")
            }
        }
    }

    // MARK: - Query vectors that rank nothing are refused

    @Test func aZeroCosineQueryVectorIsRefusedEverywhere() throws {
        let directory = TemporaryDirectory("quiver-edges")
        let path = directory.file("db")
        let db = try Database(path: path)
        try db.execute(
            """
            CREATE TABLE t (id INTEGER PRIMARY KEY, tag TEXT, e VECTOR(2));
            INSERT INTO t VALUES (1, 'a', '[0,1]'), (2, 'a', '[1,0]'), (3, 'b', '[1,1]');
            """)
        let statements = [
            "SELECT id FROM t ORDER BY e <=> '[0,0]' LIMIT 2",
            "SELECT id FROM t WHERE tag = 'a' ORDER BY e <=> '[0,0]' LIMIT 2",
            "SELECT /*+ exact */ id FROM t ORDER BY e <=> '[0.0,-0.0]' LIMIT 2",
            "WITH n AS (SELECT id FROM t ORDER BY e <=> '[0,0]' LIMIT 2) SELECT id FROM n",
        ]
        for withIndex in [false, true] {
            if withIndex { try db.execute("CREATE INDEX t_e ON t USING hnsw (e vector_cosine_ops)") }
            for sql in statements {
                #expect { try db.execute(sql) } throws: { error in
                    "\(error)".contains("query vector") && "\(error)".contains("all zeros")
                        && "\(error)".contains("t.e")
                }
            }
            #expect(throws: (any Error).self) {
                try BatchSearch(table: "t", column: "e", k: 2, metric: .cosine).run(
                    on: db, queries: [0, 0], queryCount: 1)
            }
            // Other metrics rank a zero query fine; cosine in a select list is NULL, as before.
            #expect(try db.integers("SELECT id FROM t ORDER BY e <-> '[0,0]' LIMIT 2") == [1, 2])
            #expect(try db.rows("SELECT e <=> '[0,0]' FROM t WHERE id = 1") == [[.null]])
        }

        // Over HTTP: the same refusal, as a client error, not k arbitrary rows.
        let server = try ServerProcess(database: path)
        let client = server.client()
        for sql in statements {
            #expect { try client.sql(sql) } throws: { error in
                guard let error = error as? ClientError else { return false }
                return (400..<500).contains(error.status ?? 0) && error.message.contains("all zeros")
            }
        }
        #expect {
            try client.call("POST", "/tables/t/query", ["vector": .array([.number(0), .number(0)]), "k": 2])
        } throws: { error in
            guard let error = error as? ClientError else { return false }
            return (400..<500).contains(error.status ?? 0) && error.message.contains("all zeros")
        }
    }

    // MARK: - Vector values are never changed silently

    /// The same rule where vectors arrive as JSON numbers: `quiver import` and the server.
    @Test func vanishingElementsAreRefusedByTheImporterAndTheServer() throws {
        let directory = TemporaryDirectory("quiver-edges")
        let db = try Database(path: directory.file("db"))
        try db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, e VECTOR(3))")
        let file = directory.file("rows.jsonl")
        try Data("{\"id\": 1, \"e\": [1, 0, 0]}\n{\"id\": 2, \"e\": [1, 1e-50, 2]}\n".utf8).write(
            to: URL(fileURLWithPath: file))
        #expect { try Importer(database: db, options: ImportOptions(table: "t", inputPath: file)).run() } throws: {
            error in
            "\(error)".contains("rows.jsonl:2") && "\(error)".contains("too small for float32")
        }
        #expect(try db.integers("SELECT count(*) FROM t") == [0], "an aborted import changes nothing")

        let server = try ServerProcess(database: directory.file("served"))
        let client = server.client()
        try client.sql("CREATE TABLE v (id INTEGER PRIMARY KEY, e VECTOR(2))")
        #expect { try client.call("POST", "/tables/v/rows", ["rows": [["id": 1, "e": [1, 1e-50]]]]) } throws: { error in
            "\(error)".contains("element 1") && "\(error)".contains("too small for float32")
        }
        #expect { try client.call("POST", "/tables/v/query", ["vector": [1e-50, 1], "k": 1]) } throws: { error in
            "\(error)".contains("element 0") && "\(error)".contains("too small for float32")
        }
        #expect(try client.sql("SELECT count(*) FROM v").first?.rows.first?.first?.integerValue == 0)
    }

    @Test func vectorElementsThatWouldVanishAreRefusedAndBlobsAreChecked() throws {
        let directory = TemporaryDirectory("quiver-edges")
        let db = try Database(path: directory.file("db"))
        try db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, e VECTOR(3))")
        for literal in ["[1, 1e-50, 2]", "[1e-46, 0, 0]", "[-3.5e-60, 1, 1]"] {
            #expect { try db.execute("INSERT INTO t VALUES (1, '\(literal)')") } throws: { error in
                "\(error)".contains("too small for float32") && "\(error)".contains("would become 0")
            }
        }
        #expect(try db.integers("SELECT count(*) FROM t") == [0])
        // Zero written as zero, and tiny values float32 can still hold, are kept.
        try db.execute("INSERT INTO t VALUES (1, '[0, 0e10, -0.0]'), (2, '[1e-40, 1.5e-45, 1e-30]')")
        #expect(
            try db.rows("SELECT vector_to_json(e) FROM t ORDER BY id").map { $0[0].textValue ?? "" } == [
                "[0,0,-0]", "[1e-40,1e-45,1e-30]",
            ])

        // Blobs: a length that is not a whole number of float32s, more than 16,000 elements,
        // non-finite elements — every vector function says so, naming itself.
        let nan = "X'0000C07F'"
        let huge = "zeroblob(400000000)"
        for function in ["vector_dims", "vector_norm", "vector_to_json", "vector"] {
            for (blob, problem) in [
                (function == "vector_dims" ? huge : "zeroblob(4000000)", "maximum of 16000"),
                ("zeroblob(6)", "multiple of 4"), (nan, "NaN"), ("zeroblob(64004)", "maximum of 16000"),
            ] {
                #expect { try db.execute("SELECT \(function)(\(blob))") } throws: { error in
                    "\(error)".contains("\(function)()") && "\(error)".contains(problem)
                }
            }
        }
        #expect(try db.integers("SELECT vector_dims(zeroblob(64000))") == [16000])
        #expect { try db.execute("SELECT zeroblob(4000000) <=> zeroblob(4000000)") } throws: {
            "\($0)".contains("maximum of 16000")
        }
    }

    // MARK: - Columns named rowid, _rowid_ or oid

    /// Key columns that hide SQLite's rowid aliases: nearest-neighbour queries, the index, its
    /// change log and DEDUPE use the real rowid.
    @Test(arguments: [
        "rowid TEXT PRIMARY KEY", "rowid INTEGER PRIMARY KEY", "rowid TEXT, _rowid_ INT",
        "oid TEXT PRIMARY KEY, rowid INT",
    ])
    func keyColumnsNamedLikeTheRowidWork(columns: String) throws {
        let directory = TemporaryDirectory("quiver-edges")
        let db = try Database(path: directory.file("db"))
        try db.execute("CREATE TABLE t (\(columns), n INTEGER, e VECTOR(2))")
        let names = columns.split(separator: ",").map {
            $0.split(separator: " ")[0].trimmingCharacters(in: .whitespaces)
        }
        var rows: [(id: Int64, vector: [Float])] = []
        for i in 1...40 {
            let angle = Float(i) * 0.15
            let vector: [Float] = [cos(angle), sin(angle)]
            let values = names.map { name in
                name == "rowid" && columns.contains("rowid INTEGER") ? "\(i * 10)" : "'k\(i)-\(name)'"
            }
            try db.execute(
                "INSERT INTO t (\(names.joined(separator: ", ")), n, e) VALUES (\(values.joined(separator: ", ")), \(i), '\(vectorLiteral(vector))')"
            )
            rows.append((Int64(i), vector))
        }
        try db.execute("CREATE INDEX t_e ON t USING hnsw (e vector_cosine_ops)")
        // Changes after the index: the log must carry the real rowids.
        try db.execute("DELETE FROM t WHERE n = 2; UPDATE t SET e = '[-1, 0]' WHERE n = 5")
        rows.removeAll { $0.id == 2 }
        rows[rows.firstIndex { $0.id == 5 }!].vector = [-1, 0]
        let query: [Float] = [0.8, 0.6]
        let expected = bruteForce(rows, query: query, metric: .cosine, k: 6).map(\.id)
        for hint in ["", "/*+ exact */ "] {
            #expect(
                try db.integers("SELECT \(hint)n FROM t ORDER BY e <=> '\(vectorLiteral(query))' LIMIT 6") == expected,
                "\(hint)")
            #expect(
                try db.integers(
                    "SELECT \(hint)n FROM t WHERE n % 2 = 1 ORDER BY e <=> '\(vectorLiteral(query))' LIMIT 3")
                    == bruteForce(rows.filter { $0.id % 2 == 1 }, query: query, metric: .cosine, k: 3).map(\.id),
                "\(hint)")
        }
        #expect(try db.integers("SELECT n FROM t ORDER BY e <=> '[-1, 0]' LIMIT 1") == [5])
        // DEDUPE reads and deletes by the real rowid too.
        try db.execute(
            "INSERT INTO t (\(names.joined(separator: ", ")), n, e) VALUES (\(names.map { $0 == "rowid" && columns.contains("rowid INTEGER") ? "9999" : "'dup-\($0)'" }.joined(separator: ", ")), 100, '[-1, 0]')"
        )
        try db.execute("DEDUPE t ON e THRESHOLD 0.99999 KEEP FIRST")
        #expect(try db.integers("SELECT count(*) FROM t WHERE e = vector('[-1, 0]')") == [1])
        #expect(try db.integers("SELECT count(*) FROM t") == [39])
    }

    /// The finding came over HTTP: a key column named rowid made every search answer [].
    @Test func aKeyColumnNamedRowidWorksOverTheServer() throws {
        let directory = TemporaryDirectory("quiver-edges")
        let path = directory.file("db")
        let server = try ServerProcess(database: path)
        let client = server.client()
        var script = "CREATE TABLE t (rowid TEXT PRIMARY KEY, n INTEGER, e VECTOR(2));"
        var rows: [(id: Int64, vector: [Float])] = []
        for i in 1...30 {
            let vector: [Float] = [cos(Float(i) * 0.2), sin(Float(i) * 0.2)]
            script += "INSERT INTO t VALUES ('key-\(i)', \(i), '\(vectorLiteral(vector))');"
            rows.append((Int64(i), vector))
        }
        try client.sql(script)
        try client.sql("CREATE INDEX t_e ON t USING hnsw (e vector_cosine_ops)")
        try client.sql("DELETE FROM t WHERE n = 3")
        rows.removeAll { $0.id == 3 }
        let query: [Float] = [0.9, 0.3]
        let expected = bruteForce(rows, query: query, metric: .cosine, k: 4).map(\.id)
        let viaSQL = try client.sql("SELECT n FROM t ORDER BY e <=> '\(vectorLiteral(query))' LIMIT 4").first?.rows.map
        { $0[0].integerValue ?? -1 }
        #expect(viaSQL == expected)
        for exact in [false, true] {
            let answer = try client.call(
                "POST", "/tables/t/query", ["vector": .vector(query), "k": 4, "exact": .bool(exact), "columns": ["n"]])
            let found = (0..<4).compactMap { answer["results"]?[$0]?["row"]?["n"]?.integerValue }
            #expect(found == expected, "exact \(exact): \(answer)")
        }
        // Hybrid search joins the two rankings on the real rowid, not on the column named rowid.
        try client.sql(
            "CREATE VIRTUAL TABLE t_fts USING fts5(body); INSERT INTO t_fts (rowid, body) SELECT _rowid_, 'row ' || n FROM t"
        )
        let hybrid = try client.call(
            "POST", "/tables/t/hybrid",
            ["vector": .vector(query), "text": .string("row \(expected[0])"), "k": 4, "columns": ["n"]])
        let fused = (0..<4).compactMap { hybrid["results"]?[$0]?["row"]?["n"]?.integerValue }
        #expect(
            fused.count == 4 && fused.first == expected.first,
            "the nearest row is also the one row the text matches, so it ranks first: \(hybrid)")
        #expect(hybrid["results"]?[0]?["id"]?.stringValue == "key-\(expected[0])")
    }

    /// Ctrl-C in the shell and the server's time limit interrupt once; a nested nearest-neighbour
    /// block that was interrupted must not then be run again by SQLite, where nothing stops it.
    @Test func oneInterruptStopsANestedNearestQueryWhoseFilterNeverEnds() throws {
        let directory = TemporaryDirectory("quiver-edges")
        let db = try Database(path: directory.file("db"))
        try db.execute(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, e VECTOR(2)); INSERT INTO t VALUES (1, '[1,0]'), (2, '[0,1]'), (3, '[1,1]')"
        )
        let never =
            "EXISTS (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT 1 FROM c WHERE x = 0)"
        let sql = "SELECT count(*) FROM (SELECT id FROM t WHERE \(never) ORDER BY e <-> '[1,0]' LIMIT 3)"
        final class Outcome: @unchecked Sendable { var error: (any Error)? }
        let outcome = Outcome()
        let finished = DispatchSemaphore(value: 0)
        nonisolated(unsafe) let running = db
        Thread {
            do { _ = try running.execute(sql) } catch { outcome.error = error }
            finished.signal()
        }.start()
        Thread.sleep(forTimeInterval: 0.5)
        db.interrupt()
        try #require(finished.wait(timeout: .now() + 60) == .success, "still running 60 s after one interrupt")
        #expect(outcome.error.map { "\($0)".contains("interrupt") } == true, "\(String(describing: outcome.error))")
    }

    @Test func aTableWhoseColumnsHideEveryRowidAliasIsRefusedClearly() throws {
        let directory = TemporaryDirectory("quiver-edges")
        let db = try Database(path: directory.file("db"))
        #expect { try db.execute("CREATE TABLE t (rowid TEXT, _rowid_ TEXT, oid TEXT, e VECTOR(2))") } throws: {
            error in
            "\(error)".contains("rowid, _rowid_ and oid") && "\(error)".contains("table t")
        }
        #expect(try db.integers("SELECT count(*) FROM sqlite_schema WHERE name = 't'") == [0], "nothing created")
        // Without Quiver columns such a table is ordinary SQLite; DEDUPE says why it cannot run.
        try db.execute(
            "CREATE TABLE p (rowid TEXT, _rowid_ TEXT, oid TEXT, body TEXT); INSERT INTO p VALUES ('a', 'b', 'c', 'x'), ('d', 'e', 'f', 'x')"
        )
        #expect { try db.execute("DEDUPE p ON body EXACT") } throws: { "\($0)".contains("no rowid that SQL can name") }
    }

    // MARK: - Result columns are named as written

    /// SQLite's own names — the same statements on a database whose `body` is plain TEXT, so
    /// nothing is rewritten — are the oracle for the names over a TEXT COMPRESSED column.
    @Test func resultColumnsAreNamedAsWritten() throws {
        let directory = TemporaryDirectory("quiver-edges")
        let db = try Database(path: directory.file("db"))
        let plain = try Database(path: directory.file("plain"))
        try db.execute(
            """
            CREATE TABLE docs (id INTEGER PRIMARY KEY, body TEXT COMPRESSED, e VECTOR(2));
            INSERT INTO docs VALUES (1, '\(String(repeating: "compressible text ", count: 10))', '[1,0]');
            """)
        try plain.execute(
            "CREATE TABLE docs (id INTEGER PRIMARY KEY, body TEXT, e BLOB); INSERT INTO docs VALUES (1, 'x', NULL)")
        let items = [
            "length(body)", "upper(body)  ||  'x'", "body", "d.body", "length(d.body) AS n", "length(body) n",
            "substr(body, 1, 3) COLLATE nocase", "(SELECT length(body) FROM docs)", "DISTINCT length(body)",
            "*", "d.*", "count(*) FILTER (WHERE length(body) > 1)", "length(body), body, upper(d.body)",
        ]
        for item in items {
            let named = try db.execute("SELECT \(item) FROM docs AS d").first?.columns
            let sqlite = try plain.execute("SELECT \(item) FROM docs AS d").first?.columns
            #expect(named == sqlite, "SELECT \(item)")
        }
        // Vector operators and parameters: the text as written.
        #expect(
            try db.execute("SELECT e <=> '[1,0]', e<->'[0,1]' AS l2, ? FROM docs", SQLBindings([.integer(1)])).first?
                .columns
                == ["e <=> '[1,0]'", "l2", "?"])
        #expect(
            try db.execute("SELECT round(e <#> '[1,0]', 3) FROM docs").first?.columns == ["round(e <#> '[1,0]', 3)"])
        #expect(try db.execute("UPDATE docs SET id = 1 RETURNING length(body)").first?.columns == ["length(body)"])
    }
}
