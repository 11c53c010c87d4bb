import Foundation
import QuiverClient
import Testing

/// A running `quiver serve` child process on an ephemeral TCP port and/or a Unix socket,
/// found from the line it prints once listening. Killed (SIGKILL) when released.
final class ServerProcess: @unchecked Sendable {
    static let located = ProcessRunner.locateExecutable("quiver", repositoryRoot: repositoryRoot)

    let process = Process()
    let database: String
    private(set) var port: Int?
    private(set) var socketPath: String?
    private let outputPath: String
    private let errorPath: String
    private let exited = DispatchSemaphore(value: 0)

    /// Starts `quiver serve --db DATABASE ARGS` (with `--port 0` unless ARGS say where to
    /// listen) and waits until it listens on every address it was asked to.
    init(
        database: String, _ arguments: [String] = [], environment: [String: String] = [:],
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let binary = try #require(
            Self.located.path,
            """
            the quiver executable was not found; build it with `swift build --build-tests` \
            (searched: \(Self.located.searched.joined(separator: ", ")))
            """, sourceLocation: sourceLocation)
        self.database = database
        let scratch = NSTemporaryDirectory() + "quiver-serve-\(UUID().uuidString)"
        outputPath = scratch + ".out"
        errorPath = scratch + ".err"
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errorPath, contents: nil)
        var arguments = ["serve", "--db", database] + arguments
        if !arguments.contains("--port") && !arguments.contains("--socket") { arguments += ["--port", "0"] }
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.standardOutput = FileHandle(forWritingAtPath: outputPath)
        process.standardError = FileHandle(forWritingAtPath: errorPath)
        process.standardInput = FileHandle.nullDevice
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "QUIVER_TOKEN")
        env.removeValue(forKey: "QUIVER_READ_TOKEN")
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let exited = self.exited
        process.terminationHandler = { _ in exited.signal() }
        try process.run()

        let wantsTCP = arguments.contains("--port") || arguments.contains("--host") || !arguments.contains("--socket")
        let wantsUnix = arguments.contains("--socket")
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            let output = stdout
            for line in output.split(separator: "\n") {
                if let range = line.range(of: "listening on http://") {
                    port = line[range.upperBound...].split(separator: ":").last.flatMap { Int($0) }
                }
                if let range = line.range(of: "listening on unix:") { socketPath = String(line[range.upperBound...]) }
            }
            if (!wantsTCP || port != nil) && (!wantsUnix || socketPath != nil) { return }
            if !process.isRunning { break }
            Thread.sleep(forTimeInterval: 0.02)
        }
        let message = "quiver serve did not start listening: \(stdout)\n\(stderr)"
        if process.isRunning { process.terminate() }
        throw ProcessRunnerError(description: message)
    }

    var stdout: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? "" }
    var url: String { "http://127.0.0.1:\(port ?? 0)" }

    /// A client over TCP (or the Unix socket), with a token or none.
    /// Every answer it receives is checked against the OpenAPI document (see `contract`).
    func client(token: String? = nil, unix: Bool = false, timeout: TimeInterval = 60) -> QuiverClient {
        let client =
            unix && socketPath != nil
            ? QuiverClient(endpoint: .unix(path: socketPath!), token: token, timeout: timeout)
            : QuiverClient(endpoint: .tcp(host: "127.0.0.1", port: port ?? 0), token: token, timeout: timeout)
        let contract = self.contract
        client.onResponse = { method, path, response in contract?.check(method: method, path: path, response: response)
        }
        return client
    }

    /// The checks of every answer this server's clients received.
    let contract: OpenAPIContract? = OpenAPIContract.load()

    /// Sends a signal and waits for the process to exit; its exit status, or nil on timeout.
    @discardableResult
    func stop(signal: Int32 = SIGTERM, timeout: TimeInterval = 30) -> Int32? {
        guard process.isRunning else { return process.terminationStatus }
        kill(process.processIdentifier, signal)
        guard exited.wait(timeout: .now() + timeout) == .success else { return nil }
        exited.signal()
        process.waitUntilExit()
        return process.terminationStatus
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: outputPath)
        try? FileManager.default.removeItem(atPath: errorPath)
    }
}

/// Runs a call that must fail with HTTP `status` (and `code`, when given) and a message; returns
/// the error for further checks.
@discardableResult
func expectStatus(
    _ status: Int, code: String? = nil, _ body: () throws -> Void,
    sourceLocation: SourceLocation = #_sourceLocation
) -> ClientError? {
    do {
        try body()
        Issue.record("expected HTTP \(status), got success", sourceLocation: sourceLocation)
        return nil
    } catch let error as ClientError {
        #expect(error.status == status, "\(error)", sourceLocation: sourceLocation)
        if let code { #expect(error.code == code, "\(error)", sourceLocation: sourceLocation) }
        #expect(!error.message.isEmpty, sourceLocation: sourceLocation)
        return error
    } catch {
        Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
        return nil
    }
}
