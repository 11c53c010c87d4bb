import Foundation
import QuiverEngine
import QuiverKernels
import QuiverStorage
import Testing

/// Filtered nearest-neighbour queries through the planner: right at every selectivity (never
/// fewer than k when k rows match, recall against the exact filtered answer), through joins,
/// nested in CTEs, explained, and fused with full-text search.
@Suite struct PlannerTests {
    let directory = TemporaryDirectory("quiver-planner")
    let db: Database
    var rows: [(id: Int64, vector: [Float])] = []
    /// bucket = id % 1000: a filter `bucket < n` passes n/1000 of the rows.
    static let count = 6000
    static let dimension = 16

    init() throws {
        db = try Database(path: directory.file("db"))
        _ = try db.execute(
            """
            CREATE TABLE documents (id INTEGER PRIMARY KEY, dept TEXT, year INTEGER);
            CREATE TABLE chunks (id INTEGER PRIMARY KEY, doc_id INTEGER, bucket INTEGER, cluster INTEGER, emb VECTOR(16));
            CREATE INDEX chunks_bucket ON chunks (bucket);
            """)
        var documents: [SQLBindings] = []
        for id in 1...100 {
            let dept: SQLValue = .text(id % 10 == 0 ? "legal" : "eng")
            let year: SQLValue = .integer(Int64(2015 + (id / 10) % 10))
            documents.append(SQLBindings([.integer(Int64(id)), dept, year]))
        }
        try db.executeMany("INSERT INTO documents VALUES (?, ?, ?)", documents)
        // Clustered vectors; `cluster` records which centre, so a filter on it is anti-correlated
        // with queries drawn near other centres.
        var random = SeededRandom(seed: 77)
        let centres = (0..<20).map { _ in random.vector(Self.dimension) }
        var bindings: [SQLBindings] = []
        for id in Int64(1)...Int64(Self.count) {
            let c = Int(random.next() % 20)
            let v = centres[c].map { $0 + Float.random(in: -0.4...0.4, using: &random) }
            rows.append((id, v))
            bindings.append(
                SQLBindings([.integer(id), .integer(id % 100 + 1), .integer(id % 1000), .integer(Int64(c)), .vector(v)])
            )
        }
        try db.executeMany("INSERT INTO chunks VALUES (?, ?, ?, ?, ?)", bindings)
        _ = try db.execute(
            "CREATE INDEX chunks_emb ON chunks USING hnsw (emb) WITH (m = 12, ef_construction = 64); ANALYZE")
        // The documented ef for these recall checks: queries are uniform noise, off the data's
        // clusters, which is harder for a graph than real queries (see HNSWIndexTests).
        _ = try db.execute("SET hnsw.ef_search = \(Self.ef)")
    }

    static let ef = 100

    func exact(_ query: [Float], k: Int, where keep: (Int64) -> Bool) -> [Int64] {
        bruteForce(rows.filter { keep($0.id) }, query: query, metric: .cosine, k: k).map(\.id)
    }

    @Test(arguments: [500, 100, 10, 1]) // bucket < n: 50%, 10%, 1%, 0.1% of the rows
    func neverFewerThanKAndRecallAtEverySelectivity(buckets: Int) throws {
        var random = SeededRandom(seed: UInt64(buckets))
        var found: [[Int64]] = []
        var truth: [[Int64]] = []
        var strategies = Set<String>()
        for _ in 0..<30 {
            // Queries like real ones: near the data (a row, moved a little).
            let query = rows[Int(random.next() % UInt64(rows.count))].vector.map {
                $0 + Float.random(in: -0.2...0.2, using: &random)
            }
            let ids = try db.integers(
                "SELECT id FROM chunks WHERE bucket < ? ORDER BY emb <=> ? LIMIT 10",
                SQLBindings([.integer(Int64(buckets)), .vector(query)]))
            let expected = exact(query, k: 10) { $0 % 1000 < buckets }
            #expect(ids.count == min(10, expected.count), "bucket < \(buckets): \(ids.count) rows")
            #expect(ids.allSatisfy { $0 % 1000 < buckets }, "a row that fails the filter")
            strategies.insert("\(db.lastReport.strategy)")
            found.append(ids)
            truth.append(expected)
        }
        let recall = recallOf(found: found, truth: truth)
        #expect(recall >= 0.95, "bucket < \(buckets) (strategies \(strategies)): recall@10 \(recall)")
        #expect(!strategies.contains("sqlite"))
    }

    @Test func antiCorrelatedFilter() throws {
        // Queries near cluster 0's rows, filter keeping only cluster 7's.
        let near = rows.filter {
            try! db.integers("SELECT cluster FROM chunks WHERE id = ?", SQLBindings([.integer($0.id)])) == [0]
        }.prefix(20)
        var found: [[Int64]] = []
        var truth: [[Int64]] = []
        let seven = Set(try db.integers("SELECT id FROM chunks WHERE cluster = 7"))
        for row in near {
            let ids = try db.integers(
                "SELECT id FROM chunks WHERE cluster = 7 ORDER BY emb <=> ? LIMIT 10",
                SQLBindings([.vector(row.vector)]))
            #expect(ids.count == 10)
            found.append(ids)
            truth.append(exact(row.vector, k: 10) { seven.contains($0) })
        }
        #expect(recallOf(found: found, truth: truth) >= 0.95)
    }

