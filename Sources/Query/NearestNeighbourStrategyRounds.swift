import QuiverIndex
import QuiverKernels
import QuiverStorage

/// How a filtered nearest-neighbour query meets its filter.
///
/// The filter's selectivity is estimated first (SelectivityEstimate). What the filter costs to
/// run is not estimated but found out: it runs on a budget of SQLite instructions
/// (`Connection.withStepBudget`), so a filter that looks selective but makes SQLite examine most
/// of the table (an index on a skewed column, a residual condition) is stopped early. The
/// strategies, tried in rounds of growing effort (×4 each round):
/// - filter first (estimated selectivity below 5%): run the filter on its budget; if it finishes,
///   score its rows exactly from the index's float32 copies when they are few, or walk the graph
///   restricted to them (two-hop over rejected neighbours, ACORN-style) when they are many;
/// - post-filter: walk the unfiltered graph for k/s·1.5 candidates and keep those the filter
///   passes (one lookup per candidate, no pass over the table).
/// Permissive filters try the post-filter first. Whichever finishes first answers, so the total
/// stays within a small factor of the cheaper strategy even when skew or anti-correlation fools
/// the estimate. Every path ends in the exact scan rather than return fewer than k rows when k
/// rows pass. A filter seen before on unchanged data skips the rounds: its allow-set is kept.
extension NearestNeighbourSearch {
    /// Below this estimated selectivity the filter runs first; above, the graph is walked first.
    static let filterFirstBelow = 0.05
    /// SQLite instructions allowed for the filter per post-filter candidate of the same round
    /// (a candidate costs a walk of about 15 distances, a re-rank and a row lookup, ~2 µs; SQLite runs
    /// about 30 instructions per µs here).
    static let stepsPerCandidate = 80

    /// Whether scoring every allowed row exactly costs less than a walk restricted to them.
    static func prefersExact(allowed: Int, selectivity: Double, ef: Int, costs: Costs = Costs()) -> Bool {
        // A two-hop walk also reads the link lists of rejected neighbours: measured at about
        // 2.5 times the cost of its distance computations alone.
        let walk = walkDistances(ef: 2 * ef) * (1 + 0.05 / max(selectivity, 0.0001)) * costs.walkPerDistance * 2.5
        return Double(allowed) * costs.exactFromIndexPerRow <= walk
    }

    /// Microseconds per unit of work, measured on the benchmark machine (see BENCHMARKS.md).
    struct Costs {
        var walkPerDistance = 0.012 // one distance in a graph walk (8-bit codes)
        var exactFromIndexPerRow = 0.2 // gather an allowed row's float32 vector from the index, score it
    }

    /// Walk distances an unfiltered search computes for a given ef (about 15 per slot of ef at
    /// m = 16 on the benchmark data).
    static func walkDistances(ef: Int) -> Double { 15 * Double(ef) + 100 }

    /// The k best row ids under the plan's filter found through the index, or nil when the
    /// exact scan must answer.
    func searchFiltered(
        _ plan: NearestNeighbourPlan, index: HNSWIndex, query: [Float], k: Int, ef: Int,
        bindings: SQLBindings
    ) throws -> [Int64]? {
        let (estimate, seenBefore) = try cachedEstimate(plan, index: index, bindings: bindings)
        trace.estimatedSelectivity = estimate.selectivity
        trace.estimation = estimate.method
        trace.record(.estimateSelectivity)
        // A filter seen before on unchanged data: its allow-set is kept (built the second time,
        // without a budget), so it costs a walk and no SQL at all — as an application that
        // filters by the same tenant or language over and over would want.
        if seenBefore {
            if let allowed = try rememberedAllowSet(for: plan, index: index, bindings: bindings)
                ?? buildAllowSet(plan, index: index, bindings: bindings)
            {
                trace.decision = .filterSeenBefore
                trace.rowsScanned = allowed.count
                trace.actualSelectivity = index.count > 0 ? Double(allowed.count) / Double(index.count) : nil
                return try searchAllowed(plan, index: index, allowed: allowed, query: query, k: k, ef: ef)
            }
        }
        // Iterative deepening over the two ways to meet a filter: walk the graph and check the
        // candidates (post-filter), or run the filter first (allow-set). Each round gives both
        // four times the effort of the last, so the total stays within a small factor of the
        // cheaper one — whatever skew or anti-correlation hides from the estimate.
        let total = index.count
        let s = max(estimate.selectivity, 1e-4)
        var effort = min(total, max(ef, Int((Double(k) / s * 1.5).rounded(.up))))
        var steps = max(20_000, Self.stepsPerCandidate * effort)
        let filterFirst = s < Self.filterFirstBelow
        trace.decision = filterFirst ? .filterFirst(stepBudget: steps) : .walkFirst(candidates: effort)
        while true {
            if filterFirst,
                let outcome = try filterThenSearch(
                    plan, index: index, query: query, k: k, ef: ef, steps: steps,
                    bindings: bindings)
            {
                return outcome.ids
            }
            if let ids = try postFilter(plan, index: index, query: query, k: k, effort: effort, bindings: bindings) {
                return ids
            }
            if !filterFirst,
                let outcome = try filterThenSearch(
                    plan, index: index, query: query, k: k, ef: ef, steps: steps,
                    bindings: bindings)
            {
                return outcome.ids
            }
            if effort >= total { return nil } // the whole graph was walked: fewer than k pass, let the scan confirm
            effort = min(total, effort * 4)
            steps *= 4
        }
    }

