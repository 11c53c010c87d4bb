import QuiverQuery
import QuiverStorage

/// Loads many rows through one prepared statement, in transactions whose size the caller
/// chooses: the importer's path into the table.
///
/// Unlike `Database.execute`, committing here does not checkpoint vector indexes: a loader
/// brings its indexes up to date in bulk once (REINDEX on both cores) instead of having
/// thousands of rows replayed into the graph one by one halfway through.
public final class BulkWriter {
    private let database: Database
    private let statement: Statement

    /// Prepares `sql` (one statement that returns no rows). Any statements that must run
    /// first, such as the CREATE TABLE of a new table, go through `database.execute` inside
    /// the same `transaction(on:)`.
    public init(database: Database, sql: String) throws {
        self.database = database
        let statements = StatementSplitter.split(sql)
        guard statements.count == 1, let first = statements.first else {
            throw SQLiteError(.unsupported("a bulk writer runs exactly one statement; got \(statements.count)"))
        }
        try database.executor.refreshCatalogIfStale()
        statement = try database.executor.prepareWrite(first)
    }

    /// Runs `body` in a write transaction (the write lock taken now rather than at the first
    /// row): committed when it returns, without checkpointing indexes, rolled back when it throws.
    public static func transaction<T>(on database: Database, _ body: () throws -> T) throws -> T {
        try database.transactionWithoutCheckpoint(.immediate, body)
    }

    /// Writes one row. A failing row changes nothing (SQLite undoes the statement) and leaves
    /// the transaction open, so the caller may go on.
    public func write(_ values: [SQLValue]) throws {
        statement.reset()
        try statement.bind(SQLBindings(values))
        while try statement.step() {}
    }
}
