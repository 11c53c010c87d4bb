import QuiverStorage
import QuiverText

/// `column MATCH query`, where the column (optionally qualified) belongs to a table of the
/// statement and has a full-text index, becomes
///
///     q.rowid IN (SELECT rowid FROM "_quiver_fts_x" WHERE "_quiver_fts_x" MATCH
///                 quiver_fts_query(query, 'table.column', 'c0'))
///
/// a filter like any other, so it combines with other filters, joins and the vector planner
/// (whose allow-set it narrows); `bm25(column)` becomes the row's FTS5 relevance for that query. `MATCH` on a table name is FTS5's own and left alone; on a
/// column with no full-text index it is an error that says how to make one, never SQLite's
/// "unable to use function MATCH".
extension Rewriter {
    /// The function a rewritten MATCH calls: a statement that calls it reads a full-text index.
    static let fullTextQueryFunction = "quiver_fts_query"
    /// The function a rewritten bm25(column) calls.
    static let fullTextScoreFunction = "quiver_fts_score"

    /// Whether a rewritten statement searches a full-text index.
    public static func searchesFullText(_ statement: SQLStatement) -> Bool {
        statement.tokens.contains { $0.kind == .identifier && $0.text == fullTextQueryFunction }
    }

    /// A table as the statement names it: its name and the alias it goes by, if any.
    private struct TableReference {
        var table: String
        var alias: String?
        var reference: String { alias ?? table }
    }

    /// A column of a table of the statement, as written at `columnIndex` (with its qualifier).
    private struct ColumnReference {
        var start: Int // the qualifier's first token, else the column's
        var qualifier: String // as written with its dot (`d.`), or the table's reference and a dot
        var reference: String
        var table: TableInfo
        var column: String
    }

    /// The column written at `columnIndex`, if it is a column of a table of the statement.
    private func columnReference(at columnIndex: Int, in tokens: [Token], tables: [TableReference])
        -> ColumnReference?
    {
        guard tokens[columnIndex].kind == .identifier, !tokens[columnIndex].isReservedWord else { return nil }
        let column = tokens[columnIndex].identifierName
        var start = columnIndex
        var qualifier: String?
        if let dot = previousSignificant(tokens, before: columnIndex), tokens[dot].isPunctuation("."),
            let name = previousSignificant(tokens, before: dot), tokens[name].kind == .identifier
        {
            qualifier = tokens[name].identifierName
            start = name
        }
        // `docs_fts MATCH …`, `bm25(docs_fts)`: a table of the statement, FTS5's own.
        if qualifier == nil, tables.contains(where: { $0.reference.caseInsensitiveEquals(column) }) { return nil }
        let candidates = tables.filter { reference in
            qualifier.map { reference.reference.caseInsensitiveEquals($0) } ?? true
        }
        for reference in candidates {
            guard let table = catalog.table(named: reference.table), let found = table.column(named: column) else {
                continue
            }
            let written =
                qualifier == nil
                ? quoteIdentifier(reference.reference) + "." : Array(tokens[start..<columnIndex]).sql
            return ColumnReference(
                start: start, qualifier: written, reference: reference.reference, table: table, column: found.name)
        }
        return nil
    }

    /// The full-text index of a column, or an error saying how to make one (or to rebuild it).
    private func fullTextIndex(of column: ColumnReference, offset: Int) throws -> FullTextIndexDefinition {
        let place = "\(column.table.name).\(column.column)"
        guard
            let index = catalog.fullTextIndexes(on: column.table.name).first(where: {
                $0.ftsColumn(for: column.column) != nil
            }), column.table.rowidName != nil
        else {
            throw SyntaxError(
                message:
                    "no full-text index on \(place); CREATE INDEX … ON \(quoteIdentifier(column.table.name)) USING fts (\(quoteIdentifier(column.column)))",
                offset: offset)
        }
        guard index.tokenizerVersion == FullTextTokenizer.version else {
            throw SyntaxError(
                message:
                    "full-text index \(index.name) was built by another version of the tokenizer; REINDEX \(quoteIdentifier(index.name))",
                offset: offset)
        }
        return index
    }

    /// Tokens of generated SQL, placed at `offset` of the statement as written (for errors).
    private func generated(_ sql: String, at offset: Int) -> [Token] {
        Tokenizer.tokenize(sql).map { token in
            var token = token
            token.offset = offset
            return token
        }
    }

