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
            --read-token grants queries and read-only SQL only. \
            Web pages are kept out: request bodies must be application/json, requests with an Origin header are refused \
            unless --allow-origin names it, and on TCP the Host must be localhost, an IP address, the --host value or an \
            --allow-host name (the Unix socket does not check Host). SIGTERM or SIGINT finishes requests in flight (stopping those still running after --shutdown-grace) and exits.
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

    @Option(
        name: .customLong("read-token"),
        help: "Bearer token that grants queries and read-only SQL only (default: $QUIVER_READ_TOKEN).")
    var readToken: String?

    @Option(
        name: .customLong("max-body-bytes"), help: "Largest request body accepted (default 67108864); larger gets 413.")
    var maxBodyBytes: Int?

    @Option(name: .customLong("max-batch-rows"), help: "Most rows or ids in one request (default 10000).")
    var maxBatchRows: Int?

    @Option(name: .customLong("max-batch-queries"), help: "Most queries in one batch request (default 1000).")
    var maxBatchQueries: Int?

    @Option(name: .customLong("max-k"), help: "Largest k of a query (default 10000).")
    var maxK: Int?

    @Option(
        name: .customLong("max-response-bytes"),
        help: "Largest results of one request's SQL, counted as JSON (default 67108864); larger gets 413.")
    var maxResponseBytes: Int?

    @Option(
        name: .customLong("statement-timeout"),
        help: "Seconds a request's SQL may run before it is stopped with 503 (default 300; 0: no limit).")
    var statementTimeout: Double?

    @Option(
        name: .customLong("read-timeout"),
        help:
            "Seconds a client may take to send a request's head, and as long again for its body; an idle kept-alive connection is closed after as long (default 30)."
    )
    var readTimeout: Double?

    @Option(
        name: .customLong("shutdown-grace"),
        help:
            "Seconds requests in flight get to finish after SIGTERM or SIGINT before they are stopped with 503 (default 10)."
    )
    var shutdownGrace: Double?

    @Option(name: .long, help: "Reader connections (default: twice the number of cores, at least 2).")
    var readers: Int?

    @Option(
        name: .customLong("allow-host"),
        help: ArgumentHelp(
            "Accept this Host name on TCP besides localhost, IP addresses and --host (repeatable); other names get 421, so DNS rebinding cannot reach the server.",
            valueName: "name"))
    var allowHost: [String] = []

    @Option(
        name: .customLong("allow-origin"),
        help: ArgumentHelp(
            "Let web pages of this origin (scheme://host[:port]) call the API, with CORS (repeatable); requests from any other page get 403.",
            valueName: "origin"))
    var allowOrigin: [String] = []

    func validate() throws {
        if let port, !(0...65535).contains(port) { throw ValidationError("--port must be between 0 and 65535") }
        for (name, value) in [
            ("--max-body-bytes", maxBodyBytes), ("--max-batch-rows", maxBatchRows),
            ("--max-batch-queries", maxBatchQueries), ("--max-k", maxK), ("--readers", readers),
            ("--max-response-bytes", maxResponseBytes),
        ] {
            if let value, value < 1 { throw ValidationError("\(name) must be at least 1") }
        }
        if let token, token.isEmpty { throw ValidationError("--token must not be empty") }
        if let readToken, readToken.isEmpty { throw ValidationError("--read-token must not be empty") }
        for origin in allowOrigin.map(Self.bareOrigin)
        where !(origin.hasPrefix("http://") || origin.hasPrefix("https://")) || origin.dropFirst(8).contains("/") {
            throw ValidationError(
                "--allow-origin \(origin): give an origin as a browser sends it, scheme://host[:port] (e.g. http://localhost:3000)"
            )
        }
        for name in allowHost where name.isEmpty || name.contains("/") {
            throw ValidationError("--allow-host '\(name)': give a host name (e.g. quiver.internal)")
        }
        if let readTimeout, !(readTimeout > 0 && readTimeout <= 86_400) {
            throw ValidationError("--read-timeout must be more than 0 and at most 86400 seconds")
        }
        if let shutdownGrace, !(shutdownGrace >= 0 && shutdownGrace <= 86_400) {
            throw ValidationError("--shutdown-grace must be 0 to 86400 seconds")
        }
        if let statementTimeout, !(statementTimeout >= 0) {
            throw ValidationError("--statement-timeout must be 0 or more seconds")
        }
    }

    func run() throws {
        let environment = ProcessInfo.processInfo.environment
        var configuration = ServerConfiguration(databasePath: database.path)
        // A socket alone means the socket only; a host or port given as well means both.
        configuration.host = host ?? (socket != nil && port == nil ? nil : "127.0.0.1")
        configuration.port = port ?? 7070
        configuration.socketPath = socket
        // Set but empty is refused, not read as "no token": a mistake must not open the server.
        for (variable, option) in [("QUIVER_TOKEN", token), ("QUIVER_READ_TOKEN", readToken)]
        where option == nil && environment[variable]?.isEmpty == true {
            throw ValidationError("\(variable) is set but empty; unset it to serve without a token, or give it a value")
        }
        configuration.token = token ?? environment["QUIVER_TOKEN"]
        configuration.readToken = readToken ?? environment["QUIVER_READ_TOKEN"]
        if let readToken = configuration.readToken, readToken == configuration.token {
            throw ValidationError(
                "the read token is the same as the token, so its holders could write: give --read-token (or QUIVER_READ_TOKEN) a different value"
            )
        }
        configuration.browsers.allowedHosts = Set(allowHost.map(BrowserPolicy.hostName))
        configuration.browsers.allowedOrigins = Set(allowOrigin.map(Self.bareOrigin))
        if let maxBodyBytes { configuration.limits.maxBodyBytes = maxBodyBytes }
        if let maxBatchRows { configuration.limits.maxBatchRows = maxBatchRows }
        if let maxBatchQueries { configuration.limits.maxBatchQueries = maxBatchQueries }
        if let maxK { configuration.limits.maxK = maxK }
        if let maxResponseBytes { configuration.limits.maxResponseBytes = maxResponseBytes }
        if let readers { configuration.readers = readers }
        if let statementTimeout { configuration.limits.statementTimeout = statementTimeout }
        if let readTimeout { configuration.limits.readTimeout = readTimeout }
        if let shutdownGrace { configuration.shutdownGrace = shutdownGrace }

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

    /// An origin as browsers send it: no trailing slash.
    private static func bareOrigin(_ origin: String) -> String {
        origin.hasSuffix("/") ? String(origin.dropLast()) : origin
    }

    private final class Outcome: @unchecked Sendable {
        var error: (any Error)?
    }
}
