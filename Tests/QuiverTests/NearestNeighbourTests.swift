import QuiverEngine
import QuiverKernels
import QuiverStorage
import Testing

/// Exact nearest-neighbour queries in SQL against a brute-force oracle.
@Suite struct NearestNeighbourTests {
    let directory = TemporaryDirectory()
    let db: Database
    var rows: [(id: Int64, vector: [Float])] = []
    var langs: [Int64: String] = [:]
    static let dimension = 12

    init() throws {
        db = try Database(path: directory.file("db"))
        var random = SeededRandom(seed: 42)
        _ = try db.execute(
            """
            CREATE TABLE documents (id INTEGER PRIMARY KEY, title TEXT, dept TEXT);
            CREATE TABLE chunks (id INTEGER PRIMARY KEY, doc_id INTEGER, lang TEXT, embedding VECTOR(12));
            """)
        try db.executeMany(
            "INSERT INTO documents VALUES (?, ?, ?)",
            (1...20).map {
                SQLBindings([.integer(Int64($0)), .text("doc \($0)"), .text($0 % 4 == 0 ? "legal" : "eng")])
            })
        var bindings: [SQLBindings] = []
        for id in Int64(1)...2500 {
            // One row in eight copies an earlier vector, so distances tie and the key must decide.
            let vector =
                id % 8 == 0 ? rows[Int(random.next() % UInt64(rows.count))].vector : random.vector(Self.dimension)
            let lang = ["en", "zh", "fr"][Int(id % 3)]
            rows.append((id, vector))
            langs[id] = lang
            bindings.append(SQLBindings([.integer(id), .integer(id % 20 + 1), .text(lang), .vector(vector)]))
        }
        try db.executeMany("INSERT INTO chunks VALUES (?, ?, ?, ?)", bindings)
    }

    func expected(_ query: [Float], _ metric: DistanceMetric, k: Int, where keep: (Int64) -> Bool = { _ in true })
        -> [Int64]
    {
        bruteForce(rows.filter { keep($0.id) }, query: query, metric: metric, k: k).map(\.id)
    }

    @Test(arguments: DistanceMetric.allCases)
    func orderByDistanceEqualsBruteForce(metric: DistanceMetric) throws {
        var random = SeededRandom(seed: 5)
        for _ in 0..<8 {
            let query = random.vector(Self.dimension)
            let op = metric.sqlOperator
            let result = try db.rows(
                "SELECT id, embedding \(op) ? AS distance FROM chunks ORDER BY embedding \(op) ? LIMIT 10",
                SQLBindings([.text(vectorLiteral(query)), .text(vectorLiteral(query))]))
            #expect(db.lastReport.strategy == .exactScan)
            #expect(result.map { $0[0].integerValue! } == expected(query, metric, k: 10))
            // The projected distance is the one the ranking used, in double precision.
            for row in result {
                let id = row[0].integerValue!
                #expect(row[1] == .real(PairDistance.precise(metric, rows[Int(id - 1)].vector, query)))
            }
        }
    }

    @Test func filtersRunInSQLiteBeforeRanking() throws {
        var random = SeededRandom(seed: 6)
        let query = random.vector(Self.dimension)
        let ids = try db.integers(
            "SELECT id FROM chunks WHERE lang = 'zh' AND id > 100 ORDER BY embedding <=> :q LIMIT 25",
            SQLBindings(named: ["q": .vector(query)]))
        #expect(ids == expected(query, .cosine, k: 25) { langs[$0] == "zh" && $0 > 100 })
        #expect(db.lastReport.rowsScanned == rows.filter { langs[$0.id] == "zh" && $0.id > 100 }.count)
    }

    @Test func joinsFeedTheFilterAndTheProjection() throws {
        var random = SeededRandom(seed: 8)
        let query = random.vector(Self.dimension)
        let result = try db.rows(
            """
            SELECT c.id, d.title FROM chunks c JOIN documents d ON c.doc_id = d.id
            WHERE d.dept = 'legal' ORDER BY c.embedding <-> ? LIMIT 5
            """, SQLBindings([.vector(query)]))
        #expect(db.lastReport.strategy == .exactScan)
        let legal: (Int64) -> Bool = { ($0 % 20 + 1) % 4 == 0 }
        #expect(result.map { $0[0].integerValue! } == expected(query, .l2, k: 5, where: legal))
        #expect(result.allSatisfy { $0[1] == .text("doc \(($0[0].integerValue! % 20) + 1)") })
    }

