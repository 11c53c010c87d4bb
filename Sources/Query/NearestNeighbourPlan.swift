import QuiverKernels
import QuiverStorage

/// A SELECT recognised as "nearest rows of one table, under a filter": its top-level
/// ORDER BY starts with a distance between a VECTOR column and a value that does not depend on
/// the row, and it has a LIMIT. Such a query runs in two steps:
///
/// 1. the *candidate scan*: the query's own FROM and WHERE (joins included) in SQLite, yielding
///    the rowid and vector of every surviving row, scored in blocks on BLAS, top-k kept;
/// 2. the *final statement*: the original SELECT restricted to those rowids, so projections,
///    joins and expressions behave exactly as SQLite defines them, over k rows instead of all.
///
/// Anything else (GROUP BY, DISTINCT, compound SELECTs, outer joins, aggregates, a query vector
/// that depends on the row) runs as plain SQLite with the distance functions: slower, same answer.
public struct NearestNeighbourPlan {
    public var table: TableInfo
    public var column: ColumnInfo
    public var metric: DistanceMetric
    public var dimension: Int
    /// How the SQL refers to the table: its alias or name, quoted.
    public var qualifier: String
    /// The table's rowid, qualified (`q.rowid`, or `q._rowid_` where a column is named rowid).
    public var rowid: String
    /// `SELECT vector(<query expression>)`.
    public var queryVectorSQL: String
    public var limitSQL: String
    public var offsetSQL: String?
    /// `… SELECT q.rowid, q.embedding FROM … WHERE …`.
    public var candidateSQL: String
    /// Builds the final statement for the contents of an IN list of rowids.
    private var finalStatementIn: (String) -> String

    /// The final statement with the rowids written in (for statements run with the caller's bindings).
    func finalStatement(_ ids: [Int64]) -> String { finalStatementIn(ids.map(String.init).joined(separator: ",")) }

    /// The final statement taking the rowids from a bound parameter (a JSON array), so its
    /// text — and its prepared statement — is the same for every query.
    var finalStatementWithBoundIDs: String { finalStatementIn(boundIDs) }

    /// The parameter that carries the rowids: numbered past every parameter of the statement
    /// (SQLite gives a named parameter the next free number, so a name could collide with a
    /// later `?N`).
    var idsParameterIndex: Int
    var boundIDs: String { "SELECT value FROM json_each(?\(idsParameterIndex))" }

    /// `bindings` plus the rowids, at the ids parameter.
    func binding(_ ids: [Int64], to bindings: SQLBindings) -> SQLBindings {
        var result = bindings
        if result.positional.count < idsParameterIndex - 1 {
            result.positional += Array(repeating: .null, count: idsParameterIndex - 1 - result.positional.count)
        }
        let list = SQLValue.text("[" + ids.map(String.init).joined(separator: ",") + "]")
        if result.positional.count >= idsParameterIndex {
            result.positional[idsParameterIndex - 1] = list
        } else {
            result.positional.append(list)
        }
        return result
    }

    /// The highest parameter number the statement uses, by SQLite's numbering rules.
    static func highestParameter(in tokens: [Token]) -> Int {
        var highest = 0
        var named: Set<String> = []
        for token in tokens where token.kind == .parameter {
            if token.text.hasPrefix("?") {
                highest = max(highest, Int(token.text.dropFirst()) ?? highest + 1)
            } else if named.insert(token.text).inserted {
                highest += 1
            }
        }
        return highest
    }
    /// True when the query has a WHERE clause or joins, i.e. not every row of the table qualifies.
    public var isFiltered: Bool
    /// The statement's WITH prefix, FROM clause and WHERE condition, for the filter's own queries.
    var withText: String
    var fromText: String
    var whereText: String?

    /// `… SELECT <columns> FROM <from> WHERE (<where>) [AND q.rowid IN (<ids>)]`: the filter
    /// (joins included) on its own, for counting, sampling and building allow-sets.
    /// With `restricted`, only the rowids bound at `idsParameterIndex` (see `binding`).
    func filterSQL(selecting columns: String, restricted: Bool = false) -> String {
        var conditions: [String] = []
        if let whereText { conditions.append("(\(whereText))") }
        if restricted { conditions.append("\(rowid) IN (\(boundIDs))") }
        let condition = conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
        return "\(withText) SELECT \(columns) FROM \(fromText)\(condition)"
    }

    static let aggregates: Set<String> = [
        "COUNT", "SUM", "AVG", "MIN", "MAX", "TOTAL", "GROUP_CONCAT",
        "STRING_AGG", "JSON_GROUP_ARRAY", "JSON_GROUP_OBJECT",
    ]

