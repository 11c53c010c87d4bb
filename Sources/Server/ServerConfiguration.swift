import Foundation

/// How `quiver serve` listens, whom it lets in and how much it accepts.
public struct ServerConfiguration: Sendable {
    /// The database directory.
    public var databasePath: String
    /// TCP address; nil when serving on the Unix socket only.
    public var host: String? = "127.0.0.1"
    public var port = 7070
    /// A Unix domain socket path to listen on (as well as TCP when `host` is set).
    public var socketPath: String?
    /// Bearer token that grants everything; nil: no authentication (loopback use).
    public var token: String?
    /// Bearer token that grants queries and read-only SQL.
    public var readToken: String?
    public var limits = RequestLimits()
    /// Extra Host names and the web origins let in (see BrowserGuardMiddleware).
    public var browsers = BrowserPolicy()
    /// Seconds requests in flight get to finish after SIGTERM/SIGINT before they are stopped (503).
    public var shutdownGrace: Double = 10
    /// Reader connections (threads); queries beyond this many wait their turn.
    public var readers = max(2, ProcessInfo.processInfo.activeProcessorCount * 2)

    public init(databasePath: String) {
        self.databasePath = databasePath
    }
}

/// Upper bounds on what one request may ask for; beyond them the answer is 413.
public struct RequestLimits: Sendable {
    /// Bytes of a request body.
    public var maxBodyBytes = 64 << 20
    /// Rows in one upsert, get or delete.
    public var maxBatchRows = 10_000
    /// Queries in one batch request.
    public var maxBatchQueries = 1_000
    /// k of one nearest-neighbour query.
    public var maxK = 10_000
    /// Bytes of the results of one request's SQL (roughly, as JSON); past it the answer is 413.
    public var maxResponseBytes = 64 << 20
    /// Bytes of one SQL text.
    public var maxSQLBytes = 1 << 20
    /// Seconds a client may take to send a request's head, and then its body; a kept-alive
    /// connection idle for as long is closed.
    public var readTimeout: Double = 30
    /// Seconds one request's database work may take before it is interrupted (503); 0: no limit.
    public var statementTimeout: Double = 300

    public init() {}
}