    @Test func limitOffsetAndFewerMatchesThanK() throws {
        let query = rows[10].vector
        let all = expected(query, .cosine, k: 30)
        #expect(
            try db.integers(
                "SELECT id FROM chunks ORDER BY embedding <=> ? LIMIT 10 OFFSET 20", SQLBindings([.vector(query)]))
                == Array(all[20..<30]))
        #expect(
            try db.integers(
                "SELECT id FROM chunks ORDER BY embedding <=> ? LIMIT 20, 10", SQLBindings([.vector(query)]))
                == Array(all[20..<30]))
        #expect(
            try db.integers(
                "SELECT id FROM chunks WHERE id <= 3 ORDER BY embedding <=> ? LIMIT 10", SQLBindings([.vector(query)])
            ).sorted() == [1, 2, 3])
        #expect(
            try db.integers(
                "SELECT id FROM chunks WHERE id < 0 ORDER BY embedding <=> ? LIMIT 10", SQLBindings([.vector(query)]))
                == [])
    }

    @Test func queryVectorFromASubqueryAndTiesBrokenByKey() throws {
        // Row 8k copies an earlier row: querying by an exact copy gives distance-0 ties.
        let copies = rows.filter { $0.vector == rows[7].vector }.map(\.id)
        #expect(copies.count >= 2)
        let ids = try db.integers(
            "SELECT id FROM chunks ORDER BY embedding <-> (SELECT embedding FROM chunks WHERE id = 8) LIMIT \(copies.count)"
        )
        #expect(ids == copies.sorted())
    }

    @Test func rowsWithoutAVectorComeLast() throws {
        _ = try db.execute("INSERT INTO chunks (id, doc_id, lang) VALUES (9001, 1, 'xx'), (9000, 1, 'xx')")
        _ = try db.execute("INSERT INTO chunks VALUES (9002, 1, 'xx', '[1,1,1,1,1,1,1,1,1,1,1,1]')")
        let ids = try db.integers(
            "SELECT id FROM chunks WHERE lang = 'xx' ORDER BY embedding <=> ? LIMIT 5",
            SQLBindings([.vector(rows[0].vector)]))
        #expect(ids == [9002, 9000, 9001])
    }

    @Test func otherShapesFallBackToSQLiteWithTheSameAnswer() throws {
        let query = rows[3].vector
        let q = SQLBindings([.vector(query)])
        let top = expected(query, .cosine, k: 10)
        // DISTINCT, GROUP BY, compound selects: plain SQLite with the distance functions.
        #expect(try db.integers("SELECT DISTINCT id FROM chunks ORDER BY embedding <=> ? LIMIT 10", q) == top)
        #expect(db.lastReport.strategy == .sqlite)
        #expect(
            try db.integers("SELECT doc_id FROM chunks GROUP BY doc_id ORDER BY min(embedding <=> ?) LIMIT 3", q).count
                == 3)
        // A query vector that depends on the row cannot be precomputed.
        #expect(
            try db.integers(
                "SELECT c.id FROM chunks c JOIN chunks o ON o.id = 4 ORDER BY c.embedding <=> o.embedding LIMIT 10")
                == top)
        // A vector top-k inside a CTE, aggregated outside.
        let grouped = try db.rows(
            """
            WITH near AS (SELECT id, lang FROM chunks ORDER BY embedding <=> ? LIMIT 10)
            SELECT lang, count(*) FROM near GROUP BY lang ORDER BY lang
            """, q)
        #expect(grouped.reduce(0) { $0 + $1[1].integerValue! } == 10)
    }

    @Test func wrongQueryDimensionIsAClearError() throws {
        #expect {
            try db.execute("SELECT id FROM chunks ORDER BY embedding <=> '[1,2,3]' LIMIT 3")
        } throws: { "\($0)".contains("the query vector has 3 dimensions but chunks.embedding is VECTOR(12)") }
        #expect { try db.execute("SELECT id FROM chunks ORDER BY embedding <=> '[1,x]' LIMIT 3") } throws: {
            "\($0)".contains("element 2 is not a number")
        }
    }

    @Test func batchSearchAgreesWithSQL() throws {
        var random = SeededRandom(seed: 9)
        let queries = (0..<6).map { _ in random.vector(Self.dimension) }
        for threads in [1, 2] {
            let outcome = try BatchSearch(
                table: "chunks", column: "embedding", k: 7, filter: "lang <> 'fr'",
                metric: .innerProduct, threads: threads
            )
            .run(on: db, queries: queries.flatMap { $0 }, queryCount: queries.count)
            for (i, query) in queries.enumerated() {
                #expect(
                    Array(outcome.keys[(i * 7)..<((i + 1) * 7)])
                        == expected(query, .innerProduct, k: 7) { langs[$0] != "fr" })
            }
            #expect(outcome.latencies.count == 6)
        }
        let sparse = try BatchSearch(table: "chunks", column: "embedding", k: 5, filter: "id IN (3, 4)")
            .run(on: db, queries: queries[0], queryCount: 1)
        #expect(sparse.keys.filter { $0 == -1 }.count == 3)
    }
}
