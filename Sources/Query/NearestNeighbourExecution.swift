import Dispatch
import QuiverIndex
import QuiverKernels
import QuiverStorage

/// Running a nearest-neighbour plan: evaluating the query vector and LIMIT, choosing a strategy
/// (see NearestNeighbourPlanner), finding the k row ids, and running the final SELECT over them.
extension QueryExecutor {
    /// Runs a nearest-neighbour plan; nil when the query turns out not to fit it at run time
    /// (a NULL query vector, a non-integer LIMIT), in which case plain SQLite answers.
    func runNearest(_ plan: NearestNeighbourPlan, _ bindings: SQLBindings, efHint: Int?, exact: Bool = false) throws -> ResultSet? {
        var clock = StepClock()
        guard let ids = try nearestIDs(plan, bindings, efHint: efHint, exact: exact, clock: &clock) else { return nil }
        let final = try connection.cachedStatement(plan.finalStatementWithBoundIDs)
        defer { final.reset() }
        try final.bind(plan.binding(ids, to: bindings))
        let result = try ResultReader.readAll(final, catalog: catalog, budget: resultBudget)
        clock.lap("final select", into: &lastReport)
        return result
    }

    /// A nearest-neighbour SELECT nested in a statement — a CTE body, a subquery in FROM or IN —
    /// is answered the same way and replaced by its final form (restricted to the rows found),
    /// so a vector top-k inside ordinary SQL (GROUP BY, joins, rank fusion) costs what it costs
    /// on its own. Blocks that depend on the outer query (correlated) are left to SQLite.
    func answeringNestedNearest(_ statement: SQLStatement, _ bindings: SQLBindings, efHint: Int?, exact: Bool) throws -> SQLStatement? {
        // Only statements that run now: a view or trigger must keep its query, not today's rows.
        guard ["SELECT", "WITH", "VALUES", "INSERT", "REPLACE", "UPDATE", "DELETE"].contains(statement.leadingKeyword) else { return nil }
        let tokens = statement.tokens
        let outline = SyntaxOutline(tokens: tokens)
        var replacements: [(range: Range<Int>, text: String)] = []
        var e = 0
        while e < outline.entries.count {
            defer { e += 1 }
            guard outline.token(e)!.isPunctuation("("), let next = outline.token(e + 1),
                  next.isKeyword("SELECT") || next.isKeyword("WITH"),
                  let close = outline.matchingParenthesis(e) else { continue }
            let range = (outline.entries[e].tokenIndex + 1)..<outline.entries[close].tokenIndex
            let inner = SQLStatement(tokens: Array(tokens[range]))
            guard let plan = NearestNeighbourPlan.make(for: inner, catalog: catalog) else { continue }
            var clock = StepClock()
            let found: [Int64]?
            do {
                found = try nearestIDs(plan, bindings, efHint: efHint, exact: exact, clock: &clock)
            } catch where QueryVectorCheck.isRefusal(error) {
                throw error   // SQLite would rank such a query arbitrarily, not refuse it
            } catch let error as SQLiteError where error.isInterrupt {
                throw error   // cancelled or out of time: running it again in SQLite would undo that
            } catch {
                continue
            }
            guard let ids = found else { continue }
            replacements.append((range, plan.finalStatement(ids)))
            e = close   // blocks inside this one are part of its answer
        }
        guard !replacements.isEmpty else { return nil }
        var out = tokens
        for replacement in replacements.reversed() {
            let offset = tokens[replacement.range.lowerBound].offset
            out.replaceSubrange(replacement.range, with: [Token(kind: .identifier, text: replacement.text, offset: offset)])
        }
        return SQLStatement(tokens: out)
    }

