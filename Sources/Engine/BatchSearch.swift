import Dispatch
import Foundation
import QuiverIndex
import QuiverKernels
import QuiverQuery
import QuiverStorage

/// Many nearest-neighbour queries against one table under one filter: the interface that
/// `quiver search` and the benchmarks use to measure recall and throughput.
public struct BatchSearch {
    public var table: String
    public var column: String
    public var filter: String?
    public var metric: DistanceMetric?
    public var k: Int
    public var threads: Int = 1
    /// Force the exact scan even when an index could answer (the recall oracle).
    public var exact = false
    /// `hnsw.ef_search` for index searches (default: the connection's setting).
    public var ef: Int?

    public init(table: String, column: String, k: Int, filter: String? = nil, metric: DistanceMetric? = nil,
                threads: Int = 1, exact: Bool = false, ef: Int? = nil) {
        self.table = table
        self.column = column
        self.k = k
        self.filter = filter
        self.metric = metric
        self.threads = threads
        self.exact = exact
        self.ef = ef
    }

    public struct Outcome: Sendable {
        /// Row-major `queries × k` primary keys, best first, -1 where fewer than k rows match.
        public var keys: [Int64]
        /// Seconds per query.
        public var latencies: [Double]
        /// Seconds for all queries, wall clock.
        public var elapsed: Double
        public var metric: DistanceMetric
        /// "hnsw index" or "exact scan".
        public var strategy: String

        public var queriesPerSecond: Double { elapsed > 0 ? Double(latencies.count) / elapsed : 0 }
        /// The latency below which `p` percent of the queries finished (nearest rank).
        public func latencyPercentile(_ p: Double) -> Double {
            guard !latencies.isEmpty else { return 0 }
            let sorted = latencies.sorted()
            let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
            return sorted[max(0, min(sorted.count - 1, rank - 1))]
        }
    }

    /// `queries` is row-major, `queryCount × dimension`.
    public func run(on database: Database, queries: [Float], queryCount: Int) throws -> Outcome {
        guard k >= 1 else { throw SQLiteError(message: "k must be at least 1") }
        if !exact, filter == nil || filter!.trimmingSpaces().isEmpty,
           let tableInfo = database.catalog.table(named: table), let columnInfo = tableInfo.column(named: column),
           let index = try database.executor.usableIndex(table: tableInfo, column: columnInfo, metric: metric) {
            var outcome = try run(index, queries: queries, queryCount: queryCount, ef: ef ?? database.executor.efSearch)
            try reportPrimaryKeys(&outcome, table: tableInfo, database: database)
            return outcome
        }
        if !exact, let filter, !filter.trimmingSpaces().isEmpty,
           let tableInfo = database.catalog.table(named: table), let columnInfo = tableInfo.column(named: column),
           try database.executor.usableIndex(table: tableInfo, column: columnInfo, metric: metric) != nil {
            return try runThroughPlanner(database, table: tableInfo, column: columnInfo, filter: filter,
                                         queries: queries, queryCount: queryCount)
        }
        let set = try database.executor.loadVectors(table: table, column: column, filter: filter)
        guard queryCount == 0 || queries.count == queryCount * set.dimension else {
            throw SQLiteError(message: "the queries have \(queryCount == 0 ? 0 : queries.count / queryCount) dimensions but \(table).\(column) is VECTOR(\(set.dimension))")
        }
        let metric = self.metric ?? .cosine
        let k = self.k, dimension = set.dimension
        nonisolated(unsafe) var keys = [Int64](repeating: -1, count: queryCount * k)
        nonisolated(unsafe) var latencies = [Double](repeating: 0, count: queryCount)
        let workers = max(1, min(threads, queryCount))
        let start = DispatchTime.now().uptimeNanoseconds
        keys.withUnsafeMutableBufferPointer { keyBuffer in
            latencies.withUnsafeMutableBufferPointer { latencyBuffer in
                nonisolated(unsafe) let keyOut = keyBuffer, latencyOut = latencyBuffer
                DispatchQueue.concurrentPerform(iterations: workers) { worker in
                    var q = worker
                    while q < queryCount {
                        let began = DispatchTime.now().uptimeNanoseconds
                        let query = Array(queries[(q * dimension)..<((q + 1) * dimension)])
                        let hits = set.nearest(to: query, k: k, metric: metric)
                        for (rank, hit) in hits.enumerated() { keyOut[q * k + rank] = hit.id }
                        latencyOut[q] = Double(DispatchTime.now().uptimeNanoseconds - began) / 1e9
                        q += workers
                    }
                }
            }
        }
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return Outcome(keys: keys, latencies: latencies, elapsed: elapsed, metric: metric, strategy: "exact scan")
    }

