import Dispatch
import QuiverStorage

/// `EXPLAIN` and `EXPLAIN ANALYZE` for nearest-neighbour queries: the strategy the planner chose
/// and why, the estimated and (with ANALYZE) actual selectivity, rows scored, distance
/// computations, ef, and time per step. `EXPLAIN QUERY PLAN`, and `EXPLAIN` of any other
/// statement, stay SQLite's own.
extension QueryExecutor {
    /// The statement inside `EXPLAIN [ANALYZE] …` when Quiver explains it; nil otherwise.
    func explained(_ statement: SQLStatement) -> (inner: SQLStatement, analyze: Bool)? {
        let significant = statement.significant
        guard significant.first?.isKeyword("EXPLAIN") == true, significant.count > 1 else { return nil }
        if significant[1].isKeyword("QUERY") { return nil }
        let analyze = significant[1].isKeyword("ANALYZE")
        let skip = analyze ? 2 : 1
        guard significant.count > skip else { return nil }   // "EXPLAIN ANALYZE" alone: SQLite's syntax error
        guard let start = statement.tokens.firstIndex(where: { $0.offset == significant[skip].offset }) else { return nil }
        let inner = SQLStatement(tokens: Array(statement.tokens[start...]))
        guard analyze || ["SELECT", "WITH"].contains(inner.leadingKeyword) else { return nil }
        return (inner, analyze)
    }

    func explain(_ inner: SQLStatement, analyze: Bool, bindings: SQLBindings) throws -> ResultSet? {
        let rewritten = try Rewriter(compressedColumns: catalog.compressedColumnNames).rewrite(inner)
        guard let plan = NearestNeighbourPlan.make(for: rewritten, catalog: catalog) else {
            guard analyze else { return nil }
            let start = DispatchTime.now().uptimeNanoseconds
            let result = try run(inner, bindings)
            let ms = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
            return ResultSet(columns: ["item", "value"], rows: [
                [.text("strategy"), .text("sqlite (not a nearest-neighbour query)")],
                [.text("rows returned"), .integer(Int64(result.rows.count))],
                [.text("time"), .text(String(format3(ms)) + " ms")],
            ])
        }
        var rows: [[SQLValue]] = []
        func add(_ item: String, _ value: String) { rows.append([.text(item), .text(value)]) }
        let start = DispatchTime.now().uptimeNanoseconds
        let result: ResultSet?
        if analyze {
            result = try runNearest(plan, bindings, efHint: IndexStatement.efSearchHint(in: inner),
                                    exact: IndexStatement.exactHint(in: inner))
        } else {
            result = nil
            search.report = Report()
            try search.planWithoutSearching(plan, bindings, efHint: IndexStatement.efSearchHint(in: inner), catalog: &catalog)
        }
        let total = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
        let report = lastReport
        let index = catalog.indexes(on: plan.table.name).first { $0.column.caseInsensitiveEquals(plan.column.name) && $0.metric == plan.metric }
        add("query", "nearest rows of \(plan.table.name).\(plan.column.name) by \(plan.metric.sqlOperator) (\(plan.metric.rawValue))\(plan.isFiltered ? ", filtered" : "")")
        add("index", index.map { "\($0.name) (hnsw, m=\($0.m), ef_construction=\($0.efConstruction))" } ?? "none")
        add("strategy", report.strategy.rawValue)
        if !report.reason.isEmpty { add("reason", report.reason) }
        if let s = report.estimatedSelectivity {
            add("estimated selectivity", percent(s) + (report.estimation.isEmpty ? "" : " (\(report.estimation))"))
        }
        if analyze {
            if let s = report.actualSelectivity { add("actual selectivity", percent(s)) }
            add("rows scored or filtered", "\(report.rowsScanned)")
            add("distance computations", "\(report.distanceComputations)")
            if report.efSearch > 0 { add("ef_search", "\(report.efSearch)") }
            add("rows returned", "\(result?.rows.count ?? 0)")
            for step in report.steps { add("time: \(step.name)", format3(step.milliseconds) + " ms") }
            add("time: total", format3(total) + " ms")
        } else if report.efSearch > 0 {
            add("ef_search", "\(report.efSearch)")
        }
        return ResultSet(columns: ["item", "value"], rows: rows)
    }

    private func percent(_ s: Double) -> String {
        let p = s * 100
        return (p >= 10 ? String(Int(p.rounded())) : format3(p)) + "%"
    }
}

func format3(_ value: Double) -> String {
    let rounded = (value * 1000).rounded() / 1000
    return "\(rounded)"
}
