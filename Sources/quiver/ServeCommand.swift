import ArgumentParser
import Foundation
import QuiverServer

struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the database over HTTP/1.1 + JSON, on TCP (loopback by default) and/or a Unix socket.",
        discussion: """
        Endpoints: /health, /metrics, /tables, /tables/{t}, /tables/{t}/rows[/get|/delete], \
        /tables/{t}/query[/batch], /tables/{t}/hybrid, /sql (Schemas/quiver-api.openapi.json). \
        With --token (or $QUIVER_TOKEN) every request but GET /health needs 'Authorization: Bearer <token>'; \
        --read-token grants queries and read-only SQL only. SIGTERM or SIGINT finishes requests in flight and exits.
        """)

    @OptionGroup var database: DatabaseOption

    @Option(name: .long, help: "Address to listen on (default 127.0.0.1; 0.0.0.0 or :: to listen beyond this machine).")
    var host: String?

    @Option(name: .long, help: "TCP port (default 7070; 0 picks a free one, printed on start).")
    var port: Int?

    @Option(name: .long, help: "Listen on this Unix domain socket (only there, unless --host or --port is given too).")
    var socket: String?

    @Option(name: .long, help: "Bearer token required on every request but GET /health (default: $QUIVER_TOKEN).")
    var token: String?

    @Option(name: .customLong("read-token"), help: "Bearer token that grants queries and read-only SQL only (default: $QUIVER_READ_TOKEN).")
    var readToken: String?

    @Option(name: .customLong("max-body-bytes"), help: "Largest request body accepted (default 67108864); larger gets 413.")
    var maxBodyBytes: Int?

    @Option(name: .customLong("max-batch-rows"), help: "Most rows or ids in one request (default 10000).")
    var maxBatchRows: Int?

    @Option(name: .customLong("max-batch-queries"), help: "Most queries in one batch request (default 1000).")
    var maxBatchQueries: Int?

    @Option(name: .customLong("max-k"), help: "Largest k of a query (default 10000).")
    var maxK: Int?

    @Option(name: .customLong("max-response-bytes"), help: "Largest results of one request's SQL, counted as JSON (default 67108864); larger gets 413.")
    var maxResponseBytes: Int?

    @Option(name: .customLong("statement-timeout"), help: "Seconds a request's SQL may run before it is stopped with 503 (default 300; 0: no limit).")
    var statementTimeout: Double?

    @Option(name: .long, help: "Reader connections (default: twice the number of cores, at least 2).")
    var readers: Int?

    func validate() throws {
        if let port, !(0...65535).contains(port) { throw ValidationError("--port must be between 0 and 65535") }
        for (name, value) in [("--max-body-bytes", maxBodyBytes), ("--max-batch-rows", maxBatchRows),
                              ("--max-batch-queries", maxBatchQueries), ("--max-k", maxK), ("--readers", readers),
                              ("--max-response-bytes", maxResponseBytes)] {
            if let value, value < 1 { throw ValidationError("\(name) must be at least 1") }
        }
        if let token, token.isEmpty { throw ValidationError("--token must not be empty") }
        if let statementTimeout, !(statementTimeout >= 0) { throw ValidationError("--statement-timeout must be 0 or more seconds") }
    }

    func run() throws {
        let environment = ProcessInfo.processInfo.environment
        var configuration = ServerConfiguration(databasePath: database.path)
        // A socket alone means the socket only; a host or port given as well means both.
        configuration.host = host ?? (socket != nil && port == nil ? nil : "127.0.0.1")
        configuration.port = port ?? 7070
        configuration.socketPath = socket
        configuration.token = token ?? environment["QUIVER_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        configuration.readToken = readToken ?? environment["QUIVER_READ_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        if let maxBodyBytes { configuration.limits.maxBodyBytes = maxBodyBytes }
        if let maxBatchRows { configuration.limits.maxBatchRows = maxBatchRows }
        if let maxBatchQueries { configuration.limits.maxBatchQueries = maxBatchQueries }
        if let maxK { configuration.limits.maxK = maxK }
        if let maxResponseBytes { configuration.limits.maxResponseBytes = maxResponseBytes }
        if let readers { configuration.readers = readers }
        if let statementTimeout { configuration.limits.statementTimeout = statementTimeout }

        // The root command is synchronous; the server runs in a task while this thread waits.
        let outcome = Outcome()
        let finished = DispatchSemaphore(value: 0)
        let settings = configuration
        Task {
            do {
                // Written unbuffered: scripts and tests wait for this line to learn the port.
                try await QuiverServer.run(settings) { line in
                    FileHandle.standardOutput.write(Data((line + "\n").utf8))
                }
            } catch {
                outcome.error = error
            }
            finished.signal()
        }
        finished.wait()
        if let error = outcome.error { throw error }
    }

    private final class Outcome: @unchecked Sendable {
        var error: (any Error)?
    }
}