    /// Filtered queries with an index: each one as the SQL nearest-neighbour query it is, so the
    /// planner chooses per query and the time includes running the filter. One connection per
    /// worker thread.
    private func runThroughPlanner(_ database: Database, table: TableInfo, column: ColumnInfo, filter: String,
                                   queries: [Float], queryCount: Int) throws -> Outcome {
        guard let dimension = column.kind.vectorDimension else { throw SQLiteError(message: "\(table.name).\(column.name) is not a VECTOR column") }
        guard queryCount == 0 || queries.count == queryCount * dimension else {
            throw SQLiteError(message: "the queries have \(queryCount == 0 ? 0 : queries.count / queryCount) dimensions but \(table.name).\(column.name) is VECTOR(\(dimension))")
        }
        let metric = self.metric ?? database.catalog.indexes(on: table.name).first { $0.column.caseInsensitiveEquals(column.name) }?.metric ?? .cosine
        let key = table.primaryKeyColumn.map { quoteIdentifier($0.name) } ?? "rowid"
        let k = self.k
        let hint = ef.map { "/*+ hnsw.ef_search = \($0) */ " } ?? ""
        let sql = "SELECT \(hint)\(key) FROM \(quoteIdentifier(table.name)) WHERE (\(filter)) ORDER BY \(quoteIdentifier(column.name)) \(metric.sqlOperator) ?1 LIMIT \(k)"
        let workers = max(1, min(threads, queryCount))
        let connections = try [database] + (1..<max(workers, 1)).map { _ in try Database(path: database.directory.path) }
        nonisolated(unsafe) var keys = [Int64](repeating: -1, count: queryCount * k)
        nonisolated(unsafe) var latencies = [Double](repeating: 0, count: queryCount)
        let failure = ErrorBox()
        let start = DispatchTime.now().uptimeNanoseconds
        keys.withUnsafeMutableBufferPointer { keyBuffer in
            latencies.withUnsafeMutableBufferPointer { latencyBuffer in
                nonisolated(unsafe) let keyOut = keyBuffer, latencyOut = latencyBuffer
                nonisolated(unsafe) let connections = connections
                DispatchQueue.concurrentPerform(iterations: workers) { worker in
                    var q = worker
                    while q < queryCount, !failure.isSet {
                        let began = DispatchTime.now().uptimeNanoseconds
                        let query = Array(queries[(q * dimension)..<((q + 1) * dimension)])
                        do {
                            let rows = try connections[worker].execute(sql, SQLBindings([.vector(query)])).first?.rows ?? []
                            for (rank, row) in rows.prefix(k).enumerated() { keyOut[q * k + rank] = row[0].integerValue ?? -1 }
                        } catch {
                            failure.set(error)
                        }
                        latencyOut[q] = Double(DispatchTime.now().uptimeNanoseconds - began) / 1e9
                        q += workers
                    }
                }
            }
        }
        if let error = failure.error { throw error }
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return Outcome(keys: keys, latencies: latencies, elapsed: elapsed, metric: metric, strategy: "planner (hnsw index)")
    }

    /// The index labels rows by rowid; a table whose integer key is not the rowid (`id INT
    /// PRIMARY KEY`, `BIGINT`, …) gets its keys looked up.
    private func reportPrimaryKeys(_ outcome: inout Outcome, table: TableInfo, database: Database) throws {
        guard let key = table.primaryKeyColumn, key.declaredType.uppercased() != "INTEGER" else { return }
        guard key.declaredType.uppercased().contains("INT") else {
            throw SQLiteError(message: "\(table.name) has a \(key.declaredType) primary key; batch search reports integer keys and needs an INTEGER primary key")
        }
        let rowids = Set(outcome.keys.filter { $0 >= 0 })
        var keyOf: [Int64: Int64] = [:]
        let all = Array(rowids)
        for start in stride(from: 0, to: all.count, by: 500) {
            let list = all[start..<min(start + 500, all.count)].map(String.init).joined(separator: ",")
            for row in try database.rows(of: "SELECT rowid, \(quoteIdentifier(key.name)) FROM \(quoteIdentifier(table.name)) WHERE rowid IN (\(list))") {
                if let rowid = row[0].integerValue, let value = row[1].integerValue { keyOf[rowid] = value }
            }
        }
        outcome.keys = outcome.keys.map { $0 >= 0 ? keyOf[$0] ?? -1 : -1 }
    }

    /// Every query through the index (keys are rowids: the index's labels).
    private func run(_ index: HNSWIndex, queries: [Float], queryCount: Int, ef: Int) throws -> Outcome {
        let dimension = index.parameters.dimension
        guard queryCount == 0 || queries.count == queryCount * dimension else {
            throw SQLiteError(message: "the queries have \(queryCount == 0 ? 0 : queries.count / queryCount) dimensions but \(table).\(column) is VECTOR(\(dimension))")
        }
        let k = self.k
        let workers = max(1, min(threads, queryCount))
        nonisolated(unsafe) var keys = [Int64](repeating: -1, count: queryCount * k)
        nonisolated(unsafe) var latencies = [Double](repeating: 0, count: queryCount)
        let start = DispatchTime.now().uptimeNanoseconds
        keys.withUnsafeMutableBufferPointer { keyBuffer in
            latencies.withUnsafeMutableBufferPointer { latencyBuffer in
                nonisolated(unsafe) let keyOut = keyBuffer, latencyOut = latencyBuffer
                DispatchQueue.concurrentPerform(iterations: workers) { worker in
                    var q = worker
                    while q < queryCount {
                        let began = DispatchTime.now().uptimeNanoseconds
                        let query = Array(queries[(q * dimension)..<((q + 1) * dimension)])
                        let hits = index.search(query, k: k, ef: max(ef, k)).hits
                        for (rank, hit) in hits.enumerated() { keyOut[q * k + rank] = hit.label }
                        latencyOut[q] = Double(DispatchTime.now().uptimeNanoseconds - began) / 1e9
                        q += workers
                    }
                }
            }
        }
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return Outcome(keys: keys, latencies: latencies, elapsed: elapsed, metric: index.parameters.metric, strategy: "hnsw index")
    }
}

final class ErrorBox: @unchecked Sendable {
    private(set) var error: Error?
    private let lock = NSLock()
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return error != nil }
    func set(_ error: Error) { lock.lock(); if self.error == nil { self.error = error }; lock.unlock() }
}
