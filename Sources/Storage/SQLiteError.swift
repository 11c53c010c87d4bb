import CSQLite

/// An error reported by SQLite or by Quiver's own checks on a statement.
public struct SQLiteError: Error, CustomStringConvertible, Sendable {
    /// SQLite's primary or extended result code (SQLITE_ERROR for Quiver's own checks).
    public var code: Int32
    public var message: String
    /// The statement that failed, when there is one.
    public var sql: String?
    /// Byte offset into `sql` where parsing stopped, when SQLite or the vector parser knows it.
    public var offset: Int?

    public init(code: Int32 = SQLITE_ERROR, message: String, sql: String? = nil, offset: Int? = nil) {
        self.code = code
        self.message = message
        self.sql = sql
        self.offset = offset
    }

    public var description: String { message }

    /// What SQLite reports for a statement stopped by `sqlite3_interrupt`, for Quiver's own
    /// long loops stopped the same way.
    public static var interrupted: SQLiteError { SQLiteError(code: SQLITE_INTERRUPT, message: "interrupted") }

    /// True when `sqlite3_interrupt` (a cancel, a time limit, shutdown) stopped the statement.
    public var isInterrupt: Bool { code & 0xff == SQLITE_INTERRUPT }

    /// True for "database is locked"/"busy" failures that a caller may retry.
    public var isBusy: Bool { code & 0xff == SQLITE_BUSY || code & 0xff == SQLITE_LOCKED }

    /// True when a constraint (NOT NULL, UNIQUE, CHECK, a vector check) refused the change.
    public var isConstraint: Bool { code & 0xff == SQLITE_CONSTRAINT }
}
