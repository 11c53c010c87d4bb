import Foundation
import QuiverImport
import QuiverProgress
import QuiverStorage

/// What the shell talks to: an embedded database or a running `quiver serve`. Everything the
/// shell shows (meta-commands, completion) goes through `execute`, so both behave alike.
public protocol ShellBackend: AnyObject {
    /// Where the shell is connected, for the banner ("database quiver-data", "server …").
    var location: String { get }

    /// Runs the statements of `sql` and returns the rows of those that return rows.
    /// Failures are `StatementFailure`s where the backend knows the position.
    func execute(_ sql: String) throws -> [ResultSet]

    /// `.import`: loads a JSONL, CSV or TSV file (gzipped too) into `table` as `quiver import`
    /// does — a missing table created with inferred types, rows upserted by key, all or nothing,
    /// a bad record named by file and line — and returns the summary. `progress` hears how it
    /// goes, as `Importer` reports it (the shell draws it with `ImportProgressText`).
    func importFile(_ path: String, into table: String, progress: @escaping (QuiverProgress.Progress) -> Void) throws
        -> String

    /// `.export`: writes `table` as `quiver export` does (each value as import reads it back);
    /// returns the summary.
    func exportTable(_ table: String, to path: String, format: ExportOptions.Format) throws -> String

    /// Told, on the thread running a long statement (DEDUPE, an index build), how far it has
    /// got, for the progress line.
    var progressHandler: ((QuiverProgress.Progress) -> Void)? { get set }

    /// What went wrong after the last statement without failing it: the index checkpoint after
    /// its commit (the rows are committed and the index stays correct; the next commit retries).
    var warning: String? { get }

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

    public init(message: String, offset: Int? = nil) {
        self.message = message
        self.offset = offset
    }

    public var description: String { message }
}
