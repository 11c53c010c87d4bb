import QuiverStorage

/// `EXPLAIN` and `EXPLAIN ANALYZE` for nearest-neighbour queries: the strategy the planner chose
/// and why, the estimated and (with ANALYZE) actual selectivity, rows scored, distance
/// computations, ef, and time per step. `EXPLAIN QUERY PLAN`, and `EXPLAIN` of any other
/// statement, stay SQLite's own. The statement runs (or is only planned) as any other; its
/// `ExecutionTrace` is then put into words by `Explain`, the one place that does.
extension QueryExecutor {
    /// The statement inside `EXPLAIN [ANALYZE] …` when Quiver explains it; nil otherwise.
    func explained(_ statement: SQLStatement) -> (inner: SQLStatement, analyze: Bool)? {
        let significant = statement.significant
        guard significant.first?.isKeyword("EXPLAIN") == true, significant.count > 1 else { return nil }
        if significant[1].isKeyword("QUERY") { return nil }
        let analyze = significant[1].isKeyword("ANALYZE")
        let skip = analyze ? 2 : 1
        guard significant.count > skip else { return nil } // "EXPLAIN ANALYZE" alone: SQLite's syntax error
        guard let start = statement.tokens.firstIndex(where: { $0.offset == significant[skip].offset }) else {
            return nil
        }
        let inner = SQLStatement(tokens: Array(statement.tokens[start...]))
        guard analyze || ["SELECT", "WITH"].contains(inner.leadingKeyword) else { return nil }
        return (inner, analyze)
    }

    func explain(_ inner: SQLStatement, analyze: Bool, bindings: SQLBindings) throws -> ResultSet? {
        let rewritten = try Rewriter(compressedColumns: catalog.compressedColumnNames, catalog: catalog).rewrite(inner)
        guard let plan = NearestNeighbourPlan.make(for: rewritten, catalog: catalog) else {
            guard analyze else { return nil }
            var timing = ExecutionTrace()
            timing.begin()
            let result = try run(inner, bindings)
            timing.end()
            return Explain.notNearest(rowsReturned: result.rows.count, nanoseconds: timing.totalNanoseconds)
        }
        let result: ResultSet?
        if analyze {
            result = try runNearest(
                plan, bindings, efHint: IndexStatement.efSearchHint(in: inner),
                exact: IndexStatement.exactHint(in: inner))
            search.trace.end()
        } else {
            result = nil
            search.trace = ExecutionTrace()
            try search.planWithoutSearching(
                plan, bindings, efHint: IndexStatement.efSearchHint(in: inner), catalog: &catalog)
        }
        let index = catalog.indexes(on: plan.table.name).first {
            $0.column.caseInsensitiveEquals(plan.column.name) && $0.metric == plan.metric
        }
        return Explain.nearest(
            plan, index: index, trace: search.trace, rowsReturned: analyze ? result?.rows.count ?? 0 : nil)
    }
}

extension ExecutionTrace.Strategy: CustomStringConvertible {
    /// The strategy's name as EXPLAIN shows it.
    public var description: String { Explain.name(of: self) }
}

/// Puts an execution trace into words: the (item, value) rows EXPLAIN answers with.
enum Explain {
    static let columns = ["item", "value"]

    /// EXPLAIN ANALYZE of a statement that is not a nearest-neighbour query.
    static func notNearest(rowsReturned: Int, nanoseconds: UInt64) -> ResultSet {
        ResultSet(
            columns: columns,
            rows: [
                [.text("strategy"), .text("sqlite (not a nearest-neighbour query)")],
                [.text("rows returned"), .integer(Int64(rowsReturned))],
                [.text("time"), .text(milliseconds(nanoseconds))],
            ])
    }

