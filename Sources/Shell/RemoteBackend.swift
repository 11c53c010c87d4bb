import Dispatch
import Foundation
import QuiverClient
import QuiverJSON
import QuiverProgress
import QuiverQuery
import QuiverStorage

/// The shell on a running `quiver serve` (TCP or Unix socket, bearer token), through
/// `QuiverClient`. Each statement is one `POST /sql` request, and so its own transaction.
///
/// Requests run on a worker queue so that Ctrl-C can return to the prompt at once: the server
/// has no way to cancel a statement, so the request is abandoned (its connection closed when it
/// ends) and the shell says the server may still finish it; later requests use a new connection.
public final class RemoteBackend: ShellBackend {
    public let location: String
    /// The server reports its own checkpoint failures (its log, GET /health).
    public var warning: String? { nil }
    /// The server does not report a statement's progress; kept for the protocol.
    public var progressHandler: ((QuiverProgress.Progress) -> Void)?
    public var interrupter: any StatementInterrupter { cancel }

    private let url: String
    private let token: String?
    private var session: Session
    private let cancel = CancellationFlag()

    /// Checks the server answers before the shell starts.
    public init(url: String, token: String?) throws {
        self.url = url
        self.token = token
        location = "server \(url)"
        session = try Session(url: url, token: token)
        _ = try perform { client in try client.sql("SELECT 1") }
    }

    public func execute(_ sql: String) throws -> [ResultSet] {
        // The server runs each request on whichever pooled connection is free and commits it, so
        // a transaction cannot span requests; saying so beats a BEGIN that silently means nothing.
        if let control = StatementSplitter.split(sql).first(where: {
            Self.transactionControl.contains($0.leadingKeyword)
        }) {
            throw StatementFailure(
                message:
                    "\(control.leadingKeyword): over --connect every statement is its own transaction, so BEGIN … COMMIT cannot group statements; use quiver shell --db on the server's machine for that",
                offset: control.significant.first?.offset)
        }
        // A SET lasts for its request on the server, so the shell keeps the session's value and
        // sends it ahead of each later statement: SET keeps the meaning it has in the embedded shell.
        let statements = StatementSplitter.split(sql)
        if statements.count == 1,
            case .setEfSearch(let value, local: false)? = try? IndexStatement.parse(
                statements[0], isQuiverIndex: { _ in false })
        {
            let sets = try perform { client in try client.sql(sql) }
            efSearch = value
            return sets.map(Self.resultSet)
        }
        let prefix = efSearch.map { "SET hnsw.ef_search = \($0);\n" } ?? ""
        let request = prefix + sql
        do {
            return try perform(sentAhead: !prefix.isEmpty) { client in try client.sql(request) }.map(Self.resultSet)
        } catch var failure as StatementFailure where !prefix.isEmpty {
            // Said of the statement as the user wrote it, not of the script sent.
            failure.offset = failure.offset.map { max(0, $0 - prefix.utf8.count) }
            throw failure
        }
    }

    /// The session's `SET hnsw.ef_search`, nil after RESET.
    private var efSearch: Int?

    private static func resultSet(_ set: QuiverClient.ResultSet) -> ResultSet {
        ResultSet(columns: set.columns, rows: set.rows.map { $0.map(Self.value) })
    }

    /// Runs `work` on the session's worker and waits, returning early when Ctrl-C is pressed.
    func perform<T>(sentAhead: Bool = false, _ work: @escaping @Sendable (QuiverClient) throws -> T) throws -> T {
        cancel.clear()
        let session = self.session
        let outcome = Outcome<T>()
        let done = DispatchSemaphore(value: 0)
        session.queue.async {
            outcome.set(Result { try work(session.client) })
            done.signal()
        }
        while done.wait(timeout: .now() + .milliseconds(50)) == .timedOut {
            if cancel.isRaised {
                session.queue.async { session.client.close() }
                self.session = try Session(url: url, token: token)
                throw StatementFailure(
                    message: "interrupted: the request was abandoned; the server may still finish the statement")
            }
        }
        switch outcome.get()! {
        case .success(let value): return value
        case .failure(let error as ClientError): throw Self.failure(error, sentAhead: sentAhead)
        case .failure(let error): throw error
        }
    }

    /// The server's account of a failed statement: its message, numbered as the script was
    /// written (not when the shell put a SET ahead of it), and the position for the caret.
    static func failure(_ error: ClientError, sentAhead: Bool = false) -> StatementFailure {
        guard let sql = error.sql else {
            return StatementFailure(message: error.status == nil ? "server \(error.message)" : error.message)
        }
        let number = sentAhead ? "" : sql.statement.map { "statement \($0): " } ?? ""
        return StatementFailure(message: number + sql.message, offset: sql.offset)
    }

    /// The server's JSON for a value, back to the SQL value it stands for: arrays of numbers
    /// are vectors, `{"base64": …}` blobs.
    static func value(_ json: JSONValue) -> SQLValue {
        switch json {
        case .null: return .null
        case .bool(let b): return .integer(b ? 1 : 0)
        case .integer(let n): return .integer(n)
        case .number(let x): return .real(x)
        case .string(let s): return .text(s)
        case .array(let items):
            let numbers = items.compactMap(\.doubleValue)
            return numbers.count == items.count ? .vector(numbers.map { Float($0) }) : .text(json.jsonText)
        case .floats(let floats):
            return .vector(floats)
        case .object(let fields):
            if fields.count == 1, let base64 = fields["base64"]?.stringValue, let data = Data(base64Encoded: base64) {
                return .blob(Array(data))
            }
            return .text(json.jsonText)
        }
    }

    static let transactionControl: Set<String> = ["BEGIN", "COMMIT", "END", "ROLLBACK", "SAVEPOINT", "RELEASE"]

    /// One client and the serial queue that owns it (QuiverClient serves one thread at a time).
    private final class Session: @unchecked Sendable {
        let client: QuiverClient
        let queue = DispatchQueue(label: "quiver.shell.remote")
        init(url: String, token: String?) throws {
            // A statement may run for long; the shell waits as long as the user does.
            client = try QuiverClient(url: url, token: token, timeout: 24 * 3600)
        }
    }

    private final class Outcome<T>: @unchecked Sendable {
        private let lock = NSLock()
        private var result: Result<T, Error>?
        func set(_ value: Result<T, Error>) {
            lock.lock()
            result = value
            lock.unlock()
        }
        func get() -> Result<T, Error>? {
            lock.lock()
            defer { lock.unlock() }
            return result
        }
    }
}

/// Ctrl-C for a remote statement: raises the flag the waiting shell checks.
extension CancellationFlag: StatementInterrupter {
    public func interrupt() { raise() }
}
