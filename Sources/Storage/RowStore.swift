/// The SQLite file that holds every row: the source of truth of a Quiver database.
///
/// Opens a connection configured the way Quiver needs it: WAL (readers never block the writer),
/// full fsync at commit (an acknowledged write survives a crash or power loss), foreign keys on,
/// and Quiver's SQL functions registered (the maintenance triggers call them, so a writer
/// without them fails loudly rather than storing unchecked vectors).
public enum RowStore {
    public static func open(path: String, readOnly: Bool = false) throws -> Connection {
        var options = Connection.Options()
        options.readOnly = readOnly
        let connection = try Connection(path: path, options: options)
        if !readOnly {
            try connection.execute("PRAGMA journal_mode = WAL")
        }
        try connection.execute("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA trusted_schema = OFF")
        try VectorFunctions.register(on: connection)
        try CompressionFunctions.register(on: connection)
        try FullTextTokenizerRegistration.register(on: connection)
        try FullTextQueryFunction.register(on: connection)
        try FullTextScoreFunction.register(on: connection)
        return connection
    }
}
