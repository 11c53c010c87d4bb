import Dispatch
import Foundation
import QuiverEngine
import QuiverFormats
import QuiverStorage

/// `quiver-bench filtered --data DIR --db DIR [--ef 40] [--reuse]`: filtered nearest-neighbour
/// queries through SQL on the real set, one per filter of filters.json (selectivity about 50%
/// down to 0.1%, one anti-correlated), against the exact filtered ground truth.
/// Prints a markdown table: strategy chosen, recall@10 (ties counted), queries/s, p50/p99.
/// Like the peers: one untimed warm-up pass per filter, then one timed pass.
enum FilteredBench {
    static func run(data: String, db path: String, ef: Int, reuse: Bool) throws {
        if !reuse { try? FileManager.default.removeItem(atPath: path) }
        let db = try Database(path: path)
        if try db.execute("SELECT count(*) FROM sqlite_schema WHERE name = 'base'")[0].rows[0][0] != .integer(1) {
            try load(data: data, into: db)
        }
        _ = try db.execute("SET hnsw.ef_search = \(ef)")
        let queries = try NumPy.readFloatMatrix(path: data + "/queries.npy")
        let filters =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: data + "/filters.json")))
            as! [String: Any]
        print("| filter | selectivity | strategy (most queries) | recall@10 | queries/s | p50 ms | p99 ms |")
        print("|---|---:|---|---:|---:|---:|---:|")
        for filter in filters["filters"] as! [[String: Any]] {
            let name = filter["name"] as! String
            let condition = filter["where"] as! String
            let truth = try NumPy.readInt64Matrix(path: "\(data)/gt_filter_\(name).npy")
            let scores = try NumPy.readFloatMatrix(path: "\(data)/gt_filter_\(name)_scores.npy")
            let sql = "SELECT id, embedding <=> ?1 FROM base WHERE \(condition) ORDER BY embedding <=> ?1 LIMIT 10"
            var latencies: [Double] = []
            var strategies: [String: Int] = [:]
            var hits = 0
            var expected = 0
            // One untimed warm-up pass, as the peers get (plans, estimates and allow-sets are
            // then cached exactly as they would be in an application that repeats its filters).
            for q in 0..<queries.rows { _ = try db.execute(sql, SQLBindings([.vector(Array(queries[row: q]))])) }
            for q in 0..<queries.rows {
                let bindings = SQLBindings([.vector(Array(queries[row: q]))])
                let start = DispatchTime.now().uptimeNanoseconds
                let rows = try db.execute(sql, bindings)[0].rows
                latencies.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
                strategies["\(db.lastReport.strategy)", default: 0] += 1
                let trueIDs = Array(truth.values[(q * 100)..<(q * 100 + 10)]).filter { $0 >= 0 }
                expected += trueIDs.count
                guard !trueIDs.isEmpty else { continue }
                let kth = Double(scores.values[q * 100 + trueIDs.count - 1])
                for row in rows {
                    let id = row[0].integerValue!
                    let similarity = 1 - (row[1].doubleValue ?? 2)
                    if trueIDs.contains(id) || abs(similarity - kth) < 1e-6 { hits += 1 }
                }
            }
            latencies.sort()
            let total = latencies.reduce(0, +)
            let top = strategies.max { $0.value < $1.value }!
            let recall = expected == 0 ? 1 : Double(hits) / Double(expected)
            print(
                "| `\(condition)` | \(String(format: "%.2f%%", 100 * (filter["selectivity"] as! Double))) | \(top.key) (\(top.value)/\(queries.rows)) | \(String(format: "%.4f", recall)) | \(Int(Double(queries.rows) / (total / 1000))) | \(String(format: "%.3f", latencies[latencies.count / 2])) | \(String(format: "%.3f", latencies[min(latencies.count - 1, latencies.count * 99 / 100)])) |"
            )
        }
    }

    static func load(data: String, into db: Database) throws {
        _ = try db.execute(
            """
            CREATE TABLE base (id INTEGER PRIMARY KEY, source TEXT, doc TEXT, section INTEGER, lang TEXT,
                               nchars INTEGER, position INTEGER, embedding VECTOR(384))
            """)
        let vectors = try NumPy.readFloatMatrix(path: data + "/base_f16.npy")
        let records = try GzipJSONLines.read(data + "/base_meta.jsonl.gz")
        try db.executeMany(
            "INSERT INTO base VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            records.enumerated().map { i, m in
                SQLBindings([
                    .integer(Int64(i)), .text(m["source"] as! String), .text(m["doc"] as! String),
                    .integer((m["section"] as! NSNumber).int64Value), .text(m["lang"] as! String),
                    .integer((m["nchars"] as! NSNumber).int64Value), .integer((m["position"] as! NSNumber).int64Value),
                    .vector(Array(vectors[row: i])),
                ])
            })
        _ = try db.execute(
            """
            CREATE INDEX base_lang ON base (lang); CREATE INDEX base_source ON base (source); CREATE INDEX base_doc ON base (doc);
            CREATE INDEX base_embedding ON base USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 200);
            ANALYZE;
            """)
    }
}