    /// The plan for `statement` (already rewritten), or nil when it is not of that shape.
    public static func make(for statement: SQLStatement, catalog: Catalog) -> NearestNeighbourPlan? {
        let tokens = statement.tokens
        let outline = SyntaxOutline(tokens: tokens)
        let entries = outline.entries
        func tok(_ e: Int) -> Token { outline.token(e)! }
        func text(_ from: Int, _ to: Int) -> String { // entries from...to inclusive, with trivia
            guard from <= to else { return "" }
            return Array(tokens[entries[from].tokenIndex...entries[to].tokenIndex]).sql
        }
        guard let first = entries.first, tok(0).isKeyword("SELECT") || tok(0).isKeyword("WITH") else { return nil }
        _ = first

        // Top-level clause boundaries.
        var select: Int?
        var from: Int?
        var whereAt: Int?
        var order: Int?
        var limit: Int?
        var cteNames: Set<String> = []
        for e in entries.indices where entries[e].depth == 0 {
            let t = tok(e)
            switch entries[e].clause {
            case .with:
                if t.kind == .identifier, !t.isReservedWord, e > 0,
                    tok(e - 1).isKeyword("WITH") || tok(e - 1).isKeyword("RECURSIVE") || tok(e - 1).isPunctuation(",")
                {
                    cteNames.insert(t.identifierName.lowercased())
                }
            case .compound, .groupBy, .having, .window:
                return nil
            default: break
            }
            if t.isKeyword("SELECT") {
                if select != nil { return nil }
                select = e
            }
            if t.isKeyword("FROM"), from == nil, select != nil { from = e }
            if t.isKeyword("WHERE"), whereAt == nil, from != nil { whereAt = e }
            if t.isKeyword("ORDER"), order == nil, entries[e].clause == .orderBy { order = e }
            if t.isKeyword("LIMIT"), limit == nil { limit = e }
        }
        guard let select, let from, let order, let limit, order + 2 < limit, tok(order + 1).isKeyword("BY") else {
            return nil
        }
        if tok(select + 1).isKeyword("DISTINCT") { return nil }
        for e in (select + 1)..<from
        where tok(e).kind == .identifier
            && aggregates.contains(tok(e).text.uppercased()) && outline.token(e + 1)?.isPunctuation("(") == true
        {
            return nil
        }

        // ORDER BY distance_fn(a, b) [NULLS LAST] [ASC] …
        let fnEntry = order + 2
        guard
            let metric = DistanceMetric.allCases.first(where: { tok(fnEntry).isKeyword($0.sqlFunction.uppercased()) }),
            tok(fnEntry + 1).isPunctuation("("), let close = outline.matchingParenthesis(fnEntry + 1)
        else { return nil }
        let argDepth = entries[fnEntry + 1].depth + 1
        guard
            let comma = ((fnEntry + 2)..<close).first(where: {
                tok($0).isPunctuation(",") && entries[$0].depth == argDepth
            })
        else { return nil }
        var after = close + 1
        if tok(after).isKeyword("NULLS") { after += 2 }
        if tok(after).isKeyword("ASC") { after += 1 }
        guard after == limit || tok(after).isPunctuation(",") else { return nil }

        // "LIMIT" with nothing after it is not a plan; SQLite reports the syntax error.
        guard limit + 1 < entries.count else { return nil }

        // FROM sources.
        guard let sources = parseSources(outline, from: from + 1, end: whereAt ?? order, cteNames: cteNames) else {
            return nil
        }

        // Which argument is the column?
        let arguments = [(fnEntry + 2, comma - 1), (comma + 1, close - 1)]
        for (index, argument) in arguments.enumerated() {
            guard let (source, table, column) = resolveColumn(outline, argument.0, argument.1, sources, catalog),
                let dimension = column.kind.vectorDimension
            else { continue }
            let other = arguments[1 - index]
            let qualifier = source.alias.map(quoteIdentifier) ?? quoteIdentifier(table.name)
            // Catalog.load refuses VECTOR columns in a table whose columns hide its rowid.
            guard let rowidName = table.rowidName else { continue }
            let rowid = "\(qualifier).\(rowidName)"
            let withText = select > 0 ? text(0, select - 1) : ""
            let fromText = text(from + 1, (whereAt ?? order) - 1)
            let whereText = whereAt.map { text($0 + 1, order - 1) }
            var candidate = "\(withText) SELECT \(rowid), \(qualifier).\(quoteIdentifier(column.name)) FROM \(fromText)"
            if let whereText { candidate += " WHERE \(whereText)" }

            // LIMIT a OFFSET b | LIMIT b, a
            let limitEnd = entries.count - 1
            var limitSQL = text(limit + 1, limitEnd)
            var offsetSQL: String?
            if let offsetAt = ((limit + 1)...limitEnd).first(where: {
                entries[$0].depth == 0 && (tok($0).isKeyword("OFFSET") || tok($0).isPunctuation(","))
            }) {
                if tok(offsetAt).isKeyword("OFFSET") {
                    limitSQL = text(limit + 1, offsetAt - 1)
                    offsetSQL = text(offsetAt + 1, limitEnd)
                } else {
                    offsetSQL = text(limit + 1, offsetAt - 1)
                    limitSQL = text(offsetAt + 1, limitEnd)
                }
            }

            let tieBreak = ", \(qualifier).\(table.rowKeyExpression)"
            let orderEnd = limit - 1
            let finalStatement: (String) -> String = { list in
                let restriction = "\(rowid) IN (\(list))"
                var sql = text(0, from) + " " + text(from + 1, (whereAt ?? order) - 1)
                if let whereText {
                    sql += " WHERE (\(whereText)) AND \(restriction) "
                } else {
                    sql += " WHERE \(restriction) "
                }
                sql += " " + text(order, orderEnd) + tieBreak + " " + text(limit, limitEnd)
                return sql
            }
            return NearestNeighbourPlan(
                table: table, column: column, metric: metric, dimension: dimension, qualifier: qualifier, rowid: rowid,
                queryVectorSQL: "\(withText) SELECT vector(\(text(other.0, other.1)))",
                limitSQL: "\(withText) SELECT \(limitSQL)", offsetSQL: offsetSQL.map { "\(withText) SELECT \($0)" },
                candidateSQL: candidate, finalStatementIn: finalStatement,
                idsParameterIndex: highestParameter(in: tokens) + 1,
                isFiltered: whereAt != nil || sources.count > 1, withText: withText, fromText: fromText,
                whereText: whereText)
        }
        return nil
    }

