/// A statement's failure: SQLite's result code and message and, where known, where in the
/// statement it lies; when Quiver's own check refused the statement, `refusal` says which.
/// Decisions on a failure match `code` (see `ResultCode`) or `refusal`, never `message`.
public struct SQLiteError: Error, CustomStringConvertible, Sendable {
    /// SQLite's extended result code when it gave one, else the primary code.
    public var code: ResultCode
    public var message: String
    /// Quiver's reason, when Quiver rather than SQLite refused (in its code or its SQL functions).
    public var refusal: QuiverError?
    /// The statement that failed, when there is one.
    public var sql: String?
    /// Byte offset into `sql` where parsing stopped, when SQLite or the vector parser knows it.
    public var offset: Int?

    public init(code: ResultCode = .SQLITE_ERROR, message: String, sql: String? = nil, offset: Int? = nil) {
        self.code = code
        self.message = message
        self.sql = sql
        self.offset = offset
    }

    /// A statement refused by Quiver's own check, with the refusal's message and offset.
    public init(_ refusal: QuiverError, sql: String? = nil) {
        self.init(message: refusal.description, sql: sql, offset: refusal.offset)
        self.refusal = refusal
    }

    public var description: String { message }

    /// What SQLite reports for a statement stopped by `sqlite3_interrupt`, for Quiver's own
    /// long loops stopped the same way.
    public static var interrupted: SQLiteError { SQLiteError(code: .SQLITE_INTERRUPT, message: "interrupted") }

    /// True when `sqlite3_interrupt` (a cancel, a time limit, shutdown) stopped the statement.
    public var isInterrupt: Bool { ResultCode.SQLITE_INTERRUPT ~= code }

    /// True for "database is locked"/"busy" failures that a caller may retry.
    public var isBusy: Bool { ResultCode.SQLITE_BUSY ~= code || ResultCode.SQLITE_LOCKED ~= code }

    /// True when a constraint (NOT NULL, UNIQUE, CHECK, a vector check) refused the change.
    public var isConstraint: Bool { ResultCode.SQLITE_CONSTRAINT ~= code }
}
