import QuiverText

/// `quiver_fts_query(query, column, fts_column)`: a query as users write it (`FullTextQuery`'s
/// syntax) → the FTS5 expression that searches it in one column of a full-text index,
/// `fts_column : (expression)`. The rewriter puts it where a user wrote `column MATCH query`, so
/// the query may be any expression (a parameter, a column); a query FTS5 would misread or
/// that is empty fails the statement with a syntax error naming the column and the character.
enum FullTextQueryFunction {
    static let name = "quiver_fts_query"

    static func register(on connection: Connection) throws {
        try connection.createFunction(name, argumentCount: 3) { args in
            let column = args.text(1)
            let query = args.isNull(0) ? "" : args.text(0)
            do {
                return .text("\(args.text(2)) : (\(try FullTextQuery(query).expression))")
            } catch let error as FullTextQuery.SyntaxError {
                throw QuiverError.syntax("full-text query on \(column): \(error.description)")
            }
        }
    }
}
