import ArgumentParser
import Foundation
import QuiverClient
import QuiverKernels

/// Readers and a writer through `quiver serve`, for a bounded time: one writer thread and
/// `--readers` reader threads (half over TCP, half over the Unix socket) on one database, with
/// the server killed with SIGKILL `--kills` times while the writer is mid-stream (the last at the
/// end) and started again on the same database. The invariants (RELIABILITY.md): no torn read,
/// no lost acknowledged write, nothing deleted back, no deadlock; after every restart the
/// database holds every acknowledged write and the index finds the rows.
@main
struct Stress: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quiver-stress",
        abstract:
            "Readers and a writer through quiver serve, with kill -9 and restart; checks what they see and what survives.",
        discussion: """
            Starts `quiver serve` on a new database (or, with --url/--socket, uses a running server, without kills), \
            creates (replacing) the tables stress_accounts, stress_transfers, stress_items and stress_batches, and runs \
            the workload. Prints the tallies and the problems found; exits 1 when any invariant was violated.
            """)

    @Option(help: "How long the readers and the writer run, in seconds.")
    var seconds: Double = 30

    @Option(help: "Reader threads (half over TCP, half over the Unix socket).")
    var readers = 4

    @Option(
        help:
            "Times the server is killed with SIGKILL and restarted, evenly spread, the last at the end (default 1; 0 for none)."
    )
    var kills: Int?

    @Option(help: "The seed of the writer's choices and the readers' picks.")
    var seed: UInt64 = 1

    @Option(help: "The quiver executable (default: the one beside this tool).")
    var quiver: String?

    @Option(help: "Use the server running at this URL (http://HOST:PORT) instead of starting one.")
    var url: String?

    @Option(help: "Use the running server's Unix socket at this path instead of starting one.")
    var socket: String?

    @Option(help: "Bearer token for a running server (default: $QUIVER_TOKEN).")
    var token: String?

    @Option(help: "Seconds before a request without an answer fails.")
    var requestTimeout: Double = 30

    @Option(help: "Seconds without progress, in any thread, that count as a deadlock.")
    var stallSeconds: Double = 60

    @Option(help: "Work directory (default: a new temporary one, removed at the end unless a check fails).")
    var directory: String?

    func validate() throws {
        if seconds <= 0 { throw ValidationError("--seconds must be positive") }
        if readers < 1 { throw ValidationError("--readers must be at least 1") }
        if (url != nil || socket != nil) && (kills ?? 0) > 0 {
            throw ValidationError("--kills needs a server this tool starts (no --url or --socket)")
        }
        if let kills, kills < 0 { throw ValidationError("--kills must be 0 or more") }
    }

    func run() throws {
        let targeting = url != nil || socket != nil
        let kills = self.kills ?? (targeting ? 0 : 1)
        let token = self.token ?? ProcessInfo.processInfo.environment["QUIVER_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        let work =
            directory
            ?? (NSTemporaryDirectory() as NSString).appendingPathComponent(
                "quiver-stress-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)

        let child: ServerChild?
        var endpoints = Ledger.Endpoints(tcpPort: nil, socketPath: socket)
        if targeting {
            child = nil
            if let url, case .tcp(let host, let port) = try QuiverClient.endpoint(url) {
                endpoints.tcpHost = host
                endpoints.tcpPort = port
            }
        } else {
            let binary =
                quiver
                ?? URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
                .deletingLastPathComponent().appendingPathComponent("quiver").path
            guard FileManager.default.isExecutableFile(atPath: binary) else {
                throw StressError("no quiver executable at \(binary); pass --quiver")
            }
            let server = ServerChild(
                binary: binary, database: (work as NSString).appendingPathComponent("db"),
                socketPath: (work as NSString).appendingPathComponent("quiver.sock"), work: work)
            try server.start()
            child = server
            endpoints = server.endpoints
        }
        // No server of ours outlives the run, whatever ends it (after SIGTERM this does nothing).
        defer { child?.kill() }
        let ledger = Ledger(endpoints: endpoints)
        try Self.createTables(ledger: ledger, token: token, timeout: requestTimeout)

        let watchdog = Watchdog(ledger: ledger, limit: stallSeconds) { message in
            print("STALL: \(message)")
            if let pid = child?.processIdentifier {
                print("the server (pid \(pid)) is killed; its database and output are kept in \(work)")
            }
            child?.kill()
            Foundation.exit(1)
        }
        watchdog.start()

        let writer = Writer(ledger: ledger, seed: seed, token: token, timeout: requestTimeout)
        // Half over each listener; all over the one there is when a running server has only one.
        let readerThreads = (1...readers).map {
            Reader(
                number: $0, unix: endpoints.tcpPort == nil || (endpoints.socketPath != nil && $0 % 2 == 0),
                ledger: ledger, seed: seed, token: token, timeout: requestTimeout)
        }
        let names = Set([Writer.name] + readerThreads.map(\.name))
        Thread { writer.run() }.start()
        for reader in readerThreads { Thread { reader.run() }.start() }

        let verifier = Verifier(ledger: ledger, token: token, timeout: requestTimeout)
        var random = SplitMix64(seed: seed ^ 0x5EED)
        let started = Date()
        func awaitThreads(_ what: String) {
            ledger.doing("main", what)
            // The watchdog reports a thread that does not park in time.
            if !ledger.awaitParked(names, timeout: stallSeconds) { Thread.sleep(forTimeInterval: stallSeconds) }
            ledger.idle("main")
        }
        /// Kill (unless it is dead already), restart, check the database, go on (or stop).
        func restart(after what: String, then phase: Ledger.Phase) throws {
            guard let child else { return }
            // Flag first, then kill: the threads take the failures that follow for the kill's.
            ledger.goDown()
            child.kill()
            awaitThreads("waiting for the threads to stop \(what)")
            ledger.doing("main", "restarting the server \(what)")
            try child.start()
            ledger.count("restarts")
            ledger.doing("main", "checking the database \(what)")
            let (model, inFlight) = ledger.settledState
            let checked = try verifier.verify(model, inFlight: inFlight, when: what, random: &random)
            ledger.idle("main")
            ledger.resume(phase, model: checked, endpoints: child.endpoints)
        }
        var kill = 1
        while true {
            let next = started.addingTimeInterval(kills > 0 ? seconds * Double(kill) / Double(kills) : seconds)
            // A server that dies by itself is a problem; it is restarted and checked like a killed one.
            while Date() < next, child?.isRunning ?? true { Thread.sleep(forTimeInterval: 0.1) }
            if let child, !child.isRunning {
                ledger.problem("the server died by itself: \(child.death())")
                try restart(after: "after the server died", then: .running)
                continue
            }
            guard kills > 0 else { break }
            ledger.count("kills")
            try restart(after: "after kill \(kill)", then: kill == kills ? .stopping : .running)
            if kill == kills { break }
            kill += 1
        }
        if kills == 0 {
            ledger.stop()
            awaitThreads("waiting for the threads to finish")
            ledger.doing("main", "checking the database at the end")
            let (model, inFlight) = ledger.settledState
            _ = try verifier.verify(model, inFlight: inFlight, when: "at the end", random: &random)
            ledger.idle("main")
        }
        awaitThreads("waiting for the threads to finish")
        let elapsed = Date().timeIntervalSince(started)
        if let child {
            ledger.doing("main", "stopping the server with SIGTERM")
            let status = child.terminate()
            ledger.idle("main")
            if status != 0 {
                ledger.problem(
                    "SIGTERM: the server \(status.map { "exited with status \($0)" } ?? "did not exit within 30 s")")
            }
        }
        watchdog.stop()

        let tallies = ledger.tallies
        for (searches, misses) in [
            ("index searches", "index searches that missed their row"),
            ("verifier index searches", "verifier index searches that missed their row"),
        ] {
            // Own-vector searches through the index may miss what its recall allows: 2%, as the embedded test.
            let (n, missed) = (tallies[searches] ?? 0, tallies[misses] ?? 0)
            if missed * 50 > max(n, 50) {
                ledger.problem("\(missed) of \(n) \(searches) missed their own row (more than 2%)")
            }
        }
        let problems = ledger.problems
        let against = child == nil ? "a running server" : "\(kills) kill -9 and restart"
        print(
            "quiver-stress: \(String(format: "%.1f", elapsed)) s, 1 writer, \(readers) readers (\(readerThreads.filter { !$0.unix }.count) over TCP, "
                + "\(readerThreads.filter(\.unix).count) over the Unix socket), \(against), seed \(seed)")
        for (name, value) in ledger.tallies.sorted(by: { $0.key < $1.key }) { print("  \(name): \(value)") }
        for problem in problems.first { print("PROBLEM: \(problem)") }
        print("stress: \(problems.count) problems")
        if problems.count > 0 {
            print("the database and the server's output are kept in \(work)")
            throw ExitCode(1)
        }
        if directory == nil { try? FileManager.default.removeItem(atPath: work) }
    }

    /// The tables and the index, replacing any left by an earlier run.
    static func createTables(ledger: Ledger, token: String?, timeout: TimeInterval) throws {
        let session = Session(who: "setup", unix: false, ledger: ledger, token: token, timeout: timeout)
        defer { session.close() }
        try session.sql("setup", "dropping old tables", Schema.drop)
        try session.sql("setup", "creating the tables", Schema.create)
        try session.sql("setup", "creating the index", Schema.createIndex)
    }
}
