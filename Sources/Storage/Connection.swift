import CSQLite
import Foundation

/// One SQLite connection. Owns the handle and closes it on deinit.
///
/// Not Sendable: a connection is used by one thread (or one actor) at a time, as SQLite's
/// "multi-thread" mode requires.
public final class Connection {
    let handle: OpaquePointer
    public let path: String

    /// Boxes that keep registered function bodies alive for as long as the connection.
    var retainedFunctions: [AnyObject] = []
    /// The refusal a SQL function or the authorizer of this connection raised, until the
    /// statement's error takes it.
    let pendingRefusal = PendingRefusal()
    /// Prepared statements by SQL text, for the statements Quiver itself runs on every query
    /// (preparing costs tens of microseconds; a nearest-neighbour query runs several).
    private var statementCache: [String: Statement] = [:]
    /// What user SQL may do here (see SQLAccess); nil until first restricted.
    var accessState: AccessState?
    /// Work waiting for the outcome of the open transaction; installed at first use, which is
    /// always before the transaction it waits for ends.
    public private(set) lazy var transactionHooks = TransactionHooks(handle: handle)

    public struct Options: Sendable {
        public var readOnly = false
        /// How long to wait for another writer before reporting "database is locked".
        public var busyTimeoutMilliseconds: Int32 = 10_000
        public init() {}
    }

    public init(path: String, options: Options = Options()) throws {
        var db: OpaquePointer?
        let flags =
            (options.readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)
            | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            if let db { sqlite3_close_v2(db) }
            throw SQLiteError(code: ResultCode(rawValue: rc), message: "cannot open \(path): \(message)")
        }
        self.handle = db
        self.path = path
        sqlite3_busy_timeout(db, options.busyTimeoutMilliseconds)
        sqlite3_extended_result_codes(db, 1)
        // Extensions are never loadable, from SQL or otherwise.
        sqlite3_enable_load_extension(db, 0)
        // Nor can any SQL reach a pointer-passing function or corrupt the file on purpose.
        try SQLFunctionPolicy.disarm(self)
    }

    deinit {
        sqlite3_close_v2(handle)
    }

    /// Runs SQL that returns no rows (any number of statements), with no parameters.
    public func execute(_ sql: String) throws {
        var errorMessage: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &errorMessage)
        if rc != SQLITE_OK {
            let message = errorMessage.map { String(cString: $0) } ?? lastErrorMessage
            sqlite3_free(errorMessage)
            var error = SQLiteError(code: ResultCode(rawValue: rc), message: message, sql: sql)
            error.refusal = pendingRefusal.take()
            throw error
        }
    }

    public func prepare(_ sql: String) throws -> Statement {
        try Statement(connection: self, sql: sql)
    }

    /// A prepared statement for `sql`, reused across calls: reset, with no bindings. Not for
    /// statements that may run while another use of the same text is still stepping.
    public func cachedStatement(_ sql: String) throws -> Statement {
        if let statement = statementCache[sql] {
            statement.reset()
            return statement
        }
        let statement = try prepare(sql)
        if statementCache.count >= 64 { statementCache.removeAll() }
        statementCache[sql] = statement
        return statement
    }

    /// Forgets cached statements (after the schema changed, SQLite re-prepares them anyway).
    public func clearStatementCache() { statementCache.removeAll() }

    /// Prepares, binds and runs one statement, returning all its rows.
    public func query(_ sql: String, _ bindings: SQLBindings = .none) throws -> [[SQLValue]] {
        let statement = try prepare(sql)
        try statement.bind(bindings)
        var rows: [[SQLValue]] = []
        while try statement.step() {
            rows.append(statement.row())
        }
        return rows
    }

    /// The first column of the first row, or nil when there is no row.
    public func scalar(_ sql: String, _ bindings: SQLBindings = .none) throws -> SQLValue? {
        let statement = try cachedStatement(sql)
        defer { statement.reset() }
        try statement.bind(bindings)
        return try statement.step() ? statement.value(at: 0) : nil
    }

    public var isInTransaction: Bool { sqlite3_get_autocommit(handle) == 0 }
    /// `last_insert_rowid()`; settable so that a request on a pooled connection starts, as a
    /// fresh connection does, without the previous request's row id.
    public var lastInsertRowID: Int64 {
        get { sqlite3_last_insert_rowid(handle) }
        set { sqlite3_set_last_insert_rowid(handle, newValue) }
    }
    public var changes: Int { Int(sqlite3_changes64(handle)) }
    public var totalChanges: Int { Int(sqlite3_total_changes64(handle)) }

    /// Asks the running statement to stop at its next opportunity; safe from another thread.
    public func interrupt() { sqlite3_interrupt(handle) }

    var lastErrorMessage: String { String(cString: sqlite3_errmsg(handle)) }

    func error(code: Int32, sql: String?) -> SQLiteError {
        let offset = sqlite3_error_offset(handle)
        var error = SQLiteError(
            code: ResultCode(rawValue: code), message: lastErrorMessage, sql: sql,
            offset: offset >= 0 ? Int(offset) : nil)
        error.refusal = pendingRefusal.take()
        return error
    }
}
