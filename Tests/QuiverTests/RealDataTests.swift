import Foundation
import QuiverEngine
import QuiverFormats
import QuiverStorage
import Testing

/// Exact search on the real embedding set (../shared/data): 72,580 MiniLM passages, 200 queries,
/// exact ground truth with and without filters. Skipped, with a message, when the set is absent.
@Suite(.serialized) struct RealDataTests {
    static let data = sharedDataDirectory

    /// Loads every base row (metadata and vector) once per test run.
    nonisolated(unsafe) static let loaded: (TemporaryDirectory, Database)? = {
        guard let data else { return nil }
        do {
            let directory = TemporaryDirectory("quiver-real")
            let db = try Database(path: directory.file("db"))
            _ = try db.execute(
                """
                CREATE TABLE base (id INTEGER PRIMARY KEY, source TEXT, doc TEXT, section INTEGER, lang TEXT,
                                   nchars INTEGER, position INTEGER, embedding VECTOR(384))
                """)
            let vectors = try NumPy.readFloatMatrix(path: data + "/base_f16.npy")
            let meta = try gunzipLines(data + "/base_meta.jsonl.gz")
            precondition(meta.count == vectors.rows)
            try db.executeMany(
                "INSERT INTO base VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                meta.enumerated().map { i, line in
                    let m = try! JSONSerialization.jsonObject(with: line) as! [String: Any]
                    return SQLBindings([
                        .integer(Int64(i)), .text(m["source"] as! String), .text(m["doc"] as! String),
                        .integer((m["section"] as! NSNumber).int64Value), .text(m["lang"] as! String),
                        .integer((m["nchars"] as! NSNumber).int64Value),
                        .integer((m["position"] as! NSNumber).int64Value), .vector(Array(vectors[row: i])),
                    ])
                })
            return (directory, db)
        } catch {
            Issue.record("loading the real data failed: \(error)")
            return nil
        }
    }()

    static func gunzipLines(_ path: String) throws -> [Data] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/gzip")
        process.arguments = ["-dc", path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return data.split(separator: UInt8(ascii: "\n")).map { Data($0) }
    }

    /// Recall@k against ground truth, counting a hit that ties the k-th true score (within 1e-6).
    static func recall(
        found: [Int64], truth: [Int64], truthScores: [Float], queries: Int, k: Int, db: Database,
        queryVectors: NumPyMatrix<Float>
    ) throws -> Double {
        var hits = 0
        var total = 0
        for q in 0..<queries {
            let trueIDs = Array(truth[(q * 100)..<(q * 100 + k)]).filter { $0 >= 0 }
            total += trueIDs.count
            let kth = truthScores[q * 100 + max(0, trueIDs.count - 1)]
            for id in found[(q * k)..<((q + 1) * k)] where id >= 0 {
                if trueIDs.contains(id) {
                    hits += 1
                    continue
                }
                let similarity =
                    1
                    - (try db.rows(
                        "SELECT embedding <=> ? FROM base WHERE id = ?",
                        SQLBindings([.vector(Array(queryVectors[row: q])), .integer(id)]))[0][0].doubleValue ?? 2)
                if abs(similarity - Double(kth)) < 1e-6 { hits += 1 }
            }
        }
        return total == 0 ? 1 : Double(hits) / Double(total)
    }

    @Test(arguments: ["unfiltered", "lang_zh", "nchars_gt_700", "man_3_perl", "doc_in_small"])
    func exactSearchMatchesGroundTruth(name: String) throws {
        guard let data = Self.data, let (_, db) = Self.loaded else {
            print("skipped: the real embedding set is not at ../shared/data (set QUIVER_SHARED_DATA to its folder)")
            return
        }
        let filters =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: data + "/filters.json")))
            as! [String: Any]
        let filter =
            (filters["filters"] as! [[String: Any]]).first { $0["name"] as? String == name }?["where"] as? String
        let prefix = name == "unfiltered" ? "gt_unfiltered" : "gt_filter_\(name)"
        let truth = try NumPy.readInt64Matrix(path: "\(data)/\(prefix).npy")
        let scores = try NumPy.readFloatMatrix(path: "\(data)/\(prefix)_scores.npy")
        let queries = try NumPy.readFloatMatrix(path: data + "/queries.npy")
        let k = 10
        let outcome = try BatchSearch(table: "base", column: "embedding", k: k, filter: filter, threads: 2, exact: true)
            .run(on: db, queries: queries.values, queryCount: queries.rows)
        let recall = try Self.recall(
            found: outcome.keys, truth: truth.values, truthScores: scores.values,
            queries: queries.rows, k: k, db: db, queryVectors: queries)
        #expect(recall == 1.0, "exact search recall@10 for \(name): \(recall)")
        // The SQL path gives the same rows as the batch path.
        for q in [0, 57, 199] {
            let sql =
                "SELECT /*+ exact */ id FROM base \(filter.map { "WHERE \($0)" } ?? "") ORDER BY embedding <=> ? LIMIT \(k)"
            let ids = try db.integers(sql, SQLBindings([.vector(Array(queries[row: q]))]))
            #expect(ids == Array(outcome.keys[(q * k)..<((q + 1) * k)]).filter { $0 >= 0 })
        }
    }
}

