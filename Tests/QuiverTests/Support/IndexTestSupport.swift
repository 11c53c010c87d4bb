import Dispatch
import Foundation
import QuiverEngine
import QuiverFormats
import QuiverKernels
import QuiverStorage

// Helpers for the vector-index tests (IndexSQLTests, CrashTests).

/// Clustered random vectors (20 centres, ±0.4 noise), like HNSWIndexTests.dataset: realistic
/// enough that an HNSW graph must work for its recall. `normalised` for inner product.
func clusteredVectors(count: Int, dimension: Int, seed: UInt64, normalised: Bool = false) -> [[Float]] {
    var random = SeededRandom(seed: seed)
    let centres = (0..<20).map { _ in random.vector(dimension) }
    return (0..<count).map { _ in
        let centre = centres[Int(random.next() % 20)]
        let v = centre.map { $0 + Float.random(in: -0.4...0.4, using: &random) }
        guard normalised else { return v }
        let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return v.map { $0 / norm }
    }
}

/// Share of `truth`'s ids that `found` holds, summed over queries (recall@k).
func recallOf(found: [[Int64]], truth: [[Int64]]) -> Double {
    var hits = 0
    var total = 0
    for (f, t) in zip(found, truth) {
        let wanted = Set(t)
        hits += f.filter { wanted.contains($0) }.count
        total += t.count
    }
    return total == 0 ? 1 : Double(hits) / Double(total)
}

/// The database's `indexes/` folder and what it holds.
func indexFolder(_ databasePath: String) -> String { (databasePath as NSString).appendingPathComponent("indexes") }

func filesInIndexFolder(_ databasePath: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: indexFolder(databasePath))) ?? []).sorted()
}

func fileSize(_ path: String) -> Int {
    ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? -1
}

/// One row of `_quiver_indexes`.
struct IndexRecord: Equatable {
    var name: String
    var table: String
    var column: String
    var metric: String
    var file: String
    var checkpointSequence: Int64
}

extension Database {
    /// The rows of `_quiver_indexes` (none when the table does not exist yet).
    func indexRecords() throws -> [IndexRecord] {
        guard try integers("SELECT count(*) FROM sqlite_schema WHERE name = '_quiver_indexes'") == [1] else {
            return []
        }
        return try rows(
            "SELECT name, table_name, column_name, metric, file, checkpoint_sequence FROM _quiver_indexes ORDER BY name"
        ).map {
            IndexRecord(
                name: $0[0].textValue ?? "?", table: $0[1].textValue ?? "?", column: $0[2].textValue ?? "?",
                metric: $0[3].textValue ?? "?", file: $0[4].textValue ?? "?",
                checkpointSequence: $0[5].integerValue ?? -1)
        }
    }

    /// Names of the change-log triggers (`quiver:log_*`).
    func logTriggerNames() throws -> [String] {
        try rows("SELECT name FROM sqlite_schema WHERE type = 'trigger' AND name LIKE 'quiver:log%' ORDER BY name")
            .compactMap { $0[0].textValue }
    }

    /// The newest change-log sequence number (0 before any change).
    func latestChangeSequence() throws -> Int64 {
        guard try integers("SELECT count(*) FROM sqlite_schema WHERE name = 'sqlite_sequence'") == [1] else { return 0 }
        return try integers("SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = '_quiver_changes'), 0)")
            .first ?? 0
    }

    /// `SELECT id, col <op> :q FROM table ORDER BY col <op> :q LIMIT k` as (id, distance) pairs.
    func nearest(
        _ query: [Float], metric: DistanceMetric, k: Int, table: String = "items", column: String = "emb",
        hint: String = ""
    ) throws -> [(id: Int64, distance: Double)] {
        let op = metric.sqlOperator
        return try rows(
            "SELECT \(hint)id, \(column) \(op) :q AS distance FROM \(table) ORDER BY \(column) \(op) :q LIMIT \(k)",
            SQLBindings(named: ["q": .vector(query)])
        ).map { ($0[0].integerValue ?? -999, $0[1].doubleValue ?? .nan) }
    }
}

/// The built `quiver` executable, run as a child process.
enum QuiverBinary {
    static let located = ProcessRunner.locateExecutable("quiver", repositoryRoot: repositoryRoot)

    static func path() throws -> String {
        guard let path = located.path else {
            throw ProcessRunnerError(
                description:
                    "the quiver executable was not found; build it with `swift build --build-tests` (searched: \(located.searched.joined(separator: ", ")))"
            )
        }
        return path
    }

