import Dispatch
import Foundation
import Glibc

/// The `quiver serve` child this tool starts, kills with SIGKILL and starts again on the same
/// database, listening on TCP (the same port again when it is free) and on a Unix socket. Each
/// start's output goes to its own files in the work directory, kept for a failed run.
final class ServerChild: @unchecked Sendable {
    let binary: String
    let database: String
    let socketPath: String
    let work: String
    private var process: Process?
    private var exited = DispatchSemaphore(value: 0)
    private(set) var port: Int?
    private(set) var starts = 0

    init(binary: String, database: String, socketPath: String, work: String) {
        self.binary = binary
        self.database = database
        self.socketPath = socketPath
        self.work = work
    }

    var endpoints: Ledger.Endpoints { .init(tcpPort: port, socketPath: socketPath) }
    var processIdentifier: Int32? { process?.processIdentifier }

    /// Starts the server, on the port it had before if any, and waits until it listens on both.
    func start() throws {
        if let port, (try? launch(port: port)) != nil { return }
        try launch(port: 0) // the old port was taken meanwhile
    }

    private func launch(port requested: Int) throws {
        starts += 1
        let base = (work as NSString).appendingPathComponent("server-\(starts)")
        FileManager.default.createFile(atPath: base + ".out", contents: nil)
        FileManager.default.createFile(atPath: base + ".err", contents: nil)
        guard let out = FileHandle(forWritingAtPath: base + ".out"),
            let err = FileHandle(forWritingAtPath: base + ".err")
        else {
            throw StressError("cannot create the server's output files in \(work)")
        }
        defer {
            try? out.close()
            try? err.close()
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["serve", "--db", database, "--port", String(requested), "--socket", socketPath]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = out
        process.standardError = err
        let exited = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in exited.signal() }
        try process.run()
        self.process = process
        self.exited = exited

        let deadline = Date().addingTimeInterval(60)
        var tcp: Int?
        var unix = false
        while Date() < deadline {
            let output = String(decoding: FileManager.default.contents(atPath: base + ".out") ?? Data(), as: UTF8.self)
            for line in output.split(separator: "\n") {
                if let range = line.range(of: "listening on http://") {
                    tcp = line[range.upperBound...].split(separator: ":").last.flatMap { Int($0) }
                }
                if line.contains("listening on unix:") { unix = true }
            }
            if let tcp, unix {
                port = tcp
                return
            }
            if !process.isRunning { break }
            Thread.sleep(forTimeInterval: 0.02)
        }
        let error = String(decoding: FileManager.default.contents(atPath: base + ".err") ?? Data(), as: UTF8.self)
        if process.isRunning { kill() }
        throw StressError("quiver serve did not start listening (port \(requested)): \(error.suffix(600))")
    }

    var isRunning: Bool { process?.isRunning ?? false }

    /// How a server that stopped by itself ended: its exit status or signal, and the lines of
    /// its standard error that say why (a runtime failure and the frame that crashed).
    func death() -> String {
        guard let process, !process.isRunning else { return "still running" }
        let how =
            process.terminationReason == .uncaughtSignal
            ? "killed by signal \(process.terminationStatus)" : "exited with status \(process.terminationStatus)"
        let errorPath = (work as NSString).appendingPathComponent("server-\(starts).err")
        let lines = String(decoding: FileManager.default.contents(atPath: errorPath) ?? Data(), as: UTF8.self).split(
            separator: "\n")
        var why = lines.filter { $0.contains("Fatal error") || $0.contains("runtime failure") }.prefix(2).map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        if let crashed = lines.firstIndex(where: { $0.hasSuffix("crashed:") }),
            let frame = lines[crashed...].dropFirst().first(where: {
                $0.contains("/Sources/") && !$0.contains("runtime failure")
            })
        {
            why.append(frame.trimmingCharacters(in: .whitespaces))
        }
        return "\(how); \(why.joined(separator: "; ")) (output in \(errorPath))"
    }

    /// SIGKILL, then waits until the process is gone.
    func kill() {
        guard let process, process.isRunning else { return }
        Glibc.kill(process.processIdentifier, SIGKILL)
        _ = exited.wait(timeout: .now() + 30)
        process.waitUntilExit()
    }

    /// SIGTERM: the server finishes the requests in flight and exits. Its exit status, or nil
    /// when it was still running after `timeout` seconds (then it is killed).
    func terminate(timeout: TimeInterval = 30) -> Int32? {
        guard let process else { return nil }
        guard process.isRunning else { return process.terminationStatus }
        Glibc.kill(process.processIdentifier, SIGTERM)
        guard exited.wait(timeout: .now() + timeout) == .success else {
            kill()
            return nil
        }
        process.waitUntilExit()
        return process.terminationStatus
    }
}
