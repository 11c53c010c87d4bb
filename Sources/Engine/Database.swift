import QuiverDedupe
import QuiverKernels
import QuiverProgress
import QuiverQuery
import QuiverStorage

/// An open Quiver database: the embedded mode's entry point.
///
/// Not Sendable: one `Database` serves one thread at a time. Open one per thread (or per
/// request handler) on the same directory; SQLite's WAL mode lets readers run beside the writer.
public final class Database {
    public let directory: DatabaseDirectory
    let executor: QueryExecutor
    var connection: Connection { executor.connection }

    public init(path: String, create: Bool = true, readOnly: Bool = false) throws {
        directory = try DatabaseDirectory(path: path, create: create && !readOnly)
        executor = try QueryExecutor(
            connection: RowStore.open(path: directory.rowsPath, readOnly: readOnly),
            indexDirectory: directory.indexesPath)
        // Tables created by other tools (or an older quiver) get their triggers here; the usual
        // case, nothing to do, takes no write lock, so opening never waits for a writer.
        if !readOnly, try !MaintenanceTriggers.isSynchronized(connection, catalog: executor.catalog) {
            try connection.transaction(.immediate) { try executor.schemaDidChange() }
        }
        // Files a killed CREATE INDEX, REINDEX or checkpoint left behind. Best effort: when a
        // writer holds the lock longer than the busy timeout, the next open tries again.
        if !readOnly { _ = try? executor.removeOrphanIndexFiles() }
    }

    public var catalog: Catalog { executor.catalog }

    /// Why the index checkpoint attempted after the last commit failed (a full disk, an I/O
    /// error); nil when it succeeded or none was due. Not thrown: the statements had committed,
    /// and an error from `execute` means nothing changed. The index stays correct — its previous
    /// file plus the change log — and the checkpoint is tried again after the next commit.
    public private(set) var checkpointError: (any Error)?

    /// The catalog, re-read first if the schema changed (another connection's DDL, a rollback).
    public func currentCatalog() throws -> Catalog {
        try executor.refreshCatalogIfStale()
        return executor.catalog
    }

    /// As `currentCatalog()`, with the vector index records re-read too (another connection may
    /// have dropped or rebuilt an index without changing the schema).
    public func catalogWithIndexes() throws -> Catalog {
        try executor.refreshCatalogIfStale()
        var catalog = executor.catalog
        try catalog.reloadIndexes(from: connection)
        return catalog
    }

    /// The most the results of one script may hold, in bytes of their JSON (roughly); a script
    /// whose results grow past it stops reading there and fails with `ResultTooLarge`, changing
    /// nothing. Restricted SQL may not make or read a single value longer than that either
    /// (SQLITE_TOOBIG, before SQLite builds it). nil: no bound (embedded use). A server bounds
    /// its answers with it.
    public var maxResultBytes: Int? {
        get { executor.resultBudget?.limit }
        set {
            executor.resultBudget = newValue.map(ResultBudget.init(limit:))
            connection.restrictedValueLimit = newValue
        }
    }

    /// Why SQLite's authorizer refused the last statement run with restricted access, if it did.
    public var lastAccessDenial: String? { connection.lastAccessDenial }

    /// True when every statement of the script only reads (SELECT, VALUES, WITH … SELECT,
    /// EXPLAIN of those): it may run on any connection, beside the writer.
    public static func isReadOnlyScript(_ sql: String) -> Bool {
        let statements = StatementSplitter.split(sql)
        return !statements.isEmpty
            && statements.allSatisfy { statement in
                isRead(statement)
                    || (statement.leadingKeyword == "EXPLAIN"
                        && !statement.significant.contains {
                            ["INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER", "REINDEX"].contains(
                                $0.text.uppercased())
                        })
            }
    }

    /// What the last statement's nearest-neighbour search did: strategy, counts, timed steps
    /// (EXPLAIN ANALYZE puts it into words).
    public var lastReport: ExecutionTrace { executor.lastReport }

    /// What the last DEDUPE did (strategy, pairs, clusters, duplicates, time per step).
    public var lastDedupeReport: DedupeReport? { executor.lastDedupe }