    static func run(_ arguments: [String], stdin: String? = nil, environment: [String: String]? = nil) throws
        -> ProcessOutcome
    {
        try ProcessRunner.run(path(), arguments, stdin: stdin, environment: environment)
    }

    /// The rows of each SELECT of `sql` (run by `quiver sql --format json`), as arrays of objects.
    static func selectResults(db: String, _ sql: String) throws -> (outcome: ProcessOutcome, results: [[[String: Any]]])
    {
        let outcome = try run(["sql", "--db", db, "--format", "json"], stdin: sql)
        guard outcome.succeeded else { return (outcome, []) }
        let parsed = try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8))
        if let many = parsed as? [[[String: Any]]] { return (outcome, many) }
        if let one = parsed as? [[String: Any]] { return (outcome, [one]) }
        throw ProcessRunnerError(description: "unexpected JSON from quiver sql: \(outcome.stdout.prefix(300))")
    }

    /// `quiver search … --out` in a child process: the hit keys, nq × k (-1 for none).
    static func search(
        db: String, table: String = "items", column: String = "emb", queries: [[Float]], k: Int,
        metric: DistanceMetric, ef: Int? = nil, exact: Bool = false, scratch: String
    ) throws -> (outcome: ProcessOutcome, keys: [[Int64]]) {
        let queryPath = (scratch as NSString).appendingPathComponent("queries-\(UUID().uuidString).npy")
        let outPath = (scratch as NSString).appendingPathComponent("hits-\(UUID().uuidString).npy")
        defer {
            try? FileManager.default.removeItem(atPath: queryPath)
            try? FileManager.default.removeItem(atPath: outPath)
        }
        let dimension = queries.first?.count ?? 0
        try NumPy.writeFloatMatrix(
            path: queryPath, rows: queries.count, columns: dimension, values: queries.flatMap { $0 })
        var arguments = [
            "search", "--db", db, "--table", table, "--column", column, "--queries", queryPath, "--k", "\(k)",
            "--metric", metric.rawValue, "--out", outPath,
        ]
        if let ef { arguments += ["--ef", "\(ef)"] }
        if exact { arguments.append("--exact") }
        let outcome = try run(arguments)
        guard outcome.succeeded else { return (outcome, []) }
        let matrix = try NumPy.readInt64Matrix(path: outPath)
        return (outcome, (0..<matrix.rows).map { Array(matrix[row: $0]) })
    }
}

/// A child process that may be killed with SIGKILL part way through.
enum KillableChild {
    struct Outcome {
        /// True when SIGKILL ended it (false: it exited by itself before the deadline).
        var killed: Bool
        var status: Int32
        var stderr: String
        var elapsed: TimeInterval
    }

    /// Runs `executable arguments` with standard input from `stdinPath`; kills it with SIGKILL
    /// after `killAfter` seconds if it is still running.
    static func run(
        _ executable: String, _ arguments: [String], stdinPath: String, killAfter: TimeInterval,
        environment: [String: String]? = nil
    ) throws -> Outcome {
        let scratch = (NSTemporaryDirectory() as NSString).appendingPathComponent("quiver-kill-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let outPath = (scratch as NSString).appendingPathComponent("stdout")
        let errPath = (scratch as NSString).appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        guard let input = FileHandle(forReadingAtPath: stdinPath), let out = FileHandle(forWritingAtPath: outPath),
            let err = FileHandle(forWritingAtPath: errPath)
        else {
            throw ProcessRunnerError(description: "cannot open the child's files in \(scratch)")
        }
        defer {
            try? input.close()
            try? out.close()
            try? err.close()
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardInput = input
        process.standardOutput = out
        process.standardError = err
        if let environment { process.environment = environment }
        let finished = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in finished.signal() }
        let start = Date()
        try process.run()
        var killed = false
        if finished.wait(timeout: .now() + killAfter) == .timedOut {
            kill(process.processIdentifier, SIGKILL)
            killed = true
            _ = finished.wait(timeout: .now() + 30)
        }
        process.waitUntilExit()
        let elapsed = Date().timeIntervalSince(start)
        let wasKilled = killed && process.terminationReason == .uncaughtSignal && process.terminationStatus == SIGKILL
        let stderr = String(decoding: FileManager.default.contents(atPath: errPath) ?? Data(), as: UTF8.self)
        return Outcome(killed: wasKilled, status: process.terminationStatus, stderr: stderr, elapsed: elapsed)
    }
}
