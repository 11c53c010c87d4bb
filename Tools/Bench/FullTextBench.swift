import Foundation
import QuiverEngine
import QuiverStorage

/// The Quiver side of the full-text benchmark (Tools/bench/fts_bench.py compares it with FTS5
/// and LanceDB on the same terms):
///
///     quiver-bench fulltext --data DIR --db DIR --terms TERMS.json --out OUT.json
///
/// Loads the real set's texts into `passages(id, body)`, times `CREATE INDEX … USING fts (body)`
/// as the build, measures the index's pages, and runs every term as a quoted phrase through
/// `WHERE body MATCH ?` — the query syntax users write — one at a time, writing the ids found and
/// the median time.
enum FullTextBench {
    static func run(data: String, db path: String, terms termsPath: String, out: String) throws {
        try? FileManager.default.removeItem(atPath: path)
        let db = try Database(path: path)
        _ = try db.execute("CREATE TABLE passages (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
        try db.executeMany(
            "INSERT INTO passages VALUES (?, ?)",
            try GzipJSONLines.read(data + "/base_text.jsonl.gz").map { record in
                SQLBindings([.integer((record["id"] as! NSNumber).int64Value), .text(record["text"] as! String)])
            })
        let started = Date()
        _ = try db.execute("CREATE INDEX passages_body ON passages USING fts (body)")
        let build = Date().timeIntervalSince(started)
        let size =
            try db.rows(
                "SELECT sum(pgsize) FROM dbstat WHERE name LIKE '\\_quiver\\_fts\\_%' ESCAPE '\\'"
            ).first?.first?.integerValue ?? 0

        let terms =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: termsPath))) as! [String]
        var found: [String: [Int64]] = [:]
        var times: [Double] = []
        for term in terms {
            let phrase = "\"" + term.replacingOccurrences(of: "\"", with: "\"\"") + "\""
            let start = DispatchTime.now().uptimeNanoseconds
            let ids = try db.rows("SELECT id FROM passages WHERE body MATCH ?", SQLBindings([.text(phrase)]))
                .compactMap { $0.first?.integerValue }
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
            found[term] = ids
        }
        times.sort()
        let result: [String: Any] = [
            "build_seconds": build, "index_bytes": size, "query_ms_p50": times[times.count / 2], "found": found,
        ]
        try JSONSerialization.data(withJSONObject: result).write(to: URL(fileURLWithPath: out))
        print(String(format: "quiver fulltext: build %.1f s, index %.1f MB", build, Double(size) / 1e6))
    }
}

extension Database {
    fileprivate func rows(_ sql: String, _ bindings: SQLBindings = .none) throws -> [[SQLValue]] {
        try execute(sql, bindings).last?.rows ?? []
    }
}
