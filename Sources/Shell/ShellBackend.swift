import Foundation
import QuiverImport
import QuiverStorage

/// What the shell talks to: an embedded database or a running `quiver serve`. Everything the
/// shell shows (meta-commands, completion) goes through `execute`, so both behave alike.
public protocol ShellBackend: AnyObject {
    /// Where the shell is connected, for the banner ("database quiver-data", "server …").
    var location: String { get }

    /// Runs the statements of `sql` and returns the rows of those that return rows.
    /// Failures are `StatementFailure`s where the backend knows the position.
    func execute(_ sql: String) throws -> [ResultSet]

    /// Creates the table with `create` (when given) and inserts `rows` into `columns`, all in one
    /// transaction; `progress` hears how many rows are in. A row that fails is a
    /// `StatementFailure` with its 1-based `row`, when the backend knows it.
    func load(into table: String, columns: [String], rows: [[SQLValue]], create: String?,
              progress: @escaping (Int) -> Void) throws -> Int

    /// Told, on the thread running a long statement (DEDUPE), what it has done so far
    /// ("comparing blocks 40% (4/10)"), for the progress line.
    var progressHandler: ((String) -> Void)? { get set }

    /// What went wrong after the last statement without failing it: the index checkpoint after
    /// its commit (the rows are committed and the index stays correct; the next commit retries).
    var warning: String? { get }

    /// Cancels the running statement; safe to call from another thread (the Ctrl-C handler).
    var interrupter: any StatementInterrupter { get }
}

/// A backend that reads and writes data files itself (the embedded database, through
/// QuiverImport); others get the shell's own CSV/JSONL loading through `load`.
protocol FileTransfer {
    /// Loads `path` into `table`; returns the summary for the user. `progress` hears how it goes.
    func importFile(_ path: String, into table: String, progress: @escaping (String) -> Void) throws -> String
    func exportTable(_ table: String, to path: String, format: ExportOptions.Format) throws -> String
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

/// An SQL quoted identifier.
func quotedIdentifier(_ name: String) -> String {
    quoteIdentifier(name)
}
