import QuiverDedupe
import QuiverEngine
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

    public func insert(_ sql: String, rows: [[SQLValue]]) throws -> Int {
        do {
            return try database.executeMany(sql, rows.map { SQLBindings($0) })
        } catch let error as Database.StatementError where error.unit == "binding set" {
            throw StatementFailure(message: error.underlying.message, row: error.statementIndex)
        } catch let error as SQLiteError {
            throw StatementFailure(message: error.message)
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
