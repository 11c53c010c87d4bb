import QuiverDedupe
import QuiverEngine
import QuiverImport
import QuiverStorage

/// The shell on a database directory opened in this process.
public final class EmbeddedBackend: ShellBackend {
    private let database: Database
    public let location: String
    public let interrupter: any StatementInterrupter

    public var progressHandler: ((String) -> Void)? {
        didSet {
            database.progressHandler = progressHandler.map { report in
                { progress in
                    report(progress.total > 0
                        ? "\(progress.phase) \(Int(progress.fraction * 100))% (\(progress.done)/\(progress.total))"
                        : "\(progress.phase) \(progress.done)")
                }
            }
        }
    }

    public init(path: String) throws {
        database = try Database(path: path)
        location = "database \(path)"
        interrupter = DatabaseInterrupter(database: database)
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

    public func load(into table: String, columns: [String], rows: [[SQLValue]], create: String?,
                     progress: @escaping (Int) -> Void) throws -> Int {
        let insert = "INSERT INTO \(quotedIdentifier(table)) (\(columns.map(quotedIdentifier).joined(separator: ", "))) VALUES (\(columns.map { _ in "?" }.joined(separator: ", ")))"
        _ = try execute("BEGIN IMMEDIATE")
        do {
            if let create { _ = try execute(create) }
            var done = 0
            while done < rows.count {
                let batch = rows[done..<min(done + 5_000, rows.count)]
                do {
                    try database.executeMany(insert, batch.map { SQLBindings($0) })
                } catch let error as Database.StatementError where error.unit == "binding set" {
                    throw StatementFailure(message: error.underlying.message, row: done + error.statementIndex)
                } catch let error as SQLiteError {
                    throw StatementFailure(message: error.message)
                }
                done += batch.count
                progress(done)
            }
            _ = try execute("COMMIT")
            return rows.count
        } catch {
            _ = try? execute("ROLLBACK")
            throw error
        }
    }
}

/// `sqlite3_interrupt` may be called from any thread while the connection runs a statement;
/// this is the one operation on the Database that the Ctrl-C handler's thread performs.
private final class DatabaseInterrupter: StatementInterrupter, @unchecked Sendable {
    let database: Database
    init(database: Database) { self.database = database }
    func interrupt() { database.interrupt() }
}

/// `.import` and `.export` on a database in this process go through QuiverImport, as
/// `quiver import` and `quiver export` do: type inference for new tables, vectors, upserts by
/// key, one transaction, a bad record named by file and line, indexes rebuilt in bulk.
extension EmbeddedBackend: FileTransfer {
    func importFile(_ path: String, into table: String, progress: @escaping (String) -> Void) throws -> String {
        let options = ImportOptions(table: table, inputPath: path)
        let summary = try Importer(database: database, options: options).run { step in
            progress(ImportProgressText.render(step, width: 60))
        }
        return summary.text
    }

    func exportTable(_ table: String, to path: String, format: ExportOptions.Format) throws -> String {
        var options = ExportOptions(table: table)
        options.format = format
        options.outputPath = path
        let rows = try Exporter(database: database, options: options).run()
        return "exported \(rows) rows of \(table) to \(path)"
    }
}