    struct Source {
        var table: String? // nil for subqueries, table-valued functions and CTEs
        var alias: String?
    }

    /// The tables of a FROM clause; nil when it holds an outer join (restricting by rowid would
    /// change which rows come back NULL-extended).
    private static func parseSources(_ outline: SyntaxOutline, from start: Int, end: Int, cteNames: Set<String>)
        -> [Source]?
    {
        var sources: [Source] = []
        var e = start
        var expectSource = true
        while e < end {
            let t = outline.token(e)!
            let depth = outline.entries[e].depth
            if depth > 0 {
                e += 1
                continue
            }
            if ["LEFT", "RIGHT", "FULL", "OUTER"].contains(where: { t.isKeyword($0) }) { return nil }
            if t.isKeyword("JOIN") || t.isPunctuation(",") {
                expectSource = true
                e += 1
                continue
            }
            guard expectSource else {
                e += 1
                continue
            }
            expectSource = false
            var source = Source(table: nil, alias: nil)
            if t.isPunctuation("(") {
                e = (outline.matchingParenthesis(e) ?? end) + 1
            } else if t.kind == .identifier {
                var name = t.identifierName
                e += 1
                if outline.token(e)?.isPunctuation(".") == true, let n = outline.token(e + 1) {
                    name = n.identifierName // schema.table
                    e += 2
                }
                if outline.token(e)?.isPunctuation("(") == true { // table-valued function
                    e = (outline.matchingParenthesis(e) ?? end) + 1
                } else if !cteNames.contains(name.lowercased()) {
                    source.table = name
                }
            } else {
                return nil
            }
            if e < end, let a = outline.token(e), a.isKeyword("AS"), let alias = outline.token(e + 1) {
                source.alias = alias.identifierName
                e += 2
            } else if e < end, let a = outline.token(e), a.kind == .identifier, !a.isReservedWord,
                !a.isKeyword("INDEXED"), !a.isKeyword("NOT")
            {
                source.alias = a.identifierName
                e += 1
            }
            sources.append(source)
        }
        return sources
    }

    /// Resolves `col` or `qualifier.col` (entries from...to) to a VECTOR column of a FROM table.
    private static func resolveColumn(
        _ outline: SyntaxOutline, _ from: Int, _ to: Int, _ sources: [Source],
        _ catalog: Catalog
    ) -> (Source, TableInfo, ColumnInfo)? {
        let parts = (from...to).map { outline.token($0)! }
        let name: String
        let qualifier: String?
        if parts.count == 1, parts[0].kind == .identifier {
            name = parts[0].identifierName
            qualifier = nil
        } else if parts.count == 3, parts[0].kind == .identifier, parts[1].isPunctuation("."),
            parts[2].kind == .identifier
        {
            name = parts[2].identifierName
            qualifier = parts[0].identifierName
        } else {
            return nil
        }
        var matches: [(Source, TableInfo, ColumnInfo)] = []
        for source in sources {
            if let qualifier {
                let label = source.alias ?? source.table ?? ""
                guard label.caseInsensitiveCompare(qualifier) else { continue }
            }
            guard let tableName = source.table else {
                if qualifier == nil { return nil } // an unknown source might have this column
                continue
            }
            if let table = catalog.table(named: tableName), let column = table.column(named: name) {
                matches.append((source, table, column))
            }
        }
        return matches.count == 1 ? matches[0] : nil
    }
}

extension String {
    func caseInsensitiveCompare(_ other: String) -> Bool { lowercased() == other.lowercased() }
}
