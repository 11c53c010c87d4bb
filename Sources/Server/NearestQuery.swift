import Foundation
import QuiverEngine
import QuiverJSON
import QuiverKernels
import QuiverQuery
import QuiverStorage

/// Builds the SQL of a nearest-neighbour or hybrid query from its JSON request, so that the
/// engine's planner answers it exactly as it would the same SQL typed in the shell, and reads
/// the matches back from the result.
struct NearestQuery {
    let table: TableInfo
    let vectorColumn: ColumnInfo
    let metric: DistanceMetric
    let columns: [ColumnInfo]
    let sql: String
    let bindings: SQLBindings
    let k: Int

    static let idAlias = "__quiver_id"
    static let distanceAlias = "__quiver_distance"
    static let vectorParameter = "__quiver_q"

    /// The table, column and filter a request names, checked against the catalog.
    struct Target {
        var table: TableInfo
        var column: ColumnInfo
        var metric: DistanceMetric
        var columns: [ColumnInfo]
        var condition: String?
        var bindings: SQLBindings
        var vector: [Float]
    }

    static func target(
        catalog: Catalog, tableName: String, column: String?, metric: String?, vector: [Double],
        filter: JSONValue?, where expression: String?, params: JSONValue?, columns: [String]?,
        place: String
    ) throws -> Target {
        guard let table = catalog.table(named: tableName) else {
            throw APIError.notFound("no table named \(tableName)")
        }
        let vectorColumns = table.vectorColumns
        let chosen: ColumnInfo
        if let column {
            guard let found = table.column(named: column) else {
                throw APIError.badRequest("\(place)column: table \(table.name) has no column \(column)")
            }
            guard found.kind.vectorDimension != nil else {
                throw APIError.badRequest("\(place)column: \(table.name).\(found.name) is not a VECTOR column")
            }
            chosen = found
        } else {
            guard vectorColumns.count == 1 else {
                throw APIError.badRequest(
                    vectorColumns.isEmpty
                        ? "table \(table.name) has no VECTOR column"
                        : "\(place)column: table \(table.name) has several VECTOR columns; name one")
            }
            chosen = vectorColumns[0]
        }
        let dimension = chosen.kind.vectorDimension!
        let queryVector = try ValueMapping.vector(
            vector, dimension: dimension,
            what: "\(place)vector (for \(table.name).\(chosen.name), VECTOR(\(dimension)))")
        let resolvedMetric: DistanceMetric
        if let metric {
            guard let parsed = DistanceMetric(name: metric) else {
                throw APIError.badRequest("\(place)metric: expected cosine, l2 or ip, got \(metric)")
            }
            resolvedMetric = parsed
        } else {
            resolvedMetric =
                catalog.indexes(on: table.name).first { $0.column.caseInsensitiveEquals(chosen.name) }?.metric
                ?? .cosine
        }
        let selected: [ColumnInfo]
        if let columns {
            selected = try columns.map { name in
                guard let column = table.column(named: name) else {
                    throw APIError.badRequest("\(place)columns: table \(table.name) has no column \(name)")
                }
                return column
            }
        } else {
            selected = table.columns.filter { $0.kind.vectorDimension == nil }
        }
        var bindings = try ValueMapping.bindings(params)
        var conditions: [String] = []
        if let filter {
            var compiler = FilterCompiler(table: table)
            conditions.append(try compiler.compile(filter, at: "\(place)filter"))
            for (name, value) in compiler.bindings { bindings.named[name] = value }
        }
        if let expression, !expression.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            try checkExpression(expression, place: "\(place)where")
            conditions.append("(\(expression))")
        }
        bindings.named[vectorParameter] = .vector(queryVector)
        return Target(
            table: table, column: chosen, metric: resolvedMetric, columns: selected,
            condition: conditions.isEmpty ? nil : conditions.joined(separator: " AND "),
            bindings: bindings, vector: queryVector)
    }

    /// Parameters one WHERE expression may name: SQLite looks each named one up among those
    /// before it while preparing, so their cost grows with the square of their number (16,000
    /// took seconds); a list of values belongs in `filter`'s `$in`, which is one parameter.
    static let maxExpressionParameters = 1_000

    /// A WHERE expression must stay one expression: no statement separators, balanced
    /// parentheses, a bounded number of parameters.
    static func checkExpression(_ expression: String, place: String) throws {
        var depth = 0
        var parameters = 0
        for token in Tokenizer.tokenize(expression) {
            if token.kind == .parameter {
                parameters += 1
                if parameters > maxExpressionParameters {
                    throw APIError.tooLarge(
                        "\(place): more than \(maxExpressionParameters) parameters in one expression; give a list of values as a filter's $in"
                    )
                }
            }
            if token.isPunctuation(";") {
                throw APIError.badRequest("\(place): must be one SQL expression (found ';')")
            }
            if token.isPunctuation("(") { depth += 1 }
            if token.isPunctuation(")") {
                depth -= 1
                if depth < 0 { throw APIError.badRequest("\(place): unbalanced parentheses") }
            }
        }
        if depth != 0 { throw APIError.badRequest("\(place): unbalanced parentheses") }
    }

    init(_ target: Target, k: Int, ef: Int?, exact: Bool) {
        table = target.table
        vectorColumn = target.column
        metric = target.metric
        columns = target.columns
        bindings = target.bindings
        self.k = k
        let distance = "\(quoteIdentifier(target.column.name)) \(target.metric.sqlOperator) :\(Self.vectorParameter)"
        var hints = exact ? "/*+ exact */ " : ""
        if let ef { hints += "/*+ hnsw.ef_search = \(ef) */ " }
        let selectList =
            ([table.rowKeyExpression + " AS " + Self.idAlias] + columns.map { quoteIdentifier($0.name) }
            + ["\(distance) AS \(Self.distanceAlias)"]).joined(separator: ", ")
        sql =
            "SELECT \(hints)\(selectList) FROM \(quoteIdentifier(table.name))"
            + (target.condition.map { " WHERE \($0)" } ?? "") + " ORDER BY \(distance) LIMIT \(k)"
    }

    func matches(_ result: ResultSet) -> [Match] {
        result.rows.map { values in
            var row: [String: JSONValue] = [:]
            for (i, column) in columns.enumerated() { row[column.name] = ValueMapping.json(values[i + 1]) }
            return Match(id: ValueMapping.json(values[0]), distance: values[columns.count + 1].doubleValue, row: row)
        }
    }
}