    /// The ids of the k nearest rows under the plan's filter; nil when the plan does not apply
    /// after all (a NULL query vector, a query vector that depends on the row).
    private func nearestIDs(_ plan: NearestNeighbourPlan, _ bindings: SQLBindings, efHint: Int?, exact: Bool,
                            clock: inout StepClock) throws -> [Int64]? {
        guard let (query, k) = try evaluateInputs(plan, bindings) else { return nil }
        let ef = max(efHint ?? localEfSearch ?? efSearch, k)
        let index = exact ? nil : try usableIndex(table: plan.table, column: plan.column, metric: plan.metric)
        clock.lap("prepare", into: &lastReport)
        var ids: [Int64]?
        if let index {
            ids = try searchWithIndex(plan, index: index, query: query, k: k, ef: ef, bindings: bindings, clock: &clock)
        }
        if ids == nil {
            let outcome = try ExactNearestScan.run(connection: connection, sql: plan.candidateSQL, bindings: bindings,
                                                   query: query, metric: plan.metric, k: k,
                                                   place: "\(plan.table.name).\(plan.column.name)")
            lastReport.strategy = .exactScan
            lastReport.rowsScanned = outcome.rowsScanned
            lastReport.candidates = outcome.rows.count
            if let index, index.count > 0 { lastReport.actualSelectivity = Double(outcome.rowsScanned) / Double(index.count) }
            clock.lap("exact scan", into: &lastReport)
            ids = outcome.rows.map(\.id)
        }
        return ids
    }

