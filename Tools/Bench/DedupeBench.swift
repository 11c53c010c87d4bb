import Dispatch
import Foundation
import QuiverDedupe
import QuiverEngine
import QuiverFormats
import QuiverStorage

/// The Quiver side of the dedupe benchmark (Tools/bench/run-dedupe drives it beside FAISS and
/// NumPy):
///
///     quiver-bench dedupe --base B.npy --db DIR --out-dir DIR [--thresholds 0.95,0.9] [--n N]
///
/// For each threshold, all pairs of rows with cosine similarity ≥ threshold, found two ways on
/// the same vectors: brute force (`ExactPairSearch`, blocked sgemm) and the planner's scalable
/// strategy (`KMeansBlocking`), each timed and written as an int64 .npy of pairs (P × 2) for the
/// recall computation. Then the product path: the rows loaded into a table and
/// `DEDUPE base ON embedding THRESHOLD t DRY RUN` timed end to end (reading rows from SQLite,
/// search, clustering), planner's choice and `/*+ exact */`. Prints one JSON object.
enum DedupeBench {
    /// The one-minute load average: the machine is shared, so every timing carries it.
    static func loadAverage() -> Double {
        let text = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? ""
        return Double(text.split(separator: " ").first ?? "") ?? -1
    }

    static func run(
        base path: String, db dbPath: String, outDirectory: String, thresholds: [Double], limit: Int?,
        texts textsPath: String? = nil, quick: Bool = false
    ) throws {
        let matrix = try NumPy.readFloatMatrix(path: path)
        let n = min(limit ?? matrix.rows, matrix.rows)
        var rows = VectorRows(dimension: matrix.columns)
        for i in 0..<n { rows.append(Array(matrix[row: i])) }
        try FileManager.default.createDirectory(atPath: outDirectory, withIntermediateDirectories: true)

        func seconds<T>(_ body: () throws -> T) rethrows -> (T, Double) {
            let start = DispatchTime.now().uptimeNanoseconds
            let value = try body()
            return (value, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        func write(_ pairs: [SimilarPair], _ name: String) throws {
            try NumPy.writeInt64Matrix(
                path: "\(outDirectory)/\(name)", rows: pairs.count, columns: 2,
                values: pairs.flatMap { [Int64($0.first), Int64($0.second)] })
        }

        var runs: [String] = []
        for threshold in thresholds {
            let tag = String(format: "%.2f", threshold)
            let load = loadAverage()
            let skipExact = quick && ProcessInfo.processInfo.environment["QUIVER_BENCH_EXACT"] == nil
            let (exact, exactSeconds) =
                skipExact ? ([], 0) : try seconds { try ExactPairSearch.pairs(in: rows, threshold: threshold) }
            try write(exact, "quiver-exact-\(tag).npy")
            let plan = PairSearchPlanner.plan(rowCount: n, threshold: threshold, exactRequested: false)
            var clusters = 0
            if case .kMeansBlocks(let k) = plan.strategy {
                clusters = k
            } else {
                clusters = KMeansBlocking.clusterCount(forRows: n)
            }
            let (blocked, blockedSeconds) = try seconds {
                try KMeansBlocking.pairs(in: rows, threshold: threshold, clusters: clusters)
            }
            try write(blocked.pairs, "quiver-kmeans-\(tag).npy")
            runs.append(
                """
                {"threshold":\(threshold),"load":\(load),"exact_seconds":\(exactSeconds),"exact_pairs":\(exact.count),\
                "kmeans_seconds":\(blockedSeconds),"kmeans_pairs":\(blocked.pairs.count),"kmeans_cells":\(clusters),\
                "kmeans_probes_per_row":\(blocked.probesPerRow),"kmeans_compared_share":\(Double(blocked.comparedPairs) / Double(max(1, blocked.allPairs))),\
                "kmeans_fell_back":\(blocked.fellBackToExact),"kmeans_phases":{\(blocked.phases.map { "\"\($0.name)\":\($0.seconds)" }.joined(separator: ","))},"planner":"\(plan.strategy == .exactBlocks ? "exact" : "kmeans")",\
                "exact_file":"quiver-exact-\(tag).npy","kmeans_file":"quiver-kmeans-\(tag).npy"}
                """)
        }

        if quick { // only the blocked search, for tuning
            print("{\"engine\":\"quiver\",\"n\":\(n),\"runs\":[\(runs.joined(separator: ","))]}")
            return
        }
        // The product path: DEDUPE … DRY RUN over a table.
        try? FileManager.default.removeItem(atPath: dbPath)
        let db = try Database(path: dbPath)
        _ = try db.execute(
            "CREATE TABLE base (id INTEGER PRIMARY KEY, body TEXT COMPRESSED, embedding VECTOR(\(matrix.columns)))")
        var bodies = [SQLValue](repeating: .null, count: n)
        if let textsPath {
            // One JSON object per line: {"id": …, "text": …}; row i is id i.
            let data = try String(contentsOfFile: textsPath, encoding: .utf8)
            for line in data.split(separator: "\n") {
                guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                    let id = object["id"] as? Int, id < n, let text = object["text"] as? String
                else { continue }
                bodies[id] = .text(text)
            }
        }
        let (_, loadSeconds) = try seconds {
            try db.executeMany(
                "INSERT INTO base VALUES (?, ?, ?)",
                (0..<n).map {
                    SQLBindings([.integer(Int64($0)), bodies[$0], .vector(Array(matrix[row: $0]))])
                })
        }
        var statements: [String] = []
        for threshold in thresholds {
            for hint in ["", "/*+ exact */ "] {
                let (result, elapsed) = try seconds {
                    try db.execute("DEDUPE \(hint)base ON embedding THRESHOLD \(threshold) DRY RUN")[0]
                }
                let report = db.lastDedupeReport!
                let clusters = Set(result.rows.map { $0[0].integerValue! }).count
                statements.append(
                    """
                    {"threshold":\(threshold),"hint":"\(hint.trimmingCharacters(in: .whitespaces))","seconds":\(elapsed),\
                    "strategy":"\(report.strategy)","duplicates":\(result.rows.count),"clusters":\(clusters),"pairs":\(report.pairsFound)}
                    """)
            }
        }
        var textRuns: [String] = []
        if textsPath != nil {
            for method in ["EXACT", "MINHASH THRESHOLD 0.8", "MINHASH THRESHOLD 0.8 NGRAM 2 WHERE body GLOB '*[一-龥]*'"]
            {
                let (result, elapsed) = try seconds { try db.execute("DEDUPE base ON body \(method) DRY RUN")[0] }
                let report = db.lastDedupeReport!
                textRuns.append(
                    """
                    {"method":"\(method)","seconds":\(elapsed),"rows":\(report.rowsConsidered),\
                    "candidates":\(report.comparisons),"pairs":\(report.pairsFound),"clusters":\(report.clusters),"duplicates":\(result.rows.count),\
                    "duplicate_ids_file":"quiver-text-\(textRuns.count).npy"}
                    """)
                try NumPy.writeInt64Matrix(
                    path: "\(outDirectory)/quiver-text-\(textRuns.count - 1).npy", rows: result.rows.count, columns: 2,
                    values: result.rows.flatMap { [$0[1].integerValue!, $0[2].integerValue!] })
            }
        }
        print(
            "{\"engine\":\"quiver\",\"n\":\(n),\"dim\":\(matrix.columns),\"load_seconds\":\(loadSeconds),\"runs\":[\(runs.joined(separator: ","))],\"sql\":[\(statements.joined(separator: ","))],\"text\":[\(textRuns.joined(separator: ","))]}"
        )
    }
}
