import QuiverStorage

/// What the shell talks to: an embedded database or a running `quiver serve`. Everything the
/// shell shows (meta-commands, completion) goes through `execute`, so both behave alike.
public protocol ShellBackend: AnyObject {
    /// Where the shell is connected, for the banner ("database quiver-data", "server …").
    var location: String { get }

    /// Runs the statements of `sql` and returns the rows of those that return rows.
    /// Failures are `StatementFailure`s where the backend knows the position.
    func execute(_ sql: String) throws -> [ResultSet]

    /// Runs one INSERT once per row of values, all or nothing; returns the rows written.
    func insert(_ sql: String, rows: [[SQLValue]]) throws -> Int

    /// Told, on the thread running a long statement (DEDUPE), what it has done so far
    /// ("comparing blocks 40% (4/10)"), for the progress line.
    var progressHandler: ((String) -> Void)? { get set }

    /// Cancels the running statement; safe to call from another thread (the Ctrl-C handler).
    var interrupter: any StatementInterrupter { get }
}

public protocol StatementInterrupter: Sendable {
    func interrupt()
}

/// A statement's error with the byte offset in the statement's text where it was detected.
public struct StatementFailure: Error, CustomStringConvertible {
    public var message: String
    public var offset: Int?
    /// For `insert`: the 1-based row that failed.
    public var row: Int?

    public init(message: String, offset: Int? = nil, row: Int? = nil) {
        self.message = message
        self.offset = offset
        self.row = row
    }

    public var description: String { message }
}
