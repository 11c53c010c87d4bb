import QuiverText

/// `quiver_fts_score(rowid, fts_table, query, fts_column)`: FTS5's bm25 relevance of a row for a
/// full-text query on one column (lower is better), NULL for a row the query does not find.
/// The rewriter puts it where a user wrote `bm25(column)` beside `column MATCH query`. The first
/// call in a statement runs the search once and keeps every matching row's score (SQLite's
/// auxiliary data on the constant query), so ranking N rows costs one search, not N.
enum FullTextScoreFunction {
    static let name = "quiver_fts_score"

    static func register(on connection: Connection) throws {
        // Unowned: the connection keeps its functions alive, and they never outlive it.
        try connection.createFunction(name, argumentCount: 4, deterministic: false) { [unowned connection] args in
            guard !args.isNull(0) else { return .null }
            let scores = try args.cached(2) { () throws -> [Int64: Double] in
                let fts = quoteIdentifier(args.text(1))
                let query: String
                do {
                    query = "\(args.text(3)) : (\(try FullTextQuery(args.isNull(2) ? "" : args.text(2)).expression))"
                } catch let error as FullTextQuery.SyntaxError {
                    throw QuiverError.syntax("full-text query: \(error.description)")
                }
                let statement = try connection.prepare("SELECT rowid, bm25(\(fts)) FROM \(fts) WHERE \(fts) MATCH ?")
                try statement.bind(SQLBindings([.text(query)]))
                var scores: [Int64: Double] = [:]
                while try statement.step() { scores[statement.int64(at: 0)] = statement.value(at: 1).doubleValue }
                return scores
            }
            return scores[args.int64(0)].map { .real($0) } ?? .null
        }
    }
}