    /// Called with the progress of long statements (DEDUPE, CREATE INDEX, REINDEX), on the
    /// thread running them: `quiver sql` and the shell draw a progress line from it on a terminal.
    public var progressHandler: ((Progress) -> Void)? {
        get { executor.progressHandler }
        set { executor.progressHandler = newValue }
    }

    /// An error in statement `index` (1-based) of a script.
    public struct StatementError: Error, CustomStringConvertible {
        public var underlying: SQLiteError
        public var statementIndex: Int
        public var statementCount: Int
        /// What is counted: "statement", or "binding set" for executeMany.
        public var unit = "statement"
        public var description: String {
            statementCount > 1 ? "\(unit) \(statementIndex): \(underlying.message)" : underlying.message
        }
    }

    /// Runs a script of one or more statements and returns the rows of each statement that
    /// returns rows (SELECT, VALUES, PRAGMA, RETURNING …), in order.
    ///
    /// All statements run in one transaction, all or nothing, unless the script manages its own
    /// (BEGIN, COMMIT, ROLLBACK, SAVEPOINT, RELEASE) or holds a statement that cannot run in one
    /// (VACUUM; PRAGMA, as `synchronous` and `journal_mode` cannot change inside a transaction
    /// and `foreign_keys` silently stays as it was); then each statement stands alone. Inside a
    /// transaction already open (`transaction(_:_:)`, a script's BEGIN) the statements join it,
    /// and an error leaves it to its owner.
    ///
    /// `access` limits what the statements themselves may do (SQL from a remote user); Quiver's
    /// own work around them (catalog reloads, index checkpoints) stays unrestricted. A script
    /// run with restricted access is a caller's request on a connection others will use next:
    /// it always runs as one transaction and may not control it (`CallerScript`), every value
    /// given must be used, and its `SET hnsw.ef_search` lasts until the script ends.
    public func execute(_ sql: String, _ bindings: SQLBindings = .none, access: SQLAccess = .unrestricted) throws
        -> [ResultSet]
    {
        let statements = split(sql)
        executor.resultBudget?.reset()
        let fromCaller = access != .unrestricted
        if fromCaller {
            try CallerScript.check(statements, bindings, on: connection)
            // Another caller's last row id is not this one's business.
            connection.lastInsertRowID = 0
        }
        try executor.refreshCatalogIfStale()
        let managesOwnTransaction = !fromCaller && statements.contains { Self.controlsTransaction($0) }
        let perStatement = try Self.bindings(bindings, across: statements)
        let sessionEfSearch = executor.search.efSearch
        defer { if fromCaller { executor.search.efSearch = sessionEfSearch } }
        guard managesOwnTransaction || connection.isInTransaction else {
            // Read-only access can write nothing, so it never needs (or waits for) the write lock.
            let kind: TransactionKind =
                access == .readOnly || statements.allSatisfy(Self.isRead) ? .deferred : .immediate
            return try transaction(kind) { try run(statements, perStatement, of: sql, access: access) }
        }
        let results = try run(statements, perStatement, of: sql, access: access)
        checkpointIndexesAfterCommit()
        return results
    }

    /// Runs the statements of one script in order, each error naming its statement and position.
    private func run(
        _ statements: [SQLStatement], _ perStatement: [SQLBindings], of sql: String,
        access: SQLAccess
    ) throws -> [ResultSet] {
        var results: [ResultSet] = []
        for (index, statement) in statements.enumerated() {
            do {
                connection.access = access
                defer { connection.access = .unrestricted }
                let result = try executor.run(statement, perStatement[index])
                if !result.columns.isEmpty { results.append(result) }
            } catch var error as SQLiteError {
                if error.offset == nil { error.offset = VectorLiteralLocator.offset(of: error.refusal, in: statement) }
                // Positions SQLite reports inside text the rewriter made (a pgvector operator's
                // function call, its alias) can fall past the statement as written: its end, then.
                let end = statement.offset + statement.text.utf8.count
                if let offset = error.offset, offset > end { error.offset = end }
                // Offsets are into the script as written (the rewriter's are mapped back), so the
                // script is the text they refer to.
                if error.offset != nil { error.sql = sql }
                throw StatementError(underlying: error, statementIndex: index + 1, statementCount: statements.count)
            }
        }
        return results
    }