    func rewriteFullTextMatches(_ input: [Token]) throws -> [Token] {
        guard input.contains(where: { $0.isKeyword("MATCH") || $0.isKeyword("BM25") }) else { return input }
        let tables = tableReferences(input)
        var tokens = input
        // The query each searched column is matched against, for bm25(column).
        var queries: [String: [Token]] = [:]
        var from = 0
        while let op = tokens[from...].firstIndex(where: { $0.isKeyword("MATCH") }) {
            from = op + 1
            guard let columnIndex = previousSignificant(tokens, before: op),
                let column = columnReference(at: columnIndex, in: tokens, tables: tables)
            else { continue }
            let position = tokens[columnIndex].offset
            let index = try fullTextIndex(of: column, offset: position)
            guard let queryEnd = operandEnd(tokens, startingAfter: op) else {
                throw SyntaxError(
                    message: "MATCH needs a query after it, e.g. \(column.column) MATCH 'words'",
                    offset: tokens[op].offset)
            }
            let query = Array(tokens[(op + 1)...queryEnd]).trimmed()
            queries[Self.key(column)] = query
            let fts = quoteIdentifier(index.ftsTable)
            let place = quoteLiteral("\(column.table.name).\(column.column)")
            let replacement =
                generated(
                    "\(column.qualifier)\(column.table.rowidName!) IN (SELECT rowid FROM \(fts) WHERE \(fts) MATCH \(Self.fullTextQueryFunction)(",
                    at: position) + query
                + generated(", \(place), \(quoteLiteral(index.ftsColumn(for: column.column)!))))", at: position)
            tokens.replaceSubrange(column.start...queryEnd, with: replacement)
            from = column.start + replacement.count
        }
        return try rewriteScores(tokens, tables: tables, queries: queries)
    }

    /// `bm25(column)` → `quiver_fts_score(q.rowid, '_quiver_fts_x', <the column's MATCH query>,
    /// 'c0')`: the FTS5 relevance of the row for the query the statement matches the column
    /// against (lower is better, as FTS5's bm25; NULL for a row that does not match).
    private func rewriteScores(_ input: [Token], tables: [TableReference], queries: [String: [Token]]) throws
        -> [Token]
    {
        var tokens = input
        var from = 0
        while let name = tokens[from...].firstIndex(where: { $0.isKeyword("BM25") }) {
            from = name + 1
            guard let open = nextSignificant(tokens, after: name), tokens[open].isPunctuation("("),
                let close = operandEnd(tokens, startingAfter: name),
                let columnIndex = previousSignificant(tokens, before: close),
                let column = columnReference(at: columnIndex, in: tokens, tables: tables),
                column.start == nextSignificant(tokens, after: open)
            else { continue }
            let position = tokens[name].offset
            let index = try fullTextIndex(of: column, offset: position)
            guard let query = queries[Self.key(column)] else {
                throw SyntaxError(
                    message:
                        "bm25(\(column.column)) ranks the rows \(column.column) MATCH finds; add \(column.column) MATCH '…' to the WHERE clause",
                    offset: position)
            }
            let replacement =
                generated(
                    "\(Self.fullTextScoreFunction)(\(column.qualifier)\(column.table.rowidName!), \(quoteLiteral(index.ftsTable)), ",
                    at: position) + query
                + generated(", \(quoteLiteral(index.ftsColumn(for: column.column)!)))", at: position)
            tokens.replaceSubrange(name...close, with: replacement)
            from = name + replacement.count
        }
        return tokens
    }

    private static func key(_ column: ColumnReference) -> String {
        "\(column.reference.lowercased()).\(column.column.lowercased())"
    }

    /// The tables the statement reads or writes, with their aliases: names after FROM, JOIN or
    /// a comma in a FROM clause, and the table of an UPDATE.
    private func tableReferences(_ tokens: [Token]) -> [TableReference] {
        let outline = SyntaxOutline(tokens: tokens)
        var references: [TableReference] = []
        for e in outline.entries.indices {
            let token = outline.token(e)!
            guard token.kind == .identifier, !token.isReservedWord, let previous = outline.token(e - 1) else {
                continue
            }
            let clause = outline.entries[e].clause
            let startsTable =
                clause == .from
                && (previous.isKeyword("FROM") || previous.isKeyword("JOIN") || previous.isPunctuation(","))
                || clause == .leading && previous.isKeyword("UPDATE")
            guard startsTable, outline.token(e + 1)?.isPunctuation("(") != true,
                outline.token(e + 1)?.isPunctuation(".") != true
            else { continue }
            var alias: String?
            if let next = outline.token(e + 1), next.kind == .identifier {
                if next.isKeyword("AS") {
                    alias = outline.token(e + 2)?.identifierName
                } else if !next.isReservedWord, !["INDEXED", "NOT"].contains(next.text.uppercased()) {
                    alias = next.identifierName
                }
            }
            references.append(TableReference(table: token.identifierName, alias: alias))
        }
        return references
    }
}
