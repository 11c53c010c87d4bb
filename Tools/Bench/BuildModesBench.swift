import Dispatch
import Foundation
import QuiverEngine
import QuiverFormats
import QuiverStorage

/// `quiver-bench build-modes --base B.npy --db DIR [--n 20000]`: bulk build (rows first, then
/// CREATE INDEX on both cores) against row-at-a-time (index first, then one INSERT per
/// transaction, the index kept current from the change log), same rows, same parameters.
enum BuildModesBench {
    static func run(base path: String, db: String, count: Int, m: Int, efConstruction: Int) throws {
        let base = try NumPy.readFloatMatrix(path: path)
        let n = min(count, base.rows)
        let dimension = base.columns
        let create =
            "CREATE INDEX e ON t USING hnsw (embedding vector_cosine_ops) WITH (m = \(m), ef_construction = \(efConstruction))"
        func seconds(_ body: () throws -> Void) rethrows -> Double {
            let start = DispatchTime.now().uptimeNanoseconds
            try body()
            return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        }
        func row(_ i: Int) -> SQLBindings { SQLBindings([.integer(Int64(i)), .vector(Array(base[row: i]))]) }
        let probe = "SELECT id FROM t ORDER BY embedding <=> ? LIMIT 10"

        try? FileManager.default.removeItem(atPath: db + "-bulk")
        let bulkDB = try Database(path: db + "-bulk")
        _ = try bulkDB.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, embedding VECTOR(\(dimension)))")
        let bulk = try seconds {
            try bulkDB.executeMany("INSERT INTO t VALUES (?, ?)", (0..<n).map(row))
            _ = try bulkDB.execute(create)
            _ = try bulkDB.execute(probe, SQLBindings([.vector(Array(base[row: 0]))]))
        }

        try? FileManager.default.removeItem(atPath: db + "-rows")
        let rowDB = try Database(path: db + "-rows")
        _ = try rowDB.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, embedding VECTOR(\(dimension)))")
        _ = try rowDB.execute(create)
        let single = try seconds {
            for i in 0..<n {
                _ = try rowDB.execute("INSERT INTO t VALUES (?, ?)", row(i))
                // Keep the index current row by row, as an application interleaving writes and searches would.
                if i % 100 == 99 { _ = try rowDB.execute(probe, SQLBindings([.vector(Array(base[row: i]))])) }
            }
            _ = try rowDB.execute(probe, SQLBindings([.vector(Array(base[row: 0]))]))
        }
        precondition(rowDB.lastReport.strategy == .hnsw)
        print("| mode (\(n) rows, \(dimension) dims, m=\(m), ef_construction=\(efConstruction)) | seconds | rows/s |")
        print("|---|---:|---:|")
        print(
            "| bulk: load rows, then CREATE INDEX (both cores) | \(String(format: "%.2f", bulk)) | \(Int(Double(n) / bulk)) |"
        )
        print(
            "| row at a time: CREATE INDEX, then one INSERT per transaction | \(String(format: "%.2f", single)) | \(Int(Double(n) / single)) |"
        )
        print("| ratio | \(String(format: "%.1f×", single / bulk)) | |")
    }
}
