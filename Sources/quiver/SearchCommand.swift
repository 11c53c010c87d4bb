import ArgumentParser
import Foundation
import QuiverEngine
import QuiverFormats
import QuiverKernels

struct SearchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search",
        abstract: "Run a batch of nearest-neighbour queries from a .npy file and report keys and speed.",
        discussion: """
            Writes the integer primary keys of each query's hits (best first, -1 where fewer than K rows \
            match) to --out as an int64 .npy of shape nq×K, and prints one line: qps=… p50_ms=… p99_ms=…, \
            measured over the queries alone.
            """)

    @OptionGroup var database: DatabaseOption
    @Option(help: "Table to search.") var table: String
    @Option(help: "VECTOR column to search.") var column: String
    @Option(help: "Query vectors: .npy of float32 or float16, shape nq×dim.") var queries: String
    @Option(help: "Hits per query.") var k: Int = 10
    @Option(name: .customLong("where"), help: "SQL filter over the table's rows.") var filter: String?
    @Option(help: "Distance: cosine, l2 or ip (default cosine).") var metric: String?
    @Option(help: "Write hit keys to this .npy file (int64, nq×K).") var out: String?
    @Option(help: "Worker threads.") var threads: Int = 1
    @Option(help: "hnsw.ef_search for index searches (default 40).") var ef: Int?
    @Flag(help: "Force the exact scan even when an index exists (the recall oracle).") var exact = false
    @Flag(help: "Print the plan of the first query (EXPLAIN ANALYZE) before the summary.") var explain = false

    func validate() throws {
        guard k >= 1 else { throw ValidationError("--k must be at least 1") }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        if let ef, ef < 1 { throw ValidationError("--ef must be at least 1") }
        if let metric, DistanceMetric(name: metric) == nil {
            throw ValidationError("--metric must be cosine, l2 or ip, not '\(metric)'")
        }
    }

    func run() throws {
        let matrix = try NumPy.readFloatMatrix(path: queries)
        let db = try Database(path: database.path)
        let search = BatchSearch(
            table: table, column: column, k: k, filter: filter,
            metric: metric.flatMap(DistanceMetric.init(name:)), threads: threads,
            exact: exact, ef: ef)
        if explain, matrix.rows > 0 {
            print(
                ResultRenderer.render(
                    try db.explainNearest(
                        table: table, column: column, filter: filter,
                        metric: metric.flatMap(DistanceMetric.init(name:)),
                        k: k, ef: ef, exact: exact, query: Array(matrix[row: 0])),
                    as: .table), terminator: "")
        }
        let outcome = try search.run(on: db, queries: matrix.values, queryCount: matrix.rows)
        if let out {
            try NumPy.writeInt64Matrix(path: out, rows: matrix.rows, columns: k, values: outcome.keys)
        }
        print(
            String(
                format: "qps=%.1f p50_ms=%.3f p99_ms=%.3f", outcome.queriesPerSecond,
                outcome.latencyPercentile(50) * 1000, outcome.latencyPercentile(99) * 1000))
    }
}