    private func evaluateInputs(_ plan: NearestNeighbourPlan, _ bindings: SQLBindings) throws -> ([Float], Int)? {
        let queryValue: SQLValue?
        do {
            queryValue = try connection.scalar(plan.queryVectorSQL, bindings)
        } catch let error as SQLiteError where error.message.hasPrefix("no such column") {
            return nil   // the query vector depends on the row
        }
        guard case .blob(let bytes)? = queryValue,
              let limit = try connection.scalar(plan.limitSQL, bindings)?.integerValue, limit >= 0 else { return nil }
        var offset: Int64 = 0
        if let offsetSQL = plan.offsetSQL {
            guard let value = try connection.scalar(offsetSQL, bindings)?.integerValue else { return nil }
            offset = max(0, value)
        }
        let query = bytes.withUnsafeBytes { raw in (0..<(raw.count / 4)).map { raw.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) } }
        try QueryVectorCheck.validate(query, metric: plan.metric, dimension: plan.dimension,
                                      place: "\(plan.table.name).\(plan.column.name)")
        return (query, Int(min(limit + offset, Int64(Int32.max))))
    }

    /// The k best row ids found through the index, or nil when the exact scan must answer
    /// (it is cheaper, or the index cannot produce k rows that pass the filter).
    private func searchWithIndex(_ plan: NearestNeighbourPlan, index: HNSWIndex, query: [Float], k: Int, ef: Int,
                                 bindings: SQLBindings, clock: inout StepClock) throws -> [Int64]? {
        lastReport.efSearch = ef
        guard plan.isFiltered else {
            let (hits, computed) = index.search(query, k: k, ef: ef)
            lastReport.strategy = .hnsw
            lastReport.distanceComputations = computed
            lastReport.candidates = hits.count
            lastReport.estimatedSelectivity = 1
            lastReport.reason = "no filter: the index answers directly"
            clock.lap("index search", into: &lastReport)
            // Fewer hits than asked: rows without a vector may still fill the LIMIT; scan instead.
            return hits.count >= k ? hits.map(\.label) : nil
        }
        let (estimate, seenBefore) = try cachedEstimate(plan, index: index, bindings: bindings)
        lastReport.estimatedSelectivity = estimate.selectivity
        lastReport.estimation = estimate.method
        clock.lap("estimate selectivity", into: &lastReport)
        // A filter seen before on unchanged data: its allow-set is kept (built the second time,
        // without a budget), so it costs a walk and no SQL at all — as an application that
        // filters by the same tenant or language over and over would want.
        if seenBefore {
            if let allowed = try rememberedAllowSet(for: plan, index: index, bindings: bindings) ?? buildAllowSet(plan, index: index, bindings: bindings, clock: &clock) {
                lastReport.reason = "filter seen before: its allow-set is kept while the data is unchanged"
                lastReport.rowsScanned = allowed.count
                lastReport.actualSelectivity = index.count > 0 ? Double(allowed.count) / Double(index.count) : nil
                return try searchAllowed(plan, index: index, allowed: allowed, query: query, k: k, ef: ef, clock: &clock)
            }
        }
        // Iterative deepening over the two ways to meet a filter: walk the graph and check the
        // candidates (post-filter), or run the filter first (allow-set). Each round gives both
        // four times the effort of the last, so the total stays within a small factor of the
        // cheaper one — whatever skew or anti-correlation hides from the estimate.
        let total = index.count
        let s = max(estimate.selectivity, 1e-4)
        var effort = min(total, max(ef, Int((Double(k) / s * 1.5).rounded(.up))))
        var steps = max(20_000, NearestNeighbourPlanner.stepsPerCandidate * effort)
        let filterFirst = s < NearestNeighbourPlanner.filterFirstBelow
        lastReport.reason = filterFirst
            ? "selective filter: run it first (on a budget of \(steps) SQLite steps), then search the rows it passes"
            : "permissive filter: walk the index and check candidates (\(effort) first), widening as needed"
        while true {
            if filterFirst, let outcome = try filterThenSearch(plan, index: index, query: query, k: k, ef: ef, steps: steps,
                                                               bindings: bindings, clock: &clock) {
                return outcome.ids
            }
            if let ids = try postFilter(plan, index: index, query: query, k: k, effort: effort, bindings: bindings, clock: &clock) {
                return ids
            }
            if !filterFirst, let outcome = try filterThenSearch(plan, index: index, query: query, k: k, ef: ef, steps: steps,
                                                                bindings: bindings, clock: &clock) {
                return outcome.ids
            }
            if effort >= total { return nil }   // the whole graph was walked: fewer than k pass, let the scan confirm
            effort = min(total, effort * 4)
            steps *= 4
        }
    }

    /// The selectivity estimate for this filter and these bindings, reused while no one has
    /// committed anything since it was made (a plan cache for repeated filters).
    func cachedEstimate(_ plan: NearestNeighbourPlan, index: HNSWIndex, bindings: SQLBindings) throws -> (NearestNeighbourPlanner.Estimate, seenBefore: Bool) {
        let key = filterKey(plan, bindings)
        let state = try indexes.databaseState()
        if let cached = selectivityCache[key], cached.state == state { return (cached.estimate, true) }
        let estimate = try NearestNeighbourPlanner.estimateSelectivity(plan, index: index, connection: connection, bindings: bindings)
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

    private func rememberAllowSet(_ allowed: HNSWIndex.AllowSet, for plan: NearestNeighbourPlan, index: HNSWIndex,
                                  bindings: SQLBindings) throws {
        if allowSetCache.count >= 16 { allowSetCache.removeAll() }
        allowSetCache[filterKey(plan, bindings)] = (try indexes.databaseState(), ObjectIdentifier(index), allowed)
    }

    private func rememberedAllowSet(for plan: NearestNeighbourPlan, index: HNSWIndex, bindings: SQLBindings) throws -> HNSWIndex.AllowSet? {
        guard let cached = allowSetCache[filterKey(plan, bindings)], cached.state == (try indexes.databaseState()),
              cached.index == ObjectIdentifier(index) else { return nil }
        return cached.allowed
    }

    /// Runs the filter in full and keeps its allow-set; nil when some passing row has no vector.
    private func buildAllowSet(_ plan: NearestNeighbourPlan, index: HNSWIndex, bindings: SQLBindings,
                               clock: inout StepClock) throws -> HNSWIndex.AllowSet? {
        let statement = try connection.cachedStatement(plan.filterSQL(selecting: "DISTINCT \(plan.rowid)"))
        defer { statement.reset() }
        try statement.bind(bindings)
        var passed: [Int64] = []
        while try statement.step() { passed.append(statement.int64(at: 0)) }
        let allowed = index.allowSet(labels: passed)
        clock.lap("filter → \(passed.count) rows (kept)", into: &lastReport)
        guard allowed.count == passed.count else { return nil }
        try rememberAllowSet(allowed, for: plan, index: index, bindings: bindings)
        return allowed
    }

    /// Runs the filter within `steps` SQLite instructions; nil when it needs more. Otherwise the
    /// rows it passed are searched: exactly when few (scored from the index's own float32
    /// copies), by a walk restricted to them when many. `ids` nil means the exact scan must answer.
    private func filterThenSearch(_ plan: NearestNeighbourPlan, index: HNSWIndex, query: [Float], k: Int, ef: Int,
                                  steps: Int, bindings: SQLBindings, clock: inout StepClock) throws -> (ids: [Int64]?, Void)? {
        let statement = try connection.cachedStatement(plan.filterSQL(selecting: "DISTINCT \(plan.rowid)"))
        defer { statement.reset() }
        try statement.bind(bindings)
        guard let passed = try connection.withStepBudget(steps, { () throws -> [Int64] in
            var ids: [Int64] = []
            while try statement.step() { ids.append(statement.int64(at: 0)) }
            return ids
        }) else {
            clock.lap("filter (stopped after \(steps) steps)", into: &lastReport)
            return nil
        }
        let allowed = index.allowSet(labels: passed)
        lastReport.rowsScanned = passed.count
        lastReport.actualSelectivity = index.count > 0 ? Double(passed.count) / Double(index.count) : nil
        clock.lap("filter → \(passed.count) rows", into: &lastReport)
        // Rows that pass but have no vector are not in the index; the scan handles NULLs.
        guard allowed.count == passed.count else { return (nil, ()) }
        try rememberAllowSet(allowed, for: plan, index: index, bindings: bindings)
        return (try searchAllowed(plan, index: index, allowed: allowed, query: query, k: k, ef: ef, clock: &clock), ())
    }

    /// The k nearest among an allow-set: scored exactly when small, else a restricted walk.
    private func searchAllowed(_ plan: NearestNeighbourPlan, index: HNSWIndex, allowed: HNSWIndex.AllowSet, query: [Float],
                               k: Int, ef: Int, clock: inout StepClock) throws -> [Int64]? {
        let passedCount = allowed.count
        let selectivity = index.count > 0 ? Double(passedCount) / Double(index.count) : 1
        if NearestNeighbourPlanner.prefersExact(allowed: passedCount, selectivity: selectivity, ef: ef) {
            lastReport.strategy = .exactAllowSet
            var topK = ExactTopK(metric: plan.metric, query: query, k: k + 8)
            index.forEachAllowedBlock(allowed) { block, labels, count in
                labels.withUnsafeBufferPointer { topK.add(rows: block, ids: $0.baseAddress!, count: count) }
            }
            let rows = topK.finish()
            lastReport.distanceComputations = passedCount
            lastReport.candidates = rows.count
            clock.lap("exact over \(passedCount) rows", into: &lastReport)
            return rows.map(\.id)
        }
        // Two-hop walks for selective filters; they see fewer nodes per step, so get twice the ef.
        let twoHop = selectivity < 0.1
        lastReport.strategy = twoHop ? .filteredGraphTwoHop : .filteredGraph
        var effort = twoHop ? 2 * ef : ef
        while true {
            let (hits, computed) = index.search(query, k: k, ef: effort, allowed: allowed, twoHop: twoHop)
            lastReport.distanceComputations += computed
            lastReport.efSearch = effort
            lastReport.candidates = hits.count
            // Never fewer than k: a walk that ran dry gets more room, then the exact scan.
            if hits.count >= min(k, allowed.count) || effort >= allowed.count {
                clock.lap("index search over allow-set", into: &lastReport)
                return hits.count >= min(k, allowed.count) ? hits.map(\.label) : nil
            }
            effort = min(allowed.count, effort * 4)
        }
    }

    /// Walks the graph for `effort` candidates, nearest first, and keeps those the filter passes;
    /// nil when fewer than k pass.
    private func postFilter(_ plan: NearestNeighbourPlan, index: HNSWIndex, query: [Float], k: Int, effort: Int,
                            bindings: SQLBindings, clock: inout StepClock) throws -> [Int64]? {
        let (hits, computed) = index.search(query, k: effort, ef: effort)
        lastReport.distanceComputations += computed
        lastReport.efSearch = effort
        let statement = try connection.cachedStatement(plan.filterSQL(selecting: "DISTINCT \(plan.rowid)", restricted: true))
        defer { statement.reset() }
        try statement.bind(plan.binding(hits.map(\.label), to: bindings))
        var passing = Set<Int64>()
        while try statement.step() { passing.insert(statement.int64(at: 0)) }
        let kept = hits.filter { passing.contains($0.label) }
        clock.lap("walk + check \(hits.count) candidates, \(kept.count) pass", into: &lastReport)
        guard kept.count >= k else { return nil }
        lastReport.strategy = .postFilter
        lastReport.candidates = kept.count
        lastReport.rowsScanned = hits.count
        lastReport.actualSelectivity = hits.isEmpty ? nil : Double(passing.count) / Double(hits.count)
        return Array(kept.prefix(k)).map(\.label)
    }
}

/// Times the steps of one query for EXPLAIN ANALYZE.
struct StepClock {
    private var last = DispatchTime.now().uptimeNanoseconds

    mutating func lap(_ name: String, into report: inout QueryExecutor.Report) {
        let now = DispatchTime.now().uptimeNanoseconds
        report.steps.append(.init(name: name, milliseconds: Double(now - last) / 1e6))
        last = now
    }
}
