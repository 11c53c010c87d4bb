import Foundation
import Hummingbird
import QuiverEngine

/// What every route handler shares: the connections, the limits and the metrics.
struct ServerServices: Sendable {
    let pool: DatabasePool
    let limits: RequestLimits
    let metrics: ServerMetrics
    let checkpoints: IndexCheckpointHealth

    /// Runs `body` on a reader; errors become API errors that can name what SQLite refused.
    func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await pool.read { database in
            do { return try body(database) } catch { throw apiError(error) }
        }
    }

    /// Runs `body` on the writer, after every write submitted before it.
    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await pool.write { [checkpoints] database in
            defer { checkpoints.record(database.checkpointError) }
            do { return try body(database) } catch { throw apiError(error) }
        }
    }

    /// Errors as API errors; results past --max-response-bytes, as a whole or one value, are 413.
    private func apiError(_ error: any Error) -> APIError {
        APIError.from(error, responseLimit: limits.maxResponseBytes)
    }

    /// A table name from the path, percent-decoded.
    static func tableName(_ context: ServerContext) throws -> String {
        let raw = try context.parameters.require("table")
        return raw.removingPercentEncoding ?? raw
    }

    func checkBatch(_ count: Int, _ what: String) throws {
        if count > limits.maxBatchRows {
            throw APIError.tooLarge("\(count) \(what) in one request; the limit is \(limits.maxBatchRows)")
        }
    }
}
