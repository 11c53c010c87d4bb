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

    public init(
        table: String, column: String, k: Int, filter: String? = nil, metric: DistanceMetric? = nil,
        threads: Int = 1, exact: Bool = false, ef: Int? = nil
    ) {
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
        guard k >= 1 else { throw SQLiteError(.unsupported("k must be at least 1")) }
        let k = self.k
        guard let tableInfo = database.catalog.table(named: table) else { throw SQLiteError(.noSuchTable(table)) }
        guard let columnInfo = tableInfo.column(named: column) else {
            throw SQLiteError(.noSuchColumn(table: table, column: column))
        }
        let filtered = filter.map { !$0.trimmingSpaces().isEmpty } ?? false
        let index =
            exact ? nil : try database.executor.usableIndex(table: tableInfo, column: columnInfo, metric: metric)

        guard let rowid = tableInfo.rowidName else {
            throw SQLiteError(
                .unsuitableSchema(
                    "table \(tableInfo.name) has no rowid that SQL can name (columns named rowid, _rowid_ and oid hide it, or it is WITHOUT ROWID)"
                ))
        }
        if let index, !filtered {
            // Every query through the index (its labels are rowids). Fewer hits than k: rows the
            // index leaves out (NULL or zero vectors) fill the rest, last, as the planner ranks
            // them — that query goes through SQL instead.
            let ef = max(self.ef ?? database.executor.search.efSearch, k)
            let metric = index.parameters.metric
            let sql =
                "SELECT \(rowid) FROM \(quoteIdentifier(tableInfo.name)) ORDER BY \(quoteIdentifier(columnInfo.name)) \(metric.sqlOperator) ?1 LIMIT \(k)"
            let shared = NSLock()
            var outcome = try timedQueries(
                queries, count: queryCount, dimension: index.parameters.dimension,
                metric: metric, strategy: "hnsw index"
            ) { _, query in
                let hits = index.search(query, k: k, ef: ef).hits
                if hits.count >= k { return hits.map(\.label) }
                return try shared.withLock {
                    try database.execute(sql, SQLBindings([.vector(query)])).first?.rows.map {
                        $0[0].integerValue ?? -1
                    } ?? []
                }
            }
            try reportPrimaryKeys(&outcome, table: tableInfo, rowid: rowid, database: database)
            return outcome
        }
        if index != nil, let filter, filtered {
            // Each query as the SQL it is, so the planner chooses per query and the time includes
            // running the filter; one connection per worker thread.
            let metric =
                self.metric ?? database.catalog.indexes(on: tableInfo.name)
                .first { $0.column.caseInsensitiveEquals(columnInfo.name) }?.metric ?? .cosine
            let key = tableInfo.primaryKeyColumn.map { quoteIdentifier($0.name) } ?? rowid
            let hint = ef.map { "/*+ hnsw.ef_search = \($0) */ " } ?? ""
            let sql =
                "SELECT \(hint)\(key) FROM \(quoteIdentifier(tableInfo.name)) WHERE (\(filter)) ORDER BY \(quoteIdentifier(columnInfo.name)) \(metric.sqlOperator) ?1 LIMIT \(k)"
            let workers = max(1, min(threads, queryCount))
            nonisolated(unsafe) let connections =
                try [database] + (1..<workers).map { _ in try Database(path: database.directory.path) }
            return try timedQueries(
                queries, count: queryCount, dimension: columnInfo.kind.vectorDimension ?? 0,
                metric: metric, strategy: "planner (hnsw index)"
            ) { worker, query in
                try connections[worker].execute(sql, SQLBindings([.vector(query)])).first?.rows.map {
                    $0[0].integerValue ?? -1
                } ?? []
            }
        }
        // The exact scan: the filter's rows loaded once, every query scored against them.
        let set = try database.executor.loadVectors(table: table, column: column, filter: filter)
        let metric = self.metric ?? .cosine
        return try timedQueries(
            queries, count: queryCount, dimension: set.dimension, metric: metric, strategy: "exact scan"
        ) { _, query in
            set.nearest(to: query, k: k, metric: metric).map(\.id)
        }
    }

    /// Runs `search(worker, query)` for every query on `threads` threads, timing each query;
    /// `search` returns the keys of its hits, best first.
    private func timedQueries(
        _ queries: [Float], count queryCount: Int, dimension: Int, metric: DistanceMetric,
        strategy: String, _ search: @escaping (Int, [Float]) throws -> [Int64]
    ) throws -> Outcome {
        guard queryCount == 0 || queries.count == queryCount * dimension else {
            throw SQLiteError(
                .unrankableQueryVector(
                    "the queries have \(queryCount == 0 ? 0 : queries.count / queryCount) dimensions but \(table).\(column) is VECTOR(\(dimension))"
                ))
        }
        let k = self.k
        for q in 0..<queryCount {
            try QueryVectorCheck.validate(
                Array(queries[(q * dimension)..<((q + 1) * dimension)]), metric: metric,
                dimension: dimension, place: "\(table).\(column) (query \(q))")
        }
        let workers = max(1, min(threads, queryCount))
        nonisolated(unsafe) var keys = [Int64](repeating: -1, count: queryCount * k)
        nonisolated(unsafe) var latencies = [Double](repeating: 0, count: queryCount)
        nonisolated(unsafe) let search = search
        let failure = ErrorBox()
        let start = DispatchTime.now().uptimeNanoseconds
        keys.withUnsafeMutableBufferPointer { keyBuffer in
            latencies.withUnsafeMutableBufferPointer { latencyBuffer in
                nonisolated(unsafe) let keyOut = keyBuffer
                nonisolated(unsafe) let latencyOut = latencyBuffer
                DispatchQueue.concurrentPerform(iterations: workers) { worker in
                    var q = worker
                    while q < queryCount, !failure.isSet {
                        let began = DispatchTime.now().uptimeNanoseconds
                        do {
                            let hits = try search(worker, Array(queries[(q * dimension)..<((q + 1) * dimension)]))
                            for (rank, key) in hits.prefix(k).enumerated() { keyOut[q * k + rank] = key }
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
        return Outcome(keys: keys, latencies: latencies, elapsed: elapsed, metric: metric, strategy: strategy)
    }

    /// The index labels rows by rowid: every label is looked up in the table, so only rows
    /// that exist are reported (a label no row has is dropped, never passed on), by their key.
    private func reportPrimaryKeys(_ outcome: inout Outcome, table: TableInfo, rowid: String, database: Database) throws
    {
        let key = table.primaryKeyColumn
        if let key, !key.declaredType.uppercased().contains("INT") {
            throw SQLiteError(
                .unsuitableSchema(
                    "\(table.name) has a \(key.declaredType) primary key; batch search reports integer keys and needs an INTEGER primary key"
                ))
        }
        let keyColumn = key.map { quoteIdentifier($0.name) } ?? rowid
        var keyOf: [Int64: Int64] = [:]
        let all = Array(Set(outcome.keys.filter { $0 >= 0 }))
        for start in stride(from: 0, to: all.count, by: 500) {
            let list = all[start..<min(start + 500, all.count)].map(String.init).joined(separator: ",")
            for row in try database.rows(
                of: "SELECT \(rowid), \(keyColumn) FROM \(quoteIdentifier(table.name)) WHERE \(rowid) IN (\(list))")
            {
                if let id = row[0].integerValue, let value = row[1].integerValue { keyOf[id] = value }
            }
        }
        for q in 0..<(k > 0 ? outcome.keys.count / k : 0) {
            let found = outcome.keys[(q * k)..<((q + 1) * k)].compactMap { keyOf[$0] }
            for rank in 0..<k { outcome.keys[q * k + rank] = rank < found.count ? found[rank] : -1 }
        }
    }

}

final class ErrorBox: @unchecked Sendable {
    private(set) var error: Error?
    private let lock = NSLock()
    var isSet: Bool {
        lock.lock()
        defer { lock.unlock() }
        return error != nil
    }
    func set(_ error: Error) {
        lock.lock()
        if self.error == nil { self.error = error }
        lock.unlock()
    }
}
