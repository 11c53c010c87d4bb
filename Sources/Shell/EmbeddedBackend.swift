import Foundation
import QuiverDedupe
import QuiverEngine
import QuiverImport
import QuiverProgress
import QuiverStorage

/// The shell on a database directory opened in this process.
public final class EmbeddedBackend: ShellBackend {
    private let database: Database
    public let location: String
    public let interrupter: any StatementInterrupter

    public var progressHandler: ((QuiverProgress.Progress) -> Void)? {
        get { database.progressHandler }
        set { database.progressHandler = newValue }
    }

    private let importInterrupter: DatabaseInterrupter

    public init(path: String) throws {
        database = try Database(path: path)
        location = "database \(path)"
        importInterrupter = DatabaseInterrupter(database: database)
        interrupter = importInterrupter
    }

    public var warning: String? {
        database.checkpointError.map {
            "the index checkpoint after this commit failed; the rows are committed and the index stays correct from its change log, and the next commit tries again: \($0)"
        }
    }

    public func execute(_ sql: String) throws -> [ResultSet] {
        do {
            return try database.execute(sql)
        } catch let error as Database.StatementError {
            throw StatementFailure(message: error.description, offset: error.underlying.offset)
        } catch let error as SQLiteError {
            throw StatementFailure(message: error.message, offset: error.offset)
        }
    }
}

/// `sqlite3_interrupt` may be called from any thread while the connection runs a statement;
/// this is the one operation on the Database that the Ctrl-C handler's thread performs.
///
/// An import spends most of its time parsing, between SQLite steps, where `sqlite3_interrupt` has
/// nothing to stop (it does not carry over to the next statement). So while one runs, Ctrl-C is
/// repeated every few milliseconds until the import ends, which lands it in the next write; the
/// import then stops and rolls back. (Calling it when no statement runs is a no-op.)
private final class DatabaseInterrupter: StatementInterrupter, @unchecked Sendable {
    let database: Database
    private let lock = NSLock()
    private var importing = false

    init(database: Database) { self.database = database }

    func begin() { lock.withLock { importing = true } }
    func end() { lock.withLock { importing = false } }
    private var isImporting: Bool { lock.withLock { importing } }

    func interrupt() {
        database.interrupt()
        guard isImporting else { return }
        DispatchQueue.global().async {
            while self.isImporting {
                self.database.interrupt()
                usleep(2_000)
            }
        }
    }
}

/// `.import` and `.export` on a database in this process go through QuiverImport, as
/// `quiver import` and `quiver export` do: type inference for new tables, vectors, upserts by
/// key, one transaction, a bad record named by file and line, indexes rebuilt in bulk.
extension EmbeddedBackend {
    public func importFile(
        _ path: String, into table: String, progress: @escaping (QuiverProgress.Progress) -> Void
    ) throws -> String {
        let options = ImportOptions(table: table, inputPath: path)
        importInterrupter.begin()
        defer { importInterrupter.end() }
        do {
            let summary = try Importer(database: database, options: options).run(progress: progress)
            return summary.text
        } catch ImportError.interrupted(let file, let line) {
            throw StatementFailure(message: "interrupted at \(file):\(line); nothing was loaded")
        }
    }

    public func exportTable(_ table: String, to path: String, format: ExportOptions.Format) throws -> String {
        var options = ExportOptions(table: table)
        options.format = format
        options.outputPath = path
        let rows = try Exporter(database: database, options: options).run()
        return "exported \(rows) rows of \(table) to \(path)"
    }
}