    /// EXPLAIN of a nearest-neighbour query; with ANALYZE (`rowsReturned` given), what running it
    /// counted and the time of each step.
    static func nearest(
        _ plan: NearestNeighbourPlan, index: IndexDefinition?, trace: ExecutionTrace,
        rowsReturned: Int?
    ) -> ResultSet {
        var rows: [[SQLValue]] = []
        func add(_ item: String, _ value: String) { rows.append([.text(item), .text(value)]) }
        add(
            "query",
            "nearest rows of \(plan.table.name).\(plan.column.name) by \(plan.metric.sqlOperator) (\(plan.metric.rawValue))\(plan.isFiltered ? ", filtered" : "")"
        )
        add("index", index.map { "\($0.name) (hnsw, m=\($0.m), ef_construction=\($0.efConstruction))" } ?? "none")
        add("strategy", name(of: trace.strategy))
        if let reason = reason(for: trace.decision) { add("reason", reason) }
        if let s = trace.estimatedSelectivity {
            add("estimated selectivity", percent(s) + (trace.estimation.map { " (\(description(of: $0)))" } ?? ""))
        }
        if let rowsReturned {
            if let s = trace.actualSelectivity { add("actual selectivity", percent(s)) }
            add("rows scored or filtered", "\(trace.rowsScanned)")
            add("distance computations", "\(trace.distanceComputations)")
            if trace.efSearch > 0 { add("ef_search", "\(trace.efSearch)") }
            add("rows returned", "\(rowsReturned)")
            for step in trace.steps { add("time: \(name(of: step.step))", milliseconds(step.nanoseconds)) }
            add("time: total", milliseconds(trace.totalNanoseconds))
        } else if trace.efSearch > 0 {
            add("ef_search", "\(trace.efSearch)")
        }
        return ResultSet(columns: columns, rows: rows)
    }

    static func name(of strategy: ExecutionTrace.Strategy) -> String {
        switch strategy {
        case .sqlite: "sqlite"
        case .exactScan: "exact scan"
        case .hnsw: "hnsw index"
        case .filteredGraph: "hnsw index, allow-set"
        case .filteredGraphTwoHop: "hnsw index, allow-set, two-hop"
        case .exactAllowSet: "filter, then exact"
        case .postFilter: "hnsw index, post-filter"
        }
    }

    /// Why the strategy, in a sentence; nil when nothing was chosen.
    static func reason(for decision: ExecutionTrace.Decision) -> String? {
        switch decision {
        case .none: nil
        case .noUsableIndex:
            "no usable hnsw index for this column and operator (or uncommitted writes in this transaction)"
        case .noFilter: "no filter: the index answers directly"
        case .filterSeenBefore: "filter seen before: its allow-set is kept while the data is unchanged"
        case .filterFirst(let steps?):
            "selective filter: run it first (on a budget of \(steps) SQLite steps), then search the rows it passes"
        case .filterFirst(nil):
            "selective filter: run it first on a budget, then score its rows exactly or walk the index restricted to them (decided when the filter has run; EXPLAIN ANALYZE shows which)"
        case .walkFirst(let candidates?):
            "permissive filter: walk the index and check candidates (\(candidates) first), widening as needed"
        case .walkFirst(nil):
            "permissive filter: walk the index and check candidates, widening as needed; the filter runs first if that stalls"
        }
    }

    static func description(of estimation: ExecutionTrace.Estimation) -> String {
        switch estimation {
        case .emptyIndex: "empty index"
        case .counted(let passed, let rows): "counted: \(passed) of all \(rows) rows"
        case .sampled(let passed, let rows): "sampled: \(passed) of \(rows) random rows"
        }
    }

    static func name(of step: ExecutionTrace.Step) -> String {
        switch step {
        case .prepare: "prepare"
        case .indexSearch: "index search"
        case .estimateSelectivity: "estimate selectivity"
        case .filter(let passed, let kept): "filter → \(passed) rows" + (kept ? " (kept)" : "")
        case .filterStopped(let steps): "filter (stopped after \(steps) steps)"
        case .exactOverAllowSet(let rows): "exact over \(rows) rows"
        case .indexSearchOverAllowSet: "index search over allow-set"
        case .walkAndCheck(let candidates, let passed): "walk + check \(candidates) candidates, \(passed) pass"
        case .exactScan: "exact scan"
        case .finalSelect: "final select"
        }
    }

    static func milliseconds(_ nanoseconds: UInt64) -> String { format3(Double(nanoseconds) / 1e6) + " ms" }

    private static func percent(_ s: Double) -> String {
        let p = s * 100
        return (p >= 10 ? String(Int(p.rounded())) : format3(p)) + "%"
    }
}

func format3(_ value: Double) -> String {
    let rounded = (value * 1000).rounded() / 1000
    return "\(rounded)"
}