    /// Runs `body` in one transaction: committed when it returns, rolled back when it throws (a
    /// thrown interrupt included). After the commit, index checkpoints that are due are written
    /// (a failure is `checkpointError`, not thrown: the commit stands). Statements `execute` runs
    /// inside join the transaction. Transactions do not nest: opening one while one is open
    /// throws and leaves that one alone; `savepoint(_:_:)` nests.
    public func transaction<T>(_ kind: TransactionKind = .deferred, _ body: () throws -> T) throws -> T {
        let result = try transactionWithoutCheckpoint(kind, body)
        checkpointIndexesAfterCommit()
        return result
    }

    /// Runs `body` in a savepoint of the open transaction (released on return, rolled back to on
    /// throw, the transaction going on), or in a transaction of its own when none is open.
    public func savepoint<T>(_ name: String, _ body: () throws -> T) throws -> T {
        guard connection.isInTransaction else { return try transaction(.deferred, body) }
        return try connection.savepoint(name, body)
    }

    /// `transaction`, leaving the index checkpoints to the caller (a bulk loader's commits).
    func transactionWithoutCheckpoint<T>(_ kind: TransactionKind, _ body: () throws -> T) throws -> T {
        do {
            return try connection.transaction(kind, body)
        } catch {
            // A rolled-back CREATE TABLE must not linger in the catalog.
            try? executor.refreshCatalogIfStale()
            throw error
        }
    }

    /// Writes the index checkpoints that are due once no transaction is open, keeping the
    /// outcome in `checkpointError`.
    private func checkpointIndexesAfterCommit() {
        guard !connection.isInTransaction else { return }
        do {
            try executor.checkpointIndexesIfDue()
            checkpointError = nil
        } catch {
            checkpointError = error
        }
    }

    /// Runs one statement once per set of bindings, prepared once, in one transaction (unless
    /// the caller holds one already): the fast path for loading rows. All or nothing.
    @discardableResult
    public func executeMany(_ sql: String, _ bindingSets: [SQLBindings]) throws -> Int {
        let statements = StatementSplitter.split(sql)
        guard statements.count == 1, let statement = statements.first else {
            throw SQLiteError(.unsupported("executeMany takes exactly one statement; got \(statements.count)"))
        }
        try executor.refreshCatalogIfStale()
        let prepared = try executor.prepareWrite(statement)
        guard connection.isInTransaction else {
            return try transactionWithoutCheckpoint(.immediate) { try run(prepared, bindingSets) }
        }
        return try run(prepared, bindingSets)
    }

    /// Runs a prepared statement once per set of bindings, returning the rows changed.
    private func run(_ prepared: Statement, _ bindingSets: [SQLBindings]) throws -> Int {
        var changes = 0
        for (index, bindings) in bindingSets.enumerated() {
            do {
                prepared.reset()
                try prepared.bind(bindings)
                while try prepared.step() {}
                changes += connection.changes
            } catch let error as SQLiteError {
                throw StatementError(
                    underlying: error, statementIndex: index + 1, statementCount: bindingSets.count,
                    unit: "binding set")
            }
        }
        return changes
    }

    /// The rows of one statement run directly on the connection (internal bookkeeping queries).
    func rows(of sql: String) throws -> [[SQLValue]] { try connection.query(sql) }

    /// EXPLAIN ANALYZE of one nearest-neighbour query, as `quiver search --explain` prints it.
    public func explainNearest(
        table: String, column: String, filter: String?, metric: DistanceMetric?, k: Int,
        ef: Int?, exact: Bool, query: [Float]
    ) throws -> [ResultSet] {
        let op =
            (metric ?? catalog.indexes(on: table).first { $0.column.caseInsensitiveEquals(column) }?.metric ?? .cosine)
            .sqlOperator
        var hints = exact ? "/*+ exact */ " : ""
        if let ef { hints += "/*+ hnsw.ef_search = \(ef) */ " }
        let condition = filter.map { $0.trimmingSpaces().isEmpty ? "" : " WHERE (\($0))" } ?? ""
        let rowid = catalog.table(named: table)?.rowidName ?? "rowid"
        return try execute(
            "EXPLAIN ANALYZE SELECT \(hints)\(rowid) FROM \(quoteIdentifier(table))\(condition) ORDER BY \(quoteIdentifier(column)) \(op) ?1 LIMIT \(k)",
            SQLBindings([.vector(query)]))
    }