/// The HNSW index on the real set: recall@10 against the exact scan at a documented ef.
/// In the same (serialized) suite as the exact tests: they share one database connection.
extension RealDataTests {
    /// ef_search at which the index must reach recall@10 ≥ 0.95 (m = 16, ef_construction = 64).
    static let ef = 64

    @Test func indexRecallAgainstExactSearch() throws {
        guard let data = RealDataTests.data, let (_, db) = RealDataTests.loaded else {
            print("skipped: the real embedding set is not at ../shared/data (set QUIVER_SHARED_DATA to its folder)")
            return
        }
        if db.catalog.indexes.isEmpty {
            _ = try db.execute(
                "CREATE INDEX base_embedding ON base USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64)"
            )
        }
        let queries = try NumPy.readFloatMatrix(path: data + "/queries.npy")
        let k = 10
        let approximate = try BatchSearch(table: "base", column: "embedding", k: k, ef: Self.ef)
            .run(on: db, queries: queries.values, queryCount: queries.rows)
        #expect(approximate.strategy == "hnsw index")
        let truth = try NumPy.readInt64Matrix(path: data + "/gt_unfiltered.npy")
        let scores = try NumPy.readFloatMatrix(path: data + "/gt_unfiltered_scores.npy")
        let recall = try RealDataTests.recall(
            found: approximate.keys, truth: truth.values, truthScores: scores.values,
            queries: queries.rows, k: k, db: db, queryVectors: queries)
        print("real data: index recall@10 at ef \(Self.ef): \(recall)")
        #expect(recall >= 0.95, "recall@10 \(recall) at ef \(Self.ef)")
        // Filtered queries through the planner: at least k rows, recall against the filtered truth.
        for name in ["lang_zh", "nchars_gt_700", "doc_in_3"] {
            let filters =
                try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: data + "/filters.json")))
                as! [String: Any]
            let condition =
                (filters["filters"] as! [[String: Any]]).first { $0["name"] as? String == name }!["where"] as! String
            let filteredTruth = try NumPy.readInt64Matrix(path: "\(data)/gt_filter_\(name).npy")
            let filteredScores = try NumPy.readFloatMatrix(path: "\(data)/gt_filter_\(name)_scores.npy")
            var found: [Int64] = []
            for q in 0..<50 {
                let ids = try db.integers(
                    "SELECT id FROM base WHERE \(condition) ORDER BY embedding <=> ? LIMIT 10",
                    SQLBindings([.vector(Array(queries[row: q]))]))
                let expected = min(10, filteredTruth.values[(q * 100)..<(q * 100 + 10)].filter { $0 >= 0 }.count)
                #expect(ids.count == expected, "\(name): query \(q) returned \(ids.count) rows, \(expected) match")
                found += ids + Array(repeating: -1, count: 10 - ids.count)
            }
            let filteredRecall = try RealDataTests.recall(
                found: found, truth: filteredTruth.values, truthScores: filteredScores.values,
                queries: 50, k: 10, db: db, queryVectors: queries)
            print("real data: filtered (\(name)) recall@10 at ef \(Self.ef): \(filteredRecall)")
            #expect(filteredRecall >= 0.95, "\(name): recall@10 \(filteredRecall)")
        }
    }
}
