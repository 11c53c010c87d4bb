import QuiverIndex
import QuiverIndexing
import QuiverKernels
import QuiverStorage

/// Finds the row ids of the k nearest rows for a nearest-neighbour plan, on one connection:
/// through an index caught up with the rows when one can answer, else by the exact scan. It
/// owns what searching remembers between queries — the `hnsw.ef_search` settings, and the
/// selectivity estimates and allow-sets of filters seen before — while `QueryExecutor` runs
/// the statement around it. With a filter, the strategies run in rounds
/// (NearestNeighbourStrategyRounds).
package final class NearestNeighbourSearch {
    let connection: Connection
    let indexes: VectorIndexes

    /// What the last search did, for EXPLAIN and tests.
    package var trace = ExecutionTrace()
    /// `hnsw.ef_search` for this connection (pgvector's default is 40).
    package var efSearch = NearestNeighbourSearch.defaultEfSearch
    package static let defaultEfSearch = 40
    /// `SET LOCAL hnsw.ef_search`: lasts until the transaction ends.
    private var localEfSearch: Int?
    /// True once this connection has changed rows in its open transaction: the indexes only
    /// hold committed rows, so its searches take the exact scan until the transaction ends.
    var hasUncommittedWrites = false
    /// The database state when the index records were last read (see usableIndex).
    private var indexRecordsReadAt: (Int64, Int) = (-1, -1)
    /// Allow-sets by filter, valid while the database state and the index are unchanged.
    var allowSetCache: [String: (state: (Int64, Int), index: ObjectIdentifier, allowed: HNSWIndex.AllowSet)] = [:]
    /// Selectivity estimates by filter, valid while the database state is unchanged.
    var selectivityCache: [String: (estimate: SelectivityEstimate, state: (Int64, Int))] = [:]

    init(connection: Connection, indexes: VectorIndexes) {
        self.connection = connection
        self.indexes = indexes
    }

    /// `SET [LOCAL] hnsw.ef_search = n`, or `RESET` (value nil): the session setting, or one
    /// that lasts until the transaction ends.
    func setEfSearch(_ value: Int?, local: Bool) {
        if local {
            localEfSearch = value
        } else {
            efSearch = value ?? Self.defaultEfSearch
            localEfSearch = nil
        }
    }

    /// The `ef_search` in force: the transaction's, else the session's.
    var effectiveEfSearch: Int { localEfSearch ?? efSearch }

    /// Forgets what lasted only until the transaction ended (its writes, SET LOCAL).
    func transactionEnded() {
        hasUncommittedWrites = false
        localEfSearch = nil
    }

    /// An index that can answer nearest-neighbour queries on this column and metric, caught
    /// up with the rows; nil when there is none or this connection has uncommitted writes.
    /// Re-reads the index records into `catalog` when another connection may have changed them.
    func usableIndex(table: TableInfo, column: ColumnInfo, metric: DistanceMetric?, catalog: inout Catalog) throws
        -> HNSWIndex?
    {
        let state = try indexes.databaseState()
        if state != indexRecordsReadAt {
            try catalog.reloadIndexes(from: connection)
            indexRecordsReadAt = state
        }
        guard !hasUncommittedWrites, column.kind.vectorDimension != nil,
            let definition = catalog.indexes(on: table.name).first(where: {
                indexes.manages($0) && $0.column.caseInsensitiveEquals(column.name)
                    && (metric == nil || $0.metric == metric)
            })
        else { return nil }
        return try indexes.current(definition, rowid: try VectorIndexes.rowid(of: table))
    }

    /// The ids of the k nearest rows under the plan's filter; nil when the plan does not apply
    /// after all (a NULL query vector, a query vector that depends on the row).
    func nearestIDs(
        _ plan: NearestNeighbourPlan, _ bindings: SQLBindings, efHint: Int?, exact: Bool,
        catalog: inout Catalog
    ) throws -> [Int64]? {
        guard let (query, k) = try evaluateInputs(plan, bindings) else { return nil }
        let ef = max(efHint ?? effectiveEfSearch, k)
        let index =
            exact
            ? nil : try usableIndex(table: plan.table, column: plan.column, metric: plan.metric, catalog: &catalog)
        trace.record(.prepare)
        var ids: [Int64]?
        if let index {
            ids = try searchWithIndex(plan, index: index, query: query, k: k, ef: ef, bindings: bindings)
        }
        if ids == nil {
            let outcome = try ExactNearestScan.run(
                connection: connection, sql: plan.candidateSQL, bindings: bindings,
                query: query, metric: plan.metric, k: k,
                place: "\(plan.table.name).\(plan.column.name)")
            trace.strategy = .exactScan
            trace.rowsScanned = outcome.rowsScanned
            trace.candidates = outcome.rows.count
            if let index, index.count > 0 {
                trace.actualSelectivity = Double(outcome.rowsScanned) / Double(index.count)
            }
            trace.record(.exactScan)
            ids = outcome.rows.map(\.id)
        }
        return ids
    }

    private func evaluateInputs(_ plan: NearestNeighbourPlan, _ bindings: SQLBindings) throws -> ([Float], Int)? {
        // A query vector that SQLite cannot compile alone names the row's columns (or is wrong in
        // a way SQLite reports better for the whole statement): SQLite then runs the statement.
        guard (try? connection.cachedStatement(plan.queryVectorSQL)) != nil else { return nil }
        let queryValue = try connection.scalar(plan.queryVectorSQL, bindings)
        guard case .blob(let bytes)? = queryValue,
            let limit = try connection.scalar(plan.limitSQL, bindings)?.integerValue, limit >= 0
        else { return nil }
        var offset: Int64 = 0
        if let offsetSQL = plan.offsetSQL {
            guard let value = try connection.scalar(offsetSQL, bindings)?.integerValue else { return nil }
            offset = max(0, value)
        }
        let query = bytes.withUnsafeBytes { raw in
            (0..<(raw.count / 4)).map { raw.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) }
        }
        try QueryVectorCheck.validate(
            query, metric: plan.metric, dimension: plan.dimension,
            place: "\(plan.table.name).\(plan.column.name)")
        return (query, Int(min(limit + offset, Int64(Int32.max))))
    }

    /// The k best row ids found through the index, or nil when the exact scan must answer
    /// (it is cheaper, or the index cannot produce k rows that pass the filter).
    private func searchWithIndex(
        _ plan: NearestNeighbourPlan, index: HNSWIndex, query: [Float], k: Int, ef: Int,
        bindings: SQLBindings
    ) throws -> [Int64]? {
        trace.efSearch = ef
        guard plan.isFiltered else {
            let (hits, computed) = index.search(query, k: k, ef: ef)
            trace.strategy = .hnsw
            trace.distanceComputations = computed
            trace.candidates = hits.count
            trace.estimatedSelectivity = 1
            trace.decision = .noFilter
            trace.record(.indexSearch)
            // Fewer hits than asked: rows without a vector may still fill the LIMIT; scan instead.
            return hits.count >= k ? hits.map(\.label) : nil
        }
        return try searchFiltered(plan, index: index, query: query, k: k, ef: ef, bindings: bindings)
    }

    /// Plans without searching: what EXPLAIN (without ANALYZE) reports.
    func planWithoutSearching(
        _ plan: NearestNeighbourPlan, _ bindings: SQLBindings, efHint: Int?, catalog: inout Catalog
    ) throws {
        let limit = try connection.scalar(plan.limitSQL, bindings)?.integerValue ?? 0
        let ef = max(efHint ?? effectiveEfSearch, Int(limit))
        guard
            let index = try usableIndex(table: plan.table, column: plan.column, metric: plan.metric, catalog: &catalog)
        else {
            trace.strategy = .exactScan
            trace.decision = .noUsableIndex
            return
        }
        trace.efSearch = ef
        guard plan.isFiltered else {
            trace.strategy = .hnsw
            trace.decision = .noFilter
            return
        }
        let (estimate, _) = try cachedEstimate(plan, index: index, bindings: bindings)
        trace.estimatedSelectivity = estimate.selectivity
        trace.estimation = estimate.method
        if estimate.selectivity < Self.filterFirstBelow {
            trace.strategy = .exactAllowSet
            trace.decision = .filterFirst(stepBudget: nil)
        } else {
            trace.strategy = .postFilter
            trace.decision = .walkFirst(candidates: nil)
        }
    }

    // MARK: what is remembered between queries

    /// The selectivity estimate for this filter and these bindings, reused while no one has
    /// committed anything since it was made (a plan cache for repeated filters).
    func cachedEstimate(_ plan: NearestNeighbourPlan, index: HNSWIndex, bindings: SQLBindings) throws -> (
        SelectivityEstimate, seenBefore: Bool
    ) {
        let key = filterKey(plan, bindings)
        let state = try indexes.databaseState()
        if let cached = selectivityCache[key], cached.state == state { return (cached.estimate, true) }
        let estimate = try SelectivityEstimate.sampling(plan, index: index, connection: connection, bindings: bindings)
        if selectivityCache.count >= 256 { selectivityCache.removeAll() }
        selectivityCache[key] = (estimate, state)
        return (estimate, false)
    }

    /// Identifies a filter: its SQL, and the values of the parameters it uses — only those, so
    /// the query vector (bound too, different every query) does not make every key new.
    private func filterKey(_ plan: NearestNeighbourPlan, _ bindings: SQLBindings) -> String {
        let filter = plan.filterSQL(selecting: "")
        var key = filter
        for token in Tokenizer.tokenize(filter) where token.kind == .parameter {
            let index = token.text.hasPrefix("?") ? Int(token.text.dropFirst()) ?? 0 : 0
            key += "\u{0}\(token.text)=" + (bindings.value(index: index, name: token.text).map { "\($0)" } ?? "unbound")
        }
        return key
    }

    func rememberAllowSet(
        _ allowed: HNSWIndex.AllowSet, for plan: NearestNeighbourPlan, index: HNSWIndex,
        bindings: SQLBindings
    ) throws {
        if allowSetCache.count >= 16 { allowSetCache.removeAll() }
        allowSetCache[filterKey(plan, bindings)] = (try indexes.databaseState(), ObjectIdentifier(index), allowed)
    }

    func rememberedAllowSet(for plan: NearestNeighbourPlan, index: HNSWIndex, bindings: SQLBindings) throws -> HNSWIndex
        .AllowSet?
    {
        guard let cached = allowSetCache[filterKey(plan, bindings)], cached.state == (try indexes.databaseState()),
            cached.index == ObjectIdentifier(index)
        else { return nil }
        return cached.allowed
    }
}
