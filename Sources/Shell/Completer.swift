/// Tab completion: SQL keywords, table names and column names (`table.col` completes within
/// that table), and meta-commands at the start of a line. Keywords follow the case being typed.
struct Completer {
    /// Tables and their columns, as the backend last reported them.
    var schema: [(table: String, columns: [String])] = []
    var metaCommands: [String] = []

    func complete(_ line: String, cursor: String.Index) -> LineEditor.Completion {
        let before = line[..<cursor]
        var start = before.endIndex
        while start > before.startIndex {
            let previous = before[before.index(before: start)]
            guard previous.isLetter || previous.isNumber || previous == "_" || previous == "." else { break }
            start = before.index(before: start)
        }
        let word = String(before[start...])
        if before[..<start].allSatisfy(\.isWhitespace) && word.hasPrefix(".") {
            return .init(wordStart: start, candidates: metaCommands.filter { $0.hasPrefix(word.lowercased()) })
        }
        if let dot = word.lastIndex(of: ".") {
            let tableName = word[..<dot]
            let prefix = word[word.index(after: dot)...]
            let columns = schema.first { $0.table.lowercased() == tableName.lowercased() }?.columns ?? []
            let wordStart = line.index(start, offsetBy: tableName.count + 1)
            return .init(wordStart: wordStart, candidates: matches(columns, String(prefix)).sorted())
        }
        guard !word.isEmpty else { return .init(wordStart: start, candidates: []) }

        let previousWord = before[..<start].split(whereSeparator: { !$0.isLetter && $0 != "_" }).last.map {
            $0.uppercased()
        }
        let tables = schema.map(\.table)
        let columns = Set(schema.flatMap(\.columns))
        var candidates: [String]
        if let previousWord, Self.tableContext.contains(previousWord) {
            candidates = matches(tables, word)
        } else {
            candidates = matches(tables, word) + matches(columns.sorted(), word)
        }
        let typedLower = word.first.map { $0.isLowercase } ?? false
        let keywords = matches(Self.keywords, word).map { typedLower ? $0.lowercased() : $0 }
        if previousWord.map({ !Self.tableContext.contains($0) }) ?? true { candidates += keywords }
        var seen = Set<String>()
        return .init(wordStart: start, candidates: candidates.filter { seen.insert($0).inserted }.sorted())
    }

    private func matches(_ names: [String], _ prefix: String) -> [String] {
        let lower = prefix.lowercased()
        return names.filter { $0.lowercased().hasPrefix(lower) }
    }

    /// Words after which a table name is expected.
    static let tableContext: Set<String> = ["FROM", "JOIN", "INTO", "UPDATE", "TABLE", "ON", "EXISTS", "REINDEX"]

    static let keywords = [
        "ABORT", "ALL", "ALTER", "ANALYZE", "AND", "AS", "ASC", "ATTACH", "AUTOINCREMENT", "BEGIN", "BETWEEN", "BY",
        "CASE", "CAST", "CHECK", "COLLATE", "COLUMN", "COMMIT", "COMPRESSED", "CONFLICT", "CONSTRAINT", "CREATE",
        "CROSS", "CURRENT_TIMESTAMP", "DEFAULT", "DELETE", "DESC", "DISTINCT", "DROP", "EF_SEARCH", "ELSE", "END",
        "ESCAPE", "EXCEPT", "EXISTS", "EXPLAIN", "FILTER", "FOREIGN", "FROM", "FULL", "GLOB", "GROUP", "HAVING",
        "HNSW", "IF", "IGNORE", "IN", "INDEX", "INNER", "INSERT", "INTEGER", "INTERSECT", "INTO", "IS", "JOIN", "KEY",
        "LEFT", "LIKE", "LIMIT", "MATCH", "NATURAL", "NOT", "NULL", "NULLS", "OFFSET", "ON", "OR", "ORDER", "OUTER",
        "OVER", "PARTITION", "PRAGMA", "PRIMARY", "QUERY", "RECURSIVE", "REFERENCES", "REINDEX", "RELEASE", "RENAME",
        "REPLACE", "RESET", "RETURNING", "RIGHT", "ROLLBACK", "SAVEPOINT", "SELECT", "SET", "SHOW", "TABLE", "TEXT",
        "THEN", "TRANSACTION", "TRIGGER", "UNION", "UNIQUE", "UPDATE", "USING", "VACUUM", "VALUES", "VECTOR", "VIEW",
        "VIRTUAL", "WHEN", "WHERE", "WINDOW", "WITH", "WITHOUT", "REAL", "BLOB", "ANALYZE", "vector_cosine_ops",
        "vector_l2_ops", "vector_ip_ops", "cosine_distance", "l2_distance", "inner_product", "vector_dims",
        "vector_norm", "count", "coalesce",
    ]
}