    /// Runs the filter in full and keeps its allow-set; nil when some passing row has no vector.
    private func buildAllowSet(_ plan: NearestNeighbourPlan, index: HNSWIndex, bindings: SQLBindings) throws
        -> HNSWIndex.AllowSet?
    {
        let statement = try connection.cachedStatement(plan.filterSQL(selecting: "DISTINCT \(plan.rowid)"))
        defer { statement.reset() }
        try statement.bind(bindings)
        var passed: [Int64] = []
        while try statement.step() { passed.append(statement.int64(at: 0)) }
        let allowed = index.allowSet(labels: passed)
        trace.record(.filter(passed: passed.count, kept: true))
        guard allowed.count == passed.count else { return nil }
        try rememberAllowSet(allowed, for: plan, index: index, bindings: bindings)
        return allowed
    }

    /// Runs the filter within `steps` SQLite instructions; nil when it needs more. Otherwise the
    /// rows it passed are searched: exactly when few (scored from the index's own float32
    /// copies), by a walk restricted to them when many. `ids` nil means the exact scan must answer.
    private func filterThenSearch(
        _ plan: NearestNeighbourPlan, index: HNSWIndex, query: [Float], k: Int, ef: Int,
        steps: Int, bindings: SQLBindings
    ) throws -> (ids: [Int64]?, Void)? {
        let statement = try connection.cachedStatement(plan.filterSQL(selecting: "DISTINCT \(plan.rowid)"))
        defer { statement.reset() }
        try statement.bind(bindings)
        guard
            let passed = try connection.withStepBudget(
                steps,
                { () throws -> [Int64] in
                    var ids: [Int64] = []
                    while try statement.step() { ids.append(statement.int64(at: 0)) }
                    return ids
                })
        else {
            trace.record(.filterStopped(stepBudget: steps))
            return nil
        }
        let allowed = index.allowSet(labels: passed)
        trace.rowsScanned = passed.count
        trace.actualSelectivity = index.count > 0 ? Double(passed.count) / Double(index.count) : nil
        trace.record(.filter(passed: passed.count, kept: false))
        // Rows that pass but have no vector are not in the index; the scan handles NULLs.
        guard allowed.count == passed.count else { return (nil, ()) }
        try rememberAllowSet(allowed, for: plan, index: index, bindings: bindings)
        return (try searchAllowed(plan, index: index, allowed: allowed, query: query, k: k, ef: ef), ())
    }

    /// The k nearest among an allow-set: scored exactly when small, else a restricted walk.
    private func searchAllowed(
        _ plan: NearestNeighbourPlan, index: HNSWIndex, allowed: HNSWIndex.AllowSet, query: [Float],
        k: Int, ef: Int
    ) throws -> [Int64]? {
        let passedCount = allowed.count
        let selectivity = index.count > 0 ? Double(passedCount) / Double(index.count) : 1
        if Self.prefersExact(allowed: passedCount, selectivity: selectivity, ef: ef) {
            trace.strategy = .exactAllowSet
            var topK = ExactTopK(metric: plan.metric, query: query, k: k + 8)
            index.forEachAllowedBlock(allowed) { block, labels, count in
                labels.withUnsafeBufferPointer { topK.add(rows: block, ids: $0.baseAddress!, count: count) }
            }
            let rows = topK.finish()
            trace.distanceComputations = passedCount
            trace.candidates = rows.count
            trace.record(.exactOverAllowSet(rows: passedCount))
            return rows.map(\.id)
        }
        // Two-hop walks for selective filters; they see fewer nodes per step, so get twice the ef.
        let twoHop = selectivity < 0.1
        trace.strategy = twoHop ? .filteredGraphTwoHop : .filteredGraph
        var effort = twoHop ? 2 * ef : ef
        while true {
            let (hits, computed) = index.search(query, k: k, ef: effort, allowed: allowed, twoHop: twoHop)
            trace.distanceComputations += computed
            trace.efSearch = effort
            trace.candidates = hits.count
            // Never fewer than k: a walk that ran dry gets more room, then the exact scan.
            if hits.count >= min(k, allowed.count) || effort >= allowed.count {
                trace.record(.indexSearchOverAllowSet)
                return hits.count >= min(k, allowed.count) ? hits.map(\.label) : nil
            }
            effort = min(allowed.count, effort * 4)
        }
    }

    /// Walks the graph for `effort` candidates, nearest first, and keeps those the filter passes;
    /// nil when fewer than k pass.
    private func postFilter(
        _ plan: NearestNeighbourPlan, index: HNSWIndex, query: [Float], k: Int, effort: Int,
        bindings: SQLBindings
    ) throws -> [Int64]? {
        let (hits, computed) = index.search(query, k: effort, ef: effort)
        trace.distanceComputations += computed
        trace.efSearch = effort
        let statement = try connection.cachedStatement(
            plan.filterSQL(selecting: "DISTINCT \(plan.rowid)", restricted: true))
        defer { statement.reset() }
        try statement.bind(plan.binding(hits.map(\.label), to: bindings))
        var passing = Set<Int64>()
        while try statement.step() { passing.insert(statement.int64(at: 0)) }
        let kept = hits.filter { passing.contains($0.label) }
        trace.record(.walkAndCheck(candidates: hits.count, passed: kept.count))
        guard kept.count >= k else { return nil }
        trace.strategy = .postFilter
        trace.candidates = kept.count
        trace.rowsScanned = hits.count
        trace.actualSelectivity = hits.isEmpty ? nil : Double(passing.count) / Double(hits.count)
        return Array(kept.prefix(k)).map(\.label)
    }
}