    @Test func joinedFiltersFeedTheSearch() throws {
        var random = SeededRandom(seed: 5)
        let legalDocs = Set(try db.integers("SELECT id FROM documents WHERE dept = 'legal' AND year >= 2020"))
        var found: [[Int64]] = []
        var truth: [[Int64]] = []
        for _ in 0..<20 {
            let query = random.vector(Self.dimension)
            let result = try db.rows(
                """
                SELECT c.id, d.dept FROM chunks c JOIN documents d ON c.doc_id = d.id
                WHERE d.dept = 'legal' AND d.year >= 2020 ORDER BY c.emb <=> ? LIMIT 5
                """, SQLBindings([.vector(query)]))
            #expect(result.count == 5)
            #expect(result.allSatisfy { $0[1] == .text("legal") })
            #expect(db.lastReport.strategy != .sqlite)
            found.append(result.map { $0[0].integerValue! })
            truth.append(exact(query, k: 5) { legalDocs.contains($0 % 100 + 1) })
        }
        #expect(recallOf(found: found, truth: truth) >= 0.95)
    }

    @Test func vectorTopKInsideACTE() throws {
        var random = SeededRandom(seed: 6)
        let query = random.vector(Self.dimension)
        let grouped = try db.rows(
            """
            WITH near AS (SELECT id, doc_id FROM chunks ORDER BY emb <=> ? LIMIT 20)
            SELECT d.dept, count(*) FROM near JOIN documents d ON d.id = near.doc_id GROUP BY d.dept ORDER BY d.dept
            """, SQLBindings([.vector(query)]))
        #expect(grouped.reduce(0) { $0 + $1[1].integerValue! } == 20)
        // Answered by the index, not by scoring every row in SQLite.
        #expect(db.lastReport.strategy == .hnsw)
        let ids = try db.integers(
            "SELECT id FROM (SELECT id FROM chunks ORDER BY emb <=> ? LIMIT 10) ORDER BY id",
            SQLBindings([.vector(query)]))
        #expect(recallOf(found: [ids], truth: [exact(query, k: 10) { _ in true }]) >= 0.9)
    }

    @Test func explainShowsTheChoiceAndAnalyzeTheWork() throws {
        let query = SQLBindings([.vector(rows[0].vector)])
        let plan = try db.execute("EXPLAIN SELECT id FROM chunks WHERE bucket < 5 ORDER BY emb <=> ? LIMIT 10", query)[
            0]
        #expect(plan.columns == ["item", "value"])
        let items = Dictionary(uniqueKeysWithValues: plan.rows.map { ($0[0].textValue!, $0[1].textValue!) })
        #expect(items["index"]?.contains("chunks_emb") == true)
        #expect(items["estimated selectivity"]?.contains("%") == true)
        #expect(items["strategy"] != nil && items["reason"] != nil)
        let analyzed = try db.execute(
            "EXPLAIN ANALYZE SELECT id FROM chunks WHERE bucket < 5 ORDER BY emb <=> ? LIMIT 10", query)[0]
        let steps = Dictionary(uniqueKeysWithValues: analyzed.rows.map { ($0[0].textValue!, $0[1].textValue!) })
        #expect(steps["actual selectivity"] == "0.5%")
        #expect(steps["rows returned"] == "10")
        #expect(Int(steps["distance computations"] ?? "") != nil)
        #expect(steps.keys.contains { $0.hasPrefix("time: ") })
        // EXPLAIN QUERY PLAN stays SQLite's.
        let sqlitePlan = try db.execute("EXPLAIN QUERY PLAN SELECT id FROM chunks WHERE bucket = 3")[0]
        #expect(sqlitePlan.rows.contains { $0.last?.textValue?.contains("chunks_bucket") == true })
    }

    @Test func hybridTextAndVectorByReciprocalRankFusion() throws {
        _ = try db.execute(
            """
            CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT, emb VECTOR(3));
            INSERT INTO notes VALUES
              (1, '数据质量比数量更重要，大语言模型需要清洗过的数据', '[1, 0, 0]'),
              (2, 'Data quality matters more than quantity for language models', '[0.9, 0.1, 0]'),
              (3, '今天天气很好，我们去公园散步', '[0, 1, 0]'),
              (4, 'The weather is fine today', '[0, 0.9, 0.1]');
            CREATE VIRTUAL TABLE notes_fts USING fts5(body, tokenize = 'trigram');
            INSERT INTO notes_fts (rowid, body) SELECT id, body FROM notes;
            """)
        func hybrid(_ text: String, _ vector: String) throws -> [Int64] {
            try db.integers(
                """
                WITH vec AS (SELECT id, row_number() OVER (ORDER BY emb <=> :q) AS rank FROM notes ORDER BY emb <=> :q LIMIT 50),
                     txt AS (SELECT rowid AS id, row_number() OVER (ORDER BY bm25(notes_fts)) AS rank
                             FROM notes_fts WHERE notes_fts MATCH :text ORDER BY bm25(notes_fts) LIMIT 50)
                SELECT n.id FROM notes n LEFT JOIN vec ON vec.id = n.id LEFT JOIN txt ON txt.id = n.id
                WHERE vec.id IS NOT NULL OR txt.id IS NOT NULL
                ORDER BY coalesce(1.0 / (60 + vec.rank), 0) + coalesce(1.0 / (60 + txt.rank), 0) DESC, n.id LIMIT 2
                """, SQLBindings(named: ["q": .text(vector), "text": .text(text)]))
        }
        // Chinese text match (trigram: no word segmentation needed) and the vector agree on 1.
        #expect(try hybrid("语言模型", "[1, 0, 0]").first == 1)
        // English text pulls 2 up even though the vector points at the weather notes.
        #expect(try hybrid("language", "[0, 1, 0]").contains(2))
        #expect(try hybrid("天气", "[0, 1, 0]").first == 3)
    }
}