/// Reciprocal-rank fusion of a vector ranking and an FTS5 ranking, in one SQL statement.
struct HybridQuery {
    let target: NearestQuery.Target
    let sql: String
    let bindings: SQLBindings

    static let textParameter = "__quiver_text"

    init(_ target: NearestQuery.Target, textTable: String, text: String, k: Int, candidates: Int, rrfK: Int, ef: Int?) {
        self.target = target
        let table = quoteIdentifier(target.table.name)
        // The row's own id, by whichever alias no column hides (a VECTOR table always has one).
        let rowid = target.table.rowidName ?? "rowid"
        let fts = quoteIdentifier(textTable)
        let distance =
            "\(quoteIdentifier(target.column.name)) \(target.metric.sqlOperator) :\(NearestQuery.vectorParameter)"
        let hints = ef.map { "/*+ hnsw.ef_search = \($0) */ " } ?? ""
        let filter = target.condition.map { " WHERE \($0)" } ?? ""
        let selectList =
            (["\(table).\(target.table.rowKeyExpression) AS \(NearestQuery.idAlias)"]
            + target.columns.map { "\(table).\(quoteIdentifier($0.name))" }).joined(separator: ", ")
        sql = """
            WITH quiver_vec AS (SELECT \(hints)\(rowid) AS quiver_id, row_number() OVER (ORDER BY \(distance)) AS quiver_rank
                                FROM \(table)\(filter) ORDER BY \(distance) LIMIT \(candidates)),
                 quiver_txt AS (SELECT rowid AS quiver_id, row_number() OVER (ORDER BY bm25(\(fts))) AS quiver_rank
                                FROM \(fts) WHERE \(fts) MATCH :\(Self.textParameter) ORDER BY bm25(\(fts)) LIMIT \(candidates))
            SELECT \(selectList), quiver_vec.quiver_rank, quiver_txt.quiver_rank,
                   coalesce(1.0 / (\(rrfK) + quiver_vec.quiver_rank), 0) + coalesce(1.0 / (\(rrfK) + quiver_txt.quiver_rank), 0) AS quiver_score
            FROM \(table) LEFT JOIN quiver_vec ON quiver_vec.quiver_id = \(table).\(rowid)
                 LEFT JOIN quiver_txt ON quiver_txt.quiver_id = \(table).\(rowid)
            WHERE (quiver_vec.quiver_id IS NOT NULL OR quiver_txt.quiver_id IS NOT NULL)\(target.condition.map { " AND \($0)" } ?? "")
            ORDER BY quiver_score DESC, \(NearestQuery.idAlias) LIMIT \(k)
            """
        var bindings = target.bindings
        bindings.named[Self.textParameter] = .text(Self.matchExpression(text))
        self.bindings = bindings
    }

    /// Plain words, any of which may match: each quoted, so FTS5's query syntax never trips.
    static func matchExpression(_ text: String) -> String {
        text.split(whereSeparator: { $0.isWhitespace }).map { "\"" + String($0).doubling("\"") + "\"" }
            .joined(separator: " OR ")
    }

    func matches(_ result: ResultSet) -> [HybridMatch] {
        let n = target.columns.count
        return result.rows.map { values in
            var row: [String: JSONValue] = [:]
            for (i, column) in target.columns.enumerated() { row[column.name] = ValueMapping.json(values[i + 1]) }
            return HybridMatch(
                id: ValueMapping.json(values[0]), score: values[n + 3].doubleValue ?? 0,
                vectorRank: values[n + 1].integerValue.map(Int.init),
                textRank: values[n + 2].integerValue.map(Int.init),
                row: row)
        }
    }
}