    /// Scripts split into statements, by text: the same query runs again and again.
    private var splitScripts: [String: [SQLStatement]] = [:]

    private func split(_ sql: String) -> [SQLStatement] {
        if let statements = splitScripts[sql] { return statements }
        let statements = StatementSplitter.split(sql)
        if splitScripts.count >= 256 { splitScripts.removeAll() }
        splitScripts[sql] = statements
        return statements
    }

    /// Brings vector indexes up to date with committed rows now and writes the checkpoints that
    /// are due, rather than leaving that to the next query (a bulk loader calls it when done).
    public func checkpointIndexesIfDue() throws {
        guard !connection.isInTransaction else { return }
        try executor.checkpointIndexesIfDue()
    }

    /// Whether a transaction is open (a script that ran BEGIN without COMMIT leaves one).
    public var isInTransaction: Bool { connection.isInTransaction }

    /// Rolls back a transaction a script left open; returns whether there was one. A server
    /// calls it after every request, so no request's changes wait on the next one to commit.
    @discardableResult
    public func rollBackOpenTransaction() -> Bool { connection.rollBackOpenTransaction() }

    /// Cancels the running statement from another thread.
    public func interrupt() { executor.interrupt() }

    /// The bindings each statement of a script sees. Plain `?` parameters are numbered across
    /// the whole script, as the text reads: in `INSERT … VALUES (?); UPDATE … WHERE id = ?` with
    /// two values, the second `?` is the second value (SQLite alone would number each
    /// statement's from 1, so both would get the first). A script of several statements with
    /// plain `?` must bring exactly one value per `?`. Scripts that number their parameters
    /// (`?1`, `?2`) or name them keep the values as given, for every statement. A plain `?`
    /// without a value is an error, not a silent NULL.
    static func bindings(_ bindings: SQLBindings, across statements: [SQLStatement]) throws -> [SQLBindings] {
        let plain = statements.map { $0.tokens.filter { $0.kind == .parameter && $0.text == "?" }.count }
        let numbered = statements.contains {
            $0.tokens.contains { $0.kind == .parameter && $0.text.count > 1 && $0.text.hasPrefix("?") }
        }
        guard statements.count > 1, plain.filter({ $0 > 0 }).count > 1, !numbered else {
            if !numbered, let most = plain.max(), most > bindings.positional.count {
                throw SQLiteError(
                    .parameterMismatch(
                        "\(most) ? parameter\(most == 1 ? "" : "s") but \(bindings.positional.count) value\(bindings.positional.count == 1 ? "" : "s") given"
                    ))
            }
            return Array(repeating: bindings, count: statements.count)
        }
        let total = plain.reduce(0, +)
        guard bindings.positional.count == total else {
            throw SQLiteError(
                .parameterMismatch(
                    "the script has \(total) ? parameters and \(bindings.positional.count) values; each ? takes the next value, across statements"
                ))
        }
        var offset = 0
        return plain.map { count in
            defer { offset += count }
            return SQLBindings(Array(bindings.positional[offset..<offset + count]), named: bindings.named)
        }
    }

    static func controlsTransaction(_ statement: SQLStatement) -> Bool {
        ["BEGIN", "COMMIT", "END", "ROLLBACK", "SAVEPOINT", "RELEASE", "VACUUM", "PRAGMA"].contains(
            statement.leadingKeyword)
    }

    static func isRead(_ statement: SQLStatement) -> Bool {
        if DedupeStatement.isDedupe(statement) { return DedupeStatement.isReadOnly(statement) }
        let words = statement.leadingKeywords(1)
        return words == ["SELECT"] || words == ["VALUES"]
            || (words == ["WITH"]
                && !statement.significant.contains {
                    ["INSERT", "UPDATE", "DELETE", "REPLACE"].contains($0.text.uppercased())
                })
    }
}
